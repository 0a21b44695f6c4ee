//! The collector: the one thread that owns the PULL socket and feeds the pool.
//!
//! PULL fair-queues: with many producers connected, it takes one message from each
//! in turn, so a busy producer cannot starve a quiet one. Each task becomes one
//! job on chapter 02's [`ThreadPool`]; the job sends its result to the publisher
//! thread through a channel, because the PUB socket has its own single owner.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;
use solution02::ThreadPool;

use crate::event::{Event, EventSink, StopReason};
use crate::protocol::{self, Publication, Rejection, Request, TaskInfo, TaskRequest};

/// How often a collector waiting for messages looks at its stop flag.
pub const POLL_INTERVAL_MS: i64 = 50;

// ANCHOR: collect
/// Takes messages until `["DIE"]` or until `stop` is set; returns which one it was.
/// A bad message is answered with an error publication and never ends the loop.
pub fn collect(
    socket: &zmq::Socket,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    stop: &AtomicBool,
    events: &EventSink,
) -> Result<StopReason, zmq::Error> {
    // Loop:
    // - if `stop` is set, return `Ok(StopReason::Stopped)`;
    // - `socket.recv_multipart(zmq::DONTWAIT)`; on `EAGAIN` wait with
    //   `socket.poll(zmq::POLLIN, POLL_INTERVAL_MS)` and go round again (that is how a
    //   stop request is noticed while no message comes); retry on `EINTR` (Ctrl-C);
    // - `protocol::parse_message` the frames and act: `Do` → `submit`; `Hello` →
    //   report `Event::ProducerJoined` and send `Publication::Welcome` to the
    //   publisher; `Die` → return `Ok(StopReason::Die)`; a rejection → `reject`.
    // A bad message must never end the loop.
    todo!("the collector loop — book/src/ch03-zeromq-pipeline.md, \"The collector feeds the pool\"")
}
// ANCHOR_END: collect

// ANCHOR: submit
/// Queues one task on the pool; its job publishes the result, whatever it is.
fn submit(task: TaskRequest, pool: &ThreadPool, outbox: &Sender<Publication>, events: &EventSink) {
    // Report `Event::Received`, then `pool.execute` a job that reports
    // `Event::Processing`, runs `work.run()` and sends `Publication::Result` to the
    // publisher through a clone of `outbox`. Clone what the job needs first (it is
    // `'static`). If the pool refuses the job, `reject` the task for its topic and id.
    todo!("queue one task — book/src/ch03-zeromq-pipeline.md, \"The collector feeds the pool\"")
}
// ANCHOR_END: submit

fn reject(rejection: Rejection, outbox: &Sender<Publication>, events: &EventSink) {
    events(&Event::Rejected(rejection.clone()));
    let _ = outbox.send(Publication::Rejected(rejection));
}
