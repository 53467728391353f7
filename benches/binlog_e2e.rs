//! End-to-end binlog benchmark: a burst of N inserted rows shaped like the seed's `users` →
//! topic, through the real `sluice standalone` process with `sluice.capture=binlog` (resuming at
//! the binlog position just before the burst), against two baselines in the same run: the raw
//! binlog decode of the same events with mysql_async (stream + value decoder, counting rows)
//! and a raw rdkafka produce of the identical message bytes (to a new topic with as many
//! partitions). Reports rows/s and the ratio to the smaller baseline, the Sluice process's peak
//! RSS and CPU time. Sluice's rate runs from its first message being readable to its stored
//! offset covering the burst: its start-up (process, connections, stored offsets, topic
//! creation), like the baselines' client set-up, is outside it and reported on its own, with
//! the rate including it. The raw decode is mysql_common's value decoder over each row's bytes
//! (Sluice's own loop, without conversion); the JSON line also gives the rate of
//! mysql_common's per-row `BinlogRow` API.
//!
//!   scripts/services.sh up
//!   cargo bench --bench binlog_e2e -- [--rows N] [--shape users|wide]
//!
//! `--shape wide`: a 30-column table of mixed types instead of `users`.
//!
//! Prints a Markdown row `| scenario | rows | Sluice rows/s | with start-up rows/s | start-up s |
//! raw decode rows/s | raw produce rows/s | ratio | peak RSS MB | CPU s / M rows | bytes/msg |`
//! and a JSON line.

use std::time::{Duration, Instant};

mod common;

use common::shape::Shape;
use common::{
    ProcessRun, env_or, kafka, mariadb_opts, raw_produce, read_all, run_standalone,
    worker_properties,
};

use anyhow::{Context, Result, bail};
use mysql_async::prelude::Queryable;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// Partitions of Sluice's topic (`topic.creation.default.partitions`) and of the raw produce's.
const TOPIC_PARTITIONS: i32 = 3;

fn rows_arg() -> u64 {
    let list: Vec<String> = std::env::args().collect();
    list.iter()
        .position(|a| a == "--rows")
        .and_then(|i| list.get(i + 1))
        .map(|n| n.parse().expect("--rows N"))
        .unwrap_or(1_000_000)
}

fn opts(database: Option<&str>) -> Result<mysql_async::Opts> {
    Ok(mariadb_opts(database)?.into())
}

struct Burst {
    database: String,
    file: String,
    start: u64,
    end: u64,
    table: String,
}

/// A fresh table and a burst of `rows` inserts (1000 rows a statement); returns the binlog
/// positions around it.
async fn burst(rows: u64, shape: Shape) -> Result<Burst> {
    let table = shape.name().to_string();
    let database = format!("sluice_binlog_bench_{}", std::process::id());
    let mut conn = mysql_async::Conn::new(opts(None)?)
        .await
        .context("MariaDB unreachable: run scripts/services.sh up")?;
    conn.query_drop(format!("CREATE DATABASE `{database}`"))
        .await?;
    conn.query_drop(format!("USE `{database}`")).await?;
    conn.query_drop(shape.source_ddl(&table)).await?;
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let status = |row: mysql_async::Row| -> (String, u64) {
        (row.get(0).unwrap_or_default(), row.get(1).unwrap_or(4))
    };
    let (file, start) = status(
        conn.query_first("SHOW MASTER STATUS")
            .await?
            .context("binlog off")?,
    );
    eprintln!("inserting {rows} rows into {database}.{table} …");
    let started = Instant::now();
    shape.insert_rows(&mut conn, &table, rows).await?;
    let (end_file, end) = status(
        conn.query_first("SHOW MASTER STATUS")
            .await?
            .context("binlog off")?,
    );
    if end_file != file {
        bail!("the binlog rotated during the burst; run again");
    }
    eprintln!("inserted in {:.1} s", started.elapsed().as_secs_f64());
    conn.disconnect().await?;
    Ok(Burst {
        database,
        file,
        start,
        end,
        table,
    })
}

/// How the burst's rows are decoded in a baseline.
#[derive(Clone, Copy, PartialEq)]
enum Decode {
    /// mysql_common's value decoder over each row's bytes, column facts read once per table
    /// map (what Sluice's reader does, without converting or batching): the decode ceiling.
    Values,
    /// mysql_common's per-row `BinlogRow` API (for comparison only).
    RowApi,
}

