//! `cargo workbook`: the learner's side of the workbook, as `rustlings` is for
//! its exercises — what is left, one step graded at a time, hints on demand.
//!
//! The work itself happens in `exercises/exerciseNN`; this tool only reads it,
//! runs its grading tests, and remembers hints and results under `target/workbook/`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use notify::{RecursiveMode, Watcher};
use workbook_tools::chapter::{self, Chapter};
use workbook_tools::check::{self, StepCheck};
use workbook_tools::hints::LEVELS;
use workbook_tools::progress::{self, TodoLeft};
use workbook_tools::reset;
use workbook_tools::state::State;

/// Write the dispatcher/worker pattern yourself, one graded step at a time.
///
/// Start with `cargo workbook status`, write the todo it points at, then
/// `cargo workbook check` (or leave `cargo workbook watch` running).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// No colours (also: NO_COLOR=1, or output to a pipe).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every chapter and step: todos left (file:line), last check, what to do next.
    Status {
        /// Only this chapter (`03`), and what to do next in it.
        chapter: Option<String>,
    },
    /// Run one step's grading tests and show the first problem (default: the next unfinished step, from the chapter you last checked).
    Check {
        /// A chapter (`02`: its first unfinished step, or all of it once every step passes) or a step (`02.3`).
        target: Option<String>,
    },
    /// Show the next level of hint for a todo (default: the next todo left).
    Hint {
        /// A todo id, as in `// TODO(pool-build)` (`02/pool-build` if ids repeat across
        /// chapters), or a chapter (`07`) or step (`07.2`): its next todo left.
        id: Option<String>,
    },
    /// Re-run `check` whenever an exercise file is saved; Ctrl-C to stop.
    Watch {
        /// As for `check`; by default it follows you to the next step when one passes.
        target: Option<String>,
    },
    /// Put back the shipped skeleton of a chapter (`02`) or of one step (`02.3`).
    Reset {
        target: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

/// Colours on a terminal, unless NO_COLOR or --no-color says otherwise.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn new(no_color_flag: bool) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self(!no_color_flag && !no_color_env && std::io::stdout().is_terminal())
    }
    fn code(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }
    fn good(self, text: &str) -> String {
        self.code("32", text)
    }
    fn bad(self, text: &str) -> String {
        self.code("31", text)
    }
    fn bold(self, text: &str) -> String {
        self.code("1", text)
    }
    fn dim(self, text: &str) -> String {
        self.code("2", text)
    }
}

struct Workbook {
    root: std::path::PathBuf,
    chapters: Vec<Chapter>,
    paint: Paint,
}

/// A step, as the learner names it: `02.3`.
#[derive(Debug, Clone, Copy)]
struct StepRef<'a> {
    chapter: &'a Chapter,
    step: usize,
}

impl StepRef<'_> {
    fn key(&self) -> String {
        format!("{}.{}", self.chapter.number, self.step)
    }
    fn name(&self) -> &str {
        &self.chapter.hints.steps[self.step - 1].name
    }
}

impl Workbook {
    fn load(paint: Paint) -> Result<Self, String> {
        let root = workbook_tools::workspace();
        let mut chapters = Vec::new();
        for number in chapter::chapters(&root) {
            chapters.push(Chapter::load(&root, &number).map_err(|e| e.to_string())?);
        }
        Ok(Self {
            root,
            chapters,
            paint,
        })
    }

    fn left(&self, chapter: &Chapter) -> Vec<TodoLeft> {
        progress::todos_left(&self.root, chapter)
    }

    /// A step is done when its todos are written and its last check passed.
    fn done(&self, state: &State, step: StepRef<'_>, left: &[TodoLeft]) -> bool {
        !left.iter().any(|t| t.step == step.step)
            && state.checks.get(&step.key()).is_some_and(|r| r.done())
    }

