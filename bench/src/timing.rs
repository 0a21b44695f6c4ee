//! Timing helpers: best of several runs, because on a shared machine the noise only
//! ever makes a run slower.

use std::time::{Duration, Instant};

/// Runs `work` `runs` times and returns the shortest wall time.
pub fn best_of(runs: usize, mut work: impl FnMut()) -> Duration {
    (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Items per second for `items` done in `took`.
pub fn rate(items: usize, took: Duration) -> f64 {
    items as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE)
}
