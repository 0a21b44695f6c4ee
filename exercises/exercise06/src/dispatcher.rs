//! The `Dispatcher` servicer: chapter 05's durable queue — submit, status, claim,
//! result, heartbeat, stats, health — served over gRPC on the same executor as
//! `Compute`.
//!
//! Every call's store work is blocking SQLite I/O, so it runs where every blocking
//! handler runs: on a pool worker, through [`Executor::run`]. `max_concurrent_rpcs`
//! and the caller's deadline apply to these calls exactly as to `Compute`.
//!
//! **Why one `Store` behind a mutex.** A `Store` owns one `rusqlite::Connection`,
//! which is `Send` but not `Sync`: one thread at a time. The honest alternatives
//! were a connection per worker thread, or a dedicated store thread fed by a
//! channel. But SQLite admits one writer at a time whatever we do, and nearly
//! every call here writes (claim, result, heartbeat, submit): per-thread
//! connections would only move the queueing into SQLite's file lock and its busy
//! timeout, and could not share an in-memory database at all. A store thread
//! would take the work off the pool, so the pool's size, the concurrency limit and
//! deadlines would no longer describe what runs. An `Arc<Mutex<Store>>` keeps the
//! work on the pool, is held for one short transaction and never across an
//! `.await` (the lock is taken inside the blocking job), and says plainly what is
//! true: one writer. `parking_lot`'s mutex, because a panicking job must not
//! poison the store for every later call — the transaction it was in rolls back
//! when dropped.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use solution03::work::Work;
use solution05::kinds::check_capabilities;
use solution05::store::{ErrorType, Outcome, Recorded, Stats, task_failure};
use solution05::{Store, StoreError, TaskId};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::deadline;
use crate::event::{Event, EventSink};
use crate::executor::Executor;
use crate::pb::{self, dispatcher_server::Dispatcher};
use crate::store_wire::{self, status_of_decode, status_of_store};

/// The one store every call shares; see the module doc for why a lock.
pub type SharedStore = Arc<Mutex<Store>>;

/// Serves `Dispatcher` from a [`SharedStore`] on an [`Executor`]'s workers.
#[derive(Clone)]
pub struct DispatcherService {
    executor: Arc<Executor>,
    store: SharedStore,
    /// The database file, or `:memory:`, for `Health`.
    location: String,
}

impl DispatcherService {
    pub fn new(executor: Arc<Executor>, store: Store) -> Self {
        let location = store
            .path()
            .map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string());
        Self {
            executor,
            store: Arc::new(Mutex::new(store)),
            location,
        }
    }

    // ANCHOR: with_store
    // ANCHOR: with_store_given
    /// Runs `work` on a pool worker with the store locked — the same path as
    /// `Compute`: admitted (or refused) at once, queued, dropped if the caller's
    /// deadline passes first. A store refusal becomes its status.
    #[cfg_attr(workbook_todo_with_store, allow(unused_variables))]
    async fn with_store<T, F>(
        &self,
        call: String,
        metadata: &MetadataMap,
        work: F,
    ) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, SystemTime) -> Result<T, StoreError> + Send + 'static,
    {
        // ANCHOR_END: with_store_given
        // TODO(with-store): admit the call (or refuse it), take the caller's deadline, and run `work` on the store through `on_store`, on the same path as Compute
        todo!("with-store — book: ch06, \"The Dispatcher service: chapter 05's store over gRPC\"")
    }
    // ANCHOR_END: with_store

    /// Runs `work` on a pool worker with the store locked, and answers with its
    /// result — with no admission check: [`Self::with_store`] admits the callers'
    /// calls, and the monitor, the server's own work, comes straight here.
    async fn on_store<T, F>(
        &self,
        call: String,
        deadline: Option<Instant>,
        work: F,
    ) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, SystemTime) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let answer = self
            .executor
            .run(call, deadline, move |_worker| {
                // Locked on the worker thread, released before the answer is sent:
                // no async code ever waits for this lock.
                let mut store = store.lock();
                work(&mut store, SystemTime::now())
            })
            .await?;
        answer.map_err(|error| status_of_store(&error))
    }

    /// The store's counts, for `Stats` and `Health` alike.
    async fn store_stats(&self, call: &str, metadata: &MetadataMap) -> Result<Stats, Status> {
        self.with_store(call.to_owned(), metadata, |store, now| store.stats(now))
            .await
    }

    /// The monitor of chapter 05, as a task on the runtime: every `every`, one
    /// job on the pool declares silent workers dead and requeues their tasks.
    ///
    /// It is never refused: `max_concurrent_rpcs` limits callers, and a server
    /// whose callers keep it at its limit is exactly one whose dead workers must
    /// still lose their leases. A sweep that fails is reported, not dropped.
    pub async fn monitor(self, every: Duration, dead_after: Duration, events: EventSink) {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let swept = self
                .on_store("monitor".to_owned(), None, move |store, now| {
                    store.requeue_dead(now, dead_after)
                })
                .await;
            match swept {
                Ok(sweep) if sweep.dead_workers.is_empty() && sweep.failed.is_empty() => {}
                Ok(sweep) => events(&Event::Swept {
                    dead_workers: sweep.dead_workers,
                    requeued: sweep.requeued.len(),
                    failed: sweep.failed.len(),
                }),
                Err(status) => events(&Event::MonitorFailed {
                    reason: status.message().to_owned(),
                }),
            }
        }
    }
}

