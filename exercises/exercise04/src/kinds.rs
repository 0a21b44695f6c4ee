//! What a worker does with one assignment: decode it, run it, report how it ended.
//!
//! The Python original shipped *serialized functions* (dill/pickle) to its workers
//! and ran whatever arrived: anyone who could reach the dispatcher's port could run
//! any code on every worker. Here a task names one of chapter 03's task kinds,
//! [`Work`], and its arguments are plain JSON checked against that kind. This
//! module only maps the two ways a task can go wrong onto this chapter's protocol:
//! a task that is not one a worker runs ([`DecodeError`]) is refused with
//! `SerializationError`; one that runs and fails ([`WorkError`]) is
//! `FunctionExecutionFailure`.
//!
//! [`WorkError`]: solution03::work::WorkError

pub use solution03::work::{DecodeError, Work};

use crate::protocol::{Assignment, ErrorType, ResultReport, TaskFailure};

// ANCHOR: execute
/// What a worker thread does with one assignment: decode, run, report.
#[cfg_attr(workbook_todo_execute, allow(unused_variables))]
pub fn execute(assignment: &Assignment) -> ResultReport {
    // TODO(execute): decode and run one assignment with chapter 03's Work: a COMPLETED or FAILED report
    todo!("execute — book: ch04, \"Task kinds, not shipped code\"")
}
// ANCHOR_END: execute
