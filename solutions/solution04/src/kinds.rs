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
pub fn execute(assignment: &Assignment) -> ResultReport {
    // ANCHOR: todo-execute
    let id = &assignment.task_id;
    let work = match Work::decode(&assignment.kind, &assignment.args) {
        Ok(work) => work,
        Err(error) => {
            return ResultReport::failed(TaskFailure::new(
                id,
                ErrorType::SerializationError,
                error.to_string(),
            ));
        }
    };
    match work.run() {
        Ok(value) => ResultReport::completed(id, value),
        Err(error) => ResultReport::failed(TaskFailure::new(
            id,
            ErrorType::FunctionExecutionFailure,
            error.to_string(),
        )),
    }
    // ANCHOR_END: todo-execute
}
// ANCHOR_END: execute
