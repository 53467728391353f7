//! Sink connectors: writers from Kafka records into databases.

pub mod jdbc;
