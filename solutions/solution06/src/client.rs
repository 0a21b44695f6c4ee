//! Calling the server: one call, the Dispatcher service's calls, a health check,
//! and the list of services that reflection reports — what `grpc_client` runs and
//! the tests use.
//!
//! Every call carries a deadline *and* a local timer a little longer than it, so a
//! client never waits for ever on a server that does not answer.

use std::future::Future;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::pb::{self, calculator_client::CalculatorClient, dispatcher_client::DispatcherClient};

/// How long connecting may take before we give up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a call may take when the caller set no deadline.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a call did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("'{0}' is not a server address such as 127.0.0.1:50051")]
    Address(String),
    #[error("could not connect to {address}: {source}")]
    Connect {
        address: String,
        source: tonic::transport::Error,
    },
    #[error("{}: {}", code_name(.0.code()), .0.message())]
    Call(#[from] Status),
}

impl ClientError {
    /// The gRPC status code, if the server (or the deadline) answered with one.
    pub fn code(&self) -> Option<Code> {
        match self {
            ClientError::Call(status) => Some(status.code()),
            _ => None,
        }
    }
}

/// The code's name as the gRPC specification and grpcio write it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A channel (one HTTP/2 connection) to the server at `address`, e.g. `127.0.0.1:50051`.
pub async fn connect(address: &str) -> Result<Channel, ClientError> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|_| ClientError::Address(address.to_owned()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    endpoint
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            address: address.to_owned(),
            source,
        })
}

/// `message` with a deadline the server sees.
fn with_deadline<T>(message: T, deadline: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    request
}

/// Awaits `call`'s answer. tonic's client sends the deadline but does not enforce
/// it; we do, with a little slack so the server's own DEADLINE_EXCEEDED normally
/// arrives first.
async fn answer<T>(
    call: impl Future<Output = Result<Response<T>, Status>>,
    deadline: Duration,
) -> Result<T, ClientError> {
    match tokio::time::timeout(deadline + Duration::from_millis(500), call).await {
        Ok(answer) => Ok(answer?.into_inner()),
        Err(_) => Err(Status::deadline_exceeded("no answer before the deadline").into()),
    }
}

/// Calls `Compute(task)` with `deadline` (or [`DEFAULT_CALL_TIMEOUT`]).
pub async fn compute(
    channel: &Channel,
    task: pb::Task,
    deadline: Option<Duration>,
) -> Result<pb::TaskResult, ClientError> {
    let deadline = deadline.unwrap_or(DEFAULT_CALL_TIMEOUT);
    // Let an oversized request reach the server, so the *server's* limit shows.
    let mut calculator =
        CalculatorClient::new(channel.clone()).max_encoding_message_size(usize::MAX);
    answer(calculator.compute(with_deadline(task, deadline)), deadline).await
}

/// A Dispatcher client; like [`compute`], it lets oversized requests through.
fn dispatcher(channel: &Channel) -> DispatcherClient<Channel> {
    DispatcherClient::new(channel.clone()).max_encoding_message_size(usize::MAX)
}

/// Queues a chapter 05 task, e.g. `("add", r#"{"a": 2, "b": 3}"#)`; returns its id.
pub async fn submit_task(
    channel: &Channel,
    kind: &str,
    args_json: &str,
) -> Result<i64, ClientError> {
    submit_keyed_task(channel, kind, args_json, "").await
}

/// [`submit_task`] under a key of the caller's: sent again with the same key
/// (its answer lost), it queues nothing new and answers the first task's id.
pub async fn submit_keyed_task(
    channel: &Channel,
    kind: &str,
    args_json: &str,
    key: &str,
) -> Result<i64, ClientError> {
    let request = pb::SubmitTaskRequest {
        kind: kind.to_owned(),
        args_json: args_json.to_owned(),
        max_attempts: 0,
        key: key.to_owned(),
    };
    let mut client = dispatcher(channel);
    let call = client.submit_task(with_deadline(request, DEFAULT_CALL_TIMEOUT));
    Ok(answer(call, DEFAULT_CALL_TIMEOUT).await?.task_id)
}

