//! The second front door: the Flask original's HTTP/JSON endpoints, served by
//! axum beside the ZeroMQ socket, on the same SQLite file.
//!
//! It exists so that whoever comes from the original can drive this queue as
//! the original's README does — with `curl`, or a worker written with
//! `requests`. It adds no queue logic: each endpoint reads its JSON into a
//! [`Request`], the dispatcher's own [`Desk::serve`] answers it, and the
//! [`Reply`] becomes a status and a JSON body. Leases, fencing and limits are
//! the ZeroMQ door's, because the code is.
//!
//! ```text
//! POST /submit-task   {"kind", "args", "max_attempts"?}   → 201 {"task_id", "status"}
//! POST /get-task      {"worker_id"}                       → 200 a lease | 204 none | 404 unknown worker
//! POST /submit-result {"task_id", "lease_token", "status", "result" | "error"}
//!                                                         → 200 | 404 unknown task | 409 stale lease
//! POST /heartbeat     {"worker_id", "leases"?, "capabilities"?}
//!                                                         → 200 {"renewed"} | 404 unknown worker
//! POST /get-tasks      {"worker_id", "max"}                → 200 [leases] | 204 none | 404 unknown worker
//! POST /submit-results [results]                          → 200 [{"task_id", "refused"?}]
//! GET  /task/<id>     → 200 the task | 404      GET /stats → 200      GET /health → 200
//! ```
//!
//! The original's workers are known by their heartbeats, and it has no
//! registration endpoint: here a heartbeat that names `capabilities` registers
//! the worker (again, if it was known), as chapter 06's `Heartbeat` RPC does.
//! Every error is `{"error": "…"}` with its status: 400 for what cannot be read
//! or could never run, 404 for an unknown task or worker, 409 for a stale or
//! conflicting result, 413 for a body over the ZeroMQ door's 16 MiB, 500 for a
//! failure of the database.
//!
//! A `Store` is `Send` but not `Sync`, and axum's handlers run on tokio's
//! threads, which must never block. So one plain thread owns this door's
//! [`Desk`] — its own connection to the file, as every thread that wants one
//! gets — and each handler hands it a request over a channel and awaits the
//! reply on a oneshot channel: the one-owner rule of the ZeroMQ loop, again.

use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crossbeam_channel::{Sender, unbounded};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use solution04::protocol::MAX_FRAME_BYTES;
use tokio::sync::oneshot;

use crate::dispatcher::{Desk, DispatcherConfig};
use crate::event::{Event, EventSink};
use crate::protocol::{
    BatchReply, BatchRequest, BatchWorkRequest, HeldLease, LeasedResult, MAX_BATCH, Registration,
    Reply, Request, WorkRequest,
};
use crate::store::{NewTask, parse_task_id};
use solution02::shutdown::{STOP_CHECK, Shutdown};

/// Where the HTTP door listens by default: the original's `DISPATCHER_PORT=5000`.
pub const DEFAULT_HTTP_ADDRESS: &str = "127.0.0.1:5000";
/// The same, as workers and clients name it.
pub const DEFAULT_HTTP_URL: &str = "http://127.0.0.1:5000";
/// The largest body accepted: the ZeroMQ door's largest frame.
pub const BODY_LIMIT: usize = MAX_FRAME_BYTES;

pub const SUBMIT_TASK: &str = "/submit-task";
pub const GET_TASK: &str = "/get-task";
pub const SUBMIT_RESULT: &str = "/submit-result";
pub const HEARTBEAT: &str = "/heartbeat";
pub const GET_TASKS: &str = "/get-tasks";
pub const SUBMIT_RESULTS: &str = "/submit-results";
pub const TASK: &str = "/task";
pub const STATS: &str = "/stats";
pub const HEALTH: &str = "/health";

/// The body of `POST /heartbeat`. With `capabilities` it registers the worker
/// first; `leases` are the ones it still holds, as in a ZeroMQ `HEARTBEAT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeartbeat {
    pub worker_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    #[serde(default)]
    pub leases: Vec<HeldLease>,
}

/// Why the HTTP door could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the HTTP door failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the HTTP door's store thread panicked")]
    Panicked,
}

/// A request for the desk's thread, with where its reply goes.
pub enum Job {
    One(Request, oneshot::Sender<Reply>),
    Batch(BatchRequest, oneshot::Sender<BatchReply>),
}

/// A bound HTTP door with its desk open.
pub struct HttpDoor {
    listener: TcpListener,
    address: SocketAddr,
    desk: Desk,
}

