//! Chapter 06 — `grpc.server(futures.ThreadPoolExecutor(max_workers=10))`, rebuilt.
//!
//! tonic's runtime accepts connections, decodes requests and calls a handler: it
//! plays the part chapter 02's dispatcher played, taking work in. Chapter 02's
//! [`ThreadPool`](solution02::ThreadPool) runs the handlers' blocking bodies: it is
//! the **workers**. Between them sits the piece grpcio hides inside its server,
//! written out here: the [`executor`]. (The [`dispatcher`] module is something
//! else: the gRPC `Dispatcher` *service*, chapter 05's task queue over gRPC.)
//!
//! - [`pb`]: the types and service generated from `proto/workbook.proto`.
//! - [`task`]: checking a wire task and mapping failures to gRPC status codes.
//! - [`executor`]: queue on the pool, await a oneshot; `max_concurrent_rpcs`; deadlines.
//! - [`deadline`]: the caller's `grpc-timeout`, read so a queued job can be dropped.
//! - [`service`]: the `Calculator` servicer.
//! - [`dispatcher`]: the `Dispatcher` servicer — chapter 05's store on the same pool;
//!   [`store_wire`]: its types and refusals on the wire.
//! - [`server`]: tonic + health + reflection, started and drained.
//! - [`client`], [`load`]: one call, and many at once with req/s and p50/p99.
//! - [`event`]: what the server reports, for the demo to print and tests to check.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 06.1` grades step 1 (`cargo test -p exercise06 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution06`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod client;
pub mod deadline;
pub mod dispatcher;
pub mod event;
pub mod executor;
pub mod load;
pub mod pb;
pub mod server;
pub mod service;
pub mod store_wire;
pub mod task;

pub use event::{Event, EventSink};
pub use executor::{Executor, ExecutorConfig};
pub use server::{GrpcServer, ServerConfig, ServerError, StoreOptions};
pub use solution02::Shutdown;
