//! Debezium's schema history: every DDL the connector reads (and, at a snapshot, each captured
//! table's `CREATE TABLE`) with the structure of the tables it changed, in the history topic
//! (`schema.history.internal.kafka.topic`) in Debezium's record format, and as schema-change
//! events on the `<topic.prefix>` topic (`include.schema.changes`).
//!
//! The history is what decodes a row with the columns its table had when the row was written:
//! on start, the records at or before the stored offset give each table's structure at that
//! position (not the table's current one), and a DDL read from the binlog replaces it from then
//! on. A table's structure after a DDL is read from the catalog when the DDL is read (the
//! server has parsed the statement; `ddl.rs` only names the tables it touched).
//!
//! The records are Debezium's (`HistoryRecord`, `JsonTableChangeSerializer`), so a history
//! Debezium wrote is read the same way: a connector moved from Debezium keeps its history.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::binlog::events::{OptionalMetaExtractor, OptionalMetadataField, TableMapEvent};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::envelope::{CatalogColumn, field, source_schema, struct_v1};
use super::gtid::Gtids;
use super::table::Description;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::append::AppendLog;
use crate::model::{Field, Schema, SchemaType, Value};
use crate::source::config::Flavor;

/// MySQL's `binary` character set (what the protocol reports for binary strings).
const BINARY_CHARSET: u16 = 63;
/// Any text character set (`utf8mb4_general_ci`): only "binary or not" matters here.
const TEXT_CHARSET: u16 = 45;

/// One column, as Debezium's `JsonTableChangeSerializer` writes it (field order kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ColumnDef {
    pub(super) name: String,
    pub(super) jdbc_type: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) native_type: Option<i32>,
    /// `INT`, `INT UNSIGNED`, `VARCHAR`, `ENUM`…
    pub(super) type_name: String,
    #[serde(default)]
    pub(super) type_expression: Option<String>,
    #[serde(default)]
    pub(super) charset_name: Option<String>,
    /// Display width, character length, precision or fractional digits, as written in the
    /// column's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) length: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) scale: Option<i32>,
    /// 1-based.
    pub(super) position: i32,
    #[serde(default)]
    pub(super) optional: bool,
    #[serde(default)]
    pub(super) auto_incremented: bool,
    #[serde(default)]
    pub(super) generated: bool,
    #[serde(default)]
    pub(super) comment: Option<String>,
    #[serde(default)]
    pub(super) has_default_value: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) default_value_expression: Option<String>,
    #[serde(default)]
    pub(super) enum_values: Vec<String>,
}

/// A table's structure (`table` of a table change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TableDef {
    #[serde(default)]
    pub(super) default_charset_name: Option<String>,
    #[serde(default)]
    pub(super) primary_key_column_names: Vec<String>,
    pub(super) columns: Vec<ColumnDef>,
    #[serde(default)]
    pub(super) attributes: Vec<Json>,
}

/// One table change of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TableChangeRecord {
    /// `CREATE`, `ALTER` or `DROP`.
    #[serde(rename = "type")]
    pub(super) kind: String,
    /// `"db"."table"`.
    pub(super) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) previous_id: Option<String>,
    /// None for a `DROP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) table: Option<TableDef>,
    /// The table comment: `null` with a table, absent for a `DROP`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) comment: Option<Json>,
}

/// A key that is present (`null` included) reads as `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

/// A history record (`io.debezium.relational.history.HistoryRecord`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryRecord {
    pub(super) source: Json,
    pub(super) position: Json,
    #[serde(default, rename = "ts_ms")]
    pub(super) ts_ms: i64,
    #[serde(default)]
    pub(super) database_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) schema_name: Option<String>,
    #[serde(default)]
    pub(super) ddl: Option<String>,
    #[serde(default)]
    pub(super) table_changes: Vec<TableChangeRecord>,
}

/// Debezium's table id: `"db"."table"`.
pub(super) fn table_id(database: &str, table: &str) -> String {
    format!("\"{database}\".\"{table}\"")
}

/// `"db"."table"` back into its parts.
fn parse_table_id(id: &str) -> Option<(String, String)> {
    let (db, table) = id.split_once("\".\"")?;
    Some((
        db.strip_prefix('"')?.to_string(),
        table.strip_suffix('"')?.to_string(),
    ))
}

/// The tables' structures at a position: what the history says.
#[derive(Debug, Clone, Default)]
pub(super) struct Schemas {
    /// By table, in the connector's database.
    pub(super) tables: HashMap<String, Arc<TableDef>>,
}

impl Schemas {
    pub(super) fn get(&self, table: &str) -> Option<Arc<TableDef>> {
        self.tables.get(table).cloned()
    }

    /// Applies one record's table changes of `database`.
    pub(super) fn apply(&mut self, record: &HistoryRecord, database: &str) {
        for change in &record.table_changes {
            if let Some((db, table)) = change.previous_id.as_deref().and_then(parse_table_id)
                && db == database
            {
                self.tables.remove(&table);
            }
            let Some((db, table)) = parse_table_id(&change.id) else {
                continue;
            };
            if db != database {
                continue;
            }
            match (&change.table, change.kind.as_str()) {
                (_, "DROP") | (None, _) => {
                    self.tables.remove(&table);
                }
                (Some(def), _) => {
                    self.tables.insert(table, Arc::new(def.clone()));
                }
            }
        }
    }

