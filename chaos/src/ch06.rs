//! Chapter 06 under fire: one `grpc_server` process, killed with SIGKILL on
//! schedule and started again on the same `--db` and port.
//!
//! The chapter has no worker binary: its server runs `Compute` on its own pool,
//! and its `Dispatcher` service is chapter 05's queue over gRPC, worked by
//! whoever calls `ClaimTask`. So chaos here means:
//!
//! - **Compute callers** whose call the kill cuts off (UNAVAILABLE, or no answer)
//!   call again — `Compute` is a pure function, so a retry is safe — until each
//!   gets its right answer;
//! - **the queue**: tasks submitted with `SubmitTask` live in SQLite and must all
//!   end DONE with the right result. Its workers are loops in this process,
//!   speaking gRPC like any worker would; "killing" one makes it drop the lease it
//!   holds (or the next it takes) mid-task, with no result and no goodbye, and
//!   come back later under the same id — the server's lease expiry must hand the
//!   task to another.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use solution06::client;
use solution06::pb;
use tokio::runtime::Runtime;
use tonic::Code;
use tonic::transport::Channel;

use crate::plan::{KillPlan, Victim};
use crate::process::{Supervised, word_starting};
use crate::report::Ending;
use crate::supervise::restart_if_exited;
use crate::tasks::Checkable;
use crate::turns::Turns;
use crate::{ChaosError, LEASE_TIMINGS, Progress, Report, Settings, StopFlag};

/// The binary a run needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub server: PathBuf,
}

/// What this chapter's chaos is, for the report and `--help`.
pub const CHAOS: &str = "SIGKILL grpc_server and restart it on the same --db and port; \
                         Compute callers retry the calls a kill cut off; the Dispatcher \
                         queue's workers (gRPC loops in chaos) drop their lease mid-task \
                         when killed";

const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const KINDS: [&str; 5] = ["add", "subtract", "multiply", "divide", "sleep"];

