//! Chaos: run a chapter's real binaries, kill them on a seeded schedule, and check
//! that every task still ends with the right result.
//!
//! The chapters *claim* things — chapter 05's queue loses no task when a worker or
//! the dispatcher dies; chapter 04's dispatcher fails a task whose worker died, so
//! its client can send it again — and their tests check each claim once, on a
//! handful of tasks. This crate checks them the way a production system is
//! tested: thousands of tasks with known answers, a worker killed with SIGKILL
//! every couple of seconds, the dispatcher every ten, each restarted with the same
//! arguments (the same database, the same port), and at the end every task's
//! final state compared with the answer computed here. The report counts what
//! happened and what went wrong: 0 lost and 0 wrong is the only pass.
//!
//! - [`process`]: a binary we can start, SIGKILL and start again, its output in a log.
//! - [`plan`]: the seeded schedule of kills.
//! - [`tasks`]: tasks whose right results are known in advance.
//! - [`ch04`], [`ch05`], [`ch06`]: one run against each chapter's binaries.
//! - [`supervise`]: the kill plan carried out on the processes, each turn of a run.
//! - [`turns`]: a run's main loop in time: its turns, its progress lines, its limit.
//! - [`report`]: the figures, and whether the run passed.
//! - [`binaries`]: builds a chapter's binaries and finds them, for the `chaos` command.

pub mod binaries;
pub mod ch04;
pub mod ch05;
pub mod ch06;
pub mod plan;
pub mod process;
pub mod report;
pub mod supervise;
pub mod tasks;
pub mod turns;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use report::Report;
use tasks::Checkable;

/// Why a run could not be carried out (as opposed to a run that found lost or
/// wrong tasks, which is a [`Report`] that did not pass).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("could not {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{name} did not start (log {log}); its last lines:\n{tail}")]
    NotStarted {
        name: String,
        log: String,
        tail: String,
    },
    #[error("building the binaries failed: {0}")]
    Build(String),
    #[error("{0}")]
    Setup(String),
}

/// The lease timings of chapter 05's dispatcher and chapter 06's server, which
/// is chapter 05's queue over gRPC. Leases last 3 s. A worker is dead after 10 s
/// of silence, longer than any restart here: a killed worker is back, alive,
/// under the same id long before, so the tasks it held come back only through
/// their leases' expiry — the path a quickly restarted worker depends on, and
/// the one these runs check.
pub const LEASE_TIMINGS: [&str; 6] = [
    "--lease",
    "3",
    "--dead-after",
    "10",
    "--monitor-every",
    "0.2",
];

/// What every chapter's run takes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How many tasks to submit.
    pub tasks: usize,
    /// Worker processes.
    pub workers: usize,
    /// Threads (or "processes") per worker.
    pub threads: u16,
    /// Seeds the tasks and the kill schedule.
    pub seed: u64,
    /// Mean time between worker kills; `None`: never.
    pub worker_kill_every: Option<Duration>,
    /// Mean time between dispatcher kills; `None`: never.
    pub dispatcher_kill_every: Option<Duration>,
    /// The longest a killed process stays down before it is started again.
    pub downtime: Duration,
    /// Tasks submitted per second (spreads the submissions over the run, so kills
    /// land while work is in flight); `None`: as fast as the dispatcher takes them.
    pub rate: Option<f64>,
    /// One task in this many is a short sleep (0: none).
    pub sleep_one_in: u32,
    /// The longest such sleep, in milliseconds.
    pub sleep_ms_max: u64,
    /// The whole run's time limit: tasks not final by then are reported lost.
    pub limit: Duration,
    /// A folder for databases, caches and logs (it must exist).
    pub dir: PathBuf,
}

impl Settings {
    /// The full run: `tasks` tasks, 4 workers of 2 threads, a worker killed
    /// every ~2 s and the dispatcher every ~10 s, 200 submissions a second.
    pub fn new(tasks: usize, dir: PathBuf) -> Self {
        Self {
            tasks,
            workers: 4,
            threads: 2,
            seed: 1,
            worker_kill_every: Some(Duration::from_secs(2)),
            dispatcher_kill_every: Some(Duration::from_secs(10)),
            downtime: Duration::from_millis(500),
            rate: Some(200.0),
            sleep_one_in: 10,
            sleep_ms_max: 50,
            limit: Duration::from_secs(600),
            dir,
        }
    }
}