    /// The structures at `offset`: every record of the connector's `partition` at or before
    /// it, in order (a history topic may hold other connectors' records, as Debezium's may).
    pub(super) fn replay(
        records: &[HistoryRecord],
        partition: &Json,
        database: &str,
        offset: &Json,
    ) -> Schemas {
        let mut schemas = Schemas::default();
        for record in records {
            if record.source == *partition && at_or_before(&record.position, offset) {
                schemas.apply(record, database);
            }
        }
        schemas
    }
}

/// Whether a history record's position is at or before `offset` (Debezium's
/// `BinlogHistoryRecordComparator`): by GTID set when both have one (then by `event` and
/// `row` within the same set), else by binlog file number, `pos`, `event` and `row`.
pub(super) fn at_or_before(record: &Json, offset: &Json) -> bool {
    let gtids = |j: &Json| j.get("gtids").and_then(Json::as_str).and_then(Gtids::parse);
    let number = |j: &Json, key: &str| j.get(key).and_then(Json::as_u64).unwrap_or(0);
    let within = |a: &Json, b: &Json| {
        (number(a, "event"), number(a, "row")) <= (number(b, "event"), number(b, "row"))
    };
    if let (Some(r), Some(o)) = (gtids(record), gtids(offset)) {
        return if r == o {
            within(record, offset)
        } else {
            o.contains(&r)
        };
    }
    let file = |j: &Json| {
        j.get("file")
            .and_then(Json::as_str)
            .and_then(|f| f.rsplit('.').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (rf, of) = (file(record), file(offset));
    if rf != of {
        return rf < of;
    }
    let (rp, op) = (number(record, "pos"), number(offset, "pos"));
    if rp != op {
        return rp < op;
    }
    within(record, offset)
}

/// java.sql.Types of a MySQL data type, as Debezium's MySQL DDL parser resolves it.
fn jdbc_type(data_type: &str) -> i32 {
    match data_type {
        "bit" => -7,
        "tinyint" | "smallint" => 5,
        "mediumint" | "int" | "integer" | "year" => 4,
        "bigint" => -5,
        "float" => 6,
        "double" | "real" => 8,
        "decimal" | "numeric" => 3,
        "char" | "enum" | "set" => 1,
        "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => 12,
        "binary" => -2,
        "varbinary" => -3,
        "tinyblob" | "blob" | "mediumblob" | "longblob" => 2004,
        "date" => 91,
        "time" => 92,
        "datetime" => 93,
        "timestamp" => 2014,
        "boolean" | "bool" => 16,
        _ => 1111,
    }
}

/// The numbers in a column type's parentheses: `decimal(10,2)` → (10, 2), `int(11)` → 11.
fn type_numbers(column_type: &str) -> (Option<i32>, Option<i32>) {
    let Some(open) = column_type.find('(') else {
        return (None, None);
    };
    let close = column_type[open..]
        .find(')')
        .map_or(column_type.len(), |c| open + c);
    let inner = &column_type[open + 1..close];
    let mut parts = inner.split(',').map(|p| p.trim().parse::<i32>().ok());
    let length = parts.next().flatten();
    let scale = parts.next().flatten();
    (length, scale)
}

/// Reads a table's structure from the catalog; `None` when the table does not exist.
pub(super) async fn describe(
    conn: &mut Conn,
    database: &str,
    table: &str,
    context: &str,
) -> Result<Option<TableDef>> {
    let db_error = |e| crate::db::mysql_error(e, context);
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = crate::db::describe_columns(
        conn,
        "COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, CHARACTER_SET_NAME, \
         EXTRA, COLUMN_COMMENT, COLUMN_KEY",
        database,
        table,
        context,
    )
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let charset: Option<Option<String>> = conn
        .exec_first(
            "SELECT c.CHARACTER_SET_NAME FROM information_schema.TABLES t \
             LEFT JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY c \
             ON c.COLLATION_NAME = t.TABLE_COLLATION \
             WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?",
            (database, table),
        )
        .await
        .map_err(db_error)?;
    let primary: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' \
             ORDER BY SEQ_IN_INDEX",
            (database, table),
        )
        .await
        .map_err(db_error)?;
    let mut columns = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let (name, data_type, column_type, nullable, default, charset, extra, _comment, key) = row;
        let data_type = data_type.to_ascii_lowercase();
        let column_type = column_type.to_ascii_lowercase();
        let extra = extra.to_ascii_lowercase();
        let unsigned = column_type.contains("unsigned");
        let members = super::table::members(&column_type);
        let (length, scale) = if members.is_empty() {
            type_numbers(&column_type)
        } else {
            (None, None)
        };
        let mut type_name = data_type.to_ascii_uppercase();
        if unsigned {
            type_name.push_str(" UNSIGNED");
        }
        if column_type.contains("zerofill") {
            type_name.push_str(" ZEROFILL");
        }
        let auto_incremented = extra.contains("auto_increment");
        let optional = nullable.eq_ignore_ascii_case("YES");
        // Debezium: a nullable column has a (null) default.
        let default_value_expression = super::table::default_expression(default.as_deref());
        let primary_column = key == "PRI";
        let has_default_value = if primary_column {
            default_value_expression.is_some()
        } else {
            optional || default.is_some()
        };
        let length = match data_type.as_str() {
            "enum" => Some(1),
            "set" => Some(2 * members.len() as i32 - 1),
            _ => length,
        };
        columns.push(ColumnDef {
            jdbc_type: jdbc_type(&data_type),
            native_type: None,
            type_expression: Some(type_name.clone()),
            type_name,
            charset_name: charset,
            length,
            scale,
            position: i as i32 + 1,
            optional,
            auto_incremented,
            // Debezium marks AUTO_INCREMENT and ON UPDATE CURRENT_TIMESTAMP columns generated.
            generated: auto_incremented || extra.contains("on update"),
            comment: None,
            has_default_value,
            default_value_expression,
            enum_values: members.iter().map(|m| quote(m)).collect(),
            name,
        });
    }
    Ok(Some(TableDef {
        default_charset_name: charset.flatten(),
        primary_key_column_names: primary,
        columns,
        attributes: Vec::new(),
    }))
}

