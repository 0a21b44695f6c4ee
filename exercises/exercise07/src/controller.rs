//! The controller: publishes tasks into the stream, follows their outcomes in the
//! results bucket, and fails the ones whose deadline passes.
//!
//! The original controller kept every task in a dict and sent each to a worker it
//! had chosen; a task for a kind no worker had went nowhere, and its timeout never
//! fired. Here the controller chooses no worker at all: it publishes on the
//! task's subject and JetStream keeps the task until a worker of that kind asks —
//! QUEUED for as long as it takes. What the engine cannot know is the caller's
//! patience, so the deadline stays the controller's: when it passes, the
//! controller writes a FAILED outcome through the same once-only fence the
//! workers use, and a worker that finishes later finds the task decided.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::kv;
use async_nats::{HeaderMap, Subscriber, header};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use prost::Message;
use solution02::Shutdown;
use thiserror::Error;

use crate::event::{Event, EventSink, Speaker};
use crate::pb;
use crate::results::{self, Recorded, ResultsError};
use crate::setup::{self, Engine, RUNNING_PREFIX, STREAM, Setup, SetupError};
use crate::task::{self, BadTask, subject_for};

/// How the controller is started.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Any of the cluster's servers: `nats://127.0.0.1:4222`.
    pub servers: Vec<String>,
    pub setup: Setup,
    /// How often deadlines are checked, and stragglers looked up.
    pub poll: Duration,
}

impl ControllerConfig {
    pub fn new(servers: &[String]) -> Self {
        ControllerConfig {
            servers: servers.to_vec(),
            setup: Setup::default(),
            poll: Duration::from_millis(100),
        }
    }
}

/// Why the controller could not go on.
#[derive(Debug, Error)]
pub enum ControllerError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("task {id} refused: {reason}")]
    BadTask { id: String, reason: BadTask },
    #[error("task {id} could not be stored: {message}")]
    Publish { id: String, message: String },
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error("cannot follow the results: {0}")]
    Follow(String),
}

/// Where JetStream announces a task delivered `max_deliver` times:
/// `…MAX_DELIVERIES.<stream>.<consumer>`.
pub const MAX_DELIVERIES_ADVISORY: &str = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES";

/// How many publishes [`Controller::submit_all`] keeps unconfirmed at most.
pub const PUBLISH_WINDOW: usize = 256;

// ANCHOR: message
/// A checked task as the stream stores it: on its kind's subject, named by its id
/// (the `Nats-Msg-Id` header), the task protobuf-encoded.
#[derive(Debug, Clone)]
pub struct TaskMessage {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}
// ANCHOR_END: message

// ANCHOR: message_for
// ANCHOR: message_for_given
/// Checks a task and makes it the message the stream stores. A task with no kind,
/// a negative `processing_time` or an id that cannot be a key is refused here,
/// before anything is published.
#[cfg_attr(workbook_todo_message_for, allow(unused_variables))]
pub fn message_for(task: &pb::Task) -> Result<TaskMessage, ControllerError> {
    // ANCHOR_END: message_for_given
    // TODO(message-for): check the task with task::check (errors become ControllerError::BadTask) and make it the message the stream stores: its kind's subject, its id as the message id, the task protobuf-encoded
    todo!("message-for — book: ch07, \"The controller publishes\"")
}
// ANCHOR_END: message_for

/// A task published by `submit_all` whose confirmation is not awaited yet.
struct InFlight {
    task: pb::Task,
    message: TaskMessage,
    submitted: Instant,
    ack: Result<PublishAckFuture, String>,
}

/// A task submitted and not yet decided.
#[derive(Debug, Clone)]
struct Pending {
    /// When the controller gives up on it, if ever.
    deadline: Option<Instant>,
    timeout: Option<Duration>,
}

/// A connected controller.
pub struct Controller {
    engine: Engine,
    events: EventSink,
    poll: Duration,
    pending: HashMap<String, Pending>,
    watch: Option<kv::Watch>,
    running: Option<Subscriber>,
    gave_up: Option<Subscriber>,
    /// Outcomes reported since `wait` began, in the order they were decided.
    decided: Vec<pb::nats::Outcome>,
}

