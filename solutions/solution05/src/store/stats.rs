//! What the store tells about itself: one task's state (and why it waits), and
//! the counts per status and per worker that `stats` and `Health` show.

// The store's types, its connection and its helpers live in mod.rs.
#[allow(clippy::wildcard_imports)]
use super::*;

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

impl Store {
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
