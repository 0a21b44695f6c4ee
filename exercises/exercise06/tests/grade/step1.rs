//! Step 1 — The Calculator on the pool.

use super::*;

#[test]
fn step1_compute_answers_the_four_operations() {
    let (server, _) = start_server(2, None);
    let answers = with_client(
        &server,
        "four Compute calls",
        HANDLER,
        |channel| async move {
            let mut answers = Vec::new();
            for (id, (a, op, b)) in [
                (10, Op::Add, 5),
                (100, Op::Subtract, 37),
                (12, Op::Multiply, 12),
                (-17, Op::Divide, 5),
            ]
            .into_iter()
            .enumerate()
            {
                let task = new_task(id.to_string(), a, op, b);
                answers.push(
                    client::compute(&channel, task, None)
                        .await
                        .map_err(|e| e.to_string()),
                );
            }
            answers
        },
    );
    for (answer, expected) in answers.iter().zip([15, 63, 144, -3]) {
        match answer {
            Ok(result) => {
                assert_eq!(
                    (result.value, result.status),
                    (expected, pb::TaskStatus::Done as i32),
                    "expected value {expected} with status DONE, got {result:?}; {}",
                    HANDLER.hint()
                );
                assert!(
                    result.worker_id < 2,
                    "worker_id must name one of the 2 pool workers, got {}; {}",
                    result.worker_id,
                    HANDLER.hint()
                );
            }
            Err(error) => panic!(
                "expected {expected}, got the error {error}; {}",
                HANDLER.hint()
            ),
        }
    }
    assert_eq!(
        answers
            .iter()
            .filter_map(|a| a.as_ref().ok())
            .map(|r| r.task_id.as_str())
            .collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "each result must carry its task's id; {}",
        HANDLER.hint()
    );
}

#[test]
fn step1_division_by_zero_is_invalid_argument() {
    let (server, _) = start_server(1, None);
    let answer = with_client(&server, "6 divide 0", STATUS, |channel| async move {
        client::compute(&channel, new_task("z", 6, Op::Divide, 0), None).await
    });
    match answer {
        Err(ClientError::Call(status)) => assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, "Division by zero is not allowed"),
            "expected INVALID_ARGUMENT \"Division by zero is not allowed\"; {}",
            STATUS.hint()
        ),
        other => panic!(
            "expected INVALID_ARGUMENT \"Division by zero is not allowed\", got {other:?}; {}",
            STATUS.hint()
        ),
    }
}

