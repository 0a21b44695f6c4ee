//! The pipeline's wire format, both ways.
//!
//! Into the collector (PUSH → PULL), one frame of JSON, as the original's producer
//! sends it (pyzmq's `send_json`):
//!
//! ```text
//! ["DO", {"topic": "7", "info": {"id": 1, "kind": "add", "a": 10, "b": 5}}]
//! ["HELLO", {"topic": "7"}]          a producer asks: is my subscription live?
//! ["DIE"]                            finish what is queued, then stop
//! ```
//!
//! and, from a producer that batches (see the chapter's "Batching"), many tasks for
//! one topic in one message, each task's `info` as a single task carries it:
//!
//! ```text
//! ["BATCH", {"topic": "7", "tasks": [{"id": 1, "kind": "add", "a": 10, "b": 5},
//!                                    {"id": 2, "kind": "divide", "a": 1, "b": 0}]}]
//! ```
//!
//! Out of the publisher (PUB → SUB), two frames, as the original's publisher sends
//! them: the JSON encoding of the topic (see [`crate::topic`]) and the JSON encoding
//! of the body — a result, an error, or the answer to a `HELLO`:
//!
//! ```text
//! "7"    {"id":1,"value":15,"worker":0}
//! "7"    {"id":2,"error":"division by zero","worker":1}
//! "7"    {"welcome":"7"}
//! ```
//!
//! The results of batched tasks may come back batched too, a JSON array of results
//! on the topic's frame — only to producers that sent batches, so a client written
//! the original's way only ever reads single results:
//!
//! ```text
//! "7"    [{"id":1,"value":15,"worker":0},{"id":2,"error":"division by zero","worker":0}]
//! ```
//!
//! Every message is untrusted: each way one can be wrong is a [`Rejection`] that
//! keeps whatever topic and id could still be read, so the error goes back to the
//! producer that sent it. None of them is a panic. A topic must be a JSON string:
//! a numeric topic, which the original allows, cannot be matched exactly (the
//! frame `1` is a prefix of `10`), so a task or `HELLO` with one is refused — on
//! that number's own frame, where a subscriber written the original's way hears why.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use solution02::{TaskId, WorkerId};

use crate::topic::{Topic, UNADDRESSED_FRAME};
use crate::work::{Algorithm, Work, WorkError};

/// The largest message the collector parses. Bigger ones are answered with an
/// error, not parsed: the sender hears why, and its connection — with every task
/// queued behind the big one — stays up.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The largest message the PULL socket takes at all (`ZMQ_MAXMSGSIZE`). libzmq
/// drops a bigger one while it arrives, before it is buffered, together with its
/// sender's connection: the price of never holding gigabytes for one message.
/// Far above [`MAX_MESSAGE_BYTES`], so an honest mistake still gets an answer.
pub const HARD_MESSAGE_BYTES: usize = 64 * MAX_MESSAGE_BYTES;

/// The command word of a task message.
pub const DO: &str = "DO";
/// The command word of a subscription check.
pub const HELLO: &str = "HELLO";
/// The command word that stops the pipeline.
pub const DIE: &str = "DIE";
/// The command word of a batch of tasks.
pub const BATCH: &str = "BATCH";

/// The most tasks in one batch. A bigger batch is refused, every task in it with an
/// error result: each batch is accepted whole, so this bounds how far a batch may
/// take the pipeline over its limit of tasks in flight.
pub const MAX_BATCH: usize = 256;

/// How every batch message starts when a producer writes it: the collector's cheap
/// test for "this is a batch" before any parsing.
const BATCH_START: &[u8] = b"[\"BATCH\"";

// ANCHOR: task_info
/// A task's `info`: its id, chosen by the producer, and its work, side by side in
/// one JSON object: `{"id": 1, "kind": "add", "a": 10, "b": 5}` — `Work`'s own JSON
/// with the id added, as `#[serde(flatten)]` writes it. Read through
/// [`InfoFields`], in one pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "InfoFields")]
pub struct TaskInfo {
    pub id: TaskId,
    #[serde(flatten)]
    pub work: Work,
}
// ANCHOR_END: task_info

