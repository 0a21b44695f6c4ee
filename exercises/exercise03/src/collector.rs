//! The collector: the one thread that owns the PULL socket and feeds the pool.
//!
//! PULL fair-queues: with many producers connected, it takes one message from each
//! in turn, so a busy producer cannot starve a quiet one. Each task becomes one
//! job on chapter 02's [`ThreadPool`]; the job sends its result to the publisher
//! thread through a channel, because the PUB socket has its own single owner.
//! The pool's queue is unbounded, so the collector bounds it itself: it reads a
//! task only with a free [`InFlight`] slot, and leaves the rest in the socket,
//! where ZeroMQ's high-water marks push back on the producers.
//!
//! A batch of tasks ([`crate::protocol::TaskBatch`]) is one message, and becomes a
//! few jobs rather than one per task: a job per worker, each running its share of
//! the batch and handing over all its results at once.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use solution02::{Shutdown, ThreadPool};

use crate::event::{Event, EventSink, StopReason};
use crate::in_flight::InFlight;
use crate::protocol::{
    self, Publication, Rejection, Request, TaskBatch, TaskInfo, TaskRequest, TaskResult,
};

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
#[cfg_attr(workbook_todo_collect, allow(unused_variables))]
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
#[cfg_attr(workbook_todo_submit, allow(unused_variables))]
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

// ANCHOR: submit_batch
/// Queues a batch's good tasks on the pool, in one job per worker, each job running
/// its share of the tasks in order and sending all their results as one
/// [`Publication::Results`]; refuses its bad tasks one by one. The caller holds one
/// slot in flight: if any task is good, the batch takes that slot and one more per
/// further task, and this returns `true`; if none is, the slot is left alone.
#[cfg_attr(workbook_todo_submit_batch, allow(unused_variables))]
fn submit_batch(
    batch: TaskBatch,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    in_flight: &InFlight,
    events: &EventSink,
) -> bool {
    // TODO(submit-batch): report and queue a batch's good tasks as one job per worker, each running its share and sending its results as one Publication::Results; refuse the bad ones; take the batch's further slots
    todo!("submit-batch — book: ch03, \"Batching: many tasks per message\"")
}
// ANCHOR_END: submit_batch

// ANCHOR: refuse_queued
/// After the collector has stopped: answers every message still waiting in the
/// PULL socket — tasks other producers pushed before the stop — with a
/// [`STOPPING`] error on its topic, so nobody waits for a result that will never
/// come. Returns how many messages it answered.
#[cfg_attr(workbook_todo_refuse_queued, allow(unused_variables))]
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
