//! The compacted offsets topic: records in Connect's format, read back to the end on open.

use std::time::Duration;

use serde_json::json;
use sluice::offsets::topic::KafkaOffsetStore;
use sluice::offsets::{OffsetReader, OffsetStore};

use crate::support::{read_exactly, unique, worker_config};

#[tokio::test]
async fn a_reopened_store_reads_every_record_to_the_end() {
    let topic = unique("offsets");
    let config = worker_config(&topic);
    let store = KafkaOffsetStore::open(&config).await.unwrap();
    for round in 0..3 {
        let entries: Vec<_> = (0..20)
            .map(|t| {
                (
                    json!({"protocol": "1", "table": format!("db.t{t}")}),
                    Some(json!({"incrementing": round * 100 + t})),
                )
            })
            .collect();
        store.put("conn-a", &entries).await.unwrap();
    }
    store
        .put(
            "conn-b",
            &[(json!({"query": "query"}), Some(json!({"incrementing": 7})))],
        )
        .await
        .unwrap();
    // A deleted partition (null offset) is gone after a reopen.
    store
        .put(
            "conn-a",
            &[(json!({"protocol": "1", "table": "db.t19"}), None)],
        )
        .await
        .unwrap();

    let reopened = KafkaOffsetStore::open(&config).await.unwrap();
    let mut all = reopened.all("conn-a").await.unwrap();
    all.sort_by_key(|(_, o)| o["incrementing"].as_i64());
    assert_eq!(all.len(), 19);
    assert_eq!(all[0].1, json!({"incrementing": 200}));
    assert_eq!(all[18].1, json!({"incrementing": 218}));
    assert_eq!(
        reopened
            .offset("conn-b", &json!({"query": "query"}))
            .await
            .unwrap(),
        Some(json!({"incrementing": 7}))
    );

    // The records themselves are Connect's: key ["connector",{partition}], value the offset.
    let records = read_exactly(&topic, 62, Duration::from_secs(20)).await;
    let tombstone = records
        .iter()
        .find(|r| r.value.is_none())
        .expect("a tombstone for the deleted partition");
    assert_eq!(
        tombstone.key_str(),
        r#"["conn-a",{"protocol":"1","table":"db.t19"}]"#
    );
    assert!(records.iter().any(|r| r.key_str()
        == r#"["conn-a",{"protocol":"1","table":"db.t3"}]"#
        && r.value_str() == r#"{"incrementing":203}"#));
}

/// One set of clients serves several logs: each tail gets only its own topic's records, a log
/// opened later reads its topic from the beginning while the others keep being followed, a
/// sync covers what was written before it, and a dropped tail stops receiving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_clients_follow_several_logs() {
    use sluice::kafka::log::{LogClients, TailRecord};
    use std::sync::{Arc, Mutex};

    let base = unique("logs");
    let config = worker_config(&format!("{base}-offsets"));
    let clients = LogClients::connect(&config).unwrap();
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let sink = |seen: &Seen| {
        let seen = seen.clone();
        Box::new(move |batch: Vec<TailRecord>| {
            let mut seen = seen.lock().unwrap();
            for r in batch {
                seen.push((
                    String::from_utf8(r.key).unwrap(),
                    r.value.map(|v| String::from_utf8(v).unwrap()),
                ));
            }
        }) as sluice::kafka::log::TailSink
    };
    let (a_seen, b_seen): (Seen, Seen) = (Seen::default(), Seen::default());
    let (a, a_initial, a_tail) = clients
        .open_tailing(&format!("{base}-a"), 3, 1, sink(&a_seen))
        .await
        .unwrap();
    assert!(a_initial.is_empty());
    // Topic b has records before it is opened: they come back from the open, not the sink.
    let (b_writer, _) = clients.open(&format!("{base}-b"), 1, 1).await.unwrap();
    for i in 0..5 {
        b_writer
            .send(&format!("b{i}"), Some(format!("v{i}").as_bytes()))
            .await
            .unwrap();
    }
    b_writer.send("b0", None).await.unwrap();
    for i in 0..10 {
        a.send(&format!("a{i}"), Some(b"x")).await.unwrap();
    }
    let (b, b_initial, b_tail) = clients
        .open_tailing(&format!("{base}-b"), 1, 1, sink(&b_seen))
        .await
        .unwrap();
    let keys: Vec<_> = b_initial
        .iter()
        .map(|r| (String::from_utf8(r.key.clone()).unwrap(), r.value.is_some()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("b0".into(), true),
            ("b1".into(), true),
            ("b2".into(), true),
            ("b3".into(), true),
            ("b4".into(), true),
            ("b0".into(), false)
        ]
    );
    b.send("b5", Some(b"v5")).await.unwrap();
    let a_next = a_tail.sync().await.unwrap();
    assert_eq!(a_next.values().sum::<i64>(), 10);
    let b_next = b_tail.sync().await.unwrap();
    assert_eq!(b_next.get(&0), Some(&7));
    let mut a_keys: Vec<_> = a_seen
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    a_keys.sort();
    let mut expected: Vec<_> = (0..10).map(|i| format!("a{i}")).collect();
    expected.sort();
    assert_eq!(a_keys, expected, "each of a's records once, none of b's");
    assert_eq!(
        *b_seen.lock().unwrap(),
        vec![("b5".to_string(), Some("v5".to_string()))]
    );

    // A dropped tail stops (once the reader has taken the drop, which a later sync proves); the
    // other log is still followed.
    drop(a_tail);
    b_tail.sync().await.unwrap();
    a.send("a-late", Some(b"x")).await.unwrap();
    b.send("b6", None).await.unwrap();
    b_tail.sync().await.unwrap();
    assert_eq!(
        b_seen.lock().unwrap().last(),
        Some(&("b6".to_string(), None))
    );
    assert_eq!(a_seen.lock().unwrap().len(), 10);
}
