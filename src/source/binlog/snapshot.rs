//! The initial consistent snapshot, with no stored offset: the existing rows of every selected
//! table, read inside one consistent snapshot (`START TRANSACTION WITH CONSISTENT SNAPSHOT`)
//! whose binlog position becomes where the stream starts, so nothing is lost or doubled at the
//! seam.
//!
//! - Locking: MariaDB reports the snapshot's own binlog position (`binlog_snapshot_file/
//!   position`), so no lock is needed; elsewhere (MySQL), or with
//!   `sluice.binlog.snapshot.locking=global`, the snapshot starts and the position is read
//!   under a brief global read lock.
//! - Reads: each table in keyset chunks of at least `batch.max.rows` rows, in the order of the
//!   incrementing column (or the first key column); a table with neither is read whole.
//! - Progress (the table being read and its last incrementing value) is stored with every
//!   batch's offset; after a restart or a lost connection a new consistent snapshot goes on
//!   from there.

use mysql_async::Conn;
use mysql_async::Value as MyValue;
use mysql_async::prelude::Queryable;

use super::envelope::{
    ENVELOPE_WIDTH, EventShape, envelope_row, mark_snapshot, now_ns, snapshot_marker,
};
use super::position::{Position, SnapshotState, current_position, gtid_position};
use super::table::TableInfo;
use super::task::{BATCH_ROWS, BinlogSourceTask, HeldSnapshot};
use crate::error::{Error, Result};
use crate::model::{SourceBatch, SourceKeys, SourcePosition, Value};

impl BinlogSourceTask {
    /// Restarts the snapshot from the progress stored with the offset: the tables done and the
    /// one being read come first, then every other selected table.
    pub(super) async fn resume_snapshot(&mut self, mut state: SnapshotState) -> Result<()> {
        // A blocking snapshot went on to the tables it listed, which the offset no longer
        // holds beyond the one being read: it ends with that one.
        if !state.blocking {
            for t in self.list_tables().await? {
                if !state.tables.contains(&t) {
                    state.tables.push(t);
                }
            }
        }
        self.snapshot = Some(state);
        self.run_snapshot().await
    }

