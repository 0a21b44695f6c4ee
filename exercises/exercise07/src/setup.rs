//! What the engine is told once, and then does for us: the stream that keeps the
//! tasks, the consumers that hand them out, the bucket that keeps the outcomes.
//!
//! Chapter 05 wrote a store (SQLite), leases (a column and a clock), heartbeats
//! (an UPDATE) and a monitor (a loop that finds expired leases). Here each one is
//! a line of configuration: a **work-queue stream** keeps every task until a worker
//! acknowledges it; a durable **pull consumer** per kind hands each task to one
//! worker at a time, takes it back when `ack_wait` passes without word from that
//! worker (the lease), and gives up after `max_deliver` deliveries (max attempts);
//! a **key-value bucket** keeps one outcome per task, written once.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, kv, stream};
use thiserror::Error;

use crate::pb;
use crate::task::{SUBJECT_PREFIX, kind_name, subject_for};

/// The stream every task is stored in.
pub const STREAM: &str = "TASKS";

/// The key-value bucket of outcomes, one per task id.
pub const RESULTS: &str = "results";

/// Core NATS subjects (nothing stored) on which workers say they started a task:
/// `running.<task id>`.
pub const RUNNING_PREFIX: &str = "running";

/// How the engine is configured: the same for the controller and every worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// Copies of the stream, consumers and bucket: 1 on one server, 3 in a cluster.
    pub replicas: usize,
    /// How long a worker may hold a task without a word before it is handed to
    /// another: chapter 05's lease.
    pub lease: Duration,
    /// How many times a task is delivered at most: chapter 05's max_attempts.
    pub max_attempts: u32,
    /// How long a task id is remembered, so that a resent task is stored once.
    pub duplicate_window: Duration,
    /// How long an outcome is kept in the bucket.
    pub keep_results: Duration,
    /// How long to keep retrying while a new cluster elects its leaders.
    pub ready_within: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            replicas: 1,
            lease: Duration::from_secs(30),
            max_attempts: 3,
            duplicate_window: Duration::from_secs(120),
            keep_results: Duration::from_secs(3600),
            ready_within: Duration::from_secs(30),
        }
    }
}

/// The engine refused, or could not be reached.
#[derive(Debug, Error)]
pub enum SetupError {
    #[error("cannot reach nats-server at {servers}: {message}")]
    Connect { servers: String, message: String },
    #[error("cannot create the {what}: {message}")]
    Create { what: String, message: String },
}

/// A connection and the three things every role needs.
#[derive(Clone)]
pub struct Engine {
    pub client: async_nats::Client,
    pub jetstream: jetstream::Context,
    pub tasks: stream::Stream,
    pub results: kv::Store,
    pub setup: Setup,
}

// ANCHOR: stream_config
// ANCHOR: stream_config_given
/// The stream of tasks: every `tasks.*` subject, kept until acknowledged.
#[cfg_attr(workbook_todo_stream_config, allow(unused_variables))]
pub fn stream_config(setup: &Setup) -> stream::Config {
    // ANCHOR_END: stream_config_given
    // TODO(stream-config): the TASKS stream: every task subject, work-queue retention, the Setup's replicas and duplicate window
    todo!("stream-config — book: ch07, \"The work-queue stream\"")
}
// ANCHOR_END: stream_config

// ANCHOR: consumer_config
// ANCHOR: consumer_config_given
/// The pull consumer every worker that runs `kind` shares: one per kind, because
/// a work-queue stream lets only one consumer take each subject (and 2.9 has no
/// consumer with several filters).
#[cfg_attr(workbook_todo_consumer_config, allow(unused_variables))]
pub fn consumer_config(kind: pb::TaskType, setup: &Setup) -> consumer::pull::Config {
    // ANCHOR_END: consumer_config_given
    // TODO(consumer-config): the durable pull consumer of one kind: its name, its one filter subject, explicit acks, ack_wait = the lease, max_deliver = max attempts
    todo!("consumer-config — book: ch07, \"Consumers: one per kind, shared by its workers\"")
}
// ANCHOR_END: consumer_config

/// The durable consumer of a kind: `add`.
pub fn consumer_name(kind: pb::TaskType) -> String {
    kind_name(kind).to_owned()
}

/// The bucket of outcomes. A key-value bucket *is* a stream, `KV_results`, on
/// subjects `$KV.results.<key>`, keeping the last message per subject; this is the
/// configuration async-nats's `create_key_value` would send, written out because
/// that call first asks for account details in a shape Debian's 2.9 does not send.
pub fn results_stream_config(setup: &Setup) -> stream::Config {
    stream::Config {
        name: format!("KV_{RESULTS}"),
        subjects: vec![format!("$KV.{RESULTS}.>")],
        max_messages_per_subject: 1,
        max_age: setup.keep_results,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: setup.replicas,
        ..Default::default()
    }
}

/// Connects to any of `servers` (a client fails over between them), and creates
/// the stream and the bucket if they do not exist yet — or finds them, if they
/// do. A new cluster answers "no leader" for a few seconds: retried until
/// `setup.ready_within`.
pub async fn connect(servers: &[String], setup: &Setup) -> Result<Engine, SetupError> {
    let joined = servers.join(",");
    let addresses = servers
        .iter()
        .map(|server| server.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| SetupError::Connect {
            servers: joined.clone(),
            message: error.to_string(),
        })?;
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .connect(addresses)
        .await
        .map_err(|error| SetupError::Connect {
            servers: joined.clone(),
            message: error.to_string(),
        })?;
    let mut jetstream = jetstream::new(client.clone());
    jetstream.set_timeout(Duration::from_secs(5));
    let deadline = Instant::now() + setup.ready_within;
    let tasks = retry(deadline, "stream TASKS", || {
        jetstream.get_or_create_stream(stream_config(setup))
    })
    .await?;
    retry(deadline, "bucket results", || {
        jetstream.get_or_create_stream(results_stream_config(setup))
    })
    .await?;
    let results = retry(deadline, "bucket results", || {
        jetstream.get_key_value(RESULTS)
    })
    .await?;
    Ok(Engine {
        client,
        jetstream,
        tasks,
        results,
        setup: setup.clone(),
    })
}

/// Retries `attempt` every quarter second until it succeeds or `deadline` passes.
async fn retry<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    deadline: Instant,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<T, SetupError> {
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() >= deadline => {
                return Err(SetupError::Create {
                    what: what.to_owned(),
                    message: error.to_string(),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

impl Engine {
    /// The shared consumer of `kind`, created by the first worker that asks.
    pub async fn consumer(
        &self,
        kind: pb::TaskType,
    ) -> Result<consumer::Consumer<consumer::pull::Config>, SetupError> {
        let deadline = Instant::now() + self.setup.ready_within;
        let name = consumer_name(kind);
        retry(deadline, &format!("consumer {name}"), || {
            self.tasks
                .get_or_create_consumer(&name, consumer_config(kind, &self.setup))
        })
        .await
    }
}
