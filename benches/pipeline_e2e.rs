//! End-to-end pipeline benchmark: MariaDB → Kafka → MariaDB through one real `sluice standalone`
//! process running both connectors — the JDBC source on the seed's `users` table (incrementing
//! mode, one partition) and the JDBC sink upserting its topic into `users_copy` in the same
//! database. Runs once per capture mode (`sluice.capture=binlog`, then polling), each with a
//! fresh database, topics and consumer group, and measures:
//!
//! 1. `pipeline_burst`: N rows inserted in 1000-row statements; time from the first insert until
//!    every row is in `users_copy`; rows/s, the Sluice process's peak RSS and CPU per million rows.
//! 2. `pipeline_lag`: for each ingest rate, rows inserted for S seconds in small autocommit
//!    transactions (every 10 ms, rate/100 rows). Two lags per row, each from the instant its
//!    INSERT (its COMMIT) returned, with p50, p99 and max: to its message being read from the
//!    source topic by a consumer of the bench's own (the source's lag: COMMIT → readable), and
//!    to the row being visible in `users_copy` (the whole pipeline). Resolution: the topic
//!    consumer waits at most 5 ms per fetch; the table watcher polls every 5 ms.
//! 3. `pipeline_idle_db_load`: `Com_select` and `Questions` per second on the server while the
//!    pipeline idles, net of a baseline window of the same length taken before Sluice started
//!    (binlog capture adds no polling load; polling queries once per poll interval).
//! 4. `source_only`: the source alone (the sink's reads and writes no longer share the two
//!    cores and the binlog) at the highest ingest rate: first the inserter alone for S seconds
//!    (the baseline), then with a source-only `sluice standalone` for S seconds: a new
//!    connector with a new, empty topic, which reads the table's rows so far (polling from the
//!    start, binlog by its snapshot) before the window starts. Reports the topic lag as in 2,
//!    and the database load of each window — the server process's CPU (from /proc, when the
//!    server runs on this machine), `Com_select` and `Questions` per second — and the source's
//!    share: the second window minus the first. Then the broker's own lag in the same state,
//!    the baseline: the bench produces messages of the same size at the same instants to a new
//!    topic of its own (Sluice's producer settings) and reads them the same way.
//!
//!   scripts/services.sh up
//!   cargo bench --bench pipeline_e2e -- [--rows N] [--rates 1000,5000,10000] [--seconds S]
//!       [--capture binlog|polling|both] [--poll-ms N] [--idle-seconds S]
//!
//! Prints, per capture mode, a Markdown row and a JSON line for each measurement. Columns:
//! - burst `| scenario | rows | rows/s | peak RSS MB | CPU s / M rows |`;
//! - lag `| scenario | target rows/s | achieved rows/s | topic p50 ms | topic p99 ms | topic max
//!   ms | table p50 ms | table p99 ms | table max ms |`;
//! - idle `| scenario | seconds | net Com_select/s | net Questions/s | baseline Com_select/s |
//!   baseline Questions/s |`;
//! - source only `| scenario | achieved rows/s | topic p50 ms | topic p99 ms | topic max ms | raw
//!   produce p50 ms | raw produce p99 ms | raw produce max ms | server CPU % (inserter alone) | net server CPU % | net Com_select/s | net Questions/s |`.
//!
//! The broker's state matters: tansu's memory storage lists every batch of a partition on each
//! fetch, so a partition's lag grows with the batches it holds (the pipeline's topic over the
//! windows of 2), and the whole broker slows as it accumulates the data of earlier runs
//! (BENCHMARKS.md); restart it (`scripts/services.sh down && up`) between runs.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::{
    cpu_seconds, env_or, kafka, mariadb_opts, peak_rss_kb, send_waiting, sigterm,
    sluice_like_producer,
};

use anyhow::{Context, Result, bail, ensure};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// Rows per INSERT statement in the burst.
const BURST_STATEMENT_ROWS: u64 = 1000;
/// The inserter's tick in the lag scenario: one multi-row INSERT of rate/100 rows each.
const INSERT_TICK: Duration = Duration::from_millis(10);
/// The watcher's polling period in the lag scenario: the resolution of every lag figure.
const WATCH_TICK: Duration = Duration::from_millis(5);
/// The topic watcher's `fetch.wait.max.ms`: how long the broker may hold a fetch that has no
/// new message, the resolution of the topic lag.
const TOPIC_FETCH_WAIT_MS: u64 = 5;
/// How often the burst checks `users_copy`.
const BURST_POLL: Duration = Duration::from_millis(20);
/// Start-up (topic creation, consumer-group join: up to ≈20 s on tansu) or catching up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Binlog,
    Polling,
}

impl Capture {
    fn name(self) -> &'static str {
        match self {
            Capture::Binlog => "binlog",
            Capture::Polling => "polling",
        }
    }
}

