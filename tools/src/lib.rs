//! The maintainers' side of the workbook: what keeps exercises, solutions and the
//! book in step, so that nobody has to keep them in step by hand.
//!
//! - [`markers`] finds the bodies a solution marks as exercised (`// ANCHOR: todo-…`);
//! - [`hints`] reads a chapter's `hints.toml`: its steps, what each todo asks, three
//!   levels of hints;
//! - [`chapter`] puts the two together and checks they agree;
//! - [`generate`] writes an exercise crate from its solution: the learner's skeleton,
//!   or a build in which any todo can be switched on at run time;
//! - [`mutants`] proves every todo is graded: the solution with that one body
//!   missing must fail a grading test;
//! - [`grading`] proves the shipped exercise fails and the solution passes;
//! - [`book_check`] proves every `{{#include}}` of the book resolves, and
//!   [`answers`] that the book asks before it shows: exercised code only folded,
//!   after its step's "Your turn"; [`links`] that its own links and
//!   `#anchors` lead somewhere;
//! - [`progress`], [`check`], [`state`] and [`reset`] are the learner's side,
//!   behind `cargo workbook`: what is left, one step's tests boiled down to the
//!   first problem, the hints revealed so far, and putting a skeleton back.
//!
//! This crate has no ZeroMQ, tonic or SQLite in its build: it drives `cargo` as a
//! process, so it compiles in seconds.

pub mod answers;
pub mod book_check;
pub mod chapter;
pub mod check;
pub mod generate;
pub mod grading;
pub mod hints;
pub mod links;
pub mod markers;
pub mod mutants;
pub mod progress;
pub mod reset;
pub mod state;

use std::path::{Path, PathBuf};

/// The workbook the learner is in: the nearest folder, from the current one up,
/// that holds both `exercises/` and `tools/Cargo.toml`. Two clones may share one
/// target folder (and so one `workbook` binary); the folder you stand in decides
/// which one you work on. Outside any workbook: the one this crate was built in.
pub fn workspace() -> PathBuf {
    let is_workbook =
        |dir: &Path| dir.join("exercises").is_dir() && dir.join("tools/Cargo.toml").is_file();
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .find(|dir| is_workbook(dir))
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        })
}

/// The `cargo` that runs us, so nested builds use the same toolchain.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
