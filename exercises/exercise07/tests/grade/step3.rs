//! Step 3 — Deadlines the controller enforces.

use super::*;

/// Every task's outcome, as `wait` answers them; its error as text, to leave the
/// test's runtime.
async fn wait_outcomes(controller: &mut Controller) -> Result<Vec<pb::nats::Outcome>, String> {
    controller
        .wait(&Shutdown::new())
        .await
        .map_err(|error| error.to_string())
}

/// What `wait` answered: the outcomes, or a failed test that says what came instead.
#[track_caller]
fn answered<T>(outcomes: Result<T, String>) -> T {
    outcomes.unwrap_or_else(|error| {
        panic!(
            "wait answers the outcomes, got {error}; {}",
            DEADLINES.hint()
        )
    })
}

#[test]
fn step3_a_task_nobody_runs_fails_at_its_deadline() {
    let server = nats_server();
    let url = server.url();
    let (outcomes, took) = run(
        "a task with a 0.5 s timeout and no worker",
        DEADLINES,
        move || async move {
            let mut controller = controller(&url, quick_setup(), Recorded::default().sink()).await;
            let started = Instant::now();
            controller
                .submit(pb::Task {
                    timeout: 0.5,
                    ..task("late", 2, Op::Add, 2)
                })
                .await
                .expect("the task is stored");
            let outcomes = wait_outcomes(&mut controller).await;
            (outcomes, started.elapsed())
        },
    );
    let outcomes = answered(outcomes);
    assert_eq!(
        outcomes.len(),
        1,
        "one task, one outcome, got {outcomes:?}; {}",
        DEADLINES.hint()
    );
    let outcome = &outcomes[0];
    assert_eq!(
        (value_of(outcome).0, outcome.worker.as_str()),
        (FAILED, "controller"),
        "no worker runs Add: at its deadline the controller must record it FAILED itself, \
         got {outcome:?}; {}",
        DEADLINES.hint()
    );
    assert!(
        outcome.error.contains("deadline"),
        "the reason should say its deadline passed, got {:?}; {}",
        outcome.error,
        DEADLINES.hint()
    );
    assert!(
        took >= Duration::from_millis(500),
        "the task may not fail before its timeout of 0.5 s, it failed after {took:?}; {}",
        DEADLINES.hint()
    );
}

#[test]
fn step3_a_worker_that_finishes_after_the_deadline_is_not_recorded() {
    let server = nats_server();
    let url = server.url();
    let (outcomes, stored, events) = run(
        "a 2 s task with a 0.5 s timeout",
        DEADLINES,
        move || async move {
            let recorded = Recorded::default();
            let mut controller = controller(&url, quick_setup(), recorded.sink()).await;
            let worker_config =
                WorkerConfig::new(std::slice::from_ref(&url), "Slow", &[pb::TaskType::Add])
                    .with_lease(Duration::from_secs(1));
            let (stop, handle) = spawn_worker(worker_config, recorded.sink());
            controller
                .submit(pb::Task {
                    timeout: 0.5,
                    processing_time: 2.0,
                    ..task("slow", 2, Op::Add, 2)
                })
                .await
                .expect("the task is stored");
            let outcomes = wait_outcomes(&mut controller).await;
            // Let the worker finish, and find the task decided.
            let deadline = Instant::now() + LIMIT / 3;
            while Instant::now() < deadline
                && !recorded.all().iter().any(|event| {
                    matches!(event, Event::AlreadyDecided { .. } | Event::Finished { .. })
                })
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            stop.stop();
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
            let stored = outcome_of(&url, "slow", ONCE).await;
            (outcomes, stored, recorded.all())
        },
    );
    let outcomes = answered(outcomes);
    assert!(
        outcomes.len() == 1 && outcomes[0].worker == "controller",
        "the deadline (0.5 s) passes long before the worker (2 s) is done: the controller's \
         FAILED is the outcome, got {outcomes:?}; {}",
        DEADLINES.hint()
    );
    assert_eq!(
        stored.worker,
        "controller",
        "the worker's late result must not replace the controller's FAILED in the bucket, \
         found {stored:?}; {}",
        ONCE.hint()
    );
    assert!(
        events
            .iter()
            .any(|event| matches!(event, Event::AlreadyDecided { id, .. } if id == "slow")),
        "the worker should find the task already decided and drop its result; events: {events:?}; {}",
        ONCE.hint()
    );
}

#[test]
fn step3_wait_reports_done_and_failed_as_workers_record_them() {
    let server = nats_server();
    let url = server.url();
    let outcomes = run("two tasks on one worker", DEADLINES, move || async move {
        let mut controller = controller(&url, Setup::default(), Recorded::default().sink()).await;
        let worker_config = WorkerConfig::new(
            std::slice::from_ref(&url),
            "Worker1",
            &[pb::TaskType::Add, pb::TaskType::Divide],
        );
        let (stop, handle) = spawn_worker(worker_config, Recorded::default().sink());
        for (id, a, op, b) in [("sum", 10, Op::Add, 5), ("zero", 6, Op::Divide, 0)] {
            controller
                .submit(pb::Task {
                    timeout: 20.0,
                    ..task(id, a, op, b)
                })
                .await
                .expect("the task is stored");
        }
        let outcomes = wait_outcomes(&mut controller).await;
        stop.stop();
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        outcomes
    });
    let mut outcomes = answered(outcomes);
    outcomes.sort_by_key(|outcome| outcome.result.clone().unwrap_or_default().task_id);
    let seen: Vec<(String, i32, i64, String)> = outcomes
        .iter()
        .map(|outcome| {
            let result = outcome.result.clone().unwrap_or_default();
            (
                result.task_id,
                result.status,
                result.value,
                outcome.worker.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("sum".to_owned(), DONE, 15, "Worker1".to_owned()),
            ("zero".to_owned(), FAILED, 0, "Worker1".to_owned()),
        ],
        "a deadline far away must not fail tasks a worker completes; {}",
        DEADLINES.hint()
    );
}

#[test]
fn step3_a_task_never_acknowledged_fails_after_max_attempts() {
    let server = nats_server();
    let url = server.url();
    let outcomes = run(
        "a task taken twice and never acknowledged",
        DEADLINES,
        move || async move {
            let setup = Setup {
                max_attempts: 2,
                ..quick_setup()
            };
            let mut controller = controller(&url, setup.clone(), Recorded::default().sink()).await;
            controller
                .submit(task("cursed", 1, Op::Multiply, 1))
                .await
                .expect("the task is stored");
            // Two "workers" that take the task and die, each time; and a third that
            // asks and gets nothing (the server notices a task past max_deliver when
            // someone asks for the next one).
            let engine = engine(&url, &setup).await;
            let consumer = engine
                .consumer(pb::TaskType::Multiply)
                .await
                .expect("the consumer exists");
            let taker = tokio::spawn(async move {
                for _ in 0..3 {
                    if let Ok(mut batch) = consumer
                        .batch()
                        .max_messages(1)
                        .expires(Duration::from_secs(5))
                        .messages()
                        .await
                    {
                        let _ = futures_util::StreamExt::next(&mut batch).await;
                    }
                }
            });
            let outcomes = wait_outcomes(&mut controller).await;
            taker.abort();
            outcomes
        },
    );
    let outcomes = answered(outcomes);
    assert!(
        outcomes.len() == 1
            && value_of(&outcomes[0]).0 == FAILED
            && outcomes[0].error.contains("gave up after 2 deliveries"),
        "a task delivered max_attempts times and never acknowledged must be FAILED by the \
         controller, not left in the stream for ever; got {outcomes:?}; {}",
        DEADLINES.hint()
    );
}
