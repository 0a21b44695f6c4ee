//! The story `cargo run --bin dispatcher_worker` tells, as a library function so the
//! binary stays a thin command line and tests can run the same story.

use rand::rngs::ChaCha12Rng;
use rand::{RngExt, SeedableRng};

use crate::dispatcher::{DispatchError, Dispatcher, DispatcherConfig, EventSink};
use crate::event::Event;
use crate::task::{Op, Task, TaskResult, TaskSpec};

/// The original demo's five tasks.
pub const DEMO_TASKS: [TaskSpec; 5] = [
    TaskSpec {
        a: 10,
        op: Op::Add,
        b: 5,
    },
    TaskSpec {
        a: 7,
        op: Op::Multiply,
        b: 8,
    },
    TaskSpec {
        a: 100,
        op: Op::Subtract,
        b: 37,
    },
    TaskSpec {
        a: 25,
        op: Op::Add,
        b: 25,
    },
    TaskSpec {
        a: 12,
        op: Op::Multiply,
        b: 12,
    },
];

/// `count` random tasks on numbers 0..=100, the same for the same `seed`.
pub fn random_tasks(count: usize, seed: u64) -> Vec<TaskSpec> {
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| TaskSpec {
            a: rng.random_range(0..=100),
            op: Op::ALL[rng.random_range(0..Op::ALL.len())],
            b: rng.random_range(0..=100),
        })
        .collect()
}

/// Numbers the specs 1, 2, 3, … in order.
pub fn number(specs: impl IntoIterator<Item = TaskSpec>) -> Vec<Task> {
    (1..)
        .zip(specs)
        .map(|(id, spec)| spec.with_id(id))
        .collect()
}

// ANCHOR: run
/// Starts a dispatcher, submits every task, waits for all the results, and shuts
/// down, reporting each step to `events`. Returns the results in arrival order.
pub fn run(
    config: DispatcherConfig,
    tasks: &[Task],
    events: EventSink,
) -> Result<Vec<TaskResult>, DispatchError> {
    let mut dispatcher = Dispatcher::with_events(config, EventSink::clone(&events))?;
    for task in tasks {
        dispatcher.submit(*task)?;
    }

    events(&Event::WaitingForResults);
    // Every submitted task sends exactly one result, even if it panicked.
    let results: Vec<TaskResult> = dispatcher
        .results()
        .iter()
        .take(tasks.len())
        .inspect(|result| events(&Event::GotResult(result.clone())))
        .collect();

    dispatcher.shutdown();
    Ok(results)
}
// ANCHOR_END: run
