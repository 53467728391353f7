//! `sluice.memory.budget.bytes`: a worker with a budget far smaller than one row still
//! delivers every row of a table of 256 KiB values, in order, source to topic to target table,
//! pausing its readers (the pause histogram counts) instead of queueing rows by the batch.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::sink_jdbc::mariadb_sink;
use crate::source_jdbc::source_config;
use crate::support::{RunningWorker, TestDb, eventually, finish, read_topic, services, unique};

/// Bytes of each row's `body`.
const BODY: usize = 256 * 1024;
const ROWS: usize = 24;

/// The pause histogram's count for `connector`'s task 0 in the process's `/metrics` text.
fn pauses(text: &str, connector: &str) -> u64 {
    let prefix =
        format!("sluice_pipeline_pause_seconds_count{{connector=\"{connector}\",task=\"0\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_budget_delivers_big_rows_in_order_and_pauses_reading() {
    let metrics = crate::rest_api::metrics().expect("the test recorder");
    let db = TestDb::new("budget").await;
    db.exec("CREATE TABLE big (id INT AUTO_INCREMENT PRIMARY KEY, body MEDIUMTEXT NOT NULL)")
        .await;
    // The target exists: auto.create would make `body` a TEXT (64 KiB), as Connect's does.
    db.exec("CREATE TABLE copy (id INT PRIMARY KEY, body MEDIUMTEXT NOT NULL)")
        .await;
    let mut conn = db.conn().await;
    for i in 0..ROWS {
        // Row n's body is one letter repeated, so each row is told apart by its bytes.
        let letter = char::from(b'a' + (i % 26) as u8).to_string();
        conn.exec_drop(
            "INSERT INTO big (body) VALUES (REPEAT(?, ?))",
            (letter, BODY),
        )
        .await
        .unwrap();
    }
    drop(conn);
    let prefix = format!("{}_", unique("budget"));
    let topic = format!("{prefix}big");
    let (source, sink) = (unique("budget-src"), unique("budget-sink"));
    let source_json = source_config(
        &source,
        &db,
        &prefix,
        &[("table.whitelist", "big"), ("batch.max.rows", "10000")],
    );
    let sink_json = mariadb_sink(
        &sink,
        &db,
        &topic,
        &[
            ("table.name.format", "copy"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    let s = services();
    // 64 KiB: a quarter of one row, split between the two tasks.
    let config = sluice::config::WorkerConfig::from_map(
        [
            ("bootstrap.servers", s.kafka_bootstrap.as_str()),
            ("offset.storage.topic", &unique("offsets")),
            ("offset.storage.replication.factor", "1"),
            ("offset.storage.partitions", "5"),
            ("offset.flush.interval.ms", "200"),
            ("sluice.memory.budget.bytes", "65536"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
    .unwrap();
    let worker = RunningWorker::start(&config, &[source_json, sink_json])
        .await
        .unwrap();

    let records = read_topic(&topic, ROWS, Duration::from_secs(120)).await;
    assert_eq!(records.len(), ROWS);
    for (i, record) in records.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(record.value_str()).unwrap();
        assert_eq!(value["payload"]["id"], i + 1, "row {i} in order");
        let body = value["payload"]["body"].as_str().unwrap();
        let letter = char::from(b'a' + (i % 26) as u8);
        assert_eq!(body.len(), BODY);
        assert!(body.chars().all(|c| c == letter), "row {i}'s body");
    }
    eventually(
        "every row in the target table",
        Duration::from_secs(120),
        || async {
            // The table appears with the sink's first batch.
            let mut conn = db.conn().await;
            let copied = conn
                .query_first::<i64, _>("SELECT COUNT(*) FROM copy WHERE LENGTH(body) = 262144")
                .await;
            matches!(copied, Ok(Some(n)) if n == ROWS as i64)
        },
    )
    .await;
    let same: Vec<i64> = db
        .select("SELECT COUNT(*) FROM copy c JOIN big b USING (id) WHERE c.body = b.body")
        .await;
    assert_eq!(same, [ROWS as i64]);
    let text = metrics.render();
    assert!(pauses(&text, &source) > 0, "the source paused:\n{text}");
    // The gauge is process-wide, and the other tests' workers in this process set it too: it
    // is reported, with this worker's value unless another started since.
    assert!(
        text.contains("sluice_worker_memory_budget_bytes "),
        "the budget is reported:\n{text}"
    );
    finish(worker, db).await;
}
