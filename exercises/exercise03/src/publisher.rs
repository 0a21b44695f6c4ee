//! The publisher: the one thread that owns the PUB socket.
//!
//! A ZeroMQ socket is `Send` but not `Sync`: it may move to another thread, but
//! two threads must never use it at once. So the workers do not publish; they hand
//! their results to this thread through a channel, and it alone sends. PUB fans
//! each message out to every subscriber whose subscription matches its topic frame.

use crossbeam_channel::Receiver;

use crate::event::{Event, EventSink};
use crate::in_flight::InFlight;
use crate::protocol::Publication;

// ANCHOR: publish
/// Sends every publication until the channel closes (every job and the collector
/// are done), then returns how many were sent. Each result frees its task's
/// [`InFlight`] slot, so the collector may read the next task. Dropping the socket
/// afterwards flushes what is still queued for subscribers, up to the socket's
/// linger time.
pub fn publish(
    socket: &zmq::Socket,
    publications: &Receiver<Publication>,
    in_flight: &InFlight,
    events: &EventSink,
) -> u64 {
    // TODO(publish): send every publication from the channel on the PUB socket until the channel closes; each result frees its task's slot
    todo!("publish — book: ch03, \"The publisher fans out\"")
}
// ANCHOR_END: publish
