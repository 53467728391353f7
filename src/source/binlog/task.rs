//! The binlog source task: its state and its `SourceTask` wiring (`start` reads the stored
//! offset, `poll` runs the snapshot, then the stream). The reading itself is in the files that
//! extend the task: `snapshot.rs`, `stream.rs`, `resume.rs`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use mysql_async::{BinlogStream, Conn};
use serde_json::{Value as Json, json};

use super::envelope::SourceInfo;
use super::gtid::Gtid;
use super::position::{Position, SnapshotState, stored_snapshot};
use super::rows::RowDecoder;
use super::table::{Description, TableInfo};
use crate::budget::Spares;
use crate::connector::{SourceTask, SourceTaskContext};
use crate::error::{Error, Result};
use crate::model::arena::ValueArena;
use crate::model::{SourceBatch, Value};
use crate::source::config::{BinlogSettings, DebeziumSettings, JdbcSourceConfig, SnapshotMode};

/// Rows per batch handed to the encoder (at least `batch.max.rows`).
pub(super) const BATCH_ROWS: usize = 2000;

/// A batch being filled: rows of one table.
pub(super) struct Pending {
    pub(super) table: Arc<TableInfo>,
    pub(super) topic: Arc<str>,
    /// The records' value schema: the table's row, or its Debezium envelope.
    pub(super) schema: Arc<crate::model::Schema>,
    /// The records' key schema (`None`: null keys).
    pub(super) key_schema: Option<Arc<crate::model::Schema>>,
    pub(super) values: Vec<Value>,
    pub(super) keys: Vec<Value>,
    pub(super) tombstones: Vec<bool>,
    /// Binlog bytes of the row events read into it.
    pub(super) bytes: usize,
    pub(super) started: Instant,
}

/// A running binlog source task.
pub(crate) struct BinlogSourceTask {
    /// The connector's name.
    pub(super) connector: Arc<str>,
    /// The connector's parsed settings.
    pub(super) config: Arc<JdbcSourceConfig>,
    /// Its binlog settings.
    pub(super) settings: BinlogSettings,
    /// The database read.
    pub(super) database: String,
    /// The source partition of every offset it writes.
    pub(super) partition: Json,
    /// The replica server id it registers with.
    pub(super) server_id: u32,
    /// The tables read, by name.
    pub(super) tables: HashMap<String, Arc<TableInfo>>,
    /// Row decoders by table id, built from the table maps of selected tables.
    pub(super) decoders: HashMap<u64, Arc<RowDecoder>>,
    /// The GTID of the transaction being read.
    pub(super) gtid: Option<Gtid>,
    /// The server's binlog settings were checked (on the first connection).
    pub(super) checked: bool,
    /// Tables seen and not selected (cached by name).
    pub(super) ignored: std::collections::HashSet<String>,
    pub(super) position: Position,
    /// The position of the last batch handed on: a reconnect resumes there, so rows read into
    /// a batch that was not handed on are read again, never skipped.
    pub(super) handed: Position,
    /// Rows to skip on resume: (row events, rows of the next one) of the stored transaction.
    pub(super) skip: Option<(u64, u64)>,
    /// Row events of the current transaction seen so far (matching tables or not).
    pub(super) event_index: u64,
    pub(super) snapshot: Option<SnapshotState>,
    pub(super) stream: Option<BinlogStream>,
    pub(super) meta: Option<Conn>,
    pub(super) pending: Option<Pending>,
    pub(super) ready: VecDeque<SourceBatch>,
    /// The position advanced without rows (other tables, DDL): store it at the next idle moment.
    pub(super) position_dirty: bool,
    pub(super) lag: metrics::Gauge,
    /// The pipeline's batch byte limit (`SourceTaskContext::batch_max_bytes`).
    pub(super) batch_bytes: usize,
    /// Where each batch's values vector comes from (`SourceTaskContext::spare_rows`).
    pub(super) spare_rows: Spares<Value>,
    /// Where decoded strings and DECIMAL texts are kept.
    pub(super) arena: ValueArena,
    /// Bytes per row of the last snapshot chunk, to size the next one within `batch_bytes`.
    pub(super) snapshot_row_bytes: usize,
    /// Debezium's change events (`None`: the JDBC source's records).
    pub(super) debezium: Option<Arc<DebeziumSettings>>,
    /// The `source` block of the next Debezium event: where the reader is.
    pub(super) source: SourceInfo,
    /// A Debezium snapshot batch held back until the next one shows whether its last row ends
    /// its table or the snapshot (`source.snapshot` markers).
    pub(super) held: Option<HeldSnapshot>,
    /// A Debezium incremental snapshot in progress.
    pub(super) incremental: Option<super::incremental::Incremental>,
    /// When the last Debezium heartbeat was written.
    pub(super) last_heartbeat: Instant,
    /// The transaction being read, with Debezium's transaction metadata on.
    pub(super) transaction: Option<super::transaction::Transaction>,
    /// The source time of the last binlog event read (ms).
    pub(super) event_ts_ms: i64,
    /// `snapshot.mode=when_needed` found the stored position gone: snapshot again.
    pub(super) resnapshot: bool,
    /// A blocking snapshot requested by a signal: its tables, and whether the transaction
    /// that carried the signal has ended (it starts then).
    pub(super) blocking: Option<(Vec<String>, bool)>,
    /// Debezium's schema history: the tables' structures at the position being read.
    pub(super) history: Option<super::history::History>,
}

