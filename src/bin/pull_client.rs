//! `pull_client`: submit tasks to chapter 04's dispatcher and ask for their status.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use solution04::dispatcher::DEFAULT_CLIENTS_ENDPOINT;
use solution04::{Client, ClientError};

/// Talks to a pull_dispatcher's client endpoint.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// The dispatcher's client endpoint.
    #[arg(long, global = true, value_name = "ENDPOINT", default_value = DEFAULT_CLIENTS_ENDPOINT)]
    endpoint: String,

    /// Seconds to wait for the dispatcher's answer.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 5.0)]
    timeout: f64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Queue a task; prints its id.
    Submit {
        /// add, subtract, multiply, divide, sleep, primes, fail or echo.
        kind: String,
        /// The task's arguments as JSON, e.g. '{"ms": 100}'.
        #[arg(default_value = "{}")]
        args: String,
        /// Wait until the task is final and print its status instead of its id.
        #[arg(long)]
        wait: bool,
    },
    /// Print a task's state and, once final, its result or error, as JSON.
    Status { task_id: String },
}

const EXAMPLES: &str = r#"Examples:
  pull_client submit add '{"a": 10, "b": 5}'
  pull_client submit primes '{"limit": 100000}' --wait
  pull_client submit sleep '{"ms": 3000}' --wait
  pull_client status 18f3a2c1-1"#;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<String, String> {
    let timeout = Duration::try_from_secs_f64(cli.timeout)
        .map_err(|_| "--timeout must be a positive number of seconds".to_owned())?;
    let mut client = Client::connect(&cli.endpoint, timeout).map_err(|e| e.to_string())?;
    let report = |result: Result<solution04::TaskReport, ClientError>| {
        result
            .map_err(|e| e.to_string())
            .and_then(|report| serde_json::to_string(&report).map_err(|e| e.to_string()))
    };
    match &cli.command {
        Command::Submit { kind, args, wait } => {
            let args = serde_json::from_str(args)
                .map_err(|error| format!("the arguments are not JSON: {error}"))?;
            let task_id = client.submit(kind, args).map_err(|e| e.to_string())?;
            if *wait {
                report(client.wait_for(&task_id, Duration::from_millis(50), Duration::MAX))
            } else {
                Ok(task_id)
            }
        }
        Command::Status { task_id } => report(client.status(task_id)),
    }
}
