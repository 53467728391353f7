//! The worker's config and status topics, in Kafka Connect's record formats
//! (`KafkaConfigBackingStore`, `KafkaStatusBackingStore`), so a Connect cluster's topics can be
//! read by Sluice and the other way round.
//!
//! Config topic (`config.storage.topic`, one partition):
//! - `connector-<name>` → `{"properties":{…}}`, a tombstone when deleted;
//! - `target-state-<name>` → `{"state":"STARTED|PAUSED","state.v2":"STARTED|PAUSED|STOPPED"}`;
//! - `task-<name>-<id>` → `{"properties":{…}}` then `commit-<name>` → `{"tasks":N}`.
//!
//! Status topic (`status.storage.topic`): `status-connector-<name>` and
//! `status-task-<name>-<id>` → `{"state":…,"trace":…,"worker_id":…,"generation":…}`.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::config::WorkerConfig;
use crate::connector::TaskConfig;
use crate::error::Result;
use crate::kafka::log::{KafkaLog, LogRecord};

/// What a connector should be doing (Connect's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    fn parse(text: &str) -> Option<TargetState> {
        match text {
            "STARTED" | "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// A connector as restored from the config topic.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConnector {
    pub config: BTreeMap<String, String>,
    pub target: TargetState,
}

/// The config topic.
pub struct ConfigStore {
    log: KafkaLog,
}

impl ConfigStore {
    /// Opens (creating when absent) the config topic and restores every connector in it.
    pub async fn open(
        worker: &WorkerConfig,
    ) -> Result<(ConfigStore, BTreeMap<String, StoredConnector>)> {
        let (log, records) = KafkaLog::open(
            worker,
            &worker.config_storage_topic,
            1,
            worker.config_storage_replication_factor,
        )
        .await?;
        let connectors = restore_configs(records);
        tracing::info!(message = "restored connectors", topic = %worker.config_storage_topic, connectors = connectors.len());
        Ok((ConfigStore { log }, connectors))
    }

    pub async fn put_connector(&self, name: &str, config: &BTreeMap<String, String>) -> Result<()> {
        let value = json!({ "properties": config }).to_string();
        self.log
            .send(&format!("connector-{name}"), Some(value.as_bytes()))
            .await
    }

    pub async fn put_target_state(&self, name: &str, state: TargetState) -> Result<()> {
        // Workers older than KIP-875 read only `state`, which has no STOPPED.
        let v1 = match state {
            TargetState::Stopped => TargetState::Paused,
            other => other,
        };
        let value = json!({ "state": v1.name(), "state.v2": state.name() }).to_string();
        self.log
            .send(&format!("target-state-{name}"), Some(value.as_bytes()))
            .await
    }

    /// Writes a connector's task configurations and the commit record that makes them valid.
    pub async fn put_task_configs(&self, name: &str, tasks: &[TaskConfig]) -> Result<()> {
        for (id, config) in tasks.iter().enumerate() {
            let value = json!({ "properties": config }).to_string();
            self.log
                .send(&format!("task-{name}-{id}"), Some(value.as_bytes()))
                .await?;
        }
        let commit = json!({ "tasks": tasks.len() }).to_string();
        self.log
            .send(&format!("commit-{name}"), Some(commit.as_bytes()))
            .await
    }

    pub async fn remove_connector(&self, name: &str) -> Result<()> {
        self.log.send(&format!("connector-{name}"), None).await?;
        self.log.send(&format!("target-state-{name}"), None).await
    }
}

