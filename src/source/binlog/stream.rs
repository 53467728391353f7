//! The binlog stream and its event loop: a replica connection (`COM_BINLOG_DUMP`, or its GTID
//! form) from the stored position, whose events move the position and whose row events of
//! captured tables fill batches of one table each.
//!
//! - A batch is handed on when it holds `BATCH_ROWS` rows (at least `batch.max.rows`; a large
//!   row event in parts, each with its row offset) or the pipeline's batch byte limit of binlog
//!   (`SourceTaskContext::batch_max_bytes`), when another table's rows come, at a transaction's
//!   end, a rotation or a heartbeat, and when the stream pauses for `LINGER`.
//! - Transactions: a GTID event (MySQL's, or MariaDB's) starts one, `COMMIT` or XID ends it; DDL
//!   ends it too and drops the table descriptions, so tables are described again when next
//!   seen.
//! - Each event's CRC32 is checked (`binlog_checksum=CRC32`); a mismatch, a lost connection or
//!   any other failure drops the stream, and the next poll reads again from the last batch
//!   handed on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, Conn};

use super::envelope;
use super::gtid::{self, Gtid, Gtids};
use super::rows::{Image, RowDecoder};
use super::table::TableInfo;
use super::task::{BATCH_ROWS, BinlogSourceTask, Pending};
use super::transaction::{Transaction, metadata_batch};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{SourceBatch, SourceKeys, SourcePosition, Value};

/// A partly filled batch is handed on after this long.
const LINGER: Duration = Duration::from_millis(5);
/// Heartbeat period requested from the server.
const HEARTBEAT: Duration = Duration::from_secs(1);

// Event types the loop tells apart by number, named as the servers' sources name them
// (`mysql_common` decodes the others, and does not know MariaDB's own types).

/// MySQL's `HEARTBEAT_LOG_EVENT`: sent while the server has nothing to send
/// (`@master_heartbeat_period`).
const HEARTBEAT_LOG_EVENT: u8 = 27;
/// MariaDB's `GTID_EVENT`: starts a transaction, with its GTID.
const MARIADB_GTID_EVENT: u8 = 0xa2;

impl BinlogSourceTask {
    /// The row decoder for the table map `table_id`; `None` when the table is not captured.
    async fn decoder(&mut self, table_id: u64) -> Result<Option<Arc<RowDecoder>>> {
        let stream = self.stream.as_ref().expect("open stream");
        let Some(tme) = stream.get_tme(table_id) else {
            return Ok(None);
        };
        if let Some(decoder) = self.decoders.get(&table_id)
            && decoder.fits(tme)
        {
            return Ok(Some(decoder.clone()));
        }
        let (database, table) = (
            tme.database_name().into_owned(),
            tme.table_name().into_owned(),
        );
        // Rows of tables not captured: no copy of their table map.
        if database != self.database || self.ignored.contains(&table) {
            return Ok(None);
        }
        let tme = tme.clone().into_owned();
        let Some(info) = self.table(&database, &table).await? else {
            return Ok(None);
        };
        let info = match self.reconciled(&table, &tme).await? {
            Some(reconciled) => reconciled,
            None => info,
        };
        let decoder = Arc::new(RowDecoder::new(&tme, info)?);
        self.decoders.insert(table_id, decoder.clone());
        Ok(Some(decoder))
    }

