//! Source connectors: readers that turn database rows into batches.

pub mod jdbc;
