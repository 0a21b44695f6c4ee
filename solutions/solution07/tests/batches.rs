// The fast path of "Measure it": a controller that keeps many publishes in flight
// (`submit_all`) and workers that take several tasks per request (`with_batch`)
// must keep every guarantee of the one-at-a-time path — each task confirmed
// before it counts, run only by a worker of its kind, decided exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use solution02::{Op, Shutdown, TaskSpec};
use solution07::controller::{Controller, ControllerConfig, ControllerError};
use solution07::event::{Event, EventSink};
use solution07::pb;
use solution07::server::NatsServer;
use solution07::task::new_task;
use solution07::worker::{self, WorkerConfig};

const LIMIT: Duration = Duration::from_secs(60);

fn task(n: i64) -> pb::Task {
    // Even tasks add, odd ones divide; every 50th divides by zero.
    let (op, b) = match n % 2 {
        0 => (Op::Add, 1),
        _ if n % 50 == 1 => (Op::Divide, 0),
        _ => (Op::Divide, 2),
    };
    new_task(format!("t{n}"), TaskSpec { op, a: n, b })
}

#[test]
fn batched_workers_and_pipelined_submissions_decide_every_task_once() {
    let server = NatsServer::start().unwrap_or_else(|error| panic!("{error}"));
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let recorded = Arc::clone(&events);
    let sink: EventSink = Arc::new(move |event: &Event| {
        if let Ok(mut events) = recorded.lock() {
            events.push(event.clone());
        }
    });
    let tasks: i64 = 600;
    let (outcomes, refused, late) = runtime.block_on(async {
        tokio::time::timeout(LIMIT, async {
            let servers = vec![url.clone()];
            let stop = Shutdown::new();
            let mut workers = Vec::new();
            for (name, kind) in [
                ("Adder", pb::TaskType::Add),
                ("Divider", pb::TaskType::Divide),
            ] {
                let config = WorkerConfig::new(&servers, name, &[kind]).with_batch(16);
                workers.push(tokio::spawn(worker::run(
                    config,
                    Arc::clone(&sink),
                    stop.clone(),
                )));
            }
            let mut controller =
                Controller::connect(&ControllerConfig::new(&servers), sink.clone())
                    .await
                    .expect("the controller connects");
            controller
                .submit_all((0..tasks).map(task))
                .await
                .expect("every task is stored");
            assert_eq!(
                controller.pending(),
                tasks as usize,
                "all counted as submitted"
            );
            let outcomes = controller.wait(&Shutdown::new()).await.expect("outcomes");
            // A bad task in the middle stops the batch, and the task before it
            // is still stored, confirmed and followed.
            let mut bad = task(tasks);
            bad.r#type = 0;
            let refused = controller
                .submit_all([task(tasks + 2), bad, task(tasks + 4)])
                .await;
            let late = controller.wait(&Shutdown::new()).await.expect("outcomes");
            stop.stop();
            for handle in workers {
                let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
            }
            (outcomes, refused, late)
        })
        .await
        .expect("everything decided within the limit")
    });

    let mut by_id: BTreeMap<String, Vec<pb::nats::Outcome>> = BTreeMap::new();
    for outcome in outcomes {
        let id = outcome.result.clone().unwrap_or_default().task_id;
        by_id.entry(id).or_default().push(outcome);
    }
    assert_eq!(by_id.len(), tasks as usize, "every task has an outcome");
    for n in 0..tasks {
        let decided = &by_id[&format!("t{n}")];
        assert_eq!(decided.len(), 1, "t{n} decided once: {decided:?}");
        let outcome = &decided[0];
        let result = outcome.result.clone().unwrap_or_default();
        let expected = task(n);
        if expected.r#type == i32::from(pb::TaskType::Add) {
            assert_eq!(outcome.worker, "Adder", "t{n} went to its kind's worker");
            assert_eq!(result.value, n + 1, "t{n}");
        } else {
            assert_eq!(outcome.worker, "Divider", "t{n} went to its kind's worker");
            if expected.operand2 == 0 {
                assert_eq!(result.status, i32::from(pb::TaskStatus::Failed), "t{n}");
            } else {
                assert_eq!(result.value, n / 2, "t{n}");
            }
        }
    }
    let bad_id = format!("t{tasks}");
    assert!(
        matches!(&refused, Err(ControllerError::BadTask { id, .. }) if *id == bad_id),
        "the bad task is refused by its id, got {refused:?}"
    );
    let late: Vec<String> = late
        .iter()
        .map(|outcome| outcome.result.clone().unwrap_or_default().task_id)
        .collect();
    assert_eq!(
        late,
        vec![format!("t{}", tasks + 2)],
        "only the task before it was sent"
    );
    let finished = events
        .lock()
        .map(|events| {
            events
                .iter()
                .filter(|event| matches!(event, Event::Finished { .. }))
                .count()
        })
        .unwrap_or_default();
    assert_eq!(
        finished,
        tasks as usize + 1,
        "no task ran to completion twice"
    );
}
