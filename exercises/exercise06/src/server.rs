//! The whole server: tonic on a tokio runtime in front, chapter 02's pool behind,
//! plus the two services every production gRPC server carries — health checking
//! and reflection.
//!
//! [`GrpcServer::start`] binds (port 0 picks a free port), starts the workers and
//! the runtime on a thread of their own, and returns at once with the real address.
//! Stopping its [`Shutdown`] — chapter 02's, as every chapter's servers — from a
//! Ctrl-C handler or a test stops new calls,
//! lets every call in flight finish and answer, then joins the workers: what
//! grpcio's `server.stop(grace=None)` does after `wait_for_termination`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use solution02::{PoolError, Shutdown};
use solution05::dispatcher::{DEFAULT_DEAD_AFTER, DEFAULT_MONITOR_EVERY};
use solution05::{Store, StoreConfig, StoreError};
use tokio::sync::watch;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::dispatcher::DispatcherService;
use crate::event::{Event, EventSink};
use crate::executor::{Executor, ExecutorConfig};
use crate::pb::{self, calculator_server::CalculatorServer, dispatcher_server::DispatcherServer};
use crate::service::CalculatorService;

/// The largest request the server decodes. A `Task` is well under 100 bytes; this
/// leaves room for long ids and refuses a multi-megabyte message before a worker
/// ever sees it.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// How to start a [`GrpcServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen, e.g. `127.0.0.1:50051`; port 0 picks a free port.
    pub address: String,
    pub executor: ExecutorConfig,
    /// tokio threads doing the network side: accepting, decoding, answering. The
    /// handlers' work is on the pool, so these only move bytes; one is plenty on
    /// a small machine, as grpcio polls its completion queue from one thread.
    pub io_threads: usize,
    /// Requests larger than this are refused with `OUT_OF_RANGE`.
    pub max_message_bytes: usize,
    /// Where and how the Dispatcher service keeps its tasks.
    pub store: StoreOptions,
}

/// The Dispatcher service's chapter 05 store, and its monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The SQLite file, created if missing and reused if not; `None` keeps the
    /// tasks in memory, for demos and tests, and loses them when the server stops.
    pub db: Option<PathBuf>,
    /// Lease length and default attempts: chapter 05's 120 s and 5.
    pub store: StoreConfig,
    /// A worker silent this long is dead and its tasks go back to the queue.
    pub dead_after: Duration,
    /// How often the monitor looks for dead workers.
    pub monitor_every: Duration,
}

impl Default for StoreOptions {
    /// In memory, with chapter 05's lease, dead-after and monitor period.
    fn default() -> Self {
        Self {
            db: None,
            store: StoreConfig::default(),
            dead_after: DEFAULT_DEAD_AFTER,
            monitor_every: DEFAULT_MONITOR_EVERY,
        }
    }
}

