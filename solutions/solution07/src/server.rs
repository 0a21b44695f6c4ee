//! A real `nats-server` for tests and demos, started on a free loopback port with
//! JetStream on and a store in a fresh temporary folder, and stopped when dropped.
//!
//! Chapters 03–06 needed no server of anyone else's: ZeroMQ is a library, tonic
//! and SQLite are compiled in. JetStream is a server — a single Go binary — so the
//! tests start their own, exactly as a learner would by hand:
//! `nats-server -js -sd DIR -a 127.0.0.1 -p PORT`. [`NatsCluster`] starts three
//! with routes between them, the smallest cluster that survives losing a server.

use std::fs::{self, File};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

/// What to do when the server binary is missing: the one line a learner reads.
pub const INSTALL_HINT: &str = "nats-server not found: apt-get install -y nats-server, or \
     brew install nats-server on macOS, or the static binary from \
     https://github.com/nats-io/nats-server/releases (or set NATS_SERVER to its path)";

/// How long a server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Why a server could not be started.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("{INSTALL_HINT}")]
    NotInstalled,
    #[error("could not prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "nats-server did not accept connections on port {port} within {READY_WITHIN:?}; its log is {log}"
    )]
    NotReady { port: u16, log: PathBuf },
}

/// Where the `nats-server` binary is: `$NATS_SERVER`, then `PATH`, then the
/// `sbin` folders Debian installs it in (which are not on a user's `PATH`).
pub fn find_binary() -> Result<PathBuf, ServerError> {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ServerError::NotInstalled)
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .ok_or(ServerError::NotInstalled)
}

/// `n` distinct free loopback ports (free when asked: a port is only reserved by
/// binding it, so each start checks that the server really came up).
fn free_ports(n: usize) -> Result<Vec<u16>, ServerError> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ServerError::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ServerError::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })
}

/// A fresh folder under the system's temporary folder, unique to this process.
fn fresh_dir(label: &str) -> Result<PathBuf, ServerError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "workbook-nats-{}-{}-{label}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|source| ServerError::Io {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// How one server of a cluster finds the others.
struct Routes {
    cluster_name: String,
    server_name: String,
    /// This server's route port.
    listen: u16,
    /// The other servers' route ports.
    peers: Vec<u16>,
}

/// One running `nats-server`; killed, and its store removed, when dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl NatsServer {
    /// A single server with JetStream, on a free loopback port.
    pub fn start() -> Result<Self, ServerError> {
        let binary = find_binary()?;
        let mut last = None;
        // A port found free can be taken by someone else before the server binds
        // it: try a few times.
        for _ in 0..3 {
            let port = free_ports(1)?[0];
            match Self::spawn(&binary, port, None) {
                Ok(server) => return Ok(server),
                Err(error @ ServerError::NotReady { .. }) => last = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or(ServerError::NotInstalled))
    }

    fn spawn(binary: &Path, port: u16, routes: Option<&Routes>) -> Result<Self, ServerError> {
        let label = routes.map_or("single", |routes| routes.server_name.as_str());
        let dir = fresh_dir(label)?;
        let store = dir.join("jetstream");
        let log = dir.join("nats-server.log");
        let log_file = File::create(&log).map_err(|source| ServerError::Io {
            path: log.clone(),
            source,
        })?;
        let mut command = Command::new(binary);
        command
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store);
        if let Some(routes) = routes {
            let peers: Vec<String> = routes
                .peers
                .iter()
                .map(|peer| format!("nats://127.0.0.1:{peer}"))
                .collect();
            command
                .args(["-n", &routes.server_name])
                .args(["--cluster_name", &routes.cluster_name])
                .args(["--cluster", &format!("nats://127.0.0.1:{}", routes.listen)])
                .args(["--routes", &peers.join(",")]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|source| ServerError::Spawn {
                binary: binary.to_owned(),
                source,
            })?;
        let mut server = NatsServer {
            child: Some(child),
            port,
            dir,
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let exited = server
                .child
                .as_mut()
                .is_none_or(|child| !matches!(child.try_wait(), Ok(None)));
            if exited || Instant::now() > deadline {
                return Err(ServerError::NotReady { port, log });
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `nats://127.0.0.1:PORT`, for clients.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server at once (SIGKILL), as a crash would; its store stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Three `nats-server`s on loopback with routes between them: one JetStream
/// cluster, in which a stream with three replicas survives losing any one server.
#[derive(Debug)]
pub struct NatsCluster {
    servers: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts three servers named `n1`, `n2`, `n3`. They elect a JetStream leader
    /// a moment later: the first stream created may have to be retried
    /// ([`crate::setup::ensure`] does).
    pub fn start() -> Result<Self, ServerError> {
        let binary = find_binary()?;
        let ports = free_ports(6)?;
        let (clients, routes) = ports.split_at(3);
        let mut servers = Vec::with_capacity(3);
        for (index, (&port, &listen)) in clients.iter().zip(routes).enumerate() {
            let routes = Routes {
                cluster_name: "workbook".to_owned(),
                server_name: format!("n{}", index + 1),
                listen,
                peers: routes.iter().copied().filter(|&p| p != listen).collect(),
            };
            servers.push(NatsServer::spawn(&binary, port, Some(&routes))?);
        }
        Ok(NatsCluster { servers })
    }

    /// Every server's URL, for a client that should fail over between them.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(NatsServer::url).collect()
    }

    /// Kills server `index` (0, 1 or 2), as a crash would.
    pub fn kill(&mut self, index: usize) {
        if let Some(server) = self.servers.get_mut(index) {
            server.kill();
        }
    }

    pub fn servers(&self) -> &[NatsServer] {
        &self.servers
    }
}
