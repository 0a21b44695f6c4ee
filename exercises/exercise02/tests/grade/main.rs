// Grading tests for chapter 02 — the in-process dispatcher/worker.
//
// Run them with `cargo test -p exercise02`, or one step at a time as the book's "The
// exercise" section lists them: `cargo test -p exercise02 step1`. They check *how*
// the pool works, not only what it returns: that jobs really overlap, that no lock
// is held while a job runs, that a panicking job does not shrink the pool, that
// shutting down drains the queue and joins every worker, and that the server joins
// its threads before `run` returns. The same file grades the reference solution
// (solutions/solution02), so passing here means matching it.
//
// Step 1 — checked arithmetic: op-apply
// Step 2 — the pool:           pool-build, pool-execute, worker-loop, pool-shutdown
// Step 3 — the dispatcher:     submit-with
// Step 4 — network mode:       parse-request, accept-loop, server-drain

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use exercise02::Shutdown;
use exercise02::delay::DelayRange;
use exercise02::dispatcher::EventSink;
use exercise02::pool::WorkerEvent;
use exercise02::protocol::parse_request;
use exercise02::server::{Server, ServerError};
use exercise02::{
    DispatchError, Dispatcher, DispatcherConfig, Event, Op, PoolError, Task, TaskError, TaskResult,
    ThreadPool,
};
use grading::quiet::silence_panics_saying;
use grading::{BookSection, Chapter, ErrOrBook, OrBook, within};

const BOOK: Chapter = Chapter("ch02-dispatcher-worker.md");
const ARITHMETIC: BookSection = BOOK.section("Tasks that cannot crash a worker");
const POOL: BookSection = BOOK.section("The pool");
const NO_LOCK: BookSection = BOOK.section("Why no lock is held while a job runs");
const PANICS: BookSection = BOOK.section("A panicking job");
const SHUTDOWN: BookSection = BOOK.section("Graceful shutdown");
const DISPATCHER: BookSection = BOOK.section("The dispatcher");
const NETWORK: BookSection = BOOK.section("Network mode");

const LIMIT: Duration = Duration::from_secs(10);

/// A dispatcher configuration with no simulated work, so tests run at full speed.
fn quick(workers: usize) -> DispatcherConfig {
    DispatcherConfig {
        workers,
        delay: DelayRange::NONE,
        seed: 1,
    }
}

fn task(id: u64, a: i64, op: Op, b: i64) -> Task {
    Task { id, op, a, b }
}

/// An event sink that forwards every event to a channel the test can read.
fn recording() -> (EventSink, Receiver<Event>) {
    grading::background::recorder()
}

/// The text of a panic, as `panic!` and `todo!` raise them.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

mod step1;
mod step2;
mod step3;
mod step4;
