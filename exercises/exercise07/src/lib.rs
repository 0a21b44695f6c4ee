//! Chapter 07 — the same pattern on an engine: NATS JetStream.
//!
//! Chapter 05 built a durable task queue by hand: a SQLite store, leases with a
//! clock, heartbeats, a monitor that takes expired leases back, a fence against
//! stale results. JetStream is a server that already does most of it. This crate
//! rebuilds the NATS/protobuf original — a controller, workers named with their
//! capabilities (`-w Worker1 -c Add Divide`), the original's protobuf messages —
//! on it, and fixes the original's two gaps: tasks no worker can run wait, QUEUED,
//! and a task's timeout really fails it.
//!
//! - [`pb`]: the original's messages (`proto/workbook.proto`) and ours (`proto/nats.proto`).
//! - [`task`]: a task's subject, its checks, and the one adapter to the workbook's `Work`.
//! - [`setup`]: the stream, the consumers (lease, max attempts) and the results bucket.
//! - [`results`]: one outcome per task, written once — the fence.
//! - [`worker`]: pull, run with heartbeats, record, acknowledge.
//! - [`controller`]: publish, follow outcomes, enforce deadlines.
//! - [`server`]: a real `nats-server` (or three) for tests and demos.
//! - [`event`]: what both report, for the demos to print and tests to check.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 07.1` grades step 1 (`cargo test -p exercise07 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution07`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod controller;
pub mod event;
pub mod pb;
pub mod results;
pub mod server;
pub mod setup;
pub mod task;
pub mod worker;

pub use controller::{Controller, ControllerConfig, ControllerError};
pub use event::{Event, EventSink};
pub use server::{NatsCluster, NatsServer, ServerError};
pub use setup::Setup;
pub use solution02::Shutdown;
pub use worker::{WorkerConfig, WorkerError};
