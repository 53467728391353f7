//! `GET|PATCH|DELETE /connectors/{name}/offsets` (KIP-875). Source offsets live in the offsets
//! topic; a sink's are its consumer group's (`connect-<name>`) committed offsets. Changes need
//! the connector STOPPED.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::{Value as Json, json};

use super::{ApiError, ApiResult, RestState, json_body};
use crate::config::connector::{SinkConnectorConfig, Subscription};
use crate::config::{ConnectorConfig, WorkerConfig};
use crate::connector::ConnectorType;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::consumer::group_id;
use crate::kafka::{ClientRole, client_config, kafka_error};

const TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn get_offsets(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    let (config, connector_type, _) = state.herder().await?.offsets_target(&name)?;
    let offsets: Vec<Json> = match connector_type {
        ConnectorType::Source => state
            .herder()
            .await?
            .worker()
            .offsets()
            .all(&name)
            .await?
            .into_iter()
            .map(|(partition, offset)| json!({"partition": partition, "offset": offset}))
            .collect(),
        ConnectorType::Sink => {
            let worker = state.herder().await?.worker().config().clone();
            let offsets = blocking(move || sink_offsets(&worker, &config)).await?;
            offsets
                .into_iter()
                .map(|(topic, partition, offset)| {
                    json!({
                        "partition": {"kafka_topic": topic, "kafka_partition": partition},
                        "offset": {"kafka_offset": offset},
                    })
                })
                .collect()
        }
    };
    Ok(axum::Json(json!({ "offsets": offsets })))
}

pub(super) async fn alter_offsets(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Json>> {
    let body = json_body(body)?;
    let entries = body
        .get("offsets")
        .and_then(Json::as_array)
        .ok_or_else(|| ApiError::bad_request("Request body must hold an \"offsets\" list"))?
        .clone();
    if entries.is_empty() {
        return Err(ApiError::bad_request("The offsets list must not be empty"));
    }
    let worker = state.herder().await?.worker().clone();
    state
        .herder().await?
        .with_stopped(&name, async |config: &ConnectorConfig, connector_type| {
            match connector_type {
                ConnectorType::Source => {
                    let mut changes = Vec::with_capacity(entries.len());
                    for entry in &entries {
                        let partition = entry
                            .get("partition")
                            .filter(|p| p.is_object())
                            .ok_or_else(|| {
                                Error::config("every entry needs a \"partition\" object")
                            })?;
                        let offset = match entry.get("offset") {
                            None | Some(Json::Null) => None,
                            Some(offset @ Json::Object(_)) => Some(offset.clone()),
                            Some(other) => {
                                return Err(Error::config(format!(
                                    "offset {other} must be an object or null"
                                )));
                            }
                        };
                        changes.push((partition.clone(), offset));
                    }
                    worker.offsets().put(&config.name, &changes).await
                }
                ConnectorType::Sink => {
                    let mut list = TopicPartitionList::new();
                    for entry in &entries {
                        let partition = entry.get("partition");
                        let topic = partition
                            .and_then(|p| p.get("kafka_topic"))
                            .and_then(Json::as_str);
                        let number = partition
                            .and_then(|p| p.get("kafka_partition"))
                            .and_then(Json::as_i64);
                        let (Some(topic), Some(number)) = (topic, number) else {
                            return Err(Error::config(
                                "a sink offset's partition must be {\"kafka_topic\":…,\"kafka_partition\":…}",
                            ));
                        };
                        let offset = match entry.get("offset") {
                            Some(Json::Object(o)) => o.get("kafka_offset").and_then(Json::as_i64),
                            _ => None,
                        };
                        let Some(offset) = offset.filter(|o| *o >= 0) else {
                            return Err(Error::config(format!(
                                "the offset of {topic}-{number} must be {{\"kafka_offset\":<non-negative number>}}; \
                                 to reset every partition use DELETE /connectors/{}/offsets",
                                config.name
                            )));
                        };
                        list.add_partition_offset(topic, number as i32, Offset::Offset(offset))
                            .map_err(|e| kafka_error(e, "bad offset"))?;
                    }
                    let worker_config = worker.config().clone();
                    let group = group_id(&config.name);
                    blocking(move || commit_group(&worker_config, &group, &list)).await
                }
            }
        })
        .await?;
    Ok(axum::Json(json!({
        "message": "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."
    })))
}

pub(super) async fn reset_offsets(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    let worker = state.herder().await?.worker().clone();
    state
        .herder()
        .await?
        .with_stopped(
            &name,
            async |config: &ConnectorConfig, connector_type| match connector_type {
                ConnectorType::Source => {
                    let tombstones: Vec<(Json, Option<Json>)> = worker
                        .offsets()
                        .all(&config.name)
                        .await?
                        .into_iter()
                        .map(|(partition, _)| (partition, None))
                        .collect();
                    worker.offsets().put(&config.name, &tombstones).await
                }
                ConnectorType::Sink => delete_group(worker.config(), &group_id(&config.name)).await,
            },
        )
        .await?;
    Ok(axum::Json(json!({
        "message": "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."
    })))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::with_source(ErrorKind::Internal, "offsets worker panicked", e))?
}