impl TableDef {
    /// What the binlog reader needs to decode the table's rows: the result columns a
    /// `SELECT * … LIMIT 0` of a table of this structure gives, and the catalog's facts, so the
    /// schemas are the ones a live description gives.
    pub(super) fn description(&self) -> Result<Description> {
        let mut columns = Vec::with_capacity(self.columns.len());
        let mut catalog = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let type_name = c.type_name.to_ascii_lowercase();
            let unsigned = type_name.contains("unsigned") || type_name.contains("zerofill");
            let (data_type, boolean) = data_type_of(&type_name);
            // BOOL/BOOLEAN is TINYINT(1).
            let length = if boolean { Some(1) } else { c.length };
            let mut flags = ColumnFlags::empty();
            if !c.optional {
                flags |= ColumnFlags::NOT_NULL_FLAG;
            }
            if unsigned {
                flags |= ColumnFlags::UNSIGNED_FLAG;
            }
            let length = length.and_then(|l| u32::try_from(l).ok());
            let scale = c.scale.and_then(|s| u32::try_from(s).ok());
            let binary = matches!(
                data_type.as_str(),
                "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
            );
            let (column_type, column_length, decimals) = match data_type.as_str() {
                "tinyint" | "bool" | "boolean" => (
                    ColumnType::MYSQL_TYPE_TINY,
                    if data_type == "tinyint" {
                        length.unwrap_or(if unsigned { 3 } else { 4 })
                    } else {
                        1
                    },
                    0,
                ),
                "smallint" => (ColumnType::MYSQL_TYPE_SHORT, length.unwrap_or(6), 0),
                "mediumint" => (ColumnType::MYSQL_TYPE_INT24, length.unwrap_or(9), 0),
                "int" | "integer" => (ColumnType::MYSQL_TYPE_LONG, length.unwrap_or(11), 0),
                "bigint" => (ColumnType::MYSQL_TYPE_LONGLONG, length.unwrap_or(20), 0),
                "year" => (ColumnType::MYSQL_TYPE_YEAR, 4, 0),
                "float" => (ColumnType::MYSQL_TYPE_FLOAT, 12, 31),
                "double" | "real" => (ColumnType::MYSQL_TYPE_DOUBLE, 22, 31),
                "decimal" | "numeric" => {
                    let precision = length.unwrap_or(10);
                    let scale = scale.unwrap_or(0);
                    (
                        ColumnType::MYSQL_TYPE_NEWDECIMAL,
                        precision + u32::from(scale > 0) + u32::from(!unsigned),
                        scale as u8,
                    )
                }
                "date" => (ColumnType::MYSQL_TYPE_DATE, 10, 0),
                "time" => (ColumnType::MYSQL_TYPE_TIME, 10, length.unwrap_or(0) as u8),
                "datetime" => (
                    ColumnType::MYSQL_TYPE_DATETIME,
                    19,
                    length.unwrap_or(0) as u8,
                ),
                "timestamp" => (
                    ColumnType::MYSQL_TYPE_TIMESTAMP,
                    19,
                    length.unwrap_or(0) as u8,
                ),
                "bit" => (ColumnType::MYSQL_TYPE_BIT, length.unwrap_or(1), 0),
                "json" => (ColumnType::MYSQL_TYPE_JSON, u32::MAX, 0),
                "char" | "binary" | "enum" | "set" => {
                    (ColumnType::MYSQL_TYPE_STRING, length.unwrap_or(1), 0)
                }
                "varchar" | "varbinary" => {
                    (ColumnType::MYSQL_TYPE_VAR_STRING, length.unwrap_or(0), 0)
                }
                "tinytext" | "tinyblob" | "text" | "blob" | "mediumtext" | "mediumblob"
                | "longtext" | "longblob" => (ColumnType::MYSQL_TYPE_BLOB, length.unwrap_or(0), 0),
                "geometry" | "point" | "linestring" | "polygon" | "multipoint"
                | "multilinestring" | "multipolygon" | "geometrycollection" => {
                    (ColumnType::MYSQL_TYPE_GEOMETRY, u32::MAX, 0)
                }
                other => {
                    return Err(Error::new(
                        ErrorKind::Conversion,
                        format!(
                            "the schema history describes column {} as {other}, which Sluice does not map",
                            c.name
                        ),
                    ));
                }
            };
            if data_type == "enum" {
                flags |= ColumnFlags::ENUM_FLAG;
            }
            if data_type == "set" {
                flags |= ColumnFlags::SET_FLAG;
            }
            let charset = if binary || matches!(data_type.as_str(), "bit" | "geometry") {
                BINARY_CHARSET
            } else {
                TEXT_CHARSET
            };
            columns.push(
                Column::new(column_type)
                    .with_name(c.name.as_bytes())
                    .with_org_name(c.name.as_bytes())
                    .with_flags(flags)
                    .with_column_length(column_length)
                    .with_decimals(decimals)
                    .with_character_set(charset),
            );
            let temporal = matches!(data_type.as_str(), "time" | "datetime" | "timestamp");
            let mut column_type_text = data_type.clone();
            if !c.enum_values.is_empty() {
                let quoted: Vec<String> = c
                    .enum_values
                    .iter()
                    .map(|v| format!("'{}'", unquote(v).replace('\'', "''")))
                    .collect();
                column_type_text.push_str(&format!("({})", quoted.join(",")));
            } else if let Some(length) = length {
                match c.scale {
                    Some(scale) => column_type_text.push_str(&format!("({length},{scale})")),
                    None => column_type_text.push_str(&format!("({length})")),
                }
            }
            if unsigned {
                column_type_text.push_str(" unsigned");
            }
            catalog.push(CatalogColumn {
                data_type: data_type.clone(),
                column_type: column_type_text,
                octets: (data_type == "binary").then(|| u64::from(length.unwrap_or(1))),
                primary: self
                    .primary_key_column_names
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&c.name)),
                fsp: if temporal { length } else { None },
                precision: match data_type.as_str() {
                    "decimal" | "numeric" => Some(length.unwrap_or(10)),
                    "bit" => Some(length.unwrap_or(1)),
                    _ => None,
                },
                scale: match data_type.as_str() {
                    "decimal" | "numeric" => Some(scale.unwrap_or(0)),
                    _ => None,
                },
                default: c.default_value_expression.clone(),
            });
        }
        Ok(Description { columns, catalog })
    }
}

