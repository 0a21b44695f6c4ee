//! Chapter 04's "Measure it": trivial tasks per second through the pull model — a
//! dispatcher and 2 workers — against a pyzmq dispatcher and workers of the
//! original design, and against the bare REQ/REP round trip of the same ZeroMQ
//! library, all in one run — the original protocol (two round trips per task) and
//! the one-trip protocol (each result rides on the next request) side by side.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde_json::json;
use solution04::worker::WorkerProtocol;
use solution04::{
    Client, Dispatcher, DispatcherConfig, Event, EventSink, Shutdown, Worker, WorkerConfig,
};

use crate::BenchError;
use crate::progress::Steps;
use crate::python::{Python, peer};
use crate::report::{Report, Role, Spread, Target};
use crate::timing::rate;

const RUNS: usize = 3;
const WORKERS: usize = 2;
const PROCESSES: usize = 2;
const ANY_PORT: &str = "tcp://127.0.0.1:*";

/// Sizes of one run; `--quick` shrinks them.
struct Sizes {
    tasks: usize,
    python_tasks: usize,
    python_runs: usize,
    round_trips: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                tasks: 3_000,
                python_tasks: 1_000,
                python_runs: 1,
                round_trips: 10_000,
            }
        } else {
            Self {
                tasks: 20_000,
                python_tasks: 4_000,
                python_runs: 2,
                round_trips: 50_000,
            }
        }
    }
}

fn failed(error: impl std::fmt::Display) -> BenchError {
    BenchError::Rust(error.to_string())
}

// ANCHOR: pull_run
/// `tasks` trivial tasks queued, then 2 workers of 2 threads pull them; timed from
/// the first task handed out to the last result accepted, as the Python peer is.
/// `protocol` is how the workers report: two round trips per task, or one.
fn pull_model(tasks: usize, protocol: WorkerProtocol) -> Result<Duration, BenchError> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let (first_out, first_assigned) = bounded::<Instant>(1);
    let (done, all_done) = bounded::<Instant>(1);
    let counter = Arc::clone(&accepted);
    let events: EventSink = Arc::new(move |event: &Event| {
        if matches!(event, Event::Assigned { .. }) {
            let _ = first_out.try_send(Instant::now());
        }
        let last = matches!(event, Event::ResultAccepted { .. })
            && counter.fetch_add(1, Ordering::Relaxed) + 1 == tasks;
        if last {
            let _ = done.try_send(Instant::now());
        }
    });
    let config = DispatcherConfig {
        workers_endpoint: ANY_PORT.to_owned(),
        clients_endpoint: ANY_PORT.to_owned(),
        ..DispatcherConfig::default()
    };
    let dispatcher = Dispatcher::bind(config, events).map_err(failed)?;
    let (workers_endpoint, clients_endpoint) = (
        dispatcher.workers_endpoint().to_owned(),
        dispatcher.clients_endpoint().to_owned(),
    );
    let stop = Shutdown::new();
    let serving = {
        let stop = stop.clone();
        thread::spawn(move || dispatcher.run(&stop))
    };

    let mut client = Client::connect(&clients_endpoint, Duration::from_secs(5)).map_err(failed)?;
    for _ in 0..tasks {
        client
            .submit("add", json!({"a": 10, "b": 5}))
            .map_err(failed)?;
    }
    let quiet: EventSink = Arc::new(|_: &Event| {});
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let config = WorkerConfig {
                protocol,
                ..WorkerConfig::new(&workers_endpoint, PROCESSES)
            };
            let worker = Worker::start(config, EventSink::clone(&quiet)).map_err(failed)?;
            let stop = stop.clone();
            Ok(thread::spawn(move || worker.run(&stop)))
        })
        .collect::<Result<_, BenchError>>()?;

    let limit = Duration::from_secs(300);
    let outcome = all_done
        .recv_timeout(limit)
        .map_err(|_| failed(format!("{tasks} tasks did not finish within {limit:?}")))
        .and_then(|end| {
            let start = first_assigned.try_recv().map_err(failed)?;
            Ok(end - start)
        });
    stop.stop();
    for worker in workers {
        let _ = worker.join();
    }
    let _ = serving.join();
    outcome
}
// ANCHOR_END: pull_run

