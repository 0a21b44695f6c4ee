// Step 01.3, collect-from-producers: the first producer's `move` closure takes the
// only sender, so the second one has nothing left to move.
use std::sync::mpsc;
use std::thread;

pub fn collect_from_producers(producers: usize) -> Vec<usize> {
    let (sender, receiver) = mpsc::channel();
    for id in 0..producers {
        thread::spawn(move || sender.send(id).unwrap());
    }
    receiver.iter().collect()
}
