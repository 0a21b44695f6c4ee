//! What a chaos run found, in the figures that prove it: tasks, kills,
//! redeliveries, lost (must be 0), wrong (must be 0), duration.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::tasks::Checkable;

/// Where a queued task ended, as its dispatcher reports it after the run.
#[derive(Debug)]
pub enum Ending {
    /// The dispatcher does not know the task.
    NotFound,
    /// Completed with `result`, shown in a wrong task's line as `shown`.
    Completed {
        result: Option<Value>,
        shown: String,
    },
    /// FAILED, for the reason `error`.
    Failed { error: String },
    /// Not final: still in the state `status`.
    Unfinished { status: String },
}

/// The findings of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `ch05`, …
    pub chapter: String,
    /// What kind of chaos this chapter gets, in a sentence.
    pub chaos: String,
    /// Tasks the run meant to submit.
    pub tasks: usize,
    /// Tasks a dispatcher acknowledged (with an id), each counted once.
    pub submitted: usize,
    /// Tasks that ended with the right result.
    pub right: usize,
    pub worker_kills: u32,
    pub dispatcher_kills: u32,
    /// What the dispatcher is called in this chapter ("dispatcher" if empty).
    pub dispatcher_name: String,
    /// Processes that exited without being killed (and were started again).
    pub unexpected_exits: u32,
    /// Tasks that were handed out more than once.
    pub redelivered_tasks: usize,
    /// Leases beyond each task's first.
    pub extra_leases: u64,
    /// Tasks the client submitted again (chapter 04: its dispatcher forgets).
    pub resubmitted: usize,
    /// Tasks in the queue that the client never got an id for: a submission
    /// whose answer was lost, then sent again — the same task twice.
    pub duplicate_tasks: u64,
    /// One line per task that never reached a final state.
    pub lost: Vec<String>,
    /// One line per task that ended FAILED or with the wrong result.
    pub wrong: Vec<String>,
    pub duration: Duration,
    /// Anything else worth saying (timeouts, where the logs are).
    pub notes: Vec<String>,
}

impl Report {
    /// A report on `tasks` tasks of `chapter`, under its `chaos`, before the run.
    pub fn new(chapter: &str, chaos: &str, tasks: usize) -> Self {
        Self {
            chapter: chapter.into(),
            chaos: chaos.into(),
            tasks,
            ..Self::default()
        }
    }

    /// Counts one queued task that its dispatcher handed out `attempts` times:
    /// right, wrong (completed with another result, or FAILED) or lost (not
    /// found, or not final), checked against `task`; and its redeliveries.
    pub fn count_queued(&mut self, id: i64, task: &Checkable, attempts: u32, ending: Ending) {
        if attempts > 1 {
            self.redelivered_tasks += 1;
            self.extra_leases += u64::from(attempts - 1);
        }
        let (kind, args) = (task.kind, task.args());
        match ending {
            Ending::NotFound => self.lost.push(format!("task {id} ({kind}): not found")),
            Ending::Completed { result, .. } if task.is_right(result.as_ref()) => self.right += 1,
            Ending::Completed { shown, .. } => self.wrong.push(format!(
                "task {id}: {kind} {args} → {shown}, expected {}",
                task.expected
            )),
            Ending::Failed { error } => self.wrong.push(format!(
                "task {id}: {kind} {args} FAILED after {attempts} attempts: {error}"
            )),
            Ending::Unfinished { status } => self.lost.push(format!(
                "task {id} ({kind}): still {status} after {attempts} attempts"
            )),
        }
    }

    /// 0 lost and 0 wrong: every task ended with its right result.
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.wrong.is_empty() && self.right == self.tasks
    }
}

const SHOWN: usize = 10;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "chaos {}: {}", self.chapter, self.chaos)?;
        writeln!(
            f,
            "  tasks         {} ({} submitted, {} right)",
            self.tasks, self.submitted, self.right
        )?;
        let dispatcher = match self.dispatcher_name.as_str() {
            "" => "dispatcher",
            name => name,
        };
        writeln!(
            f,
            "  kills         {} ({} workers, {} {dispatcher}), {} unexpected exits",
            self.worker_kills + self.dispatcher_kills,
            self.worker_kills,
            self.dispatcher_kills,
            self.unexpected_exits
        )?;
        writeln!(
            f,
            "  redeliveries  {} tasks handed out more than once ({} extra leases)",
            self.redelivered_tasks, self.extra_leases
        )?;
        if self.resubmitted > 0 {
            writeln!(
                f,
                "  resubmitted   {} tasks, by the client",
                self.resubmitted
            )?;
        }
        writeln!(
            f,
            "  duplicates    {} tasks queued twice (a resubmission after an answer lost in a kill)",
            self.duplicate_tasks
        )?;
        writeln!(f, "  lost          {}", self.lost.len())?;
        for line in self.lost.iter().take(SHOWN) {
            writeln!(f, "                  {line}")?;
        }
        writeln!(f, "  wrong         {}", self.wrong.len())?;
        for line in self.wrong.iter().take(SHOWN) {
            writeln!(f, "                  {line}")?;
        }
        writeln!(f, "  duration      {:.1} s", self.duration.as_secs_f64())?;
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        write!(
            f,
            "{}",
            if self.passed() {
                "PASS: 0 lost, 0 wrong"
            } else {
                "FAIL"
            }
        )
    }
}
