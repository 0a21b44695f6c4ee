//! The capabilities a worker registers with, and what it does with one lease.
//!
//! The NATS original's workers announced capabilities such as `Add Divide`; the
//! Flask original's tasks counted primes with a choice of algorithm. Both are
//! chapter 03's task kinds, [`Work`], by their names in [`KINDS`]: a worker
//! registers the subset it runs, and the store hands it nothing else. What is this
//! chapter's own is the check of those capabilities and the worker's last line of
//! defence: it refuses a lease of a kind it never offered, then decodes, runs, and
//! says how it ended — still no shipped code.

use solution03::work::{DecodeError, KINDS, Work};

use crate::store::{ErrorType, Lease, Outcome, task_failure};

fn invalid(kind: &str, reason: impl ToString) -> DecodeError {
    DecodeError::Invalid {
        kind: kind.to_owned(),
        reason: reason.to_string(),
    }
}

/// Checks a worker's capabilities: at least one, each a kind it can run.
pub fn check_capabilities(capabilities: &[String]) -> Result<(), DecodeError> {
    if capabilities.is_empty() {
        return Err(invalid("", "a worker needs at least one capability"));
    }
    match capabilities
        .iter()
        .find(|kind| !KINDS.contains(&kind.as_str()))
    {
        Some(unknown) => Err(invalid(
            unknown,
            format!("not a kind; known kinds: {}", KINDS.join(" ")),
        )),
        None => Ok(()),
    }
}

/// The error text for a task of a kind the worker did not register.
pub fn not_capable_message(kind: &str) -> String {
    format!("Task type '{kind}' not in capabilities")
}

// ANCHOR: execute
// ANCHOR: execute_given
/// What a worker thread does with one lease: refuse a kind it never offered,
/// then decode, run, and say how it ended.
#[cfg_attr(workbook_todo_kinds_execute, allow(unused_variables))]
pub fn execute(lease: &Lease, capabilities: &[String]) -> Outcome {
    // ANCHOR_END: execute_given
    // TODO(kinds-execute): run one lease: refuse a kind outside the worker's capabilities, decode its arguments, run it, and say how it ended
    todo!("kinds-execute — book: ch05, \"Capabilities\"")
}
// ANCHOR_END: execute
