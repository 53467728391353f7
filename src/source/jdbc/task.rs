//! The JDBC source task: one querier per assigned table (or one for `query`), run round-robin
//! by next due time, each issuing exactly Connect's SQL for its mode. A query's result set is
//! streamed by a background task into a small channel, `batch.max.rows` rows at a time, so
//! memory stays bounded whatever the table size, and a batch is handed on as soon as it is read.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value as MyValue};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::budget::Spares;
use crate::connector::{SourceTask, SourceTaskContext};
use crate::db::{DbZone, quote_mysql};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{SourceBatch, SourcePosition, Value};
use crate::source::config::{JdbcSourceConfig, Mode, TimestampGranularity};
use crate::source::schema::{self, RowShape};

/// What a querier reads.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Table { database: String, table: String },
    Query(String),
}

/// The offset state of one querier, as stored in `connect-offsets`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Offset {
    pub(crate) incrementing: Option<i64>,
    /// Microseconds since the epoch.
    pub(crate) timestamp_micros: Option<i64>,
}

impl Offset {
    /// Connect's offset map (`TimestampIncrementingOffset.toMap`), keys in the order Connect's
    /// HashMap writes them.
    pub(crate) fn to_json(self) -> Json {
        let mut map = serde_json::Map::new();
        if let Some(ts) = self.timestamp_micros {
            map.insert(
                "timestamp_nanos".into(),
                json!(ts.rem_euclid(1_000_000) * 1000),
            );
        }
        if let Some(id) = self.incrementing {
            map.insert("incrementing".into(), json!(id));
        }
        if let Some(ts) = self.timestamp_micros {
            map.insert("timestamp".into(), json!(ts.div_euclid(1000)));
        }
        Json::Object(map)
    }

    /// Reads Connect's offset map.
    pub(crate) fn from_json(json: &Json) -> Offset {
        let incrementing = json.get("incrementing").and_then(Json::as_i64);
        let timestamp_micros = json.get("timestamp").and_then(Json::as_i64).map(|ms| {
            let nanos = json.get("timestamp_nanos").and_then(Json::as_i64);
            match nanos {
                Some(nanos) => ms.div_euclid(1000) * 1_000_000 + nanos / 1000,
                None => ms * 1000,
            }
        });
        Offset {
            incrementing,
            timestamp_micros,
        }
    }
}

struct Querier {
    target: Target,
    topic: Arc<str>,
    partition: Json,
    /// The offset after the last row read (in memory; stored once acknowledged).
    offset: Offset,
    /// The timestamp of the last group of rows known complete (timestamp mode).
    complete_ts: Option<i64>,
    next_run: Instant,
    shape: Option<Arc<RowShape>>,
    incrementing_index: Option<usize>,
    timestamp_indexes: Vec<usize>,
    /// Offset carried by the last batch handed on.
    emitted: Offset,
    incrementing_column: Option<String>,
    /// Whether the timestamp-mode column is a DATETIME (a wall clock in `db.timezone`, bound
    /// as one) rather than a TIMESTAMP; `None` until learned.
    timestamp_is_wall_clock: Option<bool>,
    /// Columns `timestamp.granularity` rewrites (none for `connect_logical`).
    granular_indexes: Vec<usize>,
}

enum Chunk {
    Shape(RowShape),
    Rows(Vec<Value>),
}

struct ActiveQuery {
    querier: usize,
    chunks: mpsc::Receiver<Result<Chunk>>,
    handle: JoinHandle<Option<Conn>>,
}

/// A running JDBC source task.
pub(crate) struct JdbcSourceTask {
    connector: Arc<str>,
    config: Arc<JdbcSourceConfig>,
    queriers: Vec<Querier>,
    conn: Option<Conn>,
    active: Option<ActiveQuery>,
    /// The pipeline's batch byte limit (`SourceTaskContext::batch_max_bytes`).
    batch_bytes: usize,
    /// Where each chunk's values vector comes from (`SourceTaskContext::spare_rows`).
    spare_rows: Spares<Value>,
}