    fn steps(&self) -> impl Iterator<Item = StepRef<'_>> {
        self.chapters.iter().flat_map(|chapter| {
            (1..=chapter.hints.steps.len()).map(move |step| StepRef { chapter, step })
        })
    }

    /// The first step not done: in `only`'s chapter if given, else starting from
    /// the chapter the learner last checked, then the later chapters, then the
    /// earlier ones.
    fn first_unfinished(&self, state: &State, only: Option<&str>) -> Option<StepRef<'_>> {
        let focus = only.or(state.chapter.as_deref()).unwrap_or("");
        progress::first_from(
            self.steps()
                .filter(|s| only.is_none_or(|n| s.chapter.number == n)),
            |s| s.chapter.number.as_str() >= focus,
            |s| !self.done(state, *s, &self.left(s.chapter)),
        )
    }

    /// What to do after `step` passed: the first step after it that is not done,
    /// in this chapter and then the later ones, before any earlier step left
    /// unchecked — a learner who skipped ahead is sent on, not back.
    fn next_after(&self, state: &State, step: StepRef<'_>) -> Option<StepRef<'_>> {
        let here = (step.chapter.number.as_str(), step.step);
        progress::first_from(
            self.steps(),
            |s| (s.chapter.number.as_str(), s.step) > here,
            |s| !self.done(state, *s, &self.left(s.chapter)),
        )
    }

    /// True when every step of `chapter` is done.
    fn chapter_done(&self, state: &State, chapter: &Chapter) -> bool {
        self.first_unfinished(state, Some(&chapter.number))
            .is_none()
    }

    /// `02` → its first unfinished step (or its last); `02.3` → that step.
    fn resolve(&self, state: &State, target: Option<&str>) -> Result<Option<StepRef<'_>>, String> {
        let Some(target) = target else {
            return Ok(self.first_unfinished(state, None));
        };
        let (number, step) = match target.split_once('.') {
            Some((n, s)) => (n, Some(s.parse::<usize>().map_err(|_| bad_target(target))?)),
            None => (target, None),
        };
        let number = format!("{:0>2}", number);
        let chapter = self
            .chapters
            .iter()
            .find(|c| c.number == number)
            .ok_or_else(|| bad_target(target))?;
        match step {
            Some(step) if (1..=chapter.hints.steps.len()).contains(&step) => {
                Ok(Some(StepRef { chapter, step }))
            }
            Some(_) => Err(format!(
                "chapter {number} has steps 1 to {}",
                chapter.hints.steps.len()
            )),
            None => Ok(self
                .first_unfinished(state, Some(&number))
                .or(Some(StepRef {
                    chapter,
                    step: chapter.hints.steps.len(),
                }))),
        }
    }
}

