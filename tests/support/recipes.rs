//! Connector settings from Confluent's and Debezium's documentation that the integration tests,
//! the chain's unit tests and the benches all run: one copy, included by each with `#[path]`.

// Each includer uses some of them.
#![allow(dead_code)]

/// Confluent's JDBC source key recipe: `ValueToKey` (`fields=id`), then `ExtractField$Key`
/// (`field=id`), then `InsertField$Value` adding `source=mariadb`.
pub(crate) const KEY_FROM_ID: &[(&str, &str)] = &[
    ("transforms", "createKey,extractInt,addSource"),
    (
        "transforms.createKey.type",
        "org.apache.kafka.connect.transforms.ValueToKey",
    ),
    ("transforms.createKey.fields", "id"),
    (
        "transforms.extractInt.type",
        "org.apache.kafka.connect.transforms.ExtractField$Key",
    ),
    ("transforms.extractInt.field", "id"),
    (
        "transforms.addSource.type",
        "org.apache.kafka.connect.transforms.InsertField$Value",
    ),
    ("transforms.addSource.static.field", "source"),
    ("transforms.addSource.static.value", "mariadb"),
];

/// The common Debezium → JDBC sink setup: upserts and deletes by the record key, with
/// `ExtractNewRecordState` (tombstones kept) and `RegexRouter` (`<prefix>.<db>.<table>` → table).
pub(crate) const DEBEZIUM_TO_JDBC: &[(&str, &str)] = &[
    ("pk.mode", "record_key"),
    ("insert.mode", "upsert"),
    ("delete.enabled", "true"),
    ("transforms", "unwrap,route"),
    (
        "transforms.unwrap.type",
        "io.debezium.transforms.ExtractNewRecordState",
    ),
    ("transforms.unwrap.drop.tombstones", "false"),
    (
        "transforms.route.type",
        "org.apache.kafka.connect.transforms.RegexRouter",
    ),
    ("transforms.route.regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
    ("transforms.route.replacement", "$3"),
];
