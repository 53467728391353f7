//! The JDBC sink against real MariaDB, PostgreSQL and the real broker: tables created and
//! written exactly, upserts, deletes, evolution, the dead-letter queue, committed offsets.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use crate::support::{
    RunningWorker, TestDb, await_committed, committed_offset, create_topic, eventually, finish,
    produce, produce_values, reset_offset, run_until_committed, unique, worker_config,
};

const USERS_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"user_id"},{"type":"string","optional":true,"field":"pwd"},{"type":"string","optional":true,"field":"name"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"}],"optional":false,"name":"users"}"#;

fn user(id: i32, name: &str, created_at_ms: i64) -> String {
    format!(
        r#"{{"schema":{USERS_SCHEMA},"payload":{{"id":{id},"user_id":"user{id}","pwd":"1234","name":"{name}","created_at":{created_at_ms}}}}}"#
    )
}

fn sink_config(
    name: &str,
    url: &str,
    user: &str,
    password: &str,
    topic: &str,
    extra: &[(&str, &str)],
) -> Json {
    let mut config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "connection.url": url,
        "connection.user": user,
        "connection.password": password,
        "auto.create": "true",
        "auto.evolve": "true",
        "delete.enabled": "false",
        "tasks.max": "1",
        "topics": topic,
    });
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    json!({"name": name, "config": config})
}

pub(crate) fn mariadb_sink(name: &str, db: &TestDb, topic: &str, extra: &[(&str, &str)]) -> Json {
    let s = crate::support::services();
    sink_config(
        name,
        &db.jdbc_url(),
        &s.mariadb_user,
        &s.mariadb_password,
        topic,
        extra,
    )
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let mut conn = db.conn().await;
    conn.query_first::<i64, _>(format!("SELECT COUNT(*) FROM `{table}`"))
        .await
        .unwrap_or(Some(-1))
        .unwrap_or(0)
}

