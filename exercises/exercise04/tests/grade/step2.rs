//! Step 2 — Task states and deadlines.

use super::*;

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
