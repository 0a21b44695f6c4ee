// Grading tests for chapter 02 — the in-process dispatcher/worker.
//
// Run them with `cargo test -p exercise02`, or one step at a time as the book's "The
// exercise" section lists them: `cargo test -p exercise02 step1`. They check *how*
// the pool works, not only what it returns: that jobs really overlap, that no lock
// is held while a job runs, that a panicking job does not shrink the pool, that
// shutting down drains the queue and joins every worker, and that the server joins
// its threads before `run` returns. The same file grades the reference solution
// (solutions/solution02), so passing here means matching it.
//
// Step 1 — checked arithmetic: op-apply
// Step 2 — the pool:           pool-build, pool-execute, worker-loop, pool-shutdown
// Step 3 — the dispatcher:     submit-with
// Step 4 — network mode:       parse-request, accept-loop, server-drain

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use exercise02::delay::DelayRange;
use exercise02::dispatcher::EventSink;
use exercise02::pool::WorkerEvent;
use exercise02::protocol::parse_request;
use exercise02::server::{Server, ServerError, ShutdownHandle};
use exercise02::{
    DispatchError, Dispatcher, DispatcherConfig, Event, Op, PoolError, Task, TaskError, TaskResult,
    ThreadPool,
};
use grading::quiet::silence_panics_saying;
use grading::{BookSection, Chapter, ErrOrBook, OrBook, within};

const BOOK: Chapter = Chapter("ch02-dispatcher-worker.md");
const ARITHMETIC: BookSection = BOOK.section("Tasks that cannot crash a worker");
const POOL: BookSection = BOOK.section("The pool");
const NO_LOCK: BookSection = BOOK.section("Why no lock is held while a job runs");
const PANICS: BookSection = BOOK.section("A panicking job");
const SHUTDOWN: BookSection = BOOK.section("Graceful shutdown");
const DISPATCHER: BookSection = BOOK.section("The dispatcher");
const NETWORK: BookSection = BOOK.section("Network mode");

const LIMIT: Duration = Duration::from_secs(10);

/// A dispatcher configuration with no simulated work, so tests run at full speed.
fn quick(workers: usize) -> DispatcherConfig {
    DispatcherConfig {
        workers,
        delay: DelayRange::NONE,
        seed: 1,
    }
}

fn task(id: u64, a: i64, op: Op, b: i64) -> Task {
    Task { id, op, a, b }
}

/// An event sink that forwards every event to a channel the test can read.
fn recording() -> (EventSink, Receiver<Event>) {
    let (sender, receiver) = unbounded();
    let sink: EventSink = Arc::new(move |event: &Event| {
        let _ = sender.send(event.clone());
    });
    (sink, receiver)
}

/// The text of a panic, as `panic!` and `todo!` raise them.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

// ------------------------------------------------------ step 1: arithmetic

/// `op.apply(a, b)`, or a failed test that says it panicked instead of returning.
fn apply(op: Op, a: i64, b: i64, expected: &Result<i64, TaskError>) -> Result<i64, TaskError> {
    panic::catch_unwind(|| op.apply(a, b)).unwrap_or_else(|payload| {
        panic!(
            "{a} {op} {b} panicked ({:?}) instead of returning {expected:?}: \
             a task's failure is a value, and plain `/` or `+` panic on ÷0 and overflow; {}",
            panic_text(&*payload),
            ARITHMETIC.hint()
        )
    })
}

#[test]
fn step1_op_apply_computes_the_four_operations() {
    let cases = [
        (Op::Add, 10, 5, 15),
        (Op::Subtract, 100, 37, 63),
        (Op::Multiply, 7, 8, 56),
        (Op::Divide, 17, 5, 3),
        (Op::Divide, -17, 5, -3),
    ];
    for (op, a, b, expected) in cases {
        let expected = Ok(expected);
        assert_eq!(
            apply(op, a, b, &expected),
            expected,
            "{a} {op} {b}: expected the left value (division is integer division), got the \
             right one; {}",
            ARITHMETIC.hint()
        );
    }
}

