//! Finds the exercised bodies in a solution's source.
//!
//! A body is marked with an mdBook anchor whose name starts with `todo-`:
//!
//! ```text
//! // ANCHOR: todo-op-apply
//! …the body…
//! // ANCHOR_END: todo-op-apply
//! ```
//!
//! mdBook removes anchor lines from every included listing, so the markers never
//! show in the book. The marked lines must be the whole tail of their block (the
//! next line closes it), so that a `todo!()` can stand in for them and still
//! type-check.

use thiserror::Error;

/// What every todo anchor's name starts with.
pub const PREFIX: &str = "todo-";

/// One marked body: its id and the 0-based lines of its two anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub id: String,
    /// The `// ANCHOR: todo-ID` line.
    pub open: usize,
    /// The `// ANCHOR_END: todo-ID` line.
    pub close: usize,
    /// The anchor line's leading white space, which the replacement keeps.
    pub indent: String,
}

/// A marker that cannot be used, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarkerError {
    #[error("line {line}: todo-{id} opens inside todo-{outer}: markers do not nest")]
    Nested {
        line: usize,
        id: String,
        outer: String,
    },
    #[error("line {line}: ANCHOR_END: todo-{id} closes nothing")]
    Unopened { line: usize, id: String },
    #[error("line {line}: ANCHOR_END: todo-{found} closes todo-{open}")]
    Mismatched {
        line: usize,
        found: String,
        open: String,
    },
    #[error("line {line}: todo-{id} is never closed")]
    Unclosed { line: usize, id: String },
    #[error("line {line}: todo-{id} marks no lines")]
    Empty { line: usize, id: String },
    #[error("line {line}: todo id {id:?} is not kebab-case (a-z, 0-9 and -)")]
    BadId { line: usize, id: String },
    #[error(
        "line {line}: todo-{id} must be the tail of its block (the next line must close it), \
         so that todo!() can replace it"
    )]
    NotATail { line: usize, id: String },
}

/// The todo id an anchor line opens (`ANCHOR`) or closes (`ANCHOR_END`), if any.
fn anchor<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    let rest = line.trim().strip_prefix("//")?.trim_start();
    let rest = rest.strip_prefix(keyword)?.strip_prefix(':')?.trim();
    rest.strip_prefix(PREFIX)
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Every todo marker in `source`, in order.
pub fn find(source: &str) -> Result<Vec<Marker>, MarkerError> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (index, line) in lines.iter().enumerate() {
        if let Some(id) = anchor(line, "ANCHOR_END") {
            let Some((start, open_id)) = open.take() else {
                return Err(MarkerError::Unopened {
                    line: index + 1,
                    id: id.to_owned(),
                });
            };
            if id != open_id {
                return Err(MarkerError::Mismatched {
                    line: index + 1,
                    found: id.to_owned(),
                    open: open_id,
                });
            }
            if index == start + 1 {
                return Err(MarkerError::Empty {
                    line: start + 1,
                    id: open_id,
                });
            }
            // Comments (a wider anchor's end, say) may stand between the body and the brace.
            let next = lines[index + 1..].iter().find(|l| {
                let l = l.trim();
                !l.is_empty() && !l.starts_with("//")
            });
            if !next.is_some_and(|l| l.trim_start().starts_with('}')) {
                return Err(MarkerError::NotATail {
                    line: start + 1,
                    id: open_id,
                });
            }
            let opening = lines[start];
            found.push(Marker {
                id: open_id,
                open: start,
                close: index,
                indent: opening[..opening.len() - opening.trim_start().len()].to_owned(),
            });
        } else if let Some(id) = anchor(line, "ANCHOR") {
            if !is_kebab(id) {
                return Err(MarkerError::BadId {
                    line: index + 1,
                    id: id.to_owned(),
                });
            }
            if let Some((_, outer)) = &open {
                return Err(MarkerError::Nested {
                    line: index + 1,
                    id: id.to_owned(),
                    outer: outer.clone(),
                });
            }
            open = Some((index, id.to_owned()));
        }
    }
    match open {
        Some((start, id)) => Err(MarkerError::Unclosed {
            line: start + 1,
            id,
        }),
        None => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_marked_tail_and_ignores_other_anchors() {
        let source = "fn f() {\n    // ANCHOR: listing\n    // ANCHOR: todo-add-one\n    1 + 1\n    // ANCHOR_END: todo-add-one\n    // ANCHOR_END: listing\n}\n";
        assert_eq!(
            find(source),
            Ok(vec![Marker {
                id: "add-one".into(),
                open: 2,
                close: 4,
                indent: "    ".into()
            }])
        );
    }

    #[test]
    fn refuses_what_todo_cannot_replace() {
        let not_tail = "fn f() {\n// ANCHOR: todo-a\nlet x = 1;\n// ANCHOR_END: todo-a\nx\n}\n";
        assert!(matches!(find(not_tail), Err(MarkerError::NotATail { .. })));
        let nested = "// ANCHOR: todo-a\n// ANCHOR: todo-b\n";
        assert!(matches!(find(nested), Err(MarkerError::Nested { .. })));
        let unclosed = "// ANCHOR: todo-a\nx\n";
        assert!(matches!(find(unclosed), Err(MarkerError::Unclosed { .. })));
        let bad = "// ANCHOR: todo-Add\n";
        assert!(matches!(find(bad), Err(MarkerError::BadId { .. })));
        let mismatched = "// ANCHOR: todo-a\nx\n// ANCHOR_END: todo-b\n}\n";
        assert!(matches!(
            find(mismatched),
            Err(MarkerError::Mismatched { .. })
        ));
    }
}