/// The catalog's `DATA_TYPE` of a history's `typeName`, as Debezium's parser writes the type's
/// keywords (`INT UNSIGNED`, `INTEGER`, `DOUBLE PRECISION`, `NATIONAL VARCHAR`, `BOOLEAN`…),
/// and whether it is a BOOL/BOOLEAN (a TINYINT(1)).
fn data_type_of(type_name: &str) -> (String, bool) {
    // The type is the first keyword (after NATIONAL); UNSIGNED, PRECISION, BINARY… modify it.
    let mut words = type_name.split_whitespace();
    let mut first = words.next().unwrap_or_default();
    if first == "national" {
        first = words.next().unwrap_or_default();
    }
    let data_type = match first {
        "bool" | "boolean" => return ("tinyint".into(), true),
        "integer" | "int4" => "int",
        "int1" => "tinyint",
        "int2" => "smallint",
        "int3" | "middleint" => "mediumint",
        "int8" => "bigint",
        "dec" | "fixed" | "numeric" => "decimal",
        "real" | "float8" => "double",
        "float4" => "float",
        "character" | "nchar" => {
            if type_name.contains("varying") {
                "varchar"
            } else {
                "char"
            }
        }
        "nvarchar" | "varcharacter" => "varchar",
        "serial" => "bigint",
        other => other,
    };
    (data_type.to_string(), false)
}

/// An ENUM/SET member as a history holds it: Debezium's parser keeps the quotes (`'a'`).
fn unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => value.to_string(),
    }
}

impl HistoryRecord {
    /// A record of `ddl`, read at `position`, with the structures of the tables it changed.
    pub(super) fn new(
        prefix: &str,
        position: Json,
        database: &str,
        ddl: &str,
        changes: Vec<TableChangeRecord>,
    ) -> HistoryRecord {
        HistoryRecord {
            source: json!({"server": prefix}),
            position,
            ts_ms: super::envelope::now_ns() / 1_000_000,
            database_name: Some(database.to_string()),
            schema_name: None,
            ddl: Some(ddl.to_string()),
            table_changes: changes,
        }
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a history record serializes")
    }

    /// A record read back (Debezium's or Sluice's).
    pub(super) fn parse(bytes: &[u8]) -> Result<HistoryRecord> {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::with_source(
                ErrorKind::Conversion,
                "unreadable record in the schema history topic",
                e,
            )
        })
    }
}

