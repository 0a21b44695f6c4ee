//! A small client for network mode: sends tasks as JSON lines and reads one reply per
//! task. What `dispatcher_worker --connect` runs.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::protocol::{self, Reply};
use crate::task::{Task, TaskId};

/// Why talking to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not connect to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("lost the connection to the server: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server sent a line that is not a reply: {0}")]
    BadReply(String),
    #[error("the server closed the connection with {missing} task(s) unanswered")]
    ClosedEarly { missing: usize },
}

/// Sends `tasks` to the server at `address` and calls `on_reply` for each reply as
/// it arrives; returns once every task is answered. Gives up if the server is
/// silent for `timeout`.
pub fn send_tasks(
    address: impl ToSocketAddrs + std::fmt::Display,
    tasks: &[Task],
    timeout: Duration,
    mut on_reply: impl FnMut(&Reply),
) -> Result<Vec<Reply>, ClientError> {
    let stream = TcpStream::connect(&address).map_err(|source| ClientError::Connect {
        address: address.to_string(),
        source,
    })?;
    stream.set_read_timeout(Some(timeout))?;

    let mut writer = stream.try_clone()?;
    for task in tasks {
        writer.write_all(protocol::request_line(task).as_bytes())?;
    }
    writer.flush()?;

    let mut unanswered: HashSet<TaskId> = tasks.iter().map(|task| task.id).collect();
    let mut replies = Vec::with_capacity(tasks.len());
    let mut lines = BufReader::new(stream).lines();
    while !unanswered.is_empty() {
        let Some(line) = lines.next().transpose()? else {
            return Err(ClientError::ClosedEarly {
                missing: unanswered.len(),
            });
        };
        let reply: Reply =
            serde_json::from_str(&line).map_err(|_| ClientError::BadReply(line.clone()))?;
        if let Some(id) = reply.id {
            unanswered.remove(&id);
        }
        on_reply(&reply);
        replies.push(reply);
    }
    let _ = writer.shutdown(Shutdown::Write);
    Ok(replies)
}
