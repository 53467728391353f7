//! Compacted Kafka topics used as durable key-value logs, like Connect's `KafkaBasedLog`: the
//! worker's offsets, config and status topics.
//!
//! Every log of a worker shares one set of clients ([`LogClients`]): one producer and one
//! reader thread with one consumer assigned to every log's partitions. (A client per topic
//! would cost a worker 3-4 librdkafka threads and their buffers for each.)
//!
//! Opening creates the topic when absent (`cleanup.policy=compact`) and reads it from the
//! beginning to its end. Writes go one record per produce request and are awaited: besides being
//! simple, this keeps the topic's high watermark exact on brokers that miscount multi-record
//! batches (tansu, see FINDINGS.md), so "read to the end" is reliable there too.
//!
//! In tailing mode ([`LogClients::open_tailing`]) the reader keeps reading after the initial
//! read and hands every new record (other workers' and this worker's own) to a sink;
//! [`Tail::sync`] waits until everything written before the call has been handed over, like
//! Connect's `KafkaBasedLog.readToEnd`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::admin::{TopicSpec, ensure_topic};
use super::{ClientRole, DURABLE_PRODUCER, WHOLE_TOPIC_READER, client_config, kafka_error};
use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind, Result};

/// How long opening may take to read the topic to its end.
const READ_TO_END_TIMEOUT: Duration = Duration::from_secs(60);

/// Most records the reader takes in one round.
const TAIL_BATCH: usize = 1000;

/// One record read back: key and value (`None` for a tombstone).
pub(crate) type LogRecord = (Vec<u8>, Option<Vec<u8>>);

/// One record read back with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecord {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub key: Vec<u8>,
    /// `None` for a tombstone.
    pub value: Option<Vec<u8>>,
}

/// Where a written record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

/// Receives the records a tail reads after the initial read, in offset order per partition.
pub type TailSink = Box<dyn FnMut(Vec<TailRecord>) + Send>;

/// The next offset to read of each partition.
type Ends = BTreeMap<i32, i64>;
type SyncReply = tokio::sync::oneshot::Sender<Result<Ends>>;
type OpenReply = tokio::sync::oneshot::Sender<Result<(Vec<TailRecord>, Ends)>>;

/// A compacted topic the worker writes and reads back.
pub struct KafkaLog {
    topic: String,
    producer: FutureProducer,
}

/// The clients a worker's logs share: one producer, and one consumer on a reader thread that
/// serves every log. Cheap to clone; the reader stops once every clone and every [`Tail`] is gone.
#[derive(Clone)]
pub struct LogClients {
    worker: Arc<WorkerConfig>,
    producer: FutureProducer,
    consumer: Arc<BaseConsumer>,
    commands: Sender<Command>,
}

/// What the reader thread is asked to do.
enum Command {
    /// Read the topic from `starts` to `ends`, reply with the records, then hand later records to
    /// `sink` (or stop reading the topic when there is none).
    Open {
        topic: String,
        starts: Ends,
        ends: Ends,
        sink: Option<TailSink>,
        reply: OpenReply,
    },
    /// Reply once every record written to the topic before now has been handed over.
    Sync { topic: String, reply: SyncReply },
    /// Stop reading the topic.
    Close { topic: String },
}

/// The background reading of a log opened with [`LogClients::open_tailing`]; stops when dropped.
pub struct Tail {
    topic: String,
    commands: Sender<Command>,
}

impl Tail {
    /// Returns once every record written to the topic before the call has been handed to the
    /// sink, with the next offset to read of each partition.
    pub async fn sync(&self) -> Result<Ends> {
        let (reply, done) = tokio::sync::oneshot::channel();
        self.commands
            .send(Command::Sync {
                topic: self.topic.clone(),
                reply,
            })
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Close {
            topic: std::mem::take(&mut self.topic),
        });
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Internal, "the topic reader has stopped")
}

