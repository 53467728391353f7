//! The sink side's Kafka: a consumer in group `connect-<connector>` that hands out batches of
//! raw records, the committer that commits the offsets of durable batches beside the writer,
//! and the dead-letter producer.
//!
//! The sink pipeline sees them through three small contracts, so it can be driven by in-memory
//! fakes in its unit tests:
//! - [`RecordReader`]: the next batch of consumed records;
//! - [`OffsetCommitter`]: offsets of batches that are durable downstream (at-least-once: no
//!   other offset ever reaches it);
//! - [`DeadLetterWriter`]: failed records with Connect's context headers, acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::admin::{TopicSpec, ensure_topic, matching_topics};
use super::{ClientRole, client_config, kafka_error};
use crate::config::WorkerConfig;
use crate::config::connector::{DeadLetterQueue, Subscription};
use crate::error::{Error, ErrorKind, Result};
use crate::model::SinkRecord;
use crate::model::record::FailureStage;

/// Values shorter than this are copied out of librdkafka's buffer; longer ones are read in place
/// ([`Fetched`]), which saves copying every Debezium event (~1.8 KB) once more.
const IN_PLACE_MIN_BYTES: usize = 256;

/// A consumed message's value, read in place from librdkafka's fetch buffer rather than copied
/// out of it: the [`Bytes`] of a record's value own the message.
struct Fetched {
    /// Declared first, so it is dropped before the consumer it was fetched by.
    message: BorrowedMessage<'static>,
    _keep_alive: Arc<KeepAlive>,
}

/// Keeps a consumer alive for the messages of one batch read in place. One per batch rather
/// than a clone of the consumer's own `Arc` per message: the reader and the writer, on other
/// threads, then do not share one reference count for every record.
struct KeepAlive {
    _consumer: Arc<StreamConsumer>,
}

impl Fetched {
    #[allow(unsafe_code)] // Extends the message's borrow of the consumer to an owned handle on it.
    fn new(message: BorrowedMessage<'_>, keep_alive: &Arc<KeepAlive>) -> Fetched {
        // SAFETY: a `BorrowedMessage` borrows the consumer only so that it cannot outlive the
        // client whose buffer it points into (rust-rdkafka's `BorrowedMessage` is otherwise
        // `Send + Sync` and frees itself through its own event reference). `Fetched` holds that
        // consumer alive through `_keep_alive` until after `message` is dropped (field order).
        let message = unsafe {
            std::mem::transmute::<BorrowedMessage<'_>, BorrowedMessage<'static>>(message)
        };
        Fetched {
            message,
            _keep_alive: keep_alive.clone(),
        }
    }
}

impl AsRef<[u8]> for Fetched {
    fn as_ref(&self) -> &[u8] {
        self.message.payload().unwrap_or_default()
    }
}

/// The next offset to commit for each partition: `(topic, partition, offset)`.
pub(crate) type NextOffsets = Vec<(Arc<str>, i32, i64)>;

/// Consumed records, a batch at a time.
#[async_trait]
pub(crate) trait RecordReader: Send {
    /// Waits for a first record, then takes what arrives within `linger`, up to `max` records
    /// or `max_bytes` of keys and values. Never empty. Consumer errors are logged and skipped
    /// (the client retries them).
    async fn next_batch(
        &mut self,
        max: usize,
        max_bytes: usize,
        linger: Duration,
    ) -> Vec<SinkRecord>;
}

/// Commits the offsets of batches that are durable downstream.
#[async_trait]
pub(crate) trait OffsetCommitter: Send {
    /// Hands over the next offsets of a durable batch; returns at once.
    fn commit(&self, next: NextOffsets);
    /// Waits until everything handed over is committed (or has failed and been logged).
    async fn finish(self: Box<Self>);
}

/// A record that failed, with where and why: its stage, the failing class (Connect's
/// `__connect.errors.class.name`) and the error.
pub(crate) struct FailedRecord {
    pub(crate) record: SinkRecord,
    pub(crate) stage: FailureStage,
    pub(crate) class: &'static str,
    pub(crate) error: Error,
}

