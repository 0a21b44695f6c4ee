//! What the learner's tool remembers between runs — the hint levels revealed and the
//! last result of each step's check — kept in `target/workbook/state.json`, outside
//! every tracked file, so `git status` stays clean and `cargo clean` forgets it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The last check of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub passed: usize,
    pub failed: usize,
    /// False when the crate did not compile.
    pub compiled: bool,
}

impl StepResult {
    pub fn done(&self) -> bool {
        self.compiled && self.failed == 0 && self.passed > 0
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// `"02/op-apply"` → the highest hint level shown (1-based).
    #[serde(default)]
    pub hints: BTreeMap<String, usize>,
    /// `"02.1"` → the last check of that step.
    #[serde(default)]
    pub checks: BTreeMap<String, StepResult>,
    /// The chapter the learner last checked, `"04"`: "what next" starts there, so
    /// someone who jumped to chapter 04 is not sent back to chapter 01.
    #[serde(default)]
    pub chapter: Option<String>,
}

fn path(workspace: &Path) -> PathBuf {
    workspace.join("target").join("workbook").join("state.json")
}

impl State {
    /// The saved state, or a fresh one if there is none (or it cannot be read).
    pub fn load(workspace: &Path) -> Self {
        fs::read_to_string(path(workspace))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, workspace: &Path) -> std::io::Result<()> {
        let path = path(workspace);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        fs::write(path, text)
    }
}
