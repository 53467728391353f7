//! End-to-end source benchmark: a MariaDB table of N rows (the seed's `users`, or with
//! `--shape wide` 30 columns of mixed types) → topic, through the real `sluice standalone`
//! process (incrementing mode), against two baselines in the same run: the keyset scan itself
//! (`SELECT * … WHERE id > ? ORDER BY id`, every row decoded by mysql_async) and the identical
//! message bytes produced straight through rdkafka with the same producer settings, to a new
//! topic with as many partitions. The ratio is against the slower baseline (the ceiling).
//! Sluice's rate runs from its first message being readable to its stored offset covering the
//! table: its start-up (process, connections, stored offsets, topic creation), like the
//! baselines' client set-up, is outside it and reported on its own, with the rate including it.
//! Reports rows/s, the ratio, the Sluice process's peak RSS and CPU time.
//!
//!   scripts/services.sh up
//!   cargo bench --bench source_e2e -- [--rows N] [--batch-max-rows N] [--shape users|wide] [--transforms]
//!
//! With `--transforms` a second Sluice run in the same invocation adds Confluent's documented
//! key chain (`ValueToKey` + `ExtractField$Key` + `InsertField$Value`), reported with its ratio
//! to the plain run.
//!
//! Needs the local services (scripts/services.sh up). Prints a Markdown row `| scenario | rows |
//! batch.max.rows | Sluice rows/s | with start-up rows/s | start-up s | keyset SELECT rows/s |
//! raw produce rows/s | ratio | peak RSS MB | CPU s / M rows | bytes/msg |` and a JSON line.

use std::time::{Duration, Instant};

mod common;
#[path = "../tests/support/recipes.rs"]
mod recipes;

use common::shape::Shape;
use common::{
    ProcessRun, env_or, kafka, mariadb_opts, raw_produce, read_all, run_standalone,
    worker_properties,
};

use anyhow::{Context, Result, bail};
use mysql_async::prelude::Queryable;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// Partitions of Sluice's topic (`topic.creation.default.partitions`) and of the raw produce's.
const TOPIC_PARTITIONS: i32 = 3;

struct Args {
    rows: u64,
    batch_max_rows: u64,
}

