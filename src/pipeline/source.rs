//! The source pipeline.
//!
//! ```text
//!  reader thread ──batches──▶ encoder thread ──records──▶ producer thread ──▶ librdkafka
//!  (task.poll())   bounded     (JsonConverter)  bounded     (send, no wait)       │
//!                                                                              delivery
//!  offset committer ◀──────────── acks (one per batch, when all its records are) ─┘
//!  (in order; flushes positions to the offsets topic every offset.flush.interval.ms)
//! ```
//!
//! Each encoded unit carries a sequence number. The committer advances only over a contiguous
//! run of fully acknowledged units, so a stored position never covers a record Kafka has not
//! acknowledged (at-least-once). The reader thread owns a current-thread tokio runtime: its
//! blocking queue send is the backpressure, and blocks nothing else.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded};
use rdkafka::ClientContext;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use serde_json::Value as Json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::connector::{SourceTask, SourceTaskContext};
use crate::convert::Role;
use crate::convert::json::encode::JsonEncoder;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::admin::{TopicSpec, ensure_topic};
use crate::kafka::{ClientRole, client_config, kafka_error};
use crate::metrics as m;
use crate::model::{SourceBatch, SourcePosition};
use crate::offsets::OffsetStore;
use crate::pipeline::record::{OutRecord, RecordStageConfig};
use crate::retry::RetryPolicy;

/// A transient read failure is retried after 100 ms, doubling up to 30 s, for as long as the
/// task runs (the reader reconnects itself); a successful read starts over.
const READ_RETRY: RetryPolicy =
    RetryPolicy::exponential(Duration::from_millis(100), Duration::from_secs(30));

/// Batches each queue holds before its producer side blocks.
pub const QUEUE_CAPACITY_BATCHES: usize = 4;

/// Everything a source pipeline needs besides the task.
#[derive(Clone)]
pub struct SourcePipeline {
    pub connector: Arc<str>,
    pub task_id: u32,
    pub worker: Arc<WorkerConfig>,
    pub offsets: Arc<dyn OffsetStore>,
    /// Connector-level `producer.override.*` settings.
    pub producer_overrides: BTreeMap<String, String>,
    /// Partitions and replication factor for topics the pipeline creates (-1: broker default).
    pub topic_partitions: i32,
    pub topic_replication: i32,
    /// The connector's transformations and converters.
    pub(crate) record_stage: RecordStageConfig,
    /// `errors.tolerance=all`: a record the record stage fails on is logged and skipped.
    pub tolerate_errors: bool,
}

struct Sequenced<T> {
    seq: u64,
    item: T,
}

/// A batch ready to produce, with the position reached after it.
struct EncodedBatch {
    payload: Payload,
    position: SourcePosition,
}

/// A batch's records.
enum Payload {
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
    Records(Vec<OutRecord>),
}

impl Payload {
    fn len(&self) -> usize {
        match self {
            Payload::Rows { ends, .. } => ends.len(),
            Payload::Records(records) => records.len(),
        }
    }

    /// Value bytes, for the bytes-produced metric.
    fn value_bytes(&self) -> usize {
        match self {
            Payload::Rows { buf, .. } => buf.len(),
            Payload::Records(records) => records
                .iter()
                .map(|r| r.value.as_ref().map_or(0, Vec::len))
                .sum(),
        }
    }
}

/// One batch's acknowledgement state, shared by its records' delivery callbacks.
struct BatchAck {
    seq: u64,
    remaining: AtomicUsize,
    error: Mutex<Option<KafkaError>>,
    position: SourcePosition,
    records: usize,
}

struct Acked {
    seq: u64,
    position: SourcePosition,
    records: usize,
    error: Option<KafkaError>,
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
        error,
    });
}

/// The first failure of any stage; later ones are dropped.
#[derive(Clone, Default)]
struct Failure(Arc<Mutex<Option<Error>>>);

impl Failure {
    fn set(&self, error: Error, cancel: &CancellationToken) {
        let mut slot = self.0.lock().expect("failure lock");
        if slot.is_none() {
            *slot = Some(error);
        }
        cancel.cancel();
    }

