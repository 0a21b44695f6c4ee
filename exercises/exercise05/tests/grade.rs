// Grading tests for chapter 05 — leases, heartbeats, retries and a durable queue.
//
// Run them with `cargo test -p exercise05`. They check the store with a clock
// the test controls (no waiting for a 120 s lease to run out), two connections
// racing on one database file, the protocol frame by frame, the worker's result
// cache, and then a dispatcher and workers in this process over loopback sockets,
// with short intervals. The same file grades the reference solution
// (solutions/solution05), so passing here means matching it.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exercise05::cache::ResultCache;
use exercise05::client::connect_once;
use exercise05::kinds;
use exercise05::protocol::{Heartbeat, HeldLease, LeasedResult, Registration, Request};
use exercise05::store::{ErrorType, TaskFailure};
use exercise05::{
    Backoff, Client, Connection, Dispatcher, DispatcherConfig, Event, EventSink, Lease, NewTask,
    Outcome, Recorded, Stopper, Store, StoreConfig, StoreError, TaskStatus, TaskView, Worker,
    WorkerConfig,
};
use grading::background::{Background, recorder};
use grading::temp::TempDir;
use grading::{BookSection, Chapter, within};
use serde_json::{Value, json};

const BOOK: Chapter = Chapter("ch05-leases.md");
const DURABLE: BookSection = BOOK.section("A durable queue in SQLite");
const CLAIM: BookSection = BOOK.section("Claiming with BEGIN IMMEDIATE");
const FENCING: BookSection = BOOK.section("Leases and fencing tokens");
const ATTEMPTS: BookSection = BOOK.section("Giving up after max_attempts");
const HEARTBEATS: BookSection = BOOK.section("Heartbeats and the monitor");
const CAPABILITIES: BookSection = BOOK.section("Capabilities");
const CACHE: BookSection = BOOK.section("Nothing computed is lost");
const PROTOCOL: BookSection = BOOK.section("The wire protocol, extended");

const LIMIT: Duration = Duration::from_secs(10);
const ANY_PORT: &str = "tcp://127.0.0.1:*";

// ------------------------------------------------------------------- helpers

/// A fixed moment, so lease arithmetic in the tests is exact.
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn at(seconds: u64) -> SystemTime {
    t0() + Duration::from_secs(seconds)
}

fn config(lease_seconds: u64, max_attempts: u32) -> StoreConfig {
    StoreConfig {
        lease: Duration::from_secs(lease_seconds),
        max_attempts,
    }
}

fn memory_store(lease_seconds: u64, max_attempts: u32) -> Store {
    Store::open_in_memory(config(lease_seconds, max_attempts)).expect("an in-memory store opens")
}

fn strings(kinds: &[&str]) -> Vec<String> {
    kinds.iter().map(|kind| (*kind).to_owned()).collect()
}

fn add(a: i64, b: i64) -> NewTask {
    NewTask::new("add", json!({ "a": a, "b": b }))
}

fn claim(store: &mut Store, worker: &str, now: SystemTime) -> Option<Lease> {
    store.claim(worker, now).expect("claim works")
}

fn quiet() -> EventSink {
    Arc::new(|_: &Event| {})
}

// --------------------------------------------------------------------- store

