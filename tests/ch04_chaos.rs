//! Chaos, short: chapter 04's real `pull_dispatcher` and `pull_worker` binaries,
//! a worker SIGKILLed about every second and the in-memory dispatcher about every
//! three, while 300 tasks with known answers run. The dispatcher forgets its
//! tasks when it dies and fails a dead worker's task at its deadline — the
//! original's design — so the client sends those again; every task must end with
//! its right result. The long run is `cargo run --release --bin chaos -- ch04`.

use chaos::{Settings, ch04, short_run};
use grading::temp::TempDir;

#[test]
fn with_a_client_that_resubmits_killing_workers_and_the_dispatcher_loses_no_task() {
    let dir = TempDir::new("ch04-chaos");
    let settings = Settings::short(4, dir.path().to_path_buf());
    let binaries = ch04::Binaries {
        dispatcher: env!("CARGO_BIN_EXE_pull_dispatcher").into(),
        worker: env!("CARGO_BIN_EXE_pull_worker").into(),
    };
    let _report = short_run(&settings, |settings, progress| {
        ch04::run(&binaries, settings, progress)
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
}
