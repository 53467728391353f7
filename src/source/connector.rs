//! `io.confluent.connect.jdbc.JdbcSourceConnector`, rebuilt: the same configuration, SQL,
//! topics, message bytes and offsets as Confluent's JDBC source, read as a stream. The plugin
//! plans tables into tasks and creates each task with the reader its configuration selects:
//! polling ([`super::jdbc`]) or the binary log ([`super::binlog`], `sluice.capture=binlog`).

use std::sync::Arc;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;

use super::config::{JdbcSourceConfig, SOURCE_CONFIG_DEF};
use super::jdbc::task::{JdbcSourceTask, Target};
use crate::config::{ConfigDef, ConfigError, ConnectorConfig};
use crate::connector::{ConnectorPlugin, ConnectorType, Task, TaskConfig, TaskContext};
use crate::error::{Error, ErrorKind, Result};

/// The task config key holding the task's tables, as a JSON array of names.
pub(crate) const TABLES_KEY: &str = "tables";

/// The JDBC source connector plugin.
pub(crate) struct JdbcSourceConnector;

impl JdbcSourceConnector {
    pub(crate) const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSourceConnector";
}

/// Splits `items` into `groups` contiguous groups, the first ones one larger, as Connect's
/// `ConnectorUtils.groupPartitions` does.
pub(crate) fn group_partitions<T: Clone>(items: &[T], groups: usize) -> Vec<Vec<T>> {
    let groups = groups.max(1);
    let per_group = items.len() / groups;
    let leftover = items.len() - groups * per_group;
    let mut out = Vec::with_capacity(groups);
    let mut start = 0;
    for group in 0..groups {
        let size = per_group + usize::from(group < leftover);
        out.push(items[start..start + size].to_vec());
        start += size;
    }
    out
}

/// Lists the connector's tables in the URL's database, filtered by the configured lists, and
/// checks that every whitelisted table exists.
pub(crate) async fn list_tables(config: &JdbcSourceConfig) -> Result<Vec<String>> {
    let mut conn = config.database.connect().await?;
    let database = config.database.url.database.clone().unwrap_or_default();
    let types: Vec<&str> = config
        .table_types
        .iter()
        .map(|t| if t == "VIEW" { "VIEW" } else { "BASE TABLE" })
        .collect();
    let rows: Vec<(String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
            (&database,),
        )
        .await
        .map_err(|e| config.database.error(e))?;
    conn.disconnect().await.ok();
    let tables: Vec<String> = rows
        .into_iter()
        .filter(|(_, ty)| types.contains(&ty.as_str()))
        .map(|(name, _)| name)
        .filter(|name| config.tables.matches(&database, name))
        .collect();
    for wanted in &config.tables.whitelist {
        let name = wanted.rsplit('.').next().unwrap_or(wanted);
        if !tables.iter().any(|t| t == name) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "table.whitelist: table {wanted} does not exist in database {database} (or is not of table.types {})",
                    config.table_types.join(",")
                ),
            ));
        }
    }
    Ok(tables)
}

#[async_trait]
impl ConnectorPlugin for JdbcSourceConnector {
    fn class(&self) -> &'static str {
        JdbcSourceConnector::CLASS
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_def(&self) -> &ConfigDef {
        &SOURCE_CONFIG_DEF
    }

    fn validate(&self, config: &ConnectorConfig) -> Vec<ConfigError> {
        JdbcSourceConfig::parse_all(config).1
    }

    async fn task_configs(
        &self,
        config: &ConnectorConfig,
        max_tasks: usize,
    ) -> Result<Vec<TaskConfig>> {
        let source = JdbcSourceConfig::parse(config)?;
        if source.query.is_some() || source.binlog.is_some() {
            // One binlog stream reads every table: one task.
            return Ok(vec![config.config.clone()]);
        }
        let tables = list_tables(&source).await?;
        if tables.is_empty() {
            tracing::warn!(message = "no tables match the connector's table filters yet", connector = %config.name);
        }
        let groups = group_partitions(&tables, max_tasks.min(tables.len()).max(1));
        Ok(groups
            .into_iter()
            .map(|group| {
                let mut task = config.config.clone();
                task.insert(
                    TABLES_KEY.into(),
                    serde_json::to_string(&group).unwrap_or_default(),
                );
                task
            })
            .collect())
    }

    /// Tables are listed again every `table.poll.interval.ms` (Connect's TableMonitorThread);
    /// a new or dropped matching table re-plans the tasks.
    fn reconfigure_interval(&self, config: &ConnectorConfig) -> Option<std::time::Duration> {
        let source = JdbcSourceConfig::parse(config).ok()?;
        if source.query.is_some() || source.binlog.is_some() {
            return None;
        }
        Some(source.table_poll_interval)
    }

    fn create_task(&self, context: TaskContext) -> Result<Task> {
        let connector =
            ConnectorConfig::from_map(Some(context.connector.to_string()), context.config.clone())?;
        let config = Arc::new(JdbcSourceConfig::parse(&connector)?);
        if config.binlog.is_some() {
            return Ok(Task::Source(Box::new(
                crate::source::binlog::BinlogSourceTask::new(context.connector.clone(), config)?,
            )));
        }
        let targets = match &config.query {
            Some(query) => vec![Target::Query(query.clone())],
            None => {
                let database = config.database.url.database.clone().unwrap_or_default();
                let tables: Vec<String> = match context.config.get(TABLES_KEY) {
                    Some(json) => serde_json::from_str(json).map_err(|e| {
                        Error::with_source(
                            ErrorKind::Config,
                            "task config: tables is not a JSON list",
                            e,
                        )
                    })?,
                    None => Vec::new(),
                };
                tables
                    .into_iter()
                    .map(|table| Target::Table {
                        database: database.clone(),
                        table,
                    })
                    .collect()
            }
        };
        Ok(Task::Source(Box::new(JdbcSourceTask::new(
            context.connector.clone(),
            config,
            targets,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_like_connect() {
        let items: Vec<u32> = (1..=5).collect();
        assert_eq!(group_partitions(&items, 2), vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(
            group_partitions(&items, 3),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        assert_eq!(group_partitions(&items, 1), vec![items.clone()]);
    }
}
