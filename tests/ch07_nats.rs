//! End-to-end tests of chapter 07's demos over a real `nats-server`: the binaries
//! `nats_controller` and `nats_worker`, started as a learner starts them. Each test
//! starts its own server (or cluster of three) on free loopback ports, with a
//! store in a temporary folder, and stops it at the end. Without `nats-server`
//! installed, each fails with one line saying how to install it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Running, start};
use solution07::server::{NatsCluster, NatsServer};

const CONTROLLER: &str = env!("CARGO_BIN_EXE_nats_controller");
const WORKER: &str = env!("CARGO_BIN_EXE_nats_worker");
const LIMIT: Duration = Duration::from_secs(30);

fn nats_server() -> NatsServer {
    NatsServer::start().unwrap_or_else(|error| panic!("{error}"))
}

/// `--server URL` for each of `urls`, then `rest`.
fn args<'a>(urls: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut all: Vec<&str> = urls
        .iter()
        .flat_map(|url| ["--server", url.as_str()])
        .collect();
    all.extend_from_slice(rest);
    all
}

fn worker(urls: &[String], name: &str, rest: &[&str]) -> Running {
    let mut all = args(urls, &["-w", name, "-c"]);
    all.extend_from_slice(rest);
    let mut running = start(WORKER, &all);
    running.expect_line(LIMIT, |line| line.contains("Ready for"));
    running
}

/// Every final line (DONE or FAILED) per task id, from the controller's output.
fn finals(lines: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut by_task: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        if line.contains("status: DONE") || line.contains("status: FAILED") {
            let id = line
                .split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_owned();
            by_task.entry(id).or_default().push(line.clone());
        }
    }
    by_task
}

#[test]
fn tasks_go_to_the_workers_of_their_kind() {
    let server = nats_server();
    let urls = vec![server.url()];
    let _adder = worker(&urls, "Adder", &["Add"]);
    let _divider = worker(&urls, "Divider", &["Divide"]);
    let mut controller = start(
        CONTROLLER,
        &args(
            &urls,
            &["10 add 5", "17 divide 5", "--processing-time", "0.1"],
        ),
    );
    let status = controller.wait(LIMIT);
    assert!(
        status.success(),
        "the controller exits 0:\n{}",
        controller.output()
    );
    let output = controller.output();
    assert!(output.contains("status: DONE = 15 (by Adder)"), "{output}");
    assert!(output.contains("status: DONE = 3 (by Divider)"), "{output}");
    assert!(
        output.contains("All 2 tasks decided: 2 DONE, 0 FAILED"),
        "{output}"
    );
}

#[test]
fn a_task_for_a_kind_no_worker_has_waits_queued_until_one_joins() {
    let server = nats_server();
    let urls = vec![server.url()];
    let mut controller = start(
        CONTROLLER,
        &args(&urls, &["6 multiply 7", "--timeout", "0"]),
    );
    controller.expect_line(LIMIT, |line| {
        line.contains("status: QUEUED on tasks.multiply")
    });
    // A worker of another kind changes nothing.
    let _adder = worker(&urls, "Adder", &["Add"]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !controller.output().contains("DONE"),
        "nobody runs Multiply yet:\n{}",
        controller.output()
    );
    let _multiplier = worker(&urls, "Multiplier", &["Multiply"]);
    controller.expect_line(LIMIT, |line| {
        line.contains("status: DONE = 42 (by Multiplier)")
    });
    assert!(controller.wait(LIMIT).success());
}

#[test]
fn division_by_zero_is_failed_with_its_reason() {
    let server = nats_server();
    let urls = vec![server.url()];
    let _divider = worker(&urls, "Worker1", &["Add", "Divide"]);
    let mut controller = start(
        CONTROLLER,
        &args(&urls, &["6 divide 0", "--processing-time", "0"]),
    );
    controller.expect_line(LIMIT, |line| {
        line.contains("status: FAILED: division by zero (by Worker1)")
    });
    assert!(controller.wait(LIMIT).success());
}

