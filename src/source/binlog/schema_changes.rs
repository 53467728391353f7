//! The task's side of the schema history: opening and replaying it at start, recording the
//! captured tables' structures at a snapshot, and reading each DDL statement of the stream into
//! the history topic, the table cache and Debezium's schema-change events. The history itself
//! (records, structures, replay) is `history.rs`, which knows nothing of the task.

use std::sync::Arc;

use mysql_async::Conn;
use mysql_async::binlog::events::TableMapEvent;
use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use super::ddl::{Ddl, TableChange};
use super::history::{
    History, HistoryRecord, Schemas, TableChangeRecord, TableDef, ddl_text, describe, reconcile,
    schema_change_schemas, sql_is_rename, table_changes_value, table_id,
};
use super::table::TableInfo;
use super::task::BinlogSourceTask;
use crate::db::quote_mysql;
use crate::error::Result;
use crate::kafka::append::AppendLog;
use crate::model::{SourceBatch, SourceKeys, Value};

impl BinlogSourceTask {
    /// Opens the schema history (when the connector has one) and replays it to `stored`, the
    /// offset the task resumes from. Returns `false` when there is a stored offset and the
    /// history topic has no record of this connector: the structures at the offset are
    /// unknown.
    pub(super) async fn open_history(
        &mut self,
        worker: &crate::config::WorkerConfig,
        stored: Option<&Json>,
    ) -> Result<bool> {
        let Some(settings) = self.debezium.clone() else {
            return Ok(true);
        };
        let mut known = true;
        let mut schemas = Schemas::default();
        let log = match &settings.history {
            Some(topic) => {
                let (log, values) =
                    AppendLog::open(worker, topic.bootstrap_servers.as_deref(), &topic.topic)
                        .await?;
                let records = values
                    .iter()
                    .map(|v| HistoryRecord::parse(v))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(stored) = stored {
                    known = records.iter().any(|r| r.source == self.partition);
                    schemas = Schemas::replay(&records, &self.partition, &self.database, stored);
                }
                tracing::info!(message = "schema history read", connector = %self.connector, topic = %topic.topic, records = records.len(), tables = schemas.tables.len());
                Some(log)
            }
            None => None,
        };
        self.history = Some(History { log, schemas });
        Ok(known)
    }

    /// The table as `tme` shows it, when its recorded structure names other columns (see
    /// [`reconcile`]); the new structure stands for the table until the next DDL.
    pub(super) async fn reconciled(
        &mut self,
        table: &str,
        tme: &TableMapEvent<'_>,
    ) -> Result<Option<Arc<TableInfo>>> {
        let Some(def) = self.history_table(table) else {
            return Ok(None);
        };
        let Some(def) = reconcile(&def, tme)? else {
            return Ok(None);
        };
        tracing::info!(message = "a table map names other columns than the table's recorded structure (the table changed again after the DDL being read); reading with the table map's columns", connector = %self.connector, table, columns = ?def.columns.iter().map(|c| &c.name).collect::<Vec<_>>());
        let info = Arc::new(self.build_table(table, &def.description()?).await?);
        if let Some(history) = self.history.as_mut() {
            history
                .schemas
                .tables
                .insert(table.to_string(), Arc::new(def));
        }
        self.tables.insert(table.to_string(), info.clone());
        Ok(Some(info))
    }

    /// The history's structure of `table`, when the history knows it.
    pub(super) fn history_table(&self, table: &str) -> Option<Arc<TableDef>> {
        self.history.as_ref()?.schemas.get(table)
    }

