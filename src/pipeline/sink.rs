//! The sink pipeline: batches of up to `batch.size` records from the consumer (group
//! `connect-<connector>`, Connect's name), converted and transformed by the record stage,
//! written by the task, failed records (with `errors.tolerance=all`) to the dead-letter topic
//! with Connect's error headers, and offsets committed only after the task reports the batch
//! durable. Kafka sits behind the contracts of [`crate::kafka::consumer`]; the commit runs
//! beside the writer, so the next batch is written while the broker acknowledges the last
//! commit. A failed `put` fails the task without committing its batch: nothing is skipped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::budget::{Reservation, Share};
use crate::config::WorkerConfig;
use crate::config::connector::{DeadLetterQueue, Subscription};
use crate::connector::{SinkTask, SinkTaskContext};
use crate::convert::Role;
use crate::convert::json::decode::JsonDecoder;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::consumer::{
    ConsumerMemory, DeadLetterProducer, DeadLetterWriter, FailedRecord, KafkaConsumer, NextOffsets,
    OffsetCommitter, RecordReader,
};
use crate::metrics as m;
use crate::model::SinkRecord;
use crate::model::record::FailureStage;
use crate::pipeline::record::{RecordStage, RecordStageConfig};

/// How long a batch waits for more records after its first one.
const BATCH_LINGER: Duration = Duration::from_millis(20);

/// librdkafka's fetches get this fraction of the task's share. Each fetch response stays in
/// memory until every message in it has been handed on, so at a quarter of a 64 MiB share
/// (16 MiB fetches) a sink of 600 KB messages peaked at 446 MB RSS with 49 MiB of the budget in
/// use; at a sixteenth, 93–122 MB (BENCHMARKS.md, big rows).
const FETCH_SHARE_FRACTION: usize = 16;

/// librdkafka's prefetch queue holds this many of the pipeline's largest batches
/// ([`Share::batch_bytes`]). The reader takes a whole batch from the queue at once, and
/// librdkafka fetches again only once the queue is under its limit: a queue smaller than a
/// batch leaves the reader waiting on fetch round trips within every batch (the Debezium sink
/// read 145–149k events/s from a 4 MiB queue and outran its writer from an 8 MiB one; 16 MiB
/// was no faster and held more, BENCHMARKS.md).
const PREFETCH_BATCHES: usize = 1;

/// Everything a sink task's runtime needs besides the task.
#[derive(Clone)]
pub(crate) struct SinkPipeline {
    /// The connector's name.
    pub(crate) connector: Arc<str>,
    /// This task's number.
    pub(crate) task_id: u32,
    /// The worker's settings (Kafka clients, converters).
    pub(crate) worker: Arc<WorkerConfig>,
    /// Connector-level `consumer.override.*` settings.
    pub(crate) consumer_overrides: BTreeMap<String, String>,
    /// `topics` or `topics.regex`.
    pub(crate) subscription: Subscription,
    /// `batch.size`: the most records per `put`.
    pub(crate) batch_size: usize,
    /// `errors.tolerance=all`.
    pub(crate) tolerate_errors: bool,
    /// `errors.deadletterqueue.*`, when a topic is named.
    pub(crate) dead_letter: Option<DeadLetterQueue>,
    /// The connector's converters and transformations.
    pub(crate) record_stage: RecordStageConfig,
    /// This task's share of the worker's memory budget.
    pub(crate) share: Share,
}

type Failed = FailedRecord;

/// A batch read and converted by the gatherer: the records that converted, and (with
/// `errors.tolerance=all`) the ones that did not, with the offsets the whole batch covers.
struct Batch {
    records: Vec<SinkRecord>,
    failed: Vec<Failed>,
    next_offsets: NextOffsets,
    /// The memory the batch holds, released once it is written.
    _reservation: Reservation,
}

impl SinkPipeline {
    /// Runs `task` against Kafka until `cancel` fires or the task fails.
    pub(crate) async fn run(
        self,
        task: Box<dyn SinkTask>,
        cancel: CancellationToken,
    ) -> Result<()> {
        let consumer = KafkaConsumer::subscribe(
            &self.worker,
            &self.consumer_overrides,
            consumer_memory(&self.share),
            &self.connector,
            self.task_id,
            &self.subscription,
        )?;
        let dead_letter: Option<Box<dyn DeadLetterWriter>> = match &self.dead_letter {
            Some(dlq) => Some(Box::new(
                DeadLetterProducer::create(&self.worker, dlq, &self.connector, self.task_id)
                    .await?,
            )),
            None => None,
        };
        let commit_seconds = metrics::histogram!(
            m::SINK_COMMIT_SECONDS,
            m::LABEL_CONNECTOR => self.connector.to_string(),
            m::LABEL_TASK => self.task_id.to_string()
        );
        let committer = Box::new(consumer.committer(commit_seconds));
        self.drive(task, Box::new(consumer), committer, dead_letter, cancel)
            .await
    }

