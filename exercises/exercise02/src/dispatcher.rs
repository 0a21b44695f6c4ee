//! The dispatcher: takes tasks, queues them for the pool, and routes each result
//! back to whoever asked.
//!
//! It owns the [`ThreadPool`] and adds what the pool does not know about: what a
//! task is, the simulated work time, turning a panicking task into a failed result
//! (with the pool's [`ThreadPool::execute_and_report`]), and reporting [`Event`]s.
//! The work itself is a [`Handler`] — arithmetic by default — just as a gRPC
//! server's work is its servicer.

use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::delay::DelayRange;
use crate::event::Event;
use crate::pool::{PoolError, ThreadPool, WorkerEvent};
use crate::task::{Task, TaskError, TaskResult};

/// The work a dispatcher's workers do for one task.
pub type Handler = Arc<dyn Fn(&Task) -> Result<i64, TaskError> + Send + Sync>;

pub use crate::event::EventSink;

/// How to start a [`Dispatcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatcherConfig {
    /// Number of worker threads.
    pub workers: usize,
    /// Simulated work time per task.
    pub delay: DelayRange,
    /// Seed for the simulated work times.
    pub seed: u64,
}

impl Default for DispatcherConfig {
    /// The original demo: 3 workers, 100–500 ms of simulated work per task.
    fn default() -> Self {
        Self {
            workers: 3,
            delay: DelayRange::DEMO,
            seed: 0,
        }
    }
}

/// Why the dispatcher could not start or take a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    #[error("the dispatcher is shut down and takes no more tasks")]
    ShutDown,
    #[error("could not start the worker pool: {0}")]
    Pool(PoolError),
}

impl From<PoolError> for DispatchError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::ShutDown => DispatchError::ShutDown,
            other => DispatchError::Pool(other),
        }
    }
}

// ANCHOR: dispatcher
/// Tasks in, results out, on a pool of worker threads.
pub struct Dispatcher {
    pool: ThreadPool,
    handler: Handler,
    config: DispatcherConfig,
    events: EventSink,
    results_in: Sender<TaskResult>,
    results_out: Receiver<TaskResult>,
}
// ANCHOR_END: dispatcher

impl Dispatcher {
    /// Starts the workers; returns once all of them are running.
    pub fn start(config: DispatcherConfig) -> Result<Self, DispatchError> {
        Self::with_handler(config, Arc::new(Task::compute), Arc::new(|_: &Event| {}))
    }

    /// Starts the workers, reporting every [`Event`] to `events`.
    pub fn with_events(config: DispatcherConfig, events: EventSink) -> Result<Self, DispatchError> {
        Self::with_handler(config, Arc::new(Task::compute), events)
    }

    /// Starts the workers with custom work in place of arithmetic.
    pub fn with_handler(
        config: DispatcherConfig,
        handler: Handler,
        events: EventSink,
    ) -> Result<Self, DispatchError> {
        events(&Event::Starting {
            workers: config.workers,
        });
        let worker_events = Arc::clone(&events);
        let pool = ThreadPool::builder(config.workers)
            .on_event(move |event| {
                worker_events(&match event {
                    WorkerEvent::Started(id) => Event::WorkerStarted(id),
                    WorkerEvent::JobPanicked(id) => Event::WorkerCaughtPanic(id),
                    WorkerEvent::Stopping(id) => Event::WorkerStopping(id),
                })
            })
            .build()?;
        events(&Event::AllStarted);

        let (results_in, results_out) = unbounded();
        Ok(Self {
            pool,
            handler,
            config,
            events,
            results_in,
            results_out,
        })
    }

    /// Queues `task`; its result arrives on [`Dispatcher::results`].
    pub fn submit(&self, task: Task) -> Result<(), DispatchError> {
        let results = self.results_in.clone();
        self.submit_with(task, move |result| {
            // Nobody listening for results is the caller's choice, not an error here.
            let _ = results.send(result);
        })
    }

    // ANCHOR: submit_with
    // ANCHOR: submit_with_given
    /// Queues `task`; a worker calls `on_done` with its result. This is how the TCP
    /// server sends each result back to the connection that asked.
    #[cfg_attr(workbook_todo_submit_with, allow(unused_variables))]
    pub fn submit_with<F>(&self, task: Task, on_done: F) -> Result<(), DispatchError>
    where
        F: FnOnce(TaskResult) + Send + 'static,
    {
        // ANCHOR_END: submit_with_given
        // TODO(submit-with): report Received, then queue on the pool, with `execute_and_report`, work that reports Processing, pauses and runs the handler, and a report that calls `on_done` with the result — a panic as `TaskError::Panicked`
        todo!("submit-with — book: ch02, \"The dispatcher\"")
    }
    // ANCHOR_END: submit_with

    /// Where the results of [`Dispatcher::submit`] arrive, in the order they finish.
    pub fn results(&self) -> &Receiver<TaskResult> {
        &self.results_out
    }

    /// How many workers the dispatcher runs.
    pub fn workers(&self) -> usize {
        self.pool.size()
    }

    /// Finishes every queued task, then stops and joins the workers. Idempotent;
    /// [`Dispatcher::submit`] afterwards returns [`DispatchError::ShutDown`].
    pub fn shutdown(&mut self) {
        if !self.pool.is_shut_down() {
            self.pool.shutdown();
            (self.events)(&Event::AllStopped);
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        // Not while unwinding, for the reason given in `Drop for ThreadPool`: in the
        // exercise the pool's `shutdown` starts out unwritten (a todo that panics),
        // and panicking again here would abort the test run instead of failing one
        // test.
        if !thread::panicking() {
            self.shutdown();
        }
    }
}