    /// Records every table of the database as it is now, at the current position: at a
    /// snapshot (each table's `SHOW CREATE TABLE`, `snapshot`), at a first start without one
    /// (`no_data`), and to rebuild the history (`recovery`).
    pub(super) async fn record_tables(&mut self, conn: &mut Conn, snapshot: bool) -> Result<()> {
        if self.history.is_none() {
            return Ok(());
        }
        let context = self.context();
        let database = self.database.clone();
        let db_error = |e| crate::db::mysql_error(e, &context);
        let names: Vec<std::string::String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
                 AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (&database,),
            )
            .await
            .map_err(db_error)?;
        let mut position = self.offset_json();
        if snapshot {
            position["snapshot"] = json!(true);
        }
        for table in names {
            let create: Option<(std::string::String, std::string::String)> = conn
                .query_first(format!(
                    "SHOW CREATE TABLE {}.{}",
                    quote_mysql(&database),
                    quote_mysql(&table)
                ))
                .await
                .map_err(db_error)?;
            let Some(def) = describe(conn, &database, &table, &context).await? else {
                continue;
            };
            let ddl = create.map(|(_, ddl)| ddl).unwrap_or_default();
            let change = TableChangeRecord {
                kind: "CREATE".into(),
                id: table_id(&database, &table),
                previous_id: None,
                table: Some(def),
                comment: Some(Json::Null),
            };
            let record = HistoryRecord::new(
                &self.debezium_prefix(),
                position.clone(),
                &database,
                &ddl,
                vec![change],
            );
            self.apply_schema_change(record, &table, snapshot).await?;
        }
        Ok(())
    }

    /// A DDL statement read from the binlog (`database`: the statement's default database),
    /// after its transaction's end moved the position past it: the tables it changed are
    /// described as they are now, recorded in the history and written as a schema-change
    /// event, and their rows from here on are read with that structure.
    pub(super) async fn read_ddl(&mut self, sql: &str, database: &str) -> Result<()> {
        if self.history.is_none() {
            return Ok(());
        }
        let ours = self.database.clone();
        // Statements on the connector's database, and its tables' changes.
        let changes: Vec<_> = match super::ddl::classify(sql, database) {
            Ddl::Database(name) if name == ours => Vec::new(),
            Ddl::Tables(changes) => {
                let changes: Vec<_> = changes
                    .into_iter()
                    .filter(|(db, _, change)| {
                        *db == ours
                            || matches!(change, TableChange::Rename { from } if from.0 == ours)
                    })
                    .collect();
                if changes.is_empty() {
                    return Ok(());
                }
                changes
            }
            Ddl::Database(_) | Ddl::Truncate(..) | Ddl::Other => return Ok(()),
        };
        let context = self.context();
        let queued = self.ready.len();
        let mut records = Vec::new();
        let mut tables = Vec::new();
        let position = self.offset_json();
        let prefix = self.debezium_prefix();
        let mut grouped = Vec::new();
        for (db, table, change) in changes {
            let record_change = match &change {
                TableChange::Drop => {
                    // Debezium writes each dropped table as its own `DROP TABLE `db`.`t``.
                    records.push((
                        format!("DROP TABLE {}.{}", quote_mysql(&db), quote_mysql(&table)),
                        vec![TableChangeRecord {
                            kind: "DROP".into(),
                            id: table_id(&db, &table),
                            previous_id: None,
                            table: None,
                            comment: None,
                        }],
                        table.clone(),
                    ));
                    continue;
                }
                TableChange::Rename { from } if db != ours => TableChangeRecord {
                    // Moved out of the database: gone from here.
                    kind: "DROP".into(),
                    id: table_id(&from.0, &from.1),
                    previous_id: None,
                    table: None,
                    comment: None,
                },
                _ => {
                    let conn = self.meta_conn().await?;
                    let def = describe(conn, &db, &table, &context).await?;
                    let Some(def) = def else {
                        tracing::warn!(message = "a table changed by a DDL statement no longer exists; its structure is not recorded", connector = %self.connector, table = %table, ddl = %sql);
                        continue;
                    };
                    TableChangeRecord {
                        kind: if change == TableChange::Create {
                            "CREATE".into()
                        } else {
                            "ALTER".into()
                        },
                        id: table_id(&db, &table),
                        previous_id: match &change {
                            TableChange::Rename { from } if sql_is_rename(sql) => {
                                Some(table_id(&from.0, &from.1))
                            }
                            _ => None,
                        },
                        table: Some(def),
                        comment: Some(Json::Null),
                    }
                }
            };
            if let TableChange::Rename { from } = &change {
                tables.push(from.1.clone());
            }
            tables.push(table.clone());
            grouped.push(record_change);
        }
        if !grouped.is_empty() || records.is_empty() {
            records.insert(0, (ddl_text(sql).to_string(), grouped, tables.join(",")));
        }
        for (ddl, changes, table) in records {
            let record = HistoryRecord::new(&prefix, position.clone(), &ours, &ddl, changes);
            self.apply_schema_change(record, &table, false).await?;
        }
        if self.ready.len() == queued {
            // A stream that reconnects resumes after the DDL, never before it: the rows
            // before it are not read again with the structure after it.
            let batch = self.position_batch();
            self.ready.push_back(batch);
        }
        Ok(())
    }

    /// Appends a record to the history (awaited: it is durable before any offset past it is
    /// stored), applies it, and queues its schema-change event.
    async fn apply_schema_change(
        &mut self,
        record: HistoryRecord,
        table: &str,
        snapshot: bool,
    ) -> Result<()> {
        let history = self.history.as_mut().expect("a schema history");
        if let Some(log) = &history.log {
            log.append(&record.to_bytes()).await?;
        }
        history.schemas.apply(&record, &self.database);
        let settings = self.debezium.clone().expect("Debezium settings");
        if !settings.schema_changes {
            return Ok(());
        }
        let (key_schema, schema) = schema_change_schemas(settings.flavor);
        let mut source = self.source.clone();
        source.snapshot = if snapshot { "true" } else { "false" };
        if snapshot {
            // The snapshot's position (the stream's DDL events set theirs as they are read).
            source.file = bytes::Bytes::from(self.position.file.clone());
            source.pos = self.position.pos as i64;
            source.ts_ms = super::envelope::now_ns() / 1_000_000;
        }
        source.db = bytes::Bytes::from(self.database.clone());
        source.table = bytes::Bytes::from(table.to_string());
        source.row = 0;
        // A batch row is the value struct's fields.
        let values = vec![
            source.value(),
            Value::Int(super::envelope::now_ns() / 1_000_000),
            record
                .database_name
                .as_deref()
                .map_or(Value::Null, Value::text),
            Value::Null,
            record.ddl.as_deref().map_or(Value::Null, Value::text),
            table_changes_value(&record),
        ];
        let batch = SourceBatch {
            topic: super::envelope::sanitize_topic(&settings.prefix).into(),
            schema,
            values,
            keys: Some(SourceKeys {
                schema: key_schema,
                values: vec![Value::text(&self.database)],
            }),
            ..self.position_batch()
        };
        self.ready.push_back(batch);
        Ok(())
    }

    fn debezium_prefix(&self) -> std::string::String {
        self.debezium
            .as_ref()
            .map(|d| d.prefix.clone())
            .unwrap_or_default()
    }
}
