//! Source connectors: readers that turn database rows into batches.
//!
//! - [`connector`]: the JDBC source plugin (configuration, table planning, task creation);
//! - [`config`]: its configuration, parsed once; [`schema`]: MySQL column types → Connect
//!   schemas and values, shared by both readers;
//! - the readers: [`jdbc`] (polling) and [`binlog`] (the binary log);
//! - [`debezium`]: Debezium's MySQL/MariaDB connectors, on the binlog reader with Debezium's
//!   change events.

pub(crate) mod binlog;
pub(crate) mod config;
pub(crate) mod connector;
pub(crate) mod debezium;
pub(crate) mod jdbc;
pub(crate) mod schema;
