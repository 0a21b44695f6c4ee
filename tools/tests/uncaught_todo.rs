//! The verifier's own test: a tiny workspace with one todo the grading tests catch
//! and one they do not. `verify todos` must name the second, and the generator must
//! write the skeleton exactly as `exercises/README.md` says.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use workbook_tools::chapter::Chapter;
use workbook_tools::generate::{self, Build};
use workbook_tools::mutants;

const WORKSPACE: &str = r#"[workspace]
members = ["solutions/solution01", "exercises/exercise01"]
resolver = "3"
"#;

const SOLUTION_MANIFEST: &str = r#"[package]
name = "solution01"
version = "0.1.0"
description = "Tiny reference solution"
edition = "2024"

[features]
extra = []
"#;

const SOLUTION_LIB: &str = r#"//! A tiny chapter.

/// Twice `x`.
pub fn double(x: u32) -> u32 {
    // ANCHOR: todo-double
    x * 2
    // ANCHOR_END: todo-double
}

/// A greeting nobody tests.
pub fn greet() -> &'static str {
    // ANCHOR: todo-greet
    "hello"
    // ANCHOR_END: todo-greet
}
"#;

const GRADE_INCLUDE: &str = r#"extern crate solution01 as exercise01;
include!("../../../exercises/exercise01/tests/grade.rs");
"#;

const GRADE: &str = r#"#[test]
fn step1_double_doubles() {
    assert_eq!(exercise01::double(2), 4);
}

#[test]
fn step2_greet_returns_something() {
    let _ = exercise01::double(1);
}
"#;

const HINTS: &str = r#"chapter = "ch01-tiny.md"

[[steps]]
name = "Doubling"
todos = ["double"]

[[steps]]
name = "Greeting"
todos = ["greet"]

[todos.double]
section = "Doubling"
write = "return twice x"
hints = ["idea", "api", "code"]

[todos.greet]
section = "Greeting {politely}"
write = "say hello"
hints = ["idea", "api", "code"]
"#;

const BOOK: &str = "# 01 — Tiny\n\n## Doubling\n\n## Greeting {politely}\n";

const EXPECTED_SKELETON: &str = r#"//! A tiny chapter.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo test -p exercise01 step1` grades step 1, and `exercises/exercise01/hints.toml`
//! has three levels of hints for each todo. The crate is generated from the reference
//! solution, `solutions/solution01`, so everything outside the todos is the same code.

// Until the todo!() bodies are written, their parameters and helpers look unused.
#![allow(unused_variables, unused_imports, dead_code)]

/// Twice `x`.
pub fn double(x: u32) -> u32 {
    // TODO(double): return twice x
    todo!("double — book: ch01, \"Doubling\"")
}

/// A greeting nobody tests.
pub fn greet() -> &'static str {
    // TODO(greet): say hello
    todo!("greet — book: ch01, \"Greeting {{politely}}\"")
}
"#;

fn scratch() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("workbook-tools-{}-{nanos}", std::process::id()));
    let files: [(&str, &str); 7] = [
        ("Cargo.toml", WORKSPACE),
        ("solutions/solution01/Cargo.toml", SOLUTION_MANIFEST),
        ("solutions/solution01/src/lib.rs", SOLUTION_LIB),
        ("solutions/solution01/tests/grade.rs", GRADE_INCLUDE),
        ("exercises/exercise01/tests/grade.rs", GRADE),
        ("exercises/exercise01/hints.toml", HINTS),
        ("book/src/ch01-tiny.md", BOOK),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a file has a folder")).expect("mkdir");
        fs::write(path, text).expect("write the fixture");
    }
    dir
}

struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("the generator wrote it")
}

#[test]
fn the_verifier_names_a_todo_no_test_catches() {
    let dir = scratch();
    let _cleanup = Cleanup(dir.clone());
    let chapter = Chapter::load(&dir, "01").expect("the fixture chapter loads");
    generate::write(&chapter, Build::Skeleton).expect("writes the exercise");

    let exercise = dir.join("exercises/exercise01");
    assert_eq!(read(&exercise.join("src/lib.rs")), EXPECTED_SKELETON);
    let manifest = read(&exercise.join("Cargo.toml"));
    assert!(manifest.contains("name = \"exercise01\""), "{manifest}");
    assert!(manifest.contains("Tiny exercise"), "{manifest}");
    assert!(!manifest.contains("[features]"), "{manifest}");
    assert!(generate::differences(&chapter).expect("reads").is_empty());

    let cargo = workbook_tools::cargo();
    let report = mutants::check_chapter(&cargo, &dir, &chapter, 2).expect("the check runs");
    let caught: Vec<(&str, bool)> = report
        .todos
        .iter()
        .map(|todo| (todo.id.as_str(), todo.caught()))
        .collect();
    assert_eq!(caught, vec![("double", true), ("greet", false)]);
    assert_eq!(
        report.todos[0].run.failed(),
        vec!["step1_double_doubles", "step2_greet_returns_something"]
    );
    let problems = report.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("todo greet"), "{problems:?}");
    assert_eq!(
        report.counts(),
        (3, 1),
        "double caught, 2 steps pass, greet not"
    );

    // The switchable build is gone again: the skeleton is back, byte for byte.
    assert_eq!(read(&exercise.join("src/lib.rs")), EXPECTED_SKELETON);
}

#[test]
fn a_step_that_needs_a_later_step_is_reported() {
    let dir = scratch();
    let _cleanup = Cleanup(dir.clone());
    // Step 1's test now calls greet, a step 2 todo.
    fs::write(
        dir.join("exercises/exercise01/tests/grade.rs"),
        GRADE.replace(
            "assert_eq!(exercise01::double(2), 4);",
            "assert_eq!(exercise01::double(2), 4);\n    assert_eq!(exercise01::greet(), \"hello\");",
        ),
    )
    .expect("write");
    let chapter = Chapter::load(&dir, "01").expect("loads");
    generate::write(&chapter, Build::Skeleton).expect("writes");
    let report = mutants::check_chapter(&workbook_tools::cargo(), &dir, &chapter, 2).expect("runs");
    assert_eq!(report.steps[0].failing, vec!["step1_double_doubles"]);
    assert!(report.steps[1].failing.is_empty());
    assert!(
        report
            .problems()
            .iter()
            .any(|p| p.contains("step 1 cannot pass before the later steps")),
        "{:?}",
        report.problems()
    );
}
