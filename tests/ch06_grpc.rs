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
        "workbook.v1.Dispatcher",
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

/// Runs `grpc_client` and returns its one `[Client] ` line, asserting success.
fn ok_line(address: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = call(address, args);
    assert_eq!(code, Some(0), "grpc_client {args:?} failed: {stderr}");
    stdout
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("[Client] ")
        .to_owned()
}

/// `Leased task 1 (add {...}), attempt 1 of 5, token abc` → ("1", "abc").
fn lease_of(line: &str) -> (String, String) {
    let id = line
        .trim_start_matches("Leased task ")
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let token = line.rsplit(' ').next().unwrap_or_default().to_owned();
    assert!(line.starts_with("Leased task "), "no lease: {line}");
    (id, token)
}

#[test]
fn dispatcher_submit_claim_result_then_status_completed() {
    let db = std::env::temp_dir().join(format!("workbook-ch06-e2e-{}.db", std::process::id()));
    let db_arg = db.display().to_string();
    let (server, address) = serve(&["--db", &db_arg]);

    let submitted = ok_line(&address, &["submit", "add", r#"{"a": 2, "b": 3}"#]);
    assert!(submitted.starts_with("Submitted task "), "{submitted}");
    let id = submitted.trim_start_matches("Submitted task ").to_owned();
    // Under a key, a submission sent again is the same task.
    let keyed = ["submit", "add", r#"{"a": 5, "b": 5}"#, "--key", "order-7"];
    let first = ok_line(&address, &keyed);
    assert_eq!(
        ok_line(&address, &keyed),
        first,
        "the same key: the same task"
    );
    assert_ne!(first, submitted, "{first}");

    let (leased, token) = lease_of(&ok_line(&address, &["claim", "w1", "add", "primes"]));
    assert_eq!(leased, id);
    assert_eq!(
        ok_line(&address, &["result", &id, &token, "5"]),
        format!("Task {id} DONE")
    );
    assert_eq!(
        ok_line(&address, &["result", &id, &token, "5"]),
        format!("Task {id} DONE (already recorded)"),
        "a resend of the same result is harmless"
    );

    let status = ok_line(&address, &["status", &id]);
    assert!(
        status.starts_with(&format!("Task {id} (add "))
            && status.contains(": DONE, ")
            && status.contains(", result 5"),
        "{status}"
    );
    let stats = ok_line(&address, &["stats"]);
    assert_eq!(
        stats, "queued 1, running 0, done 1, failed 0",
        "the keyed task waits"
    );
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_arg}{suffix}"));
    }
}

#[test]
fn the_monitor_takes_back_a_dead_workers_lease_while_callers_fill_every_slot() {
    // One call may be in flight, and a slow Compute holds that one slot (and one of
    // the two workers) for 8 s. The monitor is the server's own work: it must still
    // sweep, and a worker that stopped heartbeating must lose its lease meanwhile.
    let (mut server, address) = serve(&[
        "--max-workers",
        "2",
        "--max-concurrent-rpcs",
        "1",
        "--dead-after",
        "1",
        "--monitor-every",
        "0.3",
    ]);
    let submitted = ok_line(&address, &["submit", "add", r#"{"a": 2, "b": 3}"#]);
    let id = submitted.trim_start_matches("Submitted task ").to_owned();
    let (leased, _) = lease_of(&ok_line(&address, &["claim", "w1", "add"]));
    assert_eq!(leased, id);

    let slow_address = address.clone();
    let slow = std::thread::spawn(move || {
        call(
            &slow_address,
            &["compute", "1", "add", "1", "--processing-time", "8"],
        )
    });
    server.expect_line(LIMIT, |l| l.contains("] Processing task 1: 1 add 1"));
    let (code, _, stderr) = call(&address, &["stats"]);
    assert_eq!(code, Some(1), "the slot is taken, so callers are refused");
    assert!(stderr.contains("RESOURCE_EXHAUSTED"), "{stderr}");

    // w1 never heartbeats: within about 1.3 s it is dead and its task requeued —
    // long before the slow call gives its slot back.
    server.expect_line(Duration::from_secs(6), |l| {
        l.contains("Monitor: dead workers [w1], 1 task(s) requeued")
    });
    assert!(
        !slow.is_finished(),
        "the sweep came only after the slow call ended:\n{}",
        server.output()
    );
    let (code, _, stderr) = slow.join().expect("the slow caller");
    assert_eq!(code, Some(0), "{stderr}");
    let status = ok_line(&address, &["status", &id]);
    assert!(status.contains(": QUEUED"), "requeued: {status}");
}

#[test]
fn dispatcher_refuses_stale_lease_tokens_and_unknown_ids() {
    let (_server, address) = serve(&["--lease", "0.3"]);
    let id = ok_line(&address, &["submit", "multiply", r#"{"a": 6, "b": 7}"#])
        .trim_start_matches("Submitted task ")
        .to_owned();
    let (_, old_token) = lease_of(&ok_line(&address, &["claim", "slow", "multiply"]));
    // The lease runs out; another worker takes the task over.
    std::thread::sleep(Duration::from_millis(700));
    let (_, new_token) = lease_of(&ok_line(&address, &["claim", "fast", "multiply"]));
    assert_ne!(old_token, new_token);

    let (code, _, stderr) = call(&address, &["result", &id, &old_token, "0"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("error: FAILED_PRECONDITION: stale lease token"),
        "{stderr}"
    );
    assert_eq!(
        ok_line(&address, &["result", &id, &new_token, "42"]),
        format!("Task {id} DONE")
    );
    let status = ok_line(&address, &["status", &id]);
    assert!(
        status.contains(", result 42"),
        "the stale result must not win: {status}"
    );

    let (code, _, stderr) = call(&address, &["status", "424242"]);
    assert_eq!(code, Some(1));
    assert_eq!(stderr.trim(), "error: NOT_FOUND: unknown task 424242");
}

#[test]
fn dispatcher_garbage_gets_errors_and_the_server_lives_on() {
    let (_server, address) = serve(&["--max-message-bytes", "1024"]);
    for (args, expected) in [
        (
            vec!["submit", "add", "{not json"],
            "error: INVALID_ARGUMENT: args_json is not JSON",
        ),
        (
            vec!["submit", "teleport", "{}"],
            "error: INVALID_ARGUMENT: ",
        ),
        (
            vec!["claim", "w", "no-such-kind"],
            "error: INVALID_ARGUMENT: ",
        ),
        (
            vec!["result", "1", "token", "[1,"],
            "error: INVALID_ARGUMENT: result_json is not JSON",
        ),
        (
            vec!["status", "0"],
            "error: INVALID_ARGUMENT: task_id must be positive",
        ),
    ] {
        let (code, _, stderr) = call(&address, &args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
    }
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(4096));
    let (code, _, stderr) = call(&address, &["submit", "echo", &huge]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("OUT_OF_RANGE") || stderr.contains("RESOURCE_EXHAUSTED"),
        "{stderr}"
    );

    let mut stream = TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("sets a timeout");
    let _ = stream.write_all(b"\x00\xff garbage for the Dispatcher \r\n\r\n");
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);

    let line = ok_line(&address, &["submit", "add", r#"{"a": 1, "b": 1}"#]);
    assert!(
        line.starts_with("Submitted task "),
        "the server should still answer: {line}"
    );
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
        "--db",
        "--lease",
        "--dead-after",
        "--monitor-every",
    ] {
        assert!(stdout.contains(option), "{option} missing:\n{stdout}");
    }
    let (code, stdout, _) = run(CLIENT, &["--help"]);
    assert_eq!(code, Some(0));
    for command in [
        "compute",
        "load",
        "health",
        "list",
        "submit",
        "status",
        "claim",
        "result",
        "stats",
        "--address",
    ] {
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
    assert_eq!(answers["dispatcher"]["leased"], true, "{answers}");
    assert_eq!(
        answers["dispatcher"]["status"], "TASK_STATUS_DONE",
        "{answers}"
    );
    assert_eq!(answers["dispatcher"]["result_json"], "42", "{answers}");
    assert_eq!(answers["unknown_task"]["code"], "NOT_FOUND", "{answers}");
}

#[test]
fn a_sweep_of_bad_bytes_on_the_port_leaves_the_server_serving() {
    let (server, address) = serve(&["--max-workers", "2"]);
    let samples: [&[u8]; 2] = [
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"POST /workbook.Calculator/Compute HTTP/1.1\r\ncontent-type: application/grpc\r\n\r\n",
    ];
    for frame in common::bad_frames(6, &samples, 1 << 20) {
        // Each on a connection of its own, closed at once: the server must drop it.
        if let Ok(mut stream) = TcpStream::connect(&address) {
            let _ = stream.write_all(&frame);
        }
    }
    let (code, stdout, stderr) = call(&address, &["compute", "6", "multiply", "7"]);
    assert_eq!(code, Some(0), "the server still serves: {stderr}");
    assert!(stdout.contains("= 42"), "{stdout}");
    drop(server);
}

/// Bytes in, bytes out: a gRPC codec that sends each frame exactly as given, so a
/// test can put any protobuf — truncated, flipped, oversized — in a real gRPC
/// call over a real HTTP/2 connection.
#[derive(Clone, Copy, Default)]
struct RawBytes;

impl tonic::codec::Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }

    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl tonic::codec::Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        buffer: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(buffer, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buffer: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let length = bytes::Buf::remaining(buffer);
        Ok(Some(bytes::Buf::copy_to_bytes(buffer, length).to_vec()))
    }
}

#[test]
fn a_sweep_of_bad_protobuf_on_every_method_gets_status_codes_and_the_server_serves_on() {
    use prost::Message;
    use solution06::pb;
    use tonic::Code;

    let (_server, address) = serve(&["--max-workers", "4"]);
    let task = pb::Task {
        id: "sweep".into(),
        r#type: pb::TaskType::Multiply as i32,
        operand1: 6,
        operand2: 7,
        timeout: 5.0,
        processing_time: 0.0,
    }
    .encode_to_vec();
    let submit = pb::SubmitTaskRequest {
        kind: "add".into(),
        args_json: r#"{"a": 1, "b": 2}"#.into(),
        max_attempts: 3,
        key: "sweep-sample".into(),
    }
    .encode_to_vec();
    let status = pb::GetTaskRequest { task_id: 1 }.encode_to_vec();
    let samples: [&[u8]; 3] = [&task, &submit, &status];
    // Over the server's 64 KiB limit.
    let frames = common::bad_frames(60, &samples, 1 << 20);
    let methods = [
        "/workbook.v1.Calculator/Compute",
        "/workbook.v1.Dispatcher/SubmitTask",
        "/workbook.v1.Dispatcher/GetTask",
        "/workbook.v1.Dispatcher/ClaimTask",
        "/workbook.v1.Dispatcher/SubmitResult",
        "/workbook.v1.Dispatcher/Heartbeat",
        "/workbook.v1.Dispatcher/Stats",
        "/workbook.v1.Dispatcher/Health",
    ];
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let codes = runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
            .expect("a URI")
            .connect()
            .await
            .expect("connects");
        let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
        for (index, frame) in frames.iter().enumerate() {
            for method in methods {
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.expect("the connection is ready");
                let mut request = tonic::Request::new(frame.clone());
                // A garbled Task may ask for seconds of processing: not our wait.
                request.set_timeout(Duration::from_secs(5));
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
                let (code, message) = match grpc.unary(request, path, RawBytes).await {
                    Ok(_) => (Code::Ok, String::new()),
                    Err(status) => (status.code(), status.message().to_owned()),
                };
                // tonic's protobuf codec answers bytes that are no message with
                // INTERNAL "failed to decode Protobuf message": an answer, and
                // the only INTERNAL allowed. No answer at all is a failure.
                let undecodable = code == Code::Internal && message.contains("decode");
                assert!(
                    undecodable
                        || !matches!(code, Code::Unavailable | Code::Unknown | Code::Internal),
                    "bad frame {index} ({} bytes) on {method}: {code:?} {message:?}",
                    frame.len()
                );
                *codes.entry(format!("{code:?}")).or_default() += 1;
            }
        }
        codes
    });
    // Most garbage is refused, as undecodable or as invalid; some decodes to a
    // valid (if odd) request.
    let refused = [
        "Internal",
        "InvalidArgument",
        "OutOfRange",
        "ResourceExhausted",
    ]
    .iter()
    .map(|code| codes.get(*code).copied().unwrap_or(0))
    .sum::<usize>();
    assert!(refused > frames.len() * methods.len() / 2, "{codes:?}");
    eprintln!(
        "status codes of {} calls: {codes:?}",
        frames.len() * methods.len()
    );

    // Messages that decode, with every field at an edge: they reach the handlers.
    let numbers = [i64::MIN, -1, 0, 1, 7, i64::MAX];
    let seconds = [
        f64::NAN,
        f64::NEG_INFINITY,
        -1.0,
        0.0,
        0.001,
        1e300,
        f64::INFINITY,
    ];
    let mut edges = Vec::new();
    for (n, &operand1) in numbers.iter().enumerate() {
        for (m, &operand2) in numbers.iter().enumerate() {
            edges.push(pb::Task {
                id: "é\u{0}".repeat(n * m),
                r#type: [-1, 0, 1, 2, 3, 4, 99][(n + m) % 7],
                operand1,
                operand2,
                timeout: seconds[n % seconds.len()],
                processing_time: seconds[(n + 2 * m) % seconds.len()].min(0.01),
            });
        }
    }
    let answered = runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
            .expect("a URI")
            .connect()
            .await
            .expect("connects");
        let mut answered = 0;
        for task in &edges {
            let mut client = pb::calculator_client::CalculatorClient::new(channel.clone());
            let mut request = tonic::Request::new(task.clone());
            request.set_timeout(Duration::from_secs(5));
            match client.compute(request).await {
                Ok(_) => answered += 1,
                Err(status) => {
                    assert!(
                        !matches!(
                            status.code(),
                            Code::Unavailable | Code::Unknown | Code::Internal
                        ),
                        "{task:?}: {status:?}"
                    );
                    answered += 1;
                }
            }
        }
        answered
    });
    assert_eq!(answered, edges.len());

    let (code, stdout, stderr) = call(&address, &["compute", "6", "multiply", "7"]);
    assert_eq!(code, Some(0), "the server still serves: {stderr}");
    assert!(stdout.contains("= 42"), "{stdout}");
    let line = ok_line(&address, &["submit", "add", r#"{"a": 40, "b": 2}"#]);
    assert!(line.starts_with("Submitted task "), "{line}");
}
