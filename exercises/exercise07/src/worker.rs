//! A worker: pulls tasks of the kinds it can run, one at a time (or `batch` at a
//! time), and records each outcome once.
//!
//! `nats_worker -w Worker1 -c Add Divide` binds to the shared pull consumers
//! `add` and `divide` (creating them if it is the first) and asks for one task at
//! a time, emptying one kind's consumer before the next's. With a `batch` of 64
//! it asks for as many tasks as it has room for in one request and runs them side
//! by side: fewer round trips per task, and every task it holds is running.
//!
//! While a task runs, the worker tells the server every third of the lease that
//! it is still at it — an *in-progress* acknowledgement, chapter 05's heartbeat. When it is done it writes the outcome through the fence of
//! [`results::record`] and only then acknowledges the task, which removes it from
//! the stream. A worker killed half-way acknowledges nothing: when the lease
//! (`ack_wait`) runs out the server hands the task to the next worker that asks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use prost::Message;
use solution02::Shutdown;
use thiserror::Error;
use tokio::task::JoinSet;

use crate::event::{Event, EventSink, Speaker};
use crate::pb;
use crate::results::{self, Recorded};
use crate::setup::{self, Engine, RUNNING_PREFIX, Setup, SetupError};
use crate::task::{self, kind_name};

/// How a worker is started.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Any of the cluster's servers: `nats://127.0.0.1:4222`.
    pub servers: Vec<String>,
    /// The name it reports as, `Worker1`.
    pub name: String,
    /// The kinds it runs.
    pub capabilities: Vec<pb::TaskType>,
    pub setup: Setup,
    /// How often a running task's lease is renewed: a third of the lease.
    pub heartbeat_every: Duration,
    /// How long a request for a task waits when every kind was empty.
    pub fetch_wait: Duration,
    /// How many tasks it holds and runs at once, asked for in one request: 1,
    /// one at a time, as the original; more, fewer round trips per task.
    pub batch: usize,
}

impl WorkerConfig {
    pub fn new(servers: &[String], name: &str, capabilities: &[pb::TaskType]) -> Self {
        let setup = Setup::default();
        WorkerConfig {
            servers: servers.to_vec(),
            name: name.to_owned(),
            capabilities: capabilities.to_vec(),
            heartbeat_every: setup.lease / 3,
            setup,
            fetch_wait: Duration::from_millis(250),
            batch: 1,
        }
    }

    /// Up to `batch` tasks per request, run side by side.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The same lease everywhere, and heartbeats three times per lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.setup.lease = lease;
        self.heartbeat_every = lease / 3;
        self
    }
}

