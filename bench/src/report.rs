//! A chapter's results, as data: the measurements, each goal as the ratio of two
//! measurements against a threshold, and the charts to draw. The same value is
//! printed as the chapter's "Measure it" table (its `Display`), written to
//! `results.json` (its `Serialize`), and drawn as SVG by [`crate::chart`] — so the
//! book's table, the JSON and the picture can never disagree.
//!
//! Goals are printed honestly either way: a missed goal is a finding, not an error.

use std::fmt;

use serde::Serialize;

use crate::BenchError;

/// How much a figure moved between the runs it is the best of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// The lowest value over the runs.
    pub min: f64,
    /// The highest value over the runs.
    pub max: f64,
    /// How many runs.
    pub runs: usize,
}

impl Spread {
    /// The spread of `values`; `None` when there are fewer than two.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.len() < 2 {
            return None;
        }
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Self {
            min,
            max,
            runs: values.len(),
        })
    }
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// A short name, unique in its chapter, that goals and charts refer to
    /// (`"rust"`, `"python"`, `"bare"`): the long name may change with the sizes.
    pub key: String,
    /// What was measured, as the table shows it.
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// The lowest and highest of the runs `value` was chosen from, when known.
    pub spread: Option<Spread>,
}

/// How a goal compares its ratio with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "compare", content = "threshold", rename_all = "snake_case")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::AtLeast(t) => write!(f, ">= {t}"),
            Target::AtMost(t) => write!(f, "<= {t}"),
        }
    }
}

/// A goal and what was reached: `numerator / denominator` (keys of two of the
/// chapter's measurements) against `target`. A goal against a computed figure
/// (an ideal time) has no keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Goal {
    pub description: String,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub reached: f64,
    pub target: Target,
    pub met: bool,
}

impl Goal {
    pub fn met(&self) -> bool {
        self.met
    }
}

fn met(reached: f64, target: Target) -> bool {
    match target {
        Target::AtLeast(target) => reached >= target,
        Target::AtMost(target) => reached <= target,
    }
}

/// What a bar or a line stands for: each is drawn in its own colour in every chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The chapter's Rust code.
    Rust,
    /// The Python peer of the original design.
    Python,
    /// The bare ceiling: the library underneath with nothing on top.
    Ceiling,
    /// Anything else (an ideal line, a variant).
    Other,
}

/// One bar of a bar chart: a measurement, by key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// The label under the bar.
    pub label: String,
    pub role: Role,
    pub value: f64,
}

/// One line of a line chart: a value per category of the x axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub role: Role,
    pub values: Vec<f64>,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    /// Horizontal bars on a logarithmic scale, one per measurement.
    Bars { bars: Vec<Bar> },
    /// Lines over categories (`1, 2, 4, 8` workers; `p50 … p99.9`).
    Lines {
        categories: Vec<String>,
        series: Vec<Series>,
        log_scale: bool,
    },
}

/// A chart, written as `<file>.svg`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// The file name without `.svg`, e.g. `ch02-bench` or `ch02-bench-scaling`.
    pub file: String,
    pub title: String,
    /// The x axis label (bar charts: the value axis), with its unit.
    pub x_label: String,
    /// The y axis label, with its unit (bar charts: empty, the bars are labelled).
    pub y_label: String,
    pub plot: Plot,
}

/// A chapter's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// `ch01` … `ch06`: the names of its files.
    pub chapter: String,
    pub title: String,
    pub measurements: Vec<Measurement>,
    pub goals: Vec<Goal>,
    pub notes: Vec<String>,
    pub charts: Vec<Chart>,
}

impl Report {
    pub fn new(chapter: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            chapter: chapter.into(),
            title: title.into(),
            ..Self::default()
        }
    }

    /// Adds a measurement and returns its value.
    pub fn measure(
        &mut self,
        key: impl Into<String>,
        name: impl Into<String>,
        value: f64,
        unit: &str,
    ) -> f64 {
        self.measure_spread(key, name, value, unit, None)
    }

    /// Adds a measurement with the spread of the runs it came from.
    pub fn measure_spread(
        &mut self,
        key: impl Into<String>,
        name: impl Into<String>,
        value: f64,
        unit: &str,
        spread: Option<Spread>,
    ) -> f64 {
        self.measurements.push(Measurement {
            key: key.into(),
            name: name.into(),
            value,
            unit: unit.to_owned(),
            spread,
        });
        value
    }

    /// The measurement with `key`.
    pub fn get(&self, key: &str) -> Result<&Measurement, BenchError> {
        self.measurements
            .iter()
            .find(|m| m.key == key)
            .ok_or_else(|| BenchError::Rust(format!("{}: no measurement {key:?}", self.chapter)))
    }

    /// A goal on the ratio of two measurements: `numerator / denominator`.
    pub fn ratio_goal(
        &mut self,
        description: impl Into<String>,
        numerator: &str,
        denominator: &str,
        target: Target,
    ) -> Result<f64, BenchError> {
        let reached = self.get(numerator)?.value / self.get(denominator)?.value;
        self.goals.push(Goal {
            description: description.into(),
            numerator: Some(numerator.to_owned()),
            denominator: Some(denominator.to_owned()),
            reached,
            target,
            met: met(reached, target),
        });
        Ok(reached)
    }

    /// A goal on a ratio computed by the chapter (against an ideal, not a measurement).
    pub fn goal(&mut self, description: impl Into<String>, reached: f64, target: Target) {
        self.goals.push(Goal {
            description: description.into(),
            numerator: None,
            denominator: None,
            reached,
            target,
            met: met(reached, target),
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The chapter's bar chart `chNN-bench.svg`: one bar per `(key, label, role)`,
    /// each the value of that measurement. Every bar must share `unit`.
    pub fn bar_chart(
        &mut self,
        title: impl Into<String>,
        unit: &str,
        bars: &[(&str, &str, Role)],
    ) -> Result<(), BenchError> {
        let bars = bars
            .iter()
            .map(|&(key, label, role)| {
                Ok(Bar {
                    label: label.to_owned(),
                    role,
                    value: self.get(key)?.value,
                })
            })
            .collect::<Result<_, BenchError>>()?;
        self.charts.push(Chart {
            file: format!("{}-bench", self.chapter),
            title: title.into(),
            x_label: format!("{unit} (log scale, longer is faster)"),
            y_label: String::new(),
            plot: Plot::Bars { bars },
        });
        Ok(())
    }

    /// Adds a line chart `chNN-bench-<name>.svg`.
    pub fn line_chart(&mut self, name: &str, chart: Chart) {
        self.charts.push(Chart {
            file: format!("{}-bench-{name}", self.chapter),
            ..chart
        });
    }

    /// Whether every goal was met.
    pub fn all_met(&self) -> bool {
        self.goals.iter().all(Goal::met)
    }
}

/// `1234567.8` → `1,234,568`; small values keep two decimals.
pub fn human(value: f64) -> String {
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
                let verdict = if goal.met() { "met" } else { "NOT met" };
                writeln!(
                    f,
                    "  {:<width$}  {:>14.2}  {:>8}  {verdict}",
                    goal.description,
                    goal.reached,
                    goal.target.to_string()
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
