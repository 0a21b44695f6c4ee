//! The lease worker: chapter 04's pull worker, plus what surviving failure takes —
//! it registers its capabilities, sends heartbeats naming the leases it holds,
//! and never loses a result: each is cached on disk before delivery and resent,
//! with backoff, until the dispatcher acknowledges it.
//!
//! As before, the socket stays on the worker's main thread, and the tasks run on
//! chapter 02's pool through chapter 04's [`Running`]: at most `workers` at once,
//! each one's result handed back to the main thread. That thread is the only one
//! that talks to the dispatcher, so a heartbeat never races a request on the REQ
//! socket. What this file adds is what leases need: registering, heartbeats
//! naming the leases held, the result cache, and backing off from an unreachable
//! dispatcher. The cache has a thread of its own, the [`CacheWriter`]: a finished
//! result waits in the outbox until the writer has it on disk, and only then is
//! it sent — the results that finish during one flush share the next.
//!
//! How a result travels is chapter 04's choice too ([`WorkerProtocol`]): by
//! default it rides on the next request for work (`RESULT_AND_REQUEST`, one round
//! trip a task), or, with `Original`, it goes alone as `RESULT`.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use solution02::PoolError;
use solution03::work::DecodeError;
use solution04::connection::ConnectionError;
use solution04::worker::{Running, WorkerProtocol};

use crate::cache::{CacheError, CacheWriter, DEFAULT_CACHE_TTL, Found, ResultCache, Saved};
use crate::door::Door;
use crate::event::{Event, EventSink};
use crate::kinds::{self, check_capabilities};
use crate::protocol::{
    BatchReply, BatchRequest, BatchWorkRequest, Heartbeat, HeldLease, LeasedResult, Registration,
    Reply, Request, ResultAnswer, ResultsAndRequest, WorkRequest,
};
use crate::store::{ErrorType, Lease, Outcome, TaskId, task_failure};
use solution02::Shutdown;

/// The original's heartbeat period.
pub const DEFAULT_HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
/// How often the main thread looks at the cache's writer while it waits for a
/// running task (see `wait_for_news`).
const WRITER_CHECK: Duration = Duration::from_millis(1);

/// How long to wait before trying an unreachable dispatcher again: `first`,
/// doubling after each failure, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s, then 2, 4, 8, 16, 20, 20 … (the original retried every 20 s).
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The wait after `previous` (none: the first failure).
    pub fn next(&self, previous: Option<Duration>) -> Duration {
        match previous {
            None => self.first,
            Some(previous) => (previous * 2).min(self.max).max(self.first),
        }
    }
}

/// How to start a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The dispatcher's endpoint: `tcp://…` (ZeroMQ) or `http://…` (HTTP).
    pub endpoint: String,
    /// The name the dispatcher knows this worker by; its leases carry it.
    pub worker_id: String,
    /// The kinds it runs; the dispatcher hands it nothing else.
    pub capabilities: Vec<String>,
    /// How many tasks run at once: the pool's size, as in every chapter.
    pub workers: usize,
    /// How long to wait for an answer before calling the dispatcher unreachable.
    pub request_timeout: Duration,
    /// How long to wait before asking again after `NO_TASKS_AVAILABLE`.
    pub idle_wait: Duration,
    pub heartbeat_every: Duration,
    /// Where results wait until the dispatcher acknowledges them.
    pub cache_dir: PathBuf,
    pub cache_ttl: Duration,
    pub backoff: Backoff,
    /// How many tasks one request claims at most (never more than the pool's
    /// free threads), and how many results one request delivers: 1, one
    /// `REQUEST_TASK` and one `RESULT` per task (the default), or more,
    /// `REQUEST_TASKS` and `RESULTS` in groups — each task still with a lease of
    /// its own.
    pub batch: usize,
    /// How results travel: chapter 04's one round trip per task (the default
    /// here: each group of results rides on a request for work while a thread
    /// is free), or the original's two (`RESULT`, then `REQUEST_TASK`).
    pub protocol: WorkerProtocol,
}

