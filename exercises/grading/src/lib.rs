//! What every chapter's grading tests need, written once.
//!
//! A grading test must never hang — a learner's deadlock should read as a message,
//! not as a test run that never ends — and when it fails it should say which part of
//! the book explains what it expected. Both helpers live here so each chapter's
//! `tests/grade.rs` holds only the checks themselves. [`background`] runs the
//! servers and workers a test talks to, and records what they report; [`temp`]
//! gives it folders for real files.

pub mod background;
pub mod temp;

use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A chapter of the book, by its file under `book/src/`.
#[derive(Debug, Clone, Copy)]
pub struct Chapter(pub &'static str);

impl Chapter {
    /// One of the chapter's sections, by its heading exactly as written.
    pub const fn section(&self, heading: &'static str) -> BookSection {
        BookSection {
            chapter: self.0,
            heading,
        }
    }
}

/// Where a failing test sends the learner: a chapter file and one of its sections.
#[derive(Debug, Clone, Copy)]
pub struct BookSection {
    /// The chapter's file under `book/src/`, e.g. `ch02-dispatcher-worker.md`.
    pub chapter: &'static str,
    /// The section's heading, exactly as written in the chapter.
    pub heading: &'static str,
}

impl BookSection {
    /// `read the book: "Heading" in book/src/chNN-….md`
    pub fn hint(&self) -> String {
        format!(
            "read the book: \"{}\" in book/src/{}",
            self.heading, self.chapter
        )
    }
}

/// Runs `work` on its own thread and returns its result, or fails the test with a
/// message naming `what` and `section` if it is still running after `limit`.
///
/// A panic inside `work` (a `todo!()` does that) is passed on unchanged, so the test
/// fails with the panic's own message.
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    section: BookSection,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = mpsc::channel();
    // Named after the work, so a panic message says what was running.
    let worker = thread::Builder::new()
        .name(what.to_owned())
        .spawn(move || {
            // The receiver may have given up already; then nobody needs the value.
            let _ = done.send(work());
        })
        .expect("the test can start a thread");
    match finished.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("the work ended without sending its result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{what} was still running after {limit:?}: is something waiting for ever \
             (a lock held too long, a channel nobody closes, a thread never joined)? {}",
            section.hint()
        ),
    }
}
