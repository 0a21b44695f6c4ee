//! What the dispatcher and its workers report as they go.
//!
//! The library never prints: it hands each [`Event`] to a callback, and the demo
//! binary decides how it looks (colours, or none). Tests use the same callback to
//! check *what happened*, not just what was returned.

use std::fmt;
use std::time::Duration;

use crate::pool::WorkerId;
use crate::task::{Task, TaskId, TaskResult};

/// Who an event is about: the tag at the start of a demo line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Dispatcher,
    Worker(WorkerId),
    Client,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Dispatcher => f.write_str("Dispatcher"),
            Role::Worker(id) => write!(f, "Worker {id}"),
            Role::Client => f.write_str("Client"),
        }
    }
}

/// Where events go: a function called from many threads at once. Chapter 02
/// introduces it for its own [`Event`]; every later chapter reports its own kind
/// of event through this same type (`EventSink<solution04::Event>`, …), so a
/// test or a demo can collect any chapter's events the same way.
pub type EventSink<E = Event> = std::sync::Arc<dyn Fn(&E) + Send + Sync>;

/// Something worth telling the reader of the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Starting {
        workers: usize,
    },
    WorkerStarted(WorkerId),
    AllStarted,
    Listening(String),
    Received(TaskId),
    Processing {
        worker: WorkerId,
        task: Task,
    },
    WorkerCaughtPanic(WorkerId),
    WaitingForResults,
    GotResult(TaskResult),
    StopAccepting,
    /// `accept` failed (out of file descriptors, say); the loop pauses, then retries.
    AcceptFailed {
        error: String,
        retry_in: Duration,
    },
    WorkerStopping(WorkerId),
    AllStopped,
}

impl Event {
    /// Who the event is about.
    pub fn role(&self) -> Role {
        match self {
            Event::WorkerStarted(worker)
            | Event::Processing { worker, .. }
            | Event::WorkerCaughtPanic(worker)
            | Event::WorkerStopping(worker) => Role::Worker(*worker),
            _ => Role::Dispatcher,
        }
    }

    /// The text after the tag.
    pub fn message(&self) -> String {
        match self {
            Event::Starting { workers } => format!("Starting {workers} workers..."),
            Event::WorkerStarted(_) => "Started".to_owned(),
            Event::AllStarted => "All workers started".to_owned(),
            Event::Listening(address) => format!("Listening on {address}"),
            Event::Received(id) => format!("Received task {id}"),
            Event::Processing { task, .. } => {
                format!("Processing task {}: {}", task.id, task.spec())
            }
            Event::WorkerCaughtPanic(_) => "Caught a panicking job; still serving".to_owned(),
            Event::WaitingForResults => "Waiting for results...".to_owned(),
            Event::GotResult(result) => format!("Got result: {}", describe(result)),
            Event::AcceptFailed { error, retry_in } => {
                format!("Could not accept a connection ({error}); trying again in {retry_in:?}")
            }
            Event::StopAccepting => {
                "Shutting down: no new connections, finishing queued tasks".to_owned()
            }
            Event::WorkerStopping(_) => "Shutting down".to_owned(),
            Event::AllStopped => "All workers stopped".to_owned(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.role(), self.message())
    }
}

/// `Task 1 = 15 (by Worker 0)` or `Task 6 failed: division by zero (by Worker 2)`.
pub fn describe(result: &TaskResult) -> String {
    match &result.outcome {
        Ok(value) => format!(
            "Task {} = {value} (by Worker {})",
            result.task_id, result.worker_id
        ),
        Err(error) => format!(
            "Task {} failed: {error} (by Worker {})",
            result.task_id, result.worker_id
        ),
    }
}
