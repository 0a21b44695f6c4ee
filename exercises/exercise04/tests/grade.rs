// Grading tests for chapter 04 — the ZeroMQ pull model.
//
// Run them with `cargo test -p exercise04`, or one step at a time with
// `cargo test -p exercise04 stepK` (the steps are listed in
// exercises/exercise04/hints.toml and in the book's "The exercise"). They check the
// protocol frame by frame, the task states and the deadline on a task table without
// any network, and then the real thing over loopback sockets: a dispatcher and
// workers in this process, on free ports. The same file grades the reference
// solution (solutions/solution04), so passing here means matching it.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use exercise04::kinds::{self, Job, MAX_PRIMES_N, MAX_SLEEP_MS};
use exercise04::protocol::{
    Assignment, DispatcherReply, ErrorType, ResultReport, TaskFailure, TaskStatus, WorkerMessage,
};
use exercise04::store::{NewTask, ResultRefused, TaskTable};
use exercise04::{
    Client, ClientError, Dispatcher, DispatcherConfig, Event, EventSink, Stopper, TaskReport,
    Worker, WorkerConfig,
};
use grading::{BookSection, Chapter, OrBook, within};
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
/// How long a test worker waits for an answer before it reconnects (Lazy Pirate).
/// Long enough that a busy machine's slow answer is not taken for a dead
/// dispatcher (which would make the worker reconnect and resend).
const WORKER_TIMEOUT: Duration = Duration::from_millis(1500);

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
                Err(_) if tries < 50 => {
                    tries += 1;
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
            if let Err(error) = dispatcher.run(&stopper) {
                panic!(
                    "expected the dispatcher to serve until stopped, got Err({error:?}); {}",
                    OWNER.hint()
                );
            }
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

/// Asks a dispatcher's client socket to queue a task; the answer comes from the
/// dispatcher's loop.
fn submit(client: &mut Client, kind: &str, args: Value) -> String {
    client.submit(kind, args).or_book(
        "the dispatcher to answer SUBMIT with the new task's id (is its loop polling \
         the clients' socket?)",
        OWNER,
    )
}

/// A worker running on its own thread.
struct RunningWorker {
    stop: Stopper,
    thread: Option<JoinHandle<()>>,
}

impl RunningWorker {
    /// A worker whose failure is explained by `section`.
    fn start(endpoint: &str, processes: usize, events: EventSink, section: BookSection) -> Self {
        let mut config = WorkerConfig::new(endpoint, processes);
        config.request_timeout = WORKER_TIMEOUT;
        config.idle_wait = Duration::from_millis(5);
        let worker = Worker::start(config, events).expect("the worker starts");
        let stop = Stopper::new();
        let stopper = stop.clone();
        let thread = thread::spawn(move || {
            if let Err(error) = worker.run(&stopper) {
                panic!(
                    "expected the worker to run until stopped, got Err({error:?}); {}",
                    section.hint()
                );
            }
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

/// The task's final report, or a failed test that says why it never came.
fn wait(client: &mut Client, task_id: &str, why: &str, section: BookSection) -> TaskReport {
    client
        .wait_for(task_id, Duration::from_millis(10), Duration::from_secs(5))
        .unwrap_or_else(|error| {
            panic!(
                "expected task {task_id} to reach COMPLETED or FAILED within 5 s, got: {error}; \
                 {why} {}",
                section.hint()
            )
        })
}

/// Waits for a task a worker should run.
fn wait_for_worker(client: &mut Client, task_id: &str) -> TaskReport {
    wait(
        client,
        task_id,
        "is the worker asking for tasks while it has a free thread, running them on \
         the pool and reporting their results?",
        CAPACITY,
    )
}

/// A raw REQ socket, to speak the protocol frame by frame.
fn raw_socket(endpoint: &str) -> zmq::Socket {
    let socket = zmq::Context::new().socket(zmq::REQ).expect("a socket");
    socket.set_linger(0).expect("linger");
    socket.set_rcvtimeo(3000).expect("a receive timeout");
    socket.connect(endpoint).expect("connects");
    socket
}

/// Sends one frame to the dispatcher and returns its answer.
fn ask(socket: &zmq::Socket, frame: &[u8]) -> String {
    socket.send(frame, 0).or_book(
        "to send a frame (the REQ socket must have had the answer to the previous one)",
        OWNER,
    );
    let answer = socket.recv_bytes(0).or_book(
        "the dispatcher to answer every frame within 3 s, exactly once",
        OWNER,
    );
    String::from_utf8(answer).or_book("an answer in UTF-8 text", PROTOCOL)
}

fn sleep_task(ms: u64) -> NewTask {
    NewTask {
        kind: "sleep".to_owned(),
        args: json!({ "ms": ms }),
    }
}

// =================================================================== step 1
// The wire protocol and task kinds: todos parse-worker-frame, job-decode, execute.

#[test]
fn step1_worker_frames_are_understood() {
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
fn step1_bad_worker_frames_are_errors_not_panics() {
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

fn assignment(kind: &str, args: Value) -> Assignment {
    Assignment {
        task_id: "t1".to_owned(),
        kind: kind.to_owned(),
        args,
        status: TaskStatus::Running,
    }
}

#[test]
fn step1_the_closed_set_of_kinds_runs() {
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
fn step1_a_job_too_large_is_refused_before_it_runs() {
    // Only decoded, never run: a sleep of MAX_SLEEP_MS + 1 would take ten minutes.
    for (kind, args, what) in [
        ("primes", json!({ "n": MAX_PRIMES_N + 1 }), "primes n"),
        ("sleep", json!({ "ms": MAX_SLEEP_MS + 1 }), "sleep ms"),
    ] {
        let decoded = Job::decode(kind, &args);
        assert!(
            matches!(&decoded, Err(kinds::DecodeError::TooLarge { what: w, .. }) if *w == what),
            "{kind} {args} is over the limit: expected Err(DecodeError::TooLarge {{ what: \
             {what:?}, .. }}) from Job::decode, got {decoded:?}; {}",
            KINDS.hint()
        );
    }
    assert_eq!(
        Job::decode("primes", &json!({ "n": MAX_PRIMES_N })),
        Ok(Job::Primes { n: MAX_PRIMES_N }),
        "the limit itself is allowed; {}",
        KINDS.hint()
    );
}

#[test]
fn step1_a_failing_task_and_an_unknown_kind_are_different_failures() {
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
        ("primes", json!({"n": MAX_PRIMES_N + 1})),
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

// =================================================================== step 2
// Task states and deadlines, on a task table with a fake clock: todos
// assign-next, accept-result, expire-overdue.

#[test]
fn step2_a_task_goes_queued_running_completed() {
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
        handed.as_ref().map(|a| (a.kind.as_str(), &a.args)),
        Some(("sleep", &json!({"ms": 1}))),
        "the assignment carries the task's kind and args; {}",
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
    let report = table
        .report(&first)
        .or_book("the table to still know the task", STATES);
    assert_eq!(
        (report.status, report.result),
        (TaskStatus::Completed, Some(json!(1))),
        "the accepted result is what status reports; {}",
        STATES.hint()
    );
    let early = table.accept_result(ResultReport::completed(&second, json!(2)));
    assert!(
        matches!(early, Err(ResultRefused::NotRunning { .. })),
        "a result for a task nobody took (still QUEUED) must be refused, got {early:?}; {}",
        STATES.hint()
    );
    let unknown = table.accept_result(ResultReport::completed("no-such-task", json!(0)));
    assert!(
        matches!(unknown, Err(ResultRefused::UnknownTask(_))),
        "a result for an unknown task must be refused, got {unknown:?}; {}",
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
fn step2_the_deadline_fails_a_task_and_a_late_result_never_overwrites_it() {
    let mut table = TaskTable::new();
    let task_id = table.submit(sleep_task(5000));
    let queued = table.submit(sleep_task(1));
    let started = Instant::now();
    table
        .assign_next(started)
        .or_book("assign_next to hand out the queued task", STATES);
    let deadline = Duration::from_secs(2);

    let early = table.expire_overdue(started + Duration::from_millis(1900), deadline);
    assert!(
        early.is_empty(),
        "a task within its deadline is left alone, got {early:?}; {}",
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
         message (and a QUEUED task has no clock yet); {}",
        DEADLINES.hint()
    );
    let again = table.expire_overdue(started + Duration::from_secs(9), deadline);
    assert!(
        again.is_empty(),
        "a task fails once, not at every check, got {again:?}; {}",
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
    let report = table
        .report(&task_id)
        .or_book("the table to still know the task", STATES);
    assert_eq!(
        (report.status, report.result, report.error),
        (TaskStatus::Failed, None, Some(failure)),
        "the late result must not overwrite the FAILED record; {}",
        DEADLINES.hint()
    );
    assert_eq!(
        table.report(&queued).map(|r| r.status),
        Some(TaskStatus::Queued),
        "a task still QUEUED never expires: its clock starts when a worker takes it; {}",
        DEADLINES.hint()
    );
}

#[test]
fn step2_a_handed_out_task_reads_back_as_the_same_task() {
    // The worker's side of the protocol must read what the dispatcher writes.
    let mut table = TaskTable::new();
    table.submit(sleep_task(1));
    let handed = table
        .assign_next(Instant::now())
        .or_book("assign_next to hand out the queued task", STATES);
    let reply = DispatcherReply::parse(&DispatcherReply::Task(handed.clone()).to_frame());
    assert_eq!(
        reply,
        Ok(DispatcherReply::Task(handed)),
        "a task frame read back is the same task; {}",
        PROTOCOL.hint()
    );
}

// =================================================================== step 3
// One owner, no locks: the dispatcher's loop and its answers. Todos
// dispatcher-loop, answer-worker.

#[test]
fn step3_the_dispatcher_answers_every_frame_and_survives_garbage() {
    let answers = within(LIMIT, "a dispatcher and raw frames", OWNER, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let worker = raw_socket(&dispatcher.workers);
        let mut client = dispatcher.client();
        let mut answers = vec![ask(&worker, b"REQUEST_TASK")];
        let task_id = submit(
            &mut client,
            "arithmetic",
            json!({"a": 1, "op": "add", "b": 2}),
        );
        answers.push(ask(&worker, br#"REQUEST_TASK {"worker_id": "raw"}"#));
        answers.push(ask(&worker, b"HELLO"));
        answers.push(ask(&worker, b"REQUEST_TASK {oops"));
        answers.push(ask(&worker, b"RESULT:{\"task_id\": "));
        answers.push(ask(&worker, &[0xff, 0xfe, 0x00]));
        let oversized = vec![b'x'; exercise04::protocol::MAX_FRAME_BYTES + 1];
        answers.push(ask(&worker, &oversized));
        worker
            .send_multipart([b"REQUEST_TASK".as_slice(), b"two".as_slice()], 0)
            .or_book("to send a message of two frames after an answer", OWNER);
        let two_frames = worker.recv_bytes(0).or_book(
            "the dispatcher to answer a message of two frames within 3 s",
            OWNER,
        );
        answers.push(String::from_utf8_lossy(&two_frames).into_owned());
        let result =
            format!(r#"RESULT:{{"task_id": "{task_id}", "status": "COMPLETED", "result": 3}}"#);
        answers.push(ask(&worker, result.as_bytes()));
        answers.push(ask(&worker, result.as_bytes()));
        let status = client
            .status(&task_id)
            .or_book("the dispatcher to answer STATUS <id>", OWNER);
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
fn step3_the_loop_fails_an_overdue_task_while_nothing_arrives() {
    let (deadline_event, report, late) = within(LIMIT, "a task nobody reports", OWNER, || {
        let (events, log) = recording();
        let dispatcher = RunningDispatcher::start(Duration::from_millis(300), events);
        let mut client = dispatcher.client();
        let task_id = submit(&mut client, "sleep", json!({"ms": 1}));
        let worker = raw_socket(&dispatcher.workers);
        let handed = ask(&worker, b"REQUEST_TASK");
        // Not a single frame from now on: only the poll's timeout can wake the loop.
        let silence = Instant::now() + Duration::from_secs(2);
        let deadline_event = loop {
            let left = silence.saturating_duration_since(Instant::now());
            match log.recv_timeout(left) {
                Ok(event @ Event::DeadlineExceeded { .. }) => break Some(event),
                Ok(_) => {}
                Err(_) => break None,
            }
        };
        let report = client
            .status(&task_id)
            .or_book("the dispatcher to answer STATUS <id>", OWNER);
        let result =
            format!(r#"RESULT:{{"task_id": "{task_id}", "status": "COMPLETED", "result": 1}}"#);
        let late = ask(&worker, result.as_bytes());
        dispatcher.shut_down();
        assert!(
            handed.contains(&task_id),
            "REQUEST_TASK should have handed out task {task_id}, got {handed:?}; {}",
            PROTOCOL.hint()
        );
        (deadline_event, report, late)
    });
    assert!(
        deadline_event.is_some(),
        "a task taken 2 s ago with a 0.3 s deadline, and no frame since: the loop must wake \
         on its own (a poll timeout no later than the next check) and run the deadline \
         check, but no DeadlineExceeded event came; {}",
        OWNER.hint()
    );
    let error_type = report.error.as_ref().map(|e| e.error_type);
    assert_eq!(
        (report.status, error_type),
        (TaskStatus::Failed, Some(ErrorType::WorkerFailureError)),
        "the overdue task is FAILED with WorkerFailureError, got {report:?}; {}",
        DEADLINES.hint()
    );
    assert!(
        late.starts_with("ERROR"),
        "the late result must be answered with ERROR, got {late:?}; {}",
        DEADLINES.hint()
    );
}

#[test]
fn step3_an_unknown_id_is_not_found() {
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

// =================================================================== step 4
// Asking only with capacity: todos worker-loop, ask-for-task, start-task.

#[test]
fn step4_a_worker_completes_tasks_and_reports_failures() {
    let reports = within(LIMIT, "a dispatcher and one worker", CAPACITY, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let worker = RunningWorker::start(&dispatcher.workers, 2, quiet(), CAPACITY);
        let mut client = dispatcher.client();
        let big = "x".repeat(1024 * 1024);
        let ids = [
            submit(
                &mut client,
                "arithmetic",
                json!({"a": 10, "op": "add", "b": 5}),
            ),
            submit(&mut client, "fail", json!({"message": "raised on purpose"})),
            submit(&mut client, "echo", json!({ "data": big })),
            submit(&mut client, "pickle", json!({})),
        ];
        let reports: Vec<TaskReport> = ids
            .iter()
            .map(|id| wait_for_worker(&mut client, id))
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
fn step4_a_worker_runs_as_many_tasks_at_once_as_it_has_processes() {
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
                    .map(|_| submit(&mut client, "sleep", json!({"ms": 400})))
                    .collect();
                let worker =
                    RunningWorker::start(&dispatcher.workers, processes, quiet(), CAPACITY);
                for id in &ids {
                    assert_eq!(
                        wait_for_worker(&mut client, id).status,
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
fn step4_a_stuck_task_fails_at_its_deadline_and_the_worker_carries_on() {
    let (stuck, next, events) = within(LIMIT, "a task past its deadline", DEADLINES, || {
        let (events, log) = recording();
        let dispatcher = RunningDispatcher::start(Duration::from_secs(1), events);
        let worker = RunningWorker::start(&dispatcher.workers, 1, quiet(), CAPACITY);
        let mut client = dispatcher.client();
        let stuck = submit(&mut client, "sleep", json!({"ms": 2_000}));
        let next = submit(
            &mut client,
            "arithmetic",
            json!({"a": 2, "op": "multiply", "b": 21}),
        );
        let stuck = wait_for_worker(&mut client, &stuck);
        let next = wait_for_worker(&mut client, &next);
        drop(worker);
        dispatcher.shut_down();
        (stuck, next, log.try_iter().collect::<Vec<_>>())
    });
    let failure = stuck.error.as_ref();
    assert!(
        stuck.status == TaskStatus::Failed
            && failure.is_some_and(|failure| {
                failure.error_type == ErrorType::WorkerFailureError
                    && failure
                        .message
                        .starts_with("Task exceeded deadline of 1s (took ")
                    && failure.message.ends_with("s)")
            }),
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
        CAPACITY.hint()
    );
}

// =================================================================== step 5
// Surviving a dispatcher restart (Lazy Pirate): todo reconnect.

#[test]
fn step5_a_worker_reopens_its_socket_when_an_answer_never_comes() {
    let (report, reconnects) = within(
        LIMIT,
        "a dispatcher that swallows one request, then a real one",
        RESTART,
        || {
            // A stand-in for a dispatcher that dies after reading a request: it takes
            // the worker's REQUEST_TASK and never answers it.
            let context = zmq::Context::new();
            let stand_in = context.socket(zmq::REP).expect("a socket");
            stand_in.set_linger(0).expect("linger");
            stand_in.set_rcvtimeo(3000).expect("a receive timeout");
            stand_in.bind(ANY_PORT).expect("binds a free port");
            let endpoint = stand_in
                .get_last_endpoint()
                .expect("an endpoint")
                .expect("a UTF-8 endpoint");
            let (events, log) = recording();
            let worker = RunningWorker::start(&endpoint, 1, events, RESTART);
            let swallowed = stand_in
                .recv_bytes(0)
                .or_book("the worker to send REQUEST_TASK within 3 s", CAPACITY);
            assert!(
                swallowed.starts_with(b"REQUEST_TASK"),
                "a worker with a free thread asks with REQUEST_TASK, got {:?}; {}",
                String::from_utf8_lossy(&swallowed),
                PROTOCOL.hint()
            );
            // The old dispatcher is gone for good, the request with it; a new one
            // listens on the same port.
            drop(stand_in);
            drop(context);
            let dispatcher =
                RunningDispatcher::start_on(&endpoint, Duration::from_secs(5), quiet());
            let mut client = dispatcher.client();
            let task_id = submit(
                &mut client,
                "arithmetic",
                json!({"a": 20, "op": "add", "b": 22}),
            );
            let report = wait(
                &mut client,
                &task_id,
                "the worker's first request was read and never answered, so its REQ socket \
                 can neither send again nor ever hear an answer: after the timeout the worker \
                 must close that socket, connect a fresh one and ask again (Lazy Pirate).",
                RESTART,
            );
            drop(worker);
            dispatcher.shut_down();
            let reconnects = log
                .try_iter()
                .filter(|event| matches!(event, Event::Reconnecting { .. }))
                .count();
            (report, reconnects)
        },
    );
    assert_eq!(
        (report.status, report.result),
        (TaskStatus::Completed, Some(json!(42))),
        "the new dispatcher's task completes on the reconnected worker; {}",
        RESTART.hint()
    );
    assert!(
        reconnects >= 1,
        "each reconnect must be reported through `on_retry` (the worker's \
         Event::Reconnecting), got {reconnects} such events; {}",
        RESTART.hint()
    );
}

#[test]
fn step5_a_worker_survives_a_dispatcher_restart() {
    let (before, after) = within(LIMIT, "restarting the dispatcher", RESTART, || {
        let first = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let endpoint = first.workers.clone();
        let worker = RunningWorker::start(&endpoint, 1, quiet(), RESTART);
        let mut client = first.client();
        let id = submit(
            &mut client,
            "arithmetic",
            json!({"a": 1, "op": "add", "b": 1}),
        );
        let before = wait_for_worker(&mut client, &id);
        first.shut_down();
        // The worker asks into the void for a while.
        thread::sleep(Duration::from_millis(700));
        let second = RunningDispatcher::start_on(&endpoint, Duration::from_secs(5), quiet());
        let mut client = second.client();
        let id = submit(
            &mut client,
            "arithmetic",
            json!({"a": 2, "op": "add", "b": 2}),
        );
        let after = wait(
            &mut client,
            &id,
            "a worker must keep asking after its dispatcher went away and came back on the \
             same port (libzmq reconnects the socket by itself here; the test before this one \
             is the one that needs your reconnect).",
            RESTART,
        );
        drop(worker);
        second.shut_down();
        (before, after)
    });
    assert_eq!(
        before.result,
        Some(json!(2)),
        "the first dispatcher's task completes; {}",
        CAPACITY.hint()
    );
    assert_eq!(
        (after.status, after.result),
        (TaskStatus::Completed, Some(json!(4))),
        "after the dispatcher restarts, the same worker must complete the new dispatcher's \
         task; {}",
        RESTART.hint()
    );
}
