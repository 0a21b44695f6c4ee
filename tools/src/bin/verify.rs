//! `verify`: the maintainers' checks that CI runs.
//!
//! - `verify exercises [--write] [NN…]`: each exercise crate is exactly what the
//!   generator writes from its solution (`--write` regenerates them);
//! - `verify todos [NN…]`: every todo is caught by a grading test, and each step's
//!   tests pass while the later steps are still `todo!()`;
//! - `verify grading [NN…]`: every solution passes its grading tests, and the
//!   shipped exercise compiles and fails every one of them at a `todo!()`;
//! - `verify book`: every `{{#include}}` in the book resolves to a file and anchor,
//!   and the book asks before it shows: each step has its "Your turn", and an
//!   exercised body appears only folded, after it.
//!
//! Each prints a table or list, a last line `N passed, M failed`, and exits
//! non-zero on any problem.

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use workbook_tools::chapter::{self, Chapter};
use workbook_tools::{answers, book_check, generate, grading, links, mutants};

/// The maintainers' checks that keep exercises, solutions and the book in step.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    check: Check,
}

#[derive(Debug, Subcommand)]
enum Check {
    /// Each exercises/exerciseNN is what the generator writes from solutions/solutionNN.
    Exercises {
        /// Regenerate the exercise crates instead of checking them.
        #[arg(long)]
        write: bool,
        /// Chapters, e.g. 02 04 (default: every chapter with a hints.toml).
        chapters: Vec<String>,
    },
    /// Every todo fails a grading test when left out; each step passes before the next is written.
    Todos {
        /// How many test runs at once.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Chapters, e.g. 02 04 (default: every chapter with a hints.toml).
        chapters: Vec<String>,
    },
    /// Solutions pass their grading tests; shipped exercises compile and fail them at todo!().
    Grading {
        /// Chapters to check, e.g. 01 02 (default: every chapter found).
        chapters: Vec<String>,
    },
    /// Every {{#include}} resolves; exercised code is shown only folded, after its step's "Your turn".
    Book,
}

