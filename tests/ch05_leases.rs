//! End to end: chapter 05's `lease_dispatcher`, `lease_worker`, `add_task` and
//! `stats` as real processes on free loopback ports, each dispatcher on a
//! database file of its own — two workers racing for 1,000 tasks, a worker
//! killed mid-task, a dispatcher killed and restarted mid-run, a result that
//! waits in a worker's cache while the dispatcher is down, and garbage on the wire.
//!
//! Workers and dispatchers are killed with SIGKILL (`Child::kill`): no chance to
//! clean up, as in a real crash.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{Running, run, start};
use grading::temp::TempDir;
use serde_json::{Value, json};
use solution05::client::connect_once;
use solution05::{Client, NewTask, Stats, Stopper, TaskId, TaskStatus, TaskView};

const DISPATCHER: &str = env!("CARGO_BIN_EXE_lease_dispatcher");
const WORKER: &str = env!("CARGO_BIN_EXE_lease_worker");
const ADD_TASK: &str = env!("CARGO_BIN_EXE_add_task");
const STATS: &str = env!("CARGO_BIN_EXE_stats");
const LIMIT: Duration = Duration::from_secs(30);
const ANY_PORT: &str = "tcp://127.0.0.1:*";

/// A dispatcher process and the endpoint it printed.
struct Dispatcher {
    process: Running,
    endpoint: String,
}

/// Starts a dispatcher on `db` with `extra` options, and short intervals for
/// those it does not set: leases of 5 s, dead after 1 s of silence, a monitor
/// every 0.2 s.
fn dispatcher(endpoint: &str, db: &Path, extra: &[&str]) -> Dispatcher {
    let db = db.display().to_string();
    let mut args = vec!["--bind", endpoint, "--db", &db];
    args.extend_from_slice(extra);
    for (option, value) in [
        ("--lease", "5"),
        ("--dead-after", "1"),
        ("--monitor-every", "0.2"),
    ] {
        if !extra.contains(&option) {
            args.extend([option, value]);
        }
    }
    let mut process = start(DISPATCHER, &args);
    let line = process.expect_line(LIMIT, |line| line.contains("Serving on"));
    let endpoint = line
        .split_whitespace()
        .find(|word| word.starts_with("tcp://"))
        .map(|word| word.trim_end_matches(',').to_owned())
        .unwrap_or_else(|| panic!("no endpoint in {line:?}"));
    Dispatcher { process, endpoint }
}

impl Dispatcher {
    fn client(&self) -> Client {
        Client::connect(&self.endpoint, Duration::from_secs(5)).expect("a client connects")
    }

    /// Ctrl-C, then every line it printed.
    fn stop(mut self) -> Vec<String> {
        self.process.interrupt();
        self.process.wait(LIMIT);
        self.process.lines().to_vec()
    }
}

/// Starts a worker with short intervals; `capabilities` separated by spaces.
fn worker(id: &str, capabilities: &str, endpoint: &str, cache: &Path) -> Running {
    let cache = cache.display().to_string();
    let mut args = vec!["--id", id, "--capabilities"];
    args.extend(capabilities.split_whitespace());
    args.extend([
        "--endpoint",
        endpoint,
        "--heartbeat-every",
        "0.2",
        "--timeout",
        "0.5",
        "--poll",
        "0.01",
        "--backoff-first",
        "0.1",
        "--backoff-max",
        "0.5",
        "--cache-dir",
        &cache,
    ]);
    let mut process = start(WORKER, &args);
    process.expect_line(LIMIT, |line| line.contains("asking"));
    process
}

fn wait(client: &mut Client, task_id: TaskId) -> TaskView {
    client
        .wait_for(task_id, Duration::from_millis(20), LIMIT)
        .expect("the task finishes")
}

