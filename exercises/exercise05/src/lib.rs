//! Chapter 05 — surviving failure: leases, heartbeats, retries and a durable
//! SQLite queue.
//!
//! Chapter 04's dispatcher kept its tasks in memory and failed a task whose
//! worker was too slow. Here tasks live in SQLite, a worker *leases* a task for a
//! while, renews the lease with heartbeats, and a task whose worker dies goes back
//! to the queue for another — up to `max_attempts`. Every result carries its
//! lease's token, so a late result from an old lease can never overwrite a newer
//! one: at-least-once execution, effectively-once outcome.
//!
//! - [`store`]: the durable queue — claim, complete, heartbeat, requeue — no sockets.
//! - [`protocol`]: chapter 04's frames plus REGISTER, HEARTBEAT and lease tokens.
//! - [`kinds`]: the capabilities workers register (chapter 03's task kinds, by
//!   name), and what a worker does with one lease.
//! - [`dispatcher`]: one thread owning the socket and the store, with a monitor.
//! - [`worker`]: registers, heartbeats, runs tasks on chapter 02's pool.
//! - [`cache`]: the worker's on-disk results, kept until acknowledged.
//! - [`client`]: submit, status, stats, health.
//! - [`http`]: the Flask original's HTTP/JSON endpoints, beside the ZeroMQ
//!   socket; [`http_client`] and [`door`] let workers and clients use either door.
//! - [`event`]: what the loops report; the REQ [`Connection`] is chapter 04's,
//!   and [`Shutdown`] chapter 02's.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 05.1` grades step 1 (`cargo test -p exercise05 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution05`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod cache;
pub mod client;
pub mod dispatcher;
pub mod door;
pub mod event;
pub mod http;
pub mod http_client;
pub mod kinds;
pub mod protocol;
pub mod store;
pub mod worker;

pub use solution02::Shutdown;
pub use solution04::connection::{self, Connection};

pub use cache::ResultCache;
pub use client::{Client, ClientError};
pub use dispatcher::{Desk, Dispatcher, DispatcherConfig, DispatcherError};
pub use door::Door;
pub use event::{Event, EventSink, Speaker};
pub use http::HttpDoor;
pub use protocol::{LeasedResult, Reply, Request};
pub use store::{
    Finished, Lease, NewTask, Outcome, Recorded, Stats, Store, StoreConfig, StoreError, Sweep,
    TaskId, TaskStatus, TaskView,
};
pub use worker::{Backoff, Worker, WorkerConfig, WorkerError};
