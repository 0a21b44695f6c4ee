//! Proves that every todo is graded, and that the steps really are steps.
//!
//! For each todo, the solution with only that body replaced by `todo!()` must fail
//! at least one grading test: otherwise a learner could leave it unwritten and
//! still pass. And for each step K, the tests of steps 1..=K must pass while every
//! later step is still `todo!()`: otherwise a learner could not finish step 1
//! before starting step 2.
//!
//! Building the chapter once per todo would take most of an hour, so the exercise
//! crate is built once as a [`Build::Switchable`] crate, in which any set of todos
//! can be switched on at run time through [`MUTANTS_VAR`]; then the grading test
//! binary runs once per todo and once per step. The shipped skeleton is written
//! back as soon as the build is done.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::chapter::Chapter;
use crate::generate::{self, Build, MUTANTS_VAR};
use crate::grading::{Outcome, parse_libtest};

/// How long one run of a chapter's grading tests may take before it counts as hung.
pub const RUN_LIMIT: Duration = Duration::from_secs(240);

/// One run of the grading tests with some todos switched on.
#[derive(Debug, Clone)]
pub struct Run {
    pub outcomes: BTreeMap<String, Outcome>,
    /// The run was killed at [`RUN_LIMIT`]; tests that had not finished are missing.
    pub hung: bool,
}

impl Run {
    pub fn failed(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| **outcome != Outcome::Passed)
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// What the check found for one todo.
#[derive(Debug, Clone)]
pub struct TodoCheck {
    pub id: String,
    pub step: usize,
    pub run: Run,
}

impl TodoCheck {
    pub fn caught(&self) -> bool {
        self.run.hung || !self.run.failed().is_empty()
    }
}

/// What the check found for one step: the tests of steps 1..=K that failed while the
/// later steps were todo!().
#[derive(Debug, Clone)]
pub struct StepCheck {
    pub step: usize,
    pub tests: usize,
    pub failing: Vec<String>,
    pub hung: bool,
}

/// The whole report for a chapter.
#[derive(Debug, Clone)]
pub struct ChapterReport {
    pub chapter: String,
    pub tests: Vec<String>,
    pub todos: Vec<TodoCheck>,
    pub steps: Vec<StepCheck>,
    /// Problems with the test names themselves (no step, a step that does not exist…).
    pub naming: Vec<String>,
}

impl ChapterReport {
    /// (checks passed, checks failed): one per todo, one per step, one per naming problem.
    pub fn counts(&self) -> (usize, usize) {
        let todos_ok = self.todos.iter().filter(|t| t.caught()).count();
        let steps_ok = self
            .steps
            .iter()
            .filter(|s| s.failing.is_empty() && !s.hung && s.tests > 0)
            .count();
        let passed = todos_ok + steps_ok;
        let failed = self.todos.len() + self.steps.len() - passed + self.naming.len();
        (passed, failed)
    }

    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for todo in &self.todos {
            if !todo.caught() {
                problems.push(format!(
                    "{}: todo {} (step {}) is caught by no grading test: a learner can leave it \
                     unwritten and pass",
                    self.chapter, todo.id, todo.step
                ));
            }
        }
        for step in &self.steps {
            if step.tests == 0 {
                problems.push(format!(
                    "{}: step {} has no grading test named step{}_…",
                    self.chapter, step.step, step.step
                ));
            } else if step.hung {
                problems.push(format!(
                    "{}: with the steps after {} left todo!(), the tests hung",
                    self.chapter, step.step
                ));
            } else if !step.failing.is_empty() {
                problems.push(format!(
                    "{}: step {} cannot pass before the later steps are written: {} fail while \
                     they are todo!()",
                    self.chapter,
                    step.step,
                    step.failing.join(", ")
                ));
            }
        }
        problems.extend(self.naming.iter().map(|p| format!("{}: {p}", self.chapter)));
        problems
    }
}

/// The step a test belongs to, from its name: `step2_…` (after any module path).
pub fn test_step(name: &str) -> Option<usize> {
    let last = name.rsplit("::").next().unwrap_or(name);
    let digits = last.strip_prefix("step")?;
    let end = digits.find('_')?;
    digits[..end].parse().ok()
}

#[derive(Deserialize)]
struct Artifact {
    reason: String,
    target: Option<Target>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
}

/// Writes the skeleton back when dropped, whatever happened in between.
struct RestoreSkeleton<'a>(&'a Chapter);

impl Drop for RestoreSkeleton<'_> {
    fn drop(&mut self) {
        if let Err(error) = generate::write(self.0, Build::Skeleton) {
            eprintln!(
                "could not write exercise{} back: {error}; run `cargo run --bin verify -- exercises --write`",
                self.0.number
            );
        }
    }
}

