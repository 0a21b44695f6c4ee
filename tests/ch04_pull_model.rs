//! End to end: chapter 04's `pull_dispatcher`, `pull_worker` and `pull_client` as
//! real processes on free loopback ports — failures, parallelism, a 1 MiB result,
//! a worker killed mid-task, a dispatcher restarted, and garbage on the wire.
//!
//! And a worker written in Python with pyzmq from the book's protocol section
//! alone: the protocol really is language-neutral. That test makes its own venv
//! under target/ and installs pyzmq from PyPI; if that fails, the test fails and
//! says why — it is never skipped.

mod common;
#[path = "common/zmq_peers.rs"]
mod zmq_peers;

use std::time::{Duration, Instant};

use bench::python::{Python, peer};
use common::{Running, run, start};
use serde_json::{Value, json};
use solution04::{Client, ErrorType, TaskReport, TaskStatus};
use zmq_peers::{req_socket, stand_in};

const DISPATCHER: &str = env!("CARGO_BIN_EXE_pull_dispatcher");
const WORKER: &str = env!("CARGO_BIN_EXE_pull_worker");
const CLIENT: &str = env!("CARGO_BIN_EXE_pull_client");
const LIMIT: Duration = Duration::from_secs(20);
const ANY_PORT: &str = "tcp://127.0.0.1:*";

/// A dispatcher process and the endpoints it printed.
struct Dispatcher {
    process: Running,
    workers: String,
    clients: String,
}

impl Dispatcher {
    fn start(deadline: &str) -> Self {
        Self::start_on(ANY_PORT, ANY_PORT, deadline)
    }

    fn start_on(workers: &str, clients: &str, deadline: &str) -> Self {
        let mut process = start(
            DISPATCHER,
            &[
                "--workers",
                workers,
                "--clients",
                clients,
                "--deadline",
                deadline,
            ],
        );
        let line = process.expect_line(LIMIT, |line| line.contains("Workers ask on"));
        let endpoints: Vec<&str> = line
            .split_whitespace()
            .filter(|word| word.starts_with("tcp://"))
            .map(|word| word.trim_end_matches(','))
            .collect();
        let [workers, clients] = endpoints[..] else {
            panic!("expected two endpoints in {line:?}");
        };
        Self {
            workers: workers.to_owned(),
            clients: clients.to_owned(),
            process,
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.clients, Duration::from_secs(5)).expect("a client connects")
    }

    /// Reads the dispatcher's output until `count` lines contain `text`.
    fn expect_lines(&mut self, count: usize, text: &str) {
        let mut seen = 0;
        while seen < count {
            self.process.expect_line(LIMIT, |line| line.contains(text));
            seen += 1;
        }
    }
}

/// A worker that gives up on an unanswered request after 1.5 s: long enough that a
/// busy machine's slow answer is not taken for a dead dispatcher, short enough for
/// the restart test.
fn worker(processes: &str, endpoint: &str) -> Running {
    start(WORKER, &[processes, endpoint, "--timeout", "1.5"])
}

fn wait(client: &mut Client, task_id: &str) -> TaskReport {
    client
        .wait_for(task_id, Duration::from_millis(20), LIMIT)
        .expect("the task finishes")
}

