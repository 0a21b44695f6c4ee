//! The types generated from `proto/workbook.proto` (the original's `Task` and
//! `TaskResult`, shared with chapter 06) and from this chapter's `proto/nats.proto`
//! (`Outcome`, `Running`). Kept in one module so the rest of the crate says
//! `pb::Task` and a reader can always tell the wire types from our own.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// The generated files, nested as their protobuf packages are (`workbook.v1`,
/// `workbook.nats.v1`), because `nats.proto`'s code names `workbook.v1`'s types by
/// relative paths.
mod generated {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/workbook.v1.rs"));
    }
    pub mod nats {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/workbook.nats.v1.rs"));
        }
    }
}

pub use generated::v1::*;

/// This chapter's own messages, which wrap the original's.
pub mod nats {
    pub use super::generated::nats::v1::*;
}
