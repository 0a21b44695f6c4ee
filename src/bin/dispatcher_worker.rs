//! `dispatcher_worker`: chapter 02's dispatcher and workers, in-process or over TCP.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use solution02::delay::DelayRange;
use solution02::dispatcher::EventSink;
use solution02::server::Server;
use solution02::{DispatcherConfig, Role, TaskSpec, client, demo};
use workbook::term;

/// The dispatcher/worker pattern: one dispatcher queues tasks, worker threads take
/// the next one whenever they are free.
///
/// With no arguments it runs the original Python demo's five tasks on three workers.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// Tasks to run, each as "<a> <op> <b>" with op one of add, subtract, multiply,
    /// divide (integer division). Without any, the demo's five tasks run.
    #[arg(value_name = "TASK", conflicts_with = "listen")]
    tasks: Vec<TaskSpec>,

    /// Number of worker threads.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: u16,

    /// Random tasks to add after the others (the demo's five, or your TASKs).
    #[arg(
        long = "tasks",
        value_name = "N",
        default_value_t = 0,
        conflicts_with = "listen"
    )]
    extra_tasks: usize,

    /// Seed for the random tasks and each task's simulated work time.
    #[arg(long, default_value_t = 2024)]
    seed: u64,

    /// Simulated work per task in milliseconds: MIN..MAX, or one number.
    #[arg(long = "delay-ms", value_name = "MIN..MAX", default_value_t = DelayRange::DEMO)]
    delay: DelayRange,

    /// Serve tasks over TCP as JSON lines instead, until Ctrl-C.
    #[arg(long, value_name = "ADDR", conflicts_with = "connect")]
    listen: Option<String>,

    /// Send the tasks to a server started with --listen and print its replies.
    #[arg(long, value_name = "ADDR")]
    connect: Option<String>,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  dispatcher_worker                          the original demo
  dispatcher_worker --workers 5 --tasks 20   more workers, 20 random tasks
  dispatcher_worker \"6 divide 0\" \"2 add 2\"   your own tasks
  dispatcher_worker --listen 127.0.0.1:9999  network mode (JSON lines)
  dispatcher_worker --connect 127.0.0.1:9999 \"10 add 5\"";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let config = DispatcherConfig {
        workers: usize::from(cli.workers),
        delay: cli.delay,
        seed: cli.seed,
    };
    let events: EventSink = Arc::new(term::print_event);

    let outcome = if let Some(address) = &cli.listen {
        serve(address, config, events)
    } else {
        let mut specs = if cli.tasks.is_empty() {
            demo::DEMO_TASKS.to_vec()
        } else {
            cli.tasks.clone()
        };
        specs.extend(demo::random_tasks(cli.extra_tasks, cli.seed));
        let tasks = demo::number(specs);
        match &cli.connect {
            Some(address) => {
                client::send_tasks(address, &tasks, Duration::from_secs(60), |reply| {
                    term::print_line(Role::Client, &reply.describe())
                })
                .map(drop)
                .map_err(|error| error.to_string())
            }
            None => demo::run(config, &tasks, events)
                .map(drop)
                .map_err(|error| error.to_string()),
        }
    };

    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(address: &str, config: DispatcherConfig, events: EventSink) -> Result<(), String> {
    let server = Server::bind(address, config, events).map_err(|error| error.to_string())?;
    let shutdown = server.shutdown_handle();
    ctrlc::set_handler(move || shutdown.stop())
        .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))?;
    server.run().map_err(|error| error.to_string())
}
