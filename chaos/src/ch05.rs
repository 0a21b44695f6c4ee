//! Chapter 05 under fire: `lease_dispatcher` on a SQLite file and `lease_worker`
//! processes, each killed with SIGKILL on schedule and started again with the
//! same arguments — the dispatcher on the same database and port, a worker with
//! the same id and result cache. The chapter's promise is that none of this
//! loses a task or changes a result: a dead worker's leases expire and another
//! worker takes the task, a dead dispatcher's queue is still in the file, and a
//! result computed while the dispatcher was down waits in the worker's cache.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use solution05::{Client, NewTask, Stats, TaskId, TaskStatus, TaskView};

use crate::process::{Supervised, start_workers, word_starting};
use crate::report::Ending;
use crate::supervise::Cast;
use crate::tasks::Checkable;
use crate::turns::Turns;
use crate::{ChaosError, ClientThread, LEASE_TIMINGS, Progress, Report, Settings};

/// The two binaries a run needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dispatcher: PathBuf,
    pub worker: PathBuf,
}

/// How long a client call waits for an answer before trying a fresh socket.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// What this chapter's chaos is, for the report and `--help`.
pub const CHAOS: &str = "SIGKILL workers and the dispatcher, restart them on the same \
                         database, port, ids and caches; the queue must finish every task";

