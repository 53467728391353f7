//! The binlog reader (`sluice.capture=binlog`) against MariaDB servers of the tests' own
//! ([`PrivateMariaDb`]; the shared server other tests use is never restarted or reconfigured):
//! across a real restart of the server it reads, every row arrives exactly once, in order, and
//! the task stays RUNNING; on a server whose binlog does not name its columns
//! (`binlog_row_metadata=NO_LOG`), columns are matched by position.

use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::binlog::ids;
use crate::support::{
    PRIVATE_MARIADB_PASSWORD, PRIVATE_MARIADB_USER, PrivateMariaDb, RunningWorker, read_exactly,
    read_topic, unique, worker_config,
};

/// The JDBC source JSON of tests/source_jdbc.rs, on the private server, with
/// `sluice.capture=binlog` (snapshot on, the default). Reconnects retry every 500 ms (the
/// default 10 s only slows the test down).
fn connector(name: &str, server: &PrivateMariaDb, db: &str, prefix: &str, tables: &str) -> Json {
    json!({
        "name": name,
        "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
            "connection.url": server.jdbc_url(db),
            "connection.user": PRIVATE_MARIADB_USER,
            "connection.password": PRIVATE_MARIADB_PASSWORD,
            "connection.backoff.ms": "500",
            "mode": "incrementing",
            "incrementing.column.name": "id",
            "table.whitelist": tables,
            "topic.prefix": prefix,
            "tasks.max": "1",
            "poll.interval.ms": "200",
            "topic.creation.default.partitions": "1",
            "topic.creation.default.replication.factor": "1",
            "sluice.capture": "binlog",
        }
    })
}

/// A private server, logging the reader, with database `app` and its empty table `t`.
async fn server_with_table() -> (PrivateMariaDb, &'static str) {
    log_the_reader();
    let server = PrivateMariaDb::start().await;
    let db = "app";
    server.exec(None, &format!("CREATE DATABASE {db}")).await;
    server
        .exec(
            Some(db),
            "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))",
        )
        .await;
    (server, db)
}

/// `INSERT INTO t (v) VALUES …` of `count` rows in one statement (one multi-row event).
fn insert_rows(tag: &str, count: usize) -> String {
    let values: Vec<String> = (0..count).map(|i| format!("('{tag}{i}')")).collect();
    format!("INSERT INTO t (v) VALUES {}", values.join(","))
}

/// The binlog reader's warnings and progress on the test's output (shown when a test fails).
fn log_the_reader() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        "sluice::source::binlog=info,sluice::pipeline::source=warn,sluice::db=warn".into()
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init()
        .ok();
}

/// Reads the topic until `expected` records arrived, waits, reads it whole again, and checks
/// that the ids are exactly `1..=expected`, in order: nothing lost, nothing doubled.
async fn assert_exactly_once(topic: &str, expected: i64, worker: &RunningWorker, name: &str) {
    let records = read_topic(topic, expected as usize, Duration::from_secs(60)).await;
    assert_eq!(
        records.len(),
        expected as usize,
        "ids {:?}; task {:?}",
        ids(&records),
        worker.worker.task_states(name)
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let records = read_topic(topic, usize::MAX, Duration::from_secs(2)).await;
    let seen = ids(&records);
    let want: Vec<i64> = (1..=expected).collect();
    if seen != want {
        let mut counts = std::collections::BTreeMap::new();
        for id in &seen {
            *counts.entry(*id).or_insert(0) += 1;
        }
        let doubled: Vec<i64> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(id, _)| *id)
            .collect();
        let missing: Vec<i64> = want
            .iter()
            .filter(|id| !counts.contains_key(id))
            .copied()
            .collect();
        panic!("every row once, in order: missing {missing:?}, doubled {doubled:?}, read {seen:?}");
    }
}

fn assert_running(worker: &RunningWorker, name: &str) {
    let states = worker.worker.task_states(name);
    assert!(
        !states.is_empty()
            && states
                .iter()
                .all(|(_, s)| matches!(s, sluice::runtime::worker::TaskState::Running)),
        "the task is not RUNNING: {states:?}"
    );
}