#[test]
fn a_task_past_its_deadline_is_failed_by_the_controller() {
    let server = nats_server();
    let urls = vec![server.url()];
    let mut controller = start(
        CONTROLLER,
        &args(&urls, &["1 subtract 1", "--timeout", "1"]),
    );
    controller.expect_line(LIMIT, |line| {
        line.contains("status: FAILED: deadline passed") && line.contains("(by controller)")
    });
    assert!(controller.wait(LIMIT).success());
    assert!(
        controller
            .output()
            .contains("All 1 tasks decided: 0 DONE, 1 FAILED")
    );
}

#[test]
fn a_killed_workers_task_is_redelivered_and_completes_once() {
    let server = nats_server();
    let urls = vec![server.url()];
    let doomed = worker(&urls, "Doomed", &["Add", "--lease", "1"]);
    let mut controller = start(
        CONTROLLER,
        &args(
            &urls,
            &[
                "2 add 2",
                "--processing-time",
                "3",
                "--lease",
                "1",
                "--timeout",
                "0",
            ],
        ),
    );
    controller.expect_line(LIMIT, |line| line.contains("status: RUNNING on Doomed"));
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &doomed.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let _rescuer = worker(&urls, "Rescuer", &["Add", "--lease", "1"]);
    controller.expect_line(LIMIT, |line| {
        line.contains("status: DONE = 4 (by Rescuer, attempt 2)")
    });
    assert!(controller.wait(LIMIT).success());
    let finals = finals(controller.lines());
    assert_eq!(finals.len(), 1, "{finals:?}");
    assert!(finals.values().all(|lines| lines.len() == 1), "{finals:?}");
    drop(doomed);
}

#[test]
fn a_cluster_of_three_loses_a_server_and_no_task() {
    let mut cluster = NatsCluster::start().unwrap_or_else(|error| panic!("{error}"));
    let urls = cluster.urls();
    // Generous attempts: each leader election can cost a task a delivery.
    let engine = ["--replicas", "3", "--lease", "2", "--max-attempts", "10"];
    let kinds = ["Add", "Subtract", "Multiply", "Divide"];
    let worker_args: Vec<&str> = kinds.iter().copied().chain(engine).collect();
    let mut workers = vec![
        worker(&urls, "Worker1", &worker_args),
        worker(&urls, "Worker2", &worker_args),
    ];
    let mut controller_args = vec![
        "--tasks",
        "40",
        "--processing-time",
        "0.1",
        "--timeout",
        "0",
    ];
    controller_args.extend(engine);
    let mut controller = start(CONTROLLER, &args(&urls, &controller_args));
    // Part of the run done, then a server dies.
    for _ in 0..5 {
        controller.expect_line(Duration::from_secs(60), |line| {
            line.contains("status: DONE")
        });
    }
    cluster.kill(0);
    let status = controller.wait(Duration::from_secs(90));
    assert!(status.success(), "{}", controller.output());
    let finals = finals(controller.lines());
    assert_eq!(
        finals.len(),
        45,
        "every task (5 demo + 40 random) decided, none lost:\n{}",
        controller.output()
    );
    let twice: Vec<_> = finals.values().filter(|lines| lines.len() > 1).collect();
    assert!(twice.is_empty(), "decided twice: {twice:?}");
    // No task was recorded twice by the workers either.
    let mut recorded: BTreeMap<String, usize> = BTreeMap::new();
    for running in &mut workers {
        running.interrupt();
        running.wait(LIMIT);
        for line in running.lines() {
            if let Some(rest) = line.split("] Task ").nth(1)
                && (rest.contains(" = ") || rest.contains(" failed: "))
            {
                let id = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                *recorded.entry(id).or_default() += 1;
            }
        }
    }
    assert!(
        recorded.values().all(|&count| count == 1),
        "a task completed twice: {recorded:?}"
    );
}
