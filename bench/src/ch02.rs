//! Chapter 02's "Measure it": the pool against `queue.Queue` + `threading`, and
//! against the bare channel it is built on.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use solution02::work::{count_primes, wait_for};
use solution02::{ThreadPool, WorkerId};

use crate::BenchError;
use crate::python::{Python, peer};
use crate::report::{Report, Target};
use crate::timing::{best_of, rate};

const RUNS: usize = 3;

/// Sizes of one run; `--quick` shrinks them.
struct Sizes {
    noop_jobs: usize,
    python_noop_jobs: usize,
    sleep_tasks: usize,
    sleep: Duration,
    prime_tasks: usize,
    prime_limit: u64,
    python_prime_limit: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                noop_jobs: 200_000,
                python_noop_jobs: 50_000,
                sleep_tasks: 30,
                sleep: Duration::from_millis(20),
                prime_tasks: 4,
                prime_limit: 100_000,
                python_prime_limit: 10_000,
            }
        } else {
            Self {
                noop_jobs: 1_000_000,
                python_noop_jobs: 200_000,
                sleep_tasks: 30,
                sleep: Duration::from_millis(100),
                prime_tasks: 8,
                prime_limit: 500_000,
                python_prime_limit: 20_000,
            }
        }
    }
}

fn failed(error: impl std::fmt::Display) -> BenchError {
    BenchError::Rust(error.to_string())
}

// ANCHOR: pool_jobs
/// Starts a pool of `workers`, queues `jobs` jobs made by `make_job`, and waits
/// until every one has run — start-up, queueing, running and joining, all timed.
/// Returns the best of [`RUNS`] runs.
fn timed<F>(
    workers: usize,
    jobs: usize,
    make_job: impl Fn(usize) -> F,
) -> Result<Duration, BenchError>
where
    F: FnOnce(WorkerId) + Send + 'static,
{
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut pool = ThreadPool::new(workers).map_err(failed)?;
        for job in 0..jobs {
            pool.execute(make_job(job)).map_err(failed)?;
        }
        pool.shutdown();
        best = best.min(start.elapsed());
    }
    Ok(best)
}
// ANCHOR_END: pool_jobs

/// The ceiling: the same number of items through a bare crossbeam channel to the
/// same number of consumer threads, with no boxing and no pool.
fn bare_channel(items: usize, consumers: usize) {
    let (sender, receiver) = unbounded::<usize>();
    let handles: Vec<_> = (0..consumers)
        .map(|_| {
            let receiver = receiver.clone();
            thread::spawn(move || {
                receiver
                    .iter()
                    .fold(0_usize, |sum, item| sum ^ black_box(item))
            })
        })
        .collect();
    for item in 0..items {
        // The consumers outlive the sends, so this cannot fail.
        let _ = sender.send(item);
    }
    drop(sender);
    for handle in handles {
        let _ = handle.join();
    }
}

/// Runs the Python peer in `mode` with `numbers` (repeat count appended) and
/// returns its best wall time.
fn python_seconds(python: &Python, mode: &str, numbers: &[u64]) -> Result<Duration, BenchError> {
    let args: Vec<String> = std::iter::once(mode.to_owned())
        .chain(numbers.iter().map(u64::to_string))
        .chain(std::iter::once(RUNS.to_string()))
        .collect();
    let value = python.run_json(&peer("ch02_queue_workers.py"), &args)?;
    value["seconds"]
        .as_f64()
        .map(Duration::from_secs_f64)
        .ok_or_else(|| BenchError::Rust(format!("the Python peer printed no seconds: {value}")))
}

