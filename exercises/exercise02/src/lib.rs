//! Chapter 02 — the in-process dispatcher/worker pattern.
//!
//! A dispatcher receives tasks and puts them on a queue; a fixed set of worker
//! threads take the next task whenever they are free and send back a result. That
//! is the whole pattern. What later chapters take from this crate is the
//! [`pool`] — chapters 03 to 06 all run their work on this `ThreadPool` — and
//! the arithmetic of [`task`] (`Op`), which their task kinds reuse; each builds its own front door
//! (ZeroMQ sockets in 03 and 04, a durable store in 05, gRPC in 06) and its own
//! dispatcher around that pool.
//!
//! - [`pool`]: the worker threads and their queue, generic over the job.
//! - [`task`]: what the demo computes — `10 add 5` — and how it fails.
//! - [`dispatcher`]: tasks in, results out, with simulated work on the pool.
//! - [`event`]: what the dispatcher and workers report, for the demo to print.
//! - [`demo`]: the story `cargo run --bin dispatcher_worker` tells.
//! - [`protocol`], [`server`], [`client`]: the same dispatcher over TCP and JSON lines.
//! - [`shutdown`]: the one way every chapter's servers are asked to stop.
//! - [`work`]: stand-in workloads (waiting, computing) for measurements.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 02.1` grades step 1 (`cargo test -p exercise02 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution02`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod client;
pub mod delay;
pub mod demo;
pub mod dispatcher;
pub mod event;
pub mod pool;
pub mod protocol;
pub mod server;
pub mod shutdown;
pub mod task;
pub mod work;

pub use dispatcher::{DispatchError, Dispatcher, DispatcherConfig};
pub use event::{Event, Role};
pub use pool::{Job, PoolError, ThreadPool, WorkerId, panic_message};
pub use shutdown::Shutdown;
pub use task::{Op, Task, TaskError, TaskId, TaskResult, TaskSpec};
