//! Chapter 01 exercise — threads and shared state.
//!
//! Fill in every `todo!()`, then run `cargo test -p exercise01`. Each failing test
//! names the section of `book/src/ch01-threads.md` that explains what it expects.
//!
//! Four small ideas that the dispatcher/worker pattern of chapter 02 is built from:
//! spawning and joining threads, sharing one value between them safely, collecting
//! their messages on one channel, and overlapping waits so that ten sleeps take the
//! time of one. Each lives in its own module so the book can show one idea at a time.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

pub mod fan_in;
pub mod shared_counter;
pub mod sleep_tasks;
pub mod spawn_join;
