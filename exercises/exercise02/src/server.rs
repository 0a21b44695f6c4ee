//! Network mode: the dispatcher behind a TCP port, speaking JSON lines.
//!
//! Four kinds of thread, each owning what it touches, so no lock guards the work:
//!
//! - the **accept loop** (the caller's thread) takes connections;
//! - per connection, a **reader** parses request lines and a **writer** sends the
//!   replies back, so a slow client never holds up anyone else's results;
//! - one **dispatch thread** owns the [`Dispatcher`] and feeds the pool.
//!
//! Graceful shutdown from outside, which the Rust Book's server leaves out: the
//! server's [`Shutdown`] stops the accept loop, the readers stop taking requests,
//! every task already queued still runs and its result is still written back,
//! then the workers are joined.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::dispatcher::{DispatchError, Dispatcher, DispatcherConfig, EventSink};
use crate::event::Event;
use crate::protocol::{self, Frame, MAX_LINE_BYTES, Reply, RequestError};
use crate::shutdown::Shutdown;
use crate::task::Task;

/// A task on its way to the pool, with the connection its reply goes back to.
type Intake = (Task, Sender<Reply>);

/// How long the accept loop waits after a failed `accept` before it tries again,
/// doubling up to [`ACCEPT_PAUSE_MAX`] while the failures go on.
const ACCEPT_PAUSE_FIRST: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error("could not start a server thread: {0}")]
    Thread(std::io::Error),
}

/// A bound, not yet running, network dispatcher.
pub struct Server {
    listener: TcpListener,
    address: SocketAddr,
    config: DispatcherConfig,
    events: EventSink,
    shutdown: Shutdown,
}

