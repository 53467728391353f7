//! Source connectors: readers that turn database rows into batches.

pub mod binlog;
pub mod jdbc;
