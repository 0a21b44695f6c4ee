//! A fixed-size pool of worker threads fed by one queue.
//!
//! This is the Rust Book's final-project `ThreadPool`, grown up for real use:
//!
//! - the queue is a crossbeam channel, whose receiver many threads can share, so a
//!   worker takes the next job without holding any lock while the job runs;
//! - a job that panics is caught, so one bad job never shrinks the pool;
//! - [`ThreadPool::execute_and_report`] runs a job whose result someone waits for,
//!   and turns its panic into a reported failure, so that caller always hears back;
//! - shutting down (or dropping the pool) closes the queue, lets the workers drain
//!   what was already queued, and joins every thread — nothing leaks.
//!
//! It knows nothing about tasks or results: a job is any closure. Chapters 03–06
//! put their own work on this same pool.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, unbounded};

/// Which worker runs a job: `0..size`.
pub type WorkerId = usize;

// ANCHOR: job
/// A unit of work for the pool. The worker's id is passed in so a job can say who ran it.
pub type Job = Box<dyn FnOnce(WorkerId) + Send + 'static>;
// ANCHOR_END: job

// ANCHOR: pool_given
// ANCHOR: pool_events
/// What a worker thread reports about itself, through [`PoolBuilder::on_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerEvent {
    /// The worker's thread is running and waiting for jobs.
    Started(WorkerId),
    /// A job panicked; the worker caught it and carries on.
    JobPanicked(WorkerId),
    /// The queue is closed and empty: the worker is about to end.
    Stopping(WorkerId),
}

type EventHook = Arc<dyn Fn(WorkerEvent) + Send + Sync>;

/// Why the pool refused to start or to take a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("a thread pool needs at least one worker")]
    NoWorkers,
    #[error("the pool has been shut down and takes no more jobs")]
    ShutDown,
    #[error("could not start worker thread {worker}: {reason}")]
    Spawn { worker: WorkerId, reason: String },
}
// ANCHOR_END: pool_events

/// Configures a [`ThreadPool`] before its threads start.
pub struct PoolBuilder {
    size: usize,
    on_event: Option<EventHook>,
}

impl PoolBuilder {
    /// Calls `hook` from each worker thread when it starts, stops, or catches a panic.
    pub fn on_event(mut self, hook: impl Fn(WorkerEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    // ANCHOR: build
    /// Starts the workers and returns once every one of them is running.
    #[cfg_attr(workbook_todo_pool_build, allow(unused_variables))]
    pub fn build(self) -> Result<ThreadPool, PoolError> {
        // ANCHOR_END: pool_given
        // TODO(pool-build): refuse 0 workers, make the job queue, spawn `size` workers sharing it, and return once every worker has said it started
        todo!("pool-build — book: ch02, \"The pool\"")
    }
    // ANCHOR_END: build
}

// ANCHOR: thread_pool
/// A fixed number of worker threads taking jobs from one queue.
pub struct ThreadPool {
    workers: Vec<Worker>,
    /// `None` once the pool is shut down: dropping the sender is what closes the queue.
    queue: Option<Sender<Job>>,
}
// ANCHOR_END: thread_pool

impl ThreadPool {
    /// Starts a pool of `size` workers. `size` must be at least 1.
    pub fn new(size: usize) -> Result<Self, PoolError> {
        Self::builder(size).build()
    }

    /// A pool of `size` workers with options, e.g. [`PoolBuilder::on_event`].
    pub fn builder(size: usize) -> PoolBuilder {
        PoolBuilder {
            size,
            on_event: None,
        }
    }

    /// How many workers the pool has.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// Whether [`ThreadPool::shutdown`] has been called.
    pub fn is_shut_down(&self) -> bool {
        self.queue.is_none()
    }

    /// How many jobs are waiting for a free worker.
    pub fn queued(&self) -> usize {
        self.queue.as_ref().map_or(0, Sender::len)
    }

    // ANCHOR: execute
    // ANCHOR: execute_given
    /// Queues `job` for the next free worker. Never blocks: the queue is unbounded.
    #[cfg_attr(workbook_todo_pool_execute, allow(unused_variables))]
    pub fn execute<F>(&self, job: F) -> Result<(), PoolError>
    where
        F: FnOnce(WorkerId) + Send + 'static,
    {
        // ANCHOR_END: execute_given
        // TODO(pool-execute): queue the job for the next free worker, or refuse it with `PoolError::ShutDown` once the pool is shut down
        todo!("pool-execute — book: ch02, \"The pool\"")
    }
    // ANCHOR_END: execute

    // ANCHOR: execute_and_report
    /// Queues `work` like [`ThreadPool::execute`], then calls `report` on the same
    /// worker with what `work` returned — or, if it panicked, with the panic's
    /// message. Whatever the work does, its caller hears back exactly once, and the
    /// worker goes on to its next job. Chapter 02's dispatcher and chapters 04 and
    /// 05's workers run their tasks through this one helper.
    pub fn execute_and_report<T, W, R>(&self, work: W, report: R) -> Result<(), PoolError>
    where
        W: FnOnce(WorkerId) -> T + Send + 'static,
        R: FnOnce(WorkerId, Result<T, String>) + Send + 'static,
    {
        self.execute(move |worker| {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| work(worker)))
                .map_err(|payload| panic_message(&*payload));
            report(worker, outcome);
        })
    }
    // ANCHOR_END: execute_and_report

