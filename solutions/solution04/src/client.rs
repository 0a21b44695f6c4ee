//! The front door for clients: submit a task, ask for its status.
//!
//! The original took tasks from a Redis channel; here the dispatcher has a second
//! REP socket (5555 by default) next to the workers' one. Its frames are UTF-8 too:
//!
//! ```text
//! client → SUBMIT {"kind": "sleep", "args": {"ms": 100}}
//! dispatcher → SUBMITTED <task_id> | ERROR <reason>
//! client → STATUS <task_id>
//! dispatcher → STATUS {"task_id": "…", "kind": "…", "status": "COMPLETED", "result": …}
//!            | NOT_FOUND <task_id> | ERROR <reason>
//! ```

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::connection::{Connection, ConnectionError, Patience};
use crate::protocol::{ProtocolError, TaskId, quote};
use crate::store::{NewTask, TaskReport};
use solution02::Shutdown;

/// What a client asks, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientRequest {
    Submit(NewTask),
    Status(TaskId),
}

/// The dispatcher's answer to a client.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientReply {
    Submitted(TaskId),
    Status(TaskReport),
    NotFound(TaskId),
    Error(String),
}

impl ClientRequest {
    pub fn to_frame(&self) -> String {
        match self {
            // A NewTask is a string and a JSON value, which always serialize.
            ClientRequest::Submit(task) => {
                format!("SUBMIT {}", serde_json::to_string(task).unwrap_or_default())
            }
            ClientRequest::Status(task_id) => format!("STATUS {task_id}"),
        }
    }

    /// Understands one frame from a client.
    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        let (command, body) = frame.split_once(' ').unwrap_or((frame, ""));
        match command {
            "SUBMIT" => serde_json::from_str(body)
                .map(ClientRequest::Submit)
                .map_err(|error| ProtocolError::BadJson {
                    command: "SUBMIT",
                    reason: error.to_string(),
                }),
            "STATUS" if !body.trim().is_empty() => {
                Ok(ClientRequest::Status(body.trim().to_owned()))
            }
            _ => Err(ProtocolError::UnknownClientRequest(quote(frame))),
        }
    }
}

impl ClientReply {
    pub fn to_frame(&self) -> String {
        match self {
            ClientReply::Submitted(task_id) => format!("SUBMITTED {task_id}"),
            // A report is strings and JSON values, which always serialize.
            ClientReply::Status(report) => format!(
                "STATUS {}",
                serde_json::to_string(report).unwrap_or_default()
            ),
            ClientReply::NotFound(task_id) => format!("NOT_FOUND {task_id}"),
            ClientReply::Error(reason) => format!("ERROR {reason}"),
        }
    }

    pub fn parse(frame: &str) -> Result<Self, ProtocolError> {
        let (command, body) = frame.split_once(' ').unwrap_or((frame, ""));
        let body = body.trim().to_owned();
        match command {
            "SUBMITTED" => Ok(ClientReply::Submitted(body)),
            "STATUS" => serde_json::from_str(&body)
                .map(ClientReply::Status)
                .map_err(|error| ProtocolError::BadJson {
                    command: "STATUS",
                    reason: error.to_string(),
                }),
            "NOT_FOUND" => Ok(ClientReply::NotFound(body)),
            "ERROR" => Ok(ClientReply::Error(body)),
            _ => Err(ProtocolError::UnknownReply(quote(frame))),
        }
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("task {0} not found: this dispatcher never gave out that id")]
    NotFound(TaskId),
    #[error("the dispatcher refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("the dispatcher's answer makes no sense: {0}")]
    BadReply(#[from] ProtocolError),
    #[error("task {task_id} still {status} after {waited:?}")]
    StillRunning {
        task_id: TaskId,
        status: crate::protocol::TaskStatus,
        waited: Duration,
    },
}

/// Submits tasks to a dispatcher and asks about them: what `pull_client` runs.
pub struct Client {
    connection: Connection,
    stop: Shutdown,
}

impl Client {
    /// Connects to the dispatcher's client endpoint; each call gives up after
    /// `timeout` without an answer.
    pub fn connect(endpoint: &str, timeout: Duration) -> Result<Self, ClientError> {
        let patience = Patience {
            timeout,
            attempts: Some(1),
        };
        let connection = Connection::open(&zmq::Context::new(), endpoint, patience, |_| {})?;
        Ok(Self {
            connection,
            stop: Shutdown::new(),
        })
    }

    fn ask(&mut self, request: &ClientRequest) -> Result<ClientReply, ClientError> {
        let answer = self
            .connection
            .exchange(request.to_frame().as_bytes(), &self.stop)?;
        let text = String::from_utf8_lossy(&answer);
        Ok(ClientReply::parse(&text)?)
    }

    /// Queues a task; returns its id.
    pub fn submit(&mut self, kind: &str, args: Value) -> Result<TaskId, ClientError> {
        let task = NewTask {
            kind: kind.to_owned(),
            args,
        };
        match self.ask(&ClientRequest::Submit(task))? {
            ClientReply::Submitted(task_id) => Ok(task_id),
            other => Err(unexpected(other)),
        }
    }

    /// The task's state and, once it is final, its result or error.
    pub fn status(&mut self, task_id: &str) -> Result<TaskReport, ClientError> {
        match self.ask(&ClientRequest::Status(task_id.to_owned()))? {
            ClientReply::Status(report) => Ok(report),
            other => Err(unexpected(other)),
        }
    }

    /// Asks every `every` until the task is COMPLETED or FAILED, for at most `limit`.
    pub fn wait_for(
        &mut self,
        task_id: &str,
        every: Duration,
        limit: Duration,
    ) -> Result<TaskReport, ClientError> {
        let start = Instant::now();
        loop {
            let report = self.status(task_id)?;
            if report.status.is_final() {
                return Ok(report);
            }
            if start.elapsed() >= limit {
                return Err(ClientError::StillRunning {
                    task_id: report.task_id,
                    status: report.status,
                    waited: start.elapsed(),
                });
            }
            thread::sleep(every);
        }
    }
}

fn unexpected(reply: ClientReply) -> ClientError {
    match reply {
        ClientReply::NotFound(task_id) => ClientError::NotFound(task_id),
        ClientReply::Error(reason) => ClientError::Refused(reason),
        other => ClientError::BadReply(ProtocolError::UnknownReply(quote(&other.to_frame()))),
    }
}
