//! The real binaries as children that chaos may kill: each started with its output
//! going to a log file (so a long run never blocks on a full pipe, and the logs
//! can be read afterwards), killed with SIGKILL — no chance to clean up, as in a
//! real crash — and started again with the very same arguments.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{ChaosError, Settings};

/// How long a program may take to say it is ready.
const START_LIMIT: Duration = Duration::from_secs(30);

/// One program chaos keeps running, with the arguments it restarts it with.
pub struct Supervised {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
}

impl Supervised {
    /// Describes the program; nothing runs until [`Supervised::start`].
    pub fn new(name: &str, program: &Path, args: Vec<String>, log: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            program: program.to_owned(),
            args,
            log,
            child: None,
            starts: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Replaces the arguments for the next start (e.g. a port once it is known).
    pub fn set_args(&mut self, args: Vec<String>) {
        self.args = args;
    }

    /// Starts it (again), its stdout and stderr appended to its log.
    pub fn start(&mut self) -> Result<(), ChaosError> {
        let log = open_log(&self.log)?;
        let errors = log.try_clone().map_err(|source| ChaosError::Io {
            what: format!("log {}", self.log.display()),
            source,
        })?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(errors)
            .spawn()
            .map_err(|source| ChaosError::Io {
                what: format!("start {}", self.program.display()),
                source,
            })?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// SIGKILL, and wait for it to be gone. Nothing happens if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it exited by itself (it is then no longer running).
    pub fn exited(&mut self) -> bool {
        match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(Some(_)) => {
                    self.child = None;
                    true
                }
                Ok(None) | Err(_) => false,
            },
            None => false,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts a server that binds a free port, waits for the line of its log that
    /// holds `announced` (where it says it listens), reads its address from that
    /// line with `address`, and from then on starts it with `args(&address)`: a
    /// restart binds the same port, where its workers and clients find it again.
    /// `free` is the address that asks for any free port.
    pub fn start_on_free_port<A>(
        name: &str,
        program: &Path,
        log: PathBuf,
        args: impl Fn(&A) -> Vec<String>,
        free: A,
        announced: &str,
        address: impl FnOnce(&str) -> Option<A>,
    ) -> Result<(Self, A), ChaosError> {
        let mut server = Self::new(name, program, args(&free), log);
        server.start()?;
        let line = server.wait_for_line(announced, START_LIMIT)?;
        let bound = address(&line)
            .ok_or_else(|| ChaosError::Setup(format!("{name}: no address in {line:?}")))?;
        server.set_args(args(&bound));
        Ok((server, bound))
    }

    /// Waits until the log holds a line containing `needle`; returns that line.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Result<String, ChaosError> {
        let deadline = Instant::now() + limit;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(line) = text.lines().rev().find(|line| line.contains(needle)) {
                return Ok(line.to_owned());
            }
            if self.exited() || Instant::now() > deadline {
                return Err(ChaosError::NotStarted {
                    name: self.name.clone(),
                    log: self.log.display().to_string(),
                    tail: tail(&text, 10),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `settings.workers` worker processes of `program`, ids `w1`, `w2`, …,
/// each named `<name> <id>` with its log `worker-<id>.log` and started with
/// `args(id)`.
pub fn start_workers(
    name: &str,
    program: &Path,
    settings: &Settings,
    args: impl Fn(&str) -> Vec<String>,
) -> Result<Vec<Supervised>, ChaosError> {
    (1..=settings.workers)
        .map(|n| {
            let id = format!("w{n}");
            let mut worker = Supervised::new(
                &format!("{name} {id}"),
                program,
                args(&id),
                settings.dir.join(format!("worker-{id}.log")),
            );
            worker.start()?;
            Ok(worker)
        })
        .collect()
}

fn open_log(path: &Path) -> Result<File, ChaosError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| ChaosError::Io {
            what: format!("log {}", path.display()),
            source,
        })
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The first word of `line` that starts with `prefix`, without a trailing comma.
pub fn word_starting(line: &str, prefix: &str) -> Option<String> {
    line.split_whitespace()
        .find(|word| word.starts_with(prefix))
        .map(|word| word.trim_end_matches([',', '.']).to_owned())
}
