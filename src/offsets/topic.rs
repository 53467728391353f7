//! Source offsets in the worker's compacted `offset.storage.topic` (default `connect-offsets`),
//! in Kafka Connect's exact record format, so offsets move freely between Connect and Sluice.
//! The topic is read to its end on open and followed afterwards ([`LogClients`]), so every
//! worker of a cluster sees every other's offsets; every write is awaited.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{OffsetReader, OffsetStore, offset_key, parse_offset_key};
use crate::config::WorkerConfig;
use crate::error::Result;
use crate::kafka::log::{KafkaLog, LogClients, Position, Tail, TailRecord};

/// One source partition's offset, with where it was read (a deletion keeps its place).
struct OffsetEntry {
    connector: String,
    partition: Json,
    offset: Option<Json>,
    at: Position,
}

type OffsetMap = HashMap<String, OffsetEntry>;

/// Source offsets in the offsets topic, kept current with every worker's writes: a task that
/// moves to this worker resumes where the previous worker left it.
pub struct KafkaOffsetStore {
    log: KafkaLog,
    entries: Arc<RwLock<OffsetMap>>,
    tail: Tail,
}

fn apply_offset(entries: &RwLock<OffsetMap>, record: &TailRecord) {
    let Some((connector, partition)) = parse_offset_key(&record.key) else {
        tracing::warn!(message = "skipping offsets record with an unreadable key");
        return;
    };
    let offset = match record.value.as_deref().map(serde_json::from_slice::<Json>) {
        None | Some(Ok(Json::Null)) => None,
        Some(Ok(offset)) => Some(offset),
        Some(Err(_)) => {
            tracing::warn!(message = "skipping offsets record with an unreadable value");
            return;
        }
    };
    let at = Position {
        partition: record.partition,
        offset: record.offset,
    };
    let key = offset_key(&connector, &partition);
    let mut entries = entries.write().expect("offsets lock");
    if entries.get(&key).is_some_and(|e| e.at >= at) {
        return;
    }
    entries.insert(
        key,
        OffsetEntry {
            connector,
            partition,
            offset,
            at,
        },
    );
}

impl KafkaOffsetStore {
    /// Ensures the topic exists, loads every record in it and keeps following it, with clients
    /// of its own.
    pub async fn open(worker: &WorkerConfig) -> Result<Self> {
        Self::open_with(&LogClients::connect(worker)?, worker).await
    }

    /// Like [`KafkaOffsetStore::open`], sharing the worker's clients.
    pub(crate) async fn open_with(clients: &LogClients, worker: &WorkerConfig) -> Result<Self> {
        let entries: Arc<RwLock<OffsetMap>> = Arc::default();
        let sink_entries = entries.clone();
        let (log, records, tail) = clients
            .open_tailing(
                &worker.offset_storage_topic,
                worker.offset_storage_partitions,
                worker.offset_storage_replication_factor,
                Box::new(move |batch| {
                    for record in &batch {
                        apply_offset(&sink_entries, record);
                    }
                }),
            )
            .await?;
        for record in &records {
            apply_offset(&entries, record);
        }
        let count = entries
            .read()
            .expect("offsets lock")
            .values()
            .filter(|e| e.offset.is_some())
            .count();
        tracing::info!(message = "loaded source offsets", topic = %log.topic(), partitions = count);
        Ok(KafkaOffsetStore { log, entries, tail })
    }

    /// Waits until every offset written before the call (by any worker) is applied.
    pub async fn sync(&self) -> Result<()> {
        self.tail.sync().await.map(|_| ())
    }
}

#[async_trait]
impl OffsetReader for KafkaOffsetStore {
    async fn offset(&self, connector: &str, partition: &Json) -> Result<Option<Json>> {
        let entries = self.entries.read().expect("offsets lock");
        Ok(entries
            .get(&offset_key(connector, partition))
            .and_then(|e| e.offset.clone()))
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
            let at = self
                .log
                .write(&key, value.as_deref().map(str::as_bytes))
                .await?;
            let mut entries = self.entries.write().expect("offsets lock");
            if entries.get(&key).is_some_and(|e| e.at >= at) {
                continue;
            }
            entries.insert(
                key,
                OffsetEntry {
                    connector: connector.to_string(),
                    partition: partition.clone(),
                    offset: offset.clone(),
                    at,
                },
            );
        }
        Ok(())
    }

    async fn all(&self, connector: &str) -> Result<Vec<(Json, Json)>> {
        let entries = self.entries.read().expect("offsets lock");
        Ok(entries
            .values()
            .filter(|e| e.connector == connector)
            .filter_map(|e| e.offset.clone().map(|o| (e.partition.clone(), o)))
            .collect())
    }
}
