//! `pull_worker`: chapter 04's worker — asks for tasks while it has free threads.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use solution04::dispatcher::DEFAULT_WORKERS_ENDPOINT;
use solution04::{EventSink, Shutdown, Worker, WorkerConfig};
use workbook::term;
use workbook_ch04::{ProtocolArg, print_pull_event};

/// A pull worker: runs up to PROCESSES tasks at once on a thread pool, asking the
/// dispatcher for the next one whenever a thread is free. Survives dispatcher
/// restarts. Runs until Ctrl-C.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// How many tasks run at once: the pool's workers (the argument keeps the original's name, processes).
    #[arg(value_parser = clap::value_parser!(u16).range(1..=1024))]
    processes: u16,

    /// The dispatcher's worker endpoint.
    #[arg(default_value = DEFAULT_WORKERS_ENDPOINT)]
    endpoint: String,

    /// A name sent with each request, shown in the dispatcher's log.
    #[arg(long)]
    id: Option<String>,

    /// Seconds to wait for an answer before reconnecting and asking again.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.5)]
    timeout: f64,

    /// How results travel: `original` (REQUEST_TASK, then RESULT: — two round trips
    /// per task) or `one-trip` (each result rides on the next request: RESULT_AND_REQUEST).
    #[arg(long, value_enum, default_value_t = ProtocolArg::Original)]
    protocol: ProtocolArg,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  pull_worker 4 tcp://127.0.0.1:5556
  pull_worker 2 tcp://127.0.0.1:5556 --id laptop
  pull_worker 2 tcp://127.0.0.1:5556 --protocol one-trip";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let outcome = (|| {
        let mut config = WorkerConfig::new(&cli.endpoint, usize::from(cli.processes));
        config.worker_id = cli.id.clone();
        config.protocol = cli.protocol.into();
        config.request_timeout = Duration::try_from_secs_f64(cli.timeout)
            .map_err(|_| "--timeout must be a positive number of seconds".to_owned())?;
        let events: EventSink = Arc::new(print_pull_event);
        let worker = Worker::start(config, events).map_err(|e| e.to_string())?;
        let stop = Shutdown::new();
        let stopper = stop.clone();
        ctrlc::set_handler(move || stopper.stop())
            .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))?;
        worker.run(&stop).map_err(|e| e.to_string())
    })();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
