// Grading tests for chapter 06 — the tonic server on the chapter 02 thread pool.
//
// Run them with `cargo test -p exercise06`, or one step at a time with
// `cargo test -p exercise06 step1` (the steps are listed in hints.toml and in the
// book's "The exercise"): step 1 is the Calculator on the pool, step 2 the limit on
// calls in flight, step 3 the Dispatcher service. Each test starts a real server on a
// free loopback port and calls it over gRPC. They check *how* calls run, from the
// events the server reports: how many handlers run at once, in how many waves,
// that a call past its deadline never reaches a worker, that calls beyond
// max_concurrent_rpcs are refused at once. No test depends on exact timings: the
// only time bounds are ones physics guarantees, or generous ones.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use exercise06::Event;
use exercise06::client::{self, ClientError};
use exercise06::executor::ExecutorConfig;
use exercise06::pb;
use exercise06::server::{GrpcServer, ServerConfig, StoreOptions};
use exercise06::task::new_task;
use grading::{BookSection, Chapter, within};
use solution02::Op;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic::transport::Channel;

const BOOK: Chapter = Chapter("ch06-grpc.md");
const HANDLER: BookSection = BOOK.section("The handler");
const STATUS: BookSection = BOOK.section("Errors are status codes");
const EXECUTOR: BookSection = BOOK.section("The executor: async in front, threads behind");
const WAVES: BookSection = BOOK.section("Two waves");
const LIMIT_RPCS: BookSection = BOOK.section("maximum_concurrent_rpcs");
const DEADLINES: BookSection = BOOK.section("Deadlines");
const SHUTDOWN: BookSection = BOOK.section("Graceful shutdown");
const BAD_INPUT: BookSection = BOOK.section("Bad input");

const DISPATCHER: BookSection =
    BOOK.section("The Dispatcher service: chapter 05's store over gRPC");

const LIMIT: Duration = Duration::from_secs(12);

/// Every event the server reported, in order.
type Recorded = grading::background::Recorded<Event>;

/// Waits (at most half of LIMIT, so that this message, not `within`'s, says
/// what was missing) until an event in `events` satisfies `wanted`; `section`
/// explains why the server should report it.
async fn wait_for(
    events: &Recorded,
    what: &str,
    section: BookSection,
    wanted: impl Fn(&Event) -> bool,
) {
    let patience = LIMIT / 2;
    let deadline = Instant::now() + patience;
    while !events.all().iter().any(&wanted) {
        assert!(
            Instant::now() < deadline,
            "waited {patience:?} for the server to report {what}; it reported {:?}; {}",
            events.all(),
            section.hint()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Calls `Compute` with `task` on a tokio task of its own.
fn spawn_call(
    channel: &Channel,
    task: pb::Task,
) -> JoinHandle<Result<pb::TaskResult, ClientError>> {
    let channel = channel.clone();
    tokio::spawn(async move { client::compute(&channel, task, None).await })
}

/// Calls `Compute` with `task` on a tokio task of its own, and waits until the
/// server reports it started (from then on it holds a worker); `section`
/// explains why the server should report it.
async fn spawn_started(
    channel: &Channel,
    task: pb::Task,
    events: &Recorded,
    section: BookSection,
) -> JoinHandle<Result<pb::TaskResult, ClientError>> {
    let id = task.id.clone();
    let call = spawn_call(channel, task);
    wait_for(events, &format!("task {id} started"), section, |e| {
        started(e, &id)
    })
    .await;
    call
}

/// The id of the task an event is about: calls are named `task ID: a op b`.
fn task_of(call: &str) -> &str {
    call.trim_start_matches("task ")
        .split(':')
        .next()
        .unwrap_or_default()
}

fn started(event: &Event, id: &str) -> bool {
    matches!(event, Event::Started { call, .. } if task_of(call) == id)
}

fn start_server(workers: usize, max_concurrent_rpcs: Option<usize>) -> (GrpcServer, Recorded) {
    let recorded = Recorded::default();
    let config = ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        executor: ExecutorConfig {
            workers,
            max_concurrent_rpcs,
        },
        ..ServerConfig::default()
    };
    let server = GrpcServer::start(config, recorded.sink()).expect("the server starts");
    (server, recorded)
}

/// Runs `body` on a fresh tokio runtime with a channel to `server`, within LIMIT.
fn with_client<T: Send + 'static, F>(
    server: &GrpcServer,
    what: &str,
    section: BookSection,
    body: impl FnOnce(Channel) -> F + Send + 'static,
) -> T
where
    F: Future<Output = T>,
{
    let address = server.local_addr().to_string();
    within(LIMIT, what, section, move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime starts");
        runtime.block_on(async move {
            let channel = client::connect(&address).await.unwrap_or_else(|error| {
                panic!(
                    "the client should connect to the server, got {error}; {}",
                    section.hint()
                )
            });
            body(channel).await
        })
    })
}

fn slow_task(id: &str, seconds: f64) -> pb::Task {
    pb::Task {
        processing_time: seconds,
        ..new_task(id, 12, Op::Multiply, 12)
    }
}

fn code_of(answer: &Result<pb::TaskResult, ClientError>) -> Option<Code> {
    answer.as_ref().err().and_then(ClientError::code)
}

/// How the handlers ran: the most at once, and in how many waves. A handler's
/// wave is one more than the highest wave among handlers that had *finished*
/// before it started; it needs no clock at all.
fn waves(events: &[Event]) -> (usize, usize) {
    let mut wave_of = std::collections::HashMap::new();
    let (mut running, mut most, mut finished_wave, mut last_wave) = (0_usize, 0, 0, 0);
    for event in events {
        match event {
            Event::Started { call, .. } => {
                running += 1;
                most = most.max(running);
                wave_of.insert(call.clone(), finished_wave + 1);
                last_wave = last_wave.max(finished_wave + 1);
            }
            Event::Finished { call, .. } => {
                running -= 1;
                finished_wave = finished_wave.max(wave_of.get(call).copied().unwrap_or(0));
            }
            _ => {}
        }
    }
    (most, last_wave)
}

mod step1;
mod step2;
mod step3;
