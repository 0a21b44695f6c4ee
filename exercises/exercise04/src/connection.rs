//! A REQ socket that survives a dispatcher going away: the "Lazy Pirate" pattern of
//! the ZeroMQ guide.
//!
//! A REQ socket is a strict send/receive state machine: if the answer never comes,
//! it can neither send again nor be trusted to deliver a late answer. So when an
//! answer does not arrive in time, the socket is closed (with zero linger, so the
//! unsent request is thrown away) and a fresh one is connected, and the request is
//! sent again. When the dispatcher comes back, the next attempt gets through.
//!
//! [`InFlight`] is the same idea for a DEALER socket, which may have several
//! requests out at once: the one-trip worker keeps one in flight per free thread.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use solution02::shutdown::{STOP_CHECK, Shutdown};

/// Why an exchange ended without an answer.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("no answer from {endpoint} after {attempts} attempt(s) of {timeout:?}")]
    NoAnswer {
        endpoint: String,
        attempts: u32,
        timeout: Duration,
    },
    #[error("stopped while waiting for an answer")]
    Stopped,
    #[error("ZeroMQ error talking to {endpoint}: {source}")]
    Zmq {
        endpoint: String,
        source: zmq::Error,
    },
}

/// How patient a [`Connection`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// How long to wait for each answer before reconnecting.
    pub timeout: Duration,
    /// How many times to send a request before giving up; `None`: never give up.
    pub attempts: Option<u32>,
}

/// A REQ socket connected to `endpoint`, reopened whenever an answer is late.
pub struct Connection {
    context: zmq::Context,
    endpoint: String,
    socket: zmq::Socket,
    patience: Patience,
    on_retry: Box<dyn FnMut(Duration) + Send>,
}