    /// Fails with what to change when the server's binlog cannot carry rows as needed.
    async fn check_server(&self, conn: &mut Conn) -> Result<()> {
        let vars: Vec<(String, String)> = conn
            .query(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
                 ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata')",
            )
            .await
            .map_err(|e| crate::db::mysql_error(e, &self.context()))?;
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_ascii_uppercase())
        };
        let require = |name: &str, wanted: &str| match get(name) {
            Some(value) if value != wanted => Err(Error::config(format!(
                "the binlog reader needs {name}={wanted} on the server ({}), which has \
                 {name}={value}",
                self.config.database.describe()
            ))),
            _ => Ok(()),
        };
        require("log_bin", "ON")?;
        require("binlog_format", "ROW")?;
        require("binlog_row_image", "FULL")?;
        if get("binlog_row_metadata").is_some_and(|v| v != "FULL") {
            tracing::warn!(message = "binlog_row_metadata is not FULL: the binlog does not name its columns, so rows are matched to the table's current columns by position (rows written before an ALTER TABLE cannot be read after it)", connector = %self.connector);
        }
        Ok(())
    }

    /// Connects as a replica and starts the stream at the position (the server's binlog
    /// settings are checked on the first connection).
    pub(super) async fn open_stream(&mut self) -> Result<()> {
        let context = self.context();
        let db_error = |e| crate::db::mysql_error(e, &context);
        let mut conn = self.config.database.connect().await?;
        if !self.checked {
            self.check_server(&mut conn).await?;
            self.checked = true;
        }
        conn.query_drop("SET @mariadb_slave_capability=4")
            .await
            .map_err(db_error)?;
        conn.query_drop(format!(
            "SET @master_heartbeat_period={}",
            HEARTBEAT.as_nanos()
        ))
        .await
        .map_err(db_error)?;
        self.resume_point(&mut conn, &context).await?;
        let request = self.stream_request(&mut conn, &context).await?;
        let stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| self.stream_error(crate::db::mysql_error(e, &context)))?;
        self.skip = self.position.skip();
        self.event_index = 0;
        self.gtid = None;
        self.stream = Some(stream);
        tracing::info!(message = "binlog stream open", connector = %self.connector, file = %self.position.file, pos = self.position.pos, gtids = ?self.position.gtids.as_ref().map(ToString::to_string), server_id = self.server_id);
        Ok(())
    }

    /// A stream failure: a position the server no longer has (error 1236) fails the task
    /// with what to do; anything else is transient (the reader reconnects).
    fn stream_error(&mut self, error: Error) -> Error {
        let gone =
            crate::db::mysql_code(&error) == Some(crate::db::ER_MASTER_FATAL_ERROR_READING_BINLOG);
        if gone && self.snapshot_mode() == Some(crate::source::config::SnapshotMode::WhenNeeded) {
            tracing::warn!(message = "the stored binlog position is no longer on the server; snapshot.mode=when_needed takes a new snapshot", connector = %self.connector, file = %self.position.file, pos = self.position.pos, error = %error.trace());
            self.resnapshot = true;
            return error.transient();
        }
        if gone {
            let trace = error.trace();
            let gtids = self
                .position
                .gtids
                .as_ref()
                .map(|g| format!(" (GTID position {g})"))
                .unwrap_or_default();
            Error::new(
                ErrorKind::Config,
                format!(
                    "the stored binlog position {}:{}{gtids} is no longer on the server (purged, or \
                     another server): {trace}. To start again from a fresh snapshot, stop the \
                     connector and reset its offsets (PUT /connectors/{c}/stop, then DELETE \
                     /connectors/{c}/offsets), then resume it",
                    self.position.file,
                    self.position.pos,
                    c = self.connector
                ),
            )
        } else {
            error.transient()
        }
    }

    /// A transaction's first change event: its `BEGIN` record (after the rows before it).
    fn begin_metadata(&mut self, start: u64) {
        let id = match &self.gtid {
            Some(gtid) => gtid.to_string(),
            None => format!("file={},pos={start}", self.position.file),
        };
        self.flush();
        let at = self.position_batch();
        let batch = metadata_batch(at, self.transaction_topic(), &id, None, self.event_ts_ms);
        self.ready.push_back(batch);
        self.transaction = Some(Transaction::begin(id));
    }

    /// A transaction's commit (its position already past it): its `END` record with the event
    /// counts.
    fn end_metadata(&mut self) {
        if let Some(transaction) = self.transaction.take() {
            self.flush();
            let at = self.position_batch();
            let batch = metadata_batch(
                at,
                self.transaction_topic(),
                &transaction.id,
                Some(&transaction),
                self.event_ts_ms,
            );
            self.ready.push_back(batch);
        }
    }

    pub(super) fn flush(&mut self) {
        if let Some(pending) = self.pending.take() {
            let rows = pending.tombstones.len();
            let keys = pending.key_schema.map(|schema| SourceKeys {
                schema,
                values: pending.keys,
            });
            let mut batch = SourceBatch {
                topic: pending.topic,
                schema: pending.schema,
                values: pending.values,
                keys,
                tombstones: if pending.tombstones.iter().any(|t| *t) {
                    pending.tombstones
                } else {
                    Vec::new()
                },
                position: SourcePosition {
                    partition: self.partition.clone(),
                    offset: self.offset_json(),
                },
            };
            if self.debezium.is_none() {
                self.apply_granularity(&pending.table, &mut batch.values);
            }
            debug_assert_eq!(batch.len(), rows);
            self.position_dirty = false;
            self.handed = self.position.clone();
            self.ready.push_back(batch);
        }
    }

    /// The pending batch of `info`'s table, handing on another table's first.
    pub(super) fn pending_for(&mut self, info: &Arc<TableInfo>) -> &mut Pending {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| !Arc::ptr_eq(&p.table, info))
        {
            self.flush();
        }
        if self.pending.is_none() {
            let rows = self.config.batch_max_rows.max(BATCH_ROWS);
            let (schema, key_schema, width) = match &info.events {
                Some(shape) => (
                    shape.envelope.clone(),
                    shape.key.clone(),
                    envelope::ENVELOPE_WIDTH,
                ),
                None => (
                    info.shape.schema.clone(),
                    self.settings.deletes.then(|| info.key_schema.clone()),
                    info.width(),
                ),
            };
            self.pending = Some(Pending {
                table: info.clone(),
                topic: self.topic(&info.table),
                schema,
                key_schema,
                values: self.spare_rows.take(rows * width),
                keys: Vec::new(),
                tombstones: Vec::with_capacity(rows),
                bytes: 0,
                started: Instant::now(),
            });
        }
        self.pending.as_mut().expect("a pending batch")
    }

    /// Moves one row (`row` is left empty) into the pending batch (`tombstone`: a delete's
    /// tombstone, keyed by the row).
    fn push_row(&mut self, info: &Arc<TableInfo>, row: &mut Vec<Value>, tombstone: bool) {
        let deletes = self.settings.deletes;
        let pending = self.pending_for(info);
        if deletes {
            for &i in &info.key_columns {
                pending.keys.push(row[i].clone());
            }
        }
        pending.values.append(row);
        pending.tombstones.push(tombstone);
    }

    /// Adds one Debezium change event of a decoded row image (`row` is left empty): `c` for an
    /// insert's after-image, `u` for an update's (with its `before`), `d` for a delete's
    /// before-image, followed by a tombstone with `tombstones.on.delete`. An update that changes
    /// the primary key is a delete of the old key and a create of the new one, as Debezium
    /// writes it.
    fn push_event(
        &mut self,
        info: &Arc<TableInfo>,
        op: Op,
        before: Option<Vec<Value>>,
        row: &mut Vec<Value>,
        n: u64,
    ) -> Result<()> {
        let shape = info.events.clone().expect("Debezium shapes");
        let tombstones = self.debezium.as_ref().is_some_and(|d| d.tombstones);
        // Transaction metadata: the transaction's first change event is preceded by its BEGIN
        // (Debezium's `TransactionMonitor`: transactions without captured changes get none).
        if self.transaction.is_none() && self.transaction_metadata() {
            self.begin_metadata(self.position.pos);
        }
        // Its data collection (only then: this runs for every row).
        let collection = self
            .transaction
            .as_ref()
            .map(|_| format!("{}.{}", self.database, info.table));
        if let Some(incremental) = &mut self.incremental {
            // A change read while a chunk's window is open: the chunk's copy is older.
            incremental.changed(&info.table, row, &info.key_columns);
            if let Some(before) = &before {
                incremental.changed(&info.table, before, &info.key_columns);
            }
        }
        let mut row = std::mem::take(row);
        shape.convert(&mut row)?;
        let mut before = before;
        if let Some(before) = before.as_mut() {
            shape.convert(before)?;
        }
        self.source.db = shape.db.clone();
        self.source.table = shape.table.clone();
        self.source.row = n as i64;
        let source = self.source.value();
        let now = envelope::now_ns();
        let mut transaction = self.transaction.take();
        let pending = self.pending_for(info);
        let mut event = |pending: &mut Pending,
                         before: Option<Vec<Value>>,
                         after: Option<Vec<Value>>,
                         op: &'static str| {
            let keyed = before.as_ref().or(after.as_ref()).expect("an image");
            let key_start = pending.keys.len();
            if shape.key.is_some() {
                shape.push_key(keyed, &mut pending.keys);
            }
            let start = pending.values.len();
            envelope::envelope_row(&mut pending.values, before, after, source.clone(), op, now);
            if let (Some(transaction), Some(collection)) =
                (transaction.as_mut(), collection.as_deref())
            {
                pending.values[start + envelope::TRANSACTION_FIELD] =
                    transaction.next_block(collection);
            }
            pending.tombstones.push(false);
            if op == "d" && tombstones {
                if shape.key.is_some() {
                    pending.keys.extend_from_within(key_start..);
                }
                pending
                    .values
                    .extend(std::iter::repeat_n(Value::Null, envelope::ENVELOPE_WIDTH));
                pending.tombstones.push(true);
            }
        };
        match (op, before) {
            (Op::Create, _) => event(pending, None, Some(row), "c"),
            (Op::Delete, _) => event(pending, Some(row), None, "d"),
            (Op::Update, Some(before)) => {
                let key_changed = shape
                    .key_columns
                    .iter()
                    .any(|&i| before.get(i) != row.get(i));
                if shape.key.is_some() && key_changed {
                    event(pending, Some(before), None, "d");
                    event(pending, None, Some(row), "c");
                } else {
                    event(pending, Some(before), Some(row), "u");
                }
            }
            (Op::Update, None) => {
                self.transaction = transaction;
                return Err(Error::new(
                    ErrorKind::Conversion,
                    format!(
                        "an update of {} without its before-image (binlog_row_image must be FULL)",
                        info.table
                    ),
                ));
            }
        }
        self.transaction = transaction;
        Ok(())
    }

    /// Reads events until a batch is ready (or the linger time passes with rows pending).
    pub(super) async fn read_events(&mut self) -> Result<()> {
        let limit = self.config.batch_max_rows.max(BATCH_ROWS);
        loop {
            if !self.ready.is_empty() {
                return Ok(());
            }
            if self.incremental.as_ref().is_some_and(|i| !i.in_flight()) {
                self.next_chunk().await?;
            }
            // Debezium's heartbeat, checked after every event (the server's own heartbeat
            // events come every second while it has nothing to send).
            if let Some((interval, topic)) =
                self.debezium.as_ref().and_then(|d| d.heartbeat.as_ref())
                && self.last_heartbeat.elapsed() >= *interval
            {
                let topic = topic.clone();
                self.last_heartbeat = Instant::now();
                self.flush();
                let batch = self.heartbeat_batch(&topic);
                self.ready.push_back(batch);
                continue;
            }
            // Rows pending, or a position not yet stored: hand them on as soon as the stream
            // pauses (a burst's end is stored at once, not at the next heartbeat).
            let wait = match &self.pending {
                Some(p) => LINGER.saturating_sub(p.started.elapsed()),
                None if self.position_dirty => LINGER,
                None => Duration::from_secs(5),
            };
            let stream = self.stream.as_mut().expect("open stream");
            let next = match tokio::time::timeout(wait, futures_next(stream)).await {
                Err(_) => {
                    self.flush();
                    if self.ready.is_empty() && self.position_dirty {
                        let batch = self.position_batch();
                        self.ready.push_back(batch);
                    }
                    return Ok(());
                }
                Ok(next) => next,
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(error)) => {
                    self.stream = None;
                    return Err(self.stream_error(crate::db::mysql_error(error, &self.context())));
                }
                None => {
                    self.stream = None;
                    return Err(
                        Error::new(ErrorKind::Database, "the binlog stream ended").transient()
                    );
                }
            };
            let header = event.header();
            if let Err(error) = verify_checksum(&event) {
                // Drop the stream: the reader reconnects at the last position handed over and
                // reads the event again.
                self.stream = None;
                return Err(error.transient());
            }
            // Heartbeats and the fake first Rotate carry timestamp 0.
            if header.timestamp() > 0 {
                self.event_ts_ms = i64::from(header.timestamp()) * 1000;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                self.lag.set((now - f64::from(header.timestamp())).max(0.0));
            } else if header.event_type_raw() == HEARTBEAT_LOG_EVENT {
                // A heartbeat: the reader is caught up.
                self.lag.set(0.0);
            }
            let end = u64::from(header.log_pos());
            let start = end.saturating_sub(u64::from(header.event_size()));
            // MariaDB's GTID event starts a transaction.
            if header.event_type_raw() == MARIADB_GTID_EVENT {
                self.gtid = gtid::mariadb_gtid(event.data(), header.server_id());
                self.begin_transaction(start);
                continue;
            }
            let data = event.read_data().map_err(|e| {
                Error::with_source(ErrorKind::Conversion, "unreadable binlog event", e)
            })?;
            // Debezium's offsets count every event of a transaction read so far (its start
            // included), not only row events.
            if self.debezium.is_some()
                && !matches!(
                    data,
                    Some(
                        EventData::RowsEvent(_)
                            | EventData::GtidEvent(_)
                            | EventData::XidEvent(_)
                            | EventData::RotateEvent(_)
                    )
                )
            {
                self.event_index += 1;
            }
            match data {
                Some(EventData::RotateEvent(rotate)) => {
                    self.flush();
                    self.position.file = strip_checksum(&rotate.name());
                    // Resuming inside a transaction: its start comes with its first event.
                    if self.skip.is_none() {
                        self.position.pos = rotate.position();
                        self.position.event = 0;
                        self.position.row = 0;
                    }
                    self.event_index = 0;
                }
                Some(EventData::GtidEvent(gtid)) => {
                    self.gtid = Some(Gtid::MySql {
                        uuid: gtid::uuid_text(gtid.sid()),
                        gno: gtid.gno(),
                    });
                    self.begin_transaction(start);
                }
                Some(EventData::QueryEvent(query)) => {
                    let sql = query.query();
                    let upper = sql.trim_start().to_ascii_uppercase();
                    if upper.starts_with("BEGIN") {
                        self.source.thread = Some(i64::from(query.thread_id()));
                        // The transaction started at the event after the previous commit (or at
                        // its GTID event): `position.pos` already points there.
                    } else if upper.starts_with("COMMIT") {
                        self.end_transaction(end);
                    } else {
                        // DDL: everything before it is written with the old shapes; the
                        // tables are described again when next seen (from the schema
                        // history's structures, which the DDL updates).
                        self.flush();
                        self.tables.clear();
                        self.ignored.clear();
                        self.decoders.clear();
                        if self.debezium.is_some() {
                            let source = &mut self.source;
                            source.ts_ms = i64::from(header.timestamp()) * 1000;
                            source.server_id = i64::from(header.server_id());
                            source.pos = start as i64;
                            source.file = Bytes::from(self.position.file.clone());
                            source.gtid = self.gtid.as_ref().map(|g| Bytes::from(g.to_string()));
                        }
                        self.end_transaction(end);
                        let sql = sql.into_owned();
                        let schema = query.schema().into_owned();
                        self.read_ddl(&sql, &schema).await?;
                        self.truncate_event(&sql, &schema).await?;
                    }
                }
                Some(EventData::XidEvent(_)) => self.end_transaction(end),
                Some(EventData::RowsEvent(rows)) => {
                    let index = self.event_index;
                    self.event_index += 1;
                    let skip_rows = match self.skip {
                        Some((events, _)) if index < events => continue,
                        Some((events, rows)) if index == events => rows,
                        _ => 0,
                    };
                    let op =
                        match &rows {
                            RowsEventData::WriteRowsEvent(_)
                            | RowsEventData::WriteRowsEventV1(_) => Op::Create,
                            RowsEventData::UpdateRowsEvent(_)
                            | RowsEventData::UpdateRowsEventV1(_)
                            | RowsEventData::PartialUpdateRowsEvent(_) => Op::Update,
                            RowsEventData::DeleteRowsEvent(_)
                            | RowsEventData::DeleteRowsEventV1(_) => Op::Delete,
                        };
                    let (emit, images): (bool, &[Image]) = match (&self.debezium, op) {
                        (None, Op::Create) => (true, &[Image::After]),
                        (None, Op::Update) => (self.settings.updates, &[Image::After]),
                        (None, Op::Delete) => (self.settings.deletes, &[Image::Before]),
                        (Some(d), Op::Create) => (!d.skip_creates, &[Image::After]),
                        (Some(d), Op::Update) => (!d.skip_updates, &[Image::Before, Image::After]),
                        (Some(d), Op::Delete) => (!d.skip_deletes, &[Image::Before]),
                    };
                    // The signal table's inserts are read even when creates are skipped (its
                    // signals act; its events are not written).
                    let signals_only = !emit
                        && op == Op::Create
                        && self
                            .debezium
                            .as_ref()
                            .is_some_and(|d| d.signal_table.is_some())
                        && self
                            .stream
                            .as_ref()
                            .and_then(|s| s.get_tme(rows.table_id()))
                            .is_some_and(|tme| {
                                tme.database_name() == self.database
                                    && self.is_signal_table(&tme.table_name())
                            });
                    // gtid.source.includes/excludes: rows of transactions from other sources
                    // are not written.
                    let other_source = self
                        .debezium
                        .as_ref()
                        .and_then(|d| d.gtid_sources.as_ref())
                        .zip(self.gtid.as_ref())
                        .is_some_and(|((include, exclude), gtid)| {
                            let source = gtid.source();
                            (!include.is_empty()
                                && !include.iter().any(|p| p.matches_whole(&source)))
                                || exclude.iter().any(|p| p.matches_whole(&source))
                        });
                    let emit = emit && !other_source;
                    let decoder = match emit || signals_only {
                        true => self.decoder(rows.table_id()).await?,
                        false => None,
                    };
                    let Some(decoder) = decoder else {
                        // Not captured: only the position moves.
                        self.position.event = self.event_index;
                        self.position.row = 0;
                        self.skip = None;
                        self.position_dirty = true;
                        continue;
                    };
                    let info = decoder.info.clone();
                    let tombstone = op == Op::Delete;
                    let signal_table = op == Op::Create && self.is_signal_table(&info.table);
                    let mut signals = Vec::new();
                    let zone = self.config.zone;
                    if self.debezium.is_some() {
                        let source = &mut self.source;
                        source.ts_ms = i64::from(header.timestamp()) * 1000;
                        source.server_id = i64::from(header.server_id());
                        source.pos = start as i64;
                        if source.file != self.position.file.as_bytes() {
                            source.file = Bytes::from(self.position.file.clone());
                        }
                        source.gtid = self.gtid.as_ref().map(|g| Bytes::from(g.to_string()));
                    }
                    // An update's before-image, until its after-image comes.
                    let mut before = None;
                    // Out of `self` while the rows are handed to it.
                    let mut arena = std::mem::take(&mut self.arena);
                    let read = decoder.for_each_row(
                        &rows,
                        images,
                        skip_rows,
                        zone,
                        &mut arena,
                        |n, image, row| {
                            if signal_table && let Some(signal) = super::incremental::signal_of(row)
                            {
                                signals.push(signal);
                            }
                            if signals_only {
                                // Only the signal is wanted.
                            } else if self.debezium.is_some() {
                                if op == Op::Update && image == Image::Before {
                                    before = Some(std::mem::take(row));
                                    return Ok(());
                                }
                                self.push_event(&info, op, before.take(), row, n)?;
                            } else {
                                self.push_row(&info, row, tombstone);
                            }
                            self.position.event = index;
                            self.position.row = n + 1;
                            // A large event is handed on in parts, each with its row offset.
                            if self
                                .pending
                                .as_ref()
                                .is_some_and(|p| p.tombstones.len() >= limit)
                            {
                                self.flush();
                            }
                            Ok(())
                        },
                    );
                    self.arena = arena;
                    if let Err(error) = read {
                        // event.processing.failure.handling.mode: skip the event (its rows read
                        // before the failure stay), or fail.
                        use crate::source::config::EventFailure;
                        let mode = self.debezium.as_ref().map(|d| d.event_failure);
                        let unreadable = error.kind() == ErrorKind::Conversion;
                        match mode {
                            Some(EventFailure::Warn) if unreadable => {
                                tracing::warn!(message = "skipping a binlog event whose rows cannot be read (event.processing.failure.handling.mode=warn)", connector = %self.connector, table = %info.table, file = %self.position.file, pos = start, error = %error.trace());
                            }
                            Some(EventFailure::Skip) if unreadable => {
                                tracing::debug!(message = "skipping a binlog event whose rows cannot be read", connector = %self.connector, table = %info.table, file = %self.position.file, pos = start, error = %error.trace());
                            }
                            _ => return Err(error),
                        }
                    }
                    self.skip = None;
                    self.position.event = self.event_index;
                    self.position.row = 0;
                    for signal in signals {
                        self.signal(signal).await?;
                    }
                    match self.pending.as_mut() {
                        Some(pending) => {
                            pending.bytes += header.event_size() as usize;
                            if pending.tombstones.len() >= limit
                                || pending.bytes >= self.batch_bytes
                            {
                                self.flush();
                            } else {
                                self.position_dirty = true;
                            }
                        }
                        None => self.position_dirty = true,
                    }
                }
                Some(EventData::HeartbeatEvent) => {
                    self.flush();
                    if self.ready.is_empty() && self.position_dirty {
                        let batch = self.position_batch();
                        self.ready.push_back(batch);
                    }
                }
                _ => {}
            }
        }
    }

    /// Debezium's truncate event (`t` not in `skipped.operations`) for a `TRUNCATE` of a
    /// captured table: on the table's topic, with a null key, `before` and `after` null and
    /// `op: "t"`.
    async fn truncate_event(&mut self, sql: &str, database: &str) -> Result<()> {
        if self.debezium.as_ref().is_none_or(|d| d.skip_truncates) {
            return Ok(());
        }
        let super::ddl::Ddl::Truncate(db, table) = super::ddl::classify(sql, database) else {
            return Ok(());
        };
        let Some(info) = self.table(&db, &table).await? else {
            return Ok(());
        };
        let Some(shape) = info.events.clone() else {
            return Ok(());
        };
        self.source.db = shape.db.clone();
        self.source.table = shape.table.clone();
        self.source.row = 0;
        let mut values = Vec::with_capacity(envelope::ENVELOPE_WIDTH);
        envelope::envelope_row(
            &mut values,
            None,
            None,
            self.source.value(),
            "t",
            envelope::now_ns(),
        );
        let batch = SourceBatch {
            topic: self.topic(&table),
            schema: shape.envelope.clone(),
            values,
            keys: None,
            ..self.position_batch()
        };
        self.ready.push_back(batch);
        Ok(())
    }

    fn begin_transaction(&mut self, start: u64) {
        // Debezium counts the event that starts the transaction.
        self.event_index = u64::from(self.debezium.is_some());
        self.source.thread = None;
        self.position.pos = start;
        // Resuming inside this transaction: the stored event and row stand until passed.
        if self.skip.is_none() {
            self.position.event = 0;
            self.position.row = 0;
        }
    }

    fn end_transaction(&mut self, end: u64) {
        self.event_index = 0;
        self.skip = None;
        // Rows pending belong to the transaction that just ended: they carry its position.
        self.flush();
        self.position.pos = end;
        self.position.event = 0;
        self.position.row = 0;
        if let Some(gtid) = self.gtid.take() {
            Gtids::add(&mut self.position.gtids, &gtid);
        }
        self.position_dirty = true;
        self.end_metadata();
        if let Some((_, ready)) = &mut self.blocking {
            // The signal's transaction is complete: the blocking snapshot starts at the next
            // poll, after a batch that stores this position.
            *ready = true;
            let batch = self.position_batch();
            self.ready.push_back(batch);
        }
    }
}

