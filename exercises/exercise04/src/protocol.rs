//! The wire protocol between a worker and the dispatcher, in one place, so that a
//! worker in any language can be written from this file (or the book's copy of it).
//!
//! A worker holds a REQ socket, the dispatcher a REP socket. Every frame is UTF-8:
//!
//! ```text
//! worker → REQUEST_TASK                         (or REQUEST_TASK {"worker_id": "w1"})
//! dispatcher → {"task_id": "…", "kind": "…", "args": {…}, "status": "RUNNING"}
//!            | NO_TASKS_AVAILABLE
//!            | ERROR_OCCURED <reason>
//!
//! worker → RESULT:{"task_id": "…", "status": "COMPLETED", "result": …}
//!        | RESULT:{"task_id": "…", "status": "FAILED", "error": {…}}
//! dispatcher → RESULT_RECEIVED
//!            | ERROR <reason>
//! ```
//!
//! A worker may instead carry its finished results on its next request, one round
//! trip per task instead of two (`pull_worker --protocol one-trip`; the book's
//! "One round trip per task"):
//!
//! ```text
//! worker → RESULT_AND_REQUEST {"results": [{"task_id": …, "status": …}, …], "worker_id": "w1"}
//! dispatcher → a task | NO_TASKS_AVAILABLE      (every result recorded)
//!            | ERROR <reason>                   (a result refused, or the frame unreadable:
//!                                                no task handed out; ask again)
//! ```
//!
//! The frames are this workbook's spelling of the original's three messages
//! (its README names what they carry, not their bytes); `ERROR_OCCURED`, with
//! its misspelling, is the Python peer's in `bench/peers/`, kept so that peer
//! and ours understand each other. Everything a peer sends is untrusted: every way a frame can be
//! wrong is a [`ProtocolError`], never a panic.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A task's id, chosen by the dispatcher when the task is submitted.
pub type TaskId = String;

/// The largest frame the dispatcher accepts; a larger one is answered with an error.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// The largest message libzmq will even receive for the dispatcher: a peer sending
/// more is disconnected before it is buffered, so no client can make the
/// dispatcher allocate without limit. Between the two limits, the sender is told.
pub const HARD_FRAME_LIMIT: usize = 4 * MAX_FRAME_BYTES;

/// What a worker asks for work with.
pub const REQUEST_TASK: &str = "REQUEST_TASK";
/// The prefix of a worker's result frame.
pub const RESULT_PREFIX: &str = "RESULT:";
/// The dispatcher's answer when the queue is empty.
pub const NO_TASKS_AVAILABLE: &str = "NO_TASKS_AVAILABLE";
/// The dispatcher's answer to a request for work it could not serve (sic).
pub const ERROR_OCCURED: &str = "ERROR_OCCURED";
/// The dispatcher's answer to an accepted result.
pub const RESULT_RECEIVED: &str = "RESULT_RECEIVED";
/// The dispatcher's answer to a refused result or an unreadable frame.
pub const ERROR: &str = "ERROR";
/// What a one-trip worker sends: its finished results and a request for work.
pub const RESULT_AND_REQUEST: &str = "RESULT_AND_REQUEST";

// ANCHOR: status
/// Where a task is in its life: QUEUED → RUNNING → COMPLETED | FAILED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskStatus {
    Queued,
    Running,
    Completed,
    Failed,
}
// ANCHOR_END: status

impl TaskStatus {
    /// Whether the task will never change again.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskStatus::Queued => "QUEUED",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::Failed => "FAILED",
        })
    }
}

