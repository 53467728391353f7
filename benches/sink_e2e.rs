//! End-to-end sink benchmark: N JsonConverter messages shaped like the seed's `users` (or with
//! `--shape wide` 30 columns of mixed types), already on a topic → a MariaDB table, through the
//! real `sluice standalone` process (upsert, pk.mode record_value), for a fresh table and again
//! for updates of the existing rows; against baselines in the same run: the identical rows
//! written with plain multi-row upserts of the same batch size through mysql_async (the ratio's
//! reference, the database's ceiling) and a raw rdkafka consumer reading the same messages.
//! Reports rows/s, the ratio, peak RSS and CPU.
//!
//!   scripts/services.sh up
//!   cargo bench --bench sink_e2e -- [--rows N] [--batch-size N] [--shape users|wide] [--debezium]
//!
//! With `--debezium` a third run reads the same rows as Debezium change events (`op=c`
//! envelopes) through `ExtractNewRecordState` + `RegexRouter` into a fresh table, reported with
//! its ratio to the plain fresh-table run of the same invocation.

use std::time::{Duration, Instant};

mod common;

use common::shape::Shape;
use common::{env_or, kafka, mariadb_opts, read_all, run_standalone, worker_properties};

use anyhow::{Result, bail};
use mysql_async::prelude::Queryable;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice::convert::json::encode::JsonEncoder;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

/// Produces N encoded messages (generation `g` of every row) to a new topic (auto-created with
/// the broker's default partition count).
fn produce_topic(shape: Shape, rows: u64, generation: u64) -> Result<String> {
    let topic = format!("bench_sink_{}_{rows}_{generation}", std::process::id());
    let schema = shape.schema();
    let mut encoder = JsonEncoder::new(true, false);
    produce(&topic, rows, |i, buf| {
        encoder.encode_row(&schema, &shape.row(i, generation), buf)?;
        Ok(())
    })?;
    Ok(topic)
}

/// Produces N Debezium change events (`op=c`, `after` = the row) to a new topic named
/// `bench.dbz.<table>`.
fn produce_debezium_topic(shape: Shape, rows: u64, table: &str) -> Result<String> {
    let topic = format!("bench.dbz.{table}");
    let mut events = common::shape::DebeziumEvents::new(shape, &topic, table)?;
    produce(&topic, rows, |i, buf| {
        buf.extend_from_slice(events.event(i)?);
        Ok(())
    })?;
    Ok(topic)
}

