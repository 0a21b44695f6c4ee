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
use std::time::Duration;

use crossbeam_channel::Sender;
use solution02::{Shutdown, ThreadPool};

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
/// Takes messages until `["DIE"]` or until `stop` is stopped; returns which one it was.
/// A bad message is answered with an error publication and never ends the loop.
/// At most `in_flight.limit()` tasks are accepted and unpublished at once: at the
/// limit the socket is not read, so the producers' PUSH sockets push back.
pub fn collect(
    socket: &zmq::Socket,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    in_flight: &InFlight,
    stop: &Shutdown,
    events: &EventSink,
) -> Result<StopReason, zmq::Error> {
    // TODO(collect): the collector loop: take a slot in flight, read one message without blocking for long, and act on it until DIE or the stop flag
    todo!("collect — book: ch03, \"The collector feeds the pool\"")
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
    // TODO(submit): queue one task on the pool as a job that runs the work and sends the result to the publisher's channel
    todo!("submit — book: ch03, \"The collector feeds the pool\"")
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
    // TODO(refuse-queued): read every message still waiting in the PULL socket without blocking, and answer each task or HELLO with the STOPPING error on its topic
    todo!("refuse-queued — book: ch03, \"Shutting down without losing a task\"")
}
// ANCHOR_END: refuse_queued

fn reject(rejection: Rejection, outbox: &Sender<Publication>, events: &EventSink) {
    events(&Event::Rejected(rejection.clone()));
    let _ = outbox.send(Publication::Rejected(rejection));
}
