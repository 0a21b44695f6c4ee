//! Puts back the shipped skeleton: of a whole chapter, or of one step's todos only,
//! leaving the learner's other work alone.
//!
//! A step's body is found by its surroundings in the skeleton: the line that opens
//! the block (which must appear once in the learner's file) and the line that closes
//! it, at the same indentation. rustfmt'd code keeps both as they were shipped.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use crate::chapter::Chapter;
use crate::generate::{self, Build};

/// Writes the whole chapter's skeleton back. Returns the files that changed.
pub fn reset_chapter(chapter: &Chapter) -> std::io::Result<Vec<PathBuf>> {
    generate::write(chapter, Build::Skeleton)
}

/// Puts back the skeleton of each todo of `step`; returns the ids reset, or why one cannot be.
pub fn reset_step(chapter: &Chapter, step: usize) -> Result<Vec<String>, String> {
    let ids = chapter
        .hints
        .steps
        .get(step.wrapping_sub(1))
        .ok_or_else(|| format!("chapter {} has no step {step}", chapter.number))?
        .todos
        .clone();
    let skeleton = generate::generate(chapter, Build::Skeleton);
    let mut edited: BTreeMap<PathBuf, String> = BTreeMap::new();
    for id in &ids {
        let place = chapter
            .todos()
            .into_iter()
            .find(|place| place.id == id)
            .map(|place| place.file.to_owned())
            .ok_or_else(|| format!("no todo {id}"))?;
        let shipped = skeleton
            .get(&place)
            .ok_or_else(|| format!("no skeleton for {}", place.display()))?;
        let current = match edited.get(&place) {
            Some(text) => text.clone(),
            None => fs::read_to_string(chapter.exercise_dir.join(&place))
                .map_err(|error| format!("{}: {error}", place.display()))?,
        };
        let text = reset_body(shipped, &current, id).map_err(|why| {
            format!(
                "{why}; `cargo workbook reset {}` puts back the whole chapter",
                chapter.number
            )
        })?;
        edited.insert(place, text);
    }
    for (path, text) in &edited {
        fs::write(chapter.exercise_dir.join(path), text)
            .map_err(|error| format!("{}: {error}", path.display()))?;
    }
    Ok(ids)
}

/// `current` with the body of todo `id` replaced by the skeleton's (from `shipped`).
pub fn reset_body(shipped: &str, current: &str, id: &str) -> Result<String, String> {
    let shipped_lines: Vec<&str> = shipped.lines().collect();
    let comment = format!("// TODO({id}):");
    let todo = shipped_lines
        .iter()
        .position(|line| line.trim_start().starts_with(&comment))
        .ok_or_else(|| format!("the skeleton has no TODO({id})"))?;
    let opening = *todo
        .checked_sub(1)
        .and_then(|i| shipped_lines.get(i))
        .ok_or("the todo has no opening line")?;
    let indent = &opening[..opening.len() - opening.trim_start().len()];
    let closing_at = shipped_lines[todo..]
        .iter()
        .position(|line| line.starts_with(indent) && line[indent.len()..].starts_with('}'))
        .map(|offset| todo + offset)
        .ok_or("the todo's block has no closing line")?;
    let closing = shipped_lines[closing_at];
    if shipped_lines.iter().filter(|l| **l == opening).count() != 1 {
        return Err(format!(
            "todo {id}: its opening line `{}` is not unique",
            opening.trim()
        ));
    }

    let lines: Vec<&str> = current.lines().collect();
    let starts: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == opening).collect();
    let [start] = starts[..] else {
        return Err(format!(
            "todo {id}: cannot find `{}` once in your file",
            opening.trim()
        ));
    };
    let end = lines[start + 1..]
        .iter()
        .position(|line| *line == closing)
        .map(|offset| start + 1 + offset)
        .ok_or_else(|| format!("todo {id}: cannot find where `{}` ends", opening.trim()))?;
    let mut out: Vec<&str> = lines[..=start].to_vec();
    out.extend(&shipped_lines[todo..closing_at]);
    out.extend(&lines[end..]);
    let mut text = out.join("\n");
    if current.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = "fn a() -> u32 {\n    // TODO(a): one\n    todo!(\"a — book: ch01, \\\"A\\\"\")\n}\n\nfn b() {\n    // TODO(b): two\n    todo!(\"b\")\n}\n";

    #[test]
    fn puts_back_one_body_and_keeps_the_rest() {
        let written = "fn a() -> u32 {\n    let x = {\n        1\n    };\n    x\n}\n\nfn b() {\n    println!(\"mine\");\n}\n";
        let reset = reset_body(SHIPPED, written, "a").expect("found");
        assert_eq!(
            reset,
            "fn a() -> u32 {\n    // TODO(a): one\n    todo!(\"a — book: ch01, \\\"A\\\"\")\n}\n\nfn b() {\n    println!(\"mine\");\n}\n"
        );
        assert_eq!(reset_body(SHIPPED, &reset, "b").expect("found"), SHIPPED);
    }

    #[test]
    fn says_so_when_the_function_is_gone() {
        let error = reset_body(SHIPPED, "fn b() {}\n", "a").unwrap_err();
        assert!(error.contains("cannot find"), "{error}");
    }
}
