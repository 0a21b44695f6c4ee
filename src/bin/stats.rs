//! `stats`: what chapter 05's lease dispatcher holds — per status, per worker —
//! or, with `--health`, whether it answers at all.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use solution05::{Client, Stats};
use workbook::seconds;
use workbook_ch04::exit;
use workbook_ch05::door::DoorArgs;

/// Prints the queue's tasks per status and its workers. `--task ID` prints one
/// task's state as JSON (with why it waits, if it does); `--health` prints the
/// dispatcher's health as JSON and exits 0 if it answered, 1 if not — for a
/// monitoring probe.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    door: DoorArgs,

    /// Only the health check.
    #[arg(long, conflicts_with = "task")]
    health: bool,

    /// One task's state instead of the statistics.
    #[arg(long, value_name = "ID")]
    task: Option<i64>,

    /// The statistics as JSON.
    #[arg(long)]
    json: bool,

    /// Seconds to wait for the dispatcher's answer.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds::parse)]
    timeout: Duration,
}

const EXAMPLES: &str = "\
Examples:
  stats                 tasks per status, and per worker
  stats --task 7        one task, and why it waits if it does
  stats --health        exit status 0 when the dispatcher answers
  stats --http          asked through the HTTP door on port 5000";

fn main() -> ExitCode {
    exit::print_or_fail(run(&Cli::parse()))
}

fn run(cli: &Cli) -> Result<String, String> {
    let endpoint = cli.door.endpoint();
    let mut client = Client::connect(&endpoint, cli.timeout).map_err(|e| e.to_string())?;
    let json = |text: serde_json::Result<String>| text.map_err(|e| e.to_string());
    if cli.health {
        let health = client.health().map_err(|e| e.to_string())?;
        return json(serde_json::to_string(&health));
    }
    if let Some(task_id) = cli.task {
        let view = client.status(task_id).map_err(|e| e.to_string())?;
        return json(serde_json::to_string(&view));
    }
    let stats = client.stats().map_err(|e| e.to_string())?;
    if cli.json {
        json(serde_json::to_string(&stats))
    } else {
        Ok(table(&stats))
    }
}

fn table(stats: &Stats) -> String {
    let t = &stats.tasks;
    let mut lines = vec![format!(
        "tasks: {} queued, {} running, {} completed, {} failed ({} in all)",
        t.queued,
        t.running,
        t.completed,
        t.failed,
        t.total()
    )];
    if stats.workers.is_empty() {
        lines.push("no workers have registered".to_owned());
        return lines.join("\n");
    }
    let width = stats
        .workers
        .iter()
        .map(|w| w.worker_id.chars().count())
        .max()
        .unwrap_or(0)
        .max("worker".len());
    lines.push(format!(
        "{:<width$}  alive  last heartbeat  running  completed  failed  capabilities",
        "worker"
    ));
    for w in &stats.workers {
        lines.push(format!(
            "{:<width$}  {:<5}  {:>12.1}s  {:>7}  {:>9}  {:>6}  {}",
            w.worker_id,
            if w.alive { "yes" } else { "no" },
            w.last_heartbeat_ms_ago as f64 / 1000.0,
            w.running,
            w.completed,
            w.failed,
            w.capabilities.join(" ")
        ));
    }
    lines.join("\n")
}
