//! One chapter's exercise as the tools see it: the solution's sources with their
//! marked bodies, and the `hints.toml` that says what each marked body asks for.
//! Loading checks that the two agree, so that every later step can trust them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::hints::{Hints, LEVELS};
use crate::markers::{self, Marker};

/// A chapter that cannot be loaded, or whose markers and hints disagree.
#[derive(Debug, Error)]
pub enum ChapterError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Marker {
        path: PathBuf,
        error: markers::MarkerError,
    },
    #[error("{path}: {error}")]
    Hints {
        path: PathBuf,
        error: toml::de::Error,
    },
    #[error("chapter {chapter}: markers and hints.toml disagree:\n  - {}", problems.join("\n  - "))]
    Disagree {
        chapter: String,
        problems: Vec<String>,
    },
}

/// One source file of the solution, relative to the crate's folder.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// e.g. `src/pool.rs`, `build.rs`, `Cargo.toml`.
    pub path: PathBuf,
    pub text: String,
    pub markers: Vec<Marker>,
}

/// Where a todo is, for messages: the solution file and the marker.
#[derive(Debug, Clone)]
pub struct TodoPlace<'a> {
    pub id: &'a str,
    pub step: usize,
    pub file: &'a Path,
    pub marker: &'a Marker,
}

/// A chapter: `solutions/solutionNN`, `exercises/exerciseNN` and its hints.
#[derive(Debug, Clone)]
pub struct Chapter {
    /// `02`.
    pub number: String,
    pub solution_dir: PathBuf,
    pub exercise_dir: PathBuf,
    pub hints: Hints,
    /// `Cargo.toml`, `build.rs` if there is one, and everything under `src/`.
    pub files: Vec<SourceFile>,
}

fn read(path: &Path) -> Result<String, ChapterError> {
    fs::read_to_string(path).map_err(|error| ChapterError::Io {
        path: path.to_owned(),
        error,
    })
}

/// Every file under `dir`, sorted, relative to `base`.
fn walk(base: &Path, dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), ChapterError> {
    let entries = fs::read_dir(dir).map_err(|error| ChapterError::Io {
        path: dir.to_owned(),
        error,
    })?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(base, &path, found)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            found.push(relative.to_owned());
        }
    }
    Ok(())
}

/// The files the generator copies from a crate folder: `Cargo.toml`, `build.rs`, `src/**`.
pub fn generated_paths(crate_dir: &Path) -> Result<Vec<PathBuf>, ChapterError> {
    let mut paths = vec![PathBuf::from("Cargo.toml")];
    if crate_dir.join("build.rs").is_file() {
        paths.push(PathBuf::from("build.rs"));
    }
    if crate_dir.join("src").is_dir() {
        walk(crate_dir, &crate_dir.join("src"), &mut paths)?;
    }
    Ok(paths)
}

/// The headings of a Markdown chapter, without their `#`s.
pub fn headings(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut found = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.insert(line.trim_start_matches('#').trim().to_owned());
        }
    }
    found
}

impl Chapter {
    /// Loads chapter `number` from `workspace` and checks markers against hints.
    pub fn load(workspace: &Path, number: &str) -> Result<Self, ChapterError> {
        let solution_dir = workspace
            .join("solutions")
            .join(format!("solution{number}"));
        let exercise_dir = workspace
            .join("exercises")
            .join(format!("exercise{number}"));
        let hints_path = exercise_dir.join("hints.toml");
        let hints = Hints::parse(&read(&hints_path)?).map_err(|error| ChapterError::Hints {
            path: hints_path.clone(),
            error,
        })?;
        let mut files = Vec::new();
        for path in generated_paths(&solution_dir)? {
            let full = solution_dir.join(&path);
            let text = read(&full)?;
            let markers = if path.extension().is_some_and(|e| e == "rs") {
                markers::find(&text).map_err(|error| ChapterError::Marker { path: full, error })?
            } else {
                Vec::new()
            };
            files.push(SourceFile {
                path,
                text,
                markers,
            });
        }
        let chapter = Self {
            number: number.to_owned(),
            solution_dir,
            exercise_dir,
            hints,
            files,
        };
        let book = workspace
            .join("book")
            .join("src")
            .join(&chapter.hints.chapter);
        let headings = headings(&read(&book)?);
        let problems = chapter.disagreements(&headings);
        if problems.is_empty() {
            Ok(chapter)
        } else {
            Err(ChapterError::Disagree {
                chapter: number.to_owned(),
                problems,
            })
        }
    }

