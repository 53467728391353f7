//! The worker's config, status and offsets topics, in Kafka Connect's record formats
//! (`KafkaConfigBackingStore`, `KafkaStatusBackingStore`, `KafkaOffsetBackingStore`), so a
//! Connect cluster's topics can be read by Sluice and the other way round. Every worker tails
//! all three, so any worker of a cluster can answer any REST call from them.
//!
//! Config topic (`config.storage.topic`, one partition):
//! - `connector-<name>` → `{"properties":{…}}`, a tombstone when deleted;
//! - `target-state-<name>` → `{"state":"STARTED|PAUSED","state.v2":"STARTED|PAUSED|STOPPED"}`;
//! - `task-<name>-<id>` → `{"properties":{…}}` then `commit-<name>` → `{"tasks":N}`;
//! - `restart-connector-<name>` → `{"include-tasks":bool,"only-failed":bool}` (Connect's restart
//!   request; every worker restarts the tasks it runs);
//! - `restart-task-<name>-<id>` → `{}` (Sluice's: restart one task wherever it runs; Connect
//!   forwards that request over HTTP instead, and logs and skips this key).
//!
//! Status topic (`status.storage.topic`): `status-connector-<name>` and
//! `status-task-<name>-<id>` → `{"state":…,"trace":…,"worker_id":…,"generation":…}`.

use super::state::State;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Value as Json, json};

use crate::config::WorkerConfig;
use crate::connector::TaskConfig;
use crate::error::Result;
use crate::kafka::log::{KafkaLog, LogClients, Position, Tail, TailRecord};

/// What a connector should be doing (Connect's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    pub(crate) fn name(self) -> &'static str {
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

/// One change to the cluster's configuration, as read from or written to the config topic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConfigChange {
    /// A connector's configuration; `None` deletes the connector.
    Connector {
        name: String,
        config: Option<BTreeMap<String, String>>,
    },
    /// A connector's target state; `None` clears it.
    Target {
        name: String,
        state: Option<TargetState>,
    },
    /// A connector's committed task configurations (task `i` is `tasks[i]`).
    Tasks {
        name: String,
        tasks: Vec<TaskConfig>,
    },
    /// Restart the connector's tasks (all, or only failed ones) wherever they run.
    Restart {
        name: String,
        include_tasks: bool,
        only_failed: bool,
    },
    /// Restart one task wherever it runs.
    RestartTask { name: String, task: u32 },
}

/// Turns config-topic records into [`ConfigChange`]s. Task configurations count only once
/// their `commit-<name>` record is read, as in Connect.
#[derive(Debug, Default)]
pub(crate) struct ConfigReader {
    pending: BTreeMap<String, BTreeMap<u32, TaskConfig>>,
}

fn string_map(value: &Json) -> Option<BTreeMap<String, String>> {
    let properties = value.get("properties")?.as_object()?;
    Some(
        properties
            .iter()
            .filter_map(|(k, v)| match v {
                Json::String(s) => Some((k.clone(), s.clone())),
                Json::Null => None,
                other => Some((k.clone(), other.to_string())),
            })
            .collect(),
    )
}

/// `<name>-<id>` → (name, id); names may hold dashes.
fn split_task(text: &str) -> Option<(&str, u32)> {
    let (name, id) = text.rsplit_once('-')?;
    Some((name, id.parse().ok()?))
}

