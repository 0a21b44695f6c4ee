// Step 07.1, submit: the pending map keeps the id, and the event wants it too.
use std::collections::HashMap;

pub struct Task {
    pub id: String,
}

pub enum Event {
    Queued { id: String },
}

pub fn submit(task: Task, pending: &mut HashMap<String, ()>, events: impl Fn(Event)) {
    pending.insert(task.id, ());
    events(Event::Queued { id: task.id });
}
