//! The binlog reader (`sluice.capture=binlog`): the JDBC source's topics and message bytes in
//! incrementing mode, read from the binary log instead of by polling — rows whose ids commit
//! out of order are not skipped, the database is not polled, and updates and deletes can be
//! written too.
//!
//! Start: with no stored offset, a consistent snapshot (`START TRANSACTION WITH CONSISTENT
//! SNAPSHOT`, whose binlog position MariaDB reports as `binlog_snapshot_file/position`) reads
//! the existing rows in incrementing-column order, then the stream starts exactly at that
//! position: nothing is lost or doubled at the seam. With a stored offset the stream resumes
//! at the stored transaction, skipping the row events and rows already written, so a restart
//! inside a large multi-row event repeats nothing.
//!
//! Offsets live in the offsets topic under the partition `{"server":"host:port"}` with
//! `{"file","pos","gtids","event","row"}`: `pos` is the start of the transaction being read,
//! `gtids` the GTID position of the transactions before it (MariaDB `domain-server-seq` list or
//! MySQL GTID set), `event` the number of its row events completely written and `row` the rows
//! written of the next one (plus `snapshot_table`/`snapshot_last` while the snapshot runs). A
//! stored GTID position is where the stream resumes (so it survives a switch to another server
//! of the topology); file/position when there is none.

mod gtid;
mod rows;
mod table;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Value as MyValue};
use serde_json::{Value as Json, json};

use self::gtid::{Gtid, Gtids};
use self::rows::{Image, RowDecoder};
use self::table::TableInfo;
use crate::connector::{SourceTask, SourceTaskContext};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{SourceBatch, SourceKeys, SourcePosition, Value};
use crate::source::config::{BinlogSettings, JdbcSourceConfig};

/// Rows per batch handed to the encoder (at least `batch.max.rows`).
const BATCH_ROWS: usize = 2000;
/// Binlog bytes per batch: a batch of wide rows is handed on before this much is read.
const BATCH_BYTES: usize = 4 << 20;
/// A partly filled batch is handed on after this long.
const LINGER: Duration = Duration::from_millis(5);
/// Heartbeat period requested from the server.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Where the stream is, in binlog coordinates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Position {
    file: String,
    /// Start of the current transaction.
    pos: u64,
    /// The GTID position of the transactions before it (`None`: unknown, or GTIDs are off).
    gtids: Option<Gtids>,
    /// Row events of the current transaction completely written.
    event: u64,
    /// Rows written of the next row event.
    row: u64,
}

impl Position {
    fn to_json(&self) -> Json {
        let mut json =
            json!({"file": self.file, "pos": self.pos, "event": self.event, "row": self.row});
        if let Some(gtids) = &self.gtids {
            json["gtids"] = json!(gtids.to_string());
        }
        json
    }

    fn from_json(json: &Json) -> Option<Position> {
        Some(Position {
            file: json.get("file")?.as_str()?.to_string(),
            pos: json.get("pos")?.as_u64()?,
            gtids: json
                .get("gtids")
                .and_then(Json::as_str)
                .and_then(Gtids::parse),
            event: json.get("event").and_then(Json::as_u64).unwrap_or(0),
            row: json.get("row").and_then(Json::as_u64).unwrap_or(0),
        })
    }
}

/// Snapshot progress stored with the offset while the snapshot runs.
#[derive(Debug, Clone)]
struct SnapshotState {
    /// Tables in snapshot order; those before `index` are complete.
    tables: Vec<String>,
    index: usize,
    /// The incrementing value of the last row written of `tables[index]`.
    last: Option<i64>,
}

/// A batch being filled: rows of one table.
struct Pending {
    table: Arc<TableInfo>,
    topic: Arc<str>,
    values: Vec<Value>,
    keys: Vec<Value>,
    tombstones: Vec<bool>,
    /// Binlog bytes of the row events read into it.
    bytes: usize,
    started: Instant,
}