/// Why a worker could not run.
#[derive(Debug, Error)]
pub enum WorkerError {
    #[error("a worker needs at least one capability (-c Add Divide …)")]
    NoCapabilities,
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// A task pulled from a consumer, with the delivery it came with.
type Delivery = jetstream::Message;

/// Runs the worker until `shutdown` is stopped; the tasks at hand are finished first.
pub async fn run(
    config: WorkerConfig,
    events: EventSink,
    shutdown: Shutdown,
) -> Result<(), WorkerError> {
    // `-c Add add` names one kind twice: bind its consumer once.
    let mut capabilities: Vec<pb::TaskType> = Vec::new();
    for kind in &config.capabilities {
        if !capabilities.contains(kind) {
            capabilities.push(*kind);
        }
    }
    if capabilities.is_empty() {
        return Err(WorkerError::NoCapabilities);
    }
    let engine = setup::connect(&config.servers, &config.setup).await?;
    let mut consumers = Vec::with_capacity(capabilities.len());
    for kind in &capabilities {
        consumers.push(engine.consumer(*kind).await?);
    }
    events(&Event::Ready {
        worker: config.name.clone(),
        kinds: capabilities
            .iter()
            .map(|kind| kind_name(*kind).to_owned())
            .collect(),
    });
    // Drain one kind's consumer while it has tasks, then the next kind's, with
    // requests that answer at once when there is nothing; only when a whole round
    // found nothing does one request wait, on each kind in turn, for a moment.
    // Each request asks for as many tasks as the worker has room for (`batch`),
    // and each task runs as soon as it arrives, beside the others.
    let (engine, shared) = (Arc::new(engine), Arc::new((config.clone(), events.clone())));
    let mut running: JoinSet<()> = JoinSet::new();
    let start = |delivery: Delivery, running: &mut JoinSet<()>| {
        let (engine, shared) = (Arc::clone(&engine), Arc::clone(&shared));
        running.spawn(async move {
            let (config, events) = &*shared;
            handle(&engine, config, events, delivery).await;
        });
    };
    let batch = config.batch.max(1);
    let mut next_kind = 0;
    'serving: while !shutdown.is_stopped() {
        while running.try_join_next().is_some() {}
        if running.len() >= batch {
            running.join_next().await;
            continue;
        }
        let mut found = false;
        for offset in 0..consumers.len() {
            let kind = (next_kind + offset) % consumers.len();
            let consumer = &consumers[kind];
            loop {
                if shutdown.is_stopped() {
                    break 'serving;
                }
                while running.try_join_next().is_some() {}
                let room = batch.saturating_sub(running.len());
                if room == 0 {
                    // Full: once a task ends, go on draining this same kind.
                    next_kind = kind;
                    continue 'serving;
                }
                match next_tasks(consumer, room, None, |delivery| {
                    start(delivery, &mut running)
                })
                .await
                {
                    Ok(0) => break,
                    Ok(_) => found = true,
                    Err(error) => {
                        report_retry(&config, &events, &error).await;
                        break;
                    }
                }
            }
        }
        next_kind = (next_kind + 1) % consumers.len();
        let room = batch.saturating_sub(running.len());
        if !found && room > 0 {
            let wait = Some(config.fetch_wait);
            match next_tasks(&consumers[next_kind], room, wait, |delivery| {
                start(delivery, &mut running)
            })
            .await
            {
                Ok(_) => {}
                Err(error) => report_retry(&config, &events, &error).await,
            }
        }
    }
    // The tasks at hand are finished first.
    while running.join_next().await.is_some() {}
    events(&Event::Stopping {
        worker: config.name.clone(),
    });
    Ok(())
}

/// Up to `max` tasks from `consumer`, each handed to `take` as it arrives: at
/// once, or waiting up to `wait` for them. Answers how many came.
async fn next_tasks(
    consumer: &consumer::Consumer<consumer::pull::Config>,
    max: usize,
    wait: Option<Duration>,
    mut take: impl FnMut(Delivery),
) -> Result<usize, String> {
    // A request sent to a server that dies is never answered: the worker gives
    // up on it after a while of its own, and asks again.
    let patience = wait.unwrap_or_default() + Duration::from_secs(2);
    let mut taken = 0;
    let ask = async {
        let mut batch = match wait {
            None => consumer.fetch().max_messages(max).messages().await,
            Some(wait) => {
                consumer
                    .batch()
                    .max_messages(max)
                    .expires(wait)
                    .messages()
                    .await
            }
        }
        .map_err(|error| error.to_string())?;
        while let Some(delivery) = batch.next().await {
            take(delivery.map_err(|error| error.to_string())?);
            taken += 1;
        }
        Ok(())
    };
    match tokio::time::timeout(patience, ask).await {
        Ok(Ok(())) => Ok(taken),
        // The tasks already taken run; the rest come back when their lease ends.
        Ok(Err(_)) | Err(_) if taken > 0 => Ok(taken),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(format!("no answer within {patience:?}")),
    }
}