impl ConfigReader {
    /// The change a record makes, if any.
    pub(crate) fn read(&mut self, key: &[u8], value: Option<&[u8]>) -> Option<ConfigChange> {
        let key = String::from_utf8_lossy(key);
        let json: Option<Json> = value.and_then(|v| serde_json::from_slice(v).ok());
        let unreadable = value.is_some() && json.is_none();
        if unreadable {
            tracing::warn!(message = "skipping an unreadable config record", key = %key);
            return None;
        }
        if let Some(name) = key.strip_prefix("connector-") {
            let config = match &json {
                None => None,
                Some(json) => Some(string_map(json)?),
            };
            if config.is_none() {
                self.pending.remove(name);
            }
            return Some(ConfigChange::Connector {
                name: name.to_string(),
                config,
            });
        }
        if let Some(name) = key.strip_prefix("target-state-") {
            let state = match &json {
                None => None,
                Some(json) => Some(
                    json.get("state.v2")
                        .and_then(Json::as_str)
                        .or_else(|| json.get("state").and_then(Json::as_str))
                        .and_then(TargetState::parse)?,
                ),
            };
            return Some(ConfigChange::Target {
                name: name.to_string(),
                state,
            });
        }
        if let Some(rest) = key.strip_prefix("task-") {
            let (name, id) = split_task(rest)?;
            let config = string_map(json.as_ref()?)?;
            self.pending
                .entry(name.to_string())
                .or_default()
                .insert(id, config);
            return None;
        }
        if let Some(name) = key.strip_prefix("commit-") {
            let count = json.as_ref()?.get("tasks")?.as_u64()? as u32;
            let mut pending = self.pending.remove(name).unwrap_or_default();
            let tasks: Option<Vec<TaskConfig>> = (0..count).map(|i| pending.remove(&i)).collect();
            return match tasks {
                Some(tasks) => Some(ConfigChange::Tasks {
                    name: name.to_string(),
                    tasks,
                }),
                None => {
                    tracing::warn!(message = "skipping a task commit whose task configurations are missing", connector = %name, tasks = count);
                    None
                }
            };
        }
        if let Some(name) = key.strip_prefix("restart-connector-") {
            let flag = |k: &str| {
                json.as_ref()
                    .and_then(|j| j.get(k))
                    .and_then(Json::as_bool)
                    .unwrap_or(false)
            };
            json.as_ref()?;
            return Some(ConfigChange::Restart {
                name: name.to_string(),
                include_tasks: flag("include-tasks"),
                only_failed: flag("only-failed"),
            });
        }
        if let Some(rest) = key.strip_prefix("restart-task-") {
            json.as_ref()?;
            let (name, task) = split_task(rest)?;
            return Some(ConfigChange::RestartTask {
                name: name.to_string(),
                task,
            });
        }
        None
    }
}

/// The config topic.
pub(crate) struct ConfigStore {
    log: KafkaLog,
    tail: Tail,
    updates: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Vec<TailRecord>>>>,
}

impl ConfigStore {
    /// Opens (creating when absent) the config topic; returns it with every record in it. Later
    /// records arrive on [`ConfigStore::updates`].
    pub(crate) async fn open(
        clients: &LogClients,
        worker: &WorkerConfig,
    ) -> Result<(ConfigStore, Vec<TailRecord>)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (log, records, tail) = clients
            .open_tailing(
                &worker.config_storage_topic,
                1,
                worker.config_storage_replication_factor,
                Box::new(move |batch| {
                    let _ = tx.send(batch);
                }),
            )
            .await?;
        tracing::info!(message = "read the config topic", topic = %worker.config_storage_topic, records = records.len());
        let store = ConfigStore {
            log,
            tail,
            updates: Mutex::new(Some(rx)),
        };
        Ok((store, records))
    }

    /// The records written after opening (by any worker, this one included), once.
    pub(crate) fn updates(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Vec<TailRecord>>> {
        self.updates.lock().expect("updates lock").take()
    }

    /// Waits until every record written before the call is on [`ConfigStore::updates`];
    /// returns the offset of the last one (`None`: the topic is empty).
    pub(crate) async fn sync(&self) -> Result<Option<i64>> {
        let next = self.tail.sync().await?;
        Ok(next
            .values()
            .max()
            .copied()
            .filter(|n| *n > 0)
            .map(|n| n - 1))
    }

    /// Writes `changes` in order; returns the offset of the last record written.
    pub(crate) async fn write(&self, changes: &[ConfigChange]) -> Result<Option<i64>> {
        let mut last = None;
        for change in changes {
            for (key, value) in encode(change) {
                let position = self
                    .log
                    .write(&key, value.as_deref().map(str::as_bytes))
                    .await?;
                last = Some(position.offset);
            }
        }
        Ok(last)
    }
}