/// A prefix that makes this run's task ids its own (`k3x9q-1`, `k3x9q-2`, …),
/// so that a second run against the same server never meets the first's
/// outcomes in the bucket.
pub fn run_prefix() -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_micros())
        .unwrap_or_default();
    let mut n = micros % 36_u128.pow(6);
    let mut text = Vec::new();
    for _ in 0..6 {
        let digit = (n % 36) as u8;
        text.push(if digit < 10 {
            b'0' + digit
        } else {
            b'a' + digit - 10
        });
        n /= 36;
    }
    text.reverse();
    String::from_utf8(text).unwrap_or_default()
}

impl Controller {
    /// Connects, makes sure the stream and the bucket exist, and starts following
    /// outcomes and RUNNING notices — before any task is sent, so none is missed.
    pub async fn connect(
        config: &ControllerConfig,
        events: EventSink,
    ) -> Result<Self, ControllerError> {
        let engine = setup::connect(&config.servers, &config.setup).await?;
        let watch = engine
            .results
            .watch_all()
            .await
            .map_err(|error| ControllerError::Follow(error.to_string()))?;
        let running = engine
            .client
            .subscribe(format!("{RUNNING_PREFIX}.>"))
            .await
            .map_err(|error| ControllerError::Follow(error.to_string()))?;
        let gave_up = engine
            .client
            .subscribe(format!("{MAX_DELIVERIES_ADVISORY}.{STREAM}.>"))
            .await
            .map_err(|error| ControllerError::Follow(error.to_string()))?;
        events(&Event::Connected {
            servers: config.servers.join(", "),
        });
        Ok(Controller {
            engine,
            events,
            poll: config.poll,
            pending: HashMap::new(),
            watch: Some(watch),
            running: Some(running),
            gave_up: Some(gave_up),
            decided: Vec::new(),
        })
    }

    // ANCHOR: submit
    /// Checks a task and stores it in the stream, on its kind's subject. A resend
    /// after a lost acknowledgement is stored once: the task id is the message id.
    pub async fn submit(&mut self, task: pb::Task) -> Result<(), ControllerError> {
        let message = message_for(&task)?;
        let submitted = Instant::now();
        let acknowledged = self.publish_until_stored(&task.id, &message).await?;
        self.stored(task, message.subject, submitted, acknowledged.duplicate);
        Ok(())
    }
    // ANCHOR_END: submit

    // ANCHOR: submit_all
    /// Submits many tasks, keeping up to [`PUBLISH_WINDOW`] publishes on the wire
    /// before waiting for their confirmations: the same checks and the same
    /// message ids as [`submit`](Self::submit), and no task counted as submitted
    /// before the stream confirmed it — but one round trip per window instead of
    /// one per task. A bad task stops it, after the tasks before it are confirmed.
    pub async fn submit_all(
        &mut self,
        tasks: impl IntoIterator<Item = pb::Task>,
    ) -> Result<(), ControllerError> {
        let mut in_flight = VecDeque::with_capacity(PUBLISH_WINDOW);
        for task in tasks {
            let message = match message_for(&task) {
                Ok(message) => message,
                Err(refused) => {
                    while let Some(sent) = in_flight.pop_front() {
                        self.confirm(sent).await?;
                    }
                    return Err(refused);
                }
            };
            if in_flight.len() == PUBLISH_WINDOW
                && let Some(sent) = in_flight.pop_front()
            {
                self.confirm(sent).await?;
            }
            let submitted = Instant::now();
            // Sent, not yet confirmed; a failure here is retried, alone, in `confirm`.
            let ack = self.publish(&message).await;
            in_flight.push_back(InFlight {
                task,
                message,
                submitted,
                ack,
            });
        }
        while let Some(sent) = in_flight.pop_front() {
            self.confirm(sent).await?;
        }
        Ok(())
    }
    // ANCHOR_END: submit_all

