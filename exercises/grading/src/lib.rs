//! What every chapter's grading tests need, written once.
//!
//! A grading test must never hang — a learner's deadlock should read as a message,
//! not as a test run that never ends — and when it fails it should say which part of
//! the book explains what it expected. Both helpers live here so each chapter's
//! `tests/grade.rs` holds only the checks themselves. [`background`] runs the
//! servers and workers a test talks to, and records what they report
//! ([`background::recorder`], [`background::Recorded`]); [`temp`]
//! gives it folders for real files; [`quiet`] keeps panics a test causes on purpose
//! out of its output; [`OrBook`] turns an unexpected `Err` or `None` from the
//! learner's code into a message that points into the book.

pub mod background;
pub mod quiet;
pub mod temp;

use std::fmt;
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

/// Unwraps what the learner's code returned, or fails the test with a message that
/// says what was expected, what came instead, and which section of the book to read —
/// never a bare `expect`.
///
/// ```
/// use grading::{Chapter, OrBook};
/// let section = Chapter("ch02-dispatcher-worker.md").section("The pool");
/// let size: usize = Some(4).or_book("a pool of 4 workers", section);
/// assert_eq!(size, 4);
/// ```
pub trait OrBook<T> {
    /// The value, or a failed test: `expected <what>, got …; read the book: …`.
    fn or_book(self, what: &str, section: BookSection) -> T;
}

impl<T, E: fmt::Debug> OrBook<T> for Result<T, E> {
    #[track_caller]
    fn or_book(self, what: &str, section: BookSection) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("expected {what}, got Err({error:?}); {}", section.hint()),
        }
    }
}

impl<T> OrBook<T> for Option<T> {
    #[track_caller]
    fn or_book(self, what: &str, section: BookSection) -> T {
        match self {
            Some(value) => value,
            None => panic!("expected {what}, got None; {}", section.hint()),
        }
    }
}

/// The error the learner's code should have returned, or a failed test that says
/// what came instead and which section of the book to read.
pub trait ErrOrBook<E> {
    /// The error, or a failed test: `expected <what>, got Ok(…); read the book: …`.
    fn err_or_book(self, what: &str, section: BookSection) -> E;
}

impl<T: fmt::Debug, E> ErrOrBook<E> for Result<T, E> {
    #[track_caller]
    fn err_or_book(self, what: &str, section: BookSection) -> E {
        match self {
            Err(error) => error,
            Ok(value) => panic!("expected {what}, got Ok({value:?}); {}", section.hint()),
        }
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
