//! Chapter 02's "Measure it": the pool against `queue.Queue` + `threading`, and
//! against the bare channel it is built on.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use solution02::work::{count_primes, wait_for};
use solution02::{ThreadPool, WorkerId};

use crate::BenchError;
use crate::progress::Steps;
use crate::python::{Python, peer};
use crate::report::{Chart, Plot, Report, Role, Series, Spread, Target};
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
                prime_tasks: 8,
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
/// Returns the best of `runs` runs.
fn timed<F>(
    runs: usize,
    workers: usize,
    jobs: usize,
    make_job: impl Fn(usize) -> F,
) -> Result<Duration, BenchError>
where
    F: FnOnce(WorkerId) + Send + 'static,
{
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
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
/// returns its best wall time of [`RUNS`] runs.
fn python_seconds(python: &Python, mode: &str, numbers: &[u64]) -> Result<Duration, BenchError> {
    python_seconds_runs(python, RUNS, mode, numbers)
}

/// [`python_seconds`], best of `runs` runs.
fn python_seconds_runs(
    python: &Python,
    runs: usize,
    mode: &str,
    numbers: &[u64],
) -> Result<Duration, BenchError> {
    let args: Vec<String> = std::iter::once(mode.to_owned())
        .chain(numbers.iter().map(u64::to_string))
        .chain(std::iter::once(runs.max(1).to_string()))
        .collect();
    let value = python.run_json(&peer("ch02_queue_workers.py"), &args)?;
    value["seconds"]
        .as_f64()
        .map(Duration::from_secs_f64)
        .ok_or_else(|| BenchError::Rust(format!("the Python peer printed no seconds: {value}")))
}

/// Pool sizes of the CPU-bound scaling run.
const SCALING: [usize; 4] = [1, 2, 4, 8];
/// Rounds of the scaling run: each round times every pool size in turn, in both
/// languages, so a burst of other work on the machine hits all sizes alike.
const SCALING_ROUNDS: usize = 5;

/// Measurements in [`run`], for its progress bar.
pub const STEPS: u64 = 7 + SCALING_ROUNDS as u64;

/// Measures chapter 02 and returns its results.
pub fn run(quick: bool, steps: &Steps) -> Result<Report, BenchError> {
    let sizes = Sizes::new(quick);
    let python = Python::system()?;
    let mut report = Report::new("ch02", "Chapter 02 — the in-process dispatcher/worker");

    // 1. No-op jobs through 4 workers: the pure cost of queueing and taking a job.
    //    A closure that captures nothing is zero-sized, so boxing it allocates
    //    nothing; one that owns data (here 8 bytes) costs a heap allocation in the
    //    submitting thread and a free in the worker. Both are shown.
    let workers = 4;
    let jobs = sizes.noop_jobs;
    steps.step("no-op jobs, Rust pool");
    let pool = rate(jobs, timed(RUNS, workers, jobs, |_| |_| {})?);
    steps.step("jobs owning 8 bytes, Rust pool");
    let owning = rate(
        jobs,
        timed(RUNS, workers, jobs, |job| {
            move |_| {
                black_box(job);
            }
        })?,
    );
    steps.step("items through a bare crossbeam channel");
    let bare = rate(jobs, best_of(RUNS, || bare_channel(jobs, workers)));
    steps.step("no-op jobs, Python queue.Queue");
    let py_jobs = sizes.python_noop_jobs;
    let python_rate = rate(
        py_jobs,
        python_seconds(&python, "noop", &[py_jobs as u64, 4])?,
    );
    report.measure("rust", "no-op jobs/s, Rust pool, 4 workers", pool, "jobs/s");
    report.measure(
        "rust_owning",
        "jobs owning 8 bytes/s, Rust pool, 4 workers",
        owning,
        "jobs/s",
    );
    report.measure(
        "bare",
        "items/s, bare crossbeam channel, 4 consumers",
        bare,
        "items/s",
    );
    report.measure(
        "python",
        "no-op jobs/s, Python queue.Queue + 4 threads",
        python_rate,
        "jobs/s",
    );
    report.ratio_goal(
        "Rust pool / Python peer, no-op jobs/s",
        "rust",
        "python",
        Target::AtLeast(30.0),
    )?;
    report.ratio_goal(
        "Rust pool / bare channel, no-op rate",
        "rust",
        "bare",
        Target::AtLeast(0.5),
    )?;
    report.bar_chart(
        "Chapter 02: no-op jobs through 4 workers",
        "jobs/s",
        &[
            ("rust", "Rust pool", Role::Rust),
            ("rust_owning", "Rust pool, jobs owning 8 bytes", Role::Rust),
            ("python", "Python queue.Queue + threads", Role::Python),
            ("bare", "bare crossbeam channel (ceiling)", Role::Ceiling),
        ],
    )?;
    report.note(format!(
        "Jobs that own data run at {:.0}% of the no-op rate: the difference is one \
         allocation per job, freed on another thread.",
        100.0 * owning / pool
    ));

    // 2. Latency hiding: sleeping tasks overlap, so more workers finish sooner.
    let (tasks, pause) = (sizes.sleep_tasks, sizes.sleep);
    for workers in [1, 3, 10] {
        steps.step(format!("sleeps on {workers} worker(s), Rust and Python"));
        let took = timed(RUNS, workers, tasks, |_| move |_| wait_for(pause))?;
        let ideal = pause.mul_f64(tasks as f64 / workers as f64);
        let py = python_seconds(
            &python,
            "sleep",
            &[tasks as u64, pause.as_millis() as u64, workers as u64],
        )?;
        report.measure(
            format!("rust_sleep_{workers}"),
            format!("{tasks} × {pause:?} sleeps, {workers:>2} worker(s), Rust"),
            took.as_secs_f64(),
            "s",
        );
        report.measure(
            format!("python_sleep_{workers}"),
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

    // 3. CPU-bound work over 1, 2, 4 and 8 workers: Rust speeds up until the cores
    //    run out; in CPython the GIL lets only one thread compute at a time.
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
    let mut rust_runs = vec![Vec::new(); SCALING.len()];
    let mut python_runs = vec![Vec::new(); SCALING.len()];
    for round in 0..SCALING_ROUNDS {
        steps.step(format!(
            "prime counts on 1, 2, 4, 8 workers, Rust and Python, round {} of {SCALING_ROUNDS}",
            round + 1
        ));
        for (index, &workers) in SCALING.iter().enumerate() {
            let took = timed(1, workers, tasks, primes)?;
            rust_runs[index].push(took.as_secs_f64());
            let took = python_seconds_runs(
                &python,
                1,
                "primes",
                &[tasks as u64, py_limit, workers as u64],
            )?;
            python_runs[index].push(took.as_secs_f64());
        }
    }
    let best = |runs: &[f64]| runs.iter().copied().fold(f64::INFINITY, f64::min);
    let rust_times: Vec<f64> = rust_runs.iter().map(|runs| best(runs)).collect();
    let python_times: Vec<f64> = python_runs.iter().map(|runs| best(runs)).collect();
    for (index, &workers) in SCALING.iter().enumerate() {
        report.measure_spread(
            format!("rust_primes_{workers}"),
            format!("{tasks} prime counts below {limit}, Rust, {workers} worker(s)"),
            rust_times[index],
            "s",
            Spread::of(&rust_runs[index]),
        );
    }
    for (index, &workers) in SCALING.iter().enumerate() {
        report.measure_spread(
            format!("python_primes_{workers}"),
            format!("{tasks} prime counts below {py_limit}, Python, {workers} thread(s)"),
            python_times[index],
            "s",
            Spread::of(&python_runs[index]),
        );
    }
    report.ratio_goal(
        "Rust speed-up, 2 workers vs 1 (CPU-bound)",
        "rust_primes_1",
        "rust_primes_2",
        Target::AtLeast(1.8),
    )?;
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let speedups = |times: &[f64]| times.iter().map(|t| times[0] / t).collect::<Vec<_>>();
    report.line_chart(
        "scaling",
        Chart {
            file: String::new(),
            title: format!("Chapter 02: CPU-bound tasks, speed-up over 1 worker ({cores} cores)"),
            x_label: "workers (threads)".to_owned(),
            y_label: "speed-up over 1 worker (×)".to_owned(),
            plot: Plot::Lines {
                categories: SCALING.iter().map(usize::to_string).collect(),
                series: vec![
                    Series {
                        name: format!("ideal on {cores} cores"),
                        role: Role::Ceiling,
                        values: SCALING.iter().map(|w| (*w).min(cores) as f64).collect(),
                    },
                    Series {
                        name: "Rust pool".to_owned(),
                        role: Role::Rust,
                        values: speedups(&rust_times),
                    },
                    Series {
                        name: "Python queue.Queue + threads".to_owned(),
                        role: Role::Python,
                        values: speedups(&python_times),
                    },
                ],
                log_scale: false,
            },
        },
    );
    // The prime counts are smaller in Python only so the run stays short; what is
    // compared is each language's own speed-up, not the absolute times.
    let python_speedup = python_times[0] / python_times[1];
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
        "Prime counts: best of {SCALING_ROUNDS} rounds, each timing 1, 2, 4 and 8 workers in \
         turn in both languages. Machine: {cores} cores available to this process."
    ));
    Ok(report)
}
