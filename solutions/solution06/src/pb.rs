//! The types, server trait and client generated from `proto/workbook.proto` by
//! `build.rs`. Kept in one module so the rest of the crate says `pb::Task` and a
//! reader can always tell the wire types from our own.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("workbook.v1");

/// The encoded descriptors of every message and service, for the reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("workbook_descriptor");
