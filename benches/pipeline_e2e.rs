//! End-to-end pipeline benchmark: MariaDB → Kafka → MariaDB through one real `sluice standalone`
//! process running both connectors — the JDBC source on the seed's `users` table (incrementing
//! mode, one partition) and the JDBC sink upserting its topic into `users_copy` in the same
//! database. Runs once per capture mode (`sluice.capture=binlog`, then polling), each with a
//! fresh database, topics and consumer group, and measures:
//!
//! 1. `pipeline_burst`: N rows inserted in 1000-row statements; time from the first insert until
//!    every row is in `users_copy`; rows/s, the Sluice process's peak RSS and CPU per million rows.
//! 2. `pipeline_lag`: for each ingest rate, rows inserted for S seconds in small autocommit
//!    transactions (every 10 ms, rate/100 rows); a row's lag is the instant it became visible in
//!    `users_copy` minus the instant its INSERT returned; p50, p99 and max. Resolution: the
//!    watcher polls every 5 ms.
//! 3. `pipeline_idle_db_load`: `Com_select` and `Questions` per second on the server while the
//!    pipeline idles, net of a baseline window of the same length taken before Sluice started
//!    (binlog capture adds no polling load; polling queries once per poll interval).
//!
//!   scripts/services.sh up
//!   cargo bench --bench pipeline_e2e -- [--rows N] [--rates 1000,5000,10000] [--seconds S]
//!       [--capture binlog|polling|both] [--poll-ms N] [--idle-seconds S]
//!
//! Prints, per capture mode, a Markdown row and a JSON line for each measurement. Columns:
//! burst `| scenario | rows | rows/s | peak RSS MB | CPU s / M rows |`; lag `| scenario | target
//! rows/s | achieved rows/s | p50 ms | p99 ms | max ms |`; idle `| scenario | seconds | net
//! Com_select/s | net Questions/s | baseline Com_select/s | baseline Questions/s |`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::{cpu_seconds, env_or, kafka, mariadb_opts, peak_rss_kb, sigterm};

use anyhow::{Context, Result, bail, ensure};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// Rows per INSERT statement in the burst.
const BURST_STATEMENT_ROWS: u64 = 1000;
/// The inserter's tick in the lag scenario: one multi-row INSERT of rate/100 rows each.
const INSERT_TICK: Duration = Duration::from_millis(10);
/// The watcher's polling period in the lag scenario: the resolution of every lag figure.
const WATCH_TICK: Duration = Duration::from_millis(5);
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

/// The number of partitions of `topic`, from the broker's metadata.
fn topic_partitions(topic: &str) -> Result<usize> {
    let consumer: BaseConsumer = kafka()
        .set(
            "group.id",
            format!("bench-pipeline-meta-{}", std::process::id()),
        )
        .create()
        .context("cannot create a Kafka client")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("cannot read the metadata of {topic}"))?;
    Ok(metadata
        .topics()
        .first()
        .map_or(0, |topic| topic.partitions().len()))
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
    fn start(capture: Capture, database: &str, stamp: &Stamp, poll_ms: u64) -> Result<Self> {
        let capture_name = capture.name();
        let dir = std::env::temp_dir().join(format!("sluice-pipeline-bench-{}", stamp.text));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir:?}"))?;
        let host = env_or("SLUICE_MARIADB_HOST", "127.0.0.1");
        let port = env_or("SLUICE_MARIADB_PORT", "3307");
        let url = format!("jdbc:mysql://{host}:{port}/{database}");
        let user = env_or("SLUICE_MARIADB_USER", "sluice");
        let password = env_or("SLUICE_MARIADB_PASSWORD", "sluice");
        let prefix = format!("bench_pipe_{}_{capture_name}_", stamp.text);
        let topic = format!("{prefix}users");

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
        });
        match capture {
            Capture::Binlog => {
                source["sluice.capture"] = "binlog".into();
                // A replica id of its own, so concurrent runs never clash on the server.
                let server_id = 1000 + (stamp.nanos % 59_000) as u32;
                source["sluice.binlog.server.id"] = server_id.to_string().into();
            }
            Capture::Polling => source["poll.interval.ms"] = poll_ms.to_string().into(),
        }
        let source_file = dir.join("source.json");
        std::fs::write(
            &source_file,
            serde_json::json!({
                "name": format!("bench-pipe-source-{}-{capture_name}", stamp.text),
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

        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["--log-level", "warn", "standalone"])
            .arg(&worker)
            .arg(&source_file)
            .arg(&sink_file)
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

/// The watcher saw `MAX(id) = max_id` in `users_copy` when its query returned at `at`.
struct Sighting {
    max_id: u64,
    at: Instant,
}

struct LagRun {
    rate: u64,
    rows: u64,
    achieved_rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
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

/// Each row's lag: the first sighting that includes its id, minus its commit.
fn row_lags(commits: &[Commit], sightings: &[Sighting]) -> Result<Vec<Duration>> {
    let mut lags = Vec::new();
    let mut sighting = sightings.iter().peekable();
    for commit in commits {
        for id in commit.first..=commit.last {
            while sighting.next_if(|s| s.max_id < id).is_some() {}
            let seen = sighting
                .peek()
                .with_context(|| format!("id {id} was never seen in users_copy"))?;
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
    let (commits, achieved_rate, sightings) = watched?;
    let mut lags = row_lags(&commits, &sightings)?;
    lags.sort_unstable();
    Ok(LagRun {
        rate,
        rows: lags.len() as u64,
        achieved_rate,
        p50_ms: percentile_ms(&lags, 0.50),
        p99_ms: percentile_ms(&lags, 0.99),
        max_ms: percentile_ms(&lags, 1.0),
    })
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

    let mut sluice = SluiceProcess::start(capture, database, &stamp, args.poll_ms)?;
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
    writer.disconnect().await?;
    admin.disconnect().await?;
    report(capture, &burst, &lags, &idle);
    Ok(())
}

fn report(capture: Capture, burst: &BurstRun, lags: &[LagRun], idle: &IdleLoad) {
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
        println!(
            "| pipeline lag ({capture}) | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
            lag.rate, lag.achieved_rate, lag.p50_ms, lag.p99_ms, lag.max_ms
        );
        println!(
            "{}",
            serde_json::json!({
                "scenario": "pipeline_lag",
                "capture": capture,
                "rate": lag.rate,
                "rows": lag.rows,
                "achieved_rows_per_second": lag.achieved_rate,
                "lag_p50_ms": lag.p50_ms,
                "lag_p99_ms": lag.p99_ms,
                "lag_max_ms": lag.max_ms,
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