// ANCHOR: info_fields
/// A task's `info` as it is read: every field that any kind of [`Work`] has, each
/// read straight into its type as the parser meets it, in whatever order they come.
/// [`TaskInfo`]'s `TryFrom` then builds the kind's work from the fields it names,
/// and refuses any field it does not.
///
/// Why not derive `Deserialize` for `TaskInfo` as declared? Because of
/// `#[serde(flatten)]` next to an internally tagged enum: until serde has seen
/// `"kind"` it cannot know whose the other fields are, so it copies every field
/// into a generic tree of its own first, then reads `Work` out of that tree — and
/// `Work`, tagged by `"kind"` too, copies them into a second tree before it reads
/// them. Every task read three times over, with allocations for each tree: that was
/// half the collector's time. The wire format is the same either way, and a test
/// holds this reader to `Work`'s own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoFields {
    id: TaskId,
    kind: Kind,
    #[serde(default, deserialize_with = "present")]
    a: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    b: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    algorithm: Option<Algorithm>,
    #[serde(default, deserialize_with = "present")]
    message: Option<String>,
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
}
// ANCHOR_END: info_fields

/// The kinds of [`Work`], by the name in `"kind"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Add,
    Subtract,
    Multiply,
    Divide,
    Sleep,
    Primes,
    Fail,
    Echo,
}

/// A field that is there, whatever its value — `"data": null` included, which a
/// plain `Option` would read as absent.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl TryFrom<InfoFields> for TaskInfo {
    type Error = String;

    /// The kind's work from the fields it names; the same refusals, in the same
    /// words, as `Work`'s own reader: a field the kind does not take, or one it
    /// needs and did not get.
    fn try_from(info: InfoFields) -> Result<Self, String> {
        let InfoFields {
            id,
            kind,
            a,
            b,
            ms,
            limit,
            algorithm,
            message,
            data,
        } = info;
        let takes: &[&str] = match kind {
            Kind::Add | Kind::Subtract | Kind::Multiply | Kind::Divide => &["a", "b"],
            Kind::Sleep => &["ms"],
            Kind::Primes => &["limit", "algorithm"],
            Kind::Fail => &["message"],
            Kind::Echo => &["data"],
        };
        let given = [
            ("a", a.is_some()),
            ("b", b.is_some()),
            ("ms", ms.is_some()),
            ("limit", limit.is_some()),
            ("algorithm", algorithm.is_some()),
            ("message", message.is_some()),
            ("data", data.is_some()),
        ];
        if let Some((field, _)) = given
            .iter()
            .find(|(field, came)| *came && !takes.contains(field))
        {
            let expected: Vec<String> = takes.iter().map(|name| format!("`{name}`")).collect();
            return Err(format!(
                "unknown field `{field}`, expected {}",
                expected.join(" or ")
            ));
        }
        fn needed<T>(field: Option<T>, name: &str) -> Result<T, String> {
            field.ok_or_else(|| format!("missing field `{name}`"))
        }
        let work = match kind {
            Kind::Add => Work::Add {
                a: needed(a, "a")?,
                b: needed(b, "b")?,
            },
            Kind::Subtract => Work::Subtract {
                a: needed(a, "a")?,
                b: needed(b, "b")?,
            },
            Kind::Multiply => Work::Multiply {
                a: needed(a, "a")?,
                b: needed(b, "b")?,
            },
            Kind::Divide => Work::Divide {
                a: needed(a, "a")?,
                b: needed(b, "b")?,
            },
            Kind::Sleep => Work::Sleep {
                ms: needed(ms, "ms")?,
            },
            Kind::Primes => Work::Primes {
                limit: needed(limit, "limit")?,
                algorithm: algorithm.unwrap_or_default(),
            },
            Kind::Fail => Work::Fail {
                message: needed(message, "message")?,
            },
            Kind::Echo => Work::Echo {
                data: needed(data, "data")?,
            },
        };
        Ok(Self { id, work })
    }
}

/// A task on its way to the pool, with the topic its result goes back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub topic: Topic,
    pub info: TaskInfo,
}