    fn take(&self) -> Option<Error> {
        self.0.lock().expect("failure lock").take()
    }
}

impl SourcePipeline {
    /// Runs `task` until `cancel` fires or a stage fails, then drains: the reader stops, queued
    /// batches are encoded and produced, acknowledged positions are stored. Returns the first
    /// failure, if any.
    pub async fn run(self, task: Box<dyn SourceTask>, cancel: CancellationToken) -> Result<()> {
        let failure = Failure::default();
        let (read_tx, read_rx) = bounded::<SourceBatch>(QUEUE_CAPACITY_BATCHES);
        let (encoded_tx, encoded_rx) = bounded::<Sequenced<EncodedBatch>>(QUEUE_CAPACITY_BATCHES);
        let (acks_tx, acks_rx) = mpsc::unbounded_channel::<Acked>();
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];

        let producer = self.producer(acks_tx.clone())?;
        let runtime = tokio::runtime::Handle::current();

        let reader = {
            let (cancel, failure, labels) = (cancel.clone(), failure.clone(), labels.clone());
            let offsets = self.offsets.clone();
            let name = format!("{}-{}-reader", self.connector, self.task_id);
            thread::Builder::new()
                .name(name)
                .spawn(move || reader_stage(task, offsets, read_tx, cancel, failure, labels))?
        };
        let encoder = {
            let (cancel, failure) = (cancel.clone(), failure.clone());
            let this = self.clone();
            thread::Builder::new()
                .name(format!("{}-{}-encoder", self.connector, self.task_id))
                .spawn(move || {
                    // The fast encoder writes keys with the value converter's settings.
                    let stage = &this.record_stage;
                    if stage.is_fast_json()
                        && stage.json_settings(Role::Key) == stage.json_settings(Role::Value)
                    {
                        encoder_stage(&this.record_stage, read_rx, encoded_tx, cancel, failure)
                    } else {
                        this.record_stage_thread(read_rx, encoded_tx, cancel, failure)
                    }
                })?
        };
        let producing = {
            let (cancel, failure, labels) = (cancel.clone(), failure.clone(), labels.clone());
            let this = self.clone();
            thread::Builder::new()
                .name(format!("{}-{}-producer", self.connector, self.task_id))
                .spawn(move || {
                    this.producer_stage(
                        producer, runtime, encoded_rx, acks_tx, cancel, failure, labels,
                    )
                })?
        };

        self.commit_stage(acks_rx, &cancel, &failure).await;
        for (name, handle) in [
            ("reader", reader),
            ("encoder", encoder),
            ("producer", producing),
        ] {
            if handle.join().is_err() {
                failure.set(
                    Error::internal(format!("the {name} stage panicked")),
                    &cancel,
                );
            }
        }
        match failure.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn producer(&self, acks: mpsc::UnboundedSender<Acked>) -> Result<ThreadedProducer<AckContext>> {
        let context = AckContext {
            acks,
            in_flight: Arc::new(AtomicUsize::new(0)),
        };
        client_config(
            &self.worker,
            ClientRole::Producer,
            &[
                ("acks", "all"),
                ("enable.idempotence", "true"),
                ("linger.ms", "5"),
                ("batch.num.messages", "10000"),
                ("batch.size", "1000000"),
                ("queue.buffering.max.messages", "50000"),
                ("queue.buffering.max.kbytes", "16384"),
                ("compression.type", "none"),
            ],
            &self.producer_overrides,
        )
        .create_with_context(context)
        .map_err(|e| kafka_error(e, "cannot create the Kafka producer"))
    }

