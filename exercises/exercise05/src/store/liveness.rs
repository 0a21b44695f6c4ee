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
    #[cfg_attr(workbook_todo_store_heartbeat, allow(unused_variables))]
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

    // ANCHOR: requeue_dead
    // ANCHOR: requeue_dead_given
    /// The monitor's round: workers silent for `dead_after` are dead, and the
    /// tasks they held go back to the queue — or, out of attempts, to FAILED.
    /// Expired leases of live workers are given up on the same way.
    #[cfg_attr(workbook_todo_store_requeue_dead, allow(unused_variables))]
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
