//! Chapter 03's "Measure it": trivial tasks through the Rust pipeline and through a
//! pyzmq pipeline of the same design, both driven by the same Rust producer in the
//! same run — and the bare PUSH → PULL rate of the same libzmq, the ceiling any
//! pipeline on it can reach. The Rust pipeline runs twice: as the original is
//! designed, one task per message each way, and with batching, [`BATCH`] tasks per
//! message in and up to as many results per message out.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use solution03::protocol::task_message;
use solution03::{Pipeline, PipelineConfig, Producer, Topic, Work, event};

use crate::BenchError;
use crate::progress::Steps;
use crate::python::{Python, peer};
use crate::report::{Report, Role, Spread, Target};
use crate::timing::rate;

const RUNS: usize = 3;
const PATIENCE: Duration = Duration::from_secs(30);
/// Tasks per message, and results per message back, in the batched run.
const BATCH: usize = 64;

/// One worker per core: trivial tasks gain nothing from more threads than cores,
/// only context switches. Both pipelines get the same number.
fn workers() -> usize {
    thread::available_parallelism().map_or(2, usize::from)
}

fn failed(error: impl std::fmt::Display) -> BenchError {
    BenchError::Rust(error.to_string())
}

// ANCHOR: drive
/// Pushes `tasks` trivial tasks from one producer, `batch` per message, and waits
/// for every result: the rate from the first push to the last result, in each of
/// [`RUNS`] runs.
fn drive(
    context: &zmq::Context,
    collector: &str,
    publisher: &str,
    tasks: usize,
    batch: usize,
) -> Result<Vec<f64>, BenchError> {
    let work: Vec<(u64, Work)> = (0..tasks as u64)
        .map(|id| (id, Work::Add { a: id as i64, b: 1 }))
        .collect();
    let mut rates = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let topic = Topic::new(format!("bench-{run}")).map_err(failed)?;
        let mut producer =
            Producer::connect(context, collector, publisher, topic, PATIENCE).map_err(failed)?;
        let start = Instant::now();
        let replies = producer
            .run_batched(&work, batch, PATIENCE, |_| {})
            .map_err(failed)?;
        rates.push(rate(tasks, start.elapsed()));
        if replies.iter().any(|reply| reply.value.is_none()) {
            return Err(failed("a trivial task came back as an error"));
        }
    }
    Ok(rates)
}

/// The best of `rates`, and how far apart they were.
fn best(rates: &[f64]) -> (f64, Option<Spread>) {
    let best = rates.iter().copied().fold(0.0, f64::max);
    (best, Spread::of(rates))
}
// ANCHOR_END: drive

/// The Rust pipeline on free ports, driven by [`drive`] with `batch` tasks per
/// message (and up to as many results per message back), then stopped.
fn rust_pipeline(tasks: usize, batch: usize) -> Result<Vec<f64>, BenchError> {
    let config = PipelineConfig {
        batch,
        ..PipelineConfig::any_port(workers())
    };
    let pipeline = Pipeline::bind(&config, event::silent()).map_err(failed)?;
    let context = pipeline.context().clone();
    let (collector, publisher) = (
        pipeline.collector_endpoint().to_owned(),
        pipeline.publisher_endpoint().to_owned(),
    );
    let shutdown = pipeline.shutdown_handle();
    let running = thread::spawn(move || pipeline.run());
    let took = drive(&context, &collector, &publisher, tasks, batch);
    shutdown.stop();
    running
        .join()
        .map_err(|_| failed("the pipeline panicked"))?
        .map_err(failed)?;
    took
}

/// Kills the Python pipeline if the bench stops early.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pyzmq pipeline in its own process, driven by the same [`drive`].
fn python_pipeline(python: &Python, tasks: usize) -> Result<Vec<f64>, BenchError> {
    let child = python
        .command(&peer("ch03_pyzmq_pipeline.py"))
        .arg(workers().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| failed(format!("could not start the Python pipeline: {error}")))?;
    let mut peer = Peer(child);
    let mut first_line = String::new();
    if let Some(stdout) = peer.0.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .map_err(failed)?;
    }
    let endpoints: serde_json::Value = serde_json::from_str(&first_line)
        .map_err(|_| failed(format!("the Python pipeline printed {first_line:?}")))?;
    let (Some(collector), Some(publisher)) = (
        endpoints["collector"].as_str(),
        endpoints["publisher"].as_str(),
    ) else {
        return Err(failed(format!("no endpoints in {endpoints}")));
    };

    let context = zmq::Context::new();
    let took = drive(&context, collector, publisher, tasks, 1)?;
    let stopper = Producer::connect(
        &context,
        collector,
        publisher,
        Topic::new("stop").map_err(failed)?,
        PATIENCE,
    )
    .map_err(failed)?;
    stopper.stop_pipeline().map_err(failed)?;
    drop(stopper);
    let _ = peer.0.wait();
    Ok(took)
}

