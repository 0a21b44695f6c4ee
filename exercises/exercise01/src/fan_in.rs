//! Fan-in: many producers, one consumer, one channel.
//!
//! A crossbeam channel's `Sender` can be cloned, one clone per producer thread. The
//! consumer's loop ends when *every* sender is gone, including the original one the
//! consumer created — forgetting to drop it is the classic way to hang forever.

use std::thread;

use crossbeam_channel::unbounded;

// ANCHOR: collect_from_producers_given
/// One item sent by one producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Which producer sent it (0-based).
    pub producer: usize,
    /// The producer's own counter: 0, 1, 2, … in the order it sent them.
    pub seq: usize,
}

// ANCHOR: collect_from_producers
/// Starts `producers` threads that each send `items_each` messages, and returns every
/// message in the order the consumer received them.
#[cfg_attr(workbook_todo_collect_from_producers, allow(unused_variables))]
pub fn collect_from_producers(producers: usize, items_each: usize) -> Vec<Message> {
    // ANCHOR_END: collect_from_producers_given
    // TODO(collect-from-producers): start `producers` threads that each send `items_each` messages on one channel, and collect every message the receiver gets
    todo!("collect-from-producers — book: ch01, \"Fan-in over a channel\"")
}
// ANCHOR_END: collect_from_producers
