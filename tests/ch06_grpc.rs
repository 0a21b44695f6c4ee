//! End to end: `grpc_server` and `grpc_client` as a reader runs them, over real
//! loopback sockets — and a Python grpcio client, generated from the same .proto,
//! calling the Rust server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bench::python::{Python, peer};
use common::{Running, run, start};

const SERVER: &str = env!("CARGO_BIN_EXE_grpc_server");
const CLIENT: &str = env!("CARGO_BIN_EXE_grpc_client");
const LIMIT: Duration = Duration::from_secs(30);

/// Starts `grpc_server` on a free port; returns it and its address.
fn serve(args: &[&str]) -> (Running, String) {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut server = start(SERVER, &all);
    let line = server.expect_line(LIMIT, |l| l.starts_with("[Dispatcher] Listening on "));
    let address = line
        .trim_start_matches("[Dispatcher] Listening on ")
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    (server, address)
}

/// Runs `grpc_client --address ADDRESS args…`; returns (exit code, stdout, stderr).
fn call(address: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--address", address];
    all.extend_from_slice(args);
    run(CLIENT, &all)
}

#[test]
fn the_client_computes_and_errors_are_status_codes() {
    let (_server, address) = serve(&["--max-workers", "2"]);
    let (code, stdout, stderr) = call(&address, &["compute", "12", "multiply", "12"]);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(
        stdout.starts_with("[Client] Task 1 = 144 (by Worker "),
        "{stdout}"
    );

    let (code, stdout, stderr) = call(&address, &["compute", "-17", "divide", "5"]);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(stdout.contains("Task 1 = -3 "), "{stdout}");

    let (code, _, stderr) = call(&address, &["compute", "6", "divide", "0"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim(),
        "error: INVALID_ARGUMENT: Division by zero is not allowed"
    );

    let (code, _, stderr) = call(
        &address,
        &["compute", "1", "add", "1", "--processing-time=-1"],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("INVALID_ARGUMENT: processing_time must be between 0 and 60"),
        "{stderr}"
    );

    let (code, _, stderr) = call(&address, &["compute", "1", "pow", "1"]);
    assert_eq!(code, Some(2), "a bad op is a usage error: {stderr}");
}

#[test]
fn health_and_reflection_are_served() {
    let (_server, address) = serve(&[]);
    let (code, stdout, stderr) = call(&address, &["health"]);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_eq!(stdout.trim(), "[Client] health: SERVING");

    let (code, stdout, stderr) = call(&address, &["list"]);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    for service in [
        "workbook.v1.Calculator",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            stdout.lines().any(|l| l == format!("[Client] {service}")),
            "{stdout}"
        );
    }
}

