//! The pull dispatcher: one thread, two REP sockets, one task table, no locks.
//!
//! The Python original ran three threads over one socket and three shared
//! structures, and needed four locks to keep them apart. Here the thread that calls
//! [`Dispatcher::run`] owns everything: it waits on both sockets with `zmq::poll`,
//! answers whichever is ready, and — because the poll wakes up at least every
//! [`DispatcherConfig::check_every`] — also runs the deadline check. One owner
//! means no lock, and a ZeroMQ socket, which is `Send` but not `Sync`, is used
//! exactly the way the compiler allows: from one thread.

use std::time::{Duration, Instant};

use crate::client::{ClientReply, ClientRequest};
use crate::connection::millis;
use crate::event::{Event, EventSink};
use crate::protocol::{
    DispatcherReply, HARD_FRAME_LIMIT, ProtocolError, ResultsAndRequest, WorkerMessage,
    single_text_frame,
};
use crate::store::TaskTable;
use solution02::shutdown::{STOP_CHECK, Shutdown};

/// Where workers ask for tasks, as in the original.
pub const DEFAULT_WORKERS_ENDPOINT: &str = "tcp://127.0.0.1:5556";
/// Where clients submit tasks and ask for their status.
pub const DEFAULT_CLIENTS_ENDPOINT: &str = "tcp://127.0.0.1:5555";

/// How to start a [`Dispatcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherConfig {
    /// The REP endpoint workers connect to. `tcp://127.0.0.1:*` picks a free port.
    pub workers_endpoint: String,
    /// The REP endpoint clients connect to.
    pub clients_endpoint: String,
    /// How long a task may stay RUNNING before it is failed.
    pub deadline: Duration,
    /// How often the deadline is checked.
    pub check_every: Duration,
}

impl Default for DispatcherConfig {
    /// Workers on port 5556, as the original's README runs them, clients on 5555
    /// (this workbook's choice), and the original's `DEADLINE_SECONDS` of 2 s,
    /// checked every 0.5 s.
    fn default() -> Self {
        Self {
            workers_endpoint: DEFAULT_WORKERS_ENDPOINT.to_owned(),
            clients_endpoint: DEFAULT_CLIENTS_ENDPOINT.to_owned(),
            deadline: Duration::from_secs(2),
            check_every: Duration::from_millis(500),
        }
    }
}

/// Why the dispatcher could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error("could not bind {endpoint}: {source}")]
    Bind {
        endpoint: String,
        source: zmq::Error,
    },
    #[error("ZeroMQ error: {0}")]
    Zmq(#[from] zmq::Error),
}

// ANCHOR: dispatcher
/// A bound dispatcher. Whoever holds it owns its sockets and its tasks.
pub struct Dispatcher {
    workers: zmq::Socket,
    clients: zmq::Socket,
    workers_endpoint: String,
    clients_endpoint: String,
    tasks: TaskTable,
    config: DispatcherConfig,
    events: EventSink,
}
// ANCHOR_END: dispatcher

impl Dispatcher {
    /// Binds both sockets. Ports given as `*` are picked by the system; the
    /// endpoints actually bound are [`Dispatcher::workers_endpoint`] and
    /// [`Dispatcher::clients_endpoint`].
    pub fn bind(config: DispatcherConfig, events: EventSink) -> Result<Self, DispatcherError> {
        let context = zmq::Context::new();
        let (workers, workers_endpoint) = bind_rep(&context, &config.workers_endpoint)?;
        let (clients, clients_endpoint) = bind_rep(&context, &config.clients_endpoint)?;
        Ok(Self {
            workers,
            clients,
            workers_endpoint,
            clients_endpoint,
            tasks: TaskTable::new(),
            config,
            events,
        })
    }

    pub fn workers_endpoint(&self) -> &str {
        &self.workers_endpoint
    }

    pub fn clients_endpoint(&self) -> &str {
        &self.clients_endpoint
    }

