//! The `Calculator` servicer: what a grpcio `CalculatorServicer.Compute` does, with
//! the executor's part written out.
//!
//! The handler is async but does nothing slow itself: it checks the request, asks
//! the executor for a place in flight, and awaits the worker that runs the blocking
//! body — the simulated work and the arithmetic.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::deadline;
use crate::executor::Executor;
use crate::pb::{self, calculator_server::Calculator};
use crate::task::{ValidTask, status_of};

/// Serves `Calculator` on an [`Executor`]'s workers.
#[derive(Clone)]
pub struct CalculatorService {
    executor: Arc<Executor>,
}

impl CalculatorService {
    pub fn new(executor: Arc<Executor>) -> Self {
        Self { executor }
    }
}

// ANCHOR: blocking_body
/// The blocking body a worker runs: what the Python servicer's method would be.
fn compute_blocking(task: &ValidTask) -> Result<i64, Status> {
    thread::sleep(task.processing_time);
    task.op
        .apply(task.a, task.b)
        .map_err(|error| status_of(&error))
}
// ANCHOR_END: blocking_body

#[tonic::async_trait]
impl Calculator for CalculatorService {
    // ANCHOR: compute
    // ANCHOR: compute_given
    async fn compute(
        &self,
        request: Request<pb::Task>,
    ) -> Result<Response<pb::TaskResult>, Status> {
        // ANCHOR_END: compute_given
        // ANCHOR: todo-compute
        let arrived = Instant::now();
        let _in_flight = self.executor.admit()?;
        let caller_deadline = deadline::from_metadata(request.metadata(), arrived);
        let task = ValidTask::try_from(request.get_ref())?;
        let deadline = deadline::earliest(
            caller_deadline,
            task.timeout.map(|timeout| arrived + timeout),
        );

        let call = task.to_string();
        let (value, worker, queued) = self
            .executor
            .run(call, deadline, move |worker| {
                let queued = arrived.elapsed();
                (compute_blocking(&task), worker, queued)
            })
            .await?;

        Ok(Response::new(pb::TaskResult {
            task_id: request.into_inner().id,
            status: pb::TaskStatus::Done.into(),
            value: value?,
            worker_id: u32::try_from(worker).unwrap_or(u32::MAX),
            queued_seconds: queued.as_secs_f64(),
        }))
        // ANCHOR_END: todo-compute
    }
    // ANCHOR_END: compute
}
