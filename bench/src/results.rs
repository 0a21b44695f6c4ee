//! A whole run's results: which machine, when, with which compiler, and every
//! chapter's measurements and goals — written as `results.json` next to the charts,
//! and summed up as one table of every goal at the end of the run.
//!
//! A figure without its machine means little: the same code is twice as fast on a
//! laptop as on a shared 2-core box, so the machine and the date travel with it.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::BenchError;
use crate::report::Report;

/// The machine a run was measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// The CPU model, as `/proc/cpuinfo` names it (`unknown` elsewhere).
    pub cpu: String,
    /// Cores available to this process.
    pub cores: usize,
    /// The operating system, e.g. `Debian GNU/Linux 12 (bookworm), linux x86_64`.
    pub os: String,
}

impl Machine {
    /// The machine this process runs on.
    pub fn this() -> Self {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name") || line.starts_with("Model"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, name)| name.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let release = fs::read_to_string("/etc/os-release").ok().and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_owned())
        });
        let platform = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            os: release.map_or(platform.clone(), |name| format!("{name}, {platform}")),
        }
    }
}

/// `YYYY-MM-DD` and `HH:MM` (UTC) of `seconds` since 1970 — no date crate for two
/// fields: Howard Hinnant's `civil_from_days` algorithm.
pub fn utc(seconds: u64) -> (String, String) {
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}", of_day / 3_600, of_day % 3_600 / 60),
    )
}

/// The compiler that built this bench, recorded by `build.rs`.
pub fn rustc_version() -> &'static str {
    env!("BENCH_RUSTC_VERSION")
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    pub machine: Machine,
    /// `2026-11-29T22:40Z`.
    pub date: String,
    pub rustc: String,
    /// Whether the sizes were shrunk with `--quick` (noisier ratios).
    pub quick: bool,
    /// Whether this bench was built with optimisations (`--release`).
    pub release: bool,
    pub chapters: Vec<Report>,
    pub goals_met: usize,
    pub goals_total: usize,
}

impl Results {
    pub fn new(machine: Machine, now: SystemTime, quick: bool, chapters: Vec<Report>) -> Self {
        let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (day, time) = utc(seconds);
        let goals = || chapters.iter().flat_map(|c| c.goals.iter());
        Self {
            machine,
            date: format!("{day}T{time}Z"),
            rustc: rustc_version().to_owned(),
            quick,
            release: !cfg!(debug_assertions),
            goals_met: goals().filter(|g| g.met()).count(),
            goals_total: goals().count(),
            chapters,
        }
    }

    /// One line for the book: `Measured on 2026-11-29 on AMD EPYC 7B13, 2 cores, Debian …; rustc 1.95.0.`
    pub fn machine_line(&self) -> String {
        let day = self.date.split('T').next().unwrap_or(&self.date);
        let rustc = self
            .rustc
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "Measured on {day} on {}, {} cores, {}; {rustc}{}.",
            self.machine.cpu,
            self.machine.cores,
            self.machine.os,
            if self.quick { "; --quick sizes" } else { "" }
        )
    }

    /// Writes `results.json`, `machine.txt` and each chapter's `chNN-bench.txt`
    /// into `dir`; returns the paths written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
        let write = |name: &str, text: String| -> Result<PathBuf, BenchError> {
            let path = dir.join(name);
            fs::write(&path, text).map_err(|e| BenchError::Output {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
            Ok(path)
        };
        let json = serde_json::to_string_pretty(self).map_err(|e| BenchError::Output {
            path: dir.join("results.json").display().to_string(),
            detail: e.to_string(),
        })?;
        let mut written = vec![
            write("results.json", json + "\n")?,
            write("machine.txt", self.machine_line() + "\n")?,
        ];
        for chapter in &self.chapters {
            written.push(write(
                &format!("{}-bench.txt", chapter.chapter),
                chapter.to_string(),
            )?);
        }
        Ok(written)
    }

    /// The table of every goal of the run, ✓ or ✗; `colour` paints them.
    pub fn summary(&self, colour: bool) -> Summary<'_> {
        Summary {
            results: self,
            colour,
        }
    }
}

