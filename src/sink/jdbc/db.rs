//! The sink's connection to its target: MariaDB/MySQL through mysql_async (binary prepared
//! statements, cached per SQL text) or PostgreSQL through tokio-postgres (parameters sent as
//! text and cast by the server to each column's type; statements cached per SQL text).

use std::collections::HashMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value as MyValue};
use tokio_postgres::types::{ToSql, Type};

use super::config::Target;
use super::sql::SqlDialect;
use crate::db::time::{datetime_from_micros, iso_datetime};
use crate::db::{DbSettings, mysql_error};
use crate::error::{Error, ErrorKind, Result};
use crate::model::calendar::civil_from_days;
use crate::model::{Schema, SchemaType, Value};

/// What the sink knows of an existing table.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableInfo {
    /// Column names as the database spells them.
    pub(crate) columns: Vec<String>,
    /// Columns holding a wall-clock time without a zone (MySQL DATETIME, PostgreSQL
    /// `timestamp without time zone`): `db.timezone` applies to them.
    pub(crate) wall_clock: Vec<String>,
    /// Each column's type, in column order.
    pub(crate) types: Vec<ColumnType>,
    /// The primary key's columns.
    pub(crate) primary_key: Vec<String>,
}

/// A column's type as `information_schema` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// `DATA_TYPE`, lower case (`int`, `varchar`, `timestamp without time zone`, …).
    pub(crate) data_type: String,
    /// `NUMERIC_SCALE` (decimals).
    pub(crate) scale: Option<i32>,
    /// MySQL `… unsigned`.
    pub(crate) unsigned: bool,
}

impl TableInfo {
    pub(crate) fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    pub(crate) fn is_wall_clock(&self, name: &str) -> bool {
        self.wall_clock.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// The Connect schema a schemaless record value is read with: a struct with one optional
    /// field per column, typed as JsonConverter would have written that column's value (a
    /// DATETIME is a Timestamp in epoch milliseconds, a DECIMAL a Decimal as a number or
    /// base64, a BLOB base64 bytes, …).
    pub(crate) fn row_schema(&self) -> Schema {
        self.struct_of(self.columns.iter())
    }

    /// The schema a schemaless record key is read with: a struct of `columns` (or of the
    /// primary key when empty). For a key that is a plain JSON scalar there must be exactly one
    /// such column. `None` when a named column is not in the table.
    pub(crate) fn key_schema(&self, columns: &[String], scalar: bool) -> Option<Schema> {
        let columns = if columns.is_empty() {
            &self.primary_key
        } else {
            columns
        };
        if columns.iter().any(|c| !self.has_column(c)) || columns.is_empty() {
            return None;
        }
        if scalar && columns.len() != 1 {
            return None;
        }
        let names: Vec<&String> = columns
            .iter()
            .filter_map(|c| self.position(c).map(|at| &self.columns[at]))
            .collect();
        Some(self.struct_of(names.into_iter()))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    fn struct_of<'a>(&self, names: impl Iterator<Item = &'a String>) -> Schema {
        let fields = names
            .filter_map(|name| {
                let at = self.position(name)?;
                Some(crate::model::Field {
                    name: self.columns[at].clone(),
                    schema: column_schema(&self.types[at], true),
                })
            })
            .collect();
        Schema::structure(None, fields, false)
    }
}

/// The Connect type a column's values have in JsonConverter's JSON.
fn column_schema(ty: &ColumnType, optional: bool) -> Schema {
    let int = |ty| Schema::primitive(ty, optional);
    match (ty.data_type.as_str(), ty.unsigned) {
        ("tinyint", false) => int(SchemaType::Int8),
        ("tinyint", true) | ("smallint", false) => int(SchemaType::Int16),
        ("smallint", true) | ("mediumint", _) | ("year", _) | ("int" | "integer", false) => {
            int(SchemaType::Int32)
        }
        ("int" | "integer" | "bigint", _) => int(SchemaType::Int64),
        (t, _) => other_column_schema(t, ty.scale, optional),
    }
}

fn other_column_schema(t: &str, scale: Option<i32>, optional: bool) -> Schema {
    use crate::model::logical;
    match t {
        "float" | "real" => Schema::primitive(SchemaType::Float32, optional),
        "double" | "double precision" => Schema::primitive(SchemaType::Float64, optional),
        "decimal" | "numeric" => Schema::decimal(scale.unwrap_or(0), None, optional),
        "bit" | "bool" | "boolean" => Schema::primitive(SchemaType::Boolean, optional),
        "date" => Schema::logical(SchemaType::Int32, logical::DATE, optional),
        "time" | "time without time zone" => {
            Schema::logical(SchemaType::Int32, logical::TIME, optional)
        }
        "datetime" | "timestamp" | "timestamp without time zone" | "timestamp with time zone" => {
            Schema::logical(SchemaType::Int64, logical::TIMESTAMP, optional)
        }
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bytea" => {
            Schema::primitive(SchemaType::Bytes, optional)
        }
        _ => Schema::primitive(SchemaType::String, optional),
    }
}

