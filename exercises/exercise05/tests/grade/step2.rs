//! Step 2 — Heartbeats and the monitor's sweep, in the store.

use super::*;

#[test]
fn step2_heartbeats_renew_exactly_the_leases_a_worker_names() {
    let mut store = memory_store(120, 5);
    let named = store.submit(&add(2, 2), t0()).expect("submits");
    let unnamed = store.submit(&add(3, 3), t0()).expect("submits");
    register(&mut store, &["holder", "other"], &["add"]);
    let outcome = within(LIMIT, "renewed leases", HEARTBEATS, move || {
        let first = claim(&mut store, "holder", at(0)).or_book("a lease", CLAIM);
        let second = claim(&mut store, "holder", at(0)).or_book("a second lease", CLAIM);
        // It names the first lease, and the second with a token that is not its own.
        let held = [
            (first.task_id, first.lease_token.clone()),
            (second.task_id, "forged".to_owned()),
        ];
        let renewed = store
            .heartbeat("holder", &held, at(100))
            .or_book("a heartbeat from a registered worker to work", HEARTBEATS);
        let at_130 = [
            claim(&mut store, "other", at(130)).map(|l| l.task_id),
            claim(&mut store, "other", at(130)).map(|l| l.task_id),
        ];
        let after = claim(&mut store, "other", at(221)).map(|l| l.task_id);
        let unknown = store.heartbeat("stranger", &[], at(100));
        (renewed, at_130, after, unknown)
    });
    let (renewed, at_130, after, unknown) = outcome;
    assert_eq!(
        renewed,
        1,
        "a heartbeat renews the lease it names with its token, and not one named with \
         another token; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        at_130,
        [Some(unnamed), None],
        "at 130 s the lease not renewed (it ran out at 120 s) is taken by another worker, \
         and the renewed one (100 s + 120 s = 220 s) is not: a heartbeat renews the leases it \
         names, not every task the worker owns; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        after,
        Some(named),
        "once the renewed lease runs out, another worker takes the task; {}",
        HEARTBEATS.hint()
    );
    assert!(
        matches!(unknown, Err(StoreError::UnknownWorker(_))),
        "a heartbeat from an unknown worker says so (it must register), got {unknown:?}; {}",
        HEARTBEATS.hint()
    );
}

#[test]
fn step2_a_dead_workers_tasks_go_back_to_the_queue() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(5, 5), t0()).expect("submits");
    register(&mut store, &["doomed", "survivor"], &["add"]);
    let outcome = within(LIMIT, "the monitor", HEARTBEATS, move || {
        let doomed = claim(&mut store, "doomed", at(0)).or_book("a lease", CLAIM);
        store
            .heartbeat("survivor", &[], at(61))
            .or_book("a heartbeat to work", HEARTBEATS);
        let dead_after = Duration::from_secs(60);
        let round = |store: &mut Store, now| {
            store
                .requeue_dead(now, dead_after)
                .or_book("a monitor round to work", HEARTBEATS)
        };
        let early = round(&mut store, at(59));
        let sweep = round(&mut store, at(61));
        let next = round(&mut store, at(62));
        let queued = view_of(&store, task).status;
        let rescued = claim(&mut store, "survivor", at(62));
        let late = store.complete(task, &doomed.lease_token, json!(10), at(63));
        (early, sweep, next, queued, rescued, late)
    });
    let (early, sweep, next, queued, rescued, late) = outcome;
    assert!(
        early.dead_workers.is_empty() && early.requeued.is_empty(),
        "59 s of silence is not dead yet with a 60 s limit, got {early:?}; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        (sweep.dead_workers, sweep.requeued),
        (vec!["doomed".to_owned()], vec![task]),
        "61 s of silence: dead, and its task back in the queue (the survivor's heartbeat keeps \
         it alive); {}",
        HEARTBEATS.hint()
    );
    assert!(
        next.dead_workers.is_empty() && next.requeued.is_empty(),
        "a worker already declared dead is not reported again by the next round, got \
         {next:?}; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        queued,
        TaskStatus::Queued,
        "a requeued task is QUEUED; {}",
        HEARTBEATS.hint()
    );
    let rescued = rescued.or_book("the survivor to take the requeued task", HEARTBEATS);
    assert_eq!(
        (rescued.task_id, rescued.attempt),
        (task, 2),
        "the survivor leases it as attempt 2; {}",
        HEARTBEATS.hint()
    );
    assert!(
        matches!(late, Err(StoreError::StaleLease { .. })),
        "the dead worker's late result is stale once the task was leased again, got {late:?}; {}",
        FENCING.hint()
    );
}

