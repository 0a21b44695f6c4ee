//! Chapter 04's wire protocol, extended with what leases need: REGISTER with
//! capabilities, HEARTBEAT with the leases a worker holds, and a lease token on
//! every task and every result. Clients use the same socket for SUBMIT, STATUS,
//! STATS and HEALTH — one port, like the original Flask queue.
//!
//! Every frame is one UTF-8 text on a REQ/REP pair:
//!
//! ```text
//! REGISTER {"worker_id": "w1", "capabilities": ["add", "primes"]}   → REGISTERED
//! HEARTBEAT {"worker_id": "w1", "leases": [{"task_id": 7, "lease_token": "9f…"}]}
//!                                                                  → HEARTBEAT_OK <renewed>
//! REQUEST_TASK {"worker_id": "w1"}  → {"task_id": 7, "kind": "add", "args": {…},
//!                                      "lease_token": "9f…", "attempt": 1, "max_attempts": 5}
//!                                   | NO_TASKS_AVAILABLE
//! RESULT:{"task_id": 7, "lease_token": "9f…", "status": "COMPLETED", "result": 15}
//!                                   → RESULT_RECEIVED | ERROR <reason>
//! SUBMIT {"kind": "primes", "args": {"limit": 1000}}  → SUBMITTED 7
//! STATUS 7 → STATUS {…} | NOT_FOUND 7        STATS → STATS {…}        HEALTH → HEALTHY {…}
//! ```
//!
//! Batches, for a worker that takes several tasks at a time (`lease_worker
//! --batch K`): one claim, one transaction, up to K leases — each with its own
//! token — and a group of results recorded in one transaction, each fenced alone.
//! A dispatcher answers both kinds; a worker that never sends a batch never sees one.
//!
//! ```text
//! REQUEST_TASKS {"worker_id": "w1", "max": 32}  → TASKS [{"task_id": 7, …, "lease_token": "9f…"}, …]
//! RESULTS [{"task_id": 7, "lease_token": "9f…", "status": "COMPLETED", "result": 15}, …]
//!                                   → RESULTS_RECEIVED [{"task_id": 7}, {"task_id": 8, "refused": "stale lease …"}]
//! ```
//!
//! And chapter 04's one round trip per task, which the lease worker uses by
//! default (`lease_worker --protocol one-trip`): finished results ride on the
//! request for the next tasks. The results are recorded first, then the claim is
//! made; a refused claim (`UNKNOWN_WORKER w1`) still answers the results.
//!
//! ```text
//! RESULT_AND_REQUEST {"worker_id": "w1", "results": [{"task_id": 7, "lease_token": "9f…", …}], "max": 1}
//!     → RECEIVED_AND_TASKS {"answers": [{"task_id": 7}], "tasks": [{"task_id": 8, …}]}
//!     | RECEIVED_AND_TASKS {"answers": […], "tasks": [], "claim_refused": "UNKNOWN_WORKER w1"}
//! ```
//!
//! A worker the dispatcher does not know (its database was replaced) is told
//! `UNKNOWN_WORKER <id>` and registers again. Anything unreadable is answered
//! with `ERROR <reason>` (`ERROR_OCCURED <reason>` for a request for work, as in
//! chapter 04), never with a panic.

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use solution04::protocol::RESULT_AND_REQUEST;
use solution04::protocol::{
    ERROR, ERROR_OCCURED, NO_TASKS_AVAILABLE, ProtocolError as FrameError, REQUEST_TASK,
    RESULT_PREFIX, RESULT_RECEIVED, quote, single_text_frame,
};

use crate::store::{
    Lease, NewTask, Outcome, Stats, TaskFailure, TaskId, TaskStatus, TaskView, parse_task_id,
};

