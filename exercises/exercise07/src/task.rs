//! The original's task, `pb::Task`, as this chapter uses it: which subject it is
//! published on, what work it asks for, and the checks it must pass first.
//!
//! A task's *type* is where it goes: `tasks.add`, `tasks.divide`, … — one subject
//! per kind, so that a worker asks only for the kinds it can run. What the task
//! computes is the workbook's one closed set of work, chapter 03's
//! [`Work`](solution03::work::Work), reached through [`work_of`] alone.

use std::time::Duration;

use solution02::{Op, TaskSpec};
use solution03::work::Work;

use crate::pb;

/// Every subject a task is published on starts with this.
pub const SUBJECT_PREFIX: &str = "tasks";

/// The longest simulated work a task may ask for, as in chapter 06.
pub const MAX_PROCESSING_TIME: Duration = Duration::from_secs(60);

/// The kinds of task the original knows, in the order `--help` lists them.
pub const KINDS: [pb::TaskType; 4] = [
    pb::TaskType::Add,
    pb::TaskType::Subtract,
    pb::TaskType::Multiply,
    pb::TaskType::Divide,
];

/// Why a task cannot be run, decided before any worker is bothered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadTask {
    #[error("task type is unspecified: expected Add, Subtract, Multiply or Divide")]
    UnspecifiedType,
    #[error("unknown task type {0}: expected Add, Subtract, Multiply or Divide")]
    UnknownType(i32),
    #[error("unknown kind {0:?}: expected Add, Subtract, Multiply or Divide")]
    UnknownKind(String),
    #[error("processing_time must be between 0 and {max} seconds, got {0}", max = MAX_PROCESSING_TIME.as_secs())]
    ProcessingTime(f64),
    #[error("timeout must be 0 (none) or a positive number of seconds, got {0}")]
    Timeout(f64),
    #[error("a task id is 1 to 64 letters, digits, '-' or '_', got {0:?}")]
    Id(String),
    #[error("{0}")]
    Work(String),
    #[error("not a Task message: {0}")]
    Undecodable(String),
}

/// The lower-case name of a kind: `add`. Also the last token of its subject.
pub fn kind_name(kind: pb::TaskType) -> &'static str {
    match kind {
        pb::TaskType::Add => "add",
        pb::TaskType::Subtract => "subtract",
        pb::TaskType::Multiply => "multiply",
        pb::TaskType::Divide => "divide",
        pb::TaskType::Unspecified => "unspecified",
    }
}

/// `Add`, `add` or `ADD` → the kind; the original's workers say `-c Add Divide`.
pub fn parse_kind(name: &str) -> Result<pb::TaskType, BadTask> {
    KINDS
        .into_iter()
        .find(|kind| kind_name(*kind).eq_ignore_ascii_case(name))
        .ok_or_else(|| BadTask::UnknownKind(name.to_owned()))
}

/// The wire type of a task, checked: known and specified.
pub fn kind_of(task: &pb::Task) -> Result<pb::TaskType, BadTask> {
    match pb::TaskType::try_from(task.r#type) {
        Ok(pb::TaskType::Unspecified) => Err(BadTask::UnspecifiedType),
        Ok(kind) => Ok(kind),
        Err(_) => Err(BadTask::UnknownType(task.r#type)),
    }
}

// ANCHOR: subject_for
// ANCHOR: subject_for_given
/// The subject a task of this kind is published on, and the one filter of the
/// consumer its workers share: `tasks.add`.
#[cfg_attr(workbook_todo_subject_for, allow(unused_variables))]
pub fn subject_for(kind: pb::TaskType) -> String {
    // ANCHOR_END: subject_for_given
    // TODO(subject-for): the subject a task of this kind is published on: `tasks.add`, `tasks.divide`, …
    todo!("subject-for — book: ch07, \"One subject per kind\"")
}
// ANCHOR_END: subject_for

// ANCHOR: work_of
/// The one place this chapter meets the workbook's task set: what a wire task
/// asks a worker to compute, read by the same [`Work::decode`] as chapters 04–06.
pub fn work_of(task: &pb::Task) -> Result<Work, BadTask> {
    let kind = kind_name(kind_of(task)?);
    let args = serde_json::json!({ "a": task.operand1, "b": task.operand2 });
    Work::decode(kind, &args).map_err(|error| BadTask::Work(error.to_string()))
}
// ANCHOR_END: work_of

/// Runs a task's work on the calling (blocking) thread; never panics. The
/// original's results are whole numbers, and so are its four kinds'.
pub fn run(work: &Work) -> Result<i64, String> {
    let value = work.run().map_err(|error| error.to_string())?;
    value
        .as_i64()
        .ok_or_else(|| format!("{work} gave {value}, not a whole number"))
}

/// Every check a task must pass before it is published: a worker never sees a
/// task that could not be valid, and its id can be a key of the results bucket.
pub fn check(task: &pb::Task) -> Result<(), BadTask> {
    kind_of(task)?;
    let id_ok = !task.id.is_empty()
        && task.id.len() <= 64
        && task
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(BadTask::Id(task.id.clone()));
    }
    if !(0.0..=MAX_PROCESSING_TIME.as_secs_f64()).contains(&task.processing_time) {
        return Err(BadTask::ProcessingTime(task.processing_time));
    }
    if !(task.timeout.is_finite() && task.timeout >= 0.0) {
        return Err(BadTask::Timeout(task.timeout));
    }
    Ok(())
}

/// A task's simulated work, once [`check`]ed.
pub fn processing_time(task: &pb::Task) -> Duration {
    Duration::try_from_secs_f64(task.processing_time)
        .unwrap_or_default()
        .min(MAX_PROCESSING_TIME)
}

/// A task's own time limit, counted from its submission; `None` for none.
pub fn timeout(task: &pb::Task) -> Option<Duration> {
    Duration::try_from_secs_f64(task.timeout)
        .ok()
        .filter(|limit| !limit.is_zero())
}

/// `10 add 5`, as chapter 02 writes a task.
pub fn describe(task: &pb::Task) -> String {
    match kind_of(task) {
        Ok(kind) => format!("{} {} {}", task.operand1, kind_name(kind), task.operand2),
        Err(_) => format!("{} ?{} {}", task.operand1, task.r#type, task.operand2),
    }
}

/// A task with this id computing `spec`, no simulated work and no timeout.
pub fn new_task(id: impl Into<String>, spec: TaskSpec) -> pb::Task {
    let kind = match spec.op {
        Op::Add => pb::TaskType::Add,
        Op::Subtract => pb::TaskType::Subtract,
        Op::Multiply => pb::TaskType::Multiply,
        Op::Divide => pb::TaskType::Divide,
    };
    pb::Task {
        id: id.into(),
        r#type: kind.into(),
        operand1: spec.a,
        operand2: spec.b,
        timeout: 0.0,
        processing_time: 0.0,
    }
}
