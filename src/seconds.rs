//! Durations on the command line, in seconds (`--lease 120`, `--timeout 0.5`),
//! parsed once for every demo so they all accept and refuse the same things.

use std::time::Duration;

/// A clap value parser: a non-negative number of seconds, fractions allowed.
pub fn parse(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} must be a non-negative number of seconds"))
}
