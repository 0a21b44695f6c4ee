//! Chapter 04 — the pull model over ZeroMQ: workers ask for work, the dispatcher
//! enforces deadlines.
//!
//! A worker asks (`REQUEST_TASK`) only while it has a free thread, so work goes
//! to whoever has capacity; the dispatcher tracks every task QUEUED → RUNNING →
//! COMPLETED | FAILED and fails those that run past their deadline.
//!
//! - [`protocol`]: the worker ↔ dispatcher frames, enough to write a worker in any language.
//! - [`kinds`]: what a worker does with an assignment: chapter 03's [`Work`],
//!   decoded, run and reported (no shipped code).
//! - [`store`]: the task table and its states — owned by one thread, so no locks.
//! - [`dispatcher`]: one thread, two REP sockets, a deadline check in the poll loop.
//! - [`worker`]: asks while it has capacity ([`Running`]: chapter 02's pool and
//!   the tasks on it, which chapter 05's worker reuses), reports each result.
//! - [`connection`]: a REQ socket that reconnects when answers stop (Lazy Pirate).
//! - [`client`]: submit a task, ask for its status.
//! - [`event`]: what the loops report. They are stopped with chapter 02's
//!   [`Shutdown`], the one stop type of every chapter.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 04.1` grades step 1 (`cargo test -p exercise04 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution04`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod client;
pub mod connection;
pub mod dispatcher;
pub mod event;
pub mod kinds;
pub mod protocol;
pub mod store;
pub mod worker;

pub use client::{Client, ClientError};
pub use dispatcher::{Dispatcher, DispatcherConfig, DispatcherError};
pub use event::{Event, EventSink, Speaker};
pub use protocol::{ErrorType, TaskFailure, TaskId, TaskStatus};
pub use solution02::Shutdown;
pub use solution03::Work;
pub use store::{NewTask, TaskReport, TaskTable};
pub use worker::{Running, Worker, WorkerConfig, WorkerError};

/// Sharing one socket between threads does not compile: `zmq::Socket` is `Send`
/// but not `Sync` (error E0277). This is the whole of the original's `socket_lock`.
// The path goes through the workspace root, not `../examples/`, because this file is
// copied into exercises/exercise04, which has no examples of its own: from either
// crate it names solution04's example, the one the book quotes.
#[doc = concat!(
    "```compile_fail,E0277\n",
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../solutions/solution04/examples/shared_socket.rs")),
    "\n```"
)]
pub mod ownership {}
