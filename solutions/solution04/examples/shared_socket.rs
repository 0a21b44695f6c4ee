//! Two threads sharing one ZeroMQ socket — what the Python original's `socket_lock`
//! guarded against at run time. In Rust it does not compile, which is the point:
//! `cargo build -p solution04 --example shared_socket --features show-compile-error`
//! shows the error the book quotes (a `zmq::Socket` is `Send`, not `Sync`).

fn main() {
    let context = zmq::Context::new();
    let socket = context.socket(zmq::REP).expect("a socket");
    std::thread::scope(|scope| {
        // ANCHOR: shared_socket
        // The worker-communication thread and a second thread, one socket.
        scope.spawn(|| socket.recv_bytes(0));
        scope.spawn(|| socket.send("NO_TASKS_AVAILABLE", 0));
        // ANCHOR_END: shared_socket
    });
}