    /// Everything on which the markers, `hints.toml` and the book disagree.
    fn disagreements(&self, headings: &BTreeSet<String>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut marked: BTreeMap<&str, &Path> = BTreeMap::new();
        for file in &self.files {
            for marker in &file.markers {
                if let Some(other) = marked.insert(&marker.id, &file.path) {
                    problems.push(format!(
                        "todo-{} is marked twice ({} and {})",
                        marker.id,
                        other.display(),
                        file.path.display()
                    ));
                }
            }
        }
        for (id, file) in &marked {
            if !self.hints.todos.contains_key(*id) {
                problems.push(format!(
                    "todo-{id} ({}) has no [todos.{id}] in hints.toml",
                    file.display()
                ));
            }
        }
        for (id, todo) in &self.hints.todos {
            if !marked.contains_key(id.as_str()) {
                problems.push(format!(
                    "[todos.{id}] in hints.toml marks no body in the solution"
                ));
            }
            let steps = self
                .hints
                .steps
                .iter()
                .filter(|step| step.todos.contains(id))
                .count();
            if steps != 1 {
                problems.push(format!(
                    "{id} is in {steps} steps (it must be in exactly one)"
                ));
            }
            if !headings.contains(&todo.section) {
                problems.push(format!(
                    "{id}: section {:?} is not a heading of book/src/{}",
                    todo.section, self.hints.chapter
                ));
            }
            if todo.hints.len() != LEVELS {
                problems.push(format!(
                    "{id} has {} hint levels (it needs {LEVELS})",
                    todo.hints.len()
                ));
            }
            if todo.write.contains('\n') || todo.write.trim().is_empty() {
                problems.push(format!("{id}: `write` must be one non-empty line"));
            }
        }
        for (index, step) in self.hints.steps.iter().enumerate() {
            if step.todos.is_empty() {
                problems.push(format!("step {} ({}) has no todos", index + 1, step.name));
            }
            for id in &step.todos {
                if !self.hints.todos.contains_key(id) {
                    problems.push(format!(
                        "step {} names {id}, which has no [todos.{id}]",
                        index + 1
                    ));
                }
            }
        }
        problems
    }

    /// Every todo, in step order and then in source order.
    pub fn todos(&self) -> Vec<TodoPlace<'_>> {
        let mut places: Vec<TodoPlace<'_>> = self
            .files
            .iter()
            .flat_map(|file| {
                file.markers.iter().map(move |marker| TodoPlace {
                    id: &marker.id,
                    step: self.hints.step_of(&marker.id).unwrap_or(0),
                    file: &file.path,
                    marker,
                })
            })
            .collect();
        places.sort_by_key(|place| {
            let order = self.hints.steps[place.step.saturating_sub(1)]
                .todos
                .iter()
                .position(|id| id == place.id);
            (place.step, order)
        });
        places
    }

    pub fn package(&self) -> String {
        format!("exercise{}", self.number)
    }
}

/// The chapters `NN` that have a `solutions/solutionNN` and an `exercises/exerciseNN/hints.toml`.
pub fn chapters(workspace: &Path) -> Vec<String> {
    let mut found: Vec<String> = fs::read_dir(workspace.join("solutions"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let number = name.strip_prefix("solution")?.to_owned();
            workspace
                .join("exercises")
                .join(format!("exercise{number}"))
                .join("hints.toml")
                .is_file()
                .then_some(number)
        })
        .collect();
    found.sort();
    found
}