/// The structure a table map shows, when its column names differ from `def`'s (the structure
/// recorded at the last DDL read, which the catalog gave when the DDL was read: a later DDL of
/// the same table, not read yet, is already in it). A column the table map names keeps `def`'s
/// description; one `def` lacks is described from the table map's type, metadata and
/// signedness. `None` when the names agree, or the binlog does not name its columns.
pub(super) fn reconcile(def: &TableDef, tme: &TableMapEvent<'_>) -> Result<Option<TableDef>> {
    let bad = |e: std::io::Error| {
        Error::with_source(ErrorKind::Conversion, "unreadable table map metadata", e)
    };
    let count = tme.columns_count() as usize;
    let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta()).map_err(bad)?;
    let names: Vec<std::string::String> = extractor
        .iter_column_name()
        .map(|n| n.map(|n| n.name().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(bad)?;
    let same = names.len() == def.columns.len()
        && names
            .iter()
            .zip(&def.columns)
            .all(|(n, c)| n.eq_ignore_ascii_case(&c.name));
    if names.len() != count || same {
        return Ok(None);
    }
    let mut enums: Vec<Vec<std::string::String>> = Vec::new();
    let mut sets: Vec<Vec<std::string::String>> = Vec::new();
    for field in tme.iter_optional_meta() {
        match field.map_err(bad)? {
            // One field for all ENUM columns (and one for all SET columns), in order.
            OptionalMetadataField::EnumStrValue(all) => {
                for column in all.iter_values() {
                    let column = column.map_err(bad)?;
                    enums.push(column.values().iter().map(|v| quote(&v.value())).collect());
                }
            }
            OptionalMetadataField::SetStrValue(all) => {
                for column in all.iter_values() {
                    let column = column.map_err(bad)?;
                    sets.push(column.values().iter().map(|v| quote(&v.value())).collect());
                }
            }
            _ => {}
        }
    }
    let (mut enums, mut sets) = (enums.into_iter(), sets.into_iter());
    let mut signedness = extractor.iter_signedness();
    let mut charsets = extractor.iter_charset();
    let primary: Vec<usize> = extractor
        .iter_primary_key()
        .filter_map(|i| i.ok().map(|i| i as usize))
        .collect();
    let nulls = tme.null_bitmask();
    let mut columns = Vec::with_capacity(count);
    for (i, name) in names.iter().enumerate() {
        let ty = tme.get_column_type(i).ok().flatten().ok_or_else(|| {
            Error::new(
                ErrorKind::Conversion,
                format!("column {name} of {} has an unknown type", tme.table_name()),
            )
        })?;
        let meta = tme.get_column_metadata(i).unwrap_or(&[]);
        let unsigned = ty.is_numeric_type() && signedness.next().unwrap_or(false);
        let charset = if ty.is_character_type() {
            charsets.next().and_then(|c| c.ok())
        } else {
            None
        };
        let optional = nulls.get(i).is_some_and(|b| *b);
        let mut column = match def
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
        {
            Some(known) => known.clone(),
            None => {
                let enum_values = match ty {
                    ColumnType::MYSQL_TYPE_ENUM => enums.next().unwrap_or_default(),
                    ColumnType::MYSQL_TYPE_SET => sets.next().unwrap_or_default(),
                    _ => Vec::new(),
                };
                table_map_column(name, ty, meta, unsigned, charset, enum_values)
            }
        };
        if column.enum_values.is_empty() {
            // Keep the ENUM/SET member lists in step with the table map's.
            match ty {
                ColumnType::MYSQL_TYPE_ENUM => {
                    enums.next();
                }
                ColumnType::MYSQL_TYPE_SET => {
                    sets.next();
                }
                _ => {}
            }
        }
        column.position = i as i32 + 1;
        column.optional = optional;
        columns.push(column);
    }
    let primary_key_column_names = if primary.is_empty() {
        def.primary_key_column_names
            .iter()
            .filter(|k| names.iter().any(|n| n.eq_ignore_ascii_case(k)))
            .cloned()
            .collect()
    } else {
        primary
            .iter()
            .filter_map(|&i| names.get(i).cloned())
            .collect()
    };
    Ok(Some(TableDef {
        default_charset_name: def.default_charset_name.clone(),
        primary_key_column_names,
        columns,
        attributes: Vec::new(),
    }))
}

/// An ENUM/SET member as Debezium's history holds it: quoted.
fn quote(member: &str) -> std::string::String {
    format!("'{}'", member.replace('\'', "''"))
}

/// A column described from its table-map type and metadata alone.
fn table_map_column(
    name: &str,
    ty: ColumnType,
    meta: &[u8],
    unsigned: bool,
    charset: Option<u16>,
    enum_values: Vec<std::string::String>,
) -> ColumnDef {
    use ColumnType::*;
    let binary = charset == Some(BINARY_CHARSET);
    let byte = |i: usize| meta.get(i).copied().map(i32::from);
    let (type_name, length, scale): (&str, Option<i32>, Option<i32>) = match ty {
        MYSQL_TYPE_TINY => ("TINYINT", None, None),
        MYSQL_TYPE_SHORT => ("SMALLINT", None, None),
        MYSQL_TYPE_INT24 => ("MEDIUMINT", None, None),
        MYSQL_TYPE_LONG => ("INT", None, None),
        MYSQL_TYPE_LONGLONG => ("BIGINT", None, None),
        MYSQL_TYPE_FLOAT => ("FLOAT", None, None),
        MYSQL_TYPE_DOUBLE => ("DOUBLE", None, None),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => ("DECIMAL", byte(0), byte(1)),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => ("DATE", None, None),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => ("TIME", byte(0).filter(|f| *f > 0), None),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => {
            ("DATETIME", byte(0).filter(|f| *f > 0), None)
        }
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => {
            ("TIMESTAMP", byte(0).filter(|f| *f > 0), None)
        }
        MYSQL_TYPE_YEAR => ("YEAR", None, None),
        MYSQL_TYPE_BIT => (
            "BIT",
            Some(byte(1).unwrap_or(0) * 8 + byte(0).unwrap_or(0)),
            None,
        ),
        MYSQL_TYPE_ENUM => ("ENUM", Some(1), None),
        MYSQL_TYPE_SET => ("SET", Some(2 * enum_values.len() as i32 - 1), None),
        MYSQL_TYPE_STRING => {
            // Metadata: the real type (with the length's high bits) and the length in bytes.
            let high = byte(0).unwrap_or(0);
            let len = (((high & 0x30) ^ 0x30) << 4) | byte(1).unwrap_or(0);
            (if binary { "BINARY" } else { "CHAR" }, Some(len), None)
        }
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => (
            if binary { "VARBINARY" } else { "VARCHAR" },
            Some(byte(0).unwrap_or(0) | (byte(1).unwrap_or(0) << 8)),
            None,
        ),
        MYSQL_TYPE_JSON => ("JSON", None, None),
        MYSQL_TYPE_GEOMETRY => ("GEOMETRY", None, None),
        // BLOB/TEXT: the metadata is the length's size in bytes.
        _ => (
            match (byte(0).unwrap_or(2), binary) {
                (1, true) => "TINYBLOB",
                (1, false) => "TINYTEXT",
                (3, true) => "MEDIUMBLOB",
                (3, false) => "MEDIUMTEXT",
                (4, true) => "LONGBLOB",
                (4, false) => "LONGTEXT",
                (_, true) => "BLOB",
                (_, false) => "TEXT",
            },
            None,
            None,
        ),
    };
    let mut type_name = type_name.to_string();
    if unsigned {
        type_name.push_str(" UNSIGNED");
    }
    let data_type = type_name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ColumnDef {
        name: name.to_string(),
        jdbc_type: jdbc_type(&data_type),
        native_type: None,
        type_expression: Some(type_name.clone()),
        type_name,
        charset_name: None,
        length,
        scale,
        position: 0,
        optional: true,
        auto_incremented: false,
        generated: false,
        comment: None,
        has_default_value: false,
        default_value_expression: None,
        enum_values,
    }
}

/// The schema history of a running task.
pub(super) struct History {
    pub(super) log: Option<AppendLog>,
    pub(super) schemas: Schemas,
}

/// `io.debezium.connector.<c>.SchemaChangeKey` and `…SchemaChangeValue` (version 1), with
/// the nested `io.debezium.connector.schema.Change`, `Table` and `Column` structs.
pub(super) fn schema_change_schemas(flavor: Flavor) -> (Arc<Schema>, Arc<Schema>) {
    use SchemaType::*;
    let c = flavor.connector();
    let column = struct_v1(
        "io.debezium.connector.schema.Column",
        vec![
            field("name", String, false),
            field("jdbcType", Int32, false),
            field("nativeType", Int32, true),
            field("typeName", String, false),
            field("typeExpression", String, true),
            field("charsetName", String, true),
            field("length", Int32, true),
            field("scale", Int32, true),
            field("position", Int32, false),
            field("optional", Boolean, true),
            field("autoIncremented", Boolean, true),
            field("generated", Boolean, true),
            field("comment", String, true),
            field("defaultValueExpression", String, true),
            Field {
                name: "enumValues".into(),
                schema: Schema::array(Schema::primitive(String, false), true),
            },
        ],
        false,
    );
    let table = struct_v1(
        "io.debezium.connector.schema.Table",
        vec![
            field("defaultCharsetName", String, true),
            Field {
                name: "primaryKeyColumnNames".into(),
                schema: Schema::array(Schema::primitive(String, false), true),
            },
            Field {
                name: "columns".into(),
                schema: Schema::array(column, false),
            },
            field("comment", String, true),
        ],
        true,
    );
    let change = struct_v1(
        "io.debezium.connector.schema.Change",
        vec![
            field("type", String, false),
            field("id", String, false),
            Field {
                name: "table".into(),
                schema: table,
            },
        ],
        false,
    );
    let key = struct_v1(
        &format!("io.debezium.connector.{c}.SchemaChangeKey"),
        vec![field("databaseName", String, false)],
        false,
    );
    let value = struct_v1(
        &format!("io.debezium.connector.{c}.SchemaChangeValue"),
        vec![
            Field {
                name: "source".into(),
                schema: source_schema(flavor),
            },
            field("ts_ms", Int64, false),
            field("databaseName", String, true),
            field("schemaName", String, true),
            field("ddl", String, true),
            Field {
                name: "tableChanges".into(),
                schema: Schema::array(change, false),
            },
        ],
        false,
    );
    (Arc::new(key), Arc::new(value))
}

/// A record's table changes as the schema-change value's `tableChanges` array.
pub(super) fn table_changes_value(record: &HistoryRecord) -> Value {
    let text = |s: &str| Value::text(s);
    let opt_text = |s: Option<&str>| s.map_or(Value::Null, Value::text);
    let opt_int = |n: Option<i32>| n.map_or(Value::Null, |n| Value::Int(i64::from(n)));
    let strings = |items: &[std::string::String]| {
        if items.is_empty() {
            Value::Null
        } else {
            Value::Array(items.iter().map(|i| text(i)).collect())
        }
    };
    Value::Array(
        record
            .table_changes
            .iter()
            .map(|change| {
                let table = change.table.as_ref().map_or(Value::Null, |def| {
                    let columns = def
                        .columns
                        .iter()
                        .map(|c| {
                            Value::Struct(vec![
                                text(&c.name),
                                Value::Int(i64::from(c.jdbc_type)),
                                opt_int(c.native_type),
                                text(&c.type_name),
                                opt_text(c.type_expression.as_deref()),
                                opt_text(c.charset_name.as_deref()),
                                opt_int(c.length),
                                opt_int(c.scale),
                                Value::Int(i64::from(c.position)),
                                Value::Boolean(c.optional),
                                Value::Boolean(c.auto_incremented),
                                Value::Boolean(c.generated),
                                opt_text(c.comment.as_deref()),
                                opt_text(c.default_value_expression.as_deref()),
                                strings(&c.enum_values),
                            ])
                        })
                        .collect();
                    Value::Struct(vec![
                        opt_text(def.default_charset_name.as_deref()),
                        Value::Array(
                            def.primary_key_column_names
                                .iter()
                                .map(|k| text(k))
                                .collect(),
                        ),
                        Value::Array(columns),
                        opt_text(change.comment.as_ref().and_then(Json::as_str)),
                    ])
                });
                Value::Struct(vec![text(&change.kind), text(&change.id), table])
            })
            .collect(),
    )
}

/// The DDL text as Debezium records it: without surrounding whitespace, leading comments or a
/// final `;`.
pub(super) fn ddl_text(sql: &str) -> &str {
    let mut text = sql.trim();
    loop {
        if let Some(rest) = text.strip_prefix("/*")
            && !rest.starts_with('!')
            && !rest.starts_with("M!")
            && let Some(end) = rest.find("*/")
        {
            text = rest[end + 2..].trim_start();
            continue;
        }
        break;
    }
    text.trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// `RENAME TABLE …` (Debezium sets `previousId` for it, not for `ALTER TABLE … RENAME`).
pub(super) fn sql_is_rename(sql: &str) -> bool {
    ddl_text(sql)
        .get(..6)
        .is_some_and(|head| head.eq_ignore_ascii_case("RENAME"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record Debezium's snapshot wrote (REFERENCE-DEBEZIUM §5.2, from public notes).
    const DEBEZIUM_RECORD: &str = r#"{"source":{"server":"demo-debezium"},"position":{"ts_sec":1754040494,"file":"my-binlog.000002","pos":342,"snapshot":true},"ts_ms":1754040494395,"databaseName":"demo","ddl":"CREATE TABLE `t_user` (\n  `id` bigint(20) NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)\n) ENGINE=InnoDB","tableChanges":[{"type":"CREATE","id":"\"demo\".\"t_user\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{"name":"id","jdbcType":-5,"typeName":"BIGINT","typeExpression":"BIGINT","charsetName":null,"length":20,"position":1,"optional":false,"autoIncremented":true,"generated":true,"comment":null,"hasDefaultValue":false,"enumValues":[]}],"attributes":[]},"comment":null}]}"#;

    #[test]
    fn debeziums_records_read_and_write_back_unchanged() {
        let record = HistoryRecord::parse(DEBEZIUM_RECORD.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(record.to_bytes()).unwrap(),
            DEBEZIUM_RECORD
        );
        let partition = json!({"server": "demo-debezium"});
        let schemas = Schemas::replay(
            std::slice::from_ref(&record),
            &partition,
            "demo",
            &json!({"file": "my-binlog.000002", "pos": 342}),
        );
        let def = schemas.get("t_user").unwrap();
        assert_eq!(def.primary_key_column_names, ["id"]);
        let description = def.description().unwrap();
        assert_eq!(
            description.columns[0].column_type(),
            ColumnType::MYSQL_TYPE_LONGLONG
        );
        assert!(description.catalog[0].primary);
        // Not yet at the record's position: nothing known.
        let before = Schemas::replay(
            std::slice::from_ref(&record),
            &partition,
            "demo",
            &json!({"file": "my-binlog.000002", "pos": 100}),
        );
        assert!(before.get("t_user").is_none());
        // Another connector's records (another `topic.prefix`) are not this one's.
        let other = Schemas::replay(
            &[record],
            &json!({"server": "other"}),
            "demo",
            &json!({"file": "my-binlog.000002", "pos": 342}),
        );
        assert!(other.get("t_user").is_none());
    }

    /// Type names as Debezium's DDL parser writes them map to the column types the server
    /// reports for such columns.
    #[test]
    fn debezium_type_names_describe_their_columns() {
        let column = |name: &str, type_name: &str, length: Option<i32>, scale: Option<i32>| {
            let mut c: ColumnDef = serde_json::from_value(json!({
                "name": name, "jdbcType": 4, "typeName": type_name, "position": 1,
                "optional": true}))
            .unwrap();
            c.length = length;
            c.scale = scale;
            c
        };
        let mut e = column("e", "ENUM", Some(1), None);
        e.enum_values = vec!["'a'".into(), "'it''s'".into()];
        let def = TableDef {
            default_charset_name: None,
            primary_key_column_names: vec!["i".into()],
            columns: vec![
                column("i", "INTEGER UNSIGNED", Some(10), None),
                column("b", "BOOLEAN", None, None),
                column("d", "DOUBLE PRECISION", None, None),
                column("n", "NATIONAL VARCHAR", Some(10), None),
                column("x", "BINARY", Some(4), None),
                column("m", "DECIMAL", Some(10), Some(2)),
                e,
                column("t", "DATETIME", Some(6), None),
            ],
            attributes: Vec::new(),
        };
        let d = def.description().unwrap();
        let types: Vec<ColumnType> = d.columns.iter().map(|c| c.column_type()).collect();
        use ColumnType::*;
        assert_eq!(
            types,
            [
                MYSQL_TYPE_LONG,
                MYSQL_TYPE_TINY,
                MYSQL_TYPE_DOUBLE,
                MYSQL_TYPE_VAR_STRING,
                MYSQL_TYPE_STRING,
                MYSQL_TYPE_NEWDECIMAL,
                MYSQL_TYPE_STRING,
                MYSQL_TYPE_DATETIME
            ]
        );
        assert!(d.columns[0].flags().contains(ColumnFlags::UNSIGNED_FLAG));
        assert_eq!(d.columns[1].column_length(), 1, "BOOLEAN is TINYINT(1)");
        assert!(d.columns[6].flags().contains(ColumnFlags::ENUM_FLAG));
        assert_eq!(d.columns[4].character_set(), BINARY_CHARSET);
        assert_eq!(d.catalog[4].octets, Some(4));
        let data_types: Vec<&str> = d.catalog.iter().map(|c| c.data_type.as_str()).collect();
        assert_eq!(
            data_types,
            [
                "int", "tinyint", "double", "varchar", "binary", "decimal", "enum", "datetime"
            ]
        );
        assert!(d.catalog[0].primary);
        assert_eq!(
            (d.catalog[5].precision, d.catalog[5].scale),
            (Some(10), Some(2))
        );
        assert_eq!(d.catalog[6].column_type, "enum('a','it''s')");
        assert_eq!(
            super::super::table::members(&d.catalog[6].column_type),
            ["a", "it's"]
        );
        assert_eq!(d.catalog[7].fsp, Some(6));
    }

    #[test]
    fn ddl_is_recorded_without_leading_comments_or_its_semicolon() {
        assert_eq!(
            ddl_text("  /* ApplicationName=DBeaver */ ALTER TABLE t ADD c INT ;\n"),
            "ALTER TABLE t ADD c INT"
        );
        assert_eq!(
            ddl_text("/*!40000 ALTER TABLE t DISABLE KEYS */"),
            "/*!40000 ALTER TABLE t DISABLE KEYS */"
        );
        assert!(sql_is_rename("RENAME TABLE a TO b"));
        assert!(!sql_is_rename("ALTER TABLE a RENAME TO b"));
    }

    #[test]
    fn positions_compare_as_debeziums_comparator_does() {
        let at = |r: Json, o: Json| at_or_before(&r, &o);
        assert!(at(
            json!({"file": "b.000001", "pos": 900}),
            json!({"file": "b.000002", "pos": 4})
        ));
        assert!(!at(
            json!({"file": "b.000003", "pos": 4}),
            json!({"file": "b.000002", "pos": 900})
        ));
        assert!(at(
            json!({"file": "b.000002", "pos": 500, "event": 1}),
            json!({"file": "b.000002", "pos": 500, "event": 2})
        ));
        assert!(!at(
            json!({"file": "b.000002", "pos": 500, "event": 3}),
            json!({"file": "b.000002", "pos": 500, "event": 2})
        ));
        // GTIDs win over files (another server's binlog names).
        assert!(at(
            json!({"file": "x.000009", "pos": 4, "gtids": "0-1-5"}),
            json!({"file": "b.000001", "pos": 4, "gtids": "0-1-7"})
        ));
        assert!(!at(
            json!({"file": "b.000001", "pos": 4, "gtids": "0-1-8"}),
            json!({"file": "x.000009", "pos": 4, "gtids": "0-1-7"})
        ));
    }

    #[test]
    fn renames_and_drops_move_structures() {
        let def = HistoryRecord::parse(DEBEZIUM_RECORD.as_bytes())
            .unwrap()
            .table_changes[0]
            .table
            .clone();
        let change = |kind: &str, id: &str, previous: Option<&str>, table: Option<TableDef>| {
            TableChangeRecord {
                kind: kind.into(),
                id: id.into(),
                previous_id: previous.map(Into::into),
                table,
                comment: None,
            }
        };
        let mut schemas = Schemas::default();
        let record = |changes| HistoryRecord::new("p", json!({}), "demo", "x", changes);
        schemas.apply(
            &record(vec![change(
                "CREATE",
                &table_id("demo", "a"),
                None,
                def.clone(),
            )]),
            "demo",
        );
        schemas.apply(
            &record(vec![change(
                "ALTER",
                &table_id("demo", "b"),
                Some(&table_id("demo", "a")),
                def,
            )]),
            "demo",
        );
        assert!(schemas.get("a").is_none() && schemas.get("b").is_some());
        schemas.apply(
            &record(vec![change("DROP", &table_id("demo", "b"), None, None)]),
            "demo",
        );
        assert!(schemas.get("b").is_none());
    }
}