/// One message the collector understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Do(TaskRequest),
    /// Many tasks for one topic in one message (see [`parse_batch`]).
    Batch(TaskBatch),
    Hello(Topic),
    Die,
}

// ANCHOR: task_batch
/// A batch of tasks as the collector read it: its topic, and in order each task or
/// why that one task was refused — one bad task does not sink its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskBatch {
    pub topic: Topic,
    pub tasks: Vec<Result<TaskInfo, Rejection>>,
}
// ANCHOR_END: task_batch

/// A batch on the wire, when every task in it is well-formed: the fast path.
#[derive(Deserialize)]
struct BatchWire {
    topic: Topic,
    tasks: Vec<TaskInfo>,
}

// ANCHOR: address
/// Where a rejection is published: as close to its sender as the message allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// The message named a valid topic: its producer hears why.
    Topic(Topic),
    /// The message named a numeric topic, which this pipeline refuses: the answer
    /// goes out on the number's own frame (`1`), which is what a subscriber written
    /// the original's way, `json.dumps(1)`, subscribes to.
    Number(Number),
    /// Nothing readable: the [`UNADDRESSED_FRAME`], which no producer receives.
    Unaddressed,
}
// ANCHOR_END: address

impl Address {
    /// The topic, when the message had a valid one.
    pub fn topic(&self) -> Option<&Topic> {
        match self {
            Address::Topic(topic) => Some(topic),
            _ => None,
        }
    }

    /// The first frame a rejection to this address is published with.
    pub fn frame(&self) -> Vec<u8> {
        match self {
            Address::Topic(topic) => topic.frame(),
            Address::Number(number) => json(number),
            Address::Unaddressed => UNADDRESSED_FRAME.to_vec(),
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Topic(topic) => write!(f, "'{topic}'"),
            Address::Number(number) => write!(f, "numeric topic {number}"),
            Address::Unaddressed => f.write_str("nobody"),
        }
    }
}

/// A message the collector could not accept, with the topic and task id when it
/// had readable ones, so the error can be published to whoever sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    pub to: Address,
    pub id: Option<TaskId>,
    pub reason: String,
}

impl Rejection {
    fn unaddressed(reason: String) -> Self {
        Self {
            to: Address::Unaddressed,
            id: None,
            reason,
        }
    }

    /// A refusal for `topic`'s producer, about task `id` if there is one.
    pub fn for_topic(topic: Topic, id: Option<TaskId>, reason: impl Into<String>) -> Self {
        Self {
            to: Address::Topic(topic),
            id,
            reason: reason.into(),
        }
    }

    /// The topic it goes back to, if the message had a valid one.
    pub fn topic(&self) -> Option<&Topic> {
        self.to.topic()
    }
}

/// Why a numeric topic is refused: the reason its sender reads.
pub fn numeric_topic_reason(number: &Number) -> String {
    format!(
        "topic {number} is a number: a subscription to {number} also matches {number}0, \
         {number}1 and every number that starts with {number} (ZeroMQ matches by prefix), so \
         this pipeline takes string topics only; send it as \"{number}\""
    )
}

