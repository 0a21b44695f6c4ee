//! Calling the server: one call, a health check, and the list of services that
//! reflection reports — what `grpc_client` runs and the tests use.
//!
//! Every call carries a deadline *and* a local timer a little longer than it, so a
//! client never waits for ever on a server that does not answer.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::pb::{self, calculator_client::CalculatorClient};

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

/// Calls `Compute(task)` with `deadline` (or [`DEFAULT_CALL_TIMEOUT`]).
pub async fn compute(
    channel: &Channel,
    task: pb::Task,
    deadline: Option<Duration>,
) -> Result<pb::TaskResult, ClientError> {
    let deadline = deadline.unwrap_or(DEFAULT_CALL_TIMEOUT);
    let mut request = Request::new(task);
    request.set_timeout(deadline);
    // Let an oversized request reach the server, so the *server's* limit shows.
    let mut calculator =
        CalculatorClient::new(channel.clone()).max_encoding_message_size(usize::MAX);
    let call = calculator.compute(request);
    // tonic's client sends the deadline but does not enforce it; we do, with a
    // little slack so the server's own DEADLINE_EXCEEDED normally arrives first.
    match tokio::time::timeout(deadline + Duration::from_millis(500), call).await {
        Ok(answer) => Ok(answer?.into_inner()),
        Err(_) => Err(Status::deadline_exceeded("no answer before the deadline").into()),
    }
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
