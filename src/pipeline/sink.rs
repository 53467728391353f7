//! The sink runtime: a consumer in group `connect-<connector>` (Connect's name, so Kafka's own
//! group tools list, describe and reset it), batches of up to `batch.size` records handed to the
//! task, failed records (with `errors.tolerance=all`) to the dead-letter topic with Connect's
//! error headers, and offsets committed only after the task reports the batch durable. The
//! commit runs beside the writer (see [`Committer`]), so the next batch is written while the
//! broker acknowledges the last commit. A failed `put` fails the task without committing its
//! batch: nothing is skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::config::connector::{DeadLetterQueue, Subscription};
use crate::connector::{FailureStage, SinkTask, SinkTaskContext};
use crate::convert::Role;
use crate::convert::json::decode::JsonDecoder;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::admin::{TopicSpec, ensure_topic};
use crate::kafka::{ClientRole, client_config, kafka_error};
use crate::metrics as m;
use crate::model::SinkRecord;
use crate::pipeline::record::{RecordStage, RecordStageConfig};

/// How long a batch waits for more records after its first one.
const BATCH_LINGER: Duration = Duration::from_millis(20);

/// The consumer group of a sink connector, exactly as Kafka Connect names it.
pub(crate) fn group_id(connector: &str) -> String {
    format!("connect-{connector}")
}

/// Everything a sink task's runtime needs besides the task.
#[derive(Clone)]
pub(crate) struct SinkPipeline {
    pub connector: Arc<str>,
    pub task_id: u32,
    pub worker: Arc<WorkerConfig>,
    /// Connector-level `consumer.override.*` settings.
    pub consumer_overrides: BTreeMap<String, String>,
    pub subscription: Subscription,
    pub batch_size: usize,
    pub tolerate_errors: bool,
    pub dead_letter: Option<DeadLetterQueue>,
    /// The connector's converters and transformations.
    pub record_stage: RecordStageConfig,
}

/// A record that failed, with where and why: its stage, the failing class (Connect's
/// `__connect.errors.class.name`) and the error.
struct Failed {
    record: SinkRecord,
    stage: FailureStage,
    class: &'static str,
    error: Error,
}

/// A batch read and converted by the gatherer: the records that converted, and (with
/// `errors.tolerance=all`) the ones that did not, with the offsets the whole batch covers.
struct Batch {
    records: Vec<SinkRecord>,
    failed: Vec<Failed>,
    next_offsets: Vec<(Arc<str>, i32, i64)>,
}

