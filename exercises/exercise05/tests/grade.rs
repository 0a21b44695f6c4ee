// Grading tests for chapter 05 — leases, heartbeats, retries and a durable queue.
//
// The exercise is done in six steps, in the order the book teaches them; each
// test's name starts with its step, so one step is graded on its own:
//
//   cargo test -p exercise05 step1    # claiming and fencing: the store's claim and finish
//   cargo test -p exercise05 step2    # heartbeats and the monitor's sweep, in the store
//   cargo test -p exercise05 step3    # capabilities and the worker's result cache
//   cargo test -p exercise05 step4    # the dispatcher on the wire: parse, answer, its loop
//   cargo test -p exercise05 step5    # the worker: its loop, rounds, heartbeats, tasks
//   cargo test -p exercise05 step6    # a dispatcher that is gone for a while
//
// Step K's tests use only what steps 1 to K write. The store is checked with a
// clock the test controls (no waiting for a 120 s lease to run out) and with two
// connections racing on one database file; the dispatcher and the workers run in
// this process over loopback sockets, with short intervals. The same file grades
// the reference solution (solutions/solution05), so passing here means matching it.

use std::collections::HashSet;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// `expect` for what the learner writes: the failure says what was expected, what
/// came instead, and where the book explains it.
trait OrBook<T> {
    fn or_book(self, expected: &str, section: BookSection) -> T;
}

impl<T, E: Debug> OrBook<T> for Result<T, E> {
    #[track_caller]
    fn or_book(self, expected: &str, section: BookSection) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!(
                "expected {expected}, got the error {error:?}; {}",
                section.hint()
            ),
        }
    }
}

impl<T> OrBook<T> for Option<T> {
    #[track_caller]
    fn or_book(self, expected: &str, section: BookSection) -> T {
        match self {
            Some(value) => value,
            None => panic!("expected {expected}, got none; {}", section.hint()),
        }
    }
}

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

fn register(store: &mut Store, workers: &[&str], kinds: &[&str]) {
    for worker in workers {
        store
            .register(worker, &strings(kinds), t0())
            .expect("registers");
    }
}

/// A task's state as the store reads it back: what the learner's code wrote must
/// be readable (a result as JSON, an error as a `TaskFailure`).
#[track_caller]
fn view_of(store: &Store, task_id: i64) -> TaskView {
    store
        .get(task_id)
        .or_book(&format!("task {task_id}'s state to be readable"), FENCING)
}

#[track_caller]
fn claim(store: &mut Store, worker: &str, now: SystemTime) -> Option<Lease> {
    store
        .claim(worker, now)
        .or_book("a claim to be answered (a lease, or none)", CLAIM)
}

fn quiet() -> EventSink {
    Arc::new(|_: &Event| {})
}

/// Waits (for at most `limit`) until an event `wanted` picks arrives, and returns it.
fn wait_for_event<T>(
    log: &Receiver<Event>,
    limit: Duration,
    mut wanted: impl FnMut(&Event) -> Option<T>,
) -> Option<T> {
    let end = Instant::now() + limit;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match log.recv_timeout(left) {
            Ok(event) => {
                if let Some(found) = wanted(&event) {
                    return Some(found);
                }
            }
            Err(_) => return None,
        }
    }
    None
}

// -------------------------------------------------- dispatchers and workers

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
            dispatcher
                .run(&stopper)
                .or_book("the dispatcher to serve until stopped", HEARTBEATS);
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
    // Starting loads the result cache (step 3).
    let worker =
        Worker::start(config, events).or_book("the worker to start (it loads its cache)", CACHE);
    let stop = Stopper::new();
    let stopper = stop.clone();
    Background::spawn(
        move || stop.stop(),
        move || {
            worker
                .run(&stopper)
                .or_book("the worker to run until stopped", CACHE);
        },
    )
}

/// Sends each frame as a peer speaking the protocol by hand would, and collects
/// the answers; a missing answer fails the test.
fn frames_to(peer: &mut Connection, frames: &[&[u8]]) -> Vec<String> {
    let stop = Stopper::new();
    let mut answers = Vec::new();
    for frame in frames {
        let answer = peer.exchange(frame, &stop).or_book(
            &format!(
                "an answer to {:?} within 3 s (every frame gets one)",
                String::from_utf8_lossy(frame)
            ),
            PROTOCOL,
        );
        answers.push(String::from_utf8_lossy(&answer).into_owned());
    }
    answers
}

