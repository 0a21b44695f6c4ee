//! End to end: chapter 05's `lease_dispatcher`, `lease_worker`, `add_task` and
//! `stats` as real processes on free loopback ports, each dispatcher on a
//! database file of its own — two workers racing for 1,000 tasks, a worker
//! killed mid-task, a dispatcher killed and restarted mid-run, a result that
//! waits in a worker's cache while the dispatcher is down, and garbage on the wire;
//! and the HTTP door beside the ZeroMQ socket — its seven endpoints and their
//! error statuses, requests as `curl` sends them, the binaries through it, and a
//! Python worker written with `requests`.
//!
//! Workers and dispatchers are killed with SIGKILL (`Child::kill`): no chance to
//! clean up, as in a real crash.

mod common;
#[path = "common/zmq_peers.rs"]
mod zmq_peers;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use bench::python::{Python, peer};
use common::{Running, run, start};
use grading::temp::TempDir;
use serde_json::{Value, json};
use solution05::client::connect_once;
use solution05::{Client, NewTask, Shutdown, Stats, TaskId, TaskStatus, TaskView};
use zmq_peers::{req_socket, stand_in};

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
    let mut process = start(
        DISPATCHER,
        &with_short_intervals(&["--bind", endpoint, "--db", &db], extra),
    );
    let endpoint = announced(&mut process, "Serving on", "tcp://", ',');
    Dispatcher { process, endpoint }
}

/// `args`, then `extra`, then the short intervals `extra` does not set.
fn with_short_intervals<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
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
    args
}

/// Waits for the line of `process` that contains `announcement`, and returns
/// its word that starts with `prefix`, without a `trailing` punctuation.
fn announced(process: &mut Running, announcement: &str, prefix: &str, trailing: char) -> String {
    let line = process.expect_line(LIMIT, |line| line.contains(announcement));
    line.split_whitespace()
        .find(|word| word.starts_with(prefix))
        .map(|word| word.trim_end_matches(trailing).to_owned())
        .unwrap_or_else(|| panic!("no {prefix}… in {line:?}"))
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
    worker_with(&[], id, capabilities, endpoint, cache)
}

/// Starts a worker as `worker` does, with the options `extra` too.
fn worker_with(
    extra: &[&str],
    id: &str,
    capabilities: &str,
    endpoint: &str,
    cache: &Path,
) -> Running {
    let cache = cache.display().to_string();
    let mut args = vec!["--id", id];
    args.extend_from_slice(extra);
    args.push("--capabilities");
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
        l.contains(&format!(
            "Task {task}: COMPLETED, result queued for the cache"
        ))
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
    let stop = Shutdown::new();
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
    assert_eq!(view["result"], json!(168));
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

// ---------------------------------------------------------------- the HTTP door

/// A dispatcher serving its HTTP door too, on a free port, with the short
/// intervals of [`dispatcher`]; returns it and the door's base URL.
fn http_dispatcher(db: &Path, extra: &[&str]) -> (Dispatcher, String) {
    let db = db.display().to_string();
    let args = ["--http", "127.0.0.1:0", "--bind", ANY_PORT, "--db", &db];
    let mut process = start(DISPATCHER, &with_short_intervals(&args, extra));
    let url = announced(&mut process, "HTTP door on", "http://", ':');
    let endpoint = announced(&mut process, "Serving on", "tcp://", ',');
    (Dispatcher { process, endpoint }, url)
}

/// One request as `curl` sends it — `curl URL` for a GET, `curl -d BODY URL` for
/// a POST, whose Content-Type is a form's — and its status and JSON body
/// (`null` when there is none).
fn curl(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        (_, Some(body)) => agent
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body),
        (_, None) => agent.post(url).send_empty(),
    }
    .unwrap_or_else(|error| panic!("{method} {url}: no answer: {error}"));
    let status = response.status().as_u16();
    let text = response
        .into_body()
        .read_to_string()
        .expect("a readable body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn post(url: &str, body: Value) -> (u16, Value) {
    curl("POST", url, Some(&body.to_string()))
}

