//! A captured table: its Connect schema exactly as polling mode derives it (from the result
//! metadata of `SELECT * … LIMIT 0`), and what converting binlog values needs on top of it
//! (ENUM/SET members, BINARY lengths, signed MEDIUMINT, primary-key columns).

use std::sync::Arc;

use mysql_async::binlog::value::BinlogValue;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value as MyValue};

use super::envelope::{CatalogColumn, ColumnFacts, EventShape};
use crate::db::{DbZone, quote_mysql};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Field, Schema, Value};
use crate::source::config::DebeziumSettings;
use crate::source::config::TimestampGranularity;
use crate::source::schema::{self, ColumnKind, RowShape};

/// Per-column facts the binlog lacks.
#[derive(Debug, Clone, Default)]
struct ColumnMeta {
    /// ENUM or SET members, in declaration order.
    members: Vec<String>,
    is_set: bool,
    /// BINARY(n): MariaDB strips trailing zero bytes in the binlog; pad back to `n`.
    binary_len: Option<usize>,
    /// Signed MEDIUMINT (arrives without sign extension).
    signed_mediumint: bool,
    /// An UNSIGNED numeric column (for a binlog without signedness metadata).
    unsigned: bool,
}

/// A table being captured.
#[derive(Debug, Clone)]
pub(super) struct TableInfo {
    pub(super) table: String,
    pub(super) shape: Arc<RowShape>,
    columns: Vec<ColumnMeta>,
    /// Primary-key column indexes (or the incrementing column when there is no primary key).
    pub(super) key_columns: Vec<usize>,
    /// The record key schema: a struct of the key columns.
    pub(super) key_schema: Arc<Schema>,
    /// Debezium's event shapes, when the connector writes Debezium's change events.
    pub(super) events: Option<Arc<EventShape>>,
}

/// The columns of the table's first unique index (by name) whose columns are all NOT NULL, in
/// table order; none when there is no such index.
async fn unique_key(
    conn: &mut Conn,
    database: &str,
    table: &str,
    shape: &RowShape,
    context: &str,
) -> Result<Vec<usize>> {
    let rows: Vec<(String, String, String)> = conn
        .exec(
            "SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE FROM information_schema.STATISTICS s \
             JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA \
             AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME \
             WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 \
             ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX",
            (database, table),
        )
        .await
        .map_err(|e| crate::db::mysql_error(e, context))?;
    let mut indexes: Vec<(String, Vec<usize>, bool)> = Vec::new();
    for (index, column, nullable) in rows {
        if indexes.last().is_none_or(|(name, _, _)| *name != index) {
            indexes.push((index.clone(), Vec::new(), true));
        }
        let entry = indexes.last_mut().expect("an index");
        match shape.index_of(&column) {
            Some(i) if nullable.eq_ignore_ascii_case("NO") => entry.1.push(i),
            _ => entry.2 = false,
        }
    }
    Ok(indexes
        .into_iter()
        .find(|(_, columns, usable)| *usable && !columns.is_empty())
        .map(|(_, mut columns, _)| {
            columns.sort_unstable();
            columns
        })
        .unwrap_or_default())
}

/// A column's default as Debezium's DDL parser records it (`defaultValueExpression`), from the
/// catalog's `COLUMN_DEFAULT`: MariaDB reports a column without a default as SQL NULL, one
/// defaulting to NULL as the text `NULL` (both: none), a string literal quoted (unquoted here),
/// and CURRENT_TIMESTAMP as `current_timestamp()` (Debezium's epoch, `1970-01-01 00:00:00`).
pub(super) fn default_expression(column_default: Option<&str>) -> Option<String> {
    let d = column_default?;
    let lower = d.to_ascii_lowercase();
    if lower == "null" {
        None
    } else if lower.starts_with("current_timestamp") || lower.starts_with("now(") {
        Some("1970-01-01 00:00:00".to_string())
    } else if let Some(inner) = d.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')) {
        Some(inner.replace("''", "'"))
    } else {
        Some(d.to_string())
    }
}

