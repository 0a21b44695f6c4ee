// Grading tests for chapter 02 — the in-process dispatcher/worker.
//
// Run them with `cargo test -p exercise02`. They check *how* the pool works, not
// only what it returns: that jobs really overlap, that no lock is held while a job
// runs, that a panicking job does not shrink the pool, and that shutting down
// drains the queue and joins every worker. The same file grades the reference
// solution (solutions/solution02), so passing here means matching it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use exercise02::delay::DelayRange;
use exercise02::dispatcher::EventSink;
use exercise02::pool::WorkerEvent;
use exercise02::protocol::parse_request;
use exercise02::server::Server;
use exercise02::{
    DispatchError, Dispatcher, DispatcherConfig, Event, Op, PoolError, Task, TaskError, TaskResult,
    ThreadPool,
};
use grading::{BookSection, Chapter, within};

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
fn recording() -> (EventSink, crossbeam_channel::Receiver<Event>) {
    let (sender, receiver) = unbounded();
    let sink: EventSink = Arc::new(move |event: &Event| {
        let _ = sender.send(event.clone());
    });
    (sink, receiver)
}

// ---------------------------------------------------------------- arithmetic

#[test]
fn op_apply_computes_the_four_operations() {
    let cases = [
        (Op::Add, 10, 5, 15),
        (Op::Subtract, 100, 37, 63),
        (Op::Multiply, 7, 8, 56),
        (Op::Divide, 17, 5, 3),
        (Op::Divide, -17, 5, -3),
    ];
    for (op, a, b, expected) in cases {
        assert_eq!(
            op.apply(a, b),
            Ok(expected),
            "{a} {op} {b} should be {expected} (division is integer division); {}",
            ARITHMETIC.hint()
        );
    }
}

#[test]
fn op_apply_reports_errors_instead_of_panicking() {
    assert_eq!(
        Op::Divide.apply(6, 0),
        Err(TaskError::DivisionByZero),
        "dividing by zero must be an error result, not a panic; {}",
        ARITHMETIC.hint()
    );
    for (op, a, b) in [
        (Op::Add, i64::MAX, 1),
        (Op::Subtract, i64::MIN, 1),
        (Op::Multiply, i64::MAX, 2),
        (Op::Divide, i64::MIN, -1),
    ] {
        assert_eq!(
            op.apply(a, b),
            Err(TaskError::Overflow { op, a, b }),
            "{a} {op} {b} overflows i64: use the checked_* methods; {}",
            ARITHMETIC.hint()
        );
    }
}

// ---------------------------------------------------------------------- pool