pub const REGISTER: &str = "REGISTER";
pub const REGISTERED: &str = "REGISTERED";
pub const HEARTBEAT: &str = "HEARTBEAT";
pub const HEARTBEAT_OK: &str = "HEARTBEAT_OK";
pub const UNKNOWN_WORKER: &str = "UNKNOWN_WORKER";
pub const SUBMIT: &str = "SUBMIT";
pub const SUBMITTED: &str = "SUBMITTED";
pub const STATUS: &str = "STATUS";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const STATS: &str = "STATS";
pub const HEALTH: &str = "HEALTH";
pub const HEALTHY: &str = "HEALTHY";
pub const REQUEST_TASKS: &str = "REQUEST_TASKS";
pub const TASKS: &str = "TASKS";
pub const RESULTS: &str = "RESULTS";
pub const RESULTS_RECEIVED: &str = "RESULTS_RECEIVED";
pub const RECEIVED_AND_TASKS: &str = "RECEIVED_AND_TASKS";

/// `{"worker_id": "w1", "capabilities": ["add", "primes"]}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub worker_id: String,
    pub capabilities: Vec<String>,
}

/// One lease a worker still holds: renewed by its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLease {
    pub task_id: TaskId,
    pub lease_token: String,
}

/// `{"worker_id": "w1", "leases": […]}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub worker_id: String,
    #[serde(default)]
    pub leases: Vec<HeldLease>,
}

/// `{"worker_id": "w1"}`: who asks for work (now required: the store needs its
/// capabilities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkRequest {
    pub worker_id: String,
}

/// `{"worker_id": "w1", "max": 32}`: up to `max` tasks at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchWorkRequest {
    pub worker_id: String,
    pub max: usize,
}

/// What became of one result of a group: recorded, or refused and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultAnswer {
    pub task_id: TaskId,
    /// Why it was refused (a stale lease, a different result); absent if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

// ANCHOR: results_and_request
/// `{"worker_id": "w1", "results": […], "max": 1}`: the one-trip message —
/// the results finished since the last request, and a request for up to `max`
/// tasks (chapter 04's `RESULT_AND_REQUEST`, with leases).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsAndRequest {
    pub worker_id: String,
    #[serde(default)]
    pub results: Vec<LeasedResult>,
    pub max: usize,
}

/// `{"answers": […], "tasks": […]}`: the answer to each result, in the order
/// sent, and the leases granted (none when there is nothing to do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedAndTasks {
    pub answers: Vec<ResultAnswer>,
    pub tasks: Vec<Lease>,
    /// Why no task was handed out, when the claim was refused (the frame a
    /// `REQUEST_TASKS` would have been answered with): the results are
    /// answered all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_refused: Option<String>,
}
// ANCHOR_END: results_and_request

// ANCHOR: leased_result
/// A worker's result, with the token of the lease it ran under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeasedResult {
    pub task_id: TaskId,
    pub lease_token: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskFailure>,
}
// ANCHOR_END: leased_result

impl LeasedResult {
    pub fn new(lease: &Lease, outcome: Outcome) -> Self {
        let (status, result, error) = match outcome {
            Outcome::Completed(value) => (TaskStatus::Completed, Some(value), None),
            Outcome::Failed(failure) => (TaskStatus::Failed, None, Some(failure)),
        };
        Self {
            task_id: lease.task_id,
            lease_token: lease.lease_token.clone(),
            status,
            result,
            error,
        }
    }

    /// The outcome it reports, or why it reports none.
    pub fn outcome(&self) -> Result<Outcome, ProtocolError> {
        match (self.status, &self.error) {
            (TaskStatus::Completed, _) => Ok(Outcome::Completed(
                self.result.clone().unwrap_or(Value::Null),
            )),
            (TaskStatus::Failed, Some(failure)) => Ok(Outcome::Failed(failure.clone())),
            (TaskStatus::Failed, None) => Err(ProtocolError::FailedWithoutError),
            (other, _) => Err(ProtocolError::NotFinal(other)),
        }
    }
}

/// What `HEALTH` answers: enough for a monitoring probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub uptime_ms: u64,
    pub queued: u64,
    pub running: u64,
    pub workers_alive: u64,
}

/// A frame sent to the dispatcher, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Register(Registration),
    Heartbeat(Heartbeat),
    RequestTask(WorkRequest),
    Result(LeasedResult),
    Submit(NewTask),
    Status(TaskId),
    Stats,
    Health,
}