/// The records that make a change.
fn encode(change: &ConfigChange) -> Vec<(String, Option<String>)> {
    match change {
        ConfigChange::Connector { name, config } => vec![(
            format!("connector-{name}"),
            config
                .as_ref()
                .map(|c| json!({ "properties": c }).to_string()),
        )],
        ConfigChange::Target { name, state } => {
            // Workers older than KIP-875 read only `state`, which has no STOPPED.
            let value = state.map(|state| {
                let v1 = match state {
                    TargetState::Stopped => TargetState::Paused,
                    other => other,
                };
                json!({ "state": v1.name(), "state.v2": state.name() }).to_string()
            });
            vec![(format!("target-state-{name}"), value)]
        }
        ConfigChange::Tasks { name, tasks } => {
            let mut records: Vec<(String, Option<String>)> = tasks
                .iter()
                .enumerate()
                .map(|(id, config)| {
                    (
                        format!("task-{name}-{id}"),
                        Some(json!({ "properties": config }).to_string()),
                    )
                })
                .collect();
            records.push((
                format!("commit-{name}"),
                Some(json!({ "tasks": tasks.len() }).to_string()),
            ));
            records
        }
        ConfigChange::Restart {
            name,
            include_tasks,
            only_failed,
        } => vec![(
            format!("restart-connector-{name}"),
            Some(json!({"include-tasks": include_tasks, "only-failed": only_failed}).to_string()),
        )],
        ConfigChange::RestartTask { name, task } => {
            vec![(format!("restart-task-{name}-{task}"), Some("{}".into()))]
        }
    }
}

/// A status record as last read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusRecord {
    pub(crate) state: String,
    pub(crate) trace: Option<String>,
    pub(crate) worker_id: String,
}

/// A record with where it was read (a tombstone keeps its place, so older records read later
/// cannot bring the status back).
#[derive(Debug, Clone)]
struct Placed {
    record: Option<StatusRecord>,
    at: Position,
}

#[derive(Debug, Default)]
struct StatusView {
    connectors: HashMap<String, Placed>,
    tasks: HashMap<(String, u32), Placed>,
}

enum StatusKey {
    Connector(String),
    Task(String, u32),
}

fn status_key(key: &[u8]) -> Option<StatusKey> {
    let key = std::str::from_utf8(key).ok()?;
    if let Some(name) = key.strip_prefix("status-connector-") {
        return Some(StatusKey::Connector(name.to_string()));
    }
    let (name, id) = split_task(key.strip_prefix("status-task-")?)?;
    Some(StatusKey::Task(name.to_string(), id))
}

impl StatusView {
    /// Applies a record unless a newer one of the same key is known. A task's UNASSIGNED from a
    /// worker that no longer runs the task (another worker reported since) is stale: skipped.
    fn apply(&mut self, key: StatusKey, record: Option<StatusRecord>, at: Position) {
        match key {
            StatusKey::Connector(name) => place(self.connectors.entry(name), record, at),
            StatusKey::Task(name, id) => {
                let entry = self.tasks.entry((name, id));
                if let (std::collections::hash_map::Entry::Occupied(current), Some(new)) =
                    (&entry, &record)
                    && let Some(old) = &current.get().record
                    && new.state == State::Unassigned.as_str()
                    && old.worker_id != new.worker_id
                    && current.get().at < at
                {
                    return;
                }
                place(entry, record, at);
            }
        }
    }
}

fn place<K>(
    entry: std::collections::hash_map::Entry<'_, K, Placed>,
    record: Option<StatusRecord>,
    at: Position,
) {
    match entry {
        std::collections::hash_map::Entry::Occupied(mut current) => {
            if current.get().at < at {
                current.insert(Placed { record, at });
            }
        }
        std::collections::hash_map::Entry::Vacant(vacant) => {
            vacant.insert(Placed { record, at });
        }
    }
}

