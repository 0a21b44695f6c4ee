//! `grpc_server`: chapter 06's tonic server, its handlers on a pool of worker threads.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use solution05::StoreConfig;
use solution06::server::DEFAULT_MAX_MESSAGE_BYTES;
use solution06::{Event, EventSink, ExecutorConfig, GrpcServer, ServerConfig, StoreOptions};
use workbook::term;

/// `grpc.server(futures.ThreadPoolExecutor(max_workers=10))` in Rust: tonic is the
/// dispatcher, a pool of worker threads runs every handler. Stops on Ctrl-C after
/// answering the calls in flight.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    listen: String,

    /// Worker threads: how many handlers run at once. The flag mirrors
    /// ThreadPoolExecutor's max_workers; it is the pool's `workers`.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1024))]
    max_workers: u16,

    /// Refuse calls with RESOURCE_EXHAUSTED beyond this many in flight (default: no limit).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrent_rpcs: Option<u32>,

    /// tokio threads for the network side (the handlers run on the workers).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    io_threads: u16,

    /// Refuse requests larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    max_message_bytes: usize,

    /// The Dispatcher service's SQLite file, created if missing (default: in
    /// memory, lost when the server stops).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,

    /// Seconds a claimed task stays leased unless a heartbeat renews it.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0, value_parser = positive_seconds)]
    lease: f64,

    /// Seconds without a heartbeat after which a worker is dead.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = positive_seconds)]
    dead_after: f64,

    /// Seconds between the monitor's looks for dead workers.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0, value_parser = positive_seconds)]
    monitor_every: f64,

    /// Print no line per call, only start, refusals, drops and shutdown.
    #[arg(long)]
    quiet: bool,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

/// A number of seconds above zero and below a year.
fn positive_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if seconds > 0.0 && seconds < 365.0 * 24.0 * 3600.0 {
        Ok(seconds)
    } else {
        Err(format!("expected seconds above 0, got {text}"))
    }
}

const EXAMPLES: &str = "\
Examples:
  grpc_server                                   10 workers on 127.0.0.1:50051
  grpc_server --max-workers 2 --max-concurrent-rpcs 4
  grpc_server --db tasks.db --lease 30          Dispatcher tasks kept in tasks.db
  grpc_client compute 12 multiply 12            (in another terminal)";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let quiet = cli.quiet;
    let events: EventSink = Arc::new(move |event: &Event| {
        let per_call = matches!(event, Event::Started { .. } | Event::Finished { .. });
        if !(quiet && per_call) {
            term::print_line(event.role(), &event.message());
        }
    });
    let config = ServerConfig {
        address: cli.listen,
        executor: ExecutorConfig {
            workers: usize::from(cli.max_workers),
            max_concurrent_rpcs: cli.max_concurrent_rpcs.map(|m| m as usize),
        },
        io_threads: usize::from(cli.io_threads),
        max_message_bytes: cli.max_message_bytes,
        store: StoreOptions {
            db: cli.db,
            store: StoreConfig {
                lease: Duration::from_secs_f64(cli.lease),
                ..StoreConfig::default()
            },
            dead_after: Duration::from_secs_f64(cli.dead_after),
            monitor_every: Duration::from_secs_f64(cli.monitor_every),
        },
    };

    let outcome = GrpcServer::start(config, events)
        .map_err(|error| error.to_string())
        .and_then(|server| {
            let shutdown = server.shutdown_handle();
            ctrlc::set_handler(move || shutdown.stop())
                .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))?;
            server.wait().map_err(|error| error.to_string())
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