/// The dispatcher's answer, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Registered,
    HeartbeatOk {
        renewed: usize,
    },
    UnknownWorker(String),
    Task(Lease),
    NoTasksAvailable,
    /// `ERROR_OCCURED <reason>`: a request for work was not served.
    RequestFailed(String),
    ResultReceived,
    Submitted(TaskId),
    Status(Box<TaskView>),
    NotFound(TaskId),
    Stats(Stats),
    Healthy(Health),
    /// `ERROR <reason>`: refused, or not understood.
    Error(String),
    /// `ERROR <reason>` too, for a result refused for good: a stale lease, or a
    /// different result for the same lease.
    Refused(String),
    /// `ERROR <reason>` too, for the dispatcher's own failure: its database.
    StoreFailed(String),
}

/// Why a frame could not be understood. Its text is what the peer is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(
        "unknown request {0:?}: expected REGISTER, HEARTBEAT, REQUEST_TASK, REQUEST_TASKS, \
         RESULT:, RESULTS, RESULT_AND_REQUEST, SUBMIT, STATUS, STATS or HEALTH"
    )]
    UnknownRequest(String),
    #[error("unknown reply {0:?}")]
    UnknownReply(String),
    #[error("malformed JSON after {command}: {reason}")]
    BadJson {
        command: &'static str,
        reason: String,
    },
    #[error("{command} takes a task id, not {got:?}")]
    BadTaskId { command: &'static str, got: String },
    #[error("a batch holds 1 to {MAX_BATCH} tasks or results, not {0}")]
    BadBatch(usize),
    #[error("a FAILED result needs an \"error\" object")]
    FailedWithoutError,
    #[error("a result's status must be COMPLETED or FAILED, not {0}")]
    NotFinal(TaskStatus),
}

fn json_body<T: serde::de::DeserializeOwned>(
    command: &'static str,
    body: &str,
) -> Result<T, ProtocolError> {
    serde_json::from_str(body).map_err(|error| ProtocolError::BadJson {
        command,
        reason: error.to_string(),
    })
}

fn task_id(command: &'static str, body: &str) -> Result<TaskId, ProtocolError> {
    parse_task_id(body).ok_or_else(|| ProtocolError::BadTaskId {
        command,
        got: quote(body.trim()),
    })
}

/// Infallible for our own types: they are strings, numbers and JSON values.
fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl Request {
    /// Reads one message (its frames as received) from a peer.
    pub fn from_frames(parts: &[Vec<u8>]) -> Result<Self, ProtocolError> {
        Self::parse(single_text_frame(parts)?)
    }

    // ANCHOR: parse
    // ANCHOR: parse_given
    /// Understands one frame sent to the dispatcher.
    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        // ANCHOR_END: parse_given
        // ANCHOR: todo-protocol-parse
        if let Some(body) = frame.strip_prefix(RESULT_PREFIX) {
            let result: LeasedResult = json_body("RESULT:", body)?;
            result.outcome()?;
            return Ok(Request::Result(result));
        }
        // The command is the first word; a bare word has no body.
        let (command, body) = frame.split_once(' ').unwrap_or((frame, ""));
        match command {
            REGISTER => Ok(Request::Register(json_body(REGISTER, body)?)),
            HEARTBEAT => Ok(Request::Heartbeat(json_body(HEARTBEAT, body)?)),
            REQUEST_TASK => Ok(Request::RequestTask(json_body(REQUEST_TASK, body)?)),
            SUBMIT => Ok(Request::Submit(json_body(SUBMIT, body)?)),
            STATUS => Ok(Request::Status(task_id(STATUS, body)?)),
            STATS if body.trim().is_empty() => Ok(Request::Stats),
            HEALTH if body.trim().is_empty() => Ok(Request::Health),
            _ => Err(ProtocolError::UnknownRequest(quote(frame))),
        }
        // ANCHOR_END: todo-protocol-parse
    }
    // ANCHOR_END: parse

    pub fn to_frame(&self) -> String {
        match self {
            Request::Register(registration) => format!("{REGISTER} {}", to_json(registration)),
            Request::Heartbeat(heartbeat) => format!("{HEARTBEAT} {}", to_json(heartbeat)),
            Request::RequestTask(request) => format!("{REQUEST_TASK} {}", to_json(request)),
            Request::Result(result) => format!("{RESULT_PREFIX}{}", to_json(result)),
            Request::Submit(task) => format!("{SUBMIT} {}", to_json(task)),
            Request::Status(task_id) => format!("{STATUS} {task_id}"),
            Request::Stats => STATS.to_owned(),
            Request::Health => HEALTH.to_owned(),
        }
    }
}

