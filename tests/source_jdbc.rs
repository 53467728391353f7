//! The JDBC source against real MariaDB and the real broker: Connect's message bytes, offsets
//! records, restarts, modes and bad configurations.

use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::support::{
    RunningWorker, TestDb, finish, read_exactly, read_topic, unique, worker_config,
};

const SEED_TABLE: &str = "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, user_id VARCHAR(32), \
     pwd VARCHAR(32), name VARCHAR(64), created_at TIMESTAMP NULL)";

fn seed_message(id: u32, user: &str, name: &str, created_at_ms: i64) -> String {
    format!(
        concat!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},"#,
            r#"{{"type":"string","optional":true,"field":"user_id"}},{{"type":"string","optional":true,"field":"pwd"}},"#,
            r#"{{"type":"string","optional":true,"field":"name"}},{{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"}}],"#,
            r#""optional":false,"name":"users"}},"payload":{{"id":{},"user_id":"{}","pwd":"1234","name":"{}","created_at":{}}}}}"#
        ),
        id, user, name, created_at_ms
    )
}

pub(crate) fn source_config(name: &str, db: &TestDb, prefix: &str, extra: &[(&str, &str)]) -> Json {
    let s = crate::support::services();
    let mut config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
        "connection.url": db.jdbc_url(),
        "connection.user": s.mariadb_user,
        "connection.password": s.mariadb_password,
        "mode": "incrementing",
        "incrementing.column.name": "id",
        "table.whitelist": "users",
        "topic.prefix": prefix,
        "tasks.max": "1",
        "poll.interval.ms": "200",
        // One partition: records of a topic are read back in the order they were produced.
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "1",
    });
    for (k, v) in extra {
        if v.is_empty() {
            config.as_object_mut().unwrap().remove(*k);
        } else {
            config[*k] = json!(v);
        }
    }
    json!({"name": name, "config": config})
}

