//! Helpers shared by the end-to-end benches: service settings and process measurements.

#![allow(dead_code)]

pub(crate) mod shape;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice::kafka::admin::{TopicSpec, ensure_topic};

/// `cargo test --all-targets` runs benches without `--bench`: the end-to-end ones need the
/// services and minutes of work, so they only run under `cargo bench`. True (after saying so)
/// when this is not `cargo bench`.
pub(crate) fn skipped_outside_cargo_bench() -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return false;
    }
    println!("skipped: run with `cargo bench`");
    true
}

/// An environment variable, or `default` (the values `scripts/services.sh env` prints).
pub(crate) fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// A Kafka client configuration for the local broker.
pub(crate) fn kafka() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set(
        "bootstrap.servers",
        env_or("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    );
    config
}

/// Connection options for the local MariaDB, over the transport Sluice uses: TCP with
/// `TCP_NODELAY`. (mysql_async would otherwise switch to the server's unix socket, which moves
/// large statements faster than Sluice's JDBC-style TCP connection and would flatter the
/// baselines.)
pub(crate) fn mariadb_opts(database: Option<&str>) -> Result<mysql_async::OptsBuilder> {
    Ok(mysql_async::OptsBuilder::default()
        .ip_or_hostname(env_or("SLUICE_MARIADB_HOST", "127.0.0.1"))
        .tcp_port(env_or("SLUICE_MARIADB_PORT", "3307").parse()?)
        .user(Some(env_or("SLUICE_MARIADB_USER", "sluice")))
        .pass(Some(env_or("SLUICE_MARIADB_PASSWORD", "sluice")))
        .db_name(database.map(str::to_string))
        .prefer_socket(false)
        .tcp_nodelay(true))
}

/// A process's peak resident set size (VmHWM), in KiB.
pub(crate) fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A process's user + system CPU time so far, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            let f: Vec<&str> = t[t.rfind(')')? + 2..].split_whitespace().collect();
            Some((f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Writes `<dir>/worker.properties` for the local broker, with `offsets_topic` as
/// `offset.storage.topic` (one partition) and offsets flushed every 100 ms; returns its path.
pub(crate) fn worker_properties(
    dir: &std::path::Path,
    offsets_topic: &str,
) -> Result<std::path::PathBuf> {
    let worker = dir.join("worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\noffset.storage.topic={offsets_topic}\noffset.storage.replication.factor=1\n\
             offset.storage.partitions=1\noffset.flush.interval.ms=100\n{}\n",
            env_or("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            // Extra worker settings for one run, e.g. `sluice.memory.budget.bytes=16777216`.
            env_or("SLUICE_BENCH_WORKER", "").replace(';', "\n")
        ),
    )?;
    Ok(worker)
}

/// What one `sluice standalone` run cost.
pub(crate) struct ProcessRun {
    /// From spawning the process to `done` saying it finished.
    pub(crate) seconds: f64,
    /// From spawning the process to the first message of the watched topic being readable:
    /// its start-up (connections, stored offsets, topic creation) plus its first batch.
    pub(crate) first_message_seconds: Option<f64>,
    pub(crate) peak_rss_kb: u64,
    pub(crate) cpu_seconds: f64,
}

impl ProcessRun {
    /// The rate once running: `rows` over the time from the first message being readable to
    /// the end (start-up excluded, as the raw baselines exclude creating their clients).
    pub(crate) fn steady_rate(&self, rows: u64) -> Option<f64> {
        self.first_message_seconds
            .map(|first| rows as f64 / (self.seconds - first))
    }
}

/// Notices the first message on a topic that does not exist yet, without creating it (asking
/// the broker for a missing topic by name may auto-create it) and without reading the rest.
struct FirstMessage<'a> {
    topic: &'a str,
    consumer: BaseConsumer,
    assigned: bool,
    at: Option<Instant>,
}

impl<'a> FirstMessage<'a> {
    fn new(topic: &'a str) -> Result<Self> {
        let consumer = kafka()
            .set("group.id", format!("bench-first-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            // The broker holds a fetch with nothing to return at most 5 ms: the first message
            // is noticed within a loop turn (≈20 ms) of being readable.
            .set("fetch.wait.max.ms", "5")
            .create()?;
        Ok(Self {
            topic,
            consumer,
            assigned: false,
            at: None,
        })
    }

    /// One look; records the instant the first message is read, then stops reading.
    fn check(&mut self) -> Result<()> {
        if self.at.is_some() {
            return Ok(());
        }
        if !self.assigned {
            let metadata = self.consumer.fetch_metadata(None, Duration::from_secs(1))?;
            let Some(topic) = metadata.topics().iter().find(|t| t.name() == self.topic) else {
                return Ok(());
            };
            let mut list = TopicPartitionList::new();
            for p in topic.partitions() {
                list.add_partition_offset(self.topic, p.id(), Offset::Beginning)?;
            }
            self.consumer.assign(&list)?;
            self.assigned = true;
        }
        if let Some(message) = self.consumer.poll(Duration::ZERO) {
            message?;
            self.at = Some(Instant::now());
            self.consumer.unassign()?;
        }
        Ok(())
    }
}

/// Runs `sluice standalone <worker> <connectors>…` until `done` (called in a loop; it waits
/// a little itself) says the work is finished, tracking the process's peak RSS; then reads its
/// CPU time, stops it with SIGTERM and requires a clean exit. Fails if the process exits early
/// or takes longer than `limit`.
pub(crate) fn run_standalone(
    worker: &std::path::Path,
    connectors: &[&std::path::Path],
    limit: Duration,
    first_message_of: Option<&str>,
    mut done: impl FnMut() -> Result<bool>,
) -> Result<ProcessRun> {
    let mut first = first_message_of.map(FirstMessage::new).transpose()?;
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--log-level", "warn", "standalone"])
        .arg(worker)
        .args(connectors)
        .spawn()?;
    let pid = child.id();
    let mut peak_rss = 0;
    let seconds = loop {
        peak_rss = peak_rss.max(peak_rss_kb(pid));
        if let Some(first) = first.as_mut() {
            first.check()?;
        }
        if done()? {
            break started.elapsed().as_secs_f64();
        }
        if let Some(status) = child.try_wait()? {
            bail!("sluice exited early: {status}");
        }
        if started.elapsed() > limit {
            child.kill()?;
            bail!("sluice did not finish within {} s", limit.as_secs());
        }
    };
    let cpu = cpu_seconds(pid);
    peak_rss = peak_rss.max(peak_rss_kb(pid));
    sigterm(pid);
    let status = child.wait()?;
    if !status.success() {
        bail!("sluice exited with {status} after SIGTERM");
    }
    let first_message_seconds = match first {
        Some(first) => Some(
            first
                .at
                .with_context(|| format!("no message seen on {}", first.topic))?
                .duration_since(started)
                .as_secs_f64(),
        ),
        None => None,
    };
    Ok(ProcessRun {
        seconds,
        first_message_seconds,
        peak_rss_kb: peak_rss,
        cpu_seconds: cpu,
    })
}

/// Sends SIGTERM to a process (the graceful stop `sluice standalone` drains on).
pub(crate) fn sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

/// Reads every message of `topic` into memory.
pub(crate) fn read_all(topic: &str, rows: u64) -> Result<Vec<Vec<u8>>> {
    let consumer: BaseConsumer = kafka()
        .set("group.id", format!("bench-read-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut list = TopicPartitionList::new();
    for p in metadata.topics()[0].partitions() {
        list.add_partition_offset(topic, p.id(), Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    let mut out = Vec::with_capacity(rows as usize);
    let deadline = Instant::now() + Duration::from_secs(300);
    while (out.len() as u64) < rows && Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            out.push(message?.payload().unwrap_or_default().to_vec());
        }
    }
    if (out.len() as u64) < rows {
        bail!(
            "read only {} of {rows} messages back from {topic}",
            out.len()
        );
    }
    Ok(out)
}

/// A producer with Sluice's source producer settings.
pub(crate) fn sluice_like_producer() -> Result<ThreadedProducer<DefaultProducerContext>> {
    Ok(kafka()
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "50000")
        .set("queue.buffering.max.kbytes", "16384")
        .create()?)
}

/// The baseline: produce the identical bytes through rdkafka with Sluice's producer settings,
/// to a new topic of `partitions` partitions (Sluice's topic's count).
pub(crate) fn raw_produce(messages: &[Vec<u8>], partitions: i32) -> Result<f64> {
    let topic = format!("bench_raw_{}_{}", std::process::id(), messages.len());
    // Created before timing, with the partition count of Sluice's topic (a topic the broker
    // auto-creates on the first message gets its default count: 4 on tansu).
    let admin: AdminClient<DefaultClientContext> = kafka().create()?;
    let spec = TopicSpec {
        name: &topic,
        partitions,
        replication_factor: -1,
        configs: &[],
    };
    let created = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(ensure_topic(&admin, &spec))?;
    ensure!(created, "{topic} existed before the raw produce");
    let producer = sluice_like_producer()?;
    producer
        .send(BaseRecord::<(), [u8]>::to(&topic).payload(&messages[0][..]))
        .map_err(|(e, _)| e)?;
    producer.flush(Duration::from_secs(30))?;
    let started = Instant::now();
    for message in messages {
        send_waiting(
            &producer,
            BaseRecord::<(), [u8]>::to(&topic).payload(&message[..]),
        )?;
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(started.elapsed().as_secs_f64())
}

/// Sends `record`, waiting while the producer's queue is full.
pub(crate) fn send_waiting<K, P>(
    producer: &ThreadedProducer<DefaultProducerContext>,
    mut record: BaseRecord<'_, K, P>,
) -> Result<()>
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                back,
            )) => {
                record = back;
                std::thread::sleep(Duration::from_millis(2));
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}
