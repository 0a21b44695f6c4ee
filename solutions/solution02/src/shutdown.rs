//! One way to ask running loops to stop, from any thread: a Ctrl-C handler, a
//! test, another part of the program. mini-redis has one `Shutdown` for its whole
//! server; this workbook has one for all its servers, introduced here and used
//! as it is by every later chapter — the ZeroMQ pipeline, the pull-model
//! dispatcher and worker, the lease dispatcher and worker, the gRPC server.
//!
//! Most loops already wake up on their own (a poll with a timeout, a periodic
//! check) and just look at [`Shutdown::is_stopped`]. A loop that blocks where no
//! flag can reach it — a TCP `accept`, an async server waiting for a future —
//! registers with [`Shutdown::on_stop`] what wakes it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// How long a polling loop may go without looking at its [`Shutdown`].
pub const STOP_CHECK: Duration = Duration::from_millis(50);

/// Clone it, give a copy to each loop, call [`Shutdown::stop`] on any copy.
#[derive(Clone, Default)]
pub struct Shutdown(Arc<Inner>);

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    wakers: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every loop holding a copy to return soon. Returns at once; calling it
    /// again does nothing more.
    pub fn stop(&self) {
        if !self.0.stopped.swap(true, Ordering::SeqCst) {
            for wake in self.0.wakers.lock().iter() {
                wake();
            }
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Runs `wake` when [`Shutdown::stop`] is first called — at once, if it has
    /// been already — for a loop that blocks where [`Shutdown::is_stopped`] cannot
    /// be looked at.
    pub fn on_stop(&self, wake: impl Fn() + Send + Sync + 'static) {
        let mut wakers = self.0.wakers.lock();
        if self.is_stopped() {
            drop(wakers);
            wake();
        } else {
            wakers.push(Box::new(wake));
        }
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("stopped", &self.is_stopped())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_copy_sees_the_stop_and_each_waker_runs_once() {
        let shutdown = Shutdown::new();
        let copy = shutdown.clone();
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        shutdown.on_stop(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!copy.is_stopped());
        copy.stop();
        shutdown.stop();
        assert!(shutdown.is_stopped());
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        let late = Arc::clone(&woken);
        shutdown.on_stop(move || {
            late.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(woken.load(Ordering::SeqCst), 2, "a late waker runs at once");
    }
}
