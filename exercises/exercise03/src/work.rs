//! What a task can ask a worker to do: the one closed set of task kinds that
//! chapters 03 to 06 run.
//!
//! The originals hand any `info` dict to an application object (pyzero-dtq), or
//! ship pickled functions (the pull-model original), and hope. Here the kinds are
//! an enum, [`Work`], so a task no worker knows is refused when it is read — an
//! error answer for whoever sent it — and a worker only ever runs work that has a
//! meaning. This module is written once, here, where the kinds first appear;
//! chapters 04, 05 and 06 use it as it is and carry it in their own envelopes.
//!
//! | kind | arguments | value |
//! |---|---|---|
//! | `add`, `subtract`, `multiply`, `divide` | `{"a": 10, "b": 5}` | chapter 02's checked arithmetic |
//! | `sleep` | `{"ms": 100}` | waits (stands in for I/O); the milliseconds slept |
//! | `primes` | `{"limit": 1000, "algorithm": "sieve"}` | how many primes are **up to and including** `limit` |
//! | `fail` | `{"message": "boom"}` | always fails, with that message |
//! | `echo` | `{"data": …}` | `data` unchanged, to move large payloads |
//!
//! `algorithm` is `sieve` (the default: fast, `limit` bytes of memory) or
//! `trial_division` (slow on purpose, no memory) — the two of chapter 05's Flask
//! original.
//!
//! Two ways a task can go wrong, two error types: [`DecodeError`], it is not a task
//! this worker runs (an unknown kind, bad arguments, a size over the limits) and it
//! never ran; [`WorkError`], it ran and failed (division by zero, `fail`).
//!
//! On the wire, chapter 03 puts the kind next to the arguments, `{"kind": "add",
//! "a": 10, "b": 5}` (serde's internally tagged form, this type's own
//! `Serialize`/`Deserialize`); chapters 04–06 carry them apart, `{"kind": "add",
//! "args": {"a": 10, "b": 5}}`, through [`Work::decode`], [`Work::kind`] and
//! [`Work::args`]. Deserializing checks the shape of the arguments, not their size:
//! every door that reads a task calls [`Work::decode`] or [`Work::check`].

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use solution02::work::{count_primes, wait_for};
use solution02::{Op, TaskError, TaskSpec};

/// The longest a `sleep` task may ask for: one minute. Long enough for every
/// demo and test where a task outlives a deadline or a lease (chapter 04's tests
/// park a worker on a 30 s sleep), short enough that no task takes a worker for
/// long.
pub const MAX_SLEEP_MS: u64 = 60_000;

/// The largest `limit` a `primes` task may ask for: ten million. The sieve then
/// takes 10 MB and a fraction of a second; trial division, a few seconds. The
/// demos and benchmarks count up to 100,000.
pub const MAX_PRIMES_LIMIT: u64 = 10_000_000;

/// Every kind's name on the wire, as a worker registers its capabilities.
pub const KINDS: [&str; 8] = [
    "add", "subtract", "multiply", "divide", "sleep", "primes", "fail", "echo",
];

/// How a `primes` task counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// The sieve of Eratosthenes: fast, `limit` bytes of memory.
    #[default]
    Sieve,
    /// Dividing each candidate (chapter 02's `count_primes`): slow, no memory.
    TrialDivision,
}

// ANCHOR: work
/// One task's work: a kind and its arguments, e.g. `{"kind": "add", "a": 10, "b": 5}`,
/// `{"kind": "sleep", "ms": 100}` or `{"kind": "primes", "limit": 1000}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
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
    /// CPU work: counts the primes up to and including `limit`.
    Primes {
        limit: u64,
        #[serde(default)]
        algorithm: Algorithm,
    },
    /// Always fails, with `message`.
    Fail {
        message: String,
    },
    /// Returns `data` unchanged.
    Echo {
        data: Value,
    },
}
// ANCHOR_END: work

/// Why a kind and its arguments are not a task this worker runs. It never ran.
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

/// Why a task that ran failed. Each one is sent back as an error result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Arithmetic(#[from] TaskError),
    /// A `fail` task's message.
    #[error("{0}")]
    Failed(String),
}

