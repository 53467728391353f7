//! Source offsets in the worker's compacted `offset.storage.topic` (default `connect-offsets`),
//! in Kafka Connect's exact record format, so offsets move freely between Connect and Sluice.
//! The topic is read to its end on open ([`KafkaLog`]); every write is awaited.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{OffsetReader, OffsetStore, offset_key, parse_offset_key};
use crate::config::WorkerConfig;
use crate::error::Result;
use crate::kafka::log::KafkaLog;

type Entry = (String, Json, Json);

/// The offsets topic.
pub struct KafkaOffsetStore {
    log: KafkaLog,
    entries: RwLock<HashMap<String, Entry>>,
}

impl KafkaOffsetStore {
    /// Ensures the topic exists and loads every record in it.
    pub async fn open(worker: &WorkerConfig) -> Result<Self> {
        let (log, records) = KafkaLog::open(
            worker,
            &worker.offset_storage_topic,
            worker.offset_storage_partitions,
            worker.offset_storage_replication_factor,
        )
        .await?;
        let mut entries = HashMap::new();
        for (key, value) in records {
            let Some((connector, partition)) = parse_offset_key(&key) else {
                tracing::warn!(message = "skipping offsets record with an unreadable key");
                continue;
            };
            let key = offset_key(&connector, &partition);
            match value.as_deref().map(serde_json::from_slice::<Json>) {
                None | Some(Ok(Json::Null)) => {
                    entries.remove(&key);
                }
                Some(Ok(offset)) => {
                    entries.insert(key, (connector, partition, offset));
                }
                Some(Err(_)) => {
                    tracing::warn!(message = "skipping offsets record with an unreadable value", %key);
                }
            }
        }
        tracing::info!(message = "loaded source offsets", topic = %log.topic(), partitions = entries.len());
        Ok(KafkaOffsetStore {
            log,
            entries: RwLock::new(entries),
        })
    }
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
            self.log
                .send(&key, value.as_deref().map(str::as_bytes))
                .await?;
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
