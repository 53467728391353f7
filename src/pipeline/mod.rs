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
    errors
}

/// Topic creation is checked for every source connector when the worker allows it, and for no
/// sink.
#[cfg(test)]
#[test]
fn topic_creation_is_checked_for_sources() {
    use crate::config::props;
    let bad = [
        ("topic.creation.default.partitions", "0"),
        ("topic.creation.default.replication.factor", "1"),
    ];
    let errors = |plugin: &dyn ConnectorPlugin, base: &[(&str, &str)], worker: &[(&str, &str)]| {
        let mut worker_props = props(&[("bootstrap.servers", "127.0.0.1:1")]);
        worker_props.extend(props(worker));
        let worker = WorkerConfig::from_map(worker_props).unwrap();
        let mut config = props(base);
        config.extend(props(&bad));
        let config = ConnectorConfig::from_map(Some("c".into()), config).unwrap();
        config_errors(plugin, &config, &worker)
            .into_iter()
            .filter(|e| e.key.starts_with("topic.creation."))
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    };
    let message = "Invalid value 0 for configuration topic.creation.default.partitions: Number \
                   of partitions must be positive, or -1 to use the broker's default";
    let jdbc = [
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        ),
        ("connection.url", "jdbc:mysql://h/db"),
        ("mode", "incrementing"),
        ("topic.prefix", "p_"),
    ];
    let debezium = [
        (
            "connector.class",
            "io.debezium.connector.mysql.MySqlConnector",
        ),
        ("database.hostname", "h"),
        ("database.server.id", "1"),
        ("topic.prefix", "p"),
    ];
    let source = crate::source::connector::JdbcSourceConnector;
    assert_eq!(errors(&source, &jdbc, &[]), [message]);
    let dbz = crate::source::debezium::DebeziumConnector::MYSQL;
    assert_eq!(errors(&dbz, &debezium, &[]), [message]);
    assert!(errors(&source, &jdbc, &[("topic.creation.enable", "false")]).is_empty());
    let sink = crate::sink::jdbc::JdbcSinkConnector;
    let sink_config = [
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector",
        ),
        ("connection.url", "jdbc:mysql://h/db"),
        ("topics", "t"),
    ];
    assert!(errors(&sink, &sink_config, &[]).is_empty());
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
