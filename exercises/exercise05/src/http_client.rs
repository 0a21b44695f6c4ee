//! The HTTP door seen from a worker or a client: the same [`Request`]s and the
//! same [`Reply`]s as over ZeroMQ, carried by the endpoints of [`crate::http`].
//!
//! It exists so that `lease_worker`, `add_task` and `stats` can use either door
//! with the same code above it. The client is `ureq`, small and blocking: the
//! worker's main thread waits for its dispatcher's answer anyway, so an async
//! runtime would buy nothing. As over ZeroMQ, a request gets one try: no answer
//! within the timeout — or no connection at all — is
//! [`ConnectionError::NoAnswer`], and the caller decides when to try again.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use solution04::connection::ConnectionError;

use crate::http::{
    GET_TASK, GET_TASKS, HEALTH, HEARTBEAT, HttpHeartbeat, STATS, SUBMIT_RESULT, SUBMIT_RESULTS,
    SUBMIT_TASK, TASK,
};
use crate::protocol::{
    BatchReply, BatchRequest, BatchWorkRequest, ReceivedAndTasks, Reply, Request,
    ResultsAndRequest, WorkRequest,
};
use solution02::Shutdown;

/// A dispatcher's HTTP door, at a base URL such as `http://127.0.0.1:5000`.
pub struct HttpConnection {
    agent: ureq::Agent,
    base: String,
    timeout: Duration,
}

/// Whether `endpoint` names an HTTP door rather than a ZeroMQ one.
pub fn is_http(endpoint: &str) -> bool {
    endpoint.starts_with("http://")
}

/// `127.0.0.1:5000` or `http://127.0.0.1:5000`, as a URL.
pub fn url(address: &str) -> String {
    if is_http(address) {
        address.to_owned()
    } else {
        format!("http://{address}")
    }
}

impl HttpConnection {
    /// Each request gives up after `timeout`. 4xx and 5xx are answers, not errors.
    pub fn new(base: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            timeout,
        }
    }

    /// One request, one reply, as [`crate::Connection::exchange`] gives over ZeroMQ.
    pub fn exchange(
        &mut self,
        request: &Request,
        stop: &Shutdown,
    ) -> Result<Reply, ConnectionError> {
        if stop.is_stopped() {
            return Err(ConnectionError::Stopped);
        }
        let url = |path: &str| format!("{}{path}", self.base);
        let sent = match request {
            Request::Register(registration) => self.post(
                &url(HEARTBEAT),
                &HttpHeartbeat {
                    worker_id: registration.worker_id.clone(),
                    capabilities: Some(registration.capabilities.clone()),
                    leases: Vec::new(),
                },
            ),
            Request::Heartbeat(heartbeat) => self.post(
                &url(HEARTBEAT),
                &HttpHeartbeat {
                    worker_id: heartbeat.worker_id.clone(),
                    capabilities: None,
                    leases: heartbeat.leases.clone(),
                },
            ),
            Request::RequestTask(work) => self.post(&url(GET_TASK), work),
            Request::Result(result) => self.post(&url(SUBMIT_RESULT), result),
            Request::Submit(task) => self.post(&url(SUBMIT_TASK), task),
            Request::Status(task_id) => self.get(&url(&format!("{TASK}/{task_id}"))),
            Request::Stats => self.get(&url(STATS)),
            Request::Health => self.get(&url(HEALTH)),
        };
        let (status, body) = sent.map_err(|_| ConnectionError::NoAnswer {
            endpoint: self.base.clone(),
            attempts: 1,
            timeout: self.timeout,
        })?;
        Ok(reply(request, status, &body))
    }

    /// A batch, as [`crate::Door::exchange_batch`] sends it over ZeroMQ.
    pub fn exchange_batch(
        &mut self,
        request: &BatchRequest,
        stop: &Shutdown,
    ) -> Result<BatchReply, ConnectionError> {
        if stop.is_stopped() {
            return Err(ConnectionError::Stopped);
        }
        let sent = match request {
            BatchRequest::RequestTasks(work) => {
                self.post(&format!("{}{GET_TASKS}", self.base), work)
            }
            BatchRequest::Results(results) => {
                self.post(&format!("{}{SUBMIT_RESULTS}", self.base), results)
            }
            BatchRequest::ResultsAndRequest(one_trip) => {
                return self.one_trip_in_two(one_trip, stop);
            }
        };
        let (status, body) = sent.map_err(|_| ConnectionError::NoAnswer {
            endpoint: self.base.clone(),
            attempts: 1,
            timeout: self.timeout,
        })?;
        let unreadable = |error: serde_json::Error| {
            BatchReply::Other(Reply::Error(format!("unreadable answer: {error}")))
        };
        Ok(match (request, status) {
            (BatchRequest::RequestTasks(_), 200) => serde_json::from_str(&body)
                .map(BatchReply::Tasks)
                .unwrap_or_else(unreadable),
            (BatchRequest::RequestTasks(_), 204) => BatchReply::Tasks(Vec::new()),
            (BatchRequest::Results(_), 200) => serde_json::from_str(&body)
                .map(BatchReply::ResultsReceived)
                .unwrap_or_else(unreadable),
            // Anything else reads as the same request for one task would.
            (BatchRequest::RequestTasks(work), _) => {
                let one = Request::RequestTask(WorkRequest {
                    worker_id: work.worker_id.clone(),
                });
                BatchReply::Other(reply(&one, status, &body))
            }
            (BatchRequest::Results(_) | BatchRequest::ResultsAndRequest(_), _) => {
                BatchReply::Other(reply(&Request::Stats, status, &body))
            }
        })
    }

    /// The HTTP door has no one-trip route: a `RESULT_AND_REQUEST` goes as the
    /// two requests it joins — the results, then the claim — answered as one.
    fn one_trip_in_two(
        &mut self,
        one_trip: &ResultsAndRequest,
        stop: &Shutdown,
    ) -> Result<BatchReply, ConnectionError> {
        let answers = if one_trip.results.is_empty() {
            Vec::new()
        } else {
            match self.exchange_batch(&BatchRequest::Results(one_trip.results.clone()), stop)? {
                BatchReply::ResultsReceived(answers) => answers,
                other => return Ok(other),
            }
        };
        let claim = BatchRequest::RequestTasks(BatchWorkRequest {
            worker_id: one_trip.worker_id.clone(),
            max: one_trip.max,
        });
        let (tasks, claim_refused) = match self.exchange_batch(&claim, stop)? {
            BatchReply::Tasks(tasks) => (tasks, None),
            other => (Vec::new(), Some(other.to_frame())),
        };
        Ok(BatchReply::ReceivedAndTasks(ReceivedAndTasks {
            answers,
            tasks,
            claim_refused,
        }))
    }

    fn post(&self, url: &str, body: &impl Serialize) -> Result<(u16, String), ureq::Error> {
        let json = serde_json::to_string(body).unwrap_or_default();
        let response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(json.as_str())?;
        read(response)
    }

    fn get(&self, url: &str) -> Result<(u16, String), ureq::Error> {
        read(self.agent.get(url).call()?)
    }
}

