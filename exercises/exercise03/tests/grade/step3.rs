//! Step 3 — Shutting down without losing a task.

use super::*;

fn assert_stopped_by_handle(summary: &Summary) {
    assert_eq!(
        summary.stopped_by,
        StopReason::Stopped,
        "run() should return after stop() with StopReason::Stopped, got {:?}; {}",
        summary.stopped_by,
        SHUTDOWN.hint()
    );
}

#[test]
fn step3_die_finishes_and_publishes_every_queued_task_then_joins() {
    let (replies, summary, stopping) = within(LIMIT, "8 slow tasks then DIE", SHUTDOWN, || {
        let running = Running::start(2);
        let mut producer = running.producer("drain");
        push_sleeps(&mut producer, 8);
        // Same connection, so DIE arrives after all 8 — long before they have run.
        producer.stop_pipeline().expect("pushes DIE");
        let replies = producer
            .collect(PATIENCE, |_| {})
            .unwrap_or_else(|error| running.fail(&format!("after DIE: {error}"), SHUTDOWN));
        let (summary, stopping) =
            running.join_counting(|event| matches!(event, Event::Worker(WorkerEvent::Stopping(_))));
        (values(&replies), summary, stopping)
    });
    assert_eq!(
        replies,
        (1..=8).map(|id| (id, Ok(50))).collect(),
        "every task pushed before DIE must still be run and published; {}",
        SHUTDOWN.hint()
    );
    assert_eq!(
        (summary.stopped_by, stopping),
        (StopReason::Die, 2),
        "run() should return after DIE with both workers joined; {}",
        SHUTDOWN.hint()
    );
}

#[test]
fn step3_stopping_the_shutdown_drains_like_die() {
    let (replies, summary) = within(LIMIT, "6 slow tasks then stop()", SHUTDOWN, || {
        let running = Running::start(2);
        let mut producer = running.producer("ctrl-c");
        push_sleeps(&mut producer, 6);
        // Stop as soon as the collector has taken all six, before they have run.
        let mut received = 0;
        let deadline = Instant::now() + PATIENCE;
        while received < 6 && Instant::now() < deadline {
            if let Ok(Event::Received { .. }) =
                running.events.recv_timeout(Duration::from_millis(20))
            {
                received += 1;
            }
        }
        if received < 6 {
            running.fail(
                &format!("the collector took {received} of 6 tasks"),
                PIPELINE,
            );
        }
        running.shutdown.stop();
        let replies = producer
            .collect(PATIENCE, |_| {})
            .unwrap_or_else(|error| running.fail(&format!("after stop(): {error}"), SHUTDOWN));
        (values(&replies), running.join())
    });
    assert_eq!(
        replies,
        (1..=6).map(|id| (id, Ok(50))).collect(),
        "every task taken before stop() must still be run and published; {}",
        SHUTDOWN.hint()
    );
    assert_stopped_by_handle(&summary);
}

#[test]
fn step3_stopping_refuses_the_tasks_still_waiting_in_the_socket() {
    let (replies, draining, summary) =
        within(LIMIT, "4 slow tasks, 1 in flight, stop()", SHUTDOWN, || {
            // One task in flight at most: tasks 2..=4 wait in the PULL socket. Task 1
            // runs for a second, long enough to push task 5 while the pool drains.
            let running = Running::start_with(PipelineConfig {
                max_in_flight: 1,
                ..PipelineConfig::any_port(1)
            });
            let mut producer = running.producer("queued");
            for id in 1..=4 {
                producer
                    .submit(id, Work::Sleep { ms: 1_000 })
                    .expect("pushes a task");
            }
            let deadline = Instant::now() + PATIENCE;
            loop {
                match running.events.recv_timeout(Duration::from_millis(20)) {
                    Ok(Event::Received { id: 1, .. }) => break,
                    _ if Instant::now() > deadline => {
                        running.fail("the collector never took task 1", PIPELINE)
                    }
                    _ => running.check(),
                }
            }
            running.shutdown.stop();
            // Tasks 2..=4 are refused as soon as the collector stops, while task 1 runs.
            let mut replies = Vec::new();
            let deadline = Instant::now() + PATIENCE;
            while replies.len() < 3 && Instant::now() < deadline {
                match producer.next_reply(Duration::from_millis(20)) {
                    Ok(Some(reply)) => replies.push(reply),
                    Ok(None) => running.check(),
                    Err(error) => running.fail(&format!("after stop(): {error}"), SHUTDOWN),
                }
            }
            // Task 5 arrives while the pool still drains: it must be refused too, by the
            // second look into the socket, not lost. (On a machine so slow that task 1
            // has already finished, that second look may have come and gone: then only
            // tasks 1..=4 are graded.)
            let draining = !running.recorded().contains(&Event::WorkersDrained);
            if draining {
                producer
                    .submit(5, Work::Sleep { ms: 1_000 })
                    .expect("pushes a task");
            }
            replies.extend(producer.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                running.fail(
                    &format!(
                        "after stop(), waiting for task 1's result and the refusal of \
                             task 5 (pushed while the pool drained: {draining}): {error}"
                    ),
                    SHUTDOWN,
                )
            }));
            (values(&replies), draining, running.join())
        });
    let mut expected: BTreeMap<u64, Result<i64, String>> =
        (2..=4).map(|id| (id, Err(STOPPING.to_owned()))).collect();
    expected.insert(1, Ok(1_000));
    if draining {
        expected.insert(5, Err(STOPPING.to_owned()));
    }
    assert_eq!(
        replies,
        expected,
        "the accepted task 1 must still run; tasks 2..=4, still in the socket when the \
         pipeline stopped, and task 5, pushed while the pool drained, must each get the error \
         {STOPPING:?} so nobody waits for ever; {}",
        SHUTDOWN.hint()
    );
    assert_stopped_by_handle(&summary);
}