impl JdbcSourceTask {
    pub(crate) fn new(
        connector: Arc<str>,
        config: Arc<JdbcSourceConfig>,
        targets: Vec<Target>,
    ) -> Self {
        let now = Instant::now();
        let queriers = targets
            .into_iter()
            .map(|target| {
                let (topic, partition) = match &target {
                    Target::Table { database, table } => (
                        format!("{}{table}", config.topic_prefix),
                        json!({"protocol": "1", "table": format!("{database}.{table}")}),
                    ),
                    Target::Query(_) => (config.topic_prefix.clone(), json!({"query": "query"})),
                };
                Querier {
                    target,
                    topic: topic.into(),
                    partition,
                    offset: Offset::default(),
                    complete_ts: None,
                    next_run: now,
                    shape: None,
                    incrementing_index: None,
                    timestamp_indexes: Vec::new(),
                    emitted: Offset::default(),
                    incrementing_column: config.incrementing_column.clone(),
                    timestamp_is_wall_clock: None,
                    granular_indexes: Vec::new(),
                }
            })
            .collect();
        JdbcSourceTask {
            connector,
            batch_bytes: usize::MAX,
            spare_rows: Spares::default(),
            config,
            queriers,
            conn: None,
            active: None,
        }
    }

    async fn conn(&mut self) -> Result<Conn> {
        match self.conn.take() {
            Some(conn) => Ok(conn),
            None => self.config.database.connect().await,
        }
    }

