//! Step 4 — Asking only with capacity: the worker.

use super::*;

#[test]
fn step4_a_worker_completes_tasks_and_reports_failures() {
    let reports = within(LIMIT, "a dispatcher and one worker", CAPACITY, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let worker = RunningWorker::start(&dispatcher.workers, 2, quiet(), CAPACITY);
        let mut client = dispatcher.client();
        let big = "x".repeat(1024 * 1024);
        let ids = [
            submit(&mut client, "add", json!({"a": 10, "b": 5})),
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
        let next = submit(&mut client, "multiply", json!({"a": 2, "b": 21}));
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
