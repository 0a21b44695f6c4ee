// Grading tests for chapter 03 — the ZeroMQ pipeline.
//
// Run them with `cargo test -p exercise03`, or one step at a time with
// `cargo test -p exercise03 step1` (the steps are listed in hints.toml and in the
// book's "The exercise"): step 1 is the messages on their own, step 2 the running
// pipeline, step 3 its shutdown, step 4 batching. Steps 2 and 3 drive a real pipeline over real
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
use exercise03::work::{Algorithm, MAX_PRIMES_LIMIT, MAX_SLEEP_MS};
use exercise03::{
    DecodeError, Event, EventSink, Pipeline, PipelineConfig, PipelineError, Producer, Reply,
    Shutdown, StopReason, Summary, Topic, Work, WorkError,
};
use grading::{BookSection, Chapter, within};
use serde_json::json;
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
    shutdown: Shutdown,
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
            shutdown: pipeline.shutdown_handle(),
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
        self.shutdown.stop();
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
        self.shutdown.stop();
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
                (Some(value), _) => value
                    .as_i64()
                    .ok_or_else(|| format!("not an integer: {value}")),
                (None, Some(error)) => Err(error.clone()),
                (None, None) => Err("neither value nor error".to_owned()),
            };
            Some((reply.id?, outcome))
        })
        .collect()
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

mod step1;
mod step2;
mod step3;
mod step4;
