//! The record stage against real MariaDB and the real broker: connector configs with
//! `transforms`, `predicates` and converters, as Connect's and Confluent's documentation write
//! them, load unchanged and produce Connect's bytes and rows.

use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::rest_api::{call, start};
use crate::sink_jdbc::mariadb_sink;
use crate::source_jdbc::source_config;
use crate::support::{
    RunningWorker, TestDb, await_committed, create_topic, eventually, finish, produce, read_topic,
    run_until_committed, unique, worker_config,
};

const USERS: &str = "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64))";

/// `Filter` with a `TopicNameMatches` predicate drops exactly one table's records (their
/// offsets still advance), and a connector-level JsonConverter with `decimal.format=NUMERIC`
/// writes decimals as numbers.
#[tokio::test]
async fn filter_by_topic_name_and_numeric_decimals() {
    let db = TestDb::new("rs_filter").await;
    db.exec(USERS).await;
    db.exec(
        "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL)",
    )
    .await;
    db.exec("INSERT INTO users (name) VALUES ('kim'), ('lee')")
        .await;
    db.exec("INSERT INTO orders (amount) VALUES (12.50), (-0.07)")
        .await;
    let prefix = format!("{}_", unique("rsf"));
    let name = unique("rs-filter");
    let offsets = unique("offsets");
    let connector = source_config(
        &name,
        &db,
        &prefix,
        &[
            ("table.whitelist", "users,orders"),
            ("transforms", "dropUsers"),
            (
                "transforms.dropUsers.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.dropUsers.predicate", "isUsers"),
            ("predicates", "isUsers"),
            (
                "predicates.isUsers.type",
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            ),
            ("predicates.isUsers.pattern", ".*_users"),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.decimal.format", "NUMERIC"),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&offsets), &[connector])
        .await
        .unwrap();
    let orders = read_topic(&format!("{prefix}orders"), 2, Duration::from_secs(30)).await;
    assert_eq!(orders.len(), 2);
    let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"amount"}],"optional":false,"name":"orders"}"#;
    assert_eq!(
        orders[0].value_str(),
        format!(r#"{{"schema":{schema},"payload":{{"id":1,"amount":12.50}}}}"#)
    );
    assert_eq!(
        orders[1].value_str(),
        format!(r#"{{"schema":{schema},"payload":{{"id":2,"amount":-0.07}}}}"#)
    );
    // The users rows were read (their offset is stored) but filtered out.
    let key = format!(
        r#"["{name}",{{"protocol":"1","table":"{}.users"}}]"#,
        db.name
    );
    eventually(
        "the filtered table's offset",
        Duration::from_secs(30),
        || {
            let (offsets, key) = (offsets.clone(), key.clone());
            async move {
                read_topic(&offsets, usize::MAX, Duration::from_secs(2))
                    .await
                    .iter()
                    .any(|r| r.key_str() == key && r.value_str() == r#"{"incrementing":2}"#)
            }
        },
    )
    .await;
    let users = read_topic(&format!("{prefix}users"), 1, Duration::from_secs(2)).await;
    assert!(users.is_empty(), "filtered records must not be produced");
    finish(worker, db).await;
}

/// `Filter` with `RecordIsTombstone` on a sink with `delete.enabled=true`: tombstones are
/// dropped before the writer, so the rows they would delete stay; other records are written.
#[tokio::test]
async fn sink_filters_tombstones() {
    let db = TestDb::new("rs_tomb").await;
    let topic = unique("rs_tomb");
    create_topic(&topic, 1).await;
    let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"t"}"#;
    let key =
        |id: i32| format!(r#"{{"schema":{{"type":"int32","optional":false}},"payload":{id}}}"#);
    let value = |id: i32, name: &str| {
        format!(r#"{{"schema":{schema},"payload":{{"id":{id},"name":"{name}"}}}}"#)
    };
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let (v1, v2, v3) = (value(1, "a"), value(2, "b"), value(3, "c"));
    produce(
        &topic,
        &[
            (Some(&k1), Some(&v1)),
            (Some(&k2), Some(&v2)),
            (Some(&k1), None),
            (Some(&k3), Some(&v3)),
        ],
    )
    .await;
    let name = unique("rs-tomb");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("table.name.format", "people"),
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("insert.mode", "upsert"),
            ("delete.enabled", "true"),
            ("transforms", "noTombstones"),
            (
                "transforms.noTombstones.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.noTombstones.predicate", "isTombstone"),
            ("predicates", "isTombstone"),
            (
                "predicates.isTombstone.type",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ),
        ],
    );
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[connector])
        .await
        .unwrap();
    await_committed(&name, &topic, 4).await;
    let people: Vec<(i32, String)> = db.select("SELECT id, name FROM people ORDER BY id").await;
    assert_eq!(
        people,
        vec![
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string())
        ],
        "the tombstone was filtered, so row 1 stays"
    );
    finish(worker, db).await;
}

