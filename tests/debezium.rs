//! Debezium's MySQL connector config against real MariaDB (binlog on) and the broker: the
//! snapshot's `r` events, then `c`/`u`/`d` and a tombstone, compared byte for byte with the
//! change events Debezium itself writes (REFERENCE-DEBEZIUM §3.4, captured from Debezium
//! 3.2.1), its offsets, and a resume from an offset shaped as Debezium writes it.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use crate::support::{
    Record, RunningWorker, TestDb, assert_no_records, finish, produce, read_exactly, read_topic,
    services, unique, worker_config,
};

/// A replica server id no other connector of this run (or of a concurrent one) uses: MariaDB
/// drops a binlog connection when another connects with the same id (error 4052).
fn server_id() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1_000;
    200_000_000 + (std::process::id() % 100_000) * 1_000 + n
}

/// Debezium's tutorial connector (`inventory-connector`) on `db`, with `prefix` as
/// `topic.prefix`.
fn connector(name: &str, db: &TestDb, prefix: &str, extra: &[(&str, &str)]) -> Json {
    let s = services();
    let mut config = json!({
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "tasks.max": "1",
        "database.hostname": s.mariadb_host,
        "database.port": s.mariadb_port.to_string(),
        "database.user": s.mariadb_user,
        "database.password": s.mariadb_password,
        "database.server.id": server_id().to_string(),
        "topic.prefix": prefix,
        "database.include.list": db.name,
        "schema.history.internal.kafka.bootstrap.servers": s.kafka_bootstrap,
        "schema.history.internal.kafka.topic": format!("schema-changes.{}", db.name),
        // One partition: the events of a topic are read back in the order they were written.
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "1",
    });
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    json!({"name": name, "config": config})
}

/// Starts a worker, its offsets in `offsets_topic`, running Debezium connector `name` on `db`.
async fn start_debezium(
    offsets_topic: &str,
    name: &str,
    db: &TestDb,
    prefix: &str,
    extra: &[(&str, &str)],
) -> RunningWorker {
    RunningWorker::start(
        &worker_config(offsets_topic),
        &[connector(name, db, prefix, extra)],
    )
    .await
    .unwrap()
}

/// The table of Debezium's captured example (`customers`, GTIDs aside).
const CUSTOMERS: &str = "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, \
     first_name VARCHAR(255), last_name VARCHAR(255), email VARCHAR(255) NULL)";

/// The history record Debezium's snapshot writes for `customers` on MariaDB (its record
/// layout from REFERENCE-DEBEZIUM §5.2; `SHOW CREATE TABLE` gives `int(11)` and
/// `varchar(255) DEFAULT NULL`), with @PREFIX@, @DB@ and @FILE@ to fill in.
const DEBEZIUM_CUSTOMERS_HISTORY: &str = r#"{"source":{"server":"@PREFIX@"},"position":{"ts_sec":1700000000,"file":"@FILE@","pos":4,"snapshot":true},"ts_ms":1700000000000,"databaseName":"@DB@","ddl":"CREATE TABLE `customers` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `first_name` varchar(255) DEFAULT NULL,\n  `last_name` varchar(255) DEFAULT NULL,\n  `email` varchar(255) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4","tableChanges":[{"type":"CREATE","id":"\"@DB@\".\"customers\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{"name":"id","jdbcType":4,"typeName":"INT","typeExpression":"INT","charsetName":null,"length":11,"position":1,"optional":false,"autoIncremented":true,"generated":true,"comment":null,"hasDefaultValue":false,"enumValues":[]},{"name":"first_name","jdbcType":12,"typeName":"VARCHAR","typeExpression":"VARCHAR","charsetName":"utf8mb4","length":255,"position":2,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":true,"enumValues":[]},{"name":"last_name","jdbcType":12,"typeName":"VARCHAR","typeExpression":"VARCHAR","charsetName":"utf8mb4","length":255,"position":3,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":true,"enumValues":[]},{"name":"email","jdbcType":12,"typeName":"VARCHAR","typeExpression":"VARCHAR","charsetName":"utf8mb4","length":255,"position":4,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":true,"enumValues":[]}],"attributes":[]},"comment":null}]}"#;

/// The value schema Debezium 3.2.1 wrote for `dbserver1.mydb.customers`
/// (REFERENCE-DEBEZIUM §3.4), with the prefix and database of this test.
fn golden_value_schema(prefix: &str, db: &str) -> String {
    r#"{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"first_name"},{"type":"string","optional":true,"field":"last_name"},{"type":"string","optional":true,"field":"email"}],"optional":true,"name":"dbserver1.mydb.customers.Value","field":"before"},{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"first_name"},{"type":"string","optional":true,"field":"last_name"},{"type":"string","optional":true,"field":"email"}],"optional":true,"name":"dbserver1.mydb.customers.Value","field":"after"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"dbserver1.mydb.customers.Envelope","version":2}"#
        .replace("dbserver1.mydb.", &format!("{prefix}.{db}."))
}

/// The key Debezium writes for customer `id`.
fn golden_key(prefix: &str, db: &str, id: i64) -> String {
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false,"name":"{prefix}.{db}.customers.Key"}},"payload":{{"id":{id}}}}}"#
    )
}

/// The value's text, split into its schema and its payload (both as written).
fn split(record: &Record) -> (String, Json) {
    let text = record.value_str();
    let value: Json = serde_json::from_str(text).unwrap();
    (
        serde_json::to_string(&value["schema"]).unwrap(),
        value["payload"].clone(),
    )
}

/// The payload Debezium writes for an event, with this event's clock, position and source
/// fields (which only the run decides) taken from `actual`: everything else must match.
fn expected_payload(
    actual: &Json,
    before: Json,
    after: Json,
    op: &str,
    snapshot: &str,
    prefix: &str,
    db: &str,
) -> String {
    let s = &actual["source"];
    // Built as text in Debezium's field order: the bytes must match, not only the values.
    format!(
        r#"{{"before":{before},"after":{after},"source":{{"version":"3.1.3.Final","connector":"mysql","name":"{prefix}","ts_ms":{},"snapshot":"{snapshot}","db":"{db}","sequence":null,"ts_us":{},"ts_ns":{},"table":"customers","server_id":{},"gtid":{},"file":{},"pos":{},"row":{},"thread":{},"query":null}},"transaction":null,"op":"{op}","ts_ms":{},"ts_us":{},"ts_ns":{}}}"#,
        s["ts_ms"],
        s["ts_ms"].as_i64().unwrap() * 1000,
        s["ts_ms"].as_i64().unwrap() * 1_000_000,
        s["server_id"],
        s["gtid"],
        s["file"],
        s["pos"],
        s["row"],
        s["thread"],
        actual["ts_ms"],
        actual["ts_us"],
        actual["ts_ns"],
    )
}

fn payload_text(record: &Record) -> String {
    let text = record.value_str();
    let start = text.find(",\"payload\":").unwrap() + ",\"payload\":".len();
    text[start..text.len() - 1].to_string()
}

