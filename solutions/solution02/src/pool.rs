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
    pub fn build(self) -> Result<ThreadPool, PoolError> {
        // ANCHOR_END: pool_given
        // ANCHOR: todo-pool-build
        if self.size == 0 {
            return Err(PoolError::NoWorkers);
        }
        let (queue, jobs) = unbounded::<Job>();
        let (started, all_started) = unbounded();

        let mut pool = ThreadPool {
            workers: Vec::with_capacity(self.size),
            queue: Some(queue),
        };
        for id in 0..self.size {
            let worker = Worker::spawn(id, jobs.clone(), self.on_event.clone(), started.clone())?;
            pool.workers.push(worker);
        }
        drop(started);
        // Each worker says so once its thread runs, then drops its sender; if one
        // died first, the channel closes early and we simply stop waiting.
        for _ in all_started.iter().take(self.size) {}
        Ok(pool)
        // ANCHOR_END: todo-pool-build
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
    pub fn execute<F>(&self, job: F) -> Result<(), PoolError>
    where
        F: FnOnce(WorkerId) + Send + 'static,
    {
        // ANCHOR_END: execute_given
        // ANCHOR: todo-pool-execute
        let queue = self.queue.as_ref().ok_or(PoolError::ShutDown)?;
        queue.send(Box::new(job)).map_err(|_| PoolError::ShutDown)
        // ANCHOR_END: todo-pool-execute
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
    pub fn shutdown(&mut self) {
        // ANCHOR_END: shutdown_given
        // ANCHOR: todo-pool-shutdown
        // Dropping the only sender closes the channel: each worker's `recv` keeps
        // returning queued jobs, then fails once the queue is empty.
        drop(self.queue.take());
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                // Jobs' panics are caught inside the worker, so a join error means
                // the worker loop itself failed; there is nothing left to clean up.
                let _ = thread.join();
            }
        }
        // ANCHOR_END: todo-pool-shutdown
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
fn run_worker(
    id: WorkerId,
    jobs: &Receiver<Job>,
    on_event: Option<&(dyn Fn(WorkerEvent) + Send + Sync)>,
    started: Sender<()>,
) {
    // ANCHOR_END: worker_loop_given
    // ANCHOR: todo-worker-loop
    let emit = |event| {
        if let Some(hook) = on_event {
            hook(event);
        }
    };
    emit(WorkerEvent::Started(id));
    // Dropping our sender as well lets `build` stop waiting if a worker dies early.
    let _ = started.send(());
    drop(started);

    // `recv` blocks until a job arrives, and fails once the queue is closed *and*
    // empty. No lock is held while the job runs, so the other workers keep taking
    // jobs in the meantime.
    while let Ok(job) = jobs.recv() {
        if panic::catch_unwind(AssertUnwindSafe(|| job(id))).is_err() {
            emit(WorkerEvent::JobPanicked(id));
        }
    }
    emit(WorkerEvent::Stopping(id));
    // ANCHOR_END: todo-worker-loop
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
