//! The workbook's measurements: each chapter's "Measure it" table, produced by one
//! command that runs the Rust code *and* a Python peer of the original design in
//! the same invocation, on the same machine, so the ratios mean something.
//!
//! Each chapter's `run` returns its results as data ([`report::Report`]): printed as
//! the table the book includes, gathered with the machine and the date into
//! `results.json` ([`results::Results`]), and drawn as SVG charts ([`chart`]).
//!
//! Adding a row to a chapter is a few lines in its `run`:
//!
//! ```text
//! steps.step("Rust pipeline, batches of 16");                 // the progress bar
//! let batched = rate(tasks, rust_pipeline_batched(tasks)?);    // measure it
//! report.measure("rust_batched", "trivial tasks/s, batches of 16", batched, "tasks/s");
//! report.ratio_goal("batched / bare PUSH → PULL", "rust_batched", "bare", Target::AtLeast(0.5))?;
//! ```
//!
//! and, to draw it, one more `(key, label, role)` in the chapter's `bar_chart` call
//! (and one more in its `STEPS`, which only sizes the progress bar).
//!
//! Speed goals are checked here and only here — never as timed assertions in tests,
//! which would fail at random on a busy, shared machine.

pub mod ch01;
pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch05;
pub mod ch06;
pub mod ch07;
pub mod chart;
pub mod progress;
pub mod python;
pub mod report;
pub mod results;
pub mod timing;

/// Why a benchmark could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Python(#[from] python::PythonError),
    #[error("the Rust side failed: {0}")]
    Rust(String),
    #[error("could not draw the chart {file}: {detail}")]
    Chart { file: String, detail: String },
    #[error("could not write {path}: {detail}")]
    Output { path: String, detail: String },
}

/// A chapter's benchmark: what `bench chNN` runs.
pub struct Chapter {
    /// `ch01` … `ch06`.
    pub name: &'static str,
    /// About how many measurements it takes, for its progress bar.
    pub steps: u64,
    /// Runs it: `quick` shrinks the sizes, `steps` shows its progress.
    pub run: fn(bool, &progress::Steps) -> Result<report::Report, BenchError>,
}

/// Every chapter's benchmark, in the book's order.
pub const CHAPTERS: [Chapter; 7] = [
    Chapter {
        name: "ch01",
        steps: ch01::STEPS,
        run: ch01::run,
    },
    Chapter {
        name: "ch02",
        steps: ch02::STEPS,
        run: ch02::run,
    },
    Chapter {
        name: "ch03",
        steps: ch03::STEPS,
        run: ch03::run,
    },
    Chapter {
        name: "ch04",
        steps: ch04::STEPS,
        run: ch04::run,
    },
    Chapter {
        name: "ch05",
        steps: ch05::STEPS,
        run: ch05::run,
    },
    Chapter {
        name: "ch06",
        steps: ch06::STEPS,
        run: ch06::run,
    },
    Chapter {
        name: "ch07",
        steps: ch07::STEPS,
        run: ch07::run,
    },
];