#[test]
fn pool_needs_at_least_one_worker() {
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
fn pool_runs_every_job_on_its_workers() {
    let ran_on = within(LIMIT, "100 jobs on 4 workers", POOL, || {
        let pool = ThreadPool::new(4).expect("a pool of 4 starts");
        let (done, finished) = unbounded();
        for job in 0..100 {
            let done = done.clone();
            pool.execute(move |worker| {
                let _ = done.send((job, worker));
            })
            .expect("the pool takes jobs");
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
fn pool_jobs_really_overlap() {
    // Four sleeping jobs on four workers: all four should be running at once.
    let (most_at_once, took) = within(LIMIT, "4 sleeping jobs on 4 workers", POOL, || {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut pool = ThreadPool::new(4).expect("a pool of 4 starts");
        for _ in 0..4 {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            pool.execute(move |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(200));
                running.fetch_sub(1, Ordering::SeqCst);
            })
            .expect("the pool takes jobs");
        }
        pool.shutdown();
        (most.load(Ordering::SeqCst), start.elapsed())
    });
    assert_eq!(
        most_at_once,
        4,
        "4 jobs on 4 workers should all run at the same time, but at most {most_at_once} did \
         (the whole run took {took:?}; one sleep is 200 ms); {}",
        POOL.hint()
    );
}

#[test]
fn pool_holds_no_lock_while_a_job_runs() {
    // Job A waits for a message that only job B sends. If taking a job from the
    // queue held a lock for as long as the job ran, B could never start.
    let outcome = within(LIMIT, "two jobs that need each other", NO_LOCK, || {
        let mut pool = ThreadPool::new(2).expect("a pool of 2 starts");
        let (signal, wait_for_b) = unbounded::<()>();
        let (report, outcome) = unbounded();
        pool.execute(move |_| {
            let _ = report.send(wait_for_b.recv_timeout(Duration::from_secs(3)).is_ok());
        })
        .expect("the pool takes job A");
        pool.execute(move |_| {
            let _ = signal.send(());
        })
        .expect("the pool takes job B");
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
fn pool_survives_a_thousand_panicking_jobs() {
    silence_panics_saying("this job panics on purpose");
    let completed = within(
        LIMIT,
        "1,000 panicking then 100 normal jobs",
        PANICS,
        || {
            let mut pool = ThreadPool::new(4).expect("a pool of 4 starts");
            let completed = Arc::new(AtomicUsize::new(0));
            for _ in 0..1_000 {
                pool.execute(|_| panic!("this job panics on purpose"))
                    .expect("the pool takes jobs");
            }
            for _ in 0..100 {
                let completed = Arc::clone(&completed);
                pool.execute(move |_| {
                    completed.fetch_add(1, Ordering::SeqCst);
                })
                .expect("the pool still takes jobs after panics");
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
fn pool_reports_worker_start_and_stop() {
    let events = within(LIMIT, "a pool with an event hook", POOL, || {
        let (sender, events) = unbounded();
        let mut pool = ThreadPool::builder(3)
            .on_event(move |event| {
                let _ = sender.send(event);
            })
            .build()
            .expect("a pool of 3 starts");
        let started: Vec<WorkerEvent> = events.try_iter().collect();
        pool.shutdown();
        let stopped: Vec<WorkerEvent> = events.try_iter().collect();
        (started, stopped)
    });
    let (started, stopped) = events;
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
fn dropping_the_pool_drains_the_queue_and_joins_every_worker() {
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
            .expect("a pool of 2 starts");
        for _ in 0..10 {
            let completed = Arc::clone(&completed);
            pool.execute(move |_| {
                thread::sleep(Duration::from_millis(10));
                completed.fetch_add(1, Ordering::SeqCst);
            })
            .expect("the pool takes jobs");
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
fn executing_after_shutdown_is_an_error() {
    let result = within(LIMIT, "execute after shutdown", SHUTDOWN, || {
        let mut pool = ThreadPool::new(1).expect("a pool of 1 starts");
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

// ---------------------------------------------------------------- dispatcher

fn collect(dispatcher: &Dispatcher, count: usize) -> Vec<TaskResult> {
    dispatcher.results().iter().take(count).collect()
}

#[test]
fn dispatcher_computes_every_task() {
    let results = within(LIMIT, "20 tasks on 3 workers", DISPATCHER, || {
        let dispatcher = Dispatcher::start(quick(3)).expect("the dispatcher starts");
        for id in 0..20 {
            dispatcher
                .submit(task(id, id as i64, Op::Multiply, 2))
                .expect("the dispatcher takes tasks");
        }
        collect(&dispatcher, 20)
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
        "worker ids must be 0..3; {}",
        DISPATCHER.hint()
    );
}

#[test]
fn dispatcher_reports_division_by_zero_as_a_failed_result() {
    let results = within(LIMIT, "6 divide 0 then 2 add 2", DISPATCHER, || {
        let dispatcher = Dispatcher::start(quick(1)).expect("the dispatcher starts");
        dispatcher
            .submit(task(1, 6, Op::Divide, 0))
            .expect("takes task 1");
        dispatcher
            .submit(task(2, 2, Op::Add, 2))
            .expect("takes task 2");
        collect(&dispatcher, 2)
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
fn dispatcher_reports_a_panicking_task_and_keeps_its_worker() {
    silence_panics_saying("task 2 panics on purpose");
    let results = within(LIMIT, "a panicking handler", PANICS, || {
        let handler = Arc::new(|task: &Task| {
            if task.id == 2 {
                panic!("task 2 panics on purpose");
            }
            task.compute()
        });
        let (events, _) = recording();
        // One worker, so the tasks after the panic prove the same worker lives on.
        let dispatcher =
            Dispatcher::with_handler(quick(1), handler, events).expect("the dispatcher starts");
        for id in 1..=4 {
            dispatcher
                .submit(task(id, 1, Op::Add, 1))
                .expect("takes the task");
        }
        collect(&dispatcher, 4)
    });
    let outcomes: Vec<_> = results
        .iter()
        .map(|r| (r.task_id, r.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, Ok(2)),
            (
                2,
                Err(TaskError::Panicked("task 2 panics on purpose".to_owned()))
            ),
            (3, Ok(2)),
            (4, Ok(2)),
        ],
        "a panicking task must come back as TaskError::Panicked with its message, and the \
         same worker must go on to the next tasks; {}",
        PANICS.hint()
    );
}

#[test]
fn dispatcher_refuses_tasks_after_shutdown() {
    let refused = within(LIMIT, "submit after shutdown", SHUTDOWN, || {
        let mut dispatcher = Dispatcher::start(quick(2)).expect("the dispatcher starts");
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
fn dispatcher_tells_the_story_in_order() {
    let events = within(LIMIT, "a dispatcher with events", DISPATCHER, || {
        let (sink, events) = recording();
        let mut dispatcher = Dispatcher::with_events(quick(2), sink).expect("starts");
        dispatcher
            .submit(task(1, 10, Op::Add, 5))
            .expect("takes the task");
        let _ = dispatcher.results().recv();
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

// ------------------------------------------------------------------- network

#[test]
fn parse_request_accepts_a_task_and_explains_bad_lines() {
    assert_eq!(
        parse_request(r#"{"id": 1, "op": "add", "a": 10, "b": 5}"#),
        Ok(task(1, 10, Op::Add, 5)),
        "a well-formed line is a task; {}",
        NETWORK.hint()
    );
    let garbage = parse_request("not json").expect_err("garbage must be refused");
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
        .expect_err("an unknown op must be refused");
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

#[test]
fn server_answers_over_tcp_and_drains_on_shutdown() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    let replies = within(LIMIT, "the server's graceful shutdown", NETWORK, || {
        let (sink, events) = recording();
        let config = DispatcherConfig {
            delay: DelayRange::fixed(Duration::from_millis(50)),
            ..quick(2)
        };
        let server = Server::bind("127.0.0.1:0", config, sink).expect("binds a free port");
        let address = server.local_addr();
        let stopper = server.shutdown_handle();
        let running = thread::spawn(move || server.run());

        let mut client = TcpStream::connect(address).expect("connects");
        let mut lines = String::new();
        for id in 1..=6 {
            lines.push_str(&format!(
                "{{\"id\": {id}, \"op\": \"multiply\", \"a\": {id}, \"b\": 10}}\n"
            ));
        }
        lines.push_str("this is not JSON\n");
        client.write_all(lines.as_bytes()).expect("sends");

        // Shut down as soon as all six tasks are queued, before they have run.
        let mut received = 0;
        while received < 6 {
            match events.recv_timeout(Duration::from_millis(20)) {
                Ok(Event::Received(_)) => received += 1,
                Ok(_) => {}
                Err(_) if running.is_finished() => match running.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(result) => panic!("run() returned before the shutdown: {result:?}"),
                },
                Err(_) => {}
            }
        }
        stopper.shutdown();
        running
            .join()
            .expect("the server thread does not panic")
            .expect("run() returns Ok after a shutdown");
        BufReader::new(client)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let mut values: Vec<serde_json::Value> = replies
        .iter()
        .map(|line| serde_json::from_str(line).expect("every reply is JSON"))
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

/// Keeps the test output readable: panics whose message contains `text` are
/// expected, so only other panics reach the usual panic hook.
fn silence_panics_saying(text: &'static str) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if !message.contains(text) {
            previous(info);
        }
    }));
}