impl Settings {
    /// The run's tasks, with their right results, shared with its client threads.
    pub fn checkable_tasks(&self) -> Arc<Vec<Checkable>> {
        Arc::new(tasks::checkable_tasks(
            self.tasks,
            self.seed,
            self.sleep_one_in,
            self.sleep_ms_max,
        ))
    }
}

/// Where progress lines go (the command prints them; tests may drop them).
pub type Progress<'a> = &'a dyn Fn(&str);

impl Settings {
    /// The chapters' tests' short run: 300 tasks on 3 workers, 50 submitted a
    /// second, a worker killed about every second and the dispatcher about every
    /// three, each back within 300 ms, and a minute for it all.
    pub fn short(seed: u64, dir: PathBuf) -> Self {
        Self {
            seed,
            workers: 3,
            rate: Some(50.0),
            worker_kill_every: Some(Duration::from_secs(1)),
            dispatcher_kill_every: Some(Duration::from_secs(3)),
            downtime: Duration::from_millis(300),
            limit: Duration::from_secs(60),
            ..Self::new(300, dir)
        }
    }
}

/// Carries out a short run, as the chapters' tests do — progress and report on
/// stderr — and says why it failed: it could not be carried out, it did not
/// kill (at least 2 workers and 1 dispatcher), or a task was lost or wrong.
pub fn short_run(
    settings: &Settings,
    run: impl FnOnce(&Settings, Progress<'_>) -> Result<Report, ChaosError>,
) -> Result<Report, String> {
    let report = run(settings, &|line| eprintln!("{line}"))
        .map_err(|error| format!("the chaos run could not be carried out: {error}"))?;
    eprintln!("{report}");
    if report.worker_kills < 2 || report.dispatcher_kills < 1 {
        return Err(format!("the run must actually kill: {report}"));
    }
    if !report.passed() {
        return Err(format!("0 lost and 0 wrong expected:\n{report}"));
    }
    Ok(report)
}

/// The flag that tells a run's client threads to stop: raised by
/// [`StopFlag::raise`] and when dropped, so that a run that ends early, on an
/// error, leaves no client thread behind retrying forever.
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> Self {
        Self(Arc::new(AtomicBool::new(false)))
    }

    /// The flag itself, for a client thread to look at.
    pub fn handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Default for StopFlag {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StopFlag {
    fn drop(&mut self) {
        self.raise();
    }
}

/// A run's client: a thread of its own that works through the run's tasks,
/// paced at the run's rate, on the dispatcher at one endpoint, and counts how
/// far it got, until it is done or told to stop.
pub struct ClientThread<T> {
    /// The tasks it works through, with their right results.
    pub tasks: Arc<Vec<Checkable>>,
    stop: StopFlag,
    count: Arc<AtomicUsize>,
    thread: JoinHandle<T>,
}

/// What a client thread runs: on the endpoint, the tasks at the rate (a second),
/// until the stop flag is raised, counting its progress; it returns its findings.
pub type Client<T> = fn(&str, &[Checkable], Option<f64>, &AtomicBool, &AtomicUsize) -> T;

impl<T: Send + 'static> ClientThread<T> {
    /// Starts `client` on `endpoint`, on the run's tasks and rate.
    pub fn spawn(settings: &Settings, endpoint: &str, client: Client<T>) -> Self {
        let tasks = settings.checkable_tasks();
        let stop = StopFlag::new();
        let count = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (tasks, stop, count) = (tasks.clone(), stop.handle(), count.clone());
            let (endpoint, rate) = (endpoint.to_owned(), settings.rate);
            thread::spawn(move || client(&endpoint, &tasks, rate, &stop, &count))
        };
        Self {
            tasks,
            stop,
            count,
            thread,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// How far it got, as it counts.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Tells it to stop.
    pub fn stop(&self) {
        self.stop.raise();
    }

    /// Tells it to stop, and waits for its findings.
    pub fn join(self) -> Result<T, ChaosError> {
        self.stop.raise();
        self.thread
            .join()
            .map_err(|_| ChaosError::Setup("a client thread panicked".into()))
    }
}