/// A Debezium snapshot batch held back: its table's index, and whether its first row is the
/// table's first.
pub(super) struct HeldSnapshot {
    pub(super) batch: SourceBatch,
    pub(super) table_index: usize,
    pub(super) table_count: usize,
}

impl BinlogSourceTask {
    /// Whether the connector writes Debezium's transaction metadata.
    pub(super) fn transaction_metadata(&self) -> bool {
        self.debezium
            .as_ref()
            .is_some_and(|d| d.transaction_metadata)
    }

    /// The topic of the transaction metadata records.
    pub(super) fn transaction_topic(&self) -> &str {
        self.debezium
            .as_ref()
            .map_or("", |d| d.transaction_topic.as_str())
    }

    pub(crate) fn new(connector: Arc<str>, config: Arc<JdbcSourceConfig>) -> Result<Self> {
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
        let debezium = settings.debezium.clone();
        let server_id = settings.server_id.unwrap_or_else(|| {
            // Stable per connector, away from small ids real replicas use.
            100_000 + crate::model::hash::fnv1a(connector.as_bytes()) % 1_000_000_000
        });
        let lag = metrics::gauge!(
            crate::metrics::BINLOG_LAG_SECONDS,
            crate::metrics::LABEL_CONNECTOR => connector.to_string()
        );
        Ok(BinlogSourceTask {
            batch_bytes: usize::MAX,
            spare_rows: Spares::default(),
            arena: ValueArena::default(),
            snapshot_row_bytes: 0,
            partition: match &debezium {
                // Debezium's partition: the logical server name.
                Some(d) => json!({"server": d.prefix}),
                None => json!({"server": format!("{}:{}", url.host, url.port)}),
            },
            source: debezium.as_deref().map(SourceInfo::new).unwrap_or_default(),
            held: None,
            incremental: None,
            last_heartbeat: Instant::now(),
            transaction: None,
            event_ts_ms: 0,
            resnapshot: false,
            history: None,
            blocking: None,
            debezium,
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

    pub(super) fn context(&self) -> String {
        format!("database {}", self.config.database.describe())
    }

    /// The topic of a table's records (an empty name: the topic of a batch without rows).
    pub(super) fn topic(&self, table: &str) -> Arc<str> {
        match &self.debezium {
            Some(d) => {
                super::envelope::sanitize_topic(&format!("{}.{}.{table}", d.prefix, self.database))
                    .into()
            }
            None => format!("{}{table}", self.config.topic_prefix).into(),
        }
    }

    pub(super) async fn meta_conn(&mut self) -> Result<&mut Conn> {
        if self.meta.is_none() {
            self.meta = Some(self.config.database.connect().await?);
        }
        Ok(self.meta.as_mut().expect("meta connection"))
    }

    /// The table's info, loading it on first use; `None` when the filters do not select it.
    pub(super) async fn table(
        &mut self,
        database: &str,
        table: &str,
    ) -> Result<Option<Arc<TableInfo>>> {
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
        // The structure the schema history gives at this position, else the current one.
        let loaded = match self.history_table(table).map(|def| def.description()) {
            Some(description) => match description {
                Ok(description) => self.build_table(table, &description).await,
                Err(error) => Err(error),
            },
            None => {
                let context = self.context();
                let db = database.to_string();
                let conn = self.meta_conn().await?;
                match Description::read(conn, &db, table, &context).await {
                    Ok(description) => self.build_table(table, &description).await,
                    Err(error) => Err(error),
                }
            }
        };
        match loaded {
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

    /// The table of the connector's database that `description` describes.
    pub(super) async fn build_table(
        &mut self,
        table: &str,
        description: &Description,
    ) -> Result<TableInfo> {
        let incrementing = self.config.incrementing_column.clone();
        let granularity = self.config.granularity;
        let debezium = self.debezium.clone();
        let context = self.context();
        let db = self.database.clone();
        let conn = self.meta_conn().await?;
        TableInfo::build(
            conn,
            &db,
            table,
            description,
            incrementing.as_deref(),
            granularity,
            debezium.as_deref(),
            &context,
        )
        .await
    }

    /// Debezium's `snapshot.mode` (`None`: the JDBC source).
    pub(super) fn snapshot_mode(&self) -> Option<SnapshotMode> {
        self.debezium.as_ref().map(|d| d.snapshot_mode)
    }

    pub(super) fn apply_granularity(&self, info: &TableInfo, values: &mut [Value]) {
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
}

#[async_trait]
impl SourceTask for BinlogSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        self.batch_bytes = context.batch_max_bytes;
        self.spare_rows = context.spare_rows;
        let mut stored = context
            .offsets
            .offset(&self.connector, &self.partition)
            .await?;
        if self.snapshot_mode() == Some(SnapshotMode::Always) && stored.take().is_some() {
            tracing::info!(message = "snapshot.mode=always: taking a new snapshot", connector = %self.connector);
        }
        // Debezium restarts a snapshot it did not finish from scratch (its offset says
        // `snapshot` without Sluice's progress keys).
        let unfinished_debezium_snapshot = self.debezium.is_some()
            && stored.as_ref().is_some_and(|offset| {
                offset
                    .get("snapshot")
                    .is_some_and(|s| s != &Json::Bool(false))
                    && stored_snapshot(offset).is_none()
            });
        let known = self
            .open_history(
                &context.worker,
                stored.as_ref().filter(|_| !unfinished_debezium_snapshot),
            )
            .await?;
        if !known {
            match self.snapshot_mode() {
                // The history is rebuilt at the stored offset (below).
                Some(SnapshotMode::Recovery) => {}
                Some(SnapshotMode::WhenNeeded) => {
                    tracing::warn!(message = "the schema history has no record of this connector; snapshot.mode=when_needed takes a new snapshot", connector = %self.connector);
                    stored = None;
                }
                _ => {
                    return Err(Error::config(format!(
                        "the schema history topic ({}) has no record of this connector, but it \
                         has a stored offset: the tables' structures at that offset are unknown. \
                         Set snapshot.mode=recovery to rebuild the history from the tables' \
                         current structures, or reset the connector's offsets to take a new \
                         snapshot",
                        self.debezium
                            .as_ref()
                            .and_then(|d| d.history.as_ref())
                            .map(|h| h.topic.as_str())
                            .unwrap_or_default()
                    )));
                }
            }
        }
        if unfinished_debezium_snapshot {
            if !self.settings.snapshot {
                return Err(Error::config(
                    "the connector previously stopped while taking a snapshot, and snapshot.mode \
                     does not take one: set snapshot.mode=initial, or reset its offsets",
                ));
            }
            tracing::info!(message = "the stored offset is of an unfinished snapshot; taking it again", connector = %self.connector);
            self.run_snapshot().await?;
            self.handed = self.position.clone();
            return Ok(());
        }
        match stored.as_ref().and_then(Position::from_json) {
            Some(position) => {
                self.position = position;
                if self.debezium.is_some() {
                    self.incremental = stored
                        .as_ref()
                        .and_then(super::incremental::Incremental::from_offset);
                }
                if self.transaction_metadata() {
                    self.transaction = stored
                        .as_ref()
                        .and_then(super::transaction::Transaction::from_offset);
                }
                if let Some(state) = stored.as_ref().and_then(stored_snapshot) {
                    self.resume_snapshot(state).await?;
                }
                tracing::info!(message = "resuming the binlog from the stored offset", connector = %self.connector, offset = %stored.unwrap_or_default());
                if self.snapshot_mode() == Some(SnapshotMode::Recovery) {
                    // recovery: the history is rebuilt at the stored offset.
                    let mut conn = self.config.database.connect().await?;
                    self.record_tables(&mut conn, false).await?;
                }
            }
            None if self.settings.snapshot => self.run_snapshot().await?,
            None => {
                let context = self.context();
                if self.snapshot_mode() == Some(SnapshotMode::Never) {
                    // never: the whole binlog the server still has.
                    let mut conn = self.config.database.connect().await?;
                    self.position = super::position::oldest_position(&mut conn, &context).await?;
                    tracing::info!(message = "snapshot.mode=never: reading from the oldest binlog", connector = %self.connector, file = %self.position.file);
                    self.record_tables(&mut conn, false).await?;
                } else if self.history.is_some() {
                    // no_data/recovery: the structures at the position the stream starts from.
                    let mut conn = self.config.database.connect().await?;
                    self.position = super::position::current_position(&mut conn, &context).await?;
                    self.record_tables(&mut conn, false).await?;
                }
            }
        }
        self.handed = self.position.clone();
        Ok(())
    }

    async fn poll(&mut self) -> Result<Option<SourceBatch>> {
        if self.resnapshot {
            // when_needed: the stored position is gone; a new snapshot, then its position.
            self.resnapshot = false;
            self.stream = None;
            self.pending = None;
            self.snapshot = None;
            self.incremental = None;
            self.transaction = None;
            self.run_snapshot().await?;
            self.handed = self.position.clone();
        }
        if self.snapshot.is_some() {
            // The snapshot's schema-change events first.
            if let Some(batch) = self.ready.pop_front() {
                return Ok(Some(batch));
            }
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
        if let Some((tables, true)) = self.blocking.take() {
            self.start_blocking_snapshot(tables).await?;
            return self.snapshot_batch().await;
        }
        if self.snapshot_mode() == Some(SnapshotMode::InitialOnly) {
            // initial_only: the snapshot is all there is.
            tokio::time::sleep(self.config.poll_interval).await;
            return Ok(None);
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