#[tokio::test]
async fn seed_scenario_creates_the_table_and_copies_every_row() {
    let db = TestDb::new("sink_seed").await;
    let topic = unique("my_topic_users");
    create_topic(&topic, 1).await;
    let messages: Vec<String> = (1..=5)
        .map(|i| user(i, &format!("name{i}"), 1_638_687_468_000 + i64::from(i)))
        .collect();
    produce_values(&topic, &messages).await;
    let name = unique("my-sink-connect");
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[mariadb_sink(&name, &db, &topic, &[])],
    )
    .await
    .unwrap();
    eventually("5 rows in the target", Duration::from_secs(60), || async {
        count(&db, &topic).await == 5
    })
    .await;
    let sql = format!(
        "SELECT id, user_id, pwd, name, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') \
         FROM `{topic}` ORDER BY id"
    );
    let copied: Vec<(i32, String, String, String, String)> = db.select(&sql).await;
    assert_eq!(
        copied[1],
        (
            2,
            "user2".into(),
            "1234".into(),
            "name2".into(),
            "2021-12-05 06:57:48.002000".into()
        )
    );
    assert_eq!(copied.len(), 5);
    // Connect's DDL: a DATETIME(3) for the Timestamp, TEXT for strings, no primary key (pk.mode=none).
    let sql = format!(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA='{}' AND TABLE_NAME='{topic}' ORDER BY ORDINAL_POSITION",
        db.name
    );
    let columns: Vec<(String, String, String)> = db.select(&sql).await;
    assert_eq!(
        columns,
        vec![
            ("id".into(), "int(11)".into(), "NO".into()),
            ("user_id".into(), "text".into(), "YES".into()),
            ("pwd".into(), "text".into(), "YES".into()),
            ("name".into(), "text".into(), "YES".into()),
            ("created_at".into(), "datetime(3)".into(), "YES".into()),
        ]
    );
    // The consumer group is Connect's, and its offsets cover every written record.
    await_committed(&name, &topic, 5).await;
    worker.stop().await;

    // Restart: resumes from the committed offsets; only new records are written.
    produce(&topic, &[(None, Some(user(6, "six", 0).as_str()))]).await;
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[mariadb_sink(&name, &db, &topic, &[])],
    )
    .await
    .unwrap();
    eventually("6 rows", Duration::from_secs(60), || async {
        count(&db, &topic).await == 6
    })
    .await;
    await_committed(&name, &topic, 6).await;
    worker.stop().await;
    assert_eq!(
        count(&db, &topic).await,
        6,
        "insert mode without a restart from earlier offsets writes each record once"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn upserts_are_idempotent_and_an_offset_reset_replays_the_topic() {
    let db = TestDb::new("sink_upsert").await;
    let topic = unique("upsert");
    create_topic(&topic, 1).await;
    let mut messages = Vec::new();
    for i in 1..=4 {
        messages.push(user(i, "first", 0));
    }
    for i in 1..=2 {
        messages.push(user(i, "second", 1000));
    }
    produce_values(&topic, &messages).await;
    let name = unique("upsert");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    let config = worker_config(&unique("offsets"));
    run_until_committed(&config, &connector, &topic, 6).await;
    let snapshot_sql =
        format!("SELECT id, name, UNIX_TIMESTAMP(created_at) * 1000 FROM `{topic}` ORDER BY id");
    let first = snapshot(&db, &snapshot_sql).await;
    assert_eq!(
        first
            .iter()
            .map(|(id, name, _)| (*id, name.as_str()))
            .collect::<Vec<_>>(),
        [(1, "second"), (2, "second"), (3, "first"), (4, "first")]
    );
    // A string-keyed primary key would fail in Connect (TEXT); here the key is an INT PK.
    let sql = format!(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA='{}' AND TABLE_NAME='{topic}' AND CONSTRAINT_NAME='PRIMARY'",
        db.name
    );
    let pk: Vec<String> = db.select(&sql).await;
    assert_eq!(pk, ["id"]);

    // An external reset to the earliest offset while the connector is stopped is honoured, and
    // replaying the whole topic leaves the table identical.
    let group = format!("connect-{name}");
    reset_offset(&group, &topic, 0).await;
    assert_eq!(committed_offset(&group, &topic).await, Some(0));
    run_until_committed(&config, &connector, &topic, 6).await;
    assert_eq!(snapshot(&db, &snapshot_sql).await, first);
    db.drop_db().await;
}

#[tokio::test]
async fn tombstones_delete_by_record_key_in_order() {
    let db = TestDb::new("sink_delete").await;
    let topic = unique("deletes");
    create_topic(&topic, 1).await;
    let key = |id: i32| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false}},"payload":{{"id":{id}}}}}"#
        )
    };
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let (u1, u2, u3, u1b) = (
        user(1, "a", 0),
        user(2, "b", 0),
        user(3, "c", 0),
        user(1, "a-again", 0),
    );
    produce(
        &topic,
        &[
            (Some(&k1), Some(&u1)),
            (Some(&k2), Some(&u2)),
            (Some(&k3), Some(&u3)),
            (Some(&k2), None),
            (Some(&k1), None),
            // Re-inserted after its delete, in the same batch: must survive.
            (Some(&k1), Some(&u1b)),
        ],
    )
    .await;
    let name = unique("deletes");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("delete.enabled", "true"),
        ],
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 6).await;
    let left: Vec<(i32, String)> = db
        .select(&format!("SELECT id, name FROM `{topic}` ORDER BY id"))
        .await;
    assert_eq!(left, [(1, "a-again".to_string()), (3, "c".to_string())]);
    db.drop_db().await;
}

#[tokio::test]
async fn evolve_adds_optional_columns_and_update_mode_updates() {
    let db = TestDb::new("sink_evolve").await;
    let topic = unique("evolve");
    create_topic(&topic, 1).await;
    let v1 = r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"a"}],"optional":false,"name":"t"},"payload":{"id":1,"a":"x"}}"#;
    let v2 = r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"a"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"}],"optional":false,"name":"t"},"payload":{"id":2,"a":"y","price":"BOI="}}"#;
    produce(&topic, &[(None, Some(v1)), (None, Some(v2))]).await;
    let name = unique("evolve");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 2).await;
    let got: Vec<(i64, String, Option<String>)> = db
        .select(&format!(
            "SELECT id, a, CAST(price AS CHAR) FROM `{topic}` ORDER BY id"
        ))
        .await;
    assert_eq!(
        got,
        [
            (1, "x".to_string(), None),
            (2, "y".to_string(), Some("12.50".to_string()))
        ]
    );

    // update mode: existing rows change, unknown keys do not appear.
    let upd = r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"a"}],"optional":false,"name":"t"},"payload":{"id":1,"a":"updated"}}"#;
    let ghost = r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"a"}],"optional":false,"name":"t"},"payload":{"id":99,"a":"ghost"}}"#;
    produce(&topic, &[(None, Some(upd)), (None, Some(ghost))]).await;
    let name = unique("update");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("insert.mode", "update"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 4).await;
    let got: Vec<(i64, String)> = db
        .select(&format!("SELECT id, a FROM `{topic}` ORDER BY id"))
        .await;
    assert_eq!(got, [(1, "updated".to_string()), (2, "y".to_string())]);
    db.drop_db().await;
}

