//! Step 1 — Claiming and fencing: the store's claim and finish.

use super::*;

#[test]
fn step1_a_claim_leases_the_oldest_task_the_worker_can_run() {
    let mut store = memory_store(120, 5);
    let divide = store
        .submit(&NewTask::new("divide", json!({"a": 6, "b": 3})), t0())
        .expect("submits");
    let first = store.submit(&add(1, 2), t0()).expect("submits");
    let second = store.submit(&add(3, 4), t0()).expect("submits");
    register(&mut store, &["adder"], &["add"]);

    let lease = within(LIMIT, "a claim", CLAIM, move || {
        let lease = claim(&mut store, "adder", at(1));
        (lease, store)
    });
    let (lease, mut store) = lease;
    let lease = lease.or_book("a lease on the first add task", CLAIM);
    assert_eq!(
        (lease.task_id, lease.kind.as_str(), lease.attempt),
        (first, "add", 1),
        "the oldest task of a kind the worker registered, attempt 1 (the divide task is older \
         but not among its capabilities); {}",
        CAPABILITIES.hint()
    );
    assert!(
        !lease.lease_token.is_empty(),
        "a lease carries a token; {}",
        FENCING.hint()
    );
    let view = view_of(&store, first);
    assert_eq!(
        (view.status, view.lease_owner.as_deref(), view.attempts),
        (TaskStatus::Running, Some("adder"), 1),
        "a leased task is RUNNING, owned by the claimer, attempt 1; {}",
        CLAIM.hint()
    );
    assert_eq!(
        claim(&mut store, "adder", at(2)).map(|l| l.task_id),
        Some(second),
        "then the next one (the first is leased until 121 s); {}",
        CLAIM.hint()
    );
    assert_eq!(
        claim(&mut store, "adder", at(3)),
        None,
        "a capability mismatch is never claimed: only the divide task is left; {}",
        CAPABILITIES.hint()
    );
    let waiting = view_of(&store, divide);
    assert_eq!(
        (waiting.status, waiting.waiting.as_deref()),
        (
            TaskStatus::Queued,
            Some("no live worker has capability 'divide'")
        ),
        "a task nobody can run waits QUEUED, and status says why; {}",
        CAPABILITIES.hint()
    );
    let stranger = store.claim("stranger", at(4));
    assert!(
        matches!(stranger, Err(StoreError::UnknownWorker(_))),
        "a worker that never registered cannot claim, got {stranger:?}; {}",
        CLAIM.hint()
    );
}

#[test]
fn step1_an_expired_lease_is_claimed_before_a_queued_task() {
    let mut store = memory_store(120, 5);
    let older = store.submit(&add(1, 1), t0()).expect("submits");
    register(&mut store, &["gone", "next"], &["add"]);
    let (gone, expired, queued, newer) = within(LIMIT, "claims", CLAIM, move || {
        let gone = claim(&mut store, "gone", at(0)).map(|l| l.task_id);
        let newer = store.submit(&add(2, 2), at(1)).expect("submits");
        // The first lease ran out at 120 s: its task is older, so it goes first.
        let expired = claim(&mut store, "next", at(121)).map(|l| (l.task_id, l.attempt));
        let queued = claim(&mut store, "next", at(122)).map(|l| (l.task_id, l.attempt));
        (gone, expired, queued, newer)
    });
    assert_eq!(
        gone,
        Some(older),
        "the first claim leases the task; {}",
        CLAIM.hint()
    );
    assert_eq!(
        (expired, queued),
        (Some((older, 2)), Some((newer, 1))),
        "a RUNNING task whose lease ran out is claimed first (as attempt 2), then the oldest \
         QUEUED one; {}",
        CLAIM.hint()
    );
}