fn customer(id: i64, first: &str, last: &str, email: &str) -> Json {
    json!({"id": id, "first_name": first, "last_name": last, "email": email})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_config_writes_debeziums_snapshot_and_change_events() {
    let db = TestDb::new("dbz_events").await;
    db.exec(CUSTOMERS).await;
    db.exec(
        "INSERT INTO customers VALUES (1001, 'Sally', 'Thomas', 'sally.thomas@acme.com'), \
         (1002, 'George', 'Bailey', 'gbailey@foobar.com')",
    )
    .await;
    let prefix = unique("dbserver1").replace('_', "-");
    let topic = format!("{prefix}.{}.customers", db.name);
    let offsets_topic = unique("offsets");
    let name = unique("inventory-connector");
    let worker = start_debezium(&offsets_topic, &name, &db, &prefix, &[]).await;

    let snapshot = read_exactly(&topic, 2, Duration::from_secs(30)).await;
    let golden = golden_value_schema(&prefix, &db.name);
    for (record, (id, first, last, email, marker)) in snapshot.iter().zip([
        (1001, "Sally", "Thomas", "sally.thomas@acme.com", "first"),
        (1002, "George", "Bailey", "gbailey@foobar.com", "last"),
    ]) {
        assert_eq!(record.key_str(), golden_key(&prefix, &db.name, id));
        let (schema, payload) = split(record);
        assert_eq!(schema, golden);
        assert_eq!(
            payload_text(record),
            expected_payload(
                &payload,
                Json::Null,
                customer(id, first, last, email),
                "r",
                marker,
                &prefix,
                &db.name
            )
        );
        // Snapshot records: no server, GTID or thread; the snapshot's binlog position.
        assert_eq!(payload["source"]["server_id"], 0);
        assert_eq!(payload["source"]["gtid"], Json::Null);
        assert!(payload["source"]["file"].as_str().unwrap().contains('.'));
    }

    db.exec("INSERT INTO customers VALUES (1003, 'Edward', 'Walker', 'ed@walker.com')")
        .await;
    db.exec("UPDATE customers SET email = 'george@bailey.com' WHERE id = 1002")
        .await;
    db.exec("DELETE FROM customers WHERE id = 1001").await;
    let records = read_exactly(&topic, 6, Duration::from_secs(30)).await;
    let (create, update, delete, tombstone) = (&records[2], &records[3], &records[4], &records[5]);

    let (schema, payload) = split(create);
    assert_eq!(schema, golden);
    assert_eq!(create.key_str(), golden_key(&prefix, &db.name, 1003));
    let expected = expected_payload(
        &payload,
        Json::Null,
        customer(1003, "Edward", "Walker", "ed@walker.com"),
        "c",
        "false",
        &prefix,
        &db.name,
    );
    assert_eq!(payload_text(create), expected);
    // Streamed events carry the server, its GTID (MariaDB's domain-server-sequence) and the
    // rows event's position.
    let source = &payload["source"];
    assert!(source["server_id"].as_i64().unwrap() > 0);
    let gtid = source["gtid"].as_str().unwrap();
    assert_eq!(gtid.split('-').count(), 3, "{gtid}");
    assert!(source["pos"].as_i64().unwrap() > 4);
    assert_eq!(source["row"], 0);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((now_ms - payload["ts_ms"].as_i64().unwrap()).abs() < 120_000);
    assert_eq!(
        payload["ts_ns"].as_i64().unwrap() / 1_000_000,
        payload["ts_ms"].as_i64().unwrap()
    );

    let (_, payload) = split(update);
    assert_eq!(update.key_str(), golden_key(&prefix, &db.name, 1002));
    assert_eq!(
        payload_text(update),
        expected_payload(
            &payload,
            customer(1002, "George", "Bailey", "gbailey@foobar.com"),
            customer(1002, "George", "Bailey", "george@bailey.com"),
            "u",
            "false",
            &prefix,
            &db.name,
        )
    );

    let (_, payload) = split(delete);
    assert_eq!(delete.key_str(), golden_key(&prefix, &db.name, 1001));
    assert_eq!(
        payload_text(delete),
        expected_payload(
            &payload,
            customer(1001, "Sally", "Thomas", "sally.thomas@acme.com"),
            Json::Null,
            "d",
            "false",
            &prefix,
            &db.name,
        )
    );
    // The tombstone: same key, null value.
    assert_eq!(tombstone.key_str(), golden_key(&prefix, &db.name, 1001));
    assert_eq!(tombstone.value, None);

    // Offsets in Debezium's format, under Debezium's partition.
    let key = format!(r#"["{name}",{{"server":"{prefix}"}}]"#);
    let mut stored = None;
    for _ in 0..100 {
        let offsets = read_topic(&offsets_topic, usize::MAX, Duration::from_secs(1)).await;
        stored = offsets
            .iter()
            .rev()
            .find(|r| r.key_str() == key)
            .map(|r| serde_json::from_str::<Json>(r.value_str()).unwrap());
        if stored.as_ref().is_some_and(|o| o.get("snapshot").is_none()) {
            break;
        }
    }
    let stored = stored.expect("an offset under Debezium's partition");
    assert!(stored["file"].as_str().unwrap().contains('.'), "{stored}");
    assert!(stored["pos"].as_u64().unwrap() > 4, "{stored}");
    assert!(stored["gtids"].as_str().is_some(), "{stored}");
    assert!(stored["ts_sec"].as_i64().is_some(), "{stored}");
    assert!(stored["server_id"].as_i64().is_some(), "{stored}");
    assert_eq!(stored.get("snapshot"), None, "{stored}");

    finish(worker, db).await;
}

/// Where the server's binlog is now: file, position and MariaDB's GTID position there.
async fn master_position(db: &TestDb) -> (String, u64, String) {
    let mut conn = db.conn().await;
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    let file: String = row.get(0).unwrap();
    let pos: u64 = row.get(1).unwrap();
    let gtids: Option<String> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&file, pos))
        .await
        .unwrap();
    (file, pos, gtids.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_an_offset_debezium_wrote() {
    let db = TestDb::new("dbz_resume").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', 'a@a')")
        .await;
    // Debezium stopped after this transaction: its offset is the position after it.
    let (file, pos, gtids) = master_position(&db).await;
    db.exec("INSERT INTO customers VALUES (2, 'b', 'b', 'b@b')")
        .await;
    // Then inside a three-row insert, after its first row: Debezium's `event` counts the
    // events of the transaction before the rows event (its start included), `row` the rows
    // of that event already written.
    let (tx_file, tx_pos, tx_gtids) = master_position(&db).await;
    db.exec("INSERT INTO customers VALUES (3, 'c', 'c', 'c@c'), (4, 'd', 'd', 'd@d'), (5, 'e', 'e', 'e@e')")
        .await;
    let mut conn = db.conn().await;
    let events: Vec<mysql_async::Row> = conn
        .exec(
            format!("SHOW BINLOG EVENTS IN '{tx_file}' FROM {tx_pos}"),
            (),
        )
        .await
        .unwrap();
    drop(conn);
    let event = events
        .iter()
        .position(|e| e.get::<String, _>(2).unwrap().starts_with("Write_rows"))
        .expect("the insert's rows event");
    // A column added after those rows: they were written without it, and only the schema
    // history (Debezium's own records, below) says so.
    db.exec("ALTER TABLE customers ADD COLUMN note VARCHAR(10)")
        .await;
    db.exec("INSERT INTO customers VALUES (6, 'f', 'f', 'f@f', 'n6')")
        .await;
    let history_topic = format!("schema-changes.{}", db.name);
    crate::support::create_topic(&history_topic, 1).await;

    for (offset, expected) in [
        (
            json!({"ts_sec": 1_700_000_000, "file": file, "pos": pos, "gtids": gtids, "server_id": 1}),
            vec![2, 3, 4, 5, 6],
        ),
        (
            json!({"ts_sec": 1_700_000_000, "file": tx_file, "pos": tx_pos, "gtids": tx_gtids, "row": 1, "server_id": 1, "event": event}),
            vec![4, 5, 6],
        ),
    ] {
        let prefix = unique("resume").replace('_', "-");
        let topic = format!("{prefix}.{}.customers", db.name);
        let offsets_topic = unique("offsets");
        let name = unique("inventory-connector");
        // The offset Debezium stored, produced into the offsets topic as Connect writes it.
        let key = format!(r#"["{name}",{{"server":"{prefix}"}}]"#);
        produce(&offsets_topic, &[(Some(&key), Some(&offset.to_string()))]).await;
        // The schema history Debezium's snapshot wrote for this connector, before the offset.
        let record = DEBEZIUM_CUSTOMERS_HISTORY
            .replace("@PREFIX@", &prefix)
            .replace("@DB@", &db.name)
            .replace("@FILE@", &file);
        produce(&history_topic, &[(None, Some(&record))]).await;
        let worker = start_debezium(&offsets_topic, &name, &db, &prefix, &[]).await;
        let records = read_topic(&topic, expected.len(), Duration::from_secs(30)).await;
        let ids: Vec<i64> = records
            .iter()
            .map(|r| {
                let value: Json = serde_json::from_str(r.value_str()).unwrap();
                assert_eq!(value["payload"]["op"], "c", "no snapshot after an offset");
                let after = &value["payload"]["after"];
                let id = after["id"].as_i64().unwrap();
                // Rows written before the ALTER have the columns they were written with.
                let columns: Vec<&String> = after.as_object().unwrap().keys().collect();
                if id < 6 {
                    assert_eq!(
                        columns,
                        ["id", "first_name", "last_name", "email"],
                        "{after}"
                    );
                } else {
                    assert_eq!(after["note"], "n6", "{after}");
                }
                id
            })
            .collect();
        assert_eq!(ids, expected, "resuming from {offset}");
        // The ALTER, read from the binlog, is a schema-change event with the new structure.
        let changes = read_topic(&prefix, 1, Duration::from_secs(10)).await;
        let change = split(&changes[0]).1;
        assert_eq!(
            change["ddl"],
            "ALTER TABLE customers ADD COLUMN note VARCHAR(10)"
        );
        assert_eq!(change["tableChanges"][0]["type"], "ALTER");
        assert_eq!(
            change["tableChanges"][0]["table"]["columns"][4],
            json!({"name": "note", "jdbcType": 12, "nativeType": null, "typeName": "VARCHAR",
                "typeExpression": "VARCHAR", "charsetName": "utf8mb4", "length": 10,
                "scale": null, "position": 5, "optional": true, "autoIncremented": false,
                "generated": false, "comment": null, "defaultValueExpression": null,
                "enumValues": null})
        );
        // Nothing more arrives (no row read twice).
        let again = read_topic(&topic, expected.len() + 1, Duration::from_secs(2)).await;
        assert_eq!(again.len(), expected.len());
        worker.stop().await;
    }
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_debezium_keys_get_a_400_naming_them() {
    use crate::rest_api::{call, start};
    let db = TestDb::new("dbz_keys").await;
    let (daemon, base) = start(&unique("dbzkeys")).await;
    for (key, value) in [
        ("signal.data.collection", "x.debezium_signal"),
        ("heartbeat.action.query", "SELECT 1"),
        ("column.mask.hash.WHIRLPOOL.with.salt.x", "x.t.c"),
        ("signal.kafka.topic", "signals"),
    ] {
        let config = connector(&unique("dbz"), &db, "pfx", &[(key, value)]);
        let (status, body) = call(
            "POST",
            &format!("{base}/connectors"),
            Some(&config.to_string()),
        );
        assert_eq!(status, 400, "{key}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&format!("{key}: ")), "{message}");
    }
    // The tutorial config itself is accepted, and Debezium's class is listed.
    let config = connector(&unique("dbz"), &db, "pfx", &[]);
    let (status, _) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&config.to_string()),
    );
    assert_eq!(status, 201);
    let (_, plugins) = call("GET", &format!("{base}/connector-plugins"), None);
    assert!(
        plugins
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["class"] == "io.debezium.connector.mysql.MySqlConnector"),
        "{plugins}"
    );
    daemon.stop().await.unwrap();
    db.drop_db().await;
}

/// A field's schema in the after-image (`type`, `name`) and its value in the event.
type Column = (String, Option<String>, Json);

fn column(value: &Json, field: &str) -> Column {
    let fields = value["schema"]["fields"][1]["fields"].as_array().unwrap();
    let schema = fields.iter().find(|f| f["field"] == field).unwrap();
    (
        schema["type"].as_str().unwrap().to_string(),
        schema["name"].as_str().map(str::to_string),
        value["payload"]["after"][field].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_column_type_maps_as_debezium_maps_it() {
    use crate::binlog::{TYPES_ROWS, TYPES_TABLE};
    let db = TestDb::new("dbz_types").await;
    db.exec(TYPES_TABLE).await;
    for row in TYPES_ROWS {
        db.exec(row).await;
    }
    // TIME beyond ±596 h (2^31 ms) and DATETIME(6) microseconds.
    db.exec("INSERT INTO types (id, t_time, t_datetime) VALUES (NULL, '838:59:59.000', '2020-01-01 00:00:00.000001')")
        .await;
    // Connect's Time holds a time of day only (a TIME outside 0–24 h fails the event, as
    // Connect's `Time.fromLogical` fails Debezium's): the other modes read the first row
    // alone, with its negative TIME made positive.
    let modes_db = TestDb::new("dbz_modes").await;
    modes_db.exec(TYPES_TABLE).await;
    modes_db.exec(TYPES_ROWS[0]).await;
    modes_db
        .exec("UPDATE types SET t_time_neg = '01:02:03.456'")
        .await;
    let default_prefix = unique("types").replace('_', "-");
    let modes_prefix = unique("modes").replace('_', "-");
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[
            connector(&unique("dbz-types"), &db, &default_prefix, &[]),
            connector(
                &unique("dbz-modes"),
                &modes_db,
                &modes_prefix,
                &[
                    ("decimal.handling.mode", "string"),
                    ("time.precision.mode", "connect"),
                    ("database.server.id", "4242"),
                ],
            ),
        ],
    )
    .await
    .unwrap();
    let default_topic = format!("{default_prefix}.{}.types", db.name);
    read_exactly(&default_topic, 4, Duration::from_secs(30)).await;
    // The same rows again, read from the binlog: the same values as the snapshot's.
    for row in TYPES_ROWS {
        db.exec(row).await;
    }
    db.exec("INSERT INTO types (id, t_time, t_datetime) VALUES (NULL, '838:59:59.000', '2020-01-01 00:00:00.000001')")
        .await;
    let records = read_exactly(&default_topic, 8, Duration::from_secs(30)).await;
    let values: Vec<Json> = records
        .iter()
        .map(|r| serde_json::from_str(r.value_str()).unwrap())
        .collect();
    for (read, streamed) in values[..4].iter().zip(&values[4..]) {
        assert_eq!(read["payload"]["op"], "r");
        assert_eq!(streamed["payload"]["op"], "c");
        assert_eq!(read["schema"], streamed["schema"]);
        for (field, value) in read["payload"]["after"].as_object().unwrap() {
            if field != "id" {
                assert_eq!(
                    &streamed["payload"]["after"][field], value,
                    "column {field}"
                );
            }
        }
    }
    // Debezium's type mapping (REFERENCE-DEBEZIUM §4) in the default modes.
    let s = |t: &str| t.to_string();
    let n = |t: &str| Some(t.to_string());
    let expected: &[(&str, Column)] = &[
        ("t_tiny", (s("int8"), None, json!(-128))),
        ("t_tiny_u", (s("int16"), None, json!(255))),
        ("t_bool", (s("int8"), None, json!(1))),
        ("t_small_u", (s("int32"), None, json!(65535))),
        ("t_medium_u", (s("int32"), None, json!(16_777_215))),
        ("t_int_u", (s("int64"), None, json!(4_294_967_295u64))),
        (
            "t_big_u",
            (s("int64"), None, json!(9_223_372_036_854_775_807i64)),
        ),
        ("t_float", (s("float"), None, json!(1.5))),
        // -12345678.90: unscaled -1234567890 as big-endian two's complement.
        (
            "t_dec",
            (
                s("bytes"),
                n("org.apache.kafka.connect.data.Decimal"),
                json!("tmn9Lg=="),
            ),
        ),
        ("t_char", (s("string"), None, json!("ab"))),
        (
            "t_enum",
            (s("string"), n("io.debezium.data.Enum"), json!("b")),
        ),
        (
            "t_set",
            (s("string"), n("io.debezium.data.EnumSet"), json!("x,y")),
        ),
        ("t_binary", (s("bytes"), None, json!("AP8AAA=="))),
        ("t_bit1", (s("boolean"), None, json!(true))),
        (
            "t_bit8",
            (s("bytes"), n("io.debezium.data.Bits"), json!("pQ==")),
        ),
        (
            "t_date",
            (s("int32"), n("io.debezium.time.Date"), json!(-165)),
        ),
        (
            "t_time",
            (
                s("int64"),
                n("io.debezium.time.MicroTime"),
                json!(45_296_789_000i64),
            ),
        ),
        (
            "t_datetime",
            (
                s("int64"),
                n("io.debezium.time.MicroTimestamp"),
                json!(-315_619_199_876_544i64),
            ),
        ),
        (
            "t_timestamp",
            (
                s("string"),
                n("io.debezium.time.ZonedTimestamp"),
                json!("2038-01-19T03:14:07.999Z"),
            ),
        ),
        (
            "t_year",
            (s("int32"), n("io.debezium.time.Year"), json!(2024)),
        ),
        (
            "t_time_neg",
            (
                s("int64"),
                n("io.debezium.time.MicroTime"),
                json!(-3_723_456_000i64),
            ),
        ),
        (
            "t_ts6",
            (
                s("string"),
                n("io.debezium.time.ZonedTimestamp"),
                json!("2001-02-03T04:05:06.654321Z"),
            ),
        ),
    ];
    for (field, want) in expected {
        assert_eq!(&column(&values[0], field), want, "column {field}");
    }
    let enum_schema = &values[0]["schema"]["fields"][1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "t_enum")
        .unwrap()["parameters"];
    assert_eq!(enum_schema, &json!({"allowed": "a,b"}));
    // BIGINT UNSIGNED above 2^63 wraps in `long` mode, as Debezium's does.
    assert_eq!(column(&values[1], "t_big_u").2, json!(-1));
    assert_eq!(column(&values[3], "t_time").2, json!(3_020_399_000_000i64));
    assert_eq!(
        column(&values[3], "t_datetime").2,
        json!(1_577_836_800_000_001i64)
    );

    // decimal.handling.mode=string, time.precision.mode=connect.
    let modes = read_topic(
        &format!("{modes_prefix}.{}.types", modes_db.name),
        1,
        Duration::from_secs(30),
    )
    .await;
    let value: Json = serde_json::from_str(modes[0].value_str()).unwrap();
    let expected: &[(&str, Column)] = &[
        ("t_dec", (s("string"), None, json!("-12345678.90"))),
        (
            "t_date",
            (
                s("int32"),
                n("org.apache.kafka.connect.data.Date"),
                json!(-165),
            ),
        ),
        (
            "t_time",
            (
                s("int32"),
                n("org.apache.kafka.connect.data.Time"),
                json!(45_296_789),
            ),
        ),
        (
            "t_datetime",
            (
                s("int64"),
                n("org.apache.kafka.connect.data.Timestamp"),
                json!(-315_619_199_877i64),
            ),
        ),
        (
            "t_timestamp",
            (
                s("string"),
                n("io.debezium.time.ZonedTimestamp"),
                json!("2038-01-19T03:14:07.999Z"),
            ),
        ),
    ];
    for (field, want) in expected {
        assert_eq!(
            &column(&value, field),
            want,
            "column {field} (string/connect)"
        );
    }
    finish(worker, db).await;
}

/// The rows of `customers` in `db`, every column as text.
async fn customers_of(db: &TestDb, columns: &str) -> Vec<Vec<Option<String>>> {
    let mut conn = db.conn().await;
    let rows: Vec<mysql_async::Row> = conn
        .query(format!("SELECT {columns} FROM customers ORDER BY id"))
        .await
        .unwrap_or_default();
    rows.into_iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.get::<Option<String>, _>(i).unwrap_or_else(|| {
                        row.get::<Option<i64>, _>(i).unwrap().map(|v| v.to_string())
                    })
                })
                .collect()
        })
        .collect()
}

