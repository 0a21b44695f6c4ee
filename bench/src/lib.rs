//! The workbook's measurements: each chapter's "Measure it" table, produced by one
//! command that runs the Rust code *and* a Python peer of the original design in
//! the same invocation, on the same machine, so the ratios mean something.
//!
//! Speed goals are checked here and only here — never as timed assertions in tests,
//! which would fail at random on a busy, shared machine.

pub mod ch01;
pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch05;
pub mod ch06;
pub mod python;
pub mod report;
pub mod timing;

/// Why a benchmark could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Python(#[from] python::PythonError),
    #[error("the Rust side failed: {0}")]
    Rust(String),
}