impl Reply {
    pub fn to_frame(&self) -> String {
        match self {
            Reply::Registered => REGISTERED.to_owned(),
            Reply::HeartbeatOk { renewed } => format!("{HEARTBEAT_OK} {renewed}"),
            Reply::UnknownWorker(worker_id) => format!("{UNKNOWN_WORKER} {worker_id}"),
            Reply::Task(lease) => to_json(lease),
            Reply::NoTasksAvailable => NO_TASKS_AVAILABLE.to_owned(),
            Reply::RequestFailed(reason) => format!("{ERROR_OCCURED} {reason}"),
            Reply::ResultReceived => RESULT_RECEIVED.to_owned(),
            Reply::Submitted(task_id) => format!("{SUBMITTED} {task_id}"),
            Reply::Status(view) => format!("{STATUS} {}", to_json(view)),
            Reply::NotFound(task_id) => format!("{NOT_FOUND} {task_id}"),
            Reply::Stats(stats) => format!("{STATS} {}", to_json(stats)),
            Reply::Healthy(health) => format!("{HEALTHY} {}", to_json(health)),
            Reply::Error(reason) | Reply::Refused(reason) | Reply::StoreFailed(reason) => {
                format!("{ERROR} {reason}")
            }
        }
    }

    /// Understands the dispatcher's answer: what workers and clients do with it.
    /// Every `ERROR` is read as [`Reply::Error`]: only the HTTP door's status
    /// codes tell a refusal and a failure apart.
    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        let frame = frame.trim();
        if frame.starts_with('{') {
            return Ok(Reply::Task(json_body("a task", frame)?));
        }
        let (command, body) = frame.split_once(' ').unwrap_or((frame, ""));
        let text = || body.trim().to_owned();
        match command {
            REGISTERED => Ok(Reply::Registered),
            HEARTBEAT_OK => Ok(Reply::HeartbeatOk {
                renewed: body.trim().parse().unwrap_or(0),
            }),
            UNKNOWN_WORKER => Ok(Reply::UnknownWorker(text())),
            NO_TASKS_AVAILABLE => Ok(Reply::NoTasksAvailable),
            ERROR_OCCURED => Ok(Reply::RequestFailed(text())),
            RESULT_RECEIVED => Ok(Reply::ResultReceived),
            SUBMITTED => Ok(Reply::Submitted(task_id(SUBMITTED, body)?)),
            STATUS => Ok(Reply::Status(Box::new(json_body(STATUS, body)?))),
            NOT_FOUND => Ok(Reply::NotFound(task_id(NOT_FOUND, body)?)),
            STATS => Ok(Reply::Stats(json_body(STATS, body)?)),
            HEALTHY => Ok(Reply::Healthy(json_body(HEALTHY, body)?)),
            ERROR => Ok(Reply::Error(text())),
            _ => Err(ProtocolError::UnknownReply(quote(frame))),
        }
    }
}

/// The largest batch a worker may ask for: a transaction stays short.
pub const MAX_BATCH: usize = 1024;

// ANCHOR: batch_messages
/// A batch frame sent to the dispatcher, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchRequest {
    /// `REQUEST_TASKS {…}`: up to `max` leases, in one transaction.
    RequestTasks(BatchWorkRequest),
    /// `RESULTS […]`: a group of results, in one transaction, each fenced alone.
    Results(Vec<LeasedResult>),
    /// `RESULT_AND_REQUEST {…}`: results, then a claim, in one round trip.
    ResultsAndRequest(ResultsAndRequest),
}

