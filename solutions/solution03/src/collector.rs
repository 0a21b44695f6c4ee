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
pub fn collect(
    socket: &zmq::Socket,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    in_flight: &InFlight,
    stop: &Shutdown,
    events: &EventSink,
) -> Result<StopReason, zmq::Error> {
    // ANCHOR: todo-collect
    let poll_interval = Duration::from_millis(POLL_INTERVAL_MS as u64);
    // A slot taken for the next message and not yet used by a task: a HELLO, a DIE
    // or a bad message does not use it up.
    let mut slot = false;
    let mut throttled = false;
    let stopped = loop {
        if stop.is_stopped() {
            break StopReason::Stopped;
        }
        if !slot {
            slot = in_flight.acquire(poll_interval);
            if !slot {
                if !throttled {
                    events(&Event::Throttled {
                        in_flight: in_flight.limit(),
                    });
                }
                throttled = true;
                continue;
            }
            throttled = false;
        }
        // Try without waiting first (the common case under load costs one call);
        // when nothing is there, wait a little so the stop flag is seen promptly.
        let frames = match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => frames,
            Err(zmq::Error::EAGAIN) => match socket.poll(zmq::POLLIN, POLL_INTERVAL_MS) {
                Ok(_) | Err(zmq::Error::EINTR) => continue,
                Err(error) => {
                    in_flight.release();
                    return Err(error);
                }
            },
            // A signal (Ctrl-C) interrupted the call: look at the flag again.
            Err(zmq::Error::EINTR) => continue,
            Err(error) => {
                in_flight.release();
                return Err(error);
            }
        };
        match protocol::parse_message(&frames) {
            Ok(Request::Do(task)) => {
                // The slot now belongs to the task; the publisher gives it back.
                slot = false;
                submit(task, pool, outbox, in_flight, events);
            }
            Ok(Request::Batch(batch)) => {
                // The slot is the batch's first task's, if it has one that is good.
                if submit_batch(batch, pool, outbox, in_flight, events) {
                    slot = false;
                }
            }
            Ok(Request::Hello(topic)) => {
                events(&Event::ProducerJoined(topic.clone()));
                let _ = outbox.send(Publication::Welcome(topic));
            }
            Ok(Request::Die) => break StopReason::Die,
            Err(rejection) => reject(rejection, outbox, events),
        }
    };
    if slot {
        in_flight.release();
    }
    Ok(stopped)
    // ANCHOR_END: todo-collect
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
    // ANCHOR: todo-submit
    let TaskRequest {
        topic,
        info: TaskInfo { id, work },
    } = task;
    events(&Event::Received {
        topic: topic.clone(),
        id,
    });
    let results = outbox.clone();
    let job_events = Arc::clone(events);
    let job_topic = topic.clone();
    let queued = pool.execute(move |worker| {
        job_events(&Event::Processing {
            worker,
            topic: job_topic.clone(),
            id,
            work: work.clone(),
        });
        // `run` never panics; even if it did, the pool would keep the worker alive.
        let outcome = work.run();
        // The publisher outlives every job (it stops once the pool is drained).
        let _ = results.send(Publication::Result {
            topic: job_topic,
            id,
            outcome,
            worker,
        });
    });
    if let Err(error) = queued {
        // Never queued, so never published: its slot is free again.
        in_flight.release();
        reject(
            Rejection::for_topic(topic, Some(id), error.to_string()),
            outbox,
            events,
        );
    }
    // ANCHOR_END: todo-submit
}
// ANCHOR_END: submit

// ANCHOR: submit_batch
/// Queues a batch's good tasks on the pool, in one job per worker, each job running
/// its share of the tasks in order and sending all their results as one
/// [`Publication::Results`]; refuses its bad tasks one by one. The caller holds one
/// slot in flight: if any task is good, the batch takes that slot and one more per
/// further task, and this returns `true`; if none is, the slot is left alone.
fn submit_batch(
    batch: TaskBatch,
    pool: &ThreadPool,
    outbox: &Sender<Publication>,
    in_flight: &InFlight,
    events: &EventSink,
) -> bool {
    // ANCHOR: todo-submit-batch
    let TaskBatch { topic, tasks } = batch;
    let mut good = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task {
            Ok(info) => {
                events(&Event::Received {
                    topic: topic.clone(),
                    id: info.id,
                });
                good.push(info);
            }
            Err(rejection) => reject(rejection, outbox, events),
        }
    }
    if good.is_empty() {
        return false;
    }
    // Accepted whole: the first slot is held already, the others are taken now.
    in_flight.take(good.len() - 1);
    // As many shares as workers, so a batch of slow tasks still runs on all of them.
    let share = good.len().div_ceil(pool.size().max(1));
    let mut tasks = good.into_iter();
    loop {
        let chunk: Vec<TaskInfo> = tasks.by_ref().take(share).collect();
        if chunk.is_empty() {
            break;
        }
        let ids: Vec<u64> = chunk.iter().map(|info| info.id).collect();
        let results = outbox.clone();
        let job_events = Arc::clone(events);
        let job_topic = topic.clone();
        let queued = pool.execute(move |worker| {
            let done = chunk
                .into_iter()
                .map(|TaskInfo { id, work }| {
                    job_events(&Event::Processing {
                        worker,
                        topic: job_topic.clone(),
                        id,
                        work: work.clone(),
                    });
                    TaskResult {
                        id,
                        outcome: work.run(),
                        worker,
                    }
                })
                .collect();
            let _ = results.send(Publication::Results {
                topic: job_topic,
                results: done,
            });
        });
        if let Err(error) = queued {
            in_flight.release_many(ids.len());
            for id in ids {
                reject(
                    Rejection::for_topic(topic.clone(), Some(id), error.to_string()),
                    outbox,
                    events,
                );
            }
        }
    }
    true
    // ANCHOR_END: todo-submit-batch
}
// ANCHOR_END: submit_batch

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
    // ANCHOR: todo-refuse-queued
    let mut refused = 0;
    loop {
        let frames = match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => frames,
            Err(zmq::Error::EAGAIN) => return Ok(refused),
            Err(zmq::Error::EINTR) => continue,
            Err(error) => return Err(error),
        };
        let rejection = match protocol::parse_message(&frames) {
            Ok(Request::Do(TaskRequest { topic, info })) => {
                Rejection::for_topic(topic, Some(info.id), STOPPING)
            }
            // Each task of a batch is answered: its own refusal, or STOPPING.
            Ok(Request::Batch(TaskBatch { topic, tasks })) => {
                for task in tasks {
                    let rejection = match task {
                        Ok(info) => Rejection::for_topic(topic.clone(), Some(info.id), STOPPING),
                        Err(rejection) => rejection,
                    };
                    reject(rejection, outbox, events);
                    refused += 1;
                }
                continue;
            }
            Ok(Request::Hello(topic)) => Rejection::for_topic(topic, None, STOPPING),
            Ok(Request::Die) => continue,
            Err(rejection) => rejection,
        };
        reject(rejection, outbox, events);
        refused += 1;
    }
    // ANCHOR_END: todo-refuse-queued
}
// ANCHOR_END: refuse_queued

fn reject(rejection: Rejection, outbox: &Sender<Publication>, events: &EventSink) {
    events(&Event::Rejected(rejection.clone()));
    let _ = outbox.send(Publication::Rejected(rejection));
}
