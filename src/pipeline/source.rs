//! The source pipeline.
//!
//! ```text
//!  reader thread ──batches──▶ encoder thread ──records──▶ producer thread ──▶ BatchProducer
//!  (task.poll())   bounded     (JsonConverter)  bounded     (send, no wait)       │
//!                                                                              delivery
//!  offset committer ◀──────────── acks (one per batch, when all its records are) ─┘
//!  (in order; flushes positions to the offsets topic every offset.flush.interval.ms)
//! ```
//!
//! The producer is [`crate::kafka::producer`]'s [`BatchProducer`] (librdkafka in the daemon,
//! an in-memory fake in the unit tests). Each encoded unit carries a sequence number. The
//! committer advances only over a contiguous run of fully acknowledged units, so a stored
//! position never covers a record Kafka has not acknowledged (at-least-once). The reader thread owns a current-thread tokio runtime: its
//! blocking queue send is the backpressure, and blocks nothing else.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded};
use serde_json::Value as Json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::budget::{Reservation, Share, Spares};
use crate::config::WorkerConfig;
use crate::config::topic_creation::TopicCreation;
use crate::connector::{SourceTask, SourceTaskContext};
use crate::convert::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::producer::{Acked, BatchProducer, KafkaProducer, Payload};
use crate::metrics as m;
use crate::model::{SourceBatch, SourcePosition, Value};
use crate::offsets::OffsetStore;
use crate::pipeline::record::RecordStageConfig;
use crate::retry::RetryPolicy;

/// A transient read failure is retried after 100 ms, doubling up to 30 s, for as long as the
/// task runs (the reader reconnects itself); a successful read starts over.
const READ_RETRY: RetryPolicy =
    RetryPolicy::exponential(Duration::from_millis(100), Duration::from_secs(30));

/// librdkafka's producer queue (`queue.buffering.max.kbytes`) gets this fraction of the task's
/// share: it holds a copy of every message not yet acknowledged (BENCHMARKS.md, issue 22).
const PRODUCER_SHARE_FRACTION: usize = 8;

/// Batches each queue holds before its producer side blocks.
pub(crate) const QUEUE_CAPACITY_BATCHES: usize = 4;

/// Everything a source pipeline needs besides the task.
#[derive(Clone)]
pub(crate) struct SourcePipeline {
    pub(crate) connector: Arc<str>,
    pub(crate) task_id: u32,
    pub(crate) worker: Arc<WorkerConfig>,
    pub(crate) offsets: Arc<dyn OffsetStore>,
    /// Connector-level `producer.override.*` settings.
    pub(crate) producer_overrides: BTreeMap<String, String>,
    /// How the connector's topics are created (`topic.creation.*`); `None`: not by the task
    /// (the broker's auto-creation makes them).
    pub(crate) topic_creation: Option<TopicCreation>,
    /// The connector's transformations and converters.
    pub(crate) record_stage: RecordStageConfig,
    /// `errors.tolerance=all`: a record the record stage fails on is logged and skipped.
    pub(crate) tolerate_errors: bool,
    /// This task's share of the worker's memory budget.
    pub(crate) share: Share,
}

/// A batch read, with the memory it holds.
type Read = (SourceBatch, Reservation);

struct Sequenced<T> {
    seq: u64,
    item: T,
}

