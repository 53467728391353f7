//! The connector plugins this build provides, wired in one place above the contracts
//! ([`crate::connector`]) and the implementations ([`crate::source`], [`crate::sink`]).

use std::sync::Arc;

use crate::connector::Plugins;

impl Plugins {
    /// Every connector plugin built into Sluice.
    pub fn builtin() -> Self {
        let mut plugins = Plugins::new();
        plugins.register(Arc::new(crate::source::connector::JdbcSourceConnector));
        plugins.register(Arc::new(crate::sink::jdbc::JdbcSinkConnector));
        plugins.register(Arc::new(crate::source::debezium::DebeziumConnector::MYSQL));
        plugins.register(Arc::new(
            crate::source::debezium::DebeziumConnector::MARIADB,
        ));
        plugins
    }
}