/// Why a task failed, as the original's error objects name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorType {
    /// The worker went silent: the task ran past its deadline.
    WorkerFailureError,
    /// The task ran and failed (a `fail` task, a division by zero).
    FunctionExecutionFailure,
    /// The task could not be understood: unknown kind or bad arguments.
    SerializationError,
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `{"status": "FAILED", "error_type": "…", "message": "…", "task_id": "…"}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    pub status: TaskStatus,
    pub error_type: ErrorType,
    pub message: String,
    pub task_id: TaskId,
}

impl TaskFailure {
    pub fn new(task_id: &str, error_type: ErrorType, message: impl Into<String>) -> Self {
        Self {
            status: TaskStatus::Failed,
            error_type,
            message: message.into(),
            task_id: task_id.to_owned(),
        }
    }
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

// ANCHOR: assignment
/// A task as the dispatcher hands it to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub task_id: TaskId,
    pub kind: String,
    pub args: Value,
    pub status: TaskStatus,
}
// ANCHOR_END: assignment

/// What a worker reports for one task: `result` when COMPLETED, `error` when FAILED.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultReport {
    pub task_id: TaskId,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskFailure>,
}

impl ResultReport {
    pub fn completed(task_id: &str, result: Value) -> Self {
        Self {
            task_id: task_id.to_owned(),
            status: TaskStatus::Completed,
            result: Some(result),
            error: None,
        }
    }

    pub fn failed(failure: TaskFailure) -> Self {
        Self {
            task_id: failure.task_id.clone(),
            status: TaskStatus::Failed,
            result: None,
            error: Some(failure),
        }
    }

    /// The `RESULT:{…}` frame a worker sends.
    pub fn to_frame(&self) -> String {
        // A report is strings and JSON values only, which always serialize.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{RESULT_PREFIX}{json}")
    }
}

/// `{"worker_id": "…"}`, the optional body of a request for work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerHello {
    #[serde(default)]
    pub worker_id: Option<String>,
}

/// A frame from a worker, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerMessage {
    RequestTask { worker_id: Option<String> },
    Result(ResultReport),
}

/// Why a frame could not be understood. Its text is what the peer is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("frame is not UTF-8 text")]
    NotText,
    #[error("frame of {0} bytes is larger than the limit of {MAX_FRAME_BYTES} bytes")]
    TooLarge(usize),
    #[error("expected one frame per message, got {0}")]
    MultiPart(usize),
    #[error("unknown request {0:?}: expected REQUEST_TASK or RESULT:{{…}}")]
    UnknownRequest(String),
    #[error(
        "unknown request {0:?}: expected SUBMIT {{\"kind\": …, \"args\": {{…}}}} or STATUS <id>"
    )]
    UnknownClientRequest(String),
    #[error("malformed JSON after {command}: {reason}")]
    BadJson {
        command: &'static str,
        reason: String,
    },
    #[error("a {status} result needs {needs}")]
    Incomplete {
        status: TaskStatus,
        needs: &'static str,
    },
    #[error("a result's status must be COMPLETED or FAILED, not {0}")]
    NotFinal(TaskStatus),
    #[error("unknown reply {0:?}")]
    UnknownReply(String),
}

/// Longest piece of a bad frame quoted back in an error, so an error answer never
/// echoes a megabyte of garbage.
const QUOTE_CHARS: usize = 60;

/// The start of `text`, for error messages.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Reads a single-part message as text.
pub fn single_text_frame(parts: &[Vec<u8>]) -> Result<&str, ProtocolError> {
    match parts {
        [frame] if frame.len() > MAX_FRAME_BYTES => Err(ProtocolError::TooLarge(frame.len())),
        [frame] => std::str::from_utf8(frame).map_err(|_| ProtocolError::NotText),
        _ => Err(ProtocolError::MultiPart(parts.len())),
    }
}

impl WorkerMessage {
    // ANCHOR: parse
    /// Understands one frame from a worker.
    #[cfg_attr(workbook_todo_parse_worker_frame, allow(unused_variables))]
    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        // TODO(parse-worker-frame): REQUEST_TASK [{json}] or RESULT:{json}; garbage is an Err
        todo!("parse-worker-frame — book: ch04, \"The wire protocol\"")
    }
    // ANCHOR_END: parse
}

/// The dispatcher's answer to a worker, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum DispatcherReply {
    Task(Assignment),
    NoTasksAvailable,
    /// `ERROR_OCCURED <reason>`: the request for work was not served.
    RequestFailed(String),
    ResultReceived,
    /// `ERROR <reason>`: the result (or the frame) was refused.
    Refused(String),
}

impl DispatcherReply {
    /// The frame the dispatcher sends.
    pub fn to_frame(&self) -> String {
        match self {
            // An assignment is strings and a JSON value, which always serialize.
            DispatcherReply::Task(assignment) => {
                serde_json::to_string(assignment).unwrap_or_default()
            }
            DispatcherReply::NoTasksAvailable => NO_TASKS_AVAILABLE.to_owned(),
            DispatcherReply::RequestFailed(reason) => format!("{ERROR_OCCURED} {reason}"),
            DispatcherReply::ResultReceived => RESULT_RECEIVED.to_owned(),
            DispatcherReply::Refused(reason) => format!("{ERROR} {reason}"),
        }
    }

    /// Understands the dispatcher's answer; what a worker does with each frame.
    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        let frame = frame.trim();
        let reason = |rest: &str| rest.trim().to_owned();
        if frame == NO_TASKS_AVAILABLE {
            Ok(DispatcherReply::NoTasksAvailable)
        } else if frame == RESULT_RECEIVED {
            Ok(DispatcherReply::ResultReceived)
        } else if let Some(rest) = frame.strip_prefix(ERROR_OCCURED) {
            Ok(DispatcherReply::RequestFailed(reason(rest)))
        } else if let Some(rest) = frame.strip_prefix(ERROR) {
            Ok(DispatcherReply::Refused(reason(rest)))
        } else if frame.starts_with('{') {
            serde_json::from_str(frame)
                .map(DispatcherReply::Task)
                .map_err(|error| ProtocolError::BadJson {
                    command: "a task",
                    reason: error.to_string(),
                })
        } else {
            Err(ProtocolError::UnknownReply(quote(frame)))
        }
    }
}

/// The `REQUEST_TASK` frame, with the worker's name if it has one.
pub fn request_task_frame(worker_id: Option<&str>) -> String {
    match worker_id {
        Some(id) => format!("{REQUEST_TASK} {}", serde_json::json!({ "worker_id": id })),
        None => REQUEST_TASK.to_owned(),
    }
}

// ANCHOR: results_and_request
/// `RESULT_AND_REQUEST {"results": [...], "worker_id": ...}`: the one-trip
/// protocol's only message. Finished results ride on the request for the next task,
/// so a task costs one round trip instead of two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultsAndRequest {
    /// Results finished since the last request; often one, sometimes none.
    #[serde(default)]
    pub results: Vec<ResultReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
}
// ANCHOR_END: results_and_request

impl ResultsAndRequest {
    /// The frame a one-trip worker sends.
    pub fn to_frame(&self) -> String {
        // Strings and JSON values only, which always serialize.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{RESULT_AND_REQUEST} {json}")
    }

    /// `None` if `frame` is not a `RESULT_AND_REQUEST` at all (the original
    /// protocol's parser then reads it); otherwise the message, or why it is bad.
    pub fn parse(frame: &str) -> Option<Result<Self, ProtocolError>> {
        let rest = frame.strip_prefix(RESULT_AND_REQUEST)?;
        let body = rest.trim();
        if body.is_empty() {
            return Some(Ok(Self::default()));
        }
        // "RESULT_AND_REQUESTS {…}" is some other word, not this one with a body.
        if !rest.starts_with(char::is_whitespace) {
            return None;
        }
        let message = serde_json::from_str::<Self>(body).map_err(|error| ProtocolError::BadJson {
            command: RESULT_AND_REQUEST,
            reason: error.to_string(),
        });
        Some(message.and_then(|message| {
            for report in &message.results {
                check_final(report)?;
            }
            Ok(message)
        }))
    }
}

/// The checks `RESULT:` gets, for a result carried on a request: final, and a
/// FAILED one says why.
fn check_final(report: &ResultReport) -> Result<(), ProtocolError> {
    match report.status {
        TaskStatus::Completed => Ok(()),
        TaskStatus::Failed if report.error.is_some() => Ok(()),
        TaskStatus::Failed => Err(ProtocolError::Incomplete {
            status: TaskStatus::Failed,
            needs: "an \"error\" object",
        }),
        other => Err(ProtocolError::NotFinal(other)),
    }
}
