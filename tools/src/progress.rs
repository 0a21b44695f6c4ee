//! Where a learner stands: which todos are still `todo!()` in their exercise crate,
//! step by step. A todo is left while its generated `todo!("ID — book: …")` is still
//! in the file; writing the body removes it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::chapter::{self, Chapter};

/// A todo still waiting in the learner's crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoLeft {
    pub id: String,
    pub step: usize,
    /// Relative to the workspace, e.g. `exercises/exercise02/src/pool.rs`.
    pub file: PathBuf,
    /// 1-based: the `// TODO(ID)` line, or the `todo!` line if the comment is gone.
    pub line: usize,
}

/// The marker a generated `todo!()` message starts with.
fn todo_literal(id: &str) -> String {
    format!("\"{id} — book:")
}

/// Every todo of `chapter` still left in its exercise crate, in step order.
pub fn todos_left(workspace: &Path, chapter: &Chapter) -> Vec<TodoLeft> {
    let files: Vec<(PathBuf, String)> = chapter::generated_paths(&chapter.exercise_dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|path| {
            let full = chapter.exercise_dir.join(&path);
            let text = fs::read_to_string(&full).ok()?;
            let shown = full.strip_prefix(workspace).unwrap_or(&full).to_owned();
            Some((shown, text))
        })
        .collect();
    let mut left = Vec::new();
    for place in chapter.todos() {
        let literal = todo_literal(place.id);
        let comment = format!("// TODO({}):", place.id);
        for (file, text) in &files {
            let lines: Vec<&str> = text.lines().collect();
            let Some(at) = lines.iter().position(|line| line.contains(&literal)) else {
                continue;
            };
            // The comment stands just above the call (one more line when rustfmt broke it).
            let line = (at.saturating_sub(2)..at)
                .rev()
                .find(|&i| lines[i].trim_start().starts_with(&comment))
                .unwrap_or(at);
            left.push(TodoLeft {
                id: place.id.to_owned(),
                step: place.step,
                file: file.clone(),
                line: line + 1,
            });
        }
    }
    left
}