    /// The stages, on any reader, committer and dead-letter writer:
    ///
    /// ```text
    ///  reader ──raw batches──▶ converter ──batches──▶ writer (task.put) ──▶ committer
    ///  (Kafka)    (1 queued)   (record stage)  (1 queued)   failed records ──▶ dead letter
    /// ```
    ///
    /// Each stage works on the next batch while the one after it handles the last. Offsets
    /// reach the committer only once `put` returned and the batch's failed records are
    /// acknowledged by the dead-letter topic (or logged, without one).
    async fn drive(
        self,
        mut task: Box<dyn SinkTask>,
        mut reader: Box<dyn RecordReader>,
        committer: Box<dyn OffsetCommitter>,
        dead_letter: Option<Box<dyn DeadLetterWriter>>,
        cancel: CancellationToken,
    ) -> Result<()> {
        let converters = if self.record_stage.is_fast_json() {
            // Without schemas the task reads the plain JSON against its own schema.
            let key = self.record_stage.json_settings(Role::Key);
            let value = self.record_stage.json_settings(Role::Value);
            Converters::Fast {
                key: (task.wants_keys() && key.schemas_enable).then(|| key.decoder()),
                value: value.schemas_enable.then(|| value.decoder()),
                key_schemas: key.schemas_enable,
                value_schemas: value.schemas_enable,
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
        let batch_records = metrics::histogram!(m::SINK_BATCH_RECORDS, &labels);
        let depth = m::queue_depth(&labels, m::STAGE_PUT);
        let mut per_topic = m::ByLabel::new(labels, m::LABEL_TOPIC, TopicCounters::new);
        if let Subscription::Topics(topics) = &self.subscription {
            for topic in topics {
                per_topic.get(topic);
            }
        }
        let (raw_tx, raw_rx) = mpsc::channel::<(Vec<SinkRecord>, Reservation)>(1);
        let (batches_tx, mut batches_rx) = mpsc::channel::<Result<Batch>>(1);
        let receiving = {
            let (batch_size, cancel, share) = (self.batch_size, cancel.clone(), self.share.clone());
            tokio::spawn(async move {
                loop {
                    let batch_bytes = share.batch_bytes();
                    let raw = tokio::select! {
                        _ = cancel.cancelled() => return,
                        raw = reader.next_batch(batch_size, batch_bytes, BATCH_LINGER) => raw,
                    };
                    // The consumed bytes and their converted values; reading waits here while
                    // the pipeline's share of the budget is spent.
                    let bytes: usize = raw
                        .iter()
                        .map(|r| {
                            2 * (r.key.as_ref().map_or(0, |k| k.len())
                                + r.value.as_ref().map_or(0, |v| v.len()))
                        })
                        .sum();
                    let reservation = tokio::select! {
                        _ = cancel.cancelled() => return,
                        reservation = share.reserve(bytes, m::STAGE_CONVERT) => reservation,
                    };
                    if raw_tx.send((raw, reservation)).await.is_err() {
                        return;
                    }
                }
            })
        };
        let converting = tokio::spawn(convert_batches(
            raw_rx,
            converters,
            self.tolerate_errors,
            batches_tx,
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
                _reservation,
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
                self.log_failures(&failed);
                if let Some(dead_letter) = &dead_letter {
                    if let Err(error) = dead_letter.write(&failed).await {
                        break Err(error);
                    }
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
        receiving.abort();
        converting.abort();
        // Every batch written so far has its offsets committed before the task stops.
        committer.finish().await;
        if let Err(error) = task.stop().await {
            tracing::warn!(message = "sink task stop failed", %error);
        }
        result
    }

    /// Logs failed records (as Connect does with `errors.tolerance=all`): with or without a
    /// dead-letter topic, none is dropped silently.
    fn log_failures(&self, failures: &[Failed]) {
        for Failed {
            record,
            stage,
            error,
            ..
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
        }
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

/// Converts raw batches in order. A conversion failure ends the task unless errors are
/// tolerated, in which case the record travels with the batch for the dead-letter topic.
async fn convert_batches(
    mut raw: mpsc::Receiver<(Vec<SinkRecord>, Reservation)>,
    mut converters: Converters,
    tolerate_errors: bool,
    batches: mpsc::Sender<Result<Batch>>,
) {
    while let Some((raw, mut reservation)) = raw.recv().await {
        reservation.moved_to(m::STAGE_PUT);
        let next_offsets = next_offsets(&raw);
        let mut batch = Batch {
            records: Vec::with_capacity(raw.len()),
            failed: Vec::new(),
            next_offsets,
            _reservation: reservation,
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

/// What the task's consumer may hold, from its share of the budget.
fn consumer_memory(share: &Share) -> ConsumerMemory {
    ConsumerMemory {
        fetch_bytes: share.limit() / FETCH_SHARE_FRACTION,
        prefetch_bytes: share.batch_bytes() * PREFETCH_BATCHES,
    }
}

/// The next offset to commit for every partition in `records`.
fn next_offsets(records: &[SinkRecord]) -> NextOffsets {
    let mut next: BTreeMap<(&str, i32), (Arc<str>, i64)> = BTreeMap::new();
    for record in records {
        let entry = next
            .entry((&record.topic, record.partition))
            .or_insert_with(|| (record.topic.clone(), 0));
        entry.1 = entry.1.max(record.offset + 1);
    }
    next.into_iter().map(|((_, p), (t, o))| (t, p, o)).collect()
}

/// The pipeline driven by in-memory fakes of Kafka and of the task: what is written, what goes
/// to the dead-letter topic, and which offsets are committed, in what order.
#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use bytes::Bytes;

    use super::*;
    use crate::connector::RecordFailure;

    /// What happened, in order: `put 0,1`, `dlq 3 VALUE_CONVERTER`, `commit 5`.
    type Log = Arc<Mutex<Vec<String>>>;

    fn log(log: &Log, line: String) {
        log.lock().unwrap().push(line);
    }

    struct Reader(VecDeque<Vec<SinkRecord>>);

    #[async_trait]
    impl RecordReader for Reader {
        async fn next_batch(&mut self, _: usize, _: usize, _: Duration) -> Vec<SinkRecord> {
            match self.0.pop_front() {
                Some(batch) => batch,
                None => std::future::pending().await,
            }
        }
    }

    /// Logs commits; cancels the pipeline once `last` is committed.
    struct Committer {
        log: Log,
        last: i64,
        cancel: CancellationToken,
    }

    #[async_trait]
    impl OffsetCommitter for Committer {
        fn commit(&self, next: NextOffsets) {
            for (topic, partition, offset) in next {
                log(&self.log, format!("commit {topic}-{partition} {offset}"));
                if offset >= self.last {
                    self.cancel.cancel();
                }
            }
        }

        async fn finish(self: Box<Self>) {}
    }

    struct DeadLetter(Log);

    #[async_trait]
    impl DeadLetterWriter for DeadLetter {
        async fn write(&self, failed: &[FailedRecord]) -> Result<()> {
            for f in failed {
                log(
                    &self.0,
                    format!("dlq {} {} {}", f.record.offset, f.stage.as_str(), f.class),
                );
            }
            Ok(())
        }
    }

    /// Writes the int32 values it is given; fails the put of a batch holding `fail_on`, and
    /// returns `reject` as a per-record failure.
    struct Task {
        log: Log,
        fail_on: Option<i64>,
        reject: Option<i64>,
    }

    #[async_trait]
    impl SinkTask for Task {
        async fn start(&mut self, context: SinkTaskContext) -> Result<()> {
            assert!(context.value_schemas);
            Ok(())
        }

        async fn put(&mut self, records: &[SinkRecord]) -> Result<Vec<RecordFailure>> {
            if records.iter().any(|r| Some(r.offset) == self.fail_on) {
                return Err(Error::new(ErrorKind::Database, "the target is gone"));
            }
            let values: Vec<String> = records
                .iter()
                .map(|r| match &r.value_data {
                    Some(data) => format!("{:?}", data.values[0]),
                    None => "null".to_string(),
                })
                .collect();
            log(&self.log, format!("put {}", values.join(",")));
            Ok(records
                .iter()
                .enumerate()
                .filter(|(_, r)| Some(r.offset) == self.reject)
                .map(|(index, _)| RecordFailure {
                    index,
                    stage: FailureStage::TaskPut,
                    error: Error::new(ErrorKind::Database, "duplicate"),
                })
                .collect())
        }

        async fn stop(&mut self) -> Result<()> {
            Ok(())
        }
    }

    /// A record at `offset` of `t-0`: an int32 envelope of `offset`, or bytes no converter
    /// reads when `bad`.
    fn record(offset: i64, bad: bool) -> SinkRecord {
        let value = match bad {
            true => "not json".to_string(),
            false => {
                format!(r#"{{"schema":{{"type":"int32","optional":false}},"payload":{offset}}}"#)
            }
        };
        SinkRecord {
            topic: "t".into(),
            partition: 0,
            offset,
            timestamp_ms: None,
            key: None,
            value: Some(Bytes::from(value)),
            headers: Vec::new(),
            key_data: None,
            value_data: None,
        }
    }

    fn pipeline(tolerate_errors: bool, connector: &[(&str, &str)]) -> SinkPipeline {
        let (worker, record_stage) = crate::pipeline::test_stage(connector);
        SinkPipeline {
            connector: "c".into(),
            task_id: 0,
            record_stage,
            worker,
            consumer_overrides: BTreeMap::new(),
            subscription: Subscription::Topics(vec!["t".into()]),
            batch_size: 10,
            tolerate_errors,
            dead_letter: None,
            share: crate::budget::MemoryBudget::new(1 << 30).share("c", 0),
        }
    }

    /// Runs the pipeline over `batches` until `last` is committed or it fails.
    async fn run(
        pipeline: SinkPipeline,
        task: Task,
        batches: Vec<Vec<SinkRecord>>,
        last: i64,
    ) -> Result<()> {
        let cancel = CancellationToken::new();
        let committer = Committer {
            log: task.log.clone(),
            last,
            cancel: cancel.clone(),
        };
        let dead_letter = DeadLetter(task.log.clone());
        let run = pipeline.drive(
            Box::new(task),
            Box::new(Reader(batches.into())),
            Box::new(committer),
            Some(Box::new(dead_letter)),
            cancel,
        );
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the pipeline ends")
    }

    fn task(log: &Log) -> Task {
        Task {
            log: log.clone(),
            fail_on: None,
            reject: None,
        }
    }

    fn lines(log: &Log) -> Vec<String> {
        log.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn offsets_are_committed_after_the_put_and_the_dead_letters() {
        for (name, config) in [
            ("fast path", vec![]),
            (
                "record stage",
                vec![
                    ("transforms", "i"),
                    (
                        "transforms.i.type",
                        "org.apache.kafka.connect.transforms.InsertHeader",
                    ),
                    ("transforms.i.header", "h"),
                    ("transforms.i.value.literal", "v"),
                ],
            ),
        ] {
            let events = Log::default();
            let mut task = task(&events);
            task.reject = Some(4);
            let batches = vec![
                vec![record(0, false), record(1, false), record(2, false)],
                vec![record(3, true), record(4, false), record(5, false)],
            ];
            run(pipeline(true, &config), task, batches, 6)
                .await
                .unwrap();
            assert_eq!(
                lines(&events),
                [
                    "put Int(0),Int(1),Int(2)",
                    "commit t-0 3",
                    "put Int(4),Int(5)",
                    "dlq 3 VALUE_CONVERTER org.apache.kafka.connect.json.JsonConverter",
                    "dlq 4 TASK_PUT io.confluent.connect.jdbc.sink.JdbcSinkTask",
                    "commit t-0 6",
                ],
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn a_bad_record_without_tolerance_fails_the_task_and_commits_nothing_of_its_batch() {
        let events = Log::default();
        let batches = vec![
            vec![record(0, false)],
            vec![record(1, false), record(2, true), record(3, false)],
        ];
        let error = run(pipeline(false, &[]), task(&events), batches, 4)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("t-0 offset 2"),
            "{}",
            error.trace()
        );
        assert_eq!(lines(&events), ["put Int(0)", "commit t-0 1"]);
    }

    #[test]
    fn the_prefetch_queue_holds_a_whole_batch_and_fetches_stay_small() {
        for budget in [1u64 << 20, 64 << 20, 1 << 30] {
            let budget = crate::budget::MemoryBudget::new(budget);
            let share = budget.share("c", 0);
            let memory = consumer_memory(&share);
            assert!(memory.prefetch_bytes >= share.batch_bytes(), "{memory:?}");
            assert!(memory.fetch_bytes <= share.limit() / 16, "{memory:?}");
        }
    }

    #[tokio::test]
    async fn a_failed_put_fails_the_task_and_commits_nothing_of_its_batch() {
        let events = Log::default();
        let mut task = task(&events);
        task.fail_on = Some(2);
        let batches = vec![
            vec![record(0, false), record(1, false)],
            vec![record(2, false)],
            vec![record(3, false)],
        ];
        let error = run(pipeline(true, &[]), task, batches, 4)
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "the target is gone");
        assert_eq!(lines(&events), ["put Int(0),Int(1)", "commit t-0 2"]);
    }
}
