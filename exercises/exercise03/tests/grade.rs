// Grading tests for chapter 03 — the ZeroMQ pipeline.
//
// Run them with `cargo test -p exercise03`, or one step at a time with
// `cargo test -p exercise03 step1` (the steps are listed in hints.toml and in the
// book's "The exercise"): step 1 is the messages on their own, step 2 the running
// pipeline, step 3 its shutdown. Steps 2 and 3 drive a real pipeline over real
// loopback sockets on free ports: ten producers at once, a topic that is a prefix
// of another, a producer on several topics, a subscriber written the original's
// way, two producers sharing a topic, garbage of every shape, a flood held back by
// the limit on tasks in flight, and both ways of shutting down. The same
// file grades the reference solution (solutions/solution03), so passing here
// means matching it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use exercise03::collector::STOPPING;
use exercise03::producer::ProducerError;
use exercise03::protocol::{self, Address, Request};
use exercise03::work::{MAX_PRIMES_BELOW, MAX_SLEEP_MS};
use exercise03::{
    Event, EventSink, Pipeline, PipelineConfig, PipelineError, Producer, Reply, StopHandle,
    StopReason, Summary, Topic, Work, WorkError,
};
use grading::{BookSection, Chapter, within};
use solution02::pool::WorkerEvent;
use solution02::{Op, TaskError};

const BOOK: Chapter = Chapter("ch03-zeromq-pipeline.md");
const KINDS: BookSection = BOOK.section("A closed set of task kinds");
const PREFIX: BookSection = BOOK.section("Trap 1: topics match by prefix");
const SLOW_JOINER: BookSection = BOOK.section("Trap 2: the slow joiner");
const SHARED_TOPIC: BookSection = BOOK.section("Trap 3: two producers, one topic");
const MALFORMED: BookSection = BOOK.section("Bad messages get error results");
const PIPELINE: BookSection = BOOK.section("The collector feeds the pool");
const BACK_PRESSURE: BookSection = BOOK.section("Back-pressure: a bound on tasks in flight");
const SHUTDOWN: BookSection = BOOK.section("Shutting down without losing a task");

const LIMIT: Duration = Duration::from_secs(10);
/// How long a producer waits for its welcome, and for each next result.
const PATIENCE: Duration = Duration::from_secs(5);

fn topic(name: &str) -> Topic {
    Topic::new(name).expect("a valid topic name")
}

/// A pipeline running on its own thread, on free loopback ports, recording events.
struct Running {
    context: zmq::Context,
    collector: String,
    publisher: String,
    stopper: StopHandle,
    events: Receiver<Event>,
    thread: RefCell<Option<JoinHandle<Result<Summary, PipelineError>>>>,
}

impl Running {
    fn start(workers: usize) -> Self {
        Self::start_with(PipelineConfig::any_port(workers))
    }

    fn start_with(config: PipelineConfig) -> Self {
        let pipeline = bind_with(config);
        let running = Self::around(&pipeline.0);
        running.run(pipeline)
    }

    fn around(pipeline: &Pipeline) -> Self {
        Self {
            context: pipeline.context().clone(),
            collector: pipeline.collector_endpoint().to_owned(),
            publisher: pipeline.publisher_endpoint().to_owned(),
            stopper: pipeline.stop_handle(),
            events: unbounded().1,
            thread: RefCell::new(None),
        }
    }

    fn run(mut self, (pipeline, events): (Pipeline, Receiver<Event>)) -> Self {
        self.events = events;
        self.thread = RefCell::new(Some(thread::spawn(move || pipeline.run())));
        self
    }

    fn producer(&self, name: &str) -> Producer {
        Producer::connect(
            &self.context,
            &self.collector,
            &self.publisher,
            topic(name),
            PATIENCE,
        )
        .unwrap_or_else(|error| {
            self.fail(
                &format!("producer '{name}' could not connect: {error}"),
                SLOW_JOINER,
            )
        })
    }

    /// Fails the test with the pipeline's own panic if it has one (a `todo!()`),
    /// else with `message` and the book section that explains what was expected.
    fn fail(&self, message: &str, section: BookSection) -> ! {
        self.check();
        panic!("{message}; {}", section.hint());
    }

    /// Re-raises the pipeline's panic if its thread has ended with one.
    fn check(&self) {
        let mut thread = self.thread.borrow_mut();
        if thread.as_ref().is_some_and(JoinHandle::is_finished)
            && let Some(Err(panic)) = thread.take().map(JoinHandle::join)
        {
            std::panic::resume_unwind(panic);
        }
    }

