//! Debezium's incremental snapshots: an `execute-snapshot` row inserted into the signal table
//! (`signal.data.collection`) and read from the binlog starts one; tables are then read in
//! primary-key chunks while the stream goes on, with DBLog's watermarks (Debezium's
//! `insert_insert` strategy):
//!
//! 1. a `<chunk>-open` row is inserted into the signal table (committed at once);
//! 2. the chunk is selected: `WHERE (key) > (last written) AND NOT ((key) > (max)) ORDER BY key
//!    LIMIT incremental.snapshot.chunk.size`, and kept in memory by key;
//! 3. a `<chunk>-close` row is inserted.
//!
//! When the stream reaches `-open`, the window opens: every change event of the chunk's table
//! read from then on takes its key out of the chunk (the change is newer than, or as new as,
//! what was selected). At `-close` what is left of the chunk is written as `op:"r"` events with
//! `source.snapshot:"incremental"`, and the next chunk is read. A row changed during the window
//! is therefore written once by its change event and never overwritten by an older copy.
//!
//! Progress is stored with every batch's offset: Debezium's `incremental_snapshot_collections`
//! (the tables still to read) and Sluice's `sluice_incremental_snapshot_key` (the key of the
//! last chunk row written). A restart goes on with the chunk after it; an offset Debezium wrote
//! (its keys are Java-serialized) restarts the listed tables from their first row.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use mysql_async::Value as MyValue;
use serde_json::{Value as Json, json};

use super::table::TableInfo;
use crate::model::Value;

/// A running incremental snapshot.
#[derive(Debug, Default)]
pub(super) struct Incremental {
    /// Tables still to read, the current one first.
    pub(super) tables: VecDeque<String>,
    /// Key of the last row of the current table written (the next chunk starts after it).
    pub(super) written: Option<Vec<MyValue>>,
    /// The current table's largest key when its first chunk was read (rows inserted later are
    /// the stream's).
    pub(super) max: Option<Vec<MyValue>>,
    /// The chunk selected and not yet written, and its table as it was read.
    pub(super) chunk: Option<Chunk>,
    pub(super) chunk_info: Option<Arc<TableInfo>>,
}

#[derive(Debug)]
pub(super) struct Chunk {
    pub(super) id: String,
    pub(super) table: String,
    /// The stream has read the `-open` watermark.
    pub(super) open: bool,
    /// Rows in key order; `None` once a change event took the row out.
    pub(super) rows: Vec<Option<Vec<Value>>>,
    /// Row index by key text.
    pub(super) index: HashMap<String, usize>,
    /// Key of its last row.
    pub(super) last: Vec<MyValue>,
}

/// A signal row: `id`, `type`, `data` (the first three columns, by position, as Debezium reads
/// them).
pub(super) type Signal = (String, String, String);

/// The signal in a signal-table row, when it has three text columns.
pub(super) fn signal_of(row: &[Value]) -> Option<Signal> {
    let text = |v: Option<&Value>| match v {
        Some(Value::Text(t)) | Some(Value::Bytes(t)) => {
            Some(String::from_utf8_lossy(t).into_owned())
        }
        Some(Value::Null) => Some(String::new()),
        _ => None,
    };
    Some((text(row.first())?, text(row.get(1))?, text(row.get(2))?))
}

/// The text a key is matched by (the key columns' values as both the snapshot and the stream
/// read them).
pub(super) fn key_text(row: &[Value], key_columns: &[usize]) -> String {
    let key: Vec<&Value> = key_columns.iter().map(|&i| &row[i]).collect();
    format!("{key:?}")
}

fn key_json(key: &[MyValue]) -> Json {
    Json::Array(
        key.iter()
            .map(|v| match v {
                MyValue::Int(i) => json!(i),
                MyValue::UInt(u) => json!(u),
                MyValue::Bytes(b) => json!(String::from_utf8_lossy(b)),
                other => json!(other.as_sql(true).trim_matches('\'')),
            })
            .collect(),
    )
}

fn key_from_json(key: &Json) -> Option<Vec<MyValue>> {
    key.as_array()?
        .iter()
        .map(|v| match v {
            Json::Number(n) => n
                .as_i64()
                .map(MyValue::Int)
                .or_else(|| n.as_u64().map(MyValue::UInt)),
            Json::String(s) => Some(MyValue::Bytes(s.clone().into_bytes())),
            _ => None,
        })
        .collect()
}

