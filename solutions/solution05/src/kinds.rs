//! What a worker can run, by name, and the capabilities it registers with.
//!
//! The NATS original's workers announced capabilities such as `Add Divide`, and
//! the Flask original's tasks counted primes with a choice of algorithm. Here the
//! two meet: a task's kind is one of [`KINDS`], a worker registers the subset it
//! runs, and the store hands it nothing else. Running a kind reuses chapter 04's
//! closed set of jobs and chapter 02's arithmetic — still no shipped code.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use solution02::Op;
use solution02::work::count_primes;
pub use solution04::kinds::DecodeError;
use solution04::kinds::{Job, MAX_PRIMES_N, count_primes_below};

use crate::store::{ErrorType, Lease, Outcome, TaskFailure};

/// Every kind a worker of this chapter knows.
pub const KINDS: [&str; 8] = [
    "add", "subtract", "multiply", "divide", "primes", "sleep", "fail", "echo",
];

/// How a `primes` task counts: the original offered both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// The sieve of Eratosthenes: fast, `limit` bytes of memory.
    #[default]
    Sieve,
    /// Dividing each candidate: slow on purpose, no memory.
    TrialDivision,
}

/// `{"limit": 100000, "algorithm": "sieve"}`: count the primes up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimesArgs {
    pub limit: u64,
    #[serde(default)]
    pub algorithm: Algorithm,
}

/// A kind and its arguments, checked: ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// add, subtract, multiply, divide, sleep, fail, echo: chapter 04's jobs.
    Job(Job),
    Primes(PrimesArgs),
}

/// `{"a": 10, "b": 5}`, the arguments of the four arithmetic kinds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Operands {
    a: i64,
    b: i64,
}

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

impl Work {
    /// Checks a task's kind and arguments, as the dispatcher does at submission
    /// and the worker again before running.
    pub fn decode(kind: &str, args: &Value) -> Result<Self, DecodeError> {
        match kind {
            "add" | "subtract" | "multiply" | "divide" => {
                let op: Op = serde_json::from_value(json!(kind)).map_err(|e| invalid(kind, e))?;
                let Operands { a, b } =
                    serde_json::from_value(args.clone()).map_err(|e| invalid(kind, e))?;
                Ok(Work::Job(Job::Arithmetic { a, op, b }))
            }
            "primes" => {
                let primes: PrimesArgs =
                    serde_json::from_value(args.clone()).map_err(|e| invalid(kind, e))?;
                if primes.limit > MAX_PRIMES_N {
                    return Err(DecodeError::TooLarge {
                        what: "primes limit",
                        got: primes.limit,
                        limit: MAX_PRIMES_N,
                    });
                }
                Ok(Work::Primes(primes))
            }
            "sleep" | "fail" | "echo" => Job::decode(kind, args).map(Work::Job),
            other => Err(invalid(
                other,
                format!("unknown kind; known kinds: {}", KINDS.join(" ")),
            )),
        }
    }

    /// Runs it; an `Err` is the failure's message.
    pub fn run(&self) -> Result<Value, String> {
        match self {
            Work::Job(job) => job.run(),
            Work::Primes(PrimesArgs { limit, algorithm }) => {
                // Both count the primes *below* their argument; "up to" includes it.
                let count = match algorithm {
                    Algorithm::Sieve => count_primes_below(limit + 1),
                    Algorithm::TrialDivision => count_primes(limit + 1),
                };
                Ok(json!({ "limit": limit, "algorithm": algorithm, "count": count }))
            }
        }
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
pub fn execute(lease: &Lease, capabilities: &[String]) -> Outcome {
    // ANCHOR_END: execute_given
    // ANCHOR: todo-kinds-execute
    let task_id = lease.task_id.to_string();
    let fail =
        |error_type, message| Outcome::Failed(TaskFailure::new(&task_id, error_type, message));
    // The store never hands out such a task; a dispatcher that did is refused.
    if !capabilities.contains(&lease.kind) {
        return fail(
            ErrorType::SerializationError,
            not_capable_message(&lease.kind),
        );
    }
    match Work::decode(&lease.kind, &lease.args) {
        Err(error) => fail(ErrorType::SerializationError, error.to_string()),
        Ok(work) => match work.run() {
            Ok(value) => Outcome::Completed(value),
            Err(message) => fail(ErrorType::FunctionExecutionFailure, message),
        },
    }
    // ANCHOR_END: todo-kinds-execute
}
// ANCHOR_END: execute