impl WorkerConfig {
    /// Defaults: heartbeats every 30 s and a cache kept for 1 h, as the original's
    /// `.env` has them (`WORKER_HEARTBEAT_INTERVAL`, `CACHE_TTL_SECONDS`); the
    /// cache under the system's temporary folder and a backoff from 1 s to 20 s
    /// are this workbook's choices.
    pub fn new(endpoint: &str, worker_id: &str, capabilities: &[&str]) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            worker_id: worker_id.to_owned(),
            capabilities: capabilities.iter().map(|kind| (*kind).to_owned()).collect(),
            workers: 2,
            request_timeout: Duration::from_millis(2500),
            idle_wait: Duration::from_millis(100),
            heartbeat_every: DEFAULT_HEARTBEAT_EVERY,
            cache_dir: std::env::temp_dir().join(format!("lease_worker-{worker_id}")),
            cache_ttl: DEFAULT_CACHE_TTL,
            backoff: Backoff::default(),
            batch: 1,
            protocol: WorkerProtocol::OneTrip,
        }
    }
}

/// Why the worker could not start, or stopped other than by being asked to.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("could not start the pool: {0}")]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("bad capabilities: {0}")]
    Capabilities(#[from] DecodeError),
}

// ANCHOR: worker
/// A worker process's main loop and everything it owns.
pub struct Worker {
    config: WorkerConfig,
    events: EventSink,
    context: zmq::Context,
    connection: Door,
    cache: ResultCache,
    /// Saves results on a thread of its own, a group per flush.
    writer: CacheWriter,
    /// Tasks on the pool, as in chapter 04; each hands back its result.
    running: Running<LeasedResult>,
    /// The leases of the tasks in `running`: their tokens go in every heartbeat.
    leases: HashMap<TaskId, String>,
    /// Results computed and not yet acknowledged, oldest first: the first
    /// `saved` of them are on disk and may be sent; the rest are being written,
    /// or wait in `unsaved` for the writer's next group.
    outbox: VecDeque<LeasedResult>,
    saved: usize,
    /// The results in the outbox that the writer has not been handed yet.
    unsaved: Vec<LeasedResult>,
    registered: bool,
    next_heartbeat: Instant,
    /// `None` while the dispatcher answers; else the wait before the next try.
    backoff: Option<Duration>,
    next_contact: Instant,
    recovered: Found,
}
// ANCHOR_END: worker

impl Worker {
    /// Checks the capabilities, starts the pool, opens the cache and picks up
    /// any results an earlier run left undelivered.
    pub fn start(config: WorkerConfig, events: EventSink) -> Result<Self, WorkerError> {
        check_capabilities(&config.capabilities)?;
        let running = Running::new(config.workers)?;
        let cache = ResultCache::open(&config.cache_dir, config.cache_ttl)?;
        let recovered = cache.load(SystemTime::now())?;
        let context = zmq::Context::new();
        let connection = connect(&context, &config)?;
        let now = Instant::now();
        Ok(Self {
            outbox: recovered.fresh.iter().cloned().collect(),
            // What an earlier run left is on disk already.
            saved: recovered.fresh.len(),
            recovered,
            config,
            events,
            context,
            connection,
            writer: CacheWriter::start(cache.clone()),
            cache,
            running,
            leases: HashMap::new(),
            unsaved: Vec::new(),
            registered: false,
            next_heartbeat: now,
            backoff: None,
            next_contact: now,
        })
    }