impl LogClients {
    /// Creates the producer and the reader.
    pub fn connect(worker: &WorkerConfig) -> Result<LogClients> {
        let producer: FutureProducer = client_config(
            worker,
            ClientRole::Producer,
            &[
                &DURABLE_PRODUCER[..],
                // Java's default partitioner for keyed records: a key lands where Connect puts it.
                &[("partitioner", "murmur2_random")],
            ]
            .concat(),
            &Default::default(),
        )
        .set("batch.num.messages", "1")
        .create()
        .map_err(|e| kafka_error(e, "cannot create the producer for the worker's topics"))?;
        let consumer: BaseConsumer = client_config(
            worker,
            ClientRole::Consumer,
            &[
                &WHOLE_TOPIC_READER[..],
                // A tail should see other workers' writes promptly.
                &[("fetch.wait.max.ms", "100")],
            ]
            .concat(),
            &Default::default(),
        )
        .set(
            "group.id",
            format!("sluice-log-reader-{}", std::process::id()),
        )
        .create()
        .map_err(|e| kafka_error(e, "cannot create the reader of the worker's topics"))?;
        let consumer = Arc::new(consumer);
        let (commands, requests) = std::sync::mpsc::channel();
        let reader = Reader {
            consumer: consumer.clone(),
            requests,
            logs: HashMap::new(),
            reassign: false,
            last_error: None,
        };
        std::thread::Builder::new()
            .name("topic-reader".into())
            .spawn(move || reader.run())
            .map_err(|e| Error::with_source(ErrorKind::Io, "cannot start the topic reader", e))?;
        Ok(LogClients {
            worker: Arc::new(worker.clone()),
            producer,
            consumer,
            commands,
        })
    }

    /// The cluster's id (`None` when the broker does not say within 10 s).
    pub(crate) async fn cluster_id(&self) -> Option<String> {
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || {
            consumer.client().fetch_cluster_id(Duration::from_secs(10))
        })
        .await
        .ok()
        .flatten()
    }

    /// Ensures the topic exists and returns it with every keyed record in it, in offset order
    /// within each partition.
    pub async fn open(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(KafkaLog, Vec<LogRecord>)> {
        let (log, records) = self
            .read(topic, partitions, replication_factor, None)
            .await?;
        Ok((log, records.into_iter().map(|r| (r.key, r.value)).collect()))
    }

    /// Like [`LogClients::open`], then keeps reading: every record that arrives later goes to
    /// `sink`, from the reader thread, until the returned [`Tail`] is dropped.
    pub async fn open_tailing(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        sink: TailSink,
    ) -> Result<(KafkaLog, Vec<TailRecord>, Tail)> {
        let (log, records) = self
            .read(topic, partitions, replication_factor, Some(sink))
            .await?;
        let tail = Tail {
            topic: topic.to_string(),
            commands: self.commands.clone(),
        };
        Ok((log, records, tail))
    }

    async fn read(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        sink: Option<TailSink>,
    ) -> Result<(KafkaLog, Vec<TailRecord>)> {
        self.ensure(topic, partitions, replication_factor).await?;
        let consumer = self.consumer.clone();
        let name = topic.to_string();
        let marks = tokio::task::spawn_blocking(move || watermarks(&consumer, &name))
            .await
            .map_err(|e| Error::with_source(ErrorKind::Internal, "topic reader panicked", e))??;
        let starts = marks.iter().map(|(p, low, _)| (*p, *low)).collect();
        let ends = marks.iter().map(|(p, _, high)| (*p, *high)).collect();
        let (reply, done) = tokio::sync::oneshot::channel();
        self.commands
            .send(Command::Open {
                topic: topic.to_string(),
                starts,
                ends,
                sink,
                reply,
            })
            .map_err(|_| stopped())?;
        let (records, _) = done.await.map_err(|_| stopped())??;
        let log = KafkaLog {
            topic: topic.to_string(),
            producer: self.producer.clone(),
        };
        Ok((log, records))
    }

    /// Creates the topic (compacted) unless it exists. The admin client lives only as long as
    /// that takes: a worker whose topics exist never starts one.
    async fn ensure(&self, topic: &str, partitions: i32, replication_factor: i16) -> Result<()> {
        let consumer = self.consumer.clone();
        let name = topic.to_string();
        let exists = tokio::task::spawn_blocking(move || {
            consumer
                .fetch_metadata(Some(&name), Duration::from_secs(30))
                .map(|m| {
                    m.topics()
                        .iter()
                        .any(|t| t.error().is_none() && !t.partitions().is_empty())
                })
        })
        .await
        .map_err(|e| Error::with_source(ErrorKind::Internal, "topic reader panicked", e))?
        .map_err(|e| kafka_error(e, format!("cannot read metadata of {topic}")))?;
        if exists {
            return Ok(());
        }
        let admin = crate::kafka::admin::admin_client(&self.worker)?;
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
        Ok(())
    }
}

