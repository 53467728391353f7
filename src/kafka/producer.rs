//! The source side's Kafka: a producer that takes whole batches and acknowledges each batch
//! once, as a whole, when Kafka has acknowledged every one of its records (or failed one).
//!
//! The source pipeline sees it through [`BatchProducer`], so it can be driven by an in-memory
//! fake in its unit tests. Acknowledgements arrive, in any order, on the channel the producer
//! was created with; the pipeline's committer puts them back in order.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::mpsc;

use super::admin::{TopicSpec, ensure_topic};
use super::{ClientRole, client_config, kafka_error};
use crate::config::WorkerConfig;
use crate::config::topic_creation::TopicCreation;
use crate::error::{Error, ErrorKind, Result};
use crate::model::SourcePosition;

/// A record ready for the producer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProducerRecord {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
    pub(crate) timestamp: Option<i64>,
}

/// A batch's records.
pub(crate) enum Payload {
    /// The fast path: every record to one topic, values back to back in one buffer.
    Rows {
        topic: Arc<str>,
        buf: Vec<u8>,
        /// End offset of each record in `buf`.
        ends: Vec<usize>,
        /// Record keys and their end offsets, when the source writes keys.
        keys: Option<(Vec<u8>, Vec<usize>)>,
        /// Records whose value is null (tombstones); empty when there are none.
        nulls: Vec<bool>,
    },
    /// The record stage's output: each record with its own topic, key and headers.
    Records(Vec<ProducerRecord>),
}

impl Payload {
    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Rows { ends, .. } => ends.len(),
            Payload::Records(records) => records.len(),
        }
    }

    /// Memory the payload holds, its buffers' spare room included: what it costs the budget.
    pub(crate) fn heap_bytes(&self) -> usize {
        const OFFSET: usize = std::mem::size_of::<usize>();
        match self {
            Payload::Rows {
                buf,
                ends,
                keys,
                nulls,
                ..
            } => {
                buf.capacity()
                    + ends.capacity() * OFFSET
                    + keys
                        .as_ref()
                        .map_or(0, |(keys, ends)| keys.capacity() + ends.capacity() * OFFSET)
                    + nulls.capacity()
            }
            Payload::Records(records) => {
                records.capacity() * std::mem::size_of::<ProducerRecord>()
                    + records
                        .iter()
                        .map(|r| {
                            r.key.as_ref().map_or(0, Vec::capacity)
                                + r.value.as_ref().map_or(0, Vec::capacity)
                                + r.headers
                                    .iter()
                                    .map(|(k, v)| {
                                        k.capacity() + v.as_ref().map_or(0, Vec::capacity)
                                    })
                                    .sum::<usize>()
                        })
                        .sum::<usize>()
            }
        }
    }

    /// Value bytes, for the bytes-produced metric.
    pub(crate) fn value_bytes(&self) -> usize {
        match self {
            Payload::Rows { buf, .. } => buf.len(),
            Payload::Records(records) => records
                .iter()
                .map(|r| r.value.as_ref().map_or(0, Vec::len))
                .sum(),
        }
    }
}

/// A batch acknowledged by Kafka: every record, or with the first error.
pub(crate) struct Acked {
    pub(crate) seq: u64,
    pub(crate) position: SourcePosition,
    pub(crate) records: usize,
    pub(crate) error: Option<Error>,
}

/// Produces batches.
pub(crate) trait BatchProducer: Send {
    /// Queues every record of `payload`, waiting while the client's queue is full; its
    /// [`Acked`] (carrying `seq` and `position`) follows on the acknowledgement channel. An
    /// error means the batch can never be acknowledged: the caller stops producing.
    fn send(&mut self, seq: u64, payload: &Payload, position: SourcePosition) -> Result<()>;

    /// Records queued and not yet acknowledged.
    fn in_flight(&self) -> usize;

    /// Waits until every queued record is acknowledged.
    fn flush(&mut self) -> Result<()>;
}

/// One batch's acknowledgement state, shared by its records' delivery callbacks.
struct BatchAck {
    seq: u64,
    remaining: AtomicUsize,
    error: Mutex<Option<KafkaError>>,
    position: SourcePosition,
    records: usize,
}