    // ANCHOR: shutdown
    // ANCHOR: shutdown_given
    /// Closes the queue, lets the workers finish every job already queued, and joins
    /// them. Calling it again does nothing; `execute` afterwards returns
    /// [`PoolError::ShutDown`].
    #[cfg_attr(workbook_todo_pool_shutdown, allow(unused_variables))]
    pub fn shutdown(&mut self) {
        // ANCHOR_END: shutdown_given
        // TODO(pool-shutdown): close the queue by dropping the pool's sender, then join every worker; a second call does nothing
        todo!("pool-shutdown — book: ch02, \"Graceful shutdown\"")
    }
    // ANCHOR_END: shutdown
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // Not while unwinding: in the exercise, `shutdown` starts out unwritten (a
        // todo that panics), and a test that fails drops its pool while it unwinds; a
        // second panic here would abort the whole test run instead of failing that one
        // test. (A pool dropped during a panic is then not joined; its workers end with
        // the process.)
        if !thread::panicking() {
            self.shutdown();
        }
    }
}

// ANCHOR: worker
/// One thread of the pool.
struct Worker {
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(
        id: WorkerId,
        jobs: Receiver<Job>,
        on_event: Option<EventHook>,
        started: Sender<()>,
    ) -> Result<Self, PoolError> {
        let thread = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || run_worker(id, &jobs, on_event.as_deref(), started))
            .map_err(|error| PoolError::Spawn {
                worker: id,
                reason: error.to_string(),
            })?;
        Ok(Self {
            thread: Some(thread),
        })
    }
}
// ANCHOR_END: worker

// ANCHOR: worker_loop
// ANCHOR: worker_loop_given
#[cfg_attr(workbook_todo_worker_loop, allow(unused_variables))]
fn run_worker(
    id: WorkerId,
    jobs: &Receiver<Job>,
    on_event: Option<&(dyn Fn(WorkerEvent) + Send + Sync)>,
    started: Sender<()>,
) {
    // ANCHOR_END: worker_loop_given
    // TODO(worker-loop): report Started and signal `started`; run jobs from the queue until it is closed and empty, catching each job's panic; report Stopping
    todo!("worker-loop — book: ch02, \"Why no lock is held while a job runs\"")
}
// ANCHOR_END: worker_loop

// ANCHOR: panic_message
/// The text of a panic, whether it was raised with a `&str` or a `String`.
///
/// `catch_unwind` hands the payload over as a `Box<dyn Any + Send>`: pass the value
/// inside the box (`&*payload`). The box is itself an `Any`, so `&payload` compiles
/// too — and yields "a panic without a message".
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
// ANCHOR_END: panic_message