    /// Checks the columns that offsets depend on: they exist, and (with `validate.non.null`)
    /// are NOT NULL. Finds the auto-increment column when `incrementing.column.name` is empty.
    async fn validate_columns(&mut self, conn: &mut Conn, index: usize) -> Result<()> {
        let mode = self.config.mode;
        let Target::Table { database, table } = self.queriers[index].target.clone() else {
            return Ok(());
        };
        let columns: Vec<(String, String, String)> = conn
            .exec(
                "SELECT COLUMN_NAME, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (&database, &table),
            )
            .await
            .map_err(|e| self.config.database.error(e))?;
        if columns.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("table {database}.{table} does not exist"),
            ));
        }
        if mode.uses_incrementing() && self.queriers[index].incrementing_column.is_none() {
            let auto = columns
                .iter()
                .find(|(_, _, extra)| extra.to_ascii_lowercase().contains("auto_increment"))
                .map(|(name, _, _)| name.clone())
                .ok_or_else(|| {
                    Error::config(format!(
                        "incrementing.column.name is empty and table {database}.{table} has no auto-increment column to use instead"
                    ))
                })?;
            self.queriers[index].incrementing_column = Some(auto);
        }
        let mut needed: Vec<(&str, String)> = Vec::new();
        if mode.uses_incrementing() {
            needed.push((
                "incrementing",
                self.queriers[index]
                    .incrementing_column
                    .clone()
                    .unwrap_or_default(),
            ));
        }
        if mode.uses_timestamp() {
            for column in &self.config.timestamp_columns {
                needed.push(("timestamp", column.clone()));
            }
        }
        for (role, column) in needed {
            let found = columns
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(&column));
            match found {
                None => {
                    return Err(Error::config(format!(
                        "{role} column {column} does not exist in table {database}.{table}"
                    )));
                }
                Some((_, nullable, _)) if self.config.validate_non_null && nullable == "YES" => {
                    return Err(Error::config(format!(
                        "Cannot make incremental queries using {role} column {column} on {database}.{table} because this column is nullable (set validate.non.null=false to allow it)"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn column_ref(&self, index: usize, column: &str) -> String {
        match &self.queriers[index].target {
            Target::Table { database, table } => format!(
                "{}.{}.{}",
                quote_mysql(database),
                quote_mysql(table),
                quote_mysql(column)
            ),
            Target::Query(_) => quote_mysql(column),
        }
    }

    /// Connect's SQL for the querier's mode, and its bind values.
    fn statement(&self, index: usize, end_micros: Option<i64>) -> (String, Vec<MyValue>) {
        // TIMESTAMP columns compare in the session's UTC; DATETIME columns hold wall-clock
        // times in db.timezone, so instants are bound as that wall clock.
        let zone = self.config.zone;
        let wall = self.queriers[index].timestamp_is_wall_clock.unwrap_or(true);
        let bind = |micros: i64| {
            crate::db::time::datetime_from_micros(if wall {
                zone.instant_to_wall(micros)
            } else {
                micros
            })
        };
        let querier = &self.queriers[index];
        let mut sql = match &querier.target {
            Target::Table { database, table } => {
                format!(
                    "SELECT * FROM {}.{}",
                    quote_mysql(database),
                    quote_mysql(table)
                )
            }
            Target::Query(query) => query.clone(),
        };
        let inc = querier
            .incrementing_column
            .as_deref()
            .map(|c| self.column_ref(index, c))
            .unwrap_or_default();
        let ts = match self.config.timestamp_columns.as_slice() {
            [one] => self.column_ref(index, one),
            many => format!(
                "COALESCE({})",
                many.iter()
                    .map(|c| self.column_ref(index, c))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let last_id = querier.offset.incrementing.unwrap_or(-1);
        let begin = querier
            .offset
            .timestamp_micros
            .or(self.config.timestamp_initial_ms.map(|ms| ms * 1000))
            .unwrap_or(0);
        let end = end_micros.unwrap_or(0);
        let params = match self.config.mode {
            Mode::Bulk => Vec::new(),
            Mode::Incrementing => {
                sql.push_str(&format!(" WHERE {inc} > ? ORDER BY {inc} ASC"));
                vec![MyValue::Int(last_id)]
            }
            Mode::Timestamp => {
                sql.push_str(&format!(" WHERE {ts} > ? AND {ts} < ? ORDER BY {ts} ASC"));
                vec![bind(begin), bind(end)]
            }
            Mode::TimestampIncrementing => {
                sql.push_str(&format!(
                    " WHERE {ts} < ? AND (({ts} = ? AND {inc} > ?) OR {ts} > ?) ORDER BY {ts},{inc} ASC"
                ));
                vec![bind(end), bind(begin), MyValue::Int(last_id), bind(begin)]
            }
        };
        if !self.config.query_suffix.is_empty() {
            sql.push(' ');
            sql.push_str(&self.config.query_suffix);
        }
        (sql, params)
    }

    async fn start_query(&mut self, index: usize) -> Result<()> {
        let mut conn = self.conn().await?;
        if self.queriers[index].shape.is_none() {
            self.validate_columns(&mut conn, index).await?;
        }
        let end_micros = if self.config.mode.uses_timestamp() {
            let now: Option<MyValue> = conn
                .query_first("SELECT CURRENT_TIMESTAMP")
                .await
                .map_err(|e| self.config.database.error(e))?;
            let now = match now {
                Some(MyValue::Date(y, m, d, h, mi, s, us)) => {
                    crate::db::time::micros_from_datetime(y, m, d, h, mi, s, us)
                }
                Some(MyValue::Bytes(text)) => parse_datetime_text(&text).ok_or_else(|| {
                    Error::internal("unreadable CURRENT_TIMESTAMP from the database")
                })?,
                other => {
                    return Err(Error::internal(format!(
                        "unexpected CURRENT_TIMESTAMP value {other:?}"
                    )));
                }
            };
            Some(now - self.config.timestamp_delay.as_micros() as i64)
        } else {
            None
        };
        if self.config.mode.uses_timestamp()
            && !self.config.zone.is_utc()
            && self.queriers[index].timestamp_is_wall_clock.is_none()
        {
            let (sql, _) = self.statement(index, end_micros);
            self.learn_timestamp_kind(&mut conn, index, &sql).await?;
        }
        let (sql, params) = self.statement(index, end_micros);
        tracing::debug!(message = "querying", connector = %self.connector, %sql);
        let struct_name = match &self.queriers[index].target {
            Target::Table { table, .. } => Some(table.clone()),
            Target::Query(_) => None,
        };
        let (tx, rx) = mpsc::channel(1);
        let batch_rows = self.config.batch_max_rows;
        let context = self.config.database.describe();
        let query = Query {
            sql,
            params,
            struct_name,
            batch_rows,
            batch_bytes: self.batch_bytes,
            spare_rows: self.spare_rows.clone(),
            zone: self.config.zone,
            granularity: self.config.granularity,
            context,
        };
        let handle = tokio::spawn(stream_query(conn, query, tx));
        self.active = Some(ActiveQuery {
            querier: index,
            chunks: rx,
            handle,
        });
        Ok(())
    }

    /// Learns from the prepared statement's result columns whether the (first) timestamp
    /// column is a DATETIME, before the first query binds a time.
    async fn learn_timestamp_kind(
        &mut self,
        conn: &mut Conn,
        index: usize,
        sql: &str,
    ) -> Result<()> {
        let statement = conn
            .prep(sql)
            .await
            .map_err(|e| self.config.database.error(e))?;
        let first = self
            .config
            .timestamp_columns
            .first()
            .cloned()
            .unwrap_or_default();
        let kind = statement
            .columns()
            .iter()
            .find(|c| c.name_str().eq_ignore_ascii_case(&first))
            .map(|c| c.column_type());
        use mysql_async::consts::ColumnType::*;
        self.queriers[index].timestamp_is_wall_clock = Some(!matches!(
            kind,
            Some(MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2)
        ));
        Ok(())
    }

    fn take_shape(&mut self, index: usize, shape: RowShape) -> Result<()> {
        let querier = &mut self.queriers[index];
        if let Some(existing) = &querier.shape
            && existing.same_as(&shape)
        {
            return Ok(());
        }
        let mode = self.config.mode;
        let incrementing_index = match (&querier.incrementing_column, mode.uses_incrementing()) {
            (Some(column), true) => Some(shape.index_of(column).ok_or_else(|| {
                Error::config(format!(
                    "the incrementing column {column} is not in the result of {}",
                    querier.topic
                ))
            })?),
            _ => None,
        };
        let mut timestamp_indexes = Vec::new();
        if mode.uses_timestamp() {
            for column in &self.config.timestamp_columns {
                timestamp_indexes.push(shape.index_of(column).ok_or_else(|| {
                    Error::config(format!(
                        "the timestamp column {column} is not in the result of {}",
                        querier.topic
                    ))
                })?);
            }
        }
        if let Some(&first) = timestamp_indexes.first() {
            querier.timestamp_is_wall_clock =
                Some(shape.kinds[first] != schema::ColumnKind::Timestamp);
        }
        querier.granular_indexes =
            if self.config.granularity == TimestampGranularity::ConnectLogical {
                Vec::new()
            } else {
                (0..shape.kinds.len())
                    .filter(|&i| shape.kinds[i].is_timestamp())
                    .collect()
            };
        querier.incrementing_index = incrementing_index;
        querier.timestamp_indexes = timestamp_indexes;
        querier.shape = Some(Arc::new(shape));
        Ok(())
    }

    /// Advances the querier's offset over `values` and returns the position to store with them.
    fn advance(&mut self, index: usize, values: &[Value]) -> Result<Offset> {
        let querier = &mut self.queriers[index];
        let shape = querier.shape.as_ref().expect("shape before rows");
        let width = shape.kinds.len().max(1);
        for row in values.chunks_exact(width) {
            if let Some(i) = querier.incrementing_index {
                match row[i] {
                    Value::Int(id) => querier.offset.incrementing = Some(id),
                    ref other => {
                        return Err(Error::new(
                            ErrorKind::Conversion,
                            format!("incrementing column holds {other:?}, not an integer"),
                        ));
                    }
                }
            }
            if !querier.timestamp_indexes.is_empty() {
                let ts = querier
                    .timestamp_indexes
                    .iter()
                    .find_map(|&i| match row[i] {
                        Value::Timestamp(us) => Some(us),
                        _ => None,
                    });
                if let Some(ts) = ts {
                    if let Some(previous) = querier.offset.timestamp_micros
                        && ts > previous
                    {
                        querier.complete_ts = Some(previous);
                    }
                    querier.offset.timestamp_micros = Some(ts);
                }
            }
        }
        Ok(match self.config.mode {
            // Rows sharing the last timestamp may continue in the next chunk: store only the
            // last timestamp known complete, so a restart cannot skip the rest of its group.
            Mode::Timestamp => Offset {
                incrementing: None,
                timestamp_micros: querier.complete_ts.or(querier.emitted.timestamp_micros),
            },
            _ => querier.offset,
        })
    }

    /// Rewrites DATETIME/TIMESTAMP values into their `timestamp.granularity` form, once the
    /// offset has been taken from them.
    fn apply_granularity(&self, index: usize, values: &mut [Value]) {
        let querier = &self.queriers[index];
        if querier.granular_indexes.is_empty() {
            return;
        }
        let width = querier.shape.as_ref().map_or(1, |s| s.kinds.len().max(1));
        for row in values.chunks_exact_mut(width) {
            for &i in &querier.granular_indexes {
                schema::apply_granularity(self.config.granularity, self.config.zone, &mut row[i]);
            }
        }
    }

    fn batch(&mut self, index: usize, values: Vec<Value>, offset: Offset) -> SourceBatch {
        let querier = &mut self.queriers[index];
        querier.emitted = offset;
        SourceBatch {
            topic: querier.topic.clone(),
            schema: querier
                .shape
                .as_ref()
                .expect("shape before rows")
                .schema
                .clone(),
            values,
            keys: None,
            tombstones: Vec::new(),
            position: SourcePosition {
                partition: querier.partition.clone(),
                // Bulk mode has no offset; nor has a timestamp batch before any group is complete.
                offset: if self.config.mode == Mode::Bulk || offset == Offset::default() {
                    Json::Null
                } else {
                    offset.to_json()
                },
            },
        }
    }
}

#[async_trait]
impl SourceTask for JdbcSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        self.batch_bytes = context.batch_max_bytes;
        self.spare_rows = context.spare_rows;
        for querier in &mut self.queriers {
            let mut stored = context
                .offsets
                .offset(&self.connector, &querier.partition)
                .await?;
            if stored.is_none()
                && let Target::Table { table, .. } = &querier.target
            {
                // Connect's legacy protocol-0 partition.
                stored = context
                    .offsets
                    .offset(&self.connector, &json!({"table": table}))
                    .await?;
            }
            if let Some(stored) = stored {
                querier.offset = Offset::from_json(&stored);
                querier.emitted = querier.offset;
                tracing::info!(message = "resuming from stored offset", connector = %self.connector, topic = %querier.topic, offset = %stored);
            }
        }
        let conn = self.config.database.connect().await?;
        self.conn = Some(conn);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Option<SourceBatch>> {
        loop {
            if let Some(active) = &mut self.active {
                let index = active.querier;
                match active.chunks.recv().await {
                    Some(Ok(Chunk::Shape(shape))) => self.take_shape(index, shape)?,
                    Some(Ok(Chunk::Rows(mut values))) => {
                        let offset = self.advance(index, &values)?;
                        self.apply_granularity(index, &mut values);
                        return Ok(Some(self.batch(index, values, offset)));
                    }
                    Some(Err(error)) => {
                        let active = self.active.take().expect("active query");
                        active.handle.abort();
                        self.queriers[index].next_run = Instant::now() + self.config.poll_interval;
                        return Err(error);
                    }
                    None => {
                        let active = self.active.take().expect("active query");
                        self.conn = active.handle.await.ok().flatten();
                        let querier = &mut self.queriers[index];
                        querier.next_run = Instant::now() + self.config.poll_interval;
                        querier.complete_ts = querier.offset.timestamp_micros;
                        // The whole result was read: its last timestamp group is complete.
                        if self.config.mode == Mode::Timestamp
                            && querier.emitted != querier.offset
                            && querier.shape.is_some()
                        {
                            let offset = querier.offset;
                            return Ok(Some(self.batch(index, Vec::new(), offset)));
                        }
                    }
                }
                continue;
            }
            let Some((index, due)) = self
                .queriers
                .iter()
                .enumerate()
                .map(|(i, q)| (i, q.next_run))
                .min_by_key(|(_, due)| *due)
            else {
                // No tables assigned: idle.
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(None);
            };
            let now = Instant::now();
            if due > now {
                tokio::time::sleep_until(due.min(now + Duration::from_secs(1))).await;
                if due > Instant::now() {
                    return Ok(None);
                }
            }
            if let Err(error) = self.start_query(index).await {
                self.queriers[index].next_run = Instant::now() + self.config.poll_interval;
                return Err(error);
            }
        }
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(active) = self.active.take() {
            active.handle.abort();
        }
        if let Some(conn) = self.conn.take() {
            conn.disconnect().await.ok();
        }
        Ok(())
    }
}

/// The server's clock as the text protocol returns a DATETIME.
fn parse_datetime_text(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text)
        .ok()
        .and_then(crate::db::time::parse_datetime)
}

/// One query for [`stream_query`].
struct Query {
    sql: String,
    params: Vec<MyValue>,
    /// The value struct's name: the table's (query mode leaves it unnamed).
    struct_name: Option<String>,
    batch_rows: usize,
    /// A chunk is handed on at `batch_rows` rows or this many bytes of values.
    batch_bytes: usize,
    /// Where each chunk's values vector comes from.
    spare_rows: Spares<Value>,
    zone: DbZone,
    granularity: TimestampGranularity,
    /// The database, for error messages.
    context: String,
}

/// Streams one query's rows as chunks of `batch_rows` converted rows, or fewer when they reach
/// `batch_bytes`. Returns the connection for reuse when the result was read to its end.
async fn stream_query(
    mut conn: Conn,
    query: Query,
    tx: mpsc::Sender<Result<Chunk>>,
) -> Option<Conn> {
    let Query {
        sql,
        params,
        struct_name,
        batch_rows,
        batch_bytes,
        spare_rows,
        zone,
        granularity,
        context,
    } = query;
    let db_error =
        |e: mysql_async::Error| crate::db::mysql_error(e, &format!("database {context}"));
    let params = if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params)
    };
    let mut result = match conn.exec_iter(sql.as_str(), params).await {
        Ok(result) => result,
        Err(error) => {
            let _ = tx.send(Err(db_error(error))).await;
            return None;
        }
    };
    let shape = match result
        .columns()
        .ok_or_else(|| Error::internal("query returned no result set"))
        .and_then(|columns| RowShape::from_columns(struct_name.as_deref(), &columns, granularity))
    {
        Ok(shape) => shape,
        Err(error) => {
            let _ = tx.send(Err(error)).await;
            return None;
        }
    };
    let kinds = shape.kinds.clone();
    let optional: Vec<bool> = shape
        .schema
        .fields
        .iter()
        .map(|f| f.schema.optional)
        .collect();
    let names = shape.names.clone();
    let width = kinds.len();
    if tx.send(Ok(Chunk::Shape(shape))).await.is_err() {
        return None;
    }
    // Room for a full chunk of small rows; a chunk of big rows ends on bytes well before.
    let capacity = (batch_rows * width).min(1 << 16);
    let mut values = spare_rows.take(capacity);
    let mut bytes = 0usize;
    loop {
        match result.next().await {
            Ok(Some(mut row)) => {
                for i in 0..width {
                    let value = row.take(i).unwrap_or(MyValue::NULL);
                    match schema::convert(kinds[i], value, optional[i], &names[i], zone) {
                        Ok(v) => {
                            bytes += v.heap_bytes();
                            values.push(v);
                        }
                        Err(error) => {
                            let _ = tx.send(Err(error)).await;
                            return None;
                        }
                    }
                }
                if values.len() >= batch_rows * width || bytes >= batch_bytes {
                    let full = std::mem::replace(&mut values, spare_rows.take(capacity));
                    bytes = 0;
                    if tx.send(Ok(Chunk::Rows(full))).await.is_err() {
                        return None;
                    }
                }
            }
            Ok(None) => break,
            Err(error) => {
                let _ = tx.send(Err(db_error(error))).await;
                return None;
            }
        }
    }
    drop(result);
    if !values.is_empty() && tx.send(Ok(Chunk::Rows(values))).await.is_err() {
        return None;
    }
    Some(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_connect_json() {
        let offset = Offset {
            incrementing: Some(18343),
            timestamp_micros: None,
        };
        assert_eq!(offset.to_json().to_string(), r#"{"incrementing":18343}"#);
        let offset = Offset {
            incrementing: Some(3),
            timestamp_micros: Some(1_790_818_723_729_000),
        };
        assert_eq!(
            offset.to_json().to_string(),
            r#"{"timestamp_nanos":729000000,"incrementing":3,"timestamp":1790818723729}"#
        );
        assert_eq!(Offset::from_json(&offset.to_json()), offset);
        let offset = Offset {
            incrementing: None,
            timestamp_micros: Some(1_547_030_056_000_000),
        };
        assert_eq!(
            offset.to_json().to_string(),
            r#"{"timestamp_nanos":0,"timestamp":1547030056000}"#
        );
        let micro = Offset {
            incrementing: None,
            timestamp_micros: Some(-1),
        };
        assert_eq!(Offset::from_json(&micro.to_json()), micro);
    }

    #[test]
    fn parses_current_timestamp_text() {
        assert_eq!(
            parse_datetime_text(b"2021-12-05 06:57:48"),
            Some(1_638_687_468_000_000)
        );
        assert_eq!(
            parse_datetime_text(b"2021-12-05 06:57:48.5"),
            Some(1_638_687_468_500_000)
        );
    }
}
