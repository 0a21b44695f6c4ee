//! Step 4 — The dispatcher on the wire: parse, answer, and its loop.

use super::*;

#[test]
fn step4_the_extended_frames_are_understood() {
    let register =
        Request::parse(r#"REGISTER {"worker_id": "w1", "capabilities": ["add", "primes"]}"#);
    assert_eq!(
        register,
        Ok(Request::Register(Registration {
            worker_id: "w1".to_owned(),
            capabilities: strings(&["add", "primes"]),
        })),
        "REGISTER carries a worker id and its capabilities; {}",
        PROTOCOL.hint()
    );
    let heartbeat = Request::parse(
        r#"HEARTBEAT {"worker_id": "w1", "leases": [{"task_id": 7, "lease_token": "ab"}]}"#,
    );
    assert_eq!(
        heartbeat,
        Ok(Request::Heartbeat(Heartbeat {
            worker_id: "w1".to_owned(),
            leases: vec![HeldLease {
                task_id: 7,
                lease_token: "ab".to_owned()
            }],
        })),
        "HEARTBEAT names the leases the worker holds; {}",
        PROTOCOL.hint()
    );
    let result = Request::parse(
        r#"RESULT:{"task_id": 7, "lease_token": "ab", "status": "COMPLETED", "result": 3}"#,
    );
    assert_eq!(
        result,
        Ok(Request::Result(LeasedResult {
            task_id: 7,
            lease_token: "ab".to_owned(),
            status: TaskStatus::Completed,
            result: Some(json!(3)),
            error: None,
        })),
        "a result carries its lease token; {}",
        PROTOCOL.hint()
    );
    let submit = Request::parse(r#"SUBMIT {"kind": "primes", "args": {"limit": 1000}}"#);
    assert_eq!(
        submit,
        Ok(Request::Submit(NewTask::new(
            "primes",
            json!({"limit": 1000})
        ))),
        "SUBMIT carries a task; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        Request::parse("STATUS 7"),
        Ok(Request::Status(7)),
        "STATUS takes a task id; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        (Request::parse("STATS"), Request::parse("HEALTH")),
        (Ok(Request::Stats), Ok(Request::Health)),
        "STATS and HEALTH are bare words; {}",
        PROTOCOL.hint()
    );
    for frame in [
        "",
        "HELLO",
        "REQUEST_TASK",
        "REQUEST_TASK {\"worker\": 1}",
        "REGISTER {\"worker_id\": \"w1\"}",
        "HEARTBEAT [",
        "STATUS seven",
        "STATS please",
        r#"RESULT:{"task_id": 7, "status": "COMPLETED", "result": 3}"#,
        r#"RESULT:{"task_id": 7, "lease_token": "ab", "status": "RUNNING"}"#,
        r#"RESULT:{"task_id": 7, "lease_token": "ab", "status": "FAILED"}"#,
    ] {
        let parsed = Request::parse(frame);
        assert!(
            parsed.is_err(),
            "{frame:?} must be refused with an error, got {parsed:?}; {}",
            PROTOCOL.hint()
        );
    }
}

#[test]
fn step4_the_dispatcher_answers_garbage_with_errors_and_lives_on() {
    let dir = TempDir::new("ch05-garbage");
    let db = dir.join("tasks.db");
    let (events, log) = recorder::<Event>();
    let answers = within(LIMIT, "a dispatcher and raw frames", PROTOCOL, move || {
        let (endpoint, dispatcher) = serve(dispatcher_config(ANY_PORT, &db), events);
        let mut raw = raw_peer(&endpoint);
        let mut answers = frames_to(
            &mut raw,
            &[
                b"HELLO".as_slice(),
                b"REQUEST_TASK {oops",
                b"RESULT:{\"task_id\": ",
                &[0xff, 0xfe, 0x00],
                br#"REQUEST_TASK {"worker_id": "nobody"}"#,
                br#"REGISTER {"worker_id": "w1", "capabilities": ["pickle"]}"#,
                br#"SUBMIT {"kind": "pickle", "args": {}}"#,
                br#"SUBMIT {"kind": "add", "args": {"a": 1}}"#,
                b"STATUS 999",
                br#"REGISTER {"worker_id": "w1", "capabilities": ["add"]}"#,
                br#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}}"#,
                br#"REQUEST_TASK {"worker_id": "w1"}"#,
                br#"RESULT:{"task_id": 1, "lease_token": "forged", "status": "COMPLETED", "result": 0}"#,
                b"HEALTH",
            ],
        );
        let lease: Value = serde_json::from_str(&answers[11]).unwrap_or(Value::Null);
        let token = lease["lease_token"].as_str().unwrap_or_default().to_owned();
        let heartbeat = format!(
            r#"HEARTBEAT {{"worker_id": "w1", "leases": [{{"task_id": 1, "lease_token": "{token}"}}]}}"#
        );
        let result = format!(
            r#"RESULT:{{"task_id": 1, "lease_token": "{token}", "status": "COMPLETED", "result": 3}}"#
        );
        answers.extend(frames_to(
            &mut raw,
            &[
                heartbeat.as_bytes(),
                br#"HEARTBEAT {"worker_id": "nobody", "leases": []}"#,
                result.as_bytes(),
                result.as_bytes(),
                br#"REQUEST_TASK {"worker_id": "w1"}"#,
                b"STATUS 1",
                b"STATS",
            ],
        ));
        dispatcher.shut_down();
        answers
    });
    let wanted = [
        ("ERROR ", "an unknown command"),
        ("ERROR_OCCURED ", "a request for work with malformed JSON"),
        ("ERROR ", "a result with malformed JSON"),
        ("ERROR ", "a frame that is not UTF-8"),
        (
            "UNKNOWN_WORKER nobody",
            "a request from a worker that never registered",
        ),
        ("ERROR ", "a capability that is not a kind"),
        ("ERROR ", "a task of an unknown kind"),
        ("ERROR ", "a task with missing arguments"),
        ("NOT_FOUND 999", "the status of an unknown task"),
        ("REGISTERED", "a good registration"),
        ("SUBMITTED 1", "a good task"),
        ("{", "a request for work, with a task to hand out"),
        ("ERROR ", "a result with a token that is not the lease's"),
        ("HEALTHY ", "a health check"),
        ("HEARTBEAT_OK 1", "a heartbeat naming the lease w1 holds"),
        (
            "UNKNOWN_WORKER nobody",
            "a heartbeat from an unknown worker",
        ),
        ("RESULT_RECEIVED", "the lease's result"),
        (
            "RESULT_RECEIVED",
            "the same result again (a resend is fine)",
        ),
        ("NO_TASKS_AVAILABLE", "a request for work with nothing left"),
        ("STATUS {", "the status of a known task"),
        ("STATS {", "the queue's figures"),
    ];
    assert_eq!(
        answers.len(),
        wanted.len(),
        "one answer per frame; {}",
        PROTOCOL.hint()
    );
    for ((wanted, why), answer) in wanted.iter().zip(&answers) {
        assert!(
            answer.starts_with(wanted),
            "{why}: the answer should start with {wanted:?}, got {answer:?}; {}",
            PROTOCOL.hint()
        );
    }
    let status: Value =
        serde_json::from_str(answers[19].trim_start_matches("STATUS ")).unwrap_or(Value::Null);
    assert_eq!(
        (&status["status"], &status["result"]),
        (&json!("COMPLETED"), &json!(3)),
        "STATUS 1 shows the recorded result, got {:?}; {}",
        answers[19],
        PROTOCOL.hint()
    );
    let events: Vec<Event> = log.try_iter().collect();
    let told = |what: &dyn Fn(&Event) -> bool| events.iter().filter(|e| what(e)).count();
    let reported = [
        told(&|e| matches!(e, Event::Registered { worker_id, .. } if worker_id == "w1")),
        told(&|e| matches!(e, Event::Submitted { task_id: 1, kind } if kind == "add")),
        told(
            &|e| matches!(e, Event::Leased { task_id: 1, worker_id, attempt: 1 } if worker_id == "w1"),
        ),
        told(&|e| {
            matches!(
                e,
                Event::Recorded {
                    task_id: 1,
                    status: TaskStatus::Completed,
                    again: false,
                    ..
                }
            )
        }),
        told(&|e| {
            matches!(
                e,
                Event::Recorded {
                    task_id: 1,
                    again: true,
                    ..
                }
            )
        }),
        told(&|e| matches!(e, Event::Refused { .. })),
    ];
    assert_eq!(
        reported,
        [1, 1, 1, 1, 1, 1],
        "the dispatcher reports what it did: Registered, Submitted, Leased, Recorded (once \
         again: false, once again: true for the resend) and Refused for the forged token, \
         events: {events:#?}; {}",
        PROTOCOL.hint()
    );
}

#[test]
fn step4_the_dispatchers_loop_runs_the_monitor_between_requests() {
    let dir = TempDir::new("ch05-monitor");
    let db = dir.join("tasks.db");
    let (events, log) = recorder::<Event>();
    let outcome = within(
        LIMIT,
        "a dispatcher with a silent worker",
        HEARTBEATS,
        move || {
            let (endpoint, dispatcher) = serve(dispatcher_config(ANY_PORT, &db), events);
            let mut raw = raw_peer(&endpoint);
            let taken = frames_to(
                &mut raw,
                &[
                    br#"SUBMIT {"kind": "add", "args": {"a": 1, "b": 2}}"#,
                    br#"REGISTER {"worker_id": "doomed", "capabilities": ["add"]}"#,
                    br#"REQUEST_TASK {"worker_id": "doomed"}"#,
                ],
            );
            // Nobody says anything more: only the loop's own clock can find the silence.
            let dead = wait_for_event(&log, Duration::from_secs(3), |e| match e {
                Event::WorkerDead { worker_id } => Some(worker_id.clone()),
                _ => None,
            });
            let status = frames_to(&mut raw, &[b"STATUS 1"]);
            dispatcher.shut_down();
            (taken, dead, status)
        },
    );
    let (taken, dead, status) = outcome;
    assert!(
        taken[2].starts_with('{'),
        "the doomed worker gets the task, got {taken:?}; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        dead.as_deref(),
        Some("doomed"),
        "with dead_after 0.6 s and monitor_every 0.1 s, the loop runs the monitor on its \
         own, which reports the silent worker dead (WorkerDead) within 3 s; {}",
        HEARTBEATS.hint()
    );
    assert!(
        status[0].contains("\"QUEUED\""),
        "its task is back in the queue, got {:?}; {}",
        status[0],
        HEARTBEATS.hint()
    );
}
