//! The closed set of things a worker will run.
//!
//! The Python original shipped *serialized functions* (dill/pickle) to its workers
//! and ran whatever arrived: anyone who could reach the dispatcher's port could run
//! any code on every worker. Here a task names one of a few kinds the worker was
//! compiled with, and its arguments are plain JSON checked against that kind. A
//! task the worker does not know is refused with `SerializationError`; one that
//! runs and fails is `FunctionExecutionFailure`.

use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
pub use solution02::Op;

use crate::protocol::{Assignment, ErrorType, ResultReport, TaskFailure};

/// The largest `n` a `primes` task may ask for: its sieve takes `n` bytes.
pub const MAX_PRIMES_N: u64 = 50_000_000;
/// The longest a `sleep` task may ask to sleep.
pub const MAX_SLEEP_MS: u64 = 10 * 60 * 1000;

// ANCHOR: job
/// Everything a worker knows how to run. On the wire: `{"kind": "sleep", "args": {"ms": 100}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args", rename_all = "lowercase")]
pub enum Job {
    /// `{"a": 10, "op": "add", "b": 5}` — chapter 02's arithmetic.
    Arithmetic { a: i64, op: Op, b: i64 },
    /// `{"ms": 100}` — stands in for slow work; the result is the milliseconds slept.
    Sleep { ms: u64 },
    /// `{"n": 1000}` — CPU work: how many primes are below `n`.
    Primes { n: u64 },
    /// `{"message": "boom"}` — always fails, with that message.
    Fail { message: String },
    /// `{"data": …}` — returns `data` unchanged, to move large payloads.
    Echo { data: Value },
}
// ANCHOR_END: job

/// Why a task's kind and arguments are not something this worker runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot run {kind:?}: {reason}")]
    Invalid { kind: String, reason: String },
    #[error("{what} is {got}, more than the limit of {limit}")]
    TooLarge {
        what: &'static str,
        got: u64,
        limit: u64,
    },
}

impl Job {
    /// The kind's name on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Arithmetic { .. } => "arithmetic",
            Job::Sleep { .. } => "sleep",
            Job::Primes { .. } => "primes",
            Job::Fail { .. } => "fail",
            Job::Echo { .. } => "echo",
        }
    }

    /// The arguments as they travel.
    pub fn args(&self) -> Value {
        // A Job is numbers, strings and JSON values, which always serialize.
        let tagged = serde_json::to_value(self).unwrap_or_default();
        tagged.get("args").cloned().unwrap_or(Value::Null)
    }

    // ANCHOR: decode
    /// Checks a task's kind and arguments against the kinds this worker runs.
    pub fn decode(kind: &str, args: &Value) -> Result<Self, DecodeError> {
        // ANCHOR: todo-job-decode
        let job: Job =
            serde_json::from_value(json!({ "kind": kind, "args": args })).map_err(|error| {
                DecodeError::Invalid {
                    kind: kind.to_owned(),
                    reason: error.to_string(),
                }
            })?;
        match job {
            Job::Primes { n } if n > MAX_PRIMES_N => Err(DecodeError::TooLarge {
                what: "primes n",
                got: n,
                limit: MAX_PRIMES_N,
            }),
            Job::Sleep { ms } if ms > MAX_SLEEP_MS => Err(DecodeError::TooLarge {
                what: "sleep ms",
                got: ms,
                limit: MAX_SLEEP_MS,
            }),
            job => Ok(job),
        }
        // ANCHOR_END: todo-job-decode
    }
    // ANCHOR_END: decode

    /// Runs the job; an `Err` is the failure's message.
    pub fn run(&self) -> Result<Value, String> {
        match self {
            Job::Arithmetic { a, op, b } => {
                op.apply(*a, *b).map(Value::from).map_err(|e| e.to_string())
            }
            Job::Sleep { ms } => {
                thread::sleep(Duration::from_millis(*ms));
                Ok(Value::from(*ms))
            }
            Job::Primes { n } => Ok(Value::from(count_primes_below(*n))),
            Job::Fail { message } => Err(message.clone()),
            Job::Echo { data } => Ok(data.clone()),
        }
    }
}

// ANCHOR: execute
/// What a worker thread does with one assignment: decode, run, report.
pub fn execute(assignment: &Assignment) -> ResultReport {
    // ANCHOR: todo-execute
    let id = &assignment.task_id;
    let job = match Job::decode(&assignment.kind, &assignment.args) {
        Ok(job) => job,
        Err(error) => {
            return ResultReport::failed(TaskFailure::new(
                id,
                ErrorType::SerializationError,
                error.to_string(),
            ));
        }
    };
    match job.run() {
        Ok(value) => ResultReport::completed(id, value),
        Err(message) => ResultReport::failed(TaskFailure::new(
            id,
            ErrorType::FunctionExecutionFailure,
            message,
        )),
    }
    // ANCHOR_END: todo-execute
}
// ANCHOR_END: execute

/// How many primes are below `n`, by the sieve of Eratosthenes.
pub fn count_primes_below(n: u64) -> u64 {
    let Ok(n) = usize::try_from(n) else {
        return 0;
    };
    if n < 3 {
        return 0;
    }
    let mut composite = vec![false; n];
    let mut count = 0;
    for candidate in 2..n {
        if composite[candidate] {
            continue;
        }
        count += 1;
        let mut multiple = candidate.saturating_mul(candidate);
        while multiple < n {
            composite[multiple] = true;
            multiple += candidate;
        }
    }
    count
}