fn read(response: ureq::http::Response<ureq::Body>) -> Result<(u16, String), ureq::Error> {
    let status = response.status().as_u16();
    let body = response.into_body().read_to_string()?;
    Ok((status, body))
}

/// What an HTTP answer to `request` means, as the reply the same request gets
/// over ZeroMQ.
pub fn reply(request: &Request, status: u16, body: &str) -> Reply {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let reason = || {
        json.get("error")
            .and_then(Value::as_str)
            .map_or_else(|| format!("HTTP {status}: {body}"), str::to_owned)
    };
    let parsed = |what: Result<Reply, serde_json::Error>| {
        what.unwrap_or_else(|error| Reply::Error(format!("unreadable answer: {error}")))
    };
    let worker_of = |request: &Request| match request {
        Request::Register(registration) => Some(registration.worker_id.clone()),
        Request::Heartbeat(heartbeat) => Some(heartbeat.worker_id.clone()),
        Request::RequestTask(work) => Some(work.worker_id.clone()),
        _ => None,
    };
    match (request, status) {
        (Request::Register(_), 200) => Reply::Registered,
        (Request::Heartbeat(_), 200) => Reply::HeartbeatOk {
            renewed: json
                .get("renewed")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
        },
        (Request::RequestTask(_), 200) => {
            parsed(serde_json::from_value(json.clone()).map(Reply::Task))
        }
        (Request::RequestTask(_), 204) => Reply::NoTasksAvailable,
        (Request::Result(_), 200) => Reply::ResultReceived,
        (Request::Submit(_), 201) => match json.get("task_id").and_then(Value::as_i64) {
            Some(task_id) => Reply::Submitted(task_id),
            None => Reply::Error(format!("unreadable answer: {body}")),
        },
        (Request::Status(_), 200) => {
            parsed(serde_json::from_value(json.clone()).map(|view| Reply::Status(Box::new(view))))
        }
        (Request::Stats, 200) => parsed(serde_json::from_value(json.clone()).map(Reply::Stats)),
        (Request::Health, 200) => parsed(serde_json::from_value(json.clone()).map(Reply::Healthy)),
        (Request::Status(task_id), 404) => Reply::NotFound(*task_id),
        (Request::Result(result), 404) => Reply::NotFound(result.task_id),
        (asking, 404) if worker_of(asking).is_some() => {
            Reply::UnknownWorker(worker_of(asking).unwrap_or_default())
        }
        // A request for work that was not served, as over ZeroMQ: ERROR_OCCURED.
        (Request::RequestTask(_), _) => Reply::RequestFailed(reason()),
        (_, 409) => Reply::Refused(reason()),
        (_, 500..) => Reply::StoreFailed(reason()),
        _ => Reply::Error(reason()),
    }
}
