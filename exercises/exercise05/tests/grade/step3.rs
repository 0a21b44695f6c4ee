//! Step 3 — Capabilities and the worker's result cache.

use super::*;

fn lease(kind: &str, args: Value) -> Lease {
    Lease {
        task_id: 9,
        kind: kind.to_owned(),
        args,
        lease_token: "t".to_owned(),
        attempt: 1,
        max_attempts: 5,
    }
}

#[test]
fn step3_a_worker_runs_only_its_capabilities() {
    let capabilities = strings(&["add", "divide", "primes"]);
    let run = |kind: &str, args: Value| kinds::execute(&lease(kind, args), &capabilities);
    assert_eq!(
        run("add", json!({"a": 10, "b": 5})),
        Outcome::Completed(json!(15)),
        "add {{a: 10, b: 5}} is 15; {}",
        CAPABILITIES.hint()
    );
    let sieve = run("primes", json!({"limit": 100, "algorithm": "sieve"}));
    let trial = run(
        "primes",
        json!({"limit": 100, "algorithm": "trial_division"}),
    );
    assert_eq!(
        (sieve, trial),
        (Outcome::Completed(json!(25)), Outcome::Completed(json!(25))),
        "25 primes up to 100, by either algorithm; {}",
        CAPABILITIES.hint()
    );
    assert_eq!(
        run("multiply", json!({"a": 6, "b": 7})),
        Outcome::Failed(TaskFailure::new(
            "9",
            ErrorType::SerializationError,
            "Task type 'multiply' not in capabilities"
        )),
        "a kind outside the worker's capabilities is refused with the original's message; {}",
        CAPABILITIES.hint()
    );
    let by_zero = run("divide", json!({"a": 1, "b": 0}));
    assert!(
        matches!(&by_zero, Outcome::Failed(f) if f.error_type == ErrorType::FunctionExecutionFailure),
        "division by zero is a failure of the task (FunctionExecutionFailure), got {by_zero:?}; {}",
        CAPABILITIES.hint()
    );
    let unreadable = run("add", json!({"a": 1}));
    assert!(
        matches!(&unreadable, Outcome::Failed(f)
            if f.error_type == ErrorType::SerializationError && f.task_id == "9"),
        "arguments the kind cannot read are a SerializationError of task \"9\", got \
         {unreadable:?}; {}",
        CAPABILITIES.hint()
    );
}

fn leased_result(task_id: i64, token: &str, value: Value) -> LeasedResult {
    LeasedResult {
        task_id,
        lease_token: token.to_owned(),
        status: TaskStatus::Completed,
        result: Some(value),
        error: None,
    }
}

#[test]
fn step3_the_result_cache_keeps_results_until_removed_and_drops_expired_ones() {
    let dir = TempDir::new("ch05-cache");
    let cache = ResultCache::open(dir.join("cache"), Duration::from_secs(3600)).expect("opens");
    let first = leased_result(1, "aa", json!(1));
    let second = leased_result(2, "bb", json!(2));
    let found = within(LIMIT, "a result cache", CACHE, move || {
        cache
            .save(&first, at(0))
            .or_book("a result to be saved", CACHE);
        cache
            .save(&second, at(10))
            .or_book("a result to be saved", CACHE);
        let load = |now| cache.load(now).or_book("the cache to load", CACHE);
        let both = load(at(20));
        cache.remove(&first).expect("removes");
        let one = load(at(30));
        let none = load(at(3611));
        let after = load(at(3612));
        (both, one, none, after)
    });
    let (both, one, expired, after) = found;
    assert_eq!(
        both.fresh,
        vec![
            leased_result(1, "aa", json!(1)),
            leased_result(2, "bb", json!(2))
        ],
        "saved results come back as they were saved; {}",
        CACHE.hint()
    );
    let ids = |results: &[LeasedResult]| results.iter().map(|r| r.task_id).collect::<Vec<_>>();
    assert_eq!(
        ids(&one.fresh),
        vec![2],
        "a removed (acknowledged) result is gone; {}",
        CACHE.hint()
    );
    assert_eq!(
        (ids(&expired.fresh), expired.expired),
        (vec![], vec![2]),
        "a result older than the TTL (1 h) is dropped; {}",
        CACHE.hint()
    );
    assert!(
        after.fresh.is_empty() && after.expired.is_empty(),
        "and its file deleted, got {after:?}; {}",
        CACHE.hint()
    );
}

