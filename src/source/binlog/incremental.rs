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
use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use super::envelope::{self, ENVELOPE_WIDTH};
use super::table::TableInfo;
use super::task::BinlogSourceTask;
use crate::error::{Error, ErrorKind, Result};
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
    max: Option<Vec<MyValue>>,
    /// The chunk selected and not yet written, and its table as it was read.
    chunk: Option<Chunk>,
    chunk_info: Option<Arc<TableInfo>>,
}

#[derive(Debug)]
struct Chunk {
    id: String,
    table: String,
    /// The stream has read the `-open` watermark.
    open: bool,
    /// Rows in key order; `None` once a change event took the row out.
    rows: Vec<Option<Vec<Value>>>,
    /// Row index by key text.
    index: HashMap<String, usize>,
    /// Key of its last row.
    last: Vec<MyValue>,
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
fn key_text(row: &[Value], key_columns: &[usize]) -> String {
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
fn chunk_id() -> String {
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

impl BinlogSourceTask {
    /// The signal table's name in the captured database, when it is there.
    pub(super) fn is_signal_table(&self, table: &str) -> bool {
        self.debezium
            .as_ref()
            .and_then(|d| d.signal_table.as_ref())
            .is_some_and(|(db, t)| *db == self.database && t.eq_ignore_ascii_case(table))
    }

    /// Acts on a signal read from the binlog.
    pub(super) async fn signal(&mut self, (id, kind, data): Signal) -> Result<()> {
        match kind.as_str() {
            "execute-snapshot" => self.execute_snapshot(&id, &data).await,
            "snapshot-window-open" => {
                if let Some(chunk) = self.incremental.as_mut().and_then(|i| i.chunk.as_mut())
                    && id == format!("{}-open", chunk.id)
                {
                    chunk.open = true;
                }
                Ok(())
            }
            "snapshot-window-close" => {
                let current = self
                    .incremental
                    .as_ref()
                    .and_then(|i| i.chunk.as_ref())
                    .is_some_and(|chunk| chunk.open && id == format!("{}-close", chunk.id));
                if current {
                    self.write_chunk()?;
                }
                Ok(())
            }
            "stop-snapshot" => {
                if self.incremental.take().is_some() {
                    tracing::info!(message = "incremental snapshot stopped by a signal", connector = %self.connector, signal = %id);
                    self.position_dirty = true;
                }
                Ok(())
            }
            other => {
                tracing::warn!(message = "signal not supported by Sluice; ignored", connector = %self.connector, signal = %id, r#type = other);
                Ok(())
            }
        }
    }

    /// `execute-snapshot`: the captured tables its `data-collections` regexes name are added to
    /// the incremental snapshot.
    async fn execute_snapshot(&mut self, id: &str, data: &str) -> Result<()> {
        let data: Json = match serde_json::from_str(data) {
            Ok(data) => data,
            Err(error) => {
                tracing::warn!(message = "execute-snapshot signal with unreadable data; ignored", connector = %self.connector, signal = %id, %error);
                return Ok(());
            }
        };
        let kind = data["type"]
            .as_str()
            .unwrap_or("incremental")
            .to_ascii_lowercase();
        if kind != "incremental" && kind != "blocking" {
            tracing::error!(message = "execute-snapshot signal of a type Sluice does not run; ignored (incremental and blocking snapshots are)", connector = %self.connector, signal = %id, r#type = kind);
            return Ok(());
        }
        if data
            .get("additional-conditions")
            .is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty()))
            || data.get("surrogate-key").is_some()
        {
            tracing::error!(message = "execute-snapshot signal with additional-conditions or surrogate-key, which Sluice does not support; ignored", connector = %self.connector, signal = %id);
            return Ok(());
        }
        let mut patterns = Vec::new();
        for collection in data["data-collections"].as_array().into_iter().flatten() {
            let Some(pattern) = collection.as_str() else {
                continue;
            };
            match regex::Regex::new(&format!("(?i)^(?:{pattern})$")) {
                Ok(re) => patterns.push(re),
                Err(error) => {
                    tracing::warn!(message = "execute-snapshot signal with a bad data-collections regex; ignored", connector = %self.connector, signal = %id, pattern, %error);
                    return Ok(());
                }
            }
        }
        let database = self.database.clone();
        let tables: Vec<String> = self
            .list_tables()
            .await?
            .into_iter()
            .filter(|t| !self.is_signal_table(t))
            .filter(|t| {
                patterns
                    .iter()
                    .any(|re| re.is_match(&format!("{database}.{t}")))
            })
            .collect();
        if kind == "blocking" {
            tracing::info!(message = "blocking snapshot requested", connector = %self.connector, signal = %id, tables = ?tables);
            if !tables.is_empty() {
                let (waiting, _) = self.blocking.get_or_insert_with(Default::default);
                waiting.extend(tables);
            }
            return Ok(());
        }
        tracing::info!(message = "incremental snapshot requested", connector = %self.connector, signal = %id, tables = ?tables);
        let incremental = self.incremental.get_or_insert_with(Incremental::default);
        for table in tables {
            if !incremental.tables.contains(&table) {
                incremental.tables.push_back(table);
            }
        }
        if incremental.tables.is_empty() {
            self.incremental = None;
        }
        Ok(())
    }

    /// Reads the next chunk between its two watermarks, moving on to the next table when one is
    /// read to its end; ends the incremental snapshot after the last.
    pub(super) async fn next_chunk(&mut self) -> Result<()> {
        let Some((signal_db, signal_table)) =
            self.debezium.as_ref().and_then(|d| d.signal_table.clone())
        else {
            self.incremental = None;
            return Ok(());
        };
        let chunk_size = self.debezium.as_ref().map_or(1024, |d| d.chunk_size);
        loop {
            let Some(incremental) = &self.incremental else {
                return Ok(());
            };
            let Some(table) = incremental.tables.front().cloned() else {
                tracing::info!(message = "incremental snapshot complete", connector = %self.connector);
                self.incremental = None;
                self.position_dirty = true;
                return Ok(());
            };
            let database = self.database.clone();
            let info = match self.table(&database, &table).await? {
                Some(info) if !info.key_columns.is_empty() && info.events.is_some() => info,
                found => {
                    if found.is_some() {
                        tracing::warn!(message = "incremental snapshot skips a table without a primary key", connector = %self.connector, table);
                    }
                    self.end_incremental_table();
                    continue;
                }
            };
            let q = crate::db::quote_mysql;
            let keys: Vec<String> = info
                .key_columns
                .iter()
                .map(|&i| q(&info.shape.names[i]))
                .collect();
            let key_list = keys.join(", ");
            let row = |n: usize| format!("({})", vec!["?"; n].join(", "));
            let from = format!("{}.{}", q(&database), q(&table));
            let context = self.context();
            let db_error = |e| crate::db::mysql_error(e, &context);
            let max = match self.incremental.as_ref().and_then(|i| i.max.clone()) {
                Some(max) => max,
                None => {
                    let conn = self.meta_conn().await?;
                    let order: Vec<String> = keys.iter().map(|k| format!("{k} DESC")).collect();
                    let found: Option<mysql_async::Row> = conn
                        .query_first(format!(
                            "SELECT {key_list} FROM {from} ORDER BY {} LIMIT 1",
                            order.join(", ")
                        ))
                        .await
                        .map_err(db_error)?;
                    let Some(found) = found else {
                        self.end_incremental_table();
                        continue;
                    };
                    let max = found.unwrap();
                    if let Some(incremental) = &mut self.incremental {
                        incremental.max = Some(max.clone());
                    }
                    max
                }
            };
            let written = self.incremental.as_ref().and_then(|i| i.written.clone());
            let mut params = Vec::new();
            let mut filter = String::new();
            if let Some(written) = &written {
                filter.push_str(&format!("({key_list}) > {} AND ", row(written.len())));
                params.extend(written.iter().cloned());
            }
            filter.push_str(&format!("NOT (({key_list}) > {})", row(max.len())));
            params.extend(max.iter().cloned());
            let id = chunk_id();
            let width = info.width();
            let zone = self.config.zone;
            let signals = format!("{}.{}", q(&signal_db), q(&signal_table));
            let conn = self.meta_conn().await?;
            conn.exec_drop(
                format!("INSERT INTO {signals} VALUES (?, 'snapshot-window-open', ?)"),
                (
                    format!("{id}-open"),
                    json!({"openWindowTimestamp": envelope::now_ns() / 1000}).to_string(),
                ),
            )
            .await
            .map_err(db_error)?;
            let rows: Vec<mysql_async::Row> = conn
                .exec(
                    format!(
                        "SELECT * FROM {from} WHERE {filter} ORDER BY {key_list} LIMIT {chunk_size}"
                    ),
                    params,
                )
                .await
                .map_err(db_error)?;
            if rows.is_empty() {
                // Read to its end (the open watermark is left, as Debezium leaves it).
                self.end_incremental_table();
                continue;
            }
            let mut chunk = Chunk {
                id: id.clone(),
                table: table.clone(),
                open: false,
                rows: Vec::with_capacity(rows.len()),
                index: HashMap::with_capacity(rows.len()),
                last: Vec::new(),
            };
            for mut row in rows {
                let raw_key: Vec<MyValue> = info
                    .key_columns
                    .iter()
                    .map(|&i| row.as_ref(i).cloned().unwrap_or(MyValue::NULL))
                    .collect();
                let mut values = Vec::with_capacity(width);
                info.push_selected(&mut row, zone, &mut values)?;
                chunk
                    .index
                    .insert(key_text(&values, &info.key_columns), chunk.rows.len());
                chunk.rows.push(Some(values));
                chunk.last = raw_key;
            }
            conn.exec_drop(
                format!("INSERT INTO {signals} VALUES (?, 'snapshot-window-close', ?)"),
                (format!("{id}-close"), "{}"),
            )
            .await
            .map_err(db_error)?;
            tracing::debug!(message = "incremental snapshot chunk", connector = %self.connector, table, chunk = %id, rows = chunk.rows.len());
            if let Some(incremental) = &mut self.incremental {
                incremental.chunk = Some(chunk);
                incremental.chunk_info = Some(info);
            }
            return Ok(());
        }
    }

    /// The current table is read: the next one starts from its first row.
    fn end_incremental_table(&mut self) {
        if let Some(incremental) = &mut self.incremental {
            incremental.tables.pop_front();
            incremental.written = None;
            incremental.max = None;
            incremental.chunk = None;
            incremental.chunk_info = None;
        }
    }

    /// The close watermark: what is left of the chunk is written as `r` events.
    fn write_chunk(&mut self) -> Result<()> {
        let Some((chunk, Some(info))) = self
            .incremental
            .as_mut()
            .and_then(|i| Some((i.chunk.take()?, i.chunk_info.take())))
        else {
            return Ok(());
        };
        let Some(shape) = info.events.clone() else {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("incremental snapshot of {}: no Debezium shape", chunk.table),
            ));
        };
        let limit = self.config.batch_max_rows.max(super::task::BATCH_ROWS);
        let now = envelope::now_ns();
        let mut source = self.source.clone();
        source.ts_ms = now / 1_000_000;
        source.db = shape.db.clone();
        source.table = shape.table.clone();
        source.snapshot = "incremental";
        source.row = 0;
        let source = source.value();
        for mut row in chunk.rows.into_iter().flatten() {
            shape.convert(&mut row)?;
            let pending = self.pending_for(&info);
            if shape.key.is_some() {
                shape.push_key(&row, &mut pending.keys);
            }
            envelope::envelope_row(
                &mut pending.values,
                None,
                Some(row),
                source.clone(),
                "r",
                now,
            );
            pending.tombstones.push(false);
            debug_assert_eq!(pending.values.len() % ENVELOPE_WIDTH, 0);
            if pending.tombstones.len() >= limit {
                self.flush();
            }
        }
        // Progress moves to the chunk's end with the batch that ends it: a batch handed on
        // before still resumes at the chunk's start.
        if let Some(incremental) = &mut self.incremental {
            incremental.written = Some(chunk.last);
        }
        self.flush();
        self.position_dirty = true;
        Ok(())
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