    #[allow(clippy::too_many_arguments)]
    fn producer_stage(
        &self,
        producer: ThreadedProducer<AckContext>,
        runtime: tokio::runtime::Handle,
        encoded_rx: Receiver<Sequenced<EncodedBatch>>,
        acks: mpsc::UnboundedSender<Acked>,
        cancel: CancellationToken,
        failure: Failure,
        labels: [(&'static str, String); 2],
    ) {
        let mut created: HashSet<Arc<str>> = HashSet::new();
        let admin: Option<AdminClient<DefaultClientContext>> =
            client_config(&self.worker, ClientRole::Admin, &[], &Default::default())
                .create()
                .ok();
        let in_flight = producer.context().in_flight.clone();
        let queue_full = metrics::counter!(m::PRODUCER_QUEUE_FULL_TOTAL, &labels);
        let in_flight_gauge = metrics::gauge!(m::PRODUCER_IN_FLIGHT, &labels);
        let depth = metrics::gauge!(
            m::PIPELINE_QUEUE_DEPTH,
            m::LABEL_CONNECTOR => labels[0].1.clone(),
            m::LABEL_TASK => labels[1].1.clone(),
            m::LABEL_STAGE => m::STAGE_PRODUCER
        );
        let mut bytes = m::ByLabel::new(labels, m::LABEL_TABLE, |l| {
            metrics::counter!(m::SOURCE_BYTES_TOTAL, l)
        });
        for Sequenced { seq, item: batch } in &encoded_rx {
            depth.set(encoded_rx.len() as f64);
            let records = batch.payload.len();
            let ack = Arc::new(BatchAck {
                seq,
                remaining: AtomicUsize::new(records),
                error: Mutex::new(None),
                position: batch.position,
                records,
            });
            if records == 0 {
                complete(&acks, &ack);
                continue;
            }
            bytes
                .get(m::source_table(&ack.position.partition))
                .increment(batch.payload.value_bytes() as u64);
            let mut ensure = |topic: &Arc<str>| {
                if created.contains(topic) {
                    return;
                }
                if let Some(admin) = &admin {
                    let spec = TopicSpec {
                        name: topic,
                        partitions: self.topic_partitions,
                        replication_factor: self.topic_replication,
                        configs: &[],
                    };
                    if let Err(error) = runtime.block_on(ensure_topic(admin, &spec)) {
                        tracing::warn!(message = "could not create topic; relying on broker auto-creation", topic = %topic, %error);
                    }
                }
                created.insert(topic.clone());
            };
            let send = |record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>>| -> bool {
                let mut record = record;
                in_flight.fetch_add(1, Ordering::Relaxed);
                loop {
                    match producer.send(record) {
                        Ok(()) => return true,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                            record = back;
                            queue_full.increment(1);
                            thread::sleep(Duration::from_millis(2));
                        }
                        Err((error, back)) => {
                            in_flight.fetch_sub(1, Ordering::Relaxed);
                            failure.set(
                                kafka_error(error, format!("cannot produce to {}", back.topic)),
                                &cancel,
                            );
                            return false;
                        }
                    }
                }
            };
            let sent_all = match &batch.payload {
                Payload::Rows {
                    topic,
                    buf,
                    ends,
                    keys,
                    nulls,
                } => {
                    ensure(topic);
                    let mut start = 0;
                    let mut key_start = 0;
                    ends.iter().enumerate().all(|(i, &end)| {
                        let payload = &buf[start..end];
                        start = end;
                        let mut record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>> =
                            BaseRecord::with_opaque_to(topic, ack.clone());
                        if nulls.get(i) != Some(&true) {
                            record = record.payload(payload);
                        }
                        if let Some((keys, key_ends)) = keys {
                            let key_end = key_ends[i];
                            record = record.key(&keys[key_start..key_end]);
                            key_start = key_end;
                        }
                        send(record)
                    })
                }
                Payload::Records(records) => {
                    for record in records {
                        ensure(&record.topic);
                    }
                    records.iter().all(|out| {
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
                        send(record)
                    })
                }
            };
            if !sent_all {
                // The batch can never complete: stop here so no later position is stored.
                drop(producer);
                return;
            }
            in_flight_gauge.set(in_flight.load(Ordering::Relaxed) as f64);
        }
        if let Err(error) = producer.flush(Duration::from_secs(60)) {
            failure.set(
                kafka_error(error, "cannot flush the Kafka producer"),
                &cancel,
            );
        }
        in_flight_gauge.set(0.0);
        depth.set(0.0);
    }

    /// Receives acknowledgements, advances the contiguous acknowledged position per source
    /// partition, and flushes positions every `offset.flush.interval.ms` and at the end.
    async fn commit_stage(
        &self,
        mut acks: mpsc::UnboundedReceiver<Acked>,
        cancel: &CancellationToken,
        failure: &Failure,
    ) {
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];
        let failed_records = metrics::counter!(m::SOURCE_RECORDS_FAILED_TOTAL, &labels);
        let mut written = m::ByLabel::new(labels, m::LABEL_TABLE, |l| {
            metrics::counter!(m::SOURCE_RECORDS_WRITTEN_TOTAL, l)
        });
        let mut next_seq = 0u64;
        let mut pending: BTreeMap<u64, Acked> = BTreeMap::new();
        let mut latest: Vec<(Json, Json)> = Vec::new();
        let mut dirty = false;
        let mut failed = false;
        let interval = Duration::from_millis(self.worker.offset_flush_interval_ms.max(1));
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                ack = acks.recv() => {
                    let Some(ack) = ack else { break };
                    pending.insert(ack.seq, ack);
                    while let Some(ack) = pending.remove(&next_seq) {
                        next_seq += 1;
                        if ack.error.is_some() {
                            failed_records.increment(ack.records as u64);
                        }
                        if failed {
                            continue;
                        }
                        if let Some(error) = ack.error {
                            failed = true;
                            failure.set(kafka_error(error, "Kafka did not acknowledge a record"), cancel);
                            continue;
                        }
                        written
                            .get(m::source_table(&ack.position.partition))
                            .increment(ack.records as u64);
                        if ack.position.offset.is_null() {
                            continue;
                        }
                        match latest.iter_mut().find(|(p, _)| *p == ack.position.partition) {
                            Some(entry) => entry.1 = ack.position.offset,
                            None => latest.push((ack.position.partition, ack.position.offset)),
                        }
                        dirty = true;
                    }
                }
                _ = ticker.tick() => {
                    if dirty {
                        dirty = !self.flush_offsets(&latest, cancel, failure).await;
                    }
                }
            }
        }
        if dirty {
            self.flush_offsets(&latest, cancel, failure).await;
        }
    }

    /// The record stage (transformations, converters) in place of the JSON fast path: each
    /// batch's rows become records, run through the chain and the converters, in order. A
    /// record that fails is logged and skipped with `errors.tolerance=all` (Connect's source
    /// tasks have no dead-letter topic); otherwise the task fails naming the record.
    fn record_stage_thread(
        &self,
        read_rx: Receiver<SourceBatch>,
        encoded_tx: Sender<Sequenced<EncodedBatch>>,
        cancel: CancellationToken,
        failure: Failure,
    ) {
        let mut stage = match self.record_stage.build() {
            Ok(stage) => stage,
            Err(error) => return failure.set(error, &cancel),
        };
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];
        let skipped = metrics::counter!(m::SOURCE_RECORDS_SKIPPED_TOTAL, &labels);
        for (seq, batch) in read_rx.iter().enumerate() {
            let mut records = Vec::with_capacity(batch.len());
            let result = stage.source_batch(&batch, &mut records, |row, failed| {
                let error = Error::with_source(
                    ErrorKind::Conversion,
                    format!(
                        "Tolerance exceeded in error handler: stage {} ({}) failed on row {} of a batch for topic {} (source partition {}, batch position {})",
                        failed.stage.as_str(),
                        failed.class,
                        row,
                        batch.topic,
                        batch.position.partition,
                        batch.position.offset
                    ),
                    failed.error,
                );
                if !self.tolerate_errors {
                    return Err(error);
                }
                skipped.increment(1);
                tracing::warn!(message = "record failed; skipped (errors.tolerance=all)", connector = %self.connector, task = self.task_id, error = %error.trace());
                Ok(())
            });
            if let Err(error) = result {
                return failure.set(error, &cancel);
            }
            let encoded = EncodedBatch {
                payload: Payload::Records(records),
                position: batch.position,
            };
            if encoded_tx
                .send(Sequenced {
                    seq: seq as u64,
                    item: encoded,
                })
                .is_err()
            {
                return;
            }
        }
    }

    async fn flush_offsets(
        &self,
        latest: &[(Json, Json)],
        cancel: &CancellationToken,
        failure: &Failure,
    ) -> bool {
        let started = Instant::now();
        let entries: Vec<(Json, Option<Json>)> = latest
            .iter()
            .map(|(p, o)| (p.clone(), Some(o.clone())))
            .collect();
        let timeout = Duration::from_millis(self.worker.offset_flush_timeout_ms.max(1000));
        let result =
            tokio::time::timeout(timeout, self.offsets.put(&self.connector, &entries)).await;
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];
        match result {
            Ok(Ok(())) => {
                metrics::counter!(m::OFFSET_COMMITS_TOTAL, &labels).increment(1);
                metrics::histogram!(m::OFFSET_COMMIT_SECONDS, &labels)
                    .record(started.elapsed().as_secs_f64());
                tracing::debug!(message = "flushed source offsets", connector = %self.connector, task = self.task_id, partitions = entries.len());
                true
            }
            Ok(Err(error)) => {
                tracing::warn!(message = "offset flush failed; will retry", connector = %self.connector, %error);
                if !error.is_transient() {
                    failure.set(error, cancel);
                }
                false
            }
            Err(_) => {
                tracing::warn!(message = "offset flush timed out; will retry", connector = %self.connector, timeout_ms = timeout.as_millis() as u64);
                false
            }
        }
    }
}

