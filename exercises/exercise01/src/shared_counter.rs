//! One counter, many threads: `Arc` to share ownership, `Mutex` to share mutation.
//!
//! The compiler refuses the shortcuts. A `static mut` counter cannot even be touched
//! outside `unsafe`, because nothing stops two threads writing it at once:
//!
//! ```compile_fail,E0133
//! static mut COUNTER: u64 = 0;
//!
//! let handle = std::thread::spawn(|| COUNTER += 1); // error[E0133]: use of mutable static
//! handle.join().unwrap();
//! ```
//!
//! and an `Rc` (whose reference count is not atomic) cannot be sent to another thread:
//!
//! ```compile_fail,E0277
//! use std::{cell::RefCell, rc::Rc};
//!
//! let counter = Rc::new(RefCell::new(0));
//! let shared = Rc::clone(&counter);
//! std::thread::spawn(move || *shared.borrow_mut() += 1); // error[E0277]: `Rc<..>` cannot be sent
//! ```
//!
//! `Arc<Mutex<_>>` is the pair that compiles: the `Arc` keeps the counter alive for as
//! long as any thread holds a clone, the `Mutex` lets one thread at a time change it.

use std::sync::Arc;
use std::thread;

use parking_lot::Mutex;

// ANCHOR: increment_from_threads
// ANCHOR: increment_from_threads_given
/// Starts `threads` threads that each add 1 to `counter` `increments` times, and
/// returns once every thread has finished (so every clone of the `Arc` is dropped).
#[cfg_attr(workbook_todo_increment_from_threads, allow(unused_variables))]
pub fn increment_from_threads(counter: &Arc<Mutex<u64>>, threads: usize, increments: u64) {
    // ANCHOR_END: increment_from_threads_given
    // TODO(increment-from-threads): start `threads` threads that each add 1 to the shared counter `increments` times, and join them all
    todo!("increment-from-threads — book: ch01, \"Sharing a counter\"")
}
// ANCHOR_END: increment_from_threads
