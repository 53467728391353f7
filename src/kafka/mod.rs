//! Kafka clients built from the worker configuration. Java client settings users already have
//! in `producer.*`/`consumer.*`/`admin.*` are translated to librdkafka's where the names differ
//! and dropped (with a debug log) where librdkafka has no equivalent.

pub mod admin;
pub(crate) mod append;
pub(crate) mod consumer;
pub mod log;
pub(crate) mod producer;

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind};

/// Java-client settings with no librdkafka equivalent.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "interceptor.classes",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "max.poll.records",
    "max.poll.interval.ms.override",
    "default.api.timeout.ms",
    "exclude.internal.topics",
    "ssl.truststore.type",
    "ssl.keystore.type",
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "ssl.engine.factory.class",
    "security.providers",
    "auto.include.jmx.reporter",
    "enable.metrics.push",
];

/// Translates one Java client setting into librdkafka's, or `None` to drop it.
fn translate(key: &str, value: &str) -> Option<(String, String)> {
    if JAVA_ONLY.contains(&key) {
        tracing::debug!(message = "ignoring Java-only Kafka client setting", key);
        return None;
    }
    Some(match key {
        "buffer.memory" => (
            "queue.buffering.max.kbytes".into(),
            (value.trim().parse::<u64>().unwrap_or(33_554_432) / 1024)
                .max(1)
                .to_string(),
        ),
        "max.request.size" => ("message.max.bytes".into(), value.into()),
        "ssl.truststore.location" => ("ssl.ca.location".into(), value.into()),
        "ssl.keystore.location" => ("ssl.keystore.location".into(), value.into()),
        _ => (key.into(), value.into()),
    })
}

/// Which Kafka client a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientRole {
    Producer,
    Consumer,
    Admin,
}

/// Defaults of a producer whose records must be durable, in order, as soon as they are written:
/// the worker's own topics (configs, offsets, status, append logs).
pub(crate) const DURABLE_PRODUCER: [(&str, &str); 3] = [
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("linger.ms", "0"),
];

/// Defaults of a consumer that reads a whole topic from its start and commits nothing (no
/// end-of-partition events: the reader compares positions with the high watermarks).
pub(crate) const WHOLE_TOPIC_READER: [(&str, &str); 3] = [
    ("enable.auto.commit", "false"),
    ("enable.partition.eof", "false"),
    // Compaction or retention may have removed the first offset.
    ("auto.offset.reset", "earliest"),
];

/// A client configuration: the worker's common client settings, then Sluice's defaults for the
/// role, then the worker's `producer.`/`consumer.`/`admin.` overrides, then `overrides`
/// (connector-level `producer.override.*` and the like).
pub(crate) fn client_config(
    worker: &WorkerConfig,
    role: ClientRole,
    defaults: &[(&str, &str)],
    overrides: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in &worker.client {
        if let Some((k, v)) = translate(k, v) {
            config.set(k, v);
        }
    }
    for (k, v) in defaults {
        config.set(*k, *v);
    }
    let role_overrides = match role {
        ClientRole::Producer => &worker.producer,
        ClientRole::Consumer => &worker.consumer,
        ClientRole::Admin => &worker.admin,
    };
    for (k, v) in role_overrides.iter().chain(overrides) {
        if let Some((k, v)) = translate(k, v) {
            config.set(k, v);
        }
    }
    config
}

/// Wraps a Kafka client error; retriable broker errors are transient.
pub(crate) fn kafka_error(error: rdkafka::error::KafkaError, context: impl Into<String>) -> Error {
    let transient = error.rdkafka_error_code().is_some_and(is_retriable);
    let error = Error::with_source(ErrorKind::Kafka, context.into(), error);
    if transient { error.transient() } else { error }
}

fn is_retriable(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(
        code,
        BrokerTransportFailure
            | AllBrokersDown
            | MessageTimedOut
            | QueueFull
            | LeaderNotAvailable
            | NotLeaderForPartition
            | RequestTimedOut
            | NetworkException
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | NotCoordinator
            | CoordinatorNotAvailable
            | CoordinatorLoadInProgress
            | UnknownTopicOrPartition
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_settings_are_translated() {
        let worker = WorkerConfig::from_map(
            [
                ("bootstrap.servers", "k:9092"),
                ("producer.linger.ms", "20"),
                ("producer.buffer.memory", "67108864"),
                ("producer.key.serializer", "x"),
                ("security.protocol", "SSL"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
        .unwrap();
        let config = client_config(
            &worker,
            ClientRole::Producer,
            &[("linger.ms", "5")],
            &BTreeMap::new(),
        );
        assert_eq!(config.get("bootstrap.servers"), Some("k:9092"));
        assert_eq!(config.get("linger.ms"), Some("20"));
        assert_eq!(config.get("queue.buffering.max.kbytes"), Some("65536"));
        assert_eq!(config.get("key.serializer"), None);
        assert_eq!(config.get("security.protocol"), Some("SSL"));
    }
}