fn bad_target(target: &str) -> String {
    format!("{target:?} is not a chapter (like 02) or a step (like 02.3)")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paint = Paint::new(cli.no_color);
    let workbook = match Workbook::load(paint) {
        Ok(workbook) => workbook,
        Err(error) => {
            eprintln!("workbook: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command.unwrap_or(Command::Status { chapter: None }) {
        Command::Status { chapter } => status(&workbook, chapter.as_deref()),
        Command::Check { target } => check(&workbook, target.as_deref()).map(|done| {
            if done {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Hint { id } => hint(&workbook, id.as_deref()),
        Command::Watch { target } => watch(&workbook, target.as_deref()),
        Command::Reset { target, yes } => reset_command(&workbook, &target, yes),
    };
    result.unwrap_or_else(|error| {
        eprintln!("workbook: {error}");
        ExitCode::FAILURE
    })
}

fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0);
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    )
}

fn status(workbook: &Workbook, only: Option<&str>) -> Result<ExitCode, String> {
    let paint = workbook.paint;
    let state = State::load(&workbook.root);
    if let Some(number) = only
        && !workbook.chapters.iter().any(|c| c.number == number)
    {
        return Err(format!(
            "{number:?} is not a chapter with an exercise (like 03)"
        ));
    }
    let (mut todos_total, mut todos_written) = (0, 0);
    let (mut steps_total, mut steps_done) = (0, 0);
    let shown = workbook
        .chapters
        .iter()
        .filter(|c| only.is_none_or(|n| c.number == n));
    for chapter in shown {
        let left = workbook.left(chapter);
        println!();
        println!(
            "{}",
            paint.bold(&format!(
                "Chapter {} — book/src/{}",
                chapter.number, chapter.hints.chapter
            ))
        );
        for (index, step) in chapter.hints.steps.iter().enumerate() {
            let step_ref = StepRef {
                chapter,
                step: index + 1,
            };
            let mine: Vec<&TodoLeft> = left.iter().filter(|t| t.step == index + 1).collect();
            todos_total += step.todos.len();
            todos_written += step.todos.len() - mine.len();
            steps_total += 1;
            let last = state.checks.get(&step_ref.key());
            let verdict = match last {
                _ if workbook.done(&state, step_ref, &left) => {
                    steps_done += 1;
                    paint.good("done")
                }
                Some(r) if !r.compiled => paint.bad("last check: does not compile"),
                Some(r) => paint.bad(&format!(
                    "last check: {} of {} tests pass",
                    r.passed,
                    r.passed + r.failed
                )),
                None if mine.is_empty() => "written, not checked yet".to_owned(),
                None => paint.dim("not started"),
            };
            println!("  {}  {:<52} {}", step_ref.key(), step.name, verdict);
            for todo in mine {
                println!(
                    "        {} {}:{}",
                    paint.dim(&format!("todo {:<24}", todo.id)),
                    todo.file.display(),
                    todo.line
                );
            }
        }
    }
    println!();
    println!("todos written {}", bar(todos_written, todos_total));
    println!("steps done    {}", bar(steps_done, steps_total));
    match workbook.first_unfinished(&state, only) {
        None if only.is_some() => println!("{}", paint.good("Every step of this chapter is done.")),
        None => println!("{}", paint.good("Every step is done. Well built!")),
        Some(next) => {
            println!();
            print!("{} {} {}", paint.bold("Next:"), next.key(), next.name());
            let left = workbook.left(next.chapter);
            match left.iter().find(|t| t.step == next.step) {
                Some(todo) => {
                    let section = &next.chapter.hints.todos[&todo.id].section;
                    println!(
                        " — write {} at {}:{} (book: \"{section}\")",
                        todo.id,
                        todo.file.display(),
                        todo.line
                    );
                }
                None => println!(" — every todo is written"),
            }
            println!(
                "      then: cargo workbook check {}    stuck: cargo workbook hint",
                next.key()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one step's check, prints it, remembers it; true when the step passes.
fn check(workbook: &Workbook, target: Option<&str>) -> Result<bool, String> {
    let paint = workbook.paint;
    let mut state = State::load(&workbook.root);
    if let Some(number) = target.filter(|t| !t.contains('.'))
        && let Some(chapter) = workbook
            .chapters
            .iter()
            .find(|c| c.number == format!("{number:0>2}"))
        && workbook.chapter_done(&state, chapter)
    {
        return check_whole_chapter(workbook, chapter);
    }
    let Some(step) = workbook.resolve(&state, target)? else {
        println!("{}", paint.good("Every step is done. Well built!"));
        return Ok(true);
    };
    println!(
        "{} {} {} {}",
        paint.bold("Checking step"),
        paint.bold(&step.key()),
        step.name(),
        paint.dim(&format!(
            "(cargo test -p exercise{} step{})",
            step.chapter.number, step.step
        ))
    );
    if !check::built_before(&check::target_dir(&workbook.root), &step.chapter.number) {
        println!(
            "{}",
            paint.dim(&format!(
                "First build of exercise{} and what it uses: a few minutes, once.",
                step.chapter.number
            ))
        );
    }
    let cargo = workbook_tools::cargo();
    let result: StepCheck = check::run_step(
        &cargo,
        &workbook.root,
        &step.chapter.number,
        Some(step.step),
        paint.0,
    )
    .map_err(|error| format!("could not run cargo: {error}"))?;
    let summary = result.result();
    state.checks.insert(step.key(), summary);
    state.chapter = Some(step.chapter.number.clone());
    let _ = state.save(&workbook.root);

    if summary.done() {
        println!(
            "{}",
            paint.good(&format!(
                "✓ step {} done: all {} tests pass",
                step.key(),
                summary.passed
            ))
        );
        if workbook.chapter_done(&state, step.chapter) {
            println!(
                "{}",
                paint.good(&format!(
                    "  chapter {} complete: every step passes",
                    step.chapter.number
                ))
            );
        }
        match workbook.next_after(&state, step) {
            Some(next) => println!(
                "  next: {} {} — cargo workbook check {}",
                next.key(),
                next.name(),
                next.key()
            ),
            None => println!("  that was the last step of the workbook. Well built!"),
        }
        return Ok(true);
    }
    if let Some(problem) = &result.first_problem {
        let title = if summary.compiled {
            format!(
                "✗ {} of {} tests pass; the first failure, {}:",
                summary.passed,
                summary.passed + summary.failed,
                problem.title
            )
        } else {
            "✗ the exercise does not compile yet; the first error:".to_owned()
        };
        println!("{}", paint.bad(&title));
        for line in problem.text.lines() {
            println!("  {line}");
        }
        let others: Vec<&str> = result
            .failing()
            .into_iter()
            .filter(|name| *name != problem.title)
            .collect();
        if !others.is_empty() {
            println!(
                "{}",
                paint.dim(&format!("  also failing: {}", others.join(", ")))
            );
        }
    } else if summary.passed + summary.failed == 0 {
        println!("{}", paint.bad("✗ no tests ran for this step"));
    }
    let left = workbook.left(step.chapter);
    let mine: Vec<&TodoLeft> = left.iter().filter(|t| t.step == step.step).collect();
    if !mine.is_empty() {
        println!("  still todo!() in this step:");
        for todo in mine {
            println!("    {} at {}:{}", todo.id, todo.file.display(), todo.line);
        }
    }
    println!("  stuck? cargo workbook hint");
    Ok(false)
}

/// `check NN` once every step of the chapter passed: the whole chapter, once more.
fn check_whole_chapter(workbook: &Workbook, chapter: &Chapter) -> Result<bool, String> {
    let paint = workbook.paint;
    println!(
        "{} {} {}",
        paint.bold("Checking all of chapter"),
        paint.bold(&chapter.number),
        paint.dim(&format!("(cargo test -p exercise{})", chapter.number))
    );
    let result = check::run_step(
        &workbook_tools::cargo(),
        &workbook.root,
        &chapter.number,
        None,
        paint.0,
    )
    .map_err(|error| format!("could not run cargo: {error}"))?;
    let summary = result.result();
    if summary.done() {
        println!(
            "{}",
            paint.good(&format!(
                "✓ chapter {} complete: all {} tests pass",
                chapter.number, summary.passed
            ))
        );
        return Ok(true);
    }
    if let Some(problem) = &result.first_problem {
        println!("{}", paint.bad(&format!("✗ {}:", problem.title)));
        for line in problem.text.lines() {
            println!("  {line}");
        }
    }
    Ok(false)
}

fn hint(workbook: &Workbook, id: Option<&str>) -> Result<ExitCode, String> {
    let mut state = State::load(&workbook.root);
    // `hint 07` or `hint 07.2`: the next todo left there.
    let place = id.filter(|t| t.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if let Some(target) = place {
        let (number, step) = match target.split_once('.') {
            Some((n, k)) => (n, Some(k.parse::<usize>().map_err(|_| bad_target(target))?)),
            None => (target, None),
        };
        let number = format!("{number:0>2}");
        let chapter = workbook
            .chapters
            .iter()
            .find(|c| c.number == number)
            .ok_or_else(|| bad_target(target))?;
        let left = workbook.left(chapter);
        let todo = left
            .iter()
            .find(|t| step.is_none_or(|k| t.step == k))
            .ok_or_else(|| {
                // Everything there is written: hints stay readable, by name.
                let ids: Vec<&str> = chapter
                    .hints
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| step.is_none_or(|k| k == index + 1))
                    .flat_map(|(_, s)| s.todos.iter().map(String::as_str))
                    .collect();
                format!(
                    "no todo is left in {target}: nothing to hint. To read a written todo's \
                     hints again, name it: cargo workbook hint {}",
                    ids.first().copied().unwrap_or("<todo>")
                )
            })?;
        return show_hint(workbook, &mut state, chapter, &todo.id.clone());
    }
    let (chapter, id) = match id {
        Some(id) => {
            let (number, id) = match id.split_once('/') {
                Some((n, id)) => (Some(format!("{n:0>2}")), id),
                None => (None, id),
            };
            let chapter = workbook
                .chapters
                .iter()
                .filter(|c| number.as_ref().is_none_or(|n| *n == c.number))
                .find(|c| c.hints.todos.contains_key(id))
                .ok_or_else(|| format!("no todo {id:?}; `cargo workbook status` lists them"))?;
            (chapter, id.to_owned())
        }
        None => {
            // The chapter last checked, once complete, needs no hint: say so rather
            // than spend a level of another chapter's.
            if let Some(number) = state.chapter.clone()
                && workbook.first_unfinished(&state, Some(&number)).is_none()
            {
                println!(
                    "Chapter {number} is complete: no hint needed. `cargo workbook status` \
                     shows what is left; `cargo workbook hint NN` hints chapter NN."
                );
                return Ok(ExitCode::SUCCESS);
            }
            let step = workbook
                .first_unfinished(&state, None)
                .ok_or("every step is done: no hint needed")?;
            let left = workbook.left(step.chapter);
            let id = left
                .iter()
                .find(|t| t.step == step.step)
                .map(|t| t.id.clone())
                .or_else(|| {
                    step.chapter.hints.steps[step.step - 1]
                        .todos
                        .first()
                        .cloned()
                })
                .ok_or("this step has no todos")?;
            (step.chapter, id)
        }
    };
    show_hint(workbook, &mut state, chapter, &id)
}

/// Shows the next level of hint for `id` and remembers it.
fn show_hint(
    workbook: &Workbook,
    state: &mut State,
    chapter: &Chapter,
    id: &str,
) -> Result<ExitCode, String> {
    let paint = workbook.paint;
    let id = id.to_owned();
    let todo = &chapter.hints.todos[&id];
    let key = format!("{}/{id}", chapter.number);
    let level = (state.hints.get(&key).copied().unwrap_or(0) + 1).min(LEVELS);
    state.hints.insert(key, level);
    let _ = state.save(&workbook.root);
    println!(
        "{} {} (step {}.{}), level {level} of {LEVELS}:",
        paint.bold("Hint for"),
        paint.bold(&id),
        chapter.number,
        chapter.hints.step_of(&id).unwrap_or(0)
    );
    let step_key = format!(
        "{}.{}",
        chapter.number,
        chapter.hints.step_of(&id).unwrap_or(0)
    );
    if state.checks.get(&step_key).is_some_and(|r| r.done()) {
        println!(
            "  {}",
            paint.good(&format!(
                "(step {step_key} already passes: this is for review)"
            ))
        );
    }
    println!("  TODO: {}", todo.write);
    println!();
    for line in todo.hints[level - 1].trim().lines() {
        println!("  {line}");
    }
    if level >= 2 && !todo.traps.is_empty() {
        println!();
        println!("  {}", paint.bold("Compiler errors you may meet here:"));
        for trap in &todo.traps {
            println!("  - {trap}");
        }
    }
    println!();
    println!(
        "  book: \"{}\" in book/src/{}",
        todo.section, chapter.hints.chapter
    );
    if level < LEVELS {
        println!(
            "  {}",
            paint.dim(&format!(
                "more: cargo workbook hint {id}   (level {} of {LEVELS})",
                level + 1
            ))
        );
    } else {
        println!("  {}", paint.dim("that is the last level"));
    }
    Ok(ExitCode::SUCCESS)
}

fn watch(workbook: &Workbook, target: Option<&str>) -> Result<ExitCode, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|error| format!("cannot catch Ctrl-C: {error}"))?;
    let (saved, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.kind.is_modify()
            && event.paths.iter().any(|p| is_source(p))
        {
            let _ = saved.send(());
        }
    })
    .map_err(|error| format!("cannot watch files: {error}"))?;
    watcher
        .watch(&workbook.root.join("exercises"), RecursiveMode::Recursive)
        .map_err(|error| format!("cannot watch exercises/: {error}"))?;

    let run = || {
        let done = check(workbook, target);
        println!();
        println!(
            "{}",
            workbook
                .paint
                .dim("watching exercises/ — save a file to check again, Ctrl-C to stop")
        );
        done
    };
    run()?;
    while !stop.load(Ordering::SeqCst) {
        match changes.recv_timeout(Duration::from_millis(200)) {
            Ok(()) => {
                // An editor's save is often several events: let them settle, then run once.
                std::thread::sleep(Duration::from_millis(300));
                while changes.try_recv().is_ok() {}
                println!();
                run()?;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    println!("stopped watching");
    Ok(ExitCode::SUCCESS)
}

fn is_source(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
        && !path.components().any(|c| c.as_os_str() == "target")
}

fn reset_command(workbook: &Workbook, target: &str, yes: bool) -> Result<ExitCode, String> {
    let state = State::load(&workbook.root);
    let whole = !target.contains('.');
    let step = workbook
        .resolve(&state, Some(target))?
        .ok_or_else(|| bad_target(target))?;
    let what = if whole {
        format!("all of exercises/exercise{}", step.chapter.number)
    } else {
        format!(
            "the todos of step {} ({})",
            step.key(),
            step.chapter.hints.steps[step.step - 1].todos.join(", ")
        )
    };
    if !yes {
        print!("Put back the shipped skeleton of {what}? Your code there is lost. [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing changed");
            return Ok(ExitCode::SUCCESS);
        }
    }
    if whole {
        let changed = reset::reset_chapter(step.chapter).map_err(|e| e.to_string())?;
        println!(
            "put back {} file(s) of exercise{}",
            changed.len(),
            step.chapter.number
        );
    } else {
        let ids = reset::reset_step(step.chapter, step.step)?;
        println!("put back {}", ids.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