    /// Waits for the pipeline to return (after a DIE), re-raising its panic.
    fn join(self) -> Summary {
        let Some(thread) = self.thread.take() else {
            unreachable!("a test joins its pipeline once");
        };
        match thread.join() {
            Ok(result) => result.unwrap_or_else(|error| {
                panic!(
                    "expected run() to drain and return Ok(Summary), got Err({error}); {}",
                    SHUTDOWN.hint()
                )
            }),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Waits for the pipeline to return, and counts the events it reported that
    /// match `wanted`.
    fn join_counting(self, wanted: impl Fn(&Event) -> bool) -> (Summary, usize) {
        let events = self.events.clone();
        let summary = self.join();
        (
            summary,
            events.try_iter().filter(|event| wanted(event)).count(),
        )
    }

    /// Stops the pipeline with its stop handle and waits for its thread, whatever
    /// `run` returns, and gives every event it reported. The tests of step 2 end this
    /// way: they come before the drain is written, so they must not depend on it
    /// (step 3 grades it, with `join`).
    fn finish(self) -> Vec<Event> {
        self.stopper.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.recorded()
    }

    fn recorded(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stopper.stop();
        if let Some(thread) = self.thread.get_mut().take() {
            let _ = thread.join();
        }
    }
}

fn bind(workers: usize) -> (Pipeline, Receiver<Event>) {
    bind_with(PipelineConfig::any_port(workers))
}

fn bind_with(config: PipelineConfig) -> (Pipeline, Receiver<Event>) {
    let (sender, events) = unbounded();
    let sink: EventSink = std::sync::Arc::new(move |event: &Event| {
        let _ = sender.send(event.clone());
    });
    let pipeline = Pipeline::bind(&config, sink).expect("binds free ports");
    (pipeline, events)
}

/// Receives more replies for up to `patience`, until `producer` has set aside
/// `count` strays: replies on its topic to tasks it never sent or already had.
fn wait_for_strays(producer: &mut Producer, count: usize, patience: Duration) {
    let deadline = Instant::now() + patience;
    while producer.strays().len() < count && Instant::now() < deadline {
        let _ = producer.next_reply(Duration::from_millis(50));
    }
}

fn values(replies: &[Reply]) -> BTreeMap<u64, Result<i64, String>> {
    replies
        .iter()
        .filter_map(|reply| {
            let outcome = match (&reply.value, &reply.error) {
                (Some(value), _) => Ok(*value),
                (None, Some(error)) => Err(error.clone()),
                (None, None) => Err("neither value nor error".to_owned()),
            };
            Some((reply.id?, outcome))
        })
        .collect()
}

// ---------------------------- step 1: messages — the task kinds, topic frames, parsing

#[test]
fn step1_work_kinds_compute_and_refuse_oversized_requests() {
    let outcomes = within(LIMIT, "running each kind of work", KINDS, || {
        [
            Work::Add { a: 10, b: 5 },
            Work::Divide { a: 6, b: 0 },
            Work::Multiply { a: i64::MAX, b: 2 },
            Work::Sleep { ms: 20 },
            Work::Sleep {
                ms: MAX_SLEEP_MS + 1,
            },
            Work::Primes { below: 100 },
            Work::Primes { below: 2 },
            Work::Primes {
                below: MAX_PRIMES_BELOW + 1,
            },
        ]
        .map(|work| work.run())
    });
    let expected = [
        Ok(15),
        Err(WorkError::Arithmetic(TaskError::DivisionByZero)),
        Err(WorkError::Arithmetic(TaskError::Overflow {
            op: Op::Multiply,
            a: i64::MAX,
            b: 2,
        })),
        Ok(20),
        Err(WorkError::SleepTooLong(MAX_SLEEP_MS + 1)),
        Ok(25),
        Ok(0),
        Err(WorkError::PrimesTooLarge(MAX_PRIMES_BELOW + 1)),
    ];
    assert_eq!(
        outcomes,
        expected,
        "add, divide by zero, overflow, sleep 20, sleep too long, 25 primes below 100, \
         none below 2, primes bound too large; {}",
        KINDS.hint()
    );
}

#[test]
fn step1_topic_frames_match_exactly_under_prefix_matching() {
    let pairs = within(LIMIT, "topic frames", PREFIX, || {
        [
            ("1", "10"),
            ("1", "1x"),
            ("a", "ab"),
            ("job", "job/1"),
            ("say \"hi\"", "say \"hi\" again"),
        ]
        .map(|(short, long)| {
            let (short_frame, long_frame) = (topic(short).frame(), topic(long).frame());
            let round_trip = Topic::from_frame(&short_frame);
            (short, long, short_frame, long_frame, round_trip)
        })
    });
    for (short, long, short_frame, long_frame, round_trip) in pairs {
        assert!(
            !long_frame.starts_with(&short_frame),
            "a SUB socket subscribed to the frame of '{short}' ({}) also receives '{long}' ({}) \
             because it is a prefix; a topic's frame is the name as a JSON string, closing \
             quote included; {}",
            String::from_utf8_lossy(&short_frame),
            String::from_utf8_lossy(&long_frame),
            PREFIX.hint()
        );
        assert_eq!(
            round_trip,
            Some(topic(short)),
            "Topic::from_frame must read back what Topic::frame wrote; {}",
            PREFIX.hint()
        );
    }
}

#[test]
fn step1_topic_frames_are_written_as_the_originals_json_dumps_writes_them() {
    // What Python's `json.dumps(name)` gives, byte for byte: the original's
    // subscriber subscribes to exactly that.
    let cases: [(&str, &str); 8] = [
        ("1", r#""1""#),
        ("10", r#""10""#),
        ("café", r#""caf\u00e9""#),
        ("🦀", r#""\ud83e\udd80""#),
        ("a\"b\\c\n\t", r#""a\"b\\c\n\t""#),
        ("\u{8}\u{c}\r", r#""\b\f\r""#),
        ("\u{1}", r#""\u0001""#),
        ("del\u{7f}", r#""del\u007f""#),
    ];
    let written = within(LIMIT, "topic frames", PREFIX, move || {
        cases.map(|(name, _)| {
            let frame = topic(name).frame();
            (
                String::from_utf8_lossy(&frame).into_owned(),
                Topic::from_frame(&frame),
            )
        })
    });
    for ((name, expected), (frame, round_trip)) in cases.iter().zip(written) {
        assert_eq!(
            frame,
            *expected,
            "the frame of {name:?} must be what the original's `json.dumps` writes, or a \
             subscriber written the original's way never receives its results (a subscription \
             compares bytes, not JSON values: every character outside printable ASCII is \
             `\\uXXXX`, lowercase, in UTF-16 units); {}",
            PREFIX.hint()
        );
        assert_eq!(
            round_trip,
            Some(topic(name)),
            "Topic::from_frame must read back {name:?} from {frame}; {}",
            PREFIX.hint()
        );
    }
    let not_topics = within(LIMIT, "frames that are no topic", PREFIX, || {
        let frames: [&[u8]; 5] = [b"1", b"null", br#""""#, br#""1"x"#, b"\xff"];
        frames.map(Topic::from_frame)
    });
    assert_eq!(
        not_topics,
        [None, None, None, None, None],
        "a number (1), null (the unaddressed frame), the empty string, trailing bytes and \
         bytes that are not text are no topic's frame: Topic::from_frame gives None; {}",
        PREFIX.hint()
    );
}

#[test]
fn step1_parse_message_refuses_every_kind_of_malformed_message() {
    let parsed = within(LIMIT, "parsing good and bad messages", MALFORMED, || {
        let garbage: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        [
            vec![protocol::task_message(
                &topic("t"),
                1,
                Work::Add { a: 1, b: 2 },
            )],
            vec![protocol::hello_message(&topic("t"))],
            vec![protocol::die_message()],
            vec![b"[\"DIE\"]".to_vec(), b"extra".to_vec(), b"frames".to_vec()],
            vec![b"this is not JSON".to_vec()],
            vec![br#"["DO", {"topic": "t", "info": {"id": 7, "kind": "explode"}}]"#.to_vec()],
            vec![garbage],
            vec![br#"["FLY", {}]"#.to_vec()],
            vec![],
            // As the original's producer sends it: pyzmq's `send_json`.
            vec![
                br#"["DO", {"topic": "caf\u00e9", "info": {"id": 2, "kind": "add", "a": 1, "b": 2}}]"#
                    .to_vec(),
            ],
            vec![br#"["DO", {"topic": 10, "info": {"id": 3, "kind": "add", "a": 1, "b": 2}}]"#.to_vec()],
            vec![br#"["HELLO", {"topic": 10}]"#.to_vec()],
        ]
        .map(|frames| protocol::parse_message(&frames))
    });
    let [
        task,
        hello,
        die,
        parts,
        not_json,
        unknown,
        huge,
        command,
        empty,
        python,
        numeric,
        numeric_hello,
    ] = parsed;
    assert!(
        matches!(&task, Ok(Request::Do(request)) if request.topic == topic("t") && request.info.id == 1),
        "a DO message should parse as Request::Do, got {task:?}; {}",
        MALFORMED.hint()
    );
    assert_eq!(
        hello,
        Ok(Request::Hello(topic("t"))),
        "a HELLO message for topic 't' should parse as Request::Hello(\"t\"), got {hello:?}; {}",
        MALFORMED.hint()
    );
    assert_eq!(
        die,
        Ok(Request::Die),
        "[\"DIE\"] should parse as Request::Die, got {die:?}; {}",
        MALFORMED.hint()
    );
    for (what, result) in [
        ("3 frames", &parts),
        ("text that is not JSON", &not_json),
        ("1 MiB of garbage", &huge),
        ("an unknown command", &command),
        ("no frames at all", &empty),
    ] {
        assert!(
            matches!(result, Err(rejection) if rejection.to == Address::Unaddressed),
            "{what} should be a Rejection to Address::Unaddressed, got {result:?}; {}",
            MALFORMED.hint()
        );
    }
    assert!(
        matches!(&python, Ok(Request::Do(request)) if request.topic == topic("café") && request.info.id == 2),
        "a task as the original's producer sends it (`send_json`: spaces, and \"caf\\u00e9\" \
         for \"café\") should parse as Request::Do for topic \"café\", got {python:?}; {}",
        MALFORMED.hint()
    );
    let ten = serde_json::Number::from(10);
    for (what, result, id) in [
        ("a task", &numeric, Some(3)),
        ("a HELLO", &numeric_hello, None),
    ] {
        assert!(
            matches!(result, Err(rejection) if rejection.to == Address::Number(ten.clone())
                && rejection.id == id
                && rejection.reason.contains("number")),
            "{what} for the numeric topic 10 should be refused to Address::Number(10), with its \
             id ({id:?}) and a reason that says the topic is a number — numeric topics match by \
             prefix — got {result:?}; {}",
            PREFIX.hint()
        );
    }
    match unknown {
        Err(rejection) => assert!(
            rejection.topic() == Some(&topic("t"))
                && rejection.id == Some(7)
                && rejection.reason.contains("explode"),
            "a task of unknown kind should be refused *for its topic and id*, naming the kind, \
             got {rejection:?}; {}",
            MALFORMED.hint()
        ),
        Ok(request) => panic!(
            "kind \"explode\" is not one of the task kinds, yet it parsed as {request:?}; {}",
            MALFORMED.hint()
        ),
    }
}

// ------------------------------ step 2: the pipeline — handshake, collector, publisher

/// A SUB socket as the original's subscriber makes it: subscribed to
/// `json.dumps(topic)` for each of its topics, here given as those bytes.
fn original_subscriber(running: &Running, subscriptions: &[&[u8]]) -> zmq::Socket {
    let sub = running.context.socket(zmq::SUB).expect("a SUB socket");
    sub.set_rcvhwm(0).expect("sets the high-water mark");
    for subscription in subscriptions {
        sub.set_subscribe(subscription).expect("subscribes");
    }
    sub.connect(&running.publisher).expect("connects");
    sub
}

/// Pushes `probe` until something arrives on `sub` — its subscription is then live —
/// and drops whatever the probes brought.
fn make_live(running: &Running, sub: &zmq::Socket, push: &zmq::Socket, probe: &[u8]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        push.send(probe, 0).expect("sends");
        if sub.poll(zmq::POLLIN, 50).expect("polls") > 0 {
            break;
        }
        running.check();
        if Instant::now() > deadline {
            running.fail(
                "a subscriber written the original's way never heard its probes",
                SLOW_JOINER,
            );
        }
    }
    while sub.poll(zmq::POLLIN, 200).expect("polls") > 0 {
        sub.recv_multipart(0).expect("receives");
    }
}

/// Receives on `sub` until `done` says so or nothing comes for a while: each
/// message as its first frame and its JSON body.
fn receive_all(
    sub: &zmq::Socket,
    done: impl Fn(&[(Vec<u8>, serde_json::Value)]) -> bool,
) -> Vec<(Vec<u8>, serde_json::Value)> {
    let mut received = Vec::new();
    while !done(&received) && sub.poll(zmq::POLLIN, 2_000).expect("polls") > 0 {
        let frames = sub.recv_multipart(0).expect("receives");
        let body = frames
            .get(1)
            .and_then(|body| serde_json::from_slice(body).ok())
            .unwrap_or_default();
        received.push((frames[0].clone(), body));
    }
    received
}

fn add_tasks(base: u64, count: u64) -> Vec<(u64, Work)> {
    (0..count)
        .map(|i| {
            (
                base + i,
                Work::Add {
                    a: base as i64,
                    b: i as i64,
                },
            )
        })
        .collect()
}

fn expected_adds(base: u64, count: u64) -> BTreeMap<u64, Result<i64, String>> {
    (0..count)
        .map(|i| (base + i, Ok((base + i) as i64)))
        .collect()
}

#[test]
fn step2_string_topics_match_exactly_and_a_numeric_topic_shows_the_prefix_bug() {
    type Received = Vec<(Vec<u8>, serde_json::Value)>;
    let (by_string, by_number, one, ten): (Received, Received, _, _) =
        within(LIMIT, "topics '1', '10' and the number 10", PREFIX, || {
            let running = Running::start(2);
            let push = running.context.socket(zmq::PUSH).expect("a PUSH socket");
            push.set_linger(1_000).expect("sets linger");
            push.connect(&running.collector).expect("connects");
            // The original's subscribers for the string "1" and for the number 1:
            // `json.dumps("1")` is `"1"`, quotes included; `json.dumps(1)` is `1`.
            let by_string = original_subscriber(&running, &[br#""1""#]);
            let by_number = original_subscriber(&running, &[b"1"]);
            make_live(
                &running,
                &by_string,
                &push,
                &protocol::hello_message(&topic("1")),
            );
            make_live(
                &running,
                &by_number,
                &push,
                br#"["DO", {"topic": 1, "info": {"id": 0, "kind": "add", "a": 0, "b": 0}}]"#,
            );

            let mut one = running.producer("1");
            let mut ten = running.producer("10");
            let one_replies = one
                .run(&add_tasks(100, 5), PATIENCE, |_| {})
                .unwrap_or_else(|error| running.fail(&format!("producer '1': {error}"), PREFIX));
            let ten_replies = ten
                .run(&add_tasks(1000, 5), PATIENCE, |_| {})
                .unwrap_or_else(|error| running.fail(&format!("producer '10': {error}"), PREFIX));
            // A task for the numeric topic 10, as the original's own test sends them.
            push.send(
                br#"["DO", {"topic": 10, "info": {"id": 77, "kind": "add", "a": 1, "b": 1}}]"#
                    .as_slice(),
                0,
            )
            .expect("sends");

            let results = |received: &[(Vec<u8>, serde_json::Value)]| {
                received
                    .iter()
                    .filter(|(_, body)| body.get("id").is_some())
                    .count()
            };
            let by_string = receive_all(&by_string, |received| results(received) >= 5);
            let by_number = receive_all(&by_number, |received| {
                received.iter().any(|(frame, _)| frame == b"10")
            });
            running.finish();
            (
                by_string,
                by_number,
                values(&one_replies),
                values(&ten_replies),
            )
        });
    let shown = |received: &Received| -> Vec<String> {
        received
            .iter()
            .map(|(frame, body)| format!("{} {body}", String::from_utf8_lossy(frame)))
            .collect()
    };
    let string_ids: BTreeMap<u64, bool> = by_string
        .iter()
        .filter_map(|(frame, body)| Some((body.get("id")?.as_u64()?, frame == br#""1""#)))
        .collect();
    assert_eq!(
        string_ids,
        (100..105).map(|id| (id, true)).collect(),
        "a subscriber written the original's way for the string \"1\" subscribes to \"1\" with \
         its quotes, and must receive exactly topic '1''s 5 results (ids 100..105) on the frame \
         \"1\" — none of '10''s: got {:#?}; {}",
        shown(&by_string),
        PREFIX.hint()
    );
    assert!(
        by_number.iter().any(|(frame, body)| frame == b"10"
            && body.get("id") == Some(&serde_json::json!(77))
            && body["error"]
                .as_str()
                .is_some_and(|error| error.contains("number"))),
        "the task for the numeric topic 10 must be refused (a number cannot be matched exactly) \
         on the frame 10, where the original's subscriber for 10 hears why — and where the \
         original's subscriber for the number 1 receives it too: the prefix bug numeric topics \
         keep. Got {:#?}; {}",
        shown(&by_number),
        PREFIX.hint()
    );
    assert_eq!(
        (one, ten),
        (expected_adds(100, 5), expected_adds(1000, 5)),
        "producer '1' must get exactly its 5 results (ids 100..105) and producer '10' exactly \
         its own (ids 1000..1005); {}",
        PREFIX.hint()
    );
}

#[test]
fn step2_a_producer_on_several_topics_gets_exactly_its_own_results() {
    type Outcomes = BTreeMap<u64, Result<i64, String>>;
    let (several, ten, strays, on_1x, not_subscribed): (Outcomes, Outcomes, _, Vec<u64>, _) =
        within(
            LIMIT,
            "topics '1' and '1x' on one producer, '10' on another",
            PREFIX,
            || {
                let running = Running::start(2);
                let exact_1x = original_subscriber(&running, &[&topic("1x").frame()]);
                let push = running.context.socket(zmq::PUSH).expect("a PUSH socket");
                push.connect(&running.collector).expect("connects");
                make_live(
                    &running,
                    &exact_1x,
                    &push,
                    &protocol::hello_message(&topic("1x")),
                );

                let mut several = running.producer("1");
                let mut ten = running.producer("10");
                // Tasks for "1" first: their results may arrive while the producer waits
                // for its welcome on "1x", and must not be lost.
                for (id, work) in add_tasks(1, 4) {
                    several.submit(id, work).expect("pushes a task");
                }
                several
                    .subscribe(topic("1x"), PATIENCE)
                    .unwrap_or_else(|error| {
                        running.fail(&format!("subscribing to '1x': {error}"), SLOW_JOINER)
                    });
                for (id, work) in add_tasks(5, 4) {
                    several
                        .submit_to(&topic("1x"), id, work)
                        .expect("pushes a task");
                }
                // The same ids as the other producer's, on another topic.
                for (id, work) in add_tasks(1, 4) {
                    ten.submit(id + 100, work).expect("pushes a task");
                }
                let not_subscribed = several.submit_to(&topic("10"), 99, Work::Add { a: 0, b: 0 });
                let replies = several.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                    running.fail(&format!("the producer on '1' and '1x': {error}"), PREFIX)
                });
                let ten_replies = ten.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                    running.fail(&format!("producer '10': {error}"), PREFIX)
                });
                // Anything more would be someone else's result, or a duplicate.
                wait_for_strays(&mut several, 1, Duration::from_millis(200));
                wait_for_strays(&mut ten, 1, Duration::from_millis(200));
                let on_1x = receive_all(&exact_1x, |received| {
                    received
                        .iter()
                        .filter(|(_, body)| body.get("id").is_some())
                        .count()
                        >= 4
                })
                .iter()
                .filter_map(|(_, body)| body.get("id")?.as_u64())
                .collect();
                let strays = (several.strays().len(), ten.strays().len());
                running.finish();
                (
                    values(&replies),
                    values(&ten_replies),
                    strays,
                    on_1x,
                    not_subscribed,
                )
            },
        );
    let mut expected = expected_adds(1, 4);
    expected.extend(expected_adds(5, 4));
    assert_eq!(
        (several, strays.0),
        (expected, 0),
        "the producer subscribed to '1' and '1x' must get exactly its 8 results, 4 sent for \
         each topic — none lost while it subscribed to '1x', none of '10''s — and nothing more; \
         {}",
        PREFIX.hint()
    );
    assert_eq!(
        on_1x,
        vec![5, 6, 7, 8],
        "the tasks submitted for '1x' must be sent for '1x' and published there, and only \
         they; {}",
        PREFIX.hint()
    );
    let ten_expected: Outcomes = (1..=4).map(|i| (100 + i, Ok(i as i64))).collect();
    assert_eq!(
        (ten, strays.1),
        (ten_expected, 0),
        "producer '10' must get exactly its own 4 results; {}",
        PREFIX.hint()
    );
    assert!(
        matches!(&not_subscribed, Err(ProducerError::NotSubscribed(on)) if *on == topic("10")),
        "submitting for a topic the producer is not subscribed to must be refused (its \
         result would be lost), got {not_subscribed:?}; {}",
        PREFIX.hint()
    );
}

#[test]
fn step2_a_producer_is_subscribed_before_connect_returns() {
    let (joined_before_return, reply) =
        within(LIMIT, "connect, then one task", SLOW_JOINER, || {
            // Producers connect before the pipeline runs: their HELLOs wait in the
            // bound socket, and the first welcomes may go out before the subscription
            // is live. `connect` must keep asking until one arrives.
            let bound = bind(2);
            let running = Running::around(&bound.0);
            let (context, collector, publisher) = (
                running.context.clone(),
                running.collector.clone(),
                running.publisher.clone(),
            );
            let early = thread::spawn(move || {
                Producer::connect(&context, &collector, &publisher, topic("early"), PATIENCE)
            });
            thread::sleep(Duration::from_millis(200));
            let running = running.run(bound);
            let mut early = match early.join() {
                Ok(result) => result.unwrap_or_else(|error| {
                    running.fail(&format!("producer 'early': {error}"), SLOW_JOINER)
                }),
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let joined = running
                .recorded()
                .iter()
                .any(|event| *event == Event::ProducerJoined(topic("early")));
            early
                .submit(1, Work::Add { a: 1, b: 1 })
                .expect("pushes a task");
            let reply = early.next_reply(PATIENCE).expect("receives");
            running.finish();
            (joined, reply)
        });
    assert!(
        joined_before_return,
        "Producer::connect returned before the pipeline had seen its HELLO: results \
         published now could still be lost; {}",
        SLOW_JOINER.hint()
    );
    assert_eq!(
        reply.and_then(|reply| reply.value),
        Some(2),
        "the task pushed right after connect should be answered; {}",
        SLOW_JOINER.hint()
    );
}

#[test]
fn step2_producers_sharing_a_topic_each_take_only_their_own_results() {
    type Outcomes = BTreeMap<u64, Result<i64, String>>;
    let ((first, first_strays), (second, second_strays)) = within(
        LIMIT,
        "two producers on topic 'shared'",
        SHARED_TOPIC,
        || {
            let running = Running::start(2);
            let mut first = running.producer("shared");
            let mut second = running.producer("shared");
            for id in 1..=5 {
                first
                    .submit(id, Work::Add { a: id as i64, b: 0 })
                    .expect("pushes a task");
                second
                    .submit(
                        100 + id,
                        Work::Add {
                            a: 0,
                            b: -(id as i64),
                        },
                    )
                    .expect("pushes a task");
            }
            let outcomes = |producer: &mut Producer, name: &str| -> (Outcomes, Vec<u64>) {
                let replies = producer.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                    running.fail(&format!("producer {name}: {error}"), SHARED_TOPIC)
                });
                // Both subscribed before any task: each also receives the other's 5.
                wait_for_strays(producer, 5, PATIENCE);
                let strays = producer.strays().iter().filter_map(|reply| reply.id);
                (values(&replies), strays.collect())
            };
            let first = outcomes(&mut first, "first");
            let second = outcomes(&mut second, "second");
            running.finish();
            (first, second)
        },
    );
    let sorted = |mut ids: Vec<u64>| {
        ids.sort_unstable();
        ids
    };
    assert_eq!(
        (first, second),
        (
            (1..=5).map(|id| (id, Ok(id as i64))).collect(),
            (101..=105).map(|id| (id, Ok(100 - id as i64))).collect()
        ),
        "two producers on one topic must each return exactly the results of the ids it \
         submitted (1..=5 and 101..=105), not the first replies to arrive; {}",
        SHARED_TOPIC.hint()
    );
    assert_eq!(
        (sorted(first_strays), sorted(second_strays)),
        ((101..=105).collect(), (1..=5).collect()),
        "each producer should set the other's 5 results aside as strays; {}",
        SHARED_TOPIC.hint()
    );
}

/// One producer's topic number, its replies, and how many more arrived after them;
/// or what went wrong, and where the book explains it.
type ProducerRun = Result<(u64, Vec<Reply>, usize), (String, BookSection)>;

#[test]
fn step2_ten_producers_on_ten_topics_get_exactly_their_hundred_results() {
    // The original's functional test: 10 producers × 10 tasks, topics "1".."10"
    // (so "1" is a prefix of "10"), all at once.
    let results = within(LIMIT, "10 producers × 10 tasks", PIPELINE, || {
        let running = Running::start(4);
        let producers: Vec<JoinHandle<ProducerRun>> = (1..=10u64)
            .map(|n| {
                let (context, collector, publisher) = (
                    running.context.clone(),
                    running.collector.clone(),
                    running.publisher.clone(),
                );
                thread::spawn(move || {
                    let mut producer = Producer::connect(
                        &context,
                        &collector,
                        &publisher,
                        topic(&n.to_string()),
                        PATIENCE,
                    )
                    .map_err(|error| {
                        (
                            format!("producer '{n}' could not connect: {error}"),
                            SLOW_JOINER,
                        )
                    })?;
                    let tasks: Vec<(u64, Work)> = (0..10)
                        .map(|i| {
                            (
                                n * 100 + i,
                                Work::Multiply {
                                    a: n as i64,
                                    b: i as i64,
                                },
                            )
                        })
                        .collect();
                    let replies = producer
                        .run(&tasks, PATIENCE, |_| {})
                        .map_err(|error| (format!("producer '{n}': {error}"), PIPELINE))?;
                    // Anything more on this topic would be a duplicate or a stray.
                    wait_for_strays(&mut producer, 1, Duration::from_millis(200));
                    Ok((n, replies, producer.strays().len()))
                })
            })
            .collect();
        let mut results = Vec::new();
        for producer in producers {
            match producer.join() {
                Ok(Ok(result)) => results.push(result),
                Ok(Err((message, section))) => running.fail(&message, section),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        running.finish();
        results
    });
    let total: usize = results.iter().map(|(_, replies, _)| replies.len()).sum();
    assert_eq!(
        total,
        100,
        "10 producers × 10 tasks should give exactly 100 results; {}",
        PIPELINE.hint()
    );
    for (n, replies, extra) in &results {
        let expected: BTreeMap<u64, Result<i64, String>> = (0..10)
            .map(|i| (n * 100 + i, Ok(*n as i64 * i as i64)))
            .collect();
        assert_eq!(
            (values(replies), *extra),
            (expected, 0),
            "producer '{n}' should get exactly its own 10 results (ids {}..{}, each {n} × i) \
             and nothing more — none lost, duplicated or someone else's; {}",
            n * 100,
            n * 100 + 10,
            PIPELINE.hint()
        );
    }
}

/// Pushes tasks 1..=count, each a 50 ms sleep: slow enough to still be queued
/// when the pipeline is told to stop.
fn push_sleeps(producer: &mut Producer, count: u64) {
    for id in 1..=count {
        producer
            .submit(id, Work::Sleep { ms: 50 })
            .expect("pushes a task");
    }
}

#[test]
fn step2_the_collector_stops_reading_at_the_limit_of_tasks_in_flight() {
    const LIMIT_IN_FLIGHT: usize = 2;
    let (replies, most_in_flight, events) = within(
        LIMIT,
        "8 slow tasks, at most 2 in flight",
        BACK_PRESSURE,
        || {
            let running = Running::start_with(PipelineConfig {
                max_in_flight: LIMIT_IN_FLIGHT,
                ..PipelineConfig::any_port(1)
            });
            let mut producer = running.producer("flood");
            push_sleeps(&mut producer, 8);
            let replies = producer.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                running.fail(&format!("producer 'flood': {error}"), BACK_PRESSURE)
            });
            let events = running.finish();
            // A result is published (and reported) before its slot is freed, and a
            // task is reported received after it took a slot: so, read in order,
            // the events never show more tasks in flight than the limit.
            let (mut in_flight, mut most) = (0_i64, 0_i64);
            for event in &events {
                match event {
                    Event::Received { .. } => in_flight += 1,
                    Event::Published { .. } => in_flight -= 1,
                    _ => continue,
                }
                most = most.max(in_flight);
            }
            let events: Vec<String> = events
                .iter()
                .filter(|event| matches!(event, Event::Received { .. } | Event::Published { .. }))
                .map(ToString::to_string)
                .collect();
            (values(&replies), most, events)
        },
    );
    assert_eq!(
        replies,
        (1..=8).map(|id| (id, Ok(50))).collect(),
        "all 8 tasks must be answered, the limit only delays them; {}",
        BACK_PRESSURE.hint()
    );
    assert_eq!(
        most_in_flight,
        LIMIT_IN_FLIGHT as i64,
        "with max_in_flight {LIMIT_IN_FLIGHT}, the collector should take a task only with a \
         free slot, and the publisher free it after publishing the result: expected at most \
         (and, with 8 queued, exactly) {LIMIT_IN_FLIGHT} tasks received and not yet published, \
         got {most_in_flight} in {events:#?}; {}",
        BACK_PRESSURE.hint()
    );
}

#[test]
fn step2_malformed_messages_never_stop_the_pipeline_or_lose_a_task() {
    let (replies, rejected) = within(LIMIT, "garbage between good tasks", MALFORMED, || {
        let running = Running::start(2);
        let mut producer = running.producer("m");
        let raw = running.context.socket(zmq::PUSH).expect("a PUSH socket");
        raw.set_linger(1_000).expect("sets linger");
        raw.connect(&running.collector).expect("connects");
        let send = |frames: Vec<Vec<u8>>| raw.send_multipart(frames, 0).expect("sends");
        for id in 1..=5 {
            if id == 3 {
                send(vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
                send(vec![b"{not JSON".to_vec()]);
                send(vec![
                    br#"["DO", {"topic": "m", "info": {"id": 7, "kind": "explode"}}]"#.to_vec(),
                ]);
                send(vec![vec![0xff; 1 << 20]]);
                send(vec![
                    br#"["DO", {"topic": "m", "info": {"id": 8, "kind": "add", "a": "ten", "b": 1}}]"#
                        .to_vec(),
                ]);
                send(vec![b"42".to_vec()]);
                send(vec![br#"["FLY"]"#.to_vec()]);
            }
            producer
                .submit(
                    id,
                    Work::Multiply {
                        a: id as i64,
                        b: 10,
                    },
                )
                .expect("pushes a task");
        }
        let mut replies = producer
            .collect(PATIENCE, |_| {})
            .unwrap_or_else(|error| running.fail(&format!("producer 'm': {error}"), MALFORMED));
        // Ids 7 and 8 were pushed by the raw socket, not by this producer: their
        // errors arrive on its topic as strays.
        wait_for_strays(&mut producer, 2, PATIENCE);
        replies.extend_from_slice(producer.strays());
        // The two connections are read in turn, so the last bad messages may
        // still be on their way: wait for 7 rejections, then count any more.
        let is_rejection = |event: &Event| matches!(event, Event::Rejected(_));
        let (mut rejected, deadline) = (0, Instant::now() + PATIENCE);
        while rejected < 7 && Instant::now() < deadline {
            if let Ok(event) = running.events.recv_timeout(Duration::from_millis(20)) {
                rejected += usize::from(is_rejection(&event));
            }
        }
        // Every bad message has been read: the collector must still take tasks.
        producer
            .submit(6, Work::Multiply { a: 6, b: 10 })
            .expect("pushes a task");
        let last = producer.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
            running.fail(
                &format!("producer 'm', task 6 pushed after all the garbage: {error}"),
                MALFORMED,
            )
        });
        replies.extend(last);
        rejected += running.finish().iter().filter(|e| is_rejection(e)).count();
        (values(&replies), rejected)
    });
    let good: Vec<(u64, i64)> = replies
        .iter()
        .filter_map(|(id, outcome)| Some((*id, *outcome.as_ref().ok()?)))
        .collect();
    assert_eq!(
        good,
        (1..=6).map(|id| (id, id as i64 * 10)).collect::<Vec<_>>(),
        "all 6 good tasks must be answered despite the garbage between them — a bad message \
         must never end the collector's loop — got {replies:?}; {}",
        MALFORMED.hint()
    );
    assert!(
        matches!(replies.get(&7), Some(Err(error)) if error.contains("explode"))
            && matches!(replies.get(&8), Some(Err(_))),
        "the unknown kind (id 7) and the bad operand (id 8) should come back as error results \
         on their topic, got {replies:?}; {}",
        MALFORMED.hint()
    );
    assert_eq!(
        rejected,
        7,
        "each of the 7 bad messages should be reported as one Event::Rejected; {}",
        MALFORMED.hint()
    );
}

// ----------------------------------------- step 3: shutting down without losing a task

fn assert_stopped_by_handle(summary: &Summary) {
    assert_eq!(
        summary.stopped_by,
        StopReason::Stopped,
        "run() should return after stop() with StopReason::Stopped, got {:?}; {}",
        summary.stopped_by,
        SHUTDOWN.hint()
    );
}

#[test]
fn step3_die_finishes_and_publishes_every_queued_task_then_joins() {
    let (replies, summary, stopping) = within(LIMIT, "8 slow tasks then DIE", SHUTDOWN, || {
        let running = Running::start(2);
        let mut producer = running.producer("drain");
        push_sleeps(&mut producer, 8);
        // Same connection, so DIE arrives after all 8 — long before they have run.
        producer.stop_pipeline().expect("pushes DIE");
        let replies = producer
            .collect(PATIENCE, |_| {})
            .unwrap_or_else(|error| running.fail(&format!("after DIE: {error}"), SHUTDOWN));
        let (summary, stopping) =
            running.join_counting(|event| matches!(event, Event::Worker(WorkerEvent::Stopping(_))));
        (values(&replies), summary, stopping)
    });
    assert_eq!(
        replies,
        (1..=8).map(|id| (id, Ok(50))).collect(),
        "every task pushed before DIE must still be run and published; {}",
        SHUTDOWN.hint()
    );
    assert_eq!(
        (summary.stopped_by, stopping),
        (StopReason::Die, 2),
        "run() should return after DIE with both workers joined; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step3_the_stop_handle_drains_like_die() {
    let (replies, summary) = within(LIMIT, "6 slow tasks then stop()", SHUTDOWN, || {
        let running = Running::start(2);
        let mut producer = running.producer("ctrl-c");
        push_sleeps(&mut producer, 6);
        // Stop as soon as the collector has taken all six, before they have run.
        let mut received = 0;
        let deadline = Instant::now() + PATIENCE;
        while received < 6 && Instant::now() < deadline {
            if let Ok(Event::Received { .. }) =
                running.events.recv_timeout(Duration::from_millis(20))
            {
                received += 1;
            }
        }
        if received < 6 {
            running.fail(
                &format!("the collector took {received} of 6 tasks"),
                PIPELINE,
            );
        }
        running.stopper.stop();
        let replies = producer
            .collect(PATIENCE, |_| {})
            .unwrap_or_else(|error| running.fail(&format!("after stop(): {error}"), SHUTDOWN));
        (values(&replies), running.join())
    });
    assert_eq!(
        replies,
        (1..=6).map(|id| (id, Ok(50))).collect(),
        "every task taken before stop() must still be run and published; {}",
        SHUTDOWN.hint()
    );
    assert_stopped_by_handle(&summary);
}

#[test]
fn step3_stopping_refuses_the_tasks_still_waiting_in_the_socket() {
    let (replies, draining, summary) =
        within(LIMIT, "4 slow tasks, 1 in flight, stop()", SHUTDOWN, || {
            // One task in flight at most: tasks 2..=4 wait in the PULL socket. Task 1
            // runs for a second, long enough to push task 5 while the pool drains.
            let running = Running::start_with(PipelineConfig {
                max_in_flight: 1,
                ..PipelineConfig::any_port(1)
            });
            let mut producer = running.producer("queued");
            for id in 1..=4 {
                producer
                    .submit(id, Work::Sleep { ms: 1_000 })
                    .expect("pushes a task");
            }
            let deadline = Instant::now() + PATIENCE;
            loop {
                match running.events.recv_timeout(Duration::from_millis(20)) {
                    Ok(Event::Received { id: 1, .. }) => break,
                    _ if Instant::now() > deadline => {
                        running.fail("the collector never took task 1", PIPELINE)
                    }
                    _ => running.check(),
                }
            }
            running.stopper.stop();
            // Tasks 2..=4 are refused as soon as the collector stops, while task 1 runs.
            let mut replies = Vec::new();
            let deadline = Instant::now() + PATIENCE;
            while replies.len() < 3 && Instant::now() < deadline {
                match producer.next_reply(Duration::from_millis(20)) {
                    Ok(Some(reply)) => replies.push(reply),
                    Ok(None) => running.check(),
                    Err(error) => running.fail(&format!("after stop(): {error}"), SHUTDOWN),
                }
            }
            // Task 5 arrives while the pool still drains: it must be refused too, by the
            // second look into the socket, not lost. (On a machine so slow that task 1
            // has already finished, that second look may have come and gone: then only
            // tasks 1..=4 are graded.)
            let draining = !running.recorded().contains(&Event::WorkersDrained);
            if draining {
                producer
                    .submit(5, Work::Sleep { ms: 1_000 })
                    .expect("pushes a task");
            }
            replies.extend(producer.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                running.fail(
                    &format!(
                        "after stop(), waiting for task 1's result and the refusal of \
                             task 5 (pushed while the pool drained: {draining}): {error}"
                    ),
                    SHUTDOWN,
                )
            }));
            (values(&replies), draining, running.join())
        });
    let mut expected: BTreeMap<u64, Result<i64, String>> =
        (2..=4).map(|id| (id, Err(STOPPING.to_owned()))).collect();
    expected.insert(1, Ok(1_000));
    if draining {
        expected.insert(5, Err(STOPPING.to_owned()));
    }
    assert_eq!(
        replies,
        expected,
        "the accepted task 1 must still run; tasks 2..=4, still in the socket when the \
         pipeline stopped, and task 5, pushed while the pool drained, must each get the error \
         {STOPPING:?} so nobody waits for ever; {}",
        SHUTDOWN.hint()
    );
    assert_stopped_by_handle(&summary);
}
