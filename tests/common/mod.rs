//! What every end-to-end test needs: start a real binary, read its output line by
//! line with a time limit, and make sure it is gone when the test ends — even when
//! the test fails.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, unbounded};

/// A child process that is killed when dropped, and whose stdout is read line by
/// line on a background thread.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

/// Starts `binary` (a path from `env!("CARGO_BIN_EXE_…")`) with `args`, colours off.
pub fn start(binary: &str, args: &[&str]) -> Running {
    let mut child = Command::new(binary)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("could not start {binary}: {error}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, lines) = unbounded();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Running {
    /// The process id, e.g. to send it a signal.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line satisfying `wanted` and returns it; panics with everything
    /// printed so far if none comes within `limit` or the output ends.
    pub fn expect_line(&mut self, limit: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no matching line within {limit:?}; output so far:\n{}",
                        self.output()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "the output ended without a matching line:\n{}",
                        self.output()
                    )
                }
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -INT failed");
    }

    /// Waits for the process to exit by itself, reads the rest of its output, and
    /// returns its status; panics if it is still running after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait works") {
                // The reader thread ends at end of output; collect what it read.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    self.seen.push(line);
                }
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "still running after {limit:?}; output so far:\n{}",
                    self.output()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every line read so far.
    pub fn lines(&self) -> &[String] {
        &self.seen
    }

    /// Every line read so far, as one text.
    pub fn output(&self) -> String {
        self.seen.join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already exited is fine; otherwise make sure no test leaves a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `binary` to completion with `args` and returns (exit code, stdout, stderr).
pub fn run(binary: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(binary)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("could not run {binary}: {error}"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A few hundred frames no server should choke on, the same on every run: random
/// bytes, each `sample` cut short at every kind of place, samples with bytes
/// flipped, invalid UTF-8, JSON nested deeper than any parser allows, and one
/// frame of `oversized` bytes. For bad-input sweeps: every one must get an error
/// answer or be dropped, and the server must go on serving.
pub fn bad_frames(seed: u64, samples: &[&[u8]], oversized: usize) -> Vec<Vec<u8>> {
    // xorshift64*: small, fast and the same everywhere; no dependency needed.
    let mut state = seed.max(1);
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for _ in 0..120 {
        let length = (next() % 300) as usize;
        frames.push((0..length).map(|_| next() as u8).collect());
    }
    for sample in samples {
        for _ in 0..20 {
            let cut = (next() as usize) % sample.len().max(1);
            frames.push(sample[..cut].to_vec());
        }
        for _ in 0..20 {
            let mut flipped = sample.to_vec();
            for _ in 0..3 {
                if !flipped.is_empty() {
                    let at = (next() as usize) % flipped.len();
                    flipped[at] = next() as u8;
                }
            }
            frames.push(flipped);
        }
    }
    frames.push(vec![0xff, 0xfe, 0xfd, 0xc3, 0x28]);
    frames.push(vec![b'['; 10_000]);
    frames.push(b"{}".to_vec());
    frames.push(b"null".to_vec());
    frames.push(Vec::new());
    frames.push(vec![b'x'; oversized]);
    frames
}
