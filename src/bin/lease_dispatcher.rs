//! `lease_dispatcher`: chapter 05's dispatcher — a durable SQLite queue with leases.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use solution05::dispatcher::DEFAULT_ENDPOINT;
use solution05::http::DEFAULT_HTTP_ADDRESS;
use solution05::{Dispatcher, DispatcherConfig, EventSink, HttpDoor};
use workbook::{seconds, term};
use workbook_ch04::exit;
use workbook_ch05::print_lease_event;

/// The lease dispatcher: keeps every task in a SQLite file, leases tasks to
/// registered workers by capability, takes them back from workers that stop
/// sending heartbeats, and accepts a result only with its lease's token.
/// Workers and clients (add_task, stats) use the same endpoint — and, with
/// --http, the Flask original's HTTP/JSON endpoints too, on the same queue.
/// Runs until Ctrl-C; start it again on the same --db and it carries on.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// Where workers and clients connect (REP). A port of `*` picks a free one.
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    bind: String,

    /// Also serve the HTTP door (POST /submit-task /get-task /submit-result
    /// /heartbeat, GET /task/<id> /stats /health) on ADDR [default: 127.0.0.1:5000,
    /// the original's port]. A port of 0 picks a free one.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = DEFAULT_HTTP_ADDRESS
    )]
    http: Option<String>,

    /// The SQLite database file: created if missing, reused if not.
    #[arg(long, value_name = "FILE", default_value = "tasks.db")]
    db: PathBuf,

    /// Seconds a lease lasts unless a heartbeat renews it.
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = seconds::parse)]
    lease: Duration,

    /// Leases a task may get before it is FAILED for good.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,

    /// Seconds without a heartbeat after which a worker is dead.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds::parse)]
    dead_after: Duration,

    /// Seconds between the monitor's looks for dead workers.
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = seconds::parse)]
    monitor_every: Duration,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  lease_dispatcher                                   port 5557, queue in ./tasks.db
  lease_dispatcher --db /tmp/queue.db --lease 30     shorter leases
  lease_dispatcher --bind 'tcp://127.0.0.1:*'        any free port (printed at start)
  lease_dispatcher --http                            and HTTP on 127.0.0.1:5000, for curl
  lease_dispatcher --http 127.0.0.1:8080             HTTP on another port";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let mut config = DispatcherConfig::new(&cli.bind, &cli.db);
    config.store.lease = cli.lease;
    config.store.max_attempts = cli.max_attempts;
    config.dead_after = cli.dead_after;
    config.monitor_every = cli.monitor_every;
    let events: EventSink = Arc::new(print_lease_event);
    exit::until_ctrl_c(|stop| {
        let started = Instant::now();
        let dispatcher = Dispatcher::bind(config.clone(), EventSink::clone(&events))
            .map_err(|e| e.to_string())?;
        // The HTTP door answers on a thread of its own, with its own connection
        // to the same file; the ZeroMQ loop keeps the monitor.
        let http = match &cli.http {
            Some(address) => {
                let door =
                    HttpDoor::bind(address, &config, events, started).map_err(|e| e.to_string())?;
                let stop = stop.clone();
                Some(thread::spawn(move || door.run(&stop)))
            }
            None => None,
        };
        let served = dispatcher.run(stop).map_err(|e| e.to_string());
        stop.stop();
        let http = match http.map(thread::JoinHandle::join) {
            Some(Ok(outcome)) => outcome.map_err(|e| e.to_string()),
            Some(Err(_)) => Err("the HTTP door panicked".to_owned()),
            None => Ok(()),
        };
        served.and(http)
    })
}
