//! What the pipeline's threads report as they go.
//!
//! As in chapter 02 the library never prints: each [`Event`] goes to a callback,
//! the binaries colour it, and the tests check what happened through it.

use std::fmt;
use std::sync::Arc;

use solution02::pool::WorkerEvent;
use solution02::{TaskId, WorkerId};

use crate::protocol::{Address, Rejection};
use crate::topic::Topic;
use crate::work::Work;

/// Where this chapter's events go: chapter 02's one sink type, for [`Event`].
pub type EventSink = solution02::event::EventSink<Event>;

/// An event sink that drops everything.
pub fn silent() -> EventSink {
    Arc::new(|_: &Event| {})
}

/// Who an event is about: the tag at the start of a demo line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Collector,
    Worker(WorkerId),
    Publisher,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Collector => f.write_str("Collector"),
            Role::Worker(id) => write!(f, "Worker {id}"),
            Role::Publisher => f.write_str("Publisher"),
        }
    }
}

/// What stopped the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A `["DIE"]` message arrived.
    Die,
    /// The pipeline's [`solution02::Shutdown`] was stopped (Ctrl-C).
    Stopped,
}

/// Something worth telling the reader of the demo.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Starting {
        workers: usize,
    },
    /// What chapter 02's pool reports about a worker, passed on as it is.
    Worker(WorkerEvent),
    Listening {
        collector: String,
        publisher: String,
    },
    ProducerJoined(Topic),
    Received {
        topic: Topic,
        id: TaskId,
    },
    Processing {
        worker: WorkerId,
        topic: Topic,
        id: TaskId,
        work: Work,
    },
    Rejected(Rejection),
    /// As many tasks as allowed are in flight: the collector stops reading until
    /// a result is published.
    Throttled {
        in_flight: usize,
    },
    Published {
        topic: Topic,
        id: TaskId,
    },
    StopRequested(StopReason),
    WorkersDrained,
    PublisherClosed {
        published: u64,
    },
}

impl Event {
    /// Who the event is about.
    pub fn role(&self) -> Role {
        match self {
            Event::Worker(
                WorkerEvent::Started(worker)
                | WorkerEvent::JobPanicked(worker)
                | WorkerEvent::Stopping(worker),
            )
            | Event::Processing { worker, .. } => Role::Worker(*worker),
            Event::Published { .. } | Event::PublisherClosed { .. } => Role::Publisher,
            _ => Role::Collector,
        }
    }

    /// The text after the tag.
    pub fn message(&self) -> String {
        match self {
            Event::Starting { workers } => format!("Starting {workers} workers..."),
            Event::Worker(WorkerEvent::Started(_)) => "Started".to_owned(),
            Event::Worker(WorkerEvent::JobPanicked(_)) => {
                "Caught a panicking job; still serving".to_owned()
            }
            Event::Worker(WorkerEvent::Stopping(_)) => "Shutting down".to_owned(),
            Event::Listening {
                collector,
                publisher,
            } => format!("Pulling tasks on {collector}, publishing results on {publisher}"),
            Event::ProducerJoined(topic) => format!("Producer on topic '{topic}' is subscribed"),
            Event::Received { topic, id } => format!("Received task {id} for topic '{topic}'"),
            Event::Processing {
                topic, id, work, ..
            } => {
                format!("Processing task {id} for '{topic}': {work}")
            }
            Event::Rejected(rejection) => match &rejection.to {
                Address::Unaddressed => format!("Rejected a message: {}", rejection.reason),
                to => format!("Rejected a message for {to}: {}", rejection.reason),
            },
            Event::Throttled { in_flight } => format!(
                "{in_flight} tasks in flight, the limit: not reading until a result is published"
            ),
            Event::Published { topic, id } => format!("Published task {id} to '{topic}'"),
            Event::StopRequested(StopReason::Die) => {
                "DIE received: no new tasks, finishing queued ones".to_owned()
            }
            Event::StopRequested(StopReason::Stopped) => {
                "Stopping: no new tasks, finishing queued ones".to_owned()
            }
            Event::WorkersDrained => "All workers finished and joined".to_owned(),
            Event::PublisherClosed { published } => {
                format!("Published {published} messages; socket closed")
            }
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.role(), self.message())
    }
}