fn reader_stage(
    mut task: Box<dyn SourceTask>,
    offsets: Arc<dyn OffsetStore>,
    read_tx: Sender<SourceBatch>,
    cancel: CancellationToken,
    failure: Failure,
    labels: [(&'static str, String); 2],
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            failure.set(error.into(), &cancel);
            return;
        }
    };
    let depth = metrics::gauge!(
        m::PIPELINE_QUEUE_DEPTH,
        m::LABEL_CONNECTOR => labels[0].1.clone(),
        m::LABEL_TASK => labels[1].1.clone(),
        m::LABEL_STAGE => m::STAGE_ENCODER
    );
    let mut tables = m::ByLabel::new(labels, m::LABEL_TABLE, |l| {
        (
            metrics::counter!(m::SOURCE_RECORDS_READ_TOTAL, l),
            metrics::histogram!(m::SOURCE_BATCH_ROWS, l),
            metrics::gauge!(m::SOURCE_LAST_READ_TIMESTAMP_SECONDS, l),
        )
    });
    runtime.block_on(async {
        let context = SourceTaskContext { offsets: offsets.clone() };
        let started = tokio::select! {
            _ = cancel.cancelled() => Ok(false),
            result = task.start(context) => result.map(|_| true),
        };
        match started {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                failure.set(error, &cancel);
                return;
            }
        }
        let mut backoff = READ_RETRY.backoff();
        'poll: loop {
            let polled = tokio::select! {
                _ = cancel.cancelled() => break,
                polled = task.poll() => polled,
            };
            match polled {
                Ok(Some(batch)) => {
                    backoff.reset();
                    let (rows, batch_rows, last_read) =
                        tables.get(m::source_table(&batch.position.partition));
                    rows.increment(batch.len() as u64);
                    batch_rows.record(batch.len() as f64);
                    if !batch.is_empty() {
                        last_read.set(std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs_f64())
                            .unwrap_or_default());
                    }
                    let mut item = batch;
                    loop {
                        match read_tx.send_timeout(item, Duration::from_millis(100)) {
                            Ok(()) => break,
                            Err(SendTimeoutError::Timeout(back)) => {
                                if cancel.is_cancelled() {
                                    break 'poll;
                                }
                                item = back;
                            }
                            Err(SendTimeoutError::Disconnected(_)) => break 'poll,
                        }
                    }
                    depth.set(read_tx.len() as f64);
                }
                Ok(None) => {}
                Err(error) if error.is_transient() => {
                    let delay = backoff.next_delay().unwrap_or(READ_RETRY.max_delay);
                    tracing::warn!(message = "source read failed; retrying", error = %format!("{error:#}"), retry = backoff.retries(), delay_ms = delay.as_millis() as u64);
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Err(error) => {
                    failure.set(error, &cancel);
                    break;
                }
            }
        }
        if let Err(error) = task.stop().await {
            tracing::warn!(message = "source task stop failed", %error);
        }
    });
}

