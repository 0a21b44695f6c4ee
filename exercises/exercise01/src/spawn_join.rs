//! Spawning threads and joining them: the first half of every pool.
//!
//! `thread::spawn` hands back a `JoinHandle<T>`; `join()` waits for the thread and
//! gives back its return value, so results travel home without any shared state.

use std::thread::ThreadId;

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

/// Spawns `n` threads, the i-th computing `i * i`, and joins them in spawn order.
pub fn spawn_and_join(n: usize) -> Vec<Answer> {
    // 1. Spawn all `n` threads first, keeping their `JoinHandle`s in a Vec. (Joining
    //    each one right after spawning it would run them one at a time.)
    // 2. Each thread returns an `Answer`; `thread::current().id()` says which thread
    //    it is. The closure needs `move` to take its own copy of the index.
    // 3. Join the handles in order and collect the answers.
    todo!("spawn n threads and join them — book/src/ch01-threads.md, \"Spawning and joining\"")
}
