//! Source connectors: readers that turn database rows into batches.
//!
//! - [`connector`]: the JDBC source plugin (configuration, table planning, task creation);
//! - [`config`]: its configuration, parsed once; [`schema`]: MySQL column types → Connect
//!   schemas and values, shared by both readers;
//! - the readers: [`jdbc`] (polling) and [`binlog`] (the binary log);
//! - [`debezium`]: Debezium's MySQL/MariaDB connectors, on the binlog reader with Debezium's
//!   change events.

pub mod binlog;
pub mod config;
pub mod connector;
pub mod debezium;
pub mod jdbc;
pub mod schema;