/// What a table is, as the binlog reader needs it: the result columns of `SELECT * … LIMIT 0`
/// (what polling mode derives its schema from) and each column's catalog facts. Read from the
/// server ([`Description::read`]), or rebuilt from a schema-history structure
/// (`history::TableDef::description`).
#[derive(Debug, Clone)]
pub(super) struct Description {
    pub(super) columns: Vec<mysql_async::Column>,
    pub(super) catalog: Vec<CatalogColumn>,
}

impl Description {
    /// Reads the table's current description from the server.
    pub(super) async fn read(
        conn: &mut Conn,
        database: &str,
        table: &str,
        context: &str,
    ) -> Result<Description> {
        let db_error = |e| crate::db::mysql_error(e, context);
        let sql = format!(
            "SELECT * FROM {}.{} LIMIT 0",
            quote_mysql(database),
            quote_mysql(table)
        );
        let result = conn.exec_iter(sql.as_str(), ()).await.map_err(db_error)?;
        let columns = result
            .columns()
            .ok_or_else(|| Error::internal("LIMIT 0 query returned no columns"))?
            .to_vec();
        drop(result);
        type Row = (
            String,
            String,
            Option<u64>,
            String,
            Option<u32>,
            Option<u32>,
            Option<u32>,
            Option<String>,
        );
        let rows: Vec<Row> = crate::db::describe_columns(
            conn,
            "DATA_TYPE, COLUMN_TYPE, CHARACTER_OCTET_LENGTH, COLUMN_KEY, DATETIME_PRECISION, \
             NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_DEFAULT",
            database,
            table,
            context,
        )
        .await?;
        if rows.len() != columns.len() {
            return Err(Error::new(
                ErrorKind::Database,
                format!("table {database}.{table} changed while being described"),
            ));
        }
        let catalog = rows
            .into_iter()
            .map(
                |(data_type, column_type, octets, key, fsp, precision, scale, default)| {
                    CatalogColumn {
                        data_type: data_type.to_ascii_lowercase(),
                        column_type: column_type.to_ascii_lowercase(),
                        octets,
                        primary: key == "PRI",
                        fsp,
                        precision,
                        scale,
                        default: default_expression(default.as_deref()),
                    }
                },
            )
            .collect();
        Ok(Description { columns, catalog })
    }
}

