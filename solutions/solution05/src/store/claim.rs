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
fn lease_next(
    tx: &Transaction<'_>,
    worker_id: &str,
    max: usize,
    now: i64,
    lease_ends: i64,
) -> Result<Vec<Lease>, StoreError> {
    // ANCHOR_END: claim_given
    // ANCHOR: todo-store-claim
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let known: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM workers WHERE id = ?1")?
        .query_row([worker_id], |row| row.get(0))
        .optional()?;
    if known.is_none() {
        return Err(StoreError::UnknownWorker(worker_id.to_owned()));
    }
    give_up_expired(tx, now)?;
    let mut next: Vec<TaskId> = tx
        .prepare_cached(NEXT_EXPIRED)?
        .query_map(params![worker_id, now, max], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let room = max - next.len() as i64;
    if room > 0 {
        let queued: Vec<TaskId> = tx
            .prepare_cached(NEXT_QUEUED)?
            .query_map(params![worker_id, room], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        next.extend(queued);
    }
    let mut leased = Vec::with_capacity(next.len());
    for task_id in next {
        // One UPDATE per task: each gets a fresh token of its own.
        let (task_id, kind, args, lease_token, attempt, max_attempts) =
            tx.prepare_cached(LEASE)?.query_row(
                params![task_id, worker_id, lease_ends, now],
                |row| {
                    Ok((
                        row.get::<_, TaskId>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, u32>(4)?,
                        row.get::<_, u32>(5)?,
                    ))
                },
            )?;
        leased.push(Lease {
            task_id,
            kind,
            args: parse_json(&args)?,
            lease_token,
            attempt,
            max_attempts,
        });
    }
    Ok(leased)
    // ANCHOR_END: todo-store-claim
}
// ANCHOR_END: claim

// ANCHOR: finish
// ANCHOR: finish_given
/// Inside a transaction (`now` in Unix milliseconds): accepts an outcome only with
/// the task's current lease token. The same outcome twice (a resend after a lost
/// answer) is fine; a token from an older lease is refused and can never
/// overwrite the newer lease's result. A refusal writes nothing.
fn record(
    tx: &Transaction<'_>,
    task_id: TaskId,
    lease_token: &str,
    outcome: &Outcome,
    now: i64,
) -> Result<Recorded, StoreError> {
    // ANCHOR_END: finish_given
    // ANCHOR: todo-store-finish
    let row: Option<FinishRow> = tx
        .prepare_cached("SELECT status, lease_token, result, error FROM tasks WHERE id = ?1")?
        .query_row([task_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((status, current_token, result, error)) = row else {
        return Err(StoreError::UnknownTask(task_id));
    };
    if current_token.as_deref() != Some(lease_token) {
        return Err(StoreError::StaleLease { task_id });
    }
    let status = parse_status(&status)?;
    if status.is_final() {
        let recorded = match (status, result, error) {
            (TaskStatus::Completed, Some(result), _) => {
                Outcome::Completed(parse_json::<Value>(&result)?)
            }
            (TaskStatus::Failed, _, Some(error)) => {
                Outcome::Failed(parse_json::<TaskFailure>(&error)?)
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "task {task_id} is final without an outcome"
                )));
            }
        };
        return if recorded == *outcome {
            Ok(Recorded::Already(status))
        } else {
            Err(StoreError::ConflictingResult { task_id })
        };
    }
    // RUNNING, or QUEUED again after its worker was declared dead but before
    // anyone leased it anew: the work is done, so take it.
    let (status, result, error) = match outcome {
        Outcome::Completed(value) => (TaskStatus::Completed, Some(value.to_string()), None),
        Outcome::Failed(failure) => (TaskStatus::Failed, None, Some(to_json(failure)?)),
    };
    tx.prepare_cached(
        "UPDATE tasks
         SET status = ?2, result = ?3, error = ?4, lease_expires_at = NULL, updated_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![task_id, status.to_string(), result, error, now])?;
    Ok(Recorded::Now(status))
    // ANCHOR_END: todo-store-finish
}
// ANCHOR_END: finish
