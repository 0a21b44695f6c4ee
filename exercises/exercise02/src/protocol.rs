//! The network mode's wire format: one JSON object per line, each way.
//!
//! ```text
//! client → {"id": 1, "op": "add", "a": 10, "b": 5}
//! server ← {"id": 1, "value": 15, "worker": 0}
//! server ← {"id": 2, "error": "division by zero", "worker": 1}
//! server ← {"error": "invalid JSON: expected value at line 1 column 1"}
//! ```
//!
//! Anything a client sends is untrusted: every way a line can be wrong becomes a
//! [`RequestError`] the server answers with, and none of them is a panic.

use serde::{Deserialize, Serialize};

use crate::task::{Op, Task, TaskId, TaskResult};

/// The longest request line the server reads, newline included. A longer line is
/// answered with an error and skipped, so one client cannot make the server buffer
/// without limit.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

// ANCHOR: request
/// A request as it travels: `{"id": 1, "op": "add", "a": 10, "b": 5}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub id: TaskId,
    pub op: Op,
    pub a: i64,
    pub b: i64,
}
// ANCHOR_END: request

impl From<Task> for Request {
    fn from(task: Task) -> Self {
        Self {
            id: task.id,
            op: task.op,
            a: task.a,
            b: task.b,
        }
    }
}

impl From<Request> for Task {
    fn from(request: Request) -> Self {
        Self {
            id: request.id,
            op: request.op,
            a: request.a,
            b: request.b,
        }
    }
}

/// One reply line. Exactly one of `value` and `error` is present; `id` is missing
/// only when the request was too broken to have one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<usize>,
}

impl From<&TaskResult> for Reply {
    fn from(result: &TaskResult) -> Self {
        let (value, error) = match &result.outcome {
            Ok(value) => (Some(*value), None),
            Err(error) => (None, Some(error.to_string())),
        };
        Self {
            id: Some(result.task_id),
            value,
            error,
            worker: Some(result.worker_id),
        }
    }
}

impl From<&RequestError> for Reply {
    fn from(error: &RequestError) -> Self {
        Self {
            id: error.id,
            value: None,
            error: Some(error.message.clone()),
            worker: None,
        }
    }
}

impl Reply {
    /// The reply as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        // Serialising plain numbers and strings cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        line.push('\n');
        line
    }
}

// ANCHOR: parse_request_given
/// A request line the server could not accept, with the task id if it had one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    pub id: Option<TaskId>,
    pub message: String,
}

// ANCHOR: parse_request
/// Parses one request line. Errors keep the id when the line had a readable one, so
/// the client can tell which of its tasks was refused.
#[cfg_attr(workbook_todo_parse_request, allow(unused_variables))]
pub fn parse_request(line: &str) -> Result<Task, RequestError> {
    // ANCHOR_END: parse_request_given
    // TODO(parse-request): parse one JSON line into a task; a refusal says what was wrong and keeps the task's id when the line had a readable one
    todo!("parse-request — book: ch02, \"Network mode\"")
}
// ANCHOR_END: parse_request

/// The request line for `task`, newline included.
pub fn request_line(task: &Task) -> String {
    let mut line = serde_json::to_string(&Request::from(*task)).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}

impl Reply {
    /// `Task 1 = 15 (by Worker 0)`, `Task 6 failed: division by zero (by Worker 1)`,
    /// or `Refused: invalid JSON: …` for a line the server could not read.
    pub fn describe(&self) -> String {
        let by = self
            .worker
            .map(|worker| format!(" (by Worker {worker})"))
            .unwrap_or_default();
        match (self.id, self.value, &self.error) {
            (Some(id), Some(value), _) => format!("Task {id} = {value}{by}"),
            (Some(id), None, Some(error)) => format!("Task {id} failed: {error}{by}"),
            (None, _, Some(error)) => format!("Refused: {error}"),
            _ => format!("Unexpected reply: {}", self.to_line().trim_end()),
        }
    }
}

/// One line read off a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, newline removed.
    Line(String),
    /// A line longer than the limit, reported as soon as the limit is passed: its
    /// first bytes were thrown away and the rest of it is left unread.
    TooLong,
    /// A line that is not UTF-8 text.
    NotText,
}

// ANCHOR: read_frame
/// Reads the next line, never buffering more than `limit` bytes of it. Returns
/// `None` at the end of the stream, and [`Frame::TooLong`] as soon as a line
/// passes `limit` — without waiting for a newline that may never come.
pub fn read_frame(
    reader: &mut impl std::io::BufRead,
    limit: usize,
) -> std::io::Result<Option<Frame>> {
    let mut line = Vec::new();
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            // End of stream: a last line without a newline still counts.
            if line.is_empty() {
                return Ok(None);
            }
            break;
        }
        // ANCHOR: read_frame_limit
        let newline = available.iter().position(|&byte| byte == b'\n');
        let taken = newline.map_or(available.len(), |at| at + 1);
        if line.len() + taken > limit {
            reader.consume(taken);
            return Ok(Some(Frame::TooLong));
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if newline.is_some() {
            break;
        }
        // ANCHOR_END: read_frame_limit
    }
    while line
        .last()
        .is_some_and(|byte| matches!(byte, b'\n' | b'\r'))
    {
        line.pop();
    }
    Ok(Some(
        String::from_utf8(line).map_or(Frame::NotText, Frame::Line),
    ))
}
// ANCHOR_END: read_frame
