//! `nats_controller`: chapter 07's controller — stores tasks in JetStream, prints
//! each one's QUEUED, RUNNING, DONE or FAILED, and fails those past their deadline.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use solution02::TaskSpec;
use solution02::demo::{DEMO_TASKS, random_tasks};
use solution07::controller::{self, Controller, ControllerConfig};
use solution07::task::new_task;
use solution07::{EventSink, pb};
use workbook::{seconds, term};
use workbook_ch07::{EngineArgs, print_nats_event, run_until_ctrl_c};

/// The controller of the NATS original, on JetStream: publishes each task on its
/// kind's subject (`tasks.add`, …), where it waits until a worker of that kind
/// takes it, and prints each status as it changes. Exits when every task is DONE
/// or FAILED (or on Ctrl-C).
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// Tasks, each as "<a> <op> <b>" with op one of add, subtract, multiply,
    /// divide. Without any, chapter 02's five demo tasks.
    #[arg(value_name = "TASK")]
    tasks: Vec<TaskSpec>,

    /// Random tasks to add after the others.
    #[arg(long = "tasks", value_name = "N", default_value_t = 0)]
    extra_tasks: usize,

    /// Seed for the random tasks.
    #[arg(long, default_value_t = 2024)]
    seed: u64,

    /// Seconds each task may take from submission to outcome; then it is FAILED
    /// (0: wait for ever, while it waits QUEUED for a capable worker).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds::parse)]
    timeout: Duration,

    /// Seconds of simulated work per task (the original's processing_time).
    #[arg(long, value_name = "SECONDS", default_value = "0.5", value_parser = seconds::parse)]
    processing_time: Duration,

    #[command(flatten)]
    engine: EngineArgs,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  nats_controller                              the five demo tasks
  nats_controller \"6 divide 0\" \"2 add 2\"       your own tasks
  nats_controller --tasks 20 --processing-time 0.1
  nats_controller \"1 add 1\" --timeout 2        FAILED after 2 s if no worker runs Add";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    let mut specs = if cli.tasks.is_empty() {
        DEMO_TASKS.to_vec()
    } else {
        cli.tasks.clone()
    };
    specs.extend(random_tasks(cli.extra_tasks, cli.seed));
    let prefix = controller::run_prefix();
    let tasks: Vec<pb::Task> = specs
        .into_iter()
        .enumerate()
        .map(|(n, spec)| pb::Task {
            timeout: cli.timeout.as_secs_f64(),
            processing_time: cli.processing_time.as_secs_f64(),
            ..new_task(format!("{prefix}-{}", n + 1), spec)
        })
        .collect();
    let config = ControllerConfig {
        setup: cli.engine.setup(),
        ..ControllerConfig::new(&cli.engine.servers)
    };
    let events: EventSink = Arc::new(print_nats_event);
    run_until_ctrl_c(|stop| async move {
        let mut controller = Controller::connect(&config, events)
            .await
            .map_err(|error| error.to_string())?;
        for task in tasks {
            controller
                .submit(task)
                .await
                .map_err(|error| error.to_string())?;
        }
        let outcomes = controller
            .wait(&stop)
            .await
            .map_err(|error| error.to_string())?;
        let done = outcomes
            .iter()
            .filter(|outcome| {
                outcome.result.as_ref().map(|result| result.status)
                    == Some(pb::TaskStatus::Done.into())
            })
            .count();
        let summary = match controller.pending() {
            0 => format!(
                "All {} tasks decided: {done} DONE, {} FAILED",
                outcomes.len(),
                outcomes.len() - done
            ),
            left => format!("Stopped with {left} tasks still QUEUED or RUNNING"),
        };
        term::print_tagged("Controller", term::Voice::Coordinator, &summary);
        Ok(())
    })
}
