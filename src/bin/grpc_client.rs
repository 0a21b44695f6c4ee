//! `grpc_client`: calls chapter 06's server — one task, a load run, health, reflection.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use solution02::{Op, Role};
use solution06::load::{self, LoadConfig};
use solution06::task::new_task;
use solution06::{client, pb};
use workbook::term;

/// Calls the Calculator service of `grpc_server` (or any server speaking
/// proto/workbook.proto, such as the grpcio peer).
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// The server's address.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:50051",
        global = true
    )]
    address: String,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long, global = true)]
    no_color: bool,

    #[command(subcommand)]
    command: Command,
}

/// What every call's task carries besides its arithmetic.
#[derive(Debug, Clone, clap::Args)]
struct CallOptions {
    /// Seconds of simulated work on the worker.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    processing_time: f64,

    /// The call's gRPC deadline in milliseconds (default: 60 s).
    #[arg(long, value_name = "MS")]
    deadline_ms: Option<u64>,
}

impl CallOptions {
    fn deadline(&self) -> Option<Duration> {
        self.deadline_ms.map(Duration::from_millis)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One call: Compute(A OP B), e.g. `compute 12 multiply 12`.
    Compute {
        #[arg(allow_negative_numbers = true)]
        a: i64,
        /// add, subtract, multiply or divide (integer division).
        op: Op,
        #[arg(allow_negative_numbers = true)]
        b: i64,
        /// The task's id.
        #[arg(long, default_value = "1")]
        id: String,
        #[command(flatten)]
        options: CallOptions,
    },
    /// Many calls from C callers at once; prints req/s and p50/p99 latency.
    Load {
        /// Callers at once, each on its own connection.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
        concurrency: u16,
        /// Calls in all.
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
        #[command(flatten)]
        options: CallOptions,
    },
    /// Asks the standard health service whether the server is serving.
    Health,
    /// Lists the services the server offers, through reflection.
    List,
}

const EXAMPLES: &str = "\
Examples:
  grpc_client compute 12 multiply 12
  grpc_client compute 6 divide 0
  grpc_client compute 1 add 1 --processing-time 2 --deadline-ms 500
  grpc_client load --concurrency 8 --requests 10000
  grpc_client health
  grpc_client list";

async fn run(cli: Cli) -> Result<(), client::ClientError> {
    let say = |message: &str| term::print_line(Role::Client, message);
    match cli.command {
        Command::Compute {
            a,
            op,
            b,
            id,
            options,
        } => {
            let channel = client::connect(&cli.address).await?;
            let task = pb::Task {
                processing_time: options.processing_time,
                ..new_task(id, a, op, b)
            };
            let result = client::compute(&channel, task, options.deadline()).await?;
            say(&format!(
                "Task {} = {} (by Worker {}, queued {:.1} ms)",
                result.task_id,
                result.value,
                result.worker_id,
                result.queued_seconds * 1e3
            ));
        }
        Command::Load {
            concurrency,
            requests,
            options,
        } => {
            let config = LoadConfig {
                address: cli.address,
                concurrency: usize::from(concurrency),
                requests,
                task: pb::Task {
                    processing_time: options.processing_time,
                    ..new_task("load", 12, Op::Multiply, 12)
                },
                deadline: options.deadline(),
            };
            say(&format!(
                "{requests} calls from {concurrency} callers to {}...",
                config.address
            ));
            say(&load::run(config).await?.to_string());
        }
        Command::Health => {
            let channel = client::connect(&cli.address).await?;
            say(&format!("health: {}", client::health(&channel, "").await?));
        }
        Command::List => {
            let channel = client::connect(&cli.address).await?;
            for service in client::list_services(&channel).await? {
                say(&service);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
