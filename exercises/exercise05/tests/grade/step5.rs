//! Step 5 — The worker: its loop, a round with the dispatcher, heartbeats and tasks.

use super::*;

#[test]
fn step5_workers_complete_tasks_and_a_task_nobody_can_run_waits() {
    let dir = TempDir::new("ch05-workers");
    let (db, cache_a, cache_b) = (dir.join("tasks.db"), dir.join("a"), dir.join("b"));
    let outcome = within(
        LIMIT,
        "a dispatcher and two workers",
        CAPABILITIES,
        move || {
            let (endpoint, _dispatcher) = serve(dispatcher_config(ANY_PORT, &db), quiet());
            let mut client = client(&endpoint);
            let _adder = work(
                worker_config(&endpoint, "adder", &["add", "primes"], &cache_a),
                quiet(),
            );
            let _divider = work(
                worker_config(&endpoint, "divider", &["divide"], &cache_b),
                quiet(),
            );
            let tasks = [
                NewTask::new("add", json!({"a": 10, "b": 5})),
                NewTask::new("divide", json!({"a": 1, "b": 0})),
                NewTask::new("primes", json!({"limit": 1000})),
            ];
            let views: Vec<TaskView> = tasks
                .iter()
                .map(|task| submit(&mut client, task))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|id| wait(&mut client, id, CACHE))
                .collect();
            let nobody = submit(
                &mut client,
                &NewTask::new("multiply", json!({"a": 2, "b": 3})),
            );
            thread::sleep(Duration::from_millis(200));
            let waiting = client
                .status(nobody)
                .or_book("STATUS to be answered", PROTOCOL);
            let stats = client.stats().or_book("STATS to be answered", PROTOCOL);
            // An acknowledged result leaves the worker's cache (soon after the answer).
            let mut left = files_in(&cache_a) + files_in(&cache_b);
            for _ in 0..100 {
                if left == 0 {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
                left = files_in(&cache_a) + files_in(&cache_b);
            }
            (views, waiting, stats, left)
        },
    );
    let (views, waiting, stats, left) = outcome;
    assert_eq!(
        (
            views[0].status,
            views[0].lease_owner.as_deref(),
            views[0].result.clone()
        ),
        (TaskStatus::Completed, Some("adder"), Some(json!(15))),
        "the add task goes to the worker that runs add; {}",
        CAPABILITIES.hint()
    );
    assert_eq!(
        (
            views[1].status,
            views[1].lease_owner.as_deref(),
            views[1].error.as_ref().map(|e| e.error_type)
        ),
        (
            TaskStatus::Failed,
            Some("divider"),
            Some(ErrorType::FunctionExecutionFailure)
        ),
        "the division by zero goes to the divider and fails there; {}",
        CAPABILITIES.hint()
    );
    assert_eq!(
        views[2].result,
        Some(json!(168)),
        "primes up to 1000, by default with the sieve; {}",
        CAPABILITIES.hint()
    );
    assert_eq!(
        (waiting.status, waiting.waiting.as_deref()),
        (
            TaskStatus::Queued,
            Some("no live worker has capability 'multiply'")
        ),
        "a task nobody can run waits QUEUED and status says why; {}",
        CAPABILITIES.hint()
    );
    let workers: Vec<(&str, bool, u64)> = stats
        .workers
        .iter()
        .map(|w| (w.worker_id.as_str(), w.alive, w.completed))
        .collect();
    assert_eq!(
        (
            stats.tasks.completed,
            stats.tasks.failed,
            stats.tasks.queued,
            workers
        ),
        (2, 1, 1, vec![("adder", true, 2), ("divider", true, 0)]),
        "stats count tasks per status and per worker; both workers stay alive by sending \
         heartbeats; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        left,
        0,
        "a delivered (acknowledged) result leaves the worker's cache: `deliver` sends only \
         the first `saved` results of the outbox (a result sent before the writer saved \
         it is saved after it was removed) and takes the answered ones out with \
         `remove_all`; {}",
        CACHE.hint()
    );
}

