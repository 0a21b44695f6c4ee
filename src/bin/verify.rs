//! `verify`: the maintainers' checks that CI runs.
//!
//! - `verify grading`: every chapter's solution passes its grading tests, and the
//!   shipped exercise compiles and fails every one of them at a `todo!()`.
//! - `verify book`: every `{{#include}}` in the book resolves to a file and anchor.
//!
//! Each prints a table or list, a last line `N passed, M failed`, and exits
//! non-zero on any problem.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use workbook::{book_check, verify};

/// The maintainers' checks that keep exercises, solutions and the book in step.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    check: Check,
}

#[derive(Debug, Subcommand)]
enum Check {
    /// Solutions pass their grading tests; shipped exercises compile and fail them at todo!().
    Grading {
        /// Chapters to check, e.g. 01 02 (default: every chapter found).
        chapters: Vec<String>,
    },
    /// Every {{#include}} in book/src points at an existing file and anchor.
    Book,
}

fn main() -> ExitCode {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (passed, failed) = match Cli::parse().check {
        Check::Grading { chapters } => grading(&workspace, chapters),
        Check::Book => book(&workspace),
    };
    println!("{passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn grading(workspace: &std::path::Path, chapters: Vec<String>) -> (usize, usize) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let chapters = if chapters.is_empty() {
        verify::chapters(workspace)
    } else {
        chapters
    };
    println!("| chapter | solution     | exercise as shipped              | verdict  |");
    println!("|---------|--------------|----------------------------------|----------|");
    let (mut passed, mut failed, mut problems) = (0, 0, Vec::new());
    for chapter in &chapters {
        let check = verify::check_chapter(&cargo, workspace, chapter);
        println!("{check}");
        let (ok, bad) = check.counts();
        passed += ok;
        failed += bad;
        problems.extend(
            check
                .problems()
                .into_iter()
                .map(|p| format!("{chapter}: {p}")),
        );
    }
    for problem in &problems {
        println!("  problem: {problem}");
    }
    (passed, failed)
}

fn book(workspace: &std::path::Path) -> (usize, usize) {
    let broken = book_check::broken_includes(&workspace.join("book").join("src"));
    for include in &broken {
        println!("  broken: {include}");
    }
    // One check for the whole book: either every include resolves or it does not.
    if broken.is_empty() {
        println!("every {{{{#include}}}} in book/src resolves");
        (1, 0)
    } else {
        (0, broken.len())
    }
}
