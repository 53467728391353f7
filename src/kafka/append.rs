//! An append-only, single-partition topic that its one writer reads whole on open, as
//! Debezium's `KafkaSchemaHistory` keeps the schema history: created when missing with
//! `cleanup.policy=delete` and unlimited retention (its records have no keys, and none may be
//! lost), read from the beginning to its end, then appended to one awaited record at a time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::admin::{TopicSpec, ensure_topic};
use super::{ClientRole, DURABLE_PRODUCER, WHOLE_TOPIC_READER, client_config, kafka_error};
use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind, Result};

/// How long reading the topic to its end may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// An append-only topic.
pub(crate) struct AppendLog {
    topic: String,
    producer: FutureProducer,
}

impl AppendLog {
    /// Creates the topic when missing and returns it with every record value in it, in order.
    /// `bootstrap_servers` names another cluster than the worker's (with the worker's client
    /// security settings).
    pub(crate) async fn open(
        worker: &WorkerConfig,
        bootstrap_servers: Option<&str>,
        topic: &str,
    ) -> Result<(AppendLog, Vec<Vec<u8>>)> {
        let mut overrides = BTreeMap::new();
        if let Some(servers) = bootstrap_servers {
            overrides.insert("bootstrap.servers".to_string(), servers.to_string());
        }
        let admin = client_config(worker, ClientRole::Admin, &[], &overrides)
            .create()
            .map_err(|e| kafka_error(e, "cannot create the Kafka admin client"))?;
        ensure_topic(
            &admin,
            &TopicSpec {
                name: topic,
                partitions: 1,
                replication_factor: -1,
                configs: &[
                    ("cleanup.policy", "delete"),
                    ("retention.ms", "-1"),
                    ("retention.bytes", "-1"),
                ],
            },
        )
        .await?;
        let producer: FutureProducer =
            client_config(worker, ClientRole::Producer, &DURABLE_PRODUCER, &overrides)
                .create()
                .map_err(|e| kafka_error(e, format!("cannot create the producer of {topic}")))?;
        let consumer: BaseConsumer = client_config(
            worker,
            ClientRole::Consumer,
            &WHOLE_TOPIC_READER,
            &overrides,
        )
        .set(
            "group.id",
            format!("sluice-append-reader-{}", std::process::id()),
        )
        .create()
        .map_err(|e| kafka_error(e, format!("cannot create the reader of {topic}")))?;
        let name = topic.to_string();
        let records = tokio::task::spawn_blocking(move || read_all(&consumer, &name))
            .await
            .map_err(|e| Error::with_source(ErrorKind::Internal, "topic reader panicked", e))??;
        Ok((
            AppendLog {
                topic: topic.to_string(),
                producer,
            },
            records,
        ))
    }

    /// Appends one record (no key) and waits until the broker acknowledges it.
    pub(crate) async fn append(&self, value: &[u8]) -> Result<()> {
        let record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.topic).partition(0).payload(value);
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| kafka_error(e, format!("cannot write to {}", self.topic)))?;
        Ok(())
    }
}

/// Every record value of partition 0, from the beginning to the end: up to the high watermark,
/// and on until a poll finds nothing more (the test broker's watermark can trail its last
/// write, FINDINGS.md).
fn read_all(consumer: &BaseConsumer, topic: &str) -> Result<Vec<Vec<u8>>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .map_err(|e| kafka_error(e, format!("cannot read metadata of {topic}")))?;
    let partitions: usize = metadata.topics().iter().map(|t| t.partitions().len()).sum();
    if partitions != 1 {
        return Err(Error::config(format!(
            "topic {topic} has {partitions} partitions; it must have exactly one, so that its \
             records keep their order (create it with one partition)"
        )));
    }
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(30))
        .map_err(|e| kafka_error(e, format!("cannot read the end of {topic}")))?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(low))
        .map_err(|e| kafka_error(e, format!("cannot read {topic}")))?;
    consumer
        .assign(&assignment)
        .map_err(|e| kafka_error(e, format!("cannot read {topic}")))?;
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut records = Vec::new();
    let mut next = low;
    loop {
        if Instant::now() > deadline {
            return Err(Error::new(
                ErrorKind::Kafka,
                format!(
                    "reading {topic} to its end (offset {high}) took over {READ_TIMEOUT:?}; \
                     read up to {next}"
                ),
            )
            .transient());
        }
        match consumer.poll(Duration::from_millis(300)) {
            None if next >= high => return Ok(records),
            None => {}
            Some(message) => {
                let message =
                    message.map_err(|e| kafka_error(e, format!("cannot read {topic}")))?;
                next = message.offset() + 1;
                if let Some(payload) = message.payload() {
                    records.push(payload.to_vec());
                }
            }
        }
    }
}
