//! Shared presentation for the demo binaries: colours that switch themselves off
//! when nobody is looking.
//!
//! The binaries in `src/bin/` are thin command lines over the solution crates; the
//! only things they share are how a line looks on a terminal, which lives in [`term`],
//! the ZeroMQ demos' [`endpoints`] options, durations in [`seconds`], and how a
//! demo ends ([`exit`]).

pub mod endpoints;
pub mod exit;
pub mod seconds;
pub mod term;
