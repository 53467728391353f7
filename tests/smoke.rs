//! Smoke tests proving the harness: each real service answers and behaves as later tests need.

use std::time::Duration;

use futures_util::StreamExt;
use mysql_async::prelude::*;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::support::{TestDb, create_topic, services, unique};

#[tokio::test]
async fn mariadb_rows_round_trip() {
    let db = TestDb::new("smoke_rows").await;
    db.exec("CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64))")
        .await;
    let mut conn = db.conn().await;
    conn.exec_batch(
        "INSERT INTO users (name) VALUES (?)",
        ["kim", "lee", "park"].iter().map(|n| (n.to_string(),)),
    )
    .await
    .unwrap();
    let rows: Vec<(i32, String)> = conn
        .query("SELECT id, name FROM users ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![(1, "kim".into()), (2, "lee".into()), (3, "park".into())]
    );
    drop(conn);
    db.drop_db().await;
}

#[tokio::test]
async fn kafka_keyed_messages_round_trip() {
    let s = services();
    let topic = unique("smoke_topic");
    create_topic(&topic, 3).await;
    let producer: FutureProducer = s.kafka_config().create().unwrap();
    for i in 0..10 {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        let headers = OwnedHeaders::new().insert(Header {
            key: "n",
            value: Some(&i.to_string()),
        });
        producer
            .send(
                FutureRecord::to(&topic)
                    .key(&key)
                    .payload(&value)
                    .headers(headers),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    let consumer: StreamConsumer = s
        .kafka_config()
        .set("group.id", unique("smoke_group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let mut seen = Vec::new();
    let mut stream = consumer.stream();
    while seen.len() < 10 {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("timed out waiting for messages")
            .unwrap()
            .unwrap();
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        let value = String::from_utf8(message.payload().unwrap().to_vec()).unwrap();
        let header = message.headers().unwrap().get(0);
        assert_eq!(header.key, "n");
        assert_eq!(
            key.strip_prefix("key-"),
            std::str::from_utf8(header.value.unwrap()).ok()
        );
        seen.push((key, value));
    }
    seen.sort();
    let expected: Vec<_> = (0..10)
        .map(|i| (format!("key-{i}"), format!("value-{i}")))
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn binlog_stream_delivers_a_row_event() {
    let s = services();
    let db = TestDb::new("smoke_binlog").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(32))")
        .await;

    let mut repl = mysql_async::Conn::new(s.repl_opts()).await.unwrap();
    let (file, pos): (String, u64) = repl
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .map(|row: mysql_async::Row| {
            let file: String = row.get(0).unwrap();
            let pos: u64 = row.get(1).unwrap();
            (file, pos)
        })
        .expect("binlog is on");
    db.exec("INSERT INTO t VALUES (42, 'answer')").await;

    repl.query_drop("SET @mariadb_slave_capability=4")
        .await
        .unwrap();
    let server_id = 1000 + (std::process::id() % 10_000);
    let request = mysql_async::BinlogStreamRequest::new(server_id)
        .with_filename(file.as_bytes())
        .with_pos(pos);
    let mut stream = repl.get_binlog_stream(request).await.unwrap();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = stream.next().await {
            let event = event.unwrap();
            if let Some(mysql_async::binlog::events::EventData::RowsEvent(rows)) =
                event.read_data().unwrap()
            {
                let tme = stream.get_tme(rows.table_id()).unwrap();
                if tme.database_name() != db.name || tme.table_name() != "t" {
                    continue;
                }
                let (_, after) = rows.rows(tme).next().unwrap().unwrap();
                let after = after.unwrap();
                return format!("{:?} {:?}", after.as_ref(0), after.as_ref(1));
            }
        }
        panic!("binlog stream ended");
    })
    .await
    .expect("no row event within 20 s");
    assert!(found.contains("Int(42)"), "{found}");
    assert!(found.contains("answer"), "{found}");
    stream.close().await.ok();
    db.drop_db().await;
}
