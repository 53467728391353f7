//! MySQL/MariaDB result columns → Connect schemas and values, as Kafka Connect's JDBC source
//! maps them (`GenericDatabaseDialect.addFieldToSchema` over what MySQL Connector/J reports):
//! unsigned integers widen, `TINYINT(1)` and `BIT(1)` are int8, `YEAR` is a Date, DECIMAL is a
//! Decimal with `connect.decimal.precision`, binary strings are bytes, nullable columns optional.

use std::sync::Arc;

use bytes::Bytes;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value as MyValue};

use super::config::TimestampGranularity;
use crate::db::DbZone;
use crate::db::time::{iso_datetime, micros_from_datetime};
use crate::error::{Error, ErrorKind, Result};
use crate::model::calendar::days_from_civil;
use crate::model::{Field, Schema, SchemaType, Value, logical};

/// The binary character set id: a string column in it holds bytes.
const BINARY_CHARSET: u16 = 63;

/// How a column's wire value becomes a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Int,
    /// BIT(1) / TINYINT(1): int8 from the value's bytes or integer.
    Bit,
    Float,
    Double,
    Decimal,
    Text,
    Bytes,
    Date,
    /// YEAR as a Date (1 January of the year).
    Year,
    Time,
    /// TIMESTAMP: an instant, read in the session's UTC.
    Timestamp,
    /// DATETIME: a wall-clock time in `db.timezone`.
    DateTime,
}

impl ColumnKind {
    /// Whether `timestamp.granularity` applies to the column.
    pub(crate) fn is_timestamp(self) -> bool {
        matches!(self, ColumnKind::Timestamp | ColumnKind::DateTime)
    }
}

/// A table's (or query's) row shape: the Connect value schema and per-column conversions.
#[derive(Debug, Clone)]
pub(crate) struct RowShape {
    pub(crate) schema: Arc<Schema>,
    pub(crate) kinds: Vec<ColumnKind>,
    pub(crate) names: Vec<String>,
}

impl RowShape {
    /// Builds the shape from result-set metadata. `struct_name` is the table name (Connect
    /// names the value struct after the table; query mode leaves it unnamed).
    pub(crate) fn from_columns(
        struct_name: Option<&str>,
        columns: &[Column],
        granularity: TimestampGranularity,
    ) -> Result<RowShape> {
        let mut fields = Vec::with_capacity(columns.len());
        let mut kinds = Vec::with_capacity(columns.len());
        let mut names = Vec::with_capacity(columns.len());
        for column in columns {
            let name = column.name_str().into_owned();
            let (schema, kind) = column_schema(column, granularity).ok_or_else(|| {
                Error::new(
                    ErrorKind::Conversion,
                    format!(
                        "column {name} has type {:?}, which the JDBC source does not map",
                        column.column_type()
                    ),
                )
            })?;
            names.push(name.clone());
            fields.push(Field { name, schema });
            kinds.push(kind);
        }
        Ok(RowShape {
            schema: Arc::new(Schema::structure(
                struct_name.map(str::to_string),
                fields,
                false,
            )),
            kinds,
            names,
        })
    }

    /// Whether two shapes produce identical schemas.
    pub(crate) fn same_as(&self, other: &RowShape) -> bool {
        self.schema == other.schema && self.kinds == other.kinds
    }

    /// The index of a column by name (case-insensitive, as MySQL compares column names).
    pub(crate) fn index_of(&self, column: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(column))
    }
}

