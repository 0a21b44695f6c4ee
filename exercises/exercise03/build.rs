//! Generated with the exercise: tells the compiler which todos are left.

fn main() {
    todos_left::declare(TODOS);
}

/// Generated with the exercise: each todo of the chapter and its file. While a
/// todo's `todo!()` is still there, `todos_left::declare` lets its function leave
/// parameters unused; write the body and the compiler warns about it again.
const TODOS: &[(&str, &str)] = &[
    ("work-run", "src/work.rs"),
    ("work-check", "src/work.rs"),
    ("topic-frame", "src/topic.rs"),
    ("topic-from-frame", "src/topic.rs"),
    ("parse-message", "src/protocol.rs"),
    ("producer-subscribe", "src/producer.rs"),
    ("collect", "src/collector.rs"),
    ("submit", "src/collector.rs"),
    ("publish", "src/publisher.rs"),
    ("drain", "src/pipeline.rs"),
    ("refuse-queued", "src/collector.rs"),
    ("parse-batch", "src/protocol.rs"),
    ("submit-batch", "src/collector.rs"),
    ("hold-results", "src/publisher.rs"),
];
