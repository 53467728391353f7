//! Debezium's change events (`io.debezium.connector.mysql.MySqlConnector`,
//! `…mariadb.MariaDbConnector`), built from the rows the reader decodes: the same topics, key
//! and envelope schemas and values as Debezium 3.1 under JsonConverter.
//!
//! A change event is one row of a batch whose schema is the table's envelope
//! (`<prefix>.<db>.<table>.Envelope`, version 2): `before`, `after` (the table's `…Value`
//! struct, each column mapped as Debezium maps it in the configured handling modes), `source`
//! (`io.debezium.connector.mysql.Source`: where in the binlog the row was read), `transaction`
//! (always null), `op` and the wall-clock `ts_ms`/`ts_us`/`ts_ns`. The key is the primary key
//! as `<topic>.Key`, or null for a table without one.

use std::sync::Arc;

use bytes::Bytes;

use crate::db::time::iso_datetime;
use crate::error::{Error, ErrorKind, Result};
use crate::model::calendar::civil_from_days;
use crate::model::{Field, Schema, SchemaType, Value, logical};
use crate::source::config::{BinaryMode, DebeziumSettings, DecimalMode, Flavor, TimeMode};

/// The Debezium release whose event format this reproduces (`source.version`).
pub(crate) const DEBEZIUM_VERSION: &str = "3.1.3.Final";

/// A column as Debezium's type mapping sees it: its name and nullability in the table's schema,
/// what the catalog says of it, and the type details read out of `COLUMN_TYPE`.
#[derive(Debug, Clone, Default)]
pub(super) struct ColumnFacts {
    /// The column name.
    pub(super) name: String,
    /// `IS_NULLABLE = YES`.
    pub(super) optional: bool,
    /// The catalog's facts.
    pub(super) catalog: CatalogColumn,
    /// ENUM/SET members.
    pub(super) members: Vec<String>,
    /// BIT(n) width.
    pub(super) bits: Option<u32>,
}

impl ColumnFacts {
    /// DATETIME/TIMESTAMP/TIME fractional digits.
    fn fsp(&self) -> u32 {
        self.catalog.fsp.unwrap_or(0)
    }
}

/// A column's facts from the catalog (`information_schema.COLUMNS`).
#[derive(Debug, Clone, Default)]
pub(super) struct CatalogColumn {
    /// `DATA_TYPE`, lower case (`int`, `datetime`, `enum`…).
    pub(super) data_type: String,
    /// `COLUMN_TYPE`, lower case (`int(10) unsigned`, `enum('a','b')`…).
    pub(super) column_type: String,
    /// `CHARACTER_OCTET_LENGTH`.
    pub(super) octets: Option<u64>,
    /// Part of the primary key.
    pub(super) primary: bool,
    /// `DATETIME_PRECISION`, `NUMERIC_PRECISION`, `NUMERIC_SCALE`.
    pub(super) fsp: Option<u32>,
    pub(super) precision: Option<u32>,
    pub(super) scale: Option<u32>,
    /// The default, as `table::default_expression` gives it.
    pub(super) default: Option<String>,
}

/// How a decoded value becomes Debezium's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conv {
    /// Already Debezium's (integers, floats, strings, bytes, precise decimals, Connect
    /// logical times).
    Same,
    /// BIT(1): boolean.
    Boolean,
    /// BIT(n): the big-endian bytes reversed (Debezium writes them little-endian).
    BitsLittleEndian,
    /// Days since the epoch as int32 (`io.debezium.time.Date`).
    Days,
    /// YEAR: the year number.
    Year,
    /// TIME as int64 microseconds.
    Micros,
    /// DATETIME(0–3): int64 milliseconds.
    Millis,
    /// TIMESTAMP: ISO-8601 UTC text with `fsp` fractional digits.
    Zoned {
        fsp: u32,
    },
    DecimalDouble,
    DecimalString,
    /// BIGINT UNSIGNED in `precise` mode: the unsigned value as a decimal.
    UnsignedDecimal,
    Binary(BinaryMode),
    /// TIME under `time.precision.mode=connect`: Connect's Time holds a time of day only
    /// (0 to 24 h, as its `Time.fromLogical` checks); a value outside fails.
    TimeOfDay,
}

/// A text edit of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Edit {
    None,
    Mask(usize),
    Truncate(usize),
    /// The digest's hex, cut to the column's length (when it has one).
    Hash(crate::source::config::ColumnHash, Option<usize>),
}

