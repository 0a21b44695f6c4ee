//! Claiming a task and recording its outcome: the two steps every task goes
//! through, each inside a `BEGIN IMMEDIATE` transaction, the second fenced by
//! the lease token. A one-trip worker's request takes both in one transaction:
//! its results, then its next tasks.

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
/// RUNNING tasks whose lease ran out (`?2` is now), at most `?3` of them: their
/// worker is gone or late.
const NEXT_EXPIRED: &str = concat!(
    "SELECT id FROM tasks WHERE status = 'RUNNING' AND lease_expires_at <= ?2 AND ",
    claimable!(),
    " ORDER BY id LIMIT ?3"
);
/// The oldest QUEUED tasks, at most `?2` of them.
const NEXT_QUEUED: &str = concat!(
    "SELECT id FROM tasks WHERE status = 'QUEUED' AND ",
    claimable!(),
    " ORDER BY id LIMIT ?2"
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
    /// Leases the next task this worker can run, if there is one: a RUNNING task
    /// whose lease ran out, else the oldest QUEUED one — with attempts left and a
    /// kind among the worker's capabilities. A batch of one: see [`Store::claim_batch`].
    pub fn claim(&mut self, worker_id: &str, now: SystemTime) -> Result<Option<Lease>, StoreError> {
        Ok(self.claim_batch(worker_id, 1, now)?.pop())
    }

    // ANCHOR: claim_batch
    /// Leases up to `max` tasks this worker can run (`lease_next`), in one
    /// `BEGIN IMMEDIATE` transaction, so two claimers can never both take the
    /// same task. Fewer than `max`, or none, when the queue holds fewer.
    pub fn claim_batch(
        &mut self,
        worker_id: &str,
        max: usize,
        now: SystemTime,
    ) -> Result<Vec<Lease>, StoreError> {
        let lease_ends = unix_millis(now) + millis(self.config.lease);
        // IMMEDIATE takes the write lock *before* reading: the rows `lease_next`
        // picks cannot be picked by another connection between its SELECT and
        // its UPDATE.
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let leases = lease_next(&tx, worker_id, max, unix_millis(now), lease_ends)?;
        // Commit even with nothing leased: the tasks given up on stay FAILED (a
        // `Transaction` that is dropped rolls back).
        tx.commit()?;
        Ok(leases)
    }
    // ANCHOR_END: claim_batch

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

    /// Accepts an outcome only with the task's current lease token: one
    /// `BEGIN IMMEDIATE` transaction around `record`.
    pub fn finish(
        &mut self,
        task_id: TaskId,
        lease_token: &str,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Recorded, StoreError> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let recorded = record(&tx, task_id, lease_token, &outcome, unix_millis(now))?;
        tx.commit()?;
        Ok(recorded)
    }

    // ANCHOR: finish_batch
    /// Records a group of outcomes in one `BEGIN IMMEDIATE` transaction — one
    /// commit, one write to the file, for the lot. Each is fenced by its own lease
    /// token exactly as [`Store::finish`] fences one: a stale or conflicting one is
    /// refused alone (its answer in the list, at its place), and the others are
    /// recorded. Only a failure of the database itself fails the whole group.
    pub fn finish_batch(
        &mut self,
        results: &[Finished],
        now: SystemTime,
    ) -> Result<Vec<Result<Recorded, StoreError>>, StoreError> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let answers = record_all(&tx, results, unix_millis(now))?;
        tx.commit()?;
        Ok(answers)
    }
    // ANCHOR_END: finish_batch

    // ANCHOR: finish_and_claim
    /// The one-trip protocol's transaction: a group of results recorded as
    /// [`Store::finish_batch`] records them, then up to `max` tasks leased as
    /// [`Store::claim_batch`] leases them — one `BEGIN IMMEDIATE`, one commit,
    /// for both. A refused claim (a worker the store does not know) comes back
    /// beside the answers, and the results are committed all the same; only a
    /// failure of the database itself fails the lot.
    pub fn finish_and_claim(
        &mut self,
        results: &[Finished],
        worker_id: &str,
        max: usize,
        now: SystemTime,
    ) -> Result<FinishedAndClaimed, StoreError> {
        let lease_ends = unix_millis(now) + millis(self.config.lease);
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let answers = record_all(&tx, results, unix_millis(now))?;
        let claimed = match lease_next(&tx, worker_id, max, unix_millis(now), lease_ends) {
            Err(StoreError::Sqlite(error)) => return Err(error.into()),
            claimed => claimed,
        };
        tx.commit()?;
        Ok(FinishedAndClaimed { answers, claimed })
    }
    // ANCHOR_END: finish_and_claim
}

/// What [`Store::finish_and_claim`] did: each result's answer, in the order
/// given, and the leases granted — or why the claim was refused.
#[derive(Debug)]
pub struct FinishedAndClaimed {
    pub answers: Vec<Result<Recorded, StoreError>>,
    pub claimed: Result<Vec<Lease>, StoreError>,
}

/// Inside a transaction: `record` for each result, in order. A stale or
/// conflicting one is refused alone; a failure of the database fails the lot.
fn record_all(
    tx: &Transaction<'_>,
    results: &[Finished],
    now: i64,
) -> Result<Vec<Result<Recorded, StoreError>>, StoreError> {
    let mut answers = Vec::with_capacity(results.len());
    for finished in results {
        match record(
            tx,
            finished.task_id,
            &finished.lease_token,
            &finished.outcome,
            now,
        ) {
            Err(StoreError::Sqlite(error)) => return Err(error.into()),
            answer => answers.push(answer),
        }
    }
    Ok(answers)
}

// ANCHOR: claim
// ANCHOR: claim_given
/// Inside a transaction (`now` and `lease_ends` in Unix milliseconds): leases up
/// to `max` tasks this worker can run — RUNNING tasks whose lease ran out first,
/// then the oldest QUEUED ones, with attempts left and a kind among the worker's
/// capabilities. Each task gets a lease of its own (its own token, its own
/// expiry): the batch is one transaction, not one lease. Its caller commits.
#[cfg_attr(workbook_todo_store_claim, allow(unused_variables))]
fn lease_next(
    tx: &Transaction<'_>,
    worker_id: &str,
    max: usize,
    now: i64,
    lease_ends: i64,
) -> Result<Vec<Lease>, StoreError> {
    // ANCHOR_END: claim_given
    // TODO(store-claim): inside the BEGIN IMMEDIATE transaction it is given, lease up to `max` tasks this worker can run — expired leases first, then the oldest QUEUED tasks — each with a lease (a token) of its own
    todo!("store-claim — book: ch05, \"Claiming with BEGIN IMMEDIATE\"")
}
// ANCHOR_END: claim

// ANCHOR: finish
// ANCHOR: finish_given
/// Inside a transaction (`now` in Unix milliseconds): accepts an outcome only with
/// the task's current lease token. The same outcome twice (a resend after a lost
/// answer) is fine; a token from an older lease is refused and can never
/// overwrite the newer lease's result. A refusal writes nothing.
#[cfg_attr(workbook_todo_store_finish, allow(unused_variables))]
fn record(
    tx: &Transaction<'_>,
    task_id: TaskId,
    lease_token: &str,
    outcome: &Outcome,
    now: i64,
) -> Result<Recorded, StoreError> {
    // ANCHOR_END: finish_given
    // TODO(store-finish): inside the transaction it is given, record a task's outcome only with its current lease token: a resend of the same outcome is fine, a stale token or a different outcome is refused and writes nothing
    todo!("store-finish — book: ch05, \"Leases and fencing tokens\"")
}
// ANCHOR_END: finish