fn args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        batch_max_rows: 10_000,
    };
    let list: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < list.len() {
        match list[i].as_str() {
            "--rows" => {
                args.rows = list[i + 1].parse().expect("--rows N");
                i += 1;
            }
            "--batch-max-rows" => {
                args.batch_max_rows = list[i + 1].parse().expect("--batch-max-rows N");
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    args
}

/// Creates (or reuses, when it already holds `rows` rows) the source table; returns the JDBC
/// URL, the database and the table.
async fn prepare_table(rows: u64, shape: Shape) -> Result<(String, String, String)> {
    let host = env_or("SLUICE_MARIADB_HOST", "127.0.0.1");
    let port = env_or("SLUICE_MARIADB_PORT", "3307");
    let database = format!("sluice_bench_{}_{rows}", shape.name());
    let table = shape.name().to_string();
    let opts = mariadb_opts(None)?;
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .context("MariaDB unreachable: run scripts/services.sh up")?;
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{database}`"))
        .await?;
    conn.query_drop(format!("USE `{database}`")).await?;
    conn.query_drop(shape.source_ddl(&table)).await?;
    let count: u64 = conn
        .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
        .await?
        .unwrap_or(0);
    if count != rows {
        eprintln!("loading {rows} rows into {database}.{table} …");
        conn.query_drop(format!("TRUNCATE `{table}`")).await?;
        let started = Instant::now();
        shape.insert_rows(&mut conn, &table, rows).await?;
        eprintln!("loaded in {:.1} s", started.elapsed().as_secs_f64());
    }
    conn.disconnect().await?;
    Ok((
        format!("jdbc:mysql://{host}:{port}/{database}"),
        database,
        table,
    ))
}

/// The baseline for the database side: the incrementing query's keyset scan, every row read and
/// decoded (binary protocol), nothing else. Returns the seconds it took.
async fn raw_select(database: &str, table: &str, rows: u64) -> Result<f64> {
    let mut conn = mysql_async::Conn::new(mariadb_opts(Some(database))?).await?;
    let started = Instant::now();
    let mut result = conn
        .exec_iter(
            format!("SELECT * FROM `{table}` WHERE `id` > ? ORDER BY `id` ASC"),
            (0i64,),
        )
        .await?;
    let mut read = 0u64;
    let mut cells = 0usize;
    result
        .for_each(|row| {
            read += 1;
            cells += row.len();
        })
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    drop(result);
    conn.disconnect().await?;
    if read != rows || cells == 0 {
        bail!("the scan read {read} rows, not {rows}");
    }
    Ok(seconds)
}

struct SluiceRun {
    run: ProcessRun,
    topic: String,
}

fn run_sluice(
    url: &str,
    table: &str,
    rows: u64,
    batch_max_rows: u64,
    label: &str,
    extra: &[(&str, &str)],
) -> Result<SluiceRun> {
    let dir = std::env::temp_dir().join(format!("sluice-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let stamp = format!("{}_{label}", std::process::id());
    let offsets_topic = format!("bench_offsets_{stamp}");
    let prefix = format!("bench_{stamp}_");
    let worker = worker_properties(&dir, &offsets_topic)?;
    let connector = dir.join(format!("source_{label}.json"));
    let mut config = serde_json::json!({
        "name": "bench-source",
        "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
            "connection.url": url,
            "connection.user": env_or("SLUICE_MARIADB_USER", "sluice"),
            "connection.password": env_or("SLUICE_MARIADB_PASSWORD", "sluice"),
            "mode": "incrementing",
            "incrementing.column.name": "id",
            "table.whitelist": table,
            "topic.prefix": prefix,
            "batch.max.rows": batch_max_rows.to_string(),
            "topic.creation.default.partitions": TOPIC_PARTITIONS.to_string(),
            "topic.creation.default.replication.factor": "1",
        }
    });
    for (k, v) in extra {
        config["config"][*k] = serde_json::json!(v);
    }
    std::fs::write(&connector, config.to_string())?;
    let offsets: BaseConsumer = kafka().set("group.id", format!("bench-{stamp}")).create()?;
    let want = format!("{{\"incrementing\":{rows}}}");
    let mut assigned = false;
    let topic = format!("{prefix}{table}");
    let run = run_standalone(
        &worker,
        &[&connector],
        Duration::from_secs(600),
        Some(&topic),
        || {
            if !assigned {
                if let Ok(metadata) =
                    offsets.fetch_metadata(Some(&offsets_topic), Duration::from_secs(1))
                    && metadata.topics().iter().any(|t| !t.partitions().is_empty())
                {
                    let mut list = TopicPartitionList::new();
                    list.add_partition_offset(&offsets_topic, 0, Offset::Beginning)?;
                    offsets.assign(&list)?;
                    assigned = true;
                }
                std::thread::sleep(Duration::from_millis(20));
                return Ok(false);
            }
            Ok(matches!(offsets.poll(Duration::from_millis(20)),
            Some(Ok(message)) if message.payload() == Some(want.as_bytes())))
        },
    )?;
    Ok(SluiceRun { run, topic })
}

fn main() -> Result<()> {
    if common::skipped_outside_cargo_bench() {
        return Ok(());
    }
    let args = args();
    let shape = Shape::from_args()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (url, database, table) = runtime.block_on(prepare_table(args.rows, shape))?;
    let select_seconds = runtime.block_on(raw_select(&database, &table, args.rows))?;
    let sluice = run_sluice(&url, &table, args.rows, args.batch_max_rows, "plain", &[])?;
    let messages = read_all(&sluice.topic, args.rows)?;
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let raw_seconds = raw_produce(&messages, TOPIC_PARTITIONS)?;
    let rows = args.rows as f64;
    let sluice_rate = sluice
        .run
        .steady_rate(args.rows)
        .context("no first message time")?;
    let startup = sluice.run.first_message_seconds.unwrap_or_default();
    let raw_rate = rows / raw_seconds;
    let select_rate = rows / select_seconds;
    let ceiling = raw_rate.min(select_rate);
    println!(
        "| source incrementing → topic ({}) | {} | {} | {:.0} | {:.0} | {startup:.2} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.0} |",
        shape.name(),
        args.rows,
        args.batch_max_rows,
        sluice_rate,
        rows / sluice.run.seconds,
        select_rate,
        raw_rate,
        sluice_rate / ceiling,
        sluice.run.peak_rss_kb as f64 / 1024.0,
        sluice.run.cpu_seconds / rows * 1e6,
        bytes as f64 / rows
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "source_incrementing_to_topic",
            "shape": shape.name(),
            "columns": shape.width(),
            "rows": args.rows,
            "batch_max_rows": args.batch_max_rows,
            "sluice_seconds": sluice.run.seconds,
            "sluice_rows_per_second": sluice_rate,
            "sluice_rows_per_second_with_startup": rows / sluice.run.seconds,
            "sluice_startup_seconds": startup,
            "raw_select_rows_per_second": select_rate,
            "raw_produce_seconds": raw_seconds,
            "raw_produce_rows_per_second": raw_rate,
            "ratio": sluice_rate / ceiling,
            "sluice_peak_rss_mb": sluice.run.peak_rss_kb as f64 / 1024.0,
            "sluice_cpu_seconds_per_million_rows": sluice.run.cpu_seconds / rows * 1e6,
            "bytes_per_message": bytes as f64 / rows,
        })
    );
    if std::env::args().any(|a| a == "--transforms") {
        let chain = run_sluice(
            &url,
            &table,
            args.rows,
            args.batch_max_rows,
            "chain",
            recipes::KEY_FROM_ID,
        )?;
        let delivered = read_all(&chain.topic, args.rows)?.len();
        if delivered as u64 != args.rows {
            bail!(
                "the transform run delivered {delivered} of {} rows",
                args.rows
            );
        }
        let rate = chain
            .run
            .steady_rate(args.rows)
            .context("no first message time")?;
        println!(
            "| source → topic with ValueToKey + ExtractField$Key + InsertField$Value ({}) | {} | {} | {:.0} | plain {:.0} | ratio to plain {:.2} | {:.1} MB | {:.1} CPU s/M |",
            shape.name(),
            args.rows,
            args.batch_max_rows,
            rate,
            sluice_rate,
            rate / sluice_rate,
            chain.run.peak_rss_kb as f64 / 1024.0,
            chain.run.cpu_seconds / rows * 1e6,
        );
        println!(
            "{}",
            serde_json::json!({
                "scenario": "source_incrementing_to_topic_key_chain",
                "shape": shape.name(), "rows": args.rows, "batch_max_rows": args.batch_max_rows,
                "sluice_rows_per_second": rate, "plain_rows_per_second": sluice_rate,
                "ratio_to_plain": rate / sluice_rate,
                "sluice_peak_rss_mb": chain.run.peak_rss_kb as f64 / 1024.0,
                "sluice_cpu_seconds_per_million_rows": chain.run.cpu_seconds / rows * 1e6,
            })
        );
    }
    Ok(())
}
