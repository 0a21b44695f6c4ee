//! Chapter 05 under fire: `lease_dispatcher` on a SQLite file and `lease_worker`
//! processes, each killed with SIGKILL on schedule and started again with the
//! same arguments — the dispatcher on the same database and port, a worker with
//! the same id and result cache. The chapter's promise is that none of this
//! loses a task or changes a result: a dead worker's leases expire and another
//! worker takes the task, a dead dispatcher's queue is still in the file, and a
//! result computed while the dispatcher was down waits in the worker's cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use solution05::{Client, NewTask, Stats, TaskId, TaskStatus, TaskView};

use crate::process::{Supervised, word_starting};
use crate::supervise::Cast;
use crate::tasks::{Checkable, checkable_tasks};
use crate::{ChaosError, Progress, Report, Settings, StopOnDrop};

/// The two binaries a run needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dispatcher: PathBuf,
    pub worker: PathBuf,
}

/// Leases last 3 s. A worker is dead after 10 s of silence, longer than any
/// restart here: a killed worker is back, alive, under the same id long before,
/// so the tasks it held come back only through their leases' expiry — the path
/// a quickly restarted worker depends on, and the one this run checks.
const DISPATCHER_TIMINGS: [&str; 6] = [
    "--lease",
    "3",
    "--dead-after",
    "10",
    "--monitor-every",
    "0.2",
];
/// How long a client call waits for an answer before trying a fresh socket.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);
const START_LIMIT: Duration = Duration::from_secs(30);

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
    let dispatcher_args = |bind: &str| -> Vec<String> {
        let mut args: Vec<String> = vec!["--bind".into(), bind.into(), "--db".into(), db.clone()];
        args.extend(DISPATCHER_TIMINGS.iter().map(|s| s.to_string()));
        args
    };
    let mut dispatcher = Supervised::new(
        "lease_dispatcher",
        &binaries.dispatcher,
        dispatcher_args("tcp://127.0.0.1:*"),
        settings.dir.join("dispatcher.log"),
    );
    dispatcher.start()?;
    let line = dispatcher.wait_for_line("Serving on", START_LIMIT)?;
    let endpoint = word_starting(&line, "tcp://")
        .ok_or_else(|| ChaosError::Setup(format!("no endpoint in {line:?}")))?;
    // Restarts bind the same port: workers and the client reconnect to it.
    dispatcher.set_args(dispatcher_args(&endpoint));
    progress(&format!("lease_dispatcher serving on {endpoint}"));

    let mut workers: Vec<Supervised> = (1..=settings.workers)
        .map(|n| {
            let id = format!("w{n}");
            let cache = settings.dir.join(format!("cache-{id}"));
            let args = [
                "--id",
                &id,
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
            .to_vec();
            Supervised::new(
                &format!("lease_worker {id}"),
                &binaries.worker,
                args,
                settings.dir.join(format!("worker-{id}.log")),
            )
        })
        .collect();
    for worker in &mut workers {
        worker.start()?;
    }

    let tasks = Arc::new(checkable_tasks(
        settings.tasks,
        settings.seed,
        settings.sleep_one_in,
        settings.sleep_ms_max,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    // Should the run end early (an error), the client threads stop too.
    let _stop_on_exit = StopOnDrop(stop.clone());
    let submitted = Arc::new(AtomicUsize::new(0));
    let submitter = {
        let (tasks, stop, submitted) = (tasks.clone(), stop.clone(), submitted.clone());
        let (endpoint, rate) = (endpoint.clone(), settings.rate);
        thread::spawn(move || submit_all(&endpoint, &tasks, rate, &stop, &submitted))
    };

    let mut report = Report {
        chapter: "ch05".into(),
        chaos: CHAOS.into(),
        tasks: settings.tasks,
        ..Report::default()
    };
    let mut cast = Cast::new(dispatcher, workers, settings);
    let deadline = started + settings.limit;
    let mut next_look = Instant::now();
    let mut next_progress = Instant::now() + Duration::from_secs(5);
    let mut last_stats: Option<Stats> = None;
    let mut timed_out = false;
    loop {
        let now = Instant::now();
        if now > deadline {
            timed_out = true;
            break;
        }
        cast.step(now, &mut report, progress)?;
        let all_submitted = submitter.is_finished();
        if now >= next_look && all_submitted {
            next_look = now + Duration::from_millis(500);
            if let Ok(stats) = stats(&endpoint) {
                let done = stats.tasks.queued == 0
                    && stats.tasks.running == 0
                    && stats.tasks.total() >= submitted.load(Ordering::SeqCst) as u64;
                last_stats = Some(stats);
                if done {
                    break;
                }
            }
        }
        if now >= next_progress {
            next_progress = now + Duration::from_secs(5);
            let counts = last_stats
                .as_ref()
                .map(|s| {
                    format!(
                        ", {} completed, {} failed",
                        s.tasks.completed, s.tasks.failed
                    )
                })
                .unwrap_or_default();
            progress(&format!(
                "{:>5.1} s: {}/{} submitted{counts}; killed {} workers, {} dispatchers",
                started.elapsed().as_secs_f64(),
                submitted.load(Ordering::SeqCst),
                settings.tasks,
                report.worker_kills,
                report.dispatcher_kills
            ));
            if !all_submitted {
                last_stats = None;
            }
        }
        thread::sleep(Duration::from_millis(20));
    }

    // The chaos stops here: everything up, so that every task can be asked about.
    stop.store(true, Ordering::SeqCst);
    cast.restart_all()?;
    let ids = submitter
        .join()
        .map_err(|_| ChaosError::Setup("the submitting thread panicked".into()))?;
    report.submitted = ids.len();
    progress(&format!(
        "{:>5.1} s: checking {} tasks",
        started.elapsed().as_secs_f64(),
        ids.len()
    ));
    check(&endpoint, &tasks, &ids, &mut report)?;
    if let Ok(stats) = stats(&endpoint) {
        report.duplicate_tasks = stats.tasks.total().saturating_sub(ids.len() as u64);
    }
    if timed_out {
        report.notes.push(format!(
            "the queue was not drained within the limit of {:?}",
            settings.limit
        ));
    }
    report.duration = started.elapsed();
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
        let new_task = NewTask::new(task.kind, task.args());
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
            report
                .lost
                .push(format!("task {id} ({}): not found", task.kind));
            continue;
        };
        if view.attempts > 1 {
            report.redelivered_tasks += 1;
            report.extra_leases += u64::from(view.attempts - 1);
        }
        match view.status {
            TaskStatus::Completed if task.is_right(view.result.as_ref()) => report.right += 1,
            TaskStatus::Completed => report.wrong.push(format!(
                "task {id}: {} {} → {:?}, expected {}",
                task.kind,
                task.args(),
                view.result,
                task.expected
            )),
            TaskStatus::Failed => report.wrong.push(format!(
                "task {id}: {} {} FAILED after {} attempts: {:?}",
                task.kind,
                task.args(),
                view.attempts,
                view.error
            )),
            other => report.lost.push(format!(
                "task {id} ({}): still {other} after {} attempts",
                task.kind, view.attempts
            )),
        }
    }
    Ok(())
}