// ANCHOR: parse_message
/// Reads one message off the PULL socket, given as its frames.
pub fn parse_message(frames: &[Vec<u8>]) -> Result<Request, Rejection> {
    // ANCHOR: todo-parse-message
    let [frame] = frames else {
        return Err(Rejection::unaddressed(format!(
            "expected a message of 1 frame, got {} frames",
            frames.len()
        )));
    };
    if frame.len() > MAX_MESSAGE_BYTES {
        return Err(Rejection::unaddressed(format!(
            "message of {} bytes refused: at most {MAX_MESSAGE_BYTES}",
            frame.len()
        )));
    }
    // A batch has a reader of its own.
    if frame.starts_with(BATCH_START) {
        return parse_batch(frame);
    }
    // The fast path, for the well-formed tasks that are nearly all of the traffic:
    // straight into the typed request, no JSON tree in between — from text checked
    // as UTF-8 once, whole, so that serde_json need not check each string again.
    if let Ok(text) = std::str::from_utf8(frame)
        && let Ok((DO, request)) = serde_json::from_str::<(&str, TaskRequest)>(text)
    {
        // Well-formed is not yet small enough: the limits are checked here, at the door.
        return match request.info.work.check() {
            Ok(()) => Ok(Request::Do(request)),
            Err(error) => Err(Rejection::for_topic(
                request.topic,
                Some(request.info.id),
                error.to_string(),
            )),
        };
    }
    // Anything else is read as a tree, to say precisely what is wrong with it.
    let message: Value = serde_json::from_slice(frame)
        .map_err(|error| Rejection::unaddressed(format!("invalid JSON: {error}")))?;

    // Read what addressing we can before the strict parse, so even a task with an
    // unknown kind gets its error back on its own topic, under its own id.
    let body = message.get(1);
    let to = match body.and_then(|body| body.get("topic")) {
        Some(Value::String(name)) => {
            Topic::new(name.as_str()).map_or(Address::Unaddressed, Address::Topic)
        }
        Some(Value::Number(number)) => Address::Number(number.clone()),
        _ => Address::Unaddressed,
    };
    let id = body
        .and_then(|body| body.get("info"))
        .and_then(|info| info.get("id"))
        .and_then(Value::as_u64);
    let reject = |reason: String| Rejection {
        to: to.clone(),
        id,
        reason,
    };
    let command = message.get(0).and_then(Value::as_str);
    // A numeric topic cannot be matched exactly: refuse it, whatever the command,
    // with a reason that says so rather than serde's "expected a string".
    if let (Some(DO | HELLO | BATCH), Address::Number(number)) = (command, &to) {
        return Err(reject(numeric_topic_reason(number)));
    }

    match command {
        Some(DO) => match &message.as_array().map(Vec::as_slice) {
            Some([_, body]) => serde_json::from_value::<TaskRequest>(body.clone())
                .map_err(|error| {
                    reject(format!(
                        "invalid task: {error}; a task looks like [\"DO\", {{\"topic\": \"7\", \
                         \"info\": {{\"id\": 1, \"kind\": \"add\", \"a\": 10, \"b\": 5}}}}]"
                    ))
                })
                .and_then(|request| match request.info.work.check() {
                    Ok(()) => Ok(Request::Do(request)),
                    Err(error) => Err(reject(error.to_string())),
                }),
            _ => Err(reject(
                "expected [\"DO\", {\"topic\": …, \"info\": …}]".into(),
            )),
        },
        Some(HELLO) => to
            .topic()
            .cloned()
            .map(Request::Hello)
            .ok_or_else(|| reject("expected [\"HELLO\", {\"topic\": …}]".into())),
        Some(DIE) => Ok(Request::Die),
        // A batch written another way (`[ "BATCH", …]`): its own reader again.
        Some(BATCH) => parse_batch(frame),
        _ => Err(reject(format!(
            "expected [\"DO\" | \"BATCH\" | \"HELLO\" | \"DIE\", …], got {}",
            preview(&message)
        ))),
    }
    // ANCHOR_END: todo-parse-message
}
// ANCHOR_END: parse_message