struct Args {
    rows: u64,
    rates: Vec<u64>,
    seconds: u64,
    captures: Vec<Capture>,
    poll_ms: u64,
    idle_seconds: u64,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        rows: 100_000,
        rates: vec![1000, 5000, 10_000],
        seconds: 10,
        captures: vec![Capture::Binlog, Capture::Polling],
        poll_ms: 1000,
        idle_seconds: 10,
    };
    let number = |flag: &str, value: &str| -> Result<u64> {
        value
            .parse()
            .with_context(|| format!("{flag} expects a number, got {value:?}"))
    };
    let mut list = std::env::args().skip(1);
    while let Some(flag) = list.next() {
        // Cargo adds `--bench`; anything else unknown is ignored like the other benches do.
        let known = [
            "--rows",
            "--rates",
            "--seconds",
            "--capture",
            "--poll-ms",
            "--idle-seconds",
        ];
        if !known.contains(&flag.as_str()) {
            continue;
        }
        let value = list
            .next()
            .with_context(|| format!("{flag} expects a value"))?;
        match flag.as_str() {
            "--rows" => args.rows = number(&flag, &value)?,
            "--rates" => {
                args.rates = value
                    .split(',')
                    .map(|rate| number(&flag, rate.trim()))
                    .collect::<Result<_>>()?;
            }
            "--seconds" => args.seconds = number(&flag, &value)?,
            "--capture" => {
                args.captures = match value.as_str() {
                    "binlog" => vec![Capture::Binlog],
                    "polling" => vec![Capture::Polling],
                    "both" => vec![Capture::Binlog, Capture::Polling],
                    other => bail!("--capture expects binlog, polling or both, got {other:?}"),
                }
            }
            "--poll-ms" => args.poll_ms = number(&flag, &value)?,
            "--idle-seconds" => args.idle_seconds = number(&flag, &value)?,
            _ => unreachable!("every known flag is matched"),
        }
    }
    ensure!(args.rows > 0, "--rows must be positive");
    ensure!(
        args.rates.iter().all(|&rate| rate > 0),
        "--rates must be positive"
    );
    ensure!(
        args.seconds > 0 && args.idle_seconds > 0,
        "--seconds and --idle-seconds must be positive"
    );
    Ok(args)
}

/// Unique per run: process id and wall-clock nanoseconds.
struct Stamp {
    text: String,
    nanos: u128,
}

impl Stamp {
    fn new() -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_nanos();
        Ok(Self {
            text: format!("{}_{nanos}", std::process::id()),
            nanos,
        })
    }
}

async fn connect(database: Option<&str>) -> Result<Conn> {
    Conn::new(mariadb_opts(database)?)
        .await
        .context("MariaDB unreachable: run scripts/services.sh up")
}

/// `INSERT INTO users VALUES …` for the ids `first..first + count`.
fn insert_sql(first: u64, count: u64) -> Result<String> {
    let mut sql = String::with_capacity(32 + count as usize * 72);
    sql.push_str("INSERT INTO users VALUES ");
    for id in first..first + count {
        if id > first {
            sql.push(',');
        }
        write!(
            sql,
            "({id},'user{id}','pw{:06}','name-{id}',FROM_UNIXTIME({}.{:03}))",
            id % 1_000_000,
            1_600_000_000 + id,
            id % 1000
        )?;
    }
    Ok(sql)
}

fn is_missing_table(error: &mysql_async::Error) -> bool {
    matches!(error, mysql_async::Error::Server(server) if server.code == 1146)
}

/// The highest id in `users_copy` (0 while the sink has not created it yet).
async fn copied_max_id(conn: &mut Conn) -> Result<u64> {
    match conn
        .query_first::<Option<u64>, _>("SELECT MAX(id) FROM users_copy")
        .await
    {
        Ok(max) => Ok(max.flatten().unwrap_or(0)),
        Err(error) if is_missing_table(&error) => Ok(0),
        Err(error) => Err(error).context("SELECT MAX(id) FROM users_copy"),
    }
}

/// The server's cumulative `Com_select` and `Questions` counters.
#[derive(Clone, Copy)]
struct Counters {
    com_select: u64,
    questions: u64,
}

async fn global_counters(conn: &mut Conn) -> Result<Counters> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Questions')")
        .await
        .context("SHOW GLOBAL STATUS")?;
    let counter = |name: &str| -> Result<u64> {
        let (_, value) = rows
            .iter()
            .find(|(variable, _)| variable.eq_ignore_ascii_case(name))
            .with_context(|| format!("SHOW GLOBAL STATUS has no {name}"))?;
        value
            .parse()
            .with_context(|| format!("{name} is not a number: {value:?}"))
    };
    Ok(Counters {
        com_select: counter("Com_select")?,
        questions: counter("Questions")?,
    })
}

/// Counter rates over a window.
#[derive(Clone, Copy)]
struct Load {
    com_select_per_second: f64,
    questions_per_second: f64,
}

/// Samples the counters, sleeps `seconds` without touching the server, samples again.
async fn measure_load(conn: &mut Conn, seconds: u64) -> Result<Load> {
    let before = global_counters(conn).await?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let after = global_counters(conn).await?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Load {
        com_select_per_second: (after.com_select - before.com_select) as f64 / elapsed,
        questions_per_second: (after.questions - before.questions) as f64 / elapsed,
    })
}

/// A client for metadata and watermark requests.
fn metadata_client() -> Result<BaseConsumer> {
    kafka()
        .set(
            "group.id",
            format!("bench-pipeline-meta-{}", std::process::id()),
        )
        .create()
        .context("cannot create a Kafka client")
}

/// The number of partitions of `topic`, from the broker's metadata (0: no such topic).
fn topic_partitions(topic: &str) -> Result<usize> {
    let consumer = metadata_client()?;
    // Every topic's metadata, not the one topic's: asking for a missing topic by name may
    // create it (tansu auto-creates topics, with 4 partitions).
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .with_context(|| format!("cannot read the metadata of {topic}"))?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len()))
}

/// The source's `topic.prefix`.
fn topic_prefix(capture: Capture, stamp: &Stamp, role: Role) -> String {
    match role {
        Role::Pipeline => format!("bench_pipe_{}_{}_", stamp.text, capture.name()),
        Role::FreshSource => format!("bench_pipe_only_{}_{}_", stamp.text, capture.name()),
    }
}

/// What a `sluice standalone` process of the bench runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The source and the sink.
    Pipeline,
    /// A source alone, as a new connector with a topic of its own: no stored offset, so it
    /// reads the table's rows first (polling from id 0, binlog by its snapshot), then streams.
    /// Its topic starts empty: tansu's fetch cost grows with the number of batches already in
    /// a partition (see BENCHMARKS.md), so a topic that old windows filled would measure the
    /// broker's state, not the source.
    FreshSource,
}