/// Reads the offsets topic until `connector`'s latest record for `partition` equals `expected`.
async fn wait_for_offset(
    offsets_topic: &str,
    key: &str,
    expected: &str,
) -> Vec<crate::support::Record> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let records = read_topic(offsets_topic, usize::MAX, Duration::from_secs(2)).await;
        let latest = records.iter().rev().find(|r| r.key_str() == key);
        if latest.is_some_and(|r| r.value_str() == expected) {
            return records;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "offset {expected} for {key} never stored; records: {:?}",
            records
                .iter()
                .map(|r| (r.key_str().to_string(), r.value_str().to_string()))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn seed_scenario_writes_connect_bytes_and_offsets_and_resumes() {
    let db = TestDb::new("src_seed").await;
    db.exec(SEED_TABLE).await;
    db.exec(
        "INSERT INTO users (user_id, pwd, name, created_at) VALUES \
         ('user1','1234','kim','2021-12-05 06:57:48'), ('user2','1234','lee','2021-12-05 06:57:48')",
    )
    .await;
    let prefix = format!("{}_", unique("my_topic"));
    let topic = format!("{prefix}users");
    let offsets_topic = unique("offsets");
    let name = unique("my-source-connect");
    let config = worker_config(&offsets_topic);
    let connector = source_config(&name, &db, &prefix, &[]);

    let worker = RunningWorker::start(&config, std::slice::from_ref(&connector))
        .await
        .unwrap();
    let records = read_exactly(&topic, 2, Duration::from_secs(30)).await;
    assert_eq!(records[0].key, None, "the JDBC source writes no record key");
    assert_eq!(
        records[0].value_str(),
        seed_message(1, "user1", "kim", 1_638_687_468_000)
    );
    assert_eq!(
        records[1].value_str(),
        seed_message(2, "user2", "lee", 1_638_687_468_000)
    );

    // A row inserted later arrives on the next poll.
    db.exec("INSERT INTO users (user_id, pwd, name, created_at) VALUES ('user3','1234','park','2021-12-06 00:00:00.000')")
        .await;
    let records = read_exactly(&topic, 3, Duration::from_secs(30)).await;
    assert_eq!(
        records[2].value_str(),
        seed_message(3, "user3", "park", 1_638_748_800_000)
    );

    // Connect's exact offsets record.
    let key = format!(
        r#"["{name}",{{"protocol":"1","table":"{}.users"}}]"#,
        db.name
    );
    wait_for_offset(&offsets_topic, &key, r#"{"incrementing":3}"#).await;
    worker.stop().await;

    // Rows written while stopped are delivered after a restart, and nothing is repeated.
    db.exec("INSERT INTO users (user_id, pwd, name, created_at) VALUES ('user4','1234','choi','2021-12-07 00:00:00')")
        .await;
    let worker = RunningWorker::start(&config, std::slice::from_ref(&connector))
        .await
        .unwrap();
    let records = read_exactly(&topic, 4, Duration::from_secs(30)).await;
    assert_eq!(
        records[3].value_str(),
        seed_message(4, "user4", "choi", 1_638_835_200_000)
    );
    wait_for_offset(&offsets_topic, &key, r#"{"incrementing":4}"#).await;
    let again = read_topic(&topic, 5, Duration::from_secs(2)).await;
    assert_eq!(
        again.len(),
        4,
        "a restarted source must not repeat rows covered by its stored offset"
    );
    finish(worker, db).await;
}

#[tokio::test]
async fn resumes_from_an_offset_written_by_kafka_connect() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let db = TestDb::new("src_resume").await;
    db.exec(SEED_TABLE).await;
    db.exec("INSERT INTO users (user_id, pwd, name) VALUES ('a','1234','a'),('b','1234','b'),('c','1234','c')")
        .await;
    let prefix = format!("{}_", unique("resume"));
    let offsets_topic = unique("offsets");
    let name = unique("moved-from-connect");
    crate::support::create_topic(&offsets_topic, 5).await;
    // What a Kafka Connect worker left in connect-offsets: rows up to id 2 were delivered.
    let producer: FutureProducer = crate::support::services().kafka_config().create().unwrap();
    let key = format!(
        r#"["{name}",{{"protocol":"1","table":"{}.users"}}]"#,
        db.name
    );
    producer
        .send(
            FutureRecord::to(&offsets_topic)
                .key(&key)
                .payload(r#"{"incrementing":2}"#),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let worker = RunningWorker::start(
        &worker_config(&offsets_topic),
        &[source_config(&name, &db, &prefix, &[])],
    )
    .await
    .unwrap();
    let records = read_topic(&format!("{prefix}users"), 2, Duration::from_secs(20)).await;
    assert_eq!(
        records.len(),
        1,
        "only the row after Connect's offset is new"
    );
    let payload: Json = serde_json::from_str(records[0].value_str()).unwrap();
    assert_eq!(payload["payload"]["id"], 3);
    finish(worker, db).await;
}

#[tokio::test]
async fn bad_configurations_fail_with_clear_errors() {
    let db = TestDb::new("src_bad").await;
    db.exec(SEED_TABLE).await;
    db.exec("CREATE TABLE nullable_id (id INT NULL, v INT)")
        .await;
    let config = worker_config(&unique("offsets"));
    let prefix = unique("bad");
    let start = |extra: Vec<(&'static str, String)>| {
        let extra: Vec<(&str, String)> = extra;
        let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let connector = source_config(&unique("bad"), &db, &prefix, &pairs);
        let config = config.clone();
        async move { RunningWorker::start_error(&config, connector).await }
    };
    let error = start(vec![("mode", String::new())]).await;
    assert!(
        error.contains(r#"Missing required configuration "mode""#),
        "{error}"
    );
    let error = start(vec![("mode", "sometimes".into())]).await;
    assert!(
        error.contains("Invalid value sometimes for configuration mode"),
        "{error}"
    );
    let error = start(vec![("table.whitelist", "no_such_table".into())]).await;
    assert!(error.contains("no_such_table does not exist"), "{error}");
    let error = start(vec![
        ("connection.password", "wrong".into()),
        ("connection.attempts", "1".into()),
    ])
    .await;
    assert!(error.contains("Access denied"), "{error}");
    assert!(
        !error.contains("wrong"),
        "the password must not appear in errors: {error}"
    );

    // A nullable incrementing column fails the task with a message naming the column.
    let name = unique("nullable");
    let connector = source_config(
        &name,
        &db,
        &prefix,
        &[
            ("table.whitelist", "nullable_id"),
            ("incrementing.column.name", "id"),
        ],
    );
    let worker = RunningWorker::start(&config, &[connector]).await.unwrap();
    let trace = wait_for_failure(&worker, &name).await;
    assert!(
        trace.contains("column id") && trace.contains("nullable"),
        "{trace}"
    );
    finish(worker, db).await;
}

async fn wait_for_failure(worker: &RunningWorker, connector: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        for (_, state) in worker.worker.task_states(connector) {
            if let sluice::runtime::worker::TaskState::Failed(trace) = state {
                return trace;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "task of {connector} never failed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn payloads(records: &[crate::support::Record]) -> Vec<Json> {
    records
        .iter()
        .map(|r| serde_json::from_str::<Json>(r.value_str()).unwrap()["payload"].clone())
        .collect()
}

#[tokio::test]
async fn timestamp_incrementing_mode_keeps_rows_with_equal_timestamps() {
    let db = TestDb::new("src_tsinc").await;
    db.exec(
        "CREATE TABLE events (id INT PRIMARY KEY, v VARCHAR(8), updated_at DATETIME(3) NOT NULL)",
    )
    .await;
    db.exec(
        "INSERT INTO events VALUES (1,'a','2024-01-01 00:00:00.000'),(2,'b','2024-01-01 00:00:00.000'),\
         (3,'c','2024-01-01 00:00:00.000'),(4,'d','2024-01-01 00:00:01.500')",
    )
    .await;
    let prefix = format!("{}_", unique("tsinc"));
    let offsets_topic = unique("offsets");
    let name = unique("tsinc");
    let connector = source_config(
        &name,
        &db,
        &prefix,
        &[
            ("mode", "timestamp+incrementing"),
            ("timestamp.column.name", "updated_at"),
            ("table.whitelist", "events"),
            // One row per batch: every batch boundary falls inside the equal-timestamp group.
            ("batch.max.rows", "1"),
        ],
    );
    let config = worker_config(&offsets_topic);
    let worker = RunningWorker::start(&config, std::slice::from_ref(&connector))
        .await
        .unwrap();
    let topic = format!("{prefix}events");
    let records = read_topic(&topic, 4, Duration::from_secs(30)).await;
    let ids: Vec<_> = payloads(&records)
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    let key = format!(
        r#"["{name}",{{"protocol":"1","table":"{}.events"}}]"#,
        db.name
    );
    wait_for_offset(
        &offsets_topic,
        &key,
        r#"{"timestamp_nanos":500000000,"incrementing":4,"timestamp":1704067201500}"#,
    )
    .await;
    worker.stop().await;

    // A row updated later (newer timestamp) and a new row with an older-than-latest id.
    db.exec("UPDATE events SET v='b2', updated_at='2024-01-02 00:00:00' WHERE id=2")
        .await;
    let worker = RunningWorker::start(&config, &[connector]).await.unwrap();
    let records = read_topic(&topic, 5, Duration::from_secs(30)).await;
    let last = payloads(&records).pop().unwrap();
    assert_eq!(
        (last["id"].as_i64(), last["v"].as_str()),
        (Some(2), Some("b2"))
    );
    finish(worker, db).await;
}

#[tokio::test]
async fn timestamp_mode_reads_rows_before_now() {
    let db = TestDb::new("src_ts").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, updated_at TIMESTAMP(6) NOT NULL)")
        .await;
    db.exec("INSERT INTO t VALUES (1,'2020-01-01 00:00:00.000001'),(2,'2020-01-01 00:00:00.000001'),(3,'2020-06-01 12:00:00')")
        .await;
    let prefix = format!("{}_", unique("ts"));
    let offsets_topic = unique("offsets");
    let name = unique("ts");
    let connector = source_config(
        &name,
        &db,
        &prefix,
        &[
            ("mode", "timestamp"),
            ("timestamp.column.name", "updated_at"),
            ("incrementing.column.name", ""),
            ("table.whitelist", "t"),
            ("batch.max.rows", "1"),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&offsets_topic), &[connector])
        .await
        .unwrap();
    let records = read_topic(&format!("{prefix}t"), 3, Duration::from_secs(30)).await;
    let ids: Vec<_> = payloads(&records)
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    let key = format!(r#"["{name}",{{"protocol":"1","table":"{}.t"}}]"#, db.name);
    wait_for_offset(
        &offsets_topic,
        &key,
        r#"{"timestamp_nanos":0,"timestamp":1591012800000}"#,
    )
    .await;
    finish(worker, db).await;
}

#[tokio::test]
async fn bulk_mode_rereads_the_table_every_poll() {
    let db = TestDb::new("src_bulk").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)").await;
    db.exec("INSERT INTO t VALUES (1,10),(2,20)").await;
    let prefix = format!("{}_", unique("bulk"));
    let connector = source_config(
        &unique("bulk"),
        &db,
        &prefix,
        &[
            ("mode", "bulk"),
            ("incrementing.column.name", ""),
            ("table.whitelist", "t"),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    let records = read_topic(&format!("{prefix}t"), 6, Duration::from_secs(30)).await;
    assert_eq!(records.len(), 6, "three polls of two rows");
    let ids: Vec<_> = payloads(&records)
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(&ids[..4], [1, 2, 1, 2]);
    finish(worker, db).await;
}

/// `transaction.isolation.mode` sets the source's sessions' isolation level, as Confluent's
/// connector does: under `READ_UNCOMMITTED` a row another session has inserted and not yet
/// committed is read (a dirty read), under the default it is not.
#[tokio::test]
async fn transaction_isolation_mode_sets_the_sessions_level() {
    use mysql_async::prelude::Queryable;
    let db = TestDb::new("src_iso").await;
    db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))")
        .await;
    db.exec("INSERT INTO t (v) VALUES ('committed')").await;
    let mut open = db.conn().await;
    open.query_drop("START TRANSACTION").await.unwrap();
    open.query_drop("INSERT INTO t (v) VALUES ('dirty')")
        .await
        .unwrap();
    let dirty_prefix = format!("{}_", unique("iso_ru"));
    let default_prefix = format!("{}_", unique("iso_def"));
    let dirty = source_config(
        &unique("iso-ru"),
        &db,
        &dirty_prefix,
        &[
            ("table.whitelist", "t"),
            ("transaction.isolation.mode", "READ_UNCOMMITTED"),
        ],
    );
    let default = source_config(
        &unique("iso-def"),
        &db,
        &default_prefix,
        &[("table.whitelist", "t")],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[dirty, default])
        .await
        .unwrap();
    let values = |records: &[crate::support::Record]| -> Vec<String> {
        payloads(records)
            .iter()
            .map(|p| p["v"].as_str().unwrap().to_string())
            .collect()
    };
    let read = read_exactly(&format!("{dirty_prefix}t"), 2, Duration::from_secs(30)).await;
    assert_eq!(values(&read), ["committed", "dirty"]);
    // The default connector reads the committed row, and in the polls that follow (every
    // 200 ms) never the uncommitted one.
    let topic = format!("{default_prefix}t");
    read_exactly(&topic, 1, Duration::from_secs(30)).await;
    let read = read_topic(&topic, 2, Duration::from_secs(3)).await;
    assert_eq!(values(&read), ["committed"]);
    open.query_drop("ROLLBACK").await.unwrap();
    drop(open);
    finish(worker, db).await;
}

/// Connect's topic creation (KIP-158): each topic is created before its first record with the
/// settings of the first `topic.creation.groups` group whose `include` matches its name, else
/// the default group's. (The topic configs, `cleanup.policy` here, are sent with the creation;
/// the tansu broker reports a topic's creation configs as defaults, so only the partition counts
/// can be read back: the configs each topic gets are unit-tested in `config::topic_creation`.)
#[tokio::test]
async fn topic_creation_groups_set_each_topics_partitions() {
    let db = TestDb::new("src_tc").await;
    for table in ["users", "orders"] {
        db.exec(&format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16))"
        ))
        .await;
        db.exec(&format!("INSERT INTO {table} (v) VALUES ('{table}')"))
            .await;
    }
    let prefix = format!("{}_", unique("tc"));
    let connector = source_config(
        &unique("tc"),
        &db,
        &prefix,
        &[
            ("table.whitelist", "users,orders"),
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.groups", "orders"),
            ("topic.creation.orders.include", ".*_orders"),
            ("topic.creation.orders.partitions", "2"),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    for (table, partitions) in [("users", 3), ("orders", 2)] {
        let topic = format!("{prefix}{table}");
        let read = read_exactly(&topic, 1, Duration::from_secs(30)).await;
        assert_eq!(payloads(&read)[0]["v"], table);
        assert_eq!(partition_count(&topic).await, partitions, "{topic}");
    }
    finish(worker, db).await;
}

/// The number of partitions of `topic`, from the broker's metadata.
async fn partition_count(topic: &str) -> usize {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = crate::support::services().kafka_config().create().unwrap();
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        metadata.topics()[0].partitions().len()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn query_mode_writes_to_the_prefix_topic_with_an_unnamed_struct() {
    let db = TestDb::new("src_query").await;
    db.exec("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT NOT NULL)")
        .await;
    db.exec("INSERT INTO orders (amount) VALUES (5),(50),(500)")
        .await;
    let topic = unique("query_topic");
    let query = format!("SELECT id, amount * 2 AS doubled FROM `{}`.orders", db.name);
    let connector = source_config(
        &unique("query"),
        &db,
        &topic,
        &[("query", &query), ("table.whitelist", "")],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    let records = read_exactly(&topic, 3, Duration::from_secs(30)).await;
    assert_eq!(
        records[0].value_str(),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"doubled"}],"optional":false},"payload":{"id":1,"doubled":10}}"#
    );
    finish(worker, db).await;
}

#[tokio::test]
async fn tables_are_split_across_tasks_like_connect() {
    let db = TestDb::new("src_tasks").await;
    for table in ["a", "b", "c"] {
        db.exec(&format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(4))"
        ))
        .await;
        db.exec(&format!(
            "INSERT INTO {table} (v) VALUES ('{table}1'),('{table}2')"
        ))
        .await;
    }
    db.exec("CREATE TABLE skipped (id INT AUTO_INCREMENT PRIMARY KEY)")
        .await;
    let prefix = format!("{}_", unique("tasks"));
    let name = unique("tasks");
    let connector = source_config(
        &name,
        &db,
        &prefix,
        &[
            ("table.whitelist", ""),
            ("table.blacklist", "skipped"),
            ("tasks.max", "2"),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    assert_eq!(
        worker.worker.task_states(&name).len(),
        2,
        "3 tables over tasks.max=2 → 2 tasks"
    );
    for table in ["a", "b", "c"] {
        let records = read_topic(&format!("{prefix}{table}"), 2, Duration::from_secs(30)).await;
        let values: Vec<_> = payloads(&records)
            .iter()
            .map(|p| p["v"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(values, [format!("{table}1"), format!("{table}2")]);
    }
    finish(worker, db).await;
}

#[tokio::test]
async fn every_column_type_maps_like_connect_and_matches_select() {
    let db = TestDb::new("src_types").await;
    db.exec(
        "CREATE TABLE types (id INT AUTO_INCREMENT PRIMARY KEY, \
         t_tiny TINYINT, t_tiny_u TINYINT UNSIGNED, t_bool TINYINT(1), t_small SMALLINT, t_small_u SMALLINT UNSIGNED, \
         t_medium MEDIUMINT, t_medium_u MEDIUMINT UNSIGNED, t_int INT, t_int_u INT UNSIGNED, t_big BIGINT, t_big_u BIGINT UNSIGNED, \
         t_float FLOAT, t_double DOUBLE, t_dec DECIMAL(10,2), t_dec0 DECIMAL(20,0), t_dec_u DECIMAL(12,4) UNSIGNED, \
         t_char CHAR(4), t_varchar VARCHAR(32), t_text TEXT, t_enum ENUM('a','b'), t_set SET('x','y'), t_json JSON, \
         t_binary BINARY(4), t_varbinary VARBINARY(8), t_blob BLOB, t_bit1 BIT(1), t_bit8 BIT(8), \
         t_date DATE, t_time TIME(3), t_datetime DATETIME(6), t_timestamp TIMESTAMP(3) NULL, t_year YEAR)",
    )
    .await;
    db.exec(
        "INSERT INTO types VALUES (NULL, -128, 255, 1, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, \
         -9223372036854775808, 9223372036854775807, 1.5, -2.25e-10, -12345678.90, 12345678901234567890, 0.0001, \
         'ab', 'h\u{e9}llo \"q\"\\n', '\u{1F642} emoji', 'b', 'x,y', '{\"k\": [1, 2]}', \
         0x00ff, 0x0102, 'blob', b'1', b'10100101', '1969-07-20', '12:34:56.789', '1960-01-01 00:00:00.123456', \
         '2038-01-19 03:14:07.999', 2024)",
    )
    .await;
    db.exec("INSERT INTO types (id) VALUES (NULL)").await;
    let prefix = format!("{}_", unique("types"));
    let connector = source_config(
        &unique("types"),
        &db,
        &prefix,
        &[("table.whitelist", "types")],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    let records = read_topic(&format!("{prefix}types"), 2, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(records.len(), 2);
    let message: Json = serde_json::from_str(records[0].value_str()).unwrap();

    let schema: Vec<String> = message["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut s = format!(
                "{} {}",
                f["field"].as_str().unwrap(),
                f["type"].as_str().unwrap()
            );
            if let Some(name) = f["name"].as_str() {
                s.push(' ');
                s.push_str(name.rsplit('.').next().unwrap());
            }
            if let Some(params) = f.get("parameters") {
                s.push_str(&format!(" {params}"));
            }
            s
        })
        .collect();
    assert_eq!(
        schema,
        [
            "id int32",
            "t_tiny int8",
            "t_tiny_u int16",
            "t_bool int8",
            "t_small int16",
            "t_small_u int32",
            "t_medium int32",
            "t_medium_u int64",
            "t_int int32",
            "t_int_u int64",
            "t_big int64",
            "t_big_u int64",
            "t_float float",
            "t_double double",
            r#"t_dec bytes Decimal {"scale":"2","connect.decimal.precision":"10"}"#,
            r#"t_dec0 bytes Decimal {"scale":"0","connect.decimal.precision":"20"}"#,
            r#"t_dec_u bytes Decimal {"scale":"4","connect.decimal.precision":"12"}"#,
            "t_char string",
            "t_varchar string",
            "t_text string",
            "t_enum string",
            "t_set string",
            "t_json string",
            "t_binary bytes",
            "t_varbinary bytes",
            "t_blob bytes",
            "t_bit1 int8",
            "t_bit8 bytes",
            "t_date int32 Date",
            "t_time int32 Time",
            "t_datetime int64 Timestamp",
            "t_timestamp int64 Timestamp",
            "t_year int32 Date",
        ]
    );
    assert!(
        message["schema"]["fields"].as_array().unwrap()[1..]
            .iter()
            .all(|f| f["optional"] == true)
    );

    let expected = json!({
        "id": 1, "t_tiny": -128, "t_tiny_u": 255, "t_bool": 1, "t_small": -32768, "t_small_u": 65535,
        "t_medium": -8388608, "t_medium_u": 16777215, "t_int": -2147483648i64, "t_int_u": 4294967295u64,
        "t_big": i64::MIN, "t_big_u": i64::MAX, "t_float": 1.5, "t_double": -2.25e-10,
        "t_dec": "tmn9Lg==", "t_dec0": "AKtUqYzrHwrS", "t_dec_u": "AQ==",
        "t_char": "ab", "t_varchar": "h\u{e9}llo \"q\"\n", "t_text": "\u{1F642} emoji", "t_enum": "b",
        "t_set": "x,y", "t_json": "{\"k\": [1, 2]}",
        "t_binary": "AP8AAA==", "t_varbinary": "AQI=", "t_blob": "YmxvYg==", "t_bit1": 1, "t_bit8": "pQ==",
        "t_date": -165, "t_time": 45_296_789, "t_datetime": -315_619_199_877i64, "t_timestamp": 2_147_483_647_999i64,
        "t_year": 19723,
    });
    assert_eq!(message["payload"], expected);
    // Java's Double.toString spelling of the double, byte for byte.
    assert!(
        records[0].value_str().contains(r#""t_double":-2.25E-10"#),
        "{}",
        records[0].value_str()
    );

    // The same values as a SELECT returns them.
    let mut conn = db.conn().await;
    use mysql_async::prelude::Queryable;
    let row: (i64, String, String, i64, i64) = conn
        .query_first(
            "SELECT t_big, CAST(t_dec AS CHAR), HEX(t_binary), \
             TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', t_datetime), DATEDIFF(t_date, '1970-01-01') FROM types WHERE id = 1",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message["payload"]["t_big"].as_i64(), Some(row.0));
    assert_eq!(row.1, "-12345678.90");
    assert_eq!(row.2, "00FF0000");
    assert_eq!(
        message["payload"]["t_datetime"].as_i64(),
        Some(row.3.div_euclid(1000))
    );
    assert_eq!(message["payload"]["t_date"].as_i64(), Some(row.4));
    drop(conn);

    // All NULLs.
    let nulls: Json = serde_json::from_str(records[1].value_str()).unwrap();
    for (field, value) in nulls["payload"].as_object().unwrap() {
        if field != "id" {
            assert_eq!(value, &Json::Null, "{field}");
        }
    }
    db.drop_db().await;
}

#[tokio::test]
async fn db_timezone_reads_datetime_as_wall_clock_and_granularity_rewrites_times() {
    let db = TestDb::new("src_tz").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, ts TIMESTAMP(3) NULL)",
    )
    .await;
    let mut conn = db.conn().await;
    use mysql_async::prelude::Queryable;
    // updated_at holds Seoul wall-clock times (UTC+9, no DST); ts holds instants.
    // Row 2 is one minute old in Seoul, but read as UTC it would lie almost 9 hours ahead:
    // timestamp mode's end bound (now) would leave it out.
    conn.query_drop(
        "SET time_zone = '+00:00'; \
         INSERT INTO t VALUES (1, '2021-12-05 15:57:48.123456', '2021-12-05 06:57:48.123'), \
         (2, UTC_TIMESTAMP(6) + INTERVAL 9 HOUR - INTERVAL 1 MINUTE, NULL)",
    )
    .await
    .unwrap();
    let row2_wall: String = conn
        .query_first("SELECT DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.%f') FROM t WHERE id = 2")
        .await
        .unwrap()
        .unwrap();
    drop(conn);

    let offsets_topic = unique("offsets");
    let ts_prefix = format!("{}_", unique("tz"));
    let iso_prefix = format!("{}_", unique("iso"));
    let ts_name = unique("tz");
    let timestamp_mode = source_config(
        &ts_name,
        &db,
        &ts_prefix,
        &[
            ("mode", "timestamp"),
            ("timestamp.column.name", "updated_at"),
            ("incrementing.column.name", ""),
            ("table.whitelist", "t"),
            ("db.timezone", "Asia/Seoul"),
        ],
    );
    let iso = source_config(
        &unique("iso"),
        &db,
        &iso_prefix,
        &[
            ("table.whitelist", "t"),
            ("db.timezone", "Asia/Seoul"),
            ("timestamp.granularity", "nanos_iso_datetime_string"),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&offsets_topic), &[timestamp_mode, iso])
        .await
        .unwrap();

    let records = read_topic(&format!("{ts_prefix}t"), 2, Duration::from_secs(30)).await;
    let values = payloads(&records);
    assert_eq!(values.len(), 2, "both rows, including the recent one");
    // 2021-12-05 15:57:48.123456 in Seoul is 06:57:48.123456Z.
    assert_eq!(values[0]["updated_at"], json!(1_638_687_468_123i64));
    assert_eq!(values[0]["ts"], json!(1_638_687_468_123i64));
    assert_eq!(values[1]["id"], json!(2));
    let key = format!(
        r#"["{ts_name}",{{"protocol":"1","table":"{}.t"}}]"#,
        db.name
    );
    let row2_ms = values[1]["updated_at"].as_i64().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now_ms - 120_000..now_ms).contains(&row2_ms),
        "row 2 is a minute old: {row2_ms} vs now {now_ms}"
    );
    let records = read_topic(&format!("{ts_prefix}t"), usize::MAX, Duration::from_secs(1)).await;
    assert_eq!(records.len(), 2, "no row is read twice");
    wait_for_offset(
        &offsets_topic,
        &key,
        &format!(
            r#"{{"timestamp_nanos":{},"timestamp":{row2_ms}}}"#,
            // The offset keeps the microseconds the logical type drops.
            row2_wall[20..26].parse::<i64>().unwrap() * 1000
        ),
    )
    .await;

    let records = read_topic(&format!("{iso_prefix}t"), 2, Duration::from_secs(30)).await;
    let message: Json = serde_json::from_slice(records[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(
        message["schema"]["fields"][1],
        json!({"type":"string","optional":false,"field":"updated_at"})
    );
    assert_eq!(
        message["schema"]["fields"][2],
        json!({"type":"string","optional":true,"field":"ts"})
    );
    assert_eq!(
        message["payload"],
        json!({"id":1,"updated_at":"2021-12-05T15:57:48.123456000","ts":"2021-12-05T15:57:48.123000000"})
    );
    let second: Json = serde_json::from_slice(records[1].value.as_deref().unwrap()).unwrap();
    assert_eq!(
        second["payload"]["updated_at"],
        json!(format!("{row2_wall}000"))
    );
    finish(worker, db).await;
}
