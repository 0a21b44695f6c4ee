//! What the controller and the workers report as they go.
//!
//! As in every chapter, the library never prints: it hands each [`Event`] to a
//! [`EventSink`], and the demo decides how a line looks. The controller's lines
//! are the original's: `Task 3 status: RUNNING`, `DONE`, `FAILED`, and the
//! `QUEUED` the original left as "TBD".

use std::fmt;

pub use solution02::event::EventSink as Sink;

/// Where this chapter's events go.
pub type EventSink = Sink<Event>;

/// Who speaks on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    Controller,
    /// A worker, by the name it was started with (`Worker1`).
    Worker(String),
}

impl fmt::Display for Speaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speaker::Controller => f.write_str("Controller"),
            Speaker::Worker(name) => f.write_str(name),
        }
    }
}

/// Something worth telling the reader of the demo (and a test).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The controller reached the servers and found (or made) the stream.
    Connected { servers: String },
    /// Stored in the stream: it waits there until a worker that runs its kind
    /// takes it, however long that is.
    Queued {
        id: String,
        task: String,
        subject: String,
    },
    /// Published a second time (after a lost acknowledgement) and stored once.
    Duplicate { id: String },
    /// A worker says it started the task.
    Running {
        id: String,
        worker: String,
        attempt: u32,
    },
    /// The task's outcome was recorded: its value.
    Done {
        id: String,
        value: i64,
        worker: String,
        attempt: u32,
    },
    /// The task's outcome was recorded: why it failed. A deadline the controller
    /// enforced names the worker `controller`.
    Failed {
        id: String,
        error: String,
        worker: String,
        attempt: u32,
    },
    /// A worker is ready: its consumers exist and it is asking for tasks.
    Ready { worker: String, kinds: Vec<String> },
    /// A worker took a task (its `attempt`-th delivery).
    Started {
        worker: String,
        id: String,
        task: String,
        attempt: u32,
    },
    /// A worker ran a task and recorded what came of it.
    Finished {
        worker: String,
        id: String,
        outcome: Result<i64, String>,
    },
    /// A worker found the task already decided (done by another, or past its
    /// deadline) and dropped it, or its own late outcome, without recording.
    AlreadyDecided { worker: String, id: String },
    /// A message on a task subject that is no task: acknowledged as terminal so it
    /// is never delivered again.
    Rejected {
        worker: String,
        subject: String,
        reason: String,
    },
    /// Something failed that the next try may not: a server gone, a timeout.
    Retrying { speaker: Speaker, error: String },
    /// A worker finished its task at hand and stops.
    Stopping { worker: String },
}

impl Event {
    /// Who the event is about.
    pub fn speaker(&self) -> Speaker {
        match self {
            Event::Ready { worker, .. }
            | Event::Started { worker, .. }
            | Event::Finished { worker, .. }
            | Event::AlreadyDecided { worker, .. }
            | Event::Rejected { worker, .. }
            | Event::Stopping { worker } => Speaker::Worker(worker.clone()),
            Event::Retrying { speaker, .. } => speaker.clone(),
            _ => Speaker::Controller,
        }
    }

    /// The text after the tag.
    pub fn message(&self) -> String {
        match self {
            Event::Connected { servers } => format!("Connected to {servers}"),
            Event::Queued { id, task, subject } => {
                format!("Task {id} ({task}) status: QUEUED on {subject}")
            }
            Event::Duplicate { id } => format!("Task {id} was already stored: not queued twice"),
            Event::Running {
                id,
                worker,
                attempt,
            } => format!(
                "Task {id} status: RUNNING on {worker}{}",
                attempt_note(*attempt)
            ),
            Event::Done {
                id,
                value,
                worker,
                attempt,
            } => format!(
                "Task {id} status: DONE = {value} (by {worker}{})",
                attempt_note(*attempt)
            ),
            Event::Failed {
                id,
                error,
                worker,
                attempt,
            } => format!(
                "Task {id} status: FAILED: {error} (by {worker}{})",
                attempt_note(*attempt)
            ),
            Event::Ready { kinds, .. } => format!("Ready for {}", kinds.join(", ")),
            Event::Started {
                id, task, attempt, ..
            } => format!("Processing task {id}: {task}{}", attempt_note(*attempt)),
            Event::Finished { id, outcome, .. } => match outcome {
                Ok(value) => format!("Task {id} = {value}"),
                Err(error) => format!("Task {id} failed: {error}"),
            },
            Event::AlreadyDecided { id, .. } => {
                format!("Task {id} was already decided: dropped, not recorded twice")
            }
            Event::Rejected {
                subject, reason, ..
            } => format!("Dropped a message on {subject}: {reason}"),
            Event::Retrying { error, .. } => format!("{error}; trying again"),
            Event::Stopping { .. } => "Shutting down".to_owned(),
        }
    }
}

/// `, attempt 2` after a redelivery; nothing on the first.
fn attempt_note(attempt: u32) -> String {
    if attempt > 1 {
        format!(", attempt {attempt}")
    } else {
        String::new()
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.speaker(), self.message())
    }
}
