//! Chapter 03 — the dispatcher/worker pattern behind ZeroMQ sockets.
//!
//! The design of Python's pyzero-dtq, rebuilt on chapter 02's [`ThreadPool`]:
//! producers PUSH tasks to a **collector**, the pool's **workers** run them, a
//! **publisher** PUBs each result on its producer's topic. Fixed on the way: topics
//! match exactly, a producer never misses results published before its
//! subscription was live, bad messages get error results instead of crashes, a
//! bound on tasks in flight pushes back on producers, and shutdown drains every
//! accepted task and answers every one it will not run. Added on the way: a
//! producer may batch many tasks per message, and get their results batched back.
//!
//! - [`topic`]: exact topics over ZeroMQ's prefix matching, encoded as the original
//!   encodes them (JSON).
//! - [`work`]: the closed set of task kinds and how each runs — the one that
//!   chapters 04, 05 and 06 run too.
//! - [`protocol`]: the messages in and out, and how bad ones are refused.
//! - [`collector`], [`publisher`]: the two socket-owning threads.
//! - [`in_flight`]: the bound on accepted tasks that gives producers back-pressure.
//! - [`pipeline`]: all of it started, run and stopped as one.
//! - [`producer`]: the client side, with the subscription handshake.
//! - [`event`]: what the pipeline reports, for the demo to print.
//!
//! [`ThreadPool`]: solution02::ThreadPool
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 03.1` grades step 1 (`cargo test -p exercise03 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution03`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod collector;
pub mod event;
pub mod in_flight;
pub mod pipeline;
pub mod producer;
pub mod protocol;
pub mod publisher;
pub mod topic;
pub mod work;

pub use event::{Event, EventSink, Role, StopReason};
pub use pipeline::{Pipeline, PipelineConfig, PipelineError, Summary};
pub use producer::{Producer, ProducerError};
pub use protocol::{Address, Publication, Rejection, Reply, Request};
pub use solution02::Shutdown;
pub use topic::Topic;
pub use work::{DecodeError, Work, WorkError};