#[test]
fn a_claim_leases_the_oldest_task_the_worker_can_run() {
    let mut store = memory_store(120, 5);
    let divide = store
        .submit(&NewTask::new("divide", json!({"a": 6, "b": 3})), t0())
        .expect("submits");
    let first = store.submit(&add(1, 2), t0()).expect("submits");
    let second = store.submit(&add(3, 4), t0()).expect("submits");
    store
        .register("adder", &strings(&["add"]), t0())
        .expect("registers");

    let lease = within(LIMIT, "a claim", CLAIM, move || {
        let lease = claim(&mut store, "adder", at(1));
        (lease, store)
    });
    let (lease, mut store) = lease;
    let lease = lease.unwrap_or_else(|| panic!("expected a lease, got none; {}", CLAIM.hint()));
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
    let view = store.get(first).expect("the task is known");
    assert_eq!(
        (view.status, view.lease_owner.as_deref(), view.attempts),
        (TaskStatus::Running, Some("adder"), 1),
        "a leased task is RUNNING, owned by the claimer, attempt 1; {}",
        CLAIM.hint()
    );
    assert_eq!(
        claim(&mut store, "adder", at(2)).map(|l| l.task_id),
        Some(second),
        "then the next one; {}",
        CLAIM.hint()
    );
    assert_eq!(
        claim(&mut store, "adder", at(3)),
        None,
        "a capability mismatch is never claimed: only the divide task is left; {}",
        CAPABILITIES.hint()
    );
    let waiting = store.get(divide).expect("the task is known");
    assert_eq!(
        (waiting.status, waiting.waiting.as_deref()),
        (
            TaskStatus::Queued,
            Some("no live worker has capability 'divide'")
        ),
        "a task nobody can run waits QUEUED, and status says why; {}",
        CAPABILITIES.hint()
    );
    assert!(
        matches!(
            store.claim("stranger", at(4)),
            Err(StoreError::UnknownWorker(_))
        ),
        "a worker that never registered cannot claim; {}",
        CLAIM.hint()
    );
}