/// One `sluice standalone` process running the source and the sink. Killed if dropped while
/// still running (a failed bench); [`SluiceProcess::stop`] is the graceful, checked stop.
struct SluiceProcess {
    child: tokio::process::Child,
    pid: u32,
    dir: PathBuf,
    topic: String,
}

impl SluiceProcess {
    fn start(
        capture: Capture,
        database: &str,
        stamp: &Stamp,
        poll_ms: u64,
        role: Role,
    ) -> Result<Self> {
        let capture_name = capture.name();
        let dir = std::env::temp_dir().join(format!("sluice-pipeline-bench-{}", stamp.text));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir:?}"))?;
        let host = env_or("SLUICE_MARIADB_HOST", "127.0.0.1");
        let port = env_or("SLUICE_MARIADB_PORT", "3307");
        let url = format!("jdbc:mysql://{host}:{port}/{database}");
        let user = env_or("SLUICE_MARIADB_USER", "sluice");
        let password = env_or("SLUICE_MARIADB_PASSWORD", "sluice");
        let prefix = topic_prefix(capture, stamp, role);
        let topic = format!("{prefix}users");
        let source_name = match role {
            Role::Pipeline => format!("bench-pipe-source-{}-{capture_name}", stamp.text),
            Role::FreshSource => format!("bench-pipe-only-{}-{capture_name}", stamp.text),
        };

        let worker = dir.join("worker.properties");
        std::fs::write(
            &worker,
            format!(
                "bootstrap.servers={}\noffset.storage.topic=bench_pipe_offsets_{}_{capture_name}\n\
                 offset.storage.replication.factor=1\noffset.storage.partitions=1\n\
                 offset.flush.interval.ms=100\n",
                env_or("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
                stamp.text
            ),
        )
        .context("cannot write worker.properties")?;

        let mut source = serde_json::json!({
            "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
            "connection.url": url,
            "connection.user": user,
            "connection.password": password,
            "mode": "incrementing",
            "incrementing.column.name": "id",
            "table.whitelist": "users",
            "topic.prefix": prefix,
            // One partition: the sink writes in commit order, so MAX(id) in users_copy says
            // which rows are visible.
            "topic.creation.default.partitions": "1",
            "topic.creation.default.replication.factor": "1",
        });
        match capture {
            Capture::Binlog => {
                source["sluice.capture"] = "binlog".into();
                // A replica id of its own, so concurrent runs never clash on the server.
                let server_id =
                    1000 + (stamp.nanos % 59_000) as u32 + u32::from(role == Role::FreshSource);
                source["sluice.binlog.server.id"] = server_id.to_string().into();
            }
            Capture::Polling => source["poll.interval.ms"] = poll_ms.to_string().into(),
        }
        let source_file = dir.join("source.json");
        std::fs::write(
            &source_file,
            serde_json::json!({
                "name": source_name,
                "config": source,
            })
            .to_string(),
        )
        .context("cannot write source.json")?;

        let sink_file = dir.join("sink.json");
        std::fs::write(
            &sink_file,
            serde_json::json!({
                "name": format!("bench-pipe-sink-{}-{capture_name}", stamp.text),
                "config": {
                    "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
                    "connection.url": url,
                    "connection.user": user,
                    "connection.password": password,
                    "topics": topic,
                    "insert.mode": "upsert",
                    "pk.mode": "record_value",
                    "pk.fields": "id",
                    "auto.create": "true",
                    "table.name.format": "users_copy",
                }
            })
            .to_string(),
        )
        .context("cannot write sink.json")?;

        let connectors = match role {
            Role::Pipeline => vec![source_file, sink_file],
            Role::FreshSource => vec![source_file],
        };
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["--log-level", "warn", "standalone"])
            .arg(&worker)
            .args(&connectors)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start sluice")?;
        let pid = child.id().context("sluice exited at once")?;
        Ok(Self {
            child,
            pid,
            dir,
            topic,
        })
    }

    fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("sluice exited early: {status}");
        }
        Ok(())
    }

    /// SIGTERM, then the exit status, which must be success.
    async fn stop(mut self) -> Result<()> {
        sigterm(self.pid);
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("sluice did not exit within 60 s of SIGTERM")??;
        ensure!(
            status.success(),
            "sluice exited with {status} after SIGTERM"
        );
        Ok(())
    }
}

