//! Spawning threads and joining them: the first half of every pool.
//!
//! `thread::spawn` hands back a `JoinHandle<T>`; `join()` waits for the thread and
//! gives back its return value, so results travel home without any shared state.

use std::thread::{self, ThreadId};

// ANCHOR: spawn_and_join_given
/// What one spawned thread reports back when it is joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The position the thread was spawned at (0-based).
    pub index: usize,
    /// The thread's work: `index * index`.
    pub square: usize,
    /// Which thread did the work, so callers can see it was not the caller's own.
    pub thread: ThreadId,
}

// ANCHOR: spawn_and_join
/// Spawns `n` threads, the i-th computing `i * i`, and joins them in spawn order.
///
/// A thread that panics is reported by `join` as an `Err`; here that would be a bug
/// in this function, so it is passed on as a panic with the thread's index.
#[cfg_attr(workbook_todo_spawn_and_join, allow(unused_variables))]
pub fn spawn_and_join(n: usize) -> Vec<Answer> {
    // ANCHOR_END: spawn_and_join_given
    // TODO(spawn-and-join): spawn `n` threads, the i-th answering `i * i` with its own thread id, then join them all in spawn order
    todo!("spawn-and-join — book: ch01, \"Spawning and joining\"")
}
// ANCHOR_END: spawn_and_join