/// A connection to the sink's target database.
pub(crate) enum SinkDb {
    MySql {
        conn: mysql_async::Conn,
        settings: DbSettings,
        dialect: SqlDialect,
    },
    Postgres {
        client: tokio_postgres::Client,
        statements: HashMap<String, tokio_postgres::Statement>,
        describe: String,
    },
}

fn pg_error(error: tokio_postgres::Error, context: &str) -> Error {
    let transient = error.is_closed()
        || error.code().is_some_and(|c| {
            matches!(
                c.code(),
                "40001" | "40P01" | "55P03" | "57P01" | "08000" | "08003" | "08006" | "53300"
            )
        });
    let message = match error.as_db_error() {
        Some(db) => format!(
            "{context}: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        ),
        None => format!("{context}: {error}"),
    };
    let error = Error::with_source(ErrorKind::Database, message, error);
    if transient { error.transient() } else { error }
}

impl SinkDb {
    /// Connects to the target.
    pub(crate) async fn connect(target: &Target) -> Result<SinkDb> {
        match target {
            Target::MySql(settings) => {
                let mut conn = settings.connect().await?;
                let version: String = conn
                    .query_first("SELECT VERSION()")
                    .await
                    .map_err(|e| settings.error(e))?
                    .unwrap_or_default();
                Ok(SinkDb::MySql {
                    conn,
                    settings: settings.clone(),
                    dialect: SqlDialect::from_mysql_version(&version),
                })
            }
            Target::Postgres(settings) => {
                let url = &settings.url;
                let mut config = tokio_postgres::Config::new();
                config
                    .host(&url.host)
                    .port(url.port)
                    .dbname(url.database.as_deref().unwrap_or("postgres"));
                if let Some(user) = &settings.user {
                    config.user(user);
                }
                if let Some(password) = &settings.password {
                    config.password(password.expose());
                }
                let database = format!("database {}", settings.describe());
                let (client, connection) = settings
                    .retrying(|| async {
                        config
                            .connect(tokio_postgres::NoTls)
                            .await
                            .map_err(|error| pg_error(error, &database))
                    })
                    .await?;
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::warn!(message = "PostgreSQL connection closed", %error);
                    }
                });
                client
                    .batch_execute("SET TIME ZONE 'UTC'")
                    .await
                    .map_err(|e| pg_error(e, &database))?;
                Ok(SinkDb::Postgres {
                    client,
                    statements: HashMap::new(),
                    describe: settings.describe(),
                })
            }
        }
    }

    pub(crate) fn dialect(&self) -> SqlDialect {
        match self {
            SinkDb::MySql { dialect, .. } => *dialect,
            SinkDb::Postgres { .. } => SqlDialect::Postgres,
        }
    }

    fn context(&self) -> String {
        match self {
            SinkDb::MySql { settings, .. } => format!("database {}", settings.describe()),
            SinkDb::Postgres { describe, .. } => format!("database {describe}"),
        }
    }

    /// The table's columns, or `None` when it does not exist.
    pub(crate) async fn describe(&mut self, table: &str) -> Result<Option<TableInfo>> {
        let (schema, name) = match table.rsplit_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, table.to_string()),
        };
        let context = self.context();
        // (name, data type, scale, unsigned, in the primary key)
        let rows: Vec<(String, String, Option<i32>, bool, bool)> = match self {
            SinkDb::MySql { conn, .. } => {
                let sql = "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_SCALE, COLUMN_TYPE, COLUMN_KEY \
                           FROM information_schema.COLUMNS \
                           WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
                let rows: Vec<(String, String, Option<u64>, String, String)> = conn
                    .exec(sql, (schema, name))
                    .await
                    .map_err(|e| mysql_error(e, &context))?;
                rows.into_iter()
                    .map(|(name, ty, scale, column_type, key)| {
                        (
                            name,
                            ty.to_ascii_lowercase(),
                            scale.and_then(|s| i32::try_from(s).ok()),
                            column_type.to_ascii_lowercase().contains("unsigned"),
                            key == "PRI",
                        )
                    })
                    .collect()
            }
            SinkDb::Postgres { client, .. } => {
                let sql = "SELECT c.column_name::text, c.data_type::text, c.numeric_scale::int, \
                           EXISTS (SELECT 1 FROM information_schema.table_constraints t \
                             JOIN information_schema.key_column_usage k \
                               ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema \
                              AND k.table_name = t.table_name \
                            WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema \
                              AND t.table_name = c.table_name AND k.column_name = c.column_name) \
                           FROM information_schema.columns c \
                           WHERE c.table_schema = COALESCE($1, current_schema()) AND c.table_name = $2 \
                           ORDER BY c.ordinal_position";
                client
                    .query(sql, &[&schema, &name])
                    .await
                    .map_err(|e| pg_error(e, &context))?
                    .iter()
                    .map(|row| {
                        (
                            row.get::<_, String>(0),
                            row.get::<_, String>(1).to_ascii_lowercase(),
                            row.get::<_, Option<i32>>(2),
                            false,
                            row.get::<_, bool>(3),
                        )
                    })
                    .collect()
            }
        };
        let mut info = TableInfo::default();
        for (name, data_type, scale, unsigned, key) in rows {
            if data_type == "datetime" || data_type == "timestamp without time zone" {
                info.wall_clock.push(name.clone());
            }
            if key {
                info.primary_key.push(name.clone());
            }
            info.types.push(ColumnType {
                data_type,
                scale,
                unsigned,
            });
            info.columns.push(name);
        }
        Ok((!info.columns.is_empty()).then_some(info))
    }

    /// Runs one statement without parameters (DDL, transaction control).
    pub(crate) async fn execute(&mut self, sql: &str) -> Result<()> {
        let context = self.context();
        match self {
            SinkDb::MySql { conn, .. } => conn
                .query_drop(sql)
                .await
                .map_err(|e| mysql_error(e, &context)),
            SinkDb::Postgres { client, .. } => client
                .batch_execute(sql)
                .await
                .map_err(|e| pg_error(e, &context)),
        }
    }

    pub(crate) async fn begin(&mut self) -> Result<()> {
        self.execute(if self.dialect().is_postgres() {
            "BEGIN"
        } else {
            "START TRANSACTION"
        })
        .await
    }

    pub(crate) async fn commit(&mut self) -> Result<()> {
        self.execute("COMMIT").await
    }

    pub(crate) async fn rollback(&mut self) {
        if let Err(error) = self.execute("ROLLBACK").await {
            tracing::debug!(message = "rollback failed", %error);
        }
    }

    /// Executes `sql` with `values` bound in order; each value is converted with its column's
    /// schema. Returns the affected row count.
    pub(crate) async fn exec(&mut self, sql: &str, values: &[(&Value, &Schema)]) -> Result<u64> {
        let context = self.context();
        match self {
            SinkDb::MySql { conn, .. } => {
                let params: Vec<MyValue> = values.iter().map(|(v, s)| to_mysql(v, s)).collect();
                let params = if params.is_empty() {
                    Params::Empty
                } else {
                    Params::Positional(params)
                };
                conn.exec_drop(sql, params)
                    .await
                    .map_err(|e| mysql_error(e, &context))?;
                Ok(conn.affected_rows())
            }
            SinkDb::Postgres {
                client, statements, ..
            } => {
                let statement = match statements.get(sql) {
                    Some(statement) => statement.clone(),
                    None => {
                        let types = vec![Type::TEXT; values.len()];
                        let statement = client
                            .prepare_typed(sql, &types)
                            .await
                            .map_err(|e| pg_error(e, &context))?;
                        if statements.len() > 256 {
                            statements.clear();
                        }
                        statements.insert(sql.to_string(), statement.clone());
                        statement
                    }
                };
                let texts: Vec<Option<String>> =
                    values.iter().map(|(v, s)| to_pg_text(v, s)).collect();
                let params: Vec<&(dyn ToSql + Sync)> =
                    texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
                client
                    .execute(&statement, &params)
                    .await
                    .map_err(|e| pg_error(e, &context))
            }
        }
    }

    pub(crate) async fn close(self) {
        if let SinkDb::MySql { conn, .. } = self {
            conn.disconnect().await.ok();
        }
    }
}

