//! Servers and workers that a grading test runs on threads of its own, stopped
//! and joined when the test is done with them — also when it fails.

use std::panic;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

/// A loop running on its own thread until its stop function is called.
pub struct Background {
    stop: Box<dyn Fn() + Send>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Runs `work` on a new thread; `stop` must make it return soon.
    pub fn spawn(stop: impl Fn() + Send + 'static, work: impl FnOnce() + Send + 'static) -> Self {
        Self {
            stop: Box::new(stop),
            thread: Some(thread::spawn(work)),
        }
    }

    /// Stops the loop, waits for it, and passes its panic on, if it had one.
    pub fn shut_down(mut self) {
        (self.stop)();
        if let Some(thread) = self.thread.take()
            && let Err(payload) = thread.join()
        {
            panic::resume_unwind(payload);
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        (self.stop)();
        // A test that is already failing keeps its own message.
        if let Some(thread) = self.thread.take()
            && let Err(payload) = thread.join()
            && !thread::panicking()
        {
            panic::resume_unwind(payload);
        }
    }
}

/// An event callback, as the chapters' libraries take them.
pub type Sink<E> = Arc<dyn Fn(&E) + Send + Sync>;

/// An event callback that keeps every event for the test to read afterwards.
pub fn recorder<E: Clone + Send + 'static>() -> (Sink<E>, Receiver<E>) {
    let (sender, events) = mpsc::channel();
    let record = move |event: &E| {
        // The test may have stopped listening; then nobody needs the event.
        let _ = sender.send(event.clone());
    };
    (Arc::new(record), events)
}

/// Every event an event callback was given, in order, for the test to look at
/// as often as it likes — where [`recorder`]'s channel hands each event out once.
/// Clones share one record.
pub struct Recorded<E>(Arc<Mutex<Vec<E>>>);

impl<E> Clone for Recorded<E> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<E> Default for Recorded<E> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<E: Clone + Send + 'static> Recorded<E> {
    /// An event callback, as the chapters' libraries take them (their
    /// `EventSink`), that adds every event to the record.
    pub fn sink(&self) -> Sink<E> {
        let events = Arc::clone(&self.0);
        Arc::new(move |event: &E| {
            if let Ok(mut events) = events.lock() {
                events.push(event.clone());
            }
        })
    }

    /// Every event recorded so far, in order.
    pub fn all(&self) -> Vec<E> {
        self.0
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }
}