/// A running binlog source task.
pub struct BinlogSourceTask {
    connector: Arc<str>,
    config: Arc<JdbcSourceConfig>,
    settings: BinlogSettings,
    database: String,
    partition: Json,
    server_id: u32,
    tables: HashMap<String, Arc<TableInfo>>,
    /// Row decoders by table id, built from the table maps of selected tables.
    decoders: HashMap<u64, Arc<RowDecoder>>,
    /// The GTID of the transaction being read.
    gtid: Option<Gtid>,
    /// The server's binlog settings were checked (on the first connection).
    checked: bool,
    /// Tables seen and not selected (cached by name).
    ignored: std::collections::HashSet<String>,
    position: Position,
    /// The position of the last batch handed on: a reconnect resumes there, so rows read into
    /// a batch that was not handed on are read again, never skipped.
    handed: Position,
    /// Rows to skip on resume: (row events, rows of the next one) of the stored transaction.
    skip: Option<(u64, u64)>,
    /// Row events of the current transaction seen so far (matching tables or not).
    event_index: u64,
    snapshot: Option<SnapshotState>,
    stream: Option<BinlogStream>,
    meta: Option<Conn>,
    pending: Option<Pending>,
    ready: VecDeque<SourceBatch>,
    /// The position advanced without rows (other tables, DDL): store it at the next idle moment.
    position_dirty: bool,
    lag: metrics::Gauge,
}

impl BinlogSourceTask {
    pub fn new(connector: Arc<str>, config: Arc<JdbcSourceConfig>) -> Result<Self> {
        let settings = config
            .binlog
            .clone()
            .ok_or_else(|| Error::internal("binlog task without binlog settings"))?;
        let database = config.database.url.database.clone().ok_or_else(|| {
            Error::config(
                "connection.url must name the database to capture (jdbc:mysql://host:port/db)",
            )
        })?;
        let url = &config.database.url;
        let server_id = settings.server_id.unwrap_or_else(|| {
            // Stable per connector, away from small ids real replicas use.
            100_000 + crate::model::hash::fnv1a(connector.as_bytes()) % 1_000_000_000
        });
        let lag = metrics::gauge!(
            crate::metrics::BINLOG_LAG_SECONDS,
            crate::metrics::LABEL_CONNECTOR => connector.to_string()
        );
        Ok(BinlogSourceTask {
            partition: json!({"server": format!("{}:{}", url.host, url.port)}),
            connector,
            config,
            settings,
            database,
            server_id,
            tables: HashMap::new(),
            decoders: HashMap::new(),
            gtid: None,
            checked: false,
            ignored: Default::default(),
            position: Position::default(),
            handed: Position::default(),
            skip: None,
            event_index: 0,
            snapshot: None,
            stream: None,
            meta: None,
            pending: None,
            ready: VecDeque::new(),
            position_dirty: false,
            lag,
        })
    }

    fn context(&self) -> String {
        format!("database {}", self.config.database.describe())
    }

    fn topic(&self, table: &str) -> Arc<str> {
        format!("{}{table}", self.config.topic_prefix).into()
    }

    async fn meta_conn(&mut self) -> Result<&mut Conn> {
        if self.meta.is_none() {
            self.meta = Some(self.config.database.connect().await?);
        }
        Ok(self.meta.as_mut().expect("meta connection"))
    }