/// Debezium → Kafka → JDBC sink in one worker, as people run it: the sink reads the Debezium
/// topic through `ExtractNewRecordState` (tombstones kept) and `RegexRouter` (topic → table),
/// with `delete.enabled` and `auto.evolve`. Inserts, updates, deletes, a primary-key change and
/// an `ALTER TABLE ADD COLUMN` with rows on both sides of it: the replica equals the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debezium_to_jdbc_sink_keeps_a_replica_through_an_alter() {
    let source = TestDb::new("dbz_pipe_src").await;
    let replica = TestDb::new("dbz_pipe_dst").await;
    source.exec(CUSTOMERS).await;
    source
        .exec(
            "INSERT INTO customers VALUES (1, 'Sally', 'Thomas', 'sally@acme.com'), \
             (2, 'George', 'Bailey', NULL), (3, 'Edward', 'Walker', 'ed@walker.com')",
        )
        .await;
    let prefix = unique("pipe").replace('_', "-");
    let topic = format!("{prefix}.{}.customers", source.name);
    crate::support::create_topic(&topic, 1).await;
    let source_name = unique("dbz-source");
    let sink = crate::sink_jdbc::mariadb_sink(
        &unique("dbz-sink"),
        &replica,
        &topic,
        crate::support::recipes::DEBEZIUM_TO_JDBC,
    );
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[connector(&source_name, &source, &prefix, &[]), sink],
    )
    .await
    .unwrap();

    let same = |columns: &'static str| {
        let (source, replica) = (&source, &replica);
        move || async move {
            customers_of(source, columns).await == customers_of(replica, columns).await
        }
    };
    let columns = "id, first_name, last_name, email";
    crate::support::eventually(
        "the snapshot in the replica",
        Duration::from_secs(60),
        same(columns),
    )
    .await;

    source
        .exec("INSERT INTO customers VALUES (4, 'Anne', 'Kretchmar', 'annek@noanswer.org')")
        .await;
    source
        .exec("UPDATE customers SET email = 'george@bailey.com' WHERE id = 2")
        .await;
    source.exec("DELETE FROM customers WHERE id = 1").await;
    // A primary-key change: Debezium writes a delete (and its tombstone) and a create.
    source
        .exec("UPDATE customers SET id = 30 WHERE id = 3")
        .await;
    crate::support::eventually(
        "the changes in the replica",
        Duration::from_secs(60),
        same(columns),
    )
    .await;

    // A new column, rows written before and after it, an update that fills it.
    source
        .exec("INSERT INTO customers VALUES (5, 'Before', 'Alter', NULL)")
        .await;
    source
        .exec("ALTER TABLE customers ADD COLUMN phone VARCHAR(32) NULL")
        .await;
    source
        .exec("INSERT INTO customers VALUES (6, 'After', 'Alter', 'after@alter.com', '555-0100')")
        .await;
    source
        .exec("UPDATE customers SET phone = '555-0101' WHERE id = 2")
        .await;
    source.exec("DELETE FROM customers WHERE id = 4").await;
    let columns = "id, first_name, last_name, email, phone";
    crate::support::eventually(
        "the altered table in the replica",
        Duration::from_secs(60),
        same(columns),
    )
    .await;
    let replica_rows = customers_of(&replica, columns).await;
    assert_eq!(
        replica_rows
            .iter()
            .map(|r| r[0].clone().unwrap())
            .collect::<Vec<_>>(),
        ["2", "5", "6", "30"]
    );
    assert_eq!(replica_rows[0][4].as_deref(), Some("555-0101"));
    assert_eq!(replica_rows[2][4].as_deref(), Some("555-0100"));
    worker.stop().await;
    source.drop_db().await;
    replica.drop_db().await;
}

