//! Chaos, short: chapter 05's real `lease_dispatcher` and `lease_worker`
//! binaries, a worker SIGKILLed about every second and the dispatcher about
//! every three (each restarted on the same database, port, id and cache) while
//! 300 tasks with known answers run — and every one of them must end COMPLETED
//! with its right result. The long run is `cargo run --release --bin chaos -- ch05`.

use std::time::Duration;

use chaos::{Settings, ch05};
use grading::temp::TempDir;

#[test]
fn killing_workers_and_the_dispatcher_loses_no_task_and_changes_no_result() {
    let dir = TempDir::new("ch05-chaos");
    let mut settings = Settings::new(300, dir.path().to_path_buf());
    settings.seed = 5;
    settings.workers = 3;
    settings.rate = Some(50.0);
    // Half the tasks sleep up to 100 ms: kills find leases held mid-task.
    settings.sleep_one_in = 2;
    settings.sleep_ms_max = 100;
    settings.worker_kill_every = Some(Duration::from_secs(1));
    settings.dispatcher_kill_every = Some(Duration::from_secs(3));
    settings.downtime = Duration::from_millis(300);
    settings.limit = Duration::from_secs(60);
    let binaries = ch05::Binaries {
        dispatcher: env!("CARGO_BIN_EXE_lease_dispatcher").into(),
        worker: env!("CARGO_BIN_EXE_lease_worker").into(),
    };
    let report = ch05::run(&binaries, &settings, &|line| eprintln!("{line}"))
        .unwrap_or_else(|error| panic!("the chaos run could not be carried out: {error}"));
    eprintln!("{report}");
    assert!(
        report.worker_kills >= 2 && report.dispatcher_kills >= 1,
        "the run must actually kill: {report}"
    );
    assert!(report.passed(), "0 lost and 0 wrong expected:\n{report}");
    assert_eq!(report.right, 300, "{report}");
}