/// Bad transformation keys are a 400 naming the key; validate reports the transformation's
/// keys in their own group; the plugin list and plugin config cover the record stage.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rest_validates_and_lists_the_record_stage() {
    let db = TestDb::new("rs_rest").await;
    db.exec(USERS).await;
    let (daemon, base) = start(&unique("rsrest")).await;
    let connector = |extra: &[(&str, &str)]| {
        source_config(&unique("rs-rest"), &db, &unique("rsr"), extra).to_string()
    };

    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&connector(&[
            ("transforms", "a"),
            ("transforms.a.type", "com.example.NoSuchTransform"),
        ])),
    );
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("transforms.a.type") && message.contains("com.example.NoSuchTransform"),
        "{message}"
    );

    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&connector(&[
            ("transforms", "a"),
            (
                "transforms.a.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.a.negate", "true"),
        ])),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Config 'transforms.a.negate' was provided but there is no config 'transforms.a.predicate' defining a predicate to be negated."),
        "{body}"
    );

    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&connector(&[(
            "key.converter",
            "org.example.NoSuchConverter",
        )])),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("key.converter"),
        "{body}"
    );

    // Validate: the predicate's keys in "Predicates: p", with the error on its key.
    let mut config = serde_json::from_str::<Json>(&connector(&[
        ("transforms", "f"),
        (
            "transforms.f.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.f.predicate", "p"),
        ("predicates", "p"),
        ("predicates.p.type", "TopicNameMatches"),
    ]))
    .unwrap()["config"]
        .take();
    config["name"] = json!("v");
    let (status, body) = call(
        "PUT",
        &format!("{base}/connector-plugins/JdbcSourceConnector/config/validate"),
        Some(&config.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error_count"], 1, "{body}");
    let groups = body["groups"].as_array().unwrap();
    assert!(
        groups.contains(&json!("Transforms: f")) && groups.contains(&json!("Predicates: p")),
        "{groups:?}"
    );
    let pattern = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "predicates.p.pattern")
        .unwrap();
    assert_eq!(
        pattern["value"]["errors"][0],
        "Missing required configuration \"predicates.p.pattern\" which has no default value."
    );

    let (status, plugins) = call(
        "GET",
        &format!("{base}/connector-plugins?connectorsOnly=false"),
        None,
    );
    assert_eq!(status, 200);
    let has = |class: &str, ty: &str| {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["class"] == class && p["type"] == ty)
    };
    assert!(has(
        "org.apache.kafka.connect.transforms.Filter",
        "transformation"
    ));
    assert!(has(
        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        "predicate"
    ));
    assert!(has(
        "org.apache.kafka.connect.storage.StringConverter",
        "converter"
    ));
    assert!(has(
        "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        "header_converter"
    ));
    assert!(!has(
        "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        "converter"
    ));

    let (status, keys) = call(
        "GET",
        &format!("{base}/connector-plugins/TopicNameMatches/config"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(keys[0]["name"], "pattern");
    assert_eq!(keys[0]["required"], true);
    let (status, _) = call(
        "GET",
        &format!("{base}/connector-plugins/org.example.Nope/config"),
        None,
    );
    assert_eq!(status, 404);
    daemon.stop().await.unwrap();
    db.drop_db().await;
}

/// Confluent's documented key pattern for the JDBC source: `ValueToKey` (`fields=id`) then
/// `ExtractField$Key` (`field=id`), with `InsertField$Value` adding a static field. The key is
/// Connect's int32 envelope, the value has the field appended; a second connector writes the
/// same key with `StringConverter`.
#[tokio::test]
async fn source_key_chain_and_string_key_converter() {
    let db = TestDb::new("rs_key").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (name) VALUES ('kim'), ('lee')")
        .await;
    let chain = crate::support::recipes::KEY_FROM_ID;
    let (json_prefix, string_prefix) =
        (format!("{}_", unique("rsk")), format!("{}_", unique("rss")));
    let json_key = source_config(&unique("rs-key"), &db, &json_prefix, chain);
    let mut with_string = chain.to_vec();
    with_string.push((
        "key.converter",
        "org.apache.kafka.connect.storage.StringConverter",
    ));
    let string_key = source_config(&unique("rs-skey"), &db, &string_prefix, &with_string);
    let worker = RunningWorker::start(&worker_config(&unique("offsets")), &[json_key, string_key])
        .await
        .unwrap();

    let records = read_topic(&format!("{json_prefix}users"), 2, Duration::from_secs(30)).await;
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1].key_str(),
        r#"{"schema":{"type":"int32","optional":false},"payload":2}"#
    );
    assert_eq!(
        records[1].value_str(),
        concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"},{"type":"string","optional":true,"field":"source"}],"#,
            r#""optional":false,"name":"users"},"payload":{"id":2,"name":"lee","source":"mariadb"}}"#
        )
    );
    let records = read_topic(&format!("{string_prefix}users"), 2, Duration::from_secs(30)).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].key_str(), "1");
    assert_eq!(records[1].key_str(), "2");
    assert_eq!(
        records[1].value_str(),
        serde_json::from_str::<Json>(records[1].value_str())
            .unwrap()
            .to_string(),
        "the value is still JsonConverter's"
    );
    finish(worker, db).await;
}