    /// Waits for one pipelined publish to be confirmed (publishing it again, alone,
    /// if it was not), then counts its task as submitted, as `submit` does.
    async fn confirm(&mut self, sent: InFlight) -> Result<(), ControllerError> {
        let InFlight {
            task,
            message,
            submitted,
            ack,
        } = sent;
        let confirmed = match ack {
            Ok(ack) => ack.await.map_err(|error| error.to_string()),
            Err(error) => Err(error),
        };
        let acknowledged = match confirmed {
            Ok(acknowledged) => acknowledged,
            // The same message id: stored once, however many tries it takes.
            Err(_) => self.publish_until_stored(&task.id, &message).await?,
        };
        self.stored(task, message.subject, submitted, acknowledged.duplicate);
        Ok(())
    }

    // ANCHOR: stored
    /// What happens once the stream has stored a task, for `submit` and `submit_all`
    /// alike: its deadline, counted from `submitted`, is noted in `pending`, and it
    /// is reported `Queued` — or `Duplicate`, when the stream already had its id.
    fn stored(&mut self, task: pb::Task, subject: String, submitted: Instant, duplicate: bool) {
        let timeout = task::timeout(&task);
        self.pending.insert(
            task.id.clone(),
            Pending {
                deadline: timeout.map(|limit| submitted + limit),
                timeout,
            },
        );
        (self.events)(&if duplicate {
            Event::Duplicate { id: task.id }
        } else {
            Event::Queued {
                id: task.id.clone(),
                task: task::describe(&task),
                subject,
            }
        });
    }
    // ANCHOR_END: stored

    /// Sends one message to the stream; the returned future is its confirmation.
    async fn publish(&self, message: &TaskMessage) -> Result<PublishAckFuture, String> {
        self.engine
            .jetstream
            .publish_with_headers(
                message.subject.clone(),
                message.headers.clone(),
                message.payload.clone(),
            )
            .await
            .map_err(|error| error.to_string())
    }