#[tokio::test]
async fn poison_records_go_to_the_dead_letter_topic_with_connect_headers() {
    let db = TestDb::new("sink_dlq").await;
    let topic = unique("dlq_in");
    let dlq = unique("dlq");
    create_topic(&topic, 1).await;
    let (u1, u2) = (user(1, "ok", 0), user(2, "ok", 0));
    produce(
        &topic,
        &[
            (None, Some(&u1)),
            (Some("k"), Some("this is not json")),
            (None, Some(&u2)),
        ],
    )
    .await;
    let name = unique("dlq");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 3).await;
    assert_eq!(count(&db, &topic).await, 2);
    let dead = read_dlq(&dlq).await;
    assert_eq!(dead.len(), 1);
    let (key, value, headers) = &dead[0];
    assert_eq!(key.as_deref(), Some("k"));
    assert_eq!(value.as_deref(), Some("this is not json"));
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("__connect.errors.topic"), topic);
    assert_eq!(header("__connect.errors.partition"), "0");
    assert_eq!(header("__connect.errors.offset"), "1");
    assert_eq!(header("__connect.errors.connector.name"), name);
    assert_eq!(header("__connect.errors.task.id"), "0");
    assert_eq!(header("__connect.errors.stage"), "VALUE_CONVERTER");
    assert_eq!(
        header("__connect.errors.class.name"),
        "org.apache.kafka.connect.json.JsonConverter"
    );
    assert_eq!(
        header("__connect.errors.exception.class.name"),
        "org.apache.kafka.connect.errors.DataException"
    );
    assert!(
        header("__connect.errors.exception.stacktrace").contains("offset 1"),
        "{headers:?}"
    );
    db.drop_db().await;
}