const USERS_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"user_id"},{"type":"string","optional":true,"field":"pwd"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"users"}"#;

fn int_key(id: i32) -> String {
    format!(r#"{{"schema":{{"type":"int32","optional":false}},"payload":{id}}}"#)
}

fn user(id: i32, name: &str) -> String {
    format!(
        r#"{{"schema":{USERS_SCHEMA},"payload":{{"id":{id},"user_id":"user{id}","pwd":"secret","name":"{name}"}}}}"#
    )
}

/// The JDBC sink with `RegexRouter` (renaming the target table) and `ReplaceField$Value`
/// (`exclude=pwd`), upserting by a primitive record key: the renamed table is created without
/// the excluded column.
#[tokio::test]
async fn sink_routes_and_drops_a_column() {
    let db = TestDb::new("rs_route").await;
    let topic = format!("{}_users", unique("rsroute"));
    create_topic(&topic, 1).await;
    let (k1, k2) = (int_key(1), int_key(2));
    let (v1, v2, v1b) = (user(1, "kim"), user(2, "lee"), user(1, "kim2"));
    produce(
        &topic,
        &[
            (Some(&k1), Some(&v1)),
            (Some(&k2), Some(&v2)),
            (Some(&k1), Some(&v1b)),
        ],
    )
    .await;
    let name = unique("rs-route");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        &[
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("insert.mode", "upsert"),
            ("transforms", "route,dropPwd"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "rsroute.*_(users)"),
            ("transforms.route.replacement", "people_$1"),
            (
                "transforms.dropPwd.type",
                "org.apache.kafka.connect.transforms.ReplaceField$Value",
            ),
            ("transforms.dropPwd.exclude", "pwd"),
        ],
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 3).await;
    let columns: Vec<String> = db
        .select(&format!(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' \
             AND TABLE_NAME = 'people_users' ORDER BY ORDINAL_POSITION",
            db.name
        ))
        .await;
    assert_eq!(columns, ["id", "user_id", "name"]);
    let people: Vec<(i32, String, String)> = db
        .select("SELECT id, user_id, name FROM people_users ORDER BY id")
        .await;
    assert_eq!(
        people,
        vec![
            (1, "user1".to_string(), "kim2".to_string()),
            (2, "user2".to_string(), "lee".to_string())
        ]
    );
    db.drop_db().await;
}

