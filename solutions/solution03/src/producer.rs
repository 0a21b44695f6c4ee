//! A producer: pushes tasks to the collector and gets their results on its topics.
//!
//! As in the original, a producer may subscribe to several topics and send each
//! task for any of them. It fixes the original's two subscriber traps:
//!
//! - **prefix matching** — it subscribes to each topic's frame, the topic as a JSON
//!   string ([`Topic::frame`]), whose closing quote makes the match exact: topic
//!   `"1"` never receives `"10"`'s results;
//! - **the slow joiner** — a SUB socket's subscription reaches the publisher some
//!   milliseconds *after* `connect` returns, and PUB drops whatever it publishes
//!   before that. So [`Producer::connect`] pushes `["HELLO", {"topic": …}]` and
//!   waits until the pipeline's welcome comes back on its own topic — proof the
//!   subscription is live — before any task is sent.
//!
//! It may also send many tasks in one message ([`Producer::submit_batch`]), whose
//! results may come back many in one message too; [`Producer::next_reply`] hands
//! them out one at a time either way.
//!
//! And one of its own: a topic is only an address, and two producers may share one
//! by mistake. So a producer remembers the ids it is still waiting for, and on which
//! topic, takes only replies to those, and sets everything else aside as a stray —
//! another producer's result, or a duplicate — instead of counting it as its own.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use solution02::TaskId;

use crate::pipeline::LINGER_MS;
use crate::protocol::{self, MAX_BATCH, MAX_MESSAGE_BYTES, Notice, NoticeError, Reply};
use crate::topic::Topic;
use crate::work::Work;

/// The first wait for a welcome; it doubles on each retry, up to [`MAX_HELLO_WAIT`].
const FIRST_HELLO_WAIT: Duration = Duration::from_millis(10);
const MAX_HELLO_WAIT: Duration = Duration::from_millis(500);

/// Why a producer could not connect, send, or hear back.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    #[error("could not connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: zmq::Error,
    },
    #[error("ZeroMQ socket error: {0}")]
    Socket(#[from] zmq::Error),
    #[error("no welcome for topic '{topic}' within {waited:?}: is the pipeline running?")]
    NoWelcome { topic: Topic, waited: Duration },
    #[error("{received} of {expected} results arrived, then nothing for {idle:?}")]
    TimedOut {
        received: usize,
        expected: usize,
        idle: Duration,
    },
    #[error("the pipeline sent something that is not a result: {0}")]
    BadNotice(#[from] NoticeError),
    #[error("task id {0} is already waiting for its result: ids must be unique")]
    DuplicateId(TaskId),
    #[error("not subscribed to topic '{0}': its results would be lost (subscribe first)")]
    NotSubscribed(Topic),
    #[error("a batch holds 1 to {MAX_BATCH} tasks, got {0}")]
    BatchSize(usize),
    #[error(
        "a batch of {tasks} tasks is {bytes} bytes, over the pipeline's limit of \
         {MAX_MESSAGE_BYTES}: send smaller batches"
    )]
    BatchTooLarge { tasks: usize, bytes: usize },
}

/// One producer: a PUSH socket to the collector and a SUB socket on its topics.
/// Like every socket owner it is `Send` but not `Sync`: one thread uses it.
pub struct Producer {
    /// The topics subscribed to, in order; the first is the one [`Producer::submit`]
    /// sends for.
    topics: Vec<Topic>,
    push: zmq::Socket,
    sub: zmq::Socket,
    /// Ids submitted and not yet answered, with the topic each was sent for.
    pending: BTreeMap<TaskId, Topic>,
    /// Replies received while waiting for a welcome, not yet looked at.
    inbox: VecDeque<(Topic, Reply)>,
    /// Replies on these topics that answered none of `pending`.
    strays: Vec<Reply>,
}

