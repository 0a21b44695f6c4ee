// Step 02.2, pool-shutdown: `join` takes the handle by value, but the worker is
// only borrowed.
use std::thread::JoinHandle;

pub struct Worker {
    pub thread: Option<JoinHandle<()>>,
}

pub fn join_all(workers: &mut [Worker]) {
    for worker in workers.iter_mut() {
        if let Some(thread) = worker.thread {
            let _ = thread.join();
        }
    }
}
