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
use std::sync::mpsc::Receiver;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use exercise04::kinds;
use exercise04::protocol::{
    Assignment, DispatcherReply, ErrorType, ResultReport, TaskFailure, TaskStatus, WorkerMessage,
};
use exercise04::store::{NewTask, ResultRefused, TaskTable};
use exercise04::{
    Client, ClientError, Dispatcher, DispatcherConfig, Event, EventSink, Shutdown, TaskReport,
    Worker, WorkerConfig,
};
use grading::{BookSection, Chapter, OrBook, within};
use serde_json::{Value, json};
use solution03::work::MAX_PRIMES_LIMIT;

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
    grading::background::recorder()
}

fn quiet() -> EventSink {
    Arc::new(|_: &Event| {})
}

/// A dispatcher running on its own thread, on free ports.
struct RunningDispatcher {
    workers: String,
    clients: String,
    stop: Shutdown,
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
        let stop = Shutdown::new();
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
    stop: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl RunningWorker {
    /// A worker whose failure is explained by `section`.
    fn start(endpoint: &str, processes: usize, events: EventSink, section: BookSection) -> Self {
        let mut config = WorkerConfig::new(endpoint, processes);
        config.request_timeout = WORKER_TIMEOUT;
        config.idle_wait = Duration::from_millis(5);
        let worker = Worker::start(config, events).expect("the worker starts");
        let stop = Shutdown::new();
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

mod step1;
mod step2;
mod step3;
mod step4;
mod step5;