impl Producer {
    // ANCHOR: connect
    /// Connects to a pipeline and returns once its results for `topic` are sure to
    /// arrive (see [`Producer::subscribe`]). More topics can be added afterwards.
    pub fn connect(
        context: &zmq::Context,
        collector: &str,
        publisher: &str,
        topic: Topic,
        timeout: Duration,
    ) -> Result<Self, ProducerError> {
        let sub = context.socket(zmq::SUB)?;
        // Like the PUB side: never drop a result because we read slowly.
        sub.set_rcvhwm(0)?;
        connect(&sub, publisher)?;
        let push = context.socket(zmq::PUSH)?;
        // Keep trying to deliver queued tasks (and a DIE) for a while after drop.
        push.set_linger(LINGER_MS)?;
        connect(&push, collector)?;
        let mut producer = Self {
            topics: Vec::new(),
            push,
            sub,
            pending: BTreeMap::new(),
            inbox: VecDeque::new(),
            strays: Vec::new(),
        };
        producer.subscribe(topic, timeout)?;
        Ok(producer)
    }
    // ANCHOR_END: connect

    // ANCHOR: subscribe
    /// Subscribes to one more topic and returns once its results are sure to
    /// arrive: the subscription is confirmed by a welcome, retrying `HELLO` with a
    /// growing wait until `timeout`. Subscribing twice to a topic does nothing.
    pub fn subscribe(&mut self, topic: Topic, timeout: Duration) -> Result<(), ProducerError> {
        // ANCHOR: todo-producer-subscribe
        if self.topics.contains(&topic) {
            return Ok(());
        }
        self.sub.set_subscribe(&topic.frame())?;
        let deadline = Instant::now() + timeout;
        let mut wait = FIRST_HELLO_WAIT;
        loop {
            // Each HELLO may be answered before our subscription is live, and that
            // welcome is lost: ask again until one gets through. Extra welcomes
            // arriving later are skipped by `next_reply`.
            send(&self.push, &protocol::hello_message(&topic))?;
            let until = deadline.min(Instant::now() + wait);
            while let Some(frames) = receive_until(&self.sub, until)? {
                match protocol::parse_notice(&frames) {
                    Ok((_, Notice::Welcome { welcome })) if welcome == topic => {
                        self.topics.push(topic);
                        return Ok(());
                    }
                    // A result for a topic subscribed before: keep it for
                    // `next_reply`, which would otherwise never see it.
                    Ok((Some(on), notice)) => self.keep(on, notice),
                    _ => continue,
                }
            }
            if Instant::now() >= deadline {
                // Not subscribed after all: results for it would only be dropped.
                self.sub.set_unsubscribe(&topic.frame())?;
                return Err(ProducerError::NoWelcome {
                    topic,
                    waited: timeout,
                });
            }
            wait = (wait * 2).min(MAX_HELLO_WAIT);
        }
        // ANCHOR_END: todo-producer-subscribe
    }
    // ANCHOR_END: subscribe

    /// The first topic subscribed to: the one [`Producer::submit`] sends for.
    pub fn topic(&self) -> &Topic {
        &self.topics[0]
    }

    /// Every topic subscribed to, in the order they were.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// Pushes one task for the first topic; see [`Producer::submit_to`].
    pub fn submit(&mut self, id: TaskId, work: Work) -> Result<(), ProducerError> {
        let topic = self.topic().clone();
        self.submit_to(&topic, id, work)
    }

    /// Pushes one task whose result comes back on `topic`, one this producer is
    /// subscribed to. Its id must not be waiting for a result already, on any
    /// topic. Blocks while the pipeline is at its limit of tasks in flight and this
    /// producer's queues are full (the PULL side's and the PUSH side's high-water
    /// marks, 1000 messages each): PUSH pushes back instead of dropping.
    pub fn submit_to(
        &mut self,
        topic: &Topic,
        id: TaskId,
        work: Work,
    ) -> Result<(), ProducerError> {
        if !self.topics.contains(topic) {
            return Err(ProducerError::NotSubscribed(topic.clone()));
        }
        if self.pending.contains_key(&id) {
            return Err(ProducerError::DuplicateId(id));
        }
        send(&self.push, &protocol::task_message(topic, id, work))?;
        self.pending.insert(id, topic.clone());
        Ok(())
    }

