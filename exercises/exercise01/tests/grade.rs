// Grading tests for chapter 01 — threads and shared state.
//
// Run them with `cargo test -p exercise01`, or one step at a time as the book's "The
// exercise" section lists them: `cargo test -p exercise01 step1`. Each test names the
// book section to read when it fails. The same file grades the reference solution
// (solutions/solution01), so what passes there is exactly what is asked of you here.
//
// Step 1 — spawning and joining:  spawn-and-join
// Step 2 — sharing a counter:     increment-from-threads
// Step 3 — fan-in over a channel: collect-from-producers
// Step 4 — ten sleeps in the time of one: run-on-threads

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use exercise01::fan_in::{Message, collect_from_producers};
use exercise01::shared_counter::increment_from_threads;
use exercise01::sleep_tasks::run_on_threads;
use exercise01::spawn_join::spawn_and_join;
use grading::{BookSection, Chapter, within};
use parking_lot::Mutex;

const BOOK: Chapter = Chapter("ch01-threads.md");

const SPAWNING: BookSection = BOOK.section("Spawning and joining");
const SHARING: BookSection = BOOK.section("Sharing a counter");
const FAN_IN: BookSection = BOOK.section("Fan-in over a channel");
const SLEEPS: BookSection = BOOK.section("Ten sleeps in the time of one");

#[test]
fn step1_spawn_and_join_returns_every_answer_in_spawn_order() {
    let section = SPAWNING;
    let answers = within(Duration::from_secs(5), "spawn_and_join(8)", section, || {
        spawn_and_join(8)
    });
    let squares: Vec<(usize, usize)> = answers.iter().map(|a| (a.index, a.square)).collect();
    let expected: Vec<(usize, usize)> = (0..8).map(|i| (i, i * i)).collect();
    assert_eq!(
        squares,
        expected,
        "expected one (index, index²) answer per thread, in spawn order; {}",
        section.hint()
    );
}

#[test]
fn step1_spawn_and_join_really_uses_other_threads() {
    let section = SPAWNING;
    let me = thread::current().id();
    let answers = within(Duration::from_secs(5), "spawn_and_join(4)", section, || {
        spawn_and_join(4)
    });
    let mut threads: Vec<_> = answers.iter().map(|a| a.thread).collect();
    assert!(
        !threads.contains(&me),
        "the work ran on the test's own thread; spawn a thread per answer. {}",
        section.hint()
    );
    threads.sort_by_key(|id| format!("{id:?}"));
    threads.dedup();
    assert_eq!(
        threads.len(),
        4,
        "expected 4 different threads, got {}; {}",
        threads.len(),
        section.hint()
    );
}

/// Runs `increment_from_threads` on a fresh counter under a time limit and hands
/// the counter back.
fn count_on_threads(threads: usize, increments: u64) -> Arc<Mutex<u64>> {
    let counter = Arc::new(Mutex::new(0_u64));
    let shared = Arc::clone(&counter);
    within(
        Duration::from_secs(10),
        "increment_from_threads",
        SHARING,
        move || increment_from_threads(&shared, threads, increments),
    );
    counter
}

#[test]
fn step2_shared_counter_counts_every_increment() {
    let counter = count_on_threads(8, 10_000);
    assert_eq!(
        *counter.lock(),
        80_000,
        "8 threads × 10,000 increments should count to 80,000: \
         was the lock held for the whole read-add-write? {}",
        SHARING.hint()
    );
}

#[test]
fn step2_shared_counter_threads_are_joined_before_returning() {
    // When the function has returned, every thread's clone of the Arc must be gone.
    // Enough increments that threads left unjoined are certainly still running.
    let counter = count_on_threads(4, 200_000);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "threads still hold the counter after increment_from_threads returned: join them. {}",
        SHARING.hint()
    );
}

#[test]
fn step3_fan_in_receives_every_message_once() {
    let section = FAN_IN;
    let mut messages = within(
        Duration::from_secs(5),
        "collect_from_producers",
        section,
        || collect_from_producers(5, 100),
    );
    assert_eq!(
        messages.len(),
        500,
        "5 producers × 100 items should arrive as 500 messages; {}",
        section.hint()
    );
    messages.sort_by_key(|m| (m.producer, m.seq));
    let expected: Vec<Message> = (0..5)
        .flat_map(|producer| (0..100).map(move |seq| Message { producer, seq }))
        .collect();
    assert_eq!(
        messages,
        expected,
        "a message was lost or duplicated; {}",
        section.hint()
    );
}

#[test]
fn step3_fan_in_keeps_each_producers_order() {
    let section = FAN_IN;
    let messages = within(
        Duration::from_secs(5),
        "collect_from_producers",
        section,
        || collect_from_producers(3, 200),
    );
    for producer in 0..3 {
        let seqs: Vec<usize> = messages
            .iter()
            .filter(|m| m.producer == producer)
            .map(|m| m.seq)
            .collect();
        assert!(
            seqs.windows(2).all(|pair| pair[0] < pair[1]),
            "producer {producer}'s messages arrived out of order: one channel is FIFO per sender. {}",
            section.hint()
        );
    }
}

/// Times `run(10, each)` under a time limit.
fn ten_sleeps(
    what: &'static str,
    run: fn(usize, Duration) -> Duration,
    each: Duration,
) -> Duration {
    within(Duration::from_secs(5), what, SLEEPS, move || run(10, each))
}

#[test]
fn step4_sleeps_on_threads_overlap() {
    let section = SLEEPS;
    let each = Duration::from_millis(100);
    let took = ten_sleeps("run_on_threads", run_on_threads, each);
    assert!(
        took >= each,
        "run_on_threads returned after {took:?}, before the sleeps of {each:?} ended: \
         wait for every thread. {}",
        section.hint()
    );
    // Sleeping needs no CPU, so even a busy machine overlaps them: about 100 ms,
    // far from the 1 s that one-after-another takes.
    assert!(
        took < each * 5,
        "10 sleeps of {each:?} on 10 threads took {took:?}: they did not overlap. {}",
        section.hint()
    );
}