#[test]
fn step2_a_late_result_is_accepted_until_the_task_is_leased_again() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(5, 5), t0()).expect("submits");
    register(&mut store, &["slow"], &["add"]);
    let outcome = within(LIMIT, "a late result", HEARTBEATS, move || {
        let slow = claim(&mut store, "slow", at(0)).or_book("a lease", CLAIM);
        let sweep = store
            .requeue_dead(at(61), Duration::from_secs(60))
            .or_book("a monitor round to work", HEARTBEATS);
        let late = store.complete(task, &slow.lease_token, json!(10), at(62));
        let view = view_of(&store, task);
        (sweep.requeued, late, view)
    });
    let (requeued, late, view) = outcome;
    assert_eq!(
        requeued,
        vec![task],
        "61 s of silence: the worker is dead and its task requeued; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        (late.ok(), view.status, view.result),
        (
            Some(Recorded::Now(TaskStatus::Completed)),
            TaskStatus::Completed,
            Some(json!(10))
        ),
        "a requeued task keeps its token until somebody leases it anew, so the late result of \
         the worker declared dead is still accepted: the work is done; {}",
        FENCING.hint()
    );
}

#[test]
fn step2_a_worker_declared_dead_that_comes_back_gets_its_task_back() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(5, 5), t0()).expect("submits");
    register(&mut store, &["paused"], &["add"]);
    let outcome = within(
        LIMIT,
        "a worker back from the dead",
        HEARTBEATS,
        move || {
            let lease = claim(&mut store, "paused", at(0)).or_book("a lease", CLAIM);
            let dead = store
                .requeue_dead(at(61), Duration::from_secs(60))
                .or_book("a monitor round to work", HEARTBEATS);
            let held = [(lease.task_id, lease.lease_token)];
            let renewed = store
                .heartbeat("paused", &held, at(62))
                .or_book("a heartbeat from a registered worker to work", HEARTBEATS);
            let view = view_of(&store, task);
            let alive = store.stats(at(62)).expect("stats").workers[0].alive;
            let again = store
                .requeue_dead(at(123), Duration::from_secs(60))
                .or_book("a monitor round to work", HEARTBEATS);
            (dead.dead_workers, renewed, view, alive, again.dead_workers)
        },
    );
    let (dead, renewed, view, alive, again) = outcome;
    assert_eq!(
        dead,
        vec!["paused".to_owned()],
        "61 s of silence: dead; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        (renewed, view.status, view.lease_owner.as_deref()),
        (1, TaskStatus::Running, Some("paused")),
        "a worker declared dead that comes back with its lease's token, before anybody \
         leased the task anew, gets it back: RUNNING and its own again; {}",
        HEARTBEATS.hint()
    );
    assert!(
        alive && again == vec!["paused".to_owned()],
        "a heartbeat makes the worker alive again, so a later silence kills it again \
         (alive {alive}, declared dead again: {again:?}); {}",
        HEARTBEATS.hint()
    );
}

