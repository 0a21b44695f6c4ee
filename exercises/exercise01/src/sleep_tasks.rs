//! Latency hiding: while one thread sleeps (waits for a disk, a network, a database),
//! another can run. Ten 100 ms waits take one second in a row but about 100 ms side by side.

use std::time::Duration;

/// Runs `tasks` sleeps of `each`, one after another, and returns the wall time taken.
pub fn run_sequentially(tasks: usize, each: Duration) -> Duration {
    // `Instant::now()` before, `.elapsed()` after, `thread::sleep(each)` in between.
    todo!("sleep in a row — book/src/ch01-threads.md, \"Ten sleeps in the time of one\"")
}

/// Runs `tasks` sleeps of `each`, one per thread, and returns the wall time taken
/// once all of them have finished.
pub fn run_on_threads(tasks: usize, each: Duration) -> Duration {
    // One thread per sleep. `std::thread::scope` is handy: it joins every thread it
    // spawned before it returns. Measure around the whole thing.
    todo!("sleep side by side — book/src/ch01-threads.md, \"Ten sleeps in the time of one\"")
}
