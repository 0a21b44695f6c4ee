//! The `chaos` command runs the *real* binaries, so it has to have them: it asks
//! cargo to build the chapter's package (`cargo build -p workbook-chNN --bins`, in
//! the same profile as itself: `cargo run --release --bin chaos` tests release
//! binaries) and takes their paths from cargo's own report of what it built, so
//! `CARGO_TARGET_DIR` and friends are honoured. `--bin-dir` skips the build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::ChaosError;

/// The workspace's root: where this crate's folder sits.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Builds `package`'s binaries (`--release` if `release`) and returns each
/// binary's path by name. Cargo's progress goes to our stderr.
pub fn build(package: &str, release: bool) -> Result<HashMap<String, PathBuf>, ChaosError> {
    // `cargo run` tells the program which cargo ran it.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root()).args([
        "build",
        "-p",
        package,
        "--bins",
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        command.arg("--release");
    }
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| ChaosError::Io {
            what: "run cargo".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(ChaosError::Build(format!(
            "cargo build -p {package} exited with {}",
            output.status
        )));
    }
    let mut found = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            found.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    Ok(found)
}

/// The binaries `names` in `dir`.
pub fn in_dir(dir: &Path, names: &[&str]) -> Result<HashMap<String, PathBuf>, ChaosError> {
    names
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            if path.is_file() {
                Ok((name.to_string(), path))
            } else {
                Err(ChaosError::Setup(format!(
                    "no {} in {}",
                    name,
                    dir.display()
                )))
            }
        })
        .collect()
}

/// The path of `name` among `found`, or a clear error.
pub fn pick(found: &HashMap<String, PathBuf>, name: &str) -> Result<PathBuf, ChaosError> {
    found
        .get(name)
        .cloned()
        .ok_or_else(|| ChaosError::Setup(format!("cargo built no binary named {name}")))
}
