//! A flag to stop a dispatcher or a worker from another thread (Ctrl-C, a test).
//!
//! Both loops already wake up regularly — the dispatcher for its deadline checks,
//! the worker to ask for work — so a shared flag they look at is all it takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a loop may go without looking at its [`Stopper`].
pub const STOP_CHECK: Duration = Duration::from_millis(50);

/// Clone it, hand one copy to the loop, call [`Stopper::stop`] on another.
#[derive(Debug, Clone, Default)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every loop holding a clone to return soon.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
