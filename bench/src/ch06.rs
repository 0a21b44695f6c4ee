//! Chapter 06's "Measure it": one Rust load generator, three servers, same run —
//! our tonic server on the pool, grpcio with `ThreadPoolExecutor(max_workers=10)`,
//! and a bare tonic server that answers on the async side with no pool at all (the
//! ceiling the pool's hand-off can approach). Then the two-wave experiment.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use solution02::Op;
use solution06::load::{self, LoadConfig, LoadReport};
use solution06::pb::calculator_server::{Calculator, CalculatorServer};
use solution06::task::{ValidTask, new_task, status_of};
use solution06::{ExecutorConfig, GrpcServer, ServerConfig, event, pb};
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::BenchError;
use crate::python::{Python, peer, workspace_root};
use crate::report::{Report, Target};

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
                max_workers,
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

/// The best req/s, p50 and p99 each server reached over [`ROUNDS`] rounds, after
/// a warm-up. Each round loads every server in turn, so a burst of noise from
/// other work on the machine hits all of them alike.
fn best_loads(
    runtime: &tokio::runtime::Runtime,
    servers: &[(&str, usize)],
) -> Result<Vec<(f64, Duration, Duration)>, BenchError> {
    let mut best = vec![(0.0_f64, Duration::MAX, Duration::MAX); servers.len()];
    for &(address, requests) in servers {
        drive(runtime, address, CALLERS, requests / 10, 0.0)?;
    }
    for _ in 0..ROUNDS {
        for (best, &(address, requests)) in best.iter_mut().zip(servers) {
            let load = drive(runtime, address, CALLERS, requests, 0.0)?;
            *best = (
                best.0.max(load.per_second()),
                best.1.min(load.p50),
                best.2.min(load.p99),
            );
        }
    }
    Ok(best)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Measures chapter 06 and returns its table.
pub fn run(quick: bool) -> Result<Report, BenchError> {
    let (rust_requests, python_requests) = if quick {
        (3_000, 1_000)
    } else {
        (20_000, 4_000)
    };
    let mut report = Report::new("Chapter 06 — the tonic server on a thread pool");
    let runtime = tokio::runtime::Runtime::new().map_err(failed)?;

    let python = Python::venv(&["grpcio", "grpcio-tools"])?;
    let stubs = workspace_root().join("target").join("ch06-bench-stubs");
    python.grpc_stubs(&stubs)?;

    // 1. Throughput and latency of a trivial call, 8 callers.
    let measured = {
        let pooled = our_server(10)?;
        let ceiling = InlineServer::start(None)?;
        let grpcio = PythonServer::start(&python, &stubs, 10)?;
        let one_thread = InlineServer::start(Some(1))?;
        best_loads(
            &runtime,
            &[
                (&pooled.local_addr().to_string(), rust_requests),
                (&ceiling.address, rust_requests),
                (&grpcio.address, python_requests),
                (&one_thread.address, rust_requests),
            ],
        )?
    };
    let names = [
        "tonic + pool of 10",
        "bare tonic, no pool",
        "grpcio, ThreadPoolExecutor(10)",
        "bare tonic, 1 I/O thread",
    ];
    for (name, (rate, p50, p99)) in names.iter().zip(&measured) {
        report.measure(format!("{name}: req/s, {CALLERS} callers"), *rate, "req/s");
        report.measure(format!("{name}: p50"), ms(*p50), "ms");
        report.measure(format!("{name}: p99"), ms(*p99), "ms");
    }
    let [
        (pooled, _, pooled_p99),
        (ceiling, _, _),
        (grpcio, _, grpcio_p99),
        (one_thread, _, _),
    ] = measured[..]
    else {
        return Err(failed("four servers were measured"));
    };
    report.goal(
        "tonic + pool / grpcio, req/s",
        pooled / grpcio,
        Target::AtLeast(7.0),
    );
    report.goal(
        "tonic + pool / bare tonic, req/s",
        pooled / ceiling,
        Target::AtLeast(0.85),
    );
    report.goal(
        "tonic + pool p99 / grpcio p99",
        pooled_p99.as_secs_f64() / grpcio_p99.as_secs_f64(),
        Target::AtMost(0.2),
    );
    report.note(format!(
        "Each figure is the best of {ROUNDS} rounds; every round loads the servers in \
         turn with the same Rust load generator. Our server runs its network side on \
         1 tokio thread; bare tonic on tokio's default, one per core. Against bare \
         tonic on 1 thread too, the pool reaches {:.2} of its rate.",
        pooled / one_thread
    ));

    // 2. The executor's arithmetic: 20 calls of a 100 ms handler at once.
    for workers in [10, 20] {
        let rust = {
            let server = our_server(workers)?;
            drive(&runtime, &server.local_addr().to_string(), 20, 20, 0.1)?
        };
        let grpcio = {
            let server = PythonServer::start(&python, &stubs, workers)?;
            drive(&runtime, &server.address, 20, 20, 0.1)?
        };
        report.measure(
            format!("20 × 100 ms calls, max_workers {workers}, tonic + pool"),
            ms(rust.elapsed),
            "ms",
        );
        report.measure(
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
