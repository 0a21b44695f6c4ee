// Step 02.3, submit-with: the job runs on a pool thread, so it must be `'static`;
// using `self` inside it borrows the dispatcher.
use std::sync::Arc;
use std::thread;

pub struct Dispatcher {
    events: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Dispatcher {
    pub fn submit(&self, id: u64) {
        thread::spawn(move || (self.events)(&format!("Processing task {id}")));
    }
}