/// Snapshot, stream, then the server goes down (`kill`: SIGKILL, else a clean SIGTERM
/// shutdown) with rows in flight, stays down while the reader's reconnects fail, and comes back
/// on the same datadir and port: the rows written before and after all arrive once, in order.
async fn rows_arrive_once_across_a_server_restart(kill: bool) {
    let (mut server, db) = server_with_table().await;
    // Ids 1..=5 exist before the connector starts: they come from the snapshot.
    server.exec(Some(db), &insert_rows("a", 4)).await;
    server
        .exec(Some(db), "INSERT INTO t (v) VALUES ('a4')")
        .await;

    let name = unique("blr");
    let prefix = format!("{}_", unique("blr"));
    let topic = format!("{prefix}t");
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[connector(&name, &server, db, &prefix, "t")],
    )
    .await
    .unwrap();
    assert_exactly_once(&topic, 5, &worker, &name).await;

    // 6..=8 from the stream, delivered before the server goes down.
    server.exec(Some(db), &insert_rows("b", 2)).await;
    server
        .exec(Some(db), "INSERT INTO t (v) VALUES ('b2')")
        .await;
    read_exactly(&topic, 8, Duration::from_secs(30)).await;
    // 9..=14 committed just before the shutdown: read before it or after the restart.
    server.exec(Some(db), &insert_rows("c", 5)).await;
    server
        .exec(Some(db), "INSERT INTO t (v) VALUES ('c5')")
        .await;
    if kill {
        server.kill().await;
    } else {
        server.stop().await;
    }

    // Down for a while: the reader's reconnects fail and back off, the task keeps running.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_running(&worker, &name);

    server.start_again().await;
    // 15..=41 after the restart: single rows, a multi-row insert, a multi-statement transaction.
    server
        .exec(Some(db), "INSERT INTO t (v) VALUES ('d0')")
        .await;
    server.exec(Some(db), &insert_rows("e", 20)).await;
    server
        .exec(
            Some(db),
            &format!(
                "BEGIN; {}; INSERT INTO t (v) VALUES ('f3'); {}; COMMIT",
                insert_rows("f", 3),
                insert_rows("g", 1)
            ),
        )
        .await;
    server
        .exec(Some(db), "INSERT INTO t (v) VALUES ('h0')")
        .await;
    assert_exactly_once(&topic, 41, &worker, &name).await;
    assert_running(&worker, &name);

    worker.stop().await;
    // `server` drops here: killed and its directory removed.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_once_across_a_clean_server_restart() {
    rows_arrive_once_across_a_server_restart(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_once_across_a_killed_server() {
    rows_arrive_once_across_a_server_restart(true).await;
}

/// After the restart, DDL makes the reader describe tables again (a new table, and `t` whose
/// cached description the DDL drops): that must use a live connection, not one the restart
/// closed. (It once took both tables for dropped, "cannot describe a captured table; skipping
/// its rows", and skipped their rows while the task stayed RUNNING.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_described_after_a_server_restart_still_stream() {
    let (mut server, db) = server_with_table().await;
    server.exec(Some(db), &insert_rows("a", 3)).await;
    let name = unique("blr");
    let prefix = format!("{}_", unique("blr"));
    let topic = format!("{prefix}t");
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[connector(&name, &server, db, &prefix, "t,u")],
    )
    .await
    .unwrap();
    assert_exactly_once(&topic, 3, &worker, &name).await;

    server.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.start_again().await;
    server.exec(Some(db), &insert_rows("b", 2)).await;
    server
        .exec(
            Some(db),
            "CREATE TABLE u (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))",
        )
        .await;
    server
        .exec(Some(db), "INSERT INTO u (v) VALUES ('u0')")
        .await;
    server.exec(Some(db), &insert_rows("c", 2)).await;
    assert_exactly_once(&topic, 7, &worker, &name).await;
    assert_eq!(
        ids(&read_topic(&format!("{prefix}u"), 1, Duration::from_secs(30)).await),
        [1]
    );
    assert_running(&worker, &name);
    worker.stop().await;
}

/// The value JSON of each record, for messages read by both modes.
fn values(records: &[crate::support::Record]) -> Vec<String> {
    records.iter().map(|r| r.value_str().to_string()).collect()
}