fn column_schema(
    column: &Column,
    granularity: TimestampGranularity,
) -> Option<(Schema, ColumnKind)> {
    use ColumnType::*;
    let flags = column.flags();
    let optional = !flags.contains(ColumnFlags::NOT_NULL_FLAG);
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = column.character_set() == BINARY_CHARSET;
    let int = |ty| Some((Schema::primitive(ty, optional), ColumnKind::Int));
    match column.column_type() {
        MYSQL_TYPE_TINY if column.column_length() == 1 => Some((
            Schema::primitive(SchemaType::Int8, optional),
            ColumnKind::Bit,
        )),
        MYSQL_TYPE_TINY => int(if unsigned {
            SchemaType::Int16
        } else {
            SchemaType::Int8
        }),
        MYSQL_TYPE_SHORT => int(if unsigned {
            SchemaType::Int32
        } else {
            SchemaType::Int16
        }),
        MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG => int(if unsigned {
            SchemaType::Int64
        } else {
            SchemaType::Int32
        }),
        MYSQL_TYPE_LONGLONG => int(SchemaType::Int64),
        MYSQL_TYPE_YEAR => Some((
            Schema::logical(SchemaType::Int32, logical::DATE, optional),
            ColumnKind::Year,
        )),
        MYSQL_TYPE_FLOAT => Some((
            Schema::primitive(SchemaType::Float32, optional),
            ColumnKind::Float,
        )),
        MYSQL_TYPE_DOUBLE => Some((
            Schema::primitive(SchemaType::Float64, optional),
            ColumnKind::Double,
        )),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let scale = u32::from(column.decimals());
            // The display length counts the sign (signed columns) and the decimal point.
            let precision = column.column_length() - u32::from(scale > 0) - u32::from(!unsigned);
            Some((
                Schema::decimal(scale as i32, Some(precision.max(1)), optional),
                ColumnKind::Decimal,
            ))
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Some((
            Schema::logical(SchemaType::Int32, logical::DATE, optional),
            ColumnKind::Date,
        )),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Some((
            Schema::logical(SchemaType::Int32, logical::TIME, optional),
            ColumnKind::Time,
        )),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => Some((
            timestamp_schema(granularity, optional),
            ColumnKind::DateTime,
        )),
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => Some((
            timestamp_schema(granularity, optional),
            ColumnKind::Timestamp,
        )),
        MYSQL_TYPE_BIT if column.column_length() == 1 => Some((
            Schema::primitive(SchemaType::Int8, optional),
            ColumnKind::Bit,
        )),
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => Some((
            Schema::primitive(SchemaType::Bytes, optional),
            ColumnKind::Bytes,
        )),
        MYSQL_TYPE_JSON => Some((
            Schema::primitive(SchemaType::String, optional),
            ColumnKind::Text,
        )),
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB => {
            if binary && !flags.intersects(ColumnFlags::ENUM_FLAG | ColumnFlags::SET_FLAG) {
                Some((
                    Schema::primitive(SchemaType::Bytes, optional),
                    ColumnKind::Bytes,
                ))
            } else {
                Some((
                    Schema::primitive(SchemaType::String, optional),
                    ColumnKind::Text,
                ))
            }
        }
        _ => None,
    }
}

/// The schema of a DATETIME/TIMESTAMP column under `timestamp.granularity`.
fn timestamp_schema(granularity: TimestampGranularity, optional: bool) -> Schema {
    use TimestampGranularity::*;
    match granularity {
        ConnectLogical => Schema::logical(SchemaType::Int64, logical::TIMESTAMP, optional),
        NanosLong | MicrosLong => Schema::primitive(SchemaType::Int64, optional),
        NanosString | NanosIsoDatetimeString | MicrosString | MicrosIsoDatetimeString => {
            Schema::primitive(SchemaType::String, optional)
        }
    }
}

/// Rewrites an instant (`Value::Timestamp`) into its `timestamp.granularity` form:
/// epoch nanos/micros as int64 or decimal string, or an ISO date-time in `zone`.
pub(crate) fn apply_granularity(
    granularity: TimestampGranularity,
    zone: DbZone,
    value: &mut Value,
) {
    use TimestampGranularity::*;
    let Value::Timestamp(micros) = *value else {
        return;
    };
    *value = match granularity {
        ConnectLogical => return,
        MicrosLong => Value::Int(micros),
        // Java's TimeUnit conversion saturates; so does this.
        NanosLong => Value::Int(micros.saturating_mul(1000)),
        MicrosString => Value::Text(Bytes::from(micros.to_string())),
        NanosString => Value::Text(Bytes::from((i128::from(micros) * 1000).to_string())),
        NanosIsoDatetimeString | MicrosIsoDatetimeString => {
            let mut text = iso_datetime(zone.instant_to_wall(micros), 6);
            if granularity == NanosIsoDatetimeString {
                text.push_str("000");
            }
            Value::Text(Bytes::from(text))
        }
    };
}

fn text(bytes: Vec<u8>) -> Bytes {
    match String::from_utf8(bytes) {
        Ok(s) => Bytes::from(s.into_bytes()),
        Err(e) => Bytes::from(
            String::from_utf8_lossy(e.as_bytes())
                .into_owned()
                .into_bytes(),
        ),
    }
}