const DBZ_VALUE: &str = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":false,"field":"first_name"},{"type":"string","optional":true,"field":"email"}],"optional":true,"name":"dbserver1.inventory.customers.Value","field":"%s"}"#;
const DBZ_SOURCE: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"}],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"}"#;

/// A Debezium MySQL change event as JsonConverter writes it.
fn change_event(op: &str, before: Option<(i32, &str)>, after: Option<(i32, &str)>) -> String {
    let row = |r: Option<(i32, &str)>| match r {
        Some((id, name)) => {
            format!(r#"{{"id":{id},"first_name":"{name}","email":"{name}@example.com"}}"#)
        }
        None => "null".into(),
    };
    let schema = format!(
        r#"{{"type":"struct","fields":[{},{},{DBZ_SOURCE},{{"type":"string","optional":false,"field":"op"}},{{"type":"int64","optional":true,"field":"ts_ms"}}],"optional":false,"name":"dbserver1.inventory.customers.Envelope","version":1}}"#,
        DBZ_VALUE.replace("%s", "before"),
        DBZ_VALUE.replace("%s", "after"),
    );
    let source = r#"{"version":"2.7.3.Final","connector":"mysql","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false","db":"inventory","table":"customers","server_id":223344,"file":"mysql-bin.000003","pos":154,"row":0}"#;
    format!(
        r#"{{"schema":{schema},"payload":{{"before":{},"after":{},"source":{source},"op":"{op}","ts_ms":1700000000100}}}}"#,
        row(before),
        row(after)
    )
}

fn dbz_key(id: i32) -> String {
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false,"name":"dbserver1.inventory.customers.Key"}},"payload":{{"id":{id}}}}}"#
    )
}

/// The most common Debezium → JDBC pipeline: `ExtractNewRecordState` with
/// `drop.tombstones=false`, `RegexRouter` to the table name, `delete.enabled=true`: creates,
/// updates and deletes (by the tombstone after the delete event) are applied.
#[tokio::test]
async fn sink_applies_debezium_change_events() {
    let db = TestDb::new("rs_dbz").await;
    let topic = format!("{}.inventory.customers", unique("dbserver1"));
    create_topic(&topic, 1).await;
    let (k1, k2) = (dbz_key(1001), dbz_key(1002));
    let events = [
        (
            k1.clone(),
            Some(change_event("r", None, Some((1001, "sally")))),
        ),
        (
            k2.clone(),
            Some(change_event("c", None, Some((1002, "george")))),
        ),
        (
            k1.clone(),
            Some(change_event(
                "u",
                Some((1001, "sally")),
                Some((1001, "sal")),
            )),
        ),
        (
            k2.clone(),
            Some(change_event("d", Some((1002, "george")), None)),
        ),
        (k2.clone(), None),
    ];
    let records: Vec<(Option<&str>, Option<&str>)> = events
        .iter()
        .map(|(k, v)| (Some(k.as_str()), v.as_deref()))
        .collect();
    produce(&topic, &records).await;
    let name = unique("rs-dbz");
    let connector = mariadb_sink(
        &name,
        &db,
        &topic,
        crate::support::recipes::DEBEZIUM_TO_JDBC,
    );
    run_until_committed(&worker_config(&unique("offsets")), &connector, &topic, 5).await;
    let customers: Vec<(i32, String, String)> = db
        .select("SELECT id, first_name, email FROM customers ORDER BY id")
        .await;
    assert_eq!(
        customers,
        vec![(1001, "sal".to_string(), "sal@example.com".to_string())]
    );
    db.drop_db().await;
}