/// Asks for the statistics until `done` says so; they are returned.
fn stats_until(endpoint: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let started = Instant::now();
    loop {
        // A fresh client each time: the dispatcher may be restarting.
        let stats =
            Client::connect(endpoint, Duration::from_secs(2)).and_then(|mut client| client.stats());
        match stats {
            Ok(stats) if done(&stats) => return stats,
            Ok(stats) if started.elapsed() > LIMIT => panic!("gave up waiting; last {stats:?}"),
            Err(error) if started.elapsed() > LIMIT => panic!("gave up waiting: {error}"),
            _ => thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn add(a: i64, b: i64) -> NewTask {
    NewTask::new("add", json!({ "a": a, "b": b }))
}

#[test]
fn two_worker_processes_race_for_1000_tasks_and_complete_each_once() {
    let dir = TempDir::new("ch05-race");
    let dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let mut client = dispatcher.client();
    let ids: Vec<TaskId> = (0..1000)
        .map(|n| client.submit(&add(n, 1)).expect("submits"))
        .collect();
    let _w1 = worker("w1", "add", &dispatcher.endpoint, &dir.join("w1"));
    let _w2 = worker("w2", "add", &dispatcher.endpoint, &dir.join("w2"));
    let stats = stats_until(&dispatcher.endpoint, |s| s.tasks.completed == 1000);
    assert_eq!(stats.tasks.failed, 0, "{stats:?}");
    let per_worker: u64 = stats.workers.iter().map(|w| w.completed).sum();
    assert_eq!(per_worker, 1000, "{stats:?}");
    for (n, id) in (0..1000).zip(&ids).step_by(97) {
        let view = client.status(*id).expect("status");
        assert_eq!((view.result, view.attempts), (Some(json!(n + 1)), 1));
    }

    let lines = dispatcher.stop();
    let leased: Vec<&String> = lines.iter().filter(|l| l.contains(": RUNNING")).collect();
    let completed: Vec<&String> = lines
        .iter()
        .filter(|l| l.ends_with(": COMPLETED"))
        .collect();
    let unique = |found: &[&String]| {
        found
            .iter()
            .filter_map(|line| line.split_whitespace().nth(2))
            .collect::<HashSet<_>>()
            .len()
    };
    assert_eq!(
        (leased.len(), unique(&leased)),
        (1000, 1000),
        "every task leased exactly once"
    );
    assert_eq!(
        (completed.len(), unique(&completed)),
        (1000, 1000),
        "every task completed exactly once"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("Refused") || l.contains("again")),
        "no result refused or repeated"
    );
}

#[test]
fn a_worker_killed_mid_task_has_its_task_completed_by_another() {
    let dir = TempDir::new("ch05-kill-worker");
    let mut dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let mut client = dispatcher.client();
    let doomed = worker("doomed", "sleep", &dispatcher.endpoint, &dir.join("doomed"));
    let task = client
        .submit(&NewTask::new("sleep", json!({"ms": 1500})))
        .expect("submits");
    dispatcher.process.expect_line(LIMIT, |l| {
        l.contains(&format!("Task {task} → doomed: RUNNING"))
    });
    drop(doomed); // SIGKILL, mid-task.

    let _rescuer = worker(
        "rescuer",
        "sleep",
        &dispatcher.endpoint,
        &dir.join("rescuer"),
    );
    let view = wait(&mut client, task);
    assert_eq!(
        (view.status, view.lease_owner.as_deref(), view.attempts),
        (TaskStatus::Completed, Some("rescuer"), 2),
        "{view:?}"
    );
    dispatcher.process.expect_line(LIMIT, |l| {
        l.contains("Worker doomed missed its heartbeats: dead")
    });
}

#[test]
fn capabilities_spelled_as_the_nats_original_spells_them_are_accepted_in_any_case() {
    let dir = TempDir::new("ch05-capability-case");
    let mut dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let mut client = dispatcher.client();
    let cache = dir.join("Worker1").display().to_string();
    // `start_worker.py -w Worker1 -c Add Divide`, with `DIVIDE` and a repeat thrown in.
    let mut worker = start(
        WORKER,
        &[
            "-w",
            "Worker1",
            "-c",
            "Add",
            "DIVIDE",
            "add",
            "--endpoint",
            &dispatcher.endpoint,
            "--heartbeat-every",
            "0.2",
            "--poll",
            "0.01",
            "--cache-dir",
            &cache,
        ],
    );
    worker.expect_line(LIMIT, |line| line.contains("asking"));
    dispatcher.process.expect_line(LIMIT, |l| {
        l.contains("Worker Worker1 registered: add divide") && !l.contains("add divide add")
    });
    let sum = client.submit(&add(2, 3)).expect("submits");
    let quotient = client
        .submit(&NewTask::new("divide", json!({"a": 7, "b": 2})))
        .expect("submits");
    for task in [sum, quotient] {
        let view = wait(&mut client, task);
        assert_eq!(
            (view.status, view.lease_owner.as_deref()),
            (TaskStatus::Completed, Some("Worker1")),
            "{view:?}"
        );
    }
}

#[test]
fn a_task_whose_only_attempt_dies_with_its_worker_fails_with_a_clear_error() {
    let dir = TempDir::new("ch05-attempts");
    let mut dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &["--max-attempts", "1"]);
    let mut client = dispatcher.client();
    let doomed = worker("doomed", "sleep", &dispatcher.endpoint, &dir.join("doomed"));
    let task = client
        .submit(&NewTask::new("sleep", json!({"ms": 5000})))
        .expect("submits");
    dispatcher
        .process
        .expect_line(LIMIT, |l| l.contains("→ doomed: RUNNING"));
    drop(doomed);
    let view = wait(&mut client, task);
    let error = view.error.expect("a FAILED task says why");
    assert_eq!(view.status, TaskStatus::Failed);
    assert_eq!(
        error.message,
        "gave up after 1 attempts: worker doomed stopped sending heartbeats"
    );
}

#[test]
fn the_dispatcher_killed_and_restarted_mid_run_loses_no_task() {
    let dir = TempDir::new("ch05-restart");
    let db = dir.join("tasks.db");
    let first = dispatcher(ANY_PORT, &db, &[]);
    let endpoint = first.endpoint.clone();
    let mut client = first.client();
    for _ in 0..200 {
        client
            .submit(&NewTask::new("sleep", json!({"ms": 10})))
            .expect("submits");
    }
    let _w1 = worker("w1", "sleep", &endpoint, &dir.join("w1"));
    let _w2 = worker("w2", "sleep", &endpoint, &dir.join("w2"));
    stats_until(&endpoint, |s| s.tasks.completed >= 30);
    drop(first); // SIGKILL, mid-run.
    thread::sleep(Duration::from_millis(500));

    let _second = dispatcher(&endpoint, &db, &[]);
    let stats = stats_until(&endpoint, |s| s.tasks.completed + s.tasks.failed == 200);
    assert_eq!(
        (
            stats.tasks.total(),
            stats.tasks.completed,
            stats.tasks.failed
        ),
        (200, 200, 0),
        "0 tasks lost, all COMPLETED: {stats:?}"
    );
}

#[test]
fn a_result_finished_while_the_dispatcher_is_down_is_cached_and_delivered_after_restart() {
    let dir = TempDir::new("ch05-cache");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    // Dead after 30 s: the outage must not cost the worker its lease.
    let first = dispatcher(ANY_PORT, &db, &["--dead-after", "30"]);
    let endpoint = first.endpoint.clone();
    let mut client = first.client();
    let mut patient = worker("patient", "sleep", &endpoint, &cache);
    let task = client
        .submit(&NewTask::new("sleep", json!({"ms": 1000})))
        .expect("submits");
    // The worker's word, not the dispatcher's: a dispatcher killed right after
    // logging the lease may never have sent it (that lease would simply expire).
    patient.expect_line(LIMIT, |l| l.contains(&format!("Running task {task}")));
    drop(first); // SIGKILL while the task runs.

    patient.expect_line(LIMIT, |l| {
        l.contains(&format!("Task {task}: COMPLETED, result cached"))
    });
    patient.expect_line(LIMIT, |l| {
        l.contains("Dispatcher unreachable; 1 result(s) kept in the cache")
    });
    let files = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 1, "the result waits on disk");

    let _second = dispatcher(&endpoint, &db, &["--dead-after", "30"]);
    patient.expect_line(LIMIT, |l| {
        l.contains(&format!("Delivered task {task}: RESULT_RECEIVED"))
    });
    let view = wait(&mut client, task);
    assert_eq!(
        (view.status, view.attempts, view.result),
        (TaskStatus::Completed, 1, Some(json!(1000)))
    );
    let files = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(99);
    assert_eq!(files, 0, "an acknowledged result leaves the cache");
}