/// Converts one wire value of a column into a [`Value`].
pub(crate) fn convert(
    kind: ColumnKind,
    value: MyValue,
    optional: bool,
    column: &str,
    zone: DbZone,
) -> Result<Value> {
    use ColumnKind as K;
    let mismatch = |value: &MyValue| {
        Error::new(
            ErrorKind::Conversion,
            format!("column {column}: unexpected wire value {value:?} for a {kind:?} column"),
        )
    };
    Ok(match (kind, value) {
        (_, MyValue::NULL) => Value::Null,
        (K::Int, MyValue::Int(v)) => Value::Int(v),
        (K::Int, MyValue::UInt(v)) => Value::Int(v as i64),
        (K::Int, MyValue::Bytes(b)) => Value::Int(
            std::str::from_utf8(&b)
                .ok()
                .and_then(|s| {
                    s.parse::<i64>()
                        .ok()
                        .or_else(|| s.parse::<u64>().ok().map(|u| u as i64))
                })
                .ok_or_else(|| mismatch(&MyValue::Bytes(b.clone())))?,
        ),
        (K::Bit, MyValue::Int(v)) => Value::Int(v),
        (K::Bit, MyValue::UInt(v)) => Value::Int(v as i64),
        (K::Bit, MyValue::Bytes(b)) => Value::Int(
            b.iter()
                .fold(0i64, |acc, byte| (acc << 8) | i64::from(*byte)) as i8 as i64,
        ),
        (K::Float, MyValue::Float(v)) => Value::Float(f64::from(v)),
        (K::Float | K::Double, MyValue::Double(v)) => Value::Float(v),
        (K::Double, MyValue::Float(v)) => Value::Float(f64::from(v)),
        (K::Decimal, MyValue::Bytes(b)) => Value::Decimal(Bytes::from(b)),
        (K::Text, MyValue::Bytes(b)) => Value::Text(text(b)),
        (K::Bytes, MyValue::Bytes(b)) => Value::Bytes(Bytes::from(b)),
        (K::Date, MyValue::Date(y, m, d, ..)) if y == 0 || m == 0 || d == 0 => {
            zero_date(optional, column)?
        }
        (K::Date, MyValue::Date(y, m, d, ..)) => {
            Value::Date(days_from_civil(i64::from(y), u32::from(m), u32::from(d)) as i32)
        }
        (K::Year, MyValue::Int(0)) => zero_date(optional, column)?,
        (K::Year, MyValue::Int(y)) => Value::Date(days_from_civil(y, 1, 1) as i32),
        (K::Year, MyValue::UInt(y)) => Value::Date(days_from_civil(y as i64, 1, 1) as i32),
        (K::Time, MyValue::Time(negative, days, h, m, s, us)) => {
            let micros =
                ((i64::from(days) * 24 + i64::from(h)) * 3600 + i64::from(m) * 60 + i64::from(s))
                    * 1_000_000
                    + i64::from(us);
            Value::Time(if negative { -micros } else { micros })
        }
        (K::Timestamp | K::DateTime, MyValue::Date(y, m, d, ..)) if y == 0 || m == 0 || d == 0 => {
            zero_date(optional, column)?
        }
        (K::Timestamp, MyValue::Date(y, m, d, h, mi, s, us)) => {
            Value::Timestamp(micros_from_datetime(y, m, d, h, mi, s, us))
        }
        (K::DateTime, MyValue::Date(y, m, d, h, mi, s, us)) => {
            Value::Timestamp(zone.wall_to_instant(micros_from_datetime(y, m, d, h, mi, s, us)))
        }
        (_, other) => return Err(mismatch(&other)),
    })
}