#[test]
fn load_mode_reports_rates_and_refusals_beyond_max_concurrent_rpcs() {
    let (mut server, address) = serve(&["--max-workers", "1", "--max-concurrent-rpcs", "1"]);
    let (code, stdout, stderr) = call(
        &address,
        &[
            "load",
            "--concurrency",
            "4",
            "--requests",
            "40",
            "--processing-time",
            "0.02",
        ],
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    let report = stdout.lines().last().unwrap_or_default();
    assert!(report.starts_with("[Client] 40 calls in "), "{stdout}");
    assert!(
        report.contains(" req/s, p50 ") && report.contains(" ms, p99 "),
        "{stdout}"
    );
    assert!(report.contains(" RESOURCE_EXHAUSTED"), "{stdout}");
    server.expect_line(LIMIT, |l| {
        l == "[Dispatcher] Refused a call: 1 already in flight (RESOURCE_EXHAUSTED)"
    });
}

#[test]
fn a_call_past_its_deadline_is_dropped_from_the_queue() {
    let (mut server, address) = serve(&["--max-workers", "1"]);
    let mut busy = start(
        CLIENT,
        &[
            "--address",
            &address,
            "compute",
            "1",
            "add",
            "1",
            "--id",
            "busy",
            "--processing-time",
            "1",
        ],
    );
    server.expect_line(LIMIT, |l| l.ends_with("Processing task busy: 1 add 1"));
    let (code, _, stderr) = call(
        &address,
        &[
            "compute",
            "2",
            "add",
            "2",
            "--id",
            "late",
            "--deadline-ms",
            "200",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("error: DEADLINE_EXCEEDED"), "{stderr}");
    busy.expect_line(LIMIT, |l| l.starts_with("[Client] Task busy = 2 "));
    server.expect_line(LIMIT, |l| {
        l == "[Dispatcher] Dropped task late: 2 add 2: its deadline passed while it was queued"
    });
    assert!(
        !server.output().contains("Processing task late"),
        "{}",
        server.output()
    );
}

#[test]
fn ctrl_c_answers_the_calls_in_flight_then_exits() {
    let (mut server, address) = serve(&["--max-workers", "2"]);
    let mut slow = start(
        CLIENT,
        &[
            "--address",
            &address,
            "compute",
            "12",
            "multiply",
            "12",
            "--processing-time",
            "1",
        ],
    );
    server.expect_line(LIMIT, |l| l.ends_with("Processing task 1: 12 multiply 12"));
    server.interrupt();
    slow.expect_line(LIMIT, |l| l.starts_with("[Client] Task 1 = 144 "));
    assert!(server.wait(LIMIT).success(), "{}", server.output());
    let output = server.output();
    let draining = output.find("Shutting down").expect("a draining line");
    let finished = output.find("Finished task 1").expect("the call finished");
    assert!(draining < finished, "{output}");
    assert!(
        output.ends_with("[Dispatcher] All calls answered, all workers stopped"),
        "{output}"
    );
}

#[test]
fn garbage_and_oversized_requests_leave_the_server_serving() {
    let (_server, address) = serve(&["--max-message-bytes", "1024"]);

    let mut stream = TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("sets a timeout");
    stream
        .write_all(b"GET / HTTP/1.1\r\n\r\n\x00\x01\x02 not a gRPC call at all \xff\xfe")
        .expect("sends garbage");
    let mut reply = Vec::new();
    // The server answers or hangs up; either way the read ends.
    let _ = stream.read_to_end(&mut reply);

    let long_id = "x".repeat(4096);
    let (code, _, stderr) = call(&address, &["compute", "1", "add", "1", "--id", &long_id]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("OUT_OF_RANGE") || stderr.contains("RESOURCE_EXHAUSTED"),
        "{stderr}"
    );

    let (code, stdout, stderr) = call(&address, &["compute", "2", "add", "2"]);
    assert_eq!(code, Some(0), "the server should still answer: {stderr}");
    assert!(stdout.contains("Task 1 = 4 "), "{stdout}");
}

#[test]
fn help_lists_every_option() {
    let (code, stdout, _) = run(SERVER, &["--help"]);
    assert_eq!(code, Some(0));
    for option in [
        "--listen",
        "--max-workers",
        "--max-concurrent-rpcs",
        "--max-message-bytes",
        "--io-threads",
        "--quiet",
        "--no-color",
    ] {
        assert!(stdout.contains(option), "{option} missing:\n{stdout}");
    }
    let (code, stdout, _) = run(CLIENT, &["--help"]);
    assert_eq!(code, Some(0));
    for command in ["compute", "load", "health", "list", "--address"] {
        assert!(stdout.contains(command), "{command} missing:\n{stdout}");
    }
}

#[test]
fn a_python_grpcio_client_calls_the_rust_server() {
    let python = Python::venv(&["grpcio", "grpcio-tools"]).expect("a venv with grpcio");
    let stubs = std::env::temp_dir().join(format!("workbook-ch06-stubs-{}", std::process::id()));
    python.grpc_stubs(&stubs).expect("stubs generate");
    let (_server, address) = serve(&["--max-workers", "2"]);

    let answers = python
        .run_json(
            &peer("ch06_grpc_client.py"),
            &["--stubs".to_owned(), stubs.display().to_string(), address],
        )
        .expect("the Python client runs");
    let _ = std::fs::remove_dir_all(&stubs);

    assert_eq!(answers["multiply"]["value"], 144, "{answers}");
    assert_eq!(answers["multiply"]["task_id"], "py-1", "{answers}");
    assert_eq!(
        answers["multiply"]["status"], "TASK_STATUS_DONE",
        "{answers}"
    );
    assert_eq!(
        answers["divide_by_zero"]["code"], "INVALID_ARGUMENT",
        "{answers}"
    );
    assert_eq!(
        answers["divide_by_zero"]["details"], "Division by zero is not allowed",
        "{answers}"
    );
    assert_eq!(
        answers["deadline"]["code"], "DEADLINE_EXCEEDED",
        "{answers}"
    );
}
