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

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use solution02::{PoolError, ThreadPool, WorkerId};

use crate::connection::{Connection, ConnectionError, InFlight, Patience};
use crate::event::{Event, EventSink};
use crate::kinds;
use crate::protocol::{
    Assignment, DispatcherReply, ErrorType, ResultReport, ResultsAndRequest, TaskFailure, TaskId,
    request_task_frame,
};
use solution02::Shutdown;
use solution02::shutdown::STOP_CHECK;

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
    connection: WorkerSocket,
    /// Tasks taken and not yet reported: never more than `config.workers`.
    running: Running<ResultReport>,
}

/// The worker's one socket. The original protocol's REQ carries one request at a
/// time; the one-trip protocol's DEALER keeps one in flight per free thread.
enum WorkerSocket {
    OneAtATime(Connection),
    InFlight(InFlight),
}

impl WorkerSocket {
    /// One request and its answer.
    fn exchange(&mut self, request: &[u8], stop: &Shutdown) -> Result<Vec<u8>, ConnectionError> {
        match self {
            Self::OneAtATime(connection) => connection.exchange(request, stop),
            Self::InFlight(in_flight) => in_flight.exchange(request, stop),
        }
    }
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
        let on_retry = move |timeout| retry_events(&Event::Reconnecting { timeout });
        let context = zmq::Context::new();
        let connection = match config.protocol {
            WorkerProtocol::Original => {
                Connection::open(&context, &config.endpoint, patience, on_retry)
                    .map(WorkerSocket::OneAtATime)
            }
            WorkerProtocol::OneTrip => {
                InFlight::open(&context, &config.endpoint, config.request_timeout, on_retry)
                    .map(WorkerSocket::InFlight)
            }
        }
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
        if let WorkerSocket::InFlight(socket) = &mut self.connection {
            let mut one_trip = OneTrip {
                socket,
                running: &mut self.running,
                events: &self.events,
                config: &self.config,
            };
            return one_trip.serve(stop);
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

    fn start_task(&mut self, assignment: Assignment) {
        start_on_pool(&mut self.running, &self.events, assignment);
    }

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
        dispatcher_error(&self.events, answer);
    }
}

fn dispatcher_error(events: &EventSink, answer: &str) {
    events(&Event::DispatcherError {
        answer: answer.to_owned(),
    });
}

// ANCHOR: start_task
/// Runs `assignment` on the pool; its report comes back through `running`. Both
/// protocols' loops start their tasks here.
fn start_on_pool(running: &mut Running<ResultReport>, events: &EventSink, assignment: Assignment) {
    let task_id = assignment.task_id.clone();
    let running_events = EventSink::clone(events);
    let finished_events = EventSink::clone(events);
    let failed_id = task_id.clone();
    let started = running.start(
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
        dispatcher_error(events, &format!("could not start task {task_id}"));
    }
}
// ANCHOR_END: start_task

// ANCHOR: serve_one_trip
/// The one-trip protocol's loop, and what it borrows from the [`Worker`].
struct OneTrip<'w> {
    socket: &'w mut InFlight,
    running: &'w mut Running<ResultReport>,
    events: &'w EventSink,
    config: &'w WorkerConfig,
}

impl OneTrip<'_> {
    /// The same capacity rule as the original loop, but results travel on the
    /// next request, so a task costs one round trip instead of two — and requests
    /// do not wait for each other's answers: one is in flight per free thread.
    fn serve(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        let mut finished = Vec::new();
        // The ids each unanswered request carried, oldest first, as answers come.
        let mut carried: VecDeque<Vec<TaskId>> = VecDeque::new();
        // After NO_TASKS_AVAILABLE: no empty-handed request before then.
        let mut ask_again = Instant::now();
        while !stop.is_stopped() {
            while let Some(report) = self.running.try_finished() {
                finished.push(report);
            }
            // A request for each free thread, the first carrying every result.
            while self.running.count() + self.socket.in_flight() < self.config.workers
                && (!finished.is_empty() || Instant::now() >= ask_again)
            {
                carried.push_back(finished.iter().map(|r| r.task_id.clone()).collect());
                let message = ResultsAndRequest {
                    results: std::mem::take(&mut finished),
                    worker_id: self.config.worker_id.clone(),
                };
                self.socket.send(message.to_frame().into_bytes())?;
            }
            if self.socket.in_flight() == 0 {
                // Every thread busy, or nothing to do: wait for a task to finish.
                if let Some(report) = self.running.finished_within(self.config.idle_wait) {
                    finished.push(report);
                }
                continue;
            }
            // Answers come in the order the requests went out. A task finishing
            // meanwhile waits at most `idle_wait` for a request to carry it.
            let wait = self.config.idle_wait.min(STOP_CHECK);
            if let Some(answer) = self.socket.answer_within(wait)? {
                let ids = carried.pop_front().unwrap_or_default();
                match self.read_answer(&answer, &ids) {
                    Asked::Got(assignment) => start_on_pool(self.running, self.events, assignment),
                    Asked::Nothing => ask_again = Instant::now() + self.config.idle_wait,
                }
            }
        }
        Ok(())
    }

    /// What a `RESULT_AND_REQUEST` was answered; `carried` are the ids of the
    /// results it took, each now `Reported` (a result is sent once, whatever the
    /// answer).
    fn read_answer(&self, answer: &[u8], carried: &[TaskId]) -> Asked {
        let text = String::from_utf8_lossy(answer);
        let reply = DispatcherReply::parse(&text);
        let heard = match &reply {
            Ok(DispatcherReply::Task(_) | DispatcherReply::NoTasksAvailable) => {
                "received with the next request".to_owned()
            }
            _ => text.trim().to_owned(),
        };
        for task_id in carried {
            (self.events)(&Event::Reported {
                task_id: task_id.clone(),
                answer: heard.clone(),
            });
        }
        match reply {
            Ok(DispatcherReply::Task(assignment)) => Asked::Got(assignment),
            Ok(DispatcherReply::NoTasksAvailable) => Asked::Nothing,
            Ok(other) => {
                dispatcher_error(self.events, &other.to_frame());
                Asked::Nothing
            }
            Err(error) => {
                dispatcher_error(self.events, &error.to_string());
                Asked::Nothing
            }
        }
    }
}
// ANCHOR_END: serve_one_trip
