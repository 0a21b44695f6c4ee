//! The schema: what the file holds, and how an older file is brought up to date
//! when it is opened.

// The store's types, its connection and its helpers live in mod.rs.
#[allow(clippy::wildcard_imports)]
use super::*;

// ANCHOR: schema
/// Each step brings a database from one version (`PRAGMA user_version`) to the
/// next; a new column later is a new step, and old files are upgraded on open.
const MIGRATIONS: &[&str] = &[
    "
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
",
    "
    -- A client's name for a submission: sent again, it queues nothing new.
    ALTER TABLE tasks ADD COLUMN submit_key TEXT;
    CREATE UNIQUE INDEX tasks_submit_key ON tasks (submit_key);
",
];
// ANCHOR_END: schema

impl Store {
    // ANCHOR: open
    pub(super) fn prepare(
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
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use serde_json::json;

    use super::*;

    /// A file written before the submission key existed: version 1, one task.
    fn first_version() -> Connection {
        let connection = Connection::open_in_memory().expect("opens");
        connection.execute_batch(MIGRATIONS[0]).expect("version 1");
        connection
            .pragma_update(None, "user_version", 1)
            .expect("versioned");
        connection
            .execute(
                "INSERT INTO tasks (kind, args, created_at, updated_at)
                 VALUES ('add', '{\"a\": 1, \"b\": 2}', 0, 0)",
                [],
            )
            .expect("an old task");
        connection
    }

    #[test]
    fn an_older_file_is_upgraded_on_open_and_keeps_its_tasks() {
        let mut store =
            Store::prepare(first_version(), StoreConfig::default(), None).expect("upgrades");
        let keyed = NewTask::new("add", json!({"a": 1, "b": 2})).with_key("k1");
        let first = store.submit(&keyed, SystemTime::now()).expect("submits");
        assert_eq!(first, 2, "the old task keeps id 1");
        assert_eq!(
            store.submit(&keyed, SystemTime::now()).expect("resubmits"),
            first,
            "the same key again queues nothing new"
        );
        let version: i64 = store
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("a version");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
