//! The compacted offsets topic: records in Connect's format, read back to the end on open.

use std::time::Duration;

use serde_json::json;
use sluice::offsets::topic::KafkaOffsetStore;
use sluice::offsets::{OffsetReader, OffsetStore};

use crate::support::{read_topic, unique, worker_config};

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
    let records = read_topic(&topic, 62, Duration::from_secs(20)).await;
    assert_eq!(records.len(), 62);
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
