//! The durable queue: every task and every worker in one SQLite file, so that a
//! crash of the dispatcher, or of any worker, loses nothing.
//!
//! Chapter 04 kept its tasks in a `HashMap` owned by the dispatcher's thread: kill
//! the process and the queue is gone. Here the same states live in a table, and
//! every change is one transaction. The [`Store`] knows nothing about sockets or
//! protocols, so chapter 06's gRPC service can call it as it is.
//!
//! A `rusqlite::Connection` is `Send` but not `Sync`: it may move to another
//! thread, but two threads may not use it at once. So a `Store` has one owner —
//! the dispatcher's thread — and code that wants several threads opens a `Store`
//! (a connection) per thread on the same file. SQLite's own locking, with
//! `BEGIN IMMEDIATE`, keeps those connections apart.
//!
//! One concern a file: the types and [`Store::open`] here; the schema and its
//! migrations in `schema.rs`; claiming a task and recording its outcome (the
//! two fenced transactions) in `claim.rs`; heartbeats and the monitor's sweep in
//! `liveness.rs`; one task's state and the counts in `stats.rs`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use solution04::protocol::{ErrorType, TaskFailure, TaskStatus};

mod claim;
mod liveness;
mod schema;
mod stats;

pub use claim::FinishedAndClaimed;
pub use stats::{Stats, StatusCounts, WorkerStats};

/// A task's id: the table's row id, so it survives restarts and never repeats.
pub type TaskId = i64;

/// Reads a task id written as text — `STATUS 7` on the ZeroMQ socket, `/task/7` on
/// the HTTP door: the one place text becomes a [`TaskId`].
pub fn parse_task_id(text: &str) -> Option<TaskId> {
    text.trim().parse().ok()
}

/// A failure of task `task_id`. Chapter 04's [`TaskFailure`] carries the id as a
/// string: the one place a [`TaskId`] becomes one.
pub fn task_failure(
    task_id: TaskId,
    error_type: ErrorType,
    message: impl Into<String>,
) -> TaskFailure {
    TaskFailure::new(&task_id.to_string(), error_type, message)
}

/// How long a worker holds a task before another may take it, unless renewed.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);
/// How many times a task is handed out before it is FAILED for good.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// How long a connection waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a [`Store`] hands out work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// How long a claim holds a task; heartbeats renew it.
    pub lease: Duration,
    /// Attempts for a task submitted without its own `max_attempts`.
    pub max_attempts: u32,
}

impl Default for StoreConfig {
    /// The original queue's 120 s lease, and 5 attempts.
    fn default() -> Self {
        Self {
            lease: DEFAULT_LEASE,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// A task as a client submits it: `{"kind": "primes", "args": {"limit": 1000}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    pub kind: String,
    #[serde(default)]
    pub args: Value,
    /// How many leases it may get; the store's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// A name the client gives this submission, so that sending it again — its
    /// answer lost in a crash — queues it once: the store answers a key it
    /// knows with the task it queued the first time (chapter 07's JetStream
    /// does the same with a message id). Absent, every submission is a new task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl NewTask {
    pub fn new(kind: &str, args: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            args,
            max_attempts: None,
            key: None,
        }
    }

    /// The same task, submitted under `key` (see [`NewTask::key`]).
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

// ANCHOR: lease
/// A task handed to one worker, for a while. The token names this one lease: a
/// result is accepted only with the token of the task's latest lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub task_id: TaskId,
    pub kind: String,
    pub args: Value,
    pub lease_token: String,
    /// 1 for the first lease, 2 for the first retry, …
    pub attempt: u32,
    pub max_attempts: u32,
}
// ANCHOR_END: lease

/// Everything known about a task: what `status` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub task_id: TaskId,
    pub kind: String,
    pub args: Value,
    pub status: TaskStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Who holds (or last held) the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskFailure>,
    /// Why a QUEUED task is still waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

/// How a worker's report ended a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed(Value),
    Failed(TaskFailure),
}

/// One worker's outcome for one lease, as [`Store::finish_batch`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub task_id: TaskId,
    /// The token of the lease it ran under: the fence, checked one by one.
    pub lease_token: String,
    pub outcome: Outcome,
}

/// What recording a result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The task is now COMPLETED or FAILED.
    Now(TaskStatus),
    /// The same result for the same lease was already recorded: a resend.
    Already(TaskStatus),
}