fn parse_status(value: Option<&[u8]>) -> Option<Option<StatusRecord>> {
    let Some(value) = value else {
        return Some(None);
    };
    let json: Json = serde_json::from_slice(value).ok()?;
    Some(Some(StatusRecord {
        state: json.get("state")?.as_str()?.to_string(),
        trace: json.get("trace").and_then(Json::as_str).map(str::to_string),
        worker_id: json
            .get("worker_id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
    }))
}

/// The status topic: written for this worker's connectors and tasks, read for every worker's.
pub(crate) struct StatusStore {
    log: KafkaLog,
    worker_id: String,
    view: Arc<RwLock<StatusView>>,
    _tail: Tail,
}

impl StatusStore {
    pub(crate) async fn open(
        clients: &LogClients,
        worker: &WorkerConfig,
        worker_id: &str,
    ) -> Result<StatusStore> {
        let view: Arc<RwLock<StatusView>> = Arc::default();
        let sink_view = view.clone();
        let apply = move |view: &RwLock<StatusView>, records: Vec<TailRecord>| {
            let mut view = view.write().expect("status lock");
            for record in records {
                let (Some(key), Some(value)) = (
                    status_key(&record.key),
                    parse_status(record.value.as_deref()),
                ) else {
                    continue;
                };
                let at = Position {
                    partition: record.partition,
                    offset: record.offset,
                };
                view.apply(key, value, at);
            }
        };
        let (log, records, tail) = clients
            .open_tailing(
                &worker.status_storage_topic,
                worker.status_storage_partitions,
                worker.status_storage_replication_factor,
                Box::new(move |batch| apply(&sink_view, batch)),
            )
            .await?;
        apply(&view, records);
        Ok(StatusStore {
            log,
            worker_id: worker_id.to_string(),
            view,
            _tail: tail,
        })
    }

    /// Writes a record and applies it to the view at once (the tail reads it back later).
    async fn put(&self, key: String, record: Option<StatusRecord>) -> Result<()> {
        let value = record.as_ref().map(|r| {
            json!({"state": r.state, "trace": r.trace, "worker_id": r.worker_id, "generation": 0})
                .to_string()
        });
        let at = self
            .log
            .write(&key, value.as_deref().map(str::as_bytes))
            .await?;
        if let Some(parsed) = status_key(key.as_bytes()) {
            self.view
                .write()
                .expect("status lock")
                .apply(parsed, record, at);
        }
        Ok(())
    }

    /// Writes `state` (and `trace`) as this worker's status record under `key`.
    async fn put_mine(&self, key: String, state: State, trace: Option<&str>) -> Result<()> {
        let record = StatusRecord {
            state: state.as_str().to_string(),
            trace: trace.map(str::to_string),
            worker_id: self.worker_id.clone(),
        };
        self.put(key, Some(record)).await
    }

    pub(crate) async fn put_connector(
        &self,
        name: &str,
        state: State,
        trace: Option<&str>,
    ) -> Result<()> {
        self.put_mine(format!("status-connector-{name}"), state, trace)
            .await
    }

    pub(crate) async fn put_task(
        &self,
        name: &str,
        task: u32,
        state: State,
        trace: Option<&str>,
    ) -> Result<()> {
        self.put_mine(format!("status-task-{name}-{task}"), state, trace)
            .await
    }

    /// Tombstones for a deleted connector's statuses (every task status known, and the first
    /// `tasks`).
    pub(crate) async fn remove(&self, name: &str, tasks: usize) -> Result<()> {
        self.put(format!("status-connector-{name}"), None).await?;
        let mut ids: Vec<u32> = self.tasks(name).into_iter().map(|(id, _)| id).collect();
        ids.extend(0..tasks as u32);
        ids.sort_unstable();
        ids.dedup();
        for task in ids {
            self.put(format!("status-task-{name}-{task}"), None).await?;
        }
        Ok(())
    }

    /// The connector's last reported status.
    pub(crate) fn connector(&self, name: &str) -> Option<StatusRecord> {
        self.view
            .read()
            .expect("status lock")
            .connectors
            .get(name)
            .and_then(|p| p.record.clone())
    }

    /// The task's last reported status.
    pub(crate) fn task(&self, name: &str, task: u32) -> Option<StatusRecord> {
        self.view
            .read()
            .expect("status lock")
            .tasks
            .get(&(name.to_string(), task))
            .and_then(|p| p.record.clone())
    }

    /// Every task status reported for the connector.
    pub(crate) fn tasks(&self, name: &str) -> Vec<(u32, StatusRecord)> {
        let view = self.view.read().expect("status lock");
        let mut tasks: Vec<(u32, StatusRecord)> = view
            .tasks
            .iter()
            .filter(|((n, _), _)| n == name)
            .filter_map(|((_, id), p)| p.record.clone().map(|r| (*id, r)))
            .collect();
        tasks.sort_by_key(|(id, _)| *id);
        tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(records: &[(&str, Option<&str>)]) -> Vec<ConfigChange> {
        let mut reader = ConfigReader::default();
        records
            .iter()
            .filter_map(|(k, v)| reader.read(k.as_bytes(), v.map(str::as_bytes)))
            .collect()
    }

    #[test]
    fn reads_connect_config_records() {
        let changes = replay(&[
            (
                "connector-a",
                Some(r#"{"properties":{"name":"a","tasks.max":"1"}}"#),
            ),
            (
                "target-state-a",
                Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            ),
            ("target-state-b", Some(r#"{"state":"PAUSED"}"#)),
            (
                "task-my-conn-0",
                Some(r#"{"properties":{"name":"my-conn"}}"#),
            ),
            (
                "task-my-conn-1",
                Some(r#"{"properties":{"name":"my-conn"}}"#),
            ),
            ("commit-my-conn", Some(r#"{"tasks":2}"#)),
            ("commit-x", Some(r#"{"tasks":1}"#)),
            ("connector-c", None),
            (
                "session-key",
                Some(r#"{"key":"x","algorithm":"HmacSHA256","creation-timestamp":1}"#),
            ),
            (
                "restart-connector-a",
                Some(r#"{"include-tasks":true,"only-failed":false}"#),
            ),
            ("restart-task-my-conn-1", Some("{}")),
        ]);
        let name = |n: &str| n.to_string();
        let task = || BTreeMap::from([(name("name"), name("my-conn"))]);
        assert_eq!(
            changes,
            vec![
                ConfigChange::Connector {
                    name: name("a"),
                    config: Some(BTreeMap::from([
                        (name("name"), name("a")),
                        (name("tasks.max"), name("1"))
                    ])),
                },
                ConfigChange::Target {
                    name: name("a"),
                    state: Some(TargetState::Stopped)
                },
                ConfigChange::Target {
                    name: name("b"),
                    state: Some(TargetState::Paused)
                },
                ConfigChange::Tasks {
                    name: name("my-conn"),
                    tasks: vec![task(), task()]
                },
                ConfigChange::Connector {
                    name: name("c"),
                    config: None
                },
                ConfigChange::Restart {
                    name: name("a"),
                    include_tasks: true,
                    only_failed: false
                },
                ConfigChange::RestartTask {
                    name: name("my-conn"),
                    task: 1
                },
            ]
        );
    }

    #[test]
    fn written_changes_read_back() {
        let tasks = vec![BTreeMap::from([(
            "tables".to_string(),
            "[\"a\"]".to_string(),
        )])];
        let changes = vec![
            ConfigChange::Target {
                name: "n-1".into(),
                state: Some(TargetState::Stopped),
            },
            ConfigChange::Connector {
                name: "n-1".into(),
                config: Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
            },
            ConfigChange::Tasks {
                name: "n-1".into(),
                tasks,
            },
            ConfigChange::Restart {
                name: "n-1".into(),
                include_tasks: false,
                only_failed: true,
            },
            ConfigChange::Target {
                name: "n-1".into(),
                state: None,
            },
        ];
        let mut reader = ConfigReader::default();
        let read: Vec<ConfigChange> = changes
            .iter()
            .flat_map(encode)
            .filter_map(|(k, v)| reader.read(k.as_bytes(), v.as_deref().map(str::as_bytes)))
            .collect();
        assert_eq!(read, changes);
    }

    #[test]
    fn stale_statuses_are_skipped() {
        let at = |offset| Position {
            partition: 0,
            offset,
        };
        let record = |state: &str, worker: &str| StatusRecord {
            state: state.into(),
            trace: None,
            worker_id: worker.into(),
        };
        let mut view = StatusView::default();
        let key = || StatusKey::Task("c".into(), 0);
        view.apply(key(), Some(record("RUNNING", "a")), at(1));
        view.apply(key(), Some(record("RUNNING", "b")), at(3));
        // a's late UNASSIGNED (it stopped the task b now runs) does not hide b's RUNNING.
        view.apply(key(), Some(record("UNASSIGNED", "a")), at(4));
        // Written through at 3, read back: no change; an older record read later: no change.
        view.apply(key(), Some(record("RUNNING", "a")), at(1));
        let current = &view.tasks[&("c".to_string(), 0)];
        assert_eq!(current.record, Some(record("RUNNING", "b")));
        view.apply(key(), Some(record("UNASSIGNED", "b")), at(5));
        view.apply(key(), None, at(6));
        view.apply(key(), Some(record("RUNNING", "b")), at(5));
        assert_eq!(view.tasks[&("c".to_string(), 0)].record, None);
        assert!(matches!(
            status_key(b"status-task-my-conn-12"),
            Some(StatusKey::Task(n, 12)) if n == "my-conn"
        ));
    }
}