/// A random chunk id (Debezium uses a UUID).
pub(super) fn chunk_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}", std::process::id());
    let a = crate::model::hash::fnv1a(seed.as_bytes());
    let b = crate::model::hash::fnv1a(format!("{seed}-{a}").as_bytes());
    let hex = format!("{:016x}{:016x}", a, b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Incremental {
    /// The progress a stored offset carries, if an incremental snapshot was running.
    pub(super) fn from_offset(stored: &Json) -> Option<Incremental> {
        let collections: Json =
            serde_json::from_str(stored.get("incremental_snapshot_collections")?.as_str()?).ok()?;
        let tables: VecDeque<String> = collections
            .as_array()?
            .iter()
            .filter_map(|c| c["incremental_snapshot_collections_id"].as_str())
            .map(|id| id.rsplit('.').next().unwrap_or(id).to_string())
            .collect();
        if tables.is_empty() {
            return None;
        }
        Some(Incremental {
            tables,
            written: stored
                .get("sluice_incremental_snapshot_key")
                .and_then(key_from_json),
            ..Default::default()
        })
    }

    /// Adds its progress to a batch's offset.
    pub(super) fn store(&self, database: &str, offset: &mut Json) {
        let collections: Vec<Json> = self
            .tables
            .iter()
            .map(|t| {
                json!({
                    "incremental_snapshot_collections_id": format!("{database}.{t}"),
                    "incremental_snapshot_collections_additional_condition": null,
                    "incremental_snapshot_collections_surrogate_key": null,
                })
            })
            .collect();
        offset["incremental_snapshot_collections"] = json!(Json::Array(collections).to_string());
        if let Some(key) = &self.written {
            offset["sluice_incremental_snapshot_key"] = key_json(key);
        }
    }

    /// A change event of `table` read from the stream: in an open window, its row no longer
    /// comes from the chunk.
    pub(super) fn changed(&mut self, table: &str, row: &[Value], key_columns: &[usize]) {
        if let Some(chunk) = &mut self.chunk
            && chunk.open
            && chunk.table == table
            && let Some(&i) = chunk.index.get(&key_text(row, key_columns))
        {
            chunk.rows[i] = None;
        }
    }

    /// Whether a chunk waits for its watermarks.
    pub(super) fn in_flight(&self) -> bool {
        self.chunk.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_survives_the_offset() {
        let incremental = Incremental {
            tables: ["t".to_string(), "u".to_string()].into(),
            written: Some(vec![MyValue::Int(2048), MyValue::Bytes(b"b".to_vec())]),
            ..Default::default()
        };
        let mut offset = json!({"file": "binlog.000001", "pos": 4});
        incremental.store("db", &mut offset);
        // Debezium's key: a JSON array in a string.
        let collections: Json =
            serde_json::from_str(offset["incremental_snapshot_collections"].as_str().unwrap())
                .unwrap();
        assert_eq!(
            collections[1]["incremental_snapshot_collections_id"],
            "db.u"
        );
        let back = Incremental::from_offset(&offset).unwrap();
        assert_eq!(back.tables, incremental.tables);
        assert_eq!(back.written, incremental.written);
        // An offset Debezium wrote (Java-serialized keys): the listed tables start again.
        let debeziums = json!({"incremental_snapshot_collections": "[{\"incremental_snapshot_collections_id\":\"db.t\"}]", "incremental_snapshot_primary_key": "aced0005"});
        let back = Incremental::from_offset(&debeziums).unwrap();
        assert_eq!(back.tables, VecDeque::from(["t".to_string()]));
        assert_eq!(back.written, None);
    }

    #[test]
    fn a_window_takes_changed_rows_out_of_its_chunk() {
        let mut incremental = Incremental::default();
        let row = |id: i64| vec![Value::Int(id), Value::Text("v".into())];
        incremental.chunk = Some(Chunk {
            id: "c".into(),
            table: "t".into(),
            open: false,
            rows: vec![Some(row(1)), Some(row(2))],
            index: [(key_text(&row(1), &[0]), 0), (key_text(&row(2), &[0]), 1)].into(),
            last: vec![MyValue::Int(2)],
        });
        // Before the window opens, changes leave the chunk alone.
        incremental.changed("t", &row(1), &[0]);
        incremental.chunk.as_mut().unwrap().open = true;
        incremental.changed("other", &row(2), &[0]);
        incremental.changed("t", &row(2), &[0]);
        let chunk = incremental.chunk.unwrap();
        assert!(chunk.rows[0].is_some());
        assert!(chunk.rows[1].is_none());
    }

    #[test]
    fn signals_are_the_first_three_columns() {
        let row = vec![
            Value::Text("ad-hoc-1".into()),
            Value::Text("execute-snapshot".into()),
            Value::Null,
        ];
        assert_eq!(
            signal_of(&row),
            Some(("ad-hoc-1".into(), "execute-snapshot".into(), String::new()))
        );
        assert_eq!(signal_of(&[Value::Int(1)]), None);
        assert_eq!(chunk_id().len(), 36);
    }
}
