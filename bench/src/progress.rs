//! Progress while the benchmarks run: a full run takes minutes, so the terminal
//! shows how far it is — a bar over the chapters, a bar per chapter over its
//! measurements, and a spinner for the measurement running now.
//!
//! Everything is drawn on stderr, and only when stderr is a terminal: a run whose
//! output is captured (the book's `capture.sh`, CI) prints exactly the tables.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of a whole run.
pub struct Progress {
    multi: MultiProgress,
    chapters: ProgressBar,
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; a typo shows as a plain bar.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress {
    /// A display for `chapters` chapters on stderr, hidden unless stderr is a terminal.
    pub fn new(chapters: u64) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self::with_target(chapters, target)
    }

    /// A display that draws nothing (tests, or a library caller).
    pub fn hidden() -> Self {
        Self::with_target(1, ProgressDrawTarget::hidden())
    }

    fn with_target(chapters: u64, target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let bar = multi.add(ProgressBar::new(chapters));
        bar.set_style(style(
            "chapters     [{bar:30}] {pos}/{len}  {elapsed_precise}  {msg}",
        ));
        Self {
            multi,
            chapters: bar,
        }
    }

    /// Starts a chapter of about `steps` measurements.
    pub fn chapter(&self, name: &str, steps: u64) -> Steps {
        self.chapters.set_message(name.to_owned());
        let bar = self.multi.add(ProgressBar::new(steps));
        bar.set_style(style("{prefix:<12} [{bar:30}] {pos}/{len}  {msg}"));
        bar.set_prefix(name.to_owned());
        Steps {
            multi: self.multi.clone(),
            chapters: self.chapters.clone(),
            bar,
            current: Mutex::new(None),
        }
    }

    /// Prints `text` on stdout with the bars out of the way while it is written.
    pub fn println(&self, text: &str) {
        self.multi.suspend(|| println!("{text}"));
    }

    /// Clears the display, so the summary that follows starts on a clean line.
    pub fn finish(&self) {
        self.chapters.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// One chapter's bar: call [`Steps::step`] as each measurement starts.
pub struct Steps {
    multi: MultiProgress,
    chapters: ProgressBar,
    bar: ProgressBar,
    current: Mutex<Option<ProgressBar>>,
}

impl Steps {
    /// A display that draws nothing.
    pub fn hidden() -> Self {
        Progress::hidden().chapter("", 0)
    }

    /// The measurement `what` starts now; the one before it is done.
    pub fn step(&self, what: impl Into<String>) {
        let spinner = self.multi.add(ProgressBar::new_spinner());
        spinner.set_style(
            ProgressStyle::with_template("  {spinner} {msg}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_message(what.into());
        spinner.enable_steady_tick(Duration::from_millis(120));
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = current.replace(spinner) {
            previous.finish_and_clear();
            self.bar.inc(1);
        }
    }

    /// The chapter is done: its bar stays, full, with how long it took.
    pub fn finish(&self) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = current.take() {
            previous.finish_and_clear();
            self.bar.inc(1);
        }
        let length = self.bar.position().max(self.bar.length().unwrap_or(0));
        self.bar.set_length(length);
        self.bar.set_position(length);
        let took = self.bar.elapsed();
        self.bar
            .finish_with_message(format!("done in {:.0} s", took.as_secs_f64()));
        self.chapters.inc(1);
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        if let Ok(mut current) = self.current.lock()
            && let Some(spinner) = current.take()
        {
            spinner.finish_and_clear();
        }
    }
}