/// One run: start the server, submit `settings.tasks` tasks to its queue and
/// call `Compute` for each arithmetic one while killing on schedule; then check.
pub fn run(
    binaries: &Binaries,
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<Report, ChaosError> {
    let started = Instant::now();
    let db = settings.dir.join("tasks.db").display().to_string();
    let server_args = |listen: &String| -> Vec<String> {
        [
            "--listen",
            listen,
            "--db",
            &db,
            "--max-workers",
            "4",
            "--quiet",
        ]
        .into_iter()
        .chain(LEASE_TIMINGS)
        .map(str::to_owned)
        .collect()
    };
    let (mut server, address) = Supervised::start_on_free_port(
        "grpc_server",
        &binaries.server,
        settings.dir.join("server.log"),
        server_args,
        "127.0.0.1:0".to_owned(),
        "Listening on",
        |line| word_starting(line, "127.0.0.1:"),
    )?;
    progress(&format!("grpc_server listening on {address}"));

    let runtime = Runtime::new().map_err(|source| ChaosError::Io {
        what: "start a tokio runtime".into(),
        source,
    })?;
    let tasks = settings.checkable_tasks();
    let stop = StopFlag::new();
    let submitted = Arc::new(AtomicUsize::new(0));
    let computed = Arc::new(AtomicUsize::new(0));
    let submitter = {
        let (tasks, stop, submitted, address) = (
            tasks.clone(),
            stop.handle(),
            submitted.clone(),
            address.clone(),
        );
        let rate = settings.rate;
        runtime.spawn(async move { submit_all(&address, &tasks, rate, &stop, &submitted).await })
    };
    let caller = {
        let (tasks, stop, computed, address) = (
            tasks.clone(),
            stop.handle(),
            computed.clone(),
            address.clone(),
        );
        let rate = settings.rate;
        runtime.spawn(async move { compute_all(&address, &tasks, rate, &stop, &computed).await })
    };
    let kills: Vec<Arc<AtomicBool>> = (0..settings.workers)
        .map(|_| Arc::new(AtomicBool::new(false)))
        .collect();
    let abandoned = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = kills
        .iter()
        .enumerate()
        .map(|(index, killed)| {
            let (stop, killed, abandoned, address) = (
                stop.handle(),
                killed.clone(),
                abandoned.clone(),
                address.clone(),
            );
            let downtime = settings.downtime;
            runtime.spawn(async move {
                let id = format!("w{}", index + 1);
                work(&address, &id, &stop, &killed, &abandoned, downtime).await;
            })
        })
        .collect();

    let mut report = Report {
        dispatcher_name: "server".into(),
        ..Report::new("ch06", CHAOS, settings.tasks)
    };
    let mut plan = KillPlan::new(
        settings.seed,
        settings.workers,
        settings.worker_kill_every,
        settings.dispatcher_kill_every,
        Instant::now(),
    );
    let mut server_back: Option<Instant> = None;
    let mut turns = Turns::new(started, settings.limit);
    let mut next_look = Instant::now();
    while let Some(now) = turns.next() {
        if server_back.is_some_and(|at| now >= at) {
            server.start()?;
            server_back = None;
        }
        restart_if_exited(&mut server, &mut report, progress)?;
        for victim in plan.due(now) {
            match victim {
                Victim::Dispatcher if server_back.is_none() => {
                    server.kill();
                    report.dispatcher_kills += 1;
                    server_back = Some(now + plan.downtime(settings.downtime));
                }
                Victim::Dispatcher => {}
                // A worker kill waits for a lease to land on, so once every task
                // is submitted, kills would all land on the few tasks left (a
                // lease expired, the same task leased again, killed again, …
                // until its attempts run out): the drain is left in peace.
                Victim::Worker(_) if submitter.is_finished() => {
                    for killed in &kills {
                        killed.store(false, Ordering::SeqCst);
                    }
                }
                Victim::Worker(index) => {
                    kills[index].store(true, Ordering::SeqCst);
                    report.worker_kills += 1;
                }
            }
        }
        let all_sent = submitter.is_finished() && caller.is_finished();
        if all_sent && now >= next_look && server_back.is_none() {
            next_look = now + Duration::from_millis(500);
            let drained = runtime.block_on(async {
                let channel = client::connect(&address).await.ok()?;
                client::stats(&channel).await.ok()
            });
            if drained.is_some_and(|s| s.queued == 0 && s.running == 0) {
                break;
            }
        }
        if turns.progress_due(now) {
            progress(&turns.line(&format!(
                "{}/{} submitted, {} computed; killed {} workers, {} servers",
                submitted.load(Ordering::SeqCst),
                settings.tasks,
                computed.load(Ordering::SeqCst),
                report.worker_kills,
                report.dispatcher_kills
            )));
        }
    }

    stop.raise();
    if !server.is_running() {
        server.start()?;
    }
    let ids = runtime
        .block_on(submitter)
        .map_err(|_| ChaosError::Setup("the submitting task panicked".into()))?;
    let calls = runtime
        .block_on(caller)
        .map_err(|_| ChaosError::Setup("the Compute caller panicked".into()))?;
    for worker in workers {
        let _ = runtime.block_on(worker);
    }
    report.submitted = ids.len();
    progress(&turns.line(&format!(
        "checking {} queued tasks and {} Compute calls",
        ids.len(),
        calls.answered + calls.unanswered.len()
    )));
    runtime.block_on(check(&address, &tasks, &ids, &mut report))?;
    let arithmetic = tasks.iter().filter(|t| t.kind != "sleep").count();
    report.lost.extend(calls.unanswered);
    report.wrong.extend(calls.wrong);
    if let Some(stats) = runtime.block_on(async {
        let channel = client::connect(&address).await.ok()?;
        client::stats(&channel).await.ok()
    }) {
        let total = stats.queued + stats.running + stats.done + stats.failed;
        report.duplicate_tasks = total.saturating_sub(ids.len() as u64);
    }
    report.notes.push(format!(
        "the queue's tasks are checked above; besides them, {} of {arithmetic} Compute \
         calls got their right answer ({} calls retried after a kill), and workers \
         dropped {} leases mid-task when killed",
        calls.right,
        calls.retries,
        abandoned.load(Ordering::SeqCst)
    ));
    turns.finish(&mut report, "the queue was not drained");
    Ok(report)
}

/// A channel, reused until a call on it fails.
async fn channel(address: &str, cached: &mut Option<Channel>) -> Option<Channel> {
    if cached.is_none() {
        *cached = client::connect(address).await.ok();
    }
    cached.clone()
}

async fn pace(started: Instant, index: usize, rate: Option<f64>) {
    if let Some(rate) = rate.filter(|rate| *rate > 0.0) {
        let due = started + Duration::from_secs_f64(index as f64 / rate);
        tokio::time::sleep(due.saturating_duration_since(Instant::now())).await;
    }
}

/// Submits every task to the queue, retrying each until it has an id.
async fn submit_all(
    address: &str,
    tasks: &[Checkable],
    rate: Option<f64>,
    stop: &AtomicBool,
    submitted: &AtomicUsize,
) -> Vec<i64> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(tasks.len());
    let mut cached = None;
    for (index, task) in tasks.iter().enumerate() {
        pace(started, index, rate).await;
        let args = task.args().to_string();
        let key = format!("chaos-{index}");
        loop {
            if stop.load(Ordering::SeqCst) {
                return ids;
            }
            let answer = match channel(address, &mut cached).await {
                // Keyed: a resend after a lost answer queues nothing new.
                Some(channel) => client::submit_keyed_task(&channel, task.kind, &args, &key)
                    .await
                    .ok(),
                None => None,
            };
            match answer {
                Some(id) => {
                    ids.push(id);
                    submitted.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                None => {
                    cached = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    ids
}

/// What the Compute caller found.
#[derive(Debug, Default)]
struct Calls {
    answered: usize,
    right: usize,
    retries: usize,
    unanswered: Vec<String>,
    wrong: Vec<String>,
}

fn task_type(kind: &str) -> pb::TaskType {
    match kind {
        "add" => pb::TaskType::Add,
        "subtract" => pb::TaskType::Subtract,
        "multiply" => pb::TaskType::Multiply,
        _ => pb::TaskType::Divide,
    }
}

/// Calls `Compute` for every arithmetic task, again after each failure, until
/// it has an answer; checks the answer.
async fn compute_all(
    address: &str,
    tasks: &[Checkable],
    rate: Option<f64>,
    stop: &AtomicBool,
    computed: &AtomicUsize,
) -> Calls {
    let started = Instant::now();
    let mut calls = Calls::default();
    let mut cached = None;
    for (index, task) in tasks.iter().enumerate() {
        if task.kind == "sleep" {
            continue;
        }
        pace(started, index, rate).await;
        let call = pb::Task {
            id: index.to_string(),
            r#type: task_type(task.kind) as i32,
            operand1: task.a,
            operand2: task.b,
            timeout: 0.0,
            processing_time: 0.0,
        };
        loop {
            if stop.load(Ordering::SeqCst) {
                calls
                    .unanswered
                    .push(format!("Compute {index} ({}) never answered", task.kind));
                break;
            }
            let answer = match channel(address, &mut cached).await {
                Some(channel) => client::compute(&channel, call.clone(), Some(CALL_TIMEOUT))
                    .await
                    .map_err(|e| e.to_string()),
                None => Err("no connection".to_owned()),
            };
            match answer {
                Ok(result) => {
                    calls.answered += 1;
                    computed.fetch_add(1, Ordering::SeqCst);
                    if result.value == task.expected && result.task_id == call.id {
                        calls.right += 1;
                    } else {
                        calls.wrong.push(format!(
                            "Compute {index}: {} {} {} = {}, expected {}",
                            task.a, task.kind, task.b, result.value, task.expected
                        ));
                    }
                    break;
                }
                Err(_) => {
                    calls.retries += 1;
                    cached = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    calls
}

/// The result a worker computes for a lease: the arithmetic, or the sleep.
async fn perform(lease: &pb::Lease) -> Result<Value, String> {
    let args: Value = serde_json::from_str(&lease.args_json).map_err(|e| e.to_string())?;
    let number = |name: &str| args[name].as_i64().ok_or(format!("no {name}"));
    let value = match lease.kind.as_str() {
        "sleep" => {
            let ms = args["ms"].as_u64().ok_or("no ms")?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return Ok(Value::from(ms));
        }
        "add" => number("a")?.checked_add(number("b")?),
        "subtract" => number("a")?.checked_sub(number("b")?),
        "multiply" => number("a")?.checked_mul(number("b")?),
        "divide" => number("a")?.checked_div(number("b")?),
        other => return Err(format!("unknown kind {other}")),
    };
    value.map(Value::from).ok_or_else(|| "overflow".to_owned())
}

/// One worker: heartbeat (which registers it), claim, perform, report — and,
/// once `killed` is set, drop the lease it holds (or next takes) with its result
/// computed but never sent, and come back after `downtime` under the same id:
/// every kill lands mid-task.
async fn work(
    address: &str,
    id: &str,
    stop: &AtomicBool,
    killed: &AtomicBool,
    abandoned: &AtomicUsize,
    downtime: Duration,
) {
    let properties = pb::WorkerProperties {
        id: id.to_owned(),
        capabilities: Vec::new(),
        kinds: KINDS.map(str::to_owned).to_vec(),
    };
    let mut cached = None;
    while !stop.load(Ordering::SeqCst) {
        let Some(channel) = channel(address, &mut cached).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let claimed = match client::heartbeat(&channel, properties.clone(), Vec::new()).await {
            Ok(_) => client::claim_task(&channel, id).await,
            Err(error) => Err(error),
        };
        let lease = match claimed {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            Err(_) => {
                cached = None;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let outcome = match perform(&lease).await {
            Ok(value) => pb::submit_result_request::Outcome::ResultJson(value.to_string()),
            Err(why) => pb::submit_result_request::Outcome::Error(why),
        };
        if killed.swap(false, Ordering::SeqCst) {
            // Dead mid-task: the lease is never heard of again, and the worker
            // comes back, under the same id, a while later.
            abandoned.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(downtime).await;
            continue;
        }
        // A refused result (a stale lease, the server down) is the server's to
        // sort out: the task goes to whoever holds its newest lease.
        if client::submit_result(&channel, lease.task_id, &lease.lease_token, outcome)
            .await
            .is_err()
        {
            cached = None;
        }
    }
}

/// Every queued task, against its expected result.
async fn check(
    address: &str,
    tasks: &[Checkable],
    ids: &[i64],
    report: &mut Report,
) -> Result<(), ChaosError> {
    let mut cached = None;
    for (task, &id) in tasks.iter().zip(ids) {
        let mut state = None;
        for _ in 0..20 {
            if let Some(channel) = channel(address, &mut cached).await {
                match client::get_task(&channel, id).await {
                    Ok(found) => {
                        state = Some(found);
                        break;
                    }
                    Err(error) if error.code() == Some(Code::NotFound) => break,
                    Err(_) => cached = None,
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let Some(state) = state else {
            report.count_queued(id, task, 0, Ending::NotFound);
            continue;
        };
        let ending = match pb::TaskStatus::try_from(state.status) {
            Ok(pb::TaskStatus::Done) => Ending::Completed {
                result: serde_json::from_str(&state.result_json).ok(),
                shown: state.result_json,
            },
            Ok(pb::TaskStatus::Failed) => Ending::Failed { error: state.error },
            other => Ending::Unfinished {
                status: format!("{other:?}"),
            },
        };
        report.count_queued(id, task, state.attempts, ending);
    }
    Ok(())
}