#[test]
fn garbage_gets_error_answers_and_the_dispatcher_lives_on() {
    let dir = TempDir::new("ch05-garbage");
    let dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let mut raw = connect_once(
        &zmq::Context::new(),
        &dispatcher.endpoint,
        Duration::from_secs(5),
    )
    .expect("connects");
    let stop = Stopper::new();
    let mut ask = |frame: &[u8]| {
        let answer = raw.exchange(frame, &stop).expect("an answer within 5 s");
        String::from_utf8_lossy(&answer).into_owned()
    };
    for (frame, wanted) in [
        (b"GIVE ME WORK".as_slice(), "ERROR "),
        (b"REQUEST_TASK {\"worker_id\": ", "ERROR_OCCURED "),
        (b"RESULT:[1, 2", "ERROR "),
        (
            br#"RESULT:{"task_id": 1, "lease_token": "x", "status": "COMPLETED"}"#,
            "NOT_FOUND 1",
        ),
        (&[0xc3, 0x28], "ERROR "),
        (br#"SUBMIT {"kind": 3}"#, "ERROR "),
        (br#"SUBMIT {"kind": "pickle", "args": {}}"#, "ERROR "),
        (
            br#"REGISTER {"worker_id": "w", "capabilities": []}"#,
            "ERROR ",
        ),
        (
            b"HEARTBEAT {\"worker_id\": \"ghost\"}",
            "UNKNOWN_WORKER ghost",
        ),
        (b"STATUS nope", "ERROR "),
        (&vec![b'x'; 17 * 1024 * 1024], "ERROR "),
    ] {
        let answer = ask(frame);
        assert!(
            answer.starts_with(wanted),
            "{:?} should be answered with {wanted:?}…, got {answer:?}",
            String::from_utf8_lossy(&frame[..frame.len().min(60)])
        );
    }
    let health: Value = serde_json::from_str(
        ask(b"HEALTH")
            .strip_prefix("HEALTHY ")
            .expect("a health answer"),
    )
    .expect("JSON");
    assert_eq!(health["status"], json!("ok"));
}

#[test]
fn add_task_and_stats_drive_the_queue_from_the_command_line() {
    let dir = TempDir::new("ch05-cli");
    let dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let endpoint = &dispatcher.endpoint.clone();
    let (code, stdout, stderr) = run(ADD_TASK, &["3", "1000", "--endpoint", endpoint]);
    assert_eq!(
        (code, stdout.lines().count()),
        (Some(0), 3),
        "{stdout}{stderr}"
    );

    let _worker = worker("w1", "primes add", endpoint, &dir.join("w1"));
    let (code, stdout, stderr) = run(
        ADD_TASK,
        &[
            "1",
            "1000",
            "trial-division",
            "--wait",
            "--endpoint",
            endpoint,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let view: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(view["status"], json!("COMPLETED"), "{stdout}");
    assert_eq!(
        view["result"],
        json!({"limit": 1000, "algorithm": "trial_division", "count": 168})
    );
    stats_until(endpoint, |s| s.tasks.completed == 4);

    let divide = dispatcher
        .client()
        .submit(&NewTask::new("divide", json!({"a": 1, "b": 1})))
        .expect("submits");
    let (code, stdout, _) = run(
        STATS,
        &["--endpoint", endpoint, "--task", &divide.to_string()],
    );
    assert_eq!(code, Some(0));
    let view: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(
        (&view["status"], &view["waiting"]),
        (
            &json!("QUEUED"),
            &json!("no live worker has capability 'divide'")
        ),
        "{stdout}"
    );

    let (code, stdout, _) = run(STATS, &["--endpoint", endpoint]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("tasks: 1 queued, 0 running, 4 completed, 0 failed (5 in all)"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("w1") && l.contains("primes add")),
        "{stdout}"
    );
    let (code, stdout, _) = run(STATS, &["--endpoint", endpoint, "--health"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("\"status\":\"ok\""), "{stdout}");

    let lines = dispatcher.stop();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Worker w1 registered: primes add"))
    );
    let (code, _, stderr) = run(
        STATS,
        &["--endpoint", endpoint, "--health", "--timeout", "0.3"],
    );
    assert_eq!(code, Some(1), "no dispatcher, no health: {stderr}");
}

#[test]
fn the_binaries_explain_themselves_and_refuse_bad_options() {
    for binary in [DISPATCHER, WORKER, ADD_TASK, STATS] {
        let (code, stdout, stderr) = run(binary, &["--help"]);
        assert_eq!(code, Some(0), "{binary} --help: {stderr}");
        assert!(stdout.contains("Examples:"), "{binary} --help:\n{stdout}");
    }
    let (code, _, stderr) = run(WORKER, &["--id", "w", "--capabilities", "pickle"]);
    assert_eq!(code, Some(2), "an unknown capability is refused: {stderr}");
    let (code, _, stderr) = run(DISPATCHER, &["--lease", "soon"]);
    assert_eq!(
        code,
        Some(2),
        "a lease that is not a number is refused: {stderr}"
    );
}