/// Measures chapter 02 and returns its table.
pub fn run(quick: bool) -> Result<Report, BenchError> {
    let sizes = Sizes::new(quick);
    let python = Python::system()?;
    let mut report = Report::new("Chapter 02 — the in-process dispatcher/worker");

    // 1. No-op jobs through 4 workers: the pure cost of queueing and taking a job.
    //    A closure that captures nothing is zero-sized, so boxing it allocates
    //    nothing; one that owns data (here 8 bytes) costs a heap allocation in the
    //    submitting thread and a free in the worker. Both are shown.
    let workers = 4;
    let jobs = sizes.noop_jobs;
    let pool = rate(jobs, timed(workers, jobs, |_| |_| {})?);
    let owning = rate(
        jobs,
        timed(workers, jobs, |job| {
            move |_| {
                black_box(job);
            }
        })?,
    );
    let bare = rate(jobs, best_of(RUNS, || bare_channel(jobs, workers)));
    let py_jobs = sizes.python_noop_jobs;
    let python_rate = rate(
        py_jobs,
        python_seconds(&python, "noop", &[py_jobs as u64, 4])?,
    );
    report.measure("no-op jobs/s, Rust pool, 4 workers", pool, "jobs/s");
    report.measure(
        "jobs owning 8 bytes/s, Rust pool, 4 workers",
        owning,
        "jobs/s",
    );
    report.measure(
        "items/s, bare crossbeam channel, 4 consumers",
        bare,
        "items/s",
    );
    report.measure(
        "no-op jobs/s, Python queue.Queue + 4 threads",
        python_rate,
        "jobs/s",
    );
    report.goal(
        "Rust pool / Python peer, no-op jobs/s",
        pool / python_rate,
        Target::AtLeast(30.0),
    );
    report.goal(
        "Rust pool / bare channel, no-op rate",
        pool / bare,
        Target::AtLeast(0.5),
    );
    report.note(format!(
        "Jobs that own data run at {:.0}% of the no-op rate: the difference is one \
         allocation per job, freed on another thread.",
        100.0 * owning / pool
    ));

    // 2. Latency hiding: sleeping tasks overlap, so more workers finish sooner.
    let (tasks, pause) = (sizes.sleep_tasks, sizes.sleep);
    for workers in [1, 3, 10] {
        let took = timed(workers, tasks, |_| move |_| wait_for(pause))?;
        let ideal = pause.mul_f64(tasks as f64 / workers as f64);
        let py = python_seconds(
            &python,
            "sleep",
            &[tasks as u64, pause.as_millis() as u64, workers as u64],
        )?;
        report.measure(
            format!("{tasks} × {pause:?} sleeps, {workers:>2} worker(s), Rust"),
            took.as_secs_f64(),
            "s",
        );
        report.measure(
            format!("{tasks} × {pause:?} sleeps, {workers:>2} thread(s), Python"),
            py.as_secs_f64(),
            "s",
        );
        report.goal(
            format!("Rust wall / ideal ({ideal:?}), {workers} worker(s)"),
            took.as_secs_f64() / ideal.as_secs_f64(),
            Target::AtMost(1.05),
        );
    }

    // 3. CPU-bound work: two workers should nearly halve the time in Rust; in
    //    CPython the GIL lets only one thread compute at a time.
    let (tasks, limit, py_limit) = (
        sizes.prime_tasks,
        sizes.prime_limit,
        sizes.python_prime_limit,
    );
    let primes = |_| {
        move |_| {
            black_box(count_primes(limit));
        }
    };
    let rust_one = timed(1, tasks, primes)?;
    let rust_two = timed(2, tasks, primes)?;
    let py_one = python_seconds(&python, "primes", &[tasks as u64, py_limit, 1])?;
    let py_two = python_seconds(&python, "primes", &[tasks as u64, py_limit, 2])?;
    report.measure(
        format!("{tasks} prime counts below {limit}, Rust, 1 worker"),
        rust_one.as_secs_f64(),
        "s",
    );
    report.measure(
        format!("{tasks} prime counts below {limit}, Rust, 2 workers"),
        rust_two.as_secs_f64(),
        "s",
    );
    report.measure(
        format!("{tasks} prime counts below {py_limit}, Python, 1 thread"),
        py_one.as_secs_f64(),
        "s",
    );
    report.measure(
        format!("{tasks} prime counts below {py_limit}, Python, 2 threads"),
        py_two.as_secs_f64(),
        "s",
    );
    report.goal(
        "Rust speed-up, 2 workers vs 1 (CPU-bound)",
        rust_one.as_secs_f64() / rust_two.as_secs_f64(),
        Target::AtLeast(1.8),
    );
    // The prime counts are smaller in Python only so the run stays short; what is
    // compared is each language's own speed-up, not the absolute times.
    let python_speedup = py_one.as_secs_f64() / py_two.as_secs_f64();
    report.note(format!(
        "Python speed-up, 2 threads vs 1: {python_speedup:.2}× (limit {py_limit}, smaller \
         only to keep the run short). {}",
        if python_speedup < 1.3 {
            "The GIL lets one thread run Python bytecode at a time."
        } else {
            "Near 1× is expected with the GIL; a larger figure means the one-thread run \
             was slowed by other load, so measure again on an idle machine."
        }
    ));
    report.note(format!(
        "Machine: {} cores available to this process.",
        thread::available_parallelism().map_or(0, usize::from)
    ));
    Ok(report)
}
