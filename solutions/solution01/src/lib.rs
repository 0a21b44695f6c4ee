//! Chapter 01 — threads and shared state.
//!
//! Four small ideas that the dispatcher/worker pattern of chapter 02 is built from:
//! spawning and joining threads, sharing one value between them safely, collecting
//! their messages on one channel, and overlapping waits so that ten sleeps take the
//! time of one. Each lives in its own module so the book can show one idea at a time.

pub mod fan_in;
pub mod shared_counter;
pub mod sleep_tasks;
pub mod spawn_join;
