//! Coloured `[Role] message` lines, honouring `NO_COLOR`, `--no-color` and pipes.

use std::io::{IsTerminal, Write};

use colored::{Color, Colorize};
use solution02::{Event, Role};

/// Colours on only when stdout is a terminal, `NO_COLOR` is unset or empty
/// (<https://no-color.org>), and the user did not pass `--no-color`.
pub fn configure_colors(no_color_flag: bool) {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let enabled = !no_color_flag && !no_color_env && std::io::stdout().is_terminal();
    colored::control::set_override(enabled);
}

const WORKER_COLORS: [Color; 6] = [
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::BrightGreen,
    Color::BrightYellow,
];

/// Who speaks on a line, by kind: every chapter's roles map onto these, so a
/// coordinator, a relay, a worker and a client look the same in every demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// Takes work in: a dispatcher, a collector.
    Coordinator,
    /// Passes results on: a publisher.
    Relay,
    /// Asks for work: a client, a producer.
    Client,
    /// Does the work; each worker gets its own colour.
    Worker(usize),
}

/// `[label]`, in the voice's colour when colours are on.
pub fn paint_tag(label: &str, voice: Voice) -> String {
    let text = format!("[{label}]");
    let painted = match voice {
        Voice::Coordinator => text.cyan().bold(),
        Voice::Relay => text.bright_blue().bold(),
        Voice::Client => text.bright_white().bold(),
        Voice::Worker(id) => text.color(WORKER_COLORS[id % WORKER_COLORS.len()]),
    };
    painted.to_string()
}

/// Prints `[label] message` as one line; safe to call from many threads at once.
pub fn print_tagged(label: &str, voice: Voice, message: &str) {
    let _ = writeln!(
        std::io::stdout().lock(),
        "{} {message}",
        paint_tag(label, voice)
    );
}

/// The `[Role]` tag, in the role's colour when colours are on.
pub fn tag(role: Role) -> String {
    let voice = match role {
        Role::Dispatcher => Voice::Coordinator,
        Role::Client => Voice::Client,
        Role::Worker(id) => Voice::Worker(id),
    };
    paint_tag(&role.to_string(), voice)
}

/// Prints `[Role] message` as one line; safe to call from many threads at once.
/// A closed pipe (`| head`) is not an error worth a panic, so write errors are ignored.
pub fn print_line(role: Role, message: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{} {message}", tag(role));
}

/// Prints one dispatcher event.
pub fn print_event(event: &Event) {
    print_line(event.role(), &event.message());
}
