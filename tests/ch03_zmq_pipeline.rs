//! End to end: `zmq_pipeline` and `zmq_producer` as a reader runs them — real
//! processes on real loopback sockets, on free ports, stopped by DIE or Ctrl-C.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{Running, run, start};

const PIPELINE: &str = env!("CARGO_BIN_EXE_zmq_pipeline");
const PRODUCER: &str = env!("CARGO_BIN_EXE_zmq_producer");
const LIMIT: Duration = Duration::from_secs(20);

/// A loopback endpoint on a port that was free a moment ago.
fn free_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds an ephemeral port");
    let port = listener.local_addr().expect("has an address").port();
    format!("tcp://127.0.0.1:{port}")
}

struct Endpoints {
    collector: String,
    publisher: String,
}

impl Endpoints {
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "--collector",
            &self.collector,
            "--publisher",
            &self.publisher,
        ];
        args.extend_from_slice(extra);
        args
    }
}

fn start_pipeline(workers: &str) -> (Running, Endpoints) {
    let endpoints = Endpoints {
        collector: free_endpoint(),
        publisher: free_endpoint(),
    };
    let mut pipeline = start(PIPELINE, &endpoints.args(&["--workers", workers]));
    pipeline.expect_line(LIMIT, |line| {
        line.starts_with("[Collector] Pulling tasks on")
    });
    (pipeline, endpoints)
}

fn result_lines(output: &str, label: &str) -> usize {
    output
        .lines()
        .filter(|line| line.starts_with(&format!("[{label}] Task ")))
        .count()
}

#[test]
fn producers_on_prefix_topics_each_get_their_own_results_then_die_stops_it() {
    let (mut pipeline, endpoints) = start_pipeline("3");
    let mut one = start(PRODUCER, &endpoints.args(&["--topic", "1", "--tasks", "7"]));
    let mut ten = start(
        PRODUCER,
        &endpoints.args(&["--topic", "10", "--tasks", "5", "--kind", "primes"]),
    );
    assert!(one.wait(LIMIT).success(), "{}", one.output());
    assert!(ten.wait(LIMIT).success(), "{}", ten.output());
    assert_eq!(
        result_lines(&one.output(), "Producer 1"),
        7,
        "{}",
        one.output()
    );
    assert!(one.output().contains("[Producer 1] All 7 results received"));
    assert_eq!(
        result_lines(&ten.output(), "Producer 10"),
        5,
        "{}",
        ten.output()
    );
    assert!(
        ten.output()
            .lines()
            .filter(|line| line.starts_with("[Producer 10] Task "))
            .all(|line| line.contains(" = 9592 ")),
        "every primes task counts 9592 primes below 100,000:\n{}",
        ten.output()
    );

    let (code, stdout, stderr) = run(PRODUCER, &endpoints.args(&["--tasks", "0", "--die"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("Sent DIE"), "{stdout}");
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
    let output = pipeline.output();
    assert!(
        output.contains("[Collector] DIE received: no new tasks, finishing queued ones"),
        "{output}"
    );
    assert!(
        output.contains("[Collector] All workers finished and joined"),
        "{output}"
    );
    assert_eq!(
        output.matches("] Shutting down").count(),
        3,
        "all 3 workers stop:\n{output}"
    );
    assert!(
        output
            .lines()
            .last()
            .is_some_and(|line| line.starts_with("[Publisher] Published ")),
        "{output}"
    );
}

#[test]
fn ctrl_c_finishes_and_publishes_the_queued_tasks() {
    let (mut pipeline, endpoints) = start_pipeline("2");
    let mut producer = start(
        PRODUCER,
        &endpoints.args(&["--topic", "slow", "--tasks", "6", "--kind", "sleep"]),
    );
    pipeline.expect_line(LIMIT, |line| {
        line == "[Collector] Received task 6 for topic 'slow'"
    });
    pipeline.interrupt();
    assert!(producer.wait(LIMIT).success(), "{}", producer.output());
    assert_eq!(
        result_lines(&producer.output(), "Producer slow"),
        6,
        "{}",
        producer.output()
    );
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
    assert!(
        pipeline
            .output()
            .contains("[Collector] Stopping: no new tasks, finishing queued ones"),
        "{}",
        pipeline.output()
    );
}

#[test]
fn garbage_on_the_wire_is_rejected_and_the_pipeline_keeps_serving() {
    let (mut pipeline, endpoints) = start_pipeline("2");
    let context = zmq::Context::new();
    let raw = context.socket(zmq::PUSH).expect("a PUSH socket");
    raw.set_linger(1_000).expect("sets linger");
    raw.connect(&endpoints.collector).expect("connects");
    raw.send("not JSON at all", 0).expect("sends");
    raw.send_multipart(["two", "frames"], 0).expect("sends");
    raw.send(
        r#"["DO", {"topic": "x", "info": {"id": 1, "kind": "teleport"}}]"#,
        0,
    )
    .expect("sends");
    for _ in 0..3 {
        pipeline.expect_line(LIMIT, |line| {
            line.starts_with("[Collector] Rejected a message")
        });
    }

    let (code, stdout, stderr) = run(PRODUCER, &endpoints.args(&["--topic", "x", "--tasks", "3"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(result_lines(&stdout, "Producer x"), 3, "{stdout}");
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
}

#[test]
fn a_producer_without_a_pipeline_gives_up_with_a_clear_error() {
    let endpoints = Endpoints {
        collector: free_endpoint(),
        publisher: free_endpoint(),
    };
    let (code, _, stderr) = run(
        PRODUCER,
        &endpoints.args(&["--tasks", "1", "--timeout", "1"]),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("no welcome for topic '1'") && stderr.contains("is the pipeline running?"),
        "{stderr}"
    );
}

#[test]
fn bad_arguments_are_refused_and_help_shows_examples() {
    let (code, _, stderr) = run(PRODUCER, &["--topic", ""]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("a topic cannot be empty"), "{stderr}");
    let (code, _, stderr) = run(PIPELINE, &["--workers", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, _, stderr) = run(PIPELINE, &["--collector", "tcp://256.0.0.1:1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("could not bind tcp://256.0.0.1:1"),
        "{stderr}"
    );
    for binary in [PIPELINE, PRODUCER] {
        let (code, stdout, _) = run(binary, &["--help"]);
        assert_eq!(code, Some(0));
        assert!(stdout.contains("Examples"), "{stdout}");
    }
}