struct AckContext {
    acks: mpsc::UnboundedSender<Acked>,
    in_flight: Arc<AtomicUsize>,
}

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Arc<BatchAck>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Self::DeliveryOpaque) {
        if let Err((error, _)) = result {
            let mut slot = ack.error.lock().expect("ack lock");
            slot.get_or_insert_with(|| error.clone());
        }
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if ack.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            complete(&self.acks, &ack);
        }
    }
}

fn complete(acks: &mpsc::UnboundedSender<Acked>, ack: &BatchAck) {
    let error = ack.error.lock().expect("ack lock").take();
    let _ = acks.send(Acked {
        seq: ack.seq,
        position: ack.position.clone(),
        records: ack.records,
        error: error.map(|e| kafka_error(e, "Kafka did not acknowledge a record")),
    });
}

/// librdkafka's producer: idempotent, `acks=all`, batching for throughput. With the connector's
/// topic creation settings, a missing topic is created before its first record (a failure fails
/// the task, as in Connect).
pub(crate) struct KafkaProducer {
    producer: ThreadedProducer<AckContext>,
    admin: Option<AdminClient<DefaultClientContext>>,
    runtime: tokio::runtime::Handle,
    topic_creation: Option<TopicCreation>,
    created: HashSet<Arc<str>>,
    queue_full: metrics::Counter,
}

impl KafkaProducer {
    /// `overrides` are the connector's `producer.override.*`; `queue_bytes` sizes librdkafka's
    /// queue (`queue.buffering.max.kbytes`, 1–16 MiB, unless set); `queue_full` counts waits on
    /// a full client queue; `runtime` runs topic creation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        worker: &WorkerConfig,
        overrides: &std::collections::BTreeMap<String, String>,
        queue_bytes: usize,
        acks: mpsc::UnboundedSender<Acked>,
        topic_creation: Option<TopicCreation>,
        queue_full: metrics::Counter,
        runtime: tokio::runtime::Handle,
    ) -> Result<KafkaProducer> {
        let context = AckContext {
            acks,
            in_flight: Arc::new(AtomicUsize::new(0)),
        };
        let queue_kbytes = (queue_bytes / 1024).clamp(1024, 16384).to_string();
        let producer = client_config(
            worker,
            ClientRole::Producer,
            &[
                ("acks", "all"),
                ("enable.idempotence", "true"),
                // Connect's own worker default (`Worker::baseProducerConfigs`). With more in
                // flight, librdkafka's idempotent producer polls its socket without waiting
                // while a request is outstanding: a million `poll` calls per 200k wide rows,
                // a third of the process's CPU.
                ("max.in.flight.requests.per.connection", "1"),
                ("linger.ms", "5"),
                ("batch.num.messages", "10000"),
                ("batch.size", "1000000"),
                ("queue.buffering.max.messages", "50000"),
                ("queue.buffering.max.kbytes", queue_kbytes.as_str()),
                ("compression.type", "none"),
                // librdkafka already holds its own copy of each message (rust-rdkafka produces
                // with RD_KAFKA_MSG_F_COPY); by reference, the produce request does not copy it
                // a second time. Wide rows: 6.3-7.0 CPU-s per million against 6.7-8.0; users
                // unchanged (BENCHMARKS.md).
                ("message.copy.max.bytes", "0"),
            ],
            overrides,
        )
        .create_with_context(context)
        .map_err(|e| kafka_error(e, "cannot create the Kafka producer"))?;
        // Only to describe and create topics: its metadata requests must not auto-create one.
        let admin = match topic_creation {
            Some(_) => Some(
                client_config(
                    worker,
                    ClientRole::Admin,
                    &[("allow.auto.create.topics", "false")],
                    &Default::default(),
                )
                .create()
                .map_err(|e| kafka_error(e, "cannot create the Kafka admin client"))?,
            ),
            None => None,
        };
        Ok(KafkaProducer {
            producer,
            admin,
            runtime,
            topic_creation,
            created: HashSet::new(),
            queue_full,
        })
    }

    /// Creates `topic` with the connector's topic creation settings unless it exists (Connect's
    /// `maybeCreateTopic`: described first, so an existing topic needs no CREATE permission).
    /// Without topic creation the broker's auto-creation makes the topic, as with Connect.
    fn ensure_topic(&mut self, topic: &Arc<str>) -> Result<()> {
        if self.created.contains(topic) {
            return Ok(());
        }
        let (Some(creation), Some(admin)) = (&self.topic_creation, &self.admin) else {
            return Ok(());
        };
        let exists = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(30))
            .map(|metadata| {
                metadata
                    .topics()
                    .iter()
                    .any(|t| t.name() == &**topic && t.error().is_none())
            })
            .unwrap_or(false);
        if !exists {
            let settings = creation.settings_for(topic);
            let configs: Vec<(&str, &str)> = settings
                .configs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let spec = TopicSpec {
                name: topic,
                partitions: settings.partitions,
                replication_factor: i32::from(settings.replication_factor),
                configs: &configs,
            };
            if let Err(error) = self.runtime.block_on(ensure_topic(admin, &spec)) {
                return Err(Error::new(
                    ErrorKind::Kafka,
                    format!(
                        "Task failed to create new topic {topic} (partitions {}, replication \
                         factor {}): {error}. Ensure that the task is authorized to create topics \
                         or that the topic exists and restart the task",
                        settings.partitions, settings.replication_factor
                    ),
                ));
            }
        }
        self.created.insert(topic.clone());
        Ok(())
    }

    /// Queues one record, waiting while the queue is full.
    fn send_one(&self, record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>>) -> Result<()> {
        let in_flight = &self.producer.context().in_flight;
        let mut record = record;
        in_flight.fetch_add(1, Ordering::Relaxed);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.queue_full.increment(1);
                    thread::sleep(Duration::from_millis(2));
                }
                Err((error, back)) => {
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    return Err(kafka_error(
                        error,
                        format!("cannot produce to {}", back.topic),
                    ));
                }
            }
        }
    }
}