#[test]
fn step1_op_apply_reports_errors_instead_of_panicking() {
    let expected = Err(TaskError::DivisionByZero);
    assert_eq!(
        apply(Op::Divide, 6, 0, &expected),
        expected,
        "dividing by zero must be the error result DivisionByZero; {}",
        ARITHMETIC.hint()
    );
    for (op, a, b) in [
        (Op::Add, i64::MAX, 1),
        (Op::Subtract, i64::MIN, 1),
        (Op::Multiply, i64::MAX, 2),
        (Op::Divide, i64::MIN, -1),
    ] {
        let expected = Err(TaskError::Overflow { op, a, b });
        assert_eq!(
            apply(op, a, b, &expected),
            expected,
            "{a} {op} {b} overflows i64: use the checked_* methods; {}",
            ARITHMETIC.hint()
        );
    }
}

// ------------------------------------------------------------ step 2: the pool

#[test]
fn step2_pool_needs_at_least_one_worker() {
    let result = within(LIMIT, "ThreadPool::new(0)", POOL, || {
        ThreadPool::new(0).err()
    });
    assert_eq!(
        result,
        Some(PoolError::NoWorkers),
        "a pool of 0 workers could never run a job: refuse it with PoolError::NoWorkers; {}",
        POOL.hint()
    );
}

#[test]
fn step2_pool_runs_every_job_on_its_workers() {
    let ran_on = within(LIMIT, "100 jobs on 4 workers", POOL, || {
        let pool = ThreadPool::new(4).or_book("ThreadPool::new(4) to start a pool", POOL);
        let (done, finished) = unbounded();
        for job in 0..100 {
            let done = done.clone();
            pool.execute(move |worker| {
                let _ = done.send((job, worker));
            })
            .or_book("execute to queue the job", POOL);
        }
        drop(done);
        finished.iter().collect::<Vec<(usize, usize)>>()
    });
    let jobs: HashSet<usize> = ran_on.iter().map(|&(job, _)| job).collect();
    assert_eq!(
        jobs.len(),
        100,
        "expected all 100 jobs to run exactly once, {} did; {}",
        jobs.len(),
        POOL.hint()
    );
    assert!(
        ran_on.iter().all(|&(_, worker)| worker < 4),
        "worker ids must be 0..4, got {:?}; {}",
        ran_on.iter().map(|&(_, w)| w).collect::<HashSet<_>>(),
        POOL.hint()
    );
}

#[test]
fn step2_pool_jobs_really_overlap() {
    // Four jobs on four workers. Each one waits (up to 2 s) until all four are
    // running at once, so a pool that runs them one at a time shows it by the count,
    // not by a clock.
    let most_at_once = within(LIMIT, "4 jobs on 4 workers", POOL, || {
        // (jobs that arrived, jobs that left), and a way to wait for it to change.
        let state = Arc::new((Mutex::new((0_usize, 0_usize)), Condvar::new()));
        let most = Arc::new(AtomicUsize::new(0));
        let mut pool = ThreadPool::new(4).or_book("ThreadPool::new(4) to start a pool", POOL);
        for _ in 0..4 {
            let (state, most) = (Arc::clone(&state), Arc::clone(&most));
            pool.execute(move |_| {
                let (counts, changed) = &*state;
                let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
                counts.0 += 1;
                most.fetch_max(counts.0 - counts.1, Ordering::SeqCst);
                changed.notify_all();
                let (mut counts, _) = changed
                    .wait_timeout_while(counts, Duration::from_secs(2), |counts| counts.0 < 4)
                    .unwrap_or_else(|e| e.into_inner());
                counts.1 += 1;
            })
            .or_book("execute to queue the job", POOL);
        }
        pool.shutdown();
        most.load(Ordering::SeqCst)
    });
    assert_eq!(
        most_at_once,
        4,
        "4 jobs on 4 workers should all run at the same time, but at most {most_at_once} did; {}",
        POOL.hint()
    );
}

