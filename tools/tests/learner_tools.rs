//! The learner's tool over a scratch workspace: status follows the todos as they
//! are written, check shows the first failure with its book section, and reset
//! puts the shipped skeleton back byte for byte.

mod common;

use std::fs;

use common::{EXPECTED_SKELETON, read, with_double, with_skeleton};
use workbook_tools::check;
use workbook_tools::progress;
use workbook_tools::reset;

#[test]
fn status_check_and_reset_follow_the_learner() {
    let (dir, _cleanup, chapter) = with_skeleton();
    let lib = dir.join("exercises/exercise01/src/lib.rs");

    let left = progress::todos_left(&dir, &chapter);
    let ids: Vec<(&str, usize, usize)> = left
        .iter()
        .map(|t| (t.id.as_str(), t.step, t.line))
        .collect();
    assert_eq!(ids, vec![("double", 1, 18), ("greet", 2, 25)]);
    assert_eq!(
        left[0].file,
        std::path::Path::new("exercises/exercise01/src/lib.rs")
    );

    // Step 1, unwritten: its test fails at the todo, which names the book section.
    let cargo = workbook_tools::cargo();
    let unwritten = check::run_step(&cargo, &dir, "01", Some(1), false).expect("runs");
    assert_eq!(unwritten.result().failed, 1);
    let problem = unwritten.first_problem.expect("a failure");
    assert_eq!(problem.title, "step1_double_doubles");
    assert!(
        problem.text.contains("double — book: ch01, \"Doubling\""),
        "{}",
        problem.text
    );

    // A wrong body: the check shows the assertion's own message.
    let written = with_double("x + x + 1");
    assert_ne!(written, EXPECTED_SKELETON);
    fs::write(&lib, &written).expect("write");
    assert_eq!(progress::todos_left(&dir, &chapter).len(), 1);
    let wrong = check::run_step(&cargo, &dir, "01", Some(1), false).expect("runs");
    let text = wrong.first_problem.expect("a failure").text;
    assert!(
        text.contains("left: 5") && text.contains("right: 4"),
        "{text}"
    );

    // The right body: step 1 passes while step 2 is still todo!().
    fs::write(&lib, written.replace("x + x + 1", "x * 2")).expect("write");
    let right = check::run_step(&cargo, &dir, "01", Some(1), false).expect("runs");
    assert!(right.result().done(), "{:?}", right.first_problem);

    // A compile error is shown as the first error, not as failed tests.
    fs::write(&lib, written.replace("x + x + 1", "\"two\"")).expect("write");
    let broken = check::run_step(&cargo, &dir, "01", Some(1), false).expect("runs");
    assert!(!broken.result().compiled);
    let error = broken.first_problem.expect("the error").text;
    assert!(error.contains("mismatched types"), "{error}");

    // Reset of step 1 puts back that body only; of the chapter, everything.
    reset::reset_step(&chapter, 1).expect("resets step 1");
    assert_eq!(read(&lib), EXPECTED_SKELETON);
    fs::write(&lib, "// gone\n").expect("write");
    reset::reset_chapter(&chapter).expect("resets the chapter");
    assert_eq!(read(&lib), EXPECTED_SKELETON);
}

/// The skeleton compiles without warnings, yet a body the learner writes gets the
/// compiler's warnings back: the allowance above a todo's function lasts only
/// while its `todo!()` is there.
#[test]
fn a_written_body_gets_the_compilers_warnings_back() {
    let (dir, _cleanup, _) = with_skeleton();
    let lib = dir.join("exercises/exercise01/src/lib.rs");
    let warnings = || {
        let output = std::process::Command::new(workbook_tools::cargo())
            .current_dir(&dir)
            .args([
                "check",
                "--quiet",
                "-p",
                "exercise01",
                "--message-format",
                "short",
            ])
            .output()
            .expect("runs cargo");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert_eq!(warnings(), "", "the skeleton compiles cleanly");

    // `x` forgotten: the compiler says so, though `greet` is still todo!().
    let written = with_double("4");
    fs::write(&lib, &written).expect("write");
    let after = warnings();
    assert!(after.contains("unused variable: `x`"), "{after}");
}

/// `hint 01.1` once step 1 is written: nothing is left to hint there, and the
/// tool names a todo whose hints can still be read, by name.
#[test]
fn hint_on_a_finished_step_names_a_todo_to_read_again() {
    let (dir, _cleanup, _) = with_skeleton();
    let written = with_double("x * 2");
    fs::write(dir.join("exercises/exercise01/src/lib.rs"), written).expect("write");
    // The tool finds its workspace by this file, from the folder it runs in.
    fs::create_dir_all(dir.join("tools")).expect("a tools folder");
    fs::write(dir.join("tools/Cargo.toml"), "").expect("a marker");
    let hint = |target: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_workbook"))
            .current_dir(&dir)
            .args(["hint", target, "--no-color"])
            .output()
            .expect("runs the tool")
    };
    let finished = hint("01.1");
    let said = String::from_utf8_lossy(&finished.stderr);
    assert!(!finished.status.success(), "{finished:?}");
    assert!(
        said.contains("no todo is left in 01.1") && said.contains("cargo workbook hint double"),
        "{said}"
    );
    // Step 2 is still todo!(): its hint comes, one level.
    let open = hint("01.2");
    assert!(open.status.success(), "{open:?}");
    assert!(String::from_utf8_lossy(&open.stdout).contains("greet"));
}
