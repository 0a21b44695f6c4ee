// Grading tests for chapter 04 — the ZeroMQ pull model.
//
// Run them with `cargo test -p exercise04`. They check the protocol frame by
// frame, the task states and the deadline on a task table without any network,
// and then the real thing over loopback sockets: a dispatcher and workers in this
// process, on free ports. The same file grades the reference solution
// (solutions/solution04), so passing here means matching it.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use exercise04::kinds::{self, Job};
use exercise04::protocol::{
    Assignment, DispatcherReply, ErrorType, ResultReport, TaskFailure, TaskStatus, WorkerMessage,
};
use exercise04::store::{NewTask, ResultRefused, TaskTable};
use exercise04::{
    Client, ClientError, Dispatcher, DispatcherConfig, Event, EventSink, Stopper, TaskReport,
    Worker, WorkerConfig,
};
use grading::{BookSection, Chapter, within};
use serde_json::{Value, json};

const BOOK: Chapter = Chapter("ch04-pull-model.md");
const PROTOCOL: BookSection = BOOK.section("The wire protocol");
const KINDS: BookSection = BOOK.section("Task kinds, not shipped code");
const STATES: BookSection = BOOK.section("Task states");
const DEADLINES: BookSection = BOOK.section("Deadlines");
const OWNER: BookSection = BOOK.section("One owner, no locks");
const CAPACITY: BookSection = BOOK.section("Asking only with capacity");
const RESTART: BookSection = BOOK.section("Surviving a dispatcher restart");

const LIMIT: Duration = Duration::from_secs(10);
const ANY_PORT: &str = "tcp://127.0.0.1:*";

// ------------------------------------------------------------------- helpers

/// An event sink that forwards every event to a channel the test can read.
fn recording() -> (EventSink, Receiver<Event>) {
    let (sender, receiver) = unbounded();
    let sink: EventSink = Arc::new(move |event: &Event| {
        let _ = sender.send(event.clone());
    });
    (sink, receiver)
}

fn quiet() -> EventSink {
    Arc::new(|_: &Event| {})
}

/// A dispatcher running on its own thread, on free ports.
struct RunningDispatcher {
    workers: String,
    clients: String,
    stop: Stopper,
    thread: Option<JoinHandle<()>>,
}

impl RunningDispatcher {
    fn start(deadline: Duration, events: EventSink) -> Self {
        Self::start_on(ANY_PORT, deadline, events)
    }

