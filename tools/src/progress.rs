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

/// The first of `items` that `unfinished` accepts, looking first at those from
/// here on (`from_here` holds, in their order) and then wrapping round to the
/// ones before: how the tool picks a learner's next step — a learner who skipped
/// ahead is sent on, not back.
pub fn first_from<T>(
    items: impl IntoIterator<Item = T>,
    from_here: impl Fn(&T) -> bool,
    unfinished: impl FnMut(&T) -> bool,
) -> Option<T> {
    let (here_on, before): (Vec<T>, Vec<T>) = items.into_iter().partition(|item| from_here(item));
    here_on.into_iter().chain(before).find(unfinished)
}

#[cfg(test)]
mod tests {
    use super::first_from;

    /// Steps 1 to 4; `done` lists the finished ones; the next after `passed`.
    fn next_after(passed: usize, done: &[usize]) -> Option<usize> {
        first_from(1..=4, |step| *step > passed, |step| !done.contains(step))
    }

    #[test]
    fn after_a_passed_step_comes_the_first_unfinished_one_after_it() {
        // Step 2 was written but never checked; step 3 just passed: on to 4.
        assert_eq!(next_after(3, &[1, 3]), Some(4));
        // Step 4 done too: only now back to the step left behind.
        assert_eq!(next_after(3, &[1, 3, 4]), Some(2));
        // Finished steps after it are skipped.
        assert_eq!(next_after(1, &[1, 2, 3]), Some(4));
        assert_eq!(next_after(4, &[1, 2, 3, 4]), None);
    }
}