    // ANCHOR: run
    /// Serves workers and clients until `stop`, failing overdue tasks on the way.
    pub fn run(mut self, stop: &Shutdown) -> Result<(), DispatcherError> {
        (self.events)(&Event::Listening {
            workers: self.workers_endpoint.clone(),
            clients: self.clients_endpoint.clone(),
            deadline: self.config.deadline,
        });
        self.serve(stop)?;
        (self.events)(&Event::DispatcherStopped);
        Ok(())
    }
    // ANCHOR_END: run

    // ANCHOR: serve
    /// The loop itself: both sockets, and the deadline check, on this one thread.
    fn serve(&mut self, stop: &Shutdown) -> Result<(), DispatcherError> {
        // ANCHOR: todo-dispatcher-loop
        let mut next_check = Instant::now() + self.config.check_every;
        while !stop.is_stopped() {
            // Sleep until a socket is readable, the next deadline check is due, or
            // it is time to look at the stop flag — whichever comes first.
            let wait = next_check
                .saturating_duration_since(Instant::now())
                .min(STOP_CHECK);
            let (worker_ready, client_ready) = {
                let mut items = [
                    self.workers.as_poll_item(zmq::POLLIN),
                    self.clients.as_poll_item(zmq::POLLIN),
                ];
                match zmq::poll(&mut items, millis(wait)) {
                    Ok(_) => (items[0].is_readable(), items[1].is_readable()),
                    Err(zmq::Error::EINTR) => continue,
                    Err(error) => return Err(error.into()),
                }
            };
            if worker_ready {
                let frame = self.workers.recv_multipart(0)?;
                let answer = self.answer_worker(&frame, Instant::now());
                self.workers.send(answer.as_bytes(), 0)?;
            }
            if client_ready {
                let frame = self.clients.recv_multipart(0)?;
                let answer = self.answer_client(&frame);
                self.clients.send(answer.as_bytes(), 0)?;
            }
            let now = Instant::now();
            if now >= next_check {
                self.check_deadlines(now);
                next_check = now + self.config.check_every;
            }
        }
        Ok(())
        // ANCHOR_END: todo-dispatcher-loop
    }
    // ANCHOR_END: serve

    // ANCHOR: answer_worker
    /// The answer to one worker message. Every frame gets one: a REP socket must
    /// answer before it can hear the next request, and a worker that sent garbage
    /// should hear why.
    pub fn answer_worker(&mut self, parts: &[Vec<u8>], now: Instant) -> String {
        // The one-trip protocol's frame is given code (the book's "One round trip
        // per task"); every other frame is the original protocol's.
        if let Some(message) = single_text_frame(parts)
            .ok()
            .and_then(ResultsAndRequest::parse)
        {
            return self.answer_results_and_request(message, now).to_frame();
        }
        // ANCHOR: todo-answer-worker
        let message = single_text_frame(parts).and_then(WorkerMessage::parse);
        let reply = match message {
            Ok(WorkerMessage::RequestTask { worker_id }) => match self.tasks.assign_next(now) {
                Some(assignment) => {
                    (self.events)(&Event::Assigned {
                        task_id: assignment.task_id.clone(),
                        worker_id,
                    });
                    DispatcherReply::Task(assignment)
                }
                None => DispatcherReply::NoTasksAvailable,
            },
            Ok(WorkerMessage::Result(report)) => {
                let task_id = report.task_id.clone();
                let error = report.error.clone();
                match self.tasks.accept_result(report) {
                    Ok(status) => {
                        (self.events)(&Event::ResultAccepted {
                            task_id,
                            status,
                            error,
                        });
                        DispatcherReply::ResultReceived
                    }
                    Err(refused) => {
                        let reason = refused.to_string();
                        (self.events)(&Event::ResultRefused {
                            reason: reason.clone(),
                        });
                        DispatcherReply::Refused(reason)
                    }
                }
            }
            // A request for work that cannot be read is answered the way the
            // original answered a failed request; anything else is plain ERROR.
            Err(
                error @ ProtocolError::BadJson {
                    command: "REQUEST_TASK",
                    ..
                },
            ) => {
                self.bad_frame(&error);
                DispatcherReply::RequestFailed(error.to_string())
            }
            Err(error) => {
                self.bad_frame(&error);
                DispatcherReply::Refused(error.to_string())
            }
        };
        reply.to_frame()
        // ANCHOR_END: todo-answer-worker
    }
    // ANCHOR_END: answer_worker

