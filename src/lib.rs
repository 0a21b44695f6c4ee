//! Shared presentation for the demo binaries: colours that switch themselves off
//! when nobody is looking.
//!
//! The binaries in `src/bin/` are thin command lines over the solution crates; the
//! only things they share are how a line looks on a terminal, which lives in [`term`],
//! and the ZeroMQ demos' [`endpoints`] options.
//! [`verify`] and [`book_check`] are the maintainers' checks behind `cargo run --bin verify`.

pub mod book_check;
pub mod endpoints;
pub mod term;
pub mod verify;
