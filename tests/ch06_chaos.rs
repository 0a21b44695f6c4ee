//! Chaos, short: chapter 06's real `grpc_server`, SIGKILLed about every three
//! seconds and restarted on the same database and port, while 300 `Compute`
//! calls (retried when a kill cuts them off) and 300 tasks on its Dispatcher
//! queue run — the queue worked by gRPC worker loops that drop a lease mid-task
//! about every second. Every call and every task must end with its right
//! result. The long run is `cargo run --release --bin chaos -- ch06`.

use std::time::Duration;

use chaos::{Settings, ch06};
use grading::temp::TempDir;

#[test]
fn killing_the_server_and_dropping_leases_loses_no_task_and_no_call() {
    let dir = TempDir::new("ch06-chaos");
    let mut settings = Settings::new(300, dir.path().to_path_buf());
    settings.seed = 6;
    settings.workers = 3;
    settings.rate = Some(50.0);
    settings.worker_kill_every = Some(Duration::from_secs(1));
    settings.dispatcher_kill_every = Some(Duration::from_secs(3));
    settings.downtime = Duration::from_millis(300);
    settings.limit = Duration::from_secs(60);
    let binaries = ch06::Binaries {
        server: env!("CARGO_BIN_EXE_grpc_server").into(),
    };
    let report = ch06::run(&binaries, &settings, &|line| eprintln!("{line}"))
        .unwrap_or_else(|error| panic!("the chaos run could not be carried out: {error}"));
    eprintln!("{report}");
    assert!(
        report.worker_kills >= 2 && report.dispatcher_kills >= 1,
        "the run must actually kill: {report}"
    );
    assert!(report.passed(), "0 lost and 0 wrong expected:\n{report}");
}
