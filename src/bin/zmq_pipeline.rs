//! `zmq_pipeline`: chapter 03's collector, worker pool and publisher, until DIE or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use solution03::pipeline::DEFAULT_MAX_IN_FLIGHT;
use solution03::protocol::MAX_BATCH;
use solution03::{Event, EventSink, Pipeline, PipelineConfig, Role};
use workbook::term::{self, Voice};
use workbook_ch03::endpoints::Endpoints;

/// The pyzero-dtq design on chapter 02's pool: producers PUSH tasks to the
/// collector, workers run them, the publisher PUBs each result on its topic.
///
/// Stops gracefully on Ctrl-C or a ["DIE"] message: every accepted task is still
/// run and published, tasks still waiting in the socket get an error result. A
/// second Ctrl-C exits at once, abandoning the accepted tasks.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// Number of worker threads.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: u16,

    /// Most tasks accepted and not yet published at once; beyond it the pipeline
    /// stops reading and producers' sends block. Lower means a shorter graceful
    /// stop, but tiny tasks flow slower.
    #[arg(long, value_name = "TASKS", default_value_t = DEFAULT_MAX_IN_FLIGHT as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,

    /// Most results per message for producers that send batches (`zmq_producer
    /// --batch`); 1 publishes each result alone, the original's way. Results of
    /// tasks sent alone always go out alone.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=MAX_BATCH as i64))]
    batch: u16,

    #[command(flatten)]
    endpoints: Endpoints,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  zmq_pipeline                                  4 workers on ports 5557 and 5558
  zmq_pipeline --workers 8 --max-in-flight 100
  zmq_pipeline --batch 64                       batched results for batching producers
  zmq_pipeline --collector tcp://127.0.0.1:6000 --publisher tcp://127.0.0.1:6001
Then, in another terminal:
  zmq_producer --tasks 10";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let config = PipelineConfig {
        collector: cli.endpoints.collector,
        publisher: cli.endpoints.publisher,
        workers: usize::from(cli.workers),
        max_in_flight: usize::try_from(cli.max_in_flight).unwrap_or(usize::MAX),
        batch: usize::from(cli.batch),
    };
    match serve(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &PipelineConfig) -> Result<(), String> {
    let events: EventSink = Arc::new(print_event);
    let pipeline = Pipeline::bind(config, events).map_err(|error| error.to_string())?;
    let shutdown = pipeline.shutdown_handle();
    let interrupted = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            term::print_tagged(
                "Collector",
                Voice::Coordinator,
                "Second Ctrl-C: abandoning the tasks still queued, exiting now",
            );
            std::process::exit(130);
        }
        shutdown.stop();
        term::print_tagged(
            "Collector",
            Voice::Coordinator,
            "Ctrl-C: finishing the accepted tasks; press Ctrl-C again to abandon them",
        );
    })
    .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))?;
    pipeline.run().map(drop).map_err(|error| error.to_string())
}

fn print_event(event: &Event) {
    let role = event.role();
    let voice = match role {
        Role::Collector => Voice::Coordinator,
        Role::Publisher => Voice::Relay,
        Role::Worker(id) => Voice::Worker(id),
    };
    term::print_tagged(&role.to_string(), voice, &event.message());
}
