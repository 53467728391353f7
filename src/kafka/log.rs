//! A compacted Kafka topic used as a durable key-value log, like Connect's `KafkaBasedLog`: the
//! worker's offsets, config and status topics.
//!
//! Opening creates the topic when absent (`cleanup.policy=compact`) and reads it from the
//! beginning to its end. Writes go one record per produce request and are awaited: besides being
//! simple, this keeps the topic's high watermark exact on brokers that miscount multi-record
//! batches (tansu, see FINDINGS.md), so "read to the end" is reliable there too.
//!
//! In tailing mode ([`KafkaLog::open_tailing`]) a background thread keeps reading after the
//! initial read and hands every new record (other workers' and this worker's own) to a sink;
//! [`Tail::sync`] waits until everything written before the call has been handed over, like
//! Connect's `KafkaBasedLog.readToEnd`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Most records handed to a tail's sink at once.
const TAIL_BATCH: usize = 1000;

/// One record read back: key and value (`None` for a tombstone).
pub type LogRecord = (Vec<u8>, Option<Vec<u8>>);

/// One record read back with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    /// `None` for a tombstone.
    pub value: Option<Vec<u8>>,
}

/// Where a written record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// Receives the records a tail reads after the initial read, in offset order per partition.
pub type TailSink = Box<dyn FnMut(Vec<TailRecord>) + Send>;

/// A compacted topic the worker writes and reads back.
pub struct KafkaLog {
    topic: String,
    producer: FutureProducer,
}

/// The background reader of a log opened with [`KafkaLog::open_tailing`]; stops when dropped.
pub struct Tail {
    syncs: std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<Result<BTreeMap<i32, i64>>>>,
    stop: Arc<AtomicBool>,
}

impl Tail {
    /// Returns once every record written to the topic before the call has been handed to the
    /// sink, with the next offset to read of each partition.
    pub async fn sync(&self) -> Result<BTreeMap<i32, i64>> {
        let (reply, done) = tokio::sync::oneshot::channel();
        self.syncs
            .send(reply)
            .map_err(|_| Error::new(ErrorKind::Internal, "the topic reader has stopped"))?;
        done.await
            .map_err(|_| Error::new(ErrorKind::Internal, "the topic reader has stopped"))?
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Clients {
    producer: FutureProducer,
    consumer: BaseConsumer,
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
        let clients = connect(worker, topic, partitions, replication_factor).await?;
        let read_topic = topic.to_string();
        let consumer = clients.consumer;
        let (records, _) =
            tokio::task::spawn_blocking(move || read_to_end(&consumer, &read_topic, false))
                .await
                .map_err(|e| {
                    Error::with_source(ErrorKind::Internal, "topic reader panicked", e)
                })??;
        let log = KafkaLog {
            topic: topic.to_string(),
            producer: clients.producer,
        };
        Ok((log, records.into_iter().map(|r| (r.key, r.value)).collect()))
    }

    /// Like [`KafkaLog::open`], then keeps reading: every record that arrives later goes to
    /// `sink`, from a background thread, until the returned [`Tail`] is dropped.
    pub async fn open_tailing(
        worker: &WorkerConfig,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        sink: TailSink,
    ) -> Result<(KafkaLog, Vec<TailRecord>, Tail)> {
        let clients = connect(worker, topic, partitions, replication_factor).await?;
        let read_topic = topic.to_string();
        let consumer = clients.consumer;
        let (records, consumer, next) = tokio::task::spawn_blocking(move || {
            read_to_end(&consumer, &read_topic, true).map(|(r, next)| (r, consumer, next))
        })
        .await
        .map_err(|e| Error::with_source(ErrorKind::Internal, "topic reader panicked", e))??;
        let (syncs, requests) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let tail = Tail {
            syncs,
            stop: stop.clone(),
        };
        let tail_topic = topic.to_string();
        std::thread::Builder::new()
            .name(format!("tail-{topic}"))
            .spawn(move || follow(consumer, tail_topic, next, sink, requests, stop))
            .map_err(|e| Error::with_source(ErrorKind::Io, "cannot start the topic reader", e))?;
        let log = KafkaLog {
            topic: topic.to_string(),
            producer: clients.producer,
        };
        Ok((log, records, tail))
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one record (`None`: a tombstone) and waits until the broker acknowledges it.
    pub async fn send(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        self.write(key, value).await.map(|_| ())
    }

    /// Like [`KafkaLog::send`], returning where the record landed.
    pub async fn write(&self, key: &str, value: Option<&[u8]>) -> Result<Position> {
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        let delivery = self
            .producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| kafka_error(e, format!("cannot write to {}", self.topic)))?;
        Ok(Position {
            partition: delivery.partition,
            offset: delivery.offset,
        })
    }
}

/// Creates the topic when absent and the producer and reader for it.
async fn connect(
    worker: &WorkerConfig,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
) -> Result<Clients> {
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
            // A tail should see other workers' writes promptly.
            ("fetch.wait.max.ms", "100"),
        ],
        &Default::default(),
    )
    .set(
        "group.id",
        format!("sluice-log-reader-{}", std::process::id()),
    )
    .create()
    .map_err(|e| kafka_error(e, format!("cannot create the reader for {topic}")))?;
    Ok(Clients { producer, consumer })
}