#[test]
fn step1_two_connections_racing_for_1000_tasks_claim_each_once() {
    let dir = TempDir::new("ch05-race");
    let db = dir.join("tasks.db");
    let mut store = Store::open(&db, config(120, 5)).expect("opens");
    for n in 0..1000 {
        store.submit(&add(n, 1), t0()).expect("submits");
    }
    register(&mut store, &["w1", "w2"], &["add"]);
    let racers: Vec<JoinHandle<Vec<i64>>> = ["w1", "w2"]
        .into_iter()
        .map(|worker| {
            let db = db.clone();
            thread::spawn(move || {
                // A connection per thread: a Store is Send, not Sync.
                let mut store = Store::open(&db, config(120, 5)).expect("opens");
                let mut done = Vec::new();
                // A plain (deferred) BEGIN fails here with "database is locked"
                // when both connections read the same row and then both write.
                while let Some(lease) = claim(&mut store, worker, at(1)) {
                    let sum = lease.args["a"].as_i64().unwrap_or(0) + 1;
                    store
                        .complete(lease.task_id, &lease.lease_token, json!(sum), at(1))
                        .or_book("a fresh lease's result to be accepted", FENCING);
                    done.push(lease.task_id);
                }
                done
            })
        })
        .collect();
    let claimed = within(LIMIT, "two workers racing", CLAIM, move || {
        racers
            .into_iter()
            .map(|racer| match racer.join() {
                Ok(done) => done,
                // The racer's own message (from `claim` or `complete`) says what failed.
                Err(payload) => std::panic::resume_unwind(payload),
            })
            .collect::<Vec<_>>()
    });
    let all: Vec<i64> = claimed.iter().flatten().copied().collect();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (1000, 1000),
        "1000 tasks, each claimed exactly once between two connections (w1 took {}, w2 {}); {}",
        claimed[0].len(),
        claimed[1].len(),
        CLAIM.hint()
    );
    let stats = store.stats(at(2)).expect("stats");
    assert_eq!(
        (
            stats.tasks.completed,
            stats.tasks.queued,
            stats.tasks.running
        ),
        (1000, 0, 0),
        "every task COMPLETED once; {}",
        CLAIM.hint()
    );
}

#[test]
fn step1_a_stale_lease_token_is_refused_and_a_resend_is_fine() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(20, 22), t0()).expect("submits");
    register(&mut store, &["slow", "fast"], &["add"]);
    let (old, new, mut store) = within(LIMIT, "two leases of one task", FENCING, move || {
        let old = claim(&mut store, "slow", at(0));
        // The slow worker's lease runs out without a result or a heartbeat.
        let new = claim(&mut store, "fast", at(121));
        (old, new, store)
    });
    let old = old.or_book("a first lease", CLAIM);
    let new = new.or_book("a second lease once the first ran out at 120 s", FENCING);
    assert_eq!(
        (new.task_id, new.attempt),
        (task, 2),
        "an expired lease is claimed again, as attempt 2; {}",
        FENCING.hint()
    );
    assert_ne!(
        old.lease_token,
        new.lease_token,
        "every lease gets a fresh token; {}",
        FENCING.hint()
    );
    let stale = store.complete(task, &old.lease_token, json!(-1), at(122));
    assert!(
        matches!(stale, Err(StoreError::StaleLease { .. })),
        "a result with the old lease's token must be refused, got {stale:?}; {}",
        FENCING.hint()
    );
    let fresh = store.complete(task, &new.lease_token, json!(42), at(123));
    assert_eq!(
        fresh.ok(),
        Some(Recorded::Now(TaskStatus::Completed)),
        "the current lease's result is recorded; {}",
        FENCING.hint()
    );
    let again = store.complete(task, &new.lease_token, json!(42), at(124));
    assert_eq!(
        again.ok(),
        Some(Recorded::Already(TaskStatus::Completed)),
        "the same result for the same lease twice is fine (a resend); {}",
        FENCING.hint()
    );
    let late = store.complete(task, &old.lease_token, json!(-1), at(125));
    assert!(
        matches!(late, Err(StoreError::StaleLease { .. })),
        "the old token stays refused after completion, got {late:?}; {}",
        FENCING.hint()
    );
    let view = view_of(&store, task);
    assert_eq!(
        (view.status, view.result),
        (TaskStatus::Completed, Some(json!(42))),
        "a stale result never overwrites the newer lease's; {}",
        FENCING.hint()
    );
}

#[test]
fn step1_a_failure_is_recorded_once_and_a_different_result_is_refused() {
    let mut store = memory_store(120, 5);
    let task = store
        .submit(&NewTask::new("divide", json!({"a": 1, "b": 0})), t0())
        .expect("submits");
    register(&mut store, &["divider"], &["divide"]);
    let failure = TaskFailure::new(
        &task.to_string(),
        ErrorType::FunctionExecutionFailure,
        "division by zero",
    );
    let outcome = within(LIMIT, "recording a failure", FENCING, move || {
        let lease = claim(&mut store, "divider", at(0)).or_book("a lease", CLAIM);
        let token = lease.lease_token;
        let first = store.fail(task, &token, failure.clone(), at(1));
        let again = store.fail(task, &token, failure.clone(), at(2));
        let different = store.complete(task, &token, json!(0), at(3));
        let unknown = store.complete(task + 100, &token, json!(0), at(4));
        let view = view_of(&store, task);
        (first, again, different, unknown, view, failure)
    });
    let (first, again, different, unknown, view, failure) = outcome;
    assert_eq!(
        first.ok(),
        Some(Recorded::Now(TaskStatus::Failed)),
        "a task that ran and failed is FAILED at once; {}",
        ATTEMPTS.hint()
    );
    assert_eq!(
        (view.status, view.error, view.result),
        (TaskStatus::Failed, Some(failure), None),
        "a FAILED task keeps its error (and has no result); {}",
        FENCING.hint()
    );
    assert_eq!(
        again.ok(),
        Some(Recorded::Already(TaskStatus::Failed)),
        "the same failure for the same lease again is a resend: fine; {}",
        FENCING.hint()
    );
    assert!(
        matches!(different, Err(StoreError::ConflictingResult { .. })),
        "a different outcome for the same lease is refused (ConflictingResult), got \
         {different:?}; {}",
        FENCING.hint()
    );
    assert!(
        matches!(unknown, Err(StoreError::UnknownTask(_))),
        "a result for a task that does not exist is UnknownTask, got {unknown:?}; {}",
        FENCING.hint()
    );
}

