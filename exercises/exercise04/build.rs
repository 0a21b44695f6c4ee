//! Generated with the exercise: tells the compiler which todos are left.

fn main() {
    todos_left::declare(TODOS);
}

/// Generated with the exercise: each todo of the chapter and its file. While a
/// todo's `todo!()` is still there, `todos_left::declare` lets its function leave
/// parameters unused; write the body and the compiler warns about it again.
const TODOS: &[(&str, &str)] = &[
    ("parse-worker-frame", "src/protocol.rs"),
    ("execute", "src/kinds.rs"),
    ("assign-next", "src/store.rs"),
    ("accept-result", "src/store.rs"),
    ("expire-overdue", "src/store.rs"),
    ("dispatcher-loop", "src/dispatcher.rs"),
    ("answer-worker", "src/dispatcher.rs"),
    ("worker-loop", "src/worker.rs"),
    ("ask-for-task", "src/worker.rs"),
    ("reconnect", "src/connection.rs"),
];