/// Replays config records: the last record of each key wins, tombstones delete.
fn restore_configs(records: Vec<LogRecord>) -> BTreeMap<String, StoredConnector> {
    let mut configs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut targets: BTreeMap<String, TargetState> = BTreeMap::new();
    for (key, value) in records {
        let key = String::from_utf8_lossy(&key).into_owned();
        let value: Option<Json> = value.and_then(|v| serde_json::from_slice(&v).ok());
        if let Some(name) = key.strip_prefix("connector-") {
            match value
                .as_ref()
                .and_then(|v| v.get("properties"))
                .and_then(Json::as_object)
            {
                Some(properties) => {
                    let config = properties
                        .iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect();
                    configs.insert(name.to_string(), config);
                }
                None => {
                    configs.remove(name);
                    targets.remove(name);
                }
            }
        } else if let Some(name) = key.strip_prefix("target-state-") {
            let state = value.as_ref().and_then(|v| {
                v.get("state.v2")
                    .and_then(Json::as_str)
                    .or_else(|| v.get("state").and_then(Json::as_str))
                    .and_then(TargetState::parse)
            });
            match state {
                Some(state) => {
                    targets.insert(name.to_string(), state);
                }
                None => {
                    targets.remove(name);
                }
            }
        }
    }
    configs
        .into_iter()
        .map(|(name, config)| {
            let target = targets.get(&name).copied().unwrap_or(TargetState::Started);
            (name, StoredConnector { config, target })
        })
        .collect()
}

/// The status topic (written; the REST API answers from the worker's memory).
pub struct StatusStore {
    log: KafkaLog,
    worker_id: String,
}

impl StatusStore {
    pub async fn open(worker: &WorkerConfig, worker_id: &str) -> Result<StatusStore> {
        let (log, _) = KafkaLog::open(
            worker,
            &worker.status_storage_topic,
            worker.status_storage_partitions,
            worker.status_storage_replication_factor,
        )
        .await?;
        Ok(StatusStore {
            log,
            worker_id: worker_id.to_string(),
        })
    }

    fn value(&self, state: &str, trace: Option<&str>) -> String {
        json!({"state": state, "trace": trace, "worker_id": self.worker_id, "generation": 0})
            .to_string()
    }

    pub async fn put_connector(&self, name: &str, state: &str, trace: Option<&str>) -> Result<()> {
        let value = self.value(state, trace);
        self.log
            .send(&format!("status-connector-{name}"), Some(value.as_bytes()))
            .await
    }

    pub async fn put_task(
        &self,
        name: &str,
        task: u32,
        state: &str,
        trace: Option<&str>,
    ) -> Result<()> {
        let value = self.value(state, trace);
        self.log
            .send(
                &format!("status-task-{name}-{task}"),
                Some(value.as_bytes()),
            )
            .await
    }

    /// Tombstones for a deleted connector's statuses.
    pub async fn remove(&self, name: &str, tasks: usize) -> Result<()> {
        self.log
            .send(&format!("status-connector-{name}"), None)
            .await?;
        for task in 0..tasks {
            self.log
                .send(&format!("status-task-{name}-{task}"), None)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: Option<&str>) -> LogRecord {
        (
            key.as_bytes().to_vec(),
            value.map(|v| v.as_bytes().to_vec()),
        )
    }

    #[test]
    fn restores_connect_config_records() {
        let records = vec![
            record(
                "connector-a",
                Some(r#"{"properties":{"name":"a","tasks.max":"1"}}"#),
            ),
            record("connector-b", Some(r#"{"properties":{"name":"b"}}"#)),
            record(
                "target-state-a",
                Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            ),
            record("target-state-b", Some(r#"{"state":"PAUSED"}"#)),
            record("task-a-0", Some(r#"{"properties":{"name":"a"}}"#)),
            record("commit-a", Some(r#"{"tasks":1}"#)),
            record("connector-c", Some(r#"{"properties":{"name":"c"}}"#)),
            record("connector-c", None),
            record(
                "session-key",
                Some(r#"{"key":"x","algorithm":"HmacSHA256","creation-timestamp":1}"#),
            ),
        ];
        let restored = restore_configs(records);
        assert_eq!(restored.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(restored["a"].target, TargetState::Stopped);
        assert_eq!(restored["b"].target, TargetState::Paused);
        assert_eq!(restored["a"].config["tasks.max"], "1");
    }
}