#[test]
fn step1_a_task_out_of_attempts_fails_with_a_clear_error() {
    let mut store = memory_store(10, 2);
    let task = store.submit(&add(1, 1), t0()).expect("submits");
    register(&mut store, &["flaky"], &["add"]);
    let (leases, store) = within(LIMIT, "leases running out", ATTEMPTS, move || {
        let leases = [
            claim(&mut store, "flaky", at(0)).map(|l| l.attempt),
            claim(&mut store, "flaky", at(11)).map(|l| l.attempt),
            claim(&mut store, "flaky", at(22)).map(|l| l.attempt),
        ];
        (leases, store)
    });
    assert_eq!(
        leases,
        [Some(1), Some(2), None],
        "with max_attempts 2, a task is leased twice and then no more; {}",
        ATTEMPTS.hint()
    );
    let view: TaskView = view_of(&store, task);
    let error = view.error.clone().or_book(
        &format!(
            "the task FAILED with an error once its last lease expired (a claim gives up on \
             it with `give_up_expired`, and returns `Ok` even when it leases nothing, so \
             that `claim_batch` commits), got {view:?}"
        ),
        ATTEMPTS,
    );
    assert!(
        view.status == TaskStatus::Failed
            && error.error_type == ErrorType::WorkerFailureError
            && error.message.starts_with("gave up after 2 attempts"),
        "a task whose last lease expired with no attempts left is FAILED with \
         WorkerFailureError \"gave up after 2 attempts: …\", got {view:?}; {}",
        ATTEMPTS.hint()
    );
}

#[test]
fn step1_the_queue_survives_closing_and_reopening_the_file() {
    let dir = TempDir::new("ch05-reopen");
    let db = dir.join("tasks.db");
    let (task, lease) = within(LIMIT, "a store on a file", DURABLE, {
        let db = db.clone();
        move || {
            let mut store = Store::open(&db, config(120, 5)).expect("opens");
            let task = store.submit(&add(7, 8), t0()).expect("submits");
            register(&mut store, &["w1"], &["add"]);
            let lease = claim(&mut store, "w1", at(1)).or_book("a lease", CLAIM);
            (task, lease)
        }
    });
    // The first store is gone, as if the dispatcher had been killed.
    let mut store = Store::open(&db, config(120, 5)).expect("reopens");
    let view = view_of(&store, task);
    assert_eq!(
        (view.status, view.lease_owner.as_deref()),
        (TaskStatus::Running, Some("w1")),
        "after reopening, the task is still RUNNING under its lease (did `lease_next` \
         write it with `LEASE`, on the transaction it is given?); {}",
        DURABLE.hint()
    );
    assert_eq!(
        store
            .complete(task, &lease.lease_token, json!(15), at(2))
            .ok(),
        Some(Recorded::Now(TaskStatus::Completed)),
        "and the lease's result is accepted by the new store; {}",
        DURABLE.hint()
    );
}