impl BatchProducer for KafkaProducer {
    fn send(&mut self, seq: u64, payload: &Payload, position: SourcePosition) -> Result<()> {
        let records = payload.len();
        let ack = Arc::new(BatchAck {
            seq,
            remaining: AtomicUsize::new(records),
            error: Mutex::new(None),
            position,
            records,
        });
        if records == 0 {
            complete(&self.producer.context().acks, &ack);
            return Ok(());
        }
        match payload {
            Payload::Rows {
                topic,
                buf,
                ends,
                keys,
                nulls,
            } => {
                self.ensure_topic(topic)?;
                let mut start = 0;
                let mut key_start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    let value = &buf[start..end];
                    start = end;
                    let mut record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>> =
                        BaseRecord::with_opaque_to(topic, ack.clone());
                    if nulls.get(i) != Some(&true) {
                        record = record.payload(value);
                    }
                    if let Some((keys, key_ends)) = keys {
                        let key_end = key_ends[i];
                        record = record.key(&keys[key_start..key_end]);
                        key_start = key_end;
                    }
                    self.send_one(record)?;
                }
            }
            Payload::Records(records) => {
                for record in records {
                    self.ensure_topic(&record.topic)?;
                }
                for out in records {
                    let mut record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>> =
                        BaseRecord::with_opaque_to(&out.topic, ack.clone());
                    if let Some(value) = &out.value {
                        record = record.payload(value.as_slice());
                    }
                    if let Some(key) = &out.key {
                        record = record.key(key.as_slice());
                    }
                    if let Some(partition) = out.partition {
                        record = record.partition(partition);
                    }
                    if let Some(timestamp) = out.timestamp {
                        record = record.timestamp(timestamp);
                    }
                    if !out.headers.is_empty() {
                        let mut headers = OwnedHeaders::new_with_capacity(out.headers.len());
                        for (key, value) in &out.headers {
                            headers = headers.insert(Header {
                                key,
                                value: value.as_deref(),
                            });
                        }
                        record = record.headers(headers);
                    }
                    self.send_one(record)?;
                }
            }
        }
        Ok(())
    }

    fn in_flight(&self) -> usize {
        self.producer.context().in_flight.load(Ordering::Relaxed)
    }

    fn flush(&mut self) -> Result<()> {
        self.producer
            .flush(Duration::from_secs(60))
            .map_err(|error| kafka_error(error, "cannot flush the Kafka producer"))
    }
}
