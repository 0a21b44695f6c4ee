// Step 01.2, increment-from-threads: the thread's closure captures the `&Arc`
// parameter itself — a borrow — but a spawned thread may outlive the call.
use std::sync::{Arc, Mutex};
use std::thread;

pub fn increment_from_threads(counter: &Arc<Mutex<u64>>, threads: usize) {
    let handles: Vec<_> = (0..threads)
        .map(|_| thread::spawn(move || *counter.lock().unwrap() += 1))
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
