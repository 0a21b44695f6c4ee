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
    #[cfg_attr(workbook_todo_admit, allow(unused_variables))]
    pub fn admit(&self) -> Result<Option<OwnedSemaphorePermit>, Status> {
        let Some(in_flight) = &self.in_flight else {
            return Ok(None);
        };
        // ANCHOR_END: admit_given
        // TODO(admit): take a place among the calls in flight without waiting, or refuse the call at once with RESOURCE_EXHAUSTED
        todo!("admit — book: ch06, \"maximum_concurrent_rpcs\"")
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
    #[cfg_attr(workbook_todo_executor_run, allow(unused_variables))]
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
        // TODO(executor-run): queue the job on the pool and await its answer through a oneshot channel, dropping it unrun if the caller's deadline passes first
        todo!("executor-run — book: ch06, \"The executor: async in front, threads behind\"")
    }
    // ANCHOR_END: run

    /// Closes the queue, lets the workers finish every job already queued (jobs of
    /// callers who have gone are skipped), and joins them.
    pub fn shutdown(&mut self) {
        self.pool.shutdown();
    }
}
