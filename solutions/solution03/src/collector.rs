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
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(StopReason::Stopped);
        }
        // Try without waiting first (the common case under load costs one call);
        // when nothing is there, wait a little so the stop flag is seen promptly.
        let frames = match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => frames,
            Err(zmq::Error::EAGAIN) => match socket.poll(zmq::POLLIN, POLL_INTERVAL_MS) {
                Ok(_) | Err(zmq::Error::EINTR) => continue,
                Err(error) => return Err(error),
            },
            // A signal (Ctrl-C) interrupted the call: look at the flag again.
            Err(zmq::Error::EINTR) => continue,
            Err(error) => return Err(error),
        };
        match protocol::parse_message(&frames) {
            Ok(Request::Do(task)) => submit(task, pool, outbox, events),
            Ok(Request::Hello(topic)) => {
                events(&Event::ProducerJoined(topic.clone()));
                let _ = outbox.send(Publication::Welcome(topic));
            }
            Ok(Request::Die) => return Ok(StopReason::Die),
            Err(rejection) => reject(rejection, outbox, events),
        }
    }
}
// ANCHOR_END: collect

// ANCHOR: submit
/// Queues one task on the pool; its job publishes the result, whatever it is.
fn submit(task: TaskRequest, pool: &ThreadPool, outbox: &Sender<Publication>, events: &EventSink) {
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
            work,
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
        reject(
            Rejection {
                topic: Some(topic),
                id: Some(id),
                reason: error.to_string(),
            },
            outbox,
            events,
        );
    }
}
// ANCHOR_END: submit

fn reject(rejection: Rejection, outbox: &Sender<Publication>, events: &EventSink) {
    events(&Event::Rejected(rejection.clone()));
    let _ = outbox.send(Publication::Rejected(rejection));
}