/// Produces messages 1..=rows, each written into an emptied buffer by `message`, waiting while
/// the producer's queue is full.
fn produce(
    topic: &str,
    rows: u64,
    mut message: impl FnMut(u64, &mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let producer: ThreadedProducer<DefaultProducerContext> = kafka()
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "200000")
        .create()?;
    let mut buf = Vec::new();
    for i in 1..=rows {
        buf.clear();
        message(i, &mut buf)?;
        let mut record = BaseRecord::<(), [u8]>::to(topic).payload(&buf[..]);
        while let Err((_, back)) = producer.send(record) {
            record = back;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

/// The raw-consume baseline: the seconds it takes to read every message of `topic`, and their
/// bytes.
fn timed_consume(topic: &str, rows: u64) -> Result<(f64, usize)> {
    let started = Instant::now();
    let consumed = read_all(topic, rows)?;
    Ok((
        started.elapsed().as_secs_f64(),
        consumed.iter().map(Vec::len).sum(),
    ))
}

/// The group's committed offsets summed over every partition of `topic` (the records it covers).
fn committed(group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = kafka().set("group.id", group).create().ok()?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()?;
    let mut list = TopicPartitionList::new();
    for partition in metadata.topics().first()?.partitions() {
        list.add_partition(topic, partition.id());
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(5))
        .ok()?;
    Some(
        committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum(),
    )
}

struct Run {
    /// From process start to the last commit (includes the consumer-group join).
    total_seconds: f64,
    /// From the first commit to the last, and the records committed in that span.
    seconds: f64,
    records: u64,
    peak_rss_kb: u64,
    cpu_seconds: f64,
}

fn run_sluice(
    url: &str,
    topic: &str,
    table: &str,
    rows: u64,
    batch_size: u64,
    name: &str,
    extra: &[(&str, &str)],
) -> Result<Run> {
    let dir = std::env::temp_dir().join(format!("sluice-sink-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // A sink stores no source offsets; the worker still names an offsets topic.
    let worker = worker_properties(&dir, &format!("bench_sink_offsets_{}", std::process::id()))?;
    let connector = dir.join(format!("{name}.json"));
    let mut config = serde_json::json!({"name": name, "config": {
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "connection.url": url,
        "connection.user": env_or("SLUICE_MARIADB_USER", "sluice"),
        "connection.password": env_or("SLUICE_MARIADB_PASSWORD", "sluice"),
        "topics": topic,
        "table.name.format": table,
        "insert.mode": "upsert",
        "pk.mode": "record_value",
        "pk.fields": "id",
        "auto.create": "true",
        "batch.size": batch_size.to_string(),
    }});
    for (k, v) in extra {
        config["config"][*k] = serde_json::json!(v);
    }
    std::fs::write(&connector, config.to_string())?;
    let group = format!("connect-{name}");
    let mut first: Option<(Instant, i64)> = None;
    let mut steady = (0.0, 0);
    let run = run_standalone(
        &worker,
        &[&connector],
        Duration::from_secs(900),
        None,
        || {
            let done = committed(&group, topic).unwrap_or(0);
            if first.is_none() && done > 0 {
                first = Some((Instant::now(), done));
            }
            if done == rows as i64 {
                let (at, base) = first.expect("first commit seen");
                steady = (at.elapsed().as_secs_f64(), (rows as i64 - base) as u64);
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(20));
            Ok(false)
        },
    )?;
    Ok(Run {
        total_seconds: run.seconds,
        seconds: steady.0,
        records: steady.1,
        peak_rss_kb: run.peak_rss_kb,
        cpu_seconds: run.cpu_seconds,
    })
}

/// The baseline: the identical rows as multi-row upserts of `batch_size` rows, one transaction
/// each, split only where the servers require it (65,535 parameters, max_allowed_packet):
/// the database's ceiling, with fewer and larger statements than Sluice sends.
async fn raw_upsert(
    conn: &mut mysql_async::Conn,
    shape: Shape,
    table: &str,
    rows: u64,
    batch_size: u64,
    generation: u64,
) -> Result<f64> {
    let columns = shape.columns();
    let list = columns
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(",");
    let tuple = format!("({})", vec!["?"; columns.len()].join(","));
    let update = columns[1..]
        .iter()
        .map(|c| format!("`{c}`=VALUES(`{c}`)"))
        .collect::<Vec<_>>()
        .join(",");
    let schema = shape.schema();
    // At most 65,535 placeholders (both servers' limit) and about 8 MiB of values a statement
    // (under max_allowed_packet).
    let row_bytes: usize = shape
        .row(1, generation)
        .iter()
        .map(|v| v.heap_bytes())
        .sum();
    let per_statement = (65_535 / columns.len() as u64)
        .min(((8 << 20) / row_bytes).max(1) as u64)
        .min(batch_size);
    let started = Instant::now();
    let mut id = 1;
    while id <= rows {
        let batch_end = (id + batch_size - 1).min(rows);
        conn.query_drop("START TRANSACTION").await?;
        while id <= batch_end {
            let end = (id + per_statement - 1).min(batch_end);
            let n = (end - id + 1) as usize;
            let sql = format!(
                "INSERT INTO `{table}` ({list}) VALUES {} ON DUPLICATE KEY UPDATE {update}",
                vec![tuple.as_str(); n].join(",")
            );
            let mut params = Vec::with_capacity(n * columns.len());
            for i in id..=end {
                for (value, field) in shape.row(i, generation).iter().zip(&schema.fields) {
                    params.push(sluice::sink::jdbc::db::to_mysql(value, &field.schema));
                }
            }
            conn.exec_drop(sql, params).await?;
            id = end + 1;
        }
        conn.query_drop("COMMIT").await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    if common::skipped_outside_cargo_bench() {
        return Ok(());
    }
    let rows = arg("--rows", 1_000_000);
    let batch_size = arg("--batch-size", 3000);
    let shape = Shape::from_args()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let host = env_or("SLUICE_MARIADB_HOST", "127.0.0.1");
    let port = env_or("SLUICE_MARIADB_PORT", "3307");
    let database = "sluice_bench_sink";
    let url = format!("jdbc:mysql://{host}:{port}/{database}");
    let opts = mariadb_opts(None)?;
    let mut conn = runtime.block_on(mysql_async::Conn::new(opts))?;
    let stamp = std::process::id();
    let (sluice_table, raw_table) = (format!("sink_{stamp}"), format!("raw_{stamp}"));
    runtime.block_on(async {
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{database}`"))
            .await?;
        conn.query_drop(format!("USE `{database}`")).await?;
        anyhow::Ok(())
    })?;
    if shape == Shape::Big {
        // auto.create makes a Connect string TEXT and bytes VARBINARY(1024), as Confluent's
        // MySQL dialect does, too small for 256 KiB: the table is made first, as a user would.
        runtime.block_on(conn.query_drop(shape.source_ddl(&sluice_table)))?;
    }
    eprintln!("producing {rows} messages (twice: inserts, then updates) …");
    let inserts = produce_topic(shape, rows, 0)?;
    let updates = produce_topic(shape, rows, 1)?;
    let (raw_consume, bytes) = timed_consume(&inserts, rows)?;

    let fresh = run_sluice(
        &url,
        &inserts,
        &sluice_table,
        rows,
        batch_size,
        &format!("bench-sink-{stamp}-a"),
        &[],
    )?;
    // The Debezium run follows the plain fresh-table run directly, before the update run leaves
    // InnoDB purge work behind, so the two fresh-table runs it is compared with start alike.
    let debezium = if std::env::args().any(|a| a == "--debezium") {
        let table = format!("dbz_{stamp}");
        let topic = produce_debezium_topic(shape, rows, &table)?;
        let (raw_consume, event_bytes) = timed_consume(&topic, rows)?;
        let run = run_sluice(
            &url,
            &topic,
            "${topic}",
            rows,
            batch_size,
            &format!("bench-sink-{stamp}-dbz"),
            &common::shape::DEBEZIUM_CHAIN,
        )?;
        let count: i64 = runtime
            .block_on(conn.query_first(format!("SELECT COUNT(*) FROM `{table}`")))?
            .unwrap_or(0);
        if count != rows as i64 {
            bail!("the Debezium run wrote {count} of {rows} rows");
        }
        runtime.block_on(conn.query_drop(format!("DROP TABLE `{table}`")))?;
        Some((run, raw_consume, event_bytes))
    } else {
        None
    };
    let update = run_sluice(
        &url,
        &updates,
        &sluice_table,
        rows,
        batch_size,
        &format!("bench-sink-{stamp}-b"),
        &[],
    )?;
    // The baseline's table is the one auto.create made, emptied.
    runtime
        .block_on(conn.query_drop(format!("CREATE TABLE `{raw_table}` LIKE `{sluice_table}`")))?;
    let raw_fresh = runtime.block_on(raw_upsert(
        &mut conn, shape, &raw_table, rows, batch_size, 0,
    ))?;
    let raw_update = runtime.block_on(raw_upsert(
        &mut conn, shape, &raw_table, rows, batch_size, 1,
    ))?;

    let equal = shape.columns()[1..]
        .iter()
        .map(|c| format!("s.`{c}` <=> r.`{c}`"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let same: i64 = runtime
        .block_on(async {
            conn.query_first::<i64, _>(format!(
            "SELECT COUNT(*) FROM `{sluice_table}` s JOIN `{raw_table}` r USING (id) WHERE {equal}"
        ))
        .await
        })?
        .unwrap_or(0);
    if same != rows as i64 {
        bail!("tables differ: only {same} of {rows} rows are identical");
    }
    runtime.block_on(async {
        conn.query_drop(format!("DROP TABLE `{sluice_table}`, `{raw_table}`"))
            .await
    })?;
    let n = rows as f64;
    for (label, run, raw) in [
        ("fresh table", &fresh, raw_fresh),
        ("update existing rows", &update, raw_update),
    ] {
        let steady = run.records as f64 / run.seconds;
        println!(
            "| topic → sink, {label} ({}) | {rows} | {batch_size} | {:.0} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.0} |",
            shape.name(),
            steady,
            n / raw,
            n / raw_consume,
            steady / (n / raw),
            run.peak_rss_kb as f64 / 1024.0,
            run.cpu_seconds / n * 1e6,
            n / run.total_seconds
        );
        println!(
            "{}",
            serde_json::json!({"scenario": format!("sink_{}", label.replace(' ', "_")),
                "shape": shape.name(), "columns": shape.width(),
                "rows": rows, "batch_size": batch_size,
                "sluice_rows_per_second": steady, "sluice_rows_per_second_including_startup": n / run.total_seconds,
                "raw_upsert_rows_per_second": n / raw, "raw_consume_rows_per_second": n / raw_consume,
                "ratio": steady / (n / raw),
                "sluice_peak_rss_mb": run.peak_rss_kb as f64 / 1024.0,
                "sluice_cpu_seconds_per_million_rows": run.cpu_seconds / n * 1e6,
                "bytes_per_message": bytes as f64 / n})
        );
    }
    if let Some((run, raw_consume_events, event_bytes)) = debezium {
        let steady = run.records as f64 / run.seconds;
        let plain = fresh.records as f64 / fresh.seconds;
        println!(
            "| topic → sink, Debezium events via ExtractNewRecordState + RegexRouter, fresh table ({}) | {rows} | {batch_size} | {:.0} | plain fresh {:.0} | ratio to plain {:.2} | raw consume of the events {:.0} ({:.0} B/event; plain {:.0} B) | ratio to it {:.2} | {:.1} MB | {:.1} CPU s/M |",
            shape.name(),
            steady,
            plain,
            steady / plain,
            n / raw_consume_events,
            event_bytes as f64 / n,
            bytes as f64 / n,
            steady / (n / raw_consume_events),
            run.peak_rss_kb as f64 / 1024.0,
            run.cpu_seconds / n * 1e6,
        );
        println!(
            "{}",
            serde_json::json!({"scenario": "sink_debezium_extract_new_record_state_regex_router",
                "shape": shape.name(), "rows": rows, "batch_size": batch_size,
                "sluice_rows_per_second": steady, "plain_sink_rows_per_second": plain,
                "ratio_to_plain": steady / plain,
                "raw_consume_events_per_second": n / raw_consume_events,
                "bytes_per_event": event_bytes as f64 / n,
                "ratio_to_raw_consume": steady / (n / raw_consume_events),
                "sluice_peak_rss_mb": run.peak_rss_kb as f64 / 1024.0,
                "sluice_cpu_seconds_per_million_rows": run.cpu_seconds / n * 1e6})
        );
    }
    Ok(())
}
