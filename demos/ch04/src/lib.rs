//! What chapter 04's demos (`pull_dispatcher`, `pull_worker`, `pull_client`)
//! share, and chapter 05's reuse: how a server ends on Ctrl-C ([`exit`]) and how a
//! line of the pull model looks. A package of its own so that `cargo run --bin
//! dispatcher_worker` never waits for ZeroMQ to compile.

pub mod exit;

use solution04::Speaker;
use solution04::worker::WorkerProtocol;
use workbook::term::{self, Voice};

/// The pull model's speakers in the colours of chapter 02's: the dispatcher like
/// chapter 02's, the worker process in blue, each of its pool threads in its
/// worker colour.
pub fn voice(speaker: Speaker) -> Voice {
    match speaker {
        Speaker::Dispatcher => Voice::Coordinator,
        Speaker::Worker => Voice::Relay,
        Speaker::Thread(id) => Voice::Worker(id),
    }
}

/// Prints one event of chapter 04's pull model.
pub fn print_pull_event(event: &solution04::Event) {
    let speaker = event.speaker();
    term::print_tagged(&speaker.to_string(), voice(speaker), &event.message());
}

/// `--protocol`'s values, for `pull_worker` and `lease_worker`: how a worker's
/// results travel (see [`WorkerProtocol`]). Each binary's own `--help` says
/// which is its default; a doc comment here would become clap's help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolArg {
    Original,
    OneTrip,
}

impl From<ProtocolArg> for WorkerProtocol {
    fn from(protocol: ProtocolArg) -> Self {
        match protocol {
            ProtocolArg::Original => WorkerProtocol::Original,
            ProtocolArg::OneTrip => WorkerProtocol::OneTrip,
        }
    }
}
