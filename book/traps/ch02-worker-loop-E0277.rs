// Step 02.2, worker-loop: `catch_unwind` asks for a closure that is safe to unwind
// through; a boxed job is not known to be, so the compiler says no.
use std::panic;

pub type Job = Box<dyn FnOnce(usize) + Send + 'static>;

pub fn run_one(id: usize, job: Job) -> bool {
    panic::catch_unwind(|| job(id)).is_ok()
}