/// Writes failed records to the dead-letter topic.
#[async_trait]
pub(crate) trait DeadLetterWriter: Send + Sync {
    /// Returns once Kafka has acknowledged every record.
    async fn write(&self, failed: &[FailedRecord]) -> Result<()>;
}

/// The consumer group of a sink connector, exactly as Kafka Connect names it.
pub(crate) fn group_id(connector: &str) -> String {
    format!("connect-{connector}")
}

/// What librdkafka may hold for one consumer, outside the memory budget's reservations.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConsumerMemory {
    /// One fetch response (`fetch.max.bytes`, 1–50 MiB).
    pub(crate) fetch_bytes: usize,
    /// The prefetch queue (`queued.max.messages.kbytes`, 1–64 MiB): librdkafka fetches again
    /// only while the queue holds less.
    pub(crate) prefetch_bytes: usize,
}

/// How often a `topics.regex` subscription looks again for matching topics, created or
/// deleted since (a Java consumer does with each metadata refresh).
const PATTERN_REFRESH: Duration = Duration::from_secs(5);

/// A sink task's consumer.
pub(crate) struct KafkaConsumer {
    consumer: Arc<StreamConsumer>,
    connector: Arc<str>,
    /// One shared name per topic, so records do not each allocate theirs.
    topics: HashMap<String, Arc<str>>,
    /// With `topics.regex`: the task that keeps the subscription to the matching topics.
    follow: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        if let Some(follow) = &self.follow {
            follow.abort();
        }
    }
}

/// Keeps `consumer` subscribed to the topics whose whole name `pattern` matches (Java's
/// `Pattern.matcher(topic).matches()`, internal topics left out): it reads the topic list every
/// [`PATTERN_REFRESH`] and subscribes again when the matching set changes. Until a topic
/// matches, the consumer waits unsubscribed. librdkafka's own patterns are POSIX regexes found
/// anywhere in the name, which neither Java's dialect nor its whole-name rule survive.
fn follow_pattern(
    consumer: Arc<StreamConsumer>,
    pattern: regex::Regex,
    connector: Arc<str>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut subscribed: Vec<String> = Vec::new();
        let mut tick = tokio::time::interval(PATTERN_REFRESH);
        loop {
            tick.tick().await;
            let (reader, pattern) = (consumer.clone(), pattern.clone());
            let read = tokio::task::spawn_blocking(move || {
                reader
                    .fetch_metadata(None, Duration::from_secs(10))
                    .map(|metadata| matching_topics(&metadata, &pattern))
            })
            .await;
            let topics = match read {
                Ok(Ok(topics)) => topics,
                Ok(Err(error)) => {
                    tracing::warn!(message = "cannot list the topics topics.regex matches", connector = %connector, %error);
                    continue;
                }
                Err(_) => return,
            };
            if topics == subscribed {
                continue;
            }
            if topics.is_empty() {
                consumer.unsubscribe();
            } else {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                if let Err(error) = consumer.subscribe(&names) {
                    tracing::warn!(message = "cannot subscribe to the topics topics.regex matches", connector = %connector, %error);
                    continue;
                }
            }
            tracing::info!(message = "subscribed to the topics topics.regex matches", connector = %connector, topics = ?topics);
            subscribed = topics;
        }
    })
}

