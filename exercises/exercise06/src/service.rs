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
    #[cfg_attr(workbook_todo_compute, allow(unused_variables))]
    async fn compute(
        &self,
        request: Request<pb::Task>,
    ) -> Result<Response<pb::TaskResult>, Status> {
        // ANCHOR_END: compute_given
        // TODO(compute): the async Compute handler: admit the call, work out its deadline, check the task, run the blocking body on the executor, answer a TaskResult
        todo!("compute — book: ch06, \"The handler\"")
    }
    // ANCHOR_END: compute
}
