//! The pull worker: asks for a task only while it has a free thread, runs it on
//! chapter 02's pool, and reports the result.
//!
//! Asking only when there is capacity is what makes the pull model balance load:
//! a busy worker simply does not ask, so work flows to whoever is free, with no
//! scheduler guessing. The socket stays on the worker's main thread (REQ is a
//! strict ask/answer dance and a socket is not `Sync`); the pool threads only run
//! work and hand their reports back over a channel.

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use solution02::{PoolError, ThreadPool};

use crate::connection::{Connection, ConnectionError, Patience};
use crate::event::{Event, EventSink};
use crate::kinds;
use crate::protocol::{
    Assignment, DispatcherReply, ErrorType, ResultReport, TaskFailure, request_task_frame,
};
use solution02::Shutdown;

/// How to start a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The dispatcher's worker endpoint.
    pub endpoint: String,
    /// How many tasks run at once: the pool's size, as `workers` is in every
    /// chapter (`pull_worker`'s `<PROCESSES>` argument keeps the original's name).
    pub workers: usize,
    /// How long to wait for an answer before reconnecting (Lazy Pirate).
    pub request_timeout: Duration,
    /// How long to wait before asking again after `NO_TASKS_AVAILABLE`.
    pub idle_wait: Duration,
    /// Sent with each request so the dispatcher's log says who took a task.
    pub worker_id: Option<String>,
}

impl WorkerConfig {
    /// `workers` threads asking `endpoint`, with timings that suit a demo.
    pub fn new(endpoint: &str, workers: usize) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            workers,
            request_timeout: Duration::from_millis(2500),
            idle_wait: Duration::from_millis(20),
            worker_id: None,
        }
    }
}

/// Why the worker stopped other than by being asked to.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("could not start the pool: {0}")]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Connection(ConnectionError),
}

/// What the main loop learns from the dispatcher about a request for work.
enum Asked {
    Got(Assignment),
    Nothing,
}

// ANCHOR: worker
/// A worker process's main loop and what it owns: the socket, the pool, and the
/// channel its threads report on.
pub struct Worker {
    config: WorkerConfig,
    events: EventSink,
    connection: Connection,
    pool: ThreadPool,
    finished_in: Sender<ResultReport>,
    finished: Receiver<ResultReport>,
    /// Tasks taken and not yet reported: never more than `config.workers`.
    running: usize,
}
// ANCHOR_END: worker

impl Worker {
    /// Starts the pool and connects (ZeroMQ connects lazily: the dispatcher may
    /// start later).
    pub fn start(config: WorkerConfig, events: EventSink) -> Result<Self, WorkerError> {
        let pool = ThreadPool::new(config.workers)?;
        let retry_events = EventSink::clone(&events);
        let patience = Patience {
            timeout: config.request_timeout,
            attempts: None,
        };
        let connection = Connection::open(
            &zmq::Context::new(),
            &config.endpoint,
            patience,
            move |timeout| retry_events(&Event::Reconnecting { timeout }),
        )
        .map_err(WorkerError::Connection)?;
        let (finished_in, finished) = unbounded();
        Ok(Self {
            config,
            events,
            connection,
            pool,
            finished_in,
            finished,
            running: 0,
        })
    }

    // ANCHOR: run
    /// Asks for work while a thread is free, reports every result, until `stop`.
    /// Tasks still running when it stops are finished but not reported.
    pub fn run(mut self, stop: &Shutdown) -> Result<(), WorkerError> {
        (self.events)(&Event::WorkerStarted {
            workers: self.config.workers,
            endpoint: self.config.endpoint.clone(),
        });
        let outcome = self.serve(stop);
        (self.events)(&Event::WorkerStopped);
        match outcome {
            Err(ConnectionError::Stopped) | Ok(()) => Ok(()),
            Err(error) => Err(WorkerError::Connection(error)),
        }
    }
    // ANCHOR_END: run

    // ANCHOR: serve
    fn serve(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        // TODO(worker-loop): report what finished; ask for work only with a free thread
        todo!("worker-loop — book: ch04, \"Asking only with capacity\"")
    }
    // ANCHOR_END: serve

    // ANCHOR: ask_for_task
    fn ask_for_task(&mut self, stop: &Shutdown) -> Result<Asked, ConnectionError> {
        // TODO(ask-for-task): send REQUEST_TASK; the answer is Asked::Got or Asked::Nothing
        todo!("ask-for-task — book: ch04, \"Asking only with capacity\"")
    }
    // ANCHOR_END: ask_for_task

    // ANCHOR: start_task
    fn start_task(&mut self, assignment: Assignment) {
        // TODO(start-task): count it running, run it on the pool; a report always comes back
        todo!("start-task — book: ch04, \"Asking only with capacity\"")
    }
    // ANCHOR_END: start_task

    fn report(&mut self, report: ResultReport, stop: &Shutdown) -> Result<(), ConnectionError> {
        self.running = self.running.saturating_sub(1);
        let task_id = report.task_id.clone();
        let answer = self
            .connection
            .exchange(report.to_frame().as_bytes(), stop)?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        (self.events)(&Event::Reported { task_id, answer });
        Ok(())
    }

    fn dispatcher_error(&self, answer: &str) {
        (self.events)(&Event::DispatcherError {
            answer: answer.to_owned(),
        });
    }
}
