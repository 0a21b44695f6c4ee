//! The bound on tasks in flight: what turns PUSH's high-water mark into real
//! back-pressure.
//!
//! Chapter 02's pool queue is unbounded. A collector that moved every message from
//! the PULL socket into it would keep the PULL socket empty, so ZeroMQ would never
//! make a producer's `send` wait: a producer could queue twenty thousand five-second
//! tasks, memory would grow with each, and a graceful stop would take hours. So the
//! collector takes a slot here before it reads a message, and the publisher gives
//! the slot back once the task's result is sent. At the limit the collector stops
//! reading; unread messages fill the PULL socket's queue and then the producer's
//! PUSH queue (each a high-water mark of 1000), and then the producer's `send`
//! blocks.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

// ANCHOR: in_flight
/// Counts tasks accepted but not yet published, and makes the collector wait
/// while there are `limit` of them.
#[derive(Debug)]
pub struct InFlight {
    count: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl InFlight {
    /// A bound of `limit` tasks; 0 is taken as 1, or nothing could ever run.
    pub fn new(limit: usize) -> Self {
        Self {
            count: Mutex::new(0),
            freed: Condvar::new(),
            limit: limit.max(1),
        }
    }

    // ANCHOR: acquire_release
    /// Takes a slot for one more task, waiting up to `timeout` for one to be freed.
    /// Returns whether it got one: the caller must not read a task without it.
    pub fn acquire(&self, timeout: Duration) -> bool {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut count, _) = self
            .freed
            .wait_timeout_while(count, timeout, |count| *count >= self.limit)
            .unwrap_or_else(PoisonError::into_inner);
        if *count >= self.limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Gives back the slot of a task whose result has been published, or that was
    /// never queued after all.
    pub fn release(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let was_full = *count >= self.limit;
        *count = count.saturating_sub(1);
        // Only a full count can have a waiter: skip the wake-up (a system call)
        // for every other task.
        if was_full {
            self.freed.notify_one();
        }
    }
    // ANCHOR_END: acquire_release
}
// ANCHOR_END: in_flight

impl InFlight {
    /// Takes `tasks` more slots at once, without waiting: for the rest of a batch
    /// whose first slot [`InFlight::acquire`] gave. A batch is accepted whole, so the
    /// count may go over the limit, by less than one batch; the collector then reads
    /// nothing until it is back under.
    pub fn take(&self, tasks: usize) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_add(tasks);
    }

    /// Gives back the slots of `tasks` tasks at once: a batch of results published.
    pub fn release_many(&self, tasks: usize) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let was_full = *count >= self.limit;
        *count = count.saturating_sub(tasks);
        if was_full && *count < self.limit {
            self.freed.notify_one();
        }
    }

    /// Tasks accepted and not yet published.
    pub fn count(&self) -> usize {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most tasks in flight at once.
    pub fn limit(&self) -> usize {
        self.limit
    }
}
