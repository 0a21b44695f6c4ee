//! `grpc_client`: calls chapter 06's server — one task, a load run, health,
//! reflection, and the Dispatcher service's queue.

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
    /// Dispatcher: queues a chapter 05 task, e.g. `submit add '{"a": 2, "b": 3}'`; prints its id.
    Submit {
        /// add, subtract, multiply, divide, primes, sleep, fail or echo.
        kind: String,
        /// The task's arguments as JSON.
        #[arg(default_value = "null")]
        args: String,
        /// A name for this submission: sent again under the same key, it queues
        /// nothing new and prints the first task's id.
        #[arg(long)]
        key: Option<String>,
    },
    /// Dispatcher: a task's state, and its result or error.
    Status { id: i64 },
    /// Dispatcher: registers WORKER with its kinds and leases the next task it can run.
    Claim {
        worker: String,
        /// The kinds it runs, e.g. `add primes`.
        #[arg(required = true)]
        kinds: Vec<String>,
    },
    /// Dispatcher: reports a leased task's result (JSON), or with --error its failure.
    Result {
        id: i64,
        /// The lease token ClaimTask answered.
        token: String,
        /// The result as JSON.
        #[arg(required_unless_present = "error")]
        result: Option<String>,
        /// The task failed: why.
        #[arg(long, conflicts_with = "result")]
        error: Option<String>,
    },
    /// Dispatcher: tasks per status and every worker, then its Health answer.
    Stats,
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
  grpc_client list
  grpc_client submit add '{\"a\": 2, \"b\": 3}'
  grpc_client claim w1 add primes
  grpc_client result 1 TOKEN 5
  grpc_client status 1
  grpc_client stats";

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
        Command::Submit { kind, args, key } => {
            let channel = client::connect(&cli.address).await?;
            let key = key.unwrap_or_default();
            let id = client::submit_keyed_task(&channel, &kind, &args, &key).await?;
            say(&format!("Submitted task {id}"));
        }
        Command::Status { id } => {
            let channel = client::connect(&cli.address).await?;
            say(&describe(&client::get_task(&channel, id).await?));
        }
        Command::Claim { worker, kinds } => {
            let channel = client::connect(&cli.address).await?;
            let properties = pb::WorkerProperties {
                id: worker.clone(),
                capabilities: Vec::new(),
                kinds,
            };
            client::heartbeat(&channel, properties, Vec::new()).await?;
            match client::claim_task(&channel, &worker).await? {
                Some(lease) => say(&format!(
                    "Leased task {} ({} {}), attempt {} of {}, token {}",
                    lease.task_id,
                    lease.kind,
                    lease.args_json,
                    lease.attempt,
                    lease.max_attempts,
                    lease.lease_token
                )),
                None => say("Nothing to do"),
            }
        }
        Command::Result {
            id,
            token,
            result,
            error,
        } => {
            let channel = client::connect(&cli.address).await?;
            let outcome = match (result, error) {
                (_, Some(message)) => pb::submit_result_request::Outcome::Error(message),
                (result, None) => {
                    pb::submit_result_request::Outcome::ResultJson(result.unwrap_or_default())
                }
            };
            let answer = client::submit_result(&channel, id, &token, outcome).await?;
            say(&format!(
                "Task {id} {}{}",
                status_name(answer.status),
                if answer.already_recorded {
                    " (already recorded)"
                } else {
                    ""
                }
            ));
        }
        Command::Stats => {
            let channel = client::connect(&cli.address).await?;
            let stats = client::stats(&channel).await?;
            say(&format!(
                "queued {}, running {}, done {}, failed {}",
                stats.queued, stats.running, stats.done, stats.failed
            ));
            for worker in stats.workers {
                say(&format!(
                    "worker {} ({}): {} — running {}, completed {}, failed {}",
                    worker.id,
                    if worker.alive { "alive" } else { "dead" },
                    worker.kinds.join(" "),
                    worker.running,
                    worker.completed,
                    worker.failed
                ));
            }
            let health = client::dispatcher_health(&channel).await?;
            say(&format!(
                "health: {} ({} tasks, {} live workers, store {})",
                health.status, health.tasks, health.live_workers, health.store
            ));
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

/// DONE, FAILED, ... as the .proto names them, without the prefix.
fn status_name(status: i32) -> &'static str {
    pb::TaskStatus::try_from(status).map_or("UNKNOWN", |status| {
        status.as_str_name().trim_start_matches("TASK_STATUS_")
    })
}

/// `Task 1 (add {"a":2,"b":3}): DONE, result 5` and the like.
fn describe(task: &pb::TaskState) -> String {
    let mut line = format!(
        "Task {} ({} {}): {}, attempts {}/{}",
        task.task_id,
        task.kind,
        task.args_json,
        status_name(task.status),
        task.attempts,
        task.max_attempts
    );
    for (label, value) in [
        ("result", &task.result_json),
        ("error", &task.error),
        ("waiting", &task.waiting),
        ("lease owner", &task.lease_owner),
    ] {
        if !value.is_empty() {
            line.push_str(&format!(", {label} {value}"));
        }
    }
    line
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
