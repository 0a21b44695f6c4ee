//! A tiny workspace for the tools' own tests: one chapter, two todos in two steps,
//! a grading test file, hints and a book chapter. Each test gets a fresh copy.

#![allow(dead_code)] // each test file uses a part of it

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use workbook_tools::chapter::Chapter;
use workbook_tools::generate::{self, Build};

/// The tiny workspace's manifest. Its skeleton's build.rs calls the real
/// `todos-left` crate, as every generated exercise's does.
pub fn workspace() -> String {
    let todos_left = Path::new(env!("CARGO_MANIFEST_DIR")).join("../exercises/todos-left");
    format!(
        r#"[workspace]
members = ["solutions/solution01", "exercises/exercise01"]
resolver = "3"

[workspace.dependencies]
todos-left = {{ path = {:?} }}
"#,
        todos_left.display().to_string()
    )
}

pub const SOLUTION_MANIFEST: &str = r#"[package]
name = "solution01"
version = "0.1.0"
description = "Tiny reference solution"
edition = "2024"

[features]
extra = []
"#;

pub const SOLUTION_LIB: &str = r#"//! A tiny chapter.

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

pub const GRADE_INCLUDE: &str = r#"extern crate solution01 as exercise01;
include!("../../../exercises/exercise01/tests/grade.rs");
"#;

pub const GRADE: &str = r#"#[test]
fn step1_double_doubles() {
    assert_eq!(exercise01::double(2), 4);
}

#[test]
fn step2_greet_returns_something() {
    let _ = exercise01::double(1);
}
"#;

pub const HINTS: &str = r#"chapter = "ch01-tiny.md"

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

pub const BOOK: &str = "# 01 — Tiny\n\n## Doubling\n\n## Greeting {politely}\n";

pub const EXPECTED_SKELETON: &str = r#"//! A tiny chapter.
//!
//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:
//! `cargo workbook check 01.1` grades step 1 (`cargo test -p exercise01 step1` underneath),
//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is
//! generated from the reference solution, `solutions/solution01`: everything outside
//! the todos is the same code.

// While a todo!() is left, the helpers it will call look unused; build.rs sets
// `workbook_todos_left` until the last one is written, and then the compiler warns
// about unused code again. Each todo's function has its own allowance, for its
// parameters, which lasts only until that todo!() is replaced.
#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]

/// Twice `x`.
#[cfg_attr(workbook_todo_double, allow(unused_variables))]
pub fn double(x: u32) -> u32 {
    // TODO(double): return twice x
    todo!("double — book: ch01, \"Doubling\"")
}

/// A greeting nobody tests.
#[cfg_attr(workbook_todo_greet, allow(unused_variables))]
pub fn greet() -> &'static str {
    // TODO(greet): say hello
    todo!("greet — book: ch01, \"Greeting {{politely}}\"")
}
"#;

pub fn scratch() -> PathBuf {
    scratch_with(GRADE)
}

/// The tiny workspace, with `grade` as its grading tests.
pub fn scratch_with(grade: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("workbook-tools-{}-{nanos}", std::process::id()));
    let workspace = workspace();
    let files: [(&str, &str); 7] = [
        ("Cargo.toml", &workspace),
        ("solutions/solution01/Cargo.toml", SOLUTION_MANIFEST),
        ("solutions/solution01/src/lib.rs", SOLUTION_LIB),
        ("solutions/solution01/tests/grade.rs", GRADE_INCLUDE),
        ("exercises/exercise01/tests/grade.rs", grade),
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

pub struct Cleanup(pub PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("the generator wrote it")
}

/// A fresh tiny workspace with its exercise's skeleton written: the folder, the
/// guard that deletes it (keep it alive for the test), and the chapter.
pub fn with_skeleton() -> (PathBuf, Cleanup, Chapter) {
    let dir = scratch();
    let cleanup = Cleanup(dir.clone());
    let chapter = Chapter::load(&dir, "01").expect("the fixture chapter loads");
    generate::write(&chapter, Build::Skeleton).expect("writes the skeleton");
    (dir, cleanup, chapter)
}

/// The skeleton's `lib.rs` with `double`'s todo written as `body`.
pub fn with_double(body: &str) -> String {
    EXPECTED_SKELETON.replace(
        "    // TODO(double): return twice x\n    todo!(\"double — book: ch01, \\\"Doubling\\\"\")\n",
        &format!("    {body}\n"),
    )
}
