//! The verifier's own test: a tiny workspace with one todo the grading tests catch
//! and one they do not. `verify todos` must name the second, and the generator must
//! write the skeleton exactly as `exercises/README.md` says.

mod common;

use std::fs;

use common::{Cleanup, EXPECTED_SKELETON, GRADE, read, scratch, with_skeleton};
use workbook_tools::chapter::Chapter;
use workbook_tools::generate::{self, Build};
use workbook_tools::mutants;

#[test]
fn the_verifier_names_a_todo_no_test_catches() {
    let (dir, _cleanup, chapter) = with_skeleton();

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
