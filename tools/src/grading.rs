//! The grading check: proves, for every chapter, that the grading tests and the
//! exercise still fit together.
//!
//! - the reference solution passes every grading test;
//! - the exercise, as shipped, compiles and fails every grading test *at a
//!   `todo!()`* — a test that passes, or fails for another reason, means the
//!   exercise gives something away or the test checks nothing the learner writes.
//!
//! It drives `cargo test` and reads libtest's plain output, so it needs nothing
//! beyond the toolchain.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::process::Command;

/// How a chapter's grading test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Failed; `at_todo` says whether its output shows a `todo!()` panic.
    Failed {
        at_todo: bool,
    },
}

/// The grading tests of one crate, by name, or why they could not run.
pub type TestRun = Result<BTreeMap<String, Outcome>, String>;

/// The marker `todo!()` panics with.
const TODO_MARKER: &str = "not yet implemented";

/// Reads libtest's output: `test NAME ... ok|FAILED` lines and the captured output
/// blocks (`---- NAME stdout ----`) printed for failures.
pub fn parse_libtest(stdout: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        if let Some(name) = rest.strip_suffix(" ... ok") {
            outcomes.insert(name.to_owned(), Outcome::Passed);
        } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
            outcomes.insert(name.to_owned(), Outcome::Failed { at_todo: false });
        }
    }
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            current = Some(name.to_owned());
        } else if line == "failures:" || line.starts_with("test result:") {
            current = None;
        } else if let Some(name) = &current
            && line.contains(TODO_MARKER)
        {
            outcomes.insert(name.clone(), Outcome::Failed { at_todo: true });
        }
    }
    outcomes
}

/// Runs `cargo test -p PACKAGE --test grade` in `workspace`.
pub fn run_grading_tests(cargo: &str, workspace: &Path, package: &str) -> TestRun {
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "test",
            "--quiet",
            "-p",
            package,
            "--test",
            "grade",
            "--no-fail-fast",
        ])
        .args(["--", "--test-threads", "4", "--format", "pretty"])
        .env("NO_COLOR", "1")
        .output()
        .map_err(|error| format!("could not run {cargo}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stdout.contains("running ") {
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("did not compile:\n{}", tail.join("\n")));
    }
    let outcomes = parse_libtest(&stdout);
    // A reference solution must pass everything: when one of its tests fails
    // (in CI, a flaky test), say why here, or the run only says that it failed.
    if package.starts_with("solution") {
        for (name, outcome) in &outcomes {
            if *outcome != Outcome::Passed {
                eprintln!(
                    "---- {package}: {name}\n{}",
                    crate::check::failure_text(&stdout, name)
                );
            }
        }
    }
    Ok(outcomes)
}

/// What the verifier found for one chapter.
#[derive(Debug, Clone)]
pub struct ChapterCheck {
    pub chapter: String,
    pub solution: TestRun,
    pub exercise: TestRun,
}

impl ChapterCheck {
    /// Every problem found; empty means the chapter is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match &self.solution {
            Err(error) => problems.push(format!("solution {error}")),
            Ok(tests) if tests.is_empty() => problems.push("solution has no grading tests".into()),
            Ok(tests) => problems.extend(
                tests
                    .iter()
                    .filter(|(_, outcome)| **outcome != Outcome::Passed)
                    .map(|(name, _)| format!("solution fails {name}")),
            ),
        }
        match &self.exercise {
            Err(error) => problems.push(format!("exercise {error}")),
            Ok(tests) => {
                problems.extend(tests.iter().filter_map(|(name, outcome)| match outcome {
                    Outcome::Passed => Some(format!("exercise passes {name} as shipped")),
                    Outcome::Failed { at_todo: false } => {
                        Some(format!("exercise fails {name}, but not at a todo!()"))
                    }
                    Outcome::Failed { at_todo: true } => None,
                }));
                if let Ok(solution) = &self.solution
                    && solution.len() != tests.len()
                {
                    problems.push(format!(
                        "solution ran {} grading tests, exercise {}",
                        solution.len(),
                        tests.len()
                    ));
                }
            }
        }
        problems
    }

    /// (expectations met, expectations not met), one per grading test per crate.
    pub fn counts(&self) -> (usize, usize) {
        let tests = |run: &TestRun| run.as_ref().map_or(0, BTreeMap::len);
        let expected = tests(&self.solution) + tests(&self.exercise);
        let problems = self.problems().len();
        (expected.saturating_sub(problems), problems)
    }
}

impl fmt::Display for ChapterCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let solution = match &self.solution {
            Ok(tests) => {
                let passed = tests.values().filter(|o| **o == Outcome::Passed).count();
                format!("{passed}/{} pass", tests.len())
            }
            Err(_) => "does not run".to_owned(),
        };
        let exercise = match &self.exercise {
            Ok(tests) => {
                let at_todo = tests
                    .values()
                    .filter(|o| **o == Outcome::Failed { at_todo: true })
                    .count();
                format!("compiles, {at_todo}/{} fail at todo!()", tests.len())
            }
            Err(_) => "does not compile".to_owned(),
        };
        let verdict = if self.problems().is_empty() {
            "ok"
        } else {
            "MISMATCH"
        };
        write!(
            f,
            "| {:<7} | {solution:<12} | {exercise:<32} | {verdict:<8} |",
            self.chapter
        )
    }
}

/// Checks one chapter.
pub fn check_chapter(cargo: &str, workspace: &Path, chapter: &str) -> ChapterCheck {
    ChapterCheck {
        chapter: chapter.to_owned(),
        solution: run_grading_tests(cargo, workspace, &format!("solution{chapter}")),
        exercise: run_grading_tests(cargo, workspace, &format!("exercise{chapter}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
running 3 tests
test passes ... ok
test fails_at_todo ... FAILED
test fails_otherwise ... FAILED

failures:

---- fails_at_todo stdout ----

thread 'fails_at_todo' panicked at src/lib.rs:3:5:
not yet implemented: spawn threads
note: run with `RUST_BACKTRACE=1`

---- fails_otherwise stdout ----

thread 'fails_otherwise' panicked at tests/grade.rs:9:5:
assertion failed

failures:
    fails_at_todo
    fails_otherwise

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out
";

    #[test]
    fn reads_outcomes_and_todo_panics() {
        let outcomes = parse_libtest(OUTPUT);
        assert_eq!(outcomes["passes"], Outcome::Passed);
        assert_eq!(outcomes["fails_at_todo"], Outcome::Failed { at_todo: true });
        assert_eq!(
            outcomes["fails_otherwise"],
            Outcome::Failed { at_todo: false }
        );
    }

    #[test]
    fn an_exercise_that_passes_a_test_is_a_mismatch() {
        let check = ChapterCheck {
            chapter: "01".into(),
            solution: Ok(parse_libtest("test a ... ok\ntest b ... ok\n")),
            exercise: Ok(parse_libtest(OUTPUT)),
        };
        let problems = check.problems();
        assert!(
            problems.iter().any(|p| p.contains("passes passes")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("not at a todo")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("ran 2 grading tests, exercise 3"))
        );
    }
}
