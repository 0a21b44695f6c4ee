//! "The book asks before it shows": a listing that includes an exercised body (a
//! body the solution marks `todo-…`) must be folded in `<details>`, after the
//! "Your turn" prompt of that body's step — otherwise a learner reads the answer
//! before writing it. Listings of code that is not exercised stay open.
//!
//! This is checked, not just intended: `cargo run --bin verify -- book` reports
//! every listing that shows an answer too early, and every step without a prompt.

use std::collections::BTreeMap;
use std::fs;
use std::ops::RangeInclusive;
use std::path::Path;

use crate::chapter::Chapter;
use crate::markers;

/// The todo ids whose marked lines fall inside the lines a listing includes.
fn todos_in(file_text: &str, selector: Option<&str>) -> Vec<String> {
    let Ok(found) = markers::find(file_text) else {
        return Vec::new();
    };
    if found.is_empty() {
        return Vec::new();
    }
    let lines: Vec<&str> = file_text.lines().collect();
    let last = lines.len().saturating_sub(1);
    let region: RangeInclusive<usize> = match selector {
        None => 0..=last,
        Some(selector) if selector.starts_with(|c: char| c.is_ascii_digit()) => {
            let mut parts = selector.split(':');
            let first = parts
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1);
            let end = parts
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(lines.len());
            first.saturating_sub(1)..=end.saturating_sub(1)
        }
        Some(anchor) => {
            let is = |keyword: &str, line: &str| {
                line.split_once(keyword)
                    .is_some_and(|(_, name)| name.trim() == anchor)
            };
            let start = lines.iter().position(|l| is("ANCHOR:", l));
            let end = lines.iter().position(|l| is("ANCHOR_END:", l));
            match (start, end) {
                (Some(start), Some(end)) => start..=end,
                _ => return Vec::new(),
            }
        }
    };
    found
        .into_iter()
        .filter(|m| m.open <= *region.end() && m.close >= *region.start())
        .map(|m| m.id)
        .collect()
}

/// One problem in one chapter file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// What the learner is shown, line by line: the prompts and the listings of answers.
pub fn check_chapter_text(markdown: &str, folder: &Path, chapter: &Chapter) -> Vec<Problem> {
    let number = &chapter.number;
    let mut problems = Vec::new();
    // Where each step's "Your turn" prompt is: the line that names its check command.
    let mut prompts: BTreeMap<usize, usize> = BTreeMap::new();
    let mut depth = 0usize;
    let mut in_code = false;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_code = !in_code;
        }
        if !in_code {
            depth += trimmed.matches("<details").count();
            depth = depth.saturating_sub(trimmed.matches("</details>").count());
        }
        for step in 1..=chapter.hints.steps.len() {
            let command = format!("cargo workbook check {number}.{step}");
            let at_end = line
                .find(&command)
                .map(|at| &line[at + command.len()..])
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()));
            if at_end {
                prompts.entry(step).or_insert(index);
            }
        }
        for target in crate::book_check::includes(line) {
            let (file, selector) = match target.split_once(':') {
                Some((file, selector)) => (file, Some(selector)),
                None => (target, None),
            };
            let Ok(text) = fs::read_to_string(folder.join(file)) else {
                continue;
            };
            for id in todos_in(&text, selector) {
                let Some(step) = chapter.hints.step_of(&id) else {
                    continue;
                };
                if depth == 0 {
                    problems.push(Problem {
                        line: index + 1,
                        message: format!(
                            "shows the answer to todo {id} (step {number}.{step}) openly: fold it in \
                             <details> after the step's \"Your turn\""
                        ),
                    });
                } else if prompts.get(&step).is_none_or(|&at| at > index) {
                    problems.push(Problem {
                        line: index + 1,
                        message: format!(
                            "folds the answer to todo {id} before step {number}.{step}'s \"Your \
                             turn\" (`cargo workbook check {number}.{step}`)"
                        ),
                    });
                }
            }
        }
    }
    for step in 1..=chapter.hints.steps.len() {
        if !prompts.contains_key(&step) {
            problems.push(Problem {
                line: 0,
                message: format!(
                    "has no \"Your turn\" for step {number}.{step} (a line with `cargo workbook \
                     check {number}.{step}`)"
                ),
            });
        }
    }
    problems
}

/// Every problem of every chapter that has an exercise, as `file:line: message`.
pub fn check_book(workspace: &Path, chapters: &[Chapter]) -> Vec<String> {
    let folder = workspace.join("book").join("src");
    let mut found = Vec::new();
    for chapter in chapters {
        let path = folder.join(&chapter.hints.chapter);
        let Ok(markdown) = fs::read_to_string(&path) else {
            found.push(format!("{}: cannot read", path.display()));
            continue;
        };
        for problem in check_chapter_text(&markdown, &folder, chapter) {
            found.push(format!(
                "book/src/{}:{}: {}",
                chapter.hints.chapter, problem.line, problem.message
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "// ANCHOR: whole\nfn f() -> u32 {\n    // ANCHOR: todo-f\n    1\n    // ANCHOR_END: todo-f\n}\n// ANCHOR_END: whole\n// ANCHOR: other\nfn g() {}\n// ANCHOR_END: other\n";

    #[test]
    fn a_listing_shows_the_todos_its_lines_cover() {
        assert_eq!(todos_in(CODE, Some("whole")), vec!["f"]);
        assert_eq!(todos_in(CODE, Some("todo-f")), vec!["f"]);
        assert!(todos_in(CODE, Some("other")).is_empty());
        assert_eq!(todos_in(CODE, None), vec!["f"]);
        assert!(todos_in(CODE, Some("8:10")).is_empty());
        assert_eq!(todos_in(CODE, Some("2:4")), vec!["f"]);
    }
}