#[test]
fn step1_invalid_tasks_get_clear_statuses_and_never_reach_a_worker() {
    let (server, recorded) = start_server(1, None);
    let invalid = [
        (
            "unspecified type",
            pb::Task {
                r#type: 0,
                ..new_task("u", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "unknown type 99",
            pb::Task {
                r#type: 99,
                ..new_task("k", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "negative processing_time",
            pb::Task {
                processing_time: -1.0,
                ..new_task("p", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "processing_time of an hour",
            pb::Task {
                processing_time: 3600.0,
                ..new_task("h", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "NaN timeout",
            pb::Task {
                timeout: f64::NAN,
                ..new_task("n", 1, Op::Add, 1)
            },
            Code::InvalidArgument,
        ),
        (
            "i64::MAX multiply 2",
            new_task("o", i64::MAX, Op::Multiply, 2),
            Code::OutOfRange,
        ),
    ];
    let tasks: Vec<pb::Task> = invalid.iter().map(|(_, task, _)| task.clone()).collect();
    let codes = with_client(&server, "six invalid tasks", STATUS, |channel| async move {
        let mut codes = Vec::new();
        for task in tasks {
            codes.push(code_of(&client::compute(&channel, task, None).await));
        }
        codes
    });
    for ((what, _, expected), got) in invalid.iter().zip(codes) {
        assert_eq!(
            got,
            Some(*expected),
            "a task with {what} should be answered {expected:?}, got {got:?}; {}",
            STATUS.hint()
        );
    }
    let ran: Vec<Event> = recorded
        .all()
        .into_iter()
        .filter(|event| matches!(event, Event::Started { call, .. } if task_of(call) != "o"))
        .collect();
    assert!(
        ran.is_empty(),
        "a request that fails its checks should be refused on the async side, before it \
         is queued; these reached a worker: {ran:?}; {}",
        STATUS.hint()
    );
}

// --------------------------------------------------------------------- waves

/// Sends 20 calls of a 100 ms handler at once, which must all succeed; returns
/// (most at once, waves, wall time).
fn twenty_calls(workers: usize) -> (usize, usize, Duration) {
    let (server, recorded) = start_server(workers, None);
    let (took, ok) = with_client(
        &server,
        "20 concurrent 100 ms calls",
        WAVES,
        |channel| async move {
            let start = Instant::now();
            let calls: Vec<_> = (0..20)
                .map(|id| spawn_call(&channel, slow_task(&format!("w{id}"), 0.1)))
                .collect();
            let mut ok = 0;
            for call in calls {
                ok += usize::from(matches!(call.await, Ok(Ok(_))));
            }
            (start.elapsed(), ok)
        },
    );
    assert_eq!(
        ok,
        20,
        "all 20 calls should succeed, {ok} did; {}",
        EXECUTOR.hint()
    );
    let (most, waves) = waves(&recorded.all());
    (most, waves, took)
}

#[test]
fn step1_twenty_calls_on_ten_workers_run_in_two_waves() {
    let (most, waves, took) = twenty_calls(10);
    assert_eq!(
        most,
        10,
        "with max_workers 10, exactly 10 handlers should run at once, got {most}: the pool, \
         not tokio, must run the blocking bodies; {}",
        WAVES.hint()
    );
    assert_eq!(
        waves,
        2,
        "20 calls on 10 workers should run in 2 waves, got {waves} (in {took:?}); {}",
        WAVES.hint()
    );
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(5),
        "two waves of 100 ms take at least 200 ms (and far less than 5 s), took {took:?}; {}",
        WAVES.hint()
    );
}

#[test]
fn step1_twenty_calls_on_twenty_workers_run_in_one_wave() {
    let (most, waves, took) = twenty_calls(20);
    assert_eq!(
        (most, waves),
        (20, 1),
        "with max_workers 20, all 20 handlers should run at once in one wave, got {most} \
         at once in {waves} waves (in {took:?}); {}",
        WAVES.hint()
    );
    assert!(
        took < Duration::from_secs(4),
        "one wave of 100 ms should take far less than 4 s, took {took:?}; {}",
        WAVES.hint()
    );
}

#[test]
fn step1_the_async_side_never_waits_for_a_worker() {
    // One worker, busy for 1 s: the health service, which needs no worker, must
    // still answer at once. A handler that blocks a tokio thread would stall it.
    let (server, recorded) = start_server(1, None);
    let events = recorded.clone();
    let (health, slow) = with_client(
        &server,
        "a health check beside a busy worker",
        EXECUTOR,
        |channel| async move {
            let busy = spawn_started(&channel, slow_task("busy", 1.0), &events, EXECUTOR).await;
            let health = client::health(&channel, "")
                .await
                .map_err(|e| e.to_string());
            let answered_while_busy = !events
                .all()
                .iter()
                .any(|e| matches!(e, Event::Finished { .. }));
            ((health, answered_while_busy), busy.await.map(|a| a.is_ok()))
        },
    );
    assert_eq!(
        health,
        (Ok("SERVING".to_owned()), true),
        "the health check should answer SERVING while the only worker is busy; {}",
        EXECUTOR.hint()
    );
    assert!(
        matches!(slow, Ok(true)),
        "the slow call should succeed; {}",
        EXECUTOR.hint()
    );
}

// ----------------------------------------------------------------- deadlines

#[test]
fn step1_a_call_past_its_deadline_is_answered_deadline_exceeded_and_never_runs() {
    // One worker busy for 600 ms; B (client deadline 300 ms) and C (its own
    // timeout 0.1 s) queue behind it and expire there. B's deadline is not shorter
    // because tonic starts its own grpc-timeout timer before the handler notes the
    // arrival, and the handler's lead on it is a tenth of the timeout, at most 20 ms
    // ("Deadlines"): at 100 ms a loaded machine could let tonic's timer win and
    // answer CANCELLED.
    let (server, recorded) = start_server(1, None);
    let events = recorded.clone();
    let (b, c, a) = with_client(
        &server,
        "calls that expire in the queue",
        DEADLINES,
        |channel| async move {
            let busy = spawn_started(&channel, slow_task("a", 0.6), &events, DEADLINES).await;
            let b = {
                let channel = channel.clone();
                tokio::spawn(async move {
                    client::compute(
                        &channel,
                        slow_task("b", 0.0),
                        Some(Duration::from_millis(300)),
                    )
                    .await
                })
            };
            let own_timeout = pb::Task {
                timeout: 0.1,
                ..slow_task("c", 0.0)
            };
            let c = client::compute(&channel, own_timeout, None).await;
            let b = b.await.ok().and_then(|answer| code_of(&answer));
            let a = busy.await.ok().map(|answer| answer.is_ok());
            // The worker reaches B and C after A; give it the time to drop them.
            for id in ["b", "c"] {
                wait_for(
                    &events,
                    &format!("task {id} dropped"),
                    DEADLINES,
                    |e| matches!(e, Event::Expired { call } if task_of(call) == id),
                )
                .await;
            }
            (b, code_of(&c), a)
        },
    );
    assert_eq!(
        (b, c),
        (Some(Code::DeadlineExceeded), Some(Code::DeadlineExceeded)),
        "calls whose deadline (the caller's, or the task's own timeout) passes in the queue \
         should be answered DEADLINE_EXCEEDED; {}",
        DEADLINES.hint()
    );
    let ran: Vec<Event> = recorded
        .all()
        .into_iter()
        .filter(|e| started(e, "b") || started(e, "c"))
        .collect();
    assert!(
        ran.is_empty(),
        "expired calls must be dropped from the queue, not run, but these ran: {ran:?}; {}",
        DEADLINES.hint()
    );
    assert_eq!(
        a,
        Some(true),
        "the call in front should still succeed; {}",
        DEADLINES.hint()
    );
}

// ------------------------------------------------------------------ shutdown

#[test]
fn step1_shutting_down_finishes_the_calls_in_flight() {
    let (server, recorded) = start_server(2, None);
    let shutdown = server.shutdown_handle();
    let events = recorded.clone();
    let answer = with_client(
        &server,
        "a call in flight during shutdown",
        SHUTDOWN,
        |channel| async move {
            let call = spawn_started(&channel, slow_task("s", 0.5), &events, SHUTDOWN).await;
            shutdown.stop();
            call.await
                .ok()
                .map(|answer| answer.map(|r| r.value).map_err(|e| e.to_string()))
        },
    );
    let stopped = within(
        LIMIT,
        "waiting for the server to stop",
        SHUTDOWN,
        move || server.wait().map_err(|e| e.to_string()),
    );
    assert_eq!(
        answer,
        Some(Ok(144)),
        "a call in flight when shutdown begins should still be answered; {}",
        SHUTDOWN.hint()
    );
    assert_eq!(
        stopped,
        Ok(()),
        "the server should stop cleanly; {}",
        SHUTDOWN.hint()
    );
    let events = recorded.all();
    let position = |wanted: fn(&Event) -> bool| events.iter().position(wanted);
    // Each event must be there: `None < Some(_)` would let a missing one pass.
    let order = [
        position(|e| matches!(e, Event::Draining)),
        position(|e| matches!(e, Event::Finished { .. })),
        position(|e| matches!(e, Event::Stopped)),
    ];
    assert!(
        matches!(order, [Some(draining), Some(finished), Some(stopped)]
            if draining < finished && finished < stopped),
        "expected the events Draining, then the call Finished, then Stopped, all three; \
         got {events:?}; {}",
        SHUTDOWN.hint()
    );
}

// ----------------------------------------------------------------- bad input

#[test]
fn step1_garbage_and_oversized_requests_get_errors_and_the_server_lives_on() {
    let (server, _) = start_server(2, None);
    let address = server.local_addr();

    // Not HTTP/2 at all: the server may answer with a GOAWAY frame or just close,
    // but it must close this connection and go on serving others.
    let closed = within(
        LIMIT,
        "a connection sending garbage",
        BAD_INPUT,
        move || {
            let mut stream = TcpStream::connect(address).expect("connects");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("sets a timeout");
            let _ =
                stream.write_all(b"\x00\xffthis is not HTTP/2 \r\n\r\n garbage garbage garbage");
            let mut buffer = [0_u8; 1024];
            let mut total = 0;
            loop {
                match stream.read(&mut buffer) {
                    Ok(0) => break true,
                    Ok(n) => total += n,
                    Err(_) => break total > 0,
                }
                thread::yield_now();
            }
        },
    );
    assert!(
        closed,
        "the server should close a connection that sends garbage; {}",
        BAD_INPUT.hint()
    );

    let (oversized, after) = with_client(
        &server,
        "an oversized request, then a normal one",
        BAD_INPUT,
        |channel| async move {
            let huge = pb::Task {
                id: "x".repeat(1 << 20),
                ..new_task("big", 1, Op::Add, 1)
            };
            let oversized = code_of(&client::compute(&channel, huge, None).await);
            let after = client::compute(&channel, new_task("after", 2, Op::Add, 2), None).await;
            (oversized, after.map(|r| r.value).map_err(|e| e.to_string()))
        },
    );
    assert!(
        matches!(oversized, Some(Code::OutOfRange | Code::ResourceExhausted)),
        "a 1 MiB request should be refused by the size limit, got {oversized:?}; {}",
        BAD_INPUT.hint()
    );
    assert_eq!(
        after,
        Ok(4),
        "after garbage and an oversized request the server should still answer; {}",
        BAD_INPUT.hint()
    );
}
