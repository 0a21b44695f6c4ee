// Step 07.3, enforce-deadlines: settling a task needs `&mut self` while the loop
// still borrows `self.pending`.
use std::collections::HashMap;

pub struct Controller {
    pending: HashMap<String, u64>,
}

impl Controller {
    fn settle(&mut self, id: &str) {
        self.pending.remove(id);
    }

    pub fn enforce_deadlines(&mut self, now: u64) {
        for (id, deadline) in &self.pending {
            if *deadline <= now {
                self.settle(id);
            }
        }
    }
}
