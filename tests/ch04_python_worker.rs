//! A worker written in Python with pyzmq, from the book's protocol section alone,
//! completes tasks against the Rust `pull_dispatcher`: the protocol really is
//! language-neutral. The test makes its own venv under target/ and installs pyzmq
//! from PyPI; if that fails, the test fails and says why — it is never skipped.

mod common;

use std::time::Duration;

use bench::python::{Python, peer};
use common::start;
use serde_json::json;
use solution04::{Client, ErrorType, TaskStatus};

const DISPATCHER: &str = env!("CARGO_BIN_EXE_pull_dispatcher");
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_python_worker_completes_tasks_against_the_rust_dispatcher() {
    let python = Python::venv(&["pyzmq"]).unwrap_or_else(|error| {
        panic!("this test needs a venv with pyzmq from PyPI under target/: {error}")
    });
    let mut dispatcher = start(
        DISPATCHER,
        &[
            "--workers",
            "tcp://127.0.0.1:*",
            "--clients",
            "tcp://127.0.0.1:*",
        ],
    );
    let line = dispatcher.expect_line(LIMIT, |line| line.contains("Workers ask on"));
    let endpoints: Vec<&str> = line
        .split_whitespace()
        .filter(|word| word.starts_with("tcp://"))
        .map(|word| word.trim_end_matches(','))
        .collect();
    let [workers, clients] = endpoints[..] else {
        panic!("expected two endpoints in {line:?}");
    };

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
    let sum = submit("arithmetic", json!({"a": 10, "op": "add", "b": 5}));
    let raised = submit("fail", json!({"message": "raised in Python"}));
    let unknown = submit("pickle", json!({"payload": "gASV"}));
    let primes = submit("primes", json!({"n": 1000}));
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
