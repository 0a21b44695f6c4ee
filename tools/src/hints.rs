//! A chapter's `hints.toml`: the exercise's steps, what each todo asks for, and
//! three levels of hints, kept as data rather than as comments in the code — the
//! learner asks for them one level at a time, as rustlings' `hint` does.
//!
//! The format is documented in `exercises/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How many levels of hint every todo has: the idea, the types and API, nearly the code.
pub const LEVELS: usize = 3;

/// One chapter's `hints.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hints {
    /// The book chapter's file under `book/src/`, e.g. `ch02-dispatcher-worker.md`.
    pub chapter: String,
    /// The steps in the order the book teaches them; step K is `steps[K - 1]`.
    pub steps: Vec<Step>,
    /// Every todo, by id.
    pub todos: BTreeMap<String, Todo>,
}

/// A step of the exercise: a few todos graded together by the `stepK_` tests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub todos: Vec<String>,
}

/// What one todo asks for, and how to get unstuck.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Todo {
    /// A heading of the chapter, exactly as written.
    pub section: String,
    /// One line: what the learner writes.
    pub write: String,
    /// [`LEVELS`] hints, from the idea to nearly the code.
    pub hints: Vec<String>,
    /// Compiler errors learners meet here, each with the way out.
    #[serde(default)]
    pub traps: Vec<String>,
}

impl Hints {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The step (1-based) that holds `id`, if one does.
    pub fn step_of(&self, id: &str) -> Option<usize> {
        self.steps
            .iter()
            .position(|step| step.todos.iter().any(|todo| todo == id))
            .map(|index| index + 1)
    }

    /// The chapter's short name for messages: `ch02` for `ch02-dispatcher-worker.md`.
    pub fn chapter_short(&self) -> &str {
        self.chapter.split('-').next().unwrap_or(&self.chapter)
    }
}