impl HttpDoor {
    /// Opens a desk on `config.db` and listens on `address` (`127.0.0.1:0`
    /// picks a free port), and says so: connections wait from now on, until
    /// [`HttpDoor::run`] serves them. `started` is when the dispatcher started.
    pub fn bind(
        address: &str,
        config: &DispatcherConfig,
        events: EventSink,
        started: Instant,
    ) -> Result<Self, HttpError> {
        let bind_error = |source| HttpError::Bind {
            address: address.to_owned(),
            source,
        };
        let listener = TcpListener::bind(address).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let desk = Desk::open(config, EventSink::clone(&events), started)?;
        events(&Event::HttpListening {
            url: format!("http://{address}"),
        });
        Ok(Self {
            listener,
            address,
            desk,
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `stop`: tokio on this thread for the connections, and one
    /// more thread, the desk's owner, for the store.
    pub fn run(self, stop: &Shutdown) -> Result<(), HttpError> {
        let (jobs, inbox) = unbounded::<Job>();
        let mut desk = self.desk;
        // ANCHOR: owner
        let owner = thread::spawn(move || {
            // Ends when the router, holder of every sender, is dropped.
            for job in inbox {
                match job {
                    Job::One(request, reply) => {
                        let _ = reply.send(desk.serve(request, SystemTime::now()));
                    }
                    Job::Batch(request, reply) => {
                        let _ = reply.send(desk.serve_batch(request, SystemTime::now()));
                    }
                }
            }
        });
        // ANCHOR_END: owner
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = self.listener;
        let served = runtime.block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, router(jobs))
                .with_graceful_shutdown(stopped(stop.clone()))
                .await
        });
        drop(runtime);
        owner.join().map_err(|_| HttpError::Panicked)?;
        Ok(served?)
    }
}

// ANCHOR: router
/// The seven endpoints (and two for batches), the body limit, and JSON for what
/// matches none.
pub fn router(jobs: Sender<Job>) -> Router {
    Router::new()
        .route(SUBMIT_TASK, post(submit_task))
        .route(GET_TASK, post(get_task))
        .route(SUBMIT_RESULT, post(submit_result))
        .route(HEARTBEAT, post(heartbeat))
        .route(GET_TASKS, post(get_tasks))
        .route(SUBMIT_RESULTS, post(submit_results))
        .route(&format!("{TASK}/{{id}}"), get(task))
        .route(STATS, get(stats))
        .route(HEALTH, get(health))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(jobs)
}
// ANCHOR_END: router

async fn stopped(stop: Shutdown) {
    while !stop.is_stopped() {
        tokio::time::sleep(STOP_CHECK).await;
    }
}

// ANCHOR: ask
/// Hands one request to the desk's thread and waits, without blocking, for its reply.
async fn ask(jobs: &Sender<Job>, request: Request) -> Reply {
    let (reply_to, reply) = oneshot::channel();
    if jobs.send(Job::One(request, reply_to)).is_err() {
        return Reply::StoreFailed("the store's thread is gone".to_owned());
    }
    reply
        .await
        .unwrap_or_else(|_| Reply::StoreFailed("the store's thread is gone".to_owned()))
}

async fn submit_task(
    State(jobs): State<Sender<Job>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match read::<NewTask>(body) {
        Ok(task) => respond(ask(&jobs, Request::Submit(task)).await),
        Err(refusal) => refusal,
    }
}
// ANCHOR_END: ask

async fn get_task(
    State(jobs): State<Sender<Job>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match read::<WorkRequest>(body) {
        Ok(request) => respond(ask(&jobs, Request::RequestTask(request)).await),
        Err(refusal) => refusal,
    }
}

async fn submit_result(
    State(jobs): State<Sender<Job>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match read(body) {
        Ok(result) => respond(ask(&jobs, Request::Result(result)).await),
        Err(refusal) => refusal,
    }
}

/// Hands a batch to the desk's thread, and its reply back as HTTP: 200 and a
/// list, 204 for no tasks, or the single reply's status.
async fn ask_batch(jobs: &Sender<Job>, request: BatchRequest) -> Response {
    let gone = || respond(Reply::StoreFailed("the store's thread is gone".to_owned()));
    let (reply_to, reply) = oneshot::channel();
    if jobs.send(Job::Batch(request, reply_to)).is_err() {
        return gone();
    }
    match reply.await {
        Ok(BatchReply::Tasks(leases)) if leases.is_empty() => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(BatchReply::Tasks(leases)) => ok(StatusCode::OK, value(&leases)),
        Ok(BatchReply::ResultsReceived(answers)) => ok(StatusCode::OK, value(&answers)),
        Ok(BatchReply::ReceivedAndTasks(received)) => ok(StatusCode::OK, value(&received)),
        Ok(BatchReply::Other(reply)) => respond(reply),
        Err(_) => gone(),
    }
}

async fn get_tasks(
    State(jobs): State<Sender<Job>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match read::<BatchWorkRequest>(body) {
        Ok(request) if (1..=MAX_BATCH).contains(&request.max) => {
            ask_batch(&jobs, BatchRequest::RequestTasks(request)).await
        }
        Ok(request) => error(
            StatusCode::BAD_REQUEST,
            format!("max is 1 to {MAX_BATCH}, not {}", request.max),
        ),
        Err(refusal) => refusal,
    }
}

