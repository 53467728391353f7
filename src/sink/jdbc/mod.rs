//! `io.confluent.connect.jdbc.JdbcSinkConnector`, rebuilt: the same configuration, consumer
//! group and tables as Confluent's JDBC sink, written with multi-row statements.

pub(crate) mod config;
pub mod db;
pub(crate) mod sql;
pub(crate) mod task;

use std::sync::Arc;

use async_trait::async_trait;

use self::config::{JdbcSinkConfig, SINK_CONFIG_DEF};
use self::task::JdbcSinkTask;
use crate::config::{ConfigDef, ConfigError, ConnectorConfig};
use crate::connector::{ConnectorPlugin, ConnectorType, Task, TaskConfig, TaskContext};
use crate::error::Result;

/// The JDBC sink connector plugin.
pub(crate) struct JdbcSinkConnector;

impl JdbcSinkConnector {
    pub(crate) const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSinkConnector";
}

#[async_trait]
impl ConnectorPlugin for JdbcSinkConnector {
    fn class(&self) -> &'static str {
        JdbcSinkConnector::CLASS
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }

    fn config_def(&self) -> &ConfigDef {
        &SINK_CONFIG_DEF
    }

    fn validate(&self, config: &ConnectorConfig) -> Vec<ConfigError> {
        JdbcSinkConfig::parse_all(config).1
    }

    /// `tasks.max` identical tasks: they share the work as members of one consumer group.
    async fn task_configs(
        &self,
        config: &ConnectorConfig,
        max_tasks: usize,
    ) -> Result<Vec<TaskConfig>> {
        JdbcSinkConfig::parse(config)?;
        Ok(vec![config.config.clone(); max_tasks.max(1)])
    }

    fn create_task(&self, context: TaskContext) -> Result<Task> {
        let connector =
            ConnectorConfig::from_map(Some(context.connector.to_string()), context.config.clone())?;
        let config = Arc::new(JdbcSinkConfig::parse(&connector)?);
        Ok(Task::Sink(Box::new(JdbcSinkTask::new(
            context.connector.clone(),
            config,
        ))))
    }
}
