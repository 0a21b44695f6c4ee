//! Generated with the exercise: tells the compiler which todos are left.

fn main() {
    todos_left::declare(TODOS);
}

/// Generated with the exercise: each todo of the chapter and its file. While a
/// todo's `todo!()` is still there, `todos_left::declare` lets its function leave
/// parameters unused; write the body and the compiler warns about it again.
const TODOS: &[(&str, &str)] = &[
    ("spawn-and-join", "src/spawn_join.rs"),
    ("increment-from-threads", "src/shared_counter.rs"),
    ("collect-from-producers", "src/fan_in.rs"),
    ("run-on-threads", "src/sleep_tasks.rs"),
];
