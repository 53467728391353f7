//! Debezium's signals and the incremental snapshots they start: a row written to the signal
//! table is read from the binlog as a signal (`execute-snapshot`), and the task then reads the
//! named tables in chunks between low and high watermarks while the stream goes on. The
//! snapshot's state (progress, windows, offsets) is `incremental.rs`, which knows nothing of the
//! task.

use std::collections::HashMap;

use mysql_async::Value as MyValue;
use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use super::envelope::{self, ENVELOPE_WIDTH};
use super::incremental::{Chunk, Incremental, Signal, chunk_id, key_text};
use super::task::BinlogSourceTask;
use crate::error::{Error, ErrorKind, Result};

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
            match crate::config::whole_regex(pattern, true) {
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
