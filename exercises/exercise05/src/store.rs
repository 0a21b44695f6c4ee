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

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use solution04::protocol::{ErrorType, TaskFailure, TaskStatus};

/// A task's id: the table's row id, so it survives restarts and never repeats.
pub type TaskId = i64;

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
}

impl NewTask {
    pub fn new(kind: &str, args: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            args,
            max_attempts: None,
        }
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

/// Tasks per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub queued: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.queued + self.running + self.completed + self.failed
    }
}

/// One worker as `stats` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStats {
    pub worker_id: String,
    pub alive: bool,
    pub capabilities: Vec<String>,
    /// Milliseconds since its last heartbeat.
    pub last_heartbeat_ms_ago: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
}

/// What `stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub tasks: StatusCounts,
    pub workers: Vec<WorkerStats>,
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

// ANCHOR: schema
/// Each step brings a database from one version (`PRAGMA user_version`) to the
/// next; a new column later is a new step, and old files are upgraded on open.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE tasks (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        kind             TEXT    NOT NULL,
        args             TEXT    NOT NULL,
        status           TEXT    NOT NULL DEFAULT 'QUEUED'
                         CHECK (status IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL DEFAULT 5,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        lease_token      TEXT,
        result           TEXT,
        error            TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    CREATE INDEX tasks_queue  ON tasks (status, id);
    CREATE INDEX tasks_leases ON tasks (status, lease_expires_at);
    CREATE TABLE workers (
        id             TEXT    PRIMARY KEY,
        capabilities   TEXT    NOT NULL,  -- a JSON array of task kinds
        last_heartbeat INTEGER NOT NULL,
        alive          INTEGER NOT NULL DEFAULT 1,
        registered_at  INTEGER NOT NULL
    );
"];
// ANCHOR_END: schema

// ANCHOR: claim_sql
/// The kinds a worker (`?1`) registered, with attempts left: what it may claim.
macro_rules! claimable {
    () => {
        "kind IN (SELECT value FROM json_each((SELECT capabilities FROM workers WHERE id = ?1)))
         AND attempts < max_attempts"
    };
}
/// A RUNNING task whose lease ran out (`?2` is now): its worker is gone or late.
const NEXT_EXPIRED: &str = concat!(
    "SELECT id FROM tasks WHERE status = 'RUNNING' AND lease_expires_at <= ?2 AND ",
    claimable!(),
    " ORDER BY id LIMIT 1"
);
/// The oldest QUEUED task.
const NEXT_QUEUED: &str = concat!(
    "SELECT id FROM tasks WHERE status = 'QUEUED' AND ",
    claimable!(),
    " ORDER BY id LIMIT 1"
);
/// The lease itself, with a fresh random token: the fencing token results must carry.
const LEASE: &str = "UPDATE tasks
    SET status = 'RUNNING', lease_owner = ?2, lease_expires_at = ?3,
        lease_token = lower(hex(randomblob(8))), attempts = attempts + 1, updated_at = ?4
    WHERE id = ?1
    RETURNING id, kind, args, lease_token, attempts, max_attempts";
// ANCHOR_END: claim_sql

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

    // ANCHOR: open
    fn prepare(
        mut connection: Connection,
        config: StoreConfig,
        path: Option<PathBuf>,
    ) -> Result<Self, StoreError> {
        if config.max_attempts == 0 {
            return Err(StoreError::NoAttempts);
        }
        // WAL: readers never wait for the writer, and a commit is one append.
        // NORMAL: a commit survives a killed process (what we test); only a power
        // cut can lose the last few.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        // Another connection's write lock is waited for, not an instant error.
        connection.busy_timeout(BUSY_TIMEOUT)?;
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        for step in MIGRATIONS
            .iter()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(step)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.commit()?;
        Ok(Self {
            connection,
            config,
            path,
        })
    }
    // ANCHOR_END: open

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
        self.connection.execute(
            "INSERT INTO tasks (kind, args, max_attempts, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![task.kind, task.args.to_string(), max_attempts, now],
        )?;
        Ok(self.connection.last_insert_rowid())
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

    // ANCHOR: heartbeat
    // ANCHOR: heartbeat_given
    /// A worker is alive, and still holds the leases it names: each of those that
    /// is still its own (same token) runs `lease` longer from `now`. Returns how
    /// many were renewed.
    pub fn heartbeat(
        &mut self,
        worker_id: &str,
        held: &[(TaskId, String)],
        now: SystemTime,
    ) -> Result<usize, StoreError> {
        // ANCHOR_END: heartbeat_given
        // TODO(store-heartbeat): mark the worker alive and renew exactly the leases it names (with their own token), including a task requeued since its worker was declared dead
        todo!("store-heartbeat — book: ch05, \"Heartbeats and the monitor\"")
    }
    // ANCHOR_END: heartbeat

    // ANCHOR: claim
    // ANCHOR: claim_given
    /// Leases the next task this worker can run, if there is one: a RUNNING task
    /// whose lease ran out, else the oldest QUEUED one — with attempts left and a
    /// kind among the worker's capabilities. One `BEGIN IMMEDIATE` transaction, so
    /// two claimers can never both take the same task.
    pub fn claim(&mut self, worker_id: &str, now: SystemTime) -> Result<Option<Lease>, StoreError> {
        // ANCHOR_END: claim_given
        // TODO(store-claim): lease the next task this worker can run — an expired lease first, else the oldest QUEUED task — in one BEGIN IMMEDIATE transaction
        todo!("store-claim — book: ch05, \"Claiming with BEGIN IMMEDIATE\"")
    }
    // ANCHOR_END: claim

    /// Records a task's result, fenced by its lease token.
    pub fn complete(
        &mut self,
        task_id: TaskId,
        lease_token: &str,
        result: Value,
        now: SystemTime,
    ) -> Result<Recorded, StoreError> {
        self.finish(task_id, lease_token, Outcome::Completed(result), now)
    }

    /// Records that a task ran and failed, fenced by its lease token. A failure
    /// of the task itself (a division by zero) is final: running it again would
    /// fail again.
    pub fn fail(
        &mut self,
        task_id: TaskId,
        lease_token: &str,
        failure: TaskFailure,
        now: SystemTime,
    ) -> Result<Recorded, StoreError> {
        self.finish(task_id, lease_token, Outcome::Failed(failure), now)
    }

    // ANCHOR: finish
    // ANCHOR: finish_given
    /// Accepts an outcome only with the task's current lease token. The same
    /// outcome twice (a resend after a lost answer) is fine; a token from an
    /// older lease is refused and can never overwrite the newer lease's result.
    pub fn finish(
        &mut self,
        task_id: TaskId,
        lease_token: &str,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Recorded, StoreError> {
        // ANCHOR_END: finish_given
        // TODO(store-finish): record a task's outcome only with its current lease token: a resend of the same outcome is fine, a stale token or a different outcome is refused
        todo!("store-finish — book: ch05, \"Leases and fencing tokens\"")
    }
    // ANCHOR_END: finish

    // ANCHOR: requeue_dead
    // ANCHOR: requeue_dead_given
    /// The monitor's round: workers silent for `dead_after` are dead, and the
    /// tasks they held go back to the queue — or, out of attempts, to FAILED.
    /// Expired leases of live workers are given up on the same way.
    pub fn requeue_dead(
        &mut self,
        now: SystemTime,
        dead_after: Duration,
    ) -> Result<Sweep, StoreError> {
        // ANCHOR_END: requeue_dead_given
        // TODO(store-requeue-dead): declare workers silent for `dead_after` dead, put their RUNNING tasks back in the queue (or FAILED, out of attempts), and give up on expired leases out of attempts
        todo!("store-requeue-dead — book: ch05, \"Heartbeats and the monitor\"")
    }
    // ANCHOR_END: requeue_dead

    /// A task's state, and why it waits if it does; `UnknownTask` if there is no such id.
    pub fn get(&self, task_id: TaskId) -> Result<TaskView, StoreError> {
        let row = self
            .connection
            .query_row(
                "SELECT kind, args, status, attempts, max_attempts, lease_owner, result, error
                 FROM tasks WHERE id = ?1",
                [task_id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, u32>(3)?,
                        row.get::<_, u32>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<String>>(6)?,
                        row.get::<_, Option<String>>(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((kind, args, status, attempts, max_attempts, lease_owner, result, error)) = row
        else {
            return Err(StoreError::UnknownTask(task_id));
        };
        let status = parse_status(&status)?;
        let waiting = match status {
            TaskStatus::Queued => Some(self.why_waiting(&kind)?),
            _ => None,
        };
        Ok(TaskView {
            task_id,
            kind,
            args: parse_json(&args)?,
            status,
            attempts,
            max_attempts,
            lease_owner,
            result: result.as_deref().map(parse_json).transpose()?,
            error: error.as_deref().map(parse_json).transpose()?,
            waiting,
        })
    }

    /// Why a QUEUED task of `kind` has not been taken.
    fn why_waiting(&self, kind: &str) -> Result<String, StoreError> {
        let able: i64 = self.connection.query_row(
            "SELECT count(*) FROM workers, json_each(workers.capabilities)
             WHERE workers.alive = 1 AND json_each.value = ?1",
            [kind],
            |row| row.get(0),
        )?;
        Ok(match able {
            0 => format!("no live worker has capability '{kind}'"),
            1 => format!("waiting for the one live worker that can run '{kind}'"),
            n => format!("waiting for one of the {n} live workers that can run '{kind}'"),
        })
    }

    /// Tasks per status, and per worker.
    pub fn stats(&self, now: SystemTime) -> Result<Stats, StoreError> {
        let mut tasks = StatusCounts::default();
        let mut statement = self
            .connection
            .prepare("SELECT status, count(*) FROM tasks GROUP BY status")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (status, number) = row?;
            let count = count(number);
            match parse_status(&status)? {
                TaskStatus::Queued => tasks.queued = count,
                TaskStatus::Running => tasks.running = count,
                TaskStatus::Completed => tasks.completed = count,
                TaskStatus::Failed => tasks.failed = count,
            }
        }
        let mut statement = self.connection.prepare(
            "SELECT w.id, w.alive, w.capabilities, w.last_heartbeat,
                    count(CASE WHEN t.status = 'RUNNING' THEN 1 END),
                    count(CASE WHEN t.status = 'COMPLETED' THEN 1 END),
                    count(CASE WHEN t.status = 'FAILED' THEN 1 END)
             FROM workers w LEFT JOIN tasks t ON t.lease_owner = w.id
             GROUP BY w.id ORDER BY w.id",
        )?;
        let now = unix_millis(now);
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, i64>(6)?,
            ))
        })?;
        let mut workers = Vec::new();
        for row in rows {
            let (worker_id, alive, capabilities, last, running, completed, failed) = row?;
            workers.push(WorkerStats {
                worker_id,
                alive,
                capabilities: parse_json(&capabilities)?,
                last_heartbeat_ms_ago: u64::try_from(now - last).unwrap_or(0),
                running: count(running),
                completed: count(completed),
                failed: count(failed),
            });
        }
        Ok(Stats { tasks, workers })
    }
}

