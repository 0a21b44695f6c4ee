//! `pull_dispatcher`: chapter 04's dispatcher — workers pull tasks, deadlines are enforced.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use solution04::dispatcher::{DEFAULT_CLIENTS_ENDPOINT, DEFAULT_WORKERS_ENDPOINT};
use solution04::{Dispatcher, DispatcherConfig, EventSink, Shutdown};
use workbook::term;
use workbook_ch04::print_pull_event;

/// The pull model's dispatcher: queues submitted tasks, hands one to each worker
/// that asks, and fails tasks that run past the deadline. Runs until Ctrl-C.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// Where workers ask for tasks (REP). A port of `*` picks a free one.
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_WORKERS_ENDPOINT)]
    workers: String,

    /// Where clients submit tasks and ask for their status (REP).
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_CLIENTS_ENDPOINT)]
    clients: String,

    /// Seconds a task may run before it is failed with WorkerFailureError.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    deadline: f64,

    /// Seconds between deadline checks.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    check_every: f64,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  pull_dispatcher                                   ports 5556 (workers) and 5555 (clients)
  pull_dispatcher --deadline 5                      a longer deadline
  pull_dispatcher --workers 'tcp://127.0.0.1:*'     any free port (printed at start)";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    // Zero is refused too: a zero check interval would make the loop spin.
    let seconds = |value: f64, what: &str| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|duration| !duration.is_zero())
            .ok_or_else(|| format!("--{what} must be a positive number of seconds"))
    };
    let outcome = (|| {
        let config = DispatcherConfig {
            workers_endpoint: cli.workers.clone(),
            clients_endpoint: cli.clients.clone(),
            deadline: seconds(cli.deadline, "deadline")?,
            check_every: seconds(cli.check_every, "check-every")?,
        };
        let events: EventSink = Arc::new(print_pull_event);
        let dispatcher = Dispatcher::bind(config, events).map_err(|e| e.to_string())?;
        let stop = Shutdown::new();
        let stopper = stop.clone();
        ctrlc::set_handler(move || stopper.stop())
            .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))?;
        dispatcher.run(&stop).map_err(|e| e.to_string())
    })();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
