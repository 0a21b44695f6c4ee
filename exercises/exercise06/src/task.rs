//! From a wire `pb::Task` to work a worker can do, and from every way it can fail
//! to the gRPC status the caller sees.
//!
//! Checking the request is cheap and never blocks, so it happens on the async side
//! before anything is queued; a request that cannot be valid never takes a worker.
//! The arithmetic itself is chapter 02's, with its checked operations.

use std::fmt;
use std::time::Duration;

use solution02::{Op, TaskError};
use tonic::Status;

use crate::pb;

/// The longest simulated work a caller may ask for: a worker is a scarce thing.
pub const MAX_PROCESSING_TIME: Duration = Duration::from_secs(60);

/// A task that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTask {
    pub id: String,
    pub op: Op,
    pub a: i64,
    pub b: i64,
    /// Simulated work before computing.
    pub processing_time: Duration,
    /// The task's own limit from its arrival, if it set one.
    pub timeout: Option<Duration>,
}

/// Why a task was refused before it reached a worker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidTask {
    #[error("task type is unspecified: expected ADD, SUBTRACT, MULTIPLY or DIVIDE")]
    UnspecifiedType,
    #[error("unknown task type {0}: expected ADD, SUBTRACT, MULTIPLY or DIVIDE")]
    UnknownType(i32),
    #[error("processing_time must be between 0 and {max} seconds, got {0}", max = MAX_PROCESSING_TIME.as_secs())]
    ProcessingTime(f64),
    #[error("timeout must be 0 (none) or a positive number of seconds, got {0}")]
    Timeout(f64),
}

impl From<InvalidTask> for Status {
    fn from(error: InvalidTask) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

// ANCHOR: status_of
// ANCHOR: status_of_given
/// The status a failed computation answers with: what grpcio's servicer would set
/// with `context.abort(...)`.
#[cfg_attr(workbook_todo_status_of, allow(unused_variables))]
pub fn status_of(error: &TaskError) -> Status {
    // ANCHOR_END: status_of_given
    // TODO(status-of): turn a failed computation into the gRPC status the Python servicer would answer
    todo!("status-of — book: ch06, \"Errors are status codes\"")
}
// ANCHOR_END: status_of

fn op_of(kind: i32) -> Result<Op, InvalidTask> {
    match pb::TaskType::try_from(kind) {
        Ok(pb::TaskType::Add) => Ok(Op::Add),
        Ok(pb::TaskType::Subtract) => Ok(Op::Subtract),
        Ok(pb::TaskType::Multiply) => Ok(Op::Multiply),
        Ok(pb::TaskType::Divide) => Ok(Op::Divide),
        Ok(pb::TaskType::Unspecified) => Err(InvalidTask::UnspecifiedType),
        Err(_) => Err(InvalidTask::UnknownType(kind)),
    }
}

/// The wire enum for an operation.
pub fn task_type(op: Op) -> pb::TaskType {
    match op {
        Op::Add => pb::TaskType::Add,
        Op::Subtract => pb::TaskType::Subtract,
        Op::Multiply => pb::TaskType::Multiply,
        Op::Divide => pb::TaskType::Divide,
    }
}

fn seconds(value: f64, max: Duration) -> Option<Duration> {
    (value.is_finite() && value >= 0.0 && value <= max.as_secs_f64())
        .then(|| Duration::from_secs_f64(value))
}

impl TryFrom<&pb::Task> for ValidTask {
    type Error = InvalidTask;

    fn try_from(task: &pb::Task) -> Result<Self, Self::Error> {
        let op = op_of(task.r#type)?;
        let processing_time = seconds(task.processing_time, MAX_PROCESSING_TIME)
            .ok_or(InvalidTask::ProcessingTime(task.processing_time))?;
        // A year is "no limit" for every practical purpose, and keeps the sum with
        // an `Instant` from overflowing.
        let timeout = match seconds(task.timeout, Duration::from_secs(365 * 24 * 3600)) {
            Some(timeout) if timeout.is_zero() => None,
            Some(timeout) => Some(timeout),
            None => return Err(InvalidTask::Timeout(task.timeout)),
        };
        Ok(Self {
            id: task.id.clone(),
            op,
            a: task.operand1,
            b: task.operand2,
            processing_time,
            timeout,
        })
    }
}

impl fmt::Display for ValidTask {
    /// `task 7: 12 multiply 12`, as the server's log lines show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}: {} {} {}", self.id, self.a, self.op, self.b)
    }
}

/// A wire task for `a op b` with no simulated work and no limit of its own.
pub fn new_task(id: impl Into<String>, a: i64, op: Op, b: i64) -> pb::Task {
    pb::Task {
        id: id.into(),
        r#type: task_type(op).into(),
        operand1: a,
        operand2: b,
        timeout: 0.0,
        processing_time: 0.0,
    }
}
