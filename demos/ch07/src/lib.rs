//! What chapter 07's demos (`nats_controller`, `nats_worker`) share: how a line of
//! the NATS chapter looks, the server options both take, and how they run their
//! async library until it is done or Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use solution02::Shutdown;
use solution07::event::{Event, Speaker};
use solution07::setup::Setup;
use workbook::seconds;
use workbook::term::{self, Voice};

/// The options every chapter 07 demo takes: where the servers are, and the
/// engine's settings, which must be the same for the controller and every worker.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// A nats-server to connect to; repeat it for each server of a cluster.
    #[arg(
        long = "server",
        value_name = "URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub servers: Vec<String>,

    /// Seconds a worker may hold a task without a heartbeat (the consumer's ack_wait).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds::parse)]
    pub lease: Duration,

    /// Deliveries of a task at most (the consumer's max_deliver).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Copies of the stream, consumers and bucket: 3 on a three-server cluster.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub replicas: u8,
}

impl EngineArgs {
    pub fn setup(&self) -> Setup {
        Setup {
            replicas: usize::from(self.replicas),
            lease: self.lease,
            max_attempts: self.max_attempts,
            ..Setup::default()
        }
    }
}

/// A worker's colour from the digits its name ends with: Worker1, Worker2, …
fn voice(speaker: &Speaker) -> Voice {
    match speaker {
        Speaker::Controller => Voice::Coordinator,
        Speaker::Worker(name) => {
            let digits: String = name.chars().filter(char::is_ascii_digit).collect();
            Voice::Worker(digits.parse().unwrap_or(name.len()))
        }
    }
}

/// Prints one event of chapter 07.
pub fn print_nats_event(event: &Event) {
    let speaker = event.speaker();
    term::print_tagged(&speaker.to_string(), voice(&speaker), &event.message());
}

/// Runs `body` on a small tokio runtime with a stop flag that Ctrl-C raises; an
/// error is one `error: …` line on stderr and exit status 1.
pub fn run_until_ctrl_c<F>(body: impl FnOnce(Shutdown) -> F) -> ExitCode
where
    F: Future<Output = Result<(), String>>,
{
    let stop = Shutdown::new();
    let stopper = stop.clone();
    let outcome = ctrlc::set_handler(move || stopper.stop())
        .map_err(|error| format!("could not install the Ctrl-C handler: {error}"))
        .and_then(|()| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|error| format!("could not start the async runtime: {error}"))
        })
        .and_then(|runtime| runtime.block_on(body(stop)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
