//! Hand-made ZeroMQ peers for the end-to-end tests of chapters 04 and 05: a
//! socket that talks to a real dispatcher frame by frame, and a stand-in
//! dispatcher on a free port. Not in `common` itself: chapter 02's tests share
//! that module, and their package does not build ZeroMQ.

/// A REQ socket connected to `endpoint`, as a worker written by hand would
/// hold: an answer within 5 s, or the test fails.
pub fn req_socket(endpoint: &str) -> zmq::Socket {
    let socket = zmq::Context::new().socket(zmq::REQ).expect("a REQ socket");
    socket.set_linger(0).expect("linger");
    socket.set_rcvtimeo(5000).expect("a receive timeout");
    socket.connect(endpoint).expect("connects");
    socket
}

/// A socket of `kind` bound to a free loopback port, and that port's endpoint:
/// a stand-in dispatcher, waiting at most 10 s for each request.
pub fn stand_in(kind: zmq::SocketType) -> (zmq::Socket, String) {
    let socket = zmq::Context::new().socket(kind).expect("a socket");
    socket.set_linger(0).expect("linger");
    socket.set_rcvtimeo(10_000).expect("a receive timeout");
    socket.bind("tcp://127.0.0.1:*").expect("binds a free port");
    let endpoint = socket
        .get_last_endpoint()
        .expect("an endpoint")
        .expect("a text endpoint");
    (socket, endpoint)
}
