//! Heartbeats and the monitor: a live worker renews its leases; a silent one is
//! declared dead and its tasks go back to the queue — or, out of attempts, to FAILED.

// The store's types, its connection and its helpers live in mod.rs.
#[allow(clippy::wildcard_imports)]
use super::*;

impl Store {
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
        // ANCHOR: todo-store-heartbeat
        let now = unix_millis(now);
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known = tx.execute(
            "UPDATE workers SET last_heartbeat = ?2, alive = 1 WHERE id = ?1",
            params![worker_id, now],
        )?;
        if known == 0 {
            return Err(StoreError::UnknownWorker(worker_id.to_owned()));
        }
        let mut renewed = 0;
        for (task_id, token) in held {
            // QUEUED too: a worker declared dead that comes back gets its task
            // back, as long as nobody else has leased it since.
            renewed += tx.execute(
                "UPDATE tasks
                 SET status = 'RUNNING', lease_owner = ?3, lease_expires_at = ?4, updated_at = ?5
                 WHERE id = ?1 AND lease_token = ?2 AND status IN ('RUNNING', 'QUEUED')",
                params![
                    task_id,
                    token,
                    worker_id,
                    now + millis(self.config.lease),
                    now
                ],
            )?;
        }
        tx.commit()?;
        Ok(renewed)
        // ANCHOR_END: todo-store-heartbeat
    }
    // ANCHOR_END: heartbeat

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
        // ANCHOR: todo-store-requeue-dead
        let now = unix_millis(now);
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let dead_workers: Vec<String> = {
            let mut statement = tx.prepare(
                "UPDATE workers SET alive = 0 WHERE alive = 1 AND last_heartbeat <= ?1
                 RETURNING id",
            )?;
            statement
                .query_map([now - millis(dead_after)], |row| row.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut sweep = Sweep {
            dead_workers,
            ..Sweep::default()
        };
        for worker in &sweep.dead_workers {
            let reason = format!("worker {worker} stopped sending heartbeats");
            sweep.failed.extend(give_up(
                &tx,
                "status = 'RUNNING' AND lease_owner = ?1 AND attempts >= max_attempts",
                &worker.as_str(),
                &reason,
                now,
            )?);
            // The token stays: a late result from this lease is still accepted
            // until somebody else leases the task.
            let mut statement = tx.prepare(
                "UPDATE tasks SET status = 'QUEUED', lease_expires_at = NULL, updated_at = ?2
                 WHERE status = 'RUNNING' AND lease_owner = ?1 RETURNING id",
            )?;
            let requeued: Vec<TaskId> = statement
                .query_map(params![worker, now], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            sweep.requeued.extend(requeued);
        }
        sweep.failed.extend(give_up_expired(&tx, now)?);
        tx.commit()?;
        Ok(sweep)
        // ANCHOR_END: todo-store-requeue-dead
    }
    // ANCHOR_END: requeue_dead
}

/// Fails every RUNNING task whose lease ran out with no attempts left.
pub(super) fn give_up_expired(tx: &Transaction<'_>, now: i64) -> Result<Vec<TaskId>, StoreError> {
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
pub(super) fn give_up(
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
        let failure = task_failure(
            *task_id,
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