/// Builds the switchable exercise crate's grading tests and copies the binary aside.
fn build_switchable(cargo: &str, workspace: &Path, chapter: &Chapter) -> Result<PathBuf, String> {
    let restore = RestoreSkeleton(chapter);
    generate::write(chapter, Build::Switchable)
        .map_err(|error| format!("could not write the switchable build: {error}"))?;
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "test",
            "-p",
            &chapter.package(),
            "--test",
            "grade",
            "--no-run",
        ])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("could not run {cargo}: {error}"))?;
    drop(restore);
    if !output.status.success() {
        return Err(format!(
            "the switchable build of exercise{} does not compile (see above)",
            chapter.number
        ));
    }
    let executable = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Artifact>(line).ok())
        .filter(|a| a.reason == "compiler-artifact")
        .filter(|a| a.target.as_ref().is_some_and(|t| t.name == "grade"))
        .find_map(|a| a.executable)
        .ok_or("cargo built no `grade` test binary")?;
    // The skeleton's build will replace that file; keep our own copy.
    let aside = workspace
        .join("target")
        .join("mutants")
        .join(format!("exercise{}-grade", chapter.number));
    std::fs::create_dir_all(aside.parent().unwrap_or(workspace))
        .and_then(|()| std::fs::copy(&executable, &aside))
        .map_err(|error| format!("could not copy {}: {error}", executable.display()))?;
    Ok(aside)
}

/// Runs the grading binary with `mutants` switched on, killing it after [`RUN_LIMIT`].
fn run_tests(binary: &Path, dir: &Path, mutants: &[&str]) -> Result<Run, String> {
    run_tests_named(binary, dir, mutants, &[])
}

/// [`run_tests`], but only the tests named in `only` (all when it is empty).
fn run_tests_named(
    binary: &Path,
    dir: &Path,
    mutants: &[&str],
    only: &[&str],
) -> Result<Run, String> {
    let mut command = Command::new(binary);
    if !only.is_empty() {
        command.arg("--exact").args(only);
    }
    let mut child = command
        .current_dir(dir)
        .args(["--test-threads", "4", "--color", "never"])
        .env(MUTANTS_VAR, mutants.join(","))
        .env("CARGO_MANIFEST_DIR", dir)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("could not run {}: {error}", binary.display()))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let mut hung = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > RUN_LIMIT => {
                hung = true;
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(format!("waiting for the tests: {error}")),
        }
    }
    let text = reader.join().unwrap_or_default();
    Ok(Run {
        outcomes: parse_libtest(&text),
        hung,
    })
}

/// Runs `work` over `items` on `jobs` threads, keeping the input order.
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
                        let index = *next;
                        *next += 1;
                        index
                    };
                    let Some(item) = items.get(index) else { break };
                    let result = work(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Checks every todo and every step of `chapter`.
pub fn check_chapter(
    cargo: &str,
    workspace: &Path,
    chapter: &Chapter,
    jobs: usize,
) -> Result<ChapterReport, String> {
    let binary = build_switchable(cargo, workspace, chapter)?;
    let dir = &chapter.exercise_dir;

    let baseline = run_tests(&binary, dir, &[])?;
    if baseline.hung || !baseline.failed().is_empty() || baseline.outcomes.is_empty() {
        return Err(format!(
            "with no todo switched on (that is, the solution) the grading tests must all pass; \
             failing: {:?}{}",
            baseline.failed(),
            if baseline.hung { " (hung)" } else { "" }
        ));
    }
    let tests: Vec<String> = baseline.outcomes.keys().cloned().collect();
    let steps = chapter.hints.steps.len();
    let naming: Vec<String> = tests
        .iter()
        .filter(|name| !test_step(name).is_some_and(|step| (1..=steps).contains(&step)))
        .map(|name| format!("test {name} is not named step1_… to step{steps}_…"))
        .collect();

    let todos = chapter.todos();
    let runs = parallel(&todos, jobs, |place| run_tests(&binary, dir, &[place.id]));
    let mut todo_checks = Vec::new();
    for (place, run) in todos.iter().zip(runs) {
        todo_checks.push(TodoCheck {
            id: place.id.to_owned(),
            step: place.step,
            run: run?,
        });
    }

    let step_numbers: Vec<usize> = (1..=steps).collect();
    let runs = parallel(&step_numbers, jobs, |&step| {
        let later: Vec<&str> = chapter.hints.steps[step..]
            .iter()
            .flat_map(|s| s.todos.iter().map(String::as_str))
            .collect();
        let mine: Vec<&str> = tests
            .iter()
            .filter(|name| test_step(name).is_some_and(|s| s <= step))
            .map(String::as_str)
            .collect();
        run_tests_named(&binary, dir, &later, &mine).map(|run| (mine, run))
    });
    let mut step_checks = Vec::new();
    for (&step, result) in step_numbers.iter().zip(runs) {
        let (mine, run) = result?;
        let missing = |name: &&&str| !run.outcomes.contains_key(**name);
        step_checks.push(StepCheck {
            step,
            tests: tests
                .iter()
                .filter(|name| test_step(name) == Some(step))
                .count(),
            failing: mine
                .iter()
                .filter(|name| match run.outcomes.get(**name) {
                    Some(outcome) => *outcome != Outcome::Passed,
                    None => !run.hung,
                })
                .map(|name| (*name).to_owned())
                .collect(),
            hung: run.hung && mine.iter().any(|name| missing(&name)),
        });
    }
    Ok(ChapterReport {
        chapter: chapter.number.clone(),
        tests,
        todos: todo_checks,
        steps: step_checks,
        naming,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_name_says_its_step() {
        assert_eq!(test_step("step2_pool_runs_jobs"), Some(2));
        assert_eq!(test_step("network::step12_server_drains"), Some(12));
        assert_eq!(test_step("pool_runs_jobs"), None);
        assert_eq!(test_step("stepx_pool"), None);
    }
}