/// Baseline: stream the burst's events with mysql_async and decode every row.
async fn raw_decode(burst: &Burst, rows: u64, decode: Decode) -> Result<f64> {
    use mysql_async::binlog::events::EventData;
    use mysql_async::binlog::value::BinlogValue;
    use mysql_async::consts::ColumnType;
    use mysql_common::io::ParseBuf;
    let mut conn = mysql_async::Conn::new(opts(None)?).await?;
    conn.query_drop("SET @mariadb_slave_capability=4").await?;
    let started = Instant::now();
    let request = mysql_async::BinlogStreamRequest::new(4_000_000 + std::process::id())
        .with_filename(burst.file.as_bytes())
        .with_pos(burst.start);
    let mut stream = conn.get_binlog_stream(request).await?;
    let mut seen = 0u64;
    let mut values = 0usize;
    // Per table id: (type, metadata, unsigned) of each column.
    let mut tables: std::collections::HashMap<u64, Vec<(ColumnType, Vec<u8>, bool)>> =
        Default::default();
    use futures_util::StreamExt;
    while seen < rows {
        let Some(event) = stream.next().await else {
            bail!("the binlog stream ended");
        };
        let event = event?;
        let Some(EventData::RowsEvent(data)) = event.read_data()? else {
            continue;
        };
        let Some(tme) = stream.get_tme(data.table_id()) else {
            continue;
        };
        if tme.database_name() != burst.database {
            continue;
        }
        if decode == Decode::RowApi {
            for row in data.rows(tme) {
                let (_, after) = row?;
                let mut after = after.context("an insert without an after image")?;
                for i in 0..after.len() {
                    values += usize::from(after.take(i).is_some());
                }
                seen += 1;
            }
            continue;
        }
        let columns = tables.entry(data.table_id()).or_insert_with(|| {
            let meta =
                mysql_async::binlog::events::OptionalMetaExtractor::new(tme.iter_optional_meta())
                    .expect("table map metadata");
            let mut signedness = meta.iter_signedness();
            (0..tme.columns_count() as usize)
                .map(|i| {
                    let ty = tme
                        .get_column_type(i)
                        .ok()
                        .flatten()
                        .expect("a column type");
                    let unsigned = ty.is_numeric_type() && signedness.next().unwrap_or(false);
                    (
                        ty,
                        tme.get_column_metadata(i).unwrap_or(&[]).to_vec(),
                        unsigned,
                    )
                })
                .collect()
        });
        let mut buf = ParseBuf(data.rows_data());
        let nulls_len = columns.len().div_ceil(8);
        while !buf.is_empty() {
            let nulls = buf.eat(nulls_len);
            for (i, (ty, meta, unsigned)) in columns.iter().enumerate() {
                if nulls[i / 8] & (1 << (i % 8)) == 0 {
                    let _: BinlogValue<'_> = buf.parse((*ty, &meta[..], *unsigned, false))?;
                    values += 1;
                }
            }
            seen += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    stream.close().await.ok();
    assert!(values > 0);
    Ok(seconds)
}

struct SluiceRun {
    run: ProcessRun,
    topic: String,
}

fn run_sluice(burst: &Burst) -> Result<SluiceRun> {
    let dir = std::env::temp_dir().join(format!("sluice-binlog-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let stamp = format!("{}_{}", std::process::id(), burst.start);
    let offsets_topic = format!("bench_bl_offsets_{stamp}");
    let prefix = format!("bench_bl_{stamp}_");
    let host = env_or("SLUICE_MARIADB_HOST", "127.0.0.1");
    let port = env_or("SLUICE_MARIADB_PORT", "3307");
    // Resume exactly at the burst: the offset Sluice would have stored there.
    // `SLUICE_BENCH_FORMAT=debezium`: Debezium's MySQL connector and change events instead.
    let debezium = env_or("SLUICE_BENCH_FORMAT", "") == "debezium";
    let server = if debezium {
        prefix.trim_end_matches('_').to_string()
    } else {
        format!("{host}:{port}")
    };
    let key = format!(r#"["bench-binlog",{{"server":"{server}"}}]"#);
    let value = format!(
        r#"{{"file":"{}","pos":{},"event":0,"row":0}}"#,
        burst.file, burst.start
    );
    let producer: ThreadedProducer<DefaultProducerContext> = kafka().create()?;
    producer
        .send(BaseRecord::to(&offsets_topic).key(&key).payload(&value))
        .map_err(|(e, _)| e)?;
    producer.flush(Duration::from_secs(30))?;
    let worker = worker_properties(&dir, &offsets_topic)?;
    let connector = dir.join("source.json");
    let config = if debezium {
        serde_json::json!({
            "name": "bench-binlog",
            "config": {
                "connector.class": "io.debezium.connector.mysql.MySqlConnector",
                "database.hostname": host,
                "database.port": port,
                "database.user": env_or("SLUICE_MARIADB_USER", "sluice"),
                "database.password": env_or("SLUICE_MARIADB_PASSWORD", "sluice"),
                "database.server.id": "77001",
                "topic.prefix": server,
                "database.include.list": burst.database,
                "table.include.list": format!("{}.{}", burst.database, burst.table),
                "include.schema.changes": "false",
                "topic.creation.default.partitions": TOPIC_PARTITIONS.to_string(),
                "topic.creation.default.replication.factor": "1",
            }
        })
    } else {
        serde_json::json!({
            "name": "bench-binlog",
            "config": {
                "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
                "connection.url": format!("jdbc:mysql://{host}:{port}/{}", burst.database),
                "connection.user": env_or("SLUICE_MARIADB_USER", "sluice"),
                "connection.password": env_or("SLUICE_MARIADB_PASSWORD", "sluice"),
                "mode": "incrementing",
                "incrementing.column.name": "id",
                "table.whitelist": burst.table,
                "topic.prefix": prefix,
                "topic.creation.default.partitions": TOPIC_PARTITIONS.to_string(),
                "topic.creation.default.replication.factor": "1",
                "sluice.capture": "binlog",
            }
        })
    };
    std::fs::write(&connector, config.to_string())?;
    let offsets: BaseConsumer = kafka().set("group.id", format!("bench-{stamp}")).create()?;
    let metadata = offsets.fetch_metadata(Some(&offsets_topic), Duration::from_secs(10))?;
    let mut list = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        list.add_partition_offset(&offsets_topic, partition.id(), Offset::Beginning)?;
    }
    offsets.assign(&list)?;
    let topic = if debezium {
        format!("{server}.{}.{}", burst.database, burst.table)
    } else {
        format!("{prefix}{}", burst.table)
    };
    let run = run_standalone(
        &worker,
        &[&connector],
        Duration::from_secs(300),
        Some(&topic),
        || {
            Ok(matches!(offsets.poll(Duration::from_millis(20)),
            Some(Ok(message)) if message
                .payload()
                .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
                .is_some_and(|offset| offset["pos"].as_u64().is_some_and(|pos| pos >= burst.end))))
        },
    )?;
    Ok(SluiceRun { run, topic })
}

fn main() -> Result<()> {
    if common::skipped_outside_cargo_bench() {
        return Ok(());
    }
    let rows = rows_arg();
    let shape = Shape::from_args()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let burst = runtime.block_on(burst(rows, shape))?;
    let decode_seconds = runtime.block_on(raw_decode(&burst, rows, Decode::Values))?;
    let row_api_seconds = runtime.block_on(raw_decode(&burst, rows, Decode::RowApi))?;
    let sluice = run_sluice(&burst)?;
    let messages = read_all(&sluice.topic, rows)?;
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let produce_seconds = raw_produce(&messages, TOPIC_PARTITIONS)?;
    let n = rows as f64;
    let sluice_rate = sluice
        .run
        .steady_rate(rows)
        .context("no first message time")?;
    let (decode_rate, produce_rate) = (n / decode_seconds, n / produce_seconds);
    let ceiling = decode_rate.min(produce_rate);
    let startup = sluice.run.first_message_seconds.unwrap_or_default();
    println!(
        "| binlog → topic ({}) | {rows} | {sluice_rate:.0} | {:.0} | {startup:.2} | {decode_rate:.0} | {produce_rate:.0} | {:.2} | {:.1} | {:.1} | {:.0} |",
        shape.name(),
        n / sluice.run.seconds,
        sluice_rate / ceiling,
        sluice.run.peak_rss_kb as f64 / 1024.0,
        sluice.run.cpu_seconds / n * 1e6,
        bytes as f64 / n
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "binlog_to_topic",
            "shape": shape.name(),
            "columns": shape.width(),
            "rows": rows,
            "sluice_rows_per_second": sluice_rate,
            "sluice_rows_per_second_with_startup": n / sluice.run.seconds,
            "sluice_startup_seconds": startup,
            "raw_decode_rows_per_second": decode_rate,
            "row_api_decode_rows_per_second": n / row_api_seconds,
            "raw_produce_rows_per_second": produce_rate,
            "ratio": sluice_rate / ceiling,
            "sluice_peak_rss_mb": sluice.run.peak_rss_kb as f64 / 1024.0,
            "sluice_cpu_seconds_per_million_rows": sluice.run.cpu_seconds / n * 1e6,
            "bytes_per_message": bytes as f64 / n,
        })
    );
    let mut conn = runtime.block_on(mysql_async::Conn::new(opts(None)?))?;
    runtime.block_on(conn.query_drop(format!("DROP DATABASE `{}`", burst.database)))?;
    Ok(())
}