/// A task's state and result.
pub async fn get_task(channel: &Channel, task_id: i64) -> Result<pb::TaskState, ClientError> {
    let request = pb::GetTaskRequest { task_id };
    let mut client = dispatcher(channel);
    let call = client.get_task(with_deadline(request, DEFAULT_CALL_TIMEOUT));
    answer(call, DEFAULT_CALL_TIMEOUT).await
}

/// Registers `worker` with its kinds and renews the leases it holds; returns how
/// many were renewed.
pub async fn heartbeat(
    channel: &Channel,
    worker: pb::WorkerProperties,
    held: Vec<pb::HeldLease>,
) -> Result<u32, ClientError> {
    let request = pb::HeartbeatRequest {
        worker: Some(worker),
        held,
    };
    let mut client = dispatcher(channel);
    let call = client.heartbeat(with_deadline(request, DEFAULT_CALL_TIMEOUT));
    Ok(answer(call, DEFAULT_CALL_TIMEOUT).await?.renewed)
}

/// Leases the next task `worker_id` can run, if any.
pub async fn claim_task(
    channel: &Channel,
    worker_id: &str,
) -> Result<Option<pb::Lease>, ClientError> {
    let request = pb::ClaimTaskRequest {
        worker_id: worker_id.to_owned(),
    };
    let mut client = dispatcher(channel);
    let call = client.claim_task(with_deadline(request, DEFAULT_CALL_TIMEOUT));
    Ok(answer(call, DEFAULT_CALL_TIMEOUT).await?.lease)
}

/// Reports a leased task's outcome, with the lease's token.
pub async fn submit_result(
    channel: &Channel,
    task_id: i64,
    lease_token: &str,
    outcome: pb::submit_result_request::Outcome,
) -> Result<pb::SubmitResultResponse, ClientError> {
    let request = pb::SubmitResultRequest {
        task_id,
        lease_token: lease_token.to_owned(),
        outcome: Some(outcome),
    };
    let mut client = dispatcher(channel);
    let call = client.submit_result(with_deadline(request, DEFAULT_CALL_TIMEOUT));
    answer(call, DEFAULT_CALL_TIMEOUT).await
}

/// Tasks per status and every worker.
pub async fn stats(channel: &Channel) -> Result<pb::StatsResponse, ClientError> {
    let mut client = dispatcher(channel);
    let call = client.stats(with_deadline(pb::StatsRequest {}, DEFAULT_CALL_TIMEOUT));
    answer(call, DEFAULT_CALL_TIMEOUT).await
}

/// The Dispatcher's own health answer: a round trip through the pool and the store.
pub async fn dispatcher_health(channel: &Channel) -> Result<pb::HealthResponse, ClientError> {
    let mut client = dispatcher(channel);
    let call = client.health(with_deadline(pb::HealthRequest {}, DEFAULT_CALL_TIMEOUT));
    answer(call, DEFAULT_CALL_TIMEOUT).await
}

/// Asks the standard health service about `service` (`""`: the whole server) and
/// returns its status, e.g. `SERVING`.
pub async fn health(channel: &Channel, service: &str) -> Result<String, ClientError> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let answer = HealthClient::new(channel.clone())
        .check(request)
        .await?
        .into_inner();
    Ok(ServingStatus::try_from(answer.status)
        .map_or("UNKNOWN", |status| status.as_str_name())
        .to_owned())
}

/// The services the server lists through reflection, as `grpcurl list` shows them.
pub async fn list_services(channel: &Channel) -> Result<Vec<String>, ClientError> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tonic::codegen::tokio_stream::once(request))
        .await?
        .into_inner();
    let mut names = Vec::new();
    if let Some(answer) = answers.message().await?
        && let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response
    {
        names.extend(list.service.into_iter().map(|service| service.name));
    }
    names.sort();
    Ok(names)
}
