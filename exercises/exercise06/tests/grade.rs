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
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use exercise06::client::{self, ClientError};
use exercise06::executor::ExecutorConfig;
use exercise06::pb;
use exercise06::server::{GrpcServer, ServerConfig, StoreOptions};
use exercise06::task::new_task;
use exercise06::{Event, EventSink};
use grading::{BookSection, Chapter, within};
use solution02::Op;
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
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Event>>>);

impl Recorded {
    fn sink(&self) -> EventSink {
        let events = Arc::clone(&self.0);
        Arc::new(move |event: &Event| {
            if let Ok(mut events) = events.lock() {
                events.push(event.clone());
            }
        })
    }

    fn all(&self) -> Vec<Event> {
        self.0
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// Waits (at most half of LIMIT, so that this message, not `within`'s, says
    /// what was missing) until an event satisfies `wanted`; `section` explains why
    /// the server should report it.
    async fn wait_for(&self, what: &str, section: BookSection, wanted: impl Fn(&Event) -> bool) {
        let patience = LIMIT / 2;
        let deadline = Instant::now() + patience;
        while !self.all().iter().any(&wanted) {
            assert!(
                Instant::now() < deadline,
                "waited {patience:?} for the server to report {what}; it reported {:?}; {}",
                self.all(),
                section.hint()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
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

fn start_server(max_workers: usize, max_concurrent_rpcs: Option<usize>) -> (GrpcServer, Recorded) {
    let recorded = Recorded::default();
    let config = ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        executor: ExecutorConfig {
            max_workers,
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

// ------------------------------------------------------------------- handler

#[test]
fn step1_compute_answers_the_four_operations() {
    let (server, _) = start_server(2, None);
    let answers = with_client(
        &server,
        "four Compute calls",
        HANDLER,
        |channel| async move {
            let mut answers = Vec::new();
            for (id, (a, op, b)) in [
                (10, Op::Add, 5),
                (100, Op::Subtract, 37),
                (12, Op::Multiply, 12),
                (-17, Op::Divide, 5),
            ]
            .into_iter()
            .enumerate()
            {
                let task = new_task(id.to_string(), a, op, b);
                answers.push(
                    client::compute(&channel, task, None)
                        .await
                        .map_err(|e| e.to_string()),
                );
            }
            answers
        },
    );
    for (answer, expected) in answers.iter().zip([15, 63, 144, -3]) {
        match answer {
            Ok(result) => {
                assert_eq!(
                    (result.value, result.status),
                    (expected, pb::TaskStatus::Done as i32),
                    "expected value {expected} with status DONE, got {result:?}; {}",
                    HANDLER.hint()
                );
                assert!(
                    result.worker_id < 2,
                    "worker_id must name one of the 2 pool workers, got {}; {}",
                    result.worker_id,
                    HANDLER.hint()
                );
            }
            Err(error) => panic!(
                "expected {expected}, got the error {error}; {}",
                HANDLER.hint()
            ),
        }
    }
    assert_eq!(
        answers
            .iter()
            .filter_map(|a| a.as_ref().ok())
            .map(|r| r.task_id.as_str())
            .collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "each result must carry its task's id; {}",
        HANDLER.hint()
    );
}

#[test]
fn step1_division_by_zero_is_invalid_argument() {
    let (server, _) = start_server(1, None);
    let answer = with_client(&server, "6 divide 0", STATUS, |channel| async move {
        client::compute(&channel, new_task("z", 6, Op::Divide, 0), None).await
    });
    match answer {
        Err(ClientError::Call(status)) => assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, "Division by zero is not allowed"),
            "expected INVALID_ARGUMENT \"Division by zero is not allowed\"; {}",
            STATUS.hint()
        ),
        other => panic!(
            "expected INVALID_ARGUMENT \"Division by zero is not allowed\", got {other:?}; {}",
            STATUS.hint()
        ),
    }
}

#[test]
fn step1_invalid_tasks_get_clear_statuses_and_never_reach_a_worker() {
    let (server, recorded) = start_server(1, None);
    let invalid = [
        (
            "unspecified type",
            pb::Task {
                r#type: 0,
                ..new_task("u", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "unknown type 99",
            pb::Task {
                r#type: 99,
                ..new_task("k", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "negative processing_time",
            pb::Task {
                processing_time: -1.0,
                ..new_task("p", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "processing_time of an hour",
            pb::Task {
                processing_time: 3600.0,
                ..new_task("h", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "NaN timeout",
            pb::Task {
                timeout: f64::NAN,
                ..new_task("n", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "i64::MAX multiply 2",
            new_task("o", i64::MAX, Op::Multiply, 2),
            Code::OutOfRange,
        ),
    ];
    let tasks: Vec<pb::Task> = invalid.iter().map(|(_, task, _)| task.clone()).collect();
    let codes = with_client(&server, "six invalid tasks", STATUS, |channel| async move {
        let mut codes = Vec::new();
        for task in tasks {
            codes.push(code_of(&client::compute(&channel, task, None).await));
        }
        codes
    });
    for ((what, _, expected), got) in invalid.iter().zip(codes) {
        assert_eq!(
            got,
            Some(*expected),
            "a task with {what} should be answered {expected:?}, got {got:?}; {}",
            STATUS.hint()
        );
    }
    let ran: Vec<Event> = recorded
        .all()
        .into_iter()
        .filter(|event| matches!(event, Event::Started { call, .. } if task_of(call) != "o"))
        .collect();
    assert!(
        ran.is_empty(),
        "a request that fails its checks should be refused on the async side, before it \
         is queued; these reached a worker: {ran:?}; {}",
        STATUS.hint()
    );
}

// --------------------------------------------------------------------- waves

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

/// Sends 20 calls of a 100 ms handler at once; returns (most at once, waves, wall time, ok).
fn twenty_calls(max_workers: usize) -> (usize, usize, Duration, usize) {
    let (server, recorded) = start_server(max_workers, None);
    let (took, ok) = with_client(
        &server,
        "20 concurrent 100 ms calls",
        WAVES,
        |channel| async move {
            let start = Instant::now();
            let calls: Vec<_> = (0..20)
                .map(|id| {
                    let channel = channel.clone();
                    tokio::spawn(async move {
                        client::compute(&channel, slow_task(&format!("w{id}"), 0.1), None).await
                    })
                })
                .collect();
            let mut ok = 0;
            for call in calls {
                ok += usize::from(matches!(call.await, Ok(Ok(_))));
            }
            (start.elapsed(), ok)
        },
    );
    let (most, waves) = waves(&recorded.all());
    (most, waves, took, ok)
}

#[test]
fn step1_twenty_calls_on_ten_workers_run_in_two_waves() {
    let (most, waves, took, ok) = twenty_calls(10);
    assert_eq!(
        ok,
        20,
        "all 20 calls should succeed, {ok} did; {}",
        EXECUTOR.hint()
    );
    assert_eq!(
        most,
        10,
        "with max_workers 10, exactly 10 handlers should run at once, got {most}: the pool, \
         not tokio, must run the blocking bodies; {}",
        WAVES.hint()
    );
    assert_eq!(
        waves,
        2,
        "20 calls on 10 workers should run in 2 waves, got {waves} (in {took:?}); {}",
        WAVES.hint()
    );
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(5),
        "two waves of 100 ms take at least 200 ms (and far less than 5 s), took {took:?}; {}",
        WAVES.hint()
    );
}

#[test]
fn step1_twenty_calls_on_twenty_workers_run_in_one_wave() {
    let (most, waves, took, ok) = twenty_calls(20);
    assert_eq!(
        ok,
        20,
        "all 20 calls should succeed, {ok} did; {}",
        EXECUTOR.hint()
    );
    assert_eq!(
        (most, waves),
        (20, 1),
        "with max_workers 20, all 20 handlers should run at once in one wave, got {most} \
         at once in {waves} waves (in {took:?}); {}",
        WAVES.hint()
    );
    assert!(
        took < Duration::from_secs(4),
        "one wave of 100 ms should take far less than 4 s, took {took:?}; {}",
        WAVES.hint()
    );
}

#[test]
fn step1_the_async_side_never_waits_for_a_worker() {
    // One worker, busy for 1 s: the health service, which needs no worker, must
    // still answer at once. A handler that blocks a tokio thread would stall it.
    let (server, recorded) = start_server(1, None);
    let events = recorded.clone();
    let (health, slow) = with_client(
        &server,
        "a health check beside a busy worker",
        EXECUTOR,
        |channel| async move {
            let busy = {
                let channel = channel.clone();
                tokio::spawn(async move {
                    client::compute(&channel, slow_task("busy", 1.0), None).await
                })
            };
            events
                .wait_for("task busy started", EXECUTOR, |e| started(e, "busy"))
                .await;
            let health = client::health(&channel, "")
                .await
                .map_err(|e| e.to_string());
            let answered_while_busy = !events
                .all()
                .iter()
                .any(|e| matches!(e, Event::Finished { .. }));
            ((health, answered_while_busy), busy.await.map(|a| a.is_ok()))
        },
    );
    assert_eq!(
        health,
        (Ok("SERVING".to_owned()), true),
        "the health check should answer SERVING while the only worker is busy; {}",
        EXECUTOR.hint()
    );
    assert!(
        matches!(slow, Ok(true)),
        "the slow call should succeed; {}",
        EXECUTOR.hint()
    );
}

// ----------------------------------------------------------------- deadlines

#[test]
fn step1_a_call_past_its_deadline_is_answered_deadline_exceeded_and_never_runs() {
    // One worker busy for 600 ms; B (client deadline 300 ms) and C (its own
    // timeout 0.1 s) queue behind it and expire there. B's deadline is not shorter
    // because tonic starts its own grpc-timeout timer before the handler notes the
    // arrival, and the handler's lead on it is a tenth of the timeout, at most 20 ms
    // ("Deadlines"): at 100 ms a loaded machine could let tonic's timer win and
    // answer CANCELLED.
    let (server, recorded) = start_server(1, None);
    let events = recorded.clone();
    let (b, c, a) = with_client(
        &server,
        "calls that expire in the queue",
        DEADLINES,
        |channel| async move {
            let busy = {
                let channel = channel.clone();
                tokio::spawn(
                    async move { client::compute(&channel, slow_task("a", 0.6), None).await },
                )
            };
            events
                .wait_for("task a started", DEADLINES, |e| started(e, "a"))
                .await;
            let b = {
                let channel = channel.clone();
                tokio::spawn(async move {
                    client::compute(
                        &channel,
                        slow_task("b", 0.0),
                        Some(Duration::from_millis(300)),
                    )
                    .await
                })
            };
            let own_timeout = pb::Task {
                timeout: 0.1,
                ..slow_task("c", 0.0)
            };
            let c = client::compute(&channel, own_timeout, None).await;
            let b = b.await.ok().and_then(|answer| code_of(&answer));
            let a = busy.await.ok().map(|answer| answer.is_ok());
            // The worker reaches B and C after A; give it the time to drop them.
            for id in ["b", "c"] {
                events
                    .wait_for(
                        &format!("task {id} dropped"),
                        DEADLINES,
                        |e| matches!(e, Event::Expired { call } if task_of(call) == id),
                    )
                    .await;
            }
            (b, code_of(&c), a)
        },
    );
    assert_eq!(
        (b, c),
        (Some(Code::DeadlineExceeded), Some(Code::DeadlineExceeded)),
        "calls whose deadline (the caller's, or the task's own timeout) passes in the queue \
         should be answered DEADLINE_EXCEEDED; {}",
        DEADLINES.hint()
    );
    let ran: Vec<Event> = recorded
        .all()
        .into_iter()
        .filter(|e| started(e, "b") || started(e, "c"))
        .collect();
    assert!(
        ran.is_empty(),
        "expired calls must be dropped from the queue, not run, but these ran: {ran:?}; {}",
        DEADLINES.hint()
    );
    assert_eq!(
        a,
        Some(true),
        "the call in front should still succeed; {}",
        DEADLINES.hint()
    );
}

// ------------------------------------------------------------------ shutdown

#[test]
fn step1_shutting_down_finishes_the_calls_in_flight() {
    let (server, recorded) = start_server(2, None);
    let stopper = server.shutdown_handle();
    let events = recorded.clone();
    let answer = with_client(
        &server,
        "a call in flight during shutdown",
        SHUTDOWN,
        |channel| async move {
            let call = {
                let channel = channel.clone();
                tokio::spawn(
                    async move { client::compute(&channel, slow_task("s", 0.5), None).await },
                )
            };
            events
                .wait_for("task s started", SHUTDOWN, |e| started(e, "s"))
                .await;
            stopper.shutdown();
            call.await
                .ok()
                .map(|answer| answer.map(|r| r.value).map_err(|e| e.to_string()))
        },
    );
    let stopped = within(
        LIMIT,
        "waiting for the server to stop",
        SHUTDOWN,
        move || server.wait().map_err(|e| e.to_string()),
    );
    assert_eq!(
        answer,
        Some(Ok(144)),
        "a call in flight when shutdown begins should still be answered; {}",
        SHUTDOWN.hint()
    );
    assert_eq!(
        stopped,
        Ok(()),
        "the server should stop cleanly; {}",
        SHUTDOWN.hint()
    );
    let events = recorded.all();
    let position = |wanted: fn(&Event) -> bool| events.iter().position(wanted);
    // Each event must be there: `None < Some(_)` would let a missing one pass.
    let order = [
        position(|e| matches!(e, Event::Draining)),
        position(|e| matches!(e, Event::Finished { .. })),
        position(|e| matches!(e, Event::Stopped)),
    ];
    assert!(
        matches!(order, [Some(draining), Some(finished), Some(stopped)]
            if draining < finished && finished < stopped),
        "expected the events Draining, then the call Finished, then Stopped, all three; \
         got {events:?}; {}",
        SHUTDOWN.hint()
    );
}

// ----------------------------------------------------------------- bad input

#[test]
fn step1_garbage_and_oversized_requests_get_errors_and_the_server_lives_on() {
    let (server, _) = start_server(2, None);
    let address = server.local_addr();

    // Not HTTP/2 at all: the server may answer with a GOAWAY frame or just close,
    // but it must close this connection and go on serving others.
    let closed = within(
        LIMIT,
        "a connection sending garbage",
        BAD_INPUT,
        move || {
            let mut stream = TcpStream::connect(address).expect("connects");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("sets a timeout");
            let _ =
                stream.write_all(b"\x00\xffthis is not HTTP/2 \r\n\r\n garbage garbage garbage");
            let mut buffer = [0_u8; 1024];
            let mut total = 0;
            loop {
                match stream.read(&mut buffer) {
                    Ok(0) => break true,
                    Ok(n) => total += n,
                    Err(_) => break total > 0,
                }
                thread::yield_now();
            }
        },
    );
    assert!(
        closed,
        "the server should close a connection that sends garbage; {}",
        BAD_INPUT.hint()
    );

    let (oversized, after) = with_client(
        &server,
        "an oversized request, then a normal one",
        BAD_INPUT,
        |channel| async move {
            let huge = pb::Task {
                id: "x".repeat(1 << 20),
                ..new_task("big", 1, Op::Add, 1)
            };
            let oversized = code_of(&client::compute(&channel, huge, None).await);
            let after = client::compute(&channel, new_task("after", 2, Op::Add, 2), None).await;
            (oversized, after.map(|r| r.value).map_err(|e| e.to_string()))
        },
    );
    assert!(
        matches!(oversized, Some(Code::OutOfRange | Code::ResourceExhausted)),
        "a 1 MiB request should be refused by the size limit, got {oversized:?}; {}",
        BAD_INPUT.hint()
    );
    assert_eq!(
        after,
        Ok(4),
        "after garbage and an oversized request the server should still answer; {}",
        BAD_INPUT.hint()
    );
}

// ---------------------------------------------------- maximum_concurrent_rpcs

#[test]
fn step2_beyond_max_concurrent_rpcs_calls_are_refused_at_once() {
    // One worker, at most 2 calls in flight: A runs, B queues, C is refused.
    let (server, recorded) = start_server(1, Some(2));
    let events = recorded.clone();
    let (a, b, c) = with_client(
        &server,
        "three calls, limit two",
        LIMIT_RPCS,
        |channel| async move {
            let spawn_call = |task: pb::Task| {
                let channel = channel.clone();
                tokio::spawn(async move { client::compute(&channel, task, None).await })
            };
            let a = spawn_call(slow_task("a", 1.0));
            events
                .wait_for("task a started", LIMIT_RPCS, |e| started(e, "a"))
                .await;
            let b = spawn_call(slow_task("b", 0.0));
            // B needs a moment to arrive and queue; nothing reports that, so wait.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let c = client::compute(&channel, slow_task("c", 0.0), None).await;
            let a = a.await.ok().map(|answer| answer.map(|r| r.value));
            let b = b.await.ok().map(|answer| answer.map(|r| r.value));
            (a, b, code_of(&c))
        },
    );
    assert_eq!(
        c,
        Some(Code::ResourceExhausted),
        "a third call with max_concurrent_rpcs 2 should be refused with RESOURCE_EXHAUSTED; {}",
        LIMIT_RPCS.hint()
    );
    let order: Vec<Event> = recorded
        .all()
        .into_iter()
        .filter(|e| matches!(e, Event::Refused { .. } | Event::Finished { .. }))
        .collect();
    assert!(
        matches!(order.first(), Some(Event::Refused { limit: 2 })),
        "the refusal should come at once, before the running call finished, got {order:?}; {}",
        LIMIT_RPCS.hint()
    );
    assert!(
        matches!((&a, &b), (Some(Ok(144)), Some(Ok(144)))),
        "the two calls within the limit should both be answered 144, got {a:?} and {b:?}; {}",
        LIMIT_RPCS.hint()
    );
}

#[test]
fn step2_below_max_concurrent_rpcs_calls_queue_for_a_free_worker() {
    let (server, recorded) = start_server(1, Some(3));
    let ok = with_client(
        &server,
        "three calls, limit three",
        LIMIT_RPCS,
        |channel| async move {
            let calls: Vec<_> = ["q1", "q2", "q3"]
                .into_iter()
                .map(|id| {
                    let channel = channel.clone();
                    tokio::spawn(async move {
                        client::compute(&channel, slow_task(id, 0.05), None).await
                    })
                })
                .collect();
            let mut ok = 0;
            for call in calls {
                ok += usize::from(matches!(call.await, Ok(Ok(_))));
            }
            ok
        },
    );
    let (most, waves) = waves(&recorded.all());
    assert_eq!(
        (ok, most, waves),
        (3, 1, 3),
        "3 calls within a limit of 3 on 1 worker should all succeed, one at a time, in 3 \
         waves; got {ok} ok, {most} at once, {waves} waves; {}",
        LIMIT_RPCS.hint()
    );
}

// ---------------------------------------------------------------- dispatcher

/// A server whose Dispatcher store leases tasks for `lease` (in memory).
fn start_dispatcher(lease: Duration) -> (GrpcServer, Recorded) {
    let recorded = Recorded::default();
    let mut store = StoreOptions::default();
    store.store.lease = lease;
    let config = ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        executor: ExecutorConfig {
            max_workers: 2,
            max_concurrent_rpcs: None,
        },
        store,
        ..ServerConfig::default()
    };
    let server = GrpcServer::start(config, recorded.sink()).expect("the server starts");
    (server, recorded)
}

fn worker(id: &str, kinds: &[&str]) -> pb::WorkerProperties {
    pb::WorkerProperties {
        id: id.to_owned(),
        capabilities: Vec::new(),
        kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
    }
}

fn result_json(text: &str) -> pb::submit_result_request::Outcome {
    pb::submit_result_request::Outcome::ResultJson(text.to_owned())
}

fn code_from<T>(answer: &Result<T, ClientError>) -> Option<Code> {
    answer.as_ref().err().and_then(ClientError::code)
}

/// The answer to a Dispatcher call that must succeed; an error fails the test with
/// what was expected and where the book explains it.
fn answered<T>(expected: &str, answer: Result<T, ClientError>) -> T {
    answer.unwrap_or_else(|error| {
        panic!(
            "expected {expected}, got the error {error}; {}",
            DISPATCHER.hint()
        )
    })
}

/// The lease a ClaimTask that must find a task answered.
fn leased(expected: &str, lease: Option<pb::Lease>) -> pb::Lease {
    lease.unwrap_or_else(|| {
        panic!(
            "expected {expected}, ClaimTask answered no lease; {}",
            DISPATCHER.hint()
        )
    })
}

#[test]
fn step3_dispatcher_submit_claim_result_then_status_is_done() {
    let (server, recorded) = start_dispatcher(Duration::from_secs(120));
    let (state, first, resend, stats, health) = with_client(
        &server,
        "submit, claim, result, status over the Dispatcher service",
        DISPATCHER,
        |channel| async move {
            let id = answered(
                "SubmitTask to answer the new task's id",
                client::submit_task(&channel, "add", r#"{"a": 2, "b": 3}"#).await,
            );
            answered(
                "a Heartbeat to register worker w1",
                client::heartbeat(&channel, worker("w1", &["add"]), Vec::new()).await,
            );
            let lease = leased(
                "ClaimTask to lease the submitted task to w1",
                answered(
                    "ClaimTask to answer",
                    client::claim_task(&channel, "w1").await,
                ),
            );
            assert_eq!(
                (lease.task_id, lease.kind.as_str(), lease.attempt),
                (id, "add", 1),
                "expected a first lease of task {id} (add), got {lease:?}; {}",
                DISPATCHER.hint()
            );
            let first = answered(
                "SubmitResult to accept the lease's result",
                client::submit_result(&channel, id, &lease.lease_token, result_json("5")).await,
            );
            let resend = answered(
                "the same result again to be accepted as a harmless resend",
                client::submit_result(&channel, id, &lease.lease_token, result_json("5")).await,
            );
            let state = answered(
                "GetTask to answer the task's state",
                client::get_task(&channel, id).await,
            );
            let stats = answered("Stats to answer", client::stats(&channel).await);
            let health = answered(
                "Dispatcher.Health to answer",
                client::dispatcher_health(&channel).await,
            );
            (state, first, resend, stats, health)
        },
    );
    assert_eq!(
        (state.status(), state.result_json.as_str()),
        (pb::TaskStatus::Done, "5"),
        "expected the task DONE with result 5, got {state:?}; {}",
        DISPATCHER.hint()
    );
    assert!(
        first.status() == pb::TaskStatus::Done
            && !first.already_recorded
            && resend.already_recorded,
        "expected DONE, then DONE (already recorded) for the resend; got {first:?} and {resend:?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        (stats.done, stats.queued, stats.workers.len()),
        (1, 0, 1),
        "expected 1 done, 0 queued, 1 worker, got {stats:?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        (health.status.as_str(), health.tasks),
        ("ok", 1),
        "expected Health ok with 1 task, got {health:?}; {}",
        DISPATCHER.hint()
    );
    // The store's work ran on the pool, like every handler.
    let on_pool = recorded.all().iter().any(
        |event| matches!(event, Event::Started { call, .. } if call.starts_with("SubmitTask")),
    );
    assert!(
        on_pool,
        "expected SubmitTask to run on a pool worker (an Event::Started for it), got {:?}; {}",
        recorded.all(),
        DISPATCHER.hint()
    );
}

#[test]
fn step3_dispatcher_refuses_a_stale_lease_token() {
    let lease = Duration::from_millis(200);
    let (server, _) = start_dispatcher(lease);
    let (stale, newer, state) = with_client(
        &server,
        "a result with the token of an expired lease",
        DISPATCHER,
        move |channel| async move {
            let id = answered(
                "SubmitTask to answer the new task's id",
                client::submit_task(&channel, "add", r#"{"a": 1, "b": 1}"#).await,
            );
            for name in ["slow", "fast"] {
                answered(
                    "a Heartbeat to register the worker",
                    client::heartbeat(&channel, worker(name, &["add"]), Vec::new()).await,
                );
            }
            let old = leased(
                "ClaimTask to lease the task to worker slow",
                answered(
                    "ClaimTask to answer",
                    client::claim_task(&channel, "slow").await,
                ),
            );
            // Let the lease run out, so another worker may take the task.
            tokio::time::sleep(lease * 2).await;
            let new = leased(
                "ClaimTask to lease the expired task to worker fast",
                answered(
                    "ClaimTask to answer",
                    client::claim_task(&channel, "fast").await,
                ),
            );
            let newer = client::submit_result(&channel, id, &new.lease_token, result_json("2"))
                .await
                .map(|answer| answer.status());
            let stale =
                client::submit_result(&channel, id, &old.lease_token, result_json("999")).await;
            let state = answered(
                "GetTask to answer the task's state",
                client::get_task(&channel, id).await,
            );
            (code_from(&stale), newer.map_err(|e| e.to_string()), state)
        },
    );
    assert_eq!(
        newer,
        Ok(pb::TaskStatus::Done),
        "the newer lease's result should be accepted; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        stale,
        Some(Code::FailedPrecondition),
        "expected a stale lease token to be refused with FAILED_PRECONDITION, got {stale:?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        state.result_json,
        "2",
        "a stale result must never overwrite the newer one: expected result 2, got {state:?}; {}",
        DISPATCHER.hint()
    );
}

#[test]
fn step3_dispatcher_answers_bad_input_with_clear_statuses_and_lives_on() {
    let (server, _) = start_dispatcher(Duration::from_secs(120));
    let (codes, after) = with_client(
        &server,
        "unknown ids and bad requests to the Dispatcher",
        DISPATCHER,
        |channel| async move {
            let codes = vec![
                (
                    "GetTask of an unknown id",
                    code_from(&client::get_task(&channel, 424_242).await),
                    Code::NotFound,
                ),
                (
                    "SubmitResult for an unknown id",
                    code_from(
                        &client::submit_result(&channel, 424_242, "token", result_json("1")).await,
                    ),
                    Code::NotFound,
                ),
                (
                    "SubmitTask with garbage JSON",
                    code_from(&client::submit_task(&channel, "add", "{not json").await),
                    Code::InvalidArgument,
                ),
                (
                    "SubmitTask of an unknown kind",
                    code_from(&client::submit_task(&channel, "teleport", "{}").await),
                    Code::InvalidArgument,
                ),
                (
                    "ClaimTask by a worker that never sent a Heartbeat",
                    code_from(&client::claim_task(&channel, "stranger").await),
                    Code::FailedPrecondition,
                ),
                (
                    "Heartbeat with no kinds",
                    code_from(&client::heartbeat(&channel, worker("w", &[]), Vec::new()).await),
                    Code::InvalidArgument,
                ),
            ];
            let after = client::submit_task(&channel, "add", r#"{"a": 1, "b": 2}"#)
                .await
                .map_err(|e| e.to_string());
            (codes, after)
        },
    );
    for (what, got, expected) in codes {
        assert_eq!(
            got,
            Some(expected),
            "{what}: expected {expected:?}, got {got:?}; {}",
            DISPATCHER.hint()
        );
    }
    assert!(
        after.is_ok(),
        "after bad requests the Dispatcher should still queue tasks, got {after:?}; {}",
        DISPATCHER.hint()
    );
}
