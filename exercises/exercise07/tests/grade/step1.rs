//! Step 1 — Tasks on subjects, in a work-queue stream.

use super::*;
use exercise07::setup::stream_config;
use exercise07::task::subject_for;

#[test]
fn step1_each_kind_has_its_own_subject() {
    let subjects: Vec<String> = [
        pb::TaskType::Add,
        pb::TaskType::Subtract,
        pb::TaskType::Multiply,
        pb::TaskType::Divide,
    ]
    .into_iter()
    .map(subject_for)
    .collect();
    assert_eq!(
        subjects,
        [
            "tasks.add",
            "tasks.subtract",
            "tasks.multiply",
            "tasks.divide"
        ],
        "each kind of task is published on a subject of its own; {}",
        SUBJECTS.hint()
    );
}

#[test]
fn step1_the_stream_is_a_work_queue_of_every_task_subject() {
    let setup = Setup {
        replicas: 3,
        duplicate_window: Duration::from_secs(90),
        ..Setup::default()
    };
    let config = stream_config(&setup);
    assert_eq!(
        config.name,
        "TASKS",
        "the stream is named TASKS; {}",
        STREAM.hint()
    );
    assert_eq!(
        config.retention,
        stream::RetentionPolicy::WorkQueue,
        "a task must stay until a worker acknowledges it, and then go: work-queue retention; {}",
        STREAM.hint()
    );
    assert!(
        config.subjects == ["tasks.*"] || config.subjects == ["tasks.>"],
        "the stream must take every task subject (tasks.add, tasks.divide, …) and nothing else, \
         got {:?}; {}",
        config.subjects,
        STREAM.hint()
    );
    assert_eq!(
        (config.num_replicas, config.duplicate_window),
        (3, Duration::from_secs(90)),
        "replicas and the duplicate window come from the Setup; {}",
        STREAM.hint()
    );
}

#[test]
fn step1_submitted_tasks_wait_in_the_stream_queued() {
    let server = nats_server();
    let url = server.url();
    let (events, stored, last_divide) = run("three tasks submitted", PUBLISH, move || async move {
        let recorded = Recorded::default();
        let config = ControllerConfig {
            setup: quick_setup(),
            ..ControllerConfig::new(std::slice::from_ref(&url))
        };
        let mut controller = Controller::connect(&config, recorded.sink())
            .await
            .unwrap_or_else(|error| {
                panic!("the controller connects, got {error}; {}", STREAM.hint())
            });
        for (id, a, op, b) in [
            ("a1", 10, Op::Add, 5),
            ("d1", 6, Op::Divide, 3),
            ("m1", 12, Op::Multiply, 12),
        ] {
            controller
                .submit(task(id, a, op, b))
                .await
                .unwrap_or_else(|error| {
                    panic!("task {id} is stored, got {error}; {}", PUBLISH.hint())
                });
        }
        let (_, stored) = stream_state(&url).await;
        let context = raw(&url).await;
        let tasks = context
            .get_stream(setup::STREAM)
            .await
            .expect("the stream exists");
        let last_divide = tasks
            .raw_message_builder()
            .last_by_subject("tasks.divide")
            .send()
            .await
            .map(|message| message.payload.to_vec())
            .map_err(|error| error.to_string());
        (recorded.all(), stored, last_divide)
    });
    assert_eq!(
        stored,
        3,
        "three tasks submitted and no worker: all three must wait in the stream; {}",
        STREAM.hint()
    );
    let queued: Vec<(String, String)> = events
        .iter()
        .filter_map(|event| match event {
            Event::Queued { id, subject, .. } => Some((id.clone(), subject.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        queued,
        [
            ("a1".to_owned(), "tasks.add".to_owned()),
            ("d1".to_owned(), "tasks.divide".to_owned()),
            ("m1".to_owned(), "tasks.multiply".to_owned()),
        ],
        "each task is reported Queued on its kind's subject; events: {events:?}; {}",
        PUBLISH.hint()
    );
    let payload = last_divide.unwrap_or_else(|error| {
        panic!(
            "expected the divide task on subject tasks.divide, got {error}; {}",
            PUBLISH.hint()
        )
    });
    let decoded = <pb::Task as prost::Message>::decode(payload.as_slice());
    assert_eq!(
        decoded.ok(),
        Some(task("d1", 6, Op::Divide, 3)),
        "the message on tasks.divide must be the original's Task, protobuf-encoded; {}",
        PUBLISH.hint()
    );
}

#[test]
fn step1_a_task_sent_twice_is_stored_once() {
    let server = nats_server();
    let url = server.url();
    let (events, stored) = run("one task sent twice", PUBLISH, move || async move {
        let recorded = Recorded::default();
        let mut controller = controller(&url, Setup::default(), recorded.sink()).await;
        for _ in 0..2 {
            controller
                .submit(task("same", 1, Op::Add, 1))
                .await
                .unwrap_or_else(|error| {
                    panic!("the task is accepted, got {error}; {}", PUBLISH.hint())
                });
        }
        (recorded.all(), stream_state(&url).await.1)
    });
    assert_eq!(
        stored,
        1,
        "the task id is the message id (Nats-Msg-Id): a resend within the duplicate window is \
         stored once; events: {events:?}; {}",
        PUBLISH.hint()
    );
    assert!(
        events
            .iter()
            .any(|event| matches!(event, Event::Duplicate { id } if id == "same")),
        "the second send should be reported as a Duplicate; events: {events:?}; {}",
        PUBLISH.hint()
    );
}

#[test]
fn step1_bad_tasks_are_refused_before_they_are_stored() {
    let server = nats_server();
    let url = server.url();
    let (refused, stored) = run("three bad tasks", PUBLISH, move || async move {
        let mut controller = controller(&url, Setup::default(), Recorded::default().sink()).await;
        let bad = [
            pb::Task {
                r#type: 0,
                ..task("u", 1, Op::Add, 1)
            },
            pb::Task {
                processing_time: -1.0,
                ..task("p", 1, Op::Add, 1)
            },
            task("not an id", 1, Op::Add, 1),
        ];
        let mut refused = Vec::new();
        for bad in bad {
            refused.push(controller.submit(bad).await.is_err());
        }
        (refused, stream_state(&url).await.1)
    });
    assert_eq!(
        (refused, stored),
        (vec![true, true, true], 0),
        "a task with no type, a negative processing_time, or an id that cannot be a key must be \
         refused with an error and never stored; {}",
        PUBLISH.hint()
    );
}
