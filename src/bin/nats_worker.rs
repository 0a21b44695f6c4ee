//! `nats_worker`: chapter 07's worker — pulls the tasks of its kinds from
//! JetStream, renews its lease while it works, records each outcome once.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use solution07::EventSink;
use solution07::task::parse_kind;
use solution07::worker::{self, WorkerConfig};
use workbook::term;
use workbook_ch07::{EngineArgs, print_nats_event, run_until_ctrl_c};

/// A worker of the NATS original, on JetStream: binds to the shared pull consumer
/// of each kind it runs and asks for one task at a time, one kind's consumer
/// after the other's. Runs until Ctrl-C, finishing the task at hand first.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// The worker's name, shown on every outcome it records.
    #[arg(short = 'w', long = "worker", value_name = "NAME")]
    name: String,

    /// The kinds it runs: Add Subtract Multiply Divide, in any case.
    #[arg(short = 'c', long, value_name = "KIND", num_args = 1.., required = true, value_parser = parse_kind_arg)]
    capabilities: Vec<solution07::pb::TaskType>,

    #[command(flatten)]
    engine: EngineArgs,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  nats_worker -w Worker1 -c Add Divide      as the original is started
  nats_worker -w Worker2 -c Add Subtract Multiply Divide --lease 5
  nats_worker -w Worker3 -c Add --server nats://127.0.0.1:4222 --server nats://127.0.0.1:4223";

fn parse_kind_arg(text: &str) -> Result<solution07::pb::TaskType, String> {
    parse_kind(text).map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let mut config = WorkerConfig::new(&cli.engine.servers, &cli.name, &cli.capabilities)
        .with_lease(cli.engine.lease);
    config.setup = cli.engine.setup();
    let events: EventSink = Arc::new(print_nats_event);
    run_until_ctrl_c(|stop| async move {
        worker::run(config, events, stop)
            .await
            .map_err(|error| error.to_string())
    })
}