/// The table a topic of Debezium change events (schemas off) describes: each event in topic
/// order, `r`/`c`/`u` setting the row to `after.v`, `d` removing it.
async fn replay(topic: &str) -> std::collections::BTreeMap<i64, String> {
    let records = crate::support::read_until_idle(topic, Duration::from_secs(2)).await;
    let mut table = std::collections::BTreeMap::new();
    for record in records.iter().filter(|r| r.value.is_some()) {
        let event: Json = serde_json::from_str(record.value_str()).unwrap();
        match event["op"].as_str().unwrap() {
            "d" => table.remove(&event["before"]["id"].as_i64().unwrap()),
            _ => table.insert(
                event["after"]["id"].as_i64().unwrap(),
                event["after"]["v"].as_str().unwrap().to_string(),
            ),
        };
    }
    table
}

/// Table `t` of `db`: id → v.
async fn table_of(db: &TestDb) -> std::collections::BTreeMap<i64, String> {
    let mut conn = db.conn().await;
    conn.query::<(i64, String), _>("SELECT id, v FROM t")
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// kill -9 of the worker process during the snapshot, then twice while changes stream: the
/// unfinished snapshot goes on, the stream resumes from the last committed offset, and
/// the table the topic describes equals the source table (nothing lost; repeats allowed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_when_the_worker_is_killed_in_the_snapshot_and_the_stream() {
    use crate::distributed::WorkerProcess;
    use crate::rest_api::call;
    use crate::support::{eventually, topic_end};
    const ROWS: i64 = 100_000;
    let db = TestDb::new("dbz_kill").await;
    db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL)")
        .await;
    db.exec(&format!(
        "INSERT INTO t (v) SELECT CONCAT('s', seq) FROM seq_1_to_{ROWS}"
    ))
    .await;
    let prefix = unique("kill").replace('_', "-");
    let topic = format!("{prefix}.{}.t", db.name);
    let name = unique("dbz-kill");
    let body = connector(
        &name,
        &db,
        &prefix,
        &[
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
            ("max.batch.size", "512"),
        ],
    );
    let (topics, dir, port) = (
        unique("dbzkill"),
        tempfile::tempdir().unwrap(),
        crate::support::free_port(),
    );
    let start = || async {
        let worker = WorkerProcess::start(&dir, "w", &topics, port);
        worker.healthy().await;
        worker
    };
    let mut worker = start().await;
    let (status, created) = call(
        "POST",
        &format!("{}/connectors", worker.base),
        Some(&body.to_string()),
    );
    assert_eq!(status, 201, "{created}");

    // Killed in the snapshot.
    eventually(
        "the snapshot to be under way",
        Duration::from_secs(60),
        || async { topic_end(&topic).await >= 2_000 },
    )
    .await;
    worker.kill();
    let written = topic_end(&topic).await;
    assert!(
        written < ROWS,
        "the snapshot ended before the kill ({written} records): this test needs a bigger table"
    );
    worker = start().await;
    // The snapshot goes on from its last committed row, and completes.
    let snapshot = table_of(&db).await;
    eventually(
        "the snapshot to complete",
        Duration::from_secs(180),
        || async { replay(&topic).await == snapshot },
    )
    .await;

    // Killed twice while changes stream: 300 transactions, each inserting 5 rows, updating one
    // snapshot row and deleting another.
    let writer = {
        let mut conn = db.conn().await;
        tokio::spawn(async move {
            for n in 1..=300i64 {
                let mut tx = conn
                    .start_transaction(mysql_async::TxOpts::default())
                    .await
                    .unwrap();
                tx.query_drop(format!(
                    "INSERT INTO t (v) VALUES ('i{n}a'), ('i{n}b'), ('i{n}c'), ('i{n}d'), ('i{n}e')"
                ))
                .await
                .unwrap();
                tx.exec_drop("UPDATE t SET v = ? WHERE id = ?", (format!("u{n}"), n))
                    .await
                    .unwrap();
                tx.exec_drop("DELETE FROM t WHERE id = ?", (ROWS - n,))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    for _ in 0..2 {
        let before = topic_end(&topic).await;
        eventually("changes to stream", Duration::from_secs(60), || async {
            topic_end(&topic).await >= before + 200
        })
        .await;
        worker.kill();
        worker = start().await;
    }
    writer.await.unwrap();

    let source = table_of(&db).await;
    assert_eq!(source.len() as i64, ROWS + 300 * 5 - 300);
    eventually(
        "the topic to describe the table",
        Duration::from_secs(180),
        || async { replay(&topic).await == source },
    )
    .await;
    drop(worker);
    db.drop_db().await;
}

/// Runs `change` until its event reaches `topic`: a connector without an initial snapshot
/// streams from the position it reads at start, which a change made earlier may precede.
async fn until_streaming(db: &TestDb, change: &str, topic: &str) {
    crate::support::eventually("the stream to be live", Duration::from_secs(60), || async {
        db.exec(change).await;
        !read_topic(topic, 1, Duration::from_secs(1))
            .await
            .is_empty()
    })
    .await;
}

/// Debezium's signal table, as its documentation creates it.
const SIGNAL_TABLE: &str = "CREATE TABLE debezium_signal (id VARCHAR(42) PRIMARY KEY, \
     type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)";

/// An incremental snapshot (`execute-snapshot` in the signal table) of a 100k-row table while
/// 10k inserts, updates and deletes stream: the table the topic describes equals the source
/// table afterwards (no row lost, none left with an older value), and the snapshot's rows are
/// `r` events marked `incremental`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_snapshot_while_changes_stream() {
    const ROWS: i64 = 100_000;
    let db = TestDb::new("dbz_incr").await;
    db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL)")
        .await;
    db.exec(SIGNAL_TABLE).await;
    db.exec(&format!(
        "INSERT INTO t (v) SELECT CONCAT('s', seq) FROM seq_1_to_{ROWS}"
    ))
    .await;
    let prefix = unique("incr").replace('_', "-");
    let topic = format!("{prefix}.{}.t", db.name);
    let signal = format!("{}.debezium_signal", db.name);
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-incr"),
        &db,
        &prefix,
        &[
            ("snapshot.mode", "no_data"),
            ("table.include.list", &format!("{}.t", db.name)),
            ("signal.data.collection", &signal),
            ("incremental.snapshot.chunk.size", "2048"),
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
        ],
    )
    .await;
    // No initial snapshot: the stream is live once a change arrives.
    until_streaming(&db, "UPDATE t SET v = CONCAT(v, '+') WHERE id = 1", &topic).await;

    db.exec(&format!(
        "INSERT INTO debezium_signal VALUES ('ad-hoc-1', 'execute-snapshot', \
         '{{\"data-collections\": [\"{}.t\"], \"type\": \"incremental\"}}')",
        db.name
    ))
    .await;
    // 1,000 transactions of 5 inserts, 3 updates and 2 deletes spread over the table.
    let mut conn = db.conn().await;
    for n in 1..=1_000i64 {
        let mut tx = conn
            .start_transaction(mysql_async::TxOpts::default())
            .await
            .unwrap();
        tx.query_drop(format!(
            "INSERT INTO t (v) VALUES ('i{n}a'), ('i{n}b'), ('i{n}c'), ('i{n}d'), ('i{n}e')"
        ))
        .await
        .unwrap();
        for k in 0..3 {
            let id = (n * 7_919 + k * 104_729) % ROWS + 1;
            tx.exec_drop("UPDATE t SET v = ? WHERE id = ?", (format!("u{n}.{k}"), id))
                .await
                .unwrap();
        }
        for k in 0..2 {
            let id = (n * 15_485 + k * 32_452) % ROWS + 1;
            tx.exec_drop("DELETE FROM t WHERE id = ?", (id,))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    drop(conn);

    let source = table_of(&db).await;
    crate::support::eventually(
        "the topic to describe the table",
        Duration::from_secs(300),
        || async { replay(&topic).await == source },
    )
    .await;
    let records = crate::support::read_until_idle(&topic, Duration::from_secs(2)).await;
    let incremental = records
        .iter()
        .filter(|r| r.value.is_some())
        .map(|r| serde_json::from_str::<Json>(r.value_str()).unwrap())
        .filter(|e| e["op"] == "r")
        .inspect(|e| assert_eq!(e["source"]["snapshot"], "incremental"))
        .count();
    // Every snapshot row but those a change event replaced in their window.
    assert!(
        incremental > (ROWS as usize) * 9 / 10 && incremental <= ROWS as usize,
        "{incremental} incremental snapshot events"
    );
    finish(worker, db).await;
}

/// `heartbeat.interval.ms`: while the captured table is idle and another table changes,
/// heartbeats go to `__debezium-heartbeat.<prefix>` with Debezium's key and value, and the
/// stored offset moves past the other table's changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_while_the_captured_tables_are_idle() {
    let db = TestDb::new("dbz_beat").await;
    db.exec(CUSTOMERS).await;
    db.exec("CREATE TABLE other (id INT PRIMARY KEY)").await;
    let prefix = unique("beat").replace('_', "-");
    let offsets_topic = unique("offsets");
    let name = unique("dbz-beat");
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let worker = start_debezium(
        &offsets_topic,
        &name,
        &db,
        &prefix,
        &[
            ("table.include.list", &format!("{}.customers", db.name)),
            ("heartbeat.interval.ms", "200"),
        ],
    )
    .await;
    let beats = read_topic(
        &format!("__debezium-heartbeat.{prefix}"),
        3,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(beats.len(), 3, "{beats:?}");
    for beat in &beats {
        assert_eq!(
            beat.key_str(),
            format!(
                r#"{{"schema":{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"serverName"}}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1}},"payload":{{"serverName":"{prefix}"}}}}"#
            )
        );
        let (schema, payload) = split(beat);
        assert_eq!(
            schema,
            r#"{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1}"#
        );
        assert!(payload["ts_ms"].as_i64().unwrap() >= started, "{payload}");
    }
    // Changes of a table not captured: the stored offset moves past them.
    db.exec("INSERT INTO other VALUES (1), (2)").await;
    let (file, pos, _) = master_position(&db).await;
    crate::support::eventually("the offset to move", Duration::from_secs(30), || async {
        read_topic(&offsets_topic, 1_000, Duration::from_secs(1))
            .await
            .iter()
            .rfind(|r| r.key_str().contains(&name))
            .is_some_and(|r| {
                let offset: Json = serde_json::from_str(r.value_str()).unwrap();
                offset["file"] == file.as_str() && offset["pos"].as_u64() >= Some(pos)
            })
    })
    .await;
    finish(worker, db).await;
}

/// `provide.transaction.metadata=true`: a transaction over two tables gives a `BEGIN` and an
/// `END` record on `<prefix>.transaction` (Debezium's key and value schemas, the END with its
/// event counts per table), and each change event's `transaction` block counts in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_metadata_brackets_each_transaction() {
    let db = TestDb::new("dbz_tx").await;
    db.exec(CUSTOMERS).await;
    db.exec("CREATE TABLE orders (id INT PRIMARY KEY, qty INT)")
        .await;
    let prefix = unique("tx").replace('_', "-");
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-tx"),
        &db,
        &prefix,
        &[("provide.transaction.metadata", "true")],
    )
    .await;
    let customers = format!("{prefix}.{}.customers", db.name);
    let orders = format!("{prefix}.{}.orders", db.name);
    // The stream is live once a change arrives.
    until_streaming(
        &db,
        "INSERT INTO orders VALUES (1, 1) ON DUPLICATE KEY UPDATE qty = qty + 1",
        &orders,
    )
    .await;
    let before = read_topic(
        &format!("{prefix}.transaction"),
        1_000,
        Duration::from_secs(2),
    )
    .await
    .len();
    db.exec(
        "BEGIN; INSERT INTO customers VALUES (1, 'a', 'a', NULL), (2, 'b', 'b', NULL); \
         UPDATE orders SET qty = 10 WHERE id = 1; COMMIT",
    )
    .await;
    let metadata = read_topic(
        &format!("{prefix}.transaction"),
        before + 2,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(metadata.len(), before + 2, "{metadata:?}");
    let (begin, end) = (&metadata[before], &metadata[before + 1]);
    let (schema, begin_payload) = split(begin);
    assert_eq!(
        schema,
        r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection","version":1},"optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1}"#
    );
    let id = begin_payload["id"].as_str().unwrap().to_string();
    // MariaDB's GTID: domain-server-sequence.
    assert_eq!(id.split('-').count(), 3, "{id}");
    assert_eq!(
        begin.key_str(),
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"id"}}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1}},"payload":{{"id":"{id}"}}}}"#
        )
    );
    assert_eq!(begin_payload["status"], "BEGIN");
    assert_eq!(begin_payload["event_count"], Json::Null);
    assert_eq!(begin_payload["data_collections"], Json::Null);
    let (_, end_payload) = split(end);
    assert_eq!(end_payload["status"], "END");
    assert_eq!(end_payload["id"], id.as_str());
    assert_eq!(end_payload["event_count"], 3);
    assert_eq!(
        end_payload["data_collections"],
        json!([
            {"data_collection": format!("{}.customers", db.name), "event_count": 2},
            {"data_collection": format!("{}.orders", db.name), "event_count": 1},
        ])
    );
    // The change events' blocks.
    let created = read_topic(&customers, 2, Duration::from_secs(30)).await;
    let blocks: Vec<Json> = created
        .iter()
        .map(|r| split(r).1["transaction"].clone())
        .collect();
    assert_eq!(
        blocks,
        [
            json!({"id": id, "total_order": 1, "data_collection_order": 1}),
            json!({"id": id, "total_order": 2, "data_collection_order": 2}),
        ]
    );
    let updated = read_topic(&orders, 1_000, Duration::from_secs(2)).await;
    assert_eq!(
        split(updated.last().unwrap()).1["transaction"],
        json!({"id": id, "total_order": 3, "data_collection_order": 1})
    );
    finish(worker, db).await;
}

