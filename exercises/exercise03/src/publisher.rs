//! The publisher: the one thread that owns the PUB socket.
//!
//! A ZeroMQ socket is `Send` but not `Sync`: it may move to another thread, but
//! two threads must never use it at once. So the workers do not publish; they hand
//! their results to this thread through a channel, and it alone sends. PUB fans
//! each message out to every subscriber whose subscription matches its topic frame.
//!
//! Results of batched tasks may be sent batched too: the publisher's [`Outbox`]
//! holds them per topic ([`HeldResults`]) and sends a topic's results as one
//! message once it has [`Batching::results`] of them, or once it has held any for
//! [`Batching::linger`], whichever comes first — so a lone result waits at most
//! that long. Every other publication goes out as it comes.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::event::{Event, EventSink};
use crate::in_flight::InFlight;
use crate::protocol::{Publication, TaskResult};
use crate::topic::Topic;

/// How the publisher batches the results of batched tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The most results in one message; 1 sends each result alone, the original's
    /// way.
    pub results: usize,
    /// The longest a result is held back waiting for others to share its message.
    pub linger: Duration,
}

impl Batching {
    /// Each result alone, as the original publishes.
    pub const SINGLE: Self = Self {
        results: 1,
        linger: Duration::ZERO,
    };
}

// ANCHOR: held_results
/// Results of batched tasks waiting to be sent, per topic, in arrival order.
#[derive(Debug)]
pub struct HeldResults {
    most: usize,
    held: Vec<(Topic, Vec<TaskResult>)>,
}

impl HeldResults {
    /// Holds up to `most` results per message (0 is taken as 1).
    pub fn new(most: usize) -> Self {
        Self {
            most: most.max(1),
            held: Vec::new(),
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Holds `results` for `topic`, and returns what is ready to send now: every
    /// full message of that topic's results. With room for one result per message,
    /// that is each result alone, as a [`Publication::Result`].
    #[cfg_attr(workbook_todo_hold_results, allow(unused_variables))]
    pub fn hold(&mut self, topic: Topic, results: Vec<TaskResult>) -> Vec<Publication> {
        // TODO(hold-results): hold a topic's results with those already held for it, and return every full message of them (each result alone when a message holds one); a topic with nothing left waiting is no longer held
        todo!("hold-results — book: ch03, \"Batching: many tasks per message\"")
    }

    /// Everything held, as messages of at most `most` results each.
    pub fn flush(&mut self) -> Vec<Publication> {
        let most = self.most;
        self.held
            .drain(..)
            .flat_map(|(topic, results)| {
                let mut results = results.into_iter().peekable();
                let mut ready = Vec::new();
                while results.peek().is_some() {
                    ready.push(message(
                        topic.clone(),
                        results.by_ref().take(most).collect(),
                    ));
                }
                ready
            })
            .collect()
    }
}

/// One message of results: alone, in the original's form, or as a batch.
fn message(topic: Topic, mut results: Vec<TaskResult>) -> Publication {
    if results.len() == 1
        && let Some(TaskResult {
            id,
            outcome,
            worker,
        }) = results.pop()
    {
        return Publication::Result {
            topic,
            id,
            outcome,
            worker,
        };
    }
    Publication::Results { topic, results }
}
// ANCHOR_END: held_results

// ANCHOR: next_publications
/// Where the publisher's loop gets what to send: the channel, with the results of
/// batched tasks held back per topic as `batching` says. An iterator, as the
/// channel's receiver is: it ends when the channel closes and nothing is held.
pub struct Outbox<'a> {
    publications: &'a Receiver<Publication>,
    held: HeldResults,
    linger: Duration,
    /// When what is held must go, whatever else arrives: `linger` after the first.
    send_by: Option<Instant>,
}

impl<'a> Outbox<'a> {
    /// Reads `publications`, holding batched results as `batching` says.
    pub fn new(publications: &'a Receiver<Publication>, batching: Batching) -> Self {
        Self {
            publications,
            held: HeldResults::new(batching.results),
            linger: batching.linger,
            send_by: None,
        }
    }
}

impl Iterator for Outbox<'_> {
    type Item = Vec<Publication>;

    /// Waits for the next publications ready to send, in order: one as it came, or
    /// messages of held results that are full or have waited their linger. `None`
    /// once the channel has closed and nothing is held.
    fn next(&mut self) -> Option<Vec<Publication>> {
        let next = match self.send_by {
            None => self.publications.recv().ok(),
            Some(deadline) => match self
                .publications
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(publication) => Some(publication),
                Err(RecvTimeoutError::Timeout) => {
                    self.send_by = None;
                    return Some(self.held.flush());
                }
                Err(RecvTimeoutError::Disconnected) => None,
            },
        };
        let Some(publication) = next else {
            // Closed: whatever is still held goes now, and then nothing more.
            return (!self.held.is_empty()).then(|| self.held.flush());
        };
        let ready = match publication {
            Publication::Results { topic, results } => self.held.hold(topic, results),
            other => vec![other],
        };
        self.send_by = match self.send_by {
            _ if self.held.is_empty() => None,
            None => Some(Instant::now() + self.linger),
            Some(deadline) => Some(deadline),
        };
        Some(ready)
    }
}
// ANCHOR_END: next_publications

// ANCHOR: publish
/// Sends every publication until the channel closes (every job and the collector
/// are done), then returns how many messages were sent. Results of batched tasks
/// go out per topic as `batching` says ([`Outbox`]); each result sent frees its
/// task's [`InFlight`] slot, so the collector may read the next task. Dropping the
/// socket afterwards flushes what is still queued for subscribers, up to the
/// socket's linger time.
#[cfg_attr(workbook_todo_publish, allow(unused_variables))]
pub fn publish(
    socket: &zmq::Socket,
    publications: &Receiver<Publication>,
    batching: Batching,
    in_flight: &InFlight,
    events: &EventSink,
) -> u64 {
    // TODO(publish): send everything the outbox gives on the PUB socket until the channel closes; each result sent frees its task's slot
    todo!("publish — book: ch03, \"The publisher fans out\"")
}
// ANCHOR_END: publish
