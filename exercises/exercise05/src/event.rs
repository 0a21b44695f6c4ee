//! What the dispatcher and the workers report as they go.
//!
//! As in chapters 02 and 04 the library never prints: each [`Event`] goes to a
//! callback. The binaries print them; tests read them to see what happened — a
//! lease, a requeue, a result cached while the dispatcher was away.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use solution02::WorkerId;
pub use solution04::Speaker;

use crate::store::{TaskFailure, TaskId, TaskStatus};

/// Where this chapter's events go: chapter 02's one sink type, for [`Event`].
pub type EventSink = solution02::event::EventSink<Event>;

/// A sink that drops every event.
pub fn ignore_events() -> EventSink {
    Arc::new(|_: &Event| {})
}

/// Something worth telling the reader of the demo.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Listening {
        endpoint: String,
        db: String,
        lease: Duration,
        dead_after: Duration,
    },
    /// The HTTP door is open beside the ZeroMQ socket.
    HttpListening {
        url: String,
    },
    Registered {
        worker_id: String,
        capabilities: Vec<String>,
    },
    Submitted {
        task_id: TaskId,
        kind: String,
    },
    Leased {
        task_id: TaskId,
        worker_id: String,
        attempt: u32,
    },
    Recorded {
        task_id: TaskId,
        status: TaskStatus,
        /// The same result for the same lease, sent again.
        again: bool,
        error: Option<TaskFailure>,
    },
    Refused {
        reason: String,
    },
    BadFrame {
        reason: String,
    },
    WorkerDead {
        worker_id: String,
    },
    Requeued {
        task_id: TaskId,
    },
    GaveUp {
        task_id: TaskId,
    },
    MonitorFailed {
        reason: String,
    },
    DispatcherStopped,

    WorkerStarted {
        worker_id: String,
        workers: usize,
        capabilities: Vec<String>,
        endpoint: String,
    },
    /// Results computed before a restart, found in the cache.
    Recovered {
        results: usize,
    },
    Running {
        thread: WorkerId,
        task_id: TaskId,
        kind: String,
        attempt: u32,
    },
    Finished {
        thread: WorkerId,
        task_id: TaskId,
        status: TaskStatus,
    },
    Delivered {
        task_id: TaskId,
        answer: String,
    },
    Unreachable {
        cached: usize,
        retry_in: Duration,
    },
    CacheExpired {
        task_id: TaskId,
    },
    CacheFailed {
        reason: String,
    },
    DispatcherError {
        answer: String,
    },
    WorkerStopped,
}

impl Event {
    pub fn speaker(&self) -> Speaker {
        match self {
            Event::Listening { .. }
            | Event::HttpListening { .. }
            | Event::Registered { .. }
            | Event::Submitted { .. }
            | Event::Leased { .. }
            | Event::Recorded { .. }
            | Event::Refused { .. }
            | Event::BadFrame { .. }
            | Event::WorkerDead { .. }
            | Event::Requeued { .. }
            | Event::GaveUp { .. }
            | Event::MonitorFailed { .. }
            | Event::DispatcherStopped => Speaker::Dispatcher,
            Event::Running { thread, .. } | Event::Finished { thread, .. } => {
                Speaker::Thread(*thread)
            }
            Event::WorkerStarted { .. }
            | Event::Recovered { .. }
            | Event::Delivered { .. }
            | Event::Unreachable { .. }
            | Event::CacheExpired { .. }
            | Event::CacheFailed { .. }
            | Event::DispatcherError { .. }
            | Event::WorkerStopped => Speaker::Worker,
        }
    }

    /// The text after the tag.
    pub fn message(&self) -> String {
        let seconds = |d: &Duration| d.as_secs_f64();
        match self {
            Event::Listening {
                endpoint,
                db,
                lease,
                dead_after,
            } => format!(
                "Serving on {endpoint}, queue in {db}, leases of {}s, workers dead after {}s of silence",
                seconds(lease),
                seconds(dead_after)
            ),
            Event::HttpListening { url } => format!(
                "HTTP door on {url}: POST /submit-task /get-task /submit-result /heartbeat, \
                 GET /task/<id> /stats /health"
            ),
            Event::Registered {
                worker_id,
                capabilities,
            } => format!("Worker {worker_id} registered: {}", capabilities.join(" ")),
            Event::Submitted { task_id, kind } => format!("Queued task {task_id} ({kind})"),
            Event::Leased {
                task_id,
                worker_id,
                attempt,
            } => format!("Task {task_id} → {worker_id}: RUNNING, attempt {attempt}"),
            Event::Recorded {
                task_id,
                status,
                again,
                error,
            } => {
                let again = if *again {
                    " (again, same lease: OK)"
                } else {
                    ""
                };
                match error {
                    Some(failure) => format!("Task {task_id}: {status}{again} {failure}"),
                    None => format!("Task {task_id}: {status}{again}"),
                }
            }
            Event::Refused { reason } => format!("Refused a result: {reason}"),
            Event::BadFrame { reason } => format!("Answered a bad frame with an error: {reason}"),
            Event::WorkerDead { worker_id } => {
                format!("Worker {worker_id} missed its heartbeats: dead")
            }
            Event::Requeued { task_id } => format!("Task {task_id}: back in the queue"),
            Event::GaveUp { task_id } => format!("Task {task_id}: FAILED, out of attempts"),
            Event::MonitorFailed { reason } => format!("The monitor could not run: {reason}"),
            Event::DispatcherStopped => "Stopped".to_owned(),
            Event::WorkerStarted {
                worker_id,
                workers,
                capabilities,
                endpoint,
            } => format!(
                "{worker_id}: {workers} workers, runs {}, asking {endpoint}",
                capabilities.join(" ")
            ),
            Event::Recovered { results } => {
                format!("{results} result(s) from before a restart found in the cache")
            }
            Event::Running {
                task_id,
                kind,
                attempt,
                ..
            } => format!("Running task {task_id} ({kind}), attempt {attempt}"),
            Event::Finished {
                task_id, status, ..
            } => format!("Task {task_id}: {status}, result queued for the cache"),
            Event::Delivered { task_id, answer } => {
                format!("Delivered task {task_id}: {answer}")
            }
            Event::Unreachable { cached, retry_in } => format!(
                "Dispatcher unreachable; {cached} result(s) kept in the cache, retrying in {}s",
                seconds(retry_in)
            ),
            Event::CacheExpired { task_id } => {
                format!("Cached result of task {task_id} expired undelivered: dropped")
            }
            Event::CacheFailed { reason } => format!("Could not use the result cache: {reason}"),
            Event::DispatcherError { answer } => format!("Dispatcher answered {answer}"),
            Event::WorkerStopped => "Stopped".to_owned(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.speaker(), self.message())
    }
}
