//! One outcome per task, written once: the key-value bucket `results`.
//!
//! JetStream delivers a task *at least* once: a worker that crashes after
//! computing, or whose acknowledgement is lost when a server dies, has its task
//! handed to another. So two workers can finish the same task. Chapter 05 fenced
//! stale results with a lease token checked in a transaction; here the fence is
//! the bucket's `create`, which writes a key only if it does not exist yet — one
//! atomic compare-and-set in the server. The first outcome wins; every later one
//! (a redelivered copy, a worker past the deadline the controller already
//! enforced) is refused and dropped. "Ran twice" may happen; "completed twice"
//! cannot.

use async_nats::jetstream::kv;
use bytes::Bytes;
use prost::Message;
use thiserror::Error;

use crate::event::Event;
use crate::pb;

/// What the fence said.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Ours is the task's outcome.
    First,
    /// The task already had this outcome; ours was dropped.
    Already(pb::nats::Outcome),
}

/// The bucket could not be written or read.
#[derive(Debug, Error)]
pub enum ResultsError {
    #[error("the results bucket failed for task {id}: {message}")]
    Bucket { id: String, message: String },
    #[error("the outcome stored for task {id} is unreadable: {message}")]
    Corrupt { id: String, message: String },
}

/// A task's outcome: DONE with its value, or FAILED with why.
pub fn outcome(
    id: &str,
    worker: &str,
    attempt: u32,
    value: Result<i64, String>,
) -> pb::nats::Outcome {
    let (status, value, error) = match value {
        Ok(value) => (pb::TaskStatus::Done, value, String::new()),
        Err(error) => (pb::TaskStatus::Failed, 0, error),
    };
    pb::nats::Outcome {
        result: Some(pb::TaskResult {
            task_id: id.to_owned(),
            status: status.into(),
            value,
            worker_id: 0,
            queued_seconds: 0.0,
        }),
        worker: worker.to_owned(),
        error,
        attempt,
    }
}

/// Reads an outcome from the bucket's bytes.
pub fn decode(id: &str, bytes: &[u8]) -> Result<pb::nats::Outcome, ResultsError> {
    pb::nats::Outcome::decode(bytes).map_err(|error| ResultsError::Corrupt {
        id: id.to_owned(),
        message: error.to_string(),
    })
}

// ANCHOR: record
// ANCHOR: record_given
/// Writes `outcome` as task `id`'s, unless the task already has one: then that
/// one is answered, and ours is dropped.
#[cfg_attr(workbook_todo_record, allow(unused_variables))]
pub async fn record(
    results: &kv::Store,
    id: &str,
    outcome: &pb::nats::Outcome,
) -> Result<Recorded, ResultsError> {
    // ANCHOR_END: record_given
    // TODO(record): write the outcome under the task id only if the task has none yet; if it has, answer the stored one
    todo!("record — book: ch07, \"Once only: the results bucket\"")
}
// ANCHOR_END: record

/// The task's outcome, if it has one yet.
pub async fn get(results: &kv::Store, id: &str) -> Result<Option<pb::nats::Outcome>, ResultsError> {
    let stored = results
        .get(id)
        .await
        .map_err(|error| ResultsError::Bucket {
            id: id.to_owned(),
            message: error.to_string(),
        })?;
    stored.map(|bytes| decode(id, &bytes)).transpose()
}

/// The controller's line for an outcome: DONE or FAILED.
pub fn event_of(outcome: &pb::nats::Outcome) -> Event {
    let result = outcome.result.clone().unwrap_or_default();
    let (id, worker, attempt) = (result.task_id, outcome.worker.clone(), outcome.attempt);
    if result.status == i32::from(pb::TaskStatus::Done) {
        Event::Done {
            id,
            value: result.value,
            worker,
            attempt,
        }
    } else {
        Event::Failed {
            id,
            error: outcome.error.clone(),
            worker,
            attempt,
        }
    }
}
