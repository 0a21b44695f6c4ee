//! Writes an exercise crate from its solution.
//!
//! Everything outside the marked bodies is copied byte for byte, so the learner
//! works in the very crate the book describes. Two builds come out of one solution:
//!
//! - [`Build::Skeleton`], what ships in `exercises/`: each marked body becomes a
//!   one-line `// TODO(id): …` and a `todo!()` that names the book section;
//! - [`Build::Switchable`], what [`crate::mutants`] compiles once per chapter: each
//!   body is kept, behind a `todo!()` that fires when its id is listed in the
//!   `WORKBOOK_MUTANTS` environment variable — so one build can play "the solution
//!   with only this body missing" for every todo in turn.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::chapter::{Chapter, SourceFile};
use crate::markers::Marker;

/// The environment variable that switches todos on in a [`Build::Switchable`] crate.
pub const MUTANTS_VAR: &str = "WORKBOOK_MUTANTS";

/// rustfmt's default line width, which the generated lines must respect so that
/// `cargo fmt --check` passes on the exercises.
const MAX_WIDTH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Skeleton,
    Switchable,
}

/// The `todo!()` message: the id and where the book explains it. `todos_left::is_left`
/// looks for its start, `"<id> — book:`, to tell whether the todo is still there.
fn todo_message(chapter: &Chapter, id: &str) -> String {
    let section = chapter
        .hints
        .todos
        .get(id)
        .map_or("", |todo| todo.section.as_str());
    format!(
        "{id} — book: {}, \"{section}\"",
        chapter.hints.chapter_short()
    )
}

/// A string literal holding `text`, escaped for a format string as well (`todo!`
/// formats its message).
fn literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `todo!("…")` at `indent`, broken the way rustfmt breaks a call that is too wide.
fn todo_call(indent: &str, message: &str, lines: &mut Vec<String>) {
    let one_line = format!("{indent}todo!({})", literal(message));
    if one_line.chars().count() <= MAX_WIDTH {
        lines.push(one_line);
    } else {
        lines.push(format!("{indent}todo!("));
        lines.push(format!("{indent}    {}", literal(message)));
        lines.push(format!("{indent})"));
    }
}

fn replace_body(chapter: &Chapter, marker: &Marker, body: &[&str], build: Build) -> Vec<String> {
    let indent = &marker.indent;
    let message = todo_message(chapter, &marker.id);
    let mut lines = Vec::new();
    match build {
        Build::Skeleton => {
            let write = chapter
                .hints
                .todos
                .get(&marker.id)
                .map_or("", |todo| todo.write.as_str());
            lines.push(format!("{indent}// TODO({}): {write}", marker.id));
            todo_call(indent, &message, &mut lines);
        }
        Build::Switchable => {
            lines.push(format!(
                "{indent}if ::std::env::var({MUTANTS_VAR:?}).is_ok_and(|ids| ids.split(',').any(|id| id == {:?})) {{",
                marker.id
            ));
            todo_call(&format!("{indent}    "), &message, &mut lines);
            lines.push(format!("{indent}}}"));
            lines.extend(body.iter().map(|line| (*line).to_owned()));
        }
    }
    lines
}

/// The crate doc's addition and the lint allowance every exercise's `lib.rs` gets.
fn lib_header(chapter: &Chapter, build: Build) -> Vec<String> {
    let n = &chapter.number;
    let mut lines = vec![
        "//!".to_owned(),
        "//! **This is the exercise.** Every `todo!()` in it is yours to write, step by step:"
            .to_owned(),
        format!(
            "//! `cargo workbook check {n}.1` grades step 1 (`cargo test -p exercise{n} step1` underneath),"
        ),
        "//! and `cargo workbook hint` gives three levels of hint, one at a time. This crate is"
            .to_owned(),
        format!(
            "//! generated from the reference solution, `solutions/solution{n}`: everything outside"
        ),
        "//! the todos is the same code.".to_owned(),
        String::new(),
    ];
    match build {
        Build::Skeleton => lines.extend([
            "// While a todo!() is left, the helpers it will call look unused; build.rs sets"
                .to_owned(),
            format!(
                "// `{}` until the last one is written, and then the compiler warns",
                todos_left::TODOS_LEFT_CFG
            ),
            "// about unused code again. Each todo's function has its own allowance, for its"
                .to_owned(),
            "// parameters, which lasts only until that todo!() is replaced.".to_owned(),
            format!(
                "#![cfg_attr({}, allow(unused_imports, dead_code))]",
                todos_left::TODOS_LEFT_CFG
            ),
        ]),
        // Never read by a learner: every body is there, behind its switch.
        Build::Switchable => {
            lines.push("#![allow(unused_variables, unused_imports, dead_code)]".to_owned())
        }
    }
    lines
}