    // ANCHOR: run
    // ANCHOR: run_given
    /// Registers, then asks for work while a thread is free, delivers every
    /// result and sends heartbeats, until `stop`. Tasks still running when it
    /// stops are finished and cached, and delivered by the next run.
    pub fn run(mut self, stop: &Shutdown) -> Result<(), WorkerError> {
        (self.events)(&Event::WorkerStarted {
            worker_id: self.config.worker_id.clone(),
            workers: self.config.workers,
            capabilities: self.config.capabilities.clone(),
            endpoint: self.config.endpoint.clone(),
        });
        if !self.recovered.fresh.is_empty() {
            (self.events)(&Event::Recovered {
                results: self.recovered.fresh.len(),
            });
        }
        for task_id in std::mem::take(&mut self.recovered.expired) {
            (self.events)(&Event::CacheExpired { task_id });
        }
        let outcome = self.serve(stop);
        self.save_the_rest();
        (self.events)(&Event::WorkerStopped);
        match outcome {
            Err(ConnectionError::Stopped) | Ok(()) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    fn serve(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        // ANCHOR_END: run_given
        // ANCHOR: todo-worker-loop
        while !stop.is_stopped() {
            self.take_news();
            if Instant::now() >= self.next_contact && self.worth_a_round() {
                match self.contact(stop) {
                    Ok(()) => self.backoff = None,
                    Err(ConnectionError::NoAnswer { .. }) => self.unreachable()?,
                    Err(other) => return Err(other),
                }
            }
            let wait = self
                .next_contact
                .saturating_duration_since(Instant::now())
                .max(self.config.idle_wait);
            self.wait_for_news(wait);
        }
        Ok(())
        // ANCHOR_END: todo-worker-loop
    }
    // ANCHOR_END: run

    // ANCHOR: contact
    // ANCHOR: contact_given
    /// One round with the dispatcher: register if needed, deliver what is
    /// cached, send a heartbeat when one is due, and ask for work while a thread
    /// is free — up to `batch` tasks per request, never more than the free
    /// threads. Any unanswered request ends the round with `NoAnswer`.
    fn contact(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        // ANCHOR_END: contact_given
        // ANCHOR: todo-worker-contact
        if !self.registered {
            let registration = Registration {
                worker_id: self.config.worker_id.clone(),
                capabilities: self.config.capabilities.clone(),
            };
            match self.exchange(&Request::Register(registration), stop)? {
                Reply::Registered => self.registered = true,
                other => {
                    self.dispatcher_error(&other);
                    return Ok(());
                }
            }
        }
        self.deliver(stop)?;
        if Instant::now() >= self.next_heartbeat {
            self.heartbeat(stop)?;
        }
        while self.running.room() > 0 {
            let want = self.running.room().min(self.batch_size());
            match self.claim(want, stop)? {
                Claimed::Leases(leases) => {
                    let all_granted = leases.len() >= want;
                    for lease in leases {
                        self.start_task(lease);
                    }
                    if !all_granted {
                        break;
                    }
                }
                Claimed::Other(Reply::UnknownWorker(_)) => {
                    self.registered = false;
                    break;
                }
                Claimed::Other(other) => {
                    self.dispatcher_error(&other);
                    break;
                }
            }
        }
        Ok(())
        // ANCHOR_END: todo-worker-contact
    }
    // ANCHOR_END: contact

    // ANCHOR: deliver
    // ANCHOR: deliver_given
    /// Sends every saved result (the first `saved` of the outbox), oldest
    /// first, up to `batch` per request. Any answer — accepted, or refused,
    /// which asking again would not change — takes a result out of the outbox;
    /// no answer keeps it. Then the answered ones leave the cache together, so a group file
    /// goes whole, unread and with no new flush.
    fn deliver(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        // ANCHOR_END: deliver_given
        // ANCHOR: todo-worker-deliver
        let mut answered = Vec::new();
        let mut outcome = Ok(());
        while self.saved > 0 {
            let group: Vec<LeasedResult> = self
                .outbox
                .iter()
                .take(self.batch_size().min(self.saved))
                .cloned()
                .collect();
            let answers = match self.send_results(&group, stop) {
                Ok(answers) => answers,
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            };
            for (result, answer) in group.into_iter().zip(answers) {
                self.outbox.pop_front();
                self.saved -= 1;
                (self.events)(&Event::Delivered {
                    task_id: result.task_id,
                    answer,
                });
                answered.push(result);
            }
        }
        if let Err(error) = self.cache.remove_all(&answered) {
            self.cache_failed(&error);
        }
        outcome
        // ANCHOR_END: todo-worker-deliver
    }
    // ANCHOR_END: deliver

    // ANCHOR: heartbeat
    // ANCHOR: heartbeat_given
    /// "I am alive, and I still hold these leases": running tasks, and finished
    /// ones whose results wait in the cache.
    fn heartbeat(&mut self, stop: &Shutdown) -> Result<(), ConnectionError> {
        // ANCHOR_END: heartbeat_given
        // ANCHOR: todo-worker-heartbeat
        let running = self.leases.iter().map(|(id, token)| (*id, token.clone()));
        let waiting = self
            .outbox
            .iter()
            .map(|result| (result.task_id, result.lease_token.clone()));
        let leases = running
            .chain(waiting)
            .map(|(task_id, lease_token)| HeldLease {
                task_id,
                lease_token,
            })
            .collect();
        let heartbeat = Heartbeat {
            worker_id: self.config.worker_id.clone(),
            leases,
        };
        match self.exchange(&Request::Heartbeat(heartbeat), stop)? {
            Reply::HeartbeatOk { .. } => {}
            // The dispatcher's database does not know us: introduce ourselves again.
            Reply::UnknownWorker(_) => self.registered = false,
            other => self.dispatcher_error(&other),
        }
        self.next_heartbeat = Instant::now() + self.config.heartbeat_every;
        Ok(())
        // ANCHOR_END: todo-worker-heartbeat
    }
    // ANCHOR_END: heartbeat

    // ANCHOR: unreachable
    // ANCHOR: unreachable_given
    /// No answer: the REQ socket is stuck mid-exchange, so open a fresh one, and
    /// wait longer each time before the next try. Whatever is cached stays cached.
    fn unreachable(&mut self) -> Result<(), ConnectionError> {
        // ANCHOR_END: unreachable_given
        // ANCHOR: todo-worker-unreachable
        self.connection = connect(&self.context, &self.config)?;
        let wait = self.config.backoff.next(self.backoff);
        self.backoff = Some(wait);
        self.next_contact = Instant::now() + wait;
        // Back in touch, renew the leases first: they may be close to expiring.
        self.next_heartbeat = self.next_contact;
        (self.events)(&Event::Unreachable {
            cached: self.outbox.len(),
            retry_in: wait,
        });
        Ok(())
        // ANCHOR_END: todo-worker-unreachable
    }
    // ANCHOR_END: unreachable

    // ANCHOR: start_task
    /// Runs a lease on the pool, as chapter 04 runs a task, and records its token
    /// for the heartbeats. The result comes back to the main thread, which hands
    /// it to the cache's writer before anything else.
    fn start_task(&mut self, lease: Lease) {
        let (task_id, lease_token) = (lease.task_id, lease.lease_token.clone());
        let running_events = EventSink::clone(&self.events);
        let finished_events = EventSink::clone(&self.events);
        let capabilities = self.config.capabilities.clone();
        let leased = lease.clone();
        let started = self.running.start(
            move |thread| {
                running_events(&Event::Running {
                    thread,
                    task_id: lease.task_id,
                    kind: lease.kind.clone(),
                    attempt: lease.attempt,
                });
                kinds::execute(&lease, &capabilities)
            },
            move |thread, outcome| {
                let outcome = outcome.unwrap_or_else(|panic| {
                    Outcome::Failed(task_failure(
                        leased.task_id,
                        ErrorType::FunctionExecutionFailure,
                        format!("the task panicked: {panic}"),
                    ))
                });
                let result = LeasedResult::new(&leased, outcome);
                finished_events(&Event::Finished {
                    thread,
                    task_id: result.task_id,
                    status: result.status,
                });
                result
            },
        );
        // Only a shut-down pool refuses, and ours lives as long as the loop; a
        // refused lease runs out and another worker takes the task.
        if started.is_ok() {
            self.leases.insert(task_id, lease_token);
        }
    }
    // ANCHOR_END: start_task

    // ANCHOR: news
    /// Takes in what happened meanwhile, without waiting: finished tasks, and
    /// the group the writer may have put on disk.
    fn take_news(&mut self) {
        self.take_finished();
        if let Some(saved) = self.writer.try_saved() {
            self.saved_group(saved);
        }
    }

    /// Takes in every finished task's result, without waiting.
    fn take_finished(&mut self) {
        while let Some(result) = self.running.try_finished() {
            self.finished_task(result);
        }
    }

    /// Waits up to `wait` for news: a finished task or, when none is running,
    /// the group being written. Two channels and one thread: while both a task
    /// and a write are under way, it looks at the writer every millisecond.
    fn wait_for_news(&mut self, wait: Duration) {
        if self.writer.busy() && self.running.count() == 0 {
            if let Some(saved) = self.writer.saved_within(wait) {
                self.saved_group(saved);
            }
            return;
        }
        let wait = if self.writer.busy() {
            wait.min(WRITER_CHECK)
        } else {
            wait
        };
        if let Some(result) = self.running.finished_within(wait) {
            self.finished_task(result);
        }
        self.take_news();
    }

    /// A result is back from the pool: into the outbox, and to the writer —
    /// now if it is idle, else with the next group.
    fn finished_task(&mut self, result: LeasedResult) {
        self.leases.remove(&result.task_id);
        self.unsaved.push(result.clone());
        self.outbox.push_back(result);
        self.write_unsaved();
    }

    /// The writer is done with a group: on disk (or a failure said), so the
    /// results may go; and what finished meanwhile is the next group.
    fn saved_group(&mut self, (group, outcome): Saved) {
        if let Err(error) = outcome {
            self.cache_failed(&error);
        }
        self.saved += group.len();
        self.write_unsaved();
    }

    /// Hands the waiting results to the writer, as one group, if it is idle.
    fn write_unsaved(&mut self) {
        if !self.writer.busy() && !self.unsaved.is_empty() {
            let group = std::mem::take(&mut self.unsaved);
            self.writer.write(group);
        }
    }
    // ANCHOR_END: news

    /// Once stopped: waits for the tasks still running and for the writer, so
    /// that every result is on disk for the next run to deliver.
    fn save_the_rest(&mut self) {
        while self.running.count() > 0 || self.writer.busy() || !self.unsaved.is_empty() {
            self.write_unsaved();
            self.wait_for_news(self.config.idle_wait);
        }
    }

    fn exchange(&mut self, request: &Request, stop: &Shutdown) -> Result<Reply, ConnectionError> {
        self.connection.exchange(request, stop)
    }

    fn dispatcher_error(&self, answer: &Reply) {
        (self.events)(&Event::DispatcherError {
            answer: answer.to_frame(),
        });
    }

    fn cache_failed(&self, error: &CacheError) {
        (self.events)(&Event::CacheFailed {
            reason: error.to_string(),
        });
    }

    // ANCHOR: batches
    /// How many tasks a claim asks for and how many results a request carries,
    /// at most: `batch`, and at least 1.
    fn batch_size(&self) -> usize {
        self.config.batch.max(1)
    }

    /// Whether a round with the dispatcher has anything to do: introduce the
    /// worker, claim work for a free thread, deliver a full group of results
    /// (`batch` of them: one, unless batching), or send a heartbeat that is due.
    fn worth_a_round(&self) -> bool {
        !self.registered
            || self.running.room() > 0
            || self.saved >= self.batch_size()
            || Instant::now() >= self.next_heartbeat
    }

    /// Asks for up to `want` tasks: `REQUEST_TASK`, the original's frame, when
    /// the worker claims one at a time (`batch` 1), else `REQUEST_TASKS` — each
    /// task still with a lease of its own. `NO_TASKS_AVAILABLE` is no leases.
    fn claim(&mut self, want: usize, stop: &Shutdown) -> Result<Claimed, ConnectionError> {
        let worker_id = self.config.worker_id.clone();
        if self.batch_size() == 1 {
            return Ok(
                match self.exchange(&Request::RequestTask(WorkRequest { worker_id }), stop)? {
                    Reply::Task(lease) => Claimed::Leases(vec![lease]),
                    Reply::NoTasksAvailable => Claimed::Leases(Vec::new()),
                    other => Claimed::Other(other),
                },
            );
        }
        let request = BatchRequest::RequestTasks(BatchWorkRequest {
            worker_id,
            max: want,
        });
        Ok(match self.connection.exchange_batch(&request, stop)? {
            BatchReply::Tasks(leases) => Claimed::Leases(leases),
            BatchReply::Other(other) => Claimed::Other(other),
            unexpected @ (BatchReply::ResultsReceived(_) | BatchReply::ReceivedAndTasks(_)) => {
                Claimed::Other(Reply::Error(unexpected.to_frame()))
            }
        })
    }

    /// Sends `group` and returns the dispatcher's answer to each result, in
    /// order, as frames. With the one-trip protocol and a thread free (finished
    /// tasks are taken in first: their threads are free), the group asks for work
    /// too (`RESULT_AND_REQUEST`), and the leases it brings start at once — so
    /// the claim that follows in the round finds no room left.
    /// Otherwise one `RESULT` when the worker delivers one at a time (`batch`
    /// 1), else one `RESULTS`. A whole-batch answer (an `ERROR`) answers each
    /// result of the group.
    fn send_results(
        &mut self,
        group: &[LeasedResult],
        stop: &Shutdown,
    ) -> Result<Vec<String>, ConnectionError> {
        // A thread whose task is done is free, though its result is not taken
        // in yet: take it in, so that the free thread's claim rides here.
        self.take_finished();
        let room = self.running.room().min(self.batch_size());
        if self.config.protocol == WorkerProtocol::OneTrip && room > 0 {
            return self.send_results_and_claim(group, room, stop);
        }
        if let [result] = group
            && self.batch_size() == 1
        {
            let answer = self.exchange(&Request::Result(result.clone()), stop)?;
            return Ok(vec![answer.to_frame()]);
        }
        let request = BatchRequest::Results(group.to_vec());
        Ok(match self.connection.exchange_batch(&request, stop)? {
            BatchReply::ResultsReceived(answers) => answer_frames(answers, group.len()),
            other => vec![other.to_frame(); group.len()],
        })
    }

    /// One round trip: `group`, and a claim for up to `want` tasks, each
    /// granted lease started on the pool. A refused claim (`UNKNOWN_WORKER`)
    /// still answers the results.
    fn send_results_and_claim(
        &mut self,
        group: &[LeasedResult],
        want: usize,
        stop: &Shutdown,
    ) -> Result<Vec<String>, ConnectionError> {
        let request = BatchRequest::ResultsAndRequest(ResultsAndRequest {
            worker_id: self.config.worker_id.clone(),
            results: group.to_vec(),
            max: want,
        });
        let received = match self.connection.exchange_batch(&request, stop)? {
            BatchReply::ReceivedAndTasks(received) => received,
            other => return Ok(vec![other.to_frame(); group.len()]),
        };
        for lease in received.tasks {
            self.start_task(lease);
        }
        match received.claim_refused.map(|frame| Reply::parse(&frame)) {
            None => {}
            Some(Ok(Reply::UnknownWorker(_))) => self.registered = false,
            Some(Ok(other)) => self.dispatcher_error(&other),
            Some(Err(error)) => self.dispatcher_error(&Reply::Error(error.to_string())),
        }
        Ok(answer_frames(received.answers, group.len()))
    }
    // ANCHOR_END: batches
}

/// The dispatcher's answers to a group of `sent` results, as frames: recorded
/// (`RESULT_RECEIVED`) or refused (`ERROR …`). An answer list that does not
/// match the group answers every result with an error saying so.
fn answer_frames(answers: Vec<ResultAnswer>, sent: usize) -> Vec<String> {
    if answers.len() != sent {
        let reason = format!("{} answers to {sent} results", answers.len());
        return vec![Reply::Error(reason).to_frame(); sent];
    }
    answers
        .into_iter()
        .map(|answer| match answer.refused {
            None => Reply::ResultReceived.to_frame(),
            Some(reason) => Reply::Refused(reason).to_frame(),
        })
        .collect()
}

/// What a claim brought: leases (none when the queue is empty), or another
/// answer (`UNKNOWN_WORKER`, `ERROR …`).
enum Claimed {
    Leases(Vec<Lease>),
    Other(Reply),
}

/// The worker decides itself when to try again (with backoff), instead of
/// blocking in a Lazy Pirate loop: one attempt per request, by either door.
fn connect(context: &zmq::Context, config: &WorkerConfig) -> Result<Door, ConnectionError> {
    Door::open(context, &config.endpoint, config.request_timeout)
}