impl KafkaConsumer {
    /// A consumer in `connect-<connector>`, subscribed, fetching within `memory` (unless the
    /// worker or the connector sets `fetch.max.bytes` / `queued.max.messages.kbytes`).
    pub(crate) fn subscribe(
        worker: &WorkerConfig,
        overrides: &BTreeMap<String, String>,
        memory: ConsumerMemory,
        connector: &Arc<str>,
        task_id: u32,
        subscription: &Subscription,
    ) -> Result<KafkaConsumer> {
        let fetch_max = memory.fetch_bytes.clamp(1 << 20, 50 << 20).to_string();
        let queued_kbytes = (memory.prefetch_bytes / 1024)
            .clamp(1024, 65536)
            .to_string();
        let consumer: StreamConsumer = client_config(
            worker,
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
                // Fetch and prefetch within the task's share of the memory budget (librdkafka:
                // 50 MiB fetches, a 64 MiB queue).
                ("queued.max.messages.kbytes", queued_kbytes.as_str()),
                ("fetch.max.bytes", fetch_max.as_str()),
                // A broker answers a waiting fetch when data arrives (Kafka) or only at this
                // deadline (tansu): 100 ms instead of 500 bounds the sink's share of replication
                // lag either way, for a few empty fetches a second when idle.
                ("fetch.wait.max.ms", "100"),
            ],
            overrides,
        )
        .set("group.id", group_id(connector))
        .set(
            "client.id",
            format!("connector-consumer-{connector}-{task_id}"),
        )
        .create()
        .map_err(|e| kafka_error(e, "cannot create the Kafka consumer"))?;
        let consumer = Arc::new(consumer);
        let follow = match subscription {
            Subscription::Topics(topics) => {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                consumer
                    .subscribe(&topics)
                    .map_err(|e| kafka_error(e, "cannot subscribe"))?;
                None
            }
            Subscription::Regex(regex) => {
                let pattern = crate::config::whole_regex(regex, false)
                    .map_err(|e| Error::with_source(ErrorKind::Config, "bad topics.regex", e))?;
                Some(follow_pattern(consumer.clone(), pattern, connector.clone()))
            }
        };
        Ok(KafkaConsumer {
            consumer,
            connector: connector.clone(),
            topics: HashMap::new(),
            follow,
        })
    }

    /// The committer for this consumer's group; `seconds` times each commit.
    pub(crate) fn committer(&self, seconds: metrics::Histogram) -> Committer {
        Committer::start(self.consumer.clone(), seconds, self.connector.clone())
    }

    fn record(&mut self, message: BorrowedMessage<'_>, keep_alive: &Arc<KeepAlive>) -> SinkRecord {
        let topic = match self.topics.get(message.topic()) {
            Some(topic) => topic.clone(),
            None => {
                let topic: Arc<str> = message.topic().into();
                self.topics
                    .insert(message.topic().to_string(), topic.clone());
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
        let partition = message.partition();
        let offset = message.offset();
        let timestamp_ms = message.timestamp().to_millis();
        let key = message.key().map(Bytes::copy_from_slice);
        let value = match message.payload() {
            None => None,
            Some(payload) if payload.len() < IN_PLACE_MIN_BYTES => {
                Some(Bytes::copy_from_slice(payload))
            }
            Some(_) => Some(Bytes::from_owner(Fetched::new(message, keep_alive))),
        };
        SinkRecord {
            topic,
            partition,
            offset,
            timestamp_ms,
            key,
            value,
            headers,
            key_data: None,
            value_data: None,
        }
    }
}

#[async_trait]
impl RecordReader for KafkaConsumer {
    async fn next_batch(
        &mut self,
        max: usize,
        max_bytes: usize,
        linger: Duration,
    ) -> Vec<SinkRecord> {
        let consumer = self.consumer.clone();
        let keep_alive = Arc::new(KeepAlive {
            _consumer: consumer.clone(),
        });
        let mut batch = Vec::with_capacity(max.min(4096));
        let mut bytes = 0;
        while batch.is_empty() {
            match consumer.recv().await {
                Ok(message) => {
                    bytes += message.key_len() + message.payload_len();
                    batch.push(self.record(message, &keep_alive));
                }
                Err(error) => {
                    tracing::warn!(message = "consumer error", connector = %self.connector, %error)
                }
            }
        }
        let deadline = tokio::time::Instant::now() + linger;
        while batch.len() < max && bytes < max_bytes {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(message)) => {
                    bytes += message.key_len() + message.payload_len();
                    batch.push(self.record(message, &keep_alive));
                }
                Ok(Err(error)) => {
                    tracing::warn!(message = "consumer error", connector = %self.connector, %error);
                    break;
                }
                Err(_) => break,
            }
        }
        batch
    }
}