/// MariaDB's default `binlog_row_metadata=NO_LOG`: table maps carry no column names, no
/// signedness and no ENUM/SET members. The reader matches columns by position and takes those
/// facts from information_schema, so every type still streams the bytes polling writes, and a
/// column added while the reader runs streams from then on. Rows written before an ALTER made
/// while the connector was stopped cannot be matched: the task fails saying what to do, and
/// nothing is misread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_column_names_in_the_binlog_columns_match_by_position() {
    log_the_reader();
    let server = PrivateMariaDb::start_with(&["--binlog-row-metadata=NO_LOG"]).await;
    let db = "app";
    server.exec(None, &format!("CREATE DATABASE {db}")).await;
    server.exec(Some(db), crate::binlog::TYPES_TABLE).await;

    let binlog_name = unique("blm");
    let binlog_prefix = format!("{}_", unique("blm"));
    let mut binlog = connector(&binlog_name, &server, db, &binlog_prefix, "types");
    // No snapshot: every row below comes from the binlog.
    binlog["config"]["sluice.binlog.snapshot"] = json!("never");
    let polling_name = unique("plm");
    let polling_prefix = format!("{}_", unique("plm"));
    let mut polling = connector(&polling_name, &server, db, &polling_prefix, "types");
    polling["config"]["sluice.capture"] = json!("polling");
    let offsets = unique("offsets");
    let worker = RunningWorker::start(&worker_config(&offsets), &[binlog.clone(), polling])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for row in crate::binlog::TYPES_ROWS {
        server.exec(Some(db), row).await;
    }
    let binlog_topic = format!("{binlog_prefix}types");
    let polling_topic = format!("{polling_prefix}types");
    let both_read = |rows: usize| {
        let (binlog_topic, polling_topic) = (&binlog_topic, &polling_topic);
        let states = worker.worker.task_states(&binlog_name);
        async move {
            let polled = read_topic(polling_topic, rows, Duration::from_secs(30)).await;
            let streamed = read_topic(binlog_topic, rows, Duration::from_secs(30)).await;
            assert_eq!((polled.len(), streamed.len()), (rows, rows), "{states:?}");
            assert_eq!(values(&streamed), values(&polled), "identical bytes");
            streamed
        }
    };
    both_read(crate::binlog::TYPES_ROWS.len()).await;
    // Added while the reader runs (and after polling read the rows above): the rows after it
    // have the new column.
    server
        .exec(
            Some(db),
            "ALTER TABLE types ADD COLUMN t_added INT UNSIGNED NOT NULL DEFAULT 4294967295",
        )
        .await;
    server
        .exec(Some(db), "INSERT INTO types (t_tiny_u) VALUES (200)")
        .await;
    let rows = crate::binlog::TYPES_ROWS.len() + 1;
    let streamed = both_read(rows).await;
    let last: Json = serde_json::from_str(streamed[rows - 1].value_str()).unwrap();
    assert_eq!(
        (&last["payload"]["t_tiny_u"], &last["payload"]["t_added"]),
        (&json!(200), &json!(4294967295u64))
    );
    worker.stop().await;

    // Stopped: a row is written, then a column is added. The binlog row has one column fewer
    // than the table and no names to say which: the task fails, naming the remedy.
    server
        .exec(Some(db), "INSERT INTO types (t_tiny_u) VALUES (201)")
        .await;
    server
        .exec(Some(db), "ALTER TABLE types ADD COLUMN t_late INT NULL")
        .await;
    let worker = RunningWorker::start(&worker_config(&offsets), &[binlog])
        .await
        .unwrap();
    let trace = worker
        .failure_trace(&binlog_name, Duration::from_secs(30))
        .await;
    assert!(
        trace.contains("app.types") && trace.contains("binlog_row_metadata=FULL"),
        "{trace}"
    );
    // Nothing after the last good row was emitted.
    let all = read_topic(&binlog_topic, usize::MAX, Duration::from_secs(2)).await;
    assert_eq!(all.len(), rows, "{:?}", ids(&all));
    worker.stop().await;
}