/// The topic's partitions and their (low, high) watermarks.
fn watermarks(consumer: &BaseConsumer, topic: &str) -> Result<Vec<(i32, i64, i64)>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .map_err(|e| kafka_error(e, format!("cannot read metadata of {topic}")))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    partitions
        .into_iter()
        .map(|partition| {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(30))
                .map_err(|e| kafka_error(e, format!("cannot read the end of {topic}")))?;
            Ok((partition, low, high))
        })
        .collect()
}

/// Reads the topic from its beginning to its end. With `assign_all`, every partition stays
/// assigned (empty ones too) so the consumer can go on tailing. Returns the records and the
/// next offset of every partition.
fn read_to_end(
    consumer: &BaseConsumer,
    topic: &str,
    assign_all: bool,
) -> Result<(Vec<TailRecord>, BTreeMap<i32, i64>)> {
    let deadline = Instant::now() + READ_TO_END_TIMEOUT;
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for (partition, low, high) in watermarks(consumer, topic)? {
        next.insert(partition, low);
        if high > low {
            remaining.insert(partition, high);
        }
        if high > low || assign_all {
            assignment
                .add_partition_offset(topic, partition, Offset::Beginning)
                .map_err(|e| kafka_error(e, "bad assignment"))?;
        }
    }
    let mut records = Vec::new();
    if assignment.count() == 0 {
        return Ok((records, next));
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
        let position = next.entry(message.partition()).or_insert(0);
        *position = (*position).max(message.offset() + 1);
        match message.key() {
            Some(key) => records.push(TailRecord {
                partition: message.partition(),
                offset: message.offset(),
                key: key.to_vec(),
                value: message.payload().map(<[u8]>::to_vec),
            }),
            None => tracing::warn!(
                message = "skipping a record without a key",
                topic,
                offset = message.offset()
            ),
        }
    }
    Ok((records, next))
}

type SyncReply = tokio::sync::oneshot::Sender<Result<BTreeMap<i32, i64>>>;

/// The tail thread: hands new records to `sink` and answers sync requests.
fn follow(
    consumer: BaseConsumer,
    topic: String,
    mut next: BTreeMap<i32, i64>,
    mut sink: TailSink,
    requests: std::sync::mpsc::Receiver<SyncReply>,
    stop: Arc<AtomicBool>,
) {
    // Sync requests waiting for the reader to reach these ends.
    let mut waiting: Vec<(SyncReply, BTreeMap<i32, i64>, Instant)> = Vec::new();
    let mut last_error: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        loop {
            match requests.try_recv() {
                Ok(reply) => match watermarks(&consumer, &topic) {
                    Ok(ends) => {
                        let ends = ends.into_iter().map(|(p, _, high)| (p, high)).collect();
                        waiting.push((reply, ends, Instant::now() + READ_TO_END_TIMEOUT));
                    }
                    Err(error) => {
                        let _ = reply.send(Err(error));
                    }
                },
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            }
        }
        let mut batch = Vec::new();
        let mut timeout = Duration::from_millis(100);
        while batch.len() < TAIL_BATCH {
            match consumer.poll(timeout) {
                None => break,
                Some(Err(error)) => {
                    if last_error.is_none_or(|at| at.elapsed() > Duration::from_secs(30)) {
                        tracing::warn!(message = "cannot read an internal topic", topic = %topic, error = %error);
                        last_error = Some(Instant::now());
                    }
                    break;
                }
                Some(Ok(message)) => {
                    let position = next.entry(message.partition()).or_insert(0);
                    *position = (*position).max(message.offset() + 1);
                    if let Some(key) = message.key() {
                        batch.push(TailRecord {
                            partition: message.partition(),
                            offset: message.offset(),
                            key: key.to_vec(),
                            value: message.payload().map(<[u8]>::to_vec),
                        });
                    }
                }
            }
            timeout = Duration::ZERO;
        }
        if !batch.is_empty() {
            sink(batch);
        }
        // Answer the sync requests whose ends were reached (or that timed out).
        let (done, pending): (Vec<_>, Vec<_>) =
            std::mem::take(&mut waiting)
                .into_iter()
                .partition(|(_, ends, deadline)| {
                    ends.iter()
                        .all(|(p, high)| next.get(p).copied().unwrap_or(0) >= *high)
                        || Instant::now() >= *deadline
                });
        waiting = pending;
        for (reply, ends, _) in done {
            let caught_up = ends
                .iter()
                .all(|(p, high)| next.get(p).copied().unwrap_or(0) >= *high);
            let _ = reply.send(if caught_up {
                Ok(next.clone())
            } else {
                Err(Error::new(
                    ErrorKind::Kafka,
                    format!("timed out reading {topic} to its end"),
                ))
            });
        }
    }
}
