//! Python peers: the original designs, run next to the Rust code in the same
//! invocation. Peers that need only the standard library use the machine's
//! `python3`; peers that need PyPI packages (pyzmq, grpcio) get a virtual
//! environment under `target/`, created on first use and reused afterwards, so
//! nothing is ever installed by hand.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a Python peer could not run.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    #[error("python3 is needed for the Python peers but could not be run: {0}")]
    NotFound(std::io::Error),
    #[error("could not create the virtual environment {path}: {detail}")]
    Venv { path: String, detail: String },
    #[error("pip could not install {packages} from PyPI: {detail}")]
    Pip { packages: String, detail: String },
    #[error("the Python peer {script} failed: {detail}")]
    Peer { script: String, detail: String },
    #[error("the Python peer {script} printed something that is not JSON: {output}")]
    Output { script: String, output: String },
}

/// A Python interpreter to run peers with.
#[derive(Debug, Clone)]
pub struct Python {
    executable: PathBuf,
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `bench/peers/NAME`: where the Python peers live.
pub fn peer(name: &str) -> PathBuf {
    workspace_root().join("bench").join("peers").join(name)
}

/// Cargo's target folder: `$CARGO_TARGET_DIR`, or `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn failure(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last: Vec<&str> = stderr.lines().rev().take(15).collect();
    let tail: Vec<&str> = last.into_iter().rev().collect();
    format!("{} — {}", output.status, tail.join("\n"))
}

impl Python {
    /// The machine's `python3`, for peers that need only the standard library.
    pub fn system() -> Result<Self, PythonError> {
        let python = Self {
            executable: PathBuf::from("python3"),
        };
        python.check()?;
        Ok(python)
    }

    /// A virtual environment under `target/python-venv` with `packages` installed
    /// from PyPI. Safe to call from several tests at once: a file lock makes one of
    /// them create it while the others wait.
    pub fn venv(packages: &[&str]) -> Result<Self, PythonError> {
        let target = target_dir();
        let root = target.join("python-venv");
        let venv_error = |detail: String| PythonError::Venv {
            path: root.display().to_string(),
            detail,
        };
        fs::create_dir_all(&target).map_err(|e| venv_error(e.to_string()))?;
        let lock =
            File::create(target.join("python-venv.lock")).map_err(|e| venv_error(e.to_string()))?;
        lock.lock().map_err(|e| venv_error(e.to_string()))?;

        let python = Self {
            executable: root.join("bin").join("python"),
        };
        if !python.executable.exists() {
            let output = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&root)
                .output()
                .map_err(PythonError::NotFound)?;
            if !output.status.success() {
                return Err(venv_error(failure(&output)));
            }
        }

        // A marker of what is installed spares a slow `pip install` on every run.
        let marker = root.join("workbook-packages.txt");
        let installed: BTreeSet<String> = fs::read_to_string(&marker)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let missing: Vec<&str> = packages
            .iter()
            .copied()
            .filter(|package| !installed.contains(*package))
            .collect();
        if !missing.is_empty() {
            let output = Command::new(&python.executable)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(&missing)
                .output()
                .map_err(PythonError::NotFound)?;
            if !output.status.success() {
                return Err(PythonError::Pip {
                    packages: missing.join(" "),
                    detail: failure(&output),
                });
            }
            let all: BTreeSet<String> = installed
                .into_iter()
                .chain(missing.iter().map(|p| (*p).to_owned()))
                .collect();
            let text: String = all.iter().map(|p| format!("{p}\n")).collect();
            fs::write(&marker, text).map_err(|e| venv_error(e.to_string()))?;
        }
        Ok(python)
    }

    fn check(&self) -> Result<(), PythonError> {
        Command::new(&self.executable)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .map_err(PythonError::NotFound)
            .map(drop)
    }

    /// The interpreter's path, e.g. to start a long-running peer in a test.
    pub fn executable(&self) -> &Path {
        &self.executable
    }

    /// A command that runs `script` with this interpreter, unbuffered.
    pub fn command(&self, script: &Path) -> Command {
        let mut command = Command::new(&self.executable);
        command.arg("-u").arg(script);
        command
    }

    /// Runs `script args…` to completion and parses the JSON it prints last.
    pub fn run_json(
        &self,
        script: &Path,
        args: &[String],
    ) -> Result<serde_json::Value, PythonError> {
        let name = script.display().to_string();
        let output = self
            .command(script)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(PythonError::NotFound)?;
        if !output.status.success() {
            return Err(PythonError::Peer {
                script: name,
                detail: failure(&output),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).map_err(|_| PythonError::Output {
            script: name,
            output: stdout.into_owned(),
        })
    }
}

/// `proto/workbook.proto`: the contract the Python stubs are generated from.
pub fn workbook_proto() -> PathBuf {
    workspace_root().join("proto").join("workbook.proto")
}

impl Python {
    /// Generates the grpcio stubs (`workbook_pb2.py`, `workbook_pb2_grpc.py`) for
    /// `proto/workbook.proto` into `out_dir`, with grpcio-tools' own protoc. The
    /// interpreter must be a venv with `grpcio-tools` installed.
    pub fn grpc_stubs(&self, out_dir: &Path) -> Result<(), PythonError> {
        let proto = workbook_proto();
        let include = proto.parent().unwrap_or_else(|| Path::new("."));
        let stub_error = |detail: String| PythonError::Peer {
            script: "grpc_tools.protoc".to_owned(),
            detail,
        };
        fs::create_dir_all(out_dir).map_err(|e| stub_error(e.to_string()))?;
        let output = Command::new(&self.executable)
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", include.display()))
            .arg(format!("--python_out={}", out_dir.display()))
            .arg(format!("--grpc_python_out={}", out_dir.display()))
            .arg(&proto)
            .output()
            .map_err(PythonError::NotFound)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(stub_error(failure(&output)))
        }
    }
}
