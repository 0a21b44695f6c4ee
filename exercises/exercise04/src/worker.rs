//! The pull worker: asks for a task only while it has a free thread, runs it on
//! chapter 02's pool, and reports the result.
//!
//! Asking only when there is capacity is what makes the pull model balance load:
//! a busy worker simply does not ask, so work flows to whoever is free, with no
//! scheduler guessing. The socket stays on the worker's main thread (REQ is a
//! strict ask/answer dance and a socket is not `Sync`); the pool threads only run
//! work and hand their reports back over a channel.
//!
//! [`Running`] is that capacity: the pool, the count of tasks taken, and the
//! channel their reports come back on. Chapter 05's lease worker is built on it
//! too, so it only adds what leases need.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use solution02::{PoolError, ThreadPool, WorkerId};

use crate::connection::{Connection, ConnectionError, Patience};
use crate::event::{Event, EventSink};
use crate::kinds;
use crate::protocol::{
    Assignment, DispatcherReply, ErrorType, ResultReport, ResultsAndRequest, TaskFailure,
    request_task_frame,
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
    /// How results travel: on their own frame (the original), or on the next request.
    pub protocol: WorkerProtocol,
}

/// How a worker reports its results to the dispatcher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WorkerProtocol {
    /// `REQUEST_TASK`, then `RESULT:` for each task: two round trips per task.
    #[default]
    Original,
    /// `RESULT_AND_REQUEST`: finished results ride on the next request, one round
    /// trip per task.
    OneTrip,
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
            protocol: WorkerProtocol::Original,
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

// ANCHOR: running
/// The tasks a worker runs on chapter 02's pool: never more at once than the pool
/// has workers, and each one's report handed back to the main thread over a
/// channel, so that only the main thread talks to the dispatcher.
///
/// `R` is what a finished task hands back: a [`ResultReport`] here, a leased
/// result in chapter 05, whose worker runs its tasks through this same type.
pub struct Running<R> {
    pool: ThreadPool,
    finished_in: Sender<R>,
    finished: Receiver<R>,
    /// Tasks started and whose report has not been taken yet.
    count: usize,
}

impl<R: Send + 'static> Running<R> {
    /// Starts a pool of `workers` threads.
    pub fn new(workers: usize) -> Result<Self, PoolError> {
        let (finished_in, finished) = unbounded();
        Ok(Self {
            pool: ThreadPool::new(workers)?,
            finished_in,
            finished,
            count: 0,
        })
    }

    /// How many tasks can run at once: the pool's `workers`.
    pub fn workers(&self) -> usize {
        self.pool.size()
    }

    /// How many tasks are started and not yet handed back.
    pub fn count(&self) -> usize {
        self.count
    }

    /// How many more tasks could start now. A worker asks for work only while
    /// this is above zero, so it never holds a task it cannot run.
    pub fn room(&self) -> usize {
        self.workers().saturating_sub(self.count)
    }

    /// Runs `work` on the pool with chapter 02's
    /// [`execute_and_report`](ThreadPool::execute_and_report): `report` turns what
    /// it returned — or its panic's message — into the `R` that
    /// [`Running::finished_within`] hands back. A task counts from now until then.
    pub fn start<T, W, F>(&mut self, work: W, report: F) -> Result<(), PoolError>
    where
        W: FnOnce(WorkerId) -> T + Send + 'static,
        F: FnOnce(WorkerId, Result<T, String>) -> R + Send + 'static,
    {
        let finished = self.finished_in.clone();
        self.pool.execute_and_report(work, move |thread, outcome| {
            // We hold a receiver as long as the pool lives, so this cannot fail.
            let _ = finished.send(report(thread, outcome));
        })?;
        self.count += 1;
        Ok(())
    }

    /// A finished task's report, if one is waiting.
    pub fn try_finished(&mut self) -> Option<R> {
        let report = self.finished.try_recv().ok()?;
        self.count = self.count.saturating_sub(1);
        Some(report)
    }

    /// A finished task's report, waiting up to `wait` for one.
    pub fn finished_within(&mut self, wait: Duration) -> Option<R> {
        let report = self.finished.recv_timeout(wait).ok()?;
        self.count = self.count.saturating_sub(1);
        Some(report)
    }
}
// ANCHOR_END: running

/// What the main loop learns from the dispatcher about a request for work.
enum Asked {
    Got(Assignment),
    Nothing,
}

// ANCHOR: worker
/// A worker process's main loop and what it owns: the socket, and the tasks
/// running on the pool.
pub struct Worker {
    config: WorkerConfig,
    events: EventSink,
    connection: Connection,
    /// Tasks taken and not yet reported: never more than `config.workers`.
    running: Running<ResultReport>,
}
// ANCHOR_END: worker

