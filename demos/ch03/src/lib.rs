//! What chapter 03's demos (`zmq_pipeline`, `zmq_producer`) share: their
//! [`endpoints`] options. A package of its own so that `cargo run --bin
//! dispatcher_worker` never waits for ZeroMQ to compile.

pub mod endpoints;
