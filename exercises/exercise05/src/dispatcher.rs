//! The lease dispatcher: chapter 04's one-owner loop, with the task table
//! replaced by the SQLite [`Store`] and the deadline check by a monitor.
//!
//! One thread owns the REP socket and the store's connection — both are `Send`
//! but not `Sync`, so one owner is what the compiler wants anyway. Everything it
//! knows is in the database file, so killing this process loses nothing: started
//! again on the same file, it carries on where it stopped.
//!
//! What answers a request is a [`Desk`]: the store and the events, whatever door
//! the request came in by. The ZeroMQ loop owns one; the HTTP door
//! ([`crate::http`]) owns another, on its own connection to the same file.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use solution03::work::Work;
use solution04::connection::millis;
use solution04::dispatcher::bind_rep;
use solution04::protocol::REQUEST_TASK;

use crate::event::{Event, EventSink};
use crate::kinds::check_capabilities;
use crate::protocol::{
    BatchReply, BatchRequest, Health, LeasedResult, ProtocolError, ReceivedAndTasks, Reply,
    Request, ResultAnswer, ResultsAndRequest,
};
use crate::store::{Finished, Lease, Outcome, Recorded, Store, StoreConfig, StoreError};
use solution02::shutdown::{STOP_CHECK, Shutdown};

/// Where the dispatcher listens by default: one port for workers and clients.
pub const DEFAULT_ENDPOINT: &str = "tcp://127.0.0.1:5557";
/// The original's dead-worker limit: no heartbeat for 60 s.
pub const DEFAULT_DEAD_AFTER: Duration = Duration::from_secs(60);
/// The original's monitor period.
pub const DEFAULT_MONITOR_EVERY: Duration = Duration::from_secs(15);

/// How to start a [`Dispatcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherConfig {
    /// The REP endpoint. `tcp://127.0.0.1:*` picks a free port.
    pub endpoint: String,
    /// The SQLite file; created if missing, reused if not.
    pub db: PathBuf,
    pub store: StoreConfig,
    /// How long a worker may stay silent before it is declared dead.
    pub dead_after: Duration,
    /// How often the monitor looks for dead workers.
    pub monitor_every: Duration,
}

impl DispatcherConfig {
    /// Defaults: a lease of 120 s and a worker dead after 60 s without a heartbeat,
    /// as the original's README gives them; a monitor round every 15 s is this
    /// workbook's choice (the original does not say how often it looks).
    pub fn new(endpoint: &str, db: impl Into<PathBuf>) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            db: db.into(),
            store: StoreConfig::default(),
            dead_after: DEFAULT_DEAD_AFTER,
            monitor_every: DEFAULT_MONITOR_EVERY,
        }
    }
}

