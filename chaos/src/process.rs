//! The real binaries as children that chaos may kill: each started with its output
//! going to a log file (so a long run never blocks on a full pipe, and the logs
//! can be read afterwards), killed with SIGKILL — no chance to clean up, as in a
//! real crash — and started again with the very same arguments.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::ChaosError;

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
