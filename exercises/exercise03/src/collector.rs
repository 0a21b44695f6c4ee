//! The collector: the one thread that owns the PULL socket and feeds the pool.
//!
//! PULL fair-queues: with many producers connected, it takes one message from each
//! in turn, so a busy producer cannot starve a quiet one. Each task becomes one
//! job on chapter 02's [`ThreadPool`]; the job sends its result to the publisher
//! thread through a channel, because the PUB socket has its own single owner.
//! The pool's queue is unbounded, so the collector bounds it itself: it reads a
//! task only with a free [`InFlight`] slot, and leaves the rest in the socket,
//! where ZeroMQ's high-water marks push back on the producers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;
use solution02::ThreadPool;

use crate::event::{Event, EventSink, StopReason};
use crate::in_flight::InFlight;
use crate::protocol::{self, Publication, Rejection, Request, TaskInfo, TaskRequest};

/// How often a collector waiting for messages, or for a free slot, looks at its
/// stop flag.
pub const POLL_INTERVAL_MS: i64 = 50;

/// The error result of a task that was still waiting in the PULL socket when the
/// pipeline stopped.
pub const STOPPING: &str = "the pipeline is stopping: task not run, send it again later";

// ANCHOR: collect
/// Takes messages until `["DIE"]` or until `stop` is set; returns which one it was.
/// A bad message is answered with an error publication and never ends the loop.
/// At most `in_flight.limit()` tasks are accepted and unpublished at once: at the
/// limit the socket is not read, so the producers' PUSH sockets push back.
pub fn collect(
    socket: &zmq::Socket,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    in_flight: &InFlight,
    stop: &AtomicBool,
    events: &EventSink,
) -> Result<StopReason, zmq::Error> {
    // Loop:
    // - if `stop` is set, stop with `StopReason::Stopped`;
    // - unless you hold a slot already, take one with
    //   `in_flight.acquire(Duration::from_millis(POLL_INTERVAL_MS as u64))` *before*
    //   reading the socket; without one, report `Event::Throttled` (once, not every
    //   50 ms) and go round again — not reading is what makes the producers' PUSH
    //   sockets push back;
    // - `socket.recv_multipart(zmq::DONTWAIT)`; on `EAGAIN` wait with
    //   `socket.poll(zmq::POLLIN, POLL_INTERVAL_MS)` and go round again (that is how a
    //   stop request is noticed while no message comes); retry on `EINTR` (Ctrl-C);
    // - `protocol::parse_message` the frames and act: `Do` → `submit` (the task now
    //   owns the slot; the publisher frees it); `Hello` → report
    //   `Event::ProducerJoined` and send `Publication::Welcome` to the publisher;
    //   `Die` → stop with `StopReason::Die`; a rejection → `reject`. Only a task uses
    //   up the slot: keep it for the next message otherwise.
    // A bad message must never end the loop. Release a slot you still hold on the
    // way out.
    todo!("the collector loop — book/src/ch03-zeromq-pipeline.md, \"The collector feeds the pool\"")
}
// ANCHOR_END: collect

// ANCHOR: submit
/// Queues one task on the pool; its job publishes the result, whatever it is.
fn submit(
    task: TaskRequest,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    in_flight: &InFlight,
    events: &EventSink,
) {
    // Report `Event::Received`, then `pool.execute` a job that reports
    // `Event::Processing`, runs `work.run()` and sends `Publication::Result` to the
    // publisher through a clone of `outbox`. Clone what the job needs first (it is
    // `'static`). If the pool refuses the job, `in_flight.release()` its slot (it
    // will never be published) and `reject` the task for its topic and id.
    todo!("queue one task — book/src/ch03-zeromq-pipeline.md, \"The collector feeds the pool\"")
}
// ANCHOR_END: submit

// ANCHOR: refuse_queued
/// After the collector has stopped: answers every message still waiting in the
/// PULL socket — tasks other producers pushed before the stop — with a
/// [`STOPPING`] error on its topic, so nobody waits for a result that will never
/// come. Returns how many messages it answered.
pub fn refuse_queued(
    socket: &zmq::Socket,
    outbox: &Sender<Publication>,
    events: &EventSink,
) -> Result<usize, zmq::Error> {
    // Read with `zmq::DONTWAIT` until `EAGAIN` (nothing left: return the count),
    // retrying on `EINTR`. Parse each message: a `Do` task is `reject`ed for its
    // topic and id with the reason `STOPPING`, a `Hello` for its topic without an
    // id, a `Die` is skipped, and a bad message is `reject`ed as usual.
    todo!(
        "refuse what is left — book/src/ch03-zeromq-pipeline.md, \"Shutting down without losing a task\""
    )
}
// ANCHOR_END: refuse_queued

fn reject(rejection: Rejection, outbox: &Sender<Publication>, events: &EventSink) {
    events(&Event::Rejected(rejection.clone()));
    let _ = outbox.send(Publication::Rejected(rejection));
}