impl SinkPipeline {
    pub(crate) async fn run(
        self,
        mut task: Box<dyn SinkTask>,
        cancel: CancellationToken,
    ) -> Result<()> {
        let consumer: StreamConsumer = client_config(
            &self.worker,
            ClientRole::Consumer,
            &[
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("auto.offset.reset", "earliest"),
                ("enable.partition.eof", "false"),
                // A subscribed topic that does not exist yet (a source still starting) is seen
                // within seconds, not librdkafka's default five minutes.
                ("topic.metadata.refresh.interval.ms", "5000"),
                // librdkafka pauses fetching for a full second (its default) whenever the
                // prefetch queue is full, and a sink that writes faster than that drains it
                // long before: the writer then idles. Java's consumer fetches again at once.
                ("fetch.queue.backoff.ms", "10"),
                // Prefetch at most 16 MiB per partition (librdkafka: 64 MiB): enough for
                // several `batch.size` batches, and the worker's memory stays small.
                ("queued.max.messages.kbytes", "16384"),
                // A broker answers a waiting fetch when data arrives (Kafka) or only at this
                // deadline (tansu): 100 ms instead of 500 bounds the sink's share of replication
                // lag either way, for a few empty fetches a second when idle.
                ("fetch.wait.max.ms", "100"),
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
        let consumer = Arc::new(consumer);
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

        let converters = if self.record_stage.is_fast_json() {
            // Without schemas the task reads the plain JSON against its own schema.
            let key_schemas = self.record_stage.json_settings(Role::Key).0;
            let value_schemas = self.record_stage.json_settings(Role::Value).0;
            Converters::Fast {
                key: (task.wants_keys() && key_schemas).then(|| JsonDecoder::new(true)),
                value: value_schemas.then(|| JsonDecoder::new(true)),
                key_schemas,
                value_schemas,
            }
        } else {
            Converters::Stage(Box::new(self.record_stage.build()?))
        };
        let (key_schemas, value_schemas) = converters.schemas();
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            started = task.start(SinkTaskContext {
                tolerate_errors: self.tolerate_errors,
                key_schemas,
                value_schemas,
            }) => started?,
        }
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];
        let put_seconds = metrics::histogram!(m::SINK_PUT_SECONDS, &labels);
        let committer = Committer::start(
            consumer.clone(),
            metrics::histogram!(m::SINK_COMMIT_SECONDS, &labels),
            self.connector.clone(),
        );
        let batch_records = metrics::histogram!(m::SINK_BATCH_RECORDS, &labels);
        let depth = metrics::gauge!(
            m::PIPELINE_QUEUE_DEPTH,
            m::LABEL_CONNECTOR => labels[0].1.clone(),
            m::LABEL_TASK => labels[1].1.clone(),
            m::LABEL_STAGE => m::STAGE_PUT
        );
        let mut per_topic = m::ByLabel::new(labels, m::LABEL_TOPIC, TopicCounters::new);
        if let Subscription::Topics(topics) = &self.subscription {
            for topic in topics {
                per_topic.get(topic);
            }
        }
        // The gatherer reads and converts the next batch while the current one is written.
        let (batches_tx, mut batches_rx) = tokio::sync::mpsc::channel::<Result<Batch>>(1);
        let gatherer = tokio::spawn(gather(
            consumer.clone(),
            converters,
            self.tolerate_errors,
            self.batch_size,
            self.connector.clone(),
            batches_tx,
            cancel.clone(),
        ));
        let result = loop {
            let batch = tokio::select! {
                _ = cancel.cancelled() => break Ok(()),
                batch = batches_rx.recv() => match batch {
                    Some(Ok(batch)) => batch,
                    Some(Err(error)) => break Err(error),
                    None => break Ok(()),
                },
            };
            let Batch {
                records,
                mut failed,
                next_offsets,
            } = batch;
            depth.set(batches_rx.len() as f64);
            batch_records.record((records.len() + failed.len()) as f64);
            let consumed = records.iter().chain(failed.iter().map(|f| &f.record));
            for (topic, count, bytes) in count_by_topic(consumed) {
                let counters = per_topic.get(topic);
                counters.read.increment(count);
                counters.bytes.increment(bytes);
            }
            let started = std::time::Instant::now();
            let put_failures = match task.put(&records).await {
                Ok(failures) => failures,
                Err(error) => break Err(error),
            };
            let written_count = records.len() - put_failures.len();
            let mut records = records;
            for failure in put_failures.into_iter().rev() {
                let record = records.swap_remove(failure.index);
                failed.push(Failed {
                    record,
                    stage: failure.stage,
                    class: PUT_CLASS,
                    error: failure.error,
                });
            }
            if !failed.is_empty() {
                failed
                    .sort_by_key(|f| (f.record.topic.clone(), f.record.partition, f.record.offset));
                let failed_by_topic = count_by_topic(failed.iter().map(|f| &f.record));
                for (topic, count, _) in &failed_by_topic {
                    per_topic.get(topic).failed.increment(*count);
                }
                if let Err(error) = self.report(&failed, dead_letter.as_ref()).await {
                    break Err(error);
                }
                if dead_letter.is_some() {
                    for (topic, count, _) in &failed_by_topic {
                        per_topic.get(topic).dead_letter.increment(*count);
                    }
                }
            }
            let put_done = std::time::Instant::now();
            put_seconds.record((put_done - started).as_secs_f64());
            for (topic, count, _) in count_by_topic(records.iter()) {
                per_topic.get(topic).written.increment(count);
            }
            committer.commit(next_offsets);
            tracing::debug!(
                message = "sink batch",
                connector = %self.connector,
                records = written_count,
                failed = failed.len(),
                put_ms = (put_done - started).as_millis() as u64
            );
        };
        gatherer.abort();
        // Every batch written so far has its offsets committed before the task stops.
        committer.finish().await;
        if let Err(error) = task.stop().await {
            tracing::warn!(message = "sink task stop failed", %error);
        }
        result
    }