    /// Publishes until the stream confirms it stored the message, retrying while a
    /// server is down or a new leader is elected (the same message id each time).
    async fn publish_until_stored(
        &self,
        id: &str,
        message: &TaskMessage,
    ) -> Result<async_nats::jetstream::publish::PublishAck, ControllerError> {
        let deadline = Instant::now() + self.engine.setup.ready_within;
        loop {
            let attempt = match self.publish(message).await {
                Ok(confirmation) => confirmation.await.map_err(|error| error.to_string()),
                Err(error) => Err(error),
            };
            match attempt {
                Ok(acknowledged) => return Ok(acknowledged),
                Err(message) if Instant::now() >= deadline => {
                    return Err(ControllerError::Publish {
                        id: id.to_owned(),
                        message,
                    });
                }
                Err(message) => {
                    (self.events)(&Event::Retrying {
                        speaker: Speaker::Controller,
                        error: format!("task {id} not stored yet ({message})"),
                    });
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// How many tasks are still undecided.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Waits until every submitted task is DONE or FAILED (or `shutdown` is
    /// stopped), and answers their outcomes in the order they were decided.
    pub async fn wait(
        &mut self,
        shutdown: &Shutdown,
    ) -> Result<Vec<pb::nats::Outcome>, ControllerError> {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        shutdown.on_stop(move || {
            let _ = stop_tx.send(true);
        });
        let mut tick = tokio::time::interval(self.poll);
        let mut ticks: u64 = 0;
        while !self.pending.is_empty() && !shutdown.is_stopped() {
            tokio::select! {
                _ = stop_rx.wait_for(|stopped| *stopped) => break,
                entry = next_of(&mut self.watch) => match entry {
                    Some(Ok(entry)) if entry.operation == kv::Operation::Put => {
                        if let Ok(outcome) = results::decode(&entry.key, &entry.value) {
                            self.settle(outcome);
                        }
                    }
                    Some(_) => {}
                    // The watch ended (its server went away): look outcomes up instead.
                    None => self.watch = None,
                },
                advisory = next_of(&mut self.gave_up) => match advisory {
                    Some(message) => self.give_up(&message.payload).await?,
                    None => self.gave_up = None,
                },
                notice = next_of(&mut self.running) => match notice {
                    Some(message) => self.report_running(&message.payload),
                    None => self.running = None,
                },
                _ = tick.tick() => {
                    ticks += 1;
                    self.enforce_deadlines().await?;
                    // Without a watch, every tick; with one, a slow sweep for
                    // anything it may have missed while a server changed hands.
                    if self.watch.is_none() || ticks.is_multiple_of(20) {
                        self.look_up_stragglers().await;
                    }
                }
            }
        }
        Ok(std::mem::take(&mut self.decided))
    }

    /// A task was delivered `max_deliver` times and never acknowledged: JetStream
    /// will not deliver it again, so it would wait in the stream for ever (chapter
    /// 05's original had the same flaw). Fail it, and remove it from the stream.
    async fn give_up(&mut self, payload: &[u8]) -> Result<(), ControllerError> {
        let Ok(advisory) = serde_json::from_slice::<serde_json::Value>(payload) else {
            return Ok(());
        };
        let field = |name: &str| advisory.get(name).and_then(serde_json::Value::as_u64);
        let (Some(sequence), deliveries) = (field("stream_seq"), field("deliveries")) else {
            return Ok(());
        };
        let Ok(stored) = self.engine.tasks.get_raw_message(sequence).await else {
            return Ok(());
        };
        let Ok(task) = pb::Task::decode(stored.payload) else {
            return Ok(());
        };
        let reason = format!(
            "gave up after {} deliveries without an acknowledgement",
            deliveries.unwrap_or_default()
        );
        let attempt = deliveries.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        let ours = results::outcome(&task.id, "controller", attempt, Err(reason));
        match results::record(&self.engine.results, &task.id, &ours).await? {
            Recorded::First => self.settle(ours),
            Recorded::Already(theirs) => self.settle(theirs),
        }
        let _ = self.engine.tasks.delete_message(sequence).await;
        Ok(())
    }

    fn report_running(&self, payload: &[u8]) {
        if let Ok(running) = pb::nats::Running::decode(payload)
            && self.pending.contains_key(&running.task_id)
        {
            (self.events)(&Event::Running {
                id: running.task_id,
                worker: running.worker,
                attempt: running.attempt,
            });
        }
    }

    /// Reports an outcome the first time it is seen.
    fn settle(&mut self, outcome: pb::nats::Outcome) {
        let id = outcome
            .result
            .as_ref()
            .map(|result| result.task_id.clone())
            .unwrap_or_default();
        if self.pending.remove(&id).is_some() {
            (self.events)(&results::event_of(&outcome));
            self.decided.push(outcome);
        }
    }

    // ANCHOR: enforce_deadlines
    // ANCHOR: enforce_deadlines_given
    /// Fails every pending task whose deadline has passed — unless a worker
    /// recorded its outcome first, which then is the one reported.
    #[cfg_attr(workbook_todo_enforce_deadlines, allow(unused_variables))]
    async fn enforce_deadlines(&mut self) -> Result<(), ControllerError> {
        // ANCHOR_END: enforce_deadlines_given
        // TODO(enforce-deadlines): fail every pending task past its deadline through the same once-only fence, reporting whichever outcome won
        todo!("enforce-deadlines — book: ch07, \"Deadlines the controller enforces\"")
    }
    // ANCHOR_END: enforce_deadlines

    /// Looks up, directly in the bucket, a few of the tasks still pending.
    async fn look_up_stragglers(&mut self) {
        let some: Vec<String> = self.pending.keys().take(200).cloned().collect();
        for id in some {
            if let Ok(Some(outcome)) = results::get(&self.engine.results, &id).await {
                self.settle(outcome);
            }
        }
    }
}

/// The next item of an optional stream; never, if there is none.
async fn next_of<S: Stream + Unpin>(stream: &mut Option<S>) -> Option<S::Item> {
    match stream {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}
