//! Sluice: change-data-capture replication for MySQL/MariaDB, a drop-in replacement for Kafka
//! Connect's JDBC source and sink connectors.
//!
//! A user keeps their worker `.properties`, connector JSON, REST calls, topics, message bytes,
//! offsets and consumer-group names. Inside, each source task is a pipeline: a reader stage
//! (polling or binlog) → bounded batch queues → a JsonConverter-compatible encoder → the Kafka
//! producer; each sink task is the reverse: consumer → decoder → batched multi-row upserts.
//!
//! Modules:
//! - [`config`]: worker and connector configuration with Kafka Connect's keys and defaults.
//! - [`model`]: schemas, values, batches and records shared by every stage.
//! - [`connector`]: the plugin, source-task and sink-task contracts.
//! - [`offsets`]: source offsets, keyed like Connect's `connect-offsets` records.
//! - [`runtime`]: connector lifecycle and the standalone runner.
//! - [`error`]: the error type; [`retry`]: the one retry policy.

pub(crate) mod budget;
pub mod config;
pub mod connector;
pub mod convert;
pub mod daemon;
pub(crate) mod db;
pub(crate) mod error;
pub mod kafka;
pub mod metrics;
pub mod model;
pub mod offsets;
pub(crate) mod pipeline;
mod plugins;
pub(crate) mod rest;
pub(crate) mod retry;
pub mod runtime;
pub mod sink;
pub(crate) mod source;
pub mod telemetry;
pub mod tools;
pub mod transform;

pub use error::{Error, ErrorKind, Result};