#[test]
fn step5_heartbeats_keep_a_long_tasks_lease() {
    let dir = TempDir::new("ch05-long");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let outcome = within(
        LIMIT,
        "a task longer than its lease",
        HEARTBEATS,
        move || {
            let mut config = dispatcher_config(ANY_PORT, &db);
            config.store.lease = Duration::from_millis(800);
            let (endpoint, _dispatcher) = serve(config, quiet());
            let mut client = client(&endpoint);
            let task = submit(&mut client, &NewTask::new("sleep", json!({"ms": 2000})));
            // Two threads: the worker keeps asking for work while the task runs.
            let _worker = work(
                worker_config(&endpoint, "steady", &["sleep"], &cache),
                events,
            );
            (task, wait(&mut client, task, HEARTBEATS))
        },
    );
    let (task, view) = outcome;
    let runs = log
        .try_iter()
        .filter(|e| matches!(e, Event::Running { task_id, .. } if *task_id == task))
        .count();
    assert_eq!(
        (view.status, view.attempts, runs),
        (TaskStatus::Completed, 1, 1),
        "a 2 s task under a 0.8 s lease is completed on its first attempt and run once: the \
         worker's heartbeats (every 0.1 s) name the lease it holds, and each renews it; {}",
        HEARTBEATS.hint()
    );
}

#[test]
fn step5_a_silent_workers_task_is_leased_again_and_completed_by_another() {
    let dir = TempDir::new("ch05-silent");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let outcome = within(LIMIT, "a worker that goes silent", HEARTBEATS, move || {
        let (endpoint, _dispatcher) = serve(dispatcher_config(ANY_PORT, &db), events);
        let mut client = client(&endpoint);
        let task = submit(&mut client, &add(20, 22));
        // A worker that takes the task and is never heard of again (killed).
        let mut doomed = raw_peer(&endpoint);
        let answers = frames_to(
            &mut doomed,
            &[
                br#"REGISTER {"worker_id": "doomed", "capabilities": ["add"]}"#,
                br#"REQUEST_TASK {"worker_id": "doomed"}"#,
            ],
        );
        let taken = answers[1].clone();
        let _rescuer = work(
            worker_config(&endpoint, "rescuer", &["add"], &cache),
            quiet(),
        );
        (taken, wait(&mut client, task, HEARTBEATS))
    });
    let (taken, view) = outcome;
    assert!(
        taken.starts_with('{'),
        "the doomed worker got the task first, got {taken:?}; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        (
            view.status,
            view.lease_owner.as_deref(),
            view.attempts,
            view.result
        ),
        (TaskStatus::Completed, Some("rescuer"), 2, Some(json!(42))),
        "after 0.6 s without a heartbeat the doomed worker is dead, its task requeued and \
         completed by the other worker on attempt 2; {}",
        HEARTBEATS.hint()
    );
    let events: Vec<Event> = log.try_iter().collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::WorkerDead { worker_id } if worker_id == "doomed")),
        "the monitor reports the dead worker, events: {events:#?}; {}",
        HEARTBEATS.hint()
    );
}

#[test]
fn step5_a_restarted_worker_delivers_what_its_last_run_cached() {
    let dir = TempDir::new("ch05-recover");
    let (db, cache_dir) = (dir.join("tasks.db"), dir.join("cache"));
    // The last run of worker "phoenix" leased task 1, computed it, cached the
    // result, and was killed before it could deliver it.
    let mut store = Store::open(&db, config(3, 5)).expect("opens");
    let task = store
        .submit(&add(40, 2), SystemTime::now())
        .expect("submits");
    register(&mut store, &["phoenix"], &["add"]);
    let lease = store
        .claim("phoenix", SystemTime::now())
        .or_book("a claim to work", CLAIM)
        .or_book("a lease", CLAIM);
    drop(store);
    let cache = ResultCache::open(&cache_dir, Duration::from_secs(3600)).expect("opens");
    let computed = LeasedResult::new(&lease, Outcome::Completed(json!(42)));
    cache
        .save(&computed, SystemTime::now())
        .or_book("a result to be saved", CACHE);
    let (events, log) = recorder::<Event>();
    let view = within(LIMIT, "a restarted worker", CACHE, move || {
        let (endpoint, _dispatcher) = serve(dispatcher_config(ANY_PORT, &db), quiet());
        let mut client = client(&endpoint);
        let _worker = work(
            worker_config(&endpoint, "phoenix", &["add"], &cache_dir),
            events,
        );
        wait(&mut client, task, CACHE)
    });
    let ran = log.try_iter().any(|e| matches!(e, Event::Running { .. }));
    assert_eq!(
        (view.status, view.attempts, view.result, ran),
        (TaskStatus::Completed, 1, Some(json!(42)), false),
        "a restarted worker delivers the result its last run cached (found by `load` when it \
         starts), without computing it again; {}",
        CACHE.hint()
    );
}