/// What a row event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Delete,
}

/// The next event of the stream.
async fn futures_next(
    stream: &mut BinlogStream,
) -> Option<std::result::Result<mysql_async::binlog::events::Event, mysql_async::Error>> {
    use futures_util::StreamExt;
    stream.next().await
}

/// Checks an event's CRC32 (`binlog_checksum=CRC32`) against its bytes; an event without a
/// checksum passes.
fn verify_checksum(event: &mysql_async::binlog::events::Event) -> Result<()> {
    use mysql_async::binlog::BinlogChecksumAlg;
    let Some(expected) = event.checksum() else {
        return Ok(());
    };
    if event.footer().get_checksum_alg() != Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32)) {
        return Ok(());
    }
    let actual = event.calc_checksum(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32);
    let expected = u32::from_le_bytes(expected);
    if actual == expected {
        return Ok(());
    }
    let header = event.header();
    Err(Error::new(
        ErrorKind::Database,
        format!(
            "binlog event checksum mismatch (event type {}, ending at position {}): CRC32 {actual:08x}, \
             the event says {expected:08x}",
            header.event_type_raw(),
            header.log_pos()
        ),
    ))
}

/// The first Rotate event's file name carries the 4 checksum bytes: keep `name.NNNNNN`.
fn strip_checksum(name: &str) -> String {
    match name.rfind('.') {
        Some(dot) => {
            let digits: String = name[dot + 1..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            format!("{}.{digits}", &name[..dot])
        }
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ROTATE_EVENT`: the next binlog file's name and position.
    const ROTATE_EVENT: u8 = 4;

    /// Builds a ROTATE event (`data` after the header) with `crc` as its stored CRC32.
    fn rotate_event(data: &[u8], crc: u32) -> mysql_async::binlog::events::Event {
        use mysql_async::binlog::events::{BinlogEventFooter, Event, FormatDescriptionEvent};
        use mysql_async::binlog::{BinlogChecksumAlg, BinlogVersion};
        let size = (19 + data.len() + 4) as u32;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        bytes.push(ROTATE_EVENT);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&1000u32.to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4).with_footer(
            BinlogEventFooter::new(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32),
        );
        Event::read(&fde, &bytes[..]).expect("an event")
    }

    #[test]
    fn a_corrupted_event_fails_its_checksum() {
        use mysql_async::binlog::BinlogChecksumAlg;
        let data = b"\x04\x00\x00\x00\x00\x00\x00\x00mariadb-bin.000002";
        let crc = rotate_event(data, 0).calc_checksum(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32);
        assert!(verify_checksum(&rotate_event(data, crc)).is_ok());
        let mut flipped = data.to_vec();
        flipped[12] ^= 0x20;
        let error = verify_checksum(&rotate_event(&flipped, crc)).unwrap_err();
        assert!(error.to_string().contains("checksum mismatch"), "{error}");
        assert!(verify_checksum(&rotate_event(data, crc ^ 1)).is_err());
    }

    #[test]
    fn rotate_names_lose_their_checksum_bytes() {
        assert_eq!(
            strip_checksum("mariadb-bin.000003\u{1}\u{2}\u{3}\u{4}"),
            "mariadb-bin.000003"
        );
        assert_eq!(strip_checksum("mariadb-bin.000003"), "mariadb-bin.000003");
    }
}