fn raw_peer(endpoint: &str) -> Connection {
    connect_once(&zmq::Context::new(), endpoint, Duration::from_secs(3)).expect("connects")
}

#[track_caller]
fn submit(client: &mut Client, task: &NewTask) -> i64 {
    client
        .submit(task)
        .or_book("SUBMIT to be answered SUBMITTED <id>", PROTOCOL)
}

#[track_caller]
fn wait(client: &mut Client, task_id: i64, section: BookSection) -> TaskView {
    client
        .wait_for(task_id, Duration::from_millis(10), Duration::from_secs(6))
        .or_book(&format!("task {task_id} to finish within 6 s"), section)
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

// ============================================================================
// Step 1 — claiming and fencing: `Store::claim` and `Store::finish`
// ============================================================================

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
             it, and commits even when it leases nothing), got {view:?}"
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
        "after reopening, the task is still RUNNING under its lease (was the claim \
         committed?); {}",
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

// ============================================================================
// Step 2 — heartbeats and the monitor's sweep: `Store::heartbeat` and
// `Store::requeue_dead`
// ============================================================================

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

// ============================================================================
// Step 3 — capabilities and the result cache: `kinds::execute`,
// `ResultCache::save` and `ResultCache::load`
// ============================================================================

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

// ============================================================================
// Step 4 — the dispatcher on the wire: `Request::parse`, the dispatcher's answer
// to each request, and its loop (which runs the monitor)
// ============================================================================

