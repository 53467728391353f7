//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`: converts the whole
//! key/value, or one field of it (`field`), between Unix epoch numbers, formatted strings and
//! Connect's Date, Time and Timestamp (`target.type` = `string`, `unix`, `Date`, `Time`,
//! `Timestamp`, case-sensitive), in UTC.
//!
//! As Kafka's `TimestampConverter` (3.9):
//! - Every conversion goes through a `java.util.Date` in milliseconds: sub-millisecond parts are
//!   lost (`unix.precision` = `microseconds`/`nanoseconds` inputs truncate toward zero).
//! - The source format comes from the schema (Timestamp/Date/Time names, else STRING is a
//!   formatted string and INT64 Unix time) or, schemaless, from the value's class
//!   (`java.util.Date` = Timestamp, `Long` = Unix, `String` = formatted).
//! - `format` is a `SimpleDateFormat` pattern (see [`super::java_date`]), parsed leniently and by
//!   prefix, required for `target.type=string`.
//! - A null value stays null (the schema is still converted); with `field`, the struct schema's
//!   basics are copied, fields keep their order, the field gets the target's fresh schema
//!   (optional as before, no default), the struct's optionality and default carry over; a
//!   schemaless map gets the field put (null when absent).

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::java_date::{DatePattern, PatternError, unsupported_letter};
use super::util::{self, SchemaCache};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Validator};
use crate::error::Result;
use crate::model::record::{Part, Record, Side};
use crate::model::{Schema, SchemaType, Value, logical};

const FIELD: &str = "field";
const TARGET_TYPE: &str = "target.type";
const FORMAT: &str = "format";
const UNIX_PRECISION: &str = "unix.precision";
const PURPOSE: &str = "converting timestamp formats";

const TYPES: [&str; 5] = ["string", "unix", "Date", "Time", "Timestamp"];
const PRECISIONS: [&str; 4] = ["nanoseconds", "microseconds", "milliseconds", "seconds"];
const MILLIS_PER_DAY: i64 = 86_400_000;

static DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::with_default(FIELD, ConfigType::String, "")
                .importance(Importance::High)
                .doc("The field containing the timestamp, or empty if the entire value is a timestamp"),
        )
        .define(
            ConfigKey::required(TARGET_TYPE, ConfigType::String)
                .validator(Validator::OneOfExact(&TYPES))
                .doc("The desired timestamp representation: string, unix, Date, Time, or Timestamp"),
        )
        .define(ConfigKey::with_default(FORMAT, ConfigType::String, "").doc(
            "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output \
             when type=string or used to parse the input if the input is a string.",
        ))
        .define(
            ConfigKey::with_default(UNIX_PRECISION, ConfigType::String, "milliseconds")
                .validator(Validator::OneOfExact(&PRECISIONS))
                .importance(Importance::Low)
                .doc(
                    "The desired Unix precision for the timestamp: seconds, milliseconds, \
                     microseconds, or nanoseconds. Used to generate the output when type=unix or \
                     used to parse the input if the input is a Long.Note: This SMT will cause \
                     precision loss during conversions from, and to, values with sub-millisecond \
                     components.",
                ),
        )
        .define(util::REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &DEF
}

/// A timestamp representation (Kafka's translators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Unix => "unix",
            Kind::Date => "Date",
            Kind::Time => "Time",
            Kind::Timestamp => "Timestamp",
        }
    }

    /// The translator's `typeSchema(isOptional)`.
    fn schema(self, optional: bool) -> Schema {
        match self {
            Kind::String => Schema::primitive(SchemaType::String, optional),
            Kind::Unix => Schema::primitive(SchemaType::Int64, optional),
            Kind::Date => Schema::logical(SchemaType::Int32, logical::DATE, optional),
            Kind::Time => Schema::logical(SchemaType::Int32, logical::TIME, optional),
            Kind::Timestamp => Schema::logical(SchemaType::Int64, logical::TIMESTAMP, optional),
        }
    }

    /// `timestampTypeFromSchema`.
    fn of_schema(schema: &Schema) -> Result<Kind> {
        match schema.name.as_deref() {
            Some(logical::TIMESTAMP) => return Ok(Kind::Timestamp),
            Some(logical::DATE) => return Ok(Kind::Date),
            Some(logical::TIME) => return Ok(Kind::Time),
            _ => {}
        }
        match schema.ty {
            SchemaType::String => Ok(Kind::String),
            SchemaType::Int64 => Ok(Kind::Unix),
            _ => Err(util::data_error(format!(
                "Schema {} does not correspond to a known timestamp type format",
                util::schema_string(Some(schema))
            ))),
        }
    }

    /// `inferTimestampType`.
    fn of_value(value: &Value) -> Result<Kind> {
        match value {
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => Ok(Kind::Timestamp),
            Value::Int(_) => Ok(Kind::Unix),
            Value::Text(_) => Ok(Kind::String),
            other => Err(util::data_error(format!(
                "TimestampConverter does not support class {} objects as timestamps",
                util::java_class(other)
            ))),
        }
    }
}