/// A batch ready to produce, with the position reached after it.
struct EncodedBatch {
    /// The memory it holds, released once the producer has taken it.
    reservation: Reservation,
    payload: Payload,
    position: SourcePosition,
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
    pub(crate) async fn run(
        self,
        task: Box<dyn SourceTask>,
        cancel: CancellationToken,
    ) -> Result<()> {
        let (acks_tx, acks_rx) = mpsc::unbounded_channel::<Acked>();
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];
        let producer = KafkaProducer::create(
            &self.worker,
            &self.producer_overrides,
            self.share.limit() / PRODUCER_SHARE_FRACTION,
            acks_tx,
            self.topic_creation.clone(),
            metrics::counter!(m::PRODUCER_QUEUE_FULL_TOTAL, &labels),
            tokio::runtime::Handle::current(),
        )?;
        self.drive(task, Box::new(producer), acks_rx, cancel).await
    }

    /// The stages on any producer whose acknowledgements arrive on `acks`.
    async fn drive(
        self,
        task: Box<dyn SourceTask>,
        producer: Box<dyn BatchProducer>,
        acks: mpsc::UnboundedReceiver<Acked>,
        cancel: CancellationToken,
    ) -> Result<()> {
        let failure = Failure::default();
        let (read_tx, read_rx) = bounded::<Read>(QUEUE_CAPACITY_BATCHES);
        let (encoded_tx, encoded_rx) = bounded::<Sequenced<EncodedBatch>>(QUEUE_CAPACITY_BATCHES);
        // Emptied buffers flow back: value bytes from the producer to the encoder, row values
        // from the encoder to the reader.
        let batch_bytes = self.share.batch_bytes().min(MAX_BATCH_BYTES);
        let spare_bytes = Spares::<u8>::new(SPARE_BUFFERS, batch_bytes);
        let spare_rows =
            Spares::<Value>::new(SPARE_BUFFERS, batch_bytes / std::mem::size_of::<Value>());
        let labels = [
            (m::LABEL_CONNECTOR, self.connector.to_string()),
            (m::LABEL_TASK, self.task_id.to_string()),
        ];

        let reader = {
            let (cancel, failure, labels) = (cancel.clone(), failure.clone(), labels.clone());
            let context = SourceTaskContext {
                offsets: self.offsets.clone(),
                batch_max_bytes: batch_bytes,
                spare_rows: spare_rows.clone(),
                worker: self.worker.clone(),
            };
            let share = self.share.clone();
            let name = format!("{}-{}-reader", self.connector, self.task_id);
            thread::Builder::new().name(name).spawn(move || {
                reader_stage(task, context, share, read_tx, cancel, failure, labels)
            })?
        };
        let encoder = {
            let (cancel, failure) = (cancel.clone(), failure.clone());
            let this = self.clone();
            let spares = (spare_rows, spare_bytes.clone());
            thread::Builder::new()
                .name(format!("{}-{}-encoder", self.connector, self.task_id))
                .spawn(move || {
                    // The fast encoder writes keys with the value converter's settings.
                    let stage = &this.record_stage;
                    let queues = (read_rx, encoded_tx);
                    if stage.is_fast_json()
                        && stage.json_settings(Role::Key) == stage.json_settings(Role::Value)
                    {
                        encoder_stage(&this.record_stage, queues, spares, cancel, failure)
                    } else {
                        this.record_stage_thread(queues, spares.0, cancel, failure)
                    }
                })?
        };
        let producing = {
            let (cancel, failure, labels) = (cancel.clone(), failure.clone(), labels.clone());
            thread::Builder::new()
                .name(format!("{}-{}-producer", self.connector, self.task_id))
                .spawn(move || {
                    let queues = (encoded_rx, spare_bytes);
                    Self::producer_stage(producer, queues, cancel, failure, labels)
                })?
        };

        self.commit_stage(acks, &cancel, &failure).await;
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

    /// Produces encoded batches in order, then flushes. A batch that cannot be queued fails
    /// the pipeline, and nothing after it is produced, so no later position is stored. The
    /// fast path's value buffers go back to the encoder on `spare` once librdkafka has copied
    /// them.
    fn producer_stage(
        mut producer: Box<dyn BatchProducer>,
        (encoded_rx, spare): (Receiver<Sequenced<EncodedBatch>>, Spares<u8>),
        cancel: CancellationToken,
        failure: Failure,
        labels: [(&'static str, String); 2],
    ) {
        let in_flight = metrics::gauge!(m::PRODUCER_IN_FLIGHT, &labels);
        let depth = m::queue_depth(&labels, m::STAGE_PRODUCER);
        let mut bytes = m::ByLabel::new(labels, m::LABEL_TABLE, |l| {
            metrics::counter!(m::SOURCE_BYTES_TOTAL, l)
        });
        for Sequenced { seq, item: batch } in &encoded_rx {
            depth.set(encoded_rx.len() as f64);
            bytes
                .get(m::source_table(&batch.position.partition))
                .increment(batch.payload.value_bytes() as u64);
            if let Err(error) = producer.send(seq, &batch.payload, batch.position) {
                return failure.set(error, &cancel);
            }
            // librdkafka holds its own copy now (within its queue's bytes).
            drop(batch.reservation);
            if let Payload::Rows { buf, .. } = batch.payload {
                spare.give(buf);
            }
            in_flight.set(producer.in_flight() as f64);
        }
        if let Err(error) = producer.flush() {
            failure.set(error, &cancel);
        }
        in_flight.set(0.0);
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
                            failure.set(error, cancel);
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
        (read_rx, encoded_tx): (Receiver<Read>, Sender<Sequenced<EncodedBatch>>),
        spare_rows: Spares<Value>,
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
        for (seq, (batch, mut reservation)) in read_rx.iter().enumerate() {
            reservation.moved_to(m::STAGE_PRODUCER);
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
            spare_rows.give(batch.values);
            let payload = Payload::Records(records);
            reservation.resize(payload.heap_bytes());
            let encoded = EncodedBatch {
                reservation,
                payload,
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
    context: SourceTaskContext,
    share: Share,
    read_tx: Sender<Read>,
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
    let depth = m::queue_depth(&labels, m::STAGE_ENCODER);
    let mut tables = m::ByLabel::new(labels, m::LABEL_TABLE, |l| {
        (
            metrics::counter!(m::SOURCE_RECORDS_READ_TOTAL, l),
            metrics::histogram!(m::SOURCE_BATCH_ROWS, l),
            metrics::gauge!(m::SOURCE_LAST_READ_TIMESTAMP_SECONDS, l),
        )
    });
    runtime.block_on(async {
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
                    // Reading waits here while the pipeline's share of the budget is spent.
                    let reservation = tokio::select! {
                        _ = cancel.cancelled() => break 'poll,
                        reservation = share.reserve(batch.heap_bytes(), m::STAGE_ENCODER) => reservation,
                    };
                    let mut item = (batch, reservation);
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
pub(crate) const COALESCE_MAX_BYTES: usize = 1 << 20;

/// A source batch's byte limit at most (of its values; its JSON is often twice that): a larger
/// budget share fits more batches in flight rather than bigger ones. 4 MiB of 30-column rows
/// (3 KB messages) encode to ~10 MB, and up to [`QUEUE_CAPACITY_BATCHES`] batches wait in each
/// queue.
pub(crate) const MAX_BATCH_BYTES: usize = 4 << 20;

/// Emptied buffers kept for reuse between two stages ([`Spares`]), each at most a batch's
/// byte limit.
const SPARE_BUFFERS: usize = 1;

/// Encodes batches in order. Batches already waiting in the queue for the same topic are
/// coalesced into one unit (up to [`COALESCE_MAX_BYTES`]) carrying the last one's position, so
/// small `batch.max.rows` batches do not each pay the per-batch costs downstream. Output units
/// are renumbered in order for the committer.
fn encoder_stage(
    record_stage: &RecordStageConfig,
    (read_rx, encoded_tx): (Receiver<Read>, Sender<Sequenced<EncodedBatch>>),
    (spare_rows, spare_bytes): (Spares<Value>, Spares<u8>),
    cancel: CancellationToken,
    failure: Failure,
) {
    let mut encoder = record_stage.json_settings(Role::Value).encoder();
    let mut capacity = 0usize;
    let mut seq = 0u64;
    let mut held: Option<Read> = None;
    loop {
        let (first, mut reservation) = match held.take() {
            Some(batch) => batch,
            None => match read_rx.recv() {
                Ok(batch) => batch,
                Err(_) => return,
            },
        };
        let mut buf = spare_bytes.take(capacity);
        let mut ends = Vec::with_capacity(first.len());
        let mut keys: Option<(Vec<u8>, Vec<usize>)> =
            first.keys.as_ref().map(|_| (Vec::new(), Vec::new()));
        let mut nulls: Vec<bool> = Vec::new();
        let topic = first.topic.clone();
        let mut position = first.position.clone();
        reservation.moved_to(m::STAGE_PRODUCER);
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
            spare_rows.give(batch.values);
            if buf.len() >= COALESCE_MAX_BYTES {
                break;
            }
            match read_rx.try_recv() {
                Ok((read, more))
                    if read.topic == topic && read.keys.is_some() == keys.is_some() =>
                {
                    reservation.absorb(more);
                    next = Some(read)
                }
                Ok(read) => held = Some(read),
                Err(_) => {}
            }
            if held.is_some() {
                break;
            }
        }
        capacity = capacity.max(buf.len()).min(2 * COALESCE_MAX_BYTES);
        let payload = Payload::Rows {
            topic,
            buf,
            ends,
            keys,
            nulls,
        };
        // The rows' values are freed (or spare); the batch now holds its encoded bytes.
        reservation.resize(payload.heap_bytes());
        let encoded = EncodedBatch {
            reservation,
            payload,
            position,
        };
        if encoded_tx.send(Sequenced { seq, item: encoded }).is_err() {
            return;
        }
        seq += 1;
    }
}

/// The pipeline driven by an in-memory task, producer and offset store: what is produced, and
/// which positions are stored when Kafka acknowledges out of order or fails a batch.
#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::model::{Field, Schema, SchemaType, Value};
    use crate::offsets::OffsetReader;
    use crate::offsets::memory::MemoryOffsetStore;

    /// Reads `batches` rows of one int32 column, one row per batch, `id` = the batch number;
    /// the position after batch `n` is `{"i": n}`.
    struct Task {
        batches: i64,
        next: i64,
    }

    #[async_trait]
    impl SourceTask for Task {
        async fn start(&mut self, _: SourceTaskContext) -> Result<()> {
            Ok(())
        }

        async fn poll(&mut self) -> Result<Option<SourceBatch>> {
            if self.next == self.batches {
                tokio::time::sleep(Duration::from_millis(5)).await;
                return Ok(None);
            }
            let schema = Schema::structure(
                Some("t".into()),
                vec![Field {
                    name: "id".into(),
                    schema: Schema::primitive(SchemaType::Int32, false),
                }],
                false,
            );
            let batch = SourceBatch {
                topic: "t".into(),
                schema: Arc::new(schema),
                values: vec![Value::Int(self.next)],
                keys: None,
                tombstones: Vec::new(),
                position: SourcePosition {
                    partition: json!({"table": "t"}),
                    offset: json!({"i": self.next}),
                },
            };
            self.next += 1;
            Ok(Some(batch))
        }

        async fn stop(&mut self) -> Result<()> {
            Ok(())
        }
    }

    /// Logs each record's topic and value; acknowledges batches two at a time in reverse order
    /// (the last one alone at flush), failing batch `fail`.
    struct Producer {
        log: Arc<Mutex<Vec<String>>>,
        acks: mpsc::UnboundedSender<Acked>,
        held: Vec<Acked>,
        fail: Option<u64>,
    }

    impl Producer {
        fn release(&mut self) {
            while let Some(ack) = self.held.pop() {
                let _ = self.acks.send(ack);
            }
        }
    }

    impl BatchProducer for Producer {
        fn send(&mut self, seq: u64, payload: &Payload, position: SourcePosition) -> Result<()> {
            let Payload::Records(records) = payload else {
                let Payload::Rows {
                    topic, buf, ends, ..
                } = payload
                else {
                    unreachable!()
                };
                let mut start = 0;
                for &end in ends {
                    let value = String::from_utf8_lossy(&buf[start..end]);
                    self.log.lock().unwrap().push(format!("{topic} {value}"));
                    start = end;
                }
                return self.ack(seq, payload, position);
            };
            for record in records {
                let value = String::from_utf8_lossy(record.value.as_deref().unwrap_or(b"null"));
                self.log
                    .lock()
                    .unwrap()
                    .push(format!("{} {value}", record.topic));
            }
            self.ack(seq, payload, position)
        }

        fn in_flight(&self) -> usize {
            self.held.len()
        }

        fn flush(&mut self) -> Result<()> {
            self.release();
            Ok(())
        }
    }

    impl Producer {
        fn ack(&mut self, seq: u64, payload: &Payload, position: SourcePosition) -> Result<()> {
            self.held.push(Acked {
                seq,
                position,
                records: payload.len(),
                error: (self.fail == Some(seq))
                    .then(|| Error::new(ErrorKind::Kafka, "Kafka did not acknowledge a record")),
            });
            if self.held.len() == 2 {
                self.release();
            }
            Ok(())
        }
    }

    fn pipeline(store: &Arc<MemoryOffsetStore>, connector: &[(&str, &str)]) -> SourcePipeline {
        let (worker, record_stage) = crate::pipeline::test_stage(connector);
        SourcePipeline {
            connector: "c".into(),
            task_id: 0,
            record_stage,
            worker,
            offsets: store.clone(),
            producer_overrides: BTreeMap::new(),
            topic_creation: None,
            tolerate_errors: false,
            share: crate::budget::MemoryBudget::new(1 << 30).share("c", 0),
        }
    }

    /// Runs until the producer has seen `batches` records, then stops the pipeline (which
    /// drains); returns its result, the produced records and the stored position.
    async fn run(
        connector: &[(&str, &str)],
        batches: i64,
        fail: Option<u64>,
    ) -> (Result<()>, Vec<String>, Option<Json>) {
        let store = Arc::new(MemoryOffsetStore::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (acks, acked) = mpsc::unbounded_channel();
        let producer = Producer {
            log: log.clone(),
            acks,
            held: Vec::new(),
            fail,
        };
        let cancel = CancellationToken::new();
        let running = tokio::spawn(pipeline(&store, connector).drive(
            Box::new(Task { batches, next: 0 }),
            Box::new(producer),
            acked,
            cancel.clone(),
        ));
        while log.lock().unwrap().len() < batches as usize && !running.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the pipeline drains")
            .unwrap();
        let stored = store.offset("c", &json!({"table": "t"})).await.unwrap();
        let records = log.lock().unwrap().clone();
        (result, records, stored)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_position_is_stored_once_every_batch_before_it_is_acknowledged() {
        let (result, records, stored) = run(&[], 5, None).await;
        result.unwrap();
        assert_eq!(records.len(), 5);
        assert!(records[2].starts_with("t {\"schema\":"), "{}", records[2]);
        assert!(
            records[2].ends_with("\"payload\":{\"id\":2}}"),
            "{}",
            records[2]
        );
        assert_eq!(stored, Some(json!({"i": 4})));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_record_stage_output_is_produced() {
        let (result, records, stored) = run(
            &[
                ("transforms", "route"),
                (
                    "transforms.route.type",
                    "org.apache.kafka.connect.transforms.RegexRouter",
                ),
                ("transforms.route.regex", "t"),
                ("transforms.route.replacement", "u"),
                ("value.converter.schemas.enable", "false"),
            ],
            3,
            None,
        )
        .await;
        result.unwrap();
        assert_eq!(records, ["u {\"id\":0}", "u {\"id\":1}", "u {\"id\":2}"]);
        assert_eq!(stored, Some(json!({"i": 2})));
    }

    /// Batch 1 fails while batch 2 is acknowledged before it: the stored position stays at
    /// batch 0, and the task fails. (Through the record stage, which never coalesces batches,
    /// so batch 1 is unit 1.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_batch_stops_the_stored_position_before_it() {
        let identity = [
            ("transforms", "route"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "x"),
            ("transforms.route.replacement", "y"),
        ];
        let (result, _, stored) = run(&identity, 4, Some(1)).await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "Kafka did not acknowledge a record"
        );
        assert_eq!(stored, Some(json!({"i": 0})));
    }
}
