//! Chaos, short: chapter 04's real `pull_dispatcher` and `pull_worker` binaries,
//! a worker SIGKILLed about every second and the in-memory dispatcher about every
//! three, while 300 tasks with known answers run. The dispatcher forgets its
//! tasks when it dies and fails a dead worker's task at its deadline — the
//! original's design — so the client sends those again; every task must end with
//! its right result. The long run is `cargo run --release --bin chaos -- ch04`.

use std::time::Duration;

use chaos::{Settings, ch04};
use grading::temp::TempDir;

#[test]
fn with_a_client_that_resubmits_killing_workers_and_the_dispatcher_loses_no_task() {
    let dir = TempDir::new("ch04-chaos");
    let mut settings = Settings::new(300, dir.path().to_path_buf());
    settings.seed = 4;
    settings.workers = 3;
    settings.rate = Some(50.0);
    settings.worker_kill_every = Some(Duration::from_secs(1));
    settings.dispatcher_kill_every = Some(Duration::from_secs(3));
    settings.downtime = Duration::from_millis(300);
    settings.limit = Duration::from_secs(60);
    let binaries = ch04::Binaries {
        dispatcher: env!("CARGO_BIN_EXE_pull_dispatcher").into(),
        worker: env!("CARGO_BIN_EXE_pull_worker").into(),
    };
    let report = ch04::run(&binaries, &settings, &|line| eprintln!("{line}"))
        .unwrap_or_else(|error| panic!("the chaos run could not be carried out: {error}"));
    eprintln!("{report}");
    assert!(
        report.worker_kills >= 2 && report.dispatcher_kills >= 1,
        "the run must actually kill: {report}"
    );
    assert!(report.passed(), "0 lost and 0 wrong expected:\n{report}");
}