/// Commits the consumer's offsets beside the writer. The writer hands over the next offsets of
/// each batch once it is durable and goes on; the committer commits the newest offsets it holds
/// (merging batches that queued up while a commit was in flight), synchronously and in order.
pub(crate) struct Committer {
    offsets: std::sync::mpsc::Sender<NextOffsets>,
    done: tokio::task::JoinHandle<()>,
}

impl Committer {
    fn start(
        consumer: Arc<StreamConsumer>,
        seconds: metrics::Histogram,
        connector: Arc<str>,
    ) -> Committer {
        let (offsets, pending) = std::sync::mpsc::channel::<NextOffsets>();
        let done = tokio::task::spawn_blocking(move || {
            while let Ok(first) = pending.recv() {
                let next = merge(std::iter::once(first).chain(pending.try_iter()));
                let started = std::time::Instant::now();
                commit(&consumer, &next, &connector);
                seconds.record(started.elapsed().as_secs_f64());
            }
        });
        Committer { offsets, done }
    }
}

#[async_trait]
impl OffsetCommitter for Committer {
    fn commit(&self, next: NextOffsets) {
        if !next.is_empty() {
            // The receiver lives until `finish`.
            let _ = self.offsets.send(next);
        }
    }

    async fn finish(self: Box<Self>) {
        let Committer { offsets, done } = *self;
        drop(offsets);
        let _ = done.await;
    }
}

/// The highest next offset per partition over several batches.
pub(crate) fn merge(batches: impl Iterator<Item = NextOffsets>) -> BTreeMap<(Arc<str>, i32), i64> {
    let mut next: BTreeMap<(Arc<str>, i32), i64> = BTreeMap::new();
    for batch in batches {
        for (topic, partition, offset) in batch {
            let entry = next.entry((topic, partition)).or_insert(offset);
            *entry = (*entry).max(offset);
        }
    }
    next
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

/// The dead-letter topic's producer, with Connect's context headers when
/// `errors.deadletterqueue.context.headers.enable=true`.
pub(crate) struct DeadLetterProducer {
    producer: FutureProducer,
    dlq: DeadLetterQueue,
    connector: Arc<str>,
    task_id: u32,
}

impl DeadLetterProducer {
    /// Creates the topic when it is missing, and the producer.
    pub(crate) async fn create(
        worker: &WorkerConfig,
        dlq: &DeadLetterQueue,
        connector: &Arc<str>,
        task_id: u32,
    ) -> Result<DeadLetterProducer> {
        let admin = super::admin::admin_client(worker)?;
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
        let producer = client_config(
            worker,
            ClientRole::Producer,
            &[("acks", "all"), ("enable.idempotence", "true")],
            &Default::default(),
        )
        .create()
        .map_err(|e| kafka_error(e, "cannot create the dead-letter producer"))?;
        Ok(DeadLetterProducer {
            producer,
            dlq: dlq.clone(),
            connector: connector.clone(),
            task_id,
        })
    }
}

#[async_trait]
impl DeadLetterWriter for DeadLetterProducer {
    async fn write(&self, failed: &[FailedRecord]) -> Result<()> {
        for FailedRecord {
            record,
            stage,
            class,
            error,
        } in failed
        {
            let mut headers = OwnedHeaders::new();
            for (key, value) in &record.headers {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            if self.dlq.context_headers {
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
                FutureRecord::to(&self.dlq.topic).headers(headers);
            if let Some(key) = &record.key {
                out = out.key(key);
            }
            if let Some(value) = &record.value {
                out = out.payload(value);
            }
            self.producer
                .send(out, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| {
                    kafka_error(
                        e,
                        format!("cannot write to the dead-letter topic {}", self.dlq.topic),
                    )
                })?;
        }
        Ok(())
    }
}
