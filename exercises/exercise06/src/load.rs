//! A load generator: C callers, each on its own connection, making N calls in all
//! as fast as answers come back — the same tool measures our server, a grpcio
//! server and a bare tonic server, so their numbers compare.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::client::{self, ClientError, code_name};
use crate::pb;

/// What to send and how hard.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub address: String,
    /// Callers at once, each with its own connection.
    pub concurrency: usize,
    /// Calls in all.
    pub requests: usize,
    /// What every call asks.
    pub task: pb::Task,
    /// Each call's deadline.
    pub deadline: Option<Duration>,
}

/// What the load run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub requests: usize,
    pub ok: usize,
    /// Failed calls by status code name, e.g. `RESOURCE_EXHAUSTED`.
    pub failures: BTreeMap<String, usize>,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl LoadReport {
    /// Answered calls per second, failures included.
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls in {:.2} s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} ok",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.ok
        )?;
        for (code, count) in &self.failures {
            write!(f, ", {count} {code}")?;
        }
        Ok(())
    }
}

/// The value below which `fraction` of the sorted `latencies` lie.
fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One caller's share: latencies of every call, and the codes of failed ones.
type CallerLog = (Vec<Duration>, Vec<String>);

/// Runs the load and returns the report. Fails only if a caller cannot connect;
/// failed calls are counted, not errors.
pub async fn run(config: LoadConfig) -> Result<LoadReport, ClientError> {
    let mut channels = Vec::with_capacity(config.concurrency);
    for _ in 0..config.concurrency.max(1) {
        channels.push(client::connect(&config.address).await?);
    }
    let tickets = Arc::new(AtomicUsize::new(config.requests));
    let start = Instant::now();
    let callers: Vec<_> = channels
        .into_iter()
        .map(|channel| {
            let tickets = Arc::clone(&tickets);
            let (task, deadline) = (config.task.clone(), config.deadline);
            tokio::spawn(async move {
                let mut log: CallerLog = (Vec::new(), Vec::new());
                // Take a ticket per call until none are left.
                while tickets
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let sent = Instant::now();
                    let answer = client::compute(&channel, task.clone(), deadline).await;
                    log.0.push(sent.elapsed());
                    if let Err(error) = answer {
                        log.1
                            .push(error.code().map_or("NO_ANSWER", code_name).to_owned());
                    }
                }
                log
            })
        })
        .collect();

    let mut latencies = Vec::with_capacity(config.requests);
    let mut failures = BTreeMap::new();
    for caller in callers {
        // A caller task only ends by returning; a join error would be our own bug.
        let (times, failed) = caller.await.unwrap_or_default();
        latencies.extend(times);
        for code in failed {
            *failures.entry(code).or_insert(0) += 1;
        }
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let failed: usize = failures.values().sum();
    Ok(LoadReport {
        requests: latencies.len(),
        ok: latencies.len() - failed,
        failures,
        elapsed,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}
