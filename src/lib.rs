//! Shared presentation for the demo binaries: colours that switch themselves off
//! when nobody is looking.
//!
//! The binaries in `src/bin/` are thin command lines over the solution crates; the
//! only thing they share is how a line looks on a terminal, which lives here.

pub mod term;
