//! Servers and workers that a grading test runs on threads of its own, stopped
//! and joined when the test is done with them — also when it fails.

use std::panic;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
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