// ANCHOR: parse_batch
/// Reads one `["BATCH", {"topic": …, "tasks": […]}]` message, already within
/// [`MAX_MESSAGE_BYTES`]. A batch without a usable topic or list of tasks is one
/// [`Rejection`] (a numeric topic on that number's frame, as for a single task);
/// otherwise each task is read on its own and a bad one — an unknown kind, a
/// missing id, work over the limits, or any task of a batch over [`MAX_BATCH`] —
/// is refused alone, under its own id, on the batch's topic.
pub fn parse_batch(frame: &[u8]) -> Result<Request, Rejection> {
    // ANCHOR: todo-parse-batch
    // The fast path: every task well-formed, straight into typed tasks (from text
    // checked as UTF-8 once, as for a single task).
    if let Ok(text) = std::str::from_utf8(frame)
        && let Ok((BATCH, BatchWire { topic, tasks })) =
            serde_json::from_str::<(&str, BatchWire)>(text)
    {
        let count = tasks.len();
        let tasks = tasks
            .into_iter()
            .map(|info| {
                let checked = if count > MAX_BATCH {
                    Err(batch_too_big(count))
                } else {
                    info.work.check().map_err(|error| error.to_string())
                };
                match checked {
                    Ok(()) => Ok(info),
                    Err(reason) => Err(Rejection::for_topic(topic.clone(), Some(info.id), reason)),
                }
            })
            .collect();
        return Ok(Request::Batch(TaskBatch { topic, tasks }));
    }
    // Something is wrong: read it as a tree, to say what, and to whom.
    let message: Value = serde_json::from_slice(frame)
        .map_err(|error| Rejection::unaddressed(format!("invalid JSON: {error}")))?;
    let body = message.get(1);
    let expected = "expected [\"BATCH\", {\"topic\": \"7\", \"tasks\": [{\"id\": 1, \"kind\": \"add\", \
                    \"a\": 10, \"b\": 5}, …]}]";
    let topic = match body.and_then(|body| body.get("topic")) {
        Some(Value::String(name)) => Topic::new(name.as_str())
            .map_err(|error| Rejection::unaddressed(format!("{error}; {expected}")))?,
        Some(Value::Number(number)) => {
            return Err(Rejection {
                to: Address::Number(number.clone()),
                id: None,
                reason: numeric_topic_reason(number),
            });
        }
        _ => return Err(Rejection::unaddressed(format!("no topic; {expected}"))),
    };
    let Some(Value::Array(tasks)) = body.and_then(|body| body.get("tasks")) else {
        return Err(Rejection::for_topic(
            topic,
            None,
            format!("no list of tasks; {expected}"),
        ));
    };
    let tasks = tasks
        .iter()
        .map(|task| {
            let id = task.get("id").and_then(Value::as_u64);
            let refuse = |reason: String| Rejection::for_topic(topic.clone(), id, reason);
            if tasks.len() > MAX_BATCH {
                return Err(refuse(batch_too_big(tasks.len())));
            }
            let info = serde_json::from_value::<TaskInfo>(task.clone()).map_err(|error| {
                refuse(format!(
                    "invalid task in a batch: {error}; a task looks like {{\"id\": 1, \
                     \"kind\": \"add\", \"a\": 10, \"b\": 5}}"
                ))
            })?;
            info.work
                .check()
                .map_err(|error| refuse(error.to_string()))?;
            Ok(info)
        })
        .collect();
    Ok(Request::Batch(TaskBatch { topic, tasks }))
    // ANCHOR_END: todo-parse-batch
}

/// Why every task of an oversized batch is refused.
fn batch_too_big(count: usize) -> String {
    format!("a batch of {count} tasks is refused: at most {MAX_BATCH} tasks per batch")
}
// ANCHOR_END: parse_batch

/// The start of a value's JSON, for error messages that must stay short.
fn preview(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn json(value: &impl Serialize) -> Vec<u8> {
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// `["DO", {"topic": …, "info": {"id": …, "kind": …}}]`
pub fn task_message(topic: &Topic, id: TaskId, work: Work) -> Vec<u8> {
    json(&(
        DO,
        TaskRequest {
            topic: topic.clone(),
            info: TaskInfo { id, work },
        },
    ))
}

/// `["BATCH", {"topic": …, "tasks": [{"id": …, "kind": …}, …]}]`: every task in one
/// message. The work is borrowed, not copied: a batch is written once and sent.
pub fn batch_message(topic: &Topic, tasks: &[(TaskId, Work)]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Info<'a> {
        id: TaskId,
        #[serde(flatten)]
        work: &'a Work,
    }
    #[derive(Serialize)]
    struct Batch<'a> {
        topic: &'a Topic,
        tasks: Vec<Info<'a>>,
    }
    let tasks = tasks
        .iter()
        .map(|(id, work)| Info { id: *id, work })
        .collect();
    json(&(BATCH, Batch { topic, tasks }))
}

