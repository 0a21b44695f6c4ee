//! Chapter 06's "Measure it": one Rust load generator, three servers, same run —
//! our tonic server on the pool, grpcio with `ThreadPoolExecutor(max_workers=10)`,
//! and a bare tonic server that answers on the async side with no pool at all (the
//! ceiling the pool's hand-off can approach). Every latency of those rounds is
//! kept, for the chart of the latency distribution. Then the two-wave experiment.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use solution02::Op;
use solution06::client;
use solution06::load::{self, LoadConfig, LoadReport};
use solution06::pb::calculator_server::{Calculator, CalculatorServer};
use solution06::task::{ValidTask, new_task, status_of};
use solution06::{ExecutorConfig, GrpcServer, ServerConfig, event, pb};
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::BenchError;
use crate::progress::Steps;
use crate::python::{Python, peer, workspace_root};
use crate::report::{Chart, Plot, Report, Role, Series, Spread, Target};

/// Callers at once, as the chapter's goals are stated.
const CALLERS: usize = 8;
const ROUNDS: usize = 5;

fn failed(error: impl std::fmt::Display) -> BenchError {
    BenchError::Rust(error.to_string())
}

// ANCHOR: ceiling
/// The ceiling: `Compute` answered right on the tokio thread. Fine for arithmetic
/// that takes nanoseconds; a blocking handler here would stall every other call.
struct InlineCalculator;

#[tonic::async_trait]
impl Calculator for InlineCalculator {
    async fn compute(
        &self,
        request: Request<pb::Task>,
    ) -> Result<Response<pb::TaskResult>, Status> {
        let task = ValidTask::try_from(request.get_ref())?;
        let value = task.op.apply(task.a, task.b).map_err(|e| status_of(&e))?;
        Ok(Response::new(pb::TaskResult {
            task_id: task.id,
            status: pb::TaskStatus::Done.into(),
            value,
            ..pb::TaskResult::default()
        }))
    }
}
// ANCHOR_END: ceiling

