//! `bench CHAPTER`: prints a chapter's "Measure it" table. Run it in release mode:
//! `cargo run --release --bin bench -- ch02`.

use std::process::ExitCode;

use bench::{BenchError, ch01, ch02, ch03, ch04, ch05, ch06, report::Report};
use clap::{Parser, ValueEnum};

/// Measures a chapter's code against a Python peer of the original design, in the
/// same run, and prints the ratios next to the goals.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Which chapter's measurements to run.
    #[arg(value_enum)]
    chapter: Chapter,

    /// Smaller sizes, for a quick look (the ratios are noisier).
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Chapter {
    /// Threads: sleeps in a row vs side by side, a locked counter.
    Ch01,
    /// In-process pool vs queue.Queue + threading.
    Ch02,
    /// ZeroMQ pipeline vs the same design on pyzmq, and the bare PUSH/PULL ceiling.
    Ch03,
    /// ZeroMQ pull model vs a pyzmq dispatcher and workers of the original design.
    Ch04,
    /// SQLite claim + complete per second vs Python's sqlite3 running the same transactions.
    Ch05,
    /// tonic on the pool vs grpcio's ThreadPoolExecutor vs bare tonic.
    Ch06,
    /// Every chapter in turn.
    All,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; measure with `cargo run --release --bin bench`");
    }
    let runs: Vec<fn(bool) -> Result<Report, BenchError>> = match cli.chapter {
        Chapter::Ch01 => vec![ch01::run],
        Chapter::Ch02 => vec![ch02::run],
        Chapter::Ch03 => vec![ch03::run],
        Chapter::Ch04 => vec![ch04::run],
        Chapter::Ch05 => vec![ch05::run],
        Chapter::Ch06 => vec![ch06::run],
        Chapter::All => vec![
            ch01::run,
            ch02::run,
            ch03::run,
            ch04::run,
            ch05::run,
            ch06::run,
        ],
    };
    for run in runs {
        match run(cli.quick) {
            Ok(report) => println!("{report}"),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