#[test]
fn step2_pool_holds_no_lock_while_a_job_runs() {
    // Job A waits for a message that only job B sends. If taking a job from the
    // queue held a lock for as long as the job ran, B could never start.
    let outcome = within(LIMIT, "two jobs that need each other", NO_LOCK, || {
        let mut pool = ThreadPool::new(2).or_book("ThreadPool::new(2) to start a pool", POOL);
        let (signal, wait_for_b) = unbounded::<()>();
        let (report, outcome) = unbounded();
        pool.execute(move |_| {
            let _ = report.send(wait_for_b.recv_timeout(Duration::from_secs(3)).is_ok());
        })
        .or_book("execute to queue job A", POOL);
        pool.execute(move |_| {
            let _ = signal.send(());
        })
        .or_book("execute to queue job B", POOL);
        pool.shutdown();
        outcome.recv().unwrap_or(false)
    });
    assert!(
        outcome,
        "job B never ran while job A was running: is a lock held for the whole job, as in \
         `while let Ok(job) = receiver.lock().recv()`? {}",
        NO_LOCK.hint()
    );
}

#[test]
fn step2_pool_survives_a_thousand_panicking_jobs() {
    const ON_PURPOSE: &str = "this job panics on purpose";
    silence_panics_saying(ON_PURPOSE);
    let completed = within(
        LIMIT,
        "1,000 panicking then 100 normal jobs",
        PANICS,
        || {
            let mut pool = ThreadPool::new(4).or_book("ThreadPool::new(4) to start a pool", POOL);
            let completed = Arc::new(AtomicUsize::new(0));
            for _ in 0..1_000 {
                pool.execute(|_| panic!("{}", ON_PURPOSE))
                    .or_book("execute to queue the job", POOL);
            }
            for _ in 0..100 {
                let completed = Arc::clone(&completed);
                pool.execute(move |_| {
                    completed.fetch_add(1, Ordering::SeqCst);
                })
                .or_book("execute to go on taking jobs after panics", PANICS);
            }
            pool.shutdown();
            completed.load(Ordering::SeqCst)
        },
    );
    assert_eq!(
        completed,
        100,
        "after 1,000 panicking jobs, all 100 normal jobs should still run, {completed} did: \
         a panic must not end its worker; {}",
        PANICS.hint()
    );
}

