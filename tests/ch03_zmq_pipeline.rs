//! End to end: `zmq_pipeline` and `zmq_producer` as a reader runs them — real
//! processes on real loopback sockets, on free ports, stopped by DIE or Ctrl-C.
//!
//! And clients written the original pyzero-dtq's way in Python (pyzmq's
//! `send_json`, `recv_multipart` and `json.loads`), pointed at our pipeline: they
//! get exactly their results. That test makes its own venv under target/ and
//! installs pyzmq from PyPI; if that fails, the test fails and says why — it is
//! never skipped.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use bench::python::{Python, peer};
use common::{Running, run, start};
use serde_json::{Value, json};
use solution03::protocol::HARD_MESSAGE_BYTES;

const PIPELINE: &str = env!("CARGO_BIN_EXE_zmq_pipeline");
const PRODUCER: &str = env!("CARGO_BIN_EXE_zmq_producer");
const LIMIT: Duration = Duration::from_secs(20);
/// The pipeline binds free ports itself and prints them: no port is picked here
/// and handed over, so no other process can take it in between.
const ANY_PORT: &str = "tcp://127.0.0.1:*";

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
    start_pipeline_with(&["--workers", workers])
}

/// Starts `zmq_pipeline` on free ports and reads the ports it got from its
/// "Pulling tasks on tcp://…, publishing results on tcp://…" line.
fn start_pipeline_with(extra: &[&str]) -> (Running, Endpoints) {
    let any = Endpoints {
        collector: ANY_PORT.to_owned(),
        publisher: ANY_PORT.to_owned(),
    };
    let mut pipeline = start(PIPELINE, &any.args(extra));
    let line = pipeline.expect_line(LIMIT, |line| {
        line.starts_with("[Collector] Pulling tasks on")
    });
    let endpoints: Vec<&str> = line
        .split_whitespace()
        .filter(|word| word.starts_with("tcp://"))
        .map(|word| word.trim_end_matches(','))
        .collect();
    let [collector, publisher] = endpoints[..] else {
        panic!("expected two endpoints in {line:?}");
    };
    let endpoints = Endpoints {
        collector: collector.to_owned(),
        publisher: publisher.to_owned(),
    };
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
        "every primes task counts 9592 primes up to 100,000:\n{}",
        ten.output()
    );

    let (code, stdout, stderr) = run(
        PRODUCER,
        &endpoints.args(&["--topic", "stopper", "--tasks", "0", "--die"]),
    );
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
fn a_second_ctrl_c_exits_at_once_abandoning_the_queued_tasks() {
    // 40 sleeps of 100 ms on one worker, all accepted: a graceful drain takes 4 s.
    let (mut pipeline, endpoints) =
        start_pipeline_with(&["--workers", "1", "--max-in-flight", "40"]);
    let _producer = start(
        PRODUCER,
        &endpoints.args(&["--tasks", "40", "--kind", "sleep", "--timeout", "2"]),
    );
    pipeline.expect_line(LIMIT, |line| {
        line.starts_with("[Collector] Received task 40 for topic 'producer-")
    });
    pipeline.interrupt();
    pipeline.expect_line(LIMIT, |line| {
        line.contains("press Ctrl-C again to abandon them")
    });
    pipeline.interrupt();
    let status = pipeline.wait(LIMIT);
    assert_eq!(status.code(), Some(130), "{}", pipeline.output());
    assert!(
        pipeline
            .output()
            .contains("[Collector] Second Ctrl-C: abandoning the tasks still queued, exiting now"),
        "{}",
        pipeline.output()
    );
}