impl TableInfo {
    /// The table of `description` (`conn` finds a unique key when a Debezium table has no
    /// primary key).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn build(
        conn: &mut Conn,
        database: &str,
        table: &str,
        description: &Description,
        incrementing: Option<&str>,
        granularity: TimestampGranularity,
        debezium: Option<&DebeziumSettings>,
        context: &str,
    ) -> Result<TableInfo> {
        let shape = RowShape::from_columns(Some(table), &description.columns, granularity)?;
        let rows = &description.catalog;
        let mut metas = Vec::with_capacity(rows.len());
        let mut key_columns = Vec::new();
        let mut facts = Vec::with_capacity(rows.len());
        for (i, column) in rows.iter().enumerate() {
            let (data_type, column_type) = (column.data_type.as_str(), &column.column_type);
            let mut meta = ColumnMeta {
                unsigned: column_type.contains("unsigned"),
                ..ColumnMeta::default()
            };
            match data_type {
                "enum" | "set" => {
                    meta.is_set = data_type == "set";
                    meta.members = members(column_type);
                }
                "binary" => meta.binary_len = column.octets.map(|n| n as usize),
                "mediumint" => meta.signed_mediumint = !column_type.contains("unsigned"),
                _ => {}
            }
            if column.primary {
                key_columns.push(i);
            }
            facts.push(ColumnFacts {
                name: shape.names[i].clone(),
                optional: shape.schema.fields[i].schema.optional,
                members: meta.members.clone(),
                bits: (data_type == "bit").then_some(column.precision.unwrap_or(1)),
                catalog: column.clone(),
            });
            metas.push(meta);
        }
        // Debezium keys a table by `message.key.columns`, else its primary key, else its first
        // unique index of NOT NULL columns.
        let events = match debezium {
            Some(settings) => {
                let qualified = format!("{database}.{table}");
                let custom = settings
                    .message_key_columns
                    .iter()
                    .find(|(p, _)| p.matches_whole(&qualified));
                if key_columns.is_empty() {
                    // Snapshot chunks and incremental snapshots go by a unique NOT NULL key
                    // (never by `message.key.columns`, which need be neither).
                    key_columns = unique_key(conn, database, table, &shape, context).await?;
                }
                let key = match custom {
                    Some((_, columns)) => {
                        let mut key = Vec::new();
                        for name in columns {
                            key.push(shape.index_of(name).ok_or_else(|| {
                                Error::config(format!(
                                    "message.key.columns names {name}, which {qualified} does not have"
                                ))
                            })?);
                        }
                        key.sort_unstable();
                        key
                    }
                    None => key_columns.clone(),
                };
                Some(Arc::new(EventShape::new(
                    settings, database, table, &facts, key,
                )?))
            }
            None => None,
        };
        if key_columns.is_empty()
            && let Some(column) = incrementing.and_then(|c| shape.index_of(c))
        {
            key_columns.push(column);
        }
        let key_schema = Arc::new(Schema::structure(
            None,
            key_columns
                .iter()
                .map(|&i| Field {
                    name: shape.names[i].clone(),
                    schema: shape.schema.fields[i].schema.clone(),
                })
                .collect(),
            false,
        ));
        Ok(TableInfo {
            table: table.to_string(),
            shape: Arc::new(shape),
            columns: metas,
            key_columns,
            key_schema,
            events,
        })
    }

    pub(super) fn width(&self) -> usize {
        self.shape.kinds.len()
    }

    /// The column named `name` (column names compare case-insensitively, as in MySQL).
    pub(super) fn index_of(&self, name: &str) -> Option<usize> {
        self.shape.index_of(name).or_else(|| {
            self.shape
                .names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
        })
    }

    pub(super) fn unsigned(&self, i: usize) -> bool {
        self.columns[i].unsigned
    }

    /// Column `i`'s kind when converting its binlog value needs nothing from the table itself
    /// (no ENUM/SET members, BINARY padding or MEDIUMINT sign), so it may be read by
    /// [`FastColumn`](super::value::FastColumn).
    pub(super) fn plain_kind(&self, i: usize) -> Option<ColumnKind> {
        let meta = &self.columns[i];
        let plain = meta.members.is_empty() && meta.binary_len.is_none() && !meta.signed_mediumint;
        plain.then_some(self.shape.kinds[i])
    }

    pub(super) fn optional(&self, i: usize) -> bool {
        self.shape.schema.fields[i].schema.optional
    }

    /// Appends the values of a row selected with `SELECT *` (the snapshots' reads), as polling
    /// mode reads them.
    pub(super) fn push_selected(
        &self,
        row: &mut mysql_async::Row,
        zone: DbZone,
        out: &mut Vec<Value>,
    ) -> Result<()> {
        for i in 0..self.width() {
            out.push(crate::source::schema::convert(
                self.shape.kinds[i],
                row.take(i).unwrap_or(MyValue::NULL),
                self.optional(i),
                &self.shape.names[i],
                zone,
            )?);
        }
        Ok(())
    }

    /// Converts one binlog value of column `i` into the value polling mode reads for it.
    pub(super) fn convert(
        &self,
        i: usize,
        value: Option<BinlogValue<'_>>,
        zone: DbZone,
    ) -> Result<Value> {
        let kind = self.shape.kinds[i];
        let optional = self.shape.schema.fields[i].schema.optional;
        let name = &self.shape.names[i];
        let meta = &self.columns[i];
        let value = match value {
            None => MyValue::NULL,
            Some(BinlogValue::Value(v)) => v,
            Some(BinlogValue::Jsonb(json)) => {
                let json = serde_json::Value::try_from(json).map_err(|e| {
                    Error::with_source(
                        ErrorKind::Conversion,
                        format!("column {name}: unreadable JSON in the binlog"),
                        e,
                    )
                })?;
                MyValue::Bytes(json.to_string().into_bytes())
            }
            Some(BinlogValue::JsonDiff(_)) => {
                return Err(Error::new(
                    ErrorKind::Conversion,
                    format!(
                        "column {name}: partial JSON updates are not supported (set binlog_row_value_options='')"
                    ),
                ));
            }
        };
        let value = match (kind, value) {
            (_, MyValue::NULL) => MyValue::NULL,
            // ENUM: 1-based member index; SET: a member bitmask.
            (ColumnKind::Text, MyValue::Int(index)) if !meta.members.is_empty() && !meta.is_set => {
                let text = usize::try_from(index - 1)
                    .ok()
                    .and_then(|i| meta.members.get(i))
                    .cloned()
                    .unwrap_or_default();
                MyValue::Bytes(text.into_bytes())
            }
            (ColumnKind::Text, MyValue::Bytes(mask)) if meta.is_set => {
                let bits = mask
                    .iter()
                    .rev()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                let chosen: Vec<&str> = meta
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, m)| m.as_str())
                    .collect();
                MyValue::Bytes(chosen.join(",").into_bytes())
            }
            (ColumnKind::Bytes, MyValue::Bytes(mut bytes)) => {
                if let Some(len) = meta.binary_len
                    && bytes.len() < len
                {
                    bytes.resize(len, 0);
                }
                MyValue::Bytes(bytes)
            }
            (ColumnKind::Int, MyValue::Int(v)) if meta.signed_mediumint && v >= 1 << 23 => {
                MyValue::Int(v - (1 << 24))
            }
            // YEAR arrives as text.
            (ColumnKind::Year, MyValue::Bytes(text)) => MyValue::Int(
                std::str::from_utf8(&text)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0),
            ),
            // TIMESTAMP: epoch seconds (with a fraction) rather than a date-time.
            (ColumnKind::Timestamp, MyValue::Bytes(text)) => {
                let micros = epoch_micros(&text).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Conversion,
                        format!("column {name}: unreadable TIMESTAMP in the binlog"),
                    )
                })?;
                if micros == 0 {
                    // MySQL's zero TIMESTAMP.
                    MyValue::Date(0, 0, 0, 0, 0, 0, 0)
                } else {
                    crate::db::time::datetime_from_micros(micros)
                }
            }
            (ColumnKind::Timestamp, MyValue::Int(secs)) => {
                if secs == 0 {
                    MyValue::Date(0, 0, 0, 0, 0, 0, 0)
                } else {
                    crate::db::time::datetime_from_micros(secs * 1_000_000)
                }
            }
            (_, other) => other,
        };
        schema::convert(kind, value, optional, name, zone)
    }
}

/// `1638687468.123456` (seconds since the epoch) in microseconds.
fn epoch_micros(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Right-pad the fraction to microseconds.
    let us = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(6)
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    Some(secs * 1_000_000 + us)
}

/// The members of `enum('a','b')` / `set('x','y')`, unquoted.
pub(super) fn members(column_type: &str) -> Vec<String> {
    let Some(start) = column_type.find('(') else {
        return Vec::new();
    };
    let body = column_type[start + 1..].trim_end_matches(')');
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', false) => quoted = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            ('\'', true) => {
                quoted = false;
                out.push(std::mem::take(&mut current));
            }
            ('\\', true) => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (c, true) => current.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_and_set_members() {
        assert_eq!(members("enum('a','b c','it''s')"), ["a", "b c", "it's"]);
        assert_eq!(members("set('x','y')"), ["x", "y"]);
    }

    #[test]
    fn timestamps_from_epoch_text() {
        assert_eq!(epoch_micros(b"1638687468"), Some(1_638_687_468_000_000));
        assert_eq!(epoch_micros(b"1638687468.123"), Some(1_638_687_468_123_000));
        assert_eq!(
            epoch_micros(b"1638687468.000001"),
            Some(1_638_687_468_000_001)
        );
    }
}