/// `column.exclude.list`, `column.mask.with.<n>.chars` and `column.truncate.to.<n>.chars`, in
/// the snapshot and the stream: the excluded column is gone from the schema and the values, the
/// masked one is asterisks, the truncated one is cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_filters_masks_and_truncations_apply() {
    let db = TestDb::new("dbz_cols").await;
    db.exec(CUSTOMERS).await;
    db.exec("ALTER TABLE customers ADD COLUMN code VARCHAR(10), ADD COLUMN bio TEXT")
        .await;
    db.exec(
        "INSERT INTO customers VALUES (1, 'Sally', 'Thomas', 'sally@acme.com', 'hello', 'hello')",
    )
    .await;
    let prefix = unique("cols").replace('_', "-");
    let topic = format!("{prefix}.{}.customers", db.name);
    let table = format!("{}.customers", db.name);
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-cols"),
        &db,
        &prefix,
        &[
            ("column.exclude.list", &format!("{table}.email")),
            ("column.mask.with.5.chars", &format!("{table}.last_name")),
            ("column.truncate.to.3.chars", &format!("{table}.first_name")),
            (
                "column.mask.hash.SHA-256.with.salt.salt",
                &format!("{table}.code"),
            ),
            (
                "column.mask.hash.v2.SHA-256.with.salt.salt",
                &format!("{table}.bio"),
            ),
        ],
    )
    .await;
    read_exactly(&topic, 1, Duration::from_secs(30)).await;
    db.exec("INSERT INTO customers VALUES (2, 'Al', NULL, 'al@acme.com', 'world', NULL)")
        .await;
    let records = read_exactly(&topic, 2, Duration::from_secs(30)).await;
    let (schema, snapshot) = split(&records[0]);
    let after_fields: Vec<Json> =
        serde_json::from_str::<Json>(&schema).unwrap()["fields"][1]["fields"]
            .as_array()
            .unwrap()
            .clone();
    let names: Vec<&str> = after_fields
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "first_name", "last_name", "code", "bio"]);
    // Debezium's column mappers mark the fields they change.
    assert_eq!(
        after_fields[1]["parameters"],
        json!({"truncateLength": "3"})
    );
    assert_eq!(after_fields[2]["parameters"], json!({"masked": "true"}));
    assert_eq!(after_fields[3]["parameters"], json!({"masked": "true"}));
    assert_eq!(after_fields[4]["parameters"], json!({"masked": "true"}));
    // Hashes: Debezium's MaskStringsTest value for SHA-256, salt `salt`, V1 ("hello"), cut to
    // VARCHAR(10); V2 hashes the UTF-8 bytes, and TEXT is not cut.
    assert_eq!(
        snapshot["after"],
        json!({"id": 1, "first_name": "Sal", "last_name": "*****", "code": "af5843a0f0",
            "bio": "cd31b3b98ece60cb739c0bf770b2de892ae0ad133f645513c3d83f08757a843a"})
    );
    assert_eq!(
        split(&records[1]).1["after"],
        json!({"id": 2, "first_name": "Al", "last_name": null, "code": "4588e1f2dc", "bio": null})
    );
    finish(worker, db).await;
}

