//! The demo's unit of work: `10 add 5`, and everything that can go wrong with it.
//!
//! Arithmetic is on `i64` with checked operations, so division by zero and overflow
//! are error *results* a caller can show, never panics that take a worker down.
//! Division is integer division that truncates toward zero (`-7 / 2 == -3`), as
//! Rust's `/` does — unlike Python's `//`, which floors (`-7 // 2 == -4`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::pool::WorkerId;

/// A task's number, chosen by whoever submits it.
pub type TaskId = u64;

/// The four operations a task can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl Op {
    /// Every operation, in the order `--help` and error messages list them.
    pub const ALL: [Op; 4] = [Op::Add, Op::Subtract, Op::Multiply, Op::Divide];

    /// The word used on the command line and in JSON: `add`, `subtract`, …
    pub fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Subtract => "subtract",
            Op::Multiply => "multiply",
            Op::Divide => "divide",
        }
    }

    // ANCHOR: apply
    /// Applies the operation, reporting overflow and division by zero as errors.
    #[cfg_attr(workbook_todo_op_apply, allow(unused_variables))]
    pub fn apply(self, a: i64, b: i64) -> Result<i64, TaskError> {
        // TODO(op-apply): compute `a op b` with checked arithmetic, so that overflow and division by zero are errors, not panics
        todo!("op-apply — book: ch02, \"Tasks that cannot crash a worker\"")
    }
    // ANCHOR_END: apply
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Op {
    type Err = ParseTaskError;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        Op::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(word))
            .ok_or_else(|| ParseTaskError::UnknownOp(word.to_owned()))
    }
}

/// What a task asks for, before it has an id: `10 add 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpec {
    pub op: Op,
    pub a: i64,
    pub b: i64,
}

impl TaskSpec {
    /// Gives the spec an id, making it a task that can be submitted.
    pub fn with_id(self, id: TaskId) -> Task {
        Task {
            id,
            op: self.op,
            a: self.a,
            b: self.b,
        }
    }
}

impl FromStr for TaskSpec {
    type Err = ParseTaskError;

    /// Parses `"<a> <op> <b>"`, e.g. `"10 add 5"` or `"6 divide 0"`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [a, op, b] = words[..] else {
            return Err(ParseTaskError::Shape(text.to_owned()));
        };
        let number = |word: &str| {
            word.parse::<i64>()
                .map_err(|_| ParseTaskError::NotAnInteger(word.to_owned()))
        };
        Ok(TaskSpec {
            a: number(a)?,
            op: op.parse()?,
            b: number(b)?,
        })
    }
}

impl fmt::Display for TaskSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.a, self.op, self.b)
    }
}

/// Why a task's text could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTaskError {
    #[error("expected '<a> <op> <b>', e.g. '10 add 5', got '{0}'")]
    Shape(String),
    #[error("unknown op '{0}' (expected add, subtract, multiply or divide)")]
    UnknownOp(String),
    #[error("'{0}' is not a whole number between -9223372036854775808 and 9223372036854775807")]
    NotAnInteger(String),
}

// ANCHOR: task
/// One unit of work for the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub op: Op,
    pub a: i64,
    pub b: i64,
}
// ANCHOR_END: task

impl Task {
    /// The task without its id.
    pub fn spec(&self) -> TaskSpec {
        TaskSpec {
            op: self.op,
            a: self.a,
            b: self.b,
        }
    }

    /// Does the arithmetic. This is the default work a dispatcher runs.
    pub fn compute(&self) -> Result<i64, TaskError> {
        self.op.apply(self.a, self.b)
    }
}

// ANCHOR: task_error
/// How a task can fail. Every one of these is a *result*, sent back like a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("division by zero")]
    DivisionByZero,
    #[error("{a} {op} {b} overflows a 64-bit integer")]
    Overflow { op: Op, a: i64, b: i64 },
    #[error("the task panicked: {0}")]
    Panicked(String),
}
// ANCHOR_END: task_error

// ANCHOR: task_result
/// What comes back for one task: its value or its error, and who computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskResult {
    pub task_id: TaskId,
    pub outcome: Result<i64, TaskError>,
    pub worker_id: WorkerId,
}
// ANCHOR_END: task_result