/// MySQL's zero dates (`0000-00-00`) become null, as Connector/J's `zeroDateTimeBehavior`
/// `CONVERT_TO_NULL` and the MariaDB driver do; a NOT NULL column cannot take that null.
fn zero_date(optional: bool, column: &str) -> Result<Value> {
    if optional {
        Ok(Value::Null)
    } else {
        Err(Error::new(
            ErrorKind::Conversion,
            format!(
                "column {column} holds a zero date (0000-00-00), which has no Connect value and the column is NOT NULL"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::time::datetime_from_micros;
    use crate::model::calendar::civil_from_days;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2021, 12, 5), 18966);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1000, 1, 1), -354_285);
        for days in [-800_000, -1, 0, 1, 18_966, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // The seed message: created_at 1638687468000 ms = 2021-12-05T06:57:48Z.
        assert_eq!(
            micros_from_datetime(2021, 12, 5, 6, 57, 48, 0),
            1_638_687_468_000_000
        );
        assert_eq!(
            datetime_from_micros(1_638_687_468_000_123),
            MyValue::Date(2021, 12, 5, 6, 57, 48, 123)
        );
    }

    #[test]
    fn converts_wire_values() {
        assert_eq!(
            convert(ColumnKind::Int, MyValue::UInt(7), false, "c", DbZone::UTC).unwrap(),
            Value::Int(7)
        );
        assert_eq!(
            convert(
                ColumnKind::Bit,
                MyValue::Bytes(vec![1]),
                true,
                "c",
                DbZone::UTC
            )
            .unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            convert(
                ColumnKind::Time,
                MyValue::Time(true, 1, 2, 3, 4, 500),
                true,
                "c",
                DbZone::UTC
            )
            .unwrap(),
            Value::Time(-((26 * 3600 + 3 * 60 + 4) * 1_000_000 + 500))
        );
        assert_eq!(
            convert(ColumnKind::Year, MyValue::Int(2024), true, "c", DbZone::UTC).unwrap(),
            Value::Date(days_from_civil(2024, 1, 1) as i32)
        );
        assert_eq!(
            convert(
                ColumnKind::Date,
                MyValue::Date(0, 0, 0, 0, 0, 0, 0),
                true,
                "c",
                DbZone::UTC
            )
            .unwrap(),
            Value::Null
        );
        assert!(
            convert(
                ColumnKind::Date,
                MyValue::Date(0, 0, 0, 0, 0, 0, 0),
                false,
                "c",
                DbZone::UTC
            )
            .is_err()
        );
        assert!(convert(ColumnKind::Date, MyValue::Int(3), true, "c", DbZone::UTC).is_err());
    }

    #[test]
    fn datetime_is_wall_clock_in_db_timezone_and_timestamp_is_an_instant() {
        let seoul: DbZone = "Asia/Seoul".parse().unwrap();
        let wire = MyValue::Date(2021, 12, 5, 15, 57, 48, 0);
        assert_eq!(
            convert(ColumnKind::DateTime, wire.clone(), false, "c", seoul).unwrap(),
            Value::Timestamp(1_638_687_468_000_000)
        );
        assert_eq!(
            convert(ColumnKind::Timestamp, wire, false, "c", seoul).unwrap(),
            Value::Timestamp(1_638_719_868_000_000)
        );
    }

    #[test]
    fn timestamp_granularities_match_connect() {
        use TimestampGranularity::*;
        let seoul: DbZone = "Asia/Seoul".parse().unwrap();
        // 2021-12-05T06:57:48.123456Z
        let micros = 1_638_687_468_123_456;
        let cases = [
            (ConnectLogical, Value::Timestamp(micros)),
            (MicrosLong, Value::Int(micros)),
            (NanosLong, Value::Int(micros * 1000)),
            (MicrosString, Value::Text(Bytes::from("1638687468123456"))),
            (NanosString, Value::Text(Bytes::from("1638687468123456000"))),
            (
                MicrosIsoDatetimeString,
                Value::Text(Bytes::from("2021-12-05T15:57:48.123456")),
            ),
            (
                NanosIsoDatetimeString,
                Value::Text(Bytes::from("2021-12-05T15:57:48.123456000")),
            ),
        ];
        for (granularity, expected) in cases {
            let mut value = Value::Timestamp(micros);
            apply_granularity(granularity, seoul, &mut value);
            assert_eq!(value, expected, "{granularity:?}");
        }
        let mut null = Value::Null;
        apply_granularity(NanosLong, seoul, &mut null);
        assert_eq!(null, Value::Null);
        let mut before_1970 = Value::Timestamp(-1_500_000);
        apply_granularity(MicrosIsoDatetimeString, DbZone::UTC, &mut before_1970);
        assert_eq!(
            before_1970,
            Value::Text(Bytes::from("1969-12-31T23:59:58.500000"))
        );
    }
}
