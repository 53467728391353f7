//! The sink runtime: a consumer in group `connect-<connector>` (Connect's name, so Kafka's own
//! group tools list, describe and reset it), batches of up to `batch.size` records handed to the
//! task, failed records (with `errors.tolerance=all`) to the dead-letter topic with Connect's
//! error headers, and offsets committed synchronously only after the task reports the batch
//! durable. A failed `put` fails the task without committing: nothing is skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rdkafka::Message;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::connector::{RecordFailure, SinkTask, SinkTaskContext};
use crate::error::{ErrorKind, Result};
use crate::kafka::admin::{TopicSpec, ensure_topic};
use crate::kafka::{ClientRole, client_config, kafka_error};
use crate::metrics as m;
use crate::model::SinkRecord;

/// How long a batch waits for more records after its first one.
const BATCH_LINGER: Duration = Duration::from_millis(20);

/// The consumer group of a sink connector, exactly as Kafka Connect names it.
pub fn group_id(connector: &str) -> String {
    format!("connect-{connector}")
}

/// What a sink subscribes to.
#[derive(Debug, Clone)]
pub enum Subscription {
    Topics(Vec<String>),
    Regex(String),
}

/// The dead-letter queue of a sink connector.
#[derive(Debug, Clone)]
pub struct DeadLetterQueue {
    pub topic: String,
    pub replication_factor: i16,
    pub context_headers: bool,
}

/// Everything a sink task's runtime needs besides the task.
#[derive(Clone)]
pub struct SinkPipeline {
    pub connector: Arc<str>,
    pub task_id: u32,
    pub worker: Arc<WorkerConfig>,
    /// Connector-level `consumer.override.*` settings.
    pub consumer_overrides: BTreeMap<String, String>,
    pub subscription: Subscription,
    pub batch_size: usize,
    pub tolerate_errors: bool,
    pub errors_log: bool,
    pub dead_letter: Option<DeadLetterQueue>,
}