#[test]
fn a_message_over_the_hard_limit_is_dropped_by_libzmq_and_serving_goes_on() {
    let (mut pipeline, endpoints) = start_pipeline("1");
    let context = zmq::Context::new();
    let huge = context.socket(zmq::PUSH).expect("a PUSH socket");
    huge.set_linger(0).expect("sets linger");
    // Watch the sender's connection: libzmq on the pipeline's side drops it when
    // the message's size, announced in its header, is over ZMQ_MAXMSGSIZE.
    huge.monitor(
        "inproc://huge-sender",
        zmq::SocketEvent::DISCONNECTED as i32,
    )
    .expect("monitors the sender");
    let monitor = context.socket(zmq::PAIR).expect("a PAIR socket");
    monitor.connect("inproc://huge-sender").expect("connects");
    huge.connect(&endpoints.collector).expect("connects");
    huge.send(vec![b'x'; HARD_MESSAGE_BYTES + 1], 0)
        .expect("sends");
    assert!(
        monitor
            .poll(zmq::POLLIN, LIMIT.as_millis() as i64)
            .expect("polls")
            > 0,
        "the pipeline should drop the connection of a message over {HARD_MESSAGE_BYTES} bytes"
    );

    let (code, stdout, stderr) = run(
        PRODUCER,
        &endpoints.args(&["--topic", "after", "--tasks", "2"]),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(result_lines(&stdout, "Producer after"), 2, "{stdout}");
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
    assert!(
        !pipeline.output().contains("Rejected"),
        "the huge message never reaches the collector:\n{}",
        pipeline.output()
    );
}

#[test]
fn a_producer_without_a_pipeline_gives_up_with_a_clear_error() {
    // Something listens, but it is no pipeline: it never answers. The listener
    // stays bound for the whole test, so its ports cannot be taken by anyone else.
    let silent = TcpListener::bind("127.0.0.1:0").expect("binds an ephemeral port");
    let port = silent.local_addr().expect("has an address").port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let endpoints = Endpoints {
        collector: endpoint.clone(),
        publisher: endpoint,
    };
    let (code, _, stderr) = run(
        PRODUCER,
        &endpoints.args(&["--tasks", "1", "--timeout", "1"]),
    );
    assert_eq!(code, Some(1), "{stderr}");
    // Without --topic, each run has a topic of its own.
    assert!(
        stderr.contains("no welcome for topic 'producer-")
            && stderr.contains("is the pipeline running?"),
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

#[test]
fn a_producer_on_several_topics_gets_exactly_its_own_results() {
    let (mut pipeline, endpoints) = start_pipeline("2");
    let mut several = start(
        PRODUCER,
        &endpoints.args(&["--topic", "1", "--topic", "1x", "--tasks", "6"]),
    );
    let mut ten = start(
        PRODUCER,
        &endpoints.args(&["--topic", "10", "--tasks", "5"]),
    );
    assert!(several.wait(LIMIT).success(), "{}", several.output());
    assert!(ten.wait(LIMIT).success(), "{}", ten.output());
    let output = several.output();
    let label = "Producer 1 1x";
    assert!(
        output.contains("[Producer 1 1x] Subscribed to topics '1', '1x'"),
        "{output}"
    );
    assert_eq!(result_lines(&output, label), 6, "{output}");
    for topic in ["1", "1x"] {
        let on = format!(", on '{topic}'");
        assert_eq!(
            output
                .lines()
                .filter(|line| line.starts_with("[Producer 1 1x] Task ") && line.ends_with(&on))
                .count(),
            3,
            "tasks take the topics in turn, 3 each:\n{output}"
        );
    }
    assert!(
        output.contains("[Producer 1 1x] All 6 results received"),
        "{output}"
    );
    assert!(!output.contains("Ignored"), "no strays:\n{output}");
    assert_eq!(
        result_lines(&ten.output(), "Producer 10"),
        5,
        "{}",
        ten.output()
    );
    assert!(!ten.output().contains("Ignored"), "{}", ten.output());
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
}

/// One reply as the test compares them: the topic it came on, its id, and its value
/// or the start of its error.
fn digest(received: &Value) -> Vec<(Value, u64, String)> {
    let mut replies: Vec<(Value, u64, String)> = received
        .as_array()
        .into_iter()
        .flatten()
        .map(|message| {
            let body = &message[1];
            let outcome = match (&body["value"], &body["error"]) {
                (Value::Number(value), _) => value.to_string(),
                (_, Value::String(error)) => {
                    format!("error: {}", error.split(':').next().unwrap_or_default())
                }
                _ => body.to_string(),
            };
            (
                message[0].clone(),
                body["id"].as_u64().unwrap_or(u64::MAX),
                outcome,
            )
        })
        .collect();
    replies.sort_by_key(|(topic, id, _)| (topic.to_string(), *id));
    replies
}

#[test]
fn clients_written_the_originals_way_in_python_get_exactly_their_results() {
    python_clients_get_exactly_their_results(&["--workers", "2"]);
}

#[test]
fn clients_written_the_originals_way_get_single_results_from_a_batching_pipeline() {
    // Batching is the producer's choice: tasks sent alone get results alone,
    // whatever the pipeline's --batch.
    python_clients_get_exactly_their_results(&["--workers", "2", "--batch", "64"]);
}

fn python_clients_get_exactly_their_results(pipeline_args: &[&str]) {
    let python = Python::venv(&["pyzmq"]).unwrap_or_else(|error| {
        panic!("this test needs a venv with pyzmq from PyPI under target/: {error}")
    });
    let (mut pipeline, endpoints) = start_pipeline_with(pipeline_args);
    let add = |id: u64, a: i64, b: i64| json!({"id": id, "kind": "add", "a": a, "b": b});
    // The original's topics: strings that prefix one another, one outside ASCII,
    // and numbers, which the original allows too and this pipeline refuses.
    let scenario = json!({
        "subscribers": {
            "one_and_1x": ["1", "1x"],
            "ten": ["10"],
            "cafe": ["café"],
            "number_1": [1],
            "number_10": [10],
        },
        "tasks": [
            {"topic": "1", "info": add(1, 1, 0)},
            {"topic": "10", "info": add(1, 10, 0)},
            {"topic": "1x", "info": add(2, 100, 0)},
            {"topic": "1", "info": add(3, 1, 2)},
            {"topic": "10", "info": add(2, 10, 1)},
            {"topic": "1", "info": {"id": 4, "kind": "explode"}},
            {"topic": "café", "info": add(5, 2, 3)},
            {"topic": 1, "info": add(6, 1, 1)},
            {"topic": 10, "info": add(7, 1, 1)},
        ],
        "expect": {"one_and_1x": 4, "ten": 2, "cafe": 1, "number_1": 2, "number_10": 1},
    });
    let received = python
        .run_json(
            &peer("ch03_pyzero_client.py"),
            &[
                endpoints.collector.clone(),
                endpoints.publisher.clone(),
                scenario.to_string(),
            ],
        )
        .unwrap_or_else(|error| panic!("{error}\n{}", pipeline.output()));
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());

    let got: BTreeMap<&str, Vec<(Value, u64, String)>> =
        ["one_and_1x", "ten", "cafe", "number_1", "number_10"]
            .into_iter()
            .map(|name| (name, digest(&received[name])))
            .collect();
    let row = |topic: Value, id: u64, outcome: &str| (topic, id, outcome.to_owned());
    let numeric = "error: topic 1 is a number";
    let expected: BTreeMap<&str, Vec<(Value, u64, String)>> = [
        (
            "one_and_1x",
            vec![
                row(json!("1"), 1, "1"),
                row(json!("1"), 3, "3"),
                row(json!("1"), 4, "error: invalid task"),
                row(json!("1x"), 2, "100"),
            ],
        ),
        (
            "ten",
            vec![row(json!("10"), 1, "10"), row(json!("10"), 2, "11")],
        ),
        ("cafe", vec![row(json!("café"), 5, "5")]),
        // The original's prefix bug, kept by numbers: the subscriber for 1 also
        // receives 10's message. Both are refusals, each saying why.
        (
            "number_1",
            vec![
                row(json!(1), 6, numeric),
                row(json!(10), 7, "error: topic 10 is a number"),
            ],
        ),
        (
            "number_10",
            vec![row(json!(10), 7, "error: topic 10 is a number")],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        got, expected,
        "each Python subscriber must get exactly its topics' results, decoded with json.loads \
         from the original's two frames; numeric topics are refused on their own frame"
    );
}

/// Writes each of `frames` as raw bytes on a fresh TCP connection to `endpoint`
/// (no ZeroMQ greeting, or a broken one): libzmq must drop each connection.
fn raw_tcp_garbage(endpoint: &str, frames: &[Vec<u8>]) {
    use std::io::Write;
    let address = endpoint.trim_start_matches("tcp://");
    for frame in frames {
        let mut stream = std::net::TcpStream::connect(address).expect("connects");
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .expect("a write timeout");
        // The peer may close first (a bad greeting): a failed write is fine.
        let _ = stream.write_all(frame);
    }
}

#[test]
fn a_sweep_of_bad_input_on_the_collector_and_the_publisher_leaves_the_pipeline_serving() {
    let (mut pipeline, endpoints) = start_pipeline("2");
    let samples: [&[u8]; 2] = [
        br#"["DO", {"topic": "sweep", "info": {"id": 1, "kind": "add", "a": 10, "b": 5}}]"#,
        br#"["HELLO", {"topic": "sweep"}]"#,
    ];
    // Over the parse limit, under libzmq's hard limit: refused with an answer.
    let frames = common::bad_frames(3, &samples, 2 * solution03::protocol::MAX_MESSAGE_BYTES);
    let context = zmq::Context::new();

    // 1. The collector's messages: every bad frame alone, and split in two frames.
    let push = context.socket(zmq::PUSH).expect("a PUSH socket");
    push.set_linger(5_000).expect("sets linger");
    push.connect(&endpoints.collector).expect("connects");
    for frame in &frames {
        push.send(frame.as_slice(), 0).expect("sends");
    }
    for frame in frames.iter().take(60) {
        let (head, tail) = frame.split_at(frame.len() / 2);
        push.send_multipart([head, tail], 0).expect("sends");
    }

    // 2. The publisher's side: subscriptions to garbage prefixes, and garbage
    //    bytes instead of ZeroMQ's greeting on both ports.
    let subscribers: Vec<zmq::Socket> = frames
        .iter()
        .take(50)
        .map(|prefix| {
            let sub = context.socket(zmq::SUB).expect("a SUB socket");
            sub.set_linger(0).expect("sets linger");
            sub.connect(&endpoints.publisher).expect("connects");
            sub.set_subscribe(prefix).expect("subscribes");
            sub
        })
        .collect();
    let garbage: Vec<Vec<u8>> = frames.iter().take(100).cloned().collect();
    raw_tcp_garbage(&endpoints.publisher, &garbage);
    raw_tcp_garbage(&endpoints.collector, &garbage);

    // 3. A normal producer is still served, with every result.
    let (code, stdout, stderr) = run(
        PRODUCER,
        &endpoints.args(&["--topic", "after-sweep", "--tasks", "5"]),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(result_lines(&stdout, "Producer after-sweep"), 5, "{stdout}");
    drop(subscribers);
    drop(push);
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
    // Each bad message was refused with a log line (and an error result) — a
    // flipped byte may leave a sample valid, so not necessarily every one.
    let rejected = result_lines_matching(&pipeline.output(), "[Collector] Rejected a message");
    assert!(
        rejected >= frames.len() / 2,
        "only {rejected} of {} bad messages were rejected:\n{}",
        frames.len(),
        pipeline.output()
    );
}

fn result_lines_matching(output: &str, prefix: &str) -> usize {
    output
        .lines()
        .filter(|line| line.starts_with(prefix))
        .count()
}

#[test]
fn a_batching_producer_gets_every_result_in_fewer_messages_beside_a_single_one() {
    let (mut pipeline, endpoints) = start_pipeline_with(&["--workers", "2", "--batch", "8"]);
    let mut batched = start(
        PRODUCER,
        &endpoints.args(&["--topic", "batched", "--tasks", "23", "--batch", "5"]),
    );
    let mut single = start(
        PRODUCER,
        &endpoints.args(&["--topic", "single", "--tasks", "4"]),
    );
    assert!(batched.wait(LIMIT).success(), "{}", batched.output());
    assert!(single.wait(LIMIT).success(), "{}", single.output());
    let output = batched.output();
    assert_eq!(result_lines(&output, "Producer batched"), 23, "{output}");
    assert!(
        output.contains("[Producer batched] Sent tasks 1 to 5 in one message")
            && output.contains("[Producer batched] Sent tasks 21 to 23 in one message"),
        "23 tasks in batches of 5 are 5 messages:\n{output}"
    );
    assert!(!output.contains("Ignored"), "no strays:\n{output}");
    assert_eq!(
        result_lines(&single.output(), "Producer single"),
        4,
        "{}",
        single.output()
    );
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
    // 27 results and 2 welcomes went out in fewer than 29 messages: the batched
    // producer's results shared messages.
    let published = pipeline.lines().iter().find_map(|line| {
        line.strip_prefix("[Publisher] Published ")?
            .strip_suffix(" messages; socket closed")?
            .parse::<usize>()
            .ok()
    });
    assert!(
        published.is_some_and(|count| count < 29),
        "expected fewer than 29 messages, got {published:?}:\n{}",
        pipeline.output()
    );
}

#[test]
fn bad_batches_get_an_error_per_task_and_the_pipeline_keeps_serving() {
    use solution03::protocol::MAX_BATCH;
    use solution03::{Producer, Topic, Work};

    let (mut pipeline, endpoints) = start_pipeline_with(&["--workers", "2", "--batch", "4"]);
    let context = zmq::Context::new();
    let topic = Topic::new("bad-batches").expect("a topic");
    // Subscribed and confirmed: every answer on the topic reaches it, and those
    // for tasks it did not send are kept as strays.
    let mut producer = Producer::connect(
        &context,
        &endpoints.collector,
        &endpoints.publisher,
        topic,
        LIMIT,
    )
    .expect("connects");
    let raw = context.socket(zmq::PUSH).expect("a PUSH socket");
    raw.set_linger(1_000).expect("sets linger");
    raw.connect(&endpoints.collector).expect("connects");
    let add = |id: u64| json!({"id": id, "kind": "add", "a": id, "b": 1});
    let oversized: Vec<Value> = (100..=100 + MAX_BATCH as u64).map(add).collect();
    let messages = [
        // Not a list of tasks: one error for the topic.
        json!(["BATCH", {"topic": "bad-batches", "tasks": "not a list"}]).to_string(),
        // One good task, an unknown kind, a task that fails, a task without an id.
        json!(["BATCH", {"topic": "bad-batches", "tasks": [
            add(1),
            {"id": 2, "kind": "teleport"},
            {"id": 3, "kind": "divide", "a": 1, "b": 0},
            {"kind": "add", "a": 1, "b": 1},
        ]}])
        .to_string(),
        // One task over the limit: every task refused, each under its id.
        json!(["BATCH", {"topic": "bad-batches", "tasks": oversized}]).to_string(),
        // A numeric topic, and a batch cut short.
        json!(["BATCH", {"topic": 7, "tasks": [add(4)]}]).to_string(),
        r#"["BATCH", {"topic": "bad-batches", "tasks": [{"id": 5"#.to_owned(),
    ];
    for message in &messages {
        raw.send(message.as_str(), 0).expect("sends");
    }
    // 1 + 2 + (MAX_BATCH + 1) + 1 + 1 refusals, each logged.
    let refusals = 5 + MAX_BATCH + 1;
    for _ in 0..refusals {
        pipeline.expect_line(LIMIT, |line| {
            line.starts_with("[Collector] Rejected a message")
        });
    }

    // Still serving: a good batch, and a task alone.
    let good: Vec<(u64, Work)> = (1000..1010)
        .map(|id| (id, Work::Add { a: 1, b: 1 }))
        .collect();
    producer.submit_batch(&good).expect("pushes a batch");
    producer
        .submit(2000, Work::Add { a: 2, b: 2 })
        .expect("pushes a task");
    let replies = producer.collect(LIMIT, |_| {}).expect("every result");
    assert_eq!(replies.len(), 11);
    assert!(
        replies.iter().all(|reply| reply.error.is_none()),
        "{replies:?}"
    );

    // The answers to the raw batches came on the topic: kept as strays. Wait until
    // all are in (the results of tasks 1 and 3 come from a worker).
    let expected_strays = 1 + 4 + MAX_BATCH + 1;
    let deadline = std::time::Instant::now() + LIMIT;
    while producer.strays().len() < expected_strays && std::time::Instant::now() < deadline {
        let _ = producer.next_reply(Duration::from_millis(100));
    }
    let strays = producer.strays();
    let error_of = |id: Option<u64>| -> Vec<String> {
        strays
            .iter()
            .filter(|reply| reply.id == id)
            .filter_map(|reply| reply.error.clone())
            .collect()
    };
    assert_eq!(strays.len(), expected_strays, "{strays:?}");
    assert!(
        strays
            .iter()
            .any(|reply| reply.id == Some(1) && reply.value == Some(json!(2))),
        "the good task of a bad batch still runs: {strays:?}"
    );
    assert!(
        error_of(Some(2))
            .iter()
            .any(|error| error.contains("invalid task in a batch")),
        "{strays:?}"
    );
    assert_eq!(error_of(Some(3)), vec!["division by zero".to_owned()]);
    for id in 100..=100 + MAX_BATCH as u64 {
        assert!(
            error_of(Some(id))
                .iter()
                .any(|error| error.contains(&format!("at most {MAX_BATCH} tasks per batch"))),
            "task {id} of the oversized batch: {strays:?}"
        );
    }
    let without_id = error_of(None);
    assert!(
        without_id
            .iter()
            .any(|error| error.contains("no list of tasks"))
            && without_id
                .iter()
                .any(|error| error.contains("invalid task in a batch")),
        "{without_id:?}"
    );
    drop(raw);
    drop(producer);
    pipeline.interrupt();
    assert!(pipeline.wait(LIMIT).success(), "{}", pipeline.output());
    let output = pipeline.output();
    assert!(
        output.contains("Rejected a message for numeric topic 7")
            && output.contains("Rejected a message: invalid JSON"),
        "{output}"
    );
}

#[test]
fn a_batched_run_takes_replies_as_they_come_and_returns_each_once() {
    use solution03::{Pipeline, PipelineConfig, Producer, Topic, Work, event};

    // A small limit in flight, so most replies come back while tasks are still
    // being sent — the ones `run_batched` takes between batches.
    let config = PipelineConfig {
        batch: 16,
        max_in_flight: 64,
        ..PipelineConfig::any_port(2)
    };
    let pipeline = Pipeline::bind(&config, event::silent()).expect("binds");
    let context = pipeline.context().clone();
    let (collector, publisher) = (
        pipeline.collector_endpoint().to_owned(),
        pipeline.publisher_endpoint().to_owned(),
    );
    let shutdown = pipeline.shutdown_handle();
    let running = std::thread::spawn(move || pipeline.run());

    let topic = Topic::new("batched-run").expect("a topic");
    let mut producer =
        Producer::connect(&context, &collector, &publisher, topic, LIMIT).expect("connects");
    let tasks: Vec<(u64, solution03::Work)> = (0..20_000)
        .map(|id| (id, Work::Add { a: id as i64, b: 1 }))
        .collect();
    let mut heard = 0;
    let replies = producer
        .run_batched(&tasks, 16, LIMIT, |_| heard += 1)
        .expect("every result");
    shutdown.stop();
    running
        .join()
        .expect("the pipeline does not panic")
        .expect("the pipeline stops cleanly");

    assert_eq!(heard, tasks.len(), "on_reply is called once per reply");
    let mut answered: Vec<(u64, Value)> = replies
        .iter()
        .map(|reply| {
            (
                reply.id.expect("an id"),
                reply.value.clone().expect("a value"),
            )
        })
        .collect();
    answered.sort_by_key(|(id, _)| *id);
    let expected: Vec<(u64, Value)> = (0..20_000u64).map(|id| (id, json!(id + 1))).collect();
    assert!(
        answered == expected,
        "every task answered exactly once, with its own value"
    );
    assert_eq!(producer.pending(), 0);
    assert!(producer.strays().is_empty(), "{:?}", producer.strays());
}
