//! Debezium's transaction metadata (`provide.transaction.metadata=true`): a `BEGIN` record on
//! `<topic.prefix>.transaction` before a transaction's first change event, an `END` record with
//! its event counts at its commit (transactions without captured changes get neither), and each change event's `transaction` block
//! (`id`, `total_order`, `data_collection_order`, both 1-based).
//!
//! The id is the transaction's GTID (MariaDB's `domain-server-sequence`, MySQL's `uuid:n`), or
//! `file=<file>,pos=<pos>` without GTIDs. Inside a transaction the offset carries
//! `transaction_id` and `transaction_data_collection_order_<db.table>` as Debezium's does, so a
//! restart inside it goes on counting.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value as Json, json};

use super::envelope::{field, struct_v1};
use crate::model::{Field, Schema, SchemaType, SourceBatch, SourceKeys, Value};

/// The transaction being read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Transaction {
    pub(super) id: String,
    /// Change events written so far.
    total: i64,
    /// Change events per table (`db.table`), in order of first appearance.
    collections: Vec<(String, i64)>,
}

const ORDER_PREFIX: &str = "transaction_data_collection_order_";

impl Transaction {
    /// A transaction that has written no change event yet.
    pub(super) fn begin(id: String) -> Transaction {
        Transaction {
            id,
            total: 0,
            collections: Vec::new(),
        }
    }

    /// The `transaction` block of the next change event of `collection`.
    pub(super) fn next_block(&mut self, collection: &str) -> Value {
        self.total += 1;
        let order = match self.collections.iter_mut().find(|(c, _)| c == collection) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.collections.push((collection.to_string(), 1));
                1
            }
        };
        Value::Struct(vec![
            Value::Text(Bytes::from(self.id.clone())),
            Value::Int(self.total),
            Value::Int(order),
        ])
    }

    /// Adds its progress to an offset.
    pub(super) fn store(&self, offset: &mut Json) {
        offset["transaction_id"] = json!(self.id);
        for (collection, n) in &self.collections {
            offset[format!("{ORDER_PREFIX}{collection}")] = json!(n);
        }
    }

    /// The transaction a stored offset was inside.
    pub(super) fn from_offset(stored: &Json) -> Option<Transaction> {
        let id = stored.get("transaction_id")?.as_str()?.to_string();
        let collections: Vec<(String, i64)> = stored
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(ORDER_PREFIX)?.to_string(), v.as_i64()?)))
            .collect();
        Some(Transaction {
            id,
            total: collections.iter().map(|(_, n)| n).sum(),
            collections,
        })
    }
}

/// `io.debezium.connector.common.TransactionMetadataKey` and `…Value` (version 1), with the
/// optional `event.collection` struct of `data_collections`.
fn schemas() -> (Arc<Schema>, Arc<Schema>) {
    use SchemaType::*;
    let key = struct_v1(
        "io.debezium.connector.common.TransactionMetadataKey",
        vec![field("id", String, false)],
        false,
    );
    let collection = struct_v1(
        "event.collection",
        vec![
            field("data_collection", String, false),
            field("event_count", Int64, false),
        ],
        true,
    );
    let value = struct_v1(
        "io.debezium.connector.common.TransactionMetadataValue",
        vec![
            field("status", String, false),
            field("id", String, false),
            field("event_count", Int64, true),
            Field {
                name: "data_collections".into(),
                schema: Schema::array(collection, true),
            },
            field("ts_ms", Int64, false),
        ],
        false,
    );
    (Arc::new(key), Arc::new(value))
}

/// A `BEGIN` (`end` is `None`) or `END` record of transaction `id` on the transaction `topic`,
/// at the position `at` (a batch without rows that carries the task's position).
pub(super) fn metadata_batch(
    at: SourceBatch,
    topic: &str,
    id: &str,
    end: Option<&Transaction>,
    ts_ms: i64,
) -> SourceBatch {
    let (key, value) = schemas();
    let text = |s: &str| Value::Text(Bytes::from(s.to_string()));
    let status = if end.is_some() { "END" } else { "BEGIN" };
    let values = vec![
        Value::Text(Bytes::from_static(status.as_bytes())),
        text(id),
        end.map_or(Value::Null, |t| Value::Int(t.total)),
        end.map_or(Value::Null, |t| {
            Value::Array(
                t.collections
                    .iter()
                    .map(|(c, n)| Value::Struct(vec![text(c), Value::Int(*n)]))
                    .collect(),
            )
        }),
        Value::Int(ts_ms),
    ];
    SourceBatch {
        topic: topic.into(),
        schema: value,
        values,
        keys: Some(SourceKeys {
            schema: key,
            values: vec![text(id)],
        }),
        ..at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_count_per_transaction_and_per_table_and_survive_the_offset() {
        let mut tx = Transaction {
            id: "0-1-7".into(),
            total: 0,
            collections: Vec::new(),
        };
        tx.next_block("db.a");
        tx.next_block("db.b");
        assert_eq!(
            tx.next_block("db.a"),
            Value::Struct(vec![
                Value::Text("0-1-7".into()),
                Value::Int(3),
                Value::Int(2)
            ])
        );
        let mut offset = json!({"file": "binlog.000001", "pos": 4});
        tx.store(&mut offset);
        assert_eq!(offset["transaction_data_collection_order_db.a"], 2);
        assert_eq!(Transaction::from_offset(&offset), Some(tx));
    }
}