    /// Pushes `tasks` for the first topic in one message; see
    /// [`Producer::submit_batch_to`].
    pub fn submit_batch(&mut self, tasks: &[(TaskId, Work)]) -> Result<(), ProducerError> {
        let topic = self.topic().clone();
        self.submit_batch_to(&topic, tasks)
    }

    /// Pushes 1 to [`MAX_BATCH`] tasks whose results come back on `topic` in one
    /// `BATCH` message — one send, one message for the pipeline to read, instead of
    /// one per task. Their results may come back batched too. The same rules as
    /// [`Producer::submit_to`] hold for each id, and the message must fit the
    /// pipeline's [`MAX_MESSAGE_BYTES`]: nothing is sent otherwise.
    pub fn submit_batch_to(
        &mut self,
        topic: &Topic,
        tasks: &[(TaskId, Work)],
    ) -> Result<(), ProducerError> {
        if !self.topics.contains(topic) {
            return Err(ProducerError::NotSubscribed(topic.clone()));
        }
        if tasks.is_empty() || tasks.len() > MAX_BATCH {
            return Err(ProducerError::BatchSize(tasks.len()));
        }
        let message = protocol::batch_message(topic, tasks);
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(ProducerError::BatchTooLarge {
                tasks: tasks.len(),
                bytes: message.len(),
            });
        }
        // Every id must be new, here and within the batch: note them as pending one
        // by one, and if one was already, take back this batch's and send nothing.
        for (index, (id, _)) in tasks.iter().enumerate() {
            if let Some(earlier) = self.pending.insert(*id, topic.clone()) {
                self.pending.insert(*id, earlier);
                for (added, _) in &tasks[..index] {
                    self.pending.remove(added);
                }
                return Err(ProducerError::DuplicateId(*id));
            }
        }
        if let Err(error) = send(&self.push, &message) {
            for (id, _) in tasks {
                self.pending.remove(id);
            }
            return Err(error);
        }
        Ok(())
    }

    /// Tasks submitted whose result has not arrived yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Replies that arrived on these topics but answered no task this producer was
    /// waiting for: another producer's on the same topic, a duplicate, or an error
    /// without a task id.
    pub fn strays(&self) -> &[Reply] {
        &self.strays
    }

    /// Pushes `["DIE"]`: the pipeline finishes everything it has and stops. It
    /// arrives after this producer's earlier tasks (one connection is in order),
    /// but not necessarily after other producers' tasks.
    pub fn stop_pipeline(&self) -> Result<(), ProducerError> {
        send(&self.push, &protocol::die_message())
    }

    // ANCHOR: next_reply
    /// Waits up to `timeout` for the result or error of one of this producer's
    /// pending tasks; `None` if none came. Welcomes are skipped; any other reply on
    /// its topics is kept in [`Producer::strays`].
    pub fn next_reply(&mut self, timeout: Duration) -> Result<Option<Reply>, ProducerError> {
        // Read the clock only when waiting: a batch's replies are already here.
        let mut until = None;
        loop {
            // Replies already received go first: those that came in while
            // `subscribe` waited for a welcome, and the rest of a batch.
            while let Some((topic, reply)) = self.inbox.pop_front() {
                if let Some(reply) = self.take(topic, reply) {
                    return Ok(Some(reply));
                }
            }
            let until = *until.get_or_insert_with(|| Instant::now() + timeout);
            let Some(frames) = receive_until(&self.sub, until)? else {
                return Ok(None);
            };
            // A welcome (ours, repeated) or a frame that is no topic: skipped.
            if let (Some(topic), notice) = protocol::parse_notice(&frames)? {
                self.keep(topic, notice);
            }
        }
    }

    /// Keeps the replies of a notice on `topic` for [`Producer::next_reply`]: one, or
    /// each of a batch. A welcome has none.
    fn keep(&mut self, topic: Topic, notice: Notice) {
        match notice {
            Notice::Reply(reply) => self.inbox.push_back((topic, reply)),
            Notice::Replies(replies) => self
                .inbox
                .extend(replies.into_iter().map(|reply| (topic.clone(), reply))),
            Notice::Welcome { .. } => {}
        }
    }

    /// The reply if it answers a task pending *on that topic*; otherwise it is set
    /// aside as a stray (or, on a topic not ours, dropped).
    fn take(&mut self, topic: Topic, reply: Reply) -> Option<Reply> {
        if let Some(id) = reply.id
            && let Entry::Occupied(pending) = self.pending.entry(id)
            && *pending.get() == topic
        {
            pending.remove();
            return Some(reply);
        }
        if self.topics.contains(&topic) {
            self.strays.push(reply);
        }
        None
    }
    // ANCHOR_END: next_reply

    /// Waits until every pending task is answered, calling `on_reply` as each
    /// answer arrives. Gives up when nothing arrives for `idle`.
    pub fn collect(
        &mut self,
        idle: Duration,
        mut on_reply: impl FnMut(&Reply),
    ) -> Result<Vec<Reply>, ProducerError> {
        let expected = self.pending.len();
        let mut replies = Vec::with_capacity(expected);
        while !self.pending.is_empty() {
            let Some(reply) = self.next_reply(idle)? else {
                return Err(ProducerError::TimedOut {
                    received: replies.len(),
                    expected,
                    idle,
                });
            };
            on_reply(&reply);
            replies.push(reply);
        }
        Ok(replies)
    }

    /// Submits every task, `batch` per message (1: each alone, the original's way),
    /// and returns one reply per task, in the order they arrived. After each batch
    /// it takes the replies that have come back meanwhile, without waiting, then
    /// collects the rest: the ids pending, and the replies queued in the socket, stay
    /// about as many as the pipeline has in flight, not as many as there are tasks —
    /// less memory, and bookkeeping that stays in the processor's caches.
    pub fn run_batched(
        &mut self,
        tasks: &[(TaskId, Work)],
        batch: usize,
        idle: Duration,
        mut on_reply: impl FnMut(&Reply),
    ) -> Result<Vec<Reply>, ProducerError> {
        if batch <= 1 {
            return self.run(tasks, idle, on_reply);
        }
        let mut replies = Vec::with_capacity(tasks.len());
        for chunk in tasks.chunks(batch) {
            self.submit_batch(chunk)?;
            while let Some(reply) = self.next_reply(Duration::ZERO)? {
                on_reply(&reply);
                replies.push(reply);
            }
        }
        replies.extend(self.collect(idle, &mut on_reply)?);
        Ok(replies)
    }

    /// Submits every task, then collects one reply per pending task.
    pub fn run(
        &mut self,
        tasks: &[(TaskId, Work)],
        idle: Duration,
        on_reply: impl FnMut(&Reply),
    ) -> Result<Vec<Reply>, ProducerError> {
        for (id, work) in tasks {
            self.submit(*id, work.clone())?;
        }
        self.collect(idle, on_reply)
    }
}

fn connect(socket: &zmq::Socket, endpoint: &str) -> Result<(), ProducerError> {
    socket
        .connect(endpoint)
        .map_err(|source| ProducerError::Connect {
            endpoint: endpoint.to_owned(),
            source,
        })
}

/// Sends one frame, retrying when a signal interrupts the call.
pub fn send(socket: &zmq::Socket, message: &[u8]) -> Result<(), ProducerError> {
    loop {
        match socket.send(message, 0) {
            Err(zmq::Error::EINTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// The next message, or `None` if none arrives before `until`.
pub fn receive_until(
    socket: &zmq::Socket,
    until: Instant,
) -> Result<Option<Vec<Vec<u8>>>, ProducerError> {
    loop {
        match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => return Ok(Some(frames)),
            Err(zmq::Error::EAGAIN | zmq::Error::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        match socket.poll(zmq::POLLIN, left.as_millis().max(1) as i64) {
            Ok(_) | Err(zmq::Error::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}
