//! Chapter 04 under fire — and what "lost" means for a dispatcher that keeps its
//! tasks in memory.
//!
//! `pull_dispatcher` holds its queue in a `HashMap`: killed, it forgets every
//! task, and a restarted one answers `NOT_FOUND` for the old ids (each run's ids
//! carry their own prefix, so an old id never names a new task). A killed
//! worker's task is FAILED with `WorkerFailureError` at its deadline. Both are
//! the design, inherited from the original, whose *client* was expected to send
//! such a task again. So here the client does exactly that: a task FAILED by the
//! deadline, or forgotten by a restarted dispatcher, is submitted again (and
//! counted as resubmitted). Lost then means a task that never got its right
//! result although the client kept asking; wrong, a result that is not the
//! expected one, or a failure of any other kind.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use solution04::client::{Client, ClientError};
use solution04::protocol::{ErrorType, TaskId, TaskStatus};

use crate::process::{Supervised, start_workers};
use crate::supervise::Cast;
use crate::tasks::Checkable;
use crate::turns::Turns;
use crate::{ChaosError, ClientThread, Progress, Report, Settings};

/// The two binaries a run needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dispatcher: PathBuf,
    pub worker: PathBuf,
}

/// What this chapter's chaos is, for the report and `--help`.
pub const CHAOS: &str = "SIGKILL workers and the in-memory dispatcher, restart them on the \
                         same ports; the client resubmits a task FAILED by its deadline or \
                         forgotten by a restarted dispatcher, as the original's client had to";

const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// What the client thread found.
#[derive(Debug, Default)]
struct Outcome {
    submitted: usize,
    right: usize,
    resubmitted: usize,
    /// Tasks FAILED by the deadline: their worker was killed.
    deadline_failures: usize,
    /// Tasks a restarted dispatcher no longer knew.
    forgotten: usize,
    unfinished: Vec<String>,
    wrong: Vec<String>,
}