/// A REP socket on a free loopback port that echoes `frames` frames on its own
/// thread, and the endpoint it listens on.
fn echo_server(
    context: &zmq::Context,
    frames: usize,
) -> Result<(String, thread::JoinHandle<Result<(), zmq::Error>>), BenchError> {
    let server = context.socket(zmq::REP).map_err(failed)?;
    server.bind(ANY_PORT).map_err(failed)?;
    let endpoint = server
        .get_last_endpoint()
        .map_err(failed)?
        .map_err(|_| failed("the bound endpoint is not text"))?;
    let echo = thread::spawn(move || -> Result<(), zmq::Error> {
        for _ in 0..frames {
            let frame = server.recv_bytes(0)?;
            server.send(frame, 0)?;
        }
        Ok(())
    });
    Ok((endpoint, echo))
}

/// The ceiling of any REQ/REP design: bare round trips of a tiny frame between a
/// REQ and a REP socket of the same library, over the same loopback TCP.
fn bare_round_trips(round_trips: usize) -> Result<Duration, BenchError> {
    let context = zmq::Context::new();
    let (endpoint, echo) = echo_server(&context, round_trips)?;
    let client = context.socket(zmq::REQ).map_err(failed)?;
    client.connect(&endpoint).map_err(failed)?;
    let start = Instant::now();
    for _ in 0..round_trips {
        client.send("REQUEST_TASK", 0).map_err(failed)?;
        client.recv_bytes(0).map_err(failed)?;
    }
    let took = start.elapsed();
    echo.join()
        .map_err(|_| failed("the echo thread panicked"))?
        .map_err(failed)?;
    Ok(took)
}

/// Bare round trips in the run's shape: one REP socket and [`WORKERS`] REQ
/// sockets, each in its own context (so each end has its own I/O thread, as
/// separate processes have), all asking at once. Each REQ's first round trip, which
/// waits for the connection, is not timed.
fn bare_round_trips_run_shape(round_trips: usize) -> Result<(usize, Duration), BenchError> {
    let per_client = round_trips / WORKERS;
    let server_context = zmq::Context::new();
    let (endpoint, echo) = echo_server(&server_context, per_client * WORKERS)?;
    let connected = Arc::new(std::sync::Barrier::new(WORKERS + 1));
    let clients: Vec<_> = (0..WORKERS)
        .map(|_| {
            let endpoint = endpoint.clone();
            let connected = Arc::clone(&connected);
            thread::spawn(move || -> Result<(), zmq::Error> {
                let client = zmq::Context::new().socket(zmq::REQ)?;
                client.connect(&endpoint)?;
                let round_trip = || -> Result<(), zmq::Error> {
                    client.send("REQUEST_TASK", 0)?;
                    client.recv_bytes(0).map(drop)
                };
                let first = round_trip();
                connected.wait();
                first?;
                (1..per_client).try_for_each(|_| round_trip())
            })
        })
        .collect();
    connected.wait();
    let start = Instant::now();
    for client in clients {
        client
            .join()
            .map_err(|_| failed("a REQ thread panicked"))?
            .map_err(failed)?;
    }
    let took = start.elapsed();
    echo.join()
        .map_err(|_| failed("the echo thread panicked"))?
        .map_err(failed)?;
    Ok((WORKERS * (per_client - 1), took))
}

/// The best of `rates`, and how far apart they were.
fn best(rates: &[f64]) -> (f64, Option<Spread>) {
    let best = rates.iter().copied().fold(0.0, f64::max);
    (best, Spread::of(rates))
}

/// Measurements in [`run`], for its progress bar.
pub const STEPS: u64 = 2 + RUNS as u64;

