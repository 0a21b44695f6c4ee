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
const ROUNDS: usize = 3;

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
    fn start() -> Result<Self, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(failed)?;
        listener.set_nonblocking(true).map_err(failed)?;
        let address = listener.local_addr().map_err(failed)?.to_string();
        let runtime = tokio::runtime::Runtime::new().map_err(failed)?;
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

/// The best of [`ROUNDS`] load runs (highest req/s), after a warm-up.
fn best_load(
    runtime: &tokio::runtime::Runtime,
    address: &str,
    requests: usize,
) -> Result<LoadReport, BenchError> {
    drive(runtime, address, CALLERS, requests / 10, 0.0)?;
    let mut best: Option<LoadReport> = None;
    for _ in 0..ROUNDS {
        let report = drive(runtime, address, CALLERS, requests, 0.0)?;
        if best
            .as_ref()
            .is_none_or(|b| report.per_second() > b.per_second())
        {
            best = Some(report);
        }
    }
    best.ok_or_else(|| failed("no load run"))
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
    let pooled = {
        let server = our_server(10)?;
        best_load(&runtime, &server.local_addr().to_string(), rust_requests)?
    };
    let ceiling = {
        let server = InlineServer::start()?;
        best_load(&runtime, &server.address, rust_requests)?
    };
    let grpcio = {
        let server = PythonServer::start(&python, &stubs, 10)?;
        best_load(&runtime, &server.address, python_requests)?
    };
    for (name, load) in [
        ("tonic + pool of 10", &pooled),
        ("bare tonic, no pool", &ceiling),
        ("grpcio, ThreadPoolExecutor(10)", &grpcio),
    ] {
        report.measure(
            format!("{name}: req/s, {CALLERS} callers"),
            load.per_second(),
            "req/s",
        );
        report.measure(format!("{name}: p50"), ms(load.p50), "ms");
        report.measure(format!("{name}: p99"), ms(load.p99), "ms");
    }
    report.goal(
        "tonic + pool / grpcio, req/s",
        pooled.per_second() / grpcio.per_second(),
        Target::AtLeast(7.0),
    );
    report.goal(
        "tonic + pool / bare tonic, req/s",
        pooled.per_second() / ceiling.per_second(),
        Target::AtLeast(0.85),
    );
    report.goal(
        "tonic + pool p99 / grpcio p99",
        pooled.p99.as_secs_f64() / grpcio.p99.as_secs_f64(),
        Target::AtMost(0.2),
    );

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
