// Grading tests for chapter 07 — the dispatcher/worker pattern on NATS JetStream.
//
// Run them with `cargo test -p exercise07`, or one step at a time with
// `cargo test -p exercise07 step1` (the steps are listed in hints.toml and in the
// book's "The exercise"): step 1 puts tasks on subjects in a work-queue stream,
// step 2 is the worker (its consumer, its heartbeats, the once-only results
// bucket), step 3 the deadline the controller enforces. Every test starts its own
// real `nats-server` on a free loopback port, with a store in a temporary folder,
// and talks to it through async-nats. No test depends on exact timings: the only
// time bounds are generous ones.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use exercise07::controller::{Controller, ControllerConfig};
use exercise07::event::{Event, EventSink};
use exercise07::pb;
use exercise07::results;
use exercise07::server::NatsServer;
use exercise07::setup::{self, Setup};
use exercise07::task::new_task;
use exercise07::worker::{self, WorkerConfig};
use grading::{BookSection, Chapter, within};
use solution02::{Op, Shutdown, TaskSpec};

const BOOK: Chapter = Chapter("ch07-nats-jetstream.md");
const SUBJECTS: BookSection = BOOK.section("One subject per kind");
const STREAM: BookSection = BOOK.section("The work-queue stream");
const PUBLISH: BookSection = BOOK.section("The controller publishes");
const CONSUMERS: BookSection = BOOK.section("Consumers: one per kind, shared by its workers");
const LEASE: BookSection =
    BOOK.section("The lease is ack_wait, the heartbeat is an in-progress ack");
const ONCE: BookSection = BOOK.section("Once only: the results bucket");
const DEADLINES: BookSection = BOOK.section("Deadlines the controller enforces");

const LIMIT: Duration = Duration::from_secs(40);

/// A real server, or the one line that says how to install it.
fn nats_server() -> NatsServer {
    NatsServer::start().unwrap_or_else(|error| panic!("{error}"))
}

/// Short leases, so that a redelivery takes a second, not thirty.
fn quick_setup() -> Setup {
    Setup {
        lease: Duration::from_secs(1),
        ready_within: Duration::from_secs(10),
        ..Setup::default()
    }
}

/// Every event reported, in order.
type Recorded = grading::background::Recorded<Event>;

/// Runs `body` on a fresh tokio runtime within LIMIT.
fn run<T: Send + 'static, F>(
    what: &str,
    section: BookSection,
    body: impl FnOnce() -> F + Send + 'static,
) -> T
where
    F: Future<Output = T>,
{
    within(LIMIT, what, section, move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime starts");
        runtime.block_on(body())
    })
}

fn task(id: &str, a: i64, op: Op, b: i64) -> pb::Task {
    new_task(id, TaskSpec { op, a, b })
}

/// A controller on `url` with `setup`, reporting to `events`.
async fn controller(url: &str, setup: Setup, events: EventSink) -> Controller {
    let config = ControllerConfig {
        setup,
        ..ControllerConfig::new(&[url.to_owned()])
    };
    Controller::connect(&config, events)
        .await
        .expect("the controller connects")
}

/// The engine on `url` with `setup`: its stream, consumers and results bucket.
async fn engine(url: &str, setup: &Setup) -> setup::Engine {
    setup::connect(&[url.to_owned()], setup)
        .await
        .expect("connects and creates the stream, consumers and bucket")
}

/// A raw JetStream context on `url`, to look at what the code under test did.
async fn raw(url: &str) -> jetstream::Context {
    let client = async_nats::connect(url)
        .await
        .expect("a raw client connects");
    jetstream::new(client)
}

/// The stream's configuration and how many tasks it holds per subject.
async fn stream_state(url: &str) -> (stream::Config, u64) {
    let context = raw(url).await;
    let mut tasks = context
        .get_stream(setup::STREAM)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "expected a stream named TASKS, got {error}; {}",
                STREAM.hint()
            )
        });
    let info = tasks.info().await.expect("the stream answers its info");
    (info.config.clone(), info.state.messages)
}

/// Starts a worker on the current runtime; stop it with the returned Shutdown.
fn spawn_worker(
    config: WorkerConfig,
    events: EventSink,
) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let handle = tokio::spawn(async move {
        if let Err(error) = worker::run(config, events, stop).await {
            panic!("the worker failed: {error}");
        }
    });
    (shutdown, handle)
}

/// Waits (at most half of LIMIT) for task `id`'s outcome in the results bucket.
async fn outcome_of(url: &str, id: &str, section: BookSection) -> pb::nats::Outcome {
    let context = raw(url).await;
    let deadline = Instant::now() + LIMIT / 2;
    loop {
        if let Ok(bucket) = context.get_key_value(setup::RESULTS).await
            && let Ok(Some(outcome)) = results::get(&bucket, id).await
        {
            return outcome;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} got no outcome in the results bucket within {:?}; {}",
            LIMIT / 2,
            section.hint()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn value_of(outcome: &pb::nats::Outcome) -> (i32, i64) {
    let result = outcome.result.clone().unwrap_or_default();
    (result.status, result.value)
}

const DONE: i32 = pb::TaskStatus::Done as i32;
const FAILED: i32 = pb::TaskStatus::Failed as i32;

mod step1;
mod step2;
mod step3;
