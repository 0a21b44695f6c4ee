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
