//! The front door for people and programs: submit tasks, ask for one task's
//! state, the queue's statistics, or whether the dispatcher is healthy — what
//! `add_task` and `stats` run, and what tests use to drive a dispatcher — by
//! either door: a `tcp://` endpoint is the ZeroMQ socket, an `http://` URL the
//! HTTP one.

use std::thread;
use std::time::{Duration, Instant};

use solution04::connection::{Connection, ConnectionError, Patience};

use crate::door::Door;
use crate::protocol::{Health, ProtocolError, Reply, Request};
use crate::store::{NewTask, Stats, TaskId, TaskStatus, TaskView};
use solution02::Shutdown;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("task {task_id} still {status} after {waited:?}")]
    NotFinished {
        task_id: TaskId,
        status: TaskStatus,
        waited: Duration,
    },
    #[error("task {0} not found")]
    NotFound(TaskId),
    #[error("the dispatcher refused: {0}")]
    Refused(String),
    #[error("unexpected answer {0:?}")]
    Unexpected(String),
    #[error("the dispatcher's answer makes no sense: {0}")]
    BadReply(#[from] ProtocolError),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

/// A connection to a lease dispatcher, for clients. Nothing stops a call but
/// its timeout, so there is no stop flag to share.
pub struct Client(Door);

impl Client {
    /// Connects to `endpoint` (`tcp://…` or `http://…`); each call gives up
    /// after `timeout` without an answer.
    pub fn connect(endpoint: &str, timeout: Duration) -> Result<Self, ClientError> {
        let door = Door::open(&zmq::Context::new(), endpoint, timeout)?;
        Ok(Self(door))
    }

    /// One request, one answer; `NOT_FOUND` and `ERROR` become errors.
    fn call(&mut self, request: &Request) -> Result<Reply, ClientError> {
        match self.0.exchange(request, &Shutdown::new())? {
            Reply::NotFound(task_id) => Err(ClientError::NotFound(task_id)),
            Reply::Error(reason)
            | Reply::RequestFailed(reason)
            | Reply::Refused(reason)
            | Reply::StoreFailed(reason) => Err(ClientError::Refused(reason)),
            reply => Ok(reply),
        }
    }

    /// Queues a task; returns its id.
    pub fn submit(&mut self, task: &NewTask) -> Result<TaskId, ClientError> {
        match self.call(&Request::Submit(task.clone()))? {
            Reply::Submitted(task_id) => Ok(task_id),
            other => Err(ClientError::Unexpected(other.to_frame())),
        }
    }

    /// Everything the queue knows about one task.
    pub fn status(&mut self, task_id: TaskId) -> Result<TaskView, ClientError> {
        match self.call(&Request::Status(task_id))? {
            Reply::Status(view) => Ok(*view),
            other => Err(ClientError::Unexpected(other.to_frame())),
        }
    }

    /// Tasks per status and per worker.
    pub fn stats(&mut self) -> Result<Stats, ClientError> {
        match self.call(&Request::Stats)? {
            Reply::Stats(stats) => Ok(stats),
            other => Err(ClientError::Unexpected(other.to_frame())),
        }
    }

    /// Whether the dispatcher answers, and a few figures for a probe.
    pub fn health(&mut self) -> Result<Health, ClientError> {
        match self.call(&Request::Health)? {
            Reply::Healthy(health) => Ok(health),
            other => Err(ClientError::Unexpected(other.to_frame())),
        }
    }

    /// Asks every `every` until the task is COMPLETED or FAILED, for at most `limit`.
    pub fn wait_for(
        &mut self,
        task_id: TaskId,
        every: Duration,
        limit: Duration,
    ) -> Result<TaskView, ClientError> {
        let start = Instant::now();
        let mut view = self.status(task_id)?;
        while !view.status.is_final() {
            let waited = start.elapsed();
            if waited >= limit {
                let status = view.status;
                return Err(ClientError::NotFinished {
                    task_id,
                    status,
                    waited,
                });
            }
            thread::sleep(every);
            view = self.status(task_id)?;
        }
        Ok(view)
    }
}

/// A REQ connection that gives up after one unanswered request (`NoAnswer`),
/// leaving it to the caller whether and when to try again: a client reports the
/// failure, a worker backs off.
pub fn connect_once(
    context: &zmq::Context,
    endpoint: &str,
    timeout: Duration,
) -> Result<Connection, ConnectionError> {
    let patience = Patience {
        timeout,
        attempts: Some(1),
    };
    Connection::open(context, endpoint, patience, |_| {})
}