    // ANCHOR: answer_results_and_request
    /// The answer to `RESULT_AND_REQUEST`: record every result it carries, then
    /// hand out the next task — unless a result was refused, which the worker is
    /// told with `ERROR` (and no task: it asks again, with nothing to carry).
    fn answer_results_and_request(
        &mut self,
        message: Result<ResultsAndRequest, ProtocolError>,
        now: Instant,
    ) -> DispatcherReply {
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                self.bad_frame(&error);
                return DispatcherReply::Refused(error.to_string());
            }
        };
        let mut refused = Vec::new();
        for report in message.results {
            let task_id = report.task_id.clone();
            let error = report.error.clone();
            match self.tasks.accept_result(report) {
                Ok(status) => (self.events)(&Event::ResultAccepted {
                    task_id,
                    status,
                    error,
                }),
                Err(why) => {
                    let reason = why.to_string();
                    (self.events)(&Event::ResultRefused {
                        reason: reason.clone(),
                    });
                    refused.push(reason);
                }
            }
        }
        if !refused.is_empty() {
            return DispatcherReply::Refused(refused.join("; "));
        }
        match self.tasks.assign_next(now) {
            Some(assignment) => {
                (self.events)(&Event::Assigned {
                    task_id: assignment.task_id.clone(),
                    worker_id: message.worker_id,
                });
                DispatcherReply::Task(assignment)
            }
            None => DispatcherReply::NoTasksAvailable,
        }
    }
    // ANCHOR_END: answer_results_and_request

    /// The answer to one client message.
    pub fn answer_client(&mut self, parts: &[Vec<u8>]) -> String {
        let reply = match single_text_frame(parts).and_then(ClientRequest::parse) {
            Ok(ClientRequest::Submit(task)) => {
                let kind = task.kind.clone();
                let task_id = self.tasks.submit(task);
                (self.events)(&Event::Submitted {
                    task_id: task_id.clone(),
                    kind,
                });
                ClientReply::Submitted(task_id)
            }
            Ok(ClientRequest::Status(task_id)) => match self.tasks.report(&task_id) {
                Some(report) => ClientReply::Status(report),
                None => ClientReply::NotFound(task_id),
            },
            Err(error) => {
                self.bad_frame(&error);
                ClientReply::Error(error.to_string())
            }
        };
        reply.to_frame()
    }

    // ANCHOR: check_deadlines
    /// The deadline checker: the original's third thread, here one call per poll
    /// timeout in the same loop.
    fn check_deadlines(&mut self, now: Instant) {
        for expired in self.tasks.expire_overdue(now, self.config.deadline) {
            (self.events)(&Event::DeadlineExceeded {
                failure: expired.failure,
            });
        }
    }
    // ANCHOR_END: check_deadlines

    fn bad_frame(&self, error: &ProtocolError) {
        (self.events)(&Event::BadFrame {
            reason: error.to_string(),
        });
    }
}

/// A REP socket bound to `endpoint`, and the endpoint it really got.
pub fn bind_rep(
    context: &zmq::Context,
    endpoint: &str,
) -> Result<(zmq::Socket, String), DispatcherError> {
    let bind_error = |source| DispatcherError::Bind {
        endpoint: endpoint.to_owned(),
        source,
    };
    let socket = context.socket(zmq::REP).map_err(bind_error)?;
    socket.set_linger(0).map_err(bind_error)?;
    // A peer sending more than this is disconnected by libzmq before we buffer it.
    socket
        .set_maxmsgsize(i64::try_from(HARD_FRAME_LIMIT).unwrap_or(i64::MAX))
        .map_err(bind_error)?;
    socket.bind(endpoint).map_err(bind_error)?;
    let bound = socket
        .get_last_endpoint()
        .map_err(bind_error)?
        .unwrap_or_else(|raw| String::from_utf8_lossy(&raw).into_owned());
    Ok((socket, bound))
}
