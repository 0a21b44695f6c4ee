//! Either front door, from the caller's side: one [`Request`], one [`Reply`],
//! over ZeroMQ (`tcp://…`) or HTTP (`http://…`).
//!
//! It exists so that the worker and the client are written once: they speak
//! requests and replies, and the endpoint they are given picks the door.

use std::time::Duration;

use solution04::connection::{Connection, ConnectionError};

use crate::client::connect_once;
use crate::http_client::{HttpConnection, is_http};
use crate::protocol::{BatchReply, BatchRequest, Reply, Request};
use solution02::Shutdown;

/// A connection to a dispatcher, by whichever door its endpoint names.
pub enum Door {
    /// A REQ socket, one try per request.
    ZeroMq(Connection),
    /// The HTTP endpoints, one try per request.
    Http(HttpConnection),
}

impl Door {
    /// `http://HOST:PORT` is the HTTP door; anything else is a ZeroMQ endpoint.
    /// Each request gives up after `timeout` without an answer.
    pub fn open(
        context: &zmq::Context,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<Self, ConnectionError> {
        if is_http(endpoint) {
            Ok(Door::Http(HttpConnection::new(endpoint, timeout)))
        } else {
            connect_once(context, endpoint, timeout).map(Door::ZeroMq)
        }
    }

    /// Sends `request` and waits for its reply. An answer that makes no sense
    /// is a [`Reply::Error`] saying so; no answer is [`ConnectionError::NoAnswer`].
    pub fn exchange(
        &mut self,
        request: &Request,
        stop: &Shutdown,
    ) -> Result<Reply, ConnectionError> {
        match self {
            Door::ZeroMq(connection) => {
                let answer = connection.exchange(request.to_frame().as_bytes(), stop)?;
                let text = String::from_utf8_lossy(&answer);
                Ok(Reply::parse(&text)
                    .unwrap_or_else(|error| Reply::Error(format!("unreadable answer: {error}"))))
            }
            Door::Http(connection) => connection.exchange(request, stop),
        }
    }

    /// Sends a batch (`REQUEST_TASKS`, `RESULTS`) and waits for its reply.
    pub fn exchange_batch(
        &mut self,
        request: &BatchRequest,
        stop: &Shutdown,
    ) -> Result<BatchReply, ConnectionError> {
        match self {
            Door::ZeroMq(connection) => {
                let answer = connection.exchange(request.to_frame().as_bytes(), stop)?;
                let text = String::from_utf8_lossy(&answer);
                Ok(BatchReply::parse(&text).unwrap_or_else(|error| {
                    BatchReply::Other(Reply::Error(format!("unreadable answer: {error}")))
                }))
            }
            Door::Http(connection) => connection.exchange_batch(request, stop),
        }
    }
}
