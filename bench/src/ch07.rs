//! Chapter 07's "Measure it": tasks per second end to end, through a controller
//! and two workers, each on its own connection to a `nats-server` started for the
//! run — this chapter's JetStream design (protobuf tasks stored in a work-queue
//! stream, outcomes fenced in a bucket, acks confirmed) against a Python peer of
//! the NATS original's design with `nats-py` (core NATS requests straight to a
//! worker, nothing stored), in the same run. Chapter 05's dispatcher and workers
//! are measured in the same `bench all` run, in chapter 05's table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use solution02::{Op, Shutdown, TaskSpec};
use solution07::controller::{Controller, ControllerConfig, PUBLISH_WINDOW};
use solution07::event::{Event, EventSink};
use solution07::server::NatsServer;
use solution07::task::{KINDS, new_task};
use solution07::worker::{self, WorkerConfig};

use crate::BenchError;
use crate::progress::Steps;
use crate::python::{Python, peer, workspace_root};
use crate::report::{Report, Role, Spread, Target};
use crate::timing::rate;

const RUNS: usize = 3;
const WORKERS: usize = 2;
/// Tasks each worker asks for in one request, and runs at once.
const WORKER_BATCH: usize = 64;

/// Measurements in [`run`], for its progress bar.
pub const STEPS: u64 = 1 + 2 * RUNS as u64;

fn failed(error: impl std::fmt::Display) -> BenchError {
    BenchError::Rust(error.to_string())
}

// ANCHOR: rust_end_to_end
/// One run of this chapter's design on a fresh server: two workers ready, then
/// `tasks` tasks submitted and waited for; the time from the first submission to
/// the last outcome.
async fn rust_end_to_end(url: &str, tasks: usize) -> Result<Duration, BenchError> {
    let servers = vec![url.to_owned()];
    let ready = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ready);
    let events: EventSink = Arc::new(move |event: &Event| {
        if matches!(event, Event::Ready { .. }) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let stop = Shutdown::new();
    let mut workers = Vec::new();
    for n in 1..=WORKERS {
        let config =
            WorkerConfig::new(&servers, &format!("Worker{n}"), &KINDS).with_batch(WORKER_BATCH);
        let (events, stop) = (Arc::clone(&events), stop.clone());
        workers.push(tokio::spawn(worker::run(config, events, stop)));
    }
    let mut controller = Controller::connect(&ControllerConfig::new(&servers), Arc::clone(&events))
        .await
        .map_err(failed)?;
    while ready.load(Ordering::SeqCst) < WORKERS {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let start = Instant::now();
    let batch = (0..tasks).map(|n| {
        let spec = TaskSpec {
            op: Op::Add,
            a: n as i64,
            b: 1,
        };
        new_task(format!("b{n}"), spec)
    });
    controller.submit_all(batch).await.map_err(failed)?;
    let outcomes = controller.wait(&Shutdown::new()).await.map_err(failed)?;
    let took = start.elapsed();
    stop.stop();
    for handle in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }
    if outcomes.len() != tasks {
        return Err(failed(format!(
            "{} of {tasks} tasks decided",
            outcomes.len()
        )));
    }
    Ok(took)
}
// ANCHOR_END: rust_end_to_end

/// Best rate of RUNS runs, each on a server of its own, and their spread.
fn runs(
    name: &str,
    tasks: usize,
    steps: &Steps,
    mut measure: impl FnMut(&str) -> Result<Duration, BenchError>,
) -> Result<(f64, Option<Spread>), BenchError> {
    let mut rates = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        steps.step(format!("{name}, run {} of {RUNS}", run + 1));
        let server = NatsServer::start().map_err(failed)?;
        rates.push(rate(tasks, measure(&server.url())?));
    }
    let best = rates.iter().copied().fold(0.0, f64::max);
    Ok((best, Spread::of(&rates)))
}

/// Measures chapter 07 and returns its results.
pub fn run(quick: bool, steps: &Steps) -> Result<Report, BenchError> {
    let tasks = if quick { 300 } else { 3_000 };
    let mut report = Report::new(
        "ch07",
        "Chapter 07 — NATS JetStream: tasks per second end to end, controller + 2 workers",
    );
    steps.step("Python venv with nats-py and grpcio-tools");
    let python = Python::venv(&["nats-py", "grpcio-tools"])?;
    let stubs = workspace_root().join("target").join("ch07-bench-stubs");
    python.grpc_stubs(&stubs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(failed)?;

    let (value, spread) = runs("Python original (core NATS)", tasks, steps, |url| {
        let args = [
            "--stubs".to_owned(),
            stubs.display().to_string(),
            "--server".to_owned(),
            url.to_owned(),
            "--tasks".to_owned(),
            tasks.to_string(),
            "--workers".to_owned(),
            WORKERS.to_string(),
        ];
        let answer = python.run_json(&peer("ch07_nats_py.py"), &args)?;
        let seconds = answer["seconds"]
            .as_f64()
            .ok_or_else(|| failed(format!("the peer printed {answer}")))?;
        Ok(Duration::from_secs_f64(seconds))
    })?;
    report.measure_spread(
        "python_core",
        "Python original: nats-py requests to 2 workers, nothing stored",
        value,
        "tasks/s",
        spread,
    );
    let (value, spread) = runs("Rust on JetStream", tasks, steps, |url| {
        runtime.block_on(rust_end_to_end(url, tasks))
    })?;
    report.measure_spread(
        "rust_jetstream",
        "Rust: JetStream stream + 2 pull workers + results bucket",
        value,
        "tasks/s",
        spread,
    );
    report.ratio_goal(
        "durable JetStream tasks at no less than a tenth of the original's unstored requests",
        "rust_jetstream",
        "python_core",
        Target::AtLeast(0.1),
    )?;
    report.note(format!(
        "{tasks} add tasks, no simulated work; each run on a fresh nats-server with a store in \
         a temporary folder. The Python peer keeps up to 64 requests in flight; the Rust \
         controller keeps up to {PUBLISH_WINDOW} publishes awaiting the stream's \
         confirmation (submit_all), and each Rust worker asks for up to {WORKER_BATCH} tasks \
         per request and runs them side by side (batch)."
    ));
    report.bar_chart(
        "Tasks per second end to end, controller + 2 workers",
        "tasks/s",
        &[
            ("python_core", "Python, core NATS", Role::Python),
            ("rust_jetstream", "Rust, JetStream", Role::Rust),
        ],
    )?;
    Ok(report)
}
