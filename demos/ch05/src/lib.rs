//! What chapter 05's demos (`lease_dispatcher`, `lease_worker`, `add_task`,
//! `stats`) share: a lease event printed as chapter 04's pull model prints its
//! own, and the clients' choice of door ([`door`]).

pub mod door;

use workbook::term;
use workbook_ch04::voice;

/// Prints one event of chapter 05's lease dispatcher or worker.
pub fn print_lease_event(event: &solution05::Event) {
    let speaker = event.speaker();
    term::print_tagged(&speaker.to_string(), voice(speaker), &event.message());
}