#[test]
fn the_http_door_serves_the_originals_seven_endpoints_on_the_same_queue() {
    let dir = TempDir::new("ch05-http");
    let (dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let at = |path: &str| format!("{url}{path}");

    let (status, body) = post(
        &at("/submit-task"),
        json!({"kind": "add", "args": {"a": 2, "b": 3}}),
    );
    assert_eq!(status, 201, "{body}");
    let task = body["task_id"].as_i64().expect("a task id");
    assert_eq!(body["status"], json!("QUEUED"));

    // Known by its heartbeats: one that names capabilities registers the worker.
    let (status, body) = post(
        &at("/heartbeat"),
        json!({"worker_id": "w1", "capabilities": ["add"]}),
    );
    assert_eq!((status, &body["status"]), (200, &json!("HEARTBEAT_OK")));
    let (status, lease) = post(&at("/get-task"), json!({"worker_id": "w1"}));
    assert_eq!(status, 200, "{lease}");
    assert_eq!(
        (&lease["task_id"], &lease["kind"], &lease["attempt"]),
        (&json!(task), &json!("add"), &json!(1))
    );
    let token = lease["lease_token"].as_str().expect("a token").to_owned();
    let (status, _) = post(&at("/get-task"), json!({"worker_id": "w1"}));
    assert_eq!(status, 204, "nothing more to do: 204 No Content");

    let held = json!({"worker_id": "w1", "leases": [{"task_id": task, "lease_token": token}]});
    let (status, body) = post(&at("/heartbeat"), held);
    assert_eq!((status, &body["renewed"]), (200, &json!(1)), "{body}");
    let result = json!({"task_id": task, "lease_token": token, "status": "COMPLETED", "result": 5});
    let (status, body) = post(&at("/submit-result"), result.clone());
    assert_eq!((status, &body["status"]), (200, &json!("RESULT_RECEIVED")));
    let (status, _) = post(&at("/submit-result"), result);
    assert_eq!(status, 200, "the same result again is a resend, accepted");

    let (status, view) = curl("GET", &at(&format!("/task/{task}")), None);
    assert_eq!(status, 200);
    assert_eq!(
        (&view["status"], &view["result"], &view["lease_owner"]),
        (&json!("COMPLETED"), &json!(5), &json!("w1"))
    );
    let (status, stats) = curl("GET", &at("/stats"), None);
    assert_eq!((status, &stats["tasks"]["completed"]), (200, &json!(1)));
    assert_eq!(stats["workers"][0]["worker_id"], json!("w1"));
    let (status, health) = curl("GET", &at("/health"), None);
    assert_eq!((status, &health["status"]), (200, &json!("ok")));

    // The same store behind the ZeroMQ door.
    let view = dispatcher
        .client()
        .status(task)
        .expect("status over ZeroMQ");
    assert_eq!(
        (view.status, view.result),
        (TaskStatus::Completed, Some(json!(5)))
    );
    let lines = dispatcher.stop();
    for wanted in [
        "Worker w1 registered: add",
        "→ w1: RUNNING, attempt 1",
        ": COMPLETED",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(wanted)),
            "{wanted:?} in {lines:#?}"
        );
    }
}