pub(crate) async fn read_dlq(
    topic: &str,
) -> Vec<(Option<String>, Option<String>, Vec<(String, String)>)> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = crate::support::services()
            .kafka_config()
            .set("group.id", unique("dlqreader"))
            .create()
            .unwrap();
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&list).unwrap();
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), text(h.value).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push((text(m.key()), text(m.payload()), headers));
            }
        }
        out
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_poison_record_without_tolerance_fails_the_task_and_offsets_stay_before_it() {
    let db = TestDb::new("sink_poison").await;
    let topic = unique("poison");
    create_topic(&topic, 1).await;
    let u1 = user(1, "ok", 0);
    produce(&topic, &[(None, Some(&u1))]).await;
    let name = unique("poison");
    let connector = mariadb_sink(&name, &db, &topic, &[]);
    let config = worker_config(&unique("offsets"));
    let worker = RunningWorker::start(&config, std::slice::from_ref(&connector))
        .await
        .unwrap();
    await_committed(&name, &topic, 1).await;
    let u2 = user(2, "after", 0);
    produce(&topic, &[(None, Some("{not json")), (None, Some(&u2))]).await;
    let trace = loop {
        let states = worker.worker.task_states(&name);
        if let Some((_, sluice::runtime::worker::TaskState::Failed(trace))) = states.first() {
            break trace.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        trace.contains("offset 1") && trace.to_lowercase().contains("json"),
        "{trace}"
    );
    worker.stop().await;
    assert_eq!(
        committed_offset(&format!("connect-{name}"), &topic).await,
        Some(1),
        "offsets must not move past an unwritten record"
    );
    assert_eq!(count(&db, &topic).await, 1);
    db.drop_db().await;
}

#[tokio::test]
async fn bad_sink_configurations_fail_clearly() {
    let db = TestDb::new("sink_bad").await;
    let config = worker_config(&unique("offsets"));
    let start = |extra: Vec<(&'static str, &'static str)>| {
        let connector = mariadb_sink(&unique("bad"), &db, &unique("t"), &extra);
        let config = config.clone();
        async move { RunningWorker::start_error(&config, connector).await }
    };
    let error = start(vec![("insert.mode", "upsert")]).await;
    assert!(error.contains("pk.mode"), "{error}");
    let error = start(vec![
        ("delete.enabled", "true"),
        ("pk.mode", "record_value"),
    ])
    .await;
    assert!(
        error.contains("delete.enabled") && error.contains("record_key"),
        "{error}"
    );

    // An unreachable database fails the task with a clear trace.
    let name = unique("unreachable");
    let connector = sink_config(
        &name,
        "jdbc:mysql://127.0.0.1:1/nodb",
        "u",
        "secret-pw",
        &unique("t"),
        &[("connection.attempts", "1")],
    );
    let worker = RunningWorker::start(&config, &[connector]).await.unwrap();
    let trace = loop {
        if let Some((_, sluice::runtime::worker::TaskState::Failed(trace))) =
            worker.worker.task_states(&name).first()
        {
            break trace.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(trace.contains("127.0.0.1:1/nodb"), "{trace}");
    assert!(!trace.contains("secret-pw"), "{trace}");
    finish(worker, db).await;
}

#[tokio::test]
async fn postgres_target_upserts() {
    let (url, pg_user) = crate::support::postgres_url();
    let topic = unique("pg_users");
    create_topic(&topic, 1).await;
    let messages = [
        user(1, "a", 1_638_687_468_000),
        user(2, "b", 0),
        user(1, "a2", 1_638_687_468_123),
    ];
    produce_values(&topic, &messages).await;
    let name = unique("pg");
    let connector = sink_config(
        &name,
        &url,
        &pg_user,
        "",
        &topic,
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 3).await;
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 user={pg_user} dbname=test"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("PostgreSQL at 127.0.0.1:5432 (database test) is unreachable");
    tokio::spawn(connection);
    let got: Vec<(i32, String, String)> = client
        .query(&format!("SELECT id, name, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.MS') FROM \"{topic}\" ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        [
            (1, "a2".to_string(), "2021-12-05 06:57:48.123".to_string()),
            (2, "b".to_string(), "1970-01-01 00:00:00.000".to_string())
        ]
    );
    client
        .batch_execute(&format!("DROP TABLE \"{topic}\""))
        .await
        .unwrap();
}

async fn snapshot(db: &TestDb, sql: &str) -> Vec<(i32, String, String)> {
    db.select::<(i32, String, String)>(sql).await
}

#[tokio::test]
async fn db_timezone_writes_wall_clock_into_datetime_and_instants_into_timestamp() {
    let db = TestDb::new("sink_tz").await;
    let topic = unique("sink_tz");
    create_topic(&topic, 1).await;
    db.exec(&format!(
        "CREATE TABLE `{topic}` (id INT PRIMARY KEY, dt DATETIME(3) NULL, ts TIMESTAMP(3) NULL)"
    ))
    .await;
    let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"dt"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}],"optional":false,"name":"t"}"#;
    // 2021-12-05T06:57:48.123Z in both columns.
    let value = format!(
        r#"{{"schema":{schema},"payload":{{"id":1,"dt":1638687468123,"ts":1638687468123}}}}"#
    );
    produce(&topic, &[(None, Some(value.as_str()))]).await;
    let name = unique("sink_tz");
    let connector = mariadb_sink(&name, &db, &topic, &[("db.timezone", "Asia/Seoul")]);
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 1).await;
    let mut conn = db.conn().await;
    conn.query_drop("SET time_zone = '+00:00'").await.unwrap();
    let row: (String, String) = conn
        .query_first(format!(
            "SELECT DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') FROM `{topic}`"
        ))
        .await
        .unwrap()
        .unwrap();
    // DATETIME holds Seoul's wall clock (UTC+9); TIMESTAMP the instant (shown here in UTC).
    assert_eq!(
        row,
        (
            "2021-12-05 15:57:48.123000".to_string(),
            "2021-12-05 06:57:48.123000".to_string()
        )
    );
    drop(conn);
    db.drop_db().await;
}