/// `["HELLO", {"topic": …}]`
pub fn hello_message(topic: &Topic) -> Vec<u8> {
    #[derive(Serialize)]
    struct Hello<'a> {
        topic: &'a Topic,
    }
    json(&(HELLO, Hello { topic }))
}

/// `["DIE"]`
pub fn die_message() -> Vec<u8> {
    json(&[DIE])
}

/// One result as a producer reads it: exactly one of `value` and `error` is
/// present; `id` is missing only when the message was too broken to have one.
/// Chapter 02's reply, with a JSON value: an `echo` answers whatever it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerId>,
}

impl Reply {
    /// `Task 1 = 15 (by Worker 0)`, `Task 6 failed: division by zero (by Worker 1)`,
    /// or `Refused: …` for a message the collector could not accept.
    pub fn describe(&self) -> String {
        let by = self
            .worker
            .map(|worker| format!(" (by Worker {worker})"))
            .unwrap_or_default();
        match (self.id, &self.value, &self.error) {
            (Some(id), Some(value), _) => format!("Task {id} = {value}{by}"),
            (Some(id), None, Some(error)) => format!("Task {id} failed: {error}{by}"),
            (None, _, Some(error)) => format!("Refused: {error}"),
            _ => format!("Unexpected reply: {}", String::from_utf8_lossy(&json(self))),
        }
    }
}

/// One task's outcome inside [`Publication::Results`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    pub id: TaskId,
    pub outcome: Result<Value, WorkError>,
    pub worker: WorkerId,
}

impl TaskResult {
    /// The result as a producer reads it.
    pub fn reply(&self) -> Reply {
        let (value, error) = match &self.outcome {
            Ok(value) => (Some(value.clone()), None),
            Err(error) => (None, Some(error.to_string())),
        };
        Reply {
            id: Some(self.id),
            value,
            error,
            worker: Some(self.worker),
        }
    }
}

/// A result as the publisher writes it: the fields of a [`Reply`], borrowed from
/// the outcome instead of copied into one — an `echo`'s value may be large, and
/// writing it needs no copy of its own. The same JSON as the `Reply` it is read as.
#[derive(Serialize)]
struct Written<'a> {
    id: TaskId,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    worker: WorkerId,
}

impl<'a> Written<'a> {
    fn new(id: TaskId, outcome: &'a Result<Value, WorkError>, worker: WorkerId) -> Self {
        Self {
            id,
            value: outcome.as_ref().ok(),
            error: outcome.as_ref().err().map(ToString::to_string),
            worker,
        }
    }
}

// ANCHOR: publication
/// What the publisher sends: the topic it goes to, and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub enum Publication {
    /// A task's value or error, for the topic that asked.
    Result {
        topic: Topic,
        id: TaskId,
        outcome: Result<Value, WorkError>,
        worker: WorkerId,
    },
    /// The results of tasks that came in a batch, all for one topic: sent as one
    /// message, a JSON array, to a producer that batches.
    Results {
        topic: Topic,
        results: Vec<TaskResult>,
    },
    /// The answer to a `HELLO`: this topic's subscription is live.
    Welcome(Topic),
    /// A message the collector refused; unaddressed if it had no readable topic.
    Rejected(Rejection),
}
// ANCHOR_END: publication

/// The JSON body of a publication, as a producer reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Notice {
    Welcome {
        welcome: Topic,
    },
    Reply(Reply),
    /// Batched results: a JSON array of replies.
    Replies(Vec<Reply>),
}

impl Publication {
    /// The topic and the task ids of the results it carries; `None` for a welcome
    /// or a rejection, which carry none.
    pub fn results(&self) -> Option<(&Topic, Vec<TaskId>)> {
        match self {
            Publication::Result { topic, id, .. } => Some((topic, vec![*id])),
            Publication::Results { topic, results } => {
                Some((topic, results.iter().map(|result| result.id).collect()))
            }
            Publication::Welcome(_) | Publication::Rejected(_) => None,
        }
    }