/// The `op` and `after.id` of each record of `topic` (tombstones left out).
async fn ops(topic: &str) -> Vec<(String, i64)> {
    crate::support::read_until_idle(topic, Duration::from_secs(3))
        .await
        .iter()
        .filter(|r| r.value.is_some())
        .map(|r| {
            let payload = split(r).1;
            (
                payload["op"].as_str().unwrap().to_string(),
                payload["after"]["id"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// `snapshot.mode` `when_needed` (a stored position gone from the server takes a new
/// snapshot), `initial_only` (a snapshot and no stream) and `always` (a snapshot at every
/// start, then the stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_modes_when_needed_initial_only_and_always() {
    let db = TestDb::new("dbz_modes").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', NULL), (2, 'b', 'b', NULL)")
        .await;
    let r =
        |ids: &[i64]| -> Vec<(String, i64)> { ids.iter().map(|&i| ("r".to_string(), i)).collect() };

    // when_needed: an offset at a binlog file the server does not have.
    let prefix = unique("needed").replace('_', "-");
    let (offsets_topic, name) = (unique("offsets"), unique("dbz-needed"));
    let key = format!(r#"["{name}",{{"server":"{prefix}"}}]"#);
    let gone = r#"{"file":"binlog.999999","pos":4}"#;
    produce(&offsets_topic, &[(Some(&key), Some(gone))]).await;
    let worker = start_debezium(
        &offsets_topic,
        &name,
        &db,
        &prefix,
        &[("snapshot.mode", "when_needed")],
    )
    .await;
    let topic = format!("{prefix}.{}.customers", db.name);
    read_exactly(&topic, 2, Duration::from_secs(30)).await;
    db.exec("INSERT INTO customers VALUES (3, 'c', 'c', NULL)")
        .await;
    read_exactly(&topic, 3, Duration::from_secs(30)).await;
    assert_eq!(
        ops(&topic).await,
        [r(&[1, 2]), vec![("c".into(), 3)]].concat()
    );
    worker.stop().await;

    // initial_only: the snapshot, and nothing streamed after it.
    let prefix = unique("only").replace('_', "-");
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-only"),
        &db,
        &prefix,
        &[("snapshot.mode", "initial_only")],
    )
    .await;
    let topic = format!("{prefix}.{}.customers", db.name);
    read_exactly(&topic, 3, Duration::from_secs(30)).await;
    db.exec("INSERT INTO customers VALUES (4, 'd', 'd', NULL)")
        .await;
    assert_eq!(ops(&topic).await, r(&[1, 2, 3]));
    worker.stop().await;

    // always: a new snapshot at the next start, then the stream.
    let prefix = unique("always").replace('_', "-");
    let (offsets_topic, name) = (unique("offsets"), unique("dbz-always"));
    let config = connector(&name, &db, &prefix, &[("snapshot.mode", "always")]);
    let topic = format!("{prefix}.{}.customers", db.name);
    let worker = RunningWorker::start(
        &worker_config(&offsets_topic),
        std::slice::from_ref(&config),
    )
    .await
    .unwrap();
    read_exactly(&topic, 4, Duration::from_secs(30)).await;
    worker.stop().await;
    db.exec("INSERT INTO customers VALUES (5, 'e', 'e', NULL)")
        .await;
    let worker = RunningWorker::start(&worker_config(&offsets_topic), &[config])
        .await
        .unwrap();
    read_exactly(&topic, 9, Duration::from_secs(30)).await;
    db.exec("INSERT INTO customers VALUES (6, 'f', 'f', NULL)")
        .await;
    read_exactly(&topic, 10, Duration::from_secs(30)).await;
    assert_eq!(
        ops(&topic).await,
        [r(&[1, 2, 3, 4]), r(&[1, 2, 3, 4, 5]), vec![("c".into(), 6)]].concat()
    );
    finish(worker, db).await;
}

/// Keys of tables without a primary key (their first unique index of NOT NULL columns) and
/// with `message.key.columns` (the listed columns instead of the primary key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_unique_indexes_and_message_key_columns() {
    let db = TestDb::new("dbz_keys2").await;
    db.exec("CREATE TABLE nopk (a INT NULL, b INT NOT NULL, c VARCHAR(8), UNIQUE KEY ua (a), UNIQUE KEY ub (b))")
        .await;
    db.exec("CREATE TABLE keyless (a INT, c VARCHAR(8))").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO nopk VALUES (1, 10, 'x')").await;
    db.exec("INSERT INTO keyless VALUES (1, 'x')").await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', 'a@a')")
        .await;
    let prefix = unique("keys").replace('_', "-");
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-keys"),
        &db,
        &prefix,
        &[(
            "message.key.columns",
            &format!("{}.customers:last_name,email", db.name),
        )],
    )
    .await;
    let key = |table: &str| {
        let prefix = prefix.clone();
        let db = db.name.clone();
        let table = table.to_string();
        async move {
            let records = read_topic(
                &format!("{prefix}.{db}.{table}"),
                1,
                Duration::from_secs(30),
            )
            .await;
            assert_eq!(records.len(), 1, "{table}");
            records[0]
                .key
                .clone()
                .map(|k| String::from_utf8(k).unwrap())
        }
    };
    // `ua` allows NULL: `ub` keys the table.
    assert_eq!(
        key("nopk").await.as_deref(),
        Some(format!(r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"b"}}],"optional":false,"name":"{prefix}.{}.nopk.Key"}},"payload":{{"b":10}}}}"#, db.name).as_str())
    );
    assert_eq!(key("keyless").await, None);
    assert_eq!(
        key("customers").await.as_deref(),
        Some(format!(r#"{{"schema":{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"last_name"}},{{"type":"string","optional":false,"field":"email"}}],"optional":false,"name":"{prefix}.{}.customers.Key"}},"payload":{{"last_name":"a","email":"a@a"}}}}"#, db.name).as_str())
    );
    finish(worker, db).await;
}

/// The `after` column names of each change event of `records` (tombstones left out).
fn after_columns(records: &[Record]) -> Vec<(i64, Vec<String>)> {
    records
        .iter()
        .filter(|r| r.value.is_some())
        .map(|r| {
            let after = split(r).1["after"].clone();
            let columns = after.as_object().unwrap().keys().cloned().collect();
            (after["id"].as_i64().unwrap(), columns)
        })
        .collect()
}

/// The schema history: rows written while the connector was stopped, before DDL it had not
/// read, decode with the columns they were written with — the history topic gives the
/// structure at the stored offset, and the table maps show where a table changed again
/// before its first DDL was read. Each DDL is a schema-change event on `<topic.prefix>` and a
/// record in the history topic, in Debezium's formats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_history_decodes_rows_with_the_columns_they_were_written_with() {
    let db = TestDb::new("dbz_history").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', 'a@a')")
        .await;
    let prefix = unique("history").replace('_', "-");
    let topic = format!("{prefix}.{}.customers", db.name);
    let history_topic = format!("schema-changes.{}", db.name);
    let offsets_topic = unique("offsets");
    let config = connector(&unique("dbz-history"), &db, &prefix, &[]);
    let worker = RunningWorker::start(
        &worker_config(&offsets_topic),
        std::slice::from_ref(&config),
    )
    .await
    .unwrap();
    read_exactly(&topic, 1, Duration::from_secs(30)).await;
    db.exec("INSERT INTO customers VALUES (2, 'b', 'b', 'b@b')")
        .await;
    read_exactly(&topic, 2, Duration::from_secs(30)).await;
    worker.stop().await;

    // While the connector is stopped: a row, a column added, a row, a column dropped, a row.
    db.exec("INSERT INTO customers VALUES (3, 'c', 'c', 'c@c')")
        .await;
    db.exec("ALTER TABLE customers ADD COLUMN note VARCHAR(10) NOT NULL DEFAULT 'none'")
        .await;
    db.exec("INSERT INTO customers VALUES (4, 'd', 'd', 'd@d', 'n4')")
        .await;
    db.exec("ALTER TABLE customers DROP COLUMN email").await;
    db.exec("INSERT INTO customers VALUES (5, 'e', 'e', 'n5')")
        .await;
    let worker = RunningWorker::start(
        &worker_config(&offsets_topic),
        std::slice::from_ref(&config),
    )
    .await
    .unwrap();
    let records = read_topic(&topic, 5, Duration::from_secs(30)).await;
    let columns = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let old = columns(&["id", "first_name", "last_name", "email"]);
    assert_eq!(
        after_columns(&records),
        [
            (1, old.clone()),
            (2, old.clone()),
            (3, old.clone()),
            (
                4,
                columns(&["id", "first_name", "last_name", "email", "note"])
            ),
            (5, columns(&["id", "first_name", "last_name", "note"])),
        ]
    );
    let (schema, payload) = split(&records[3]);
    assert_eq!(payload["after"]["email"], "d@d");
    assert_eq!(payload["after"]["note"], "n4");
    assert!(
        schema.contains(r#"{"type":"string","optional":false,"default":"none","field":"note"}"#),
        "{schema}"
    );
    assert!(
        !split(&records[2]).0.contains("note"),
        "row 3 has no note column"
    );
    worker.stop().await;

    // Schema-change events: the snapshot's CREATE, then each ALTER as it was read.
    let changes = crate::support::read_until_idle(&prefix, Duration::from_secs(3)).await;
    let changes: Vec<Json> = changes.iter().map(|r| split(r).1).collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0]["source"]["snapshot"], "true");
    assert!(
        changes[0]["ddl"]
            .as_str()
            .unwrap()
            .starts_with("CREATE TABLE `customers`"),
        "{}",
        changes[0]["ddl"]
    );
    assert_eq!(
        changes[1]["ddl"],
        "ALTER TABLE customers ADD COLUMN note VARCHAR(10) NOT NULL DEFAULT 'none'"
    );
    assert_eq!(changes[2]["ddl"], "ALTER TABLE customers DROP COLUMN email");
    assert_eq!(changes[2]["source"]["snapshot"], "false");
    assert_eq!(changes[2]["source"]["table"], "customers");
    assert_eq!(changes[2]["databaseName"], db.name);
    assert_eq!(
        changes[2]["tableChanges"][0]["id"],
        format!("\"{}\".\"customers\"", db.name)
    );
    let names: Vec<&str> = changes[2]["tableChanges"][0]["table"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "first_name", "last_name", "note"]);
    assert_eq!(
        changes[2]["tableChanges"][0]["table"]["columns"][3],
        json!({"name": "note", "jdbcType": 12, "nativeType": null, "typeName": "VARCHAR",
            "typeExpression": "VARCHAR", "charsetName": "utf8mb4", "length": 10, "scale": null,
            "position": 4, "optional": false, "autoIncremented": false, "generated": false,
            "comment": null, "defaultValueExpression": "none", "enumValues": null})
    );

    // The history topic: the same three, as Debezium's `HistoryRecord`s, each with the offset
    // it was read at.
    let history: Vec<Json> =
        crate::support::read_until_idle(&history_topic, Duration::from_secs(3))
            .await
            .iter()
            .map(|r| serde_json::from_str(r.value_str()).unwrap())
            .filter(|r: &Json| r["source"] == json!({"server": prefix}))
            .collect();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[0]["position"]["snapshot"], true);
    assert_eq!(
        history[0]["tableChanges"][0]["table"]["columns"][0],
        json!({"name": "id", "jdbcType": 4, "typeName": "INT", "typeExpression": "INT",
            "charsetName": null, "length": 11, "position": 1, "optional": false,
            "autoIncremented": true, "generated": true, "comment": null,
            "hasDefaultValue": false, "enumValues": []})
    );
    assert_eq!(history[2]["ddl"], "ALTER TABLE customers DROP COLUMN email");
    let keys: Vec<&String> = history[2].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "source",
            "position",
            "ts_ms",
            "databaseName",
            "ddl",
            "tableChanges"
        ]
    );
    assert!(
        history[2]["position"]["gtids"].is_string(),
        "{}",
        history[2]
    );

    // Restarted again, after both DDLs: the history's latest structure.
    db.exec("INSERT INTO customers VALUES (6, 'f', 'f', 'n6')")
        .await;
    let worker = RunningWorker::start(&worker_config(&offsets_topic), &[config])
        .await
        .unwrap();
    let records = read_topic(&topic, 6, Duration::from_secs(30)).await;
    assert_eq!(
        after_columns(&records[5..]),
        [(6, columns(&["id", "first_name", "last_name", "note"]))]
    );
    finish(worker, db).await;
}

