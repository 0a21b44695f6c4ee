//! Exact topics on top of ZeroMQ's prefix-matching subscriptions.
//!
//! A SUB socket keeps a message when its first frame *starts with* one of the
//! socket's subscriptions. Subscribe to `"1"` and you also get `"10"`, `"11"`,
//! `"1/anything"` — the bug the Python original has. The fix is in the framing:
//! every topic frame ends with a byte no topic may contain, so the frame of one
//! topic is never a prefix of another's, and the prefix match becomes an exact one.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Ends every topic frame. A NUL cannot appear in a [`Topic`], so `"1\0"` can only
/// ever be matched by the subscription `"1\0"`.
pub const TERMINATOR: u8 = 0;

/// The longest topic name, in bytes: enough for any id, small enough that a
/// subscription is never a memory problem.
pub const MAX_TOPIC_BYTES: usize = 255;

/// The frame of errors that belong to no producer (a message too broken to name
/// its topic). No topic is empty, so no producer ever receives these; a monitor
/// subscribes to exactly this frame to see them.
pub const UNADDRESSED_FRAME: &[u8] = &[TERMINATOR];

// ANCHOR: topic
/// A producer's topic: 1 to 255 bytes of text without a NUL. Shared, not copied:
/// every task carries its topic through the pool, so a clone must be cheap.
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
    #[error("a topic cannot contain a NUL byte (it ends every topic frame)")]
    ContainsNul,
}

impl Topic {
    /// Checks `name` and makes it a topic.
    pub fn new(name: impl Into<String>) -> Result<Self, TopicError> {
        let name = name.into();
        if name.is_empty() {
            Err(TopicError::Empty)
        } else if name.len() > MAX_TOPIC_BYTES {
            Err(TopicError::TooLong(name.len()))
        } else if name.as_bytes().contains(&TERMINATOR) {
            Err(TopicError::ContainsNul)
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
    /// subscription that matches exactly this topic and no other.
    pub fn frame(&self) -> Vec<u8> {
        // TODO(topic-frame): the topic's frame: its bytes followed by a terminator no topic contains, so that ZeroMQ's prefix match becomes exact
        todo!("topic-frame — book: ch03, \"Trap 1: topics match by prefix\"")
    }
    // ANCHOR_END: frame

    // ANCHOR: from_frame
    /// The topic a received first frame is for; `None` if it is not a topic frame
    /// (no terminator, not text, or the unaddressed frame).
    pub fn from_frame(frame: &[u8]) -> Option<Self> {
        // TODO(topic-from-frame): read a received first frame back as a topic; None if it is not one
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