/// `unix.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// Converts timestamps in the key or the value.
pub(crate) struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DatePattern>,
    precision: Precision,
    replace_null_with_default: bool,
    /// The whole-value target schema: required, optional.
    target_schemas: [Arc<Schema>; 2],
    schemas: SchemaCache<Arc<Schema>>,
}

/// `format` compiled, or the config error Kafka (or this subset) gives.
pub(crate) fn compile_format(
    key: &str,
    pattern: &str,
    java_message: impl FnOnce(&str) -> String,
) -> Result<DatePattern, ConfigError> {
    DatePattern::new(pattern).map_err(|e| match e {
        PatternError::Java(_) => ConfigError::rule(key, java_message(pattern)),
        PatternError::Unsupported(letter) => unsupported_letter(key, pattern, letter),
    })
}

impl TimestampConverter {
    /// `TimestampConverter$Key` or `TimestampConverter$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let target = config.string(TARGET_TYPE).unwrap_or_default();
        let target = match target {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            _ => Kind::Timestamp,
        };
        let precision = config.string(UNIX_PRECISION).unwrap_or_default();
        let precision = match precision {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        };
        let pattern = config.string(FORMAT).unwrap_or_default();
        if target == Kind::String && pattern.trim().is_empty() {
            return Err(ConfigError::rule(
                FORMAT,
                "TimestampConverter requires format option to be specified when using string \
                 timestamps",
            ));
        }
        let format = match pattern.trim().is_empty() {
            true => None,
            false => Some(compile_format(FORMAT, pattern, |p| {
                format!(
                    "TimestampConverter requires a SimpleDateFormat-compatible pattern for string \
                     timestamps: {p}"
                )
            })?),
        };
        Ok(TimestampConverter {
            side,
            field: config.string(FIELD).unwrap_or_default().to_string(),
            target,
            format,
            precision,
            replace_null_with_default: config.bool(util::REPLACE_NULL_WITH_DEFAULT.name),
            target_schemas: [
                Arc::new(target.schema(false)),
                Arc::new(target.schema(true)),
            ],
            schemas: SchemaCache::new(),
        })
    }

    /// `convertTimestamp(timestamp, format)`: `source` `None` infers it from the value.
    fn convert(&self, value: &Value, source: Option<Kind>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let source = match source {
            Some(kind) => kind,
            None => Kind::of_value(value)?,
        };
        let millis = self.to_raw(source, value)?;
        self.to_type(millis)
    }

    /// The source translator's `toRaw`: epoch milliseconds.
    fn to_raw(&self, source: Kind, value: &Value) -> Result<i64> {
        let found = || format!("class {}", util::java_class(value));
        match (source, value) {
            (Kind::String, Value::Text(_)) => {
                let text = value.as_str().unwrap_or_default();
                let format = self.format.as_ref().ok_or_else(|| {
                    util::data_error(
                        "Cannot invoke \"java.text.SimpleDateFormat.parse(String)\" because \
                         \"config.format\" is null",
                    )
                })?;
                format.parse(text).ok_or_else(|| {
                    util::data_error(format!(
                        "Could not parse timestamp: value ({text}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            (Kind::String, _) => Err(util::data_error(format!(
                "Expected string timestamp to be a String, but found {}",
                found()
            ))),
            (Kind::Unix, Value::Int(unix)) => Ok(match self.precision {
                Precision::Seconds => unix.saturating_mul(1000),
                Precision::Milliseconds => *unix,
                Precision::Microseconds => unix / 1000,
                Precision::Nanoseconds => unix / 1_000_000,
            }),
            (Kind::Unix, _) => Err(util::data_error(format!(
                "Expected Unix timestamp to be a Long, but found {}",
                found()
            ))),
            (_, Value::Date(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (_, Value::Time(micros) | Value::Timestamp(micros)) => Ok(micros.div_euclid(1000)),
            (kind, _) => Err(util::data_error(format!(
                "Expected {} to be a java.util.Date, but found {}",
                kind.name(),
                found()
            ))),
        }
    }

    /// The target translator's `toType`.
    fn to_type(&self, millis: i64) -> Result<Value> {
        let out_of_range = || util::data_error(format!("Timestamp out of range: {millis} ms"));
        Ok(match self.target {
            Kind::String => match &self.format {
                Some(format) => Value::text(&format.format(millis)),
                None => return Err(util::data_error("TimestampConverter has no format")),
            },
            Kind::Unix => Value::Int(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Milliseconds => millis,
                Precision::Microseconds => millis.saturating_mul(1000),
                Precision::Nanoseconds => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Date(
                i32::try_from(millis.div_euclid(MILLIS_PER_DAY)).map_err(|_| out_of_range())?,
            ),
            Kind::Time => Value::Time(millis.rem_euclid(MILLIS_PER_DAY) * 1000),
            Kind::Timestamp => Value::Timestamp(millis.checked_mul(1000).ok_or_else(out_of_range)?),
        })
    }

    /// The struct schema with the field converted.
    fn struct_schema(&self, schema: &Schema) -> Result<Schema> {
        if schema.ty != SchemaType::Struct {
            return Err(util::data_error("Cannot list fields on non-struct type"));
        }
        let mut out = util::copy_schema_basics(schema);
        for field in &schema.fields {
            let field = match field.name == self.field {
                true => util::field(&field.name, self.target.schema(field.schema.optional)),
                false => field.clone(),
            };
            util::push_field(&mut out, field)?;
        }
        out.optional = schema.optional;
        if let Some(Value::Struct(values)) = schema.default.as_deref() {
            let default = self.convert_struct(schema, values, &out)?;
            out.default = Some(Box::new(default));
        }
        Ok(out)
    }

    /// `applyValueWithSchema`.
    fn convert_struct(&self, schema: &Schema, values: &[Value], updated: &Schema) -> Result<Value> {
        util::rebuild_struct(
            schema,
            values,
            updated,
            self.replace_null_with_default,
            |field, value| match field.name == self.field {
                true => self.convert(&value, Some(Kind::of_schema(&field.schema)?)),
                false => Ok(value),
            },
        )
    }
}

impl Transformation for TimestampConverter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        let converted = match &part.schema {
            None if part.value.is_null() || self.field.is_empty() => {
                Part::new(None, self.convert(&part.value, None)?)
            }
            None => {
                let entries = util::require_map(&part.value, PURPOSE)?;
                let value = part.value.map_get(&self.field).unwrap_or(&Value::Null);
                let value = self.convert(value, None)?;
                let mut out = entries.to_vec();
                match out
                    .iter_mut()
                    .find(|(k, _)| k.as_str() == Some(self.field.as_str()))
                {
                    Some(entry) => entry.1 = value,
                    None => out.push((Value::text(&self.field), value)),
                }
                Part::new(None, Value::Map(out))
            }
            Some(schema) if self.field.is_empty() => {
                let source = Kind::of_schema(schema)?;
                let updated = Arc::clone(&self.target_schemas[usize::from(schema.optional)]);
                Part::new(Some(updated), self.convert(&part.value, Some(source))?)
            }
            Some(schema) => {
                let values = util::require_struct_or_null(schema, &part.value, PURPOSE)?;
                let mut schemas = std::mem::take(&mut self.schemas);
                let updated = schemas.get_or_try_insert(schema, |_| -> crate::error::Result<_> {
                    Ok(Arc::new(self.struct_schema(schema)?))
                });
                self.schemas = schemas;
                let updated = updated?;
                let value = match values {
                    Some(values) => self.convert_struct(schema, values, &updated)?,
                    None => Value::Null,
                };
                Part::new(Some(updated), value)
            }
        };
        *record.part_mut(self.side) = converted;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::transform::util::fixtures;

    /// TimestampConverterTest's constants: 1970-01-02T00:00:01.234Z.
    const DATE_PLUS_TIME_UNIX: i64 = 86_401_234;
    const DATE_PLUS_TIME_UNIX_MICROS: i64 = DATE_PLUS_TIME_UNIX * 1000 + 123;
    const DATE_PLUS_TIME_UNIX_NANOS: i64 = DATE_PLUS_TIME_UNIX_MICROS * 1000 + 456;
    const DATE_PLUS_TIME_UNIX_SECONDS: i64 = 86_401;
    const STRING_DATE_FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 00 00 01 234 UTC";

    fn date_plus_time() -> Value {
        Value::Timestamp(DATE_PLUS_TIME_UNIX * 1000)
    }
    fn date() -> Value {
        Value::Date(1)
    }
    fn time() -> Value {
        Value::Time(1_234_000)
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<TimestampConverter, ConfigError> {
        TimestampConverter::new(
            &crate::transform::util::parse_pairs(config_def(), pairs)?,
            Side::Value,
        )
    }

    fn converter(pairs: &[(&str, &str)]) -> TimestampConverter {
        parse(pairs).unwrap()
    }

    fn to(target: &str) -> TimestampConverter {
        converter(&[(TARGET_TYPE, target), (FORMAT, STRING_DATE_FMT)])
    }

    fn run(t: &mut TimestampConverter, schema: Option<Schema>, value: Value) -> Result<Part> {
        let record = Record::new("topic", Part::new(schema.map(Arc::new), value));
        t.apply(record).map(|r| r.unwrap().value)
    }

    fn timestamp_schema(optional: bool) -> Schema {
        Schema::logical(SchemaType::Int64, logical::TIMESTAMP, optional)
    }
    fn date_schema(optional: bool) -> Schema {
        Schema::logical(SchemaType::Int32, logical::DATE, optional)
    }
    fn time_schema(optional: bool) -> Schema {
        Schema::logical(SchemaType::Int32, logical::TIME, optional)
    }
    fn prim(ty: SchemaType, optional: bool) -> Schema {
        Schema::primitive(ty, optional)
    }

    fn structure(fields: Vec<(&str, Schema)>, optional: bool) -> Schema {
        Schema {
            optional,
            ..fixtures::structure(fields)
        }
    }

    fn some(schema: Schema) -> Option<Arc<Schema>> {
        Some(Arc::new(schema))
    }

    /// testConfigNoTargetType, testConfigInvalidTargetType, testConfigInvalidUnixPrecision,
    /// testConfigValidUnixPrecision, testConfigMissingFormat, testConfigInvalidFormat.
    #[test]
    fn config_errors_name_their_key() {
        let e = parse(&[]).err().unwrap();
        assert_eq!(
            e.message(),
            "Missing required configuration \"target.type\" which has no default value."
        );
        let e = parse(&[(TARGET_TYPE, "invalid")]).err().unwrap();
        assert_eq!(
            e.message(),
            "Invalid value invalid for configuration target.type: String must be one of: \
             string, unix, Date, Time, Timestamp"
        );
        // ValidString is case-sensitive.
        assert_eq!(
            parse(&[(TARGET_TYPE, "timestamp")]).err().unwrap().key,
            TARGET_TYPE
        );
        let e = parse(&[(TARGET_TYPE, "unix"), (UNIX_PRECISION, "invalid")])
            .err()
            .unwrap();
        assert_eq!(
            e.message(),
            "Invalid value invalid for configuration unix.precision: String must be one of: \
             nanoseconds, microseconds, milliseconds, seconds"
        );
        assert!(parse(&[(TARGET_TYPE, "unix"), (UNIX_PRECISION, "seconds")]).is_ok());
        let e = parse(&[(TARGET_TYPE, "string")]).err().unwrap();
        assert_eq!(e.key, FORMAT);
        assert_eq!(
            e.message(),
            "TimestampConverter requires format option to be specified when using string \
             timestamps"
        );
        let e = parse(&[(TARGET_TYPE, "string"), (FORMAT, "bad-format")])
            .err()
            .unwrap();
        assert_eq!(e.key, FORMAT);
        assert_eq!(
            e.message(),
            "TimestampConverter requires a SimpleDateFormat-compatible pattern for string \
             timestamps: bad-format"
        );
        let e = parse(&[(TARGET_TYPE, "string"), (FORMAT, "yyyy-'W'ww")])
            .err()
            .unwrap();
        assert_eq!(e.key, FORMAT);
        assert!(e.message().starts_with(
            "Invalid value yyyy-'W'ww for configuration format: Pattern letter 'w' is not \
             supported"
        ));
    }

    /// testSchemalessIdentity, testSchemalessTimestampToDate, testSchemalessTimestampToTime,
    /// testSchemalessTimestampToUnix, testSchemalessTimestampToString.
    #[test]
    fn schemaless_timestamp_to_other_types() {
        for (target, expected) in [
            ("Timestamp", date_plus_time()),
            ("Date", date()),
            ("Time", time()),
            ("unix", Value::Int(DATE_PLUS_TIME_UNIX)),
            ("string", Value::text(DATE_PLUS_TIME_STRING)),
        ] {
            assert_eq!(
                run(&mut to(target), None, date_plus_time()).unwrap(),
                Part::new(None, expected),
                "{target}"
            );
        }
    }

    /// testSchemalessDateToTimestamp, testSchemalessTimeToTimestamp,
    /// testSchemalessUnixToTimestamp, testSchemalessStringToTimestamp.
    #[test]
    fn schemaless_other_types_to_timestamp() {
        let mut t = to("Timestamp");
        for (input, expected) in [
            (date(), Value::Timestamp(86_400_000_000)),
            (time(), Value::Timestamp(1_234_000)),
            (Value::Int(DATE_PLUS_TIME_UNIX), date_plus_time()),
            (Value::text(DATE_PLUS_TIME_STRING), date_plus_time()),
        ] {
            assert_eq!(run(&mut t, None, input).unwrap(), Part::new(None, expected));
        }
    }

    /// testWithSchemaIdentity, testWithSchemaTimestampToDate, testWithSchemaTimestampToTime,
    /// testWithSchemaTimestampToUnix, testWithSchemaTimestampToString.
    #[test]
    fn with_schema_timestamp_to_other_types() {
        for (target, schema, expected) in [
            ("Timestamp", timestamp_schema(false), date_plus_time()),
            ("Date", date_schema(false), date()),
            ("Time", time_schema(false), time()),
            (
                "unix",
                prim(SchemaType::Int64, false),
                Value::Int(DATE_PLUS_TIME_UNIX),
            ),
            (
                "string",
                prim(SchemaType::String, false),
                Value::text(DATE_PLUS_TIME_STRING),
            ),
        ] {
            assert_eq!(
                run(
                    &mut to(target),
                    Some(timestamp_schema(false)),
                    date_plus_time()
                )
                .unwrap(),
                Part::new(some(schema), expected),
                "{target}"
            );
        }
    }

    /// testWithSchemaDateToTimestamp, testWithSchemaTimeToTimestamp,
    /// testWithSchemaUnixToTimestamp, testWithSchemaStringToTimestamp.
    #[test]
    fn with_schema_other_types_to_timestamp() {
        let mut t = to("Timestamp");
        for (schema, input, expected) in [
            (date_schema(false), date(), Value::Timestamp(86_400_000_000)),
            (time_schema(false), time(), Value::Timestamp(1_234_000)),
            (
                prim(SchemaType::Int64, false),
                Value::Int(DATE_PLUS_TIME_UNIX),
                date_plus_time(),
            ),
            (
                prim(SchemaType::String, false),
                Value::text(DATE_PLUS_TIME_STRING),
                date_plus_time(),
            ),
        ] {
            assert_eq!(
                run(&mut t, Some(schema), input).unwrap(),
                Part::new(some(timestamp_schema(false)), expected)
            );
        }
    }

    /// testSchemalessNullValueTo* and the schemaless half of testSchemalessNullFieldConversion.
    #[test]
    fn schemaless_null_stays_null() {
        for target in TYPES {
            assert_eq!(run(&mut to(target), None, Value::Null).unwrap(), Part::NULL);
            let mut t = converter(&[
                (TARGET_TYPE, target),
                (FORMAT, STRING_DATE_FMT),
                (FIELD, "ts"),
            ]);
            assert_eq!(run(&mut t, None, Value::Null).unwrap(), Part::NULL);
        }
    }

    /// testWithSchemaNullValueTo* and testWithSchemaNullFieldTo*: every optional source schema,
    /// as the whole value or as field `ts` (and the whole optional struct null).
    #[test]
    fn with_schema_null_values() {
        let sources = || {
            [
                prim(SchemaType::Int64, true),
                time_schema(true),
                date_schema(true),
                prim(SchemaType::String, true),
                timestamp_schema(true),
            ]
        };
        let targets = [
            ("Timestamp", timestamp_schema(true)),
            ("unix", prim(SchemaType::Int64, true)),
            ("Time", time_schema(true)),
            ("Date", date_schema(true)),
            ("string", prim(SchemaType::String, true)),
        ];
        for (target, expected) in targets {
            for source in sources() {
                let mut t = to(target);
                assert_eq!(
                    run(&mut t, Some(source.clone()), Value::Null).unwrap(),
                    Part::new(some(expected.clone()), Value::Null)
                );

                let mut t = converter(&[
                    (TARGET_TYPE, target),
                    (FORMAT, STRING_DATE_FMT),
                    (FIELD, "ts"),
                ]);
                let fields =
                    |ts: Schema| vec![("ts", ts), ("other", prim(SchemaType::String, false))];
                let original = structure(fields(source.clone()), false);
                let expected_struct = structure(fields(expected.clone()), false);
                let out = run(
                    &mut t,
                    Some(original),
                    Value::Struct(vec![Value::Null, Value::text("test")]),
                )
                .unwrap();
                assert_eq!(
                    out,
                    Part::new(
                        some(expected_struct.clone()),
                        Value::Struct(vec![Value::Null, Value::text("test")])
                    )
                );
                let out = run(
                    &mut t,
                    Some(structure(fields(source.clone()), true)),
                    Value::Null,
                )
                .unwrap();
                assert_eq!(
                    out,
                    Part::new(some(expected_struct.into_optional()), Value::Null)
                );
            }
        }
    }

    /// testSchemalessFieldConversion.
    #[test]
    fn schemaless_field_conversion() {
        let mut t = converter(&[(TARGET_TYPE, "Date"), (FIELD, "ts")]);
        let out = run(
            &mut t,
            None,
            Value::Map(vec![(Value::text("ts"), date_plus_time())]),
        )
        .unwrap();
        assert_eq!(
            out,
            Part::new(None, Value::Map(vec![(Value::text("ts"), date())]))
        );
        // An absent field is put as null.
        let out = run(
            &mut t,
            None,
            Value::Map(vec![(Value::text("other"), Value::Int(1))]),
        )
        .unwrap();
        assert_eq!(
            out,
            Part::new(
                None,
                Value::Map(vec![
                    (Value::text("other"), Value::Int(1)),
                    (Value::text("ts"), Value::Null)
                ])
            )
        );
    }

    /// testWithSchemaFieldConversion and its _Micros, _Nanos and _Seconds variants.
    #[test]
    fn with_schema_field_conversion() {
        for (precision, input, expected) in [
            ("milliseconds", DATE_PLUS_TIME_UNIX, date_plus_time()),
            ("microseconds", DATE_PLUS_TIME_UNIX_MICROS, date_plus_time()),
            ("nanoseconds", DATE_PLUS_TIME_UNIX_NANOS, date_plus_time()),
            (
                "seconds",
                DATE_PLUS_TIME_UNIX_SECONDS,
                Value::Timestamp(86_401_000_000),
            ),
        ] {
            let mut t = converter(&[
                (TARGET_TYPE, "Timestamp"),
                (FIELD, "ts"),
                (UNIX_PRECISION, precision),
            ]);
            let schema = structure(
                vec![
                    ("ts", prim(SchemaType::Int64, false)),
                    ("other", prim(SchemaType::String, false)),
                ],
                false,
            );
            let out = run(
                &mut t,
                Some(schema),
                Value::Struct(vec![Value::Int(input), Value::text("test")]),
            )
            .unwrap();
            let expected_schema = structure(
                vec![
                    ("ts", timestamp_schema(false)),
                    ("other", prim(SchemaType::String, false)),
                ],
                false,
            );
            assert_eq!(
                out,
                Part::new(
                    some(expected_schema),
                    Value::Struct(vec![expected, Value::text("test")])
                ),
                "{precision}"
            );
        }
    }

    /// testSchemalessStringToUnix_Micros, _Nanos, _Seconds: the pivot has milliseconds only.
    #[test]
    fn schemaless_string_to_unix_precisions() {
        for (precision, expected) in [
            ("microseconds", 86_401_234_000),
            ("nanoseconds", 86_401_234_000_000),
            ("seconds", DATE_PLUS_TIME_UNIX_SECONDS),
        ] {
            let mut t = converter(&[
                (TARGET_TYPE, "unix"),
                (UNIX_PRECISION, precision),
                (FORMAT, STRING_DATE_FMT),
            ]);
            assert_eq!(
                run(&mut t, None, Value::text(DATE_PLUS_TIME_STRING)).unwrap(),
                Part::new(None, Value::Int(expected))
            );
        }
    }

    /// testKey.
    #[test]
    fn key() {
        let config = config_def()
            .parse(&BTreeMap::from([(
                TARGET_TYPE.to_string(),
                "Timestamp".to_string(),
            )]))
            .unwrap();
        let mut t = TimestampConverter::new(&config, Side::Key).unwrap();
        let mut record = Record::new("topic", Part::NULL);
        record.key = Part::new(None, date_plus_time());
        let out = t.apply(record).unwrap().unwrap();
        assert_eq!(out.key, Part::new(None, date_plus_time()));
        assert_eq!(out.value, Part::NULL);
    }

    /// Kafka's data errors: unparsable text, wrong classes, schemas that are no timestamp.
    #[test]
    fn data_errors() {
        let mut t = converter(&[(TARGET_TYPE, "unix"), (FORMAT, "yyyy-MM-dd")]);
        let e = run(&mut t, None, Value::text("01/02/2024")).unwrap_err();
        assert_eq!(
            e.context(),
            "Could not parse timestamp: value (01/02/2024) does not match pattern (yyyy-MM-dd)"
        );
        // SimpleDateFormat.parse is lenient and reads a prefix.
        assert_eq!(
            run(&mut t, None, Value::text("2024-01-02T03:04:05 garbage")).unwrap(),
            Part::new(None, Value::Int(1_704_153_600_000))
        );
        let e = run(&mut t, None, Value::Boolean(true)).unwrap_err();
        assert_eq!(
            e.context(),
            "TimestampConverter does not support class java.lang.Boolean objects as timestamps"
        );
        let e = run(&mut t, Some(prim(SchemaType::Int32, false)), Value::Int(1)).unwrap_err();
        assert_eq!(
            e.context(),
            "Schema Schema{INT32} does not correspond to a known timestamp type format"
        );
        let e = run(
            &mut t,
            Some(prim(SchemaType::Int64, false)),
            Value::text("1"),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Expected Unix timestamp to be a Long, but found class java.lang.String"
        );
        let mut t = converter(&[(TARGET_TYPE, "unix"), (FIELD, "ts")]);
        let e = run(&mut t, None, Value::Int(1)).unwrap_err();
        assert_eq!(
            e.context(),
            "Only Map objects supported in absence of schema for [converting timestamp formats], \
             found: java.lang.Long"
        );
    }

    /// `replace.null.with.default` on the other fields, and the struct's default converted.
    #[test]
    fn replace_null_with_default_and_struct_default() {
        let mut other = prim(SchemaType::String, true);
        other.default = Some(Box::new(Value::text("dflt")));
        let mut schema = structure(
            vec![
                ("ts", prim(SchemaType::Int64, false)),
                ("other", other.clone()),
            ],
            true,
        );
        schema.default = Some(Box::new(Value::Struct(vec![Value::Int(0), Value::Null])));
        let mut expected = structure(vec![("ts", date_schema(false)), ("other", other)], true);
        expected.default = Some(Box::new(Value::Struct(vec![
            Value::Date(0),
            Value::text("dflt"),
        ])));
        for (replace, other_value) in [("true", Value::text("dflt")), ("false", Value::Null)] {
            let mut t = converter(&[
                (TARGET_TYPE, "Date"),
                (FIELD, "ts"),
                ("replace.null.with.default", replace),
            ]);
            let mut expected = expected.clone();
            if replace == "false" {
                expected.default = Some(Box::new(Value::Struct(vec![Value::Date(0), Value::Null])));
            }
            let out = run(
                &mut t,
                Some(schema.clone()),
                Value::Struct(vec![Value::Int(DATE_PLUS_TIME_UNIX), Value::Null]),
            )
            .unwrap();
            assert_eq!(
                out,
                Part::new(some(expected), Value::Struct(vec![date(), other_value]))
            );
        }
    }
}
