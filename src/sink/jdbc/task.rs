//! The JDBC sink task: decodes records, maps them to rows of their target tables (per
//! `pk.mode`), creates or evolves tables, and writes each `put` in one transaction as ordered
//! runs of multi-row statements. Transient database errors are retried with backoff up to
//! `max.retries`; with `errors.tolerance=all` a batch that cannot be written is retried record by
//! record and the records that still fail are reported for the dead-letter queue.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::config::{InsertMode, JdbcSinkConfig, PkMode};
use super::db::{SinkDb, TableInfo};
use super::sql::{self, Column, ColumnDef, SqlDialect};
use crate::connector::{RecordFailure, SinkTask, SinkTaskContext};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Data as Decoded;
use crate::model::record::FailureStage;
use crate::model::{Schema, SchemaType, SinkRecord, Value};
use crate::retry::RetryPolicy;

/// Parameters per statement: MySQL and PostgreSQL both cap a statement at 65,535, and each
/// prepared statement the connection caches keeps the server's description of every parameter
/// (~300 bytes each with mysql_async): 16,384 bounds one cached statement near 5 MB.
const MAX_PARAMS: usize = 16_384;
/// Bytes of parameter data per statement, well under the default max_allowed_packet.
const MAX_STATEMENT_BYTES: usize = 8 << 20;

/// How records of one (key schema, value schema) pair map to table columns: key columns first.
#[derive(Debug)]
struct Layout {
    columns: Vec<(String, Schema)>,
    keys: usize,
    /// Where each column's value comes from.
    sources: Vec<Source>,
    /// Keeps the schemas alive so the cache's pointer keys stay unique.
    _pins: (Option<Arc<Schema>>, Option<Arc<Schema>>),
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Key(usize),
    Value(usize),
    Topic,
    Partition,
    Offset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Write,
    Delete,
}

struct Prepared {
    index: usize,
    table: Arc<str>,
    op: Op,
    layout: Arc<Layout>,
    values: Vec<Value>,
}

/// A running JDBC sink task.
pub(crate) struct JdbcSinkTask {
    connector: Arc<str>,
    config: Arc<JdbcSinkConfig>,
    db: Option<SinkDb>,
    tables: HashMap<String, TableInfo>,
    layouts: HashMap<(usize, usize), Arc<Layout>>,
    tolerate_errors: bool,
    /// `key.converter.schemas.enable` / `value.converter.schemas.enable`: without schemas,
    /// records are read against their table's columns.
    key_schemas: bool,
    value_schemas: bool,
    schemaless: Schemaless,
    /// The last topic's target table (`table.name.format`), as records of one topic come in
    /// runs.
    last_table: Option<(Arc<str>, Arc<str>)>,
}

/// What reading schemaless records needs: a decoder and, per table, the schemas its columns
/// give (kept, so the layout cache's pointer keys stay stable).
#[derive(Default)]
struct Schemaless {
    decoder: Option<crate::convert::json::decode::JsonDecoder>,
    rows: HashMap<Arc<str>, Arc<Schema>>,
    /// Per (table, key is a JSON scalar).
    keys: HashMap<(Arc<str>, bool), Arc<Schema>>,
}

impl JdbcSinkTask {
    pub(crate) fn new(connector: Arc<str>, config: Arc<JdbcSinkConfig>) -> Self {
        JdbcSinkTask {
            connector,
            config,
            db: None,
            tables: HashMap::new(),
            layouts: HashMap::new(),
            tolerate_errors: false,
            key_schemas: true,
            value_schemas: true,
            schemaless: Schemaless::default(),
            last_table: None,
        }
    }

    /// The target table of `topic`'s records.
    fn table_of(&mut self, topic: &Arc<str>) -> Arc<str> {
        match &self.last_table {
            Some((last, table)) if last == topic => table.clone(),
            _ => {
                let table: Arc<str> = self.config.table_name(topic).into();
                self.last_table = Some((topic.clone(), table.clone()));
                table
            }
        }
    }

    /// Whether some records reach the task without a schema to be read against their table.
    fn reads_schemaless(&self) -> bool {
        !self.value_schemas || (self.config.pk_mode == PkMode::RecordKey && !self.key_schemas)
    }