    /// Selected tables, in name order.
    pub(super) async fn list_tables(&mut self) -> Result<Vec<String>> {
        let database = self.database.clone();
        let context = self.context();
        let conn = self.meta_conn().await?;
        let names: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
                 AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (&database,),
            )
            .await
            .map_err(|e| crate::db::mysql_error(e, &context))?;
        Ok(names
            .into_iter()
            .filter(|t| self.config.tables.matches(&database, t))
            .collect())
    }

    /// Reads the existing rows of every selected table inside one consistent snapshot, and
    /// returns the binlog position that snapshot corresponds to.
    pub(super) async fn run_snapshot(&mut self) -> Result<()> {
        let context = self.context();
        let mut conn = self.config.database.connect().await?;
        let db_error = |e| crate::db::mysql_error(e, &context);
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(db_error)?;
        let mut locked = self.settings.snapshot_lock;
        if locked {
            global_read_lock(&mut conn, &context).await?;
        }
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .map_err(db_error)?;
        // MariaDB reports the binlog position of the snapshot itself: no lock is needed.
        let status: Vec<(String, String)> = conn
            .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .await
            .map_err(db_error)?;
        let get = |name: &str| {
            status
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let reported = match (get("binlog_snapshot_file"), get("binlog_snapshot_position")) {
            (Some(file), Some(pos)) if !file.is_empty() && !locked => Some(Position {
                file,
                pos: pos.parse().unwrap_or(4),
                ..Position::default()
            }),
            _ => None,
        };
        let position = match reported {
            Some(mut position) => {
                position.gtids = gtid_position(&mut conn, &position).await;
                position
            }
            None => {
                // Elsewhere (MySQL): the snapshot starts and the position is read while no
                // transaction can commit, then the lock is released at once.
                if !locked {
                    conn.query_drop("COMMIT").await.map_err(db_error)?;
                    global_read_lock(&mut conn, &context).await?;
                    locked = true;
                    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                        .await
                        .map_err(db_error)?;
                }
                let position = current_position(&mut conn, &context).await;
                conn.query_drop("UNLOCK TABLES").await.map_err(db_error)?;
                position?
            }
        };
        // A resumed snapshot keeps the stored stream position and its progress.
        let (state, fresh) = match self.snapshot.take() {
            Some(state) => (state, false),
            None => {
                self.position = position;
                let state = SnapshotState {
                    tables: self.list_tables().await?,
                    index: 0,
                    last: None,
                    blocking: false,
                };
                (state, true)
            }
        };
        self.snapshot = Some(state);
        if fresh {
            // The tables' structures at the snapshot's position, in the schema history.
            self.record_tables(&mut conn, true).await?;
        }
        tracing::info!(message = "binlog snapshot", connector = %self.connector, file = %self.position.file, pos = self.position.pos, global_lock = locked, tables = ?self.snapshot.as_ref().map(|s| &s.tables));
        self.meta = Some(conn);
        Ok(())
    }

    /// Starts an ad-hoc blocking snapshot of `tables` (Debezium's `execute-snapshot` of type
    /// `blocking`), at a transaction's end: the stream stops at its position, the tables are
    /// read as the initial snapshot reads them (`r` events with its markers, in a new
    /// consistent snapshot), then the stream goes on from where it stopped (changes made
    /// meanwhile follow the snapshot's rows, as in Debezium).
    pub(super) async fn start_blocking_snapshot(&mut self, tables: Vec<String>) -> Result<()> {
        tracing::info!(message = "blocking snapshot", connector = %self.connector, tables = ?tables, file = %self.position.file, pos = self.position.pos);
        if let Some(stream) = self.stream.take() {
            stream.close().await.ok();
        }
        self.snapshot = Some(SnapshotState {
            tables,
            index: 0,
            last: None,
            blocking: true,
        });
        // An existing snapshot state keeps the stream's position.
        self.run_snapshot().await
    }

    /// The next snapshot batch, or `None` when the snapshot is complete.
    pub(super) async fn snapshot_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            let Some(state) = self.snapshot.clone() else {
                return Ok(None);
            };
            let Some(table) = state.tables.get(state.index).cloned() else {
                // Debezium's last snapshot record says so.
                if let Some(mut held) = self.held.take() {
                    if let Some(last) = held.batch.values.rchunks_exact_mut(ENVELOPE_WIDTH).next() {
                        mark_snapshot(last, "last");
                    }
                    return Ok(Some(held.batch));
                }
                // Complete: the offset from now on is the stream position alone.
                self.snapshot = None;
                if let Some(mut conn) = self.meta.take() {
                    conn.query_drop("COMMIT").await.ok();
                    self.meta = Some(conn);
                }
                tracing::info!(message = "binlog snapshot complete", connector = %self.connector);
                return Ok(Some(self.position_batch()));
            };
            let database = self.database.clone();
            let Some(info) = self.table(&database, &table).await? else {
                self.advance_snapshot_table();
                continue;
            };
            let inc = self.config.incrementing_column.clone().or_else(|| {
                info.key_columns
                    .first()
                    .map(|&i| info.shape.names[i].clone())
            });
            // Rows per chunk: the row limit, fewer when the last chunk's rows say more would pass
            // the batch byte limit.
            let limit = match self.snapshot_row_bytes {
                0 => self.config.batch_max_rows.max(BATCH_ROWS),
                row => {
                    (self.batch_bytes / row).clamp(1, self.config.batch_max_rows.max(BATCH_ROWS))
                }
            };
            let (sql, params) = match (&inc, state.last) {
                (Some(c), Some(last)) => (
                    format!(
                        "SELECT * FROM {}.{} WHERE {} > ? ORDER BY {} LIMIT {limit}",
                        crate::db::quote_mysql(&database),
                        crate::db::quote_mysql(&table),
                        crate::db::quote_mysql(c),
                        crate::db::quote_mysql(c)
                    ),
                    vec![MyValue::Int(last)],
                ),
                (Some(c), None) => (
                    format!(
                        "SELECT * FROM {}.{} ORDER BY {} LIMIT {limit}",
                        crate::db::quote_mysql(&database),
                        crate::db::quote_mysql(&table),
                        crate::db::quote_mysql(c)
                    ),
                    Vec::new(),
                ),
                (None, _) => (
                    format!(
                        "SELECT * FROM {}.{}",
                        crate::db::quote_mysql(&database),
                        crate::db::quote_mysql(&table)
                    ),
                    Vec::new(),
                ),
            };
            let context = self.context();
            let zone = self.config.zone;
            let conn = self.meta_conn().await?;
            let rows: Vec<mysql_async::Row> = match conn.exec(sql, params).await {
                Ok(rows) => rows,
                Err(error) => {
                    // The snapshot transaction is gone with its connection: the next poll
                    // starts a new one.
                    self.meta = None;
                    return Err(crate::db::mysql_error(error, &context));
                }
            };
            let width = info.width();
            let inc_index = inc.as_deref().and_then(|c| info.shape.index_of(c));
            let mut values = self.spare_rows.take(rows.len() * width);
            let mut last = state.last;
            let rows_read = rows.len();
            for mut row in rows {
                info.push_selected(&mut row, zone, &mut values)?;
                if let Some(i) = inc_index
                    && let Value::Int(id) = values[values.len() - width + i]
                {
                    last = Some(id);
                }
            }
            let complete = inc.is_none() || rows_read < limit;
            let first_chunk = state.last.is_none();
            let bytes: usize = values.iter().map(Value::heap_bytes).sum();
            if let Some(row) = bytes.checked_div(rows_read) {
                self.snapshot_row_bytes = row.max(1);
            }
            if let Some(snapshot) = &mut self.snapshot {
                snapshot.last = last;
            }
            if complete {
                self.advance_snapshot_table();
            }
            if values.is_empty() {
                continue;
            }
            let topic = self.topic(&table);
            if let Some(shape) = info.events.clone() {
                let batch =
                    self.snapshot_events(&shape, topic, values, width, &state, first_chunk)?;
                let held = HeldSnapshot {
                    batch,
                    table_index: state.index,
                    table_count: state.tables.len(),
                };
                match self.held.replace(held) {
                    Some(mut previous) => {
                        // The next batch is of another table: the previous one ends its table.
                        if previous.table_index != state.index {
                            end_of_table(&mut previous);
                        }
                        return Ok(Some(previous.batch));
                    }
                    None => continue,
                }
            }
            let rows_count = values.len() / width.max(1);
            let keys = self
                .settings
                .deletes
                .then(|| key_values(&info, &values, rows_count));
            let mut batch = SourceBatch {
                topic,
                schema: info.shape.schema.clone(),
                values,
                keys,
                tombstones: Vec::new(),
                position: SourcePosition {
                    partition: self.partition.clone(),
                    offset: self.offset_json(),
                },
            };
            self.apply_granularity(&info, &mut batch.values);
            return Ok(Some(batch));
        }
    }

    /// A chunk of snapshot rows as Debezium's `r` events, with `source.snapshot` markers for
    /// what is known so far (a table's last row is marked when the next batch shows it).
    fn snapshot_events(
        &mut self,
        shape: &EventShape,
        topic: std::sync::Arc<str>,
        mut values: Vec<Value>,
        width: usize,
        state: &SnapshotState,
        first_chunk: bool,
    ) -> Result<SourceBatch> {
        let rows = values.len() / width.max(1);
        let mut events = self.spare_rows.take(rows * ENVELOPE_WIDTH);
        let mut keys = Vec::new();
        let now = now_ns();
        let mut source = self.source.clone();
        source.ts_ms = now / 1_000_000;
        source.db = shape.db.clone();
        source.table = shape.table.clone();
        source.server_id = 0;
        source.gtid = None;
        source.file = bytes::Bytes::from(self.position.file.clone());
        source.pos = self.position.pos as i64;
        source.row = 0;
        source.thread = None;
        let first_table = state.index == 0;
        let last_table = state.index + 1 == state.tables.len();
        let mut drain = values.drain(..);
        for i in 0..rows {
            let mut row: Vec<Value> = drain.by_ref().take(width).collect();
            shape.convert(&mut row)?;
            if shape.key.is_some() {
                shape.push_key(&row, &mut keys);
            }
            source.snapshot =
                snapshot_marker(first_table, last_table, first_chunk && i == 0, false);
            envelope_row(&mut events, None, Some(row), source.value(), "r", now);
        }
        drop(drain);
        Ok(SourceBatch {
            topic,
            schema: shape.envelope.clone(),
            values: events,
            keys: shape.key.clone().map(|schema| SourceKeys {
                schema,
                values: keys,
            }),
            tombstones: Vec::new(),
            position: SourcePosition {
                partition: self.partition.clone(),
                offset: self.offset_json(),
            },
        })
    }

    fn advance_snapshot_table(&mut self) {
        if let Some(snapshot) = &mut self.snapshot {
            snapshot.index += 1;
            snapshot.last = None;
        }
    }
}

