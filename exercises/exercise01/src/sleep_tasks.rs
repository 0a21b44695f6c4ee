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
#[cfg_attr(workbook_todo_run_on_threads, allow(unused_variables))]
pub fn run_on_threads(tasks: usize, each: Duration) -> Duration {
    // ANCHOR_END: run_on_threads_given
    // TODO(run-on-threads): sleep `each` on `tasks` threads at once and return how long the whole thing took
    todo!("run-on-threads — book: ch01, \"Ten sleeps in the time of one\"")
}
// ANCHOR_END: run_on_threads
