//! Claiming a task and recording its outcome: the two transactions every task goes
//! through, each one `BEGIN IMMEDIATE`, the second fenced by the lease token.

// The store's types, its connection and its helpers live in mod.rs.
use super::liveness::give_up_expired;
#[allow(clippy::wildcard_imports)]
use super::*;

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

/// A task's status, lease token, result and error, as stored.
type FinishRow = (String, Option<String>, Option<String>, Option<String>);

impl Store {
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
}
