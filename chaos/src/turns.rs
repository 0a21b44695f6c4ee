//! The rhythm of a run's main loop, the same in every chapter: a turn every
//! 20 ms until the chaos is over or the run's time limit is past, a progress
//! line every 5 s, and at the end the run's duration in the report, with a note
//! if the limit cut it short.

use std::thread;
use std::time::{Duration, Instant};

use crate::Report;

/// Between two turns of the loop.
const TURN: Duration = Duration::from_millis(20);
/// Between two progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Where a run's main loop is in its time.
pub struct Turns {
    started: Instant,
    limit: Duration,
    next_progress: Instant,
    first: bool,
    ran_out: bool,
}

impl Turns {
    /// A run that started at `started` and may take `limit` in all.
    pub fn new(started: Instant, limit: Duration) -> Self {
        Self {
            started,
            limit,
            next_progress: Instant::now() + PROGRESS_EVERY,
            first: true,
            ran_out: false,
        }
    }

    /// Whether a progress line is due at `now`.
    pub fn progress_due(&mut self, now: Instant) -> bool {
        let due = now >= self.next_progress;
        if due {
            self.next_progress = now + PROGRESS_EVERY;
        }
        due
    }

    /// A progress line: the seconds since the run started, then `what`.
    pub fn line(&self, what: &str) -> String {
        format!("{:>5.1} s: {what}", self.started.elapsed().as_secs_f64())
    }

    /// Closes `report`: the run's duration and, if the limit cut the loop
    /// short, a note that says what was left `undone` by then.
    pub fn finish(&self, report: &mut Report, undone: &str) {
        if self.ran_out {
            report
                .notes
                .push(format!("{undone} within the limit of {:?}", self.limit));
        }
        report.duration = self.started.elapsed();
    }
}

impl Iterator for Turns {
    type Item = Instant;

    /// Waits for the next turn (the first is at once) and returns its time, or
    /// `None` once the run's limit is past.
    fn next(&mut self) -> Option<Instant> {
        if !std::mem::take(&mut self.first) {
            thread::sleep(TURN);
        }
        let now = Instant::now();
        self.ran_out = now > self.started + self.limit;
        (!self.ran_out).then_some(now)
    }
}
