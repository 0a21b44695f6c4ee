//! `chaos`: kills a chapter's workers and dispatcher on a seeded schedule while
//! thousands of tasks run, then checks every task's final state and result.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chaos::{ChaosError, Report, Settings, binaries, ch04, ch05, ch06};
use clap::{Parser, ValueEnum};

/// Runs a chapter's real binaries on loopback (127.0.0.1, free ports), submits
/// tasks whose answers it knows, SIGKILLs a random worker every ~2 s and the
/// dispatcher every ~10 s (restarting each with the same arguments), waits until
/// every task is final — at most --limit — and checks each one. Prints tasks,
/// kills, redeliveries, duplicates, lost, wrong and the duration; exits 1 unless
/// 0 lost and 0 wrong, 2 if the run could not be set up. The run's folder (the
/// database, worker caches, every process's log) is kept when it fails or with
/// --keep.
///
/// It builds the chapter's binaries first (`cargo build -p workbook-chNN --bins`,
/// release if chaos itself is a release build, so `cargo run --release --bin
/// chaos` tests release binaries); `--bin-dir` uses binaries already built.
///
/// ch05: the durable queue. Workers and the dispatcher are killed; the dispatcher
/// restarts on the same SQLite file and port, a worker with the same id and cache.
/// 0 lost means every submitted task ended COMPLETED with the right result.
///
/// ch04: the pull model, whose dispatcher keeps its tasks in memory. Killed, it
/// forgets them; a killed worker's task is FAILED at its deadline. That is the
/// original's design, whose client had to send such tasks again: here the client
/// does (the report counts them as resubmitted), and 0 lost means every task got
/// its right result in the end, by the client's persistence, not the dispatcher's.
///
/// ch06: one grpc_server, killed and restarted on the same --db and port. Compute
/// callers call again when a kill cuts their call off; the Dispatcher service's
/// queue is worked by gRPC worker loops inside chaos (the chapter has no worker
/// binary), and "killing" one drops the lease it holds mid-task. 0 lost: every
/// Compute call answered and every queued task DONE, each with the right result.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// The chapter whose binaries to torment.
    #[arg(value_enum)]
    chapter: Chapter,

    /// How many tasks.
    #[arg(long, default_value_t = 10_000)]
    tasks: usize,

    /// Worker processes (ch06: worker loops inside chaos).
    #[arg(long, default_value_t = 4)]
    workers: usize,

    /// Threads per worker process (ch04, ch05).
    #[arg(long, default_value_t = 2)]
    threads: u16,

    /// Seeds the tasks and the kill schedule: the same seed, the same kills in
    /// the same order (where each lands in a task's life is up to the timing).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Mean seconds between worker kills (0: never).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    worker_kill_every: f64,

    /// Mean seconds between dispatcher kills (ch06: the server's) (0: never).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    dispatcher_kill_every: f64,

    /// The longest a killed process stays down, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    downtime: f64,

    /// Tasks submitted per second (0: as fast as the dispatcher takes them).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,

    /// One task in N is a short sleep (5–50 ms) instead of arithmetic (0: none).
    #[arg(long, value_name = "N", default_value_t = 10)]
    sleep_one_in: u32,

    /// Give up after this many seconds: tasks not final by then count as lost.
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    limit: f64,

    /// Take the binaries from this folder instead of building them.
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,

    /// Keep the run's folder (database, worker caches, every process's log).
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Chapter {
    /// The in-memory pull dispatcher: the client resubmits what a kill took.
    Ch04,
    /// The durable SQLite queue with leases: nothing may be lost.
    Ch05,
    /// The gRPC server: Compute calls retried, its queue worked by gRPC loops.
    Ch06,
}

const EXAMPLES: &str = "\
Examples:
  cargo run --release --bin chaos -- ch05 --tasks 10000     the acceptance run
  chaos ch05 --tasks 500 --seed 7 --keep                    a short one; keep the logs
  chaos ch05 --dispatcher-kill-every 0                      kill only workers
  chaos ch04 --tasks 2000                                   the in-memory dispatcher
  chaos ch06 --tasks 5000                                   the gRPC server";

fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(report) => {
            println!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<Report, ChaosError> {
    let release = !cfg!(debug_assertions);
    let (package, names): (&str, &[&str]) = match cli.chapter {
        Chapter::Ch04 => ("workbook-ch04", &["pull_dispatcher", "pull_worker"]),
        Chapter::Ch05 => ("workbook-ch05", &["lease_dispatcher", "lease_worker"]),
        Chapter::Ch06 => ("workbook-ch06", &["grpc_server"]),
    };
    let found = match &cli.bin_dir {
        Some(dir) => binaries::in_dir(dir, names)?,
        None => binaries::build(package, release)?,
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("chaos-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| ChaosError::Io {
        what: format!("create {}", dir.display()),
        source,
    })?;
    let mut settings = Settings::new(cli.tasks, dir.clone());
    settings.workers = cli.workers;
    settings.threads = cli.threads;
    settings.seed = cli.seed;
    settings.worker_kill_every = seconds(cli.worker_kill_every);
    settings.dispatcher_kill_every = seconds(cli.dispatcher_kill_every);
    settings.downtime = seconds(cli.downtime).unwrap_or_default();
    settings.rate = Some(cli.rate).filter(|rate| *rate > 0.0);
    settings.sleep_one_in = cli.sleep_one_in;
    settings.limit = seconds(cli.limit).unwrap_or(Duration::from_secs(600));
    let progress = |line: &str| println!("{line}");
    let outcome = match cli.chapter {
        Chapter::Ch04 => {
            let bins = ch04::Binaries {
                dispatcher: binaries::pick(&found, "pull_dispatcher")?,
                worker: binaries::pick(&found, "pull_worker")?,
            };
            ch04::run(&bins, &settings, &progress)
        }
        Chapter::Ch05 => {
            let bins = ch05::Binaries {
                dispatcher: binaries::pick(&found, "lease_dispatcher")?,
                worker: binaries::pick(&found, "lease_worker")?,
            };
            ch05::run(&bins, &settings, &progress)
        }
        Chapter::Ch06 => {
            let bins = ch06::Binaries {
                server: binaries::pick(&found, "grpc_server")?,
            };
            ch06::run(&bins, &settings, &progress)
        }
    };
    let keep = cli.keep || outcome.as_ref().map(|r| !r.passed()).unwrap_or(true);
    if keep {
        eprintln!("the run's database and logs are in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}
