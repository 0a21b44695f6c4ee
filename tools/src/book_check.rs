//! Checks that every `{{#include}}` in the book points at a file that exists and,
//! when it names an anchor, at an anchor that exists in that file.
//!
//! mdBook only warns about a missing file and silently includes nothing for a
//! missing anchor, so a renamed function would leave a hole in a chapter without
//! anyone noticing. This makes it an error.

use std::fs;
use std::path::{Path, PathBuf};

/// One include that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenInclude {
    pub chapter: PathBuf,
    pub line: usize,
    pub target: String,
    pub reason: String,
}

impl std::fmt::Display for BrokenInclude {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {{{{#include {}}}}}: {}",
            self.chapter.display(),
            self.line,
            self.target,
            self.reason
        )
    }
}

/// The `{{#include …}}` and `{{#rustdoc_include …}}` targets on one line.
pub fn includes(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let directive = after[..end].trim();
        for keyword in ["include ", "rustdoc_include "] {
            if let Some(target) = directive.strip_prefix(keyword) {
                found.push(target.trim());
            }
        }
        rest = &after[end + 2..];
    }
    found
}

/// Checks one include target, relative to the chapter's folder.
fn check(folder: &Path, target: &str) -> Result<(), String> {
    let mut parts = target.splitn(2, ':');
    let file = parts.next().unwrap_or_default();
    let selector = parts.next();
    let text = fs::read_to_string(folder.join(file))
        .map_err(|error| format!("cannot read {file}: {error}"))?;
    match selector {
        // Line ranges (`:10:20`, `:10:`) need the lines to exist; anchors need both markers.
        Some(selector) if selector.starts_with(|c: char| c.is_ascii_digit()) => {
            let first: usize = selector
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if first > text.lines().count() {
                return Err(format!("{file} has no line {first}"));
            }
            Ok(())
        }
        Some(anchor) => {
            let has = |marker: &str| {
                text.lines().any(|line| {
                    line.split_once(marker)
                        .is_some_and(|(_, name)| name.trim() == anchor)
                })
            };
            if !has("ANCHOR:") {
                return Err(format!("{file} has no `ANCHOR: {anchor}`"));
            }
            if !has("ANCHOR_END:") {
                return Err(format!("{file} has no `ANCHOR_END: {anchor}`"));
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// Every broken include in the Markdown files under `book_src`.
pub fn broken_includes(book_src: &Path) -> Vec<BrokenInclude> {
    let mut chapters = Vec::new();
    files_with_extension(book_src, "md", &mut chapters);
    chapters.sort();
    let mut broken = Vec::new();
    for chapter in chapters {
        let Ok(text) = fs::read_to_string(&chapter) else {
            continue;
        };
        let folder = chapter.parent().unwrap_or(book_src).to_path_buf();
        for (index, line) in text.lines().enumerate() {
            for target in includes(line) {
                if let Err(reason) = check(&folder, target) {
                    broken.push(BrokenInclude {
                        chapter: chapter.clone(),
                        line: index + 1,
                        target: target.to_owned(),
                        reason,
                    });
                }
            }
        }
    }
    broken
}

/// Every file under `folder`, at any depth, whose name ends in `.extension`.
pub fn files_with_extension(folder: &Path, extension: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_with_extension(&path, extension, found);
        } else if path.extension().is_some_and(|ext| ext == extension) {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_include_targets_on_a_line() {
        assert_eq!(
            includes("a {{#include ../x.rs:job}} b {{#rustdoc_include y.rs}}"),
            vec!["../x.rs:job", "y.rs"]
        );
        assert!(includes("{{#title Hello}}").is_empty());
    }

    #[test]
    fn reports_missing_files_and_anchors() {
        let dir = std::env::temp_dir().join(format!("book-check-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        fs::write(
            dir.join("code.rs"),
            "// ANCHOR: here\nfn f() {}\n// ANCHOR_END: here\n",
        )
        .expect("write code");
        fs::write(
            dir.join("chapter.md"),
            "{{#include code.rs:here}}\n{{#include code.rs:gone}}\n{{#include nope.rs}}\n",
        )
        .expect("write chapter");
        let broken = broken_includes(&dir);
        let _ = fs::remove_dir_all(&dir);
        let lines: Vec<usize> = broken.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3], "{broken:?}");
    }
}