#[test]
fn step4_the_extended_frames_are_understood() {
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
    let submit = Request::parse(r#"SUBMIT {"kind": "primes", "args": {"limit": 1000}}"#);
    assert_eq!(
        submit,
        Ok(Request::Submit(NewTask::new(
            "primes",
            json!({"limit": 1000})
        ))),
        "SUBMIT carries a task; {}",
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

#[test]
fn step4_the_dispatcher_answers_garbage_with_errors_and_lives_on() {
    let dir = TempDir::new("ch05-garbage");
    let db = dir.join("tasks.db");
    let (events, log) = recorder::<Event>();
    let answers = within(LIMIT, "a dispatcher and raw frames", PROTOCOL, move || {
        let (endpoint, dispatcher) = serve(dispatcher_config(ANY_PORT, &db), events);
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
        let heartbeat = format!(
            r#"HEARTBEAT {{"worker_id": "w1", "leases": [{{"task_id": 1, "lease_token": "{token}"}}]}}"#
        );
        let result = format!(
            r#"RESULT:{{"task_id": 1, "lease_token": "{token}", "status": "COMPLETED", "result": 3}}"#
        );
        answers.extend(frames_to(
            &mut raw,
            &[
                heartbeat.as_bytes(),
                br#"HEARTBEAT {"worker_id": "nobody", "leases": []}"#,
                result.as_bytes(),
                result.as_bytes(),
                br#"REQUEST_TASK {"worker_id": "w1"}"#,
                b"STATUS 1",
                b"STATS",
            ],
        ));
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
        ("HEARTBEAT_OK 1", "a heartbeat naming the lease w1 holds"),
        (
            "UNKNOWN_WORKER nobody",
            "a heartbeat from an unknown worker",
        ),
        ("RESULT_RECEIVED", "the lease's result"),
        (
            "RESULT_RECEIVED",
            "the same result again (a resend is fine)",
        ),
        ("NO_TASKS_AVAILABLE", "a request for work with nothing left"),
        ("STATUS {", "the status of a known task"),
        ("STATS {", "the queue's figures"),
    ];
    assert_eq!(
        answers.len(),
        wanted.len(),
        "one answer per frame; {}",
        PROTOCOL.hint()
    );
    for ((wanted, why), answer) in wanted.iter().zip(&answers) {
        assert!(
            answer.starts_with(wanted),
            "{why}: the answer should start with {wanted:?}, got {answer:?}; {}",
            PROTOCOL.hint()
        );
    }
    let status: Value =
        serde_json::from_str(answers[19].trim_start_matches("STATUS ")).unwrap_or(Value::Null);
    assert_eq!(
        (&status["status"], &status["result"]),
        (&json!("COMPLETED"), &json!(3)),
        "STATUS 1 shows the recorded result, got {:?}; {}",
        answers[19],
        PROTOCOL.hint()
    );
    let events: Vec<Event> = log.try_iter().collect();
    let told = |what: &dyn Fn(&Event) -> bool| events.iter().filter(|e| what(e)).count();
    let reported = [
        told(&|e| matches!(e, Event::Registered { worker_id, .. } if worker_id == "w1")),
        told(&|e| matches!(e, Event::Submitted { task_id: 1, kind } if kind == "add")),
        told(
            &|e| matches!(e, Event::Leased { task_id: 1, worker_id, attempt: 1 } if worker_id == "w1"),
        ),
        told(&|e| {
            matches!(
                e,
                Event::Recorded {
                    task_id: 1,
                    status: TaskStatus::Completed,
                    again: false,
                    ..
                }
            )
        }),
        told(&|e| {
            matches!(
                e,
                Event::Recorded {
                    task_id: 1,
                    again: true,
                    ..
                }
            )
        }),
        told(&|e| matches!(e, Event::Refused { .. })),
    ];
    assert_eq!(
        reported,
        [1, 1, 1, 1, 1, 1],
        "the dispatcher reports what it did: Registered, Submitted, Leased, Recorded (once \
         again: false, once again: true for the resend) and Refused for the forged token, \
         events: {events:#?}; {}",
        PROTOCOL.hint()
    );
}

#[test]
fn step4_the_dispatchers_loop_runs_the_monitor_between_requests() {
    let dir = TempDir::new("ch05-monitor");
    let db = dir.join("tasks.db");
    let (events, log) = recorder::<Event>();
    let outcome = within(
        LIMIT,
        "a dispatcher with a silent worker",
        HEARTBEATS,
        move || {
            let (endpoint, dispatcher) = serve(dispatcher_config(ANY_PORT, &db), events);
            let mut raw = raw_peer(&endpoint);
            let taken = frames_to(
                &mut raw,
                &[
                    br#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}}"#,
                    br#"REGISTER {"worker_id": "doomed", "capabilities": ["add"]}"#,
                    br#"REQUEST_TASK {"worker_id": "doomed"}"#,
                ],
            );
            // Nobody says anything more: only the loop's own clock can find the silence.
            let dead = wait_for_event(&log, Duration::from_secs(3), |e| match e {
                Event::WorkerDead { worker_id } => Some(worker_id.clone()),
                _ => None,
            });
            let status = frames_to(&mut raw, &[b"STATUS 1"]);
            dispatcher.shut_down();
            (taken, dead, status)
        },
    );
    let (taken, dead, status) = outcome;
    assert!(
        taken[2].starts_with('{'),
        "the doomed worker gets the task, got {taken:?}; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        dead.as_deref(),
        Some("doomed"),
        "with dead_after 0.6 s and monitor_every 0.1 s, the loop runs the monitor on its \
         own, which reports the silent worker dead (WorkerDead) within 3 s; {}",
        HEARTBEATS.hint()
    );
    assert!(
        status[0].contains("\"QUEUED\""),
        "its task is back in the queue, got {:?}; {}",
        status[0],
        HEARTBEATS.hint()
    );
}

// ============================================================================
// Step 5 — the worker: its loop, a round with the dispatcher, delivering results,
// heartbeats, and running a lease on the pool
// ============================================================================

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
        "stats count tasks per status and per worker; both workers stay alive by sending \
         heartbeats; {}",
        HEARTBEATS.hint()
    );
    assert_eq!(
        left,
        0,
        "a delivered (acknowledged) result leaves the worker's cache; {}",
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

// ============================================================================
// Step 6 — a dispatcher that is gone for a while: the worker backs off, keeps its
// results, and delivers them when the dispatcher is back
// ============================================================================

#[test]
fn step6_a_result_finished_while_the_dispatcher_is_down_is_delivered_after_its_restart() {
    let dir = TempDir::new("ch05-down");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let outcome = within(LIMIT, "a dispatcher restart", CACHE, move || {
        let (endpoint, first) = serve(dispatcher_config(ANY_PORT, &db), quiet());
        let mut client = client(&endpoint);
        let task = submit(&mut client, &NewTask::new("sleep", json!({"ms": 600})));
        let worker = work(
            worker_config(&endpoint, "patient", &["sleep"], &cache),
            events,
        );
        // The worker's word that it runs the task, not the store's: a lease the
        // dispatcher granted but never got to send would only expire.
        let running = wait_for_event(&log, Duration::from_secs(5), |e| match e {
            Event::Running { task_id, .. } if *task_id == task => Some(()),
            _ => None,
        });
        running.or_book("the worker to run the task (a Running event)", CACHE);
        first.shut_down();
        // The task finishes while nobody listens: the result must wait on disk.
        let mut cached = false;
        for _ in 0..200 {
            if files_in(&cache) > 0
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
        let view = wait(&mut client, task, CACHE);
        drop(worker);
        let left = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(99);
        (cached, view, left)
    });
    let (cached, view, left) = outcome;
    assert!(
        cached,
        "with the dispatcher down, the finished result is cached on disk and the worker says \
         it is unreachable (an Unreachable event) with 1 result kept; {}",
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

#[test]
fn step6_an_unreachable_dispatcher_is_tried_again_later_and_later() {
    let dir = TempDir::new("ch05-backoff");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let (events, log) = recorder::<Event>();
    let (dispatcher_events, dispatcher_log) = recorder::<Event>();
    // Nobody listens on this endpoint: a dispatcher bound it, and is gone.
    let (endpoint, gone) = serve(dispatcher_config(ANY_PORT, &db), quiet());
    gone.shut_down();
    let (waits, after_contact) = within(LIMIT, "a worker alone", CACHE, move || {
        let worker = work(worker_config(&endpoint, "alone", &["add"], &cache), events);
        let next_wait = || {
            wait_for_event(&log, Duration::from_secs(3), |e| match e {
                Event::Unreachable { retry_in, .. } => Some(*retry_in),
                _ => None,
            })
        };
        let waits: Vec<Option<Duration>> = (0..5).map(|_| next_wait()).collect();
        // The dispatcher comes back, the worker is heard, and the dispatcher goes again.
        let (_, back) = serve(dispatcher_config(&endpoint, &db), dispatcher_events);
        let heard = wait_for_event(&dispatcher_log, Duration::from_secs(3), |e| match e {
            Event::Registered { worker_id, .. } if worker_id == "alone" => Some(()),
            _ => None,
        });
        heard.or_book("the worker to register once the dispatcher is back", CACHE);
        thread::sleep(Duration::from_millis(100));
        back.shut_down();
        let _ = log.try_iter().count();
        let after_contact = next_wait();
        drop(worker);
        (waits, after_contact)
    });
    let ms = |wait: &Option<Duration>| wait.map(|wait| wait.as_millis());
    assert_eq!(
        waits.iter().map(ms).collect::<Vec<_>>(),
        vec![Some(50), Some(100), Some(200), Some(200), Some(200)],
        "each unanswered round is an Unreachable event, and the wait before the next try \
         doubles from `backoff.first` (50 ms here) up to `backoff.max` (200 ms); {}",
        CACHE.hint()
    );
    assert_eq!(
        ms(&after_contact),
        Some(50),
        "a round the dispatcher answered ends the backoff: the next outage starts again from \
         `backoff.first`; {}",
        CACHE.hint()
    );
}

#[test]
fn step6_a_dispatcher_on_a_new_database_gets_the_worker_registered_again() {
    let dir = TempDir::new("ch05-new-db");
    let (old_db, new_db, cache) = (dir.join("old.db"), dir.join("new.db"), dir.join("cache"));
    let view = within(
        LIMIT,
        "a dispatcher that forgot its workers",
        PROTOCOL,
        move || {
            let (endpoint, first) = serve(dispatcher_config(ANY_PORT, &old_db), quiet());
            let mut client = client(&endpoint);
            let _worker = work(worker_config(&endpoint, "loyal", &["add"], &cache), quiet());
            let task = submit(&mut client, &add(1, 1));
            wait(&mut client, task, CACHE);
            first.shut_down();
            // Back on the same endpoint, with a database that never heard of "loyal".
            let (_, _second) = serve(dispatcher_config(&endpoint, &new_db), quiet());
            let mut client = self::client(&endpoint);
            let task = submit(&mut client, &add(2, 3));
            wait(&mut client, task, PROTOCOL)
        },
    );
    assert_eq!(
        (view.status, view.lease_owner.as_deref(), view.result),
        (TaskStatus::Completed, Some("loyal"), Some(json!(5))),
        "a worker answered UNKNOWN_WORKER (to a heartbeat or a request for work) registers \
         again, and goes on working; {}",
        PROTOCOL.hint()
    );
}