impl KafkaLog {
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one record (`None`: a tombstone) and waits until the broker acknowledges it.
    pub async fn send(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        self.write(key, value).await.map(|_| ())
    }

    /// Like [`KafkaLog::send`], returning where the record landed.
    pub(crate) async fn write(&self, key: &str, value: Option<&[u8]>) -> Result<Position> {
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

/// One log the reader serves.
struct Followed {
    /// The next offset to read of each partition.
    next: Ends,
    /// Set while the log is being read to its end for [`LogClients::open`].
    opening: Option<Opening>,
    /// Where records go after the initial read; `None`: the log stops being read then.
    sink: Option<TailSink>,
    /// Sync requests waiting for the reader to reach these ends (or the deadline).
    waiting: Vec<(SyncReply, Ends, Instant)>,
}

struct Opening {
    ends: Ends,
    records: Vec<TailRecord>,
    reply: OpenReply,
    deadline: Instant,
}

/// The reader thread: one consumer assigned to the partitions of every log it serves.
struct Reader {
    consumer: Arc<BaseConsumer>,
    requests: Receiver<Command>,
    logs: HashMap<String, Followed>,
    /// The assignment no longer matches `logs`.
    reassign: bool,
    last_error: Option<(Instant, String)>,
}

impl Reader {
    fn run(mut self) {
        loop {
            loop {
                match self.requests.try_recv() {
                    Ok(command) => self.command(command),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if self.reassign {
                self.assign();
            }
            if self.logs.is_empty() {
                match self.requests.recv() {
                    Ok(command) => self.command(command),
                    Err(_) => return,
                }
                continue;
            }
            self.read_round();
            self.finish_opens();
            self.answer_syncs();
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Open {
                topic,
                starts,
                ends,
                sink,
                reply,
            } => {
                let caught_up = ends
                    .iter()
                    .all(|(p, high)| starts.get(p).copied().unwrap_or(0) >= *high);
                let opening = if caught_up {
                    let _ = reply.send(Ok((Vec::new(), starts.clone())));
                    if sink.is_none() {
                        return;
                    }
                    None
                } else {
                    Some(Opening {
                        ends,
                        records: Vec::new(),
                        reply,
                        deadline: Instant::now() + READ_TO_END_TIMEOUT,
                    })
                };
                let log = Followed {
                    next: starts,
                    opening,
                    sink,
                    waiting: Vec::new(),
                };
                if self.logs.insert(topic.clone(), log).is_some() {
                    tracing::warn!(message = "an internal topic was opened twice", topic = %topic);
                }
                self.reassign = true;
            }
            Command::Sync { topic, reply } => {
                let Some(log) = self.logs.get_mut(&topic) else {
                    let _ = reply.send(Err(stopped()));
                    return;
                };
                match watermarks(&self.consumer, &topic) {
                    Ok(marks) => {
                        let ends = marks.into_iter().map(|(p, _, high)| (p, high)).collect();
                        log.waiting
                            .push((reply, ends, Instant::now() + READ_TO_END_TIMEOUT));
                    }
                    Err(error) => {
                        let _ = reply.send(Err(error));
                    }
                }
            }
            Command::Close { topic } => {
                if self.logs.remove(&topic).is_some() {
                    self.reassign = true;
                }
            }
        }
    }

    /// Assigns every partition of every log at its next offset. (Records fetched before and
    /// delivered again are skipped by their offset.)
    fn assign(&mut self) {
        let mut assignment = TopicPartitionList::new();
        for (topic, log) in &self.logs {
            for (partition, next) in &log.next {
                if let Err(error) =
                    assignment.add_partition_offset(topic, *partition, Offset::Offset(*next))
                {
                    tracing::warn!(message = "bad assignment", topic = %topic, error = %error);
                }
            }
        }
        let result = if assignment.count() == 0 {
            self.consumer.unassign()
        } else {
            self.consumer.assign(&assignment)
        };
        match result {
            Ok(()) => self.reassign = false,
            Err(error) => self.note_error(&error.to_string()),
        }
    }

    /// Reads what is there (waiting up to 100 ms for the first record) and hands it over.
    fn read_round(&mut self) {
        let mut batches: HashMap<String, Vec<TailRecord>> = HashMap::new();
        let mut timeout = Duration::from_millis(100);
        let mut error = None;
        for _ in 0..TAIL_BATCH {
            let message = match self.consumer.poll(timeout) {
                None => break,
                Some(Err(e)) => {
                    error = Some(e.to_string());
                    break;
                }
                Some(Ok(message)) => message,
            };
            timeout = Duration::ZERO;
            let topic = message.topic();
            let Some(log) = self.logs.get_mut(topic) else {
                continue;
            };
            let next = log.next.entry(message.partition()).or_insert(0);
            if message.offset() < *next {
                continue;
            }
            *next = message.offset() + 1;
            let Some(key) = message.key() else {
                tracing::warn!(
                    message = "skipping a record without a key",
                    topic,
                    offset = message.offset()
                );
                continue;
            };
            let record = TailRecord {
                partition: message.partition(),
                offset: message.offset(),
                key: key.to_vec(),
                value: message.payload().map(<[u8]>::to_vec),
            };
            match &mut log.opening {
                Some(opening) => opening.records.push(record),
                None => batches.entry(topic.to_string()).or_default().push(record),
            }
        }
        if let Some(error) = error {
            self.note_error(&error);
        }
        for (topic, batch) in batches {
            if let Some(sink) = self.logs.get_mut(&topic).and_then(|l| l.sink.as_mut()) {
                sink(batch);
            }
        }
    }

    /// Replies to the opens whose ends were reached, or that ran out of time.
    fn finish_opens(&mut self) {
        let now = Instant::now();
        let mut finished = Vec::new();
        for (topic, log) in &mut self.logs {
            let Some(opening) = &log.opening else {
                continue;
            };
            let left = opening
                .ends
                .iter()
                .filter(|(p, high)| log.next.get(p).copied().unwrap_or(0) < **high)
                .count();
            if left > 0 && now < opening.deadline {
                continue;
            }
            let opening = log.opening.take().expect("checked above");
            if left == 0 {
                let _ = opening.reply.send(Ok((opening.records, log.next.clone())));
                if log.sink.is_none() {
                    finished.push(topic.clone());
                }
            } else {
                let last = self
                    .last_error
                    .as_ref()
                    .map(|(_, e)| format!("; last error: {e}"))
                    .unwrap_or_default();
                let _ = opening.reply.send(Err(Error::new(
                    ErrorKind::Kafka,
                    format!("timed out reading {topic} to its end ({left} partitions left){last}"),
                )));
                finished.push(topic.clone());
            }
        }
        for topic in finished {
            self.logs.remove(&topic);
            self.reassign = true;
        }
    }

    /// Answers the sync requests whose ends were reached (or that timed out).
    fn answer_syncs(&mut self) {
        let now = Instant::now();
        for (topic, log) in &mut self.logs {
            if log.waiting.is_empty() {
                continue;
            }
            let next = &log.next;
            let reached = |ends: &Ends| {
                ends.iter()
                    .all(|(p, high)| next.get(p).copied().unwrap_or(0) >= *high)
            };
            for (reply, ends, deadline) in std::mem::take(&mut log.waiting) {
                if reached(&ends) {
                    let _ = reply.send(Ok(next.clone()));
                } else if now >= deadline {
                    let _ = reply.send(Err(Error::new(
                        ErrorKind::Kafka,
                        format!("timed out reading {topic} to its end"),
                    )));
                } else {
                    log.waiting.push((reply, ends, deadline));
                }
            }
        }
    }

    /// Logs a read error, at most every 30 s.
    fn note_error(&mut self, error: &str) {
        if self
            .last_error
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() > Duration::from_secs(30))
        {
            tracing::warn!(message = "cannot read an internal topic", error);
            self.last_error = Some((Instant::now(), error.to_string()));
        } else if let Some((_, last)) = &mut self.last_error {
            *last = error.to_string();
        }
    }
}