impl SinkPipeline {
    pub async fn run(self, mut task: Box<dyn SinkTask>, cancel: CancellationToken) -> Result<()> {
        let consumer: StreamConsumer = client_config(
            &self.worker,
            ClientRole::Consumer,
            &[
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("auto.offset.reset", "earliest"),
                ("enable.partition.eof", "false"),
            ],
            &self.consumer_overrides,
        )
        .set("group.id", group_id(&self.connector))
        .set(
            "client.id",
            format!("connector-consumer-{}-{}", self.connector, self.task_id),
        )
        .create()
        .map_err(|e| kafka_error(e, "cannot create the Kafka consumer"))?;
        match &self.subscription {
            Subscription::Topics(topics) => {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                consumer.subscribe(&topics)
            }
            Subscription::Regex(regex) => {
                let pattern = if regex.starts_with('^') {
                    regex.clone()
                } else {
                    format!("^{regex}")
                };
                consumer.subscribe(&[pattern.as_str()])
            }
        }
        .map_err(|e| kafka_error(e, "cannot subscribe"))?;
        let dead_letter = match &self.dead_letter {
            Some(dlq) => Some(self.dead_letter_producer(dlq).await?),
            None => None,
        };

        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            started = task.start(SinkTaskContext { tolerate_errors: self.tolerate_errors }) => started?,
        }
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];
        let read = metrics::counter!(m::SINK_RECORDS_READ_TOTAL, &labels);
        let written = metrics::counter!(m::SINK_RECORDS_WRITTEN_TOTAL, &labels);
        let failed = metrics::counter!(m::SINK_RECORDS_FAILED_TOTAL, &labels);
        let put_seconds = metrics::histogram!(m::SINK_PUT_SECONDS, &labels);
        let commit_seconds = metrics::histogram!(m::SINK_COMMIT_SECONDS, &labels);
        let mut topics: HashMap<String, Arc<str>> = HashMap::new();
        let result = loop {
            let first = tokio::select! {
                _ = cancel.cancelled() => break Ok(()),
                message = consumer.recv() => message,
            };
            let mut records = Vec::with_capacity(self.batch_size.min(4096));
            match first {
                Ok(message) => records.push(to_record(&message, &mut topics)),
                Err(error) => {
                    tracing::warn!(message = "consumer error", connector = %self.connector, %error);
                    continue;
                }
            }
            let deadline = tokio::time::Instant::now() + BATCH_LINGER;
            while records.len() < self.batch_size {
                match tokio::time::timeout_at(deadline, consumer.recv()).await {
                    Ok(Ok(message)) => records.push(to_record(&message, &mut topics)),
                    Ok(Err(error)) => {
                        tracing::warn!(message = "consumer error", connector = %self.connector, %error);
                        break;
                    }
                    Err(_) => break,
                }
            }
            read.increment(records.len() as u64);
            let started = std::time::Instant::now();
            let failures = match task.put(&records).await {
                Ok(failures) => failures,
                Err(error) => break Err(error),
            };
            put_seconds.record(started.elapsed().as_secs_f64());
            if !failures.is_empty() {
                failed.increment(failures.len() as u64);
                if let Err(error) = self.report(&failures, &records, dead_letter.as_ref()).await {
                    break Err(error);
                }
            }
            written.increment((records.len() - failures.len()) as u64);
            let started = std::time::Instant::now();
            commit(&consumer, &records, &self.connector);
            commit_seconds.record(started.elapsed().as_secs_f64());
        };
        if let Err(error) = task.stop().await {
            tracing::warn!(message = "sink task stop failed", %error);
        }
        result
    }

    async fn dead_letter_producer(&self, dlq: &DeadLetterQueue) -> Result<FutureProducer> {
        let admin: AdminClient<DefaultClientContext> =
            client_config(&self.worker, ClientRole::Admin, &[], &Default::default())
                .create()
                .map_err(|e| kafka_error(e, "cannot create the Kafka admin client"))?;
        ensure_topic(
            &admin,
            &TopicSpec {
                name: &dlq.topic,
                partitions: 1,
                replication_factor: i32::from(dlq.replication_factor),
                configs: &[],
            },
        )
        .await?;
        client_config(
            &self.worker,
            ClientRole::Producer,
            &[("acks", "all"), ("enable.idempotence", "true")],
            &Default::default(),
        )
        .create()
        .map_err(|e| kafka_error(e, "cannot create the dead-letter producer"))
    }

    /// Sends failed records to the dead-letter topic (and logs them); returns once Kafka has
    /// acknowledged every one. Without a dead-letter topic they are logged (as Connect does with
    /// `errors.tolerance=all`), never dropped silently.
    async fn report(
        &self,
        failures: &[RecordFailure],
        records: &[SinkRecord],
        producer: Option<&FutureProducer>,
    ) -> Result<()> {
        for failure in failures {
            let record = &records[failure.index];
            tracing::warn!(
                message = "record failed; tolerated (errors.tolerance=all)",
                connector = %self.connector,
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                stage = failure.stage.as_str(),
                dead_letter_topic = self.dead_letter.as_ref().map(|d| d.topic.as_str()).unwrap_or("(none)"),
                error = %failure.error.trace()
            );
            let (Some(producer), Some(dlq)) = (producer, &self.dead_letter) else {
                continue;
            };
            let mut headers = OwnedHeaders::new();
            for (key, value) in &record.headers {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            if dlq.context_headers {
                let class = match failure.stage {
                    crate::connector::FailureStage::TaskPut => {
                        "io.confluent.connect.jdbc.sink.JdbcSinkTask"
                    }
                    _ => crate::config::worker::JSON_CONVERTER,
                };
                let exception = match failure.error.kind() {
                    ErrorKind::Conversion => "org.apache.kafka.connect.errors.DataException",
                    ErrorKind::Database => "java.sql.SQLException",
                    _ => "org.apache.kafka.connect.errors.ConnectException",
                };
                let partition = record.partition.to_string();
                let offset = record.offset.to_string();
                let task = self.task_id.to_string();
                let message = failure.error.to_string();
                let trace = failure.error.trace();
                let context: [(&str, &str); 10] = [
                    ("__connect.errors.topic", &record.topic),
                    ("__connect.errors.partition", &partition),
                    ("__connect.errors.offset", &offset),
                    ("__connect.errors.connector.name", &self.connector),
                    ("__connect.errors.task.id", &task),
                    ("__connect.errors.stage", failure.stage.as_str()),
                    ("__connect.errors.class.name", class),
                    ("__connect.errors.exception.class.name", exception),
                    ("__connect.errors.exception.message", &message),
                    ("__connect.errors.exception.stacktrace", &trace),
                ];
                for (key, value) in context {
                    headers = headers.insert(Header {
                        key,
                        value: Some(value),
                    });
                }
            }
            let mut out: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&dlq.topic).headers(headers);
            if let Some(key) = &record.key {
                out = out.key(key);
            }
            if let Some(value) = &record.value {
                out = out.payload(value);
            }
            producer
                .send(out, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| {
                    kafka_error(
                        e,
                        format!("cannot write to the dead-letter topic {}", dlq.topic),
                    )
                })?;
        }
        Ok(())
    }
}

fn to_record(
    message: &rdkafka::message::BorrowedMessage<'_>,
    topics: &mut HashMap<String, Arc<str>>,
) -> SinkRecord {
    let topic = match topics.get(message.topic()) {
        Some(topic) => topic.clone(),
        None => {
            let topic: Arc<str> = message.topic().into();
            topics.insert(message.topic().to_string(), topic.clone());
            topic
        }
    };
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), h.value.map(Bytes::copy_from_slice)))
                .collect()
        })
        .unwrap_or_default();
    SinkRecord {
        topic,
        partition: message.partition(),
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(Bytes::copy_from_slice),
        value: message.payload().map(Bytes::copy_from_slice),
        headers,
    }
}

/// Commits the next offset of every partition in `records`. A failure (e.g. the partition was
/// revoked by a rebalance) is logged: the records are durable, and at worst they are delivered
/// again to the partition's new owner.
fn commit(consumer: &StreamConsumer, records: &[SinkRecord], connector: &str) {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for record in records {
        let entry = next.entry((&record.topic, record.partition)).or_insert(0);
        *entry = (*entry).max(record.offset + 1);
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        if let Err(error) = list.add_partition_offset(topic, partition, Offset::Offset(offset)) {
            tracing::warn!(message = "bad offset to commit", %error);
        }
    }
    if let Err(error) = consumer.commit(&list, CommitMode::Sync) {
        tracing::warn!(message = "offset commit failed; the records may be delivered again", connector, error = %kafka_error(error, "commit"));
    }
}
