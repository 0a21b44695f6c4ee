//! Chaos, short: chapter 06's real `grpc_server`, SIGKILLed about every three
//! seconds and restarted on the same database and port, while 300 `Compute`
//! calls (retried when a kill cuts them off) and 300 tasks on its Dispatcher
//! queue run — the queue worked by gRPC worker loops that drop a lease mid-task
//! about every second. Every call and every task must end with its right
//! result. The long run is `cargo run --release --bin chaos -- ch06`.

use chaos::{Settings, ch06, short_run};
use grading::temp::TempDir;

#[test]
fn killing_the_server_and_dropping_leases_loses_no_task_and_no_call() {
    let dir = TempDir::new("ch06-chaos");
    let settings = Settings::short(6, dir.path().to_path_buf());
    let binaries = ch06::Binaries {
        server: env!("CARGO_BIN_EXE_grpc_server").into(),
    };
    let _report = short_run(&settings, |settings, progress| {
        ch06::run(&binaries, settings, progress)
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
}