fn main() -> ExitCode {
    let workspace = workbook_tools::workspace();
    let (passed, failed) = match Cli::parse().check {
        Check::Exercises { write, chapters } => exercises(&workspace, chapters, write),
        Check::Todos { jobs, chapters } => todos(&workspace, chapters, jobs),
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

fn or_all(workspace: &Path, chapters: Vec<String>) -> Vec<String> {
    if chapters.is_empty() {
        chapter::chapters(workspace)
    } else {
        chapters
    }
}

fn exercises(workspace: &Path, chapters: Vec<String>, write: bool) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    for number in or_all(workspace, chapters) {
        let chapter = match Chapter::load(workspace, &number) {
            Ok(chapter) => chapter,
            Err(error) => {
                println!("  problem: {error}");
                failed += 1;
                continue;
            }
        };
        let outcome = if write {
            generate::write(&chapter, generate::Build::Skeleton).map(|changed| {
                for path in &changed {
                    println!("  updated exercises/exercise{number}/{}", path.display());
                }
                Vec::new()
            })
        } else {
            generate::differences(&chapter)
        };
        match outcome {
            Ok(problems) if problems.is_empty() => {
                let todos = chapter.todos().len();
                let steps = chapter.hints.steps.len();
                println!(
                    "exercise{number}: {todos} todos in {steps} steps, generated from solution{number}"
                );
                passed += 1;
            }
            Ok(problems) => {
                for problem in &problems {
                    println!("  problem: {problem}");
                }
                println!(
                    "  exercise{number} is out of date: run `cargo run --bin verify -- exercises --write {number}`"
                );
                failed += 1;
            }
            Err(error) => {
                println!("  problem: exercise{number}: {error}");
                failed += 1;
            }
        }
    }
    (passed, failed)
}

/// `a, b (+3 more)`: enough names to know what catches a todo.
fn some(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(2).copied().collect();
    let mut text = shown.join(", ");
    if names.len() > shown.len() {
        text.push_str(&format!(" (+{} more)", names.len() - shown.len()));
    }
    text
}

fn todos(workspace: &Path, chapters: Vec<String>, jobs: usize) -> (usize, usize) {
    let cargo = workbook_tools::cargo();
    let (mut passed, mut failed, mut problems) = (0, 0, Vec::new());
    for number in or_all(workspace, chapters) {
        let chapter = match Chapter::load(workspace, &number) {
            Ok(chapter) => chapter,
            Err(error) => {
                problems.push(error.to_string());
                failed += 1;
                continue;
            }
        };
        let report = match mutants::check_chapter(&cargo, workspace, &chapter, jobs) {
            Ok(report) => report,
            Err(error) => {
                problems.push(format!("{number}: {error}"));
                failed += 1;
                continue;
            }
        };
        println!();
        println!(
            "chapter {number}: {} todos, {} steps, {} grading tests",
            report.todos.len(),
            report.steps.len(),
            report.tests.len()
        );
        println!("| todo                         | step | caught by");
        println!("|------------------------------|------|----------");
        for todo in &report.todos {
            let failed_tests = todo.run.failed();
            let caught = if failed_tests.is_empty() && !todo.run.hung {
                "NOTHING — no test fails without it".to_owned()
            } else if failed_tests.is_empty() {
                "a hang (no test finished)".to_owned()
            } else {
                some(&failed_tests)
            };
            println!("| {:<28} | {:>4} | {caught}", todo.id, todo.step);
        }
        for step in &report.steps {
            let verdict = if step.failing.is_empty() && !step.hung && step.tests > 0 {
                "passes with the later steps still todo!()".to_owned()
            } else if step.tests == 0 {
                "has no tests".to_owned()
            } else {
                format!(
                    "FAILS while later steps are todo!(): {}",
                    step.failing.join(", ")
                )
            };
            println!("step {} ({} tests) {verdict}", step.step, step.tests);
        }
        let (ok, bad) = report.counts();
        passed += ok;
        failed += bad;
        problems.extend(report.problems());
    }
    for problem in &problems {
        println!("  problem: {problem}");
    }
    (passed, failed)
}

fn grading(workspace: &Path, chapters: Vec<String>) -> (usize, usize) {
    let cargo = workbook_tools::cargo();
    let chapters = if chapters.is_empty() {
        chapter::chapters(workspace)
    } else {
        chapters
    };
    println!("| chapter | solution     | exercise as shipped              | verdict  |");
    println!("|---------|--------------|----------------------------------|----------|");
    let (mut passed, mut failed, mut problems) = (0, 0, Vec::new());
    for chapter in &chapters {
        let check = grading::check_chapter(&cargo, workspace, chapter);
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

fn book(workspace: &Path) -> (usize, usize) {
    let broken = book_check::broken_includes(&workspace.join("book").join("src"));
    for include in &broken {
        println!("  broken: {include}");
    }
    // One check for the whole book: either every include resolves or it does not.
    let (mut passed, mut failed) = if broken.is_empty() {
        println!("every {{{{#include}}}} in book/src resolves");
        (1, 0)
    } else {
        (0, broken.len())
    };
    let mut links = links::broken_links(&workspace.join("book").join("src"));
    links.extend(links::stale_test_sections(workspace));
    for link in &links {
        println!("  broken link: {link}");
    }
    if links.is_empty() {
        println!("every link inside the book, and every section a grading test points at, exists");
        passed += 1;
    } else {
        failed += links.len();
    }
    let mut chapters = Vec::new();
    for number in chapter::chapters(workspace) {
        match Chapter::load(workspace, &number) {
            Ok(chapter) => chapters.push(chapter),
            Err(error) => {
                println!("  problem: {error}");
                failed += 1;
            }
        }
    }
    let early = answers::check_book(workspace, &chapters);
    for problem in &early {
        println!("  asks too late: {problem}");
    }
    if early.is_empty() {
        println!(
            "the book asks before it shows: every step of {} chapters has its \"Your turn\", \
             and exercised code appears only folded after it",
            chapters.len()
        );
        passed += 1;
    } else {
        failed += early.len();
    }
    (passed, failed)
}
