//! Exact topics on top of ZeroMQ's prefix-matching subscriptions, in the original's
//! encoding.
//!
//! A SUB socket keeps a message when its first frame *starts with* one of the
//! socket's subscriptions. pyzero-dtq's publisher sends `json.dumps(topic)` as the
//! first frame and its subscriber subscribes to `json.dumps(topic)`. For a string
//! topic that frame ends with the closing quote, and a quote inside a name is
//! escaped (`\"`), so the frame of `"1"` is a prefix of no other string's frame:
//! `"1"` is not a prefix of `"10"`, and the prefix match is an exact one. A numeric
//! topic has no closing quote — `1` *is* a prefix of `10` — which is why this
//! pipeline refuses numeric topics (see [`crate::protocol`]).
//!
//! Subscriptions compare bytes, not JSON values, so both sides must write one string
//! the same way: [`Topic::frame`] writes exactly what Python's `json.dumps` writes
//! (every character outside printable ASCII escaped as `\uXXXX`).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The longest topic name, in bytes: enough for any id, small enough that a
/// subscription is never a memory problem.
pub const MAX_TOPIC_BYTES: usize = 255;

/// The frame of errors that belong to no producer (a message too broken to name
/// its topic): JSON's `null`, which no string or number frame starts with, so no
/// producer ever receives these; a monitor subscribes to exactly this frame to see
/// them (in Python, `json.dumps(None)`).
pub const UNADDRESSED_FRAME: &[u8] = b"null";

// ANCHOR: topic
/// A producer's topic: 1 to 255 bytes of text. Shared, not copied: every task
/// carries its topic through the pool, so a clone must be cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(Arc<str>);
// ANCHOR_END: topic

/// Why a topic name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("a topic cannot be empty")]
    Empty,
    #[error("a topic is at most {MAX_TOPIC_BYTES} bytes, got {0}")]
    TooLong(usize),
}

impl Topic {
    /// Checks `name` and makes it a topic.
    pub fn new(name: impl Into<String>) -> Result<Self, TopicError> {
        let name = name.into();
        if name.is_empty() {
            Err(TopicError::Empty)
        } else if name.len() > MAX_TOPIC_BYTES {
            Err(TopicError::TooLong(name.len()))
        } else {
            Ok(Self(name.into()))
        }
    }

    /// The topic's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    // ANCHOR: frame
    /// The first frame of every message published for this topic — and the
    /// subscription that matches exactly this topic and no other: the name as a JSON
    /// string, written byte for byte as Python's `json.dumps` writes it.
    #[cfg_attr(workbook_todo_topic_frame, allow(unused_variables))]
    pub fn frame(&self) -> Vec<u8> {
        // TODO(topic-frame): the topic's frame: the name as a JSON string, written byte for byte as Python's json.dumps writes it, so that ZeroMQ's prefix match becomes exact and the original's subscribers match it
        todo!("topic-frame — book: ch03, \"Trap 1: topics match by prefix\"")
    }
    // ANCHOR_END: frame

    // ANCHOR: from_frame
    /// The topic a received first frame is for; `None` if it is not a topic frame
    /// (not a JSON string — a number, `null` — or not a valid name).
    #[cfg_attr(workbook_todo_topic_from_frame, allow(unused_variables))]
    pub fn from_frame(frame: &[u8]) -> Option<Self> {
        // TODO(topic-from-frame): read a received first frame back as a topic: a JSON string that is a valid name; None otherwise
        todo!("topic-from-frame — book: ch03, \"Trap 1: topics match by prefix\"")
    }
    // ANCHOR_END: from_frame
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Topic {
    type Err = TopicError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

impl TryFrom<String> for Topic {
    type Error = TopicError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::new(name)
    }
}

impl From<Topic> for String {
    fn from(topic: Topic) -> Self {
        topic.0.to_string()
    }
}