#[test]
fn step1_a_batch_claim_gives_each_task_a_lease_of_its_own() {
    let mut store = memory_store(120, 5);
    let first = store.submit(&add(1, 1), t0()).expect("submits");
    register(&mut store, &["gone", "batcher"], &["add"]);
    let (gone, batch, empty, store) = within(LIMIT, "batch claims", BATCHES, move || {
        let gone = claim(&mut store, "gone", at(0));
        let rest: Vec<i64> = (2..=4)
            .map(|n| store.submit(&add(n, n), at(1)).expect("submits"))
            .collect();
        // 32 asked for, 4 claimable: the expired one first, then the 3 queued ones.
        let batch = store.claim_batch("batcher", 32, at(121));
        let empty = store.claim_batch("batcher", 32, at(122));
        (gone.map(|lease| (lease, rest)), batch, empty, store)
    });
    let (gone, rest) = gone.or_book("a first lease", CLAIM);
    let batch = batch.or_book("a batch claim to be answered", BATCHES);
    let ids: Vec<i64> = batch.iter().map(|lease| lease.task_id).collect();
    let mut expected = vec![first];
    expected.extend(&rest);
    assert_eq!(
        ids,
        expected,
        "a batch of up to 32 with 4 claimable tasks takes those 4 — the expired lease \
         first, then the queued tasks oldest first; {}",
        BATCHES.hint()
    );
    let tokens: HashSet<&str> = batch.iter().map(|l| l.lease_token.as_str()).collect();
    assert!(
        tokens.len() == batch.len() && !tokens.contains(gone.lease_token.as_str()),
        "every task of a batch gets a fresh token of its own (one lease each, not one for \
         the batch); {}",
        BATCHES.hint()
    );
    assert_eq!(
        batch.iter().map(|l| l.attempt).collect::<Vec<_>>(),
        [2, 1, 1, 1],
        "each lease counts its own attempt; {}",
        BATCHES.hint()
    );
    for lease in &batch {
        let view = view_of(&store, lease.task_id);
        assert_eq!(
            (view.status, view.lease_owner.as_deref()),
            (TaskStatus::Running, Some("batcher")),
            "every task of a batch is RUNNING, leased to the claimer; {}",
            BATCHES.hint()
        );
    }
    assert_eq!(
        empty.ok().map(|leases| leases.len()),
        Some(0),
        "a batch claim on an empty queue is an empty batch, not an error; {}",
        BATCHES.hint()
    );
}

#[test]
fn step1_a_stale_token_in_a_batch_is_fenced_alone() {
    let mut store = memory_store(120, 5);
    for n in 0..3 {
        store.submit(&add(n, n), t0()).expect("submits");
    }
    register(&mut store, &["slow", "fast"], &["add"]);
    let (old, new, mut store) = within(LIMIT, "two batches", BATCHES, move || {
        let old = store.claim_batch("slow", 3, at(0));
        // The slow worker's three leases run out; the fast one leases them anew.
        let new = store.claim_batch("fast", 3, at(121));
        (old, new, store)
    });
    let old = old.or_book("a first batch", BATCHES);
    let new = new.or_book("a second batch once the first ran out at 120 s", BATCHES);
    assert_eq!(
        new.len(),
        3,
        "the three expired leases are claimed again; {}",
        BATCHES.hint()
    );
    let finished = |lease: &Lease, token: &str, value: i64| Finished {
        task_id: lease.task_id,
        lease_token: token.to_owned(),
        outcome: Outcome::Completed(json!(value)),
    };
    // One group: the new lease of task 1, the OLD lease of task 2, the new lease of task 3.
    let group = [
        finished(&new[0], &new[0].lease_token, 10),
        finished(&new[1], &old[1].lease_token, -1),
        finished(&new[2], &new[2].lease_token, 30),
    ];
    let answers = store
        .finish_batch(&group, at(122))
        .or_book("a group of results to be answered one by one", BATCHES);
    let shape: Vec<Result<Recorded, &'static str>> = answers
        .iter()
        .map(|answer| match answer {
            Ok(recorded) => Ok(*recorded),
            Err(StoreError::StaleLease { .. }) => Err("StaleLease"),
            Err(_) => Err("another error"),
        })
        .collect();
    assert_eq!(
        shape,
        [
            Ok(Recorded::Now(TaskStatus::Completed)),
            Err("StaleLease"),
            Ok(Recorded::Now(TaskStatus::Completed)),
        ],
        "in a group, each result is fenced by its own token: the stale one is refused alone \
         and the others are recorded; {}",
        BATCHES.hint()
    );
    let views: Vec<(TaskStatus, Option<Value>)> = new
        .iter()
        .map(|lease| {
            let view = view_of(&store, lease.task_id);
            (view.status, view.result)
        })
        .collect();
    assert_eq!(
        views,
        [
            (TaskStatus::Completed, Some(json!(10))),
            (TaskStatus::Running, None),
            (TaskStatus::Completed, Some(json!(30))),
        ],
        "the refused result wrote nothing: its task still runs under the new lease; {}",
        FENCING.hint()
    );
    let resent = store
        .finish_batch(&group[..1], at(123))
        .or_book("a resent group to be answered", BATCHES);
    assert!(
        matches!(
            resent.as_slice(),
            [Ok(Recorded::Already(TaskStatus::Completed))]
        ),
        "a group sent again is a resend, as for one result, got {resent:?}; {}",
        FENCING.hint()
    );
}
