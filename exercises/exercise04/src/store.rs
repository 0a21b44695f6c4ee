//! The dispatcher's memory: every task, its state, its result, and the queue.
//!
//! The Python original spread this over a Redis store, a task list and a dict of
//! running tasks, each behind its own lock, because four threads touched them. Here
//! one thread owns the [`TaskTable`] outright, so it is a plain struct with `&mut
//! self` methods — no lock, and nothing to forget to lock. It knows nothing about
//! sockets, which also makes it testable without a network.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::{
    Assignment, ErrorType, ResultReport, TaskFailure, TaskId, TaskStatus, quote,
};

/// A task as a client submits it: `{"kind": "sleep", "args": {"ms": 100}}`.
///
/// The dispatcher does not check the kind: it only routes. The worker, which is
/// the one that would run it, refuses kinds it does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    pub kind: String,
    #[serde(default)]
    pub args: Value,
}

/// What `status <id>` answers: the task's state and, once final, its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    pub task_id: TaskId,
    pub kind: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskFailure>,
}

/// One task and everything known about it.
#[derive(Debug, Clone)]
struct TaskRecord {
    task: NewTask,
    status: TaskStatus,
    /// When a worker took it: the deadline counts from here.
    started: Option<Instant>,
    result: Option<Value>,
    error: Option<TaskFailure>,
}

/// Why a result was not recorded. The text is what the worker is told after `ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultRefused {
    #[error("unknown task {0:?}")]
    UnknownTask(TaskId),
    #[error("task {task_id} is {status}, not RUNNING: result refused")]
    NotRunning { task_id: TaskId, status: TaskStatus },
    #[error("a result's status must be COMPLETED or FAILED, not {0}")]
    NotFinal(TaskStatus),
}

/// A task failed by the deadline checker.
#[derive(Debug, Clone, PartialEq)]
pub struct Expired {
    pub task_id: TaskId,
    pub took: Duration,
    pub failure: TaskFailure,
}

/// All tasks of one dispatcher run, and the queue of those not yet taken.
#[derive(Debug)]
pub struct TaskTable {
    tasks: HashMap<TaskId, TaskRecord>,
    queue: VecDeque<TaskId>,
    /// Makes ids unique across dispatcher restarts, so a worker's result for a task
    /// of a previous run can never be mistaken for one of this run.
    run_prefix: String,
    next_number: u64,
}

impl Default for TaskTable {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskTable {
    pub fn new() -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            tasks: HashMap::new(),
            queue: VecDeque::new(),
            run_prefix: format!("{:x}", started.as_micros()),
            next_number: 1,
        }
    }

    /// Queues `task` and returns its new id.
    pub fn submit(&mut self, task: NewTask) -> TaskId {
        let task_id = format!("{}-{}", self.run_prefix, self.next_number);
        self.next_number += 1;
        self.tasks.insert(
            task_id.clone(),
            TaskRecord {
                task,
                status: TaskStatus::Queued,
                started: None,
                result: None,
                error: None,
            },
        );
        self.queue.push_back(task_id.clone());
        task_id
    }

    /// How many tasks wait for a worker.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The task's state and outcome, `None` for an id this run never gave out.
    pub fn report(&self, task_id: &str) -> Option<TaskReport> {
        let record = self.tasks.get(task_id)?;
        Some(TaskReport {
            task_id: task_id.to_owned(),
            kind: record.task.kind.clone(),
            status: record.status,
            result: record.result.clone(),
            error: record.error.clone(),
        })
    }

    // ANCHOR: assign_next
    /// Hands the oldest queued task to a worker: it is RUNNING from `now`.
    #[cfg_attr(workbook_todo_assign_next, allow(unused_variables))]
    pub fn assign_next(&mut self, now: Instant) -> Option<Assignment> {
        // TODO(assign-next): hand out the oldest queued task: RUNNING from `now`
        todo!("assign-next — book: ch04, \"Task states\"")
    }
    // ANCHOR_END: assign_next

    // ANCHOR: accept_result
    /// Records a worker's result — only while its task is still RUNNING, so a late
    /// result never overwrites the FAILED the deadline checker wrote.
    #[cfg_attr(workbook_todo_accept_result, allow(unused_variables))]
    pub fn accept_result(&mut self, report: ResultReport) -> Result<TaskStatus, ResultRefused> {
        // TODO(accept-result): take a final result only while its task is RUNNING
        todo!("accept-result — book: ch04, \"Task states\"")
    }
    // ANCHOR_END: accept_result

    // ANCHOR: expire_overdue
    /// Fails every task RUNNING for longer than `deadline` with `WorkerFailureError`.
    #[cfg_attr(workbook_todo_expire_overdue, allow(unused_variables))]
    pub fn expire_overdue(&mut self, now: Instant, deadline: Duration) -> Vec<Expired> {
        // TODO(expire-overdue): fail each task RUNNING past `deadline`, once
        todo!("expire-overdue — book: ch04, \"Deadlines\"")
    }
    // ANCHOR_END: expire_overdue
}

/// `Task exceeded deadline of 2s (took 2.41s)`: this workbook's wording of the
/// failure the original's README describes ("marked as failed with appropriate
/// error messages").
pub fn deadline_message(deadline: Duration, took: Duration) -> String {
    format!(
        "Task exceeded deadline of {}s (took {:.2}s)",
        deadline.as_secs_f64(),
        took.as_secs_f64()
    )
}
