//! Stage wiring. A source task runs as a pipeline of threads joined by bounded crossbeam
//! queues: reader → encoder → producer, with acknowledgements flowing to the offset committer.
//! Full queues block the stage before them (backpressure); nothing buffers without bound.

pub(crate) mod record;
pub(crate) mod sink;
pub(crate) mod source;

use crate::config::connector::SourceConnectorConfig;
use crate::config::{ConfigError, ConnectorConfig, WorkerConfig};
use crate::connector::{ConnectorPlugin, ConnectorType};

/// Every error in a connector's (resolved) configuration that the worker checks before it runs
/// the connector, each naming its key: the plugin's keys, the record stage's (transformations,
/// predicates, converters) and, for a source, topic creation. The REST API's validation and
/// creation, the config topic's records and `sluice standalone` all check with this.
pub(crate) fn config_errors(
    plugin: &dyn ConnectorPlugin,
    config: &ConnectorConfig,
    worker: &WorkerConfig,
) -> Vec<ConfigError> {
    let mut errors = plugin.validate(config);
    errors.extend(record::config_errors(&config.config, worker));
    if plugin.connector_type() == ConnectorType::Source {
        errors.extend(SourceConnectorConfig::errors(
            &config.config,
            worker.topic_creation_enable,
        ));
    }
    // The source plugins' definitions include the topic creation keys: one error once.
    let mut seen = std::collections::HashSet::new();
    errors.retain(|error| seen.insert(error.to_string()));
    errors
}

/// For the pipelines' unit tests: a worker that never reaches a broker, and the record stage of
/// a connector configured with `connector`.
#[cfg(test)]
fn test_stage(
    connector: &[(&str, &str)],
) -> (
    std::sync::Arc<crate::config::WorkerConfig>,
    record::RecordStageConfig,
) {
    let worker = crate::config::WorkerConfig::from_map(crate::config::props(&[(
        "bootstrap.servers",
        "127.0.0.1:1",
    )]))
    .unwrap();
    let stage = record::RecordStageConfig::new(&crate::config::props(connector), &worker).unwrap();
    (std::sync::Arc::new(worker), stage)
}