impl Server {
    /// Binds `address` (port 0 picks a free port) for a dispatcher with `config`.
    pub fn bind(
        address: impl ToSocketAddrs + std::fmt::Display,
        config: DispatcherConfig,
        events: EventSink,
    ) -> Result<Self, ServerError> {
        let bind_error = |source| ServerError::Bind {
            address: address.to_string(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let shutdown = Shutdown::new();
        // `accept` blocks where no flag can reach it: a connection of our own,
        // made when the shutdown comes, wakes it to see the flag.
        shutdown.on_stop(move || {
            let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
        });
        Ok(Self {
            listener,
            address,
            config,
            events,
            shutdown,
        })
    }

    /// The address the server listens on, with the real port if 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The server's [`Shutdown`]: `stop()` on it, from any thread, and [`Server::run`]
    /// returns once every queued task has been answered.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    // ANCHOR: run
    // ANCHOR: run_given
    /// Serves until its [`Shutdown`] is stopped, then drains and returns.
    #[cfg_attr(workbook_todo_server_drain, allow(unused_variables))]
    pub fn run(self) -> Result<(), ServerError> {
        let dispatcher = Dispatcher::with_events(self.config, EventSink::clone(&self.events))?;
        let (intake, tasks) = unbounded::<Intake>();
        let dispatch_thread = thread::Builder::new()
            .name("dispatcher".to_owned())
            .spawn(move || dispatch(dispatcher, &tasks))
            .map_err(ServerError::Thread)?;
        (self.events)(&Event::Listening(self.address.to_string()));

        let connections = self.accept_until_stopped(&intake);
        // ANCHOR_END: run_given

        // TODO(server-drain): shut down gracefully: report StopAccepting, close your intake, stop every connection's reader, join the connections, then join the dispatch thread
        todo!("server-drain — book: ch02, \"Network mode\"")
    }

    // ANCHOR: accept_given
    /// The accept loop: opens a [`Connection`] per client, each feeding `intake`,
    /// until the shutdown handle sets the flag (and wakes `accept` to see it).
    #[cfg_attr(workbook_todo_accept_loop, allow(unused_variables))]
    fn accept_until_stopped(&self, intake: &Sender<Intake>) -> Vec<Connection> {
        // ANCHOR_END: accept_given
        // TODO(accept-loop): accept connections until the shutdown flag is set, opening a `Connection` with a clone of `intake` for each, and return them all
        todo!("accept-loop — book: ch02, \"Network mode\"")
    }
    // ANCHOR_END: run
}

// ANCHOR: dispatch
/// The dispatch thread: sole owner of the dispatcher, so submitting takes no lock.
fn dispatch(mut dispatcher: Dispatcher, tasks: &Receiver<Intake>) {
    for (task, reply_to) in tasks {
        let refused = reply_to.clone();
        let submitted = dispatcher.submit_with(task, move |result| {
            // The client may have gone; its result has nowhere to go, which is fine.
            let _ = reply_to.send(Reply::from(&result));
        });
        if let Err(error) = submitted {
            let _ = refused.send(Reply::from(&RequestError {
                id: Some(task.id),
                message: error.to_string(),
            }));
        }
    }
    dispatcher.shutdown();
}
// ANCHOR_END: dispatch

// ANCHOR: connection
// ANCHOR: connection_open
/// The two threads serving one client.
struct Connection {
    /// A second handle on the socket, to end the reader from outside.
    control: TcpStream,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Connection {
    fn open(stream: TcpStream, intake: Sender<Intake>) -> std::io::Result<Self> {
        let control = stream.try_clone()?;
        let write_half = stream.try_clone()?;
        let (replies, outbox) = unbounded();
        let writer = thread::Builder::new()
            .name("connection-writer".to_owned())
            .spawn(move || write_replies(write_half, &outbox))?;
        let reader = thread::Builder::new()
            .name("connection-reader".to_owned())
            .spawn(move || read_requests(stream, &intake, &replies))?;
        Ok(Self {
            control,
            reader,
            writer,
        })
    }
    // ANCHOR_END: connection_open

    fn is_finished(&self) -> bool {
        self.reader.is_finished() && self.writer.is_finished()
    }

    fn stop_reading(&self) {
        // Wakes a reader blocked in `read` with end-of-stream. The client may
        // already be gone, in which case there is nothing to stop.
        let _ = self.control.shutdown(std::net::Shutdown::Read);
    }

    fn join(self) {
        let _ = self.reader.join();
        let _ = self.writer.join();
    }
}
// ANCHOR_END: connection

// ANCHOR: read_requests
fn read_requests(stream: TcpStream, intake: &Sender<Intake>, replies: &Sender<Reply>) {
    let mut reader = BufReader::new(stream);
    let refuse = |message: String| {
        let _ = replies.send(Reply::from(&RequestError { id: None, message }));
    };
    // A read error means the client is gone: stop reading, answer what is queued.
    while let Ok(Some(frame)) = protocol::read_frame(&mut reader, MAX_LINE_BYTES) {
        match frame {
            Frame::Line(line) if line.trim().is_empty() => {}
            Frame::Line(line) => match protocol::parse_request(&line) {
                Ok(task) => {
                    if intake.send((task, replies.clone())).is_err() {
                        refuse(format!(
                            "task {} refused: the server is shutting down",
                            task.id
                        ));
                    }
                }
                Err(error) => {
                    let _ = replies.send(Reply::from(&error));
                }
            },
            // The rest of that line is still coming, and nothing says where the
            // next request starts: answer at once, then stop reading this client.
            Frame::TooLong => {
                refuse(format!(
                    "request line longer than {MAX_LINE_BYTES} bytes; closing the connection"
                ));
                discard_the_rest(reader.get_mut());
                break;
            }
            Frame::NotText => refuse("request line is not UTF-8 text; skipped".to_owned()),
        }
    }
}
// ANCHOR_END: read_requests

/// After a refused line, how much more of it the reader swallows, and for how long
/// the client may pause, before the connection is closed anyway.
const DISCARD_AT_MOST: usize = 64 * 1024 * 1024;
const DISCARD_PAUSE: Duration = Duration::from_millis(500);

/// Swallows what the client is still sending of a refused line, so that its writes
/// complete and it gets to read our answer; a socket nobody reads would leave it
/// blocked in `write` for as long as the server kept the connection.
fn discard_the_rest(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(DISCARD_PAUSE));
    let mut buffer = vec![0; 64 * 1024];
    let mut left = DISCARD_AT_MOST;
    while left > 0 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => left = left.saturating_sub(read),
        }
    }
}

/// How long a reply may wait for a client that does not read. Without a limit, one
/// such client would block its writer, and so the server's shutdown, for ever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

fn write_replies(mut stream: TcpStream, outbox: &Receiver<Reply>) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    for reply in outbox {
        if stream.write_all(reply.to_line().as_bytes()).is_err() {
            // The client went away; the remaining replies are dropped with the channel.
            break;
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
