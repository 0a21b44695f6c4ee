//! The whole pipeline: collector + chapter 02's pool + publisher, started, run and
//! stopped as one.
//!
//! ```text
//! producers ──PUSH──▶ PULL [collector] ──jobs──▶ [pool: N workers] ──results──▶ [publisher] PUB ──SUB──▶ producers
//! ```
//!
//! Three kinds of thread, each owning what it touches: the caller's thread runs the
//! collector and owns the PULL socket, the pool's workers own nothing shared, and
//! the publisher thread owns the PUB socket. At most `max_in_flight` tasks are
//! accepted and unpublished at once, so a flood of tasks waits in the producers'
//! sockets, not in this process. Shutting down goes downstream in that order, so
//! nothing accepted is lost: the collector stops taking messages and refuses what
//! is still waiting in its socket, the pool finishes every queued task, the
//! publisher sends every result, then the sockets close and every thread is
//! joined.

use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use solution02::{PoolError, Shutdown, ThreadPool};

use crate::collector;
use crate::event::{Event, EventSink, StopReason};
use crate::in_flight::InFlight;
use crate::protocol::{HARD_MESSAGE_BYTES, Publication};
use crate::publisher::{self, Batching};

/// Where the original listens for tasks.
pub const DEFAULT_COLLECTOR: &str = "tcp://127.0.0.1:5557";
/// Where the original publishes results.
pub const DEFAULT_PUBLISHER: &str = "tcp://127.0.0.1:5558";

/// How long a closing socket keeps trying to deliver what it still holds. Long
/// enough for a live peer to take the last results, short enough that a vanished
/// one cannot hold up shutdown for ever (libzmq's default is for ever).
pub const LINGER_MS: i32 = 2_000;

/// The limit on tasks in flight when none is given. Large enough that a flood of
/// tiny tasks flows without the collector waiting for every result (a limit as
/// small as the pool makes it wait on nearly every task, which the chapter's
/// "Measure it" shows), small enough to bound memory. A lower limit shortens a graceful stop: it has to finish at
/// most this many tasks.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;

/// The longest the publisher holds a batched task's result back, waiting for more
/// results for the same topic to share its message.
pub const BATCH_LINGER: Duration = Duration::from_millis(1);

/// How to start a [`Pipeline`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The endpoint the collector's PULL socket binds, e.g. `tcp://127.0.0.1:5557`;
    /// `tcp://127.0.0.1:*` picks a free port.
    pub collector: String,
    /// The endpoint the publisher's PUB socket binds.
    pub publisher: String,
    /// Number of worker threads in the pool.
    pub workers: usize,
    /// The most tasks accepted and not yet published at once; beyond it the
    /// collector stops reading and the producers' PUSH sockets push back.
    pub max_in_flight: usize,
    /// The most results of batched tasks sent in one message, per topic; 1 sends
    /// each result alone, the original's way. Results of tasks that came alone
    /// always go out alone.
    pub batch: usize,
}

impl Default for PipelineConfig {
    /// Ports 5557 (tasks in) and 5558 (results out) on loopback — this workbook's
    /// choice; the original's README names none — with 4 workers.
    fn default() -> Self {
        Self {
            collector: DEFAULT_COLLECTOR.to_owned(),
            publisher: DEFAULT_PUBLISHER.to_owned(),
            workers: 4,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            batch: 1,
        }
    }
}

impl PipelineConfig {
    /// Both sockets on free loopback ports: what tests and benchmarks use.
    pub fn any_port(workers: usize) -> Self {
        Self {
            collector: "tcp://127.0.0.1:*".to_owned(),
            publisher: "tcp://127.0.0.1:*".to_owned(),
            workers,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            batch: 1,
        }
    }
}