/// A transformation that throws on one record: with `errors.tolerance=all` the record goes to
/// the dead-letter topic with stage TRANSFORMATION and the transformation's class, and the
/// others are written; without tolerance the task fails naming the record, and offsets stay
/// before it.
#[tokio::test]
async fn a_failing_transformation_is_dead_lettered_or_fails_the_task() {
    let db = TestDb::new("rs_fail").await;
    let topic = unique("rs_fail");
    let dlq = unique("rs_dlq");
    create_topic(&topic, 1).await;
    let no_id = r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"users"},"payload":{"name":"nobody"}}"#;
    let (v1, v2) = (user(1, "kim"), user(2, "lee"));
    produce(
        &topic,
        &[(None, Some(&v1)), (None, Some(no_id)), (None, Some(&v2))],
    )
    .await;
    let chain = [
        ("pk.mode", "record_key"),
        ("pk.fields", "id"),
        ("insert.mode", "upsert"),
        ("table.name.format", "users"),
        ("transforms", "createKey,extractId"),
        (
            "transforms.createKey.type",
            "org.apache.kafka.connect.transforms.ValueToKey",
        ),
        ("transforms.createKey.fields", "id"),
        (
            "transforms.extractId.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("transforms.extractId.field", "id"),
    ];

    // Without tolerance: the task fails on offset 1, after committing offset 0 at most.
    let strict = unique("rs-strict");
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[mariadb_sink(&strict, &db, &topic, &chain)],
    )
    .await
    .unwrap();
    let trace = loop {
        let states = worker.worker.task_states(&strict);
        if let Some((_, sluice::runtime::worker::TaskState::Failed(trace))) = states.first() {
            break trace.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        trace.contains("TRANSFORMATION")
            && trace.contains("org.apache.kafka.connect.transforms.ValueToKey")
            && trace.contains("offset 1")
            && trace.contains("id"),
        "{trace}"
    );
    worker.stop().await;
    let committed = crate::support::committed_offset(&format!("connect-{strict}"), &topic).await;
    assert!(
        committed.is_none_or(|o| o <= 1),
        "committed {committed:?} past the failing record"
    );

    // With tolerance: dead-lettered, the others written.
    let tolerant = unique("rs-tolerant");
    let mut config = chain.to_vec();
    config.extend([
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", dlq.as_str()),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ]);
    let worker = RunningWorker::start(
        &worker_config(&unique("offsets")),
        &[mariadb_sink(&tolerant, &db, &topic, &config)],
    )
    .await
    .unwrap();
    await_committed(&tolerant, &topic, 3).await;
    worker.stop().await;
    let ids: Vec<i32> = db.select("SELECT id FROM users ORDER BY id").await;
    assert_eq!(ids, [1, 2]);
    let dead = crate::sink_jdbc::read_dlq(&dlq).await;
    assert_eq!(dead.len(), 1);
    let (key, value, headers) = &dead[0];
    assert_eq!(key.as_deref(), None);
    assert_eq!(
        value.as_deref(),
        Some(no_id),
        "the consumed bytes, untransformed"
    );
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("__connect.errors.stage"), "TRANSFORMATION");
    assert_eq!(
        header("__connect.errors.class.name"),
        "org.apache.kafka.connect.transforms.ValueToKey"
    );
    assert_eq!(header("__connect.errors.offset"), "1");
    db.drop_db().await;
}
