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
    // Sleep `task.processing_time` (the simulated work), then apply `task.op` to
    // `task.a` and `task.b`; a `TaskError` becomes a status with `status_of`.
    todo!("the blocking body — book/src/ch06-grpc.md, \"The handler\"")
}
// ANCHOR_END: blocking_body

#[tonic::async_trait]
impl Calculator for CalculatorService {
    // ANCHOR: compute
    async fn compute(
        &self,
        request: Request<pb::Task>,
    ) -> Result<Response<pb::TaskResult>, Status> {
        // 1. Note when the call arrived, and ask the executor to admit it (keep the
        //    permit alive until the end of this function).
        // 2. The deadline: the caller's (`deadline::from_metadata`) or the task's own
        //    `timeout` from arrival, whichever is earlier (`deadline::earliest`).
        // 3. Check the request with `ValidTask::try_from` — on this side, before
        //    anything is queued.
        // 4. `self.executor.run(task.to_string(), deadline, move |worker| ...)` with
        //    `compute_blocking` as the job; answer a `pb::TaskResult` with status
        //    DONE, the value, the worker's id and the time spent queued.
        todo!("the Compute handler — book/src/ch06-grpc.md, \"The handler\"")
    }
    // ANCHOR_END: compute
}
