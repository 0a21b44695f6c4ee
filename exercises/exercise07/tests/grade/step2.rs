//! Step 2 — The worker: a shared consumer per kind, heartbeats, one outcome per task.

use super::*;
use async_nats::jetstream::consumer;
use exercise07::results::Recorded as Fence;
use exercise07::setup::consumer_config;
use futures_util::StreamExt;

#[test]
fn step2_one_consumer_per_kind_with_the_lease_and_max_attempts() {
    let setup = Setup {
        lease: Duration::from_secs(7),
        max_attempts: 4,
        replicas: 3,
        ..Setup::default()
    };
    let config = consumer_config(pb::TaskType::Divide, &setup);
    assert_eq!(
        (
            config.durable_name.as_deref(),
            config.filter_subject.as_str()
        ),
        (Some("divide"), "tasks.divide"),
        "every worker that runs Divide shares one durable consumer, `divide`, filtered to \
         tasks.divide; {}",
        CONSUMERS.hint()
    );
    assert_eq!(
        (
            config.ack_policy,
            config.ack_wait,
            config.max_deliver,
            config.num_replicas
        ),
        (consumer::AckPolicy::Explicit, Duration::from_secs(7), 4, 3),
        "each task is acknowledged on its own (explicit), ack_wait is the lease, max_deliver the \
         max attempts, and the consumer has the stream's replicas; {}",
        LEASE.hint()
    );
}

#[test]
fn step2_the_first_outcome_recorded_wins() {
    let server = nats_server();
    let url = server.url();
    let (first, second) = run("two outcomes for one task", ONCE, move || async move {
        let engine = engine(&url, &quick_setup()).await;
        let ours = results::outcome("t1", "Worker1", 1, Ok(4));
        let theirs = results::outcome("t1", "Worker2", 2, Ok(4));
        let first = results::record(&engine.results, "t1", &ours)
            .await
            .map_err(|e| e.to_string());
        let second = results::record(&engine.results, "t1", &theirs)
            .await
            .map_err(|e| e.to_string());
        (first, second)
    });
    assert_eq!(
        first,
        Ok(Fence::First),
        "the first outcome of a task is recorded; {}",
        ONCE.hint()
    );
    match second {
        Ok(Fence::Already(stored)) => assert_eq!(
            stored.worker,
            "Worker1",
            "a second outcome must be refused, answering the first one; {}",
            ONCE.hint()
        ),
        other => panic!(
            "a second outcome for the same task must be refused with the first one \
             (Recorded::Already), got {other:?}; {}",
            ONCE.hint()
        ),
    }
}

#[test]
fn step2_tasks_go_only_to_workers_of_their_kind_and_wait_for_one() {
    let server = nats_server();
    let url = server.url();
    let (sum, waiting_while_no_divider, quotient, zero, events) =
        run("routing by capability", CONSUMERS, move || async move {
            let recorded = Recorded::default();
            let mut controller =
                controller(&url, Setup::default(), Recorded::default().sink()).await;
            for (id, a, op, b) in [
                ("sum", 10, Op::Add, 5),
                ("quot", 17, Op::Divide, 5),
                ("zero", 6, Op::Divide, 0),
            ] {
                controller
                    .submit(task(id, a, op, b))
                    .await
                    .expect("the task is stored");
            }
            let adder =
                WorkerConfig::new(std::slice::from_ref(&url), "Adder", &[pb::TaskType::Add]);
            let (stop_adder, adder) = spawn_worker(adder, recorded.sink());
            let sum = outcome_of(&url, "sum", CONSUMERS).await;
            // Give the adder time to (wrongly) take a divide task.
            tokio::time::sleep(Duration::from_millis(700)).await;
            let waiting = stream_state(&url).await.1;
            let divider = WorkerConfig::new(
                std::slice::from_ref(&url),
                "Divider",
                &[pb::TaskType::Divide],
            );
            let (stop_divider, divider) = spawn_worker(divider, recorded.sink());
            let quotient = outcome_of(&url, "quot", CONSUMERS).await;
            let zero = outcome_of(&url, "zero", ONCE).await;
            stop_adder.stop();
            stop_divider.stop();
            let _ = tokio::time::timeout(Duration::from_secs(5), adder).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), divider).await;
            (sum, waiting, quotient, zero, recorded.all())
        });
    assert_eq!(
        (value_of(&sum), sum.worker.as_str()),
        ((DONE, 15), "Adder"),
        "10 add 5 should be DONE = 15 by the only worker that runs Add; {}",
        CONSUMERS.hint()
    );
    assert_eq!(
        waiting_while_no_divider,
        2,
        "while no worker runs Divide, both divide tasks must wait in the stream (QUEUED); \
         events: {events:?}; {}",
        CONSUMERS.hint()
    );
    assert_eq!(
        (value_of(&quotient), quotient.worker.as_str()),
        ((DONE, 3), "Divider"),
        "17 divide 5 should be DONE = 3 by Divider, once it joined; {}",
        CONSUMERS.hint()
    );
    assert_eq!(
        (value_of(&zero).0, zero.worker.as_str()),
        (FAILED, "Divider"),
        "6 divide 0 is FAILED, recorded by the worker that ran it; {}",
        ONCE.hint()
    );
    assert!(
        zero.error.contains("division by zero"),
        "a FAILED outcome says why, got {:?}; {}",
        zero.error,
        ONCE.hint()
    );
}