impl StoreOptions {
    fn open(&self) -> Result<Store, StoreError> {
        match &self.db {
            Some(path) => Store::open(path, self.store),
            None => Store::open_in_memory(self.store),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:50051".to_owned(),
            executor: ExecutorConfig::default(),
            io_threads: 1,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            store: StoreOptions::default(),
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("could not open the Dispatcher's store: {0}")]
    Store(#[from] StoreError),
    #[error("could not start the worker pool: {0}")]
    Pool(#[from] PoolError),
    #[error("could not start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("could not build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("the server thread panicked")]
    Panicked,
}

/// A running server.
pub struct GrpcServer {
    address: SocketAddr,
    stop: Shutdown,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

impl GrpcServer {
    // ANCHOR: start
    /// Binds `config.address`, starts the executor's `workers` and the tokio runtime,
    /// and returns once the server accepts calls.
    pub fn start(config: ServerConfig, events: EventSink) -> Result<Self, ServerError> {
        let bind_error = |source| ServerError::Bind {
            address: config.address.clone(),
            source,
        };
        // ANCHOR: start_excerpt
        let listener = TcpListener::bind(&config.address).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;

        let store = config.store.open()?;
        let location = store
            .path()
            .map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string());
        let executor = Executor::new(config.executor, Arc::clone(&events))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads.max(1))
            .enable_all()
            .thread_name("grpc-runtime")
            .build()
            .map_err(ServerError::Runtime)?;
        // ANCHOR_END: start_excerpt
        // tonic waits for a future to know when to stop: the Shutdown wakes it
        // through a watch channel when it is stopped, from whatever thread.
        let (wake, stopping) = watch::channel(false);
        let stop = Shutdown::new();
        stop.on_stop(move || {
            wake.send_replace(true);
        });

        let executor_config = config.executor;
        let server_events = Arc::clone(&events);
        let thread = thread::Builder::new()
            .name("grpc-server".to_owned())
            .spawn(move || {
                let executor = runtime.block_on(serve(
                    listener,
                    executor,
                    store,
                    &config,
                    Arc::clone(&server_events),
                    stopping,
                ));
                // Every handler is gone now; what is left in the queue is either
                // finished by the workers or skipped because its caller left.
                if let Some(mut executor) = executor? {
                    executor.shutdown();
                }
                server_events(&Event::Stopped);
                Ok(())
            })
            .map_err(ServerError::Runtime)?;

        events(&Event::StoreOpened { location });
        events(&Event::Listening {
            address,
            workers: executor_config.workers,
            max_concurrent_rpcs: executor_config.max_concurrent_rpcs,
        });
        Ok(Self {
            address,
            stop,
            thread: Some(thread),
        })
    }
    // ANCHOR_END: start

    /// The address the server listens on, with the real port if 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The server's [`Shutdown`]: `stop()` on it, from any thread, and the server
    /// takes no new calls, answers the ones in flight, and [`GrpcServer::wait`]
    /// returns.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.stop.clone()
    }

    /// Waits until the server has stopped (after its [`Shutdown`] is stopped) and
    /// every call in flight has been answered.
    pub fn wait(mut self) -> Result<(), ServerError> {
        self.join()
    }

    /// Stops the server and waits until it has drained: `server.stop(None)`.
    pub fn stop(self) -> Result<(), ServerError> {
        self.stop.stop();
        self.wait()
    }

    fn join(&mut self) -> Result<(), ServerError> {
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| ServerError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.stop.stop();
        let _ = self.join();
    }
}

// ANCHOR: serve
/// Serves until `stopping` turns true, then drains. Returns the executor so its
/// workers are joined outside the runtime.
async fn serve(
    listener: TcpListener,
    executor: Executor,
    store: Store,
    config: &ServerConfig,
    events: EventSink,
    mut stopping: watch::Receiver<bool>,
) -> Result<Option<Executor>, ServerError> {
    let listener = tokio::net::TcpListener::from_std(listener).map_err(ServerError::Runtime)?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let executor = Arc::new(executor);

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<CalculatorServer<CalculatorService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    health
        .set_serving::<DispatcherServer<DispatcherService>>()
        .await;
    let max_message_bytes = config.max_message_bytes;
    let calculator = CalculatorServer::new(CalculatorService::new(Arc::clone(&executor)))
        .max_decoding_message_size(max_message_bytes);
    let dispatcher_service = DispatcherService::new(Arc::clone(&executor), store);
    let monitor = tokio::spawn(dispatcher_service.clone().monitor(
        config.store.monitor_every,
        config.store.dead_after,
        Arc::clone(&events),
    ));
    let dispatcher =
        DispatcherServer::new(dispatcher_service).max_decoding_message_size(max_message_bytes);

    // ANCHOR: serve_shutdown
    let shutdown_signal = async move {
        // A dropped sender means nobody can stop us any more: stop now.
        let _ = stopping.wait_for(|stop| *stop).await;
        health
            .set_not_serving::<CalculatorServer<CalculatorService>>()
            .await;
        health
            .set_not_serving::<DispatcherServer<DispatcherService>>()
            .await;
        events(&Event::Draining);
    };
    Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(calculator)
        .add_service(dispatcher)
        .serve_with_incoming_shutdown(incoming, shutdown_signal)
        .await?;
    // ANCHOR_END: serve_shutdown
    // The monitor holds the executor too; stop it and wait until it is gone.
    monitor.abort();
    let _ = monitor.await;
    // tonic has answered every call in flight and dropped its services.
    Ok(Arc::into_inner(executor))
}
// ANCHOR_END: serve