    fn start_on(workers_endpoint: &str, deadline: Duration, events: EventSink) -> Self {
        let config = DispatcherConfig {
            workers_endpoint: workers_endpoint.to_owned(),
            clients_endpoint: ANY_PORT.to_owned(),
            deadline,
            check_every: Duration::from_millis(50),
        };
        // A port just released may take a moment to be free again.
        let mut tries = 0;
        let dispatcher = loop {
            match Dispatcher::bind(config.clone(), EventSink::clone(&events)) {
                Ok(dispatcher) => break dispatcher,
                Err(error) if tries < 50 => {
                    tries += 1;
                    let _ = error;
                    thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("the dispatcher could not bind: {error}"),
            }
        };
        let workers = dispatcher.workers_endpoint().to_owned();
        let clients = dispatcher.clients_endpoint().to_owned();
        let stop = Stopper::new();
        let stopper = stop.clone();
        let thread = thread::spawn(move || {
            dispatcher
                .run(&stopper)
                .expect("the dispatcher serves until stopped");
        });
        Self {
            workers,
            clients,
            stop,
            thread: Some(thread),
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.clients, Duration::from_secs(3)).expect("a client connects")
    }

    /// Stops the dispatcher and passes on its panic, if it had one.
    fn shut_down(mut self) {
        self.stop.stop();
        if let Some(thread) = self.thread.take()
            && let Err(panic) = thread.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for RunningDispatcher {
    fn drop(&mut self) {
        self.stop.stop();
    }
}

/// A worker running on its own thread.
struct RunningWorker {
    stop: Stopper,
    thread: Option<JoinHandle<()>>,
}

impl RunningWorker {
    fn start(endpoint: &str, processes: usize, events: EventSink) -> Self {
        let mut config = WorkerConfig::new(endpoint, processes);
        // Long enough that a busy machine's slow answer is not taken for a dead
        // dispatcher (which would make the worker reconnect and resend).
        config.request_timeout = Duration::from_millis(1500);
        config.idle_wait = Duration::from_millis(5);
        let worker = Worker::start(config, events).expect("the worker starts");
        let stop = Stopper::new();
        let stopper = stop.clone();
        let thread = thread::spawn(move || {
            worker.run(&stopper).expect("the worker runs until stopped");
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        self.stop.stop();
        // Only rethrow when the test itself is not already failing.
        if let Some(thread) = self.thread.take()
            && let Err(panic) = thread.join()
            && !thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

fn wait(client: &mut Client, task_id: &str) -> TaskReport {
    client
        .wait_for(task_id, Duration::from_millis(10), Duration::from_secs(5))
        .unwrap_or_else(|error| {
            panic!(
                "expected task {task_id} to reach COMPLETED or FAILED within 5 s, got: {error}; \
                 is a worker asking for tasks and reporting its results? {}",
                CAPACITY.hint()
            )
        })
}

/// A raw REQ socket, to speak the protocol frame by frame.
fn raw_socket(endpoint: &str) -> zmq::Socket {
    let socket = zmq::Context::new().socket(zmq::REQ).expect("a socket");
    socket.set_linger(0).expect("linger");
    socket.set_rcvtimeo(3000).expect("a receive timeout");
    socket.connect(endpoint).expect("connects");
    socket
}

fn ask(socket: &zmq::Socket, frame: &[u8]) -> String {
    socket.send(frame, 0).expect("sends");
    let answer = socket
        .recv_bytes(0)
        .expect("the dispatcher answers every frame within 3 s");
    String::from_utf8(answer).expect("answers are UTF-8")
}

// ------------------------------------------------------------------ protocol

#[test]
fn worker_frames_are_understood() {
    let parsed = |frame: &str| WorkerMessage::parse(frame);
    assert_eq!(
        parsed("REQUEST_TASK"),
        Ok(WorkerMessage::RequestTask { worker_id: None }),
        "a bare REQUEST_TASK asks for work; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        parsed(r#"REQUEST_TASK {"worker_id": "w7"}"#),
        Ok(WorkerMessage::RequestTask {
            worker_id: Some("w7".to_owned())
        }),
        "REQUEST_TASK may carry {{\"worker_id\": …}}; {}",
        PROTOCOL.hint()
    );
    let completed = parsed(r#"RESULT:{"task_id": "t1", "status": "COMPLETED", "result": [1, 2]}"#);
    assert_eq!(
        completed,
        Ok(WorkerMessage::Result(ResultReport::completed(
            "t1",
            json!([1, 2])
        ))),
        "RESULT: followed by JSON reports a result; {}",
        PROTOCOL.hint()
    );
    let failed = parsed(
        r#"RESULT:{"task_id": "t2", "status": "FAILED", "error": {"status": "FAILED",
            "error_type": "FunctionExecutionFailure", "message": "boom", "task_id": "t2"}}"#,
    );
    assert_eq!(
        failed,
        Ok(WorkerMessage::Result(ResultReport::failed(
            TaskFailure::new("t2", ErrorType::FunctionExecutionFailure, "boom")
        ))),
        "a FAILED result carries an error object; {}",
        PROTOCOL.hint()
    );
}

#[test]
fn bad_worker_frames_are_errors_not_panics() {
    for frame in [
        "",
        "HELLO",
        "REQUEST_TASKS",
        "REQUEST_TASK {not json",
        "RESULT:",
        "RESULT:{\"task_id\": \"t1\"",
        r#"RESULT:{"task_id": "t1", "status": "RUNNING"}"#,
        r#"RESULT:{"task_id": "t1", "status": "FAILED"}"#,
    ] {
        assert!(
            WorkerMessage::parse(frame).is_err(),
            "{frame:?} must be refused with an error, got {:?}; {}",
            WorkerMessage::parse(frame),
            PROTOCOL.hint()
        );
    }
}

// --------------------------------------------------------------------- kinds

fn assignment(kind: &str, args: Value) -> Assignment {
    Assignment {
        task_id: "t1".to_owned(),
        kind: kind.to_owned(),
        args,
        status: TaskStatus::Running,
    }
}

#[test]
fn the_closed_set_of_kinds_runs() {
    assert_eq!(
        Job::decode("arithmetic", &json!({"a": 10, "op": "add", "b": 5})),
        Ok(Job::Arithmetic {
            a: 10,
            op: exercise04::kinds::Op::Add,
            b: 5
        }),
        "arithmetic takes {{a, op, b}}; {}",
        KINDS.hint()
    );
    let cases = [
        (
            "arithmetic",
            json!({"a": 7, "op": "multiply", "b": 8}),
            json!(56),
        ),
        ("primes", json!({"n": 100}), json!(25)),
        ("sleep", json!({"ms": 1}), json!(1)),
        (
            "echo",
            json!({"data": {"x": [1, "two"]}}),
            json!({"x": [1, "two"]}),
        ),
    ];
    for (kind, args, expected) in cases {
        let report = kinds::execute(&assignment(kind, args.clone()));
        assert_eq!(
            report,
            ResultReport::completed("t1", expected.clone()),
            "{kind} {args} should complete with {expected}; {}",
            KINDS.hint()
        );
    }
}

#[test]
fn a_failing_task_and_an_unknown_kind_are_different_failures() {
    let raised = kinds::execute(&assignment("fail", json!({"message": "boom"})));
    assert_eq!(
        raised,
        ResultReport::failed(TaskFailure::new(
            "t1",
            ErrorType::FunctionExecutionFailure,
            "boom"
        )),
        "a task that runs and fails is FunctionExecutionFailure with its message; {}",
        KINDS.hint()
    );
    let by_zero = kinds::execute(&assignment(
        "arithmetic",
        json!({"a": 1, "op": "divide", "b": 0}),
    ));
    assert_eq!(
        by_zero.error.as_ref().map(|e| e.error_type),
        Some(ErrorType::FunctionExecutionFailure),
        "division by zero is a failure of the task, got {by_zero:?}; {}",
        KINDS.hint()
    );
    for (kind, args) in [
        ("pickle", json!({"code": "import os"})),
        ("sleep", json!({"ms": "soon"})),
        ("primes", json!({})),
        ("primes", json!({"n": u64::MAX})),
    ] {
        let report = kinds::execute(&assignment(kind, args.clone()));
        assert_eq!(
            (report.status, report.error.as_ref().map(|e| e.error_type)),
            (TaskStatus::Failed, Some(ErrorType::SerializationError)),
            "{kind} {args} is not something a worker runs: SerializationError, got {report:?}; {}",
            KINDS.hint()
        );
    }
}

// ---------------------------------------------------------------- task table

fn sleep_task(ms: u64) -> NewTask {
    NewTask {
        kind: "sleep".to_owned(),
        args: json!({ "ms": ms }),
    }
}

#[test]
fn a_task_goes_queued_running_completed() {
    let mut table = TaskTable::new();
    let first = table.submit(sleep_task(1));
    let second = table.submit(sleep_task(2));
    assert_eq!(
        table.report(&first).map(|r| r.status),
        Some(TaskStatus::Queued),
        "a submitted task is QUEUED; {}",
        STATES.hint()
    );
    let handed = table.assign_next(Instant::now());
    assert_eq!(
        handed.as_ref().map(|a| (a.task_id.clone(), a.status)),
        Some((first.clone(), TaskStatus::Running)),
        "workers get the oldest task first, marked RUNNING; {}",
        STATES.hint()
    );
    assert_eq!(
        table.report(&first).map(|r| r.status),
        Some(TaskStatus::Running),
        "a handed-out task is RUNNING in the table too; {}",
        STATES.hint()
    );
    assert_eq!(
        table.accept_result(ResultReport::completed(&first, json!(1))),
        Ok(TaskStatus::Completed),
        "a result for a RUNNING task is accepted; {}",
        STATES.hint()
    );
    let report = table.report(&first).expect("the task is known");
    assert_eq!(
        (report.status, report.result),
        (TaskStatus::Completed, Some(json!(1))),
        "the accepted result is what status reports; {}",
        STATES.hint()
    );
    assert!(
        matches!(
            table.accept_result(ResultReport::completed(&second, json!(2))),
            Err(ResultRefused::NotRunning { .. })
        ),
        "a result for a task nobody took (still QUEUED) must be refused; {}",
        STATES.hint()
    );
    assert!(
        matches!(
            table.accept_result(ResultReport::completed("no-such-task", json!(0))),
            Err(ResultRefused::UnknownTask(_))
        ),
        "a result for an unknown task must be refused; {}",
        STATES.hint()
    );
    assert_eq!(
        table.assign_next(Instant::now()).map(|a| a.task_id),
        Some(second),
        "then the next task; {}",
        STATES.hint()
    );
    assert_eq!(
        table.assign_next(Instant::now()),
        None,
        "and then nothing; {}",
        STATES.hint()
    );
}

#[test]
fn the_deadline_fails_a_task_and_a_late_result_never_overwrites_it() {
    let mut table = TaskTable::new();
    let task_id = table.submit(sleep_task(5000));
    let started = Instant::now();
    table.assign_next(started).expect("a task to hand out");
    let deadline = Duration::from_secs(2);

    assert!(
        table
            .expire_overdue(started + Duration::from_millis(1900), deadline)
            .is_empty(),
        "a task within its deadline is left alone; {}",
        DEADLINES.hint()
    );
    let expired = table.expire_overdue(started + Duration::from_millis(2414), deadline);
    let failure = TaskFailure::new(
        &task_id,
        ErrorType::WorkerFailureError,
        "Task exceeded deadline of 2s (took 2.41s)",
    );
    assert_eq!(
        expired
            .iter()
            .map(|e| e.failure.clone())
            .collect::<Vec<_>>(),
        vec![failure.clone()],
        "a task RUNNING past its deadline fails with WorkerFailureError and the original's \
         message; {}",
        DEADLINES.hint()
    );
    assert!(
        table
            .expire_overdue(started + Duration::from_secs(9), deadline)
            .is_empty(),
        "a task fails once, not at every check; {}",
        DEADLINES.hint()
    );
    let late = table.accept_result(ResultReport::completed(&task_id, json!(5000)));
    assert!(
        matches!(
            late,
            Err(ResultRefused::NotRunning {
                status: TaskStatus::Failed,
                ..
            })
        ),
        "a result arriving after the deadline must be refused, got {late:?}; {}",
        DEADLINES.hint()
    );
    let report = table.report(&task_id).expect("the task is known");
    assert_eq!(
        (report.status, report.result, report.error),
        (TaskStatus::Failed, None, Some(failure)),
        "the late result must not overwrite the FAILED record; {}",
        DEADLINES.hint()
    );
}

// ---------------------------------------------------------------- dispatcher

#[test]
fn the_dispatcher_answers_every_frame_and_survives_garbage() {
    let answers = within(LIMIT, "a dispatcher and raw frames", OWNER, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let worker = raw_socket(&dispatcher.workers);
        let mut client = dispatcher.client();
        let mut answers = vec![ask(&worker, b"REQUEST_TASK")];
        let task_id = client
            .submit("arithmetic", json!({"a": 1, "op": "add", "b": 2}))
            .expect("submits");
        answers.push(ask(&worker, br#"REQUEST_TASK {"worker_id": "raw"}"#));
        answers.push(ask(&worker, b"HELLO"));
        answers.push(ask(&worker, b"REQUEST_TASK {oops"));
        answers.push(ask(&worker, b"RESULT:{\"task_id\": "));
        answers.push(ask(&worker, &[0xff, 0xfe, 0x00]));
        let oversized = vec![b'x'; exercise04::protocol::MAX_FRAME_BYTES + 1];
        answers.push(ask(&worker, &oversized));
        worker
            .send_multipart([b"REQUEST_TASK".as_slice(), b"two".as_slice()], 0)
            .expect("sends");
        answers.push(String::from_utf8_lossy(&worker.recv_bytes(0).expect("answer")).into_owned());
        let result =
            format!(r#"RESULT:{{"task_id": "{task_id}", "status": "COMPLETED", "result": 3}}"#);
        answers.push(ask(&worker, result.as_bytes()));
        answers.push(ask(&worker, result.as_bytes()));
        let status = client.status(&task_id).expect("status");
        dispatcher.shut_down();
        (answers, task_id, status)
    });
    let (answers, task_id, status) = answers;
    let expect = |index: usize, wanted: &str, why: &str| {
        assert!(
            answers[index].starts_with(wanted),
            "{why}: expected an answer starting with {wanted:?}, got {:?}; {}",
            answers[index],
            PROTOCOL.hint()
        );
    };
    expect(0, "NO_TASKS_AVAILABLE", "nothing queued yet");
    let task: Value = serde_json::from_str(&answers[1]).unwrap_or(Value::Null);
    assert_eq!(
        (&task["task_id"], &task["kind"], &task["status"]),
        (&json!(task_id), &json!("arithmetic"), &json!("RUNNING")),
        "a request for work gets the task as JSON, got {:?}; {}",
        answers[1],
        PROTOCOL.hint()
    );
    expect(2, "ERROR", "an unknown command");
    expect(3, "ERROR_OCCURED", "a request for work with malformed JSON");
    expect(4, "ERROR", "a result with malformed JSON");
    expect(5, "ERROR", "a frame that is not UTF-8");
    expect(6, "ERROR", "a frame larger than MAX_FRAME_BYTES");
    expect(7, "ERROR", "a message of two frames");
    expect(8, "RESULT_RECEIVED", "a result for the RUNNING task");
    expect(
        9,
        "ERROR",
        "a second result for a task that is no longer RUNNING",
    );
    assert_eq!(
        (status.status, status.result),
        (TaskStatus::Completed, Some(json!(3))),
        "after all that garbage the dispatcher still knows the task's result; {}",
        OWNER.hint()
    );
}

#[test]
fn an_unknown_id_is_not_found() {
    let (unknown, garbage) = within(LIMIT, "status of an unknown id", OWNER, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let mut client = dispatcher.client();
        let unknown = client.status("no-such-task");
        let raw = raw_socket(&dispatcher.clients);
        let garbage = ask(&raw, b"SUBMIT {\"kind\": ");
        dispatcher.shut_down();
        (unknown, garbage)
    });
    assert!(
        matches!(&unknown, Err(ClientError::NotFound(id)) if id == "no-such-task"),
        "status of an id the dispatcher never gave out is a clear not-found, got {unknown:?}; {}",
        STATES.hint()
    );
    assert!(
        garbage.starts_with("ERROR"),
        "a submission with malformed JSON is answered with ERROR, got {garbage:?}; {}",
        PROTOCOL.hint()
    );
}

// ------------------------------------------------------------------- workers

#[test]
fn a_worker_completes_tasks_and_reports_failures() {
    let reports = within(LIMIT, "a dispatcher and one worker", CAPACITY, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let worker = RunningWorker::start(&dispatcher.workers, 2, quiet());
        let mut client = dispatcher.client();
        let big = "x".repeat(1024 * 1024);
        let ids = [
            client.submit("arithmetic", json!({"a": 10, "op": "add", "b": 5})),
            client.submit("fail", json!({"message": "raised on purpose"})),
            client.submit("echo", json!({ "data": big })),
            client.submit("pickle", json!({})),
        ];
        let reports: Vec<TaskReport> = ids
            .into_iter()
            .map(|id| wait(&mut client, &id.expect("submits")))
            .collect();
        drop(worker);
        dispatcher.shut_down();
        reports
    });
    assert_eq!(
        (reports[0].status, reports[0].result.clone()),
        (TaskStatus::Completed, Some(json!(15))),
        "10 add 5 completes with 15; {}",
        CAPACITY.hint()
    );
    let raised = reports[1].error.as_ref();
    assert_eq!(
        (
            reports[1].status,
            raised.map(|e| (e.error_type, e.message.as_str()))
        ),
        (
            TaskStatus::Failed,
            Some((ErrorType::FunctionExecutionFailure, "raised on purpose"))
        ),
        "a raising task is FAILED with FunctionExecutionFailure and its message, got {:?}; {}",
        reports[1],
        KINDS.hint()
    );
    let echoed = reports[2].result.as_ref().and_then(Value::as_str);
    assert!(
        reports[2].status == TaskStatus::Completed
            && echoed
                .is_some_and(|text| text.len() == 1024 * 1024 && text.bytes().all(|b| b == b'x')),
        "a 1 MiB result must round-trip intact, got status {} and {} bytes; {}",
        reports[2].status,
        echoed.map_or(0, str::len),
        PROTOCOL.hint()
    );
    assert_eq!(
        reports[3].error.as_ref().map(|e| e.error_type),
        Some(ErrorType::SerializationError),
        "an unknown kind fails with SerializationError, got {:?}; {}",
        reports[3],
        KINDS.hint()
    );
}

/// The most tasks a worker had taken and not yet reported, from the dispatcher's
/// point of view.
fn most_at_once(events: &[Event]) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for event in events {
        match event {
            Event::Assigned { .. } => now += 1,
            Event::ResultAccepted { .. } => now = now.saturating_sub(1),
            _ => {}
        }
        most = most.max(now);
    }
    most
}

#[test]
fn a_worker_runs_as_many_tasks_at_once_as_it_has_processes() {
    let (three, two) = within(
        LIMIT,
        "sleeping tasks on 3 and 2 processes",
        CAPACITY,
        || {
            let run = |processes: usize, tasks: usize| {
                let (events, log) = recording();
                let dispatcher = RunningDispatcher::start(Duration::from_secs(5), events);
                let mut client = dispatcher.client();
                let ids: Vec<String> = (0..tasks)
                    .map(|_| client.submit("sleep", json!({"ms": 400})).expect("submits"))
                    .collect();
                let worker = RunningWorker::start(&dispatcher.workers, processes, quiet());
                for id in &ids {
                    assert_eq!(
                        wait(&mut client, id).status,
                        TaskStatus::Completed,
                        "every sleep task completes; {}",
                        CAPACITY.hint()
                    );
                }
                drop(worker);
                dispatcher.shut_down();
                most_at_once(&log.try_iter().collect::<Vec<_>>())
            };
            (run(3, 3), run(2, 6))
        },
    );
    assert_eq!(
        three,
        3,
        "3 sleeping tasks on a 3-process worker should all run at once, at most {three} did; {}",
        CAPACITY.hint()
    );
    assert_eq!(
        two,
        2,
        "a 2-process worker must ask only while it has a free thread: expected at most 2 tasks \
         RUNNING at once, and 2 to be reached, got {two}; {}",
        CAPACITY.hint()
    );
}

#[test]
fn a_stuck_task_fails_at_its_deadline_and_the_worker_carries_on() {
    let (stuck, next, events) = within(LIMIT, "a task past its deadline", DEADLINES, || {
        let (events, log) = recording();
        let dispatcher = RunningDispatcher::start(Duration::from_secs(1), events);
        let worker = RunningWorker::start(&dispatcher.workers, 1, quiet());
        let mut client = dispatcher.client();
        let stuck = client
            .submit("sleep", json!({"ms": 2_000}))
            .expect("submits");
        let next = client
            .submit("arithmetic", json!({"a": 2, "op": "multiply", "b": 21}))
            .expect("submits");
        let stuck = wait(&mut client, &stuck);
        let next = wait(&mut client, &next);
        drop(worker);
        dispatcher.shut_down();
        (stuck, next, log.try_iter().collect::<Vec<_>>())
    });
    let failure = stuck.error.clone().expect("the stuck task has an error");
    assert!(
        stuck.status == TaskStatus::Failed
            && failure.error_type == ErrorType::WorkerFailureError
            && failure
                .message
                .starts_with("Task exceeded deadline of 1s (took ")
            && failure.message.ends_with("s)"),
        "a task RUNNING past a 1 s deadline fails with WorkerFailureError and \
         \"Task exceeded deadline of 1s (took X.XXs)\", got {stuck:?}; {}",
        DEADLINES.hint()
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ResultRefused { .. })),
        "the stuck task's late result must be refused with ERROR, events: {events:#?}; {}",
        DEADLINES.hint()
    );
    assert_eq!(
        (next.status, next.result),
        (TaskStatus::Completed, Some(json!(42))),
        "after an ERROR answer the worker goes on to the next task; {}",
        DEADLINES.hint()
    );
}

#[test]
fn a_worker_survives_a_dispatcher_restart() {
    let (before, after) = within(LIMIT, "restarting the dispatcher", RESTART, || {
        let first = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let endpoint = first.workers.clone();
        let worker = RunningWorker::start(&endpoint, 1, quiet());
        let mut client = first.client();
        let id = client
            .submit("arithmetic", json!({"a": 1, "op": "add", "b": 1}))
            .expect("submits");
        let before = wait(&mut client, &id);
        first.shut_down();
        // The worker asks into the void for a while: its REQ socket times out.
        thread::sleep(Duration::from_millis(700));
        let second = RunningDispatcher::start_on(&endpoint, Duration::from_secs(5), quiet());
        let mut client = second.client();
        let id = client
            .submit("arithmetic", json!({"a": 2, "op": "add", "b": 2}))
            .expect("submits");
        let after = wait(&mut client, &id);
        drop(worker);
        second.shut_down();
        (before, after)
    });
    assert_eq!(
        before.result,
        Some(json!(2)),
        "the first dispatcher's task completes; {}",
        RESTART.hint()
    );
    assert_eq!(
        (after.status, after.result),
        (TaskStatus::Completed, Some(json!(4))),
        "after the dispatcher restarts, the same worker must reconnect (close and reopen its \
         REQ socket when an answer is late) and complete the new dispatcher's task; {}",
        RESTART.hint()
    );
}

#[test]
fn a_dispatcher_reply_is_understood_by_a_worker() {
    // The worker's side of the protocol must read what the dispatcher writes.
    let frames = within(LIMIT, "dispatcher replies", PROTOCOL, || {
        let mut table = TaskTable::new();
        table.submit(sleep_task(1));
        let handed = table.assign_next(Instant::now()).expect("a task");
        DispatcherReply::parse(&DispatcherReply::Task(handed.clone()).to_frame())
            .map(|reply| (reply, handed))
    });
    let (reply, handed) = frames.expect("a task frame parses");
    assert_eq!(
        reply,
        DispatcherReply::Task(handed),
        "a task frame read back is the same task; {}",
        PROTOCOL.hint()
    );
}