/// A value as a MySQL binary-protocol parameter.
pub fn to_mysql(value: &Value, schema: &Schema) -> MyValue {
    match value {
        Value::Null => MyValue::NULL,
        Value::Boolean(b) => MyValue::Int(i64::from(*b)),
        Value::Int(i) => MyValue::Int(*i),
        Value::Float(f) if schema.ty == SchemaType::Float32 => MyValue::Float(*f as f32),
        Value::Float(f) => MyValue::Double(*f),
        Value::Text(b) | Value::Bytes(b) | Value::Decimal(b) => MyValue::Bytes(b.to_vec()),
        Value::Date(days) => {
            let (y, m, d) = civil_from_days(i64::from(*days));
            MyValue::Date(y.clamp(0, 9999) as u16, m as u8, d as u8, 0, 0, 0, 0)
        }
        Value::Time(micros) => {
            let negative = *micros < 0;
            let abs = micros.unsigned_abs();
            let secs = abs / 1_000_000;
            MyValue::Time(
                negative,
                (secs / 86_400) as u32,
                (secs % 86_400 / 3600) as u8,
                (secs % 3600 / 60) as u8,
                (secs % 60) as u8,
                (abs % 1_000_000) as u32,
            )
        }
        Value::Timestamp(micros) => datetime_from_micros(*micros),
        // The layout refuses struct, array and map columns before any value is bound.
        Value::Struct(_) | Value::Array(_) | Value::Map(_) => MyValue::NULL,
    }
}

