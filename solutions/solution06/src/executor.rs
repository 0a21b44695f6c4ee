//! `futures.ThreadPoolExecutor`, made explicit: the bridge from tonic's async
//! handlers to chapter 02's pool of blocking worker threads.
//!
//! A tokio thread must never block — while it sleeps in a handler, every other
//! call it drives waits too. So a handler only *queues* its blocking work on the
//! pool and awaits a oneshot channel; a worker runs the job and sends the answer
//! back. Around that, the two things grpcio's server adds to its executor:
//!
//! - `maximum_concurrent_rpcs`: beyond that many calls in flight, a new call is
//!   refused at once with `RESOURCE_EXHAUSTED` instead of queueing without bound;
//! - deadlines: a call whose caller has given up is dropped from the queue, never
//!   run — a worker's time goes only to answers somebody still waits for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use solution02::{PoolError, ThreadPool, WorkerId};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tonic::Status;

use crate::event::{Event, EventSink};

/// The knobs of `grpc.server(ThreadPoolExecutor(max_workers), maximum_concurrent_rpcs=…)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Worker threads: how many handlers run at once — the pool's size, which
    /// `ThreadPoolExecutor` calls `max_workers`.
    pub workers: usize,
    /// Calls in flight (running or queued) beyond which new ones are refused;
    /// `None` queues every call, as grpcio does by default.
    pub max_concurrent_rpcs: Option<usize>,
}

impl Default for ExecutorConfig {
    /// `ThreadPoolExecutor(max_workers=10)`, no limit on calls in flight.
    fn default() -> Self {
        Self {
            workers: 10,
            max_concurrent_rpcs: None,
        }
    }
}

// ANCHOR: executor_struct
/// Runs handlers' blocking work on a fixed pool, on behalf of async callers.
pub struct Executor {
    pool: ThreadPool,
    /// One permit per call allowed in flight; `None` when there is no limit.
    in_flight: Option<Arc<Semaphore>>,
    config: ExecutorConfig,
    events: EventSink,
}
// ANCHOR_END: executor_struct

// ANCHOR: abandoned
/// Set when the caller stops waiting — its deadline passed or it hung up — so a
/// job still in the queue knows not to run.
struct Abandoned(Arc<AtomicBool>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        // Runs however the handler ends: answered, timed out, or dropped by tonic
        // because the client went away. Only a job not yet started looks at it.
        self.0.store(true, Ordering::SeqCst);
    }
}
// ANCHOR_END: abandoned

impl Executor {
    /// Starts `config.workers` worker threads.
    pub fn new(config: ExecutorConfig, events: EventSink) -> Result<Self, PoolError> {
        Ok(Self {
            pool: ThreadPool::new(config.workers)?,
            in_flight: config
                .max_concurrent_rpcs
                .map(|limit| Arc::new(Semaphore::new(limit))),
            config,
            events,
        })
    }

    /// The configuration the executor was started with.
    pub fn config(&self) -> ExecutorConfig {
        self.config
    }

    // ANCHOR: admit
    // ANCHOR: admit_given
    /// Lets one more call in, or refuses it at once with `RESOURCE_EXHAUSTED` if
    /// `max_concurrent_rpcs` calls are already in flight. The call counts as in
    /// flight until the returned permit is dropped.
    pub fn admit(&self) -> Result<Option<OwnedSemaphorePermit>, Status> {
        let Some(in_flight) = &self.in_flight else {
            return Ok(None);
        };
        // ANCHOR_END: admit_given
        // ANCHOR: todo-admit
        match Arc::clone(in_flight).try_acquire_owned() {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => {
                let limit = self.config.max_concurrent_rpcs.unwrap_or_default();
                (self.events)(&Event::Refused { limit });
                Err(Status::resource_exhausted(format!(
                    "the server is at its limit of {limit} concurrent calls; try again later"
                )))
            }
        }
        // ANCHOR_END: todo-admit
    }
    // ANCHOR_END: admit

    // ANCHOR: run
    // ANCHOR: run_given
    /// Queues `job` for the next free worker and waits — without blocking the async
    /// thread — for its answer. `call` names the call in events.
    ///
    /// If `deadline` passes first, answers `DEADLINE_EXCEEDED`, and a job still in
    /// the queue is dropped when a worker reaches it. A job that panics answers
    /// `UNKNOWN`, as an exception in a grpcio servicer does.
    pub async fn run<T, F>(
        &self,
        call: String,
        deadline: Option<Instant>,
        job: F,
    ) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(WorkerId) -> T + Send + 'static,
    {
        // ANCHOR_END: run_given
        // ANCHOR: todo-executor-run
        let (answer_tx, answer_rx) = oneshot::channel();
        let abandoned = Abandoned(Arc::new(AtomicBool::new(false)));
        let caller_gone = Arc::clone(&abandoned.0);
        let events = Arc::clone(&self.events);

        self.pool
            .execute(move |worker| {
                let expired = deadline.is_some_and(|deadline| Instant::now() >= deadline);
                if expired || caller_gone.load(Ordering::SeqCst) {
                    events(&Event::Expired { call });
                    return;
                }
                events(&Event::Started {
                    worker,
                    call: call.clone(),
                });
                let answer = job(worker);
                events(&Event::Finished { worker, call });
                // The caller may have given up meanwhile; then nobody needs it.
                let _ = answer_tx.send(answer);
            })
            .map_err(|_| Status::unavailable("the server is shutting down"))?;

        let answer = match deadline {
            None => answer_rx.await,
            Some(deadline) => tokio::time::timeout_at(deadline.into(), answer_rx)
                .await
                .map_err(|_| Status::deadline_exceeded("the deadline passed before an answer"))?,
        };
        drop(abandoned);
        // A closed channel with no answer: the job panicked and the pool caught it.
        answer.map_err(|_| Status::unknown("the handler panicked"))
        // ANCHOR_END: todo-executor-run
    }
    // ANCHOR_END: run

    /// Closes the queue, lets the workers finish every job already queued (jobs of
    /// callers who have gone are skipped), and joins them.
    pub fn shutdown(&mut self) {
        self.pool.shutdown();
    }
}
