//! The runtime contracts: what a connector plugin, a source task and a sink task promise.
//!
//! A connector plugin validates its configuration and splits it into task configurations (as
//! Connect's `Connector.taskConfigs`). Tasks do the work:
//!
//! - A [`SourceTask`] is pulled by the runtime: each [`SourceTask::poll`] returns a batch of rows
//!   together with the position reached after its last row. The runtime encodes and produces the
//!   batch and stores the position in the offsets topic only after Kafka has acknowledged every
//!   record of the batch (at-least-once; on restart the task resumes from the stored position and
//!   may repeat rows after it).
//! - A [`SinkTask`] is pushed batches of Kafka records. [`SinkTask::put`] returns only when the
//!   records are durable in the target (their transaction committed) or deliberately routed to
//!   the dead-letter topic; only then does the runtime commit the consumer group's offsets.
//!   Records may be delivered more than once (after a crash or an offset reset): writes must be
//!   idempotent where the mode allows it (upserts).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::config::{ConfigDef, ConfigError, ConnectorConfig};
use crate::error::Result;
use crate::model::record::FailureStage;
use crate::model::{SinkRecord, SourceBatch};
use crate::offsets::OffsetReader;

/// Whether a connector reads from a system into Kafka or writes from Kafka into a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// A task's configuration: the connector's keys plus what the connector assigned to the task
/// (for the JDBC source, `tables`).
pub(crate) type TaskConfig = BTreeMap<String, String>;

/// A connector implementation, registered in [`Plugins`].
#[async_trait]
pub(crate) trait ConnectorPlugin: Send + Sync + 'static {
    /// The fully qualified class name users put in `connector.class`.
    fn class(&self) -> &'static str;

    /// Other names accepted in `connector.class` (the simple class name is always accepted).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    fn connector_type(&self) -> ConnectorType;

    /// The plugin version shown by `GET /connector-plugins`: Sluice's own, marked as Sluice's
    /// (a plugin standing in for another project's connector may name that project's version).
    fn version(&self) -> &'static str {
        concat!(env!("CARGO_PKG_VERSION"), "-sluice")
    }

    /// The connector-specific keys (common keys are added by the runtime).
    fn config_def(&self) -> &ConfigDef;

    /// Every problem with `config`: type errors from [`ConnectorPlugin::config_def`] and
    /// cross-key rules. Must not contact external systems.
    fn validate(&self, config: &ConnectorConfig) -> Vec<ConfigError> {
        self.config_def().parse_all(&config.config).1
    }

    /// Splits the connector into at most `max_tasks` task configurations. May contact the
    /// source or target (e.g. to list tables); errors fail the connector.
    async fn task_configs(
        &self,
        config: &ConnectorConfig,
        max_tasks: usize,
    ) -> Result<Vec<TaskConfig>>;

    /// How often the runtime should call [`ConnectorPlugin::task_configs`] again to notice a
    /// changed plan (Connect's `requestTaskReconfiguration`, e.g. a new table); `None`: never.
    fn reconfigure_interval(&self, _config: &ConnectorConfig) -> Option<std::time::Duration> {
        None
    }

    /// Creates a task for one of the configurations returned by
    /// [`ConnectorPlugin::task_configs`].
    fn create_task(&self, context: TaskContext) -> Result<Task>;
}

/// A created task.
pub(crate) enum Task {
    Source(Box<dyn SourceTask>),
    Sink(Box<dyn SinkTask>),
}

/// What a task is given when it is created.
#[derive(Clone)]
pub(crate) struct TaskContext {
    pub(crate) connector: Arc<str>,
    pub(crate) config: TaskConfig,
}

/// What a source task may use while it starts.
pub(crate) struct SourceTaskContext {
    /// Committed offsets of this connector, to resume from.
    pub(crate) offsets: Arc<dyn OffsetReader>,
    /// A batch is handed on at this many bytes of values (see [`crate::model::Value::heap_bytes`])
    /// or at the task's row limit, whichever comes first: the pipeline's share of the worker's
    /// memory budget holds several batches.
    pub(crate) batch_max_bytes: usize,
    /// Emptied value vectors of batches already encoded: a reader takes its next batch's
    /// `values` from here (`spare_rows.take(n)`) to reuse their memory.
    pub(crate) spare_rows: crate::budget::Spares<crate::model::Value>,
    /// The worker's settings, for a task that keeps its own topics (Debezium's schema history
    /// is on the worker's Kafka cluster unless its config names another).
    pub(crate) worker: Arc<crate::config::WorkerConfig>,
}

/// A task that reads from a system into Kafka.
#[async_trait]
pub(crate) trait SourceTask: Send {
    /// Connects and loads the committed positions. Called once, before any poll.
    async fn start(&mut self, context: SourceTaskContext) -> Result<()>;

    /// The next batch of rows with the position after its last row, or `None` when nothing new
    /// arrived within the task's own wait (e.g. `poll.interval.ms`); the runtime calls again.
    ///
    /// Cancel safety: the runtime drops this future only when the task is stopping; rows read
    /// but not yet returned are read again from the last stored position on the next start.
    async fn poll(&mut self) -> Result<Option<SourceBatch>>;

    /// Releases connections. Called once; errors are logged.
    async fn stop(&mut self) -> Result<()>;
}

/// What a sink task may use while it starts.
pub(crate) struct SinkTaskContext {
    /// `errors.tolerance=all`: report failing records instead of failing the task.
    pub(crate) tolerate_errors: bool,
    /// `key.converter.schemas.enable`: when false, keys reach the task unconverted
    /// (`key_data` is `None`, `key` holds the plain JSON) for it to read against a schema of its
    /// own, such as its table's columns.
    pub(crate) key_schemas: bool,
    /// `value.converter.schemas.enable`: when false, values reach the task unconverted
    /// (`value_data` is `None`, `value` holds the plain JSON).
    pub(crate) value_schemas: bool,
}