#[test]
fn step2_pool_reports_worker_start_and_stop() {
    let (started, stopped) = within(LIMIT, "a pool with an event hook", POOL, || {
        let (sender, events) = unbounded();
        let mut pool = ThreadPool::builder(3)
            .on_event(move |event| {
                let _ = sender.send(event);
            })
            .build()
            .or_book("build() to start a pool of 3", POOL);
        let started: Vec<WorkerEvent> = events.try_iter().collect();
        pool.shutdown();
        let stopped: Vec<WorkerEvent> = events.try_iter().collect();
        (started, stopped)
    });
    assert_eq!(
        started
            .iter()
            .filter(|e| matches!(e, WorkerEvent::Started(_)))
            .count(),
        3,
        "build() should return only once all 3 workers reported Started, got {started:?}; {}",
        POOL.hint()
    );
    assert_eq!(
        stopped
            .iter()
            .filter(|e| matches!(e, WorkerEvent::Stopping(_)))
            .count(),
        3,
        "shutdown() should return only once all 3 workers reported Stopping, got {stopped:?}; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step2_dropping_the_pool_drains_the_queue_and_joins_every_worker() {
    let (completed, stopped) = within(LIMIT, "dropping a busy pool", SHUTDOWN, || {
        let completed = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&stopped);
        let pool = ThreadPool::builder(2)
            .on_event(move |event| {
                if let WorkerEvent::Stopping(_) = event {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .or_book("build() to start a pool of 2", POOL);
        for _ in 0..10 {
            let completed = Arc::clone(&completed);
            pool.execute(move |_| {
                thread::sleep(Duration::from_millis(10));
                completed.fetch_add(1, Ordering::SeqCst);
            })
            .or_book("execute to queue the job", POOL);
        }
        drop(pool);
        // Read both right after the drop: a pool that does not join its workers
        // returns while jobs are still queued.
        (
            completed.load(Ordering::SeqCst),
            stopped.load(Ordering::SeqCst),
        )
    });
    assert_eq!(
        completed,
        10,
        "dropping the pool should finish all 10 queued jobs first, {completed} had run; {}",
        SHUTDOWN.hint()
    );
    assert_eq!(
        stopped,
        2,
        "dropping the pool should join both workers, {stopped} had stopped; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step2_executing_after_shutdown_is_an_error() {
    let result = within(LIMIT, "execute after shutdown", SHUTDOWN, || {
        let mut pool = ThreadPool::new(1).or_book("ThreadPool::new(1) to start a pool", POOL);
        pool.shutdown();
        pool.shutdown(); // twice is fine
        pool.execute(|_| {}).err()
    });
    assert_eq!(
        result,
        Some(PoolError::ShutDown),
        "a shut-down pool must refuse new jobs with PoolError::ShutDown; {}",
        SHUTDOWN.hint()
    );
}

// ------------------------------------------------------ step 3: the dispatcher

/// The first `count` results, or a failed test saying how many came.
fn collect(dispatcher: &Dispatcher, count: usize, section: BookSection) -> Vec<TaskResult> {
    let mut results = Vec::with_capacity(count);
    while results.len() < count {
        match dispatcher.results().recv_timeout(Duration::from_secs(5)) {
            Ok(result) => results.push(result),
            Err(_) => panic!(
                "expected {count} results, {} came in 5 s: every submitted task must send \
                 exactly one result — also one whose handler panicked — got {results:?}; {}",
                results.len(),
                section.hint()
            ),
        }
    }
    results
}

#[test]
fn step3_dispatcher_computes_every_task() {
    let results = within(LIMIT, "20 tasks on 3 workers", DISPATCHER, || {
        let dispatcher = Dispatcher::start(quick(3)).or_book("the dispatcher to start", POOL);
        for id in 0..20 {
            dispatcher
                .submit(task(id, id as i64, Op::Multiply, 2))
                .or_book("submit to take the task", DISPATCHER);
        }
        collect(&dispatcher, 20, DISPATCHER)
    });
    let mut values: Vec<(u64, Result<i64, TaskError>)> = results
        .iter()
        .map(|r| (r.task_id, r.outcome.clone()))
        .collect();
    values.sort_by_key(|&(id, _)| id);
    let expected: Vec<(u64, Result<i64, TaskError>)> =
        (0..20).map(|id| (id, Ok(id as i64 * 2))).collect();
    assert_eq!(
        values,
        expected,
        "one result per task, each id × 2; {}",
        DISPATCHER.hint()
    );
    assert!(
        results.iter().all(|r| r.worker_id < 3),
        "worker ids must be 0..3, got {:?}; {}",
        results.iter().map(|r| r.worker_id).collect::<HashSet<_>>(),
        DISPATCHER.hint()
    );
}

#[test]
fn step3_dispatcher_reports_division_by_zero_as_a_failed_result() {
    let results = within(LIMIT, "6 divide 0 then 2 add 2", DISPATCHER, || {
        let dispatcher = Dispatcher::start(quick(1)).or_book("the dispatcher to start", POOL);
        dispatcher
            .submit(task(1, 6, Op::Divide, 0))
            .or_book("submit to take task 1", DISPATCHER);
        dispatcher
            .submit(task(2, 2, Op::Add, 2))
            .or_book("submit to take task 2", DISPATCHER);
        collect(&dispatcher, 2, DISPATCHER)
    });
    assert_eq!(
        results
            .iter()
            .map(|r| (r.task_id, r.outcome.clone()))
            .collect::<Vec<_>>(),
        vec![(1, Err(TaskError::DivisionByZero)), (2, Ok(4))],
        "a failing task is a result like any other, and the worker goes on; {}",
        ARITHMETIC.hint()
    );
}

#[test]
fn step3_dispatcher_reports_a_panicking_task_and_keeps_its_worker() {
    const ON_PURPOSE: &str = "task 2 panics on purpose";
    // Only a panic whose message is exactly this is kept out of the output; this
    // test's own assertion, which quotes it, is always printed.
    silence_panics_saying(ON_PURPOSE);
    let results = within(LIMIT, "a panicking handler", PANICS, || {
        let handler = Arc::new(|task: &Task| {
            if task.id == 2 {
                panic!("{}", ON_PURPOSE);
            }
            task.compute()
        });
        let (events, _) = recording();
        // One worker, so the tasks after the panic prove the same worker lives on.
        let dispatcher = Dispatcher::with_handler(quick(1), handler, events)
            .or_book("the dispatcher to start", POOL);
        for id in 1..=4 {
            dispatcher
                .submit(task(id, 1, Op::Add, 1))
                .or_book("submit to take the task", DISPATCHER);
        }
        collect(&dispatcher, 4, PANICS)
    });
    let outcomes: Vec<_> = results
        .iter()
        .map(|r| (r.task_id, r.outcome.clone()))
        .collect();
    let lost_message = outcomes.iter().any(|(_, outcome)| {
        matches!(outcome, Err(TaskError::Panicked(message)) if message != ON_PURPOSE)
    });
    assert_eq!(
        outcomes,
        vec![
            (1, Ok(2)),
            (2, Err(TaskError::Panicked(ON_PURPOSE.to_owned()))),
            (3, Ok(2)),
            (4, Ok(2)),
        ],
        "a panicking task must come back as TaskError::Panicked with its message, and the \
         same worker must go on to the next tasks{}; {}",
        if lost_message {
            " (the panic's message was lost: `catch_unwind` gives a `Box<dyn Any + Send>`; \
             pass `&*payload` to `panic_message`, not `&payload`, which is an `Any` too — \
             the box itself — and holds no text)"
        } else {
            ""
        },
        PANICS.hint()
    );
}

#[test]
fn step3_dispatcher_pauses_on_the_worker_not_on_the_submitter() {
    // Two tasks with a 500 ms simulated pause each, on two workers. The pause belongs
    // to the job, on a worker: both submits return at once, and each handler starts
    // at least one pause after its submit. A pause on the submitting thread would
    // make the first handler run while the second submit is still sleeping.
    const PAUSE: Duration = Duration::from_millis(500);
    let (handler_starts, early) = within(LIMIT, "2 tasks with a 500 ms pause", DISPATCHER, || {
        let submitted = Arc::new(AtomicBool::new(false));
        let early = Arc::new(AtomicUsize::new(0));
        let (started, starts) = unbounded();
        let begin = Instant::now();
        let handler = {
            let (submitted, early) = (Arc::clone(&submitted), Arc::clone(&early));
            Arc::new(move |task: &Task| {
                if !submitted.load(Ordering::SeqCst) {
                    early.fetch_add(1, Ordering::SeqCst);
                }
                let _ = started.send((task.id, begin.elapsed()));
                task.compute()
            })
        };
        let config = DispatcherConfig {
            delay: DelayRange::fixed(PAUSE),
            ..quick(2)
        };
        let (events, _) = recording();
        let dispatcher = Dispatcher::with_handler(config, handler, events)
            .or_book("the dispatcher to start", POOL);
        for id in 1..=2 {
            dispatcher
                .submit(task(id, id as i64, Op::Add, 1))
                .or_book("submit to take the task", DISPATCHER);
        }
        submitted.store(true, Ordering::SeqCst);
        collect(&dispatcher, 2, DISPATCHER);
        (
            starts.try_iter().collect::<Vec<(u64, Duration)>>(),
            early.load(Ordering::SeqCst),
        )
    });
    assert_eq!(
        early,
        0,
        "a handler ran before both submit() calls had returned: the simulated pause runs on \
         the submitting thread, so it serialises all the work. Sleep inside the job, on the \
         worker; {}",
        DISPATCHER.hint()
    );
    for (id, started) in handler_starts {
        assert!(
            started >= PAUSE,
            "task {id}'s handler started {started:?} after it was submitted, before its \
             simulated pause of {PAUSE:?} was over: sleep `pause` in the job, before calling the \
             handler; {}",
            DISPATCHER.hint()
        );
    }
}

#[test]
fn step3_dispatcher_refuses_tasks_after_shutdown() {
    let refused = within(LIMIT, "submit after shutdown", SHUTDOWN, || {
        let mut dispatcher = Dispatcher::start(quick(2)).or_book("the dispatcher to start", POOL);
        dispatcher.shutdown();
        dispatcher.submit(task(1, 1, Op::Add, 1)).err()
    });
    assert_eq!(
        refused,
        Some(DispatchError::ShutDown),
        "after shutdown, submit must return DispatchError::ShutDown; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step3_dispatcher_tells_the_story_in_order() {
    let events = within(LIMIT, "a dispatcher with events", DISPATCHER, || {
        let (sink, events) = recording();
        let mut dispatcher =
            Dispatcher::with_events(quick(2), sink).or_book("the dispatcher to start", POOL);
        dispatcher
            .submit(task(1, 10, Op::Add, 5))
            .or_book("submit to take the task", DISPATCHER);
        collect(&dispatcher, 1, DISPATCHER);
        dispatcher.shutdown();
        events.try_iter().collect::<Vec<Event>>()
    });
    let position = |wanted: &dyn Fn(&Event) -> bool| events.iter().position(wanted);
    let all_started = position(&|e| *e == Event::AllStarted);
    let received = position(&|e| *e == Event::Received(1));
    let processing = position(&|e| matches!(e, Event::Processing { task, .. } if task.id == 1));
    let all_stopped = position(&|e| *e == Event::AllStopped);
    assert!(
        events.first() == Some(&Event::Starting { workers: 2 })
            && all_started.is_some()
            && all_started < received
            && received < processing
            && processing < all_stopped
            && all_stopped == Some(events.len() - 1),
        "expected Starting, WorkerStarted…, AllStarted, Received, Processing, …, AllStopped \
         in that order, got {events:#?}; {}",
        DISPATCHER.hint()
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::WorkerStopping(_)))
            .count(),
        2,
        "each of the 2 workers should report Shutting down; {}",
        SHUTDOWN.hint()
    );
}

// ---------------------------------------------------------- step 4: network

#[test]
fn step4_parse_request_accepts_a_task_and_explains_bad_lines() {
    assert_eq!(
        parse_request(r#"{"id": 1, "op": "add", "a": 10, "b": 5}"#),
        Ok(task(1, 10, Op::Add, 5)),
        "a well-formed line is a task; {}",
        NETWORK.hint()
    );
    let garbage = parse_request("not json").err_or_book("`not json` to be refused", NETWORK);
    assert_eq!(
        garbage.id,
        None,
        "garbage has no id to report; {}",
        NETWORK.hint()
    );
    assert!(
        garbage.message.contains("invalid JSON"),
        "say that the line is not JSON, got {:?}; {}",
        garbage.message,
        NETWORK.hint()
    );
    let unknown = parse_request(r#"{"id": 7, "op": "pow", "a": 2, "b": 3}"#)
        .err_or_book("the unknown op `pow` to be refused", NETWORK);
    assert_eq!(
        unknown.id,
        Some(7),
        "keep the id of a readable but invalid task, so the client knows which one failed; {}",
        NETWORK.hint()
    );
    assert!(
        unknown.message.contains("pow"),
        "name the unknown op in the error, got {:?}; {}",
        unknown.message,
        NETWORK.hint()
    );
}

/// A server running `run` on a thread of its own, and a client connected to it that
/// has sent `tasks` multiplications (`id × 10`) and, if `garbage`, a line that is
/// not JSON. Returns once the server has received every task.
struct Serving {
    running: JoinHandle<Result<(), ServerError>>,
    stopper: ShutdownHandle,
    client: TcpStream,
}

fn serve(sink: EventSink, events: &Receiver<Event>, tasks: u64, garbage: bool) -> Serving {
    let config = DispatcherConfig {
        delay: DelayRange::fixed(Duration::from_millis(50)),
        ..quick(2)
    };
    let server = Server::bind("127.0.0.1:0", config, sink)
        .or_book("the server to bind a free port", NETWORK);
    let address = server.local_addr();
    let stopper = server.shutdown_handle();
    let running = thread::spawn(move || server.run());

    let mut client =
        TcpStream::connect(address).or_book("the test's client to connect to the server", NETWORK);
    let mut lines = String::new();
    for id in 1..=tasks {
        lines.push_str(&format!(
            "{{\"id\": {id}, \"op\": \"multiply\", \"a\": {id}, \"b\": 10}}\n"
        ));
    }
    if garbage {
        lines.push_str("this is not JSON\n");
    }
    client
        .write_all(lines.as_bytes())
        .or_book("the test's client to send its tasks", NETWORK);

    // Wait until every task is queued, so the shutdown comes before they have run.
    let mut received = 0;
    while received < tasks {
        match events.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Received(_)) => received += 1,
            Ok(_) => {}
            Err(_) if running.is_finished() => match running.join() {
                Err(payload) => panic::resume_unwind(payload),
                Ok(result) => panic!(
                    "run() returned before the shutdown, with {result:?}: it should serve \
                     until the shutdown handle is used; {}",
                    NETWORK.hint()
                ),
            },
            Err(_) => {}
        }
    }
    Serving {
        running,
        stopper,
        client,
    }
}

impl Serving {
    /// Shuts the server down, waits for `run` to return Ok — passing its panic (a
    /// `todo!()`, say) on unchanged — and hands back the client.
    fn shut_down(self) -> TcpStream {
        self.stopper.shutdown();
        match self.running.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(result) => result.or_book("run() to return Ok(()) after a shutdown", NETWORK),
        }
        self.client
    }
}

#[test]
fn step4_server_answers_over_tcp_and_drains_on_shutdown() {
    let replies = within(LIMIT, "the server's graceful shutdown", NETWORK, || {
        let (sink, events) = recording();
        let client = serve(sink, &events, 6, true).shut_down();
        BufReader::new(client)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let mut values: Vec<serde_json::Value> = replies
        .iter()
        .map(|line| serde_json::from_str(line).or_book("every reply to be a line of JSON", NETWORK))
        .collect();
    let refusals = values.iter().filter(|v| v.get("id").is_none()).count();
    values.retain(|v| v.get("id").is_some());
    values.sort_by_key(|v| v["id"].as_u64());
    let answers: Vec<(u64, i64)> = values
        .iter()
        .filter_map(|v| Some((v["id"].as_u64()?, v["value"].as_i64()?)))
        .collect();
    assert_eq!(
        answers,
        (1..=6).map(|id| (id, id as i64 * 10)).collect::<Vec<_>>(),
        "every task queued before the shutdown must still be answered, got {replies:#?}; {}",
        NETWORK.hint()
    );
    assert_eq!(
        refusals,
        1,
        "the line that is not JSON should get one error reply, got {replies:#?}; {}",
        NETWORK.hint()
    );
}

#[test]
fn step4_server_run_returns_only_after_its_threads_end() {
    // The dispatch thread reports AllStopped as its last act (the given `dispatch`
    // shuts its dispatcher down when the intake closes). This sink lingers there for a
    // moment, so a `run` that does not join the dispatch thread returns while it is
    // still inside, and the flag is not yet set.
    let dispatch_ended = Arc::new(AtomicBool::new(false));
    let (record, events) = recording();
    let sink: EventSink = {
        let dispatch_ended = Arc::clone(&dispatch_ended);
        Arc::new(move |event: &Event| {
            record(event);
            if *event == Event::AllStopped {
                thread::sleep(Duration::from_millis(100));
                dispatch_ended.store(true, Ordering::SeqCst);
            }
        })
    };
    let (dispatch_done, client_closed) =
        within(LIMIT, "the server's shutdown", NETWORK, move || {
            let mut client = serve(sink, &events, 4, false).shut_down();
            let dispatch_done = dispatch_ended.load(Ordering::SeqCst);
            // Joined connection threads have shut the socket: the client reads its replies
            // and then the end of the stream. One still running keeps the socket open.
            let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
            let mut replies = Vec::new();
            let client_closed = match client.read_to_end(&mut replies) {
                Ok(_) => true,
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    false
                }
                Err(_) => true,
            };
            (dispatch_done, client_closed)
        });
    assert!(
        client_closed,
        "run() returned, but a connection was still open 2 s later: its reader thread was \
         never stopped (`stop_reading`) or its threads never joined. Stop reading on every \
         connection, join them, then join the dispatch thread; {}",
        NETWORK.hint()
    );
    assert!(
        dispatch_done,
        "run() returned while the dispatch thread was still running (it had not finished \
         shutting its dispatcher down): join the dispatch thread — after the connections, \
         whose readers hold the intake it waits on — before returning; {}",
        NETWORK.hint()
    );
}
