//! What a task can ask the workers to do: a closed set of kinds.
//!
//! The original hands any `info` dict to an application object and hopes. Here the
//! kinds are an enum, so a task the pipeline does not know is refused when it is
//! parsed — an error result for its producer — and a worker only ever runs work
//! that has a meaning. Each kind is bounded, so no single task can occupy a worker
//! for ever.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use solution02::work::{count_primes, wait_for};
use solution02::{Op, TaskError, TaskSpec};

/// The longest a `sleep` task may ask for.
pub const MAX_SLEEP_MS: u64 = 10_000;

/// The largest bound a `primes` task may ask for: under a second of work.
pub const MAX_PRIMES_BELOW: u64 = 1_000_000;

// ANCHOR: work
/// One task's work, as it travels: `{"kind": "add", "a": 10, "b": 5}`,
/// `{"kind": "sleep", "ms": 100}` or `{"kind": "primes", "below": 1000}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Work {
    /// Chapter 02's arithmetic, with its checked errors.
    Add {
        a: i64,
        b: i64,
    },
    Subtract {
        a: i64,
        b: i64,
    },
    Multiply {
        a: i64,
        b: i64,
    },
    Divide {
        a: i64,
        b: i64,
    },
    /// Simulated I/O: the worker waits `ms` milliseconds; the value is `ms`.
    Sleep {
        ms: u64,
    },
    /// CPU work: counts the primes below `below`; the value is the count.
    Primes {
        below: u64,
    },
}
// ANCHOR_END: work

/// Why a task's work failed. Each one is sent back as an error result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Arithmetic(#[from] TaskError),
    #[error("sleep of {0} ms refused: at most {MAX_SLEEP_MS} ms")]
    SleepTooLong(u64),
    #[error("primes below {0} refused: at most {MAX_PRIMES_BELOW}")]
    PrimesTooLarge(u64),
}

impl Work {
    /// Chapter 02's `10 add 5` as work for this pipeline.
    pub fn arithmetic(spec: TaskSpec) -> Self {
        let TaskSpec { op, a, b } = spec;
        match op {
            Op::Add => Work::Add { a, b },
            Op::Subtract => Work::Subtract { a, b },
            Op::Multiply => Work::Multiply { a, b },
            Op::Divide => Work::Divide { a, b },
        }
    }

    // ANCHOR: run
    /// Does the work on the calling (worker) thread. Never panics: every failure is
    /// a [`WorkError`].
    pub fn run(&self) -> Result<i64, WorkError> {
        // ANCHOR: todo-work-run
        match *self {
            Work::Add { a, b } => Ok(Op::Add.apply(a, b)?),
            Work::Subtract { a, b } => Ok(Op::Subtract.apply(a, b)?),
            Work::Multiply { a, b } => Ok(Op::Multiply.apply(a, b)?),
            Work::Divide { a, b } => Ok(Op::Divide.apply(a, b)?),
            Work::Sleep { ms } if ms > MAX_SLEEP_MS => Err(WorkError::SleepTooLong(ms)),
            Work::Sleep { ms } => {
                wait_for(Duration::from_millis(ms));
                Ok(ms as i64)
            }
            Work::Primes { below } if below > MAX_PRIMES_BELOW => {
                Err(WorkError::PrimesTooLarge(below))
            }
            Work::Primes { below } => Ok(count_primes(below) as i64),
        }
        // ANCHOR_END: todo-work-run
    }
    // ANCHOR_END: run
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Work::Add { a, b } => write!(f, "{a} add {b}"),
            Work::Subtract { a, b } => write!(f, "{a} subtract {b}"),
            Work::Multiply { a, b } => write!(f, "{a} multiply {b}"),
            Work::Divide { a, b } => write!(f, "{a} divide {b}"),
            Work::Sleep { ms } => write!(f, "sleep {ms} ms"),
            Work::Primes { below } => write!(f, "primes below {below}"),
        }
    }
}