/// A record that could not be converted or written, with `errors.tolerance=all`.
#[derive(Debug)]
pub(crate) struct RecordFailure {
    /// The record's index in the batch it arrived in.
    pub(crate) index: usize,
    pub(crate) stage: FailureStage,
    pub(crate) error: crate::error::Error,
}

/// A task that writes from Kafka into a system.
#[async_trait]
pub(crate) trait SinkTask: Send {
    /// Connects to the target. Called once, before any put.
    async fn start(&mut self, context: SinkTaskContext) -> Result<()>;

    /// Whether the runtime must convert record keys (as Connect always does); a task that never
    /// reads keys can skip their conversion.
    fn wants_keys(&self) -> bool {
        true
    }

    /// How many records the task writes best in one [`SinkTask::put`] (the JDBC sink's
    /// `batch.size`); the runtime's own default when `None`. A connector's
    /// `consumer.override.max.poll.records` wins over both.
    fn batch_records(&self) -> Option<usize> {
        None
    }

    /// Writes `records` (already converted by the runtime; their `index` is their position in
    /// the slice), in order. Returns only when every record is durable (its transaction
    /// committed) or returned as a failure (only with `errors.tolerance=all`); the runtime then
    /// routes the failures to the dead-letter topic and commits the batch's offsets. An error
    /// fails the task and nothing of the batch is committed. Transient errors are retried inside
    /// (`max.retries`); records may be delivered again after a restart, so writes must be
    /// idempotent where the mode allows (upserts).
    async fn put(&mut self, records: &[SinkRecord]) -> Result<Vec<RecordFailure>>;

    /// Releases connections. Called once; errors are logged.
    async fn stop(&mut self) -> Result<()>;
}

/// A plugin as listed by `GET /connector-plugins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PluginInfo {
    pub(crate) class: String,
    #[serde(rename = "type")]
    pub(crate) connector_type: ConnectorType,
    pub(crate) version: String,
}

/// A registry of connector plugins. The ones this build provides ([`Plugins::builtin`]) are
/// listed with the binary's wiring, so the contracts name no implementation.
#[derive(Clone, Default)]
pub struct Plugins {
    plugins: Vec<Arc<dyn ConnectorPlugin>>,
}

impl Plugins {
    /// An empty registry.
    pub fn new() -> Self {
        Plugins::default()
    }

    /// Adds a plugin.
    pub(crate) fn register(&mut self, plugin: Arc<dyn ConnectorPlugin>) {
        self.plugins.push(plugin);
    }

    /// Plugins sorted by class name.
    pub(crate) fn list(&self) -> Vec<PluginInfo> {
        let mut list: Vec<_> = self
            .plugins
            .iter()
            .map(|p| PluginInfo {
                class: p.class().to_string(),
                connector_type: p.connector_type(),
                version: p.version().to_string(),
            })
            .collect();
        list.sort_by(|a, b| a.class.cmp(&b.class));
        list
    }

    /// Finds a plugin by full class name, simple class name or alias (as Connect does).
    pub(crate) fn find(
        &self,
        class: &str,
    ) -> std::result::Result<Arc<dyn ConnectorPlugin>, ConfigError> {
        let class = class.trim();
        self.plugins
            .iter()
            .find(|p| {
                let full = p.class();
                let simple = full.rsplit('.').next().unwrap_or(full);
                full == class || simple == class || p.aliases().contains(&class)
            })
            .cloned()
            .ok_or_else(|| {
                let available: Vec<_> = self.plugins.iter().map(|p| p.class()).collect();
                ConfigError::invalid(
                    "connector.class",
                    class,
                    format!(
                        "Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
                        if available.is_empty() {
                            "(none)".to_string()
                        } else {
                            available.join(", ")
                        }
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigDef;

    struct Dummy(ConfigDef);

    #[async_trait]
    impl ConnectorPlugin for Dummy {
        fn class(&self) -> &'static str {
            "io.example.DummySourceConnector"
        }
        fn aliases(&self) -> &'static [&'static str] {
            &["Dummy"]
        }
        fn connector_type(&self) -> ConnectorType {
            ConnectorType::Source
        }
        fn config_def(&self) -> &ConfigDef {
            &self.0
        }
        async fn task_configs(&self, _: &ConnectorConfig, _: usize) -> Result<Vec<TaskConfig>> {
            Ok(vec![])
        }
        fn create_task(&self, _: TaskContext) -> Result<Task> {
            Err(crate::error::Error::internal("not used"))
        }
    }

    #[test]
    fn plugins_are_found_by_class_simple_name_or_alias() {
        let mut plugins = Plugins::new();
        plugins.register(Arc::new(Dummy(ConfigDef::new())));
        for name in [
            "io.example.DummySourceConnector",
            "DummySourceConnector",
            "Dummy",
        ] {
            assert_eq!(
                plugins.find(name).unwrap().class(),
                "io.example.DummySourceConnector"
            );
        }
        let error = plugins.find("io.example.Missing").err().unwrap();
        assert_eq!(error.key, "connector.class");
        assert!(
            error
                .to_string()
                .contains("available connectors are: io.example.DummySourceConnector")
        );
        assert_eq!(
            serde_json::to_string(&plugins.list()).unwrap(),
            r#"[{"class":"io.example.DummySourceConnector","type":"source","version":"0.1.0-sluice"}]"#
        );
    }
}
