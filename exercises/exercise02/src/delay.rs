//! Simulated work: a random pause per task, like the original demo's
//! `time.sleep(random.uniform(0.1, 0.5))`, but reproducible.
//!
//! The pause is drawn from a generator seeded with the run's seed *and the task's
//! id*, so a task sleeps the same time on every run with that seed, whichever
//! worker happens to take it. Tests use a zero range to run at full speed.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::ChaCha12Rng;
use rand::{RngExt, SeedableRng};

use crate::task::TaskId;

/// The range a task's simulated work time is drawn from, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayRange {
    min: Duration,
    max: Duration,
}

impl DelayRange {
    /// No simulated work at all.
    pub const NONE: DelayRange = DelayRange {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// The original demo's 100–500 ms.
    pub const DEMO: DelayRange = DelayRange {
        min: Duration::from_millis(100),
        max: Duration::from_millis(500),
    };

    /// A range from `min` to `max`; `None` if `min > max`.
    pub fn new(min: Duration, max: Duration) -> Option<Self> {
        (min <= max).then_some(Self { min, max })
    }

    /// Always exactly `pause`.
    pub fn fixed(pause: Duration) -> Self {
        Self {
            min: pause,
            max: pause,
        }
    }

    /// The pause for `task` in a run seeded with `seed`: the same every time.
    pub fn pause_for(&self, seed: u64, task: TaskId) -> Duration {
        if self.min == self.max {
            return self.min;
        }
        // Mix the id in with a large odd constant so neighbouring ids do not get
        // neighbouring generator states.
        let mut rng = ChaCha12Rng::seed_from_u64(seed ^ task.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.random_range(self.min..=self.max)
    }
}

impl fmt::Display for DelayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.min.as_millis(), self.max.as_millis())
    }
}

/// Why a `--delay-ms` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDelayError {
    #[error("expected MIN..MAX in milliseconds, e.g. 100..500, or one number, got '{0}'")]
    Shape(String),
    #[error("the minimum {min} ms is larger than the maximum {max} ms")]
    Inverted { min: u64, max: u64 },
}

impl FromStr for DelayRange {
    type Err = ParseDelayError;

    /// Parses milliseconds: `100..500`, or `0` for a fixed pause.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shape = || ParseDelayError::Shape(text.to_owned());
        let millis = |word: &str| word.trim().parse::<u64>().map_err(|_| shape());
        let (min, max) = match text.split_once("..") {
            Some((min, max)) => (millis(min)?, millis(max)?),
            None => (millis(text)?, millis(text)?),
        };
        DelayRange::new(Duration::from_millis(min), Duration::from_millis(max))
            .ok_or(ParseDelayError::Inverted { min, max })
    }
}
