//! Step 3 — The dispatcher.

use super::*;

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
            " (the panic's message was lost: `execute_and_report` hands the report \
             `Err(message)`; pass that message on, as `TaskError::Panicked(message)`)"
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