impl Worker {
    /// Starts the pool and connects (ZeroMQ connects lazily: the dispatcher may
    /// start later).
    pub fn start(config: WorkerConfig, events: EventSink) -> Result<Self, WorkerError> {
        let running = Running::new(config.workers)?;
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
        Ok(Self {
            config,
            events,
            connection,
            running,
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
    #[cfg_attr(workbook_todo_worker_loop, allow(unused_variables))]
    fn serve(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        // The one-trip protocol's loop is given code (the book's "One round trip
        // per task"); this one is the original protocol's.
        if self.config.protocol == WorkerProtocol::OneTrip {
            return self.serve_one_trip(stop);
        }
        // TODO(worker-loop): report what finished; ask for work only with a free thread
        todo!("worker-loop — book: ch04, \"Asking only with capacity\"")
    }
    // ANCHOR_END: serve

    // ANCHOR: ask_for_task
    #[cfg_attr(workbook_todo_ask_for_task, allow(unused_variables))]
    fn ask_for_task(&mut self, stop: &Shutdown) -> Result<Asked, ConnectionError> {
        // TODO(ask-for-task): send REQUEST_TASK; the answer is Asked::Got or Asked::Nothing
        todo!("ask-for-task — book: ch04, \"Asking only with capacity\"")
    }
    // ANCHOR_END: ask_for_task

    // ANCHOR: start_task
    fn start_task(&mut self, assignment: Assignment) {
        let task_id = assignment.task_id.clone();
        let running_events = EventSink::clone(&self.events);
        let finished_events = EventSink::clone(&self.events);
        let failed_id = task_id.clone();
        let started = self.running.start(
            move |thread| {
                running_events(&Event::Running {
                    thread,
                    task_id: assignment.task_id.clone(),
                    kind: assignment.kind.clone(),
                });
                kinds::execute(&assignment)
            },
            move |thread, outcome| {
                // The closed set of kinds cannot panic, but a report must come back
                // whatever happens, or this thread's capacity would be lost for good.
                let report = outcome.unwrap_or_else(|panic| {
                    ResultReport::failed(TaskFailure::new(
                        &failed_id,
                        ErrorType::FunctionExecutionFailure,
                        format!("the task panicked: {panic}"),
                    ))
                });
                finished_events(&Event::Finished {
                    thread,
                    task_id: report.task_id.clone(),
                    status: report.status,
                });
                report
            },
        );
        if started.is_err() {
            // Only a shut-down pool refuses, and ours lives as long as the loop.
            self.dispatcher_error(&format!("could not start task {task_id}"));
        }
    }
    // ANCHOR_END: start_task

    // ANCHOR: serve_one_trip
    /// The one-trip loop: the same capacity rule, but results wait for the next
    /// request and travel on it, so a task costs one round trip instead of two.
    fn serve_one_trip(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        let mut finished = Vec::new();
        while !stop.is_stopped() {
            while let Some(report) = self.running.try_finished() {
                finished.push(report);
            }
            if self.running.room() > 0
                && let Asked::Got(assignment) = self.carry_and_ask(&mut finished, stop)?
            {
                self.start_task(assignment);
                continue;
            }
            if let Some(report) = self.running.finished_within(self.config.idle_wait) {
                finished.push(report);
            }
        }
        Ok(())
    }

    /// One `RESULT_AND_REQUEST` round trip: hands over `finished` (emptied: a
    /// result is sent once, whatever the answer) and asks for the next task.
    fn carry_and_ask(
        &mut self,
        finished: &mut Vec<ResultReport>,
        stop: &Shutdown,
    ) -> Result<Asked, ConnectionError> {
        let message = ResultsAndRequest {
            results: std::mem::take(finished),
            worker_id: self.config.worker_id.clone(),
        };
        let answer = self
            .connection
            .exchange(message.to_frame().as_bytes(), stop)?;
        let text = String::from_utf8_lossy(&answer);
        let reply = DispatcherReply::parse(&text);
        let heard = match &reply {
            Ok(DispatcherReply::Task(_) | DispatcherReply::NoTasksAvailable) => {
                "received with the next request".to_owned()
            }
            _ => text.trim().to_owned(),
        };
        for report in &message.results {
            (self.events)(&Event::Reported {
                task_id: report.task_id.clone(),
                answer: heard.clone(),
            });
        }
        Ok(match reply {
            Ok(DispatcherReply::Task(assignment)) => Asked::Got(assignment),
            Ok(DispatcherReply::NoTasksAvailable) => Asked::Nothing,
            Ok(other) => {
                self.dispatcher_error(&other.to_frame());
                Asked::Nothing
            }
            Err(error) => {
                self.dispatcher_error(&error.to_string());
                Asked::Nothing
            }
        })
    }
    // ANCHOR_END: serve_one_trip

    fn report(&mut self, report: ResultReport, stop: &Shutdown) -> Result<(), ConnectionError> {
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
