//! Generated with the exercise: tells the compiler which todos are left.

fn main() {
    todos_left::declare(TODOS);
}

/// Generated with the exercise: each todo of the chapter and its file. While a
/// todo's `todo!()` is still there, `todos_left::declare` lets its function leave
/// parameters unused; write the body and the compiler warns about it again.
const TODOS: &[(&str, &str)] = &[
    ("store-claim", "src/store/claim.rs"),
    ("store-finish", "src/store/claim.rs"),
    ("store-heartbeat", "src/store/liveness.rs"),
    ("store-requeue-dead", "src/store/liveness.rs"),
    ("kinds-execute", "src/kinds.rs"),
    ("cache-save", "src/cache.rs"),
    ("cache-load", "src/cache.rs"),
    ("protocol-parse", "src/protocol.rs"),
    ("dispatcher-answer", "src/dispatcher.rs"),
    ("dispatcher-loop", "src/dispatcher.rs"),
    ("worker-loop", "src/worker.rs"),
    ("worker-contact", "src/worker.rs"),
    ("worker-deliver", "src/worker.rs"),
    ("worker-heartbeat", "src/worker.rs"),
    ("worker-unreachable", "src/worker.rs"),
];