/// The line of the `fn` whose body holds `marker`: the nearest line above it, less
/// indented, that declares a function.
fn enclosing_fn(lines: &[&str], marker: &Marker) -> Option<usize> {
    let indent = marker.indent.len();
    (0..marker.open).rev().find(|&index| {
        let line = lines[index];
        let trimmed = line.trim_start();
        let words: Vec<&str> = trimmed.split_whitespace().take(5).collect();
        line.len() - trimmed.len() < indent
            && words
                .iter()
                .take_while(|word| {
                    matches!(**word, "pub" | "async" | "const" | "unsafe" | "fn")
                        || word.starts_with("pub(")
                })
                .any(|word| *word == "fn")
    })
}

fn transform_source(chapter: &Chapter, file: &SourceFile, build: Build) -> String {
    let lines: Vec<&str> = file.text.lines().collect();
    // Above each todo's function, in the skeleton: its parameters may go unused,
    // until the todo!() is replaced.
    let mut allowances: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    if build == Build::Skeleton {
        for marker in &file.markers {
            if let Some(line) = enclosing_fn(&lines, marker) {
                let indent: String = lines[line]
                    .chars()
                    .take_while(|c| c.is_whitespace())
                    .collect();
                allowances.entry(line).or_default().push(format!(
                    "{indent}#[cfg_attr({}, allow(unused_variables))]",
                    todos_left::todo_cfg(&marker.id)
                ));
            }
        }
    }
    let copy = |range: std::ops::Range<usize>, out: &mut Vec<String>| {
        for index in range {
            if let Some(extra) = allowances.get(&index) {
                out.extend(extra.iter().cloned());
            }
            out.push(lines[index].to_owned());
        }
    };
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut next = 0;
    for marker in &file.markers {
        copy(next..marker.open, &mut out);
        out.extend(replace_body(
            chapter,
            marker,
            &lines[marker.open + 1..marker.close],
            build,
        ));
        next = marker.close + 1;
    }
    copy(next..lines.len(), &mut out);
    if file.path == Path::new("src/lib.rs") {
        let doc_end = out
            .iter()
            .position(|line| !line.starts_with("//!"))
            .unwrap_or(out.len());
        let header = lib_header(chapter, build);
        out.splice(doc_end..doc_end, header);
    }
    let mut text = out.join("\n");
    if file.text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The solution's manifest, renamed: no features or examples (examples are not
/// copied), and the `todos-left` build-dependency the skeleton's build.rs calls.
fn transform_manifest(chapter: &Chapter, manifest: &str) -> String {
    let n = &chapter.number;
    let mut out = Vec::new();
    let mut dropping = false;
    for line in manifest.lines() {
        let header = line.trim_start();
        if header.starts_with('[') {
            dropping = header.starts_with("[features]") || header.starts_with("[[example]]");
        }
        if dropping {
            continue;
        }
        let line = if line.trim() == format!("name = \"solution{n}\"") {
            format!("name = \"exercise{n}\"")
        } else if line.starts_with("description") {
            line.replace("reference solution", "exercise")
        } else {
            line.to_owned()
        };
        out.push(line);
    }
    while out.last().is_some_and(|line| line.trim().is_empty()) {
        out.pop();
    }
    // The skeleton's build.rs calls the `todos-left` crate (see `build_script`).
    let todos_left = "todos-left.workspace = true".to_owned();
    match out
        .iter()
        .position(|line| line.trim() == "[build-dependencies]")
    {
        Some(header) => out.insert(header + 1, todos_left),
        None => out.extend([String::new(), "[build-dependencies]".to_owned(), todos_left]),
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The skeleton's build script: the solution's own (if it has one), which first
/// tells the compiler which todos are still left, through the `todos-left` crate,
/// so that the allowances above lapse one by one as the learner writes the bodies.
fn build_script(chapter: &Chapter, solution_build: Option<&str>) -> String {
    let mut todos = String::new();
    for place in chapter.todos() {
        todos.push_str(&format!(
            "    ({:?}, {:?}),\n",
            place.id,
            place.file.display().to_string()
        ));
    }
    let list = format!(
        "/// Generated with the exercise: each todo of the chapter and its file. While a\n\
         /// todo's `todo!()` is still there, `todos_left::declare` lets its function leave\n\
         /// parameters unused; write the body and the compiler warns about it again.\n\
         const TODOS: &[(&str, &str)] = &[\n{todos}];\n"
    );
    match solution_build {
        None => format!(
            "//! Generated with the exercise: tells the compiler which todos are left.\n\n\
             fn main() {{\n    todos_left::declare(TODOS);\n}}\n\n{list}"
        ),
        Some(text) => {
            let mut out = Vec::new();
            let mut called = false;
            for line in text.lines() {
                out.push(line.to_owned());
                if !called && line.starts_with("fn main(") && line.ends_with('{') {
                    out.push("    todos_left::declare(TODOS);".to_owned());
                    called = true;
                }
            }
            format!("{}\n\n{list}", out.join("\n"))
        }
    }
}

/// Every generated file, relative to the exercise's folder, with its text.
pub fn generate(chapter: &Chapter, build: Build) -> BTreeMap<PathBuf, String> {
    let mut files: BTreeMap<PathBuf, String> = chapter
        .files
        .iter()
        .map(|file| {
            let text = if file.path == Path::new("Cargo.toml") {
                transform_manifest(chapter, &file.text)
            } else if file.path == Path::new("build.rs") && build == Build::Skeleton {
                build_script(chapter, Some(&file.text))
            } else {
                transform_source(chapter, file, build)
            };
            (file.path.clone(), text)
        })
        .collect();
    if build == Build::Skeleton && !files.contains_key(Path::new("build.rs")) {
        files.insert(PathBuf::from("build.rs"), build_script(chapter, None));
    }
    files
}

/// Where `exercises/exerciseNN` differs from what [`generate`] writes, one line each.
pub fn differences(chapter: &Chapter) -> io::Result<Vec<String>> {
    let wanted = generate(chapter, Build::Skeleton);
    let mut found = Vec::new();
    for (path, text) in &wanted {
        match fs::read_to_string(chapter.exercise_dir.join(path)) {
            Ok(actual) if actual == *text => {}
            Ok(actual) => {
                let line = actual
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| actual.lines().count().min(text.lines().count()))
                    + 1;
                found.push(format!(
                    "exercise{}/{} differs from its solution's generated text (first at line {line})",
                    chapter.number,
                    path.display()
                ));
            }
            Err(_) => found.push(format!(
                "exercise{}/{} is missing",
                chapter.number,
                path.display()
            )),
        }
    }
    for path in crate::chapter::generated_paths(&chapter.exercise_dir).unwrap_or_default() {
        if !wanted.contains_key(&path) {
            found.push(format!(
                "exercise{}/{} has no counterpart in the solution",
                chapter.number,
                path.display()
            ));
        }
    }
    Ok(found)
}

/// Writes the exercise crate (`build`), removing generated-area files the solution lacks.
/// Returns the paths whose content changed.
pub fn write(chapter: &Chapter, build: Build) -> io::Result<Vec<PathBuf>> {
    let wanted = generate(chapter, build);
    let mut changed = Vec::new();
    for (path, text) in &wanted {
        let full = chapter.exercise_dir.join(path);
        if fs::read_to_string(&full).ok().as_deref() != Some(text.as_str()) {
            if let Some(parent) = full.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&full, text)?;
            changed.push(path.clone());
        }
    }
    for path in crate::chapter::generated_paths(&chapter.exercise_dir).unwrap_or_default() {
        if !wanted.contains_key(&path) {
            fs::remove_file(chapter.exercise_dir.join(&path))?;
            changed.push(path);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_escaped_for_todo_formatting() {
        assert_eq!(literal(r#"a "b" {c} \d"#), r#""a \"b\" {{c}} \\d""#);
    }

    #[test]
    fn a_long_todo_is_broken_as_rustfmt_would() {
        let mut lines = Vec::new();
        todo_call("        ", &"x".repeat(90), &mut lines);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "        todo!(");
        assert_eq!(lines[2], "        )");
    }
}
