//! Chapter 01 — threads and shared state.
//!
//! Four small ideas that the dispatcher/worker pattern of chapter 02 is built from:
//! spawning and joining threads, sharing one value between them safely, collecting
//! their messages on one channel, and overlapping waits so that ten sleeps take the
//! time of one. Each lives in its own module so the book can show one idea at a time.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo test -p exercise01 step1` grades step 1, and `exercises/exercise01/hints.toml`
//! has three levels of hints for each todo. The crate is generated from the reference
//! solution, `solutions/solution01`, so everything outside the todos is the same code.

// Until the todo!() bodies are written, their parameters and helpers look unused.
#![allow(unused_variables, unused_imports, dead_code)]

pub mod fan_in;
pub mod shared_counter;
pub mod sleep_tasks;
pub mod spawn_join;
