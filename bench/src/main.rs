//! `bench CHAPTER`: prints a chapter's "Measure it" table, or every chapter's and
//! a summary of every goal, and writes `results.json` and SVG charts. Run it in
//! release mode: `cargo run --release --bin bench -- all`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use bench::progress::Progress;
use bench::results::{Machine, Results};
use bench::{BenchError, CHAPTERS, chart, python};
use clap::{Parser, ValueEnum};

/// Measures each chapter's code against a Python peer of the original design and
/// against the bare library underneath (the ceiling), in the same run, and prints
/// the ratios next to the goals.
///
/// While it runs, progress bars on stderr show the chapters and the measurement
/// under way (only when stderr is a terminal). Then it prints each chapter's table,
/// one summary table of every goal (met ✓ or not ✗), and writes into --out:
/// results.json (the machine: CPU, cores, OS; the date; the rustc version; every
/// measurement and goal), machine.txt (that as one line), chNN-bench.txt (each
/// table) and the SVG charts: chNN-bench.svg per chapter (Rust, the Python peer,
/// the bare ceiling), ch02-bench-scaling.svg (1, 2, 4, 8 workers) and
/// ch06-bench-latency.svg (latency percentiles of the three servers).
///
/// A missed goal is a finding, not a failure: the exit status is non-zero only if
/// something could not be measured or written. The Python peers of chapters 03, 04
/// and 06 run in a virtual environment under target/ that the bench creates and
/// fills from PyPI itself on first use.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Which chapter's measurements to run.
    #[arg(value_enum)]
    chapter: Chapter,

    /// Smaller sizes, for a quick look or CI (the ratios are noisier).
    #[arg(long)]
    quick: bool,

    /// Where to write results.json, the tables and the SVG charts
    /// [default: target/bench/ in the workspace].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// No colour in the summary (also off with NO_COLOR=1 or when stdout is a pipe).
    #[arg(long)]
    no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Chapter {
    /// Threads: sleeps in a row vs side by side, a locked counter.
    Ch01,
    /// In-process pool vs queue.Queue + threading and a bare crossbeam channel; 1-8 workers.
    Ch02,
    /// ZeroMQ pipeline vs the same design on pyzmq, and the bare PUSH/PULL ceiling.
    Ch03,
    /// ZeroMQ pull model vs a pyzmq dispatcher and workers, and bare REQ/REP.
    Ch04,
    /// Leases on SQLite end to end (lease_dispatcher + 2 lease_workers) vs the Flask + sqlite3 original.
    Ch05,
    /// tonic on the pool vs grpcio's ThreadPoolExecutor vs bare tonic, with latency percentiles.
    Ch06,
    /// NATS JetStream: controller + 2 workers vs the original's design on nats-py.
    Ch07,
    /// Every chapter in turn.
    All,
}

fn colour_wanted(no_color: bool) -> bool {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color && !no_color_env && std::io::stdout().is_terminal()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), BenchError> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; measure with `cargo run --release --bin bench`");
    }
    let chosen: Vec<_> = CHAPTERS
        .iter()
        .filter(|chapter| {
            cli.chapter == Chapter::All
                || cli
                    .chapter
                    .to_possible_value()
                    .is_some_and(|value| value.get_name() == chapter.name)
        })
        .collect();
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| python::target_dir().join("bench"));
    std::fs::create_dir_all(&out).map_err(|e| BenchError::Output {
        path: out.display().to_string(),
        detail: e.to_string(),
    })?;

    let progress = Progress::new(chosen.len() as u64);
    let mut reports = Vec::new();
    for chapter in chosen {
        let steps = progress.chapter(chapter.name, chapter.steps);
        let report = (chapter.run)(cli.quick, &steps)?;
        steps.finish();
        progress.println(&report.to_string());
        reports.push(report);
    }
    progress.finish();

    let results = Results::new(Machine::this(), SystemTime::now(), cli.quick, reports);
    let mut written = results.write(&out)?;
    for report in &results.chapters {
        for one in &report.charts {
            written.push(chart::write(one, &out)?);
        }
    }
    println!("{}", results.summary(colour_wanted(cli.no_color)));
    println!();
    let charts = written
        .iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "svg"))
        .count();
    println!(
        "Wrote results.json, the tables and {charts} chart(s) to {}",
        out.display()
    );
    Ok(())
}
