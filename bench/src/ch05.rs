//! Chapter 05's "Measure it": how many tasks per second one connection can claim
//! and complete through the SQLite store — two `BEGIN IMMEDIATE` transactions
//! each — against a Python peer running the same transactions with the standard
//! library's `sqlite3`, on identical database files, in the same run.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use solution05::{NewTask, Store, StoreConfig};

use crate::BenchError;
use crate::python::{Python, peer};
use crate::report::{Report, Target};
use crate::timing::rate;

const RUNS: usize = 3;
const WORKER: &str = "bench";

fn failed(error: impl std::fmt::Display) -> BenchError {
    BenchError::Rust(error.to_string())
}

/// A folder for this run's database files, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, BenchError> {
        let path = std::env::temp_dir().join(format!("workbook-bench-ch05-{}", std::process::id()));
        fs::create_dir_all(&path).map_err(failed)?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh database with `tasks` queued `add` tasks and one registered worker.
fn prepare(path: &Path, tasks: usize) -> Result<(), BenchError> {
    let mut store = Store::open(path, StoreConfig::default()).map_err(failed)?;
    let now = SystemTime::now();
    for n in 0..tasks {
        let task = NewTask::new("add", json!({ "a": n, "b": 1 }));
        store.submit(&task, now).map_err(failed)?;
    }
    store
        .register(WORKER, &["add".to_owned()], now)
        .map_err(failed)?;
    Ok(())
}

// ANCHOR: claim_complete
/// Claims and completes every task on one connection; returns the loop's time.
fn claim_and_complete(path: &Path) -> Result<(Duration, usize), BenchError> {
    let mut store = Store::open(path, StoreConfig::default()).map_err(failed)?;
    let start = Instant::now();
    let mut done = 0;
    while let Some(lease) = store.claim(WORKER, SystemTime::now()).map_err(failed)? {
        let sum = lease.args["a"].as_i64().unwrap_or(0) + lease.args["b"].as_i64().unwrap_or(0);
        store
            .complete(
                lease.task_id,
                &lease.lease_token,
                json!(sum),
                SystemTime::now(),
            )
            .map_err(failed)?;
        done += 1;
    }
    Ok((start.elapsed(), done))
}
// ANCHOR_END: claim_complete

/// Measures chapter 05 and returns its table.
pub fn run(quick: bool) -> Result<Report, BenchError> {
    let tasks = if quick { 2_000 } else { 20_000 };
    let python = Python::system()?;
    let scratch = Scratch::new()?;
    let mut report = Report::new("Chapter 05 — claim + complete on the SQLite store");

    let (mut rust_best, mut python_best) = (Duration::MAX, f64::MAX);
    for run in 0..RUNS {
        let rust_db = scratch.0.join(format!("rust-{run}.db"));
        prepare(&rust_db, tasks)?;
        let (took, done) = claim_and_complete(&rust_db)?;
        if done != tasks {
            return Err(failed(format!("Rust completed {done} of {tasks} tasks")));
        }
        rust_best = rust_best.min(took);

        let python_db = scratch.0.join(format!("python-{run}.db"));
        prepare(&python_db, tasks)?;
        let args = [
            python_db.display().to_string(),
            WORKER.to_owned(),
            StoreConfig::default().lease.as_millis().to_string(),
        ];
        let value = python.run_json(&peer("ch05_sqlite_queue.py"), &args)?;
        let seconds = value["seconds"].as_f64();
        let done = value["tasks"].as_u64();
        match (seconds, done) {
            (Some(seconds), Some(done)) if done == tasks as u64 => {
                python_best = python_best.min(seconds);
            }
            _ => return Err(failed(format!("the Python peer printed {value}"))),
        }
    }
    let rust = rate(tasks, rust_best);
    let python_rate = tasks as f64 / python_best;
    report.measure(
        "claim + complete/s, Rust Store (rusqlite, bundled SQLite)",
        rust,
        "tasks/s",
    );
    report.measure(
        "claim + complete/s, Python sqlite3, same transactions",
        python_rate,
        "tasks/s",
    );
    report.goal(
        "Rust / Python, claim + complete/s",
        rust / python_rate,
        Target::AtLeast(5.0),
    );
    report.note(
        "Both sides run the same SQL in the same two BEGIN IMMEDIATE transactions per task, \
         on identical WAL database files (synchronous=NORMAL) prepared by the Rust side; \
         only the loop is timed, not Python's start-up.",
    );
    report.note(format!(
        "{tasks} tasks per run, one connection, best of {RUNS} runs each. Most of each \
         transaction's time is SQLite's own C code, which both sides share; the ratio measures \
         what each language adds around it. Machine: {} cores.",
        std::thread::available_parallelism().map_or(0, usize::from)
    ));
    Ok(report)
}