impl Connection {
    /// Connects (ZeroMQ connects in the background: this succeeds even if nobody
    /// listens yet). `on_retry` hears of every reconnect, with the timeout that expired.
    pub fn open(
        context: &zmq::Context,
        endpoint: &str,
        patience: Patience,
        on_retry: impl FnMut(Duration) + Send + 'static,
    ) -> Result<Self, ConnectionError> {
        let socket = connect(context, endpoint)?;
        Ok(Self {
            context: context.clone(),
            endpoint: endpoint.to_owned(),
            socket,
            patience,
            on_retry: Box::new(on_retry),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    // ANCHOR: exchange
    /// Sends `request` and returns the answer, reconnecting and resending each time
    /// an answer is later than the timeout.
    pub fn exchange(
        &mut self,
        request: &[u8],
        stop: &Shutdown,
    ) -> Result<Vec<u8>, ConnectionError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.socket
                .send(request, 0)
                .map_err(|source| self.zmq_error(source))?;
            if let Some(answer) = self.wait_for_answer(stop)? {
                return Ok(answer);
            }
            if self.patience.attempts.is_some_and(|most| attempts >= most) {
                return Err(ConnectionError::NoAnswer {
                    endpoint: self.endpoint.clone(),
                    attempts,
                    timeout: self.patience.timeout,
                });
            }
            self.reconnect()?;
        }
    }
    // ANCHOR_END: exchange

    // ANCHOR: reconnect
    /// After an unanswered request: throw the socket away and connect a fresh one.
    #[cfg_attr(workbook_todo_reconnect, allow(unused_variables))]
    fn reconnect(&mut self) -> Result<(), ConnectionError> {
        // TODO(reconnect): Lazy Pirate: tell on_retry, replace the socket with a fresh one
        todo!("reconnect — book: ch04, \"Surviving a dispatcher restart\"")
    }
    // ANCHOR_END: reconnect

    /// The answer, or `None` if the timeout passed first.
    fn wait_for_answer(&self, stop: &Shutdown) -> Result<Option<Vec<u8>>, ConnectionError> {
        let give_up = Instant::now() + self.patience.timeout;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            let slice = left.min(STOP_CHECK);
            let ready = match self.socket.poll(zmq::POLLIN, millis(slice)) {
                Ok(ready) => ready,
                // A signal (Ctrl-C) interrupted the wait: look at the stop flag.
                Err(zmq::Error::EINTR) => 0,
                Err(source) => return Err(self.zmq_error(source)),
            };
            if ready > 0 {
                return self
                    .socket
                    .recv_bytes(0)
                    .map(Some)
                    .map_err(|source| self.zmq_error(source));
            }
            if stop.is_stopped() {
                return Err(ConnectionError::Stopped);
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    fn zmq_error(&self, source: zmq::Error) -> ConnectionError {
        ConnectionError::Zmq {
            endpoint: self.endpoint.clone(),
            source,
        }
    }
}

fn connect(context: &zmq::Context, endpoint: &str) -> Result<zmq::Socket, ConnectionError> {
    connect_socket(context, endpoint, zmq::REQ)
}

fn connect_socket(
    context: &zmq::Context,
    endpoint: &str,
    kind: zmq::SocketType,
) -> Result<zmq::Socket, ConnectionError> {
    let error = |source| ConnectionError::Zmq {
        endpoint: endpoint.to_owned(),
        source,
    };
    let socket = context.socket(kind).map_err(error)?;
    socket.set_linger(0).map_err(error)?;
    socket.connect(endpoint).map_err(error)?;
    Ok(socket)
}

/// A duration as ZeroMQ's poll timeout: whole milliseconds, at least 1 unless zero.
pub fn millis(duration: Duration) -> i64 {
    if duration.is_zero() {
        return 0;
    }
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

// ANCHOR: in_flight
/// Lazy Pirate for a DEALER socket: several requests out at once, each answered in
/// turn by the dispatcher's REP socket.
///
/// A REQ socket allows one request in flight: it must hear the answer before it
/// may send again. A DEALER has no such rule, and a REP socket serves it one
/// request at a time, answering them in the order they arrived — so the answers
/// come back in the order the requests went out, and the oldest unanswered request
/// is always the one whose answer comes next. To look like a REQ on the wire, each
/// request goes after an empty delimiter frame, and each answer comes after one.
///
/// When the oldest request has waited longer than the timeout, the socket is
/// thrown away and every request still unanswered is sent again on a fresh one,
/// oldest first, exactly as [`Connection`] resends its one request.
pub struct InFlight {
    context: zmq::Context,
    endpoint: String,
    socket: zmq::Socket,
    timeout: Duration,
    /// Requests sent and not yet answered, oldest first, with when they were sent.
    unanswered: VecDeque<(Instant, Vec<u8>)>,
    on_retry: Box<dyn FnMut(Duration) + Send>,
}

impl InFlight {
    /// Connects a DEALER socket (in the background, like [`Connection::open`]).
    /// `on_retry` hears of every reconnect, with the timeout that expired.
    pub fn open(
        context: &zmq::Context,
        endpoint: &str,
        timeout: Duration,
        on_retry: impl FnMut(Duration) + Send + 'static,
    ) -> Result<Self, ConnectionError> {
        Ok(Self {
            context: context.clone(),
            endpoint: endpoint.to_owned(),
            socket: connect_socket(context, endpoint, zmq::DEALER)?,
            timeout,
            unanswered: VecDeque::new(),
            on_retry: Box::new(on_retry),
        })
    }

    /// How many requests are out and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.unanswered.len()
    }

    /// Sends `request` without waiting for its answer.
    pub fn send(&mut self, request: Vec<u8>) -> Result<(), ConnectionError> {
        self.send_on_wire(&request)?;
        self.unanswered.push_back((Instant::now(), request));
        Ok(())
    }

    /// Sends `request` and waits for its answer, as [`Connection::exchange`] does;
    /// answers to requests sent before it are passed over, so call it with nothing
    /// else in flight.
    pub fn exchange(
        &mut self,
        request: &[u8],
        stop: &Shutdown,
    ) -> Result<Vec<u8>, ConnectionError> {
        self.send(request.to_vec())?;
        loop {
            if let Some(answer) = self.answer_within(STOP_CHECK)?
                && self.unanswered.is_empty()
            {
                return Ok(answer);
            }
            if stop.is_stopped() {
                return Err(ConnectionError::Stopped);
            }
        }
    }

    /// The answer to the oldest unanswered request, if it comes within `wait`.
    /// When that request's timeout runs out first, the socket is replaced and every
    /// unanswered request sent again, and the answer is `None` for now.
    pub fn answer_within(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, ConnectionError> {
        let Some(&(sent, _)) = self.unanswered.front() else {
            return Ok(None);
        };
        let overdue = (sent + self.timeout).saturating_duration_since(Instant::now());
        let ready = match self.socket.poll(zmq::POLLIN, millis(wait.min(overdue))) {
            Ok(ready) => ready,
            Err(zmq::Error::EINTR) => 0,
            Err(source) => return Err(self.zmq_error(source)),
        };
        if ready > 0 {
            let mut parts = self
                .socket
                .recv_multipart(0)
                .map_err(|source| self.zmq_error(source))?;
            self.unanswered.pop_front();
            // [empty delimiter, answer]: a REP always answers with one frame.
            return Ok(Some(parts.pop().unwrap_or_default()));
        }
        if sent.elapsed() >= self.timeout {
            self.resend_on_fresh_socket()?;
        }
        Ok(None)
    }

    /// After a late answer: a fresh socket, and every unanswered request on it.
    /// Dropping the old one (linger 0) discards whatever it still held.
    fn resend_on_fresh_socket(&mut self) -> Result<(), ConnectionError> {
        (self.on_retry)(self.timeout);
        self.socket = connect_socket(&self.context, &self.endpoint, zmq::DEALER)?;
        let now = Instant::now();
        let requests: Vec<Vec<u8>> = self.unanswered.drain(..).map(|(_, r)| r).collect();
        for request in requests {
            self.send_on_wire(&request)?;
            self.unanswered.push_back((now, request));
        }
        Ok(())
    }

    fn send_on_wire(&self, request: &[u8]) -> Result<(), ConnectionError> {
        self.socket
            .send_multipart([&b""[..], request], 0)
            .map_err(|source| self.zmq_error(source))
    }

    fn zmq_error(&self, source: zmq::Error) -> ConnectionError {
        ConnectionError::Zmq {
            endpoint: self.endpoint.clone(),
            source,
        }
    }
}
// ANCHOR_END: in_flight
