//! A producer: pushes tasks to the collector and gets their results on its topic.
//!
//! It fixes the original's two subscriber traps:
//!
//! - **prefix matching** — it subscribes to its topic's terminated frame
//!   ([`Topic::frame`]), so topic `"1"` never receives `"10"`'s results;
//! - **the slow joiner** — a SUB socket's subscription reaches the publisher some
//!   milliseconds *after* `connect` returns, and PUB drops whatever it publishes
//!   before that. So [`Producer::connect`] pushes `["HELLO", {"topic": …}]` and
//!   waits until the pipeline's welcome comes back on its own topic — proof the
//!   subscription is live — before any task is sent.
//!
//! And one of its own: a topic is only an address, and two producers may share one
//! by mistake. So a producer remembers the ids it is still waiting for, takes only
//! replies to those, and sets everything else aside as a stray — another
//! producer's result, or a duplicate — instead of counting it as its own.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use solution02::TaskId;

use crate::pipeline::LINGER_MS;
use crate::protocol::{self, Notice, NoticeError, Reply};
use crate::topic::Topic;
use crate::work::Work;

/// The first wait for a welcome; it doubles on each retry, up to [`MAX_HELLO_WAIT`].
const FIRST_HELLO_WAIT: Duration = Duration::from_millis(10);
const MAX_HELLO_WAIT: Duration = Duration::from_millis(500);

/// Why a producer could not connect, send, or hear back.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    #[error("could not connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: zmq::Error,
    },
    #[error("ZeroMQ socket error: {0}")]
    Socket(#[from] zmq::Error),
    #[error("no welcome for topic '{topic}' within {waited:?}: is the pipeline running?")]
    NoWelcome { topic: Topic, waited: Duration },
    #[error("{received} of {expected} results arrived, then nothing for {idle:?}")]
    TimedOut {
        received: usize,
        expected: usize,
        idle: Duration,
    },
    #[error("the pipeline sent something that is not a result: {0}")]
    BadNotice(#[from] NoticeError),
    #[error("task id {0} is already waiting for its result: ids must be unique")]
    DuplicateId(TaskId),
}

/// One producer: a PUSH socket to the collector and a SUB socket on its topic.
/// Like every socket owner it is `Send` but not `Sync`: one thread uses it.
pub struct Producer {
    topic: Topic,
    push: zmq::Socket,
    sub: zmq::Socket,
    /// Ids submitted and not yet answered.
    pending: BTreeSet<TaskId>,
    /// Replies on this topic that answered none of `pending`.
    strays: Vec<Reply>,
}

impl Producer {
    // ANCHOR: connect
    /// Connects to a pipeline and returns once its results for `topic` are sure to
    /// arrive: the subscription is confirmed by a welcome, retrying `HELLO` with a
    /// growing wait until `timeout`.
    pub fn connect(
        context: &zmq::Context,
        collector: &str,
        publisher: &str,
        topic: Topic,
        timeout: Duration,
    ) -> Result<Self, ProducerError> {
        // TODO(producer-connect): subscribe to the topic's frame and connect both sockets, then repeat HELLO, doubling the wait, until a welcome for our topic proves the subscription is live
        todo!("producer-connect — book: ch03, \"Trap 2: the slow joiner\"")
    }
    // ANCHOR_END: connect

    /// The topic this producer's results come back on.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// Pushes one task, whose id must not be waiting for a result already. Blocks
    /// while the pipeline is at its limit of tasks in flight and this producer's
    /// queues are full (the PULL side's and the PUSH side's high-water marks, 1000
    /// messages each): PUSH pushes back instead of dropping.
    pub fn submit(&mut self, id: TaskId, work: Work) -> Result<(), ProducerError> {
        if !self.pending.insert(id) {
            return Err(ProducerError::DuplicateId(id));
        }
        let sent = send(&self.push, &protocol::task_message(&self.topic, id, work));
        if sent.is_err() {
            self.pending.remove(&id);
        }
        sent
    }

    /// Tasks submitted whose result has not arrived yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Replies that arrived on this topic but answered no task this producer was
    /// waiting for: another producer's on the same topic, a duplicate, or an error
    /// without a task id.
    pub fn strays(&self) -> &[Reply] {
        &self.strays
    }

    /// Pushes `["DIE"]`: the pipeline finishes everything it has and stops. It
    /// arrives after this producer's earlier tasks (one connection is in order),
    /// but not necessarily after other producers' tasks.
    pub fn stop_pipeline(&self) -> Result<(), ProducerError> {
        send(&self.push, &protocol::die_message())
    }

    // ANCHOR: next_reply
    /// Waits up to `timeout` for the result or error of one of this producer's
    /// pending tasks; `None` if none came. Welcomes are skipped; any other reply on
    /// the topic is kept in [`Producer::strays`].
    pub fn next_reply(&mut self, timeout: Duration) -> Result<Option<Reply>, ProducerError> {
        let until = Instant::now() + timeout;
        while let Some(frames) = receive_until(&self.sub, until)? {
            match protocol::parse_notice(&frames)? {
                (Some(topic), Notice::Reply(reply)) if topic == self.topic => {
                    if reply.id.is_some_and(|id| self.pending.remove(&id)) {
                        return Ok(Some(reply));
                    }
                    self.strays.push(reply);
                }
                // A welcome (ours, repeated) — or, with a buggy subscription,
                // another topic's result: never hand that to the caller.
                _ => continue,
            }
        }
        Ok(None)
    }
    // ANCHOR_END: next_reply

    /// Waits until every pending task is answered, calling `on_reply` as each
    /// answer arrives. Gives up when nothing arrives for `idle`.
    pub fn collect(
        &mut self,
        idle: Duration,
        mut on_reply: impl FnMut(&Reply),
    ) -> Result<Vec<Reply>, ProducerError> {
        let expected = self.pending.len();
        let mut replies = Vec::with_capacity(expected);
        while !self.pending.is_empty() {
            let Some(reply) = self.next_reply(idle)? else {
                return Err(ProducerError::TimedOut {
                    received: replies.len(),
                    expected,
                    idle,
                });
            };
            on_reply(&reply);
            replies.push(reply);
        }
        Ok(replies)
    }

    /// Submits every task, then collects one reply per pending task.
    pub fn run(
        &mut self,
        tasks: &[(TaskId, Work)],
        idle: Duration,
        on_reply: impl FnMut(&Reply),
    ) -> Result<Vec<Reply>, ProducerError> {
        for &(id, work) in tasks {
            self.submit(id, work)?;
        }
        self.collect(idle, on_reply)
    }
}

fn connect(socket: &zmq::Socket, endpoint: &str) -> Result<(), ProducerError> {
    socket
        .connect(endpoint)
        .map_err(|source| ProducerError::Connect {
            endpoint: endpoint.to_owned(),
            source,
        })
}

/// Sends one frame, retrying when a signal interrupts the call.
pub fn send(socket: &zmq::Socket, message: &[u8]) -> Result<(), ProducerError> {
    loop {
        match socket.send(message, 0) {
            Err(zmq::Error::EINTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// The next message, or `None` if none arrives before `until`.
pub fn receive_until(
    socket: &zmq::Socket,
    until: Instant,
) -> Result<Option<Vec<Vec<u8>>>, ProducerError> {
    loop {
        match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => return Ok(Some(frames)),
            Err(zmq::Error::EAGAIN | zmq::Error::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        match socket.poll(zmq::POLLIN, left.as_millis().max(1) as i64) {
            Ok(_) | Err(zmq::Error::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}
