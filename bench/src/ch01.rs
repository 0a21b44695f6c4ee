//! Chapter 01's "Measure it": ten sleeps in a row and side by side, and a shared
//! counter under a lock — each beside the same experiment in Python.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use solution01::shared_counter::increment_from_threads;
use solution01::sleep_tasks::{run_on_threads, run_sequentially};

use crate::BenchError;
use crate::progress::Steps;
use crate::python::{Python, peer};
use crate::report::{Report, Role, Target};
use crate::timing::rate;

fn python(python: &Python, args: &[&str]) -> Result<serde_json::Value, BenchError> {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    Ok(python.run_json(&peer("ch01_threads.py"), &args)?)
}

fn seconds(value: &serde_json::Value, key: &str) -> Result<f64, BenchError> {
    value[key]
        .as_f64()
        .ok_or_else(|| BenchError::Rust(format!("the Python peer printed no {key}: {value}")))
}

/// Measurements in [`run`], for its progress bar.
pub const STEPS: u64 = 4;

/// Measures chapter 01 and returns its results.
pub fn run(quick: bool, steps: &Steps) -> Result<Report, BenchError> {
    let peer_python = Python::system()?;
    let mut report = Report::new("ch01", "Chapter 01 — threads and shared state");

    let (tasks, pause) = (10, Duration::from_millis(if quick { 20 } else { 100 }));
    steps.step("sleeps in a row and on threads, Rust");
    let sequential = run_sequentially(tasks, pause).as_secs_f64();
    let threaded = run_on_threads(tasks, pause).as_secs_f64();
    steps.step("sleeps in a row and on threads, Python");
    let py = python(
        &peer_python,
        &["sleeps", &tasks.to_string(), &pause.as_millis().to_string()],
    )?;
    report.measure(
        "rust_sequential",
        format!("{tasks} × {pause:?} sleeps in a row, Rust"),
        sequential,
        "s",
    );
    report.measure(
        "rust_threads",
        format!("{tasks} × {pause:?} sleeps on {tasks} threads, Rust"),
        threaded,
        "s",
    );
    report.measure(
        "python_sequential",
        format!("{tasks} × {pause:?} sleeps in a row, Python"),
        seconds(&py, "sequential")?,
        "s",
    );
    report.measure(
        "python_threads",
        format!("{tasks} × {pause:?} sleeps on {tasks} threads, Python"),
        seconds(&py, "threads")?,
        "s",
    );
    report.ratio_goal(
        "Rust: in a row / on threads (latency hidden)",
        "rust_sequential",
        "rust_threads",
        Target::AtLeast(5.0),
    )?;

    let (threads, increments) = (4, if quick { 100_000 } else { 1_000_000 });
    steps.step("locked counter, Rust");
    let counter = Arc::new(Mutex::new(0_u64));
    let start = Instant::now();
    increment_from_threads(&counter, threads, increments);
    let rust_rate = rate(threads * increments as usize, start.elapsed());
    steps.step("locked counter, Python");
    let py = python(
        &peer_python,
        &[
            "counter",
            &threads.to_string(),
            &(increments / 10).to_string(),
        ],
    )?;
    let py_rate = (threads as f64 * (increments / 10) as f64) / seconds(&py, "seconds")?;
    report.measure(
        "rust",
        format!("locked increments/s, Rust, {threads} threads"),
        rust_rate,
        "ops/s",
    );
    report.measure(
        "python",
        format!("locked increments/s, Python, {threads} threads"),
        py_rate,
        "ops/s",
    );
    report.bar_chart(
        format!("Chapter 01: a counter under a lock, {threads} threads"),
        "increments/s",
        &[
            ("rust", "Rust, parking_lot::Mutex", Role::Rust),
            ("python", "Python, threading.Lock", Role::Python),
        ],
    )?;
    report.note(
        "Every increment takes the lock. A free parking_lot lock costs nanoseconds; \
         when threads collide they wait their turn. Chapter 02 avoids the question by \
         giving each worker a task of its own instead of shared state.",
    );
    Ok(report)
}
