//! Fan-in: many producers, one consumer, one channel.
//!
//! A crossbeam channel's `Sender` can be cloned, one clone per producer thread. The
//! consumer's loop ends when *every* sender is gone, including the original one the
//! consumer created — forgetting to drop it is the classic way to hang forever.

/// One item sent by one producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Which producer sent it (0-based).
    pub producer: usize,
    /// The producer's own counter: 0, 1, 2, … in the order it sent them.
    pub seq: usize,
}

/// Starts `producers` threads that each send `items_each` messages, and returns every
/// message in the order the consumer received them.
pub fn collect_from_producers(producers: usize, items_each: usize) -> Vec<Message> {
    // Make one channel with `crossbeam_channel::unbounded()`. Each producer thread
    // gets a clone of the sender and sends `Message { producer, seq }` for seq in
    // 0..items_each. Then collect everything from the receiver — and think about
    // when that collecting loop can end.
    todo!("fan in over one channel — book/src/ch01-threads.md, \"Fan-in over a channel\"")
}