/// The bare tonic server on its own runtime thread; stops when dropped.
struct InlineServer {
    address: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl InlineServer {
    /// `io_threads: None` is tokio's default, one thread per core.
    fn start(io_threads: Option<usize>) -> Result<Self, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(failed)?;
        listener.set_nonblocking(true).map_err(failed)?;
        let address = listener.local_addr().map_err(failed)?.to_string();
        let mut runtime = tokio::runtime::Builder::new_multi_thread();
        if let Some(threads) = io_threads {
            runtime.worker_threads(threads);
        }
        let runtime = runtime.enable_all().build().map_err(failed)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
                let _ = tonic::transport::Server::builder()
                    .add_service(CalculatorServer::new(InlineCalculator))
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(Self {
            address,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for InlineServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The grpcio peer, killed when dropped.
struct PythonServer {
    child: Child,
    address: String,
}

impl PythonServer {
    fn start(
        python: &Python,
        stubs: &std::path::Path,
        max_workers: usize,
    ) -> Result<Self, BenchError> {
        let mut child = python
            .command(&peer("ch06_grpc_server.py"))
            .arg("--stubs")
            .arg(stubs)
            .args(["--max-workers", &max_workers.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| BenchError::Rust(format!("could not start the grpcio peer: {e}")))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let port = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|value| value["port"].as_u64());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BenchError::Rust(format!(
                "the grpcio peer printed no port: {line:?}"
            )));
        };
        Ok(Self {
            child,
            address: format!("127.0.0.1:{port}"),
        })
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn our_server(max_workers: usize) -> Result<GrpcServer, BenchError> {
    GrpcServer::start(
        ServerConfig {
            address: "127.0.0.1:0".to_owned(),
            executor: ExecutorConfig {
                workers: max_workers,
                max_concurrent_rpcs: None,
            },
            ..ServerConfig::default()
        },
        event::ignore_events(),
    )
    .map_err(failed)
}

fn drive(
    runtime: &tokio::runtime::Runtime,
    address: &str,
    callers: usize,
    requests: usize,
    processing_time: f64,
) -> Result<LoadReport, BenchError> {
    let config = LoadConfig {
        address: address.to_owned(),
        concurrency: callers,
        requests,
        task: pb::Task {
            processing_time,
            ..new_task("bench", 12, Op::Multiply, 12)
        },
        deadline: Some(Duration::from_secs(30)),
    };
    let report = runtime.block_on(load::run(config)).map_err(failed)?;
    if report.ok != report.requests {
        return Err(BenchError::Rust(format!(
            "calls failed against {address}: {report}"
        )));
    }
    Ok(report)
}

/// One load round against one server: its wall time and every call's latency.
struct Round {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// The load of `solution06::load::run` — `callers` callers, each on its own
/// connection, each sending the next call as soon as the last is answered — but
/// keeping every latency, so the chart can show the whole distribution and not
/// only p50 and p99. Every call must succeed.
async fn record(address: &str, callers: usize, requests: usize) -> Result<Round, BenchError> {
    let mut channels = Vec::with_capacity(callers);
    for _ in 0..callers.max(1) {
        channels.push(client::connect(address).await.map_err(failed)?);
    }
    let task = new_task("bench", 12, Op::Multiply, 12);
    let deadline = Some(Duration::from_secs(30));
    let tickets = Arc::new(AtomicUsize::new(requests));
    let start = Instant::now();
    let running: Vec<_> = channels
        .into_iter()
        .map(|channel| {
            let (task, tickets) = (task.clone(), Arc::clone(&tickets));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                // Take a ticket per call until none are left, as `load::run` does.
                while tickets
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let sent = Instant::now();
                    client::compute(&channel, task.clone(), deadline).await?;
                    latencies.push(sent.elapsed());
                }
                Ok::<_, client::ClientError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    for caller in running {
        let answered = caller.await.map_err(failed)?;
        latencies.extend(answered.map_err(|e| failed(format!("a call to {address} failed: {e}")))?);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Ok(Round { elapsed, latencies })
}

/// The value below which `fraction` of the sorted `latencies` lie.
fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// What [`ROUNDS`] rounds measured of one server.
struct Measured {
    /// req/s of each round.
    rates: Vec<f64>,
    /// The best p50 and p99 over the rounds.
    p50: Duration,
    p99: Duration,
    /// Every latency of every round, sorted.
    pooled: Vec<Duration>,
}

/// [`ROUNDS`] rounds of every server, after a warm-up. Each round loads every
/// server in turn, so a burst of noise from other work on the machine hits all of
/// them alike.
fn rounds(
    runtime: &tokio::runtime::Runtime,
    servers: &[(&str, usize)],
    steps: &Steps,
) -> Result<Vec<Measured>, BenchError> {
    let mut measured: Vec<Measured> = servers
        .iter()
        .map(|_| Measured {
            rates: Vec::new(),
            p50: Duration::MAX,
            p99: Duration::MAX,
            pooled: Vec::new(),
        })
        .collect();
    steps.step("warming up the servers");
    for &(address, requests) in servers {
        runtime.block_on(record(address, CALLERS, requests / 10))?;
    }
    for round in 0..ROUNDS {
        steps.step(format!("round {} of {ROUNDS}, every server", round + 1));
        for (measured, &(address, requests)) in measured.iter_mut().zip(servers) {
            let one = runtime.block_on(record(address, CALLERS, requests))?;
            measured.rates.push(
                one.latencies.len() as f64 / one.elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
            );
            measured.p50 = measured.p50.min(percentile(&one.latencies, 0.50));
            measured.p99 = measured.p99.min(percentile(&one.latencies, 0.99));
            measured.pooled.extend(one.latencies);
        }
    }
    for measured in &mut measured {
        measured.pooled.sort_unstable();
    }
    Ok(measured)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Measurements in [`run`], for its progress bar.
pub const STEPS: u64 = 3 + ROUNDS as u64 + 2;

/// Latency percentiles the chart shows.
const PERCENTILES: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)];

/// Measures chapter 06 and returns its results.
pub fn run(quick: bool, steps: &Steps) -> Result<Report, BenchError> {
    let (rust_requests, python_requests) = if quick {
        (3_000, 1_000)
    } else {
        (20_000, 4_000)
    };
    let mut report = Report::new("ch06", "Chapter 06 — the tonic server on a thread pool");
    let runtime = tokio::runtime::Runtime::new().map_err(failed)?;

    steps.step("Python venv with grpcio and grpcio-tools");
    let python = Python::venv(&["grpcio", "grpcio-tools"])?;
    let stubs = workspace_root().join("target").join("ch06-bench-stubs");
    python.grpc_stubs(&stubs)?;

    // 1. Throughput and latency of a trivial call, 8 callers.
    steps.step("starting the four servers");
    let measured = {
        let pooled = our_server(10)?;
        let ceiling = InlineServer::start(None)?;
        let grpcio = PythonServer::start(&python, &stubs, 10)?;
        let one_thread = InlineServer::start(Some(1))?;
        rounds(
            &runtime,
            &[
                (&pooled.local_addr().to_string(), rust_requests),
                (&ceiling.address, rust_requests),
                (&grpcio.address, python_requests),
                (&one_thread.address, rust_requests),
            ],
            steps,
        )?
    };
    // (key, name in the table, name in the charts, role)
    let servers = [
        (
            "rust",
            "tonic + pool of 10",
            "tonic + pool of 10",
            Role::Rust,
        ),
        (
            "bare",
            "bare tonic, no pool",
            "bare tonic, no pool (ceiling)",
            Role::Ceiling,
        ),
        (
            "python",
            "grpcio, ThreadPoolExecutor(10)",
            "grpcio, ThreadPoolExecutor(10)",
            Role::Python,
        ),
        (
            "bare_1_thread",
            "bare tonic, 1 I/O thread",
            "bare tonic, 1 I/O thread",
            Role::Other,
        ),
    ];
    for ((key, name, _, _), measured) in servers.iter().zip(&measured) {
        let best = measured.rates.iter().copied().fold(0.0, f64::max);
        report.measure_spread(
            *key,
            format!("{name}: req/s, {CALLERS} callers"),
            best,
            "req/s",
            Spread::of(&measured.rates),
        );
        report.measure(
            format!("{key}_p50"),
            format!("{name}: p50"),
            ms(measured.p50),
            "ms",
        );
        report.measure(
            format!("{key}_p99"),
            format!("{name}: p99"),
            ms(measured.p99),
            "ms",
        );
    }
    report.ratio_goal(
        "tonic + pool / grpcio, req/s",
        "rust",
        "python",
        Target::AtLeast(7.0),
    )?;
    report.ratio_goal(
        "tonic + pool / bare tonic, req/s",
        "rust",
        "bare",
        Target::AtLeast(0.85),
    )?;
    report.ratio_goal(
        "tonic + pool p99 / grpcio p99",
        "rust_p99",
        "python_p99",
        Target::AtMost(0.2),
    )?;
    let bars: Vec<(&str, &str, Role)> = servers
        .iter()
        .map(|&(key, _, label, role)| (key, label, role))
        .collect();
    report.bar_chart(
        format!("Chapter 06: trivial gRPC calls, {CALLERS} callers"),
        "req/s",
        &bars,
    )?;
    report.line_chart(
        "latency",
        Chart {
            file: String::new(),
            title: format!(
                "Chapter 06: latency of a trivial call, {CALLERS} callers, {ROUNDS} rounds pooled"
            ),
            x_label: "percentile".to_owned(),
            y_label: "latency (ms, log scale)".to_owned(),
            plot: Plot::Lines {
                categories: PERCENTILES
                    .iter()
                    .map(|(name, _)| (*name).to_owned())
                    .collect(),
                series: servers
                    .iter()
                    .zip(&measured)
                    .map(|(&(_, _, label, role), measured)| Series {
                        name: label.to_owned(),
                        role,
                        values: PERCENTILES
                            .iter()
                            .map(|(_, fraction)| ms(percentile(&measured.pooled, *fraction)))
                            .collect(),
                    })
                    .collect(),
                log_scale: true,
            },
        },
    );
    let rate = |key: &str| report.get(key).map(|m| m.value);
    let against_one_thread = rate("rust")? / rate("bare_1_thread")?;
    report.note(format!(
        "Each req/s is the best of {ROUNDS} rounds (p50 and p99: the best round's); every \
         round loads the servers in turn with the same Rust load generator. Our server runs \
         its network side on 1 tokio thread; bare tonic on tokio's default, one per core. \
         Against bare tonic on 1 thread too, the pool reaches {against_one_thread:.2} of its \
         rate. The latency chart pools every call of the {ROUNDS} rounds."
    ));

    // 2. The executor's arithmetic: 20 calls of a 100 ms handler at once.
    for workers in [10, 20] {
        steps.step(format!(
            "20 × 100 ms calls on {workers} workers, both servers"
        ));
        let rust = {
            let server = our_server(workers)?;
            drive(&runtime, &server.local_addr().to_string(), 20, 20, 0.1)?
        };
        let grpcio = {
            let server = PythonServer::start(&python, &stubs, workers)?;
            drive(&runtime, &server.address, 20, 20, 0.1)?
        };
        report.measure(
            format!("rust_waves_{workers}"),
            format!("20 × 100 ms calls, max_workers {workers}, tonic + pool"),
            ms(rust.elapsed),
            "ms",
        );
        report.measure(
            format!("python_waves_{workers}"),
            format!("20 × 100 ms calls, max_workers {workers}, grpcio"),
            ms(grpcio.elapsed),
            "ms",
        );
    }
    report.note(
        "20 calls on 10 workers take two waves (about 200 ms), on 20 workers one \
         (about 100 ms), in both servers: the pool size, not the language, sets it.",
    );
    report.note(format!(
        "Machine: {} cores, shared by the servers and the load generator.",
        thread::available_parallelism().map_or(0, usize::from)
    ));
    Ok(report)
}