/// Refuses an id no task can have before any worker is bothered.
fn task_id(id: TaskId) -> Result<TaskId, Status> {
    if id > 0 {
        Ok(id)
    } else {
        Err(Status::invalid_argument(format!(
            "task_id must be positive, got {id}"
        )))
    }
}

fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(Status::invalid_argument(format!("{field} is required")))
    } else {
        Ok(value)
    }
}

#[tonic::async_trait]
impl Dispatcher for DispatcherService {
    // ANCHOR: submit_task
    async fn submit_task(
        &self,
        request: Request<pb::SubmitTaskRequest>,
    ) -> Result<Response<pb::SubmitTaskResponse>, Status> {
        // Checked on the async side, like a Compute task: a task no worker could
        // ever run is refused at the door and never takes a pool worker.
        let task = store_wire::new_task(request.get_ref())?;
        Work::decode(&task.kind, &task.args).map_err(|error| status_of_decode(&error))?;
        let call = format!("SubmitTask {}", task.kind);
        let task_id = self
            .with_store(call, request.metadata(), move |store, now| {
                store.submit(&task, now)
            })
            .await?;
        Ok(Response::new(pb::SubmitTaskResponse { task_id }))
    }
    // ANCHOR_END: submit_task

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::TaskState>, Status> {
        let id = task_id(request.get_ref().task_id)?;
        let view = self
            .with_store(
                format!("GetTask {id}"),
                request.metadata(),
                move |store, _| store.get(id),
            )
            .await?;
        Ok(Response::new(view.into()))
    }

    async fn claim_task(
        &self,
        request: Request<pb::ClaimTaskRequest>,
    ) -> Result<Response<pb::ClaimTaskResponse>, Status> {
        let worker = required("worker_id", &request.get_ref().worker_id)?.to_owned();
        let call = format!("ClaimTask for {worker}");
        let lease = self
            .with_store(call, request.metadata(), move |store, now| {
                store.claim(&worker, now)
            })
            .await?;
        Ok(Response::new(pb::ClaimTaskResponse {
            lease: lease.map(Into::into),
        }))
    }

    // ANCHOR: submit_result
    #[cfg_attr(workbook_todo_submit_result, allow(unused_variables))]
    async fn submit_result(
        &self,
        request: Request<pb::SubmitResultRequest>,
    ) -> Result<Response<pb::SubmitResultResponse>, Status> {
        // TODO(submit-result): check the request on the async side, then record the outcome in the store under the lease token, which fences off stale workers
        todo!(
            "submit-result — book: ch06, \"The Dispatcher service: chapter 05's store over gRPC\""
        )
    }
    // ANCHOR_END: submit_result

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let wire = request.get_ref();
        let worker = wire
            .worker
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("worker is required"))?;
        let worker_id = required("worker.id", &worker.id)?.to_owned();
        let kinds = store_wire::kinds_of(worker)?;
        check_capabilities(&kinds).map_err(|error| status_of_decode(&error))?;
        let held: Vec<(TaskId, String)> = wire
            .held
            .iter()
            .map(|lease| (lease.task_id, lease.lease_token.clone()))
            .collect();
        let call = format!("Heartbeat from {worker_id}");
        let renewed = self
            .with_store(call, request.metadata(), move |store, now| {
                // Registering again is how a worker announces (or changes) what
                // it can run; the heartbeat then renews the leases it holds.
                store.register(&worker_id, &kinds, now)?;
                store.heartbeat(&worker_id, &held, now)
            })
            .await?;
        Ok(Response::new(pb::HeartbeatResponse {
            renewed: u32::try_from(renewed).unwrap_or(u32::MAX),
        }))
    }

    async fn stats(
        &self,
        request: Request<pb::StatsRequest>,
    ) -> Result<Response<pb::StatsResponse>, Status> {
        let stats = self.store_stats("Stats", request.metadata()).await?;
        Ok(Response::new(stats.into()))
    }

    async fn health(
        &self,
        request: Request<pb::HealthRequest>,
    ) -> Result<Response<pb::HealthResponse>, Status> {
        // A round trip through the pool *and* the store: if either is stuck, a
        // monitor's deadline on this call says so.
        let stats = self.store_stats("Health", request.metadata()).await?;
        let live = stats.workers.iter().filter(|worker| worker.alive).count();
        Ok(Response::new(pb::HealthResponse {
            status: "ok".to_owned(),
            tasks: stats.tasks.total(),
            live_workers: u32::try_from(live).unwrap_or(u32::MAX),
            store: self.location.clone(),
        }))
    }
}
