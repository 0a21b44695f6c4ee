//! Step 1 — The wire protocol and task kinds.

use super::*;

#[test]
fn step1_worker_frames_are_understood() {
    let parsed = |frame: &str| WorkerMessage::parse(frame);
    assert_eq!(
        parsed("REQUEST_TASK"),
        Ok(WorkerMessage::RequestTask { worker_id: None }),
        "a bare REQUEST_TASK asks for work; {}",
        PROTOCOL.hint()
    );
    assert_eq!(
        parsed(r#"REQUEST_TASK {"worker_id": "w7"}"#),
        Ok(WorkerMessage::RequestTask {
            worker_id: Some("w7".to_owned())
        }),
        "REQUEST_TASK may carry {{\"worker_id\": …}}; {}",
        PROTOCOL.hint()
    );
    let completed = parsed(r#"RESULT:{"task_id": "t1", "status": "COMPLETED", "result": [1, 2]}"#);
    assert_eq!(
        completed,
        Ok(WorkerMessage::Result(ResultReport::completed(
            "t1",
            json!([1, 2])
        ))),
        "RESULT: followed by JSON reports a result; {}",
        PROTOCOL.hint()
    );
    let failed = parsed(
        r#"RESULT:{"task_id": "t2", "status": "FAILED", "error": {"status": "FAILED",
            "error_type": "FunctionExecutionFailure", "message": "boom", "task_id": "t2"}}"#,
    );
    assert_eq!(
        failed,
        Ok(WorkerMessage::Result(ResultReport::failed(
            TaskFailure::new("t2", ErrorType::FunctionExecutionFailure, "boom")
        ))),
        "a FAILED result carries an error object; {}",
        PROTOCOL.hint()
    );
}

#[test]
fn step1_bad_worker_frames_are_errors_not_panics() {
    for frame in [
        "",
        "HELLO",
        "REQUEST_TASKS",
        "REQUEST_TASK {not json",
        "RESULT:",
        "RESULT:{\"task_id\": \"t1\"",
        r#"RESULT:{"task_id": "t1", "status": "RUNNING"}"#,
        r#"RESULT:{"task_id": "t1", "status": "FAILED"}"#,
    ] {
        assert!(
            WorkerMessage::parse(frame).is_err(),
            "{frame:?} must be refused with an error, got {:?}; {}",
            WorkerMessage::parse(frame),
            PROTOCOL.hint()
        );
    }
}

fn assignment(kind: &str, args: Value) -> Assignment {
    Assignment {
        task_id: "t1".to_owned(),
        kind: kind.to_owned(),
        args,
        status: TaskStatus::Running,
    }
}

#[test]
fn step1_the_closed_set_of_kinds_runs() {
    let cases = [
        ("multiply", json!({"a": 7, "b": 8}), json!(56)),
        ("primes", json!({"limit": 100}), json!(25)),
        ("sleep", json!({"ms": 1}), json!(1)),
        (
            "echo",
            json!({"data": {"x": [1, "two"]}}),
            json!({"x": [1, "two"]}),
        ),
    ];
    for (kind, args, expected) in cases {
        let report = kinds::execute(&assignment(kind, args.clone()));
        assert_eq!(
            report,
            ResultReport::completed("t1", expected.clone()),
            "{kind} {args} should complete with {expected}; {}",
            KINDS.hint()
        );
    }
}

#[test]
fn step1_a_failing_task_and_an_unknown_kind_are_different_failures() {
    let raised = kinds::execute(&assignment("fail", json!({"message": "boom"})));
    assert_eq!(
        raised,
        ResultReport::failed(TaskFailure::new(
            "t1",
            ErrorType::FunctionExecutionFailure,
            "boom"
        )),
        "a task that runs and fails is FunctionExecutionFailure with its message; {}",
        KINDS.hint()
    );
    let by_zero = kinds::execute(&assignment("divide", json!({"a": 1, "b": 0})));
    assert_eq!(
        by_zero.error.as_ref().map(|e| e.error_type),
        Some(ErrorType::FunctionExecutionFailure),
        "division by zero is a failure of the task, got {by_zero:?}; {}",
        KINDS.hint()
    );
    for (kind, args) in [
        ("pickle", json!({"code": "import os"})),
        ("sleep", json!({"ms": "soon"})),
        ("primes", json!({})),
        ("primes", json!({"limit": MAX_PRIMES_LIMIT + 1})),
        ("add", json!({"a": 1, "op": "add", "b": 2})),
    ] {
        let report = kinds::execute(&assignment(kind, args.clone()));
        assert_eq!(
            (report.status, report.error.as_ref().map(|e| e.error_type)),
            (TaskStatus::Failed, Some(ErrorType::SerializationError)),
            "{kind} {args} is not something a worker runs: SerializationError, got {report:?}; {}",
            KINDS.hint()
        );
    }
}