#[test]
fn two_connections_racing_for_1000_tasks_claim_each_once() {
    let dir = TempDir::new("ch05-race");
    let db = dir.join("tasks.db");
    let mut store = Store::open(&db, config(120, 5)).expect("opens");
    for n in 0..1000 {
        store.submit(&add(n, 1), t0()).expect("submits");
    }
    for worker in ["w1", "w2"] {
        store
            .register(worker, &strings(&["add"]), t0())
            .expect("registers");
    }
    let racers: Vec<JoinHandle<Vec<i64>>> = ["w1", "w2"]
        .into_iter()
        .map(|worker| {
            let db = db.clone();
            thread::spawn(move || {
                // A connection per thread: a Store is Send, not Sync.
                let mut store = Store::open(&db, config(120, 5)).expect("opens");
                let mut done = Vec::new();
                while let Some(lease) = claim(&mut store, worker, at(1)) {
                    let sum = lease.args["a"].as_i64().unwrap_or(0) + 1;
                    store
                        .complete(lease.task_id, &lease.lease_token, json!(sum), at(1))
                        .expect("a fresh lease's result is accepted");
                    done.push(lease.task_id);
                }
                done
            })
        })
        .collect();
    let claimed = within(LIMIT, "two workers racing", CLAIM, move || {
        racers
            .into_iter()
            .map(|racer| racer.join().expect("a racer finishes"))
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
fn a_stale_lease_token_is_refused_and_a_resend_is_fine() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(20, 22), t0()).expect("submits");
    for worker in ["slow", "fast"] {
        store
            .register(worker, &strings(&["add"]), t0())
            .expect("registers");
    }
    let (old, new, mut store) = within(LIMIT, "two leases of one task", FENCING, move || {
        let old = claim(&mut store, "slow", at(0));
        // The slow worker's lease runs out without a result or a heartbeat.
        let new = claim(&mut store, "fast", at(121));
        (old, new, store)
    });
    let (old, new) = (old.expect("a first lease"), new.expect("a second lease"));
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
    let view = store.get(task).expect("known");
    assert_eq!(
        (view.status, view.result),
        (TaskStatus::Completed, Some(json!(42))),
        "a stale result never overwrites the newer lease's; {}",
        FENCING.hint()
    );
}

#[test]
fn a_task_out_of_attempts_fails_with_a_clear_error() {
    let mut store = memory_store(10, 2);
    let task = store.submit(&add(1, 1), t0()).expect("submits");
    store
        .register("flaky", &strings(&["add"]), t0())
        .expect("registers");
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
    let view: TaskView = store.get(task).expect("known");
    let error = view.error.clone().expect("a FAILED task says why");
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
fn heartbeats_renew_the_leases_a_worker_names() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(2, 2), t0()).expect("submits");
    for worker in ["holder", "other"] {
        store
            .register(worker, &strings(&["add"]), t0())
            .expect("registers");
    }
    let outcome = within(LIMIT, "a renewed lease", HEARTBEATS, move || {
        let lease = claim(&mut store, "holder", at(0)).expect("a lease");
        let held = [(lease.task_id, lease.lease_token.clone())];
        let renewed = store
            .heartbeat("holder", &held, at(100))
            .expect("heartbeat");
        let too_early = claim(&mut store, "other", at(130));
        let after = claim(&mut store, "other", at(221));
        let unknown = store.heartbeat("stranger", &[], at(100));
        (renewed, too_early, after, unknown)
    });
    let (renewed, too_early, after, unknown) = outcome;
    assert_eq!(
        renewed,
        1,
        "a heartbeat naming a lease it holds renews it; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        too_early,
        None,
        "renewed at 100 s, a 120 s lease runs to 220 s: nobody may take it at 130 s; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        after.map(|l| l.task_id),
        Some(task),
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
fn a_dead_workers_tasks_go_back_to_the_queue() {
    let mut store = memory_store(120, 5);
    let task = store.submit(&add(5, 5), t0()).expect("submits");
    for worker in ["doomed", "survivor"] {
        store
            .register(worker, &strings(&["add"]), t0())
            .expect("registers");
    }
    let outcome = within(LIMIT, "the monitor", HEARTBEATS, move || {
        let doomed = claim(&mut store, "doomed", at(0)).expect("a lease");
        store.heartbeat("survivor", &[], at(61)).expect("heartbeat");
        let early = store
            .requeue_dead(at(59), Duration::from_secs(60))
            .expect("a monitor round");
        let sweep = store
            .requeue_dead(at(61), Duration::from_secs(60))
            .expect("a monitor round");
        let queued = store.get(task).expect("known").status;
        let rescued = claim(&mut store, "survivor", at(62));
        let late = store.complete(task, &doomed.lease_token, json!(10), at(63));
        (early, sweep, queued, rescued, late)
    });
    let (early, sweep, queued, rescued, late) = outcome;
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
    assert_eq!(
        queued,
        TaskStatus::Queued,
        "a requeued task is QUEUED; {}",
        HEARTBEATS.hint()
    );
    let rescued = rescued.expect("the survivor takes the task");
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
fn the_queue_survives_closing_and_reopening_the_file() {
    let dir = TempDir::new("ch05-reopen");
    let db = dir.join("tasks.db");
    let (task, lease) = within(LIMIT, "a store on a file", DURABLE, {
        let db = db.clone();
        move || {
            let mut store = Store::open(&db, config(120, 5)).expect("opens");
            let task = store.submit(&add(7, 8), t0()).expect("submits");
            store
                .register("w1", &strings(&["add"]), t0())
                .expect("registers");
            let lease = claim(&mut store, "w1", at(1)).expect("a lease");
            (task, lease)
        }
    });
    // The first store is gone, as if the dispatcher had been killed.
    let mut store = Store::open(&db, config(120, 5)).expect("reopens");
    let view = store.get(task).expect("the task survived");
    assert_eq!(
        (view.status, view.lease_owner.as_deref()),
        (TaskStatus::Running, Some("w1")),
        "after reopening, the task is still RUNNING under its lease; {}",
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

// ------------------------------------------------------------------ protocol

#[test]
fn the_extended_frames_are_understood() {
    let register =
        Request::parse(r#"REGISTER {"worker_id": "w1", "capabilities": ["add", "primes"]}"#);
    assert_eq!(
        register,
        Ok(Request::Register(Registration {
            worker_id: "w1".to_owned(),
            capabilities: strings(&["add", "primes"]),
        })),
        "REGISTER carries a worker id and its capabilities; {}",
        PROTOCOL.hint()
    );
    let heartbeat = Request::parse(
        r#"HEARTBEAT {"worker_id": "w1", "leases": [{"task_id": 7, "lease_token": "ab"}]}"#,
    );
    assert_eq!(
        heartbeat,
        Ok(Request::Heartbeat(Heartbeat {
            worker_id: "w1".to_owned(),
            leases: vec![HeldLease {
                task_id: 7,
                lease_token: "ab".to_owned()
            }],
        })),
        "HEARTBEAT names the leases the worker holds; {}",
        PROTOCOL.hint()
    );
    let result = Request::parse(
        r#"RESULT:{"task_id": 7, "lease_token": "ab", "status": "COMPLETED", "result": 3}"#,
    );
    assert_eq!(
        result,
        Ok(Request::Result(LeasedResult {
            task_id: 7,
            lease_token: "ab".to_owned(),
            status: TaskStatus::Completed,
            result: Some(json!(3)),
            error: None,
        })),
        "a result carries its lease token; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        Request::parse("STATUS 7"),
        Ok(Request::Status(7)),
        "STATUS takes a task id; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        (Request::parse("STATS"), Request::parse("HEALTH")),
        (Ok(Request::Stats), Ok(Request::Health)),
        "STATS and HEALTH are bare words; {}",
        PROTOCOL.hint()
    );
    for frame in [
        "",
        "HELLO",
        "REQUEST_TASK",
        "REQUEST_TASK {\"worker\": 1}",
        "REGISTER {\"worker_id\": \"w1\"}",
        "HEARTBEAT [",
        "STATUS seven",
        "STATS please",
        r#"RESULT:{"task_id": 7, "status": "COMPLETED", "result": 3}"#,
        r#"RESULT:{"task_id": 7, "lease_token": "ab", "status": "RUNNING"}"#,
        r#"RESULT:{"task_id": 7, "lease_token": "ab", "status": "FAILED"}"#,
    ] {
        let parsed = Request::parse(frame);
        assert!(
            parsed.is_err(),
            "{frame:?} must be refused with an error, got {parsed:?}; {}",
            PROTOCOL.hint()
        );
    }
}

// --------------------------------------------------------------------- kinds

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
fn a_worker_runs_only_its_capabilities() {
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
        (
            Outcome::Completed(json!({"limit": 100, "algorithm": "sieve", "count": 25})),
            Outcome::Completed(json!({"limit": 100, "algorithm": "trial_division", "count": 25}))
        ),
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
        "division by zero is a failure of the task, got {by_zero:?}; {}",
        CAPABILITIES.hint()
    );
}

// --------------------------------------------------------------------- cache

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
fn the_result_cache_keeps_results_until_removed_and_drops_expired_ones() {
    let dir = TempDir::new("ch05-cache");
    let cache = ResultCache::open(dir.join("cache"), Duration::from_secs(3600)).expect("opens");
    let first = leased_result(1, "aa", json!(1));
    let second = leased_result(2, "bb", json!(2));
    let found = within(LIMIT, "a result cache", CACHE, move || {
        cache.save(&first, at(0)).expect("saves");
        cache.save(&second, at(10)).expect("saves");
        let both = cache.load(at(20)).expect("loads");
        cache.remove(&first).expect("removes");
        let one = cache.load(at(30)).expect("loads");
        let none = cache.load(at(3611)).expect("loads");
        let after = cache.load(at(3612)).expect("loads");
        (both, one, none, after)
    });
    let (both, one, expired, after) = found;
    let ids = |results: &[LeasedResult]| results.iter().map(|r| r.task_id).collect::<Vec<_>>();
    assert_eq!(
        ids(&both.fresh),
        vec![1, 2],
        "saved results come back, oldest first; {}",
        CACHE.hint()
    );
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

// -------------------------------------------------------------- dispatcher

fn dispatcher_config(endpoint: &str, db: &Path) -> DispatcherConfig {
    let mut config = DispatcherConfig::new(endpoint, db);
    config.store.lease = Duration::from_secs(3);
    config.dead_after = Duration::from_millis(600);
    config.monitor_every = Duration::from_millis(100);
    config
}

/// Binds a dispatcher and serves it on a thread of its own; returns its endpoint.
/// Binding is retried a little: a port just released may not be free at once.
fn serve(config: DispatcherConfig, events: EventSink) -> (String, Background) {
    let bound = (0..50).find_map(|_| {
        let attempt = Dispatcher::bind(config.clone(), EventSink::clone(&events));
        if attempt.is_err() {
            thread::sleep(Duration::from_millis(20));
        }
        attempt.ok()
    });
    let dispatcher =
        bound.unwrap_or_else(|| panic!("no dispatcher could bind {}", config.endpoint));
    let endpoint = dispatcher.endpoint().to_owned();
    let stop = Stopper::new();
    let stopper = stop.clone();
    let running = Background::spawn(
        move || stop.stop(),
        move || {
            let served = dispatcher.run(&stopper);
            served.expect("the dispatcher serves until stopped");
        },
    );
    (endpoint, running)
}

fn client(endpoint: &str) -> Client {
    Client::connect(endpoint, Duration::from_secs(3)).expect("a client connects")
}

fn worker_config(endpoint: &str, id: &str, capabilities: &[&str], cache: &Path) -> WorkerConfig {
    let mut config = WorkerConfig::new(endpoint, id, capabilities);
    config.request_timeout = Duration::from_millis(300);
    config.idle_wait = Duration::from_millis(5);
    config.heartbeat_every = Duration::from_millis(100);
    config.cache_dir = cache.to_owned();
    config.backoff = Backoff {
        first: Duration::from_millis(50),
        max: Duration::from_millis(200),
    };
    config
}

/// Starts a worker on a thread of its own.
fn work(config: WorkerConfig, events: EventSink) -> Background {
    let worker = Worker::start(config, events).expect("the worker starts");
    let stop = Stopper::new();
    let stopper = stop.clone();
    Background::spawn(
        move || stop.stop(),
        move || {
            let worked = worker.run(&stopper);
            worked.expect("the worker runs until stopped");
        },
    )
}

/// Sends each frame as a peer speaking the protocol by hand would, and collects
/// the answers; a missing answer fails the test.
fn frames_to(peer: &mut Connection, frames: &[&[u8]]) -> Vec<String> {
    let stop = Stopper::new();
    let mut answers = Vec::new();
    for frame in frames {
        let answer = peer.exchange(frame, &stop);
        let answer = answer.expect("the dispatcher answers every frame within 3 s");
        answers.push(String::from_utf8_lossy(&answer).into_owned());
    }
    answers
}

fn raw_peer(endpoint: &str) -> Connection {
    connect_once(&zmq::Context::new(), endpoint, Duration::from_secs(3)).expect("connects")
}

fn wait(client: &mut Client, task_id: i64) -> TaskView {
    client
        .wait_for(task_id, Duration::from_millis(10), Duration::from_secs(6))
        .expect("the task finishes")
}

#[test]
fn the_dispatcher_answers_garbage_with_errors_and_lives_on() {
    let dir = TempDir::new("ch05-garbage");
    let db = dir.join("tasks.db");
    let answers = within(LIMIT, "a dispatcher and raw frames", PROTOCOL, move || {
        let (endpoint, dispatcher) = serve(dispatcher_config(ANY_PORT, &db), quiet());
        let mut raw = raw_peer(&endpoint);
        let mut answers = frames_to(
            &mut raw,
            &[
            b"HELLO".as_slice(),
            b"REQUEST_TASK {oops",
            b"RESULT:{\"task_id\": ",
            &[0xff, 0xfe, 0x00],
            br#"REQUEST_TASK {"worker_id": "nobody"}"#,
            br#"REGISTER {"worker_id": "w1", "capabilities": ["pickle"]}"#,
            br#"SUBMIT {"kind": "pickle", "args": {}}"#,
            br#"SUBMIT {"kind": "add", "args": {"a": 1}}"#,
            b"STATUS 999",
            br#"REGISTER {"worker_id": "w1", "capabilities": ["add"]}"#,
            br#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}}"#,
            br#"REQUEST_TASK {"worker_id": "w1"}"#,
            br#"RESULT:{"task_id": 1, "lease_token": "forged", "status": "COMPLETED", "result": 0}"#,
                b"HEALTH",
            ],
        );
        let lease: Value = serde_json::from_str(&answers[11]).unwrap_or(Value::Null);
        let token = lease["lease_token"].as_str().unwrap_or_default().to_owned();
        let result = format!(
            r#"RESULT:{{"task_id": 1, "lease_token": "{token}", "status": "COMPLETED", "result": 3}}"#
        );
        answers.extend(frames_to(&mut raw, &[result.as_bytes(), result.as_bytes()]));
        dispatcher.shut_down();
        answers
    });
    let wanted = [
        ("ERROR ", "an unknown command"),
        ("ERROR_OCCURED ", "a request for work with malformed JSON"),
        ("ERROR ", "a result with malformed JSON"),
        ("ERROR ", "a frame that is not UTF-8"),
        (
            "UNKNOWN_WORKER nobody",
            "a request from a worker that never registered",
        ),
        ("ERROR ", "a capability that is not a kind"),
        ("ERROR ", "a task of an unknown kind"),
        ("ERROR ", "a task with missing arguments"),
        ("NOT_FOUND 999", "the status of an unknown task"),
        ("REGISTERED", "a good registration"),
        ("SUBMITTED 1", "a good task"),
        ("{", "a request for work, with a task to hand out"),
        ("ERROR ", "a result with a token that is not the lease's"),
        ("HEALTHY ", "a health check"),
        ("RESULT_RECEIVED", "the lease's result"),
        (
            "RESULT_RECEIVED",
            "the same result again (a resend is fine)",
        ),
    ];
    for ((wanted, why), answer) in wanted.iter().zip(&answers) {
        assert!(
            answer.starts_with(wanted),
            "{why}: the answer should start with {wanted:?}, got {answer:?}; {}",
            PROTOCOL.hint()
        );
    }
}

#[test]
fn workers_complete_tasks_and_a_task_nobody_can_run_waits() {
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
                .map(|task| client.submit(task).expect("submits"))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|id| wait(&mut client, id))
                .collect();
            let nobody = client
                .submit(&NewTask::new("multiply", json!({"a": 2, "b": 3})))
                .expect("submits");
            thread::sleep(Duration::from_millis(200));
            let waiting = client.status(nobody).expect("status");
            let stats = client.stats().expect("stats");
            (views, waiting, stats)
        },
    );
    let (views, waiting, stats) = outcome;
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
        Some(json!({"limit": 1000, "algorithm": "sieve", "count": 168})),
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
        "stats count tasks per status and per worker; {}",
        HEARTBEATS.hint()
    );
}

#[test]
fn a_silent_workers_task_is_leased_again_and_completed_by_another() {
    let dir = TempDir::new("ch05-silent");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let outcome = within(LIMIT, "a worker that goes silent", HEARTBEATS, move || {
        let (endpoint, _dispatcher) = serve(dispatcher_config(ANY_PORT, &db), events);
        let mut client = client(&endpoint);
        let task = client.submit(&add(20, 22)).expect("submits");
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
        (taken, wait(&mut client, task))
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
fn a_result_finished_while_the_dispatcher_is_down_is_delivered_after_its_restart() {
    let dir = TempDir::new("ch05-down");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let outcome = within(LIMIT, "a dispatcher restart", CACHE, move || {
        let (endpoint, first) = serve(dispatcher_config(ANY_PORT, &db), quiet());
        let mut client = client(&endpoint);
        let task = client
            .submit(&NewTask::new("sleep", json!({"ms": 600})))
            .expect("submits");
        let worker = work(
            worker_config(&endpoint, "patient", &["sleep"], &cache),
            events,
        );
        // The worker's word that it runs the task, not the store's: a lease the
        // dispatcher granted but never got to send would only expire.
        let running = log
            .iter()
            .find(|e| matches!(e, Event::Running { task_id, .. } if *task_id == task));
        assert!(
            running.is_some(),
            "the worker runs the task; {}",
            CACHE.hint()
        );
        first.shut_down();
        // The task finishes while nobody listens: the result must wait on disk.
        let mut cached = false;
        for _ in 0..200 {
            if std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0) > 0
                && log
                    .try_iter()
                    .any(|e| matches!(e, Event::Unreachable { cached: 1, .. }))
            {
                cached = true;
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let (_, _second) = serve(dispatcher_config(&endpoint, &db), quiet());
        let view = wait(&mut client, task);
        drop(worker);
        let left = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(99);
        (cached, view, left)
    });
    let (cached, view, left) = outcome;
    assert!(
        cached,
        "with the dispatcher down, the finished result is cached on disk and the worker says \
         it is unreachable with 1 result kept; {}",
        CACHE.hint()
    );
    assert_eq!(
        (view.status, view.attempts, view.result),
        (TaskStatus::Completed, 1, Some(json!(600))),
        "after the restart on the same database, the cached result is delivered: COMPLETED on \
         the first attempt, nothing computed again; {}",
        CACHE.hint()
    );
    assert_eq!(
        left,
        0,
        "an acknowledged result leaves the cache; {}",
        CACHE.hint()
    );
}
