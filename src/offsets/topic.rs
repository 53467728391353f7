//! Source offsets in the worker's compacted `offset.storage.topic` (default `connect-offsets`),
//! in Kafka Connect's exact record format, so offsets move freely between Connect and Sluice.
//!
//! On open the topic is created when absent (`cleanup.policy=compact`) and read from the
//! beginning to its end. Writes go one record per produce request and are awaited: besides being
//! simple, this keeps the topic's high watermark exact on brokers that miscount multi-record
//! batches (tansu, see FINDINGS.md), so "read to the end" is reliable there too.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::Message;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::Value as Json;

use super::{OffsetReader, OffsetStore, offset_key, parse_offset_key};
use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::admin::{TopicSpec, ensure_topic};
use crate::kafka::{ClientRole, client_config, kafka_error};

/// How long opening may take to read the topic to its end.
const READ_TO_END_TIMEOUT: Duration = Duration::from_secs(60);

type Entry = (String, Json, Json);

/// The offsets topic.
pub struct KafkaOffsetStore {
    topic: String,
    producer: FutureProducer,
    entries: RwLock<HashMap<String, Entry>>,
}

impl KafkaOffsetStore {
    /// Ensures the topic exists and loads every record in it.
    pub async fn open(worker: &WorkerConfig) -> Result<Self> {
        let topic = worker.offset_storage_topic.clone();
        let admin: AdminClient<DefaultClientContext> =
            client_config(worker, ClientRole::Admin, &[], &Default::default())
                .create()
                .map_err(|e| kafka_error(e, "cannot create the Kafka admin client"))?;
        ensure_topic(
            &admin,
            &TopicSpec {
                name: &topic,
                partitions: worker.offset_storage_partitions,
                replication_factor: i32::from(worker.offset_storage_replication_factor),
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
        .map_err(|e| kafka_error(e, "cannot create the offsets producer"))?;
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
            format!("sluice-offsets-reader-{}", std::process::id()),
        )
        .create()
        .map_err(|e| kafka_error(e, "cannot create the offsets reader"))?;
        let read_topic = topic.clone();
        let entries = tokio::task::spawn_blocking(move || read_to_end(&consumer, &read_topic))
            .await
            .map_err(|e| Error::with_source(ErrorKind::Internal, "offsets reader panicked", e))??;
        tracing::info!(message = "loaded source offsets", topic = %topic, partitions = entries.len());
        Ok(KafkaOffsetStore {
            topic,
            producer,
            entries: RwLock::new(entries),
        })
    }
}

fn read_to_end(consumer: &BaseConsumer, topic: &str) -> Result<HashMap<String, Entry>> {
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
    let mut entries = HashMap::new();
    if remaining.is_empty() {
        return Ok(entries);
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
        let Some((connector, partition)) = message.key().and_then(parse_offset_key) else {
            tracing::warn!(
                message = "skipping offsets record with an unreadable key",
                offset = message.offset()
            );
            continue;
        };
        let key = offset_key(&connector, &partition);
        match message.payload().map(serde_json::from_slice::<Json>) {
            None | Some(Ok(Json::Null)) => {
                entries.remove(&key);
            }
            Some(Ok(offset)) => {
                entries.insert(key, (connector, partition, offset));
            }
            Some(Err(_)) => {
                tracing::warn!(
                    message = "skipping offsets record with an unreadable value",
                    offset = message.offset()
                );
            }
        }
    }
    Ok(entries)
}

#[async_trait]
impl OffsetReader for KafkaOffsetStore {
    async fn offset(&self, connector: &str, partition: &Json) -> Result<Option<Json>> {
        let entries = self.entries.read().expect("offsets lock");
        Ok(entries
            .get(&offset_key(connector, partition))
            .map(|(_, _, offset)| offset.clone()))
    }
}

#[async_trait]
impl OffsetStore for KafkaOffsetStore {
    async fn put(&self, connector: &str, batch: &[(Json, Option<Json>)]) -> Result<()> {
        for (partition, offset) in batch {
            let key = offset_key(connector, partition);
            let value = offset
                .as_ref()
                .map(|o| serde_json::to_string(o).unwrap_or_default());
            let mut record: FutureRecord<'_, String, String> =
                FutureRecord::to(&self.topic).key(&key);
            if let Some(value) = &value {
                record = record.payload(value);
            }
            self.producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| {
                    kafka_error(e, format!("cannot write offsets to {}", self.topic))
                })?;
            let mut entries = self.entries.write().expect("offsets lock");
            match offset {
                Some(offset) => {
                    entries.insert(
                        key,
                        (connector.to_string(), partition.clone(), offset.clone()),
                    );
                }
                None => {
                    entries.remove(&key);
                }
            }
        }
        Ok(())
    }

    async fn all(&self, connector: &str) -> Result<Vec<(Json, Json)>> {
        let entries = self.entries.read().expect("offsets lock");
        Ok(entries
            .values()
            .filter(|(c, _, _)| c == connector)
            .map(|(_, p, o)| (p.clone(), o.clone()))
            .collect())
    }
}
