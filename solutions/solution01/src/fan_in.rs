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
pub fn collect_from_producers(producers: usize, items_each: usize) -> Vec<Message> {
    // ANCHOR_END: collect_from_producers_given
    // ANCHOR: todo-collect-from-producers
    let (sender, receiver) = unbounded();

    for producer in 0..producers {
        let sender = sender.clone();
        thread::spawn(move || {
            for seq in 0..items_each {
                // The receiver outlives every producer here, so a send cannot fail.
                sender
                    .send(Message { producer, seq })
                    .expect("the receiver is still alive");
            }
        });
    }
    // Without this the loop below would wait for a message from ourselves forever.
    drop(sender);

    receiver.iter().collect()
    // ANCHOR_END: todo-collect-from-producers
}
// ANCHOR_END: collect_from_producers
