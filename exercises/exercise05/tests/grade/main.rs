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
    Backoff, Client, Connection, Dispatcher, DispatcherConfig, Event, EventSink, Finished, Lease,
    NewTask, Outcome, Recorded, Shutdown, Store, StoreConfig, StoreError, TaskStatus, TaskView,
    Worker, WorkerConfig,
};
use grading::background::{Background, recorder};
use grading::temp::TempDir;
use grading::{BookSection, Chapter, within};
use serde_json::{Value, json};

const BOOK: Chapter = Chapter("ch05-leases.md");
const DURABLE: BookSection = BOOK.section("A durable queue in SQLite");
const CLAIM: BookSection = BOOK.section("Claiming with BEGIN IMMEDIATE");
const FENCING: BookSection = BOOK.section("Leases and fencing tokens");
const BATCHES: BookSection = BOOK.section("Claiming and finishing in batches");
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
    let stop = Shutdown::new();
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
    let stop = Shutdown::new();
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
    let stop = Shutdown::new();
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

mod step1;
mod step2;
mod step3;
mod step4;
mod step5;
mod step6;