#[test]
fn step3_cached_results_come_back_oldest_first_and_unreadable_files_go() {
    let dir = TempDir::new("ch05-cache-order");
    let folder = dir.join("cache");
    let cache = ResultCache::open(&folder, Duration::from_secs(3600)).expect("opens");
    let found = within(LIMIT, "a result cache", CACHE, {
        let folder = folder.clone();
        move || {
            // Task 6 finished first, task 1 last: the order of the names is not the
            // order of the results.
            for task_id in 1..=6 {
                let saved = at(100 - 10 * task_id as u64);
                cache
                    .save(&leased_result(task_id, "tok", json!(task_id)), saved)
                    .or_book("a result to be saved", CACHE);
            }
            // What a crash in the middle of a write leaves, a file torn under its
            // final name (a disk that lied about its flush), and a stranger's file.
            std::fs::write(
                folder.join("task-7-tok.partial"),
                b"{\"saved_at_ms\": 1, \"res",
            )
            .expect("writes");
            std::fs::write(folder.join("task-8-tok.json"), b"").expect("writes");
            std::fs::write(folder.join("notes.txt"), b"not a result").expect("writes");
            cache.load(at(100)).or_book("the cache to load", CACHE)
        }
    });
    let ids: Vec<i64> = found.fresh.iter().map(|r| r.task_id).collect();
    assert_eq!(
        ids,
        vec![6, 5, 4, 3, 2, 1],
        "cached results come back oldest first (by when they were saved), so they are \
         delivered in the order they finished; {}",
        CACHE.hint()
    );
    assert_eq!(
        (found.unreadable, files_in(&folder)),
        (3, 6),
        "files that are not a readable result are counted as unreadable and deleted; {}",
        CACHE.hint()
    );
}

#[test]
fn step3_a_group_is_one_file_and_its_answered_results_do_not_come_back_after_a_restart() {
    let dir = TempDir::new("ch05-cache-group");
    let folder = dir.join("cache");
    let found = within(LIMIT, "a result cache", CACHE, {
        let folder = folder.clone();
        move || {
            // Each `open` is a worker (re)started on the same folder.
            let open = || ResultCache::open(&folder, Duration::from_secs(3600)).expect("opens");
            let load =
                |cache: &ResultCache, now| cache.load(now).or_book("the cache to load", CACHE);
            let group: Vec<LeasedResult> = (1..=3)
                .map(|task_id| leased_result(task_id, "grp", json!(task_id)))
                .collect();
            let cache = open();
            cache
                .save_all(&group, at(0))
                .or_book("a group of results to be saved", CACHE);
            let files_for_a_group = files_in(&folder);
            cache
                .save(&leased_result(4, "one", json!(4)), at(10))
                .or_book("a result to be saved", CACHE);
            // A group file torn under its final name: a prefix of a real one.
            std::fs::write(
                folder.join("task-9-grp.json"),
                b"{\"saved_at_ms\":5,\"results\":[{\"task_id\":9,\"lease_token\":\"grp\"",
            )
            .expect("writes");
            let cache = open();
            let restarted = load(&cache, at(20));
            // The dispatcher answers task 2 only; then the worker restarts.
            cache.remove(&group[1]).expect("removes");
            let cache = open();
            let after_one_answer = load(&cache, at(30));
            cache
                .remove_all(&[group[0].clone(), group[2].clone()])
                .expect("removes");
            let cache = open();
            let after_all = load(&cache, at(40));
            (
                files_for_a_group,
                restarted,
                after_one_answer,
                after_all,
                files_in(&folder),
            )
        }
    });
    let (files_for_a_group, restarted, after_one_answer, after_all, files_left) = found;
    let ids = |results: &[LeasedResult]| results.iter().map(|r| r.task_id).collect::<Vec<_>>();
    assert_eq!(
        files_for_a_group,
        1,
        "a group of results is saved in one file (one flush for the group); {}",
        CACHE.hint()
    );
    assert_eq!(
        (ids(&restarted.fresh), restarted.unreadable),
        (vec![1, 2, 3, 4], 1),
        "a restarted worker finds the group's results and the single one, oldest first, \
         and counts the torn group file as unreadable; {}",
        CACHE.hint()
    );
    assert_eq!(
        restarted.fresh[..3],
        [
            leased_result(1, "grp", json!(1)),
            leased_result(2, "grp", json!(2)),
            leased_result(3, "grp", json!(3))
        ],
        "a group's results come back as they were saved; {}",
        CACHE.hint()
    );
    assert_eq!(
        ids(&after_one_answer.fresh),
        vec![1, 3, 4],
        "an answered result of a group is not delivered again after a restart, and the \
         rest of its group is; {}",
        CACHE.hint()
    );
    assert_eq!(
        (ids(&after_all.fresh), files_left),
        (vec![4], 1),
        "a group whose results are all answered leaves the disk; {}",
        CACHE.hint()
    );
}
