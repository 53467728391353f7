//! Topic administration: create a topic with its settings when it does not exist.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;
use regex::Regex;

use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind, Result};

/// An admin client with the worker's settings (`admin.*` overrides included).
pub(crate) fn admin_client(worker: &WorkerConfig) -> Result<AdminClient<DefaultClientContext>> {
    super::client_config(worker, super::ClientRole::Admin, &[], &Default::default())
        .create()
        .map_err(|e| super::kafka_error(e, "cannot create the Kafka admin client"))
}

/// Kafka's internal topics (`Topic.isInternal`): no topic pattern ever matches them.
pub(crate) fn is_internal_topic(name: &str) -> bool {
    matches!(
        name,
        "__consumer_offsets" | "__transaction_state" | "__share_group_state"
    )
}

/// The topics of `metadata` whose whole name `pattern` matches, internal topics left out (as a
/// Java consumer's pattern subscription leaves them out), sorted by name.
pub(crate) fn matching_topics(metadata: &Metadata, pattern: &Regex) -> Vec<String> {
    let mut topics: Vec<String> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| t.name())
        .filter(|name| !is_internal_topic(name) && pattern.is_match(name))
        .map(str::to_string)
        .collect();
    topics.sort();
    topics
}

/// What a topic should be created with.
#[derive(Debug, Clone)]
pub struct TopicSpec<'a> {
    pub name: &'a str,
    /// `-1`: the broker's default (KIP-464).
    pub partitions: i32,
    /// `-1`: the broker's default.
    pub replication_factor: i32,
    pub configs: &'a [(&'a str, &'a str)],
}

/// Creates the topic unless it exists. Returns whether it was created.
pub async fn ensure_topic(
    admin: &AdminClient<DefaultClientContext>,
    spec: &TopicSpec<'_>,
) -> Result<bool> {
    let mut topic = NewTopic::new(
        spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication_factor),
    );
    for (k, v) in spec.configs {
        topic = topic.set(k, v);
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .map_err(|e| super::kafka_error(e, format!("cannot create topic {}", spec.name)))?;
    match results.into_iter().next() {
        Some(Ok(_)) => {
            tracing::info!(
                message = "created topic",
                topic = spec.name,
                partitions = spec.partitions
            );
            Ok(true)
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((name, code))) => Err(Error::new(
            ErrorKind::Kafka,
            format!("cannot create topic {name}: {code}"),
        )),
        None => Ok(false),
    }
}
