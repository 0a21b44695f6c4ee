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
    // ANCHOR: todo-publish
    let mut published = 0;
    for publication in publications {
        let frames = publication.frames();
        let sent = loop {
            match socket.send_multipart(&frames, 0) {
                // A signal interrupted the send before it started: try again.
                Err(zmq::Error::EINTR) => continue,
                other => break other,
            }
        };
        if sent.is_ok() {
            published += 1;
        }
        if let Publication::Result { topic, id, .. } = &publication {
            if sent.is_ok() {
                events(&Event::Published {
                    topic: topic.clone(),
                    id: *id,
                });
            }
            // Sent or not, this task is done: the collector may take another.
            in_flight.release();
        }
    }
    events(&Event::PublisherClosed { published });
    published
    // ANCHOR_END: todo-publish
}
// ANCHOR_END: publish