/// Fails every RUNNING task whose lease ran out with no attempts left.
fn give_up_expired(tx: &Transaction<'_>, now: i64) -> Result<Vec<TaskId>, StoreError> {
    give_up(
        tx,
        "status = 'RUNNING' AND lease_expires_at <= ?1 AND attempts >= max_attempts",
        &now,
        "the last lease expired without a result",
        now,
    )
}

/// Fails the tasks `condition` (with `?1` = `bound`) selects: they used up their
/// attempts. The original left such tasks stuck for ever; here they end, and say why.
fn give_up(
    tx: &Transaction<'_>,
    condition: &str,
    bound: &dyn rusqlite::ToSql,
    reason: &str,
    now: i64,
) -> Result<Vec<TaskId>, StoreError> {
    let mut statement =
        tx.prepare_cached(&format!("SELECT id, attempts FROM tasks WHERE {condition}"))?;
    let exhausted: Vec<(TaskId, u32)> = statement
        .query_map([bound], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (task_id, attempts) in &exhausted {
        let failure = TaskFailure::new(
            &task_id.to_string(),
            ErrorType::WorkerFailureError,
            format!("gave up after {attempts} attempts: {reason}"),
        );
        tx.execute(
            "UPDATE tasks SET status = 'FAILED', error = ?2, lease_expires_at = NULL,
                              updated_at = ?3
             WHERE id = ?1",
            params![task_id, to_json(&failure)?, now],
        )?;
    }
    Ok(exhausted.into_iter().map(|(task_id, _)| task_id).collect())
}

/// A task's status, lease token, result and error, as stored.
type FinishRow = (String, Option<String>, Option<String>, Option<String>);

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
