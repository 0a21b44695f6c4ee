//! `add_task`: submit prime-counting tasks to chapter 05's lease dispatcher, as
//! the original queue's `add_task.py COUNT LIMIT ALGORITHM` did.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::json;
use solution05::{Client, NewTask};
use workbook::seconds;
use workbook_ch04::exit;
use workbook_ch05::door::DoorArgs;

/// Queues COUNT tasks, each counting the primes up to LIMIT with ALGORITHM, and
/// prints their ids (one a line). With --wait, waits for each and prints its
/// final state as JSON instead.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// How many tasks.
    count: u32,

    /// Count the primes up to this number.
    #[arg(default_value_t = 100_000)]
    limit: u64,

    /// How to count them.
    #[arg(value_enum, default_value_t = Algorithm::Sieve)]
    algorithm: Algorithm,

    #[command(flatten)]
    door: DoorArgs,

    /// Leases each task may get [default: the dispatcher's --max-attempts].
    #[arg(long)]
    max_attempts: Option<u32>,

    /// Wait for every task to finish and print each one's final state.
    #[arg(long)]
    wait: bool,

    /// Seconds to wait for each answer of the dispatcher.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds::parse)]
    timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Algorithm {
    /// The sieve of Eratosthenes: fast.
    Sieve,
    /// Trial division (also spelled trial_division, as in the original).
    #[value(alias = "trial_division")]
    TrialDivision,
}

const EXAMPLES: &str = "\
Examples:
  add_task 5 100000                    5 tasks, primes up to 100,000 by the sieve
  add_task 1 100000 trial-division     the slow way
  add_task 10 50000 --wait             and print each result
  add_task 5 100000 --http             through the HTTP door on port 5000
  add_task 5 --http=http://127.0.0.1:8080   … or on another";

fn main() -> ExitCode {
    exit::exit_with(run(&Cli::parse()))
}

fn run(cli: &Cli) -> Result<(), String> {
    let endpoint = cli.door.endpoint();
    let mut client = Client::connect(&endpoint, cli.timeout).map_err(|e| e.to_string())?;
    let algorithm = match cli.algorithm {
        Algorithm::Sieve => "sieve",
        Algorithm::TrialDivision => "trial_division",
    };
    let mut task = NewTask::new(
        "primes",
        json!({ "limit": cli.limit, "algorithm": algorithm }),
    );
    task.max_attempts = cli.max_attempts;
    let ids = (0..cli.count)
        .map(|_| client.submit(&task))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    for id in ids {
        if cli.wait {
            let view = client
                .wait_for(id, Duration::from_millis(50), Duration::MAX)
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string(&view).map_err(|e| e.to_string())?
            );
        } else {
            println!("{id}");
        }
    }
    Ok(())
}