#[test]
fn step2_heartbeats_keep_a_task_longer_than_its_lease_with_its_worker() {
    let server = nats_server();
    let url = server.url();
    let (outcome, started) = run(
        "a 5 s task on a 2 s lease, two workers",
        LEASE,
        move || async move {
            let recorded = Recorded::default();
            // A lease of 2 s, heartbeats every 0.67 s: room for a busy machine.
            let setup = Setup {
                lease: Duration::from_secs(2),
                ..quick_setup()
            };
            let mut controller = controller(&url, setup.clone(), Recorded::default().sink()).await;
            let mut handles = Vec::new();
            for name in ["W1", "W2"] {
                let worker =
                    WorkerConfig::new(std::slice::from_ref(&url), name, &[pb::TaskType::Add])
                        .with_lease(setup.lease);
                handles.push(spawn_worker(worker, recorded.sink()));
            }
            controller
                .submit(pb::Task {
                    processing_time: 5.0,
                    ..task("long", 1, Op::Add, 2)
                })
                .await
                .expect("the task is stored");
            let outcome = outcome_of(&url, "long", LEASE).await;
            for (stop, handle) in handles {
                stop.stop();
                let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
            }
            let started: Vec<Event> = recorded
                .all()
                .into_iter()
                .filter(|event| matches!(event, Event::Started { .. }))
                .collect();
            (outcome, started)
        },
    );
    assert_eq!(
        started.len(),
        1,
        "a worker that sends in-progress acks every third of the lease keeps its task: it must \
         start exactly once, never be handed to the other worker; started: {started:?}; {}",
        LEASE.hint()
    );
    assert_eq!(
        (value_of(&outcome), outcome.attempt),
        ((DONE, 3), 1),
        "1 add 2 = 3, on the first delivery; {}",
        LEASE.hint()
    );
}

#[test]
fn step2_a_task_whose_worker_vanished_is_redelivered_and_completes_once() {
    let server = nats_server();
    let url = server.url();
    let (outcome, finished) = run("a task taken and abandoned", LEASE, move || async move {
        let recorded = Recorded::default();
        let setup = quick_setup();
        let mut controller = controller(&url, setup.clone(), Recorded::default().sink()).await;
        controller
            .submit(task("lost", 20, Op::Subtract, 8))
            .await
            .expect("the task is stored");
        // A "worker" that takes the task and dies: it never acknowledges it.
        let engine = engine(&url, &setup).await;
        let consumer = engine
            .consumer(pb::TaskType::Subtract)
            .await
            .expect("the consumer exists");
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(Duration::from_secs(5))
            .messages()
            .await
            .expect("a pull request is accepted");
        let taken = batch.next().await;
        assert!(
            matches!(taken, Some(Ok(_))),
            "the subtract consumer should deliver the task, got {taken:?}; {}",
            CONSUMERS.hint()
        );
        let worker = WorkerConfig::new(
            std::slice::from_ref(&url),
            "Rescuer",
            &[pb::TaskType::Subtract],
        )
        .with_lease(setup.lease);
        let (stop, handle) = spawn_worker(worker, recorded.sink());
        let outcome = outcome_of(&url, "lost", LEASE).await;
        stop.stop();
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        let finished = recorded
            .all()
            .into_iter()
            .filter(|event| matches!(event, Event::Finished { .. }))
            .count();
        (outcome, finished)
    });
    assert_eq!(
        (value_of(&outcome), outcome.worker.as_str(), finished),
        ((DONE, 12), "Rescuer", 1),
        "once the lease (ack_wait) of the vanished worker runs out, the task is delivered again \
         and completes once; {}",
        LEASE.hint()
    );
    assert!(
        outcome.attempt >= 2,
        "the rescue is the task's second delivery at least, got attempt {}; {}",
        outcome.attempt,
        LEASE.hint()
    );
}

#[test]
fn step2_garbage_on_a_task_subject_is_dropped_and_the_worker_goes_on() {
    let server = nats_server();
    let url = server.url();
    let (outcome, rejected, left) = run("garbage, then a task", CONSUMERS, move || async move {
        let recorded = Recorded::default();
        let mut controller = controller(&url, Setup::default(), Recorded::default().sink()).await;
        let context = raw(&url).await;
        for garbage in [&b"\xff\xfe not protobuf"[..], b"", &[0x0a; 300][..]] {
            context
                .publish("tasks.add", bytes::Bytes::copy_from_slice(garbage))
                .await
                .expect("published")
                .await
                .expect("stored");
        }
        controller
            .submit(task("fine", 2, Op::Add, 3))
            .await
            .expect("the task is stored");
        let worker = WorkerConfig::new(std::slice::from_ref(&url), "Sturdy", &[pb::TaskType::Add]);
        let (stop, handle) = spawn_worker(worker, recorded.sink());
        let outcome = outcome_of(&url, "fine", CONSUMERS).await;
        stop.stop();
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        let rejected = recorded
            .all()
            .into_iter()
            .filter(|event| matches!(event, Event::Rejected { .. }))
            .count();
        (outcome, rejected, stream_state(&url).await.1)
    });
    assert_eq!(
        (value_of(&outcome), rejected, left),
        ((DONE, 5), 3, 0),
        "three messages that are no task must each be dropped for good (reported Rejected, \
         terminated so they never come back), and the task after them done; {}",
        CONSUMERS.hint()
    );
}
