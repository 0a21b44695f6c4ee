//! Shared presentation for the demo binaries: colours that switch themselves off
//! when nobody is looking.
//!
//! The binaries in `src/bin/` are thin command lines over the solution crates; what
//! every one of them shares is how a line looks on a terminal, which lives in
//! [`term`], and durations on the command line, in [`seconds`]. What only some
//! chapters' demos share lives with them, in `demos/chNN` (for example chapter 03's
//! ZeroMQ endpoints and chapter 04's Ctrl-C handling), so that this package — and
//! chapter 02's demo with it — builds without ZeroMQ, tonic or SQLite.

pub mod seconds;
pub mod term;