/// One run: start everything, submit `settings.tasks` tasks while killing on
/// schedule, resubmit what the design says the client must, check every result.
pub fn run(
    binaries: &Binaries,
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<Report, ChaosError> {
    let started = Instant::now();
    let dispatcher_args = |[workers, clients]: &[String; 2]| -> Vec<String> {
        [
            "--workers",
            workers,
            "--clients",
            clients,
            "--deadline",
            "1.5",
            "--check-every",
            "0.1",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let (dispatcher, [workers_endpoint, clients_endpoint]) = Supervised::start_on_free_port(
        "pull_dispatcher",
        &binaries.dispatcher,
        settings.dir.join("dispatcher.log"),
        dispatcher_args,
        [
            "tcp://127.0.0.1:*".to_owned(),
            "tcp://127.0.0.1:*".to_owned(),
        ],
        "Workers ask on",
        |line| {
            let endpoints: Vec<String> = line
                .split_whitespace()
                .filter(|word| word.starts_with("tcp://"))
                .map(|word| word.trim_end_matches([',', '.']).to_owned())
                .collect();
            endpoints.try_into().ok()
        },
    )?;
    progress(&format!(
        "pull_dispatcher: workers on {workers_endpoint}, clients on {clients_endpoint}"
    ));

    let workers = start_workers("pull_worker", &binaries.worker, settings, |id| {
        [
            &settings.threads.to_string(),
            workers_endpoint.as_str(),
            "--id",
            id,
            "--timeout",
            "0.5",
        ]
        .map(str::to_owned)
        .to_vec()
    })?;

    let client = ClientThread::spawn(settings, &clients_endpoint, drive);

    let mut report = Report::new("ch04", CHAOS, settings.tasks);
    let mut cast = Cast::new(dispatcher, workers, settings);
    let mut turns = Turns::new(started, settings.limit);
    while !client.is_finished() {
        let Some(now) = turns.next() else { break };
        cast.step(now, &mut report, progress)?;
        if turns.progress_due(now) {
            progress(&turns.line(&format!(
                "{}/{} tasks finished right; killed {} workers, {} dispatchers",
                client.count(),
                settings.tasks,
                report.worker_kills,
                report.dispatcher_kills
            )));
        }
    }
    let outcome = client.join()?;
    report.submitted = outcome.submitted;
    report.right = outcome.right;
    report.resubmitted = outcome.resubmitted;
    report.redelivered_tasks = outcome.resubmitted;
    report.extra_leases = outcome.resubmitted as u64;
    report.lost = outcome.unfinished;
    report.wrong = outcome.wrong;
    report.notes.push(format!(
        "{} tasks FAILED by the deadline (worker killed) and {} forgotten by a restarted \
         dispatcher were resubmitted by the client",
        outcome.deadline_failures, outcome.forgotten
    ));
    turns.finish(&mut report, "not every task was finished");
    Ok(report)
}

/// Where one task stands, from the client's side.
#[derive(Debug, Clone)]
enum Place {
    /// Not (or no longer) known to the dispatcher: submit it.
    ToSubmit,
    /// Submitted as this id: ask about it.
    Waiting(TaskId),
    /// Final, right or wrong: done with it.
    Done,
}

/// The client: submits paced tasks, polls the unfinished ones, resubmits what a
/// killed worker or dispatcher took with it. Returns when every task is done or
/// on `stop`.
fn drive(
    endpoint: &str,
    tasks: &[Checkable],
    rate: Option<f64>,
    stop: &AtomicBool,
    finished: &AtomicUsize,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome::default();
    let mut places = vec![Place::ToSubmit; tasks.len()];
    let mut accepted = vec![false; tasks.len()];
    // Tasks not yet released by the pacing stay out of the rounds.
    let mut released = 0;
    let mut client: Option<Client> = None;
    let mut done = 0;
    while done < tasks.len() && !stop.load(Ordering::SeqCst) {
        released = match rate.filter(|rate| *rate > 0.0) {
            Some(rate) => ((started.elapsed().as_secs_f64() * rate) as usize + 1).min(tasks.len()),
            None => tasks.len(),
        };
        let mut asked_any = false;
        for index in 0..released {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let task = &tasks[index];
            let connection = match client.as_mut() {
                Some(client) => client,
                None => match Client::connect(endpoint, CALL_TIMEOUT) {
                    Ok(fresh) => client.insert(fresh),
                    Err(_) => {
                        thread::sleep(Duration::from_millis(50));
                        break;
                    }
                },
            };
            match places[index].clone() {
                Place::Done => continue,
                Place::ToSubmit => {
                    asked_any = true;
                    match connection.submit(task.kind, task.args()) {
                        Ok(id) => {
                            if !accepted[index] {
                                accepted[index] = true;
                                outcome.submitted += 1;
                            }
                            places[index] = Place::Waiting(id);
                        }
                        Err(_) => {
                            client = None;
                            thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                Place::Waiting(id) => {
                    asked_any = true;
                    match connection.status(&id) {
                        Ok(report) if report.status == TaskStatus::Completed => {
                            if task.is_right(report.result.as_ref()) {
                                outcome.right += 1;
                                finished.fetch_add(1, Ordering::SeqCst);
                            } else {
                                outcome.wrong.push(format!(
                                    "task {id}: {:?} → {:?}, expected {}",
                                    (task.kind, task.args()),
                                    report.result,
                                    task.expected
                                ));
                            }
                            places[index] = Place::Done;
                            done += 1;
                        }
                        Ok(report) if report.status == TaskStatus::Failed => {
                            let by_deadline = report
                                .error
                                .as_ref()
                                .is_some_and(|e| e.error_type == ErrorType::WorkerFailureError);
                            if by_deadline {
                                outcome.deadline_failures += 1;
                                outcome.resubmitted += 1;
                                places[index] = Place::ToSubmit;
                            } else {
                                outcome.wrong.push(format!(
                                    "task {id}: {:?} FAILED: {:?}",
                                    (task.kind, task.args()),
                                    report.error
                                ));
                                places[index] = Place::Done;
                                done += 1;
                            }
                        }
                        Ok(_) => {}
                        Err(ClientError::NotFound(_)) => {
                            outcome.forgotten += 1;
                            outcome.resubmitted += 1;
                            places[index] = Place::ToSubmit;
                        }
                        Err(_) => {
                            client = None;
                            thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
            }
        }
        if !asked_any {
            thread::sleep(Duration::from_millis(10));
        }
    }
    for (index, place) in places.iter().enumerate().take(released.max(tasks.len())) {
        match place {
            Place::Done => {}
            Place::Waiting(id) => outcome
                .unfinished
                .push(format!("task {index} (id {id}) never finished")),
            Place::ToSubmit => outcome
                .unfinished
                .push(format!("task {index} never accepted by a dispatcher")),
        }
    }
    outcome
}
