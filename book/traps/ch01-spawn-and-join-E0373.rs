// Step 01.1, spawn-and-join: the thread's closure borrows `index` from the loop,
// but the thread may outlive this iteration.
use std::thread;

pub fn spawn_and_join(n: usize) -> Vec<usize> {
    let handles: Vec<_> = (0..n).map(|index| thread::spawn(|| index * 10)).collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}