#[test]
fn a_raising_task_fails_with_its_message_and_an_unknown_id_is_not_found() {
    let dispatcher = Dispatcher::start("2");
    let _worker = worker("2", &dispatcher.workers);
    let (code, stdout, stderr) = run(
        CLIENT,
        &[
            "--endpoint",
            &dispatcher.clients,
            "submit",
            "fail",
            r#"{"message": "raised on purpose"}"#,
            "--wait",
        ],
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).expect("the status is JSON");
    assert_eq!(report["status"], json!("FAILED"), "{stdout}");
    assert_eq!(
        report["error"]["error_type"],
        json!("FunctionExecutionFailure"),
        "{stdout}"
    );
    assert_eq!(
        report["error"]["message"],
        json!("raised on purpose"),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(
        CLIENT,
        &["--endpoint", &dispatcher.clients, "status", "no-such-task"],
    );
    assert_eq!(code, Some(1), "stdout: {stdout}");
    assert!(
        stderr.contains("task no-such-task not found"),
        "stderr: {stderr}"
    );
}

#[test]
fn three_tasks_run_in_parallel_on_a_three_process_worker() {
    let mut dispatcher = Dispatcher::start("5");
    let mut client = dispatcher.client();
    // 0.5 s sleeps leave ample time for the three assignments, even on a busy machine.
    let ids: Vec<String> = (0..3)
        .map(|_| client.submit("sleep", json!({"ms": 500})).expect("submits"))
        .collect();
    let _worker = worker("3", &dispatcher.workers);
    for id in &ids {
        assert_eq!(wait(&mut client, id).status, TaskStatus::Completed);
    }
    dispatcher.expect_lines(3, ": COMPLETED");
    // All three were handed out before the first result came back.
    let lines = dispatcher.process.lines();
    let first_done = lines
        .iter()
        .position(|line| line.ends_with(": COMPLETED"))
        .expect("a COMPLETED line");
    let running_before = lines[..first_done]
        .iter()
        .filter(|line| line.ends_with(": RUNNING"))
        .count();
    assert_eq!(running_before, 3, "{}", dispatcher.process.output());
}

#[test]
fn a_one_mebibyte_result_round_trips_intact() {
    let dispatcher = Dispatcher::start("5");
    let _worker = worker("1", &dispatcher.workers);
    let mut client = dispatcher.client();
    let data: String = (0..1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let id = client
        .submit("echo", json!({ "data": data }))
        .expect("submits 1 MiB");
    let report = wait(&mut client, &id);
    assert_eq!(report.status, TaskStatus::Completed);
    assert!(
        report.result.as_ref().and_then(Value::as_str) == Some(data.as_str()),
        "the 1 MiB result came back changed ({} bytes)",
        report
            .result
            .as_ref()
            .and_then(Value::as_str)
            .map_or(0, str::len)
    );
}

#[test]
fn a_killed_worker_fails_its_task_at_the_deadline_and_another_worker_finishes_the_rest() {
    let mut dispatcher = Dispatcher::start("1");
    let doomed = worker("1", &dispatcher.workers);
    let mut client = dispatcher.client();
    let long = client
        .submit("sleep", json!({"ms": 30_000}))
        .expect("submits");
    dispatcher.expect_lines(1, &format!("Task {long} → a worker: RUNNING"));
    // The doomed worker has one thread, so these wait in the queue.
    let others: Vec<String> = (1..=3)
        .map(|n| {
            client
                .submit("multiply", json!({"a": n, "b": 10}))
                .expect("submits")
        })
        .collect();

    drop(doomed); // SIGKILL, mid-task.
    let report = wait(&mut client, &long);
    let failure = report.error.expect("the killed task has an error");
    assert_eq!(report.status, TaskStatus::Failed);
    assert_eq!(failure.error_type, ErrorType::WorkerFailureError);
    let took: f64 = failure
        .message
        .strip_prefix("Task exceeded deadline of 1s (took ")
        .and_then(|rest| rest.strip_suffix("s)"))
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("unexpected message {:?}", failure.message));
    assert!(
        (1.0..=2.0).contains(&took),
        "failed after {took}s, expected within the 1 s deadline + 1 s"
    );

    let _rescuer = worker("2", &dispatcher.workers);
    for (n, id) in (1..=3).zip(&others) {
        let report = wait(&mut client, id);
        assert_eq!(
            (report.status, report.result),
            (TaskStatus::Completed, Some(json!(n * 10)))
        );
    }
}

#[test]
fn a_worker_reconnects_when_the_dispatcher_restarts() {
    let first = Dispatcher::start("5");
    let (workers, clients) = (first.workers.clone(), first.clients.clone());
    let _worker = worker("1", &workers);
    let mut client = first.client();
    let id = client
        .submit("add", json!({"a": 1, "b": 1}))
        .expect("submits");
    assert_eq!(wait(&mut client, &id).result, Some(json!(2)));
    drop(first); // SIGKILL: the worker's next request goes unanswered.
    std::thread::sleep(Duration::from_millis(500));

    let second = Dispatcher::start_on(&workers, &clients, "5");
    let mut client = second.client();
    let id = client
        .submit("add", json!({"a": 2, "b": 2}))
        .expect("submits");
    assert_eq!(wait(&mut client, &id).result, Some(json!(4)));
}

fn ask(socket: &zmq::Socket, frame: &[u8]) -> String {
    socket.send(frame, 0).expect("sends");
    let answer = socket.recv_bytes(0).expect("an answer within 5 s");
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn garbage_gets_error_answers_and_the_dispatcher_lives_on() {
    let dispatcher = Dispatcher::start("5");
    let workers = req_socket(&dispatcher.workers);
    let clients = req_socket(&dispatcher.clients);
    let started = Instant::now();
    for (socket, frame, wanted) in [
        (&workers, b"GIVE ME WORK".as_slice(), "ERROR "),
        (&workers, b"REQUEST_TASK {\"worker_id\": ", "ERROR_OCCURED "),
        (&workers, b"RESULT:[1, 2", "ERROR "),
        (
            &workers,
            b"RESULT:{\"task_id\": \"x\", \"status\": \"COMPLETED\"}",
            "ERROR ",
        ),
        (&workers, &[0xc3, 0x28], "ERROR "),
        (&clients, b"SUBMIT {\"kind\": 3}", "ERROR "),
        (&clients, b"DELETE everything", "ERROR "),
        (&clients, b"STATUS nope", "NOT_FOUND nope"),
    ] {
        let answer = ask(socket, frame);
        assert!(
            answer.starts_with(wanted),
            "{:?} should be answered with {wanted:?}…, got {answer:?}",
            String::from_utf8_lossy(frame)
        );
    }
    assert_eq!(ask(&workers, b"REQUEST_TASK"), "NO_TASKS_AVAILABLE");
    let submitted = ask(
        &clients,
        br#"SUBMIT {"kind": "primes", "args": {"limit": 10}}"#,
    );
    assert!(submitted.starts_with("SUBMITTED "), "{submitted}");
    let task: Value =
        serde_json::from_str(&ask(&workers, b"REQUEST_TASK")).expect("a task as JSON");
    assert_eq!(task["kind"], json!("primes"));
    assert_eq!(task["status"], json!("RUNNING"));
    assert!(started.elapsed() < LIMIT);
}

#[test]
fn the_binaries_explain_themselves() {
    for binary in [DISPATCHER, WORKER, CLIENT] {
        let (code, stdout, stderr) = run(binary, &["--help"]);
        assert_eq!(code, Some(0), "{binary} --help: {stderr}");
        assert!(stdout.contains("Examples:"), "{binary} --help:\n{stdout}");
    }
    let (code, _, stderr) = run(WORKER, &["0"]);
    assert_eq!(code, Some(2), "0 processes must be refused: {stderr}");
}

#[test]
fn a_python_worker_completes_tasks_against_the_rust_dispatcher() {
    let python = Python::venv(&["pyzmq"]).unwrap_or_else(|error| {
        panic!("this test needs a venv with pyzmq from PyPI under target/: {error}")
    });
    let dispatcher = Dispatcher::start("5");
    let (workers, clients) = (dispatcher.workers.as_str(), dispatcher.clients.as_str());

    let script = peer("pull_worker.py");
    let executable = python.executable().display().to_string();
    let script = script.display().to_string();
    let mut worker = start(
        &executable,
        &["-u", &script, "2", workers, "--timeout", "1"],
    );
    worker.expect_line(LIMIT, |line| line.contains("asking"));

    let mut client = Client::connect(clients, Duration::from_secs(5)).expect("connects");
    let mut submit =
        |kind: &str, args: serde_json::Value| client.submit(kind, args).expect("submits");
    let sum = submit("add", json!({"a": 10, "b": 5}));
    let raised = submit("fail", json!({"message": "raised in Python"}));
    let unknown = submit("pickle", json!({"payload": "gASV"}));
    let primes = submit("primes", json!({"limit": 1000}));
    let big = "y".repeat(100_000);
    let echo = submit("echo", json!({ "data": big }));

    let mut report = |id: &str| {
        client
            .wait_for(id, Duration::from_millis(20), LIMIT)
            .expect("the Python worker finishes the task")
    };
    let sum = report(&sum);
    assert_eq!(
        (sum.status, sum.result),
        (TaskStatus::Completed, Some(json!(15)))
    );
    let raised = report(&raised);
    let failure = raised.error.expect("an error object");
    assert_eq!(
        (failure.error_type, failure.message.as_str()),
        (ErrorType::FunctionExecutionFailure, "raised in Python")
    );
    let unknown = report(&unknown);
    assert_eq!(
        unknown.error.map(|e| e.error_type),
        Some(ErrorType::SerializationError)
    );
    assert_eq!(report(&primes).result, Some(json!(168)));
    assert_eq!(report(&echo).result, Some(json!(big)));

    worker.interrupt();
    worker.wait(LIMIT);
}

#[test]
fn a_sweep_of_bad_frames_is_answered_on_both_sockets_and_the_dispatcher_serves_on() {
    let dispatcher = Dispatcher::start("5");
    let workers = req_socket(&dispatcher.workers);
    let clients = req_socket(&dispatcher.clients);
    let samples: [&[u8]; 4] = [
        br#"REQUEST_TASK {"worker_id": "w1"}"#,
        br#"RESULT:{"task_id": "t1", "status": "COMPLETED", "result": 3}"#,
        br#"SUBMIT {"kind": "primes", "args": {"limit": 10}}"#,
        br#"RESULT_AND_REQUEST {"results": [{"task_id": "t1", "status": "COMPLETED", "result": 3}], "worker_id": "w1"}"#,
    ];
    for (index, frame) in common::bad_frames(4, &samples, 2 << 20).iter().enumerate() {
        // Both sockets get every frame: a REP socket must answer each request, or
        // the next one could never be sent.
        for socket in [&workers, &clients] {
            socket.send(frame.as_slice(), 0).expect("sends");
            let answer = socket.recv_bytes(0).unwrap_or_else(|error| {
                panic!(
                    "bad frame {index} ({} bytes) got no answer within 5 s: {error}",
                    frame.len()
                )
            });
            assert!(!answer.is_empty(), "bad frame {index}: an empty answer");
        }
    }
    // A worker that asked with a garbled frame may have been handed a task: what
    // matters is that real work still flows.
    let submitted = ask(
        &clients,
        br#"SUBMIT {"kind": "primes", "args": {"limit": 10}}"#,
    );
    assert!(submitted.starts_with("SUBMITTED "), "{submitted}");
    let id = submitted.trim_start_matches("SUBMITTED ").trim().to_owned();
    let worker = worker("1", &dispatcher.workers);
    let deadline = Instant::now() + LIMIT;
    loop {
        let status = ask(&clients, format!("STATUS {id}").as_bytes());
        if status.contains("COMPLETED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} never completed: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(worker);
}

// One round trip per task: `pull_worker --protocol one-trip` carries each result on
// its next request (RESULT_AND_REQUEST), on the same dispatcher endpoint.

fn one_trip_worker(processes: &str, endpoint: &str) -> Running {
    start(
        WORKER,
        &[
            processes,
            endpoint,
            "--timeout",
            "1.5",
            "--protocol",
            "one-trip",
        ],
    )
}

#[test]
fn one_trip_workers_complete_tasks_including_failures() {
    let dispatcher = Dispatcher::start("5");
    let _worker = one_trip_worker("2", &dispatcher.workers);
    let mut client = dispatcher.client();
    let sums: Vec<(i64, String)> = (0..20)
        .map(|n| {
            let id = client
                .submit("add", json!({"a": n, "b": 100}))
                .expect("submits");
            (n, id)
        })
        .collect();
    let raised = client
        .submit("fail", json!({"message": "raised on one trip"}))
        .expect("submits");
    for (n, id) in &sums {
        let report = wait(&mut client, id);
        assert_eq!(
            (report.status, report.result),
            (TaskStatus::Completed, Some(json!(n + 100)))
        );
    }
    let report = wait(&mut client, &raised);
    let failure = report.error.expect("an error object");
    assert_eq!(
        (failure.error_type, failure.message.as_str()),
        (ErrorType::FunctionExecutionFailure, "raised on one trip")
    );
}

#[test]
fn workers_on_both_protocols_share_one_dispatcher() {
    let mut dispatcher = Dispatcher::start("5");
    let mut client = dispatcher.client();
    // Sleeps long enough that one worker cannot take them all before the other asks.
    let ids: Vec<String> = (0..8)
        .map(|_| client.submit("sleep", json!({"ms": 300})).expect("submits"))
        .collect();
    let _original = start(
        WORKER,
        &["2", &dispatcher.workers, "--timeout", "1.5", "--id", "orig"],
    );
    let _one_trip = start(
        WORKER,
        &[
            "2",
            &dispatcher.workers,
            "--timeout",
            "1.5",
            "--protocol",
            "one-trip",
            "--id",
            "trip",
        ],
    );
    for id in &ids {
        assert_eq!(wait(&mut client, id).status, TaskStatus::Completed);
    }
    dispatcher.expect_lines(8, ": COMPLETED");
    let output = dispatcher.process.output();
    for name in ["orig", "trip"] {
        assert!(
            output.contains(name),
            "worker {name} took no task:\n{output}"
        );
    }
}

#[test]
fn a_result_carried_on_a_request_is_recorded_exactly_once() {
    let mut dispatcher = Dispatcher::start("5");
    let workers = req_socket(&dispatcher.workers);
    let mut client = dispatcher.client();
    let id = client
        .submit("add", json!({"a": 2, "b": 3}))
        .expect("submits");
    let task: Value =
        serde_json::from_str(&ask(&workers, b"REQUEST_TASK")).expect("a task as JSON");
    assert_eq!(task["task_id"], json!(id));
    let carried = format!(
        r#"RESULT_AND_REQUEST {{"results": [{{"task_id": "{id}", "status": "COMPLETED", "result": 5}}]}}"#
    );
    // Recorded, and the request part answered: nothing else is queued.
    assert_eq!(ask(&workers, carried.as_bytes()), "NO_TASKS_AVAILABLE");
    // The same frame again, as a Lazy Pirate resend would send it: refused.
    let again = ask(&workers, carried.as_bytes());
    assert!(again.starts_with("ERROR "), "{again}");
    // Twice in one message: the second copy is refused too.
    let other = client
        .submit("add", json!({"a": 1, "b": 1}))
        .expect("submits");
    let task: Value =
        serde_json::from_str(&ask(&workers, b"REQUEST_TASK")).expect("a task as JSON");
    assert_eq!(task["task_id"], json!(other));
    let twice = format!(
        r#"RESULT_AND_REQUEST {{"results": [{{"task_id": "{other}", "status": "COMPLETED", "result": 2}}, {{"task_id": "{other}", "status": "COMPLETED", "result": 99}}]}}"#
    );
    let answer = ask(&workers, twice.as_bytes());
    assert!(answer.starts_with("ERROR "), "{answer}");

    assert_eq!(wait(&mut client, &id).result, Some(json!(5)));
    assert_eq!(wait(&mut client, &other).result, Some(json!(2)));
    let bad = [
        ("RESULT_AND_REQUEST {\"results\": 3}", "malformed JSON"),
        (
            "RESULT_AND_REQUEST {\"results\": [{\"task_id\": \"x\", \"status\": \"RUNNING\"}]}",
            "COMPLETED or FAILED",
        ),
        (
            "RESULT_AND_REQUEST {\"results\": [{\"task_id\": \"x\", \"status\": \"FAILED\"}]}",
            "needs an \"error\" object",
        ),
    ];
    // Bad input on the new frame gets a clear error, and takes no task.
    let third = client
        .submit("add", json!({"a": 3, "b": 3}))
        .expect("submits");
    for (frame, wanted) in bad {
        let answer = ask(&workers, frame.as_bytes());
        assert!(
            answer.starts_with("ERROR ") && answer.contains(wanted),
            "{frame:?} should be answered with ERROR …{wanted}…, got {answer:?}"
        );
    }
    let task: Value =
        serde_json::from_str(&ask(&workers, b"RESULT_AND_REQUEST")).expect("a task as JSON");
    assert_eq!(task["task_id"], json!(third), "a bad frame took the task");

    // Stop the dispatcher and read its whole log: each result recorded once.
    dispatcher.process.interrupt();
    dispatcher.process.wait(LIMIT);
    let output = dispatcher.process.output();
    for task_id in [&id, &other] {
        let recorded = output
            .lines()
            .filter(|line| line.contains(task_id.as_str()) && line.ends_with(": COMPLETED"))
            .count();
        assert_eq!(
            recorded, 1,
            "task {task_id} recorded {recorded} times:\n{output}"
        );
    }
}

#[test]
fn a_killed_one_trip_worker_fails_its_task_at_the_deadline() {
    let mut dispatcher = Dispatcher::start("1");
    let doomed = one_trip_worker("1", &dispatcher.workers);
    let mut client = dispatcher.client();
    let long = client
        .submit("sleep", json!({"ms": 30_000}))
        .expect("submits");
    dispatcher.expect_lines(1, &format!("Task {long} → a worker: RUNNING"));
    let next = client
        .submit("multiply", json!({"a": 4, "b": 10}))
        .expect("submits");
    drop(doomed); // SIGKILL, mid-task.
    let report = wait(&mut client, &long);
    assert_eq!(report.status, TaskStatus::Failed);
    assert_eq!(
        report.error.map(|failure| failure.error_type),
        Some(ErrorType::WorkerFailureError)
    );
    let _rescuer = one_trip_worker("1", &dispatcher.workers);
    assert_eq!(wait(&mut client, &next).result, Some(json!(40)));
}

/// A stand-in dispatcher that reads requests and answers none, and the endpoint
/// it listens on. A ROUTER, so that each request arrives with its sender's identity.
fn silent_dispatcher() -> (zmq::Socket, String) {
    stand_in(zmq::ROUTER)
}

/// The next request at the stand-in: the sender's identity and the frame.
fn next_request(router: &zmq::Socket, what: &str) -> (Vec<u8>, Vec<u8>) {
    let parts = router
        .recv_multipart(0)
        .unwrap_or_else(|error| panic!("{what} did not arrive: {error}"));
    // [the worker socket's identity, the empty delimiter, the request]
    let [identity, delimiter, request] = &parts[..] else {
        panic!("{what}: expected three frames, got {parts:?}");
    };
    assert!(delimiter.is_empty(), "{parts:?}");
    assert!(request.starts_with(b"RESULT_AND_REQUEST"), "{parts:?}");
    (identity.clone(), request.clone())
}

#[test]
fn a_one_trip_worker_keeps_one_request_in_flight_per_thread() {
    // A REQ worker would send one request and wait for its answer; a one-trip
    // worker of 3 threads has 3 out before hearing anything.
    let (router, endpoint) = silent_dispatcher();
    let _worker = start(
        WORKER,
        &["3", &endpoint, "--timeout", "30", "--protocol", "one-trip"],
    );
    for n in 1..=3 {
        next_request(&router, &format!("request {n} of 3"));
    }
}

#[test]
fn a_one_trip_worker_resends_on_a_fresh_socket_when_an_answer_is_late() {
    let (router, endpoint) = silent_dispatcher();
    let _worker = start(
        WORKER,
        &["1", &endpoint, "--timeout", "0.5", "--protocol", "one-trip"],
    );
    let (first_socket, request) = next_request(&router, "the request");
    // No answer: after 0.5 s the worker gives up on that socket (Lazy Pirate) and
    // sends the same request again on a new one.
    let (second_socket, again) = next_request(&router, "the request sent again");
    assert_ne!(first_socket, second_socket, "the same socket was reused");
    assert_eq!(request, again);
}

#[test]
fn a_one_trip_worker_reconnects_when_the_dispatcher_restarts() {
    let first = Dispatcher::start("5");
    let (workers, clients) = (first.workers.clone(), first.clients.clone());
    let _worker = one_trip_worker("2", &workers);
    let mut client = first.client();
    let id = client
        .submit("add", json!({"a": 1, "b": 1}))
        .expect("submits");
    assert_eq!(wait(&mut client, &id).result, Some(json!(2)));
    drop(first); // SIGKILL: the requests in flight go unanswered.
    std::thread::sleep(Duration::from_millis(500));

    let second = Dispatcher::start_on(&workers, &clients, "5");
    let mut client = second.client();
    let ids: Vec<String> = (0..4)
        .map(|n| {
            client
                .submit("add", json!({"a": n, "b": 2}))
                .expect("submits")
        })
        .collect();
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(wait(&mut client, id).result, Some(json!(n + 2)));
    }
}
