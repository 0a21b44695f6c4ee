//! A "Measure it" table: the measurements, then each goal with the ratio that was
//! reached and whether it was met — printed honestly either way.

use std::fmt;

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

/// How a goal compares its ratio with its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

/// A goal and what was reached.
#[derive(Debug, Clone)]
pub struct Goal {
    pub description: String,
    pub reached: f64,
    pub target: Target,
}

impl Goal {
    pub fn met(&self) -> bool {
        match self.target {
            Target::AtLeast(target) => self.reached >= target,
            Target::AtMost(target) => self.reached <= target,
        }
    }
}

/// A chapter's table.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub title: String,
    pub measurements: Vec<Measurement>,
    pub goals: Vec<Goal>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    pub fn measure(&mut self, name: impl Into<String>, value: f64, unit: &'static str) -> f64 {
        self.measurements.push(Measurement {
            name: name.into(),
            value,
            unit,
        });
        value
    }

    pub fn goal(&mut self, description: impl Into<String>, reached: f64, target: Target) {
        self.goals.push(Goal {
            description: description.into(),
            reached,
            target,
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Whether every goal was met.
    pub fn all_met(&self) -> bool {
        self.goals.iter().all(Goal::met)
    }
}

/// `1234567.8` → `1,234,568`; small values keep two decimals.
fn human(value: f64) -> String {
    if value.abs() < 100.0 {
        return format!("{value:.2}");
    }
    let digits = format!("{:.0}", value);
    let (sign, digits) = digits.split_at(usize::from(digits.starts_with('-')));
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        writeln!(f, "{}", "=".repeat(self.title.chars().count()))?;
        let width = self
            .measurements
            .iter()
            .map(|m| m.name.chars().count())
            .chain(self.goals.iter().map(|g| g.description.chars().count()))
            .max()
            .unwrap_or(0);
        writeln!(f)?;
        for m in &self.measurements {
            writeln!(f, "  {:<width$}  {:>14} {}", m.name, human(m.value), m.unit)?;
        }
        if !self.goals.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "  {:<width$}  {:>14}  {:>8}  result",
                "goal", "reached", "target"
            )?;
            for goal in &self.goals {
                let target = match goal.target {
                    Target::AtLeast(t) => format!(">= {t}"),
                    Target::AtMost(t) => format!("<= {t}"),
                };
                let verdict = if goal.met() { "met" } else { "NOT met" };
                writeln!(
                    f,
                    "  {:<width$}  {:>14.2}  {:>8}  {verdict}",
                    goal.description, goal.reached, target
                )?;
            }
        }
        for note in &self.notes {
            writeln!(f)?;
            writeln!(f, "  {note}")?;
        }
        Ok(())
    }
}