    /// The table's info, loading it on first use; `None` when the filters do not select it.
    async fn table(&mut self, database: &str, table: &str) -> Result<Option<Arc<TableInfo>>> {
        if database != self.database || !self.config.tables.matches(database, table) {
            return Ok(None);
        }
        let key = table.to_string();
        if let Some(info) = self.tables.get(&key) {
            return Ok(Some(info.clone()));
        }
        if self.ignored.contains(&key) {
            return Ok(None);
        }
        let incrementing = self.config.incrementing_column.clone();
        let granularity = self.config.granularity;
        let context = self.context();
        let db = database.to_string();
        let conn = self.meta_conn().await?;
        match TableInfo::load(
            conn,
            &db,
            table,
            incrementing.as_deref(),
            granularity,
            &context,
        )
        .await
        {
            Ok(info) => {
                let info = Arc::new(info);
                self.tables.insert(key, info.clone());
                Ok(Some(info))
            }
            Err(error) if error.trace().contains("(error 1146)") => {
                // Dropped since (the binlog is behind the catalog): skip its rows.
                tracing::warn!(message = "cannot describe a captured table; skipping its rows", connector = %self.connector, table, error = %error.trace());
                self.ignored.insert(key);
                Ok(None)
            }
            Err(error) => {
                // Say a lost connection: the next try makes a new one.
                self.meta = None;
                Err(error)
            }
        }
    }

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
        let decoder = Arc::new(RowDecoder::new(&tme, info)?);
        self.decoders.insert(table_id, decoder.clone());
        Ok(Some(decoder))
    }

    /// Selected tables, in name order.
    async fn list_tables(&mut self) -> Result<Vec<String>> {
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

    fn offset_json(&self) -> Json {
        let mut offset = self.position.to_json();
        if let Some(snapshot) = &self.snapshot {
            offset["snapshot_table"] = json!(snapshot.tables.get(snapshot.index));
            offset["snapshot_done"] = json!(snapshot.tables[..snapshot.index]);
            if let Some(last) = snapshot.last {
                offset["snapshot_last"] = json!(last);
            }
        }
        offset
    }

    /// Reads the existing rows of every selected table inside one consistent snapshot, and
    /// returns the binlog position that snapshot corresponds to.
    async fn run_snapshot(&mut self) -> Result<()> {
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
        let state = match self.snapshot.take() {
            Some(state) => state,
            None => {
                self.position = position;
                SnapshotState {
                    tables: self.list_tables().await?,
                    index: 0,
                    last: None,
                }
            }
        };
        self.snapshot = Some(state);
        tracing::info!(message = "binlog snapshot", connector = %self.connector, file = %self.position.file, pos = self.position.pos, global_lock = locked, tables = ?self.snapshot.as_ref().map(|s| &s.tables));
        self.meta = Some(conn);
        Ok(())
    }

    /// The next snapshot batch, or `None` when the snapshot is complete.
    async fn snapshot_batch(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            let Some(state) = self.snapshot.clone() else {
                return Ok(None);
            };
            let Some(table) = state.tables.get(state.index).cloned() else {
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
            let limit = self.config.batch_max_rows.max(BATCH_ROWS);
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
            let mut values = Vec::with_capacity(rows.len() * width);
            let mut last = state.last;
            for mut row in rows.iter().cloned() {
                for i in 0..width {
                    let value = row.take(i).unwrap_or(MyValue::NULL);
                    values.push(crate::source::schema::convert(
                        info.shape.kinds[i],
                        value,
                        info.shape.schema.fields[i].schema.optional,
                        &info.shape.names[i],
                        zone,
                    )?);
                }
                if let Some(i) = inc_index
                    && let Value::Int(id) = values[values.len() - width + i]
                {
                    last = Some(id);
                }
            }
            let complete = inc.is_none() || rows.len() < limit;
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

    fn advance_snapshot_table(&mut self) {
        if let Some(snapshot) = &mut self.snapshot {
            snapshot.index += 1;
            snapshot.last = None;
        }
    }

    fn apply_granularity(&self, info: &TableInfo, values: &mut [Value]) {
        use crate::source::config::TimestampGranularity;
        if self.config.granularity == TimestampGranularity::ConnectLogical {
            return;
        }
        let width = info.width().max(1);
        for row in values.chunks_exact_mut(width) {
            for (i, kind) in info.shape.kinds.iter().enumerate() {
                if kind.is_timestamp() {
                    crate::source::schema::apply_granularity(
                        self.config.granularity,
                        self.config.zone,
                        &mut row[i],
                    );
                }
            }
        }
    }

    /// An empty batch that only stores the position.
    fn position_batch(&mut self) -> SourceBatch {
        self.position_dirty = false;
        self.handed = self.position.clone();
        SourceBatch {
            topic: self.topic(""),
            schema: Arc::new(crate::model::Schema::structure(None, Vec::new(), false)),
            values: Vec::new(),
            keys: None,
            tombstones: Vec::new(),
            position: SourcePosition {
                partition: self.partition.clone(),
                offset: self.offset_json(),
            },
        }
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

    async fn open_stream(&mut self) -> Result<()> {
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
        let resuming = self.position == self.handed;
        if self.position.file.is_empty() && self.position.gtids.is_none() {
            self.position = current_position(&mut conn, &context).await?;
        } else if self.position.gtids.is_none() {
            // An offset stored without GTIDs: learn them for the offsets from now on.
            self.position.gtids = gtid_position(&mut conn, &self.position).await;
        }
        if resuming {
            self.handed = self.position.clone();
        }
        let sids;
        let request = BinlogStreamRequest::new(self.server_id);
        let request = match &self.position.gtids {
            Some(gtids @ Gtids::MariaDb(_)) => {
                // MariaDB: the GTID position goes in @slave_connect_state; file "" position 4.
                conn.exec_drop("SET @slave_connect_state = ?", (gtids.to_string(),))
                    .await
                    .map_err(db_error)?;
                conn.query_drop(
                    "SET @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0",
                )
                .await
                .map_err(db_error)?;
                request
            }
            Some(gtids @ Gtids::MySql(_)) => {
                sids = gtids.mysql_sids().unwrap_or_default();
                request.with_gtid().with_gtid_set(sids)
            }
            None => request
                .with_filename(self.position.file.as_bytes())
                .with_pos(self.position.pos),
        };
        let stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| self.stream_error(crate::db::mysql_error(e, &context)))?;
        self.skip = (self.position.event > 0 || self.position.row > 0)
            .then_some((self.position.event, self.position.row));
        self.event_index = 0;
        self.gtid = None;
        self.stream = Some(stream);
        tracing::info!(message = "binlog stream open", connector = %self.connector, file = %self.position.file, pos = self.position.pos, gtids = ?self.position.gtids.as_ref().map(ToString::to_string), server_id = self.server_id);
        Ok(())
    }

    /// A stream failure: a position the server no longer has (error 1236) fails the task
    /// with what to do; anything else is transient (the reader reconnects).
    fn stream_error(&self, error: Error) -> Error {
        if crate::db::mysql_code(&error) == Some(crate::db::ER_MASTER_FATAL_ERROR_READING_BINLOG) {
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

    fn flush(&mut self) {
        if let Some(pending) = self.pending.take() {
            let rows = pending.tombstones.len();
            let keys = self.settings.deletes.then(|| SourceKeys {
                schema: pending.table.key_schema.clone(),
                values: pending.keys,
            });
            let mut batch = SourceBatch {
                topic: pending.topic,
                schema: pending.table.shape.schema.clone(),
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
            self.apply_granularity(&pending.table, &mut batch.values);
            debug_assert_eq!(batch.len(), rows);
            self.position_dirty = false;
            self.handed = self.position.clone();
            self.ready.push_back(batch);
        }
    }

    /// Adds one row (`None`: a delete's tombstone, keyed by `key_row`).
    /// Moves one row (`row` is left empty) into the pending batch.
    fn push_row(&mut self, info: &Arc<TableInfo>, row: &mut Vec<Value>, tombstone: bool) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| !Arc::ptr_eq(&p.table, info))
        {
            self.flush();
        }
        if self.pending.is_none() {
            let rows = self.config.batch_max_rows.max(BATCH_ROWS);
            self.pending = Some(Pending {
                table: info.clone(),
                topic: self.topic(&info.table),
                values: Vec::with_capacity(rows * info.width()),
                keys: Vec::new(),
                tombstones: Vec::with_capacity(rows),
                bytes: 0,
                started: Instant::now(),
            });
        }
        let pending = self.pending.as_mut().expect("a pending batch");
        if self.settings.deletes {
            for &i in &info.key_columns {
                pending.keys.push(row[i].clone());
            }
        }
        pending.values.append(row);
        pending.tombstones.push(tombstone);
    }

    /// Reads events until a batch is ready (or the linger time passes with rows pending).
    async fn read_events(&mut self) -> Result<()> {
        let limit = self.config.batch_max_rows.max(BATCH_ROWS);
        loop {
            if !self.ready.is_empty() {
                return Ok(());
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
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                self.lag.set((now - f64::from(header.timestamp())).max(0.0));
            } else if header.event_type_raw() == 27 {
                // A heartbeat: the reader is caught up.
                self.lag.set(0.0);
            }
            let end = u64::from(header.log_pos());
            let start = end.saturating_sub(u64::from(header.event_size()));
            // MariaDB GTID (0xa2) starts a transaction.
            if header.event_type_raw() == 0xa2 {
                self.gtid = gtid::mariadb_gtid(event.data(), header.server_id());
                self.begin_transaction(start);
                continue;
            }
            let data = event.read_data().map_err(|e| {
                Error::with_source(ErrorKind::Conversion, "unreadable binlog event", e)
            })?;
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
                        // The transaction started at the event after the previous commit (or at
                        // its GTID event): `position.pos` already points there.
                    } else if upper.starts_with("COMMIT") {
                        self.end_transaction(end);
                    } else {
                        // DDL: everything before it is written with the old shapes; the
                        // tables are described again when next seen.
                        self.flush();
                        self.tables.clear();
                        self.ignored.clear();
                        self.decoders.clear();
                        self.end_transaction(end);
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
                    let (emit, image) = match &rows {
                        RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => {
                            (true, Image::After)
                        }
                        RowsEventData::UpdateRowsEvent(_)
                        | RowsEventData::UpdateRowsEventV1(_)
                        | RowsEventData::PartialUpdateRowsEvent(_) => {
                            (self.settings.updates, Image::After)
                        }
                        RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => {
                            (self.settings.deletes, Image::Before)
                        }
                    };
                    let decoder = match emit {
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
                    let tombstone = image == Image::Before;
                    let zone = self.config.zone;
                    decoder.for_each_row(&rows, image, skip_rows, zone, |n, row| {
                        self.push_row(&info, row, tombstone);
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
                    })?;
                    self.skip = None;
                    self.position.event = self.event_index;
                    self.position.row = 0;
                    match self.pending.as_mut() {
                        Some(pending) => {
                            pending.bytes += header.event_size() as usize;
                            if pending.tombstones.len() >= limit || pending.bytes >= BATCH_BYTES {
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

    fn begin_transaction(&mut self, start: u64) {
        self.event_index = 0;
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

/// The server's current binlog position, with its GTID position.
async fn current_position(conn: &mut Conn, context: &str) -> Result<Position> {
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(row) => row,
        // MySQL 8.4 knows it only as SHOW BINARY LOG STATUS.
        Err(_) => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|e| crate::db::mysql_error(e, context))?,
    };
    let row = row.ok_or_else(|| Error::config("the server's binary log is off (log_bin)"))?;
    let mut position = Position {
        file: row.get(0).unwrap_or_default(),
        pos: row.get(1).unwrap_or(4),
        ..Position::default()
    };
    // MySQL adds Executed_Gtid_Set (empty with GTIDs off); MariaDB has BINLOG_GTID_POS().
    position.gtids = match row.get::<Option<String>, _>(4).flatten() {
        Some(set) => Gtids::parse(&set),
        None => gtid_position(conn, &position).await,
    };
    Ok(position)
}

/// MariaDB's GTID position at a binlog position (`BINLOG_GTID_POS`): `None` on MySQL, or when
/// the binlog holds no GTIDs.
async fn gtid_position(conn: &mut Conn, position: &Position) -> Option<Gtids> {
    let text: Option<Option<String>> = conn
        .exec_first(
            "SELECT BINLOG_GTID_POS(?, ?)",
            (&position.file, position.pos),
        )
        .await
        .ok()?;
    Gtids::parse(&text.flatten()?)
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

#[async_trait]
impl SourceTask for BinlogSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let stored = context
            .offsets
            .offset(&self.connector, &self.partition)
            .await?;
        match stored.as_ref().and_then(Position::from_json) {
            Some(position) => {
                self.position = position;
                if let Some(stored) = &stored
                    && let Some(table) = stored.get("snapshot_table").and_then(Json::as_str)
                {
                    let done: Vec<String> = stored
                        .get("snapshot_done")
                        .and_then(Json::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|t| t.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let mut tables = done.clone();
                    tables.push(table.to_string());
                    for t in self.list_tables().await? {
                        if !tables.contains(&t) {
                            tables.push(t);
                        }
                    }
                    self.snapshot = Some(SnapshotState {
                        tables,
                        index: done.len(),
                        last: stored.get("snapshot_last").and_then(Json::as_i64),
                    });
                    self.run_snapshot().await?;
                }
                tracing::info!(message = "resuming the binlog from the stored offset", connector = %self.connector, offset = %stored.unwrap_or_default());
            }
            None if self.settings.snapshot => self.run_snapshot().await?,
            None => {}
        }
        self.handed = self.position.clone();
        Ok(())
    }

    async fn poll(&mut self) -> Result<Option<SourceBatch>> {
        if self.snapshot.is_some() {
            if self.meta.is_none() {
                // The snapshot's connection was lost: a new consistent snapshot goes on from
                // the stored progress (rows since then may come twice, none is missed).
                self.run_snapshot().await?;
            }
            return self.snapshot_batch().await;
        }
        if let Some(batch) = self.ready.pop_front() {
            return Ok(Some(batch));
        }
        if self.stream.is_none() {
            // After a lost connection: resume after the last batch handed on.
            if self.pending.take().is_some() || self.position != self.handed {
                self.position = self.handed.clone();
            }
            self.open_stream().await?;
        }
        if let Err(error) = self.read_events().await {
            // Whatever failed, the next poll reads again from the last batch handed on: the
            // event being read when it failed is not skipped.
            self.stream = None;
            return Err(error);
        }
        Ok(self.ready.pop_front())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(stream) = self.stream.take() {
            stream.close().await.ok();
        }
        if let Some(conn) = self.meta.take() {
            conn.disconnect().await.ok();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ROTATE event (`data` after the header) with `crc` as its stored CRC32.
    fn rotate_event(data: &[u8], crc: u32) -> mysql_async::binlog::events::Event {
        use mysql_async::binlog::events::{BinlogEventFooter, Event, FormatDescriptionEvent};
        use mysql_async::binlog::{BinlogChecksumAlg, BinlogVersion};
        let size = (19 + data.len() + 4) as u32;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        bytes.push(4); // ROTATE_EVENT
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

    #[test]
    fn positions_round_trip() {
        let position = Position {
            file: "b.000001".into(),
            pos: 1234,
            gtids: Gtids::parse("0-1-99"),
            event: 2,
            row: 17,
        };
        assert_eq!(position.to_json()["gtids"], "0-1-99");
        assert_eq!(Position::from_json(&position.to_json()), Some(position));
        let old = json!({"file": "b.000001", "pos": 4});
        assert_eq!(Position::from_json(&old).unwrap().gtids, None);
    }
}