/// A stored offset whose schema history has no record of the connector: the task fails and
/// says what to do, as Debezium's does; with `snapshot.mode=recovery` the history is rebuilt
/// from the tables' current structures at the stored offset and the stream goes on from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_offset_without_history_needs_recovery() {
    let db = TestDb::new("dbz_recovery").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', 'a@a')")
        .await;
    let (file, pos, gtids) = master_position(&db).await;
    db.exec("INSERT INTO customers VALUES (2, 'b', 'b', 'b@b')")
        .await;
    let prefix = unique("recovery").replace('_', "-");
    let topic = format!("{prefix}.{}.customers", db.name);
    let (offsets_topic, name) = (unique("offsets"), unique("dbz-recovery"));
    let key = format!(r#"["{name}",{{"server":"{prefix}"}}]"#);
    let offset = json!({"file": file, "pos": pos, "gtids": gtids});
    produce(&offsets_topic, &[(Some(&key), Some(&offset.to_string()))]).await;

    let worker = start_debezium(&offsets_topic, &name, &db, &prefix, &[]).await;
    let trace = worker.failure_trace(&name, Duration::from_secs(30)).await;
    assert!(
        trace.contains("no record of this connector") && trace.contains("snapshot.mode=recovery"),
        "{trace}"
    );
    worker.stop().await;

    let worker = start_debezium(
        &offsets_topic,
        &name,
        &db,
        &prefix,
        &[("snapshot.mode", "recovery")],
    )
    .await;
    let records = read_topic(&topic, 1, Duration::from_secs(30)).await;
    let payload = split(&records[0]).1;
    assert_eq!(
        (payload["op"].as_str(), payload["after"]["id"].as_i64()),
        (Some("c"), Some(2))
    );
    let history: Vec<Json> = crate::support::read_until_idle(
        &format!("schema-changes.{}", db.name),
        Duration::from_secs(3),
    )
    .await
    .iter()
    .map(|r| serde_json::from_str(r.value_str()).unwrap())
    .filter(|r: &Json| r["source"] == json!({"server": prefix}))
    .collect();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["position"]["pos"], pos);
    assert_eq!(history[0]["tableChanges"][0]["type"], "CREATE");
    finish(worker, db).await;
}

/// Inserts an `execute-snapshot` signal `id` of type `blocking` for `db.customers`.
async fn blocking_snapshot_of_customers(db: &TestDb, id: &str) {
    db.exec(&format!(
        "INSERT INTO debezium_signal VALUES ('{id}', 'execute-snapshot', \
         '{{\"data-collections\": [\"{}.customers\"], \"type\": \"blocking\"}}')",
        db.name
    ))
    .await;
}