    // ANCHOR: frames
    /// The two frames on the wire, as the original's publisher sends them: the
    /// topic's JSON (its frame), then the body's JSON.
    pub fn frames(&self) -> [Vec<u8>; 2] {
        match self {
            Publication::Result {
                topic,
                id,
                outcome,
                worker,
            } => [topic.frame(), json(&Written::new(*id, outcome, *worker))],
            Publication::Results { topic, results } => {
                let written: Vec<Written> = results
                    .iter()
                    .map(|result| Written::new(result.id, &result.outcome, result.worker))
                    .collect();
                [topic.frame(), json(&written)]
            }
            Publication::Welcome(topic) => [
                topic.frame(),
                json(&Notice::Welcome {
                    welcome: topic.clone(),
                }),
            ],
            Publication::Rejected(rejection) => {
                let reply = Reply {
                    id: rejection.id,
                    value: None,
                    error: Some(rejection.reason.clone()),
                    worker: None,
                };
                [rejection.to.frame(), json(&reply)]
            }
        }
    }
    // ANCHOR_END: frames
}

/// Why a published message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("expected 2 frames [topic, JSON], got {0}")]
    FrameCount(usize),
    #[error("the body is not a result: {0}")]
    Body(String),
}

/// Reads a published message: its topic (`None` for the unaddressed frame, a number,
/// or a frame that is no topic) and its body.
pub fn parse_notice(frames: &[Vec<u8>]) -> Result<(Option<Topic>, Notice), NoticeError> {
    let [topic, body] = frames else {
        return Err(NoticeError::FrameCount(frames.len()));
    };
    let body_error = |error: serde_json::Error| NoticeError::Body(error.to_string());
    // Checked as UTF-8 once, whole: serde_json then reads every string without
    // checking it again, which it must do reading bytes.
    let body = std::str::from_utf8(body).map_err(|error| NoticeError::Body(error.to_string()))?;
    // A batch of results is an array: the only body that starts with `[`.
    if body.trim_ascii_start().starts_with('[') {
        let replies = serde_json::from_str(body).map_err(body_error)?;
        return Ok((Topic::from_frame(topic), Notice::Replies(replies)));
    }
    // Results are the common case: read one directly (an untagged enum would
    // buffer every body first). A welcome reads as an empty reply, so look again.
    let reply: Reply = serde_json::from_str(body).map_err(body_error)?;
    let notice = if reply.id.is_none() && reply.value.is_none() && reply.error.is_none() {
        serde_json::from_str(body).map_err(body_error)?
    } else {
        Notice::Reply(reply)
    };
    Ok((Topic::from_frame(topic), notice))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `TaskInfo`'s one-pass reader must read exactly what `Work`'s derived reader
    /// reads, and refuse exactly what it refuses: every kind, fields in any order,
    /// the optional `algorithm`, a `null` echo, and each way a task can be wrong.
    #[test]
    fn task_info_reads_what_work_reads_and_refuses_what_it_refuses() {
        let cases = [
            json!({"kind": "add", "a": 10, "b": 5}),
            json!({"b": 5, "a": -10, "kind": "subtract"}),
            json!({"kind": "multiply", "a": 3, "b": 4}),
            json!({"a": 1, "kind": "divide", "b": 0}),
            json!({"kind": "sleep", "ms": 100}),
            json!({"kind": "primes", "limit": 1000}),
            json!({"kind": "primes", "algorithm": "trial_division", "limit": 7}),
            json!({"kind": "fail", "message": "boom"}),
            json!({"kind": "echo", "data": {"nested": [1, 2, null]}}),
            json!({"kind": "echo", "data": null}),
            // Wrong: unknown kind, no kind, a missing, a field of another kind, an
            // unknown field, a wrong type, a bad algorithm, a negative sleep.
            json!({"kind": "explode", "a": 1}),
            json!({"a": 1, "b": 2}),
            json!({"kind": "add", "b": 2}),
            json!({"kind": "add", "a": 1, "b": 2, "ms": 5}),
            json!({"kind": "sleep", "ms": 5, "colour": "red"}),
            json!({"kind": "add", "a": "1", "b": 2}),
            json!({"kind": "primes", "limit": 10, "algorithm": "guess"}),
            json!({"kind": "sleep", "ms": -1}),
            json!({"kind": "echo"}),
        ];
        for case in cases {
            let expected =
                serde_json::from_value::<Work>(case.clone()).map_err(|error| error.to_string());
            let mut with_id = case.clone();
            with_id["id"] = json!(7);
            let text = serde_json::to_vec(&with_id).unwrap_or_default();
            for (how, read) in [
                (
                    "from a tree",
                    serde_json::from_value::<TaskInfo>(with_id.clone()),
                ),
                ("from bytes", serde_json::from_slice::<TaskInfo>(&text)),
            ] {
                match (&expected, read) {
                    (Ok(work), Ok(info)) => {
                        assert_eq!((info.id, &info.work), (7, work), "{case} read {how}")
                    }
                    // The same fault named, e.g. "unknown field `colour`"; what
                    // is listed as expected may differ: here every field of every kind.
                    (Err(expected), Err(read)) => {
                        let read = read.to_string();
                        let fault = |message: &str| {
                            let message = message.split(" at line ").next().unwrap_or_default();
                            message
                                .split(", expected")
                                .next()
                                .unwrap_or_default()
                                .to_owned()
                        };
                        assert_eq!(fault(&read), fault(expected), "{case} read {how}");
                    }
                    (expected, read) => panic!(
                        "{case} read {how}: Work's reader gives {expected:?}, TaskInfo's {read:?}"
                    ),
                }
            }
        }
    }

    /// One task of every kind, with every field there is.
    fn every_kind() -> [Work; 9] {
        [
            Work::Add { a: 1, b: 2 },
            Work::Subtract { a: 1, b: 2 },
            Work::Multiply { a: 1, b: 2 },
            Work::Divide { a: 1, b: 0 },
            Work::Sleep { ms: 5 },
            Work::Primes {
                limit: 10,
                algorithm: Algorithm::TrialDivision,
            },
            Work::Fail {
                message: "boom \"quoted\" ☃".to_owned(),
            },
            Work::Echo {
                data: json!([1, "two", null, {"kind": "add"}]),
            },
            Work::Echo { data: Value::Null },
        ]
    }

    /// What a task is written as, it is read back as, for every kind.
    #[test]
    fn every_kind_of_task_reads_back_as_it_was_written() {
        let topic = Topic::new("t").unwrap_or_else(|error| panic!("{error}"));
        for (id, work) in (0..).zip(every_kind()) {
            let message = task_message(&topic, id, work.clone());
            match parse_message(&[message]) {
                Ok(Request::Do(request)) => {
                    assert_eq!((request.info.id, request.info.work), (id, work))
                }
                other => panic!("{work:?} read back as {other:?}"),
            }
        }
    }

    /// The publisher writes each result exactly as the `Reply` a producer reads it
    /// as, alone and in a batch.
    #[test]
    fn results_are_written_as_their_replies() {
        let topic = Topic::new("t").unwrap_or_else(|error| panic!("{error}"));
        let results = vec![
            TaskResult {
                id: 1,
                outcome: Ok(json!(15)),
                worker: 0,
            },
            TaskResult {
                id: 2,
                outcome: Err(WorkError::Failed("boom".to_owned())),
                worker: 1,
            },
            TaskResult {
                id: 3,
                outcome: Ok(json!({"data": [1, "two", null]})),
                worker: 0,
            },
            TaskResult {
                id: 4,
                outcome: Ok(Value::Null),
                worker: 1,
            },
        ];
        let replies: Vec<Reply> = results.iter().map(TaskResult::reply).collect();
        let batch = Publication::Results {
            topic: topic.clone(),
            results: results.clone(),
        };
        assert_eq!(batch.frames(), [topic.frame(), json(&replies)]);
        for (result, reply) in results.into_iter().zip(&replies) {
            let alone = Publication::Result {
                topic: topic.clone(),
                id: result.id,
                outcome: result.outcome,
                worker: result.worker,
            };
            assert_eq!(alone.frames(), [topic.frame(), json(reply)]);
        }
    }
}