/// One run: start everything, submit `settings.tasks` tasks while killing on
/// schedule, wait until the queue is drained (or the limit), check every task.
pub fn run(
    binaries: &Binaries,
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<Report, ChaosError> {
    let started = Instant::now();
    let db = settings.dir.join("tasks.db").display().to_string();
    let dispatcher_args = |bind: &String| -> Vec<String> {
        let mut args: Vec<String> = vec!["--bind".into(), bind.into(), "--db".into(), db.clone()];
        args.extend(LEASE_TIMINGS.iter().map(|s| s.to_string()));
        args
    };
    // Restarts bind the same port: workers and the client reconnect to it.
    let (dispatcher, endpoint) = Supervised::start_on_free_port(
        "lease_dispatcher",
        &binaries.dispatcher,
        settings.dir.join("dispatcher.log"),
        dispatcher_args,
        "tcp://127.0.0.1:*".to_owned(),
        "Serving on",
        |line| word_starting(line, "tcp://"),
    )?;
    progress(&format!("lease_dispatcher serving on {endpoint}"));

    let workers = start_workers("lease_worker", &binaries.worker, settings, |id| {
        let cache = settings.dir.join(format!("cache-{id}"));
        [
            "--id",
            id,
            "--capabilities",
            "add",
            "subtract",
            "multiply",
            "divide",
            "sleep",
            "--endpoint",
            &endpoint,
            "--workers",
            &settings.threads.to_string(),
            "--heartbeat-every",
            "0.2",
            "--timeout",
            "0.5",
            "--poll",
            "0.01",
            "--backoff-first",
            "0.1",
            "--backoff-max",
            "0.5",
            "--cache-dir",
            &cache.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec()
    })?;

    let submitter = ClientThread::spawn(settings, &endpoint, submit_all);
    let tasks = submitter.tasks.clone();

    let mut report = Report::new("ch05", CHAOS, settings.tasks);
    let mut cast = Cast::new(dispatcher, workers, settings);
    let mut turns = Turns::new(started, settings.limit);
    let mut next_look = Instant::now();
    let mut last_stats: Option<Stats> = None;
    while let Some(now) = turns.next() {
        cast.step(now, &mut report, progress)?;
        let all_submitted = submitter.is_finished();
        if now >= next_look && all_submitted {
            next_look = now + Duration::from_millis(500);
            if let Ok(stats) = stats(&endpoint) {
                let done = stats.tasks.queued == 0
                    && stats.tasks.running == 0
                    && stats.tasks.total() >= submitter.count() as u64;
                last_stats = Some(stats);
                if done {
                    break;
                }
            }
        }
        if turns.progress_due(now) {
            let counts = last_stats
                .as_ref()
                .map(|s| {
                    format!(
                        ", {} completed, {} failed",
                        s.tasks.completed, s.tasks.failed
                    )
                })
                .unwrap_or_default();
            progress(&turns.line(&format!(
                "{}/{} submitted{counts}; killed {} workers, {} dispatchers",
                submitter.count(),
                settings.tasks,
                report.worker_kills,
                report.dispatcher_kills
            )));
            if !all_submitted {
                last_stats = None;
            }
        }
    }

    // The chaos stops here: everything up, so that every task can be asked about.
    submitter.stop();
    cast.restart_all()?;
    let ids = submitter.join()?;
    report.submitted = ids.len();
    progress(&turns.line(&format!("checking {} tasks", ids.len())));
    check(&endpoint, &tasks, &ids, &mut report)?;
    if let Ok(stats) = stats(&endpoint) {
        report.duplicate_tasks = stats.tasks.total().saturating_sub(ids.len() as u64);
    }
    turns.finish(&mut report, "the queue was not drained");
    Ok(report)
}

/// Submits every task, paced at `rate` a second, retrying each on a fresh
/// connection until the dispatcher acknowledges it; returns the ids in order.
fn submit_all(
    endpoint: &str,
    tasks: &[Checkable],
    rate: Option<f64>,
    stop: &AtomicBool,
    submitted: &AtomicUsize,
) -> Vec<TaskId> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(tasks.len());
    let mut client: Option<Client> = None;
    for (index, task) in tasks.iter().enumerate() {
        if let Some(rate) = rate.filter(|rate| *rate > 0.0) {
            let due = started + Duration::from_secs_f64(index as f64 / rate);
            thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        // The key makes the resend below safe: a submission whose answer was
        // lost in a kill is queued once, not twice.
        let new_task = NewTask::new(task.kind, task.args()).with_key(format!("chaos-{index}"));
        loop {
            if stop.load(Ordering::SeqCst) {
                return ids;
            }
            let answer = match client.as_mut() {
                Some(client) => client.submit(&new_task),
                None => match Client::connect(endpoint, CALL_TIMEOUT) {
                    Ok(fresh) => client.insert(fresh).submit(&new_task),
                    Err(error) => Err(error),
                },
            };
            match answer {
                Ok(id) => {
                    ids.push(id);
                    submitted.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Err(_) => {
                    // Dispatcher down (or just restarted): a fresh socket, a
                    // moment's rest, and the same task again.
                    client = None;
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    ids
}

fn stats(endpoint: &str) -> Result<Stats, solution05::ClientError> {
    Client::connect(endpoint, CALL_TIMEOUT)?.stats()
}

/// Asks for one task's state, trying a few fresh connections.
fn status(endpoint: &str, client: &mut Option<Client>, id: TaskId) -> Option<TaskView> {
    for _ in 0..20 {
        let answer = match client.as_mut() {
            Some(client) => client.status(id),
            None => match Client::connect(endpoint, CALL_TIMEOUT) {
                Ok(fresh) => client.insert(fresh).status(id),
                Err(error) => Err(error),
            },
        };
        match answer {
            Ok(view) => return Some(view),
            Err(solution05::ClientError::NotFound(_)) => return None,
            Err(_) => {
                *client = None;
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    None
}

/// Every acknowledged task, against its expected result.
fn check(
    endpoint: &str,
    tasks: &[Checkable],
    ids: &[TaskId],
    report: &mut Report,
) -> Result<(), ChaosError> {
    let mut client = None;
    for (task, &id) in tasks.iter().zip(ids) {
        let Some(view) = status(endpoint, &mut client, id) else {
            report.count_queued(id, task, 0, Ending::NotFound);
            continue;
        };
        let ending = match view.status {
            TaskStatus::Completed => Ending::Completed {
                shown: format!("{:?}", view.result),
                result: view.result,
            },
            TaskStatus::Failed => Ending::Failed {
                error: format!("{:?}", view.error),
            },
            other => Ending::Unfinished {
                status: other.to_string(),
            },
        };
        report.count_queued(id, task, view.attempts, ending);
    }
    Ok(())
}