    /// Loads the columns of the tables that schemaless records in `records` go to.
    async fn describe_tables(&mut self, records: &[SinkRecord]) -> Result<()> {
        let mut tables: Vec<Arc<str>> = Vec::new();
        for record in records {
            let table = self.table_of(&record.topic);
            if !self.tables.contains_key(&*table) && !tables.contains(&table) {
                tables.push(table);
            }
        }
        tables.sort();
        for table in tables {
            if let Some(info) = self.db().await?.describe(&table).await? {
                self.tables.insert(table.to_string(), info);
            }
        }
        Ok(())
    }

    /// Reads a record's key and value that carry no schema against its table's columns. A
    /// value is the whole row; a key (`pk.mode=record_key`) is an object of the key columns or
    /// a scalar for a one-column key.
    fn read_schemaless(
        &mut self,
        record: &SinkRecord,
    ) -> std::result::Result<(Option<Decoded>, Option<Decoded>), (FailureStage, Error)> {
        let table = self.table_of(&record.topic);
        let stage = if self.value_schemas {
            FailureStage::KeyConverter
        } else {
            FailureStage::ValueConverter
        };
        let Some(info) = self.tables.get(&*table) else {
            return Err((
                stage,
                Error::config(format!(
                    "Table {table} does not exist: records without a schema \
                     (key/value.converter.schemas.enable=false) are written only into existing \
                     tables, whose columns give their types; auto.create needs schemas"
                )),
            ));
        };
        let decoder = self
            .schemaless
            .decoder
            .get_or_insert_with(|| crate::convert::json::decode::JsonDecoder::new(false));
        let value = match (&record.value, self.value_schemas) {
            (Some(bytes), false) => {
                let schema = self
                    .schemaless
                    .rows
                    .entry(table.clone())
                    .or_insert_with(|| Arc::new(info.row_schema()))
                    .clone();
                decoder
                    .decode_row(bytes, &schema)
                    .map_err(|e| (FailureStage::ValueConverter, e))?
            }
            _ => None,
        };
        let key = match (&record.key, self.key_schemas, self.config.pk_mode) {
            (Some(bytes), false, PkMode::RecordKey) => {
                let scalar = bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{');
                let schema = match self.schemaless.keys.get(&(table.clone(), scalar)) {
                    Some(schema) => schema.clone(),
                    None => {
                        let schema = info.key_schema(&self.config.pk_fields, scalar).ok_or_else(|| {
                            (
                                FailureStage::KeyConverter,
                                Error::config(format!(
                                    "cannot read a key without a schema for table {table}: {} {}",
                                    if self.config.pk_fields.is_empty() {
                                        "the table has no primary key".to_string()
                                    } else {
                                        format!(
                                            "pk.fields ({}) are not all columns of the table",
                                            self.config.pk_fields.join(", ")
                                        )
                                    },
                                    if scalar {
                                        "(a scalar key needs exactly one key column)"
                                    } else {
                                        ""
                                    }
                                )),
                            )
                        })?;
                        let schema = Arc::new(schema);
                        self.schemaless
                            .keys
                            .insert((table.clone(), scalar), schema.clone());
                        schema
                    }
                };
                if scalar {
                    // The scalar is the one key column's value: read it with that column's
                    // type, and hand the row mapping a struct of that column.
                    let column = Arc::new(schema.fields[0].schema.clone());
                    decoder
                        .decode_with_schema(bytes, &column)
                        .map_err(|e| (FailureStage::KeyConverter, e))?
                        .map(|d| Decoded {
                            schema: schema.clone(),
                            values: d.values,
                        })
                } else {
                    decoder
                        .decode_row(bytes, &schema)
                        .map_err(|e| (FailureStage::KeyConverter, e))?
                }
            }
            _ => None,
        };
        Ok((key, value))
    }

    async fn db(&mut self) -> Result<&mut SinkDb> {
        if self.db.is_none() {
            self.db = Some(SinkDb::connect(&self.config.target).await?);
        }
        Ok(self.db.as_mut().expect("connected"))
    }

    fn layout(&mut self, key: Option<&Decoded>, value: &Decoded) -> Result<Arc<Layout>> {
        let cache_key = (
            key.map_or(0, |k| Arc::as_ptr(&k.schema) as usize),
            Arc::as_ptr(&value.schema) as usize,
        );
        if let Some(layout) = self.layouts.get(&cache_key) {
            return Ok(layout.clone());
        }
        let layout = Arc::new(build_layout(&self.config, key, value)?);
        if self.layouts.len() > 1024 {
            self.layouts.clear();
        }
        self.layouts.insert(cache_key, layout.clone());
        Ok(layout)
    }

    /// Maps a record (its converted key and value) to a row operation.
    fn prepare(
        &mut self,
        index: usize,
        record: &SinkRecord,
        key_data: Option<&Decoded>,
        value_data: Option<&Decoded>,
    ) -> std::result::Result<Option<Prepared>, (FailureStage, Error)> {
        let key = match (key_data, self.config.pk_mode) {
            (Some(key), PkMode::RecordKey) => Some(key),
            (None, PkMode::RecordKey) => {
                return Err((
                    FailureStage::KeyConverter,
                    Error::new(
                        ErrorKind::Conversion,
                        "pk.mode=record_key but the record has no key",
                    ),
                ));
            }
            _ => None,
        };
        let table = self.table_of(&record.topic);
        let Some(value) = value_data else {
            // A tombstone: a delete when enabled, otherwise nothing to write.
            if !self.config.delete_enabled {
                tracing::debug!(message = "skipping tombstone (delete.enabled=false)", topic = %record.topic, offset = record.offset);
                return Ok(None);
            }
            let key = key.ok_or_else(|| {
                (
                    FailureStage::KeyConverter,
                    Error::new(
                        ErrorKind::Conversion,
                        "a tombstone without a key cannot be deleted",
                    ),
                )
            })?;
            let layout =
                key_only_layout(&self.config, key).map_err(|e| (FailureStage::TaskPut, e))?;
            let values = key_values(&layout, key);
            return Ok(Some(Prepared {
                index,
                table,
                op: Op::Delete,
                layout: Arc::new(layout),
                values,
            }));
        };
        if value.schema.ty != SchemaType::Struct {
            return Err((
                FailureStage::ValueConverter,
                Error::new(
                    ErrorKind::Conversion,
                    format!(
                        "the record value must be a struct, not {:?}",
                        value.schema.ty
                    ),
                ),
            ));
        }
        let layout = self
            .layout(key, value)
            .map_err(|e| (FailureStage::TaskPut, e))?;
        let mut values = Vec::with_capacity(layout.columns.len());
        for source in &layout.sources {
            values.push(match *source {
                Source::Key(i) => key.map_or(Value::Null, |k| k.values[i].clone()),
                Source::Value(i) => value.values[i].clone(),
                Source::Topic => {
                    Value::Text(bytes::Bytes::copy_from_slice(record.topic.as_bytes()))
                }
                Source::Partition => Value::Int(i64::from(record.partition)),
                Source::Offset => Value::Int(record.offset),
            });
        }
        for (i, (name, _)) in layout.columns[..layout.keys].iter().enumerate() {
            if values[i] == Value::Null {
                return Err((
                    FailureStage::TaskPut,
                    Error::new(
                        ErrorKind::Conversion,
                        format!("primary key column {name} is null"),
                    ),
                ));
            }
        }
        Ok(Some(Prepared {
            index,
            table,
            op: Op::Write,
            layout,
            values,
        }))
    }

    /// Creates the table or adds missing columns, as auto.create / auto.evolve allow.
    async fn ensure_table(&mut self, table: &str, layout: &Layout) -> Result<()> {
        let known = self.tables.get(table).cloned();
        let info = match known {
            Some(info) => info,
            None => {
                let found = self.db().await?.describe(table).await?;
                match found {
                    Some(info) => info,
                    None if self.config.auto_create => {
                        let dialect = self.db().await?.dialect();
                        let defs = column_defs(dialect, layout, &layout.columns);
                        let keys: Vec<String> = layout.columns[..layout.keys]
                            .iter()
                            .map(|(n, _)| n.clone())
                            .collect();
                        let ddl = sql::create_table(dialect, table, &defs, &keys);
                        tracing::info!(message = "creating table (auto.create)", connector = %self.connector, table, sql = %ddl);
                        self.db().await?.execute(&ddl).await?;
                        self.db().await?.describe(table).await?.ok_or_else(|| {
                            Error::new(
                                ErrorKind::Database,
                                format!("table {table} is still missing after CREATE TABLE"),
                            )
                        })?
                    }
                    None => {
                        return Err(Error::config(format!(
                            "Table {table} is missing and auto-creation is disabled (set auto.create=true)"
                        )));
                    }
                }
            }
        };
        let missing: Vec<(String, Schema)> = layout
            .columns
            .iter()
            .filter(|(name, _)| !info.has_column(name))
            .cloned()
            .collect();
        let info = if missing.is_empty() {
            info
        } else if !self.config.auto_evolve {
            return Err(Error::config(format!(
                "Table {table} is missing fields ({}) and auto-evolution is disabled (set auto.evolve=true)",
                missing
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        } else {
            if let Some((name, schema)) = missing.iter().find(|(_, s)| !s.optional) {
                return Err(Error::config(format!(
                    "Cannot ALTER TABLE {table} to add missing field {name} ({}), as the field is not optional and does not have a default value",
                    schema.ty.json_name()
                )));
            }
            let dialect = self.db().await?.dialect();
            let defs = column_defs(dialect, layout, &missing);
            let ddl = sql::alter_add(dialect, table, &defs);
            tracing::info!(message = "adding columns (auto.evolve)", connector = %self.connector, table, sql = %ddl);
            self.db().await?.execute(&ddl).await?;
            self.db().await?.describe(table).await?.unwrap_or_default()
        };
        self.tables.insert(table.to_string(), info);
        Ok(())
    }

    /// Rewrites Timestamps bound for wall-clock columns into `db.timezone`'s wall clock (the
    /// writer renders a Timestamp as a UTC date-time).
    fn to_wall_clock(&self, prepared: &mut [Prepared]) {
        let zone = self.config.zone;
        for p in prepared.iter_mut() {
            let Some(info) = self.tables.get(&*p.table) else {
                continue;
            };
            for (i, (name, schema)) in p.layout.columns.iter().enumerate() {
                if schema.logical_type() == Some(crate::model::LogicalType::Timestamp)
                    && info.is_wall_clock(name)
                    && let Value::Timestamp(micros) = p.values[i]
                {
                    p.values[i] = Value::Timestamp(zone.instant_to_wall(micros));
                }
            }
        }
    }

    /// Writes `prepared` in one transaction. A flush that fits one statement (the common case:
    /// one table, at most `batch.size` rows) is sent alone, in autocommit, which is the same
    /// single transaction without the two round trips of `BEGIN` and `COMMIT`.
    async fn write(&mut self, prepared: &[&Prepared]) -> Result<()> {
        let insert_mode = self.config.insert_mode;
        let batch_size = self.config.batch_size;
        let db = self.db().await?;
        let dialect = db.dialect();
        let mut statements = Vec::new();
        let mut start = 0;
        while start < prepared.len() {
            let first = prepared[start];
            let mut end = start + 1;
            while end < prepared.len()
                && prepared[end].table == first.table
                && prepared[end].op == first.op
                && Arc::ptr_eq(&prepared[end].layout, &first.layout)
            {
                end += 1;
            }
            plan_run(
                dialect,
                insert_mode,
                batch_size,
                &prepared[start..end],
                &mut statements,
            );
            start = end;
        }
        if let [(sql, params)] = statements.as_slice() {
            return db.exec(sql, params).await.map(|_| ());
        }
        db.begin().await?;
        let result = async {
            for (sql, params) in &statements {
                db.exec(sql, params).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        match result {
            Ok(()) => db.commit().await,
            Err(error) => {
                db.rollback().await;
                Err(error)
            }
        }
    }

    /// Writes with retries on transient errors; a lost connection is re-opened.
    async fn write_with_retries(&mut self, prepared: &[&Prepared]) -> Result<()> {
        let mut backoff =
            RetryPolicy::fixed(self.config.retry_backoff, self.config.max_retries).backoff();
        loop {
            let error = match self.write(prepared).await {
                Ok(()) => return Ok(()),
                Err(error) if error.is_transient() => error,
                Err(error) => return Err(error),
            };
            let Some(delay) = backoff.next_delay() else {
                return Err(error);
            };
            tracing::warn!(
                message = "write failed; retrying",
                connector = %self.connector,
                retry = backoff.retries(),
                max_retries = self.config.max_retries,
                delay_ms = delay.as_millis() as u64,
                error = %format!("{error:#}")
            );
            if let Some(db) = self.db.take() {
                db.close().await;
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// One statement and its parameters.
type Statement<'a> = (String, Vec<(&'a Value, &'a Schema)>);

/// The statements that write a run of records with one table, operation and layout.
fn plan_run<'a>(
    dialect: SqlDialect,
    insert_mode: InsertMode,
    batch_size: usize,
    run: &[&'a Prepared],
    statements: &mut Vec<Statement<'a>>,
) {
    let layout: &'a Layout = &run[0].layout;
    let table = &run[0].table;
    let columns: Vec<Column> = layout
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, schema))| Column {
            name: name.clone(),
            sql_type: dialect.column_type(schema, i < layout.keys),
        })
        .collect();
    let schemas: Vec<&'a Schema> = layout.columns.iter().map(|(_, s)| s).collect();
    let width = columns.len().max(1);
    let max_rows = batch_size.min(MAX_PARAMS / width).max(1);
    match (run[0].op, insert_mode) {
        (Op::Delete, _) => {
            let mut rest = run;
            while !rest.is_empty() {
                let (chunk, after) = rest.split_at(statement_rows(rest.len(), max_rows));
                rest = after;
                let sql = sql::delete(dialect, table, &columns[..layout.keys], chunk.len());
                let params = chunk
                    .iter()
                    .flat_map(|p| p.values.iter().zip(schemas.iter().copied()))
                    .collect();
                statements.push((sql, params));
            }
        }
        (Op::Write, InsertMode::Update) => {
            let sql = sql::update(dialect, table, &columns, layout.keys);
            for record in run {
                let params = record.values[layout.keys..]
                    .iter()
                    .zip(schemas[layout.keys..].iter().copied())
                    .chain(
                        record.values[..layout.keys]
                            .iter()
                            .zip(schemas[..layout.keys].iter().copied()),
                    )
                    .collect();
                statements.push((sql.clone(), params));
            }
        }
        (Op::Write, mode) => {
            let upsert = mode == InsertMode::Upsert;
            // PostgreSQL refuses to upsert one key twice in a statement: keep the last.
            let rows: Vec<&'a Prepared> = if upsert && dialect.is_postgres() {
                let mut last: HashMap<Vec<String>, usize> = HashMap::new();
                for (i, p) in run.iter().enumerate() {
                    last.insert(
                        p.values[..layout.keys]
                            .iter()
                            .map(|v| format!("{v:?}"))
                            .collect(),
                        i,
                    );
                }
                run.iter()
                    .enumerate()
                    .filter(|(i, p)| {
                        last.get(
                            &p.values[..layout.keys]
                                .iter()
                                .map(|v| format!("{v:?}"))
                                .collect::<Vec<_>>(),
                        ) == Some(i)
                    })
                    .map(|(_, p)| *p)
                    .collect()
            } else {
                run.to_vec()
            };
            let mut start = 0;
            while start < rows.len() {
                let mut end = start;
                let mut bytes = 0;
                while end < rows.len()
                    && end - start < max_rows
                    && (bytes < MAX_STATEMENT_BYTES || end == start)
                {
                    bytes += rows[end].values.iter().map(value_size).sum::<usize>();
                    end += 1;
                }
                let end = start + statement_rows(end - start, max_rows);
                let chunk = &rows[start..end];
                let sql = if upsert {
                    sql::upsert(dialect, table, &columns, layout.keys, chunk.len())
                } else {
                    sql::insert(dialect, table, &columns, chunk.len())
                };
                let params = chunk
                    .iter()
                    .flat_map(|p| p.values.iter().zip(schemas.iter().copied()))
                    .collect();
                statements.push((sql, params));
                start = end;
            }
        }
    }
}

/// Rows in the next statement, of `fit` that would fit: `max_rows` when they all fit, else the
/// largest power of two that does. A run's statements then come in a dozen sizes at most, and
/// each stays in the connection's statement cache instead of being prepared again per batch
/// (batches cut by bytes vary in length).
fn statement_rows(fit: usize, max_rows: usize) -> usize {
    if fit >= max_rows {
        max_rows
    } else {
        1 << fit.max(1).ilog2()
    }
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Text(b) | Value::Bytes(b) | Value::Decimal(b) => b.len() + 9,
        _ => 12,
    }
}

fn column_defs(
    dialect: SqlDialect,
    layout: &Layout,
    columns: &[(String, Schema)],
) -> Vec<ColumnDef> {
    columns
        .iter()
        .map(|(name, schema)| {
            let key = layout.columns[..layout.keys].iter().any(|(k, _)| k == name);
            ColumnDef {
                name: name.clone(),
                sql_type: dialect.column_type(schema, key),
                nullable: schema.optional && !key,
            }
        })
        .collect()
}

fn whitelisted(config: &JdbcSinkConfig, name: &str) -> bool {
    config.fields_whitelist.is_empty() || config.fields_whitelist.iter().any(|f| f == name)
}

fn build_layout(config: &JdbcSinkConfig, key: Option<&Decoded>, value: &Decoded) -> Result<Layout> {
    let mut columns: Vec<(String, Schema)> = Vec::new();
    let mut sources = Vec::new();
    match config.pk_mode {
        PkMode::None => {}
        PkMode::Kafka => {
            let types = [SchemaType::String, SchemaType::Int32, SchemaType::Int64];
            let kinds = [Source::Topic, Source::Partition, Source::Offset];
            for ((name, ty), source) in config.pk_fields.iter().zip(types).zip(kinds) {
                columns.push((name.clone(), Schema::primitive(ty, false)));
                sources.push(source);
            }
        }
        PkMode::RecordKey => {
            let key = key.ok_or_else(|| {
                Error::new(
                    ErrorKind::Conversion,
                    "pk.mode=record_key but the record has no key",
                )
            })?;
            let layout = key_only_layout(config, key)?;
            columns = layout.columns;
            sources = layout.sources;
        }
        PkMode::RecordValue => {
            (columns, sources) = pk_columns(config, &value.schema.fields, "value", Source::Value)?;
        }
    }
    let keys = columns.len();
    for (i, field) in value.schema.fields.iter().enumerate() {
        if columns[..keys].iter().any(|(k, _)| k == &field.name)
            || !whitelisted(config, &field.name)
        {
            continue;
        }
        if matches!(
            field.schema.ty,
            SchemaType::Struct | SchemaType::Array | SchemaType::Map
        ) {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!(
                    "field {} is a {}, which the JDBC sink cannot write to a column",
                    field.name,
                    field.schema.ty.json_name()
                ),
            ));
        }
        columns.push((field.name.clone(), field.schema.clone()));
        sources.push(Source::Value(i));
    }
    Ok(Layout {
        columns,
        keys,
        sources,
        _pins: (key.map(|k| k.schema.clone()), Some(value.schema.clone())),
    })
}

/// Column names with their schemas, in table order.
type Columns = Vec<(String, Schema)>;

/// The primary-key columns taken from a struct's fields: `pk.fields`, or every field when it is
/// empty (Connect's rule for `record_key` and `record_value`).
fn pk_columns(
    config: &JdbcSinkConfig,
    fields: &[crate::model::Field],
    what: &str,
    source: fn(usize) -> Source,
) -> Result<(Columns, Vec<Source>)> {
    let names: Vec<&str> = if config.pk_fields.is_empty() {
        fields.iter().map(|f| f.name.as_str()).collect()
    } else {
        config.pk_fields.iter().map(String::as_str).collect()
    };
    let mut columns = Vec::with_capacity(names.len());
    let mut sources = Vec::with_capacity(names.len());
    for name in names {
        let i = fields.iter().position(|f| f.name == name).ok_or_else(|| {
            Error::config(format!(
                "pk.fields: field {name} is not in the record {what}"
            ))
        })?;
        columns.push((name.to_string(), fields[i].schema.clone()));
        sources.push(source(i));
    }
    Ok((columns, sources))
}

/// The key columns of a `record_key` record (also all a delete needs).
fn key_only_layout(config: &JdbcSinkConfig, key: &Decoded) -> Result<Layout> {
    let (columns, sources) = if key.schema.ty == SchemaType::Struct {
        pk_columns(config, &key.schema.fields, "key", Source::Key)?
    } else {
        let [name] = config.pk_fields.as_slice() else {
            return Err(Error::config(
                "Need exactly one PK column defined in pk.fields since the key schema for records is a primitive type",
            ));
        };
        let mut schema = (*key.schema).clone();
        schema.optional = false;
        (vec![(name.clone(), schema)], vec![Source::Key(0)])
    };
    Ok(Layout {
        keys: columns.len(),
        columns,
        sources,
        _pins: (Some(key.schema.clone()), None),
    })
}

fn key_values(layout: &Layout, key: &Decoded) -> Vec<Value> {
    layout
        .sources
        .iter()
        .map(|s| match s {
            Source::Key(i) => key.values[*i].clone(),
            _ => Value::Null,
        })
        .collect()
}

#[async_trait]
impl SinkTask for JdbcSinkTask {
    fn wants_keys(&self) -> bool {
        self.config.pk_mode == PkMode::RecordKey
    }

    fn batch_records(&self) -> Option<usize> {
        Some(self.config.batch_size)
    }

    async fn start(&mut self, context: SinkTaskContext) -> Result<()> {
        self.tolerate_errors = context.tolerate_errors;
        self.key_schemas = context.key_schemas;
        self.value_schemas = context.value_schemas;
        self.db().await?;
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<Vec<RecordFailure>> {
        let put_started = std::time::Instant::now();
        let mut failures = Vec::new();
        let mut prepared = Vec::with_capacity(records.len());
        let schemaless = self.reads_schemaless();
        if schemaless {
            self.describe_tables(records).await?;
        }
        for (index, record) in records.iter().enumerate() {
            let read = if schemaless {
                self.read_schemaless(record)
            } else {
                Ok((None, None))
            };
            let prepared_one = read.and_then(|(key, value)| {
                let key = if self.key_schemas {
                    record.key_data.as_ref()
                } else {
                    key.as_ref()
                };
                let value = if self.value_schemas {
                    record.value_data.as_ref()
                } else {
                    value.as_ref()
                };
                self.prepare(index, record, key, value)
            });
            match prepared_one {
                Ok(Some(p)) => prepared.push(p),
                Ok(None) => {}
                Err((stage, error)) => {
                    let error = Error::with_source(
                        ErrorKind::Conversion,
                        format!(
                            "cannot convert the record at {}-{} offset {}",
                            record.topic, record.partition, record.offset
                        ),
                        error,
                    );
                    if !self.tolerate_errors {
                        return Err(error);
                    }
                    failures.push(RecordFailure {
                        index,
                        stage,
                        error,
                    });
                }
            }
        }
        let mut seen: Vec<(Arc<str>, usize)> = Vec::new();
        for p in &prepared {
            let id = (p.table.clone(), Arc::as_ptr(&p.layout) as usize);
            if !seen.contains(&id) {
                let layout = p.layout.clone();
                self.ensure_table(&p.table, &layout).await?;
                seen.push(id);
            }
        }
        if !self.config.zone.is_utc() {
            self.to_wall_clock(&mut prepared);
        }
        let all: Vec<&Prepared> = prepared.iter().collect();
        let prepared_at = std::time::Instant::now();
        let written = self.write_with_retries(&all).await;
        tracing::trace!(
            message = "sink put",
            rows = all.len(),
            prepare_ms = (prepared_at - put_started).as_millis() as u64,
            write_ms = prepared_at.elapsed().as_millis() as u64
        );
        match written {
            Ok(()) => Ok(failures),
            Err(error) if self.tolerate_errors && !error.is_transient() => {
                // Find the records that cannot be written, one transaction each.
                for p in &prepared {
                    if let Err(error) = self.write_with_retries(&[p]).await {
                        if error.is_transient() {
                            return Err(error);
                        }
                        let record = &records[p.index];
                        failures.push(RecordFailure {
                            index: p.index,
                            stage: FailureStage::TaskPut,
                            error: Error::with_source(
                                error.kind(),
                                format!(
                                    "cannot write the record at {}-{} offset {} to {}",
                                    record.topic, record.partition, record.offset, p.table
                                ),
                                error,
                            ),
                        });
                    }
                }
                failures.sort_by_key(|f| f.index);
                Ok(failures)
            }
            Err(error) => Err(error),
        }
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_come_in_a_full_size_and_powers_of_two() {
        // 30-column rows: 546 rows a statement (16,380 parameters).
        let max = MAX_PARAMS / 30;
        assert_eq!(max, 546);
        let mut sizes = Vec::new();
        let mut left = 910;
        while left > 0 {
            let n = statement_rows(left, max);
            sizes.push(n);
            left -= n;
        }
        assert_eq!(sizes, [546, 256, 64, 32, 8, 4]);
        assert_eq!(statement_rows(3000, 3000), 3000);
        assert_eq!(statement_rows(1, 3000), 1);
        assert_eq!(statement_rows(0, 3000), 1);
        // Every length a byte-cut batch may have maps to one of 1 + log2(max) + 1 sizes.
        let distinct: std::collections::BTreeSet<usize> =
            (1..=5000).map(|n| statement_rows(n, max)).collect();
        assert_eq!(distinct.len(), 11);
    }
}