/// Why the dispatcher could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error(transparent)]
    Bind(#[from] solution04::DispatcherError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ZeroMQ error: {0}")]
    Zmq(#[from] zmq::Error),
}

/// A bound dispatcher with its store open.
pub struct Dispatcher {
    socket: zmq::Socket,
    endpoint: String,
    config: DispatcherConfig,
    desk: Desk,
}

/// What answers requests, whichever door they come in by: one connection to the
/// store, and where the answers are reported. One thread owns it.
pub struct Desk {
    store: Store,
    config: DispatcherConfig,
    events: EventSink,
    started: Instant,
}

impl Dispatcher {
    /// Opens the database and binds the socket.
    pub fn bind(config: DispatcherConfig, events: EventSink) -> Result<Self, DispatcherError> {
        let desk = Desk::open(&config, events, Instant::now())?;
        let (socket, endpoint) = bind_rep(&zmq::Context::new(), &config.endpoint)?;
        Ok(Self {
            socket,
            endpoint,
            config,
            desk,
        })
    }

    /// The endpoint actually bound.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    // ANCHOR: run
    // ANCHOR: run_given
    /// Answers every request and runs the monitor every `monitor_every`, until `stop`.
    pub fn run(mut self, stop: &Shutdown) -> Result<(), DispatcherError> {
        (self.desk.events)(&Event::Listening {
            endpoint: self.endpoint.clone(),
            db: self.config.db.display().to_string(),
            lease: self.config.store.lease,
            dead_after: self.config.dead_after,
        });
        self.serve_until(stop)?;
        (self.desk.events)(&Event::DispatcherStopped);
        Ok(())
    }

    /// The loop itself: the socket, and the monitor's rounds, on this one thread.
    #[cfg_attr(workbook_todo_dispatcher_loop, allow(unused_variables))]
    fn serve_until(&mut self, stop: &Shutdown) -> Result<(), DispatcherError> {
        // ANCHOR_END: run_given
        // TODO(dispatcher-loop): the dispatcher's loop: until `stop`, answer each message on the socket and run the monitor every `monitor_every`
        todo!("dispatcher-loop — book: ch05, \"Heartbeats and the monitor\"")
    }
    // ANCHOR_END: run

    // ANCHOR: answer_given
    /// The answer to one message. Every message gets one, whatever it holds.
    pub fn answer(&mut self, parts: &[Vec<u8>], now: SystemTime) -> String {
        // A batch (`REQUEST_TASKS`, `RESULTS`) has a desk of its own.
        let batch = solution04::protocol::single_text_frame(parts)
            .ok()
            .and_then(BatchRequest::parse);
        match batch {
            Some(Ok(batch)) => return self.desk.serve_batch(batch, now).to_frame(),
            Some(Err(error)) => {
                (self.desk.events)(&Event::BadFrame {
                    reason: error.to_string(),
                });
                return Reply::Error(error.to_string()).to_frame();
            }
            None => {}
        }
        let reply = match Request::from_frames(parts) {
            Ok(request) => self.desk.serve(request, now),
            Err(error) => {
                (self.desk.events)(&Event::BadFrame {
                    reason: error.to_string(),
                });
                match error {
                    // A request for work that cannot be read is answered the way
                    // chapter 04 (and the original) answered a failed request.
                    ProtocolError::BadJson {
                        command: REQUEST_TASK,
                        ..
                    } => Reply::RequestFailed(error.to_string()),
                    _ => Reply::Error(error.to_string()),
                }
            }
        };
        reply.to_frame()
    }
    // ANCHOR_END: answer_given

    /// One monitor round: see [`Desk::monitor`].
    pub fn monitor(&mut self, now: SystemTime) {
        self.desk.monitor(now);
    }
}

impl Desk {
    /// Opens the store for a door: a connection of its own to `config.db`.
    /// `started` is when the dispatcher started, for the uptime `HEALTH` reports.
    pub fn open(
        config: &DispatcherConfig,
        events: EventSink,
        started: Instant,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::open(&config.db, config.store)?,
            config: config.clone(),
            events,
            started,
        })
    }

    // ANCHOR: answer
    // ANCHOR: serve_given
    /// The dispatcher's side of one request, understood: one store call, and its
    /// result as one [`Reply`]. Both doors call it.
    #[cfg_attr(workbook_todo_dispatcher_answer, allow(unused_variables))]
    pub fn serve(&mut self, request: Request, now: SystemTime) -> Reply {
        // ANCHOR_END: serve_given
        // TODO(dispatcher-answer): answer one request from the store: register, heartbeat, request a task, a result, submit, status, stats and health — a refusal is an answer too
        todo!("dispatcher-answer — book: ch05, \"The wire protocol, extended\"")
    }
    // ANCHOR_END: answer

    // ANCHOR: serve_batch
    /// A batch: up to `max` leases in one transaction, or a group of results in
    /// one transaction, each fenced by its own token — a refusal answers for its
    /// result alone; or both in one transaction, for one round trip. Both doors
    /// call it.
    pub fn serve_batch(&mut self, request: BatchRequest, now: SystemTime) -> BatchReply {
        match request {
            BatchRequest::RequestTasks(request) => {
                match self.store.claim_batch(&request.worker_id, request.max, now) {
                    Ok(leases) => {
                        self.leased(&request.worker_id, &leases);
                        BatchReply::Tasks(leases)
                    }
                    Err(error) => BatchReply::Other(self.refusal(error)),
                }
            }
            BatchRequest::Results(results) => {
                let group = match finished_group(results) {
                    Ok(group) => group,
                    Err(error) => return BatchReply::Other(Reply::Error(error.to_string())),
                };
                match self.store.finish_batch(&group, now) {
                    Ok(answers) => BatchReply::ResultsReceived(self.recorded(group, answers)),
                    Err(error) => BatchReply::Other(self.refusal(error)),
                }
            }
            BatchRequest::ResultsAndRequest(request) => self.serve_one_trip(request, now),
        }
    }
    // ANCHOR_END: serve_batch

    // ANCHOR: serve_one_trip
    /// `RESULT_AND_REQUEST`: the results, then the claim, in one transaction
    /// ([`Store::finish_and_claim`]) — the two batch answers above, in one
    /// reply. A refused claim still answers the results: the worker must not
    /// send them again, and learns why it got no task (`claim_refused`).
    fn serve_one_trip(&mut self, request: ResultsAndRequest, now: SystemTime) -> BatchReply {
        let group = match finished_group(request.results) {
            Ok(group) => group,
            Err(error) => return BatchReply::Other(Reply::Error(error.to_string())),
        };
        let done = match self
            .store
            .finish_and_claim(&group, &request.worker_id, request.max, now)
        {
            Ok(done) => done,
            Err(error) => return BatchReply::Other(self.refusal(error)),
        };
        let answers = self.recorded(group, done.answers);
        let (tasks, claim_refused) = match done.claimed {
            Ok(leases) => {
                self.leased(&request.worker_id, &leases);
                (leases, None)
            }
            Err(error) => (Vec::new(), Some(self.refusal(error).to_frame())),
        };
        BatchReply::ReceivedAndTasks(ReceivedAndTasks {
            answers,
            tasks,
            claim_refused,
        })
    }
    // ANCHOR_END: serve_one_trip

    /// Reports each lease granted to `worker_id`.
    fn leased(&self, worker_id: &str, leases: &[Lease]) {
        for lease in leases {
            (self.events)(&Event::Leased {
                task_id: lease.task_id,
                worker_id: worker_id.to_owned(),
                attempt: lease.attempt,
            });
        }
    }

    /// Reports what became of each result of a group, and answers each: recorded,
    /// or refused and why.
    fn recorded(
        &self,
        group: Vec<Finished>,
        answers: Vec<Result<Recorded, StoreError>>,
    ) -> Vec<ResultAnswer> {
        group
            .into_iter()
            .zip(answers)
            .map(|(finished, answer)| {
                let task_id = finished.task_id;
                let refused = match answer {
                    Ok(recorded) => {
                        (self.events)(&Event::Recorded {
                            task_id,
                            status: recorded.status(),
                            again: matches!(recorded, Recorded::Already(_)),
                            error: match finished.outcome {
                                Outcome::Failed(failure) => Some(failure),
                                Outcome::Completed(_) => None,
                            },
                        });
                        None
                    }
                    Err(refused) => {
                        let reason = refused.to_string();
                        (self.events)(&Event::Refused {
                            reason: reason.clone(),
                        });
                        Some(reason)
                    }
                };
                ResultAnswer { task_id, refused }
            })
            .collect()
    }

    /// A store error as an answer: a refusal the peer can act on, or a failure
    /// of the database — the dispatcher keeps serving either way. On the wire
    /// all three kinds of `ERROR` look alike; the HTTP door tells them apart
    /// (400, 409, 500).
    fn refusal(&self, error: StoreError) -> Reply {
        match error {
            StoreError::UnknownWorker(worker_id) => Reply::UnknownWorker(worker_id),
            StoreError::UnknownTask(task_id) => Reply::NotFound(task_id),
            refused @ (StoreError::StaleLease { .. } | StoreError::ConflictingResult { .. }) => {
                let reason = refused.to_string();
                (self.events)(&Event::Refused {
                    reason: reason.clone(),
                });
                Reply::Refused(reason)
            }
            failed @ (StoreError::Open { .. } | StoreError::Sqlite(_) | StoreError::Corrupt(_)) => {
                Reply::StoreFailed(failed.to_string())
            }
            other => Reply::Error(other.to_string()),
        }
    }

    // ANCHOR: monitor
    /// The monitor: the original's background thread, here one call in the loop.
    pub fn monitor(&mut self, now: SystemTime) {
        match self.store.requeue_dead(now, self.config.dead_after) {
            Ok(sweep) => {
                for worker_id in sweep.dead_workers {
                    (self.events)(&Event::WorkerDead { worker_id });
                }
                for task_id in sweep.requeued {
                    (self.events)(&Event::Requeued { task_id });
                }
                for task_id in sweep.failed {
                    (self.events)(&Event::GaveUp { task_id });
                }
            }
            Err(error) => (self.events)(&Event::MonitorFailed {
                reason: error.to_string(),
            }),
        }
    }
    // ANCHOR_END: monitor
}

/// A group of results as the store records them: each one's outcome, checked.
fn finished_group(results: Vec<LeasedResult>) -> Result<Vec<Finished>, ProtocolError> {
    results
        .into_iter()
        .map(|result| {
            Ok(Finished {
                outcome: result.outcome()?,
                task_id: result.task_id,
                lease_token: result.lease_token,
            })
        })
        .collect()
}
