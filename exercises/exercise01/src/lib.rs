//! Chapter 01 — threads and shared state.
//!
//! Four small ideas that the dispatcher/worker pattern of chapter 02 is built from:
//! spawning and joining threads, sharing one value between them safely, collecting
//! their messages on one channel, and overlapping waits so that ten sleeps take the
//! time of one. Each lives in its own module so the book can show one idea at a time.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 01.1` grades step 1 (`cargo test -p exercise01 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution01`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

pub mod fan_in;
pub mod shared_counter;
pub mod sleep_tasks;
pub mod spawn_join;
