//! What the dispatcher and the worker report as they go.
//!
//! As in chapter 02 the library never prints: it hands each [`Event`] to a
//! callback. The binaries print them; tests read them to check what happened and
//! in which order, not only what was returned.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use solution02::WorkerId;

use crate::protocol::{TaskFailure, TaskId, TaskStatus};

/// Where this chapter's events go: chapter 02's one sink type, for [`Event`].
pub type EventSink = solution02::event::EventSink<Event>;

/// A sink that drops every event.
pub fn ignore_events() -> EventSink {
    Arc::new(|_: &Event| {})
}

/// Who speaks: the tag at the start of a demo line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    Dispatcher,
    /// The worker process's loop, which talks to the dispatcher.
    Worker,
    /// One thread of the worker's pool, running a task.
    Thread(WorkerId),
}

/// Something worth telling the reader of the demo.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Listening {
        workers: String,
        clients: String,
        deadline: Duration,
    },
    Submitted {
        task_id: TaskId,
        kind: String,
    },
    Assigned {
        task_id: TaskId,
        worker_id: Option<String>,
    },
    ResultAccepted {
        task_id: TaskId,
        status: TaskStatus,
        error: Option<TaskFailure>,
    },
    ResultRefused {
        reason: String,
    },
    BadFrame {
        reason: String,
    },
    DeadlineExceeded {
        failure: TaskFailure,
    },
    DispatcherStopped,

    WorkerStarted {
        workers: usize,
        endpoint: String,
    },
    Running {
        thread: WorkerId,
        task_id: TaskId,
        kind: String,
    },
    Finished {
        thread: WorkerId,
        task_id: TaskId,
        status: TaskStatus,
    },
    Reported {
        task_id: TaskId,
        answer: String,
    },
    DispatcherError {
        answer: String,
    },
    Reconnecting {
        timeout: Duration,
    },
    WorkerStopped,
}

impl Event {
    pub fn speaker(&self) -> Speaker {
        match self {
            Event::Listening { .. }
            | Event::Submitted { .. }
            | Event::Assigned { .. }
            | Event::ResultAccepted { .. }
            | Event::ResultRefused { .. }
            | Event::BadFrame { .. }
            | Event::DeadlineExceeded { .. }
            | Event::DispatcherStopped => Speaker::Dispatcher,
            Event::Running { thread, .. } | Event::Finished { thread, .. } => {
                Speaker::Thread(*thread)
            }
            Event::WorkerStarted { .. }
            | Event::Reported { .. }
            | Event::DispatcherError { .. }
            | Event::Reconnecting { .. }
            | Event::WorkerStopped => Speaker::Worker,
        }
    }

    /// The text after the tag.
    pub fn message(&self) -> String {
        match self {
            Event::Listening {
                workers,
                clients,
                deadline,
            } => format!(
                "Workers ask on {workers}, clients submit on {clients}, deadline {}s",
                deadline.as_secs_f64()
            ),
            Event::Submitted { task_id, kind } => format!("Queued task {task_id} ({kind})"),
            Event::Assigned { task_id, worker_id } => match worker_id {
                Some(worker) => format!("Task {task_id} → {worker}: RUNNING"),
                None => format!("Task {task_id} → a worker: RUNNING"),
            },
            Event::ResultAccepted {
                task_id,
                status,
                error,
            } => match error {
                Some(failure) => format!("Task {task_id}: {status} {failure}"),
                None => format!("Task {task_id}: {status}"),
            },
            Event::ResultRefused { reason } => format!("Refused a result: {reason}"),
            Event::BadFrame { reason } => format!("Answered a bad frame with an error: {reason}"),
            Event::DeadlineExceeded { failure } => {
                format!("Task {}: FAILED {failure}", failure.task_id)
            }
            Event::DispatcherStopped => "Stopped".to_owned(),
            Event::WorkerStarted { workers, endpoint } => {
                format!("{workers} workers, asking {endpoint} for work")
            }
            Event::Running { task_id, kind, .. } => format!("Running task {task_id} ({kind})"),
            Event::Finished {
                task_id, status, ..
            } => format!("Task {task_id}: {status}"),
            Event::Reported { task_id, answer } => {
                format!("Reported task {task_id}: {answer}")
            }
            Event::DispatcherError { answer } => format!("Dispatcher answered {answer}"),
            Event::Reconnecting { timeout } => format!(
                "No answer within {}s: reconnecting and asking again",
                timeout.as_secs_f64()
            ),
            Event::WorkerStopped => "Stopped".to_owned(),
        }
    }
}

impl fmt::Display for Speaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speaker::Dispatcher => f.write_str("Dispatcher"),
            Speaker::Worker => f.write_str("Worker"),
            Speaker::Thread(id) => write!(f, "Thread {id}"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.speaker(), self.message())
    }
}
