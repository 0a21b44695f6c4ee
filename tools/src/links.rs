//! Checks the book's own links: `[text](ch05-leases.md#fencing-tokens)`,
//! `[text](#a-heading)`. mdBook renders a link to a missing page or a missing
//! heading without a word, so a renamed heading would silently strand a reader.
//! Links out of the book (`https://…`) are not fetched: CI has no network.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// The id mdBook gives a heading: lower case, white space as `-`, letters, digits,
/// `_` and `-` kept, everything else dropped (mdBook's `normalize_id`), after the
/// Markdown of the heading is rendered to text.
pub fn heading_id(heading: &str) -> String {
    let text = render_text(heading);
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// A heading's visible text: code spans and emphasis unwrapped, links to their text.
fn render_text(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(c) = rest.chars().next() {
        if c == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close..].find(')')
        {
            out.push_str(&render_text(&rest[1..close]));
            rest = &rest[close + end + 1..];
            continue;
        }
        if c != '`' && c != '*' {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The ids of a chapter's headings, with mdBook's `-1`, `-2` for repeats, and any
/// explicit `{#id}`.
pub fn heading_ids(markdown: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        if let Some((_, attrs)) = heading.rsplit_once("{#")
            && let Some(id) = attrs.strip_suffix('}')
        {
            ids.insert(id.to_owned());
            continue;
        }
        let id = heading_id(heading);
        let mut unique = id.clone();
        let mut n = 1;
        while ids.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        ids.insert(unique);
    }
    ids
}

/// The targets of inline links `[text](target)` on a line (images included).
pub fn link_targets(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        found.push(target);
        rest = &after[end..];
    }
    found
}

/// Every broken internal link under `book_src`, as `file:line: why`.
pub fn broken_links(book_src: &Path) -> Vec<String> {
    let mut pages: Vec<_> = fs::read_dir(book_src)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut broken = Vec::new();
    for page in &pages {
        let Ok(text) = fs::read_to_string(page) else {
            continue;
        };
        let name = page
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut in_code = false;
        for (index, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if in_code {
                continue;
            }
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (target, None),
                };
                let linked = if file.is_empty() {
                    page.clone()
                } else {
                    book_src.join(file)
                };
                let why = if !linked.exists() {
                    Some(format!("links to {file}, which is not in book/src"))
                } else if let Some(anchor) = anchor {
                    let ids = fs::read_to_string(&linked)
                        .map(|t| heading_ids(&t))
                        .unwrap_or_default();
                    (!ids.contains(anchor)).then(|| {
                        format!(
                            "links to #{anchor}, which is no heading of {}",
                            if file.is_empty() { name.as_str() } else { file }
                        )
                    })
                } else {
                    None
                };
                if let Some(why) = why {
                    broken.push(format!("book/src/{name}:{}: {why}", index + 1));
                }
            }
        }
    }
    broken
}

/// The string literals that follow `marker` in `source` (white space allowed
/// between), e.g. every heading in `.section("Heading")`.
fn literals_after<'a>(source: &'a str, marker: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(marker) {
        rest = rest[at + marker.len()..].trim_start();
        if let Some(body) = rest.strip_prefix('"')
            && let Some(end) = body.find('"')
        {
            found.push(&body[..end]);
        }
    }
    found
}

/// Every heading a grading test points learners at (`BOOK.section("…")` under
/// `Chapter("chNN-….md")`, anywhere in an exercise's `tests/`) that its chapter
/// does not have. A failing test that sends a learner to a section that was
/// renamed helps nobody.
pub fn stale_test_sections(workspace: &Path) -> Vec<String> {
    let mut stale = Vec::new();
    let mut exercises: Vec<_> = fs::read_dir(workspace.join("exercises"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    exercises.sort();
    for exercise in exercises {
        let mut files = Vec::new();
        crate::book_check::files_with_extension(&exercise.join("tests"), "rs", &mut files);
        files.sort();
        let sources: Vec<(String, String)> = files
            .iter()
            .filter_map(|file| {
                let shown = file
                    .strip_prefix(workspace)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                fs::read_to_string(file).ok().map(|text| (shown, text))
            })
            .collect();
        let Some(chapter) = sources
            .iter()
            .find_map(|(_, text)| literals_after(text, "Chapter(").first().copied())
        else {
            continue;
        };
        let Ok(markdown) = fs::read_to_string(workspace.join("book/src").join(chapter)) else {
            stale.push(format!(
                "{}: Chapter(\"{chapter}\") is not in book/src",
                exercise.display()
            ));
            continue;
        };
        let headings = crate::chapter::headings(&markdown);
        for (shown, text) in &sources {
            for section in literals_after(text, ".section(") {
                if !headings.contains(section) {
                    stale.push(format!(
                        "{shown}: section \"{section}\" is no heading of book/src/{chapter}"
                    ));
                }
            }
        }
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_ids_follow_mdbook() {
        assert_eq!(
            heading_id("Why no lock is held while a job runs"),
            "why-no-lock-is-held-while-a-job-runs"
        );
        assert_eq!(
            heading_id("`maximum_concurrent_rpcs`"),
            "maximum_concurrent_rpcs"
        );
        assert_eq!(
            heading_id("02 — The in-process dispatcher/worker"),
            "02--the-in-process-dispatcherworker"
        );
        assert_eq!(
            heading_id("[Kleppmann](https://x) on fencing"),
            "kleppmann-on-fencing"
        );
        let ids = heading_ids(
            "# A\n## Measure it\n```\n# not a heading\n```\n## Measure it\n## B {#custom}\n",
        );
        assert!(
            ids.contains("measure-it") && ids.contains("measure-it-1") && ids.contains("custom")
        );
        assert!(!ids.contains("not-a-heading"));
    }

    #[test]
    fn reads_the_sections_tests_point_at() {
        let source = "const BOOK: Chapter = Chapter(\"ch02.md\");\nconst A: BookSection = BOOK.section(\"The pool\");\nconst B: BookSection = BOOK.section(\n    \"Network mode\",\n);";
        assert_eq!(literals_after(source, "Chapter("), vec!["ch02.md"]);
        assert_eq!(
            literals_after(source, ".section("),
            vec!["The pool", "Network mode"]
        );
    }

    #[test]
    fn finds_link_targets() {
        assert_eq!(
            link_targets(
                "see [the pool](ch02-x.md#the-pool) and [out](https://a.b \"t\") ![f](fig.svg)"
            ),
            vec!["ch02-x.md#the-pool", "https://a.b", "fig.svg"]
        );
    }
}