impl Work {
    /// Chapter 02's `10 add 5` as work for a worker.
    pub fn arithmetic(spec: TaskSpec) -> Self {
        let TaskSpec { op, a, b } = spec;
        match op {
            Op::Add => Work::Add { a, b },
            Op::Subtract => Work::Subtract { a, b },
            Op::Multiply => Work::Multiply { a, b },
            Op::Divide => Work::Divide { a, b },
        }
    }

    // ANCHOR: decode
    /// Reads a task that travels as a kind and a JSON object of arguments
    /// (chapters 04–06), and checks it against the limits.
    pub fn decode(kind: &str, args: &Value) -> Result<Self, DecodeError> {
        let invalid = |reason: String| DecodeError::Invalid {
            kind: kind.to_owned(),
            reason,
        };
        let Value::Object(fields) = args else {
            return Err(invalid(format!("args must be a JSON object, got {args}")));
        };
        if fields.contains_key("kind") {
            return Err(invalid("args must not name a kind of their own".to_owned()));
        }
        let mut tagged = Map::with_capacity(fields.len() + 1);
        tagged.insert("kind".to_owned(), Value::from(kind));
        tagged.extend(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        let work: Work = serde_json::from_value(Value::Object(tagged))
            .map_err(|error| invalid(error.to_string()))?;
        work.check()?;
        Ok(work)
    }
    // ANCHOR_END: decode

    // ANCHOR: check
    /// Refuses a task whose size is over the limits, before any worker starts it:
    /// a worker is never told to wait or allocate without bound.
    #[cfg_attr(workbook_todo_work_check, allow(unused_variables))]
    pub fn check(&self) -> Result<(), DecodeError> {
        // TODO(work-check): refuse a sleep longer than MAX_SLEEP_MS or a prime count above MAX_PRIMES_LIMIT, before any worker starts it
        todo!("work-check — book: ch03, \"A closed set of task kinds\"")
    }
    // ANCHOR_END: check

    /// The kind's name on the wire, one of [`KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            Work::Add { .. } => "add",
            Work::Subtract { .. } => "subtract",
            Work::Multiply { .. } => "multiply",
            Work::Divide { .. } => "divide",
            Work::Sleep { .. } => "sleep",
            Work::Primes { .. } => "primes",
            Work::Fail { .. } => "fail",
            Work::Echo { .. } => "echo",
        }
    }

    /// The arguments as they travel apart from the kind: `{"a": 10, "b": 5}`.
    pub fn args(&self) -> Value {
        // Numbers, strings and JSON values always serialize, into an object.
        let mut tagged = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = tagged.as_object_mut() {
            fields.remove("kind");
        }
        tagged
    }

    // ANCHOR: run
    /// Does the work on the calling (worker) thread. Never panics: every failure is
    /// a [`WorkError`].
    #[cfg_attr(workbook_todo_work_run, allow(unused_variables))]
    pub fn run(&self) -> Result<Value, WorkError> {
        // TODO(work-run): do one task's work: the arithmetic with chapter 02's checked Op, a sleep, a prime count by either algorithm, fail and echo
        todo!("work-run — book: ch03, \"A closed set of task kinds\"")
    }
    // ANCHOR_END: run
}

/// How many primes are below `n`, by the sieve of Eratosthenes.
fn sieve_count(n: u64) -> u64 {
    let Ok(n) = usize::try_from(n) else {
        return 0;
    };
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

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Work::Add { a, b } => write!(f, "{a} add {b}"),
            Work::Subtract { a, b } => write!(f, "{a} subtract {b}"),
            Work::Multiply { a, b } => write!(f, "{a} multiply {b}"),
            Work::Divide { a, b } => write!(f, "{a} divide {b}"),
            Work::Sleep { ms } => write!(f, "sleep {ms} ms"),
            Work::Primes {
                limit,
                algorithm: Algorithm::Sieve,
            } => write!(f, "primes up to {limit}"),
            Work::Primes {
                limit,
                algorithm: Algorithm::TrialDivision,
            } => write!(f, "primes up to {limit} by trial division"),
            Work::Fail { message } => write!(f, "fail {message:?}"),
            Work::Echo { .. } => f.write_str("echo"),
        }
    }
}