fn group_consumer(worker: &WorkerConfig, group: &str) -> Result<BaseConsumer> {
    client_config(
        worker,
        ClientRole::Consumer,
        &[("enable.auto.commit", "false")],
        &Default::default(),
    )
    .set("group.id", group)
    .create()
    .map_err(|e| kafka_error(e, "cannot create a consumer for the sink's group"))
}

/// The sink group's committed offsets on every partition of its topics.
fn sink_offsets(
    worker: &WorkerConfig,
    config: &ConnectorConfig,
) -> Result<Vec<(String, i32, i64)>> {
    let consumer = group_consumer(worker, &group_id(&config.name))?;
    let subscription = SinkConnectorConfig::parse(config)?.subscription;
    let metadata = consumer
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| kafka_error(e, "cannot read topic metadata"))?;
    let regex = match &subscription {
        Subscription::Regex(pattern) => Some(
            crate::config::whole_regex(pattern, false)
                .map_err(|e| Error::with_source(ErrorKind::Config, "bad topics.regex", e))?,
        ),
        Subscription::Topics(_) => None,
    };
    let mut list = TopicPartitionList::new();
    for topic in metadata.topics() {
        let wanted = match (&subscription, &regex) {
            (Subscription::Topics(topics), _) => topics.iter().any(|t| t == topic.name()),
            (_, Some(regex)) => regex.is_match(topic.name()),
            _ => false,
        };
        if wanted {
            for partition in topic.partitions() {
                list.add_partition(topic.name(), partition.id());
            }
        }
    }
    if list.count() == 0 {
        return Ok(Vec::new());
    }
    let committed = consumer
        .committed_offsets(list, TIMEOUT)
        .map_err(|e| kafka_error(e, "cannot read the sink group's offsets"))?;
    let mut out: Vec<(String, i32, i64)> = committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some((e.topic().to_string(), e.partition(), offset)),
            _ => None,
        })
        .collect();
    out.sort();
    Ok(out)
}

fn commit_group(worker: &WorkerConfig, group: &str, list: &TopicPartitionList) -> Result<()> {
    let consumer = group_consumer(worker, group)?;
    consumer
        .commit(list, CommitMode::Sync)
        .map_err(|e| kafka_error(e, format!("cannot commit offsets for group {group}")))
}

async fn delete_group(worker: &WorkerConfig, group: &str) -> Result<()> {
    let admin = crate::kafka::admin::admin_client(worker)?;
    let results = admin
        .delete_groups(
            &[group],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .map_err(|e| kafka_error(e, format!("cannot delete group {group}")))?;
    for result in results {
        match result {
            Ok(_) => {}
            // Nothing committed yet: nothing to reset.
            Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((name, code)) => {
                return Err(Error::new(
                    ErrorKind::Kafka,
                    format!("cannot delete group {name}: {code}"),
                ));
            }
        }
    }
    Ok(())
}
