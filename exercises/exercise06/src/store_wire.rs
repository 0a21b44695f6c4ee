//! Chapter 05's store, seen from the wire: its types as protobuf messages, and
//! each of its refusals as the gRPC status a caller can act on.
//!
//! The store speaks `serde_json::Value` and Rust enums; the `.proto` speaks JSON
//! *text* and proto3 enums, so that a Python or grpcurl caller needs nothing but
//! the `.proto`. Kept apart from the servicer so the servicer reads as the
//! executor pattern and nothing else.

use serde_json::Value;
use solution03::work::DecodeError;
use solution05::store::{Lease, Stats, TaskStatus, TaskView};
use solution05::{NewTask, StoreError};
use tonic::Status;

use crate::pb;

// ANCHOR: status_of_store
// ANCHOR: status_of_store_given
/// The status a store refusal answers with. Only the store failing itself is
/// INTERNAL; everything else tells the caller what to fix.
#[cfg_attr(workbook_todo_status_of_store, allow(unused_variables))]
pub fn status_of_store(error: &StoreError) -> Status {
    // ANCHOR_END: status_of_store_given
    // TODO(status-of-store): turn each store refusal into the status a caller can act on
    todo!("status-of-store — book: ch06, \"The Dispatcher service: chapter 05's store over gRPC\"")
}
// ANCHOR_END: status_of_store

/// A kind or its arguments that no worker could ever run.
pub fn status_of_decode(error: &DecodeError) -> Status {
    Status::invalid_argument(error.to_string())
}

/// Parses JSON text from a request; empty text is `null`.
pub fn parse_json(field: &str, text: &str) -> Result<Value, Status> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text)
        .map_err(|error| Status::invalid_argument(format!("{field} is not JSON: {error}")))
}

/// A `SubmitTask` request as the store's [`NewTask`].
pub fn new_task(request: &pb::SubmitTaskRequest) -> Result<NewTask, Status> {
    Ok(NewTask {
        kind: request.kind.clone(),
        args: parse_json("args_json", &request.args_json)?,
        max_attempts: (request.max_attempts > 0).then_some(request.max_attempts),
        key: (!request.key.is_empty()).then(|| request.key.clone()),
    })
}

/// The wire status of a stored task: COMPLETED is the proto's DONE.
pub fn task_status(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Queued => pb::TaskStatus::Queued,
        TaskStatus::Running => pb::TaskStatus::Running,
        TaskStatus::Completed => pb::TaskStatus::Done,
        TaskStatus::Failed => pb::TaskStatus::Failed,
    }
}

/// The kinds a worker announces: its arithmetic capabilities by their chapter 05
/// names, then its other kinds.
pub fn kinds_of(worker: &pb::WorkerProperties) -> Result<Vec<String>, Status> {
    let mut kinds = Vec::new();
    for &capability in &worker.capabilities {
        let name = match pb::TaskType::try_from(capability) {
            Ok(pb::TaskType::Add) => "add",
            Ok(pb::TaskType::Subtract) => "subtract",
            Ok(pb::TaskType::Multiply) => "multiply",
            Ok(pb::TaskType::Divide) => "divide",
            _ => {
                return Err(Status::invalid_argument(format!(
                    "capability {capability} is not a task type"
                )));
            }
        };
        kinds.push(name.to_owned());
    }
    kinds.extend(worker.kinds.iter().cloned());
    kinds.dedup();
    Ok(kinds)
}

impl From<TaskView> for pb::TaskState {
    fn from(view: TaskView) -> Self {
        Self {
            task_id: view.task_id,
            kind: view.kind,
            args_json: view.args.to_string(),
            status: task_status(view.status).into(),
            attempts: view.attempts,
            max_attempts: view.max_attempts,
            lease_owner: view.lease_owner.unwrap_or_default(),
            result_json: view.result.map(|r| r.to_string()).unwrap_or_default(),
            error: view.error.map(|e| e.to_string()).unwrap_or_default(),
            waiting: view.waiting.unwrap_or_default(),
        }
    }
}

impl From<Lease> for pb::Lease {
    fn from(lease: Lease) -> Self {
        Self {
            task_id: lease.task_id,
            kind: lease.kind,
            args_json: lease.args.to_string(),
            lease_token: lease.lease_token,
            attempt: lease.attempt,
            max_attempts: lease.max_attempts,
        }
    }
}

impl From<Stats> for pb::StatsResponse {
    fn from(stats: Stats) -> Self {
        Self {
            queued: stats.tasks.queued,
            running: stats.tasks.running,
            done: stats.tasks.completed,
            failed: stats.tasks.failed,
            workers: stats
                .workers
                .into_iter()
                .map(|worker| pb::WorkerState {
                    id: worker.worker_id,
                    alive: worker.alive,
                    kinds: worker.capabilities,
                    last_heartbeat_ms_ago: worker.last_heartbeat_ms_ago,
                    running: worker.running,
                    completed: worker.completed,
                    failed: worker.failed,
                })
                .collect(),
        }
    }
}