/// A request for a task failed (a server gone, a leader being elected): say so,
/// and pause a moment before the next.
async fn report_retry(config: &WorkerConfig, events: &EventSink, error: &str) {
    events(&Event::Retrying {
        speaker: Speaker::Worker(config.name.clone()),
        error: format!("could not ask for a task: {error}"),
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
}

/// Which delivery of its task this is: 1, then 2 after a redelivery, …
fn attempt_of(delivery: &Delivery) -> u32 {
    delivery
        .info()
        .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// Decides what becomes of one delivered task, and acknowledges it accordingly.
async fn handle(engine: &Engine, config: &WorkerConfig, events: &EventSink, delivery: Delivery) {
    let worker = config.name.clone();
    let attempt = attempt_of(&delivery);
    let task = match pb::Task::decode(delivery.payload.clone())
        .map_err(|error| task::BadTask::Undecodable(error.to_string()))
        .and_then(|task| task::check(&task).map(|()| task))
    {
        Ok(task) => task,
        Err(reason) => {
            events(&Event::Rejected {
                worker,
                subject: delivery.subject.to_string(),
                reason: reason.to_string(),
            });
            // Terminal: no worker can ever run it, so it must not come back.
            let _ = delivery.ack_with(AckKind::Term).await;
            return;
        }
    };
    let id = task.id.clone();
    // Already decided (by another worker, or by the controller's deadline)? Only
    // a redelivered task or one with a deadline can be: a first delivery without
    // one skips the round trip. If the bucket cannot say just now, run it anyway:
    // `record` is the real fence.
    let maybe_decided = attempt > 1 || task::timeout(&task).is_some();
    if maybe_decided && let Ok(Some(_)) = results::get(&engine.results, &id).await {
        events(&Event::AlreadyDecided { worker, id });
        acknowledge(config, events, &delivery).await;
        return;
    }
    let running = pb::nats::Running {
        task_id: id.clone(),
        worker: worker.clone(),
        attempt,
    };
    // Only a line of the controller's output depends on it: not worth a retry.
    let _ = engine
        .client
        .publish(
            format!("{RUNNING_PREFIX}.{id}"),
            running.encode_to_vec().into(),
        )
        .await;
    events(&Event::Started {
        worker: worker.clone(),
        id: id.clone(),
        task: task::describe(&task),
        attempt,
    });
    let value = execute(&delivery, &task, config.heartbeat_every).await;
    let outcome = results::outcome(&id, &worker, attempt, value.clone());
    match record_patiently(engine, config, events, &delivery, &outcome).await {
        Ok(Recorded::First) => {
            events(&Event::Finished {
                worker,
                id,
                outcome: value,
            });
            acknowledge(config, events, &delivery).await;
        }
        Ok(Recorded::Already(_)) => {
            events(&Event::AlreadyDecided { worker, id });
            acknowledge(config, events, &delivery).await;
        }
        Err(error) => retry_later(config, events, &delivery, error.to_string()).await,
    }
}

/// Records the outcome, trying again while the bucket is unavailable (a server
/// of the cluster died and its replicas elect a new leader) — holding on to the
/// task meanwhile, so that it is not delivered again and run once more.
async fn record_patiently(
    engine: &Engine,
    config: &WorkerConfig,
    events: &EventSink,
    delivery: &Delivery,
    outcome: &pb::nats::Outcome,
) -> Result<Recorded, results::ResultsError> {
    let id = outcome
        .result
        .as_ref()
        .map(|result| result.task_id.as_str())
        .unwrap_or_default();
    let give_up = Instant::now() + config.setup.ready_within;
    loop {
        match results::record(&engine.results, id, outcome).await {
            Err(error) if Instant::now() < give_up => {
                events(&Event::Retrying {
                    speaker: Speaker::Worker(config.name.clone()),
                    error: error.to_string(),
                });
                let _ = delivery.ack_with(AckKind::Progress).await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            answer => return answer,
        }
    }
}

// ANCHOR: execute
// ANCHOR: execute_given
/// Runs a task's work on a blocking thread, renewing its lease with an
/// in-progress acknowledgement every `heartbeat_every` until it is done.
#[cfg_attr(workbook_todo_execute, allow(unused_variables))]
pub async fn execute(
    delivery: &Delivery,
    task: &pb::Task,
    heartbeat_every: Duration,
) -> Result<i64, String> {
    // ANCHOR_END: execute_given
    // TODO(execute): on a blocking thread, sleep `task::processing_time(&task)` then `task::run` it (the original's simulated work); until that is done, send an in-progress ack every `heartbeat_every`
    todo!("execute — book: ch07, \"The lease is ack_wait, the heartbeat is an in-progress ack\"")
}
// ANCHOR_END: execute

/// Removes the task from the stream. Not waiting for the server to confirm: if
/// the ack is lost, the task comes back, finds its outcome, and is dropped.
async fn acknowledge(config: &WorkerConfig, events: &EventSink, delivery: &Delivery) {
    if let Err(error) = delivery.ack().await {
        events(&Event::Retrying {
            speaker: Speaker::Worker(config.name.clone()),
            error: format!("the acknowledgement was not sent ({error})"),
        });
    }
}

/// The bucket failed: hand the task back, to be delivered again in a second.
async fn retry_later(
    config: &WorkerConfig,
    events: &EventSink,
    delivery: &Delivery,
    error: String,
) {
    events(&Event::Retrying {
        speaker: Speaker::Worker(config.name.clone()),
        error,
    });
    let _ = delivery
        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
        .await;
}