/// `FLUSH TABLES WITH READ LOCK`, failing with what to do when it is not allowed.
async fn global_read_lock(conn: &mut Conn, context: &str) -> Result<()> {
    conn.query_drop("FLUSH TABLES WITH READ LOCK")
        .await
        .map_err(|error| {
            Error::config(format!(
                "{}; the snapshot needs a brief global read lock where the server does not \
                 report binlog_snapshot_file/position (grant RELOAD, or set \
                 sluice.binlog.snapshot=never to stream from the current position)",
                crate::db::mysql_error(error, context)
            ))
        })
}

/// Marks the last row of a held Debezium snapshot batch as its table's last.
fn end_of_table(held: &mut HeldSnapshot) {
    let first_table = held.table_index == 0;
    let last_table = held.table_index + 1 == held.table_count;
    if let Some(last) = held.batch.values.rchunks_exact_mut(ENVELOPE_WIDTH).next() {
        let was_first = matches!(
            last.get(2),
            Some(Value::Struct(source)) if matches!(
                source.get(4),
                Some(Value::Text(t)) if &t[..] == b"first" || &t[..] == b"first_in_data_collection"
            )
        );
        mark_snapshot(
            last,
            snapshot_marker(first_table, last_table, was_first, true),
        );
    }
}

fn key_values(info: &TableInfo, values: &[Value], rows: usize) -> SourceKeys {
    let width = info.width().max(1);
    let mut keys = Vec::with_capacity(rows * info.key_columns.len());
    for row in values.chunks_exact(width) {
        for &i in &info.key_columns {
            keys.push(row[i].clone());
        }
    }
    SourceKeys {
        schema: info.key_schema.clone(),
        values: keys,
    }
}