/// Why the pipeline could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("could not bind {endpoint}: {source}")]
    Bind {
        endpoint: String,
        source: zmq::Error,
    },
    #[error("ZeroMQ socket error: {0}")]
    Socket(#[from] zmq::Error),
    #[error("could not start the worker pool: {0}")]
    Pool(#[from] PoolError),
    #[error("could not start the publisher thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the publisher thread panicked")]
    PublisherPanicked,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub stopped_by: StopReason,
    /// Messages the publisher sent: results, errors and welcomes.
    pub published: u64,
}

/// A bound, not yet running, pipeline.
pub struct Pipeline {
    // The order of these fields does not matter when they drop: a `zmq::Socket`
    // holds its own handle on the context, which ends with the last of them.
    pull: zmq::Socket,
    publish: zmq::Socket,
    context: zmq::Context,
    collector_endpoint: String,
    publisher_endpoint: String,
    workers: usize,
    max_in_flight: usize,
    batching: Batching,
    events: EventSink,
    stop: Shutdown,
}

impl Pipeline {
    /// Binds both sockets; the pipeline serves once [`Pipeline::run`] is called.
    /// Producers may connect already: their messages wait in the sockets.
    pub fn bind(config: &PipelineConfig, events: EventSink) -> Result<Self, PipelineError> {
        let context = zmq::Context::new();
        let pull = context.socket(zmq::PULL)?;
        // A hard cap, checked by libzmq as the message arrives: a multi-gigabyte
        // message is dropped with its connection instead of being buffered whole.
        // Smaller oversized ones reach the collector and get an error result.
        pull.set_maxmsgsize(i64::try_from(HARD_MESSAGE_BYTES).unwrap_or(i64::MAX))?;
        // On close, a PULL socket has nothing to deliver; what is still unread then
        // arrived after the last look (see `collector::refuse_queued`).
        pull.set_linger(0)?;
        let collector_endpoint = bind(&pull, &config.collector)?;

        let publish = context.socket(zmq::PUB)?;
        // A PUB socket *drops* messages for a subscriber that is more than its
        // high-water mark behind. 0 means no limit: a result is never dropped; a
        // subscriber that stops reading costs memory instead.
        publish.set_sndhwm(0)?;
        publish.set_linger(LINGER_MS)?;
        let publisher_endpoint = bind(&publish, &config.publisher)?;

        Ok(Self {
            pull,
            publish,
            context,
            collector_endpoint,
            publisher_endpoint,
            workers: config.workers,
            max_in_flight: config.max_in_flight,
            batching: Batching {
                results: config.batch,
                linger: BATCH_LINGER,
            },
            events,
            stop: Shutdown::new(),
        })
    }

    /// The collector's endpoint, with the real port if `*` was asked for.
    pub fn collector_endpoint(&self) -> &str {
        &self.collector_endpoint
    }

    /// The publisher's endpoint, with the real port if `*` was asked for.
    pub fn publisher_endpoint(&self) -> &str {
        &self.publisher_endpoint
    }

    /// The context the sockets live in; producers in the same process may share it.
    pub fn context(&self) -> &zmq::Context {
        &self.context
    }

    /// The pipeline's [`Shutdown`]: `stop()` on it, from any thread, and it takes
    /// no new messages, finishes and publishes every task it has, then
    /// [`Pipeline::run`] returns.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.stop.clone()
    }

    // ANCHOR: run
    /// Serves until `["DIE"]` or its [`Shutdown`] is stopped, then drains and returns.
    pub fn run(self) -> Result<Summary, PipelineError> {
        let events = self.events;
        events(&Event::Starting {
            workers: self.workers,
        });
        let worker_events = Arc::clone(&events);
        let mut pool = ThreadPool::builder(self.workers)
            .on_event(move |event| worker_events(&Event::Worker(event)))
            .build()?;

        // Unbounded, yet never long: it holds at most `max_in_flight` results plus
        // the collector's own answers (welcomes and errors). The standard library's
        // channel, not crossbeam's: waiting for the next result, crossbeam's
        // receiver gives up the processor (`sched_yield`) several times before it
        // sleeps, and on a machine busier than its cores each of those can wait out
        // another program's time slice — with a result waiting behind it. The
        // standard one spins briefly, then sleeps until a sender wakes it.
        let (outbox, publications) = mpsc::channel();
        let in_flight = Arc::new(InFlight::new(self.max_in_flight));
        let publish = self.publish;
        let publisher_events = Arc::clone(&events);
        let publisher_in_flight = Arc::clone(&in_flight);
        let batching = self.batching;
        let publisher = thread::Builder::new()
            .name("publisher".to_owned())
            .spawn(move || {
                publisher::publish(
                    &publish,
                    &publications,
                    batching,
                    &publisher_in_flight,
                    &publisher_events,
                )
            })?;
        events(&Event::Listening {
            collector: self.collector_endpoint.clone(),
            publisher: self.publisher_endpoint.clone(),
        });

        let collected =
            collector::collect(&self.pull, &pool, &outbox, &in_flight, &self.stop, &events);
        Self::drain(&self.pull, &mut pool, outbox, publisher, collected, &events)
    }
    // ANCHOR_END: run

    // ANCHOR: drain
    /// Shuts down once the collector has stopped, downstream and in order, so that
    /// nothing accepted is lost: refuses what still waits in the PULL socket, lets
    /// the pool run every accepted task, refuses what arrived meanwhile, then closes
    /// the results channel and joins the publisher.
    fn drain(
        pull: &zmq::Socket,
        pool: &mut ThreadPool,
        outbox: Sender<Publication>,
        publisher: JoinHandle<u64>,
        collected: Result<StopReason, zmq::Error>,
        events: &EventSink,
    ) -> Result<Summary, PipelineError> {
        // ANCHOR: todo-drain
        if let Ok(reason) = collected {
            events(&Event::StopRequested(reason));
        }
        // Tasks still in the PULL socket were never accepted: tell their producers
        // now rather than let them wait for results that will never come.
        let refused = collector::refuse_queued(pull, &outbox, events);
        // Downstream in order: every accepted task runs and sends its result...
        pool.shutdown();
        events(&Event::WorkersDrained);
        // ...tasks that arrived meanwhile are refused too...
        let refused_late = collector::refuse_queued(pull, &outbox, events);
        // ...then the last sender closes, so the publisher sends everything and ends.
        drop(outbox);
        let published = publisher
            .join()
            .map_err(|_| PipelineError::PublisherPanicked)?;
        let stopped_by = collected?;
        refused?;
        refused_late?;
        Ok(Summary {
            stopped_by,
            published,
        })
        // ANCHOR_END: todo-drain
    }
    // ANCHOR_END: drain
}

/// Binds `socket` and returns the endpoint it really got (the port for `*`).
fn bind(socket: &zmq::Socket, endpoint: &str) -> Result<String, PipelineError> {
    let failed = |source| PipelineError::Bind {
        endpoint: endpoint.to_owned(),
        source,
    };
    socket.bind(endpoint).map_err(failed)?;
    match socket.get_last_endpoint().map_err(failed)? {
        Ok(bound) => Ok(bound),
        // Not UTF-8: cannot happen for tcp or ipc; keep what was asked for.
        Err(_) => Ok(endpoint.to_owned()),
    }
}