/// `key/value.converter.schemas.enable=false`: plain JSON rows are read against the existing
/// table's columns (types included: a Timestamp in epoch milliseconds into DATETIME, a decimal
/// number into DECIMAL), keys as objects or scalars, tombstones delete; a field that is not a
/// column and a topic without a table go to the dead-letter topic with the reason, and the rest
/// is written.
#[tokio::test]
async fn schemaless_records_are_read_against_the_existing_table() {
    let db = TestDb::new("sink_schemaless").await;
    let topic = unique("plain");
    let orphan = unique("plain_orphan");
    let dlq = unique("plain_dlq");
    create_topic(&topic, 1).await;
    create_topic(&orphan, 1).await;
    db.exec(&format!(
        "CREATE TABLE `{topic}` (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64), \
         amount DECIMAL(10,2), created_at DATETIME(3), flag TINYINT, note TEXT)"
    ))
    .await;
    produce(
        &topic,
        &[
            (
                Some(r#"{"id":1}"#),
                Some(
                    r#"{"id":1,"name":"ann","amount":12.5,"created_at":1638687468123,"flag":1,"note":"x"}"#,
                ),
            ),
            (Some("2"), Some(r#"{"name":"bob","id":2}"#)),
            (Some("3"), Some(r#"{"id":3,"name":"cy","nope":true}"#)),
            (Some("4"), Some(r#"{"id":4,"name":"dee","amount":true}"#)),
            (Some(r#"{"id":5}"#), Some(r#"{"id":5,"name":"eve"}"#)),
            (Some("5"), None),
            (Some("1"), Some(r#"{"id":1,"name":"ann-2","amount":-0.75}"#)),
            (
                Some("6"),
                Some(r#"{"id":6,"created_at":1638687468123,"flag":-3,"note":"n"}"#),
            ),
        ],
    )
    .await;
    produce(&orphan, &[(Some("9"), Some(r#"{"id":9}"#))]).await;
    let name = unique("plain");
    let connector = mariadb_sink(
        &name,
        &db,
        &format!("{topic},{orphan}"),
        &[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("delete.enabled", "true"),
            ("auto.create", "true"),
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let group = format!("connect-{name}");
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    eventually("both topics committed", Duration::from_secs(60), || async {
        committed_offset(&group, &topic).await == Some(8)
            && committed_offset(&group, &orphan).await == Some(1)
    })
    .await;
    worker.stop().await;
    type Row = (
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i8>,
    );
    let left: Vec<Row> = db.select(&format!(
            "SELECT id, name, CAST(amount AS CHAR), CAST(created_at AS CHAR), flag FROM `{topic}` ORDER BY id"
        )).await;
    assert_eq!(
        left,
        [
            // The whole row is the value: the later record's absent fields are NULL.
            (1, Some("ann-2".into()), Some("-0.75".into()), None, None),
            (2, Some("bob".into()), None, None, None),
            // A Timestamp in epoch milliseconds, written as UTC wall clock (db.timezone).
            (
                6,
                None,
                None,
                Some("2021-12-05 06:57:48.123".into()),
                Some(-3)
            ),
        ]
    );
    let dead = read_dlq(&dlq).await;
    let mut reasons: Vec<(String, String)> = dead
        .iter()
        .map(|(key, _, headers)| {
            let message = headers
                .iter()
                .find(|(k, _)| k == "__connect.errors.exception.stacktrace")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (key.clone().unwrap_or_default(), message)
        })
        .collect();
    // Records of one partition arrive in order; the two topics' batches may interleave.
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, "3");
    assert!(reasons[0].1.contains("\"nope\""), "{reasons:?}");
    assert_eq!(reasons[1].0, "4");
    assert!(reasons[1].1.contains("amount"), "{reasons:?}");
    assert_eq!(reasons[2].0, "9");
    assert!(
        reasons[2].1.contains("does not exist") && reasons[2].1.contains(&orphan),
        "{reasons:?}"
    );
    db.drop_db().await;
}

/// `topics.regex` subscribes to the topics whose whole name matches, as Java's consumer does: a
/// matching topic created after the connector started is picked up, and a topic whose name only
/// begins with a match is not read (librdkafka's own patterns match anywhere in the name).
#[tokio::test]
async fn topics_regex_follows_whole_name_matches() {
    let db = TestDb::new("sink_regex").await;
    let p = unique("rx");
    let (orders, users, old) = (
        format!("{p}_orders"),
        format!("{p}_users"),
        format!("{p}_orders_old"),
    );
    create_topic(&orders, 1).await;
    create_topic(&old, 1).await;
    produce_values(&orders, &[user(1, "o", 0)]).await;
    produce_values(&old, &[user(2, "x", 0)]).await;
    let name = unique("regex");
    let pattern = format!("{p}_(orders|users)");
    let connector = mariadb_sink(&name, &db, "", &[("topics.regex", &pattern)]);
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    await_committed(&name, &orders, 1).await;
    create_topic(&users, 1).await;
    produce_values(&users, &[user(3, "u", 0)]).await;
    await_committed(&name, &users, 1).await;
    worker.stop().await;
    let rows = |table: String| {
        let db = &db;
        async move {
            db.select::<(i32, String)>(&format!("SELECT id, name FROM `{table}`"))
                .await
        }
    };
    assert_eq!(rows(orders).await, [(1, "o".to_string())]);
    assert_eq!(rows(users).await, [(3, "u".to_string())]);
    assert_eq!(count(&db, &old).await, -1, "{old} must not be read");
    assert_eq!(
        committed_offset(&format!("connect-{name}"), &old).await,
        None
    );
    db.drop_db().await;
}