#[test]
fn step2_the_monitor_gives_up_on_tasks_out_of_attempts() {
    let mut store = memory_store(120, 1);
    let dead_task = store.submit(&add(1, 1), t0()).expect("submits");
    let expired_task = store.submit(&add(2, 2), t0()).expect("submits");
    register(&mut store, &["doomed", "forgetful"], &["add"]);
    let outcome = within(LIMIT, "the monitor giving up", ATTEMPTS, move || {
        claim(&mut store, "doomed", at(0)).or_book("a lease", CLAIM);
        claim(&mut store, "forgetful", at(0)).or_book("a lease", CLAIM);
        // Alive, but it no longer names its lease: the lease runs out at 120 s.
        store
            .heartbeat("forgetful", &[], at(100))
            .or_book("a heartbeat to work", HEARTBEATS);
        let sweep = store
            .requeue_dead(at(121), Duration::from_secs(60))
            .or_book("a monitor round to work", HEARTBEATS);
        let dead = view_of(&store, dead_task);
        let expired = view_of(&store, expired_task);
        (sweep, dead, expired)
    });
    let (sweep, dead, expired) = outcome;
    assert_eq!(
        (sweep.dead_workers, sweep.requeued),
        (vec!["doomed".to_owned()], vec![]),
        "doomed is dead, and its task, on its last attempt, is not requeued; {}",
        ATTEMPTS.hint()
    );
    let failed: HashSet<i64> = sweep.failed.iter().copied().collect();
    assert_eq!(
        failed,
        HashSet::from([dead_task, expired_task]),
        "the round gives up on both tasks out of attempts: the dead worker's, and the one \
         whose lease ran out under a live worker; {}",
        ATTEMPTS.hint()
    );
    for (view, why) in [
        (&dead, "worker doomed stopped sending heartbeats"),
        (&expired, "the last lease expired without a result"),
    ] {
        let message = view
            .error
            .as_ref()
            .map(|e| (e.error_type, e.message.clone()));
        assert_eq!(
            (view.status, message),
            (
                TaskStatus::Failed,
                Some((
                    ErrorType::WorkerFailureError,
                    format!("gave up after 1 attempts: {why}")
                ))
            ),
            "a task out of attempts is FAILED and says why; {}",
            ATTEMPTS.hint()
        );
    }
}

#[test]
fn step2_a_batchs_leases_expire_one_by_one() {
    // One attempt each: a lease that runs out is given up on by the monitor.
    let mut store = memory_store(120, 1);
    for n in 0..4 {
        store.submit(&add(n, n), t0()).expect("submits");
    }
    register(&mut store, &["batcher"], &["add"]);
    let outcome = within(LIMIT, "a batch's leases", HEARTBEATS, move || {
        let batch = store
            .claim_batch("batcher", 4, at(0))
            .or_book("a batch of four leases", BATCHES);
        // The worker still holds the first two (their results are not ready): it
        // names them in a heartbeat; the other two are forgotten.
        let held: Vec<(i64, String)> = batch[..2]
            .iter()
            .map(|l| (l.task_id, l.lease_token.clone()))
            .collect();
        let renewed = store
            .heartbeat("batcher", &held, at(100))
            .or_book("a heartbeat", HEARTBEATS);
        // At 130 s the two not renewed ran out (at 120 s); the worker is alive.
        let sweep = store
            .requeue_dead(at(130), Duration::from_secs(60))
            .or_book("a monitor round", HEARTBEATS);
        let ids: Vec<i64> = batch.iter().map(|l| l.task_id).collect();
        let views: Vec<TaskStatus> = ids.iter().map(|id| view_of(&store, *id).status).collect();
        (ids, renewed, sweep, views)
    });
    let (ids, renewed, sweep, views) = outcome;
    assert_eq!(
        renewed,
        2,
        "the heartbeat renews the two leases it names; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        (sweep.failed, sweep.dead_workers.len()),
        (ids[2..].to_vec(), 0),
        "a batch's leases expire one by one: the monitor gives up on the two that ran out \
         (no attempt left) and on nothing else, and the worker is alive; {}",
        BATCHES.hint()
    );
    assert_eq!(
        views,
        [
            TaskStatus::Running,
            TaskStatus::Running,
            TaskStatus::Failed,
            TaskStatus::Failed,
        ],
        "the two renewed leases of the batch still run; {}",
        BATCHES.hint()
    );
}