/// The closing table: every goal of the run, its ratio and whether it was met.
pub struct Summary<'a> {
    results: &'a Results,
    colour: bool,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<_> = self
            .results
            .chapters
            .iter()
            .flat_map(|c| c.goals.iter().map(move |g| (c.chapter.as_str(), g)))
            .collect();
        let width = rows
            .iter()
            .map(|(_, g)| g.description.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        let title = format!(
            "Summary: {} of {} goals met",
            self.results.goals_met, self.results.goals_total
        );
        writeln!(f, "{title}")?;
        writeln!(f, "{}", "=".repeat(title.chars().count()))?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:<7} {:<width$}  {:>10}  {:>8}  met",
            "chapter", "goal", "measured", "target"
        )?;
        for (chapter, goal) in rows {
            let mark = match (goal.met(), self.colour) {
                (true, true) => "\x1b[32m✓\x1b[0m",
                (false, true) => "\x1b[31m✗\x1b[0m",
                (true, false) => "✓",
                (false, false) => "✗",
            };
            writeln!(
                f,
                "  {:<7} {:<width$}  {:>10.2}  {:>8}  {mark}",
                chapter,
                goal.description,
                goal.reached,
                goal.target.to_string()
            )?;
        }
        writeln!(f)?;
        write!(f, "  {}", self.results.machine_line())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::{Role, Target};

    fn sample() -> Results {
        results_of(sample_report())
    }

    fn sample_report() -> Report {
        let mut report = Report::new("ch02", "Chapter 02 — test");
        report.measure("rust", "no-op jobs/s, Rust pool", 2_000_000.0, "jobs/s");
        report.measure("python", "no-op jobs/s, Python", 50_000.0, "jobs/s");
        report.measure("bare", "items/s, bare channel", 3_000_000.0, "items/s");
        report
            .ratio_goal("Rust / Python", "rust", "python", Target::AtLeast(30.0))
            .expect("both keys exist");
        report
            .ratio_goal("Rust / bare", "rust", "bare", Target::AtLeast(0.5))
            .expect("both keys exist");
        report
            .bar_chart(
                "no-op jobs",
                "jobs/s",
                &[
                    ("rust", "Rust", Role::Rust),
                    ("python", "Python", Role::Python),
                ],
            )
            .expect("both keys exist");
        report
    }

    fn results_of(report: Report) -> Results {
        let machine = Machine {
            cpu: "Test CPU".to_owned(),
            cores: 2,
            os: "Test OS, linux x86_64".to_owned(),
        };
        // 2026-11-29 22:40 UTC
        let now = UNIX_EPOCH + Duration::from_secs(1_795_992_000);
        Results::new(machine, now, true, vec![report])
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(utc(0), ("1970-01-01".to_owned(), "00:00".to_owned()));
        assert_eq!(
            utc(951_782_400),
            ("2000-02-29".to_owned(), "00:00".to_owned())
        );
        assert_eq!(
            utc(1_795_992_000),
            ("2026-11-29".to_owned(), "22:40".to_owned())
        );
    }

    #[test]
    fn results_json_has_machine_date_compiler_measurements_and_goals() {
        let json = serde_json::to_value(sample()).expect("results serialise");
        assert_eq!(json["machine"]["cpu"], "Test CPU");
        assert_eq!(json["machine"]["cores"], 2);
        assert_eq!(json["machine"]["os"], "Test OS, linux x86_64");
        assert_eq!(json["date"], "2026-11-29T22:40Z");
        assert!(
            json["rustc"]
                .as_str()
                .is_some_and(|v| v.starts_with("rustc ")),
            "rustc: {}",
            json["rustc"]
        );
        assert_eq!(json["quick"], true);
        assert_eq!(json["goals_total"], 2);
        assert_eq!(json["goals_met"], 2);

        let chapter = &json["chapters"][0];
        assert_eq!(chapter["chapter"], "ch02");
        let measurement = &chapter["measurements"][0];
        assert_eq!(measurement["key"], "rust");
        assert_eq!(measurement["name"], "no-op jobs/s, Rust pool");
        assert_eq!(measurement["value"], 2_000_000.0);
        assert_eq!(measurement["unit"], "jobs/s");
        assert!(measurement["spread"].is_null(), "no spread was given");

        let goal = &chapter["goals"][0];
        assert_eq!(goal["description"], "Rust / Python");
        assert_eq!(goal["numerator"], "rust");
        assert_eq!(goal["denominator"], "python");
        assert_eq!(goal["reached"], 40.0);
        assert_eq!(goal["target"]["compare"], "at_least");
        assert_eq!(goal["target"]["threshold"], 30.0);
        assert_eq!(goal["met"], true);

        let chart = &chapter["charts"][0];
        assert_eq!(chart["file"], "ch02-bench");
        assert_eq!(chart["plot"]["kind"], "bars");
        assert_eq!(chart["plot"]["bars"][1]["label"], "Python");
        assert_eq!(chart["plot"]["bars"][1]["role"], "python");
        assert_eq!(chart["plot"]["bars"][1]["value"], 50_000.0);
    }

    #[test]
    fn a_goal_on_an_unknown_measurement_is_an_error() {
        let mut report = Report::new("ch09", "nothing measured");
        report.measure("rust", "x", 1.0, "x/s");
        let missing = report.ratio_goal("x", "rust", "pyhton", Target::AtLeast(1.0));
        assert!(
            missing.is_err(),
            "a misspelt key must not pass: {missing:?}"
        );
        assert!(report.goals.is_empty());
    }

    #[test]
    fn summary_marks_each_goal_and_honours_no_colour() {
        let mut report = sample_report();
        report.goal("an ideal missed", 2.0, Target::AtMost(1.05));
        let results = results_of(report);
        let plain = results.summary(false).to_string();
        assert!(plain.starts_with("Summary: 2 of 3 goals met"), "{plain}");
        assert!(plain.contains("ch02    Rust / Python"), "{plain}");
        assert_eq!(plain.matches('✓').count(), 2, "{plain}");
        assert_eq!(plain.matches('✗').count(), 1, "{plain}");
        assert!(!plain.contains('\x1b'), "no colour asked for: {plain:?}");
        assert!(plain.contains("Test CPU, 2 cores, Test OS"), "{plain}");
        let coloured = results.summary(true).to_string();
        assert!(coloured.contains("\x1b[32m✓"), "{coloured:?}");
    }

    #[test]
    fn write_puts_json_machine_line_and_tables_in_the_folder() {
        let dir = std::env::temp_dir().join(format!("bench-results-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let results = sample();
        results.write(&dir).expect("written");
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("results.json")).expect("json"))
                .expect("valid JSON");
        assert_eq!(
            json["chapters"][0]["goals"][1]["description"],
            "Rust / bare"
        );
        let machine = fs::read_to_string(dir.join("machine.txt")).expect("machine.txt");
        assert_eq!(machine.lines().count(), 1, "{machine}");
        assert!(
            machine.starts_with("Measured on 2026-11-29 on Test CPU"),
            "{machine}"
        );
        let table = fs::read_to_string(dir.join("ch02-bench.txt")).expect("table");
        assert!(
            table.contains("Rust / Python") && table.contains("met"),
            "{table}"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
