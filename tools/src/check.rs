//! Runs one step's grading tests for the learner and boils cargo's output down to
//! what they need next: the first compiler error, or the first failing test's
//! message (which says what it expected, what it got, and the book section).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::grading::{Outcome, parse_libtest};
use crate::state::StepResult;

/// What a step's check found.
#[derive(Debug, Clone)]
pub struct StepCheck {
    /// The tests of the step, by name, or `None` if the crate did not compile.
    pub outcomes: Option<BTreeMap<String, Outcome>>,
    /// The first compiler error, or the first failing test's message.
    pub first_problem: Option<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The failing test's name, or `compile error`.
    pub title: String,
    pub text: String,
}

impl StepCheck {
    pub fn result(&self) -> StepResult {
        match &self.outcomes {
            None => StepResult {
                passed: 0,
                failed: 0,
                compiled: false,
            },
            Some(outcomes) => {
                let passed = outcomes.values().filter(|o| **o == Outcome::Passed).count();
                StepResult {
                    passed,
                    failed: outcomes.len() - passed,
                    compiled: true,
                }
            }
        }
    }

    pub fn failing(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .flatten()
            .filter(|(_, outcome)| **outcome != Outcome::Passed)
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// The message block libtest printed for the failing test `name`, trimmed.
pub fn failure_text(stdout: &str, name: &str) -> String {
    let header = format!("---- {name} stdout ----");
    let mut lines = Vec::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line == header {
            inside = true;
        } else if inside && (line.starts_with("---- ") || line == "failures:") {
            break;
        } else if inside && !line.starts_with("note: run with `RUST_BACKTRACE") {
            lines.push(line);
        }
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// The first `error` block of cargo's rendered diagnostics, and how many errors there were.
pub fn first_compile_error(stderr: &str) -> String {
    let mut block = Vec::new();
    for line in stderr.lines() {
        let plain = strip_ansi(line);
        if block.is_empty() {
            if plain.starts_with("error") {
                block.push(line);
            }
        } else if plain.trim().is_empty()
            || plain.starts_with("error")
            || plain.starts_with("warning")
        {
            break;
        } else {
            block.push(line);
        }
    }
    let count = stderr
        .lines()
        .filter(|line| {
            let plain = strip_ansi(line);
            plain.starts_with("error[") || plain.starts_with("error:")
        })
        .filter(|line| !strip_ansi(line).starts_with("error: could not compile"))
        .count();
    let mut text = block.join("\n");
    if count > 1 {
        text.push_str(&format!(
            "\n({} more errors: fix this one first)",
            count - 1
        ));
    }
    text
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where cargo builds for `workspace`: `CARGO_TARGET_DIR`, or its `target/`.
pub fn target_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from)
}

/// Whether `exerciseNN` has been built into `target` before: if not, the first
/// check compiles it and its dependencies, which takes minutes, not seconds,
/// and the learner should be told so before the wait.
pub fn built_before(target: &Path, chapter: &str) -> bool {
    let prefix = format!("exercise{chapter}-");
    fs::read_dir(target.join("debug").join(".fingerprint")).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
    })
}

/// Runs `cargo test -p exerciseNN --test grade -- stepK_` in `workspace` (every
/// step of the chapter when `step` is `None`).
pub fn run_step(
    cargo: &str,
    workspace: &Path,
    chapter: &str,
    step: Option<usize>,
    color: bool,
) -> std::io::Result<StepCheck> {
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "test",
            "-p",
            &format!("exercise{chapter}"),
            "--test",
            "grade",
        ])
        .args(["--color", if color { "always" } else { "never" }])
        .arg("--")
        .args(step.map(|step| format!("step{step}_")))
        .args(["--color", "never", "--test-threads", "4"])
        .env("RUST_BACKTRACE", "0")
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stdout.contains("running ") {
        return Ok(StepCheck {
            outcomes: None,
            first_problem: Some(Problem {
                title: "compile error".to_owned(),
                text: first_compile_error(&stderr),
            }),
        });
    }
    let outcomes = parse_libtest(&stdout);
    let first_problem = outcomes
        .iter()
        .find(|(_, outcome)| **outcome != Outcome::Passed)
        .map(|(name, _)| Problem {
            title: name.clone(),
            text: failure_text(&stdout, name),
        });
    Ok(StepCheck {
        outcomes: Some(outcomes),
        first_problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chapter_is_built_before_once_cargo_left_its_fingerprint() {
        let target = std::env::temp_dir().join(format!("built-before-{}", std::process::id()));
        assert!(!built_before(&target, "05"), "no target folder yet");
        let fingerprints = target.join("debug").join(".fingerprint");
        fs::create_dir_all(fingerprints.join("exercise07-1a2b")).expect("creates");
        let (five, seven) = (built_before(&target, "05"), built_before(&target, "07"));
        let _ = fs::remove_dir_all(&target);
        assert_eq!((five, seven), (false, true));
    }

    #[test]
    fn keeps_the_failure_block_without_the_backtrace_note() {
        let stdout = "running 1 test\ntest step1_a ... FAILED\n\nfailures:\n\n---- step1_a stdout ----\n\nthread 'step1_a' panicked at tests/grade.rs:3:5:\nexpected 4, got 5; read the book: \"X\" in book/src/ch01.md\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    step1_a\n";
        assert_eq!(
            failure_text(stdout, "step1_a"),
            "thread 'step1_a' panicked at tests/grade.rs:3:5:\nexpected 4, got 5; read the book: \"X\" in book/src/ch01.md"
        );
    }

    #[test]
    fn shows_the_first_compile_error_and_counts_the_rest() {
        let stderr = "   Compiling exercise01\nerror[E0308]: mismatched types\n --> src/lib.rs:3:5\n  |\n3 |     \"x\"\n  |     ^^^ expected `u32`\n\nerror[E0425]: cannot find value `y`\n --> src/lib.rs:9:5\n\nerror: could not compile `exercise01` (lib) due to 2 previous errors\n";
        let text = first_compile_error(stderr);
        assert!(text.starts_with("error[E0308]: mismatched types"), "{text}");
        assert!(text.contains("expected `u32`"), "{text}");
        assert!(
            text.ends_with("(1 more errors: fix this one first)"),
            "{text}"
        );
    }
}
