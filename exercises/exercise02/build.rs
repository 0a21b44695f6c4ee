//! Generated with the exercise: tells the compiler which todos are left.

fn main() {
    todos_left::declare(TODOS);
}

/// Generated with the exercise: each todo of the chapter and its file. While a
/// todo's `todo!()` is still there, `todos_left::declare` lets its function leave
/// parameters unused; write the body and the compiler warns about it again.
const TODOS: &[(&str, &str)] = &[
    ("op-apply", "src/task.rs"),
    ("pool-build", "src/pool.rs"),
    ("pool-shutdown", "src/pool.rs"),
    ("pool-execute", "src/pool.rs"),
    ("worker-loop", "src/pool.rs"),
    ("submit-with", "src/dispatcher.rs"),
    ("parse-request", "src/protocol.rs"),
    ("accept-loop", "src/server.rs"),
    ("server-drain", "src/server.rs"),
];
