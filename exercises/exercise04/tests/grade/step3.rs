//! Step 3 — One owner, no locks: the dispatcher's loop.

use super::*;

#[test]
fn step3_the_dispatcher_answers_every_frame_and_survives_garbage() {
    let answers = within(LIMIT, "a dispatcher and raw frames", OWNER, || {
        let dispatcher = RunningDispatcher::start(Duration::from_secs(5), quiet());
        let worker = raw_socket(&dispatcher.workers);
        let mut client = dispatcher.client();
        let mut answers = vec![ask(&worker, b"REQUEST_TASK")];
        let task_id = submit(&mut client, "add", json!({"a": 1, "b": 2}));
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
        (&json!(task_id), &json!("add"), &json!("RUNNING")),
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