/// An ad-hoc blocking snapshot (`execute-snapshot` with `"type": "blocking"`): the stream
/// stops after the signal's transaction, the listed tables are read as `r` events with the
/// snapshot's markers, then the stream goes on from where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_snapshot_through_the_signal_table() {
    let db = TestDb::new("dbz_blocking").await;
    db.exec(CUSTOMERS).await;
    db.exec("CREATE TABLE other (id INT PRIMARY KEY)").await;
    db.exec("CREATE TABLE ping (id INT PRIMARY KEY, n INT)")
        .await;
    db.exec("INSERT INTO ping VALUES (1, 0)").await;
    db.exec(SIGNAL_TABLE).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', NULL), (2, 'b', 'b', NULL)")
        .await;
    db.exec("INSERT INTO other VALUES (1)").await;
    let prefix = unique("blocking").replace('_', "-");
    let topic = format!("{prefix}.{}.customers", db.name);
    let offsets_topic = unique("offsets");
    let worker = start_debezium(
        &offsets_topic,
        &unique("dbz-blocking"),
        &db,
        &prefix,
        &[
            ("snapshot.mode", "no_data"),
            (
                "signal.data.collection",
                &format!("{}.debezium_signal", db.name),
            ),
        ],
    )
    .await;
    let ping = format!("{prefix}.{}.ping", db.name);
    until_streaming(&db, "UPDATE ping SET n = n + 1", &ping).await;
    blocking_snapshot_of_customers(&db, "ad-hoc-b").await;
    let snapshot_rows = |records: &[Record]| {
        records
            .iter()
            .filter(|r| r.value.is_some())
            .map(|r| {
                let payload = split(r).1;
                (
                    payload["op"].as_str().unwrap().to_string(),
                    payload["after"]["id"].as_i64().unwrap(),
                    payload["source"]["snapshot"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let records = read_topic(&topic, 2, Duration::from_secs(30)).await;
    let row = |op: &str, id: i64, marker: &str| (op.to_string(), id, marker.to_string());
    assert_eq!(
        snapshot_rows(&records),
        [row("r", 1, "first"), row("r", 2, "last")]
    );
    // Then the stream goes on.
    db.exec("INSERT INTO customers VALUES (4, 'd', 'd', NULL)")
        .await;
    let records = read_topic(&topic, 3, Duration::from_secs(30)).await;
    assert_eq!(snapshot_rows(&records[2..]), [row("c", 4, "false")]);
    // Only the listed table was read again.
    let other = format!("{prefix}.{}.other", db.name);
    assert_no_records(&other).await;
    finish(worker, db).await;
}

/// Truncate events: with `t` left out of `skipped.operations`, a `TRUNCATE` of a captured
/// table is one record on its topic with a null key, `before`/`after` null and `op: "t"`; by
/// default (`skipped.operations=t`) there is none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncate_events_when_not_skipped() {
    let db = TestDb::new("dbz_truncate").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', NULL)")
        .await;
    let mut topics = Vec::new();
    let mut workers = Vec::new();
    for skipped in ["none", "t"] {
        let prefix = unique("truncate").replace('_', "-");
        topics.push(format!("{prefix}.{}.customers", db.name));
        workers.push(
            start_debezium(
                &unique("offsets"),
                &unique("dbz-truncate"),
                &db,
                &prefix,
                &[("skipped.operations", skipped)],
            )
            .await,
        );
    }
    for topic in &topics {
        read_exactly(topic, 1, Duration::from_secs(30)).await;
    }
    db.exec("TRUNCATE TABLE customers").await;
    db.exec("INSERT INTO customers VALUES (2, 'b', 'b', NULL)")
        .await;
    let records = read_topic(&topics[0], 3, Duration::from_secs(30)).await;
    assert_eq!(records.len(), 3);
    assert!(records[1].key.is_none(), "a truncate event has a null key");
    let (schema, payload) = split(&records[1]);
    assert_eq!(payload["op"], "t");
    assert_eq!(payload["before"], Json::Null);
    assert_eq!(payload["after"], Json::Null);
    assert_eq!(payload["source"]["table"], "customers");
    assert!(schema.contains(".customers.Envelope"), "{schema}");
    assert_eq!(split(&records[2]).1["after"]["id"], 2);
    // Skipped by default: the insert follows the snapshot directly.
    let records = read_topic(&topics[1], 2, Duration::from_secs(30)).await;
    let ops: Vec<Json> = records.iter().map(|r| split(r).1["op"].clone()).collect();
    assert_eq!(ops, [json!("r"), json!("c")]);
    for worker in workers {
        worker.stop().await;
    }
    db.drop_db().await;
}

/// `snapshot.mode=never`: no snapshot; the stream starts at the oldest binlog the server has,
/// so rows inserted before the connector existed arrive as `c` events (on a private server,
/// whose binlog holds only this test's statements).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_mode_never_reads_the_whole_binlog() {
    use crate::support::{PRIVATE_MARIADB_PASSWORD, PRIVATE_MARIADB_USER, PrivateMariaDb};
    let server = PrivateMariaDb::start().await;
    server.exec(None, "CREATE DATABASE app").await;
    server.exec(Some("app"), CUSTOMERS).await;
    server
        .exec(
            Some("app"),
            "INSERT INTO customers VALUES (1, 'a', 'a', NULL), (2, 'b', 'b', NULL)",
        )
        .await;
    let prefix = unique("never").replace('_', "-");
    let config = json!({"name": unique("dbz-never"), "config": {
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "database.hostname": "127.0.0.1",
        "database.port": server.port.to_string(),
        "database.user": PRIVATE_MARIADB_USER,
        "database.password": PRIVATE_MARIADB_PASSWORD,
        "database.server.id": "184321",
        "topic.prefix": prefix,
        "database.include.list": "app",
        "snapshot.mode": "never",
        "schema.history.internal.kafka.topic": unique("history-never"),
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "1",
    }});
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[config])
        .await
        .unwrap();
    let topic = format!("{prefix}.app.customers");
    let records = read_topic(&topic, 2, Duration::from_secs(30)).await;
    let ops: Vec<(String, i64)> = records
        .iter()
        .map(|r| {
            let payload = split(r).1;
            (
                payload["op"].as_str().unwrap().to_string(),
                payload["after"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ops, [("c".to_string(), 1), ("c".to_string(), 2)]);
    worker.stop().await;
}

/// `event.processing.failure.handling.mode`: a row event that cannot be read (a TIME beyond
/// 24 h under `time.precision.mode=connect`) fails the task by default, and is skipped with a
/// warning under `warn`, the stream going on after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_events_fail_or_are_skipped_as_configured() {
    let db = TestDb::new("dbz_failure").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, d TIME)").await;
    db.exec("INSERT INTO t VALUES (1, '01:00:00')").await;
    let mut names = Vec::new();
    let mut topics = Vec::new();
    let mut workers = Vec::new();
    for mode in ["fail", "warn"] {
        let prefix = unique("failure").replace('_', "-");
        let name = unique("dbz-failure");
        topics.push(format!("{prefix}.{}.t", db.name));
        workers.push(
            start_debezium(
                &unique("offsets"),
                &name,
                &db,
                &prefix,
                &[
                    ("time.precision.mode", "connect"),
                    ("event.processing.failure.handling.mode", mode),
                ],
            )
            .await,
        );
        names.push(name);
    }
    for topic in &topics {
        read_exactly(topic, 1, Duration::from_secs(30)).await;
    }
    db.exec("INSERT INTO t VALUES (2, '30:00:00')").await;
    db.exec("INSERT INTO t VALUES (3, '02:00:00')").await;
    // warn: the bad row's event is skipped, the next one arrives.
    let records = read_topic(&topics[1], 2, Duration::from_secs(30)).await;
    let ids: Vec<Json> = records
        .iter()
        .map(|r| split(r).1["after"]["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(3)]);
    // fail: the task fails, naming the column.
    let trace = workers[0]
        .failure_trace(&names[0], Duration::from_secs(30))
        .await;
    assert!(
        trace.contains("column 1") && trace.contains("time.precision.mode=connect"),
        "{trace}"
    );
    assert_eq!(
        read_topic(&topics[0], 2, Duration::from_secs(2))
            .await
            .len(),
        1
    );
    for worker in workers {
        worker.stop().await;
    }
    db.drop_db().await;
}

/// With `c` in `skipped.operations` the signal table's inserts are still read: their signals
/// act (here a blocking snapshot), though no create event is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_act_when_creates_are_skipped() {
    let db = TestDb::new("dbz_sigskip").await;
    db.exec(CUSTOMERS).await;
    db.exec("CREATE TABLE ping (id INT PRIMARY KEY, n INT)")
        .await;
    db.exec("INSERT INTO ping VALUES (1, 0)").await;
    db.exec(SIGNAL_TABLE).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', NULL)")
        .await;
    let prefix = unique("sigskip").replace('_', "-");
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-sigskip"),
        &db,
        &prefix,
        &[
            ("snapshot.mode", "no_data"),
            ("skipped.operations", "c,t"),
            (
                "signal.data.collection",
                &format!("{}.debezium_signal", db.name),
            ),
        ],
    )
    .await;
    let ping = format!("{prefix}.{}.ping", db.name);
    until_streaming(&db, "UPDATE ping SET n = n + 1", &ping).await;
    blocking_snapshot_of_customers(&db, "ad-hoc-s").await;
    let topic = format!("{prefix}.{}.customers", db.name);
    let records = read_exactly(&topic, 1, Duration::from_secs(30)).await;
    let payload = split(&records[0]).1;
    assert_eq!(
        (payload["op"].as_str(), payload["after"]["id"].as_i64()),
        (Some("r"), Some(1))
    );
    // The signal's own insert wrote no create event.
    let signals = format!("{prefix}.{}.debezium_signal", db.name);
    assert_no_records(&signals).await;
    finish(worker, db).await;
}

/// Column defaults become the fields' schema `default`s, converted as Debezium converts them
/// (`DATETIME DEFAULT CURRENT_TIMESTAMP` → 0, `TIMESTAMP … CURRENT_TIMESTAMP` → the epoch as a
/// `ZonedTimestamp`, REFERENCE-DEBEZIUM §4), and JsonConverter writes a null value of such a
/// field as its default (`replace.null.with.default`, true by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_defaults_are_schema_defaults() {
    let db = TestDb::new("dbz_defaults").await;
    db.exec(
        "CREATE TABLE d (id INT PRIMARY KEY, d_int INT NOT NULL DEFAULT 7, \
         d_str VARCHAR(5) DEFAULT 'x', d_dec DECIMAL(5,2) DEFAULT 1.5, \
         d_dt DATETIME DEFAULT CURRENT_TIMESTAMP, d_dt2 DATETIME DEFAULT '2020-01-02 03:04:05', \
         d_ts TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP, d_bit BIT(1) DEFAULT b'1', \
         d_date DATE DEFAULT '2020-01-02', d_enum ENUM('a','b') DEFAULT 'b', \
         d_none VARCHAR(5) DEFAULT NULL, d_blob BLOB)",
    )
    .await;
    db.exec("INSERT INTO d (id, d_str) VALUES (1, NULL)").await;
    let prefix = unique("defaults").replace('_', "-");
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-defaults"),
        &db,
        &prefix,
        &[],
    )
    .await;
    let topic = format!("{prefix}.{}.d", db.name);
    let records = read_topic(&topic, 1, Duration::from_secs(30)).await;
    let (schema, payload) = split(&records[0]);
    let schema: Json = serde_json::from_str(&schema).unwrap();
    let defaults: Vec<(String, Json)> = schema["fields"][1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["default"].clone(),
            )
        })
        .collect();
    let expected = [
        ("id", Json::Null),
        ("d_int", json!(7)),
        ("d_str", json!("x")),
        ("d_dec", json!("AJY=")),
        ("d_dt", json!(0)),
        ("d_dt2", json!(1_577_934_245_000i64)),
        ("d_ts", json!("1970-01-01T00:00:00Z")),
        ("d_bit", json!(true)),
        ("d_date", json!(18263)),
        ("d_enum", json!("b")),
        ("d_none", Json::Null),
        ("d_blob", Json::Null),
    ];
    let expected: Vec<(String, Json)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(defaults, expected);
    // The null d_str is written as its default, as JsonConverter writes it.
    assert_eq!(payload["after"]["d_str"], "x");
    assert_eq!(payload["after"]["d_none"], Json::Null);
    finish(worker, db).await;
}

/// `value.converter.replace.null.with.default=false`, as Debezium users set it: a null column
/// with a default stays null in `before`/`after`, though the schema still names the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nulls_stay_null_without_replace_null_with_default() {
    let db = TestDb::new("dbz_nulls").await;
    db.exec("CREATE TABLE d (id INT PRIMARY KEY, d_str VARCHAR(5) DEFAULT 'x')")
        .await;
    db.exec("INSERT INTO d VALUES (1, NULL)").await;
    let prefix = unique("nulls").replace('_', "-");
    let worker = start_debezium(
        &unique("offsets"),
        &unique("dbz-nulls"),
        &db,
        &prefix,
        &[
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.replace.null.with.default", "false"),
        ],
    )
    .await;
    let topic = format!("{prefix}.{}.d", db.name);
    read_exactly(&topic, 1, Duration::from_secs(30)).await;
    db.exec("UPDATE d SET id = 2 WHERE id = 1").await;
    // The snapshot's read, then the update's delete, tombstone and create (a key change).
    let records = read_exactly(&topic, 4, Duration::from_secs(30)).await;
    let (schema, snapshot) = split(&records[0]);
    let schema: Json = serde_json::from_str(&schema).unwrap();
    assert_eq!(schema["fields"][1]["fields"][1]["default"], "x");
    assert_eq!(snapshot["after"], json!({"id": 1, "d_str": null}));
    let (_, delete) = split(&records[1]);
    assert_eq!(delete["before"], json!({"id": 1, "d_str": null}));
    let (_, create) = split(&records[3]);
    assert_eq!(create["after"], json!({"id": 2, "d_str": null}));
    finish(worker, db).await;
}

/// `gtid.source.includes` / `gtid.source.excludes`: the row events of transactions whose GTID
/// source (MariaDB's `<domain>-<server>`) is left out are not written; the others are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gtid_source_filters_drop_other_sources_rows() {
    let db = TestDb::new("dbz_gtidsrc").await;
    db.exec(CUSTOMERS).await;
    db.exec("INSERT INTO customers VALUES (1, 'a', 'a', NULL)")
        .await;
    let mut conn = db.conn().await;
    let (server, domain): (u32, u32) = conn
        .query_first("SELECT @@server_id, @@gtid_domain_id")
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    let source = format!("{domain}-{server}");
    let mut topics = Vec::new();
    let mut workers = Vec::new();
    for (key, value) in [
        ("gtid.source.includes", source.clone()),
        ("gtid.source.excludes", source.clone()),
        ("gtid.source.includes", "99-99".to_string()),
    ] {
        let prefix = unique("gtidsrc").replace('_', "-");
        topics.push(format!("{prefix}.{}.customers", db.name));
        workers.push(
            start_debezium(
                &unique("offsets"),
                &unique("dbz-gtidsrc"),
                &db,
                &prefix,
                &[(key, &value)],
            )
            .await,
        );
    }
    for topic in &topics {
        read_exactly(topic, 1, Duration::from_secs(30)).await;
    }
    db.exec("INSERT INTO customers VALUES (2, 'b', 'b', NULL)")
        .await;
    assert_eq!(
        read_topic(&topics[0], 2, Duration::from_secs(30))
            .await
            .len(),
        2
    );
    for topic in &topics[1..] {
        assert_eq!(
            read_topic(topic, 2, Duration::from_secs(3)).await.len(),
            1,
            "{topic}"
        );
    }
    for worker in workers {
        worker.stop().await;
    }
    db.drop_db().await;
}
