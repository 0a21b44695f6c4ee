//! Latency hiding: while one thread sleeps (waits for a disk, a network, a database),
//! another can run. Ten 100 ms waits take one second in a row but about 100 ms side by side.

use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: run_on_threads_given
/// Runs `tasks` sleeps of `each`, one after another, and returns the wall time taken.
pub fn run_sequentially(tasks: usize, each: Duration) -> Duration {
    let start = Instant::now();
    for _ in 0..tasks {
        thread::sleep(each);
    }
    start.elapsed()
}

// ANCHOR: run_on_threads
/// Runs `tasks` sleeps of `each`, one per thread, and returns the wall time taken
/// once all of them have finished.
pub fn run_on_threads(tasks: usize, each: Duration) -> Duration {
    // ANCHOR_END: run_on_threads_given
    // ANCHOR: todo-run-on-threads
    let start = Instant::now();
    // A scope joins every thread it spawned before it returns, so its threads may
    // borrow `each` from this function: no `move`, no clone.
    thread::scope(|scope| {
        for _ in 0..tasks {
            scope.spawn(|| thread::sleep(each));
        }
    });
    start.elapsed()
    // ANCHOR_END: todo-run-on-threads
}
// ANCHOR_END: run_on_threads