/// A value as PostgreSQL input text for its column type.
pub(crate) fn to_pg_text(value: &Value, schema: &Schema) -> Option<String> {
    let text = |b: &bytes::Bytes| String::from_utf8_lossy(b).into_owned();
    Some(match value {
        Value::Null => return None,
        Value::Boolean(b) => {
            if schema.ty == SchemaType::Boolean {
                b.to_string()
            } else {
                i64::from(*b).to_string()
            }
        }
        Value::Int(i) if schema.ty == SchemaType::Boolean => (*i != 0).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "NaN".into(),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 {
                "Infinity".into()
            } else {
                "-Infinity".into()
            }
        }
        Value::Float(f) if schema.ty == SchemaType::Float32 => (*f as f32).to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(b) | Value::Decimal(b) => text(b),
        Value::Bytes(b) => format!("\\x{}", hex::encode(b)),
        Value::Date(days) => {
            let (y, m, d) = civil_from_days(i64::from(*days));
            format!("{y:04}-{m:02}-{d:02}")
        }
        Value::Time(micros) => {
            let abs = micros.unsigned_abs();
            let secs = abs / 1_000_000;
            format!(
                "{}{:02}:{:02}:{:02}.{:06}",
                if *micros < 0 { "-" } else { "" },
                secs / 3600,
                secs % 3600 / 60,
                secs % 60,
                abs % 1_000_000
            )
        }
        // PostgreSQL's own text form, with a space.
        Value::Timestamp(micros) => iso_datetime(*micros, 6).replacen('T', " ", 1),
        // The layout refuses struct, array and map columns before any value is bound.
        Value::Struct(_) | Value::Array(_) | Value::Map(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn column(data_type: &str, scale: Option<i32>, unsigned: bool) -> ColumnType {
        ColumnType {
            data_type: data_type.into(),
            scale,
            unsigned,
        }
    }

    #[test]
    fn table_columns_give_schemaless_records_their_types() {
        let info = TableInfo {
            columns: vec![
                "id".into(),
                "Amount".into(),
                "at".into(),
                "n".into(),
                "b".into(),
            ],
            wall_clock: vec!["at".into()],
            types: vec![
                column("int", None, true),
                column("decimal", Some(2), false),
                column("datetime", None, false),
                column("tinyint", None, false),
                column("longblob", None, false),
            ],
            primary_key: vec!["id".into()],
        };
        let row = info.row_schema();
        let types: Vec<(&str, SchemaType, Option<&str>, bool)> = row
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.schema.ty,
                    f.schema.name.as_deref(),
                    f.schema.optional,
                )
            })
            .collect();
        use crate::model::logical::{DECIMAL, TIMESTAMP};
        assert_eq!(
            types,
            [
                ("id", SchemaType::Int64, None, true),
                ("Amount", SchemaType::Bytes, Some(DECIMAL), true),
                ("at", SchemaType::Int64, Some(TIMESTAMP), true),
                ("n", SchemaType::Int8, None, true),
                ("b", SchemaType::Bytes, None, true),
            ]
        );
        assert_eq!(row.fields[1].schema.parameter("scale"), Some("2"));
        // Keys: the primary key by default, pk.fields (any case) when given.
        let key = info.key_schema(&[], false).unwrap();
        assert_eq!(key.fields.len(), 1);
        assert_eq!(key.fields[0].name, "id");
        let key = info.key_schema(&["AT".into(), "id".into()], false).unwrap();
        assert_eq!(
            key.fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["at", "id"]
        );
        assert!(info.key_schema(&["missing".into()], false).is_none());
        assert!(info.key_schema(&["at".into(), "id".into()], true).is_none());
        assert!(info.key_schema(&[], true).is_some());
    }

    #[test]
    fn values_bind_as_expected() {
        let ts = Schema::logical(SchemaType::Int64, crate::model::logical::TIMESTAMP, true);
        assert_eq!(
            to_mysql(&Value::Timestamp(1_638_687_468_000_000), &ts),
            MyValue::Date(2021, 12, 5, 6, 57, 48, 0)
        );
        assert_eq!(
            to_pg_text(&Value::Timestamp(-1), &ts).unwrap(),
            "1969-12-31 23:59:59.999999"
        );
        let b = Schema::primitive(SchemaType::Bytes, true);
        assert_eq!(
            to_pg_text(&Value::Bytes(Bytes::from_static(&[0, 255])), &b).unwrap(),
            "\\x00ff"
        );
        let t = Schema::logical(SchemaType::Int32, crate::model::logical::TIME, true);
        assert_eq!(
            to_mysql(&Value::Time(-90_061_000_001), &t),
            MyValue::Time(true, 1, 1, 1, 1, 1)
        );
        assert_eq!(to_pg_text(&Value::Null, &t), None);
    }
}
