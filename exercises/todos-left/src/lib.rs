//! Why this crate exists: an exercise is its solution with some bodies replaced by
//! `todo!()`. While a body is a `todo!()`, its function's parameters are unused, and
//! the helpers only that body will call look dead; the compiler would bury the
//! skeleton in warnings. Allowing those warnings for the whole crate would also hide
//! the learner's own mistakes once they write a body.
//!
//! So every generated exercise has a `build.rs` that lists its todos and calls
//! [`declare`] here, as a build-dependency. For each todo still in its file, `declare`
//! sets the cfg `workbook_todo_<id>`, which the generated
//! `#[cfg_attr(workbook_todo_<id>, allow(unused_variables))]` on its function reads;
//! while any todo is left it also sets `workbook_todos_left`, read by the crate's
//! `#![cfg_attr(workbook_todos_left, allow(unused_imports, dead_code))]`. Replace a
//! `todo!()` and, on the next build, the compiler warns about your code again.
//!
//! The generator is `tools/src/generate.rs`; `exercises/README.md` says the rest.

use std::fs;
use std::path::Path;

/// The cfg set while any todo of the crate is left.
pub const TODOS_LEFT_CFG: &str = "workbook_todos_left";

/// The cfg set while todo `id` is left: `workbook_todo_` and the id, dashes as
/// underscores (a cfg name is an identifier).
pub fn todo_cfg(id: &str) -> String {
    format!("workbook_todo_{}", id.replace('-', "_"))
}

/// Whether `text`, a source file of the exercise, still holds todo `id`: the
/// generator writes each one as `todo!("<id> — book: …")`.
pub fn is_left(text: &str, id: &str) -> bool {
    text.contains(&format!("\"{id} — book:"))
}

/// Called from an exercise's `build.rs` with every `(todo id, file)` of its chapter,
/// files relative to the crate: tells cargo which cfgs exist, which are set now,
/// and to run the script again whenever one of those files changes.
pub fn declare(todos: &[(&str, &str)]) {
    println!("cargo::rustc-check-cfg=cfg({TODOS_LEFT_CFG})");
    let mut any_left = false;
    for (id, file) in todos {
        let cfg = todo_cfg(id);
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-changed={file}");
        // A file that cannot be read holds no todo: the build then fails, if at
        // all, on the compiler's own error about that file, which says more.
        let text = fs::read_to_string(Path::new(file)).unwrap_or_default();
        if is_left(&text, id) {
            println!("cargo::rustc-cfg={cfg}");
            any_left = true;
        }
    }
    if any_left {
        println!("cargo::rustc-cfg={TODOS_LEFT_CFG}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cfg_name_is_an_identifier() {
        assert_eq!(todo_cfg("work-check"), "workbook_todo_work_check");
    }

    #[test]
    fn a_todo_is_left_only_while_its_marker_is_there() {
        let skeleton = "fn f() {\n    todo!(\"work-check — book: ch03, \\\"Work\\\"\")\n}";
        assert!(is_left(skeleton, "work-check"));
        assert!(!is_left(skeleton, "work"));
        assert!(!is_left("fn f() { 1 }", "work-check"));
    }
}