    async fn dead_letter_producer(&self, dlq: &DeadLetterQueue) -> Result<FutureProducer> {
        let admin = crate::kafka::admin::admin_client(&self.worker)?;
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
    async fn report(&self, failures: &[Failed], producer: Option<&FutureProducer>) -> Result<()> {
        for Failed {
            record,
            stage,
            class,
            error,
        } in failures
        {
            tracing::warn!(
                message = "record failed; tolerated (errors.tolerance=all)",
                connector = %self.connector,
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                stage = stage.as_str(),
                dead_letter_topic = self.dead_letter.as_ref().map(|d| d.topic.as_str()).unwrap_or("(none)"),
                error = %error.trace()
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
                let exception = match error.kind() {
                    ErrorKind::Conversion => "org.apache.kafka.connect.errors.DataException",
                    ErrorKind::Database => "java.sql.SQLException",
                    _ => "org.apache.kafka.connect.errors.ConnectException",
                };
                let partition = record.partition.to_string();
                let offset = record.offset.to_string();
                let task = self.task_id.to_string();
                let message = error.to_string();
                let trace = error.trace();
                let context: [(&str, &str); 10] = [
                    ("__connect.errors.topic", &record.topic),
                    ("__connect.errors.partition", &partition),
                    ("__connect.errors.offset", &offset),
                    ("__connect.errors.connector.name", &self.connector),
                    ("__connect.errors.task.id", &task),
                    ("__connect.errors.stage", stage.as_str()),
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

/// A sink task's counters for one topic.
struct TopicCounters {
    read: metrics::Counter,
    written: metrics::Counter,
    failed: metrics::Counter,
    dead_letter: metrics::Counter,
    bytes: metrics::Counter,
}

impl TopicCounters {
    fn new(labels: &[(&'static str, String); 3]) -> Self {
        TopicCounters {
            read: metrics::counter!(m::SINK_RECORDS_READ_TOTAL, labels),
            written: metrics::counter!(m::SINK_RECORDS_WRITTEN_TOTAL, labels),
            failed: metrics::counter!(m::SINK_RECORDS_FAILED_TOTAL, labels),
            dead_letter: metrics::counter!(m::SINK_DEAD_LETTER_RECORDS_TOTAL, labels),
            bytes: metrics::counter!(m::SINK_BYTES_TOTAL, labels),
        }
    }
}

/// Records and key + value bytes per topic, for the per-topic counters.
fn count_by_topic<'a>(records: impl Iterator<Item = &'a SinkRecord>) -> Vec<(&'a str, u64, u64)> {
    let mut counts: Vec<(&'a str, u64, u64)> = Vec::new();
    for record in records {
        let bytes = record.key.as_ref().map_or(0, |k| k.len())
            + record.value.as_ref().map_or(0, |v| v.len());
        match counts
            .iter_mut()
            .rev()
            .find(|(t, _, _)| *t == &*record.topic)
        {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += bytes as u64;
            }
            None => counts.push((&record.topic, 1, bytes as u64)),
        }
    }
    counts
}

/// The class a failing `put` reports (`__connect.errors.class.name`).
const PUT_CLASS: &str = "io.confluent.connect.jdbc.sink.JdbcSinkTask";

/// The runtime's converters (Connect's `key.converter` / `value.converter`) and
/// transformations. One per task: the decoders' size does not matter.
#[allow(clippy::large_enum_variant)]
enum Converters {
    /// JsonConverter without transformations: the tape decoder.
    Fast {
        /// `None` when the task never reads keys, or keys carry no schema.
        key: Option<JsonDecoder>,
        /// `None` when values carry no schema.
        value: Option<JsonDecoder>,
        key_schemas: bool,
        value_schemas: bool,
    },
    /// Any converters, and the transformation chain.
    Stage(Box<RecordStage>),
}

impl Converters {
    /// Whether the task gets converted keys and values (else plain JSON bytes).
    fn schemas(&self) -> (bool, bool) {
        match self {
            Converters::Fast {
                key_schemas,
                value_schemas,
                ..
            } => (*key_schemas, *value_schemas),
            Converters::Stage(stage) => stage.schemas(),
        }
    }

    /// Converts (and transforms) a record for the task: `Ok(false)` when a transformation
    /// dropped it. A failure names the stage, the class and the record.
    fn convert(
        &mut self,
        record: &mut SinkRecord,
    ) -> std::result::Result<bool, (FailureStage, &'static str, Error)> {
        let (key, value) = match self {
            Converters::Fast { key, value, .. } => (key, value),
            Converters::Stage(stage) => {
                return stage.sink_record(record).map_err(|failure| {
                    let error = Error::with_source(
                        ErrorKind::Conversion,
                        format!(
                            "stage {} ({}) failed on the record at {}-{} offset {}",
                            failure.stage.as_str(),
                            failure.class,
                            record.topic,
                            record.partition,
                            record.offset
                        ),
                        failure.error,
                    );
                    (failure.stage, failure.class, error)
                });
            }
        };
        let context = |record: &SinkRecord, stage: FailureStage, error: Error| {
            (
                stage,
                crate::convert::JSON_CONVERTER,
                Error::with_source(
                    ErrorKind::Conversion,
                    format!(
                        "cannot convert the {} of the record at {}-{} offset {}",
                        if stage == FailureStage::KeyConverter {
                            "key"
                        } else {
                            "value"
                        },
                        record.topic,
                        record.partition,
                        record.offset
                    ),
                    error,
                ),
            )
        };
        if let (Some(decoder), Some(bytes)) = (key, &record.key) {
            record.key_data = decoder
                .decode(bytes)
                .map_err(|e| context(record, FailureStage::KeyConverter, e))?;
        }
        if let (Some(decoder), Some(bytes)) = (value, &record.value) {
            record.value_data = decoder
                .decode(bytes)
                .map_err(|e| context(record, FailureStage::ValueConverter, e))?;
        }
        Ok(true)
    }
}

/// Reads and converts batches: waits for a first record, then takes what arrives within
/// [`BATCH_LINGER`], up to `batch_size` records. A conversion failure ends the task unless
/// errors are tolerated, in which case the record travels with the batch for the dead-letter
/// queue.
async fn gather(
    consumer: Arc<StreamConsumer>,
    mut converters: Converters,
    tolerate_errors: bool,
    batch_size: usize,
    connector: Arc<str>,
    batches: tokio::sync::mpsc::Sender<Result<Batch>>,
    cancel: CancellationToken,
) {
    let mut topics: HashMap<String, Arc<str>> = HashMap::new();
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return,
            message = consumer.recv() => message,
        };
        let mut raw = Vec::with_capacity(batch_size.min(4096));
        match first {
            Ok(message) => raw.push(to_record(&message, &mut topics)),
            Err(error) => {
                tracing::warn!(message = "consumer error", connector = %connector, %error);
                continue;
            }
        }
        let deadline = tokio::time::Instant::now() + BATCH_LINGER;
        while raw.len() < batch_size {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(message)) => raw.push(to_record(&message, &mut topics)),
                Ok(Err(error)) => {
                    tracing::warn!(message = "consumer error", connector = %connector, %error);
                    break;
                }
                Err(_) => break,
            }
        }
        tracing::trace!(
            message = "sink gather",
            records = raw.len(),
            gather_ms =
                (tokio::time::Instant::now() - (deadline - BATCH_LINGER)).as_millis() as u64
        );
        let next_offsets = next_offsets(&raw);
        let mut batch = Batch {
            records: Vec::with_capacity(raw.len()),
            failed: Vec::new(),
            next_offsets,
        };
        let mut fatal = None;
        for mut record in raw {
            match converters.convert(&mut record) {
                Ok(true) => batch.records.push(record),
                Ok(false) => {}
                Err((stage, class, error)) if tolerate_errors => batch.failed.push(Failed {
                    record,
                    stage,
                    class,
                    error,
                }),
                Err((_, _, error)) => {
                    fatal = Some(error);
                    break;
                }
            }
        }
        let message = match fatal {
            Some(error) => Err(error),
            None => Ok(batch),
        };
        let stop = message.is_err();
        if batches.send(message).await.is_err() || stop {
            return;
        }
    }
}

/// The next offset to commit for every partition in `records`.
fn next_offsets(records: &[SinkRecord]) -> Vec<(Arc<str>, i32, i64)> {
    let mut next: BTreeMap<(&str, i32), (Arc<str>, i64)> = BTreeMap::new();
    for record in records {
        let entry = next
            .entry((&record.topic, record.partition))
            .or_insert_with(|| (record.topic.clone(), 0));
        entry.1 = entry.1.max(record.offset + 1);
    }
    next.into_iter().map(|((_, p), (t, o))| (t, p, o)).collect()
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
        key_data: None,
        value_data: None,
    }
}

/// Commits the consumer's offsets beside the writer. The writer hands over the next offsets of
/// each batch once it is durable and goes on; the committer commits the newest offsets it holds
/// (merging batches that queued up while a commit was in flight), synchronously and in order.
/// Only offsets of durable batches ever reach it, so at-least-once holds; [`Committer::finish`]
/// waits for the last commit.
struct Committer {
    offsets: std::sync::mpsc::Sender<Vec<(Arc<str>, i32, i64)>>,
    done: tokio::task::JoinHandle<()>,
}

impl Committer {
    fn start(
        consumer: Arc<StreamConsumer>,
        seconds: metrics::Histogram,
        connector: Arc<str>,
    ) -> Committer {
        let (offsets, pending) = std::sync::mpsc::channel::<Vec<(Arc<str>, i32, i64)>>();
        let done = tokio::task::spawn_blocking(move || {
            while let Ok(first) = pending.recv() {
                let mut next: BTreeMap<(Arc<str>, i32), i64> = BTreeMap::new();
                for batch in std::iter::once(first).chain(pending.try_iter()) {
                    for (topic, partition, offset) in batch {
                        let entry = next.entry((topic, partition)).or_insert(offset);
                        *entry = (*entry).max(offset);
                    }
                }
                let started = std::time::Instant::now();
                commit(&consumer, &next, &connector);
                seconds.record(started.elapsed().as_secs_f64());
            }
        });
        Committer { offsets, done }
    }

    fn commit(&self, next_offsets: Vec<(Arc<str>, i32, i64)>) {
        if !next_offsets.is_empty() {
            // The receiver lives until `finish`.
            let _ = self.offsets.send(next_offsets);
        }
    }

    async fn finish(self) {
        drop(self.offsets);
        let _ = self.done.await;
    }
}

/// Commits offsets. A failure (e.g. the partition was revoked by a rebalance) is logged: the
/// records are durable, and at worst they are delivered again to the partition's new owner.
fn commit(consumer: &StreamConsumer, next: &BTreeMap<(Arc<str>, i32), i64>, connector: &str) {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        if let Err(error) = list.add_partition_offset(topic, *partition, Offset::Offset(*offset)) {
            tracing::warn!(message = "bad offset to commit", %error);
        }
    }
    if let Err(error) = consumer.commit(&list, CommitMode::Sync) {
        tracing::warn!(message = "offset commit failed; the records may be delivered again", connector, error = %kafka_error(error, "commit"));
    }
}
