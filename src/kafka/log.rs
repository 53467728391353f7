//! A compacted Kafka topic used as a durable key-value log, like Connect's `KafkaBasedLog`: the
//! worker's offsets, config and status topics.
//!
//! Opening creates the topic when absent (`cleanup.policy=compact`) and reads it from the
//! beginning to its end. Writes go one record per produce request and are awaited: besides being
//! simple, this keeps the topic's high watermark exact on brokers that miscount multi-record
//! batches (tansu, see FINDINGS.md), so "read to the end" is reliable there too.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::admin::{TopicSpec, ensure_topic};
use super::{ClientRole, client_config, kafka_error};
use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind, Result};

/// How long opening may take to read the topic to its end.
const READ_TO_END_TIMEOUT: Duration = Duration::from_secs(60);

/// One record read back: key and value (`None` for a tombstone).
pub type LogRecord = (Vec<u8>, Option<Vec<u8>>);

/// A compacted topic the worker writes and reads back.
pub struct KafkaLog {
    topic: String,
    producer: FutureProducer,
}

impl KafkaLog {
    /// Ensures the topic exists and returns it with every keyed record in it, in offset order
    /// within each partition.
    pub async fn open(
        worker: &WorkerConfig,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(KafkaLog, Vec<LogRecord>)> {
        let admin: AdminClient<DefaultClientContext> =
            client_config(worker, ClientRole::Admin, &[], &Default::default())
                .create()
                .map_err(|e| kafka_error(e, "cannot create the Kafka admin client"))?;
        ensure_topic(
            &admin,
            &TopicSpec {
                name: topic,
                partitions,
                replication_factor: i32::from(replication_factor),
                configs: &[("cleanup.policy", "compact")],
            },
        )
        .await?;
        let producer: FutureProducer = client_config(
            worker,
            ClientRole::Producer,
            &[
                ("acks", "all"),
                ("enable.idempotence", "true"),
                ("linger.ms", "0"),
                // Java's default partitioner for keyed records: a key lands where Connect puts it.
                ("partitioner", "murmur2_random"),
            ],
            &Default::default(),
        )
        .set("batch.num.messages", "1")
        .create()
        .map_err(|e| kafka_error(e, format!("cannot create the producer for {topic}")))?;
        let consumer: BaseConsumer = client_config(
            worker,
            ClientRole::Consumer,
            &[
                ("enable.auto.commit", "false"),
                ("enable.partition.eof", "false"),
            ],
            &Default::default(),
        )
        .set(
            "group.id",
            format!("sluice-log-reader-{}", std::process::id()),
        )
        .create()
        .map_err(|e| kafka_error(e, format!("cannot create the reader for {topic}")))?;
        let read_topic = topic.to_string();
        let records = tokio::task::spawn_blocking(move || read_to_end(&consumer, &read_topic))
            .await
            .map_err(|e| Error::with_source(ErrorKind::Internal, "topic reader panicked", e))??;
        let log = KafkaLog {
            topic: topic.to_string(),
            producer,
        };
        Ok((log, records))
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one record (`None`: a tombstone) and waits until the broker acknowledges it.
    pub async fn send(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| kafka_error(e, format!("cannot write to {}", self.topic)))?;
        Ok(())
    }
}

fn read_to_end(consumer: &BaseConsumer, topic: &str) -> Result<Vec<LogRecord>> {
    let deadline = Instant::now() + READ_TO_END_TIMEOUT;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .map_err(|e| kafka_error(e, format!("cannot read metadata of {topic}")))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(30))
            .map_err(|e| kafka_error(e, format!("cannot read the end of {topic}")))?;
        if high > low {
            remaining.insert(partition, high);
            assignment
                .add_partition_offset(topic, partition, Offset::Beginning)
                .map_err(|e| kafka_error(e, "bad assignment"))?;
        }
    }
    let mut records = Vec::new();
    if remaining.is_empty() {
        return Ok(records);
    }
    consumer
        .assign(&assignment)
        .map_err(|e| kafka_error(e, format!("cannot read {topic}")))?;
    while !remaining.is_empty() {
        if Instant::now() > deadline {
            return Err(Error::new(
                ErrorKind::Kafka,
                format!(
                    "timed out reading {topic} to its end ({} partitions left)",
                    remaining.len()
                ),
            ));
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.map_err(|e| kafka_error(e, format!("cannot read {topic}")))?;
        if let Some(high) = remaining.get(&message.partition())
            && message.offset() + 1 >= *high
        {
            remaining.remove(&message.partition());
        }
        match message.key() {
            Some(key) => records.push((key.to_vec(), message.payload().map(<[u8]>::to_vec))),
            None => tracing::warn!(
                message = "skipping a record without a key",
                topic,
                offset = message.offset()
            ),
        }
    }
    Ok(records)
}