impl Recorded {
    pub fn status(self) -> TaskStatus {
        match self {
            Recorded::Now(status) | Recorded::Already(status) => status,
        }
    }
}

/// What one monitor round changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Workers whose last heartbeat is older than the dead-after limit.
    pub dead_workers: Vec<String>,
    /// Tasks put back in the queue for another worker.
    pub requeued: Vec<TaskId>,
    /// Tasks that used up their attempts: FAILED for good.
    pub failed: Vec<TaskId>,
}

/// Why the store could not do what was asked. Every variant but `Sqlite` and
/// `Corrupt` is a refusal to tell the caller about, not a failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database holds something unreadable: {0}")]
    Corrupt(String),
    #[error("unknown task {0}")]
    UnknownTask(TaskId),
    #[error("unknown worker {0:?}: it must REGISTER first")]
    UnknownWorker(String),
    #[error("a worker needs at least one capability")]
    NoCapabilities,
    #[error("max_attempts must be at least 1")]
    NoAttempts,
    #[error(
        "stale lease token for task {task_id}: the task was leased again since; result refused"
    )]
    StaleLease { task_id: TaskId },
    #[error("task {task_id} already has a different result from this lease; result refused")]
    ConflictingResult { task_id: TaskId },
}

/// Milliseconds since the Unix epoch: how the table stores time.
pub fn unix_millis(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The queue, on one connection. See the module's doc for who may own it.
pub struct Store {
    connection: Connection,
    config: StoreConfig,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (or creates) the database at `path`, in WAL mode, and brings its
    /// schema up to date.
    pub fn open(path: impl AsRef<Path>, config: StoreConfig) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let open_error = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let connection = Connection::open(path).map_err(open_error)?;
        Self::prepare(connection, config, Some(path.to_owned())).map_err(|error| match error {
            StoreError::Sqlite(source) => open_error(source),
            other => other,
        })
    }

    /// A private database that lives as long as this value: for tests.
    pub fn open_in_memory(config: StoreConfig) -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?, config, None)
    }

    pub fn config(&self) -> StoreConfig {
        self.config
    }

    /// The file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Queues a task; returns its id.
    pub fn submit(&mut self, task: &NewTask, now: SystemTime) -> Result<TaskId, StoreError> {
        let max_attempts = task.max_attempts.unwrap_or(self.config.max_attempts);
        if max_attempts == 0 {
            return Err(StoreError::NoAttempts);
        }
        let now = unix_millis(now);
        let args = task.args.to_string();
        // A known key inserts nothing (its index is UNIQUE; keyless tasks are
        // NULLs, which never conflict): the task queued under it is the answer.
        let inserted = self.connection.execute(
            "INSERT INTO tasks (kind, args, max_attempts, created_at, updated_at, submit_key)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)
             ON CONFLICT (submit_key) DO NOTHING",
            params![task.kind, args, max_attempts, now, task.key],
        )?;
        if inserted == 1 {
            return Ok(self.connection.last_insert_rowid());
        }
        // As JetStream treats a message id it has seen: the key alone names the
        // submission, whatever the second one holds.
        Ok(self
            .connection
            .prepare_cached("SELECT id FROM tasks WHERE submit_key = ?1")?
            .query_row([&task.key], |row| row.get(0))?)
    }

    /// Records a worker and what it can run (again, after a restart: the new list wins).
    pub fn register(
        &mut self,
        worker_id: &str,
        capabilities: &[String],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if capabilities.is_empty() {
            return Err(StoreError::NoCapabilities);
        }
        let capabilities = serde_json::to_string(capabilities)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        self.connection.execute(
            "INSERT INTO workers (id, capabilities, last_heartbeat, alive, registered_at)
             VALUES (?1, ?2, ?3, 1, ?3)
             ON CONFLICT (id) DO UPDATE
             SET capabilities = ?2, last_heartbeat = ?3, alive = 1",
            params![worker_id, capabilities, unix_millis(now)],
        )?;
        Ok(())
    }
}

/// SQLite counts are signed; a count is never negative.
fn count(number: i64) -> u64 {
    u64::try_from(number).unwrap_or(0)
}

fn parse_status(text: &str) -> Result<TaskStatus, StoreError> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("unknown status {text:?}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(error.to_string()))
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}