/// Measures chapter 04 and returns its results.
pub fn run(quick: bool, steps: &Steps) -> Result<Report, BenchError> {
    let sizes = Sizes::new(quick);
    steps.step("Python venv with pyzmq");
    let python = Python::venv(&["pyzmq"])?;
    let mut report = Report::new("ch04", "Chapter 04 — the ZeroMQ pull model");

    // The Rust measurements take turns, run after run, rather than each running
    // its three times in a row: on a shared machine the load changes from minute to
    // minute, and a ratio of two rates is only fair if both saw the same load.
    let (mut originals, mut one_trips, mut bares, mut run_shapes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=RUNS {
        steps.step(format!(
            "Rust: original, one-trip, bare REQ/REP, run-shaped bare (run {round} of {RUNS})"
        ));
        let original = pull_model(sizes.tasks, WorkerProtocol::Original)?;
        originals.push(rate(sizes.tasks, original));
        let one_trip = pull_model(sizes.tasks, WorkerProtocol::OneTrip)?;
        one_trips.push(rate(sizes.tasks, one_trip));
        bares.push(rate(
            sizes.round_trips,
            bare_round_trips(sizes.round_trips)?,
        ));
        let (round_trips, took) = bare_round_trips_run_shape(sizes.round_trips)?;
        run_shapes.push(rate(round_trips, took));
    }
    let (rust, rust_spread) = best(&originals);
    let (one_trip, one_trip_spread) = best(&one_trips);
    let (bare, bare_spread) = best(&bares);
    let (run_shape, run_shape_spread) = best(&run_shapes);
    steps.step("pyzmq dispatcher and workers");
    let args = [
        "bench".to_owned(),
        sizes.python_tasks.to_string(),
        WORKERS.to_string(),
        PROCESSES.to_string(),
        sizes.python_runs.to_string(),
    ];
    let value = python.run_json(&peer("pull_dispatcher.py"), &args)?;
    let python_seconds = value["seconds"]
        .as_f64()
        .ok_or_else(|| failed(format!("the Python peer printed no seconds: {value}")))?;
    let python_rate = sizes.python_tasks as f64 / python_seconds;

    report.measure_spread(
        "rust",
        format!("trivial tasks/s, Rust dispatcher + {WORKERS} workers × {PROCESSES} threads"),
        rust,
        "tasks/s",
        rust_spread,
    );
    report.measure_spread(
        "rust_one_trip",
        format!(
            "trivial tasks/s, one-trip protocol, Rust dispatcher + {WORKERS} workers × {PROCESSES} threads"
        ),
        one_trip,
        "tasks/s",
        one_trip_spread,
    );
    report.measure(
        "python",
        format!("trivial tasks/s, pyzmq dispatcher + {WORKERS} workers × {PROCESSES} processes"),
        python_rate,
        "tasks/s",
    );
    report.measure_spread(
        "bare",
        "bare REQ/REP round trips/s, zmq crate, 1 pair",
        bare,
        "round trips/s",
        bare_spread,
    );
    report.measure_spread(
        "bare_run_shape",
        format!("bare REQ/REP round trips/s, 1 REP + {WORKERS} REQ, a context each"),
        run_shape,
        "round trips/s",
        run_shape_spread,
    );
    report.ratio_goal(
        "Rust / Python peer, tasks/s",
        "rust",
        "python",
        Target::AtLeast(3.0),
    )?;
    report.ratio_goal(
        "Rust tasks/s / bare round trips/s",
        "rust",
        "bare",
        Target::AtLeast(0.4),
    )?;
    report.ratio_goal(
        "one-trip / original protocol, tasks/s",
        "rust_one_trip",
        "rust",
        Target::AtLeast(1.8),
    )?;
    report.ratio_goal(
        "one-trip tasks/s / bare round trips/s",
        "rust_one_trip",
        "bare",
        Target::AtLeast(0.9),
    )?;
    report.bar_chart(
        "Chapter 04: trivial tasks through the pull model",
        "tasks/s (bare: round trips/s)",
        &[
            ("rust", "Rust dispatcher + workers", Role::Rust),
            ("rust_one_trip", "Rust, one round trip per task", Role::Rust),
            ("python", "pyzmq dispatcher + workers", Role::Python),
            ("bare", "bare REQ/REP (ceiling)", Role::Ceiling),
            (
                "bare_run_shape",
                "bare REQ/REP, 1 REP + 2 REQ (the run's shape)",
                Role::Ceiling,
            ),
        ],
    )?;
    report.note(format!(
        "In the original protocol each task costs two round trips (REQUEST_TASK, then \
         RESULT:), so one worker alone reaches at most half the bare rate; two workers \
         overlap their round trips on the wire, which leaves the dispatcher's one thread, \
         answering two frames per task, as the limit. The one-trip protocol \
         (pull_worker --protocol one-trip) carries each result on the next request \
         (RESULT_AND_REQUEST): one frame per task, and its worker's DEALER socket keeps \
         one request in flight per free thread instead of waiting for each answer, so \
         the dispatcher finds the next request already waiting. The bare pair's two \
         sockets share one context, so one I/O thread serves both ends (three thread \
         hand-offs per round trip); the dispatcher and each worker have their own, as \
         separate processes would (six). The run-shaped row, with no goal of its own, \
         is that shape bare: one REP, {WORKERS} REQ sockets asking at once, a context \
         each. The original protocol's dispatcher answers two such frames per task: \
         twice its tasks/s against this row is what its code adds to the round trips."
    ));
    report.note(format!(
        "Timed from the first task handed out to the last result accepted; {} tasks for Rust, \
         {} for Python; best of {RUNS} (Rust) and {} (Python) runs, the Rust \
         measurements taking turns so that all of them see the same load. Machine: {} cores.",
        sizes.tasks,
        sizes.python_tasks,
        sizes.python_runs,
        thread::available_parallelism().map_or(0, usize::from)
    ));
    Ok(report)
}
