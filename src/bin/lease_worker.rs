//! `lease_worker`: chapter 05's worker — registers its capabilities, heartbeats,
//! and keeps every result until the dispatcher has it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use solution03::work::KINDS;
use solution05::{Backoff, EventSink, Worker, WorkerConfig};
use workbook::{seconds, term};
use workbook_ch04::{ProtocolArg, exit};
use workbook_ch05::door::DoorArgs;
use workbook_ch05::print_lease_event;

/// A lease worker: registers with the task kinds it runs, asks for work while a
/// thread is free, sends heartbeats naming the leases it holds, and caches each
/// result on disk until the dispatcher acknowledges it — across dispatcher
/// outages (retrying with backoff) and its own restarts. Runs until Ctrl-C.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// The name the dispatcher knows this worker by.
    #[arg(short = 'w', long)]
    id: String,

    /// The task kinds it runs: add subtract multiply divide primes sleep fail echo,
    /// in any case (`-c Add Divide`, as the NATS original spells them).
    #[arg(
        short = 'c',
        long,
        num_args = 1..,
        required = true,
        ignore_case = true,
        value_parser = capability_parser()
    )]
    capabilities: Vec<String>,

    #[command(flatten)]
    door: DoorArgs,

    /// How many tasks run at once: the workers of chapter 02's pool.
    #[arg(
        long,
        default_value_t = 2,
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    workers: u16,

    /// Tasks claimed in one request, and results delivered in one: 1, a request
    /// per task (the default), or more, each task still with a lease of its own.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch: u16,

    /// How results travel: `one-trip` (each group of results rides on the
    /// request for the next tasks: RESULT_AND_REQUEST, one round trip per task)
    /// or `original` (RESULT, then REQUEST_TASK: two).
    #[arg(long, value_enum, default_value_t = ProtocolArg::OneTrip)]
    protocol: ProtocolArg,

    /// Seconds between heartbeats.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds::parse)]
    heartbeat_every: Duration,

    /// Seconds to wait for an answer before calling the dispatcher unreachable.
    #[arg(long, value_name = "SECONDS", default_value = "2.5", value_parser = seconds::parse)]
    timeout: Duration,

    /// Seconds to wait before asking again when there is no work.
    #[arg(long, value_name = "SECONDS", default_value = "0.1", value_parser = seconds::parse)]
    poll: Duration,

    /// Where undelivered results wait [default: <temp dir>/lease_worker-<id>].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Seconds a cached result is worth delivering.
    #[arg(long, value_name = "SECONDS", default_value = "3600", value_parser = seconds::parse)]
    cache_ttl: Duration,

    /// Seconds before the first retry of an unreachable dispatcher (then doubling).
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = seconds::parse)]
    backoff_first: Duration,

    /// The longest wait between retries.
    #[arg(long, value_name = "SECONDS", default_value = "20", value_parser = seconds::parse)]
    backoff_max: Duration,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  lease_worker --id w1 --capabilities add divide primes
  lease_worker --id w2 --capabilities primes --workers 4 --endpoint tcp://127.0.0.1:5557
  lease_worker -w Worker1 -c Add Divide           as the NATS original is started
  lease_worker --id w3 --capabilities add --http   through the HTTP door on port 5000
  lease_worker --id w4 --capabilities add --batch 32   32 tasks per claim, results in groups
  lease_worker --id w5 --capabilities add --protocol original   RESULT, then REQUEST_TASK";

/// One of [`KINDS`], in any case (with the argument's `ignore_case`), kept in
/// lower case: the dispatcher knows the kinds by their lower-case names.
fn capability_parser() -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(KINDS).map(|kind| kind.to_ascii_lowercase())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    // `-c add Add` names one kind twice: register it once.
    let mut capabilities: Vec<&str> = Vec::new();
    for kind in &cli.capabilities {
        if !capabilities.contains(&kind.as_str()) {
            capabilities.push(kind);
        }
    }
    let endpoint = cli.door.endpoint();
    let mut config = WorkerConfig::new(&endpoint, &cli.id, &capabilities);
    config.workers = usize::from(cli.workers);
    config.batch = usize::from(cli.batch);
    config.protocol = cli.protocol.into();
    config.heartbeat_every = cli.heartbeat_every;
    config.request_timeout = cli.timeout;
    config.idle_wait = cli.poll;
    config.cache_ttl = cli.cache_ttl;
    config.backoff = Backoff {
        first: cli.backoff_first,
        max: cli.backoff_max,
    };
    if let Some(dir) = cli.cache_dir {
        config.cache_dir = dir;
    }
    let events: EventSink = Arc::new(print_lease_event);
    exit::until_ctrl_c(|stop| {
        let worker = Worker::start(config, events).map_err(|e| e.to_string())?;
        worker.run(stop).map_err(|e| e.to_string())
    })
}