impl Drop for SluiceProcess {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `users_copy` every `period` until it holds `last_id`; returns that instant.
async fn wait_until_copied(
    conn: &mut Conn,
    sluice: &mut SluiceProcess,
    last_id: u64,
    period: Duration,
) -> Result<Instant> {
    let started = Instant::now();
    loop {
        if copied_max_id(conn).await? >= last_id {
            return Ok(Instant::now());
        }
        sluice.ensure_running()?;
        if started.elapsed() > CATCH_UP_TIMEOUT {
            bail!(
                "id {last_id} did not reach users_copy within {} s",
                CATCH_UP_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(period).await;
    }
}

struct BurstRun {
    rows: u64,
    seconds: f64,
    insert_seconds: f64,
    peak_rss_kb: u64,
    cpu_seconds: f64,
}

/// Inserts ids `first..first + rows` in 1000-row statements and waits until all are copied.
///
/// Completion is polled with `MAX(id)` (cheap: the sink writes the single partition in order, so
/// the last id present means all are) and then confirmed with `COUNT(*)`, which would otherwise
/// scan the whole table every 20 ms and compete with the sink for the two cores.
async fn burst(
    writer: &mut Conn,
    watcher: &mut Conn,
    sluice: &mut SluiceProcess,
    first: u64,
    rows: u64,
) -> Result<BurstRun> {
    let cpu_before = cpu_seconds(sluice.pid);
    let started = Instant::now();
    let end = first + rows;
    let mut id = first;
    while id < end {
        let count = BURST_STATEMENT_ROWS.min(end - id);
        writer
            .query_drop(insert_sql(id, count)?)
            .await
            .context("burst INSERT")?;
        id += count;
    }
    let insert_seconds = started.elapsed().as_secs_f64();
    let copied = wait_until_copied(watcher, sluice, end - 1, BURST_POLL).await?;
    let cpu = cpu_seconds(sluice.pid) - cpu_before;
    let copied_rows: u64 = watcher
        .query_first("SELECT COUNT(*) FROM users_copy")
        .await?
        .unwrap_or(0);
    ensure!(
        copied_rows == end - 1,
        "users_copy holds {copied_rows} rows, expected {}",
        end - 1
    );
    Ok(BurstRun {
        rows,
        seconds: copied.duration_since(started).as_secs_f64(),
        insert_seconds,
        peak_rss_kb: peak_rss_kb(sluice.pid),
        cpu_seconds: cpu,
    })
}

/// A committed INSERT: ids `first..=last`, committed when the statement returned at `at`.
struct Commit {
    first: u64,
    last: u64,
    at: Instant,
}

/// A watcher saw ids up to `max_id` (in `users_copy`, or read from the topic) at `at`.
struct Sighting {
    max_id: u64,
    at: Instant,
}

/// p50, p99 and max of one set of row lags, in milliseconds.
struct Percentiles {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Percentiles {
    fn of(mut lags: Vec<Duration>) -> Percentiles {
        lags.sort_unstable();
        Percentiles {
            p50_ms: percentile_ms(&lags, 0.50),
            p99_ms: percentile_ms(&lags, 0.99),
            max_ms: percentile_ms(&lags, 1.0),
        }
    }
}

struct LagRun {
    rate: u64,
    rows: u64,
    achieved_rate: f64,
    /// COMMIT → the row's message read from the source topic.
    topic: Percentiles,
    /// COMMIT → the row visible in `users_copy`.
    table: Percentiles,
}

/// Inserts `rate` rows/s from id `first` for `seconds`: every 10 ms one autocommit INSERT of the
/// rows due by then (rate/100), catching up on late ticks.
async fn insert_at_rate(
    writer: &mut Conn,
    first: u64,
    rate: u64,
    seconds: u64,
) -> Result<(Vec<Commit>, f64)> {
    let ticks = seconds * 1000 / INSERT_TICK.as_millis() as u64;
    let per_second = 1000 / INSERT_TICK.as_millis() as u64;
    let mut commits = Vec::with_capacity(ticks as usize);
    let mut interval = tokio::time::interval(INSERT_TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut next_id = first;
    for tick in 1..=ticks {
        interval.tick().await;
        let due = first + rate * tick / per_second;
        if due == next_id {
            continue;
        }
        writer
            .query_drop(insert_sql(next_id, due - next_id)?)
            .await
            .context("rate INSERT")?;
        commits.push(Commit {
            first: next_id,
            last: due - 1,
            at: Instant::now(),
        });
        next_id = due;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((commits, (next_id - first) as f64 / elapsed))
}

/// Polls `MAX(id)` every 5 ms and records each increase, until `last_id` (sent once the inserter
/// is done) is visible.
async fn watch_copies(
    mut conn: Conn,
    mut last_id: watch::Receiver<Option<u64>>,
) -> Result<Vec<Sighting>> {
    let mut sightings = Vec::new();
    let mut interval = tokio::time::interval(WATCH_TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut seen = copied_max_id(&mut conn).await?;
    loop {
        interval.tick().await;
        let max_id = copied_max_id(&mut conn).await?;
        if max_id > seen {
            sightings.push(Sighting {
                max_id,
                at: Instant::now(),
            });
            seen = max_id;
        }
        if last_id.borrow_and_update().is_some_and(|last| seen >= last) {
            conn.disconnect().await?;
            return Ok(sightings);
        }
    }
}

/// The high watermark of partition 0 of `topic`. (tansu under-reports it after multi-message
/// produce batches, FINDINGS.md: it is only where a [`TopicWatcher`] starts reading, never
/// taken as the end of the topic.)
fn high_watermark(topic: &str) -> Result<i64> {
    let consumer = metadata_client()?;
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .with_context(|| format!("cannot read the end offset of {topic}"))?;
    Ok(high)
}

/// The `payload.id` of a JsonConverter message.
fn payload_id(value: Option<&[u8]>) -> Result<u64> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        payload: Payload,
    }
    #[derive(serde::Deserialize)]
    struct Payload {
        id: u64,
    }
    let value = value.context("a message without a value on the source topic")?;
    let envelope: Envelope =
        serde_json::from_slice(value).context("a message without payload.id on the topic")?;
    Ok(envelope.payload.id)
}

/// A consumer of the source topic on a thread of its own, recording when each id is first read
/// (the instant a consumer can read it: a fetch returns as soon as a message is there, or
/// after [`TOPIC_FETCH_WAIT_MS`]).
struct TopicWatcher {
    /// The highest id read so far.
    seen: Arc<AtomicU64>,
    /// Where to stop: sent once the inserter is done. Dropping it ends the thread.
    last_id: watch::Sender<Option<u64>>,
    thread: tokio::task::JoinHandle<Result<Vec<Sighting>>>,
    topic: String,
}

impl TopicWatcher {
    /// Starts reading partition 0 of `topic` at its last message (or before it).
    async fn start(topic: &str) -> Result<TopicWatcher> {
        let name = topic.to_string();
        let high = tokio::task::spawn_blocking(move || high_watermark(&name)).await??;
        let start = (high - 1).max(0);
        let seen = Arc::new(AtomicU64::new(0));
        let (last_id, last_id_rx) = watch::channel(None);
        let (name, progress) = (topic.to_string(), seen.clone());
        let thread =
            tokio::task::spawn_blocking(move || Self::run(&name, start, last_id_rx, &progress));
        Ok(TopicWatcher {
            seen,
            last_id,
            thread,
            topic: topic.to_string(),
        })
    }

    /// Reads as a plain consumer (no group, nothing committed) and records each increase of
    /// the highest id read, until the last id is read; fails once the sender is gone.
    fn run(
        topic: &str,
        start: i64,
        mut last_id: watch::Receiver<Option<u64>>,
        progress: &AtomicU64,
    ) -> Result<Vec<Sighting>> {
        let consumer: BaseConsumer = kafka()
            .set(
                "group.id",
                format!("bench-pipeline-topic-{}", std::process::id()),
            )
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", TOPIC_FETCH_WAIT_MS.to_string())
            .create()
            .context("cannot create a Kafka consumer")?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, 0, Offset::Offset(start))?;
        consumer.assign(&assignment)?;
        let mut sightings = Vec::new();
        let mut seen = 0;
        loop {
            if let Some(message) = consumer.poll(Duration::from_millis(TOPIC_FETCH_WAIT_MS)) {
                let at = Instant::now();
                let id = payload_id(message.context("consume the source topic")?.payload())?;
                if id > seen {
                    sightings.push(Sighting { max_id: id, at });
                    seen = id;
                    progress.store(seen, Ordering::Relaxed);
                }
            }
            if last_id.borrow_and_update().is_some_and(|last| seen >= last) {
                return Ok(sightings);
            }
            if last_id.has_changed().is_err() {
                bail!("the run ended before id {} was read", seen + 1);
            }
        }
    }

    /// Waits until ids up to `id` have been read (the messages already on the topic, or a
    /// source catching up).
    async fn wait_for(&self, id: u64, sluice: &mut SluiceProcess) -> Result<()> {
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        while self.seen.load(Ordering::Relaxed) < id {
            sluice.ensure_running()?;
            ensure!(
                !self.thread.is_finished(),
                "the topic watcher stopped before id {id}"
            );
            ensure!(
                Instant::now() < deadline,
                "id {id} was not read from {} within {} s (read up to {})",
                sluice.topic,
                CATCH_UP_TIMEOUT.as_secs(),
                self.seen.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Reads until `last` and returns what was seen (`sluice`: the process writing the topic,
    /// if any, which must keep running).
    async fn finish(
        self,
        last: u64,
        mut sluice: Option<&mut SluiceProcess>,
    ) -> Result<Vec<Sighting>> {
        // A watcher that already failed has dropped its receiver: its error comes below.
        let _ = self.last_id.send(Some(last));
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        while !self.thread.is_finished() {
            if let Some(sluice) = sluice.as_mut() {
                sluice.ensure_running()?;
            }
            ensure!(
                Instant::now() < deadline,
                "id {last} was not read from {} within {} s (read up to {})",
                self.topic,
                CATCH_UP_TIMEOUT.as_secs(),
                self.seen.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.thread
            .await
            .context("the topic watcher panicked")?
            .context("reading the source topic")
    }
}

/// Each row's lag: the first sighting that includes its id, minus its commit.
fn row_lags(commits: &[Commit], sightings: &[Sighting]) -> Result<Vec<Duration>> {
    let mut lags = Vec::new();
    let mut sighting = sightings.iter().peekable();
    for commit in commits {
        for id in commit.first..=commit.last {
            while sighting.next_if(|s| s.max_id < id).is_some() {}
            let seen = sighting
                .peek()
                .with_context(|| format!("id {id} was never seen"))?;
            lags.push(seen.at.saturating_duration_since(commit.at));
        }
    }
    Ok(lags)
}

/// The nearest-rank percentile of sorted durations, in milliseconds.
fn percentile_ms(sorted: &[Duration], quantile: f64) -> f64 {
    let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

async fn lag_at_rate(
    writer: &mut Conn,
    database: &str,
    sluice: &mut SluiceProcess,
    first: u64,
    rate: u64,
    seconds: u64,
) -> Result<LagRun> {
    // Every earlier row is in users_copy, so on the topic: read to there before inserting.
    let topic_watcher = TopicWatcher::start(&sluice.topic).await?;
    topic_watcher.wait_for(first - 1, sluice).await?;
    let (last_id_tx, last_id_rx) = watch::channel(None);
    // A separate connection in a separate task, so the watcher never waits for an INSERT.
    let mut watcher = tokio::spawn(watch_copies(connect(Some(database)).await?, last_id_rx));
    let watched = async {
        let (commits, achieved_rate) = insert_at_rate(writer, first, rate, seconds).await?;
        let last = commits
            .last()
            .context("the inserter inserted nothing")?
            .last;
        // A watcher that already failed has dropped its receiver: its error is reported below.
        let _ = last_id_tx.send(Some(last));
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        let sightings = loop {
            match tokio::time::timeout(Duration::from_millis(200), &mut watcher).await {
                Ok(joined) => break joined.context("the watcher failed")??,
                Err(_) => {
                    sluice.ensure_running()?;
                    ensure!(
                        Instant::now() < deadline,
                        "id {last} did not reach users_copy within {} s",
                        CATCH_UP_TIMEOUT.as_secs()
                    );
                }
            }
        };
        anyhow::Ok((commits, achieved_rate, sightings))
    }
    .await;
    // No-op once it finished; otherwise (an error above) stops its polling.
    watcher.abort();
    // After an error, returning drops the topic watcher, which ends its thread.
    let (commits, achieved_rate, sightings) = watched?;
    let last = commits.last().map_or(0, |c| c.last);
    let topic_sightings = topic_watcher.finish(last, Some(sluice)).await?;
    let table = row_lags(&commits, &sightings).context("in users_copy")?;
    let topic = row_lags(&commits, &topic_sightings).context("on the topic")?;
    Ok(LagRun {
        rate,
        rows: table.len() as u64,
        achieved_rate,
        topic: Percentiles::of(topic),
        table: Percentiles::of(table),
    })
}

/// The MariaDB server's process id, from its `pid_file` (`None` when it is not readable here:
/// the server runs on another machine).
async fn server_pid(conn: &mut Conn) -> Option<u32> {
    let file: String = conn.query_first("SELECT @@pid_file").await.ok()??;
    let pid = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    std::path::Path::new(&format!("/proc/{pid}/stat"))
        .exists()
        .then_some(pid)
}

/// The server's load over one ingest window.
struct IngestLoad {
    /// The server process's CPU time over the window, in % of one core.
    server_cpu_percent: Option<f64>,
    com_select_per_second: f64,
    questions_per_second: f64,
}

/// [`insert_at_rate`], with the server's load over it (counters read on `admin`).
async fn measured_ingest(
    writer: &mut Conn,
    admin: &mut Conn,
    server_pid: Option<u32>,
    first: u64,
    rate: u64,
    seconds: u64,
) -> Result<(Vec<Commit>, f64, IngestLoad)> {
    let before = global_counters(admin).await?;
    let cpu_before = server_pid.map(cpu_seconds);
    let started = Instant::now();
    let (commits, achieved) = insert_at_rate(writer, first, rate, seconds).await?;
    let cpu_after = server_pid.map(cpu_seconds);
    let elapsed = started.elapsed().as_secs_f64();
    let after = global_counters(admin).await?;
    let load = IngestLoad {
        server_cpu_percent: cpu_before
            .zip(cpu_after)
            .map(|(b, a)| (a - b) / elapsed * 100.0),
        com_select_per_second: (after.com_select - before.com_select) as f64 / elapsed,
        questions_per_second: (after.questions - before.questions) as f64 / elapsed,
    };
    Ok((commits, achieved, load))
}

#[derive(Clone, Copy)]
struct SourceOnly<'a> {
    capture: Capture,
    database: &'a str,
    stamp: &'a Stamp,
    poll_ms: u64,
    server_pid: Option<u32>,
    rate: u64,
    seconds: u64,
}

struct SourceOnlyRun {
    rate: u64,
    seconds: u64,
    rows: u64,
    achieved_rate: f64,
    /// COMMIT → the row's message read from the source topic.
    topic: Percentiles,
    /// The baseline: handed to a producer → read, same sizes and instants, same broker state.
    raw_produce: Percentiles,
    baseline: IngestLoad,
    with_source: IngestLoad,
}

/// Scenario 4: the inserter alone, then a source-only Sluice (a new connector writing a new
/// topic: it reads the rows so far, then streams) with the topic watcher, each for `seconds` at
/// `rate`; then the raw-produce baseline. `first`: the next id to insert.
async fn source_only(
    run: SourceOnly<'_>,
    writer: &mut Conn,
    admin: &mut Conn,
    first: u64,
) -> Result<SourceOnlyRun> {
    let (commits, _, baseline) =
        measured_ingest(writer, admin, run.server_pid, first, run.rate, run.seconds).await?;
    let first = commits
        .last()
        .context("the inserter inserted nothing")?
        .last
        + 1;
    let mut sluice = SluiceProcess::start(
        run.capture,
        run.database,
        run.stamp,
        run.poll_ms,
        Role::FreshSource,
    )?;
    // The watcher reads partition 0 from its end, so the topic must exist first (Sluice
    // creates it with one partition; asking the broker for it by name would create it).
    let deadline = Instant::now() + CATCH_UP_TIMEOUT;
    let partitions = loop {
        let topic = sluice.topic.clone();
        let partitions = tokio::task::spawn_blocking(move || topic_partitions(&topic)).await??;
        if partitions > 0 {
            break partitions;
        }
        sluice.ensure_running()?;
        ensure!(
            Instant::now() < deadline,
            "{} was not created within {} s",
            sluice.topic,
            CATCH_UP_TIMEOUT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    ensure!(
        partitions == 1,
        "{} has {partitions} partitions, expected 1",
        sluice.topic
    );
    let watcher = TopicWatcher::start(&sluice.topic).await?;
    // Caught up: every row so far (ids up to first - 1) has been read from the topic.
    watcher.wait_for(first - 1, &mut sluice).await?;
    let (commits, achieved_rate, with_source) =
        measured_ingest(writer, admin, run.server_pid, first, run.rate, run.seconds).await?;
    let last = commits
        .last()
        .context("the inserter inserted nothing")?
        .last;
    let sightings = watcher.finish(last, Some(&mut sluice)).await?;
    sluice.stop().await?;
    let lags = row_lags(&commits, &sightings).context("on the topic")?;
    let raw = raw_produce_lags(run, &commits).await?;
    Ok(SourceOnlyRun {
        rate: run.rate,
        seconds: run.seconds,
        rows: lags.len() as u64,
        achieved_rate,
        topic: Percentiles::of(lags),
        raw_produce: Percentiles::of(raw),
        baseline,
        with_source,
    })
}

/// The broker's own lag at the same moment, the baseline of the source-only topic lag: the
/// bench produces, to a topic of its own, as many messages of the same size at the same instants
/// as the source's rows were committed (relative to the first), with Sluice's producer settings,
/// and the same watcher reads them. A row's lag runs from the instant its message was handed
/// to the producer.
async fn raw_produce_lags(run: SourceOnly<'_>, commits: &[Commit]) -> Result<Vec<Duration>> {
    let topic = format!("bench_pipe_raw_{}_{}", run.stamp.text, run.capture.name());
    // Each tick's rows as (count, offset from the first commit).
    let first = commits.first().context("no commits")?;
    let ticks: Vec<(u64, Duration)> = commits
        .iter()
        .map(|c| (c.last - c.first + 1, c.at.duration_since(first.at)))
        .collect();
    // One producer throughout: it creates the topic with id 1.
    let name = topic.clone();
    let producer = tokio::task::spawn_blocking(move || -> Result<_> {
        let producer = sluice_like_producer()?;
        send_id(&producer, &name, 1)?;
        producer.flush(Duration::from_secs(60))?;
        Ok(producer)
    })
    .await??;
    let watcher = TopicWatcher::start(&topic).await?;
    let name = topic.clone();
    let producing = tokio::task::spawn_blocking(move || -> Result<Vec<Commit>> {
        let started = Instant::now();
        let mut next = 2;
        let mut sent = Vec::with_capacity(ticks.len());
        for (count, offset) in ticks {
            if let Some(wait) = offset.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            let at = Instant::now();
            for id in next..next + count {
                send_id(&producer, &name, id)?;
            }
            sent.push(Commit {
                first: next,
                last: next + count - 1,
                at,
            });
            next += count;
        }
        producer.flush(Duration::from_secs(60))?;
        Ok(sent)
    });
    let sent = producing.await.context("the raw producer panicked")??;
    let last = sent.last().context("nothing produced")?.last;
    let sightings = watcher.finish(last, None).await?;
    row_lags(&sent, &sightings).context("on the raw topic")
}

/// A message of the bench's users row size (≈490 bytes) whose `payload.id` is `id`.
fn id_message(id: u64) -> String {
    format!(
        r#"{{"schema":null,"payload":{{"id":{id},"pad":"{:0>440}"}}}}"#,
        id
    )
}

/// Sends `id_message(id)` to `topic`, waiting while the producer's queue is full.
fn send_id(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    id: u64,
) -> Result<()> {
    let message = id_message(id);
    // Partition 0: the watcher reads that one (an auto-created topic has several).
    send_waiting(
        producer,
        BaseRecord::<(), str>::to(topic)
            .payload(&message)
            .partition(0),
    )
}

struct IdleLoad {
    seconds: u64,
    baseline: Load,
    with_sluice: Load,
}

/// The measurements of one capture mode, in a fresh database.
async fn run_capture(args: &Args, capture: Capture, database: &str) -> Result<()> {
    let stamp = Stamp::new()?;
    let mut admin = connect(None).await?;
    admin
        .query_drop(format!("CREATE DATABASE `{database}`"))
        .await
        .with_context(|| format!("CREATE DATABASE {database}"))?;
    let mut writer = connect(Some(database)).await?;
    writer
        .query_drop(
            "CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id VARCHAR(32), \
             pwd VARCHAR(32), name VARCHAR(64), created_at TIMESTAMP(3) NULL)",
        )
        .await
        .context("CREATE TABLE users")?;
    let mut watcher = connect(Some(database)).await?;

    eprintln!(
        "[{}] baseline database load for {} s …",
        capture.name(),
        args.idle_seconds
    );
    let baseline = measure_load(&mut admin, args.idle_seconds).await?;

    let server_pid = server_pid(&mut admin).await;
    let mut sluice = SluiceProcess::start(capture, database, &stamp, args.poll_ms, Role::Pipeline)?;
    eprintln!("[{}] waiting for the warm-up row …", capture.name());
    writer.query_drop(insert_sql(1, 1)?).await?;
    let started = Instant::now();
    wait_until_copied(&mut watcher, &mut sluice, 1, BURST_POLL).await?;
    eprintln!(
        "[{}] pipeline running after {:.1} s",
        capture.name(),
        started.elapsed().as_secs_f64()
    );
    let topic = sluice.topic.clone();
    let partitions = tokio::task::spawn_blocking(move || topic_partitions(&topic)).await??;
    ensure!(
        partitions == 1,
        "{} has {partitions} partitions, expected 1",
        sluice.topic
    );

    let mut next_id = 2;
    eprintln!("[{}] burst of {} rows …", capture.name(), args.rows);
    let burst = burst(&mut writer, &mut watcher, &mut sluice, next_id, args.rows).await?;
    next_id += args.rows;
    drop(watcher);

    let mut lags = Vec::with_capacity(args.rates.len());
    for &rate in &args.rates {
        eprintln!(
            "[{}] {rate} rows/s for {} s …",
            capture.name(),
            args.seconds
        );
        let run = lag_at_rate(
            &mut writer,
            database,
            &mut sluice,
            next_id,
            rate,
            args.seconds,
        )
        .await?;
        next_id += run.rows;
        lags.push(run);
    }

    eprintln!(
        "[{}] idle database load for {} s …",
        capture.name(),
        args.idle_seconds
    );
    // Let the last offset commits and flushes settle before the window.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let with_sluice = measure_load(&mut admin, args.idle_seconds).await?;
    sluice.ensure_running()?;
    let idle = IdleLoad {
        seconds: args.idle_seconds,
        baseline,
        with_sluice,
    };

    sluice.stop().await?;

    let rate = *args.rates.iter().max().context("no ingest rate")?;
    eprintln!(
        "[{}] source only: {rate} rows/s for {} s without Sluice, then with the source …",
        capture.name(),
        args.seconds
    );
    let source = source_only(
        SourceOnly {
            capture,
            database,
            stamp: &stamp,
            poll_ms: args.poll_ms,
            server_pid,
            rate,
            seconds: args.seconds,
        },
        &mut writer,
        &mut admin,
        next_id,
    )
    .await?;
    writer.disconnect().await?;
    admin.disconnect().await?;
    report(capture, &burst, &lags, &idle, &source);
    Ok(())
}

fn report(
    capture: Capture,
    burst: &BurstRun,
    lags: &[LagRun],
    idle: &IdleLoad,
    source: &SourceOnlyRun,
) {
    let capture = capture.name();
    let rows = burst.rows as f64;
    let rate = rows / burst.seconds;
    let rss_mb = burst.peak_rss_kb as f64 / 1024.0;
    let cpu_per_million = burst.cpu_seconds / rows * 1e6;
    println!(
        "| pipeline burst ({capture}) | {} | {rate:.0} | {rss_mb:.1} | {cpu_per_million:.1} |",
        burst.rows
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "pipeline_burst",
            "capture": capture,
            "rows": burst.rows,
            "seconds": burst.seconds,
            "insert_seconds": burst.insert_seconds,
            "sluice_rows_per_second": rate,
            "sluice_peak_rss_mb": rss_mb,
            "sluice_cpu_seconds_per_million_rows": cpu_per_million,
        })
    );
    for lag in lags {
        let (topic, table) = (&lag.topic, &lag.table);
        println!(
            "| pipeline lag ({capture}) | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            lag.rate,
            lag.achieved_rate,
            topic.p50_ms,
            topic.p99_ms,
            topic.max_ms,
            table.p50_ms,
            table.p99_ms,
            table.max_ms
        );
        println!(
            "{}",
            serde_json::json!({
                "scenario": "pipeline_lag",
                "capture": capture,
                "rate": lag.rate,
                "rows": lag.rows,
                "achieved_rows_per_second": lag.achieved_rate,
                "topic_lag_p50_ms": topic.p50_ms,
                "topic_lag_p99_ms": topic.p99_ms,
                "topic_lag_max_ms": topic.max_ms,
                "topic_fetch_wait_ms": TOPIC_FETCH_WAIT_MS,
                "lag_p50_ms": table.p50_ms,
                "lag_p99_ms": table.p99_ms,
                "lag_max_ms": table.max_ms,
                "resolution_ms": WATCH_TICK.as_secs_f64() * 1000.0,
            })
        );
    }
    let net_select = idle.with_sluice.com_select_per_second - idle.baseline.com_select_per_second;
    let net_questions = idle.with_sluice.questions_per_second - idle.baseline.questions_per_second;
    println!(
        "| pipeline idle DB load ({capture}) | {} | {net_select:.2} | {net_questions:.2} | {:.2} | {:.2} |",
        idle.seconds, idle.baseline.com_select_per_second, idle.baseline.questions_per_second
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "pipeline_idle_db_load",
            "capture": capture,
            "seconds": idle.seconds,
            "com_select_per_second": net_select,
            "questions_per_second": net_questions,
            "baseline_com_select_per_second": idle.baseline.com_select_per_second,
            "baseline_questions_per_second": idle.baseline.questions_per_second,
            "idle_com_select_per_second": idle.with_sluice.com_select_per_second,
            "idle_questions_per_second": idle.with_sluice.questions_per_second,
        })
    );
    let (base, with) = (&source.baseline, &source.with_source);
    let net_cpu = base
        .server_cpu_percent
        .zip(with.server_cpu_percent)
        .map(|(b, w)| w - b);
    let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
    println!(
        "| source only ({capture}) | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.2} | {:.2} |",
        source.achieved_rate,
        source.topic.p50_ms,
        source.topic.p99_ms,
        source.topic.max_ms,
        source.raw_produce.p50_ms,
        source.raw_produce.p99_ms,
        source.raw_produce.max_ms,
        cell(base.server_cpu_percent),
        cell(net_cpu),
        with.com_select_per_second - base.com_select_per_second,
        with.questions_per_second - base.questions_per_second,
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "source_only",
            "capture": capture,
            "rate": source.rate,
            "seconds": source.seconds,
            "rows": source.rows,
            "achieved_rows_per_second": source.achieved_rate,
            "topic_lag_p50_ms": source.topic.p50_ms,
            "topic_lag_p99_ms": source.topic.p99_ms,
            "topic_lag_max_ms": source.topic.max_ms,
            "topic_fetch_wait_ms": TOPIC_FETCH_WAIT_MS,
            "raw_produce_lag_p50_ms": source.raw_produce.p50_ms,
            "raw_produce_lag_p99_ms": source.raw_produce.p99_ms,
            "raw_produce_lag_max_ms": source.raw_produce.max_ms,
            "baseline_server_cpu_percent": base.server_cpu_percent,
            "server_cpu_percent": with.server_cpu_percent,
            "net_server_cpu_percent": net_cpu,
            "baseline_com_select_per_second": base.com_select_per_second,
            "baseline_questions_per_second": base.questions_per_second,
            "com_select_per_second": with.com_select_per_second - base.com_select_per_second,
            "questions_per_second": with.questions_per_second - base.questions_per_second,
        })
    );
}

async fn drop_database(database: &str) -> Result<()> {
    let mut conn = connect(None).await?;
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`"))
        .await
        .with_context(|| format!("DROP DATABASE {database}"))?;
    conn.disconnect().await?;
    Ok(())
}

fn main() -> Result<()> {
    if common::skipped_outside_cargo_bench() {
        return Ok(());
    }
    let args = parse_args()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        for &capture in &args.captures {
            let database = format!(
                "sluice_pipe_bench_{}_{}",
                std::process::id(),
                capture.name()
            );
            let result = run_capture(&args, capture, &database).await;
            let dropped = drop_database(&database).await;
            result.with_context(|| format!("{} capture", capture.name()))?;
            dropped?;
        }
        Ok(())
    })
}