/// A captured table's event shapes.
#[derive(Debug)]
pub(super) struct EventShape {
    pub(super) envelope: Arc<Schema>,
    /// `None`: the table has no primary key, and its events a null key.
    pub(super) key: Option<Arc<Schema>>,
    pub(super) key_columns: Vec<usize>,
    convs: Vec<Conv>,
    /// Masks and truncations (`column.mask.with.<n>.chars`, `column.truncate.to.<n>.chars`).
    edits: Vec<Edit>,
    /// The columns written, when `column.include.list`/`column.exclude.list` leave some out.
    kept: Option<Vec<usize>>,
    /// `source.db` and `source.table`.
    pub(super) db: Bytes,
    pub(super) table: Bytes,
}

/// Envelope fields, in Debezium's order.
pub(super) const ENVELOPE_WIDTH: usize = 8;
/// `source` fields.
const SOURCE_WIDTH: usize = 17;
/// The index of `source.snapshot`, set on a buffered record when the snapshot learns more.
const SOURCE_SNAPSHOT: usize = 4;

/// Characters outside `[A-Za-z0-9._-]` become `_` (Debezium's topic name sanitizing).
pub(super) fn sanitize_topic(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(249)
        .collect()
}

impl EventShape {
    /// The shapes of `db.table` with these columns; `key_columns` are the primary key's.
    pub(super) fn new(
        settings: &DebeziumSettings,
        db: &str,
        table: &str,
        columns: &[ColumnFacts],
        key_columns: Vec<usize>,
    ) -> Result<EventShape> {
        let topic = sanitize_topic(&format!("{}.{db}.{table}", settings.prefix));
        let mut fields = Vec::with_capacity(columns.len());
        let mut convs = Vec::with_capacity(columns.len());
        let mut edits = Vec::with_capacity(columns.len());
        let mut kept = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let name = format!("{db}.{table}.{}", column.name);
            let included = (settings.column_include.is_empty()
                || settings
                    .column_include
                    .iter()
                    .any(|p| p.matches_whole(&name)))
                && !settings
                    .column_exclude
                    .iter()
                    .any(|p| p.matches_whole(&name));
            if included {
                kept.push(i);
            } else if key_columns.contains(&i) {
                return Err(Error::config(format!(
                    "column.include.list/column.exclude.list leave out {name}, a primary-key \
                     column: Sluice's Debezium connector keeps primary-key columns"
                )));
            }
            let mask = settings
                .column_masks
                .iter()
                .find(|(p, _)| p.matches_whole(&name));
            let cut = settings
                .column_truncates
                .iter()
                .find(|(p, _)| p.matches_whole(&name));
            let hash = settings
                .column_hashes
                .iter()
                .find(|(p, _)| p.matches_whole(&name));
            // The column's declared character length (CHAR/VARCHAR), as Debezium's
            // `Column.length()`; TEXT has none.
            let length = matches!(column.catalog.data_type.as_str(), "char" | "varchar")
                .then(|| {
                    let open = column.catalog.column_type.find('(')?;
                    let close = column.catalog.column_type[open..].find(')')? + open;
                    column.catalog.column_type[open + 1..close]
                        .parse::<usize>()
                        .ok()
                })
                .flatten();
            let edit = match (mask, hash, cut) {
                (Some((_, n)), _, _) => Edit::Mask(*n),
                (None, Some((_, hash)), _) => Edit::Hash(hash.clone(), length),
                (None, None, Some((_, n))) => Edit::Truncate(*n),
                (None, None, None) => Edit::None,
            };
            let (mut schema, conv) = column_schema(settings, column).ok_or_else(|| {
                Error::new(
                    ErrorKind::Conversion,
                    format!(
                        "column {db}.{table}.{} has type {}, which Sluice's Debezium connector \
                         does not map yet",
                        column.name, column.catalog.column_type
                    ),
                )
            })?;
            // The column's default, as Debezium's `MySqlDefaultValueConverter` gives it (for the
            // types whose default it converts unambiguously), in the field's representation.
            if let Some(default) = column
                .catalog
                .default
                .as_deref()
                .and_then(|d| default_value(column, d))
                .and_then(|v| convert(conv, v))
            {
                schema.default = Some(Box::new(default));
            }
            // Debezium's column mappers mark the field: `masked` for masks and hashes,
            // `truncateLength` where a truncation can cut (no length, or a longer one).
            match &edit {
                Edit::Mask(_) | Edit::Hash(..) => {
                    schema.parameters.push(("masked".into(), "true".into()));
                }
                Edit::Truncate(n) if length.is_none_or(|l| l > *n) => {
                    schema
                        .parameters
                        .push(("truncateLength".into(), n.to_string()));
                }
                _ => {}
            }
            edits.push(edit);
            fields.push(Field {
                name: column.name.clone(),
                schema,
            });
            convs.push(conv);
        }
        let key = (!key_columns.is_empty()).then(|| {
            Arc::new(Schema::structure(
                Some(format!("{topic}.Key")),
                key_columns
                    .iter()
                    .map(|&i| {
                        let mut field = fields[i].clone();
                        field.schema.optional = false;
                        field
                    })
                    .collect(),
                false,
            ))
        });
        let kept = (kept.len() < columns.len()).then_some(kept);
        let value_fields = match &kept {
            Some(kept) => kept.iter().map(|&i| fields[i].clone()).collect(),
            None => fields,
        };
        let value = Schema::structure(Some(format!("{topic}.Value")), value_fields, true);
        // Key positions in the written row.
        let key_columns = match &kept {
            Some(kept) => key_columns
                .iter()
                .filter_map(|k| kept.iter().position(|i| i == k))
                .collect(),
            None => key_columns,
        };
        let mut envelope = Schema::structure(
            Some(format!("{topic}.Envelope")),
            vec![
                Field {
                    name: "before".into(),
                    schema: value.clone(),
                },
                Field {
                    name: "after".into(),
                    schema: value,
                },
                Field {
                    name: "source".into(),
                    schema: source_schema(settings.flavor),
                },
                Field {
                    name: "transaction".into(),
                    schema: transaction_schema(),
                },
                Field {
                    name: "op".into(),
                    schema: Schema::primitive(SchemaType::String, false),
                },
                int64_field("ts_ms", true),
                int64_field("ts_us", true),
                int64_field("ts_ns", true),
            ],
            false,
        );
        envelope.version = Some(2);
        Ok(EventShape {
            envelope: Arc::new(envelope),
            key,
            key_columns,
            convs,
            edits,
            kept,
            db: Bytes::from(db.to_string()),
            table: Bytes::from(table.to_string()),
        })
    }

    /// Converts a decoded row into Debezium's values, in place: the column filters leave
    /// columns out, masks and truncations edit text.
    pub(super) fn convert(&self, row: &mut Vec<Value>) -> Result<()> {
        self.convert_values(row)?;
        for (value, edit) in row.iter_mut().zip(&self.edits) {
            match (edit, value) {
                (Edit::Mask(n), value @ Value::Text(_)) => {
                    *value = Value::Text(Bytes::from("*".repeat(*n)));
                }
                (Edit::Hash(hash, length), Value::Text(text)) => {
                    let mut hex = hash.hex(&String::from_utf8_lossy(text));
                    if let Some(length) = length {
                        hex.truncate(*length);
                    }
                    *text = Bytes::from(hex);
                }
                (Edit::Truncate(n), Value::Text(text)) => {
                    let s = String::from_utf8_lossy(text);
                    if s.chars().count() > *n {
                        *text = Bytes::from(s.chars().take(*n).collect::<String>());
                    }
                }
                _ => {}
            }
        }
        if let Some(kept) = &self.kept {
            let mut i = 0;
            let mut next = kept.iter().peekable();
            row.retain(|_| {
                let keep = next.peek() == Some(&&i);
                if keep {
                    next.next();
                }
                i += 1;
                keep
            });
        }
        Ok(())
    }

    fn convert_values(&self, row: &mut [Value]) -> Result<()> {
        for (i, (value, conv)) in row.iter_mut().zip(&self.convs).enumerate() {
            if *conv == Conv::Same || value.is_null() {
                continue;
            }
            *value = convert(*conv, std::mem::replace(value, Value::Null)).ok_or_else(|| {
                let what = match conv {
                    Conv::TimeOfDay => {
                        " (a TIME outside 00:00–24:00, which Connect's Time cannot hold under \
                         time.precision.mode=connect)"
                    }
                    _ => "",
                };
                Error::new(
                    ErrorKind::Conversion,
                    format!(
                        "{}.{}: column {i} holds a value its type cannot carry{what}",
                        String::from_utf8_lossy(&self.db),
                        String::from_utf8_lossy(&self.table)
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// The key of a converted row (`None` without a primary key), appended to `keys`.
    pub(super) fn push_key(&self, row: &[Value], keys: &mut Vec<Value>) {
        for &i in &self.key_columns {
            keys.push(row[i].clone());
        }
    }
}

/// The index of `transaction` among an event's envelope values.
pub(super) const TRANSACTION_FIELD: usize = 3;

/// One event's envelope values: `before`/`after` are converted rows (moved in), or `None`.
pub(super) fn envelope_row(
    out: &mut Vec<Value>,
    before: Option<Vec<Value>>,
    after: Option<Vec<Value>>,
    source: Value,
    op: &'static str,
    now_ns: i64,
) {
    out.push(before.map_or(Value::Null, Value::Struct));
    out.push(after.map_or(Value::Null, Value::Struct));
    out.push(source);
    out.push(Value::Null);
    out.push(Value::Text(Bytes::from_static(op.as_bytes())));
    out.push(Value::Int(now_ns.div_euclid(1_000_000)));
    out.push(Value::Int(now_ns.div_euclid(1_000)));
    out.push(Value::Int(now_ns));
}

/// A column default's value as the reader decodes the column's values (before the Debezium
/// conversion): integers, floats, decimals (at the column's scale), text, ENUM/SET, BIT(1),
/// DATE and DATETIME literals, and TIMESTAMP's CURRENT_TIMESTAMP (the epoch). `None` for the
/// rest (no default is written).
fn default_value(c: &ColumnFacts, expr: &str) -> Option<Value> {
    let expr = expr.trim();
    match c.catalog.data_type.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            expr.parse::<i64>().ok().map(Value::Int)
        }
        "float" | "double" | "real" => expr.parse::<f64>().ok().map(Value::Float),
        "decimal" | "numeric" => {
            let scale = i64::from(c.catalog.scale.unwrap_or(0));
            let text = crate::model::numeric::JavaDecimal::parse(expr)?.text_at(scale)?;
            Some(Value::Decimal(Bytes::from(text)))
        }
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => {
            Some(Value::Text(Bytes::from(expr.to_string())))
        }
        "bit" if c.bits.unwrap_or(1) <= 1 => {
            let bit = expr.trim_start_matches("b'").trim_end_matches('\'');
            match bit {
                "1" => Some(Value::Int(1)),
                "0" => Some(Value::Int(0)),
                _ => None,
            }
        }
        "date" => {
            let (y, m, d) = crate::db::time::parse_date(expr)?;
            let days = crate::model::calendar::days_from_civil(y, m, d);
            Some(Value::Date(i32::try_from(days).ok()?))
        }
        "datetime" => crate::db::time::parse_datetime(expr).map(Value::Timestamp),
        // CURRENT_TIMESTAMP: the epoch (a literal TIMESTAMP default is in the server's zone).
        "timestamp" if expr == "1970-01-01 00:00:00" => Some(Value::Timestamp(0)),
        _ => None,
    }
}

/// The wall clock in nanoseconds since the epoch.
pub(super) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Where an event was read: the `source` block's values.
#[derive(Debug, Clone, Default)]
pub(super) struct SourceInfo {
    /// Debezium's version string.
    pub(super) version: Bytes,
    /// `mysql` or `mariadb`.
    pub(super) connector: Bytes,
    /// `topic.prefix`.
    pub(super) name: Bytes,
    /// Source time in milliseconds.
    pub(super) ts_ms: i64,
    /// `source.snapshot`: `false` while streaming; `first`, `true`, `last`… in a snapshot.
    pub(super) snapshot: &'static str,
    /// The database.
    pub(super) db: Bytes,
    /// The table.
    pub(super) table: Bytes,
    /// The server id of the binlog event.
    pub(super) server_id: i64,
    /// The transaction's GTID, when GTIDs are on.
    pub(super) gtid: Option<Bytes>,
    /// The binlog file.
    pub(super) file: Bytes,
    /// The position of the event in `file`.
    pub(super) pos: i64,
    /// The row's index within its event.
    pub(super) row: i64,
    pub(super) thread: Option<i64>,
}

impl SourceInfo {
    /// The fields that stay the same for a connector.
    pub(super) fn new(settings: &DebeziumSettings) -> SourceInfo {
        SourceInfo {
            version: Bytes::from_static(DEBEZIUM_VERSION.as_bytes()),
            connector: Bytes::from_static(settings.flavor.connector().as_bytes()),
            name: Bytes::from(settings.prefix.clone()),
            ts_ms: 0,
            snapshot: "false",
            db: Bytes::new(),
            table: Bytes::new(),
            server_id: 0,
            gtid: None,
            file: Bytes::new(),
            pos: 0,
            row: 0,
            thread: None,
        }
    }

    /// The `source` struct value.
    pub(super) fn value(&self) -> Value {
        let text = |b: &Bytes| Value::Text(b.clone());
        let mut values = Vec::with_capacity(SOURCE_WIDTH);
        values.push(text(&self.version));
        values.push(text(&self.connector));
        values.push(text(&self.name));
        values.push(Value::Int(self.ts_ms));
        values.push(Value::Text(Bytes::from_static(self.snapshot.as_bytes())));
        values.push(text(&self.db));
        values.push(Value::Null);
        values.push(Value::Int(self.ts_ms.saturating_mul(1000)));
        values.push(Value::Int(self.ts_ms.saturating_mul(1_000_000)));
        values.push(text(&self.table));
        values.push(Value::Int(self.server_id));
        values.push(self.gtid.as_ref().map_or(Value::Null, text));
        values.push(text(&self.file));
        values.push(Value::Int(self.pos));
        values.push(Value::Int(self.row));
        values.push(self.thread.map_or(Value::Null, Value::Int));
        values.push(Value::Null);
        Value::Struct(values)
    }
}

/// Sets `source.snapshot` of an envelope row already built.
pub(super) fn mark_snapshot(envelope_row: &mut [Value], marker: &'static str) {
    if let Some(Value::Struct(source)) = envelope_row.get_mut(2)
        && let Some(slot) = source.get_mut(SOURCE_SNAPSHOT)
    {
        *slot = Value::Text(Bytes::from_static(marker.as_bytes()));
    }
}

/// Debezium's snapshot marker of a record (`RelationalSnapshotChangeEventSource`): the last
/// record of the last table is `last`, the first of the first `first`, then the first and last
/// of each table, every other `true`.
pub(super) fn snapshot_marker(
    first_table: bool,
    last_table: bool,
    first_in_table: bool,
    last_in_table: bool,
) -> &'static str {
    if last_in_table && last_table {
        "last"
    } else if first_in_table && first_table {
        "first"
    } else if last_in_table {
        "last_in_data_collection"
    } else if first_in_table {
        "first_in_data_collection"
    } else {
        "true"
    }
}

fn int64_field(name: &str, optional: bool) -> Field {
    Field {
        name: name.into(),
        schema: Schema::primitive(SchemaType::Int64, optional),
    }
}

pub(super) fn field(name: &str, ty: SchemaType, optional: bool) -> Field {
    Field {
        name: name.into(),
        schema: Schema::primitive(ty, optional),
    }
}

/// A named struct schema of version 1, as Debezium's own records have.
pub(super) fn struct_v1(name: &str, fields: Vec<Field>, optional: bool) -> Schema {
    let mut schema = Schema::structure(Some(name.into()), fields, optional);
    schema.version = Some(1);
    schema
}

/// `io.debezium.connector.mysql.Source` (version 1), fields in Debezium's order.
pub(super) fn source_schema(flavor: Flavor) -> Schema {
    use SchemaType::*;
    let mut snapshot = Schema::logical(String, "io.debezium.data.Enum", true);
    snapshot.parameters.push((
        "allowed".into(),
        "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental".into(),
    ));
    snapshot.default = Some(Box::new(Value::Text(bytes::Bytes::from_static(b"false"))));
    struct_v1(
        flavor.source_schema_name(),
        vec![
            field("version", String, false),
            field("connector", String, false),
            field("name", String, false),
            field("ts_ms", Int64, false),
            Field {
                name: "snapshot".into(),
                schema: snapshot,
            },
            field("db", String, false),
            field("sequence", String, true),
            field("ts_us", Int64, true),
            field("ts_ns", Int64, true),
            field("table", String, true),
            field("server_id", Int64, false),
            field("gtid", String, true),
            field("file", String, false),
            field("pos", Int64, false),
            field("row", Int32, false),
            field("thread", Int64, true),
            field("query", String, true),
        ],
        false,
    )
}

/// Debezium's heartbeat record: key `io.debezium.connector.common.ServerNameKey` (version 1,
/// `serverName`), value `io.debezium.connector.common.Heartbeat` (version 1, `ts_ms`).
pub(super) fn heartbeat_schemas() -> (Arc<Schema>, Arc<Schema>) {
    use SchemaType::*;
    (
        Arc::new(struct_v1(
            "io.debezium.connector.common.ServerNameKey",
            vec![field("serverName", String, false)],
            false,
        )),
        Arc::new(struct_v1(
            "io.debezium.connector.common.Heartbeat",
            vec![field("ts_ms", Int64, false)],
            false,
        )),
    )
}

/// `event.block` (version 1): the optional `transaction` field.
fn transaction_schema() -> Schema {
    use SchemaType::*;
    struct_v1(
        "event.block",
        vec![
            field("id", String, false),
            field("total_order", Int64, false),
            field("data_collection_order", Int64, false),
        ],
        true,
    )
}

/// A column's schema and conversion under Debezium's type mapping (`BinlogValueConverters`);
/// `None` for a type not mapped.
fn column_schema(settings: &DebeziumSettings, c: &ColumnFacts) -> Option<(Schema, Conv)> {
    use SchemaType::*;
    let optional = c.optional;
    let unsigned = c.catalog.column_type.contains("unsigned");
    let plain = |ty| Some((Schema::primitive(ty, optional), Conv::Same));
    let named = |ty, name: &str, conv| Some((Schema::logical(ty, name, optional), conv));
    let connect = settings.time == TimeMode::Connect;
    match c.catalog.data_type.as_str() {
        "tinyint" => plain(if unsigned { Int16 } else { Int8 }),
        "smallint" => plain(if unsigned { Int32 } else { Int16 }),
        "mediumint" => plain(Int32),
        "int" | "integer" => plain(if unsigned { Int64 } else { Int32 }),
        "bigint" if unsigned && settings.bigint_precise => Some((
            Schema::decimal(0, Some(20), optional),
            Conv::UnsignedDecimal,
        )),
        "bigint" => plain(Int64),
        "float" => plain(Float32),
        "double" | "real" => plain(Float64),
        "decimal" | "numeric" => match settings.decimal {
            DecimalMode::Precise => Some((
                Schema::decimal(
                    c.catalog.scale.unwrap_or(0) as i32,
                    c.catalog.precision,
                    optional,
                ),
                Conv::Same,
            )),
            DecimalMode::Double => {
                Some((Schema::primitive(Float64, optional), Conv::DecimalDouble))
            }
            DecimalMode::String => Some((Schema::primitive(String, optional), Conv::DecimalString)),
        },
        "bit" if c.bits.unwrap_or(1) <= 1 => plain(Boolean).map(|(s, _)| (s, Conv::Boolean)),
        "bit" => {
            let mut schema = Schema::logical(Bytes, "io.debezium.data.Bits", optional);
            schema
                .parameters
                .push(("length".into(), c.bits.unwrap_or(1).to_string()));
            Some((schema, Conv::BitsLittleEndian))
        }
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "json" => {
            plain(String)
        }
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            match settings.binary {
                BinaryMode::Bytes => plain(Bytes),
                mode => Some((Schema::primitive(String, optional), Conv::Binary(mode))),
            }
        }
        "enum" | "set" => {
            let name = if c.catalog.data_type == "enum" {
                "io.debezium.data.Enum"
            } else {
                "io.debezium.data.EnumSet"
            };
            let mut schema = Schema::logical(String, name, optional);
            schema
                .parameters
                .push(("allowed".into(), c.members.join(",")));
            Some((schema, Conv::Same))
        }
        "date" if connect => named(Int32, logical::DATE, Conv::Same),
        "date" => named(Int32, "io.debezium.time.Date", Conv::Days),
        "year" => named(Int32, "io.debezium.time.Year", Conv::Year),
        "time" if connect => named(Int32, logical::TIME, Conv::TimeOfDay),
        "time" => named(Int64, "io.debezium.time.MicroTime", Conv::Micros),
        "datetime" if connect => named(Int64, logical::TIMESTAMP, Conv::Same),
        "datetime" if c.fsp() <= 3 => named(Int64, "io.debezium.time.Timestamp", Conv::Millis),
        "datetime" => named(Int64, "io.debezium.time.MicroTimestamp", Conv::Micros),
        "timestamp" => named(
            String,
            "io.debezium.time.ZonedTimestamp",
            Conv::Zoned { fsp: c.fsp() },
        ),
        _ => None,
    }
}

fn convert(conv: Conv, value: Value) -> Option<Value> {
    Some(match (conv, value) {
        (Conv::Same, v) => v,
        (Conv::TimeOfDay, Value::Time(us)) if (0..=86_400_000_000).contains(&us) => Value::Time(us),
        (Conv::TimeOfDay, _) => return None,
        (Conv::Boolean, Value::Int(v)) => Value::Boolean(v != 0),
        (Conv::Boolean, Value::Bytes(b)) => Value::Boolean(b.iter().any(|&x| x != 0)),
        (Conv::Boolean, Value::Boolean(v)) => Value::Boolean(v),
        (Conv::BitsLittleEndian, Value::Bytes(b)) => {
            Value::Bytes(Bytes::from(b.iter().rev().copied().collect::<Vec<u8>>()))
        }
        (Conv::BitsLittleEndian, Value::Int(v)) => {
            Value::Bytes(Bytes::copy_from_slice(&v.to_le_bytes()))
        }
        (Conv::Days, Value::Date(days)) => Value::Int(i64::from(days)),
        (Conv::Year, Value::Date(days)) => Value::Int(civil_from_days(i64::from(days)).0),
        (Conv::Year, Value::Int(year)) => Value::Int(year),
        (Conv::Micros, Value::Time(us) | Value::Timestamp(us)) => Value::Int(us),
        (Conv::Millis, Value::Timestamp(us)) => Value::Int(us.div_euclid(1000)),
        (Conv::Zoned { fsp }, Value::Timestamp(us)) => Value::Text(Bytes::from(zoned(us, fsp))),
        (Conv::DecimalDouble, Value::Decimal(text)) => {
            Value::Float(std::str::from_utf8(&text).ok()?.parse().ok()?)
        }
        (Conv::DecimalString, Value::Decimal(text)) => Value::Text(text),
        (Conv::UnsignedDecimal, Value::Int(v)) => {
            Value::Decimal(Bytes::from((v as u64).to_string()))
        }
        (Conv::Binary(mode), Value::Bytes(b)) => Value::Text(Bytes::from(binary_text(mode, &b))),
        _ => return None,
    })
}

/// `yyyy-MM-ddTHH:mm:ss[.f{fsp}]Z` in UTC (Debezium's ZonedTimestamp, fraction padded to the
/// column's precision since 2.2).
fn zoned(micros: i64, fsp: u32) -> String {
    let mut text = iso_datetime(micros, fsp as usize);
    text.push('Z');
    text
}

fn binary_text(mode: BinaryMode, bytes: &[u8]) -> String {
    use base64::Engine;
    match mode {
        BinaryMode::Bytes | BinaryMode::Base64 => {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
        BinaryMode::Base64UrlSafe => base64::engine::general_purpose::URL_SAFE.encode(bytes),
        BinaryMode::Hex => hex::encode(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::json::encode::schema_json;

    fn settings() -> DebeziumSettings {
        DebeziumSettings {
            flavor: Flavor::MySql,
            prefix: "dbserver1".into(),
            decimal: DecimalMode::Precise,
            time: TimeMode::AdaptiveMicros,
            bigint_precise: false,
            binary: BinaryMode::Bytes,
            tombstones: true,
            skip_creates: false,
            skip_updates: false,
            skip_deletes: false,
            heartbeat: None,
            snapshot_mode: crate::source::config::SnapshotMode::Initial,
            message_key_columns: Vec::new(),
            column_include: Vec::new(),
            column_exclude: Vec::new(),
            column_masks: Vec::new(),
            column_truncates: Vec::new(),
            transaction_metadata: false,
            transaction_topic: String::new(),
            signal_table: None,
            chunk_size: 1024,
            schema_changes: false,
            event_failure: crate::source::config::EventFailure::Fail,
            gtid_sources: None,
            skip_truncates: true,
            column_hashes: Vec::new(),
            history: None,
        }
    }

    fn column(name: &str, data_type: &str, optional: bool) -> ColumnFacts {
        ColumnFacts {
            name: name.into(),
            optional,
            catalog: CatalogColumn {
                data_type: data_type.into(),
                column_type: data_type.into(),
                ..CatalogColumn::default()
            },
            ..ColumnFacts::default()
        }
    }

    /// The envelope schema of Debezium's own output for `customers` (REFERENCE-DEBEZIUM §3.4,
    /// captured from Debezium 3.2.1), byte for byte.
    #[test]
    fn customers_envelope_schema_is_debeziums() {
        let shape = EventShape::new(
            &settings(),
            "mydb",
            "customers",
            &[
                column("id", "int", false),
                column("first_name", "varchar", true),
                column("last_name", "varchar", true),
                column("email", "varchar", true),
            ],
            vec![0],
        )
        .unwrap();
        let expected = r#"{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"first_name"},{"type":"string","optional":true,"field":"last_name"},{"type":"string","optional":true,"field":"email"}],"optional":true,"name":"dbserver1.mydb.customers.Value","field":"before"},{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"first_name"},{"type":"string","optional":true,"field":"last_name"},{"type":"string","optional":true,"field":"email"}],"optional":true,"name":"dbserver1.mydb.customers.Value","field":"after"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"dbserver1.mydb.customers.Envelope","version":2}"#;
        assert_eq!(schema_json(&shape.envelope), expected);
        assert_eq!(
            schema_json(shape.key.as_ref().unwrap()),
            r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.mydb.customers.Key"}"#
        );
    }

    #[test]
    fn column_filters_masks_and_truncations() {
        let pattern = |p: &str| crate::source::config::Pattern(regex::Regex::new(p).unwrap());
        let filtered = DebeziumSettings {
            column_exclude: vec![pattern("(?i)^(?:mydb.customers.email)$")],
            column_masks: vec![(pattern("(?i)^(?:mydb.customers.last_name)$"), 4)],
            column_truncates: vec![(pattern("(?i)^(?:mydb.customers.first_name)$"), 2)],
            ..settings()
        };
        let columns = [
            column("email", "varchar", true),
            column("id", "int", false),
            column("first_name", "varchar", true),
            column("last_name", "varchar", true),
        ];
        let shape = EventShape::new(&filtered, "mydb", "customers", &columns, vec![1]).unwrap();
        let value = &shape.envelope.fields[1].schema;
        let names: Vec<&str> = value.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "first_name", "last_name"]);
        let text = |s: &str| Value::Text(Bytes::from(s.to_string()));
        let mut row = vec![text("a@b.c"), Value::Int(7), text("Émilie"), text("Thomas")];
        shape.convert(&mut row).unwrap();
        assert_eq!(row, [Value::Int(7), text("Ém"), text("****")]);
        let mut keys = Vec::new();
        shape.push_key(&row, &mut keys);
        assert_eq!(keys, [Value::Int(7)]);
        // A primary-key column cannot be left out.
        let included = DebeziumSettings {
            column_include: vec![pattern("(?i)^(?:mydb.customers.email)$")],
            ..settings()
        };
        assert!(EventShape::new(&included, "mydb", "customers", &columns, vec![1]).is_err());
    }

    #[test]
    fn temporal_values_follow_the_precision_mode() {
        // DOC "Temporal types": DATETIME `2018-06-20 06:37:03` is 1529476623000.
        let us = 1_529_476_623_000_000;
        assert_eq!(
            convert(Conv::Millis, Value::Timestamp(us + 999)),
            Some(Value::Int(1_529_476_623_000))
        );
        assert_eq!(
            convert(Conv::Zoned { fsp: 0 }, Value::Timestamp(us)),
            Some(Value::Text(Bytes::from_static(b"2018-06-20T06:37:03Z")))
        );
        assert_eq!(
            convert(Conv::Zoned { fsp: 3 }, Value::Timestamp(us + 120_000)),
            Some(Value::Text(Bytes::from_static(b"2018-06-20T06:37:03.120Z")))
        );
        assert_eq!(
            convert(
                Conv::Year,
                Value::Date(crate::model::calendar::days_from_civil(2024, 1, 1) as i32)
            ),
            Some(Value::Int(2024))
        );
        assert_eq!(
            convert(Conv::Micros, Value::Time(-3_600_000_000 * 900)),
            Some(Value::Int(-3_240_000_000_000))
        );
        assert_eq!(
            convert(
                Conv::BitsLittleEndian,
                Value::Bytes(Bytes::from_static(&[1, 2]))
            ),
            Some(Value::Bytes(Bytes::from_static(&[2, 1])))
        );
        assert_eq!(
            convert(Conv::UnsignedDecimal, Value::Int(-1)),
            Some(Value::Decimal(Bytes::from_static(b"18446744073709551615")))
        );
    }

    #[test]
    fn snapshot_markers_follow_debezium() {
        assert_eq!(snapshot_marker(true, false, true, false), "first");
        assert_eq!(snapshot_marker(true, true, true, true), "last");
        assert_eq!(
            snapshot_marker(false, false, true, true),
            "last_in_data_collection"
        );
        assert_eq!(
            snapshot_marker(false, true, true, false),
            "first_in_data_collection"
        );
        assert_eq!(snapshot_marker(false, false, false, false), "true");
    }

    #[test]
    fn topics_are_sanitized() {
        assert_eq!(sanitize_topic("a b.c$d"), "a_b.c_d");
    }
}