// ANCHOR: bare
/// The ceiling: `messages` task-sized messages through one bare PUSH → PULL pair
/// of the same libzmq on loopback TCP, no parsing, no pool, no way back — the rate
/// of each of [`RUNS`] runs. The PULL socket is moved into the receiving thread:
/// sockets are `Send`, not `Sync`.
fn bare_push_pull(messages: usize) -> Result<Vec<f64>, BenchError> {
    let context = zmq::Context::new();
    let topic = Topic::new("bench").map_err(failed)?;
    let message = task_message(&topic, 1, Work::Add { a: 1, b: 1 });
    let mut rates = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let pull = context.socket(zmq::PULL).map_err(failed)?;
        pull.bind("tcp://127.0.0.1:*").map_err(failed)?;
        let endpoint = pull
            .get_last_endpoint()
            .map_err(failed)?
            .map_err(|_| failed("endpoint is not UTF-8"))?;
        let push = context.socket(zmq::PUSH).map_err(failed)?;
        push.connect(&endpoint).map_err(failed)?;

        let start = Instant::now();
        let receiving =
            thread::spawn(move || (0..messages).try_for_each(|_| pull.recv_bytes(0).map(drop)));
        for _ in 0..messages {
            push.send(&message, 0).map_err(failed)?;
        }
        receiving
            .join()
            .map_err(|_| failed("the receiver panicked"))?
            .map_err(failed)?;
        rates.push(rate(messages, start.elapsed()));
    }
    Ok(rates)
}
// ANCHOR_END: bare

/// Measurements in [`run`], for its progress bar.
pub const STEPS: u64 = 5;

/// Measures chapter 03 and returns its results.
pub fn run(quick: bool, steps: &Steps) -> Result<Report, BenchError> {
    let (tasks, python_tasks, messages) = if quick {
        (20_000, 5_000, 200_000)
    } else {
        (100_000, 20_000, 1_000_000)
    };
    steps.step("Python venv with pyzmq");
    let python = Python::venv(&["pyzmq"])?;
    let mut report = Report::new("ch03", "Chapter 03 — the ZeroMQ pipeline");

    steps.step("Rust pipeline, one task per message");
    let (rust, rust_spread) = best(&rust_pipeline(tasks, 1)?);
    steps.step(format!("Rust pipeline, batches of {BATCH}"));
    let (batched, batched_spread) = best(&rust_pipeline(tasks, BATCH)?);
    steps.step("pyzmq pipeline");
    let (py, py_spread) = best(&python_pipeline(&python, python_tasks)?);
    steps.step("bare PUSH → PULL");
    let (bare, bare_spread) = best(&bare_push_pull(messages)?);
    report.measure_spread(
        "rust",
        format!(
            "trivial tasks/s, Rust pipeline, one per message, {} workers",
            workers()
        ),
        rust,
        "tasks/s",
        rust_spread,
    );
    report.measure_spread(
        "rust_batched",
        format!(
            "trivial tasks/s, Rust pipeline, batches of {BATCH}, {} workers",
            workers()
        ),
        batched,
        "tasks/s",
        batched_spread,
    );
    report.measure_spread(
        "python",
        format!("trivial tasks/s, pyzmq pipeline, {} threads", workers()),
        py,
        "tasks/s",
        py_spread,
    );
    report.measure_spread(
        "bare",
        "messages/s, bare PUSH → PULL, same libzmq",
        bare,
        "msgs/s",
        bare_spread,
    );
    report.ratio_goal(
        "Rust pipeline / pyzmq pipeline, tasks/s",
        "rust",
        "python",
        Target::AtLeast(3.0),
    )?;
    report.ratio_goal(
        format!("Rust pipeline, batches of {BATCH} / bare PUSH → PULL rate"),
        "rust_batched",
        "bare",
        Target::AtLeast(0.5),
    )?;
    report.bar_chart(
        "Chapter 03: trivial tasks through the pipeline",
        "tasks/s (bare: messages/s)",
        &[
            ("rust", "Rust pipeline", Role::Rust),
            (
                "rust_batched",
                &format!("Rust pipeline, batches of {BATCH}"),
                Role::Rust,
            ),
            ("python", "pyzmq pipeline", Role::Python),
            ("bare", "bare PUSH → PULL (ceiling)", Role::Ceiling),
        ],
    )?;
    let (major, minor, patch) = zmq::version();
    report.note(format!(
        "One task per message, the original's design, the Rust pipeline reaches {:.2} of \
         the bare rate; with batches of {BATCH}, {:.2}.",
        rust / bare,
        batched / bare
    ));
    report.note(format!(
        "Both pipelines are driven by the same Rust producer (push all — in batches, taking \
         the results that are back between batches — then collect every result on its \
         topic), best of {RUNS} runs; libzmq {major}.{minor}.{patch}."
    ));
    report.note(
        "A task makes two trips (PUSH → PULL, PUB → SUB), is parsed and serialised as JSON \
         and crosses two channels inside the pipeline; the bare rate is one trip of raw bytes. \
         A batch makes those trips, and crosses those channels, once for all its tasks.",
    );
    if let (Some(batched), Some(bare)) = (batched_spread, bare_spread) {
        report.note(format!(
            "Spread of the {RUNS} runs: batches of {BATCH} {:.0}–{:.0} tasks/s, bare {:.0}–{:.0} \
             msgs/s, so the ratio lies between {:.2} (slowest batched run, fastest bare) and \
             {:.2}. The bare loop keeps about one core busy, the batched pipeline both: when \
             other programs share the cores, the pipeline loses more, and the ratio drops.",
            batched.min,
            batched.max,
            bare.min,
            bare.max,
            batched.min / bare.max,
            batched.max / bare.min,
        ));
    }
    report.note(format!(
        "Machine: {} cores available to this process.",
        thread::available_parallelism().map_or(0, usize::from)
    ));
    Ok(report)
}