/// Encoded bytes one produce unit may reach by coalescing queued batches of the same topic.
pub const COALESCE_MAX_BYTES: usize = 1 << 20;

/// Encodes batches in order. Batches already waiting in the queue for the same topic are
/// coalesced into one unit (up to [`COALESCE_MAX_BYTES`]) carrying the last one's position, so
/// small `batch.max.rows` batches do not each pay the per-batch costs downstream. Output units
/// are renumbered in order for the committer.
fn encoder_stage(
    record_stage: &RecordStageConfig,
    read_rx: Receiver<SourceBatch>,
    encoded_tx: Sender<Sequenced<EncodedBatch>>,
    cancel: CancellationToken,
    failure: Failure,
) {
    let (schemas_enable, decimal_numeric) = record_stage.json_settings(Role::Value);
    let mut encoder = JsonEncoder::new(schemas_enable, decimal_numeric);
    let mut capacity = 0usize;
    let mut seq = 0u64;
    let mut held: Option<SourceBatch> = None;
    loop {
        let first = match held.take() {
            Some(batch) => batch,
            None => match read_rx.recv() {
                Ok(batch) => batch,
                Err(_) => return,
            },
        };
        let mut buf = Vec::with_capacity(capacity);
        let mut ends = Vec::with_capacity(first.len());
        let mut keys: Option<(Vec<u8>, Vec<usize>)> =
            first.keys.as_ref().map(|_| (Vec::new(), Vec::new()));
        let mut nulls: Vec<bool> = Vec::new();
        let topic = first.topic.clone();
        let mut position = first.position.clone();
        let mut next = Some(first);
        while let Some(batch) = next.take() {
            let records_before = ends.len();
            let keyed = match (&mut keys, &batch.keys) {
                (Some((key_buf, key_ends)), Some(batch_keys)) => {
                    encoder.encode_keys(batch_keys, key_buf, key_ends)
                }
                _ => Ok(()),
            };
            if let Err(error) =
                keyed.and_then(|()| encoder.encode_batch(&batch, &mut buf, &mut ends))
            {
                failure.set(
                    Error::with_source(
                        ErrorKind::Conversion,
                        format!("cannot encode a record for topic {}", batch.topic),
                        error,
                    ),
                    &cancel,
                );
                return;
            }
            if !batch.tombstones.is_empty() || !nulls.is_empty() {
                nulls.resize(records_before, false);
                nulls.extend(
                    (0..ends.len() - records_before)
                        .map(|i| batch.tombstones.get(i).copied().unwrap_or(false)),
                );
            }
            // A batch without a position (bulk mode, an incomplete timestamp group) must not
            // hide the position of one coalesced before it.
            if !batch.position.offset.is_null() {
                position = batch.position;
            }
            if buf.len() >= COALESCE_MAX_BYTES {
                break;
            }
            match read_rx.try_recv() {
                Ok(batch) if batch.topic == topic && batch.keys.is_some() == keys.is_some() => {
                    next = Some(batch)
                }
                Ok(batch) => held = Some(batch),
                Err(_) => {}
            }
            if held.is_some() {
                break;
            }
        }
        capacity = capacity.max(buf.len()).min(2 * COALESCE_MAX_BYTES);
        let encoded = EncodedBatch {
            payload: Payload::Rows {
                topic,
                buf,
                ends,
                keys,
                nulls,
            },
            position,
        };
        if encoded_tx.send(Sequenced { seq, item: encoded }).is_err() {
            return;
        }
        seq += 1;
    }
}
