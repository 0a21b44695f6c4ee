//! The caller's deadline, read from the `grpc-timeout` request header.
//!
//! tonic enforces that header itself, but answers `CANCELLED` when its timer fires,
//! and it cannot reach into our queue to drop the job. So the handler reads the
//! header too and gives up a little *before* tonic would, answering
//! `DEADLINE_EXCEEDED` as the gRPC specification asks and marking the queued job
//! so that no worker ever runs it.

use std::time::{Duration, Instant};

use tonic::metadata::MetadataMap;

/// How much earlier than the caller's deadline we give up: a tenth of the timeout,
/// at most 20 ms — enough for our timer to fire before tonic's.
fn headroom(timeout: Duration) -> Duration {
    (timeout / 10).min(Duration::from_millis(20))
}

/// Parses a `grpc-timeout` value: at most 8 digits and a unit, `H M S m u n`.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The instant the handler should give up, from the `grpc-timeout` header of a
/// request that arrived at `arrived`; `None` if the caller set no deadline (a
/// malformed header counts as none, as in tonic).
pub fn from_metadata(metadata: &MetadataMap, arrived: Instant) -> Option<Instant> {
    let timeout = parse_grpc_timeout(metadata.get("grpc-timeout")?.to_str().ok()?)?;
    Some(arrived + timeout.saturating_sub(headroom(timeout)))
}

/// The earlier of two optional deadlines.
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_refuses_junk() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
        for junk in ["", "m", "10", "10x", "-1m", "123456789m", "1.5S"] {
            assert_eq!(parse_grpc_timeout(junk), None, "{junk:?}");
        }
    }
}