/// The answer to `POST path` with a body of `size` bytes, sent by hand: a
/// thread writes the body while this one reads the answer, which may come
/// before the body is all sent (the door stops reading at its limit).
fn post_oversized(address: &str, path: &str, size: usize) -> String {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    let mut writer = stream.try_clone().expect("a second handle");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {size}\r\n\r\n"
    );
    thread::spawn(move || {
        // The door may close the connection before the end: not an error here.
        let _ = writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(&vec![b'x'; size]));
    });
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    while !String::from_utf8_lossy(&answer).ends_with('}') {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
            Err(error) => panic!("no answer: {error}; so far {answer:?}"),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn the_http_door_answers_bad_input_with_a_json_error_and_the_right_status() {
    let dir = TempDir::new("ch05-http-errors");
    let (mut dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let at = |path: &str| format!("{url}{path}");
    let cases: Vec<(&str, &str, Option<&str>, u16)> = vec![
        // 400: what cannot be read, or could never run.
        ("POST", "/submit-task", Some("{\"kind\": "), 400),
        ("POST", "/submit-task", Some("{\"args\": {}}"), 400),
        ("POST", "/submit-task", Some("[1, 2]"), 400),
        ("POST", "/submit-task", None, 400),
        (
            "POST",
            "/submit-task",
            Some(r#"{"kind": "pickle", "args": {}}"#),
            400,
        ),
        (
            "POST",
            "/submit-task",
            Some(r#"{"kind": "add", "args": {"a": 1}}"#),
            400,
        ),
        (
            "POST",
            "/submit-task",
            Some(r#"{"kind": "add", "args": {"a": 1, "b": 2}, "max_attempts": 0}"#),
            400,
        ),
        ("POST", "/get-task", Some("{}"), 400),
        (
            "POST",
            "/heartbeat",
            Some(r#"{"worker_id": "w", "capabilities": []}"#),
            400,
        ),
        (
            "POST",
            "/heartbeat",
            Some(r#"{"worker_id": "w", "capabilities": ["pickle"]}"#),
            400,
        ),
        (
            "POST",
            "/submit-result",
            Some(r#"{"task_id": 1, "status": "COMPLETED"}"#),
            400,
        ),
        (
            "POST",
            "/submit-result",
            Some(r#"{"task_id": 1, "lease_token": "x", "status": "RUNNING"}"#),
            400,
        ),
        (
            "POST",
            "/submit-result",
            Some(r#"{"task_id": 1, "lease_token": "x", "status": "FAILED"}"#),
            400,
        ),
        ("GET", "/task/seven", None, 400),
        // 404: an unknown task, an unknown worker, an unknown endpoint.
        ("GET", "/task/99", None, 404),
        (
            "POST",
            "/submit-result",
            Some(r#"{"task_id": 99, "lease_token": "x", "status": "COMPLETED", "result": 1}"#),
            404,
        ),
        ("POST", "/get-task", Some(r#"{"worker_id": "ghost"}"#), 404),
        ("POST", "/heartbeat", Some(r#"{"worker_id": "ghost"}"#), 404),
        ("GET", "/tasks", None, 404),
        // 405: the right path, the wrong method.
        ("GET", "/submit-task", None, 405),
    ];
    for (method, path, body, wanted) in cases {
        let (status, answer) = curl(method, &at(path), body);
        assert_eq!(status, wanted, "{method} {path} {body:?}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path} {body:?}: a JSON error, got {answer}"
        );
    }

    // 409: the result of a lease that was lost and granted again.
    let (_, body) = post(
        &at("/submit-task"),
        json!({"kind": "sleep", "args": {"ms": 10}}),
    );
    let task = body["task_id"].as_i64().expect("a task id");
    for worker in ["slow", "fast"] {
        let registration = json!({"worker_id": worker, "capabilities": ["sleep"]});
        assert_eq!(post(&at("/heartbeat"), registration).0, 200);
    }
    let (_, first) = post(&at("/get-task"), json!({"worker_id": "slow"}));
    // `slow` sends no more heartbeats: dead after 1 s, its task back in the queue.
    dispatcher
        .process
        .expect_line(LIMIT, |l| l.contains("Worker slow missed its heartbeats"));
    let second = loop {
        let fast = json!({"worker_id": "fast"});
        assert_eq!(post(&at("/heartbeat"), fast.clone()).0, 200);
        match post(&at("/get-task"), fast) {
            (200, lease) => break lease,
            (204, _) => thread::sleep(Duration::from_millis(50)),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        (&second["task_id"], &second["attempt"]),
        (&json!(task), &json!(2))
    );
    let late = |lease: &Value, result: i64| json!({"task_id": task, "lease_token": lease["lease_token"], "status": "COMPLETED", "result": result});
    let (status, body) = post(&at("/submit-result"), late(&first, 10));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("stale lease token")),
        "{body}"
    );
    assert_eq!(post(&at("/submit-result"), late(&second, 10)).0, 200);
    let (status, body) = post(&at("/submit-result"), late(&second, 11));
    assert_eq!(status, 409, "a different result for the same lease: {body}");

    // 413: a body over the ZeroMQ door's 16 MiB.
    let address = url.trim_start_matches("http://");
    let answer = post_oversized(address, "/submit-task", 17 * 1024 * 1024);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#"{"error":"the body is larger than 16 MiB"}"#),
        "{answer}"
    );

    // And the door still serves.
    let (status, health) = curl("GET", &at("/health"), None);
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    let (status, view) = curl("GET", &at(&format!("/task/{task}")), None);
    assert_eq!(
        (status, &view["result"], &view["attempts"]),
        (200, &json!(10), &json!(2))
    );
}

#[test]
fn a_worker_add_task_and_stats_use_the_http_door() {
    let dir = TempDir::new("ch05-http-cli");
    let (dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let http_flag = format!("--http={url}");
    let cache = dir.join("w1").display().to_string();
    let mut worker = start(
        WORKER,
        &[
            "--id",
            "w1",
            "--capabilities",
            "primes",
            "--http",
            &url,
            "--heartbeat-every",
            "0.2",
            "--poll",
            "0.01",
            "--cache-dir",
            &cache,
        ],
    );
    worker.expect_line(LIMIT, |line| line.contains(&format!("asking {url}")));
    let (code, stdout, stderr) = run(ADD_TASK, &["2", "1000", "--wait", &http_flag]);
    assert_eq!(code, Some(0), "{stderr}");
    let views: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    assert_eq!(views.len(), 2, "{stdout}");
    for view in &views {
        assert_eq!(
            (&view["status"], &view["lease_owner"], &view["result"]),
            (&json!("COMPLETED"), &json!("w1"), &json!(168)),
            "{view}"
        );
    }
    worker.expect_line(LIMIT, |l| l.contains("RESULT_RECEIVED"));

    let (code, stdout, stderr) = run(STATS, &["--http", &url]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("tasks: 0 queued, 0 running, 2 completed, 0 failed (2 in all)"),
        "{stdout}"
    );
    let (code, stdout, _) = run(STATS, &["--http", &url, "--task", "1"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"status\":\"COMPLETED\""), "{stdout}");
    let (code, _, stderr) = run(STATS, &["--http", &url, "--task", "9"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("task 9 not found"), "{stderr}");
    let (code, stdout, _) = run(STATS, &["--http", &url, "--health"]);
    assert_eq!(code, Some(0), "{stdout}");

    // The same queue through the other door.
    let stats = dispatcher.client().stats().expect("stats over ZeroMQ");
    assert_eq!(stats.tasks.completed, 2);
    dispatcher.stop();
    let (code, _, stderr) = run(STATS, &["--http", &url, "--health", "--timeout", "0.3"]);
    assert_eq!(code, Some(1), "no dispatcher, no health: {stderr}");
}

#[test]
fn a_python_worker_written_with_requests_completes_tasks_through_the_http_door() {
    let python = Python::venv(&["requests"]).expect("a venv with requests");
    let dir = TempDir::new("ch05-http-python");
    let (dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let mut client = Client::connect(&url, Duration::from_secs(5)).expect("an HTTP client");
    let tasks = [
        (add(20, 22), json!(42)),
        (
            NewTask::new("primes", json!({"limit": 1000, "algorithm": "sieve"})),
            json!(168),
        ),
        (NewTask::new("divide", json!({"a": 7, "b": 2})), json!(3)),
    ];
    let ids: Vec<TaskId> = tasks
        .iter()
        .map(|(task, _)| client.submit(task).expect("submits over HTTP"))
        .collect();

    let summary = python
        .run_json(
            &peer("ch05_requests_worker.py"),
            &[
                "--url".to_owned(),
                url.clone(),
                "--id".to_owned(),
                "py1".to_owned(),
                "--tasks".to_owned(),
                "3".to_owned(),
            ],
        )
        .expect("the Python worker runs");
    assert_eq!(summary["completed"], json!(ids), "{summary}");
    assert_eq!(
        summary["statuses"],
        json!({"resend": 200, "forged": 409, "unknown_task": 404, "malformed": 400, "task": "COMPLETED"}),
        "{summary}"
    );
    for (id, (_, wanted)) in ids.iter().zip(&tasks) {
        let view = client.status(*id).expect("status over HTTP");
        assert_eq!(
            (
                view.status,
                view.lease_owner.as_deref(),
                view.result.as_ref()
            ),
            (TaskStatus::Completed, Some("py1"), Some(wanted)),
            "{view:?}"
        );
    }
    let lines = dispatcher.stop();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Worker py1 registered: add divide primes")),
        "{lines:#?}"
    );
}

#[test]
fn a_submission_sent_again_under_its_key_is_queued_once_by_either_door() {
    let dir = TempDir::new("ch05-keys");
    let (dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let socket = req_socket(&dispatcher.endpoint);
    let submitted = |frame: &str| {
        let answer = frame_exchange(&socket, frame);
        answer
            .strip_prefix("SUBMITTED ")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("SUBMITTED <id> for {frame}, got {answer:?}"))
    };
    let keyed = r#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}, "key": "order-7"}"#;
    let first = submitted(keyed);
    assert_eq!(submitted(keyed), first, "the same key: the same task");
    let other = submitted(r#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}, "key": "order-8"}"#);
    assert_ne!(other, first, "another key: another task");
    let keyless = r#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}}"#;
    assert_ne!(
        submitted(keyless),
        submitted(keyless),
        "no key: a task each time"
    );
    // The HTTP door reads the same field, on the same table.
    let (status, body) = post(
        &format!("{url}/submit-task"),
        json!({"kind": "add", "args": {"a": 1, "b": 2}, "key": "order-7"}),
    );
    assert_eq!((status, &body["task_id"]), (201, &json!(first)), "{body}");
    let stats = dispatcher.client().stats().expect("stats");
    assert_eq!(
        stats.tasks.queued, 4,
        "order-7, order-8 and two keyless tasks"
    );
}

#[test]
fn a_sweep_of_bad_frames_on_the_zeromq_socket_is_answered_and_a_task_still_runs() {
    let dir = TempDir::new("ch05-sweep");
    let dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let socket = req_socket(&dispatcher.endpoint);
    let samples: [&[u8]; 6] = [
        br#"REGISTER {"worker_id": "sweeper", "capabilities": ["add"]}"#,
        br#"HEARTBEAT {"worker_id": "sweeper", "leases": [{"task_id": 1, "lease_token": "ab"}]}"#,
        br#"REQUEST_TASK {"worker_id": "sweeper"}"#,
        br#"RESULT:{"task_id": 1, "lease_token": "ab", "status": "COMPLETED", "result": 3}"#,
        br#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}}"#,
        br#"RESULT_AND_REQUEST {"worker_id": "sweeper", "results": [{"task_id": 1, "lease_token": "ab", "status": "COMPLETED", "result": 3}], "max": 1}"#,
    ];
    let oversized = solution04::protocol::MAX_FRAME_BYTES + 1;
    let frames = common::bad_frames(5, &samples, oversized);
    let answer = |index: usize, length: usize| {
        let answer = socket.recv_bytes(0).unwrap_or_else(|error| {
            panic!("bad frame {index} ({length} bytes) got no answer within 5 s: {error}")
        });
        assert!(!answer.is_empty(), "bad frame {index}: an empty answer");
    };
    for (index, frame) in frames.iter().enumerate() {
        socket.send(frame.as_slice(), 0).expect("sends");
        answer(index, frame.len());
    }
    // Several frames in one message are refused, not half read.
    for (index, frame) in frames.iter().enumerate().take(40) {
        let (head, tail) = frame.split_at(frame.len() / 2);
        socket.send_multipart([head, tail], 0).expect("sends");
        answer(index, frame.len());
    }

    let mut client = dispatcher.client();
    let task = client
        .submit(&add(20, 22))
        .expect("submits after the sweep");
    let _worker = worker("w1", "add", &dispatcher.endpoint, &dir.join("w1"));
    let view = wait(&mut client, task);
    assert_eq!(
        (view.status, view.result),
        (TaskStatus::Completed, Some(json!(42)))
    );
}

/// `bytes` as a URL path segment: every byte percent-encoded.
fn percent_encoded(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("%{byte:02X}")).collect()
}

#[test]
fn a_sweep_of_bad_requests_on_the_http_door_gets_answers_and_a_task_still_runs() {
    let dir = TempDir::new("ch05-http-sweep");
    let (dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let address = url.trim_start_matches("http://").to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let samples: [&[u8]; 4] = [
        br#"{"kind": "add", "args": {"a": 1, "b": 2}}"#,
        br#"{"worker_id": "sweeper", "capabilities": ["add"]}"#,
        br#"{"task_id": 1, "lease_token": "ab", "status": "COMPLETED", "result": 3}"#,
        br#"{"worker_id": "sweeper", "leases": [{"task_id": 1, "lease_token": "ab"}]}"#,
    ];
    let frames = common::bad_frames(6, &samples, solution05::http::BODY_LIMIT + 1);
    let paths = ["/submit-task", "/get-task", "/submit-result", "/heartbeat"];
    let types = [
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        None,
    ];
    // The last frame, over the body limit, is sent by hand below: the door
    // answers 413 before reading it all, which an ordinary client takes badly.
    let (oversized, frames) = frames.split_last().expect("frames");
    for (index, frame) in frames.iter().enumerate() {
        let path = paths[index % paths.len()];
        let mut request = agent.post(format!("{url}{path}"));
        if let Some(content_type) = types[index % types.len()] {
            request = request.header("Content-Type", content_type);
        }
        let response = request
            .send(frame.as_slice())
            .unwrap_or_else(|error| panic!("bad body {index} on {path}: no answer: {error}"));
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap_or_default();
        assert!(
            status < 500,
            "bad body {index} on {path}: a server error {status}: {text}"
        );
        if status >= 400 {
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| {
                panic!("bad body {index} on {path}: {status} without a JSON error: {text:?}")
            });
            assert!(body["error"].is_string(), "bad body {index}: {body}");
        }
    }
    let answer = post_oversized(&address, "/submit-task", oversized.len());
    assert!(answer.contains(" 413 "), "{answer}");
    // A task id that is no number, and one made of every kind of byte.
    for frame in frames.iter().take(60) {
        let response = agent
            .get(format!("{url}/task/{}", percent_encoded(frame)))
            .call()
            .expect("an answer");
        let status = response.status().as_u16();
        assert!(
            (400..500).contains(&status),
            "GET /task/<garbage>: {status}"
        );
    }
    // Bytes that are no HTTP at all: answered with an error, or the connection closed.
    for (index, frame) in frames.iter().enumerate().take(100) {
        let mut stream = TcpStream::connect(&address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        let _ = stream.write_all(frame);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        if let Err(error) = stream.read_to_end(&mut answer) {
            assert!(
                error.kind() != std::io::ErrorKind::WouldBlock
                    && error.kind() != std::io::ErrorKind::TimedOut,
                "raw frame {index}: the door neither answered nor closed within 10 s"
            );
        }
    }

    let (status, body) = post(
        &format!("{url}/submit-task"),
        json!({"kind": "add", "args": {"a": 40, "b": 2}}),
    );
    assert_eq!(status, 201, "{body}");
    let task = body["task_id"].as_i64().expect("a task id");
    let _worker = worker("w1", "add", &dispatcher.endpoint, &dir.join("w1"));
    let view = wait(&mut dispatcher.client(), task);
    assert_eq!(
        (view.status, view.result),
        (TaskStatus::Completed, Some(json!(42)))
    );
}

/// One frame over a REQ socket, and its answer as text.
/// A [`req_socket`] registered as `worker_id`, with the capability `add`.
fn registered_peer(endpoint: &str, worker_id: &str) -> zmq::Socket {
    let socket = req_socket(endpoint);
    let registration = json!({"worker_id": worker_id, "capabilities": ["add"]});
    let answer = frame_exchange(&socket, &format!("REGISTER {registration}"));
    assert_eq!(answer, "REGISTERED");
    socket
}

fn frame_exchange(socket: &zmq::Socket, frame: &str) -> String {
    socket.send(frame, 0).expect("sends");
    let answer = socket.recv_bytes(0).expect("an answer within 5 s");
    String::from_utf8(answer).expect("a text answer")
}

#[test]
fn batches_over_both_doors_lease_each_task_alone_and_fence_each_result_alone() {
    let dir = TempDir::new("ch05-batches");
    let (dispatcher, url) = http_dispatcher(&dir.join("tasks.db"), &[]);
    let at = |path: &str| format!("{url}{path}");
    let tasks: Vec<TaskId> = (1..=3)
        .map(|n| {
            let (status, body) = post(
                &at("/submit-task"),
                json!({"kind": "add", "args": {"a": n, "b": n}}),
            );
            assert_eq!(status, 201, "{body}");
            body["task_id"].as_i64().expect("a task id")
        })
        .collect();
    let socket = registered_peer(&dispatcher.endpoint, "b1");

    // Two of three over ZeroMQ, in one claim: two leases, two tokens.
    let answer = frame_exchange(&socket, r#"REQUEST_TASKS {"worker_id": "b1", "max": 2}"#);
    let leases: Value = serde_json::from_str(
        answer
            .strip_prefix("TASKS ")
            .unwrap_or_else(|| panic!("TASKS […], got {answer:?}")),
    )
    .expect("a JSON list of leases");
    let leases = leases.as_array().expect("a list").clone();
    let ids: Vec<i64> = leases
        .iter()
        .filter_map(|l| l["task_id"].as_i64())
        .collect();
    assert_eq!(ids, tasks[..2], "the two oldest tasks");
    assert_ne!(
        leases[0]["lease_token"], leases[1]["lease_token"],
        "each task of a batch has a lease of its own"
    );
    // 32 asked for over HTTP, one left: the one there is.
    let (status, rest) = post(&at("/get-tasks"), json!({"worker_id": "b1", "max": 32}));
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest.as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(rest[0]["task_id"], json!(tasks[2]));
    let (status, _) = post(&at("/get-tasks"), json!({"worker_id": "b1", "max": 32}));
    assert_eq!(status, 204, "nothing left: 204, as /get-task");

    // A group over ZeroMQ: the first result with its token, the second forged.
    let result = |lease: &Value, token: &Value| {
        json!({"task_id": lease["task_id"], "lease_token": token, "status": "COMPLETED",
               "result": lease["args"]["a"].as_i64().unwrap_or(0) * 2})
    };
    let group = json!([
        result(&leases[0], &leases[0]["lease_token"]),
        result(&leases[1], &json!("0000000000000000")),
    ]);
    let answer = frame_exchange(&socket, &format!("RESULTS {group}"));
    let answers: Value = serde_json::from_str(
        answer
            .strip_prefix("RESULTS_RECEIVED ")
            .unwrap_or_else(|| panic!("RESULTS_RECEIVED […], got {answer:?}")),
    )
    .expect("a JSON list of answers");
    assert_eq!(answers[0], json!({"task_id": tasks[0]}), "recorded");
    assert!(
        answers[1]["refused"]
            .as_str()
            .is_some_and(|reason| reason.contains("stale lease")),
        "the forged token is refused alone: {answers}"
    );
    // The rest over HTTP, with their own tokens: both recorded.
    let group = json!([
        result(&leases[1], &leases[1]["lease_token"]),
        result(&rest[0], &rest[0]["lease_token"]),
    ]);
    let (status, answers) = post(&at("/submit-results"), group);
    assert_eq!(
        (status, answers),
        (200, json!([{"task_id": tasks[1]}, {"task_id": tasks[2]}]))
    );

    // Bad batches are refused with a reason, and the dispatcher lives on.
    let answer = frame_exchange(&socket, r#"REQUEST_TASKS {"worker_id": "b1", "max": 0}"#);
    assert!(answer.starts_with("ERROR "), "{answer}");
    let answer = frame_exchange(&socket, r#"RESULTS [{"task_id": 1}]"#);
    assert!(answer.starts_with("ERROR "), "{answer}");
    let answer = frame_exchange(
        &socket,
        r#"REQUEST_TASKS {"worker_id": "nobody", "max": 4}"#,
    );
    assert_eq!(answer, "UNKNOWN_WORKER nobody");
    let (status, body) = post(&at("/get-tasks"), json!({"worker_id": "b1", "max": 0}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(&at("/get-tasks"), json!({"worker_id": "nobody", "max": 4}));
    assert_eq!(status, 404, "{body}");

    let mut client = dispatcher.client();
    for (task, sum) in tasks.iter().zip([2, 4, 6]) {
        let view = client.status(*task).expect("status");
        assert_eq!(
            (view.status, view.result),
            (TaskStatus::Completed, Some(json!(sum)))
        );
    }
    let lines = dispatcher.stop();
    assert!(
        lines.iter().any(|l| l.contains("stale lease")),
        "the refusal is reported: {lines:#?}"
    );
}

/// The part of `answer` after `command` and a space, read as JSON.
fn answer_body(answer: &str, command: &str) -> Value {
    let body = answer
        .strip_prefix(command)
        .and_then(|rest| rest.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{command} {{…}}, got {answer:?}"));
    serde_json::from_str(body).expect("a JSON body")
}

#[test]
fn one_trip_requests_record_results_and_lease_the_next_tasks_in_one_answer() {
    let dir = TempDir::new("ch05-one-trip");
    let dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let mut client = dispatcher.client();
    let tasks: Vec<TaskId> = (1..=3)
        .map(|n| client.submit(&add(n, n)).expect("submits"))
        .collect();
    let socket = registered_peer(&dispatcher.endpoint, "t1");
    let first: Value = serde_json::from_str(&frame_exchange(
        &socket,
        r#"REQUEST_TASK {"worker_id": "t1"}"#,
    ))
    .expect("a lease");
    let result = |lease: &Value, token: &Value| {
        json!({"task_id": lease["task_id"], "lease_token": token, "status": "COMPLETED",
               "result": lease["args"]["a"].as_i64().unwrap_or(0) * 2})
    };
    let one_trip = |worker: &str, results: Value, max: usize| {
        let request = json!({"worker_id": worker, "results": results, "max": max});
        answer_body(
            &frame_exchange(&socket, &format!("RESULT_AND_REQUEST {request}")),
            "RECEIVED_AND_TASKS",
        )
    };

    // The first result rides on the request for the next two tasks.
    let received = one_trip("t1", json!([result(&first, &first["lease_token"])]), 2);
    assert_eq!(received["answers"], json!([{"task_id": tasks[0]}]));
    let leases = received["tasks"]
        .as_array()
        .expect("a list of leases")
        .clone();
    let ids: Vec<i64> = leases
        .iter()
        .filter_map(|l| l["task_id"].as_i64())
        .collect();
    assert_eq!(
        ids,
        tasks[1..],
        "the two tasks left, each with a lease of its own"
    );
    assert_ne!(leases[0]["lease_token"], leases[1]["lease_token"]);

    // A forged token is refused alone; nothing left to lease.
    let received = one_trip(
        "t1",
        json!([
            result(&leases[0], &leases[0]["lease_token"]),
            result(&leases[1], &json!("0000000000000000")),
        ]),
        1,
    );
    assert_eq!(received["answers"][0], json!({"task_id": tasks[1]}));
    assert!(
        received["answers"][1]["refused"]
            .as_str()
            .is_some_and(|reason| reason.contains("stale lease")),
        "{received}"
    );
    assert_eq!(received["tasks"], json!([]));

    // A worker the dispatcher does not know: its results are recorded all the
    // same, and the claim says why it got nothing.
    let received = one_trip(
        "stranger",
        json!([result(&leases[1], &leases[1]["lease_token"])]),
        1,
    );
    assert_eq!(
        (
            &received["answers"],
            &received["tasks"],
            &received["claim_refused"]
        ),
        (
            &json!([{"task_id": tasks[2]}]),
            &json!([]),
            &json!("UNKNOWN_WORKER stranger")
        )
    );

    // Bad one-trip frames are refused with a reason; the dispatcher lives on.
    for bad in [
        r#"RESULT_AND_REQUEST {"worker_id": "t1", "results": [], "max": 0}"#,
        r#"RESULT_AND_REQUEST {"worker_id": "t1", "results": [{"task_id": 1}], "max": 1}"#,
        r#"RESULT_AND_REQUEST {"worker_id": "t1", "results": [{"task_id": 1, "lease_token": "ab", "status": "RUNNING"}], "max": 1}"#,
        r#"RESULT_AND_REQUEST {"worker_id": "t1""#,
        "RESULT_AND_REQUEST",
    ] {
        let answer = frame_exchange(&socket, bad);
        assert!(answer.starts_with("ERROR "), "{bad} → {answer}");
    }
    for (task, sum) in tasks.iter().zip([2, 4, 6]) {
        let view = client.status(*task).expect("status");
        assert_eq!(
            (view.status, view.result),
            (TaskStatus::Completed, Some(json!(sum)))
        );
    }
}

/// What a `lease_worker` started with `extra` sends when its first task is
/// done: the frames a stand-in dispatcher received, up to the first that
/// carries a result. The stand-in hands out one task, then none.
fn frames_until_a_result(dir: &Path, extra: &[&str]) -> Vec<String> {
    let (socket, endpoint) = stand_in(zmq::REP);
    let _worker = worker_with(extra, "w1", "add", &endpoint, &dir.join("cache"));
    let lease = json!({"task_id": 1, "kind": "add", "args": {"a": 2, "b": 3},
                       "lease_token": "ab12", "attempt": 1, "max_attempts": 5});
    let mut frames = Vec::new();
    let mut leased = false;
    loop {
        let frame = String::from_utf8(socket.recv_bytes(0).expect("a frame within 10 s"))
            .expect("a text frame");
        let command = frame
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let answer = match command.as_str() {
            "REGISTER" => "REGISTERED".to_owned(),
            "HEARTBEAT" => "HEARTBEAT_OK 0".to_owned(),
            "REQUEST_TASK" if !leased => {
                leased = true;
                lease.to_string()
            }
            "REQUEST_TASK" => "NO_TASKS_AVAILABLE".to_owned(),
            "RESULT" => "RESULT_RECEIVED".to_owned(),
            "RESULT_AND_REQUEST" => {
                let received = json!({"answers": [{"task_id": 1}], "tasks": []});
                format!("RECEIVED_AND_TASKS {received}")
            }
            other => panic!("a frame the worker should not send: {other} in {frame:?}"),
        };
        socket.send(answer.as_str(), 0).expect("answers");
        let carries_a_result = frame.contains("\"result\"");
        frames.push(frame);
        if carries_a_result {
            return frames;
        }
    }
}

#[test]
fn a_lease_worker_sends_its_result_on_its_next_request_unless_told_otherwise() {
    let dir = TempDir::new("ch05-one-trip-worker");
    let frames = frames_until_a_result(&dir.join("one-trip"), &[]);
    let last = frames.last().expect("frames");
    let sent: Value = serde_json::from_str(
        last.strip_prefix("RESULT_AND_REQUEST ")
            .unwrap_or_else(|| panic!("by default the result rides on a request: {frames:#?}")),
    )
    .expect("JSON");
    assert_eq!(
        (
            &sent["worker_id"],
            &sent["results"][0]["task_id"],
            &sent["results"][0]["result"]
        ),
        (&json!("w1"), &json!(1), &json!(5))
    );
    assert!(sent["max"].as_u64().is_some_and(|max| max >= 1), "{sent}");

    let frames = frames_until_a_result(&dir.join("original"), &["--protocol", "original"]);
    let last = frames.last().expect("frames");
    assert!(
        last.starts_with("RESULT:{"),
        "--protocol original sends the result on a frame of its own: {frames:#?}"
    );
}

#[test]
fn two_batch_workers_race_for_500_tasks_and_complete_each_once() {
    let dir = TempDir::new("ch05-batch-race");
    let dispatcher = dispatcher(ANY_PORT, &dir.join("tasks.db"), &[]);
    let mut client = dispatcher.client();
    let ids: Vec<TaskId> = (0..500)
        .map(|n| client.submit(&add(n, 1)).expect("submits"))
        .collect();
    let workers: Vec<Running> = ["b1", "b2"]
        .iter()
        .map(|id| {
            let cache = dir.join(id).display().to_string();
            let args = [
                "--id",
                id,
                "--capabilities",
                "add",
                "--endpoint",
                &dispatcher.endpoint,
                "--batch",
                "32",
                "--heartbeat-every",
                "0.2",
                "--poll",
                "0.01",
                "--cache-dir",
                &cache,
            ];
            let mut process = start(WORKER, &args);
            process.expect_line(LIMIT, |line| line.contains("asking"));
            process
        })
        .collect();
    let stats = stats_until(&dispatcher.endpoint, |s| s.tasks.completed == 500);
    assert_eq!(stats.tasks.failed, 0, "{stats:?}");
    for (n, id) in (0..500).zip(&ids).step_by(37) {
        let view = client.status(*id).expect("status");
        assert_eq!((view.result, view.attempts), (Some(json!(n + 1)), 1));
    }
    drop(workers);
    let lines = dispatcher.stop();
    let completed = lines.iter().filter(|l| l.ends_with(": COMPLETED")).count();
    assert_eq!(completed, 500, "every task completed exactly once");
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("Refused") || l.contains("again")),
        "no result refused or repeated"
    );
}

/// Starts a worker as `worker` does, claiming and delivering in batches of 8.
fn batch_worker(id: &str, capabilities: &str, endpoint: &str, cache: &Path) -> Running {
    worker_with(&["--batch", "8"], id, capabilities, endpoint, cache)
}

#[test]
fn a_batch_workers_group_of_results_outlives_the_dispatcher_and_the_worker_itself() {
    let dir = TempDir::new("ch05-cache-group");
    let (db, cache) = (dir.join("tasks.db"), dir.join("cache"));
    let first = dispatcher(ANY_PORT, &db, &["--dead-after", "30"]);
    let endpoint = first.endpoint.clone();
    let mut client = first.client();
    let tasks: Vec<TaskId> = (0..2)
        .map(|_| {
            client
                .submit(&NewTask::new("sleep", json!({"ms": 800})))
                .expect("submits")
        })
        .collect();
    let mut batcher = batch_worker("batcher", "sleep", &endpoint, &cache);
    // Both start, in either order (each on a thread of its own).
    for _ in &tasks {
        batcher.expect_line(LIMIT, |l| l.contains("Running task"));
    }
    drop(first); // SIGKILL while both tasks run.
    batcher.expect_line(LIMIT, |l| {
        l.contains("Dispatcher unreachable; 2 result(s) kept in the cache")
    });
    let files = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert!(
        (1..=2).contains(&files),
        "the two results wait on disk, in one group file (or two), got {files} files"
    );
    // The worker crashes too; a new one on the same cache delivers both, once.
    drop(batcher);
    let _second = dispatcher(&endpoint, &db, &["--dead-after", "30"]);
    let mut again = batch_worker("batcher", "sleep", &endpoint, &cache);
    // In either order: the two finished at the same moment, and the cache's
    // writer may have saved them in one group or in two.
    let mut delivered: Vec<String> = (0..tasks.len())
        .map(|_| again.expect_line(LIMIT, |l| l.contains("Delivered task")))
        .collect();
    delivered.sort();
    let mut expected: Vec<String> = tasks
        .iter()
        .map(|task| format!("Delivered task {task}: RESULT_RECEIVED"))
        .collect();
    expected.sort();
    for (line, wanted) in delivered.iter().zip(&expected) {
        assert!(
            line.ends_with(wanted.as_str()),
            "{line:?} is not {wanted:?}"
        );
    }
    for task in &tasks {
        let view = wait(&mut client, *task);
        assert_eq!(
            (view.status, view.attempts, view.result),
            (TaskStatus::Completed, 1, Some(json!(800)))
        );
    }
    let files = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(99);
    assert_eq!(files, 0, "acknowledged results leave the cache");
}

/// A result as a worker caches it, for the cache writer's test.
fn leased_result(task_id: TaskId) -> solution05::LeasedResult {
    solution05::LeasedResult {
        task_id,
        lease_token: format!("token{task_id}"),
        status: TaskStatus::Completed,
        result: Some(json!(task_id)),
        error: None,
    }
}

#[test]
fn the_cache_writer_saves_one_group_at_a_time_and_says_when_it_is_on_disk() {
    use solution05::cache::{CacheWriter, ResultCache};
    let dir = TempDir::new("ch05-cache-writer");
    let folder = dir.join("cache");
    let cache = ResultCache::open(&folder, Duration::from_secs(3600)).expect("opens");
    let on_disk = || {
        let found = ResultCache::open(&folder, Duration::from_secs(3600))
            .and_then(|cache| cache.load(std::time::SystemTime::now()))
            .expect("loads");
        let mut ids: Vec<TaskId> = found.fresh.iter().map(|result| result.task_id).collect();
        ids.sort_unstable();
        ids
    };
    let mut writer = CacheWriter::start(cache);
    assert!(!writer.busy());
    assert!(
        writer.write(vec![leased_result(1)]),
        "an idle writer takes a group"
    );
    // While it writes, the next results wait: the caller keeps them for the
    // next group, which shares one flush.
    assert!(writer.busy());
    assert!(
        !writer.write(vec![leased_result(2)]),
        "a busy writer takes no group"
    );
    let (group, saved) = writer.saved_within(LIMIT).expect("the group is written");
    saved.expect("saved");
    assert_eq!(group, vec![leased_result(1)]);
    assert_eq!(
        on_disk(),
        vec![1],
        "once the writer says so, the group is on disk"
    );
    assert!(!writer.busy());
    assert!(writer.write(vec![leased_result(2), leased_result(3)]));
    let (group, saved) = writer.saved_within(LIMIT).expect("the group is written");
    saved.expect("saved");
    assert_eq!(group.len(), 2);
    assert_eq!(on_disk(), vec![1, 2, 3]);
    let files = std::fs::read_dir(&folder).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 2, "one file per group");
    assert!(!writer.write(Vec::new()), "nothing to write is not a group");
    assert!(writer.try_saved().is_none());
}