async fn submit_results(
    State(jobs): State<Sender<Job>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let results: Vec<LeasedResult> = match read(body) {
        Ok(results) => results,
        Err(refusal) => return refusal,
    };
    if results.len() > MAX_BATCH {
        let reason = format!("a group holds at most {MAX_BATCH} results");
        return error(StatusCode::BAD_REQUEST, reason);
    }
    ask_batch(&jobs, BatchRequest::Results(results)).await
}

async fn heartbeat(
    State(jobs): State<Sender<Job>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let heartbeat: HttpHeartbeat = match read(body) {
        Ok(heartbeat) => heartbeat,
        Err(refusal) => return refusal,
    };
    if let Some(capabilities) = heartbeat.capabilities {
        let registration = Registration {
            worker_id: heartbeat.worker_id.clone(),
            capabilities,
        };
        let reply = ask(&jobs, Request::Register(registration)).await;
        if reply != Reply::Registered {
            return respond(reply);
        }
    }
    let request = Request::Heartbeat(crate::protocol::Heartbeat {
        worker_id: heartbeat.worker_id,
        leases: heartbeat.leases,
    });
    respond(ask(&jobs, request).await)
}

async fn task(State(jobs): State<Sender<Job>>, Path(id): Path<String>) -> Response {
    match parse_task_id(&id) {
        Some(task_id) => respond(ask(&jobs, Request::Status(task_id)).await),
        None => error(
            StatusCode::BAD_REQUEST,
            format!("a task id is a number, not {id:?}"),
        ),
    }
}

async fn stats(State(jobs): State<Sender<Job>>) -> Response {
    respond(ask(&jobs, Request::Stats).await)
}

async fn health(State(jobs): State<Sender<Job>>) -> Response {
    respond(ask(&jobs, Request::Health).await)
}

async fn no_such_endpoint(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {method} {}: POST {SUBMIT_TASK} {GET_TASK} {SUBMIT_RESULT} \
             {HEARTBEAT} {GET_TASKS} {SUBMIT_RESULTS}, GET {TASK}/<id> {STATS} {HEALTH}",
            uri.path()
        ),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

/// A body as JSON of type `T`, whatever its Content-Type says (`curl -d` sends
/// a form's); or the error answer: 413 past the limit, 400 for the rest.
#[allow(clippy::result_large_err)] // the refusal is the response itself
fn read<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Response> {
    let bytes = body.map_err(|rejection| {
        let status = rejection.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {} MiB", BODY_LIMIT >> 20)
        } else {
            rejection.body_text()
        };
        error(status, reason)
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|reason| error(StatusCode::BAD_REQUEST, format!("malformed JSON: {reason}")))
}

/// `{"error": reason}` with `status`.
fn error(status: StatusCode, reason: String) -> Response {
    (status, axum::Json(json!({ "error": reason }))).into_response()
}

fn ok(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The desk's reply as HTTP: a status, and JSON (none for 204).
pub fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Registered => ok(StatusCode::OK, json!({ "status": "REGISTERED" })),
        Reply::HeartbeatOk { renewed } => ok(
            StatusCode::OK,
            json!({ "status": "HEARTBEAT_OK", "renewed": renewed }),
        ),
        Reply::Task(lease) => ok(StatusCode::OK, value(&lease)),
        Reply::NoTasksAvailable => StatusCode::NO_CONTENT.into_response(),
        Reply::ResultReceived => ok(StatusCode::OK, json!({ "status": "RESULT_RECEIVED" })),
        Reply::Submitted(task_id) => ok(
            StatusCode::CREATED,
            json!({ "task_id": task_id, "status": "QUEUED" }),
        ),
        Reply::Status(view) => ok(StatusCode::OK, value(&*view)),
        Reply::Stats(stats) => ok(StatusCode::OK, value(&stats)),
        Reply::Healthy(health) => ok(StatusCode::OK, value(&health)),
        Reply::UnknownWorker(worker_id) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "error": format!(
                    "unknown worker {worker_id:?}: send a heartbeat with its capabilities to register"
                ),
                "worker_id": worker_id,
            })),
        )
            .into_response(),
        Reply::NotFound(task_id) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": format!("unknown task {task_id}"), "task_id": task_id })),
        )
            .into_response(),
        Reply::Error(reason) | Reply::RequestFailed(reason) => {
            error(StatusCode::BAD_REQUEST, reason)
        }
        Reply::Refused(reason) => error(StatusCode::CONFLICT, reason),
        Reply::StoreFailed(reason) => error(StatusCode::INTERNAL_SERVER_ERROR, reason),
    }
}

/// One of our own types as JSON: strings, numbers and JSON values, so this
/// cannot fail.
fn value(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or_default()
}
