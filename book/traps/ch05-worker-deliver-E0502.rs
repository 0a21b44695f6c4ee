// Step 05.5, worker-deliver: `front()` borrows the outbox for as long as its result
// is used, and delivering needs the whole worker mutably.
use std::collections::VecDeque;

pub struct Worker {
    outbox: VecDeque<String>,
    sent: usize,
}

impl Worker {
    fn exchange(&mut self, _result: &str) {
        self.sent += 1;
    }

    pub fn deliver(&mut self) {
        while let Some(result) = self.outbox.front() {
            self.exchange(result);
            self.outbox.pop_front();
        }
    }
}
