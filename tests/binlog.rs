//! The binlog reader (`sluice.capture=binlog`) against real MariaDB (binlog on) and the real
//! broker: rows committed out of order, the snapshot/stream seam, updates and deletes,
//! restarts, and the same bytes polling mode writes.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use crate::support::{
    RunningWorker, TestDb, finish, read_exactly, read_topic, services, unique, worker_config,
};

/// The JDBC source JSON of tests/source_jdbc.rs on `table`, with `sluice.capture=binlog`.
fn connector(name: &str, db: &TestDb, prefix: &str, table: &str, extra: &[(&str, &str)]) -> Json {
    let mut pairs = vec![("table.whitelist", table), ("sluice.capture", "binlog")];
    pairs.extend_from_slice(extra);
    crate::source_jdbc::source_config(name, db, prefix, &pairs)
}

pub(crate) fn ids(records: &[crate::support::Record]) -> Vec<i64> {
    records
        .iter()
        .map(|r| {
            let value: Json = serde_json::from_str(r.value_str()).unwrap();
            value["payload"]["id"].as_i64().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_committed_out_of_order_are_missed_by_polling_and_delivered_by_the_binlog() {
    let db = TestDb::new("bl_order").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(16))")
        .await;
    db.exec("INSERT INTO t VALUES (1, 'one')").await;
    let binlog_prefix = format!("{}_", unique("blo"));
    let polling_prefix = format!("{}_", unique("plo"));
    let binlog = connector(&unique("bl"), &db, &binlog_prefix, "t", &[]);
    let polling = connector(
        &unique("pl"),
        &db,
        &polling_prefix,
        "t",
        &[("sluice.capture", "")],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[binlog, polling])
        .await
        .unwrap();
    let binlog_topic = format!("{binlog_prefix}t");
    let polling_topic = format!("{polling_prefix}t");
    assert_eq!(
        ids(&read_topic(&binlog_topic, 1, Duration::from_secs(30)).await),
        [1]
    );
    assert_eq!(
        ids(&read_topic(&polling_topic, 1, Duration::from_secs(30)).await),
        [1]
    );

    // Transaction A inserts 10 but commits last; B inserts 11 and commits first.
    let mut a = db.conn().await;
    let mut b = db.conn().await;
    a.query_drop("BEGIN").await.unwrap();
    a.query_drop("INSERT INTO t VALUES (10, 'ten')")
        .await
        .unwrap();
    b.query_drop("BEGIN").await.unwrap();
    b.query_drop("INSERT INTO t VALUES (11, 'eleven')")
        .await
        .unwrap();
    b.query_drop("COMMIT").await.unwrap();
    // A poll happens in between: polling has seen 11 (and moved its offset past 10).
    assert_eq!(
        ids(&read_topic(&polling_topic, 2, Duration::from_secs(30)).await),
        [1, 11]
    );
    a.query_drop("COMMIT").await.unwrap();
    db.exec("INSERT INTO t VALUES (12, 'twelve')").await;

    let polled = read_topic(&polling_topic, 3, Duration::from_secs(30)).await;
    assert_eq!(
        ids(&polled),
        [1, 11, 12],
        "incrementing polling never sees id 10"
    );
    let streamed = read_topic(&binlog_topic, 4, Duration::from_secs(30)).await;
    assert_eq!(
        ids(&streamed),
        [1, 11, 10, 12],
        "the binlog delivers every row in commit order"
    );
    // Same topic naming, same message bytes as polling mode, row for row.
    for (p, s) in polled
        .iter()
        .zip([&streamed[0], &streamed[1], &streamed[3]])
    {
        assert_eq!(p.value_str(), s.value_str());
        assert_eq!(s.key, None);
    }
    drop((a, b));
    finish(worker, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_deletes_only_when_enabled_with_keys_and_tombstones() {
    let db = TestDb::new("bl_ud").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(16))")
        .await;
    let all_prefix = format!("{}_", unique("bla"));
    let inserts_prefix = format!("{}_", unique("bli"));
    let all = connector(
        &unique("bla"),
        &db,
        &all_prefix,
        "t",
        &[
            ("sluice.binlog.updates", "true"),
            ("sluice.binlog.deletes", "true"),
        ],
    );
    let inserts = connector(&unique("bli"), &db, &inserts_prefix, "t", &[]);
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[all, inserts])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    db.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')").await;
    db.exec("UPDATE t SET v = 'a2' WHERE id = 1").await;
    db.exec("DELETE FROM t WHERE id = 2").await;
    db.exec("INSERT INTO t VALUES (3, 'c')").await;

    let records = read_topic(&format!("{all_prefix}t"), 5, Duration::from_secs(30)).await;
    let key = |id: i64| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false}},"payload":{{"id":{id}}}}}"#
        )
    };
    let summary: Vec<(String, Option<Json>)> = records
        .iter()
        .map(|r| {
            (
                r.key_str().to_string(),
                r.value
                    .as_ref()
                    .map(|v| serde_json::from_slice::<Json>(v).unwrap()["payload"].clone()),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (key(1), Some(json!({"id": 1, "v": "a"}))),
            (key(2), Some(json!({"id": 2, "v": "b"}))),
            (key(1), Some(json!({"id": 1, "v": "a2"}))),
            (key(2), None),
            (key(3), Some(json!({"id": 3, "v": "c"}))),
        ]
    );
    let records = read_topic(&format!("{inserts_prefix}t"), 3, Duration::from_secs(30)).await;
    assert_eq!(
        ids(&records),
        [1, 2, 3],
        "by default only inserts, as incrementing mode"
    );
    assert!(records.iter().all(|r| r.key.is_none()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        read_topic(
            &format!("{inserts_prefix}t"),
            usize::MAX,
            Duration::from_secs(1)
        )
        .await
        .len(),
        3
    );
    finish(worker, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_stream_loses_and_doubles_nothing_and_restarts_resume_exactly() {
    let db = TestDb::new("bl_seam").await;
    db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))")
        .await;
    let mut conn = db.conn().await;
    for chunk in 0..10 {
        let values: Vec<String> = (0..500)
            .map(|i| format!("('r{}')", chunk * 500 + i))
            .collect();
        conn.query_drop(format!("INSERT INTO t (v) VALUES {}", values.join(",")))
            .await
            .unwrap();
    }
    // Inserts keep committing while the connector snapshots and switches to the stream.
    let writer_db = db.conn().await;
    let writer = tokio::spawn(async move {
        let mut conn = writer_db;
        for i in 0..300 {
            conn.query_drop(format!("INSERT INTO t (v) VALUES ('w{i}')"))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let prefix = format!("{}_", unique("bls"));
    let name = unique("bls");
    let offsets = unique("offsets");
    let config = worker_config(&offsets);
    let worker = RunningWorker::start(&config, &[connector(&name, &db, &prefix, "t", &[])])
        .await
        .unwrap();
    writer.await.unwrap();
    let topic = format!("{prefix}t");
    let records = read_topic(&topic, 5300, Duration::from_secs(60)).await;
    let mut seen = ids(&records);
    assert_eq!(seen.len(), 5300, "every row once");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5300, "no row twice");
    worker.stop().await;

    // Stopped: rows written meanwhile (one multi-row event) arrive after the restart, once.
    let values: Vec<String> = (0..700).map(|i| format!("('s{i}')")).collect();
    conn.query_drop(format!("INSERT INTO t (v) VALUES {}", values.join(",")))
        .await
        .unwrap();
    let worker = RunningWorker::start(&config, &[connector(&name, &db, &prefix, "t", &[])])
        .await
        .unwrap();
    read_exactly(&topic, 6000, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let records = read_topic(&topic, usize::MAX, Duration::from_secs(2)).await;
    let mut all = ids(&records);
    assert_eq!(all.len(), 6000, "nothing repeated after the restart");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6000);
    // The stored offset names the binlog file and position.
    let offset_records = read_topic(&offsets, usize::MAX, Duration::from_secs(2)).await;
    let last = offset_records
        .iter()
        .rev()
        .find(|r| r.key_str().contains(&name))
        .unwrap();
    let offset: Json = serde_json::from_str(last.value_str()).unwrap();
    assert!(
        offset["file"].is_string() && offset["pos"].is_u64(),
        "{offset}"
    );
    assert!(
        last.key_str().contains(r#"{"server":"#),
        "{}",
        last.key_str()
    );
    drop(conn);
    finish(worker, db).await;
}

pub(crate) const TYPES_TABLE: &str = "CREATE TABLE types (id INT AUTO_INCREMENT PRIMARY KEY, \
     t_tiny TINYINT, t_tiny_u TINYINT UNSIGNED, t_bool TINYINT(1), t_small SMALLINT, t_small_u SMALLINT UNSIGNED, \
     t_medium MEDIUMINT, t_medium_u MEDIUMINT UNSIGNED, t_int INT, t_int_u INT UNSIGNED, t_big BIGINT, t_big_u BIGINT UNSIGNED, \
     t_float FLOAT, t_double DOUBLE, t_dec DECIMAL(10,2), t_dec0 DECIMAL(20,0), t_dec_u DECIMAL(12,4) UNSIGNED, \
     t_char CHAR(4), t_varchar VARCHAR(32), t_text TEXT, t_enum ENUM('a','b'), t_set SET('x','y'), t_json JSON, \
     t_binary BINARY(4), t_varbinary VARBINARY(8), t_blob BLOB, t_bit1 BIT(1), t_bit8 BIT(8), \
     t_date DATE, t_time TIME(3), t_datetime DATETIME(6), t_timestamp TIMESTAMP(3) NULL, t_year YEAR, \
     t_time_neg TIME(3), t_ts6 TIMESTAMP(6) NULL)";

pub(crate) const TYPES_ROWS: &[&str] = &[
    "INSERT INTO types VALUES (NULL, -128, 255, 1, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, \
     -9223372036854775808, 9223372036854775807, 1.5, -2.25e-10, -12345678.90, 12345678901234567890, 0.0001, \
     'ab', 'h\u{e9}llo \"q\"\\n', '\u{1F642} emoji', 'b', 'x,y', '{\"k\": [1, 2]}', \
     0x00ff, 0x0102, 'blob', b'1', b'10100101', '1969-07-20', '12:34:56.789', '1960-01-01 00:00:00.123456', \
     '2038-01-19 03:14:07.999', 2024, '-01:02:03.456', '2001-02-03 04:05:06.654321')",
    "INSERT INTO types VALUES (NULL, 127, 0, 0, 32767, 0, -3, 0, 2147483647, 0, 0, 18446744073709551615, -0.5, 1e300, \
     -0.01, -1, 99999999.9999, '', '', '', 'a', '', 'null', 0x01000000, '', '', b'0', b'0', '2024-02-29', '23:59:59.999', \
     '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', 1901, '-99:59:59.999', '1970-01-01 00:00:01.000001')",
    "INSERT INTO types (id) VALUES (NULL)",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_column_type_streams_the_bytes_polling_writes() {
    let db = TestDb::new("bl_types").await;
    db.exec(TYPES_TABLE).await;
    let binlog_prefix = format!("{}_", unique("blt"));
    let polling_prefix = format!("{}_", unique("plt"));
    // No snapshot: every row below comes from the binlog.
    let binlog_name = unique("blt");
    let binlog = connector(
        &binlog_name,
        &db,
        &binlog_prefix,
        "types",
        &[("sluice.binlog.snapshot", "never")],
    );
    let polling_name = unique("plt");
    let polling = connector(
        &polling_name,
        &db,
        &polling_prefix,
        "types",
        &[("sluice.capture", "")],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[binlog, polling])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for row in TYPES_ROWS {
        db.exec(row).await;
    }
    let polled = read_topic(
        &format!("{polling_prefix}types"),
        3,
        Duration::from_secs(30),
    )
    .await;
    let streamed = read_topic(&format!("{binlog_prefix}types"), 3, Duration::from_secs(30)).await;
    assert_eq!(
        (polled.len(), streamed.len()),
        (3, 3),
        "{:?} {:?}",
        worker.worker.task_states(&binlog_name),
        worker.worker.task_states(&polling_name)
    );
    for (p, s) in polled.iter().zip(&streamed) {
        let (pv, sv): (Json, Json) = (
            serde_json::from_str(p.value_str()).unwrap(),
            serde_json::from_str(s.value_str()).unwrap(),
        );
        assert_eq!(sv["schema"], pv["schema"]);
        for (field, value) in pv["payload"].as_object().unwrap() {
            assert_eq!(&sv["payload"][field], value, "column {field}");
        }
        assert_eq!(s.value_str(), p.value_str(), "identical bytes");
    }
    finish(worker, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_rotation_reconnect_and_new_tables() {
    let db = TestDb::new("bl_ddl").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(16))")
        .await;
    let prefix = format!("{}_", unique("bld"));
    let binlog = connector(&unique("bld"), &db, &prefix, "", &[("table.whitelist", "")]);
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[binlog])
        .await
        .unwrap();
    let topic = format!("{prefix}t");
    db.exec("INSERT INTO t VALUES (1, 'a')").await;
    assert_eq!(
        ids(&read_topic(&topic, 1, Duration::from_secs(30)).await),
        [1]
    );

    // ADD COLUMN: the schema changes from that row on.
    db.exec("ALTER TABLE t ADD COLUMN extra INT NULL").await;
    db.exec("INSERT INTO t VALUES (2, 'b', 42)").await;
    let records = read_topic(&topic, 2, Duration::from_secs(30)).await;
    let second: Json = serde_json::from_str(records[1].value_str()).unwrap();
    assert_eq!(second["payload"], json!({"id": 2, "v": "b", "extra": 42}));
    assert_eq!(second["schema"]["fields"][2]["field"], "extra");

    // Rotation.
    db.exec("FLUSH BINARY LOGS").await;
    db.exec("INSERT INTO t VALUES (3, 'c', NULL)").await;
    assert_eq!(
        ids(&read_topic(&topic, 3, Duration::from_secs(30)).await),
        [1, 2, 3]
    );

    // The server drops the replication connection: the reader reconnects where it was.
    let mut conn = db.conn().await;
    let dumps: Vec<u64> = conn
        .query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        .await
        .unwrap();
    assert!(!dumps.is_empty());
    for id in dumps {
        conn.query_drop(format!("KILL {id}")).await.ok();
    }
    db.exec("INSERT INTO t VALUES (4, 'd', NULL)").await;
    // A table created later that matches the filters is picked up.
    db.exec("CREATE TABLE u (id INT PRIMARY KEY)").await;
    db.exec("INSERT INTO u VALUES (7)").await;
    assert_eq!(
        ids(&read_topic(&topic, 4, Duration::from_secs(60)).await),
        [1, 2, 3, 4]
    );
    assert_eq!(
        ids(&read_topic(&format!("{prefix}u"), 1, Duration::from_secs(30)).await),
        [7]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        read_topic(&topic, usize::MAX, Duration::from_secs(1))
            .await
            .len(),
        4,
        "nothing twice"
    );
    drop(conn);
    finish(worker, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_position_fails_the_task_with_what_to_do() {
    let db = TestDb::new("bl_purged").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    let name = unique("blp");
    let offsets = unique("offsets");
    let s = services();
    let key = format!(
        r#"["{name}",{{"server":"{}:{}"}}]"#,
        s.mariadb_host, s.mariadb_port
    );
    let value = r#"{"file":"mariadb-bin.999999","pos":4,"event":0,"row":0}"#;
    crate::support::create_topic(&offsets, 1).await;
    crate::support::produce(&offsets, &[(Some(key.as_str()), Some(value))]).await;
    let worker = RunningWorker::start(
        &worker_config(&offsets),
        &[connector(
            &name,
            &db,
            &format!("{}_", unique("blp")),
            "t",
            &[],
        )],
    )
    .await
    .unwrap();
    let trace = worker.failure_trace(&name, Duration::from_secs(20)).await;
    assert!(
        trace.contains("mariadb-bin.999999") && trace.contains("offsets"),
        "{trace}"
    );
    finish(worker, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_before_an_alter_are_read_after_it_by_column_name() {
    let db = TestDb::new("bl_alter").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(8), b INT, c INT)")
        .await;
    let prefix = format!("{}_", unique("bla"));
    let name = unique("bla");
    let config = worker_config(&unique("offsets"));
    let source = || connector(&name, &db, &prefix, "t", &[]);
    let worker = RunningWorker::start(&config, &[source()]).await.unwrap();
    let topic = format!("{prefix}t");
    db.exec("INSERT INTO t VALUES (1, 'w', 10, 1)").await;
    assert_eq!(
        ids(&read_topic(&topic, 1, Duration::from_secs(30)).await),
        [1]
    );
    worker.stop().await;

    // Written while stopped, before the table changes; read after it changed.
    db.exec("INSERT INTO t VALUES (2, 'x', 100, 5)").await;
    db.exec("ALTER TABLE t DROP COLUMN b, ADD COLUMN d INT NULL, MODIFY c BIGINT")
        .await;
    db.exec("INSERT INTO t VALUES (3, 'y', 6, 7)").await;
    let worker = RunningWorker::start(&config, &[source()]).await.unwrap();
    let records = read_topic(&topic, 3, Duration::from_secs(30)).await;
    let payloads: Vec<Json> = records
        .iter()
        .map(|r| serde_json::from_str::<Json>(r.value_str()).unwrap()["payload"].clone())
        .collect();
    assert_eq!(
        payloads,
        [
            json!({"id": 1, "a": "w", "b": 10, "c": 1}),
            // Matched by name: b left out, c from c (not b's value), d NULL.
            json!({"id": 2, "a": "x", "c": 5, "d": null}),
            json!({"id": 3, "a": "y", "c": 6, "d": 7}),
        ]
    );
    let schema: Json = serde_json::from_str(records[1].value_str()).unwrap();
    assert_eq!(schema["schema"]["fields"][2]["type"], "int64");
    finish(worker, db).await;
}

/// Where the first transaction after `file:pos` that writes rows to `db`.`table` starts, and
/// the server's GTID position there: other tests write to the same binlog meanwhile.
async fn transaction_start(
    conn: &mut mysql_async::Conn,
    (file, pos): (String, u64),
    db: &str,
    table: &str,
) -> (String, u64, String) {
    let logs: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.unwrap();
    let logs: Vec<String> = logs.iter().map(|r| r.get(0).unwrap()).collect();
    let wanted = format!("({db}.{table})");
    for log in logs.into_iter().filter(|l| *l >= file) {
        let from = if log == file { pos } else { 4 };
        let events: Vec<(String, u64, String, u64, u64, String)> = conn
            .query(format!("SHOW BINLOG EVENTS IN '{log}' FROM {from}"))
            .await
            .unwrap();
        let mut start = None;
        for (_, at, kind, _, _, info) in events {
            if kind == "Gtid" {
                start = Some(at);
            }
            if kind == "Table_map" && info.contains(&wanted) {
                let start = start.unwrap();
                let gtids: Option<String> = conn
                    .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&log, start))
                    .await
                    .unwrap();
                return (log, start, gtids.unwrap());
            }
        }
    }
    panic!("no transaction on {db}.{table} after {file}:{pos}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_inside_an_event_and_on_another_servers_files_resume_exactly() {
    let db = TestDb::new("bl_midevent").await;
    db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))")
        .await;
    let prefix = format!("{}_", unique("blm"));
    let name = unique("blm");
    let offsets = unique("offsets");
    crate::support::create_topic(&offsets, 1).await;
    let config = worker_config(&offsets);
    let source = || connector(&name, &db, &prefix, "t", &[]);
    let topic = format!("{prefix}t");
    let s = services();
    let key = format!(
        r#"["{name}",{{"server":"{}:{}"}}]"#,
        s.mariadb_host, s.mariadb_port
    );
    let mut conn = db.conn().await;
    let worker = RunningWorker::start(&config, &[source()]).await.unwrap();
    db.exec("INSERT INTO t (v) VALUES ('first')").await;
    read_exactly(&topic, 1, Duration::from_secs(30)).await;
    worker.stop().await;
    let master = |row: Option<mysql_async::Row>| {
        let row = row.unwrap();
        (
            row.get::<String, _>(0).unwrap(),
            row.get::<u64, _>(1).unwrap(),
        )
    };

    // One 700-row statement while stopped; the stored offset says 250 rows of its first row
    // event were written (a stop inside the event): exactly the other 450 follow.
    let before = master(conn.query_first("SHOW MASTER STATUS").await.unwrap());
    let values: Vec<String> = (0..700).map(|i| format!("('m{i}')")).collect();
    conn.query_drop(format!("INSERT INTO t (v) VALUES {}", values.join(",")))
        .await
        .unwrap();
    let (file, pos, _) = transaction_start(&mut conn, before, &db.name, "t").await;
    let offset = format!(r#"{{"file":"{file}","pos":{pos},"event":0,"row":250}}"#);
    crate::support::produce(&offsets, &[(Some(key.as_str()), Some(offset.as_str()))]).await;
    let worker = RunningWorker::start(&config, &[source()]).await.unwrap();
    let records = read_topic(&topic, 451, Duration::from_secs(30)).await;
    assert_eq!(ids(&records[1..]), (252..=701).collect::<Vec<i64>>());
    worker.stop().await;

    // The same by GTID, with binlog file names this server does not have (a failover to
    // another server of the topology): the GTID position alone says where to resume.
    let before = master(conn.query_first("SHOW MASTER STATUS").await.unwrap());
    let values: Vec<String> = (0..300).map(|i| format!("('g{i}')")).collect();
    conn.query_drop(format!("INSERT INTO t (v) VALUES {}", values.join(",")))
        .await
        .unwrap();
    let (_, _, gtids) = transaction_start(&mut conn, before, &db.name, "t").await;
    let offset = format!(
        r#"{{"file":"elsewhere-bin.000042","pos":4,"gtids":"{gtids}","event":0,"row":100}}"#
    );
    crate::support::produce(&offsets, &[(Some(key.as_str()), Some(offset.as_str()))]).await;
    let worker = RunningWorker::start(&config, &[source()]).await.unwrap();
    let records = read_topic(&topic, 651, Duration::from_secs(30)).await;
    assert_eq!(
        ids(&records[451..]),
        (802..=1001).collect::<Vec<i64>>(),
        "{:?}",
        worker.worker.task_states(&name)
    );
    db.exec("INSERT INTO t (v) VALUES ('last')").await;
    assert_eq!(
        ids(&read_topic(&topic, 652, Duration::from_secs(30)).await[651..]),
        [1002]
    );
    worker.stop().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        read_topic(&topic, usize::MAX, Duration::from_secs(2))
            .await
            .len(),
        652,
        "nothing twice"
    );
    // The stored offset names this server's file again, and the GTID position.
    let stored = read_topic(&offsets, usize::MAX, Duration::from_secs(2)).await;
    let last: Json = serde_json::from_str(stored.last().unwrap().value_str()).unwrap();
    assert!(
        last["file"].as_str().unwrap().starts_with("binlog."),
        "{last}"
    );
    let server_gtids: String = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    assert!(
        last["gtids"].is_string() && !last["gtids"].as_str().unwrap().is_empty(),
        "{last} (server at {server_gtids})"
    );
    drop(conn);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_pinned_under_a_global_read_lock_meets_the_stream_exactly() {
    // The path for servers that do not report binlog_snapshot_* (MySQL), forced on MariaDB.
    let db = TestDb::new("bl_lock").await;
    db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))")
        .await;
    let values: Vec<String> = (0..2000).map(|i| format!("('r{i}')")).collect();
    db.exec(&format!("INSERT INTO t (v) VALUES {}", values.join(",")))
        .await;
    let writer_db = db.conn().await;
    let writer = tokio::spawn(async move {
        let mut conn = writer_db;
        for i in 0..200 {
            conn.query_drop(format!("INSERT INTO t (v) VALUES ('w{i}')"))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let flushes = || async {
        let mut conn = db.conn().await;
        let row: (String, u64) = conn
            .query_first("SHOW GLOBAL STATUS LIKE 'Com_flush'")
            .await
            .unwrap()
            .unwrap();
        row.1
    };
    let flushes_before = flushes().await;
    let prefix = format!("{}_", unique("bll"));
    let source = connector(
        &unique("bll"),
        &db,
        &prefix,
        "t",
        &[("sluice.binlog.snapshot.locking", "global")],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[source])
        .await
        .unwrap();
    // The lock was released: every insert commits.
    tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("writes blocked by the snapshot's lock")
        .unwrap();
    let topic = format!("{prefix}t");
    read_exactly(&topic, 2200, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut seen = ids(&read_topic(&topic, usize::MAX, Duration::from_secs(2)).await);
    assert_eq!(seen.len(), 2200, "no row twice");
    seen.sort();
    assert_eq!(seen, (1..=2200).collect::<Vec<i64>>());
    assert!(
        flushes().await > flushes_before,
        "FLUSH TABLES WITH READ LOCK was issued"
    );
    finish(worker, db).await;
}