/// The dispatcher's answer to a batch, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchReply {
    /// `TASKS […]`: the leases granted, none when there is nothing to do.
    Tasks(Vec<Lease>),
    /// `RESULTS_RECEIVED […]`: one answer per result, in the order sent.
    ResultsReceived(Vec<ResultAnswer>),
    /// `RECEIVED_AND_TASKS {…}`: the answer to a `RESULT_AND_REQUEST`.
    ReceivedAndTasks(ReceivedAndTasks),
    /// Any single answer: `UNKNOWN_WORKER`, `ERROR …`.
    Other(Reply),
}
// ANCHOR_END: batch_messages

impl BatchRequest {
    /// Reads `frame` if it is a batch (`REQUEST_TASKS`, `RESULTS`); `None` if
    /// it is not, so [`Request::parse`] reads it.
    pub fn parse(frame: &str) -> Option<Result<Self, ProtocolError>> {
        let (command, body) = frame.split_once(' ').unwrap_or((frame, ""));
        match command {
            REQUEST_TASKS => Some(json_body::<BatchWorkRequest>(REQUEST_TASKS, body).and_then(
                |request| {
                    if (1..=MAX_BATCH).contains(&request.max) {
                        Ok(BatchRequest::RequestTasks(request))
                    } else {
                        Err(ProtocolError::BadBatch(request.max))
                    }
                },
            )),
            RESULTS => Some(
                json_body::<Vec<LeasedResult>>(RESULTS, body).and_then(|results| {
                    check_results(&results)?;
                    Ok(BatchRequest::Results(results))
                }),
            ),
            RESULT_AND_REQUEST => Some(
                json_body::<ResultsAndRequest>(RESULT_AND_REQUEST, body).and_then(|request| {
                    if !(1..=MAX_BATCH).contains(&request.max) {
                        return Err(ProtocolError::BadBatch(request.max));
                    }
                    check_results(&request.results)?;
                    Ok(BatchRequest::ResultsAndRequest(request))
                }),
            ),
            _ => None,
        }
    }

    pub fn to_frame(&self) -> String {
        match self {
            BatchRequest::RequestTasks(request) => format!("{REQUEST_TASKS} {}", to_json(request)),
            BatchRequest::Results(results) => format!("{RESULTS} {}", to_json(results)),
            BatchRequest::ResultsAndRequest(request) => {
                format!("{RESULT_AND_REQUEST} {}", to_json(request))
            }
        }
    }
}

impl BatchReply {
    pub fn to_frame(&self) -> String {
        match self {
            BatchReply::Tasks(leases) => format!("{TASKS} {}", to_json(leases)),
            BatchReply::ResultsReceived(answers) => {
                format!("{RESULTS_RECEIVED} {}", to_json(answers))
            }
            BatchReply::ReceivedAndTasks(received) => {
                format!("{RECEIVED_AND_TASKS} {}", to_json(received))
            }
            BatchReply::Other(reply) => reply.to_frame(),
        }
    }

    /// Understands the dispatcher's answer to a batch.
    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        let frame = frame.trim();
        let (command, body) = frame.split_once(' ').unwrap_or((frame, ""));
        match command {
            TASKS => Ok(BatchReply::Tasks(json_body(TASKS, body)?)),
            RESULTS_RECEIVED => Ok(BatchReply::ResultsReceived(json_body(
                RESULTS_RECEIVED,
                body,
            )?)),
            RECEIVED_AND_TASKS => Ok(BatchReply::ReceivedAndTasks(json_body(
                RECEIVED_AND_TASKS,
                body,
            )?)),
            _ => Ok(BatchReply::Other(Reply::parse(frame)?)),
        }
    }
}

/// A group of results (`RESULTS`, `RESULT_AND_REQUEST`): at most [`MAX_BATCH`],
/// each one final, a FAILED one with its error.
fn check_results(results: &[LeasedResult]) -> Result<(), ProtocolError> {
    if results.len() > MAX_BATCH {
        return Err(ProtocolError::BadBatch(results.len()));
    }
    for result in results {
        result.outcome()?;
    }
    Ok(())
}
