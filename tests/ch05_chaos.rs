//! Chaos, short: chapter 05's real `lease_dispatcher` and `lease_worker`
//! binaries, a worker SIGKILLed about every second and the dispatcher about
//! every three (each restarted on the same database, port, id and cache) while
//! 300 tasks with known answers run — and every one of them must end COMPLETED
//! with its right result. The long run is `cargo run --release --bin chaos -- ch05`.

use chaos::{Settings, ch05, short_run};
use grading::temp::TempDir;

#[test]
fn killing_workers_and_the_dispatcher_loses_no_task_and_changes_no_result() {
    let dir = TempDir::new("ch05-chaos");
    let mut settings = Settings::short(5, dir.path().to_path_buf());
    // Half the tasks sleep up to 100 ms: kills find leases held mid-task.
    settings.sleep_one_in = 2;
    settings.sleep_ms_max = 100;
    let binaries = ch05::Binaries {
        dispatcher: env!("CARGO_BIN_EXE_lease_dispatcher").into(),
        worker: env!("CARGO_BIN_EXE_lease_worker").into(),
    };
    let report = short_run(&settings, |settings, progress| {
        ch05::run(&binaries, settings, progress)
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(report.right, 300, "{report}");
}
