//! `org.apache.kafka.connect.transforms.Cast$Key` / `$Value`: casts the whole key/value
//! (`spec=int32`) or some of its fields (`spec=a:int64,b:string`) to `int8`, `int16`, `int32`,
//! `int64`, `float32`, `float64`, `boolean` or `string`.
//!
//! As Kafka's `Cast` (3.9):
//! - A null key/value passes unchanged.
//! - Inputs: the integer and float types, boolean, string and bytes (so Decimal, Date, Time and
//!   Timestamp too); a schemaless value's type is its Java class (`Long`, `Double`, …).
//! - Java conversions: narrowing wraps (`300` → int8 `44`), float → int saturates and NaN is 0
//!   (`Double.intValue`), a Decimal truncates then wraps (`BigDecimal.intValue`), booleans are
//!   1/0, numbers are true when `longValue() != 0`, strings parse with `Byte.parseByte` …
//!   `Boolean.parseBoolean`, and everything prints with Java's `toString` (`1.0E10`,
//!   `BigDecimal.toString`, bytes as Base64, Date/Time/Timestamp with `Values.dateFormatFor`,
//!   here in UTC). Date, Time and Timestamp cast to a number are days, milliseconds of the day
//!   and epoch milliseconds.
//! - Field casts: the struct schema's basics are copied, fields keep their order, cast fields
//!   get a fresh unnamed schema (optional as before, default cast); `replace.null.with.default`
//!   chooses between `Struct.get` and `getWithoutDefault`. A whole-value cast keeps the name,
//!   version, doc and parameters on the new type. Schemaless field casts put every listed field,
//!   a missing one as null.

use std::sync::{Arc, LazyLock};

use base64::Engine;

use super::Transformation;
use super::java_date;
use super::util::{self, SchemaCache};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, java_split};
use crate::error::Result;
use crate::model::numeric::{JavaDecimal, java_double, unscaled_digits, write_big_decimal};
use crate::model::record::{Part, Record, Side};
use crate::model::{LogicalType, Schema, SchemaType, Value, logical};

const SPEC: &str = "spec";
const PURPOSE: &str = "cast types";

const INPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
const OUTPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";

static DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(ConfigKey::required(SPEC, ConfigType::List).doc(
            "List of fields and the type to cast them to of the form field1:type,field2:type to \
             cast fields of Maps or Structs. A single type to cast the entire value. Valid types \
             are int8, int16, int32, int64, float32, float64, boolean, and string. Note that \
             binary fields can only be cast to string.",
        ))
        .define(util::REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &DEF
}

/// What `spec` asks for.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    /// Cast the whole key/value.
    Whole(SchemaType),
    /// Cast these fields (in spec order; a repeated field takes its last type).
    Fields(Vec<(String, SchemaType)>),
}

/// Casts the key or the value.
pub(crate) struct Cast {
    side: Side,
    spec: Spec,
    replace_null_with_default: bool,
    schemas: SchemaCache<Arc<Schema>>,
}

/// `validCastType(type, OUTPUT)`.
fn output_type(ty: SchemaType) -> Result<SchemaType, ConfigError> {
    match ty {
        SchemaType::Bytes | SchemaType::Array | SchemaType::Map | SchemaType::Struct => {
            Err(ConfigError::rule(
                SPEC,
                format!(
                    "Cast transformation does not support casting to {}; supported types are \
                     {OUTPUT_TYPES}",
                    ty.java_name()
                ),
            ))
        }
        ty => Ok(ty),
    }
}

/// `Cast.parseFieldTypes` with the spec validator's messages.
fn parse_spec(mappings: &[String]) -> Result<Spec, ConfigError> {
    if mappings.is_empty() {
        return Err(ConfigError::rule(
            SPEC,
            "Must specify at least one field to cast.",
        ));
    }
    let mut whole = None;
    let mut fields: Vec<(String, SchemaType)> = Vec::new();
    for mapping in mappings {
        let parts = java_split(mapping, ':');
        match parts.as_slice() {
            [ty] => {
                let name = ty.trim();
                let ty = SchemaType::from_java_name(name).ok_or_else(|| {
                    ConfigError::rule(
                        SPEC,
                        format!(
                            "No enum constant org.apache.kafka.connect.data.Schema.Type.{}",
                            name.to_ascii_uppercase()
                        ),
                    )
                })?;
                whole = Some(output_type(ty)?);
            }
            [field, ty] => {
                let ty = SchemaType::from_java_name(ty.trim()).ok_or_else(|| {
                    ConfigError::rule(
                        SPEC,
                        format!("Invalid type found in casting spec: {}", ty.trim()),
                    )
                })?;
                let ty = output_type(ty)?;
                let field = field.trim();
                match fields.iter_mut().find(|(f, _)| f == field) {
                    Some(entry) => entry.1 = ty,
                    None => fields.push((field.to_string(), ty)),
                }
            }
            _ => {
                return Err(ConfigError::rule(
                    SPEC,
                    format!(
                        "Invalid value [{}] for configuration renames: Invalid rename mapping: \
                         {mapping}",
                        mappings.join(", ")
                    ),
                ));
            }
        }
    }
    match whole {
        Some(_) if mappings.len() > 1 => Err(ConfigError::rule(
            SPEC,
            "Cast transformations that specify a type to cast the entire value to may ony \
             specify a single cast in their spec",
        )),
        Some(ty) => Ok(Spec::Whole(ty)),
        None => Ok(Spec::Fields(fields)),
    }
}

impl Cast {
    /// `Cast$Key` or `Cast$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        Ok(Cast {
            side,
            spec: parse_spec(config.list(SPEC))?,
            replace_null_with_default: config.bool(util::REPLACE_NULL_WITH_DEFAULT.name),
            schemas: SchemaCache::new(),
        })
    }
}

impl Spec {
    fn field_target(&self, name: &str) -> Option<SchemaType> {
        match self {
            Spec::Fields(fields) => fields.iter().find(|(f, _)| f == name).map(|(_, t)| *t),
            Spec::Whole(_) => None,
        }
    }

    /// `getOrBuildSchema`.
    fn updated_schema(&self, schema: &Schema) -> Result<Schema> {
        let mut out = match self {
            Spec::Whole(ty) => util::copy_schema_basics_as(schema, *ty),
            Spec::Fields(_) => {
                if schema.ty != SchemaType::Struct {
                    return Err(util::data_error("Cannot list fields on non-struct type"));
                }
                let mut out = util::copy_schema_basics(schema);
                for field in &schema.fields {
                    let field = match self.field_target(&field.name) {
                        Some(ty) => {
                            let mut cast = Schema::primitive(ty, field.schema.optional);
                            if let Some(default) = field.schema.default.as_deref() {
                                cast.default =
                                    Some(Box::new(cast_value(Some(&field.schema), default, ty)?));
                            }
                            util::field(&field.name, cast)
                        }
                        None => field.clone(),
                    };
                    util::push_field(&mut out, field)?;
                }
                out
            }
        };
        out.optional = schema.optional;
        if let Some(default) = schema.default.as_deref() {
            out.default = Some(Box::new(cast_value(Some(schema), default, out.ty)?));
        }
        Ok(out)
    }
}

impl Transformation for Cast {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        if part.value.is_null() {
            return Ok(Some(record));
        }
        let cast = match (&part.schema, &self.spec) {
            (None, Spec::Whole(ty)) => Part::new(None, cast_value(None, &part.value, *ty)?),
            (None, Spec::Fields(fields)) => {
                let entries = util::require_map(&part.value, PURPOSE)?;
                let mut out = entries.to_vec();
                for (field, ty) in fields {
                    let value = part.value.map_get(field).unwrap_or(&Value::Null);
                    let value = cast_value(None, value, *ty)?;
                    match out.iter_mut().find(|(k, _)| k.as_str() == Some(field)) {
                        Some(entry) => entry.1 = value,
                        None => out.push((Value::text(field), value)),
                    }
                }
                Part::new(None, Value::Map(out))
            }
            (Some(schema), spec) => {
                let updated = self
                    .schemas
                    .get_or_try_insert(schema, |_| -> crate::error::Result<_> {
                        Ok(Arc::new(spec.updated_schema(schema)?))
                    })?;
                let value = match spec {
                    Spec::Whole(ty) => cast_value(Some(schema), &part.value, *ty)?,
                    Spec::Fields(_) => {
                        let values = util::require_struct(schema, &part.value, PURPOSE)?;
                        util::rebuild_struct(
                            schema,
                            values,
                            &updated,
                            self.replace_null_with_default,
                            |field, value| match spec.field_target(&field.name) {
                                Some(ty) => cast_value(Some(&field.schema), &value, ty),
                                None => Ok(value),
                            },
                        )?
                    }
                };
                Part::new(Some(updated), value)
            }
        };
        *record.part_mut(self.side) = cast;
        Ok(Some(record))
    }
}

/// A value as the Java object Cast sees.
enum Java<'v> {
    /// `Byte` … `Long` (and Date/Time/Timestamp encoded as their number).
    Integral(i64),
    Float(f32),
    Double(f64),
    /// `BigDecimal`: its canonical text and scale.
    Big(&'v [u8], i32),
    Boolean(bool),
    String(std::borrow::Cow<'v, str>),
    Bytes(&'v [u8]),
    /// A `java.util.Date` (only kept for a cast to string), in epoch milliseconds.
    Date(i64),
}

/// The schema type Connect infers for a schemaless value (`ConnectSchema.schemaType`).
fn inferred_type(value: &Value) -> Option<SchemaType> {
    Some(match value {
        Value::Boolean(_) => SchemaType::Boolean,
        Value::Int(_) => SchemaType::Int64,
        Value::Float(_) => SchemaType::Float64,
        Value::Text(_) => SchemaType::String,
        Value::Bytes(_) => SchemaType::Bytes,
        Value::Array(_) => SchemaType::Array,
        Value::Map(_) => SchemaType::Map,
        Value::Struct(_) => SchemaType::Struct,
        _ => return None,
    })
}

/// `Cast.castValueToType`.
fn cast_value(schema: Option<&Schema>, value: &Value, target: SchemaType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(schema) => schema.ty,
        None => inferred_type(value).ok_or_else(|| {
            util::data_error(format!(
                "Cast transformation was passed a value of type class {} which is not supported \
                 by Connect's data API",
                util::java_class(value)
            ))
        })?,
    };
    if matches!(
        inferred,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(util::data_error(format!(
            "Cast transformation does not support casting from {}; supported types are \
             {INPUT_TYPES}",
            inferred.java_name()
        )));
    }
    let to_string = target == SchemaType::String;
    let java = match value {
        Value::Int(v) => Java::Integral(*v),
        Value::Float(x) if schema.is_some_and(|s| s.ty == SchemaType::Float32) => {
            Java::Float(*x as f32)
        }
        Value::Float(x) => Java::Double(*x),
        Value::Decimal(text) => {
            let scale = match schema.and_then(Schema::logical_type) {
                Some(LogicalType::Decimal { scale }) => scale,
                _ => 0,
            };
            Java::Big(text, scale)
        }
        Value::Boolean(b) => Java::Boolean(*b),
        Value::Text(text) => Java::String(String::from_utf8_lossy(text)),
        Value::Bytes(bytes) => Java::Bytes(bytes),
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            let millis = java_date::epoch_millis(value).unwrap_or_default();
            let (name, number) = match value {
                Value::Date(days) => (logical::DATE, i64::from(*days)),
                Value::Time(_) => (logical::TIME, millis),
                _ => (logical::TIMESTAMP, millis),
            };
            match to_string || !is_named(schema, name) {
                true => Java::Date(millis),
                false => Java::Integral(number),
            }
        }
        Value::Struct(_) | Value::Array(_) | Value::Map(_) | Value::Null => {
            return Err(unexpected(value));
        }
    };
    let out_of_range = || {
        util::data_error(format!(
            "Value ({}) was out of range for requested data type",
            java_to_string(&java)
        ))
    };
    Ok(match target {
        SchemaType::Int8 => Value::Int(i64::from(
            java_int(&java, value, |s| s.parse::<i8>().map(i32::from).ok())
                .ok_or_else(out_of_range)?? as i8,
        )),
        SchemaType::Int16 => Value::Int(i64::from(
            java_int(&java, value, |s| s.parse::<i16>().map(i32::from).ok())
                .ok_or_else(out_of_range)?? as i16,
        )),
        SchemaType::Int32 => Value::Int(i64::from(
            java_int(&java, value, |s| s.parse::<i32>().ok()).ok_or_else(out_of_range)??,
        )),
        SchemaType::Int64 => Value::Int(java_long(&java, value).ok_or_else(out_of_range)??),
        SchemaType::Float32 => Value::Float(f64::from(match &java {
            Java::Integral(v) => *v as f32,
            Java::Float(x) => *x,
            Java::Double(x) => *x as f32,
            Java::Big(text, _) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f32>().ok())
                .unwrap_or(0.0),
            Java::Boolean(b) => f32::from(u8::from(*b)),
            Java::String(s) => java_parse_double(s)
                .and_then(|_| java_float_text(s).parse::<f32>().ok())
                .ok_or_else(out_of_range)?,
            Java::Bytes(_) | Java::Date(_) => return Err(unexpected(value)),
        })),
        SchemaType::Float64 => Value::Float(match &java {
            Java::Integral(v) => *v as f64,
            Java::Float(x) => f64::from(*x),
            Java::Double(x) => *x,
            Java::Big(text, _) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or(0.0),
            Java::Boolean(b) => f64::from(u8::from(*b)),
            Java::String(s) => java_parse_double(s).ok_or_else(out_of_range)?,
            Java::Bytes(_) | Java::Date(_) => return Err(unexpected(value)),
        }),
        SchemaType::Boolean => Value::Boolean(match &java {
            Java::String(s) => s.eq_ignore_ascii_case("true"),
            Java::Boolean(b) => *b,
            _ => java_long(&java, value).ok_or_else(out_of_range)?? != 0,
        }),
        SchemaType::String => Value::text(&java_to_string(&java)),
        other => {
            return Err(util::data_error(format!(
                "{} is not supported in the Cast transformation.",
                other.java_name()
            )));
        }
    })
}

fn is_named(schema: Option<&Schema>, name: &str) -> bool {
    schema.and_then(|s| s.name.as_deref()) == Some(name)
}

fn unexpected(value: &Value) -> crate::error::Error {
    util::data_error(format!(
        "Unexpected type in Cast transformation: class {}",
        util::java_class(value)
    ))
}

/// `Number.intValue()` (or 1/0, or `Integer.parseInt`-style `parse`): `None` when the text does
/// not parse, `Some(Err)` for a type Java cannot cast.
fn java_int(
    java: &Java<'_>,
    value: &Value,
    parse: impl Fn(&str) -> Option<i32>,
) -> Option<Result<i32>> {
    Some(Ok(match java {
        Java::Integral(v) => *v as i32,
        Java::Float(x) => *x as i32,
        Java::Double(x) => *x as i32,
        Java::Big(text, _) => big_long_value(text) as i32,
        Java::Boolean(b) => i32::from(*b),
        Java::String(s) => return parse(s).map(Ok),
        Java::Bytes(_) | Java::Date(_) => return Some(Err(unexpected(value))),
    }))
}

/// `Number.longValue()` (or 1/0, or `Long.parseLong`).
fn java_long(java: &Java<'_>, value: &Value) -> Option<Result<i64>> {
    Some(Ok(match java {
        Java::Integral(v) => *v,
        Java::Float(x) => *x as i64,
        Java::Double(x) => *x as i64,
        Java::Big(text, _) => big_long_value(text),
        Java::Boolean(b) => i64::from(*b),
        Java::String(s) => return s.parse::<i64>().ok().map(Ok),
        Java::Bytes(_) | Java::Date(_) => return Some(Err(unexpected(value))),
    }))
}

/// `BigDecimal.longValue()` of a Decimal value's text: the integer part's low 64 bits.
fn big_long_value(text: &[u8]) -> i64 {
    std::str::from_utf8(text)
        .ok()
        .and_then(JavaDecimal::parse)
        .map_or(0, |d| d.long_value())
}

/// The text `Double.parseDouble` would read, without Java's trailing type suffix.
fn java_float_text(s: &str) -> &str {
    let s = s.trim_matches(|c: char| c <= ' ');
    match s.strip_suffix(['f', 'F', 'd', 'D']) {
        Some(rest) if rest.ends_with(|c: char| c.is_ascii_digit() || c == '.') => rest,
        _ => s,
    }
}

/// `Double.parseDouble` for decimal text (`NaN`, `Infinity`, suffixes; not hex floats).
fn java_parse_double(s: &str) -> Option<f64> {
    let text = java_float_text(s);
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let negative = text.starts_with('-');
    match unsigned {
        "NaN" => return Some(f64::NAN),
        "Infinity" => {
            return Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        _ => {}
    }
    let plain = unsigned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !plain || !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    text.parse::<f64>().ok()
}

/// `toString()` of the Java object.
fn java_to_string(java: &Java<'_>) -> String {
    match java {
        Java::Integral(v) => v.to_string(),
        Java::Float(x) => java_double(f64::from(*x), true),
        Java::Double(x) => java_double(*x, false),
        Java::Big(text, scale) => big_decimal_string(text, *scale),
        Java::Boolean(b) => b.to_string(),
        Java::String(s) => s.to_string(),
        Java::Bytes(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Java::Date(millis) => java_date::date_format_for(*millis),
    }
}

/// `BigDecimal.toString()` of canonical decimal text at `scale`.
fn big_decimal_string(text: &[u8], scale: i32) -> String {
    let mut digits = Vec::new();
    match unscaled_digits(text, scale, 1_000_000, &mut digits) {
        Ok(negative) => {
            let mut out = Vec::new();
            write_big_decimal(&mut out, negative, &digits, scale);
            String::from_utf8(out).unwrap_or_default()
        }
        Err(_) => String::from_utf8_lossy(text).into_owned(),
    }
}

#[cfg(test)]
mod tests {

    use bytes::Bytes;

    use super::*;
    use crate::transform::util::fixtures::{prim, structure};

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        crate::transform::util::parse_pairs(config_def(), pairs)
    }

    fn cast(side: Side, spec: &str) -> Cast {
        let config = parse(&[(SPEC, spec)]).unwrap();
        Cast::new(&config, side).unwrap()
    }

    fn spec_error(spec: &str) -> String {
        let config = parse(&[(SPEC, spec)]).unwrap();
        let e = Cast::new(&config, Side::Value).err().unwrap();
        assert_eq!(e.key, SPEC);
        e.message()
    }

    fn record(schema: Option<Schema>, value: Value) -> Record {
        Record::new("topic", Part::new(schema.map(Arc::new), value))
    }

    fn apply(t: &mut Cast, record: Record) -> Result<Record> {
        t.apply(record).map(|r| r.unwrap())
    }

    fn whole(spec: &str, schema: Option<Schema>, value: Value) -> Part {
        apply(&mut cast(Side::Value, spec), record(schema, value))
            .unwrap()
            .value
    }

    fn some(schema: Schema) -> Option<Arc<Schema>> {
        Some(Arc::new(schema))
    }

    /// CastTest.testConfigEmpty, testConfigInvalidSchemaType, testConfigInvalidTargetType,
    /// testUnsupportedTargetType, testConfigInvalidMap, testConfigMixWholeAndFieldTransformation.
    #[test]
    fn config_errors_name_spec() {
        assert_eq!(spec_error(""), "Must specify at least one field to cast.");
        assert_eq!(
            spec_error("foo:faketype"),
            "Invalid type found in casting spec: faketype"
        );
        assert_eq!(
            spec_error("foo:array"),
            "Cast transformation does not support casting to ARRAY; supported types are [INT8, \
             INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
        );
        assert_eq!(
            spec_error("foo:bytes"),
            "Cast transformation does not support casting to BYTES; supported types are [INT8, \
             INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
        );
        assert_eq!(
            spec_error("foo:int8:extra"),
            "Invalid value [foo:int8:extra] for configuration renames: Invalid rename mapping: \
             foo:int8:extra"
        );
        assert_eq!(
            spec_error("foo:int8,int32"),
            "Cast transformations that specify a type to cast the entire value to may ony \
             specify a single cast in their spec"
        );
        assert_eq!(
            spec_error("faketype"),
            "No enum constant org.apache.kafka.connect.data.Schema.Type.FAKETYPE"
        );
        let missing = parse(&[]).unwrap_err();
        assert_eq!(
            missing.message(),
            "Missing required configuration \"spec\" which has no default value."
        );
        let bad = parse(&[(SPEC, "int8"), ("replace.null.with.default", "maybe")]).unwrap_err();
        assert_eq!(bad.key, "replace.null.with.default");
        // Java's split(":") drops trailing empty strings; types are case-insensitive.
        assert_eq!(
            cast(Side::Value, " a:INT8: , b : Float32 ").spec,
            Spec::Fields(vec![
                ("a".into(), SchemaType::Int8),
                ("b".into(), SchemaType::Float32)
            ])
        );
    }

    /// CastTest.castNullValueRecordWithSchema, castNullValueRecordSchemaless,
    /// castNullKeyRecordWithSchema, castNullKeyRecordSchemaless.
    #[test]
    fn null_passes_unchanged() {
        for side in [Side::Key, Side::Value] {
            let mut t = cast(side, "foo:int64");
            for schema in [None, some(prim(SchemaType::String))] {
                let mut r = record(None, Value::text("value"));
                r.key = Part::new(some(prim(SchemaType::String)), Value::text("key"));
                *r.part_mut(side) = Part::new(schema, Value::Null);
                assert_eq!(apply(&mut t, r.clone()).unwrap(), r);
            }
        }
    }

    /// CastTest.castWholeRecordKeyWithSchema and castWholeRecordValueWithSchema{Int8, Int16,
    /// Int32, Int64, Float32, Float64, BooleanTrue, BooleanFalse, String}.
    #[test]
    fn whole_value_with_schema() {
        let mut t = cast(Side::Key, "int8");
        let mut r = record(Some(prim(SchemaType::String)), Value::text("bogus"));
        r.key = Part::new(some(prim(SchemaType::Int32)), Value::Int(42));
        let out = apply(&mut t, r).unwrap();
        assert_eq!(
            out.key,
            Part::new(some(prim(SchemaType::Int8)), Value::Int(42))
        );
        assert_eq!(out.value.value, Value::text("bogus"));

        let int32 = || Some(prim(SchemaType::Int32));
        for (spec, ty, expected) in [
            ("int8", SchemaType::Int8, Value::Int(42)),
            ("int16", SchemaType::Int16, Value::Int(42)),
            ("int32", SchemaType::Int32, Value::Int(42)),
            ("int64", SchemaType::Int64, Value::Int(42)),
            ("float32", SchemaType::Float32, Value::Float(42.0)),
            ("float64", SchemaType::Float64, Value::Float(42.0)),
            ("boolean", SchemaType::Boolean, Value::Boolean(true)),
            ("string", SchemaType::String, Value::text("42")),
        ] {
            assert_eq!(
                whole(spec, int32(), Value::Int(42)),
                Part::new(some(prim(ty)), expected)
            );
        }
        assert_eq!(
            whole("boolean", int32(), Value::Int(0)),
            Part::new(some(prim(SchemaType::Boolean)), Value::Boolean(false))
        );
    }

    /// CastTest.castWholeBigDecimalRecordValueWithSchemaString and
    /// castWholeDateRecordValueWithSchemaString: the logical name stays on the new type.
    #[test]
    fn whole_logical_value_to_string_keeps_the_name() {
        let out = whole(
            "string",
            Some(Schema::decimal(0, None, false)),
            Value::Decimal(Bytes::from_static(b"42")),
        );
        let mut expected = Schema::decimal(0, None, false);
        expected.ty = SchemaType::String;
        assert_eq!(out, Part::new(some(expected), Value::text("42")));

        let ts = Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false);
        let out = whole("string", Some(ts), Value::Timestamp(86_400_001_000));
        let expected = Schema::logical(SchemaType::String, logical::TIMESTAMP, false);
        assert_eq!(
            out,
            Part::new(some(expected), Value::text("1970-01-02T00:00:00.001Z"))
        );
    }

    /// CastTest.castWholeRecordDefaultValue.
    #[test]
    fn whole_value_default_is_cast() {
        let mut schema = prim(SchemaType::Float32);
        schema.default = Some(Box::new(Value::Float(-42.125)));
        let out = whole("int32", Some(schema), Value::Float(42.125));
        let mut expected = prim(SchemaType::Int32);
        expected.default = Some(Box::new(Value::Int(-42)));
        assert_eq!(out, Part::new(some(expected), Value::Int(42)));
    }

    /// CastTest.castWholeRecordKeySchemaless, castWholeRecordValueSchemaless*, and
    /// castWholeRecordValueSchemalessUnsupportedType.
    #[test]
    fn whole_value_schemaless() {
        let mut t = cast(Side::Key, "int8");
        let mut r = record(Some(prim(SchemaType::String)), Value::text("bogus"));
        r.key = Part::new(None, Value::Int(42));
        assert_eq!(
            apply(&mut t, r).unwrap().key,
            Part::new(None, Value::Int(42))
        );
        for (spec, expected) in [
            ("int8", Value::Int(42)),
            ("int16", Value::Int(42)),
            ("int32", Value::Int(42)),
            ("int64", Value::Int(42)),
            ("float32", Value::Float(42.0)),
            ("float64", Value::Float(42.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::text("42")),
        ] {
            assert_eq!(whole(spec, None, Value::Int(42)), Part::new(None, expected));
        }
        assert_eq!(
            whole("boolean", None, Value::Int(0)),
            Part::new(None, Value::Boolean(false))
        );
        let e = apply(
            &mut cast(Side::Value, "int8"),
            record(None, Value::Array(vec![Value::text("foo")])),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Cast transformation does not support casting from ARRAY; supported types are \
             [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
        );
    }

    /// CastTest.castLogicalToPrimitive.
    #[test]
    fn logical_to_primitive() {
        let mut t = cast(
            Side::Value,
            "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,\
             decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32",
        );
        let schema = structure(vec![
            (
                "date_to_int32",
                Schema::logical(SchemaType::Int32, logical::DATE, false),
            ),
            (
                "timestamp_to_int64",
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false),
            ),
            (
                "time_to_int64",
                Schema::logical(SchemaType::Int32, logical::TIME, false),
            ),
            ("decimal_to_int32", Schema::decimal(0, None, false)),
            (
                "timestamp_to_float64",
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false),
            ),
            (
                "null_timestamp_to_int32",
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
            ),
        ]);
        let value = Value::Struct(vec![
            Value::Date(1),
            Value::Timestamp(0),
            Value::Time(1000),
            Value::Decimal(Bytes::from_static(b"2147483648")),
            Value::Timestamp(i64::MAX / 1000 * 1000),
            Value::Null,
        ]);
        let out = apply(&mut t, record(Some(schema), value)).unwrap();
        let expected = structure(vec![
            ("date_to_int32", prim(SchemaType::Int32)),
            ("timestamp_to_int64", prim(SchemaType::Int64)),
            ("time_to_int64", prim(SchemaType::Int64)),
            ("decimal_to_int32", prim(SchemaType::Int32)),
            ("timestamp_to_float64", prim(SchemaType::Float64)),
            (
                "null_timestamp_to_int32",
                Schema::primitive(SchemaType::Int32, true),
            ),
        ]);
        assert_eq!(
            out.value,
            Part::new(
                some(expected),
                Value::Struct(vec![
                    Value::Int(1),
                    Value::Int(0),
                    Value::Int(1),
                    Value::Int(i64::from(i32::MIN)),
                    // Kafka's Date(Long.MAX_VALUE) ⇒ 9.223372036854776E18; microseconds cap
                    // the value here at Long.MAX_VALUE / 1000 ms (9.223372036854776E15).
                    Value::Float((i64::MAX / 1000) as f64),
                    Value::Null,
                ])
            )
        );
    }

    /// CastTest.castLogicalToString (UTC).
    #[test]
    fn logical_to_string() {
        let mut t = cast(
            Side::Value,
            "date:string,decimal:string,time:string,timestamp:string",
        );
        let schema = structure(vec![
            (
                "date",
                Schema::logical(SchemaType::Int32, logical::DATE, false),
            ),
            ("decimal", Schema::decimal(0, None, false)),
            (
                "time",
                Schema::logical(SchemaType::Int32, logical::TIME, false),
            ),
            (
                "timestamp",
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false),
            ),
        ]);
        let value = Value::Struct(vec![
            Value::Date(1),
            Value::Decimal(Bytes::from_static(b"1982")),
            Value::Time(3_600_000_000),
            Value::Timestamp(1_700_000_000_123_456),
        ]);
        let out = apply(&mut t, record(Some(schema), value)).unwrap();
        let string = || prim(SchemaType::String);
        assert_eq!(
            out.value,
            Part::new(
                some(structure(vec![
                    ("date", string()),
                    ("decimal", string()),
                    ("time", string()),
                    ("timestamp", string()),
                ])),
                Value::Struct(vec![
                    Value::text("1970-01-02"),
                    Value::text("1982"),
                    Value::text("01:00:00.000Z"),
                    Value::text("2023-11-14T22:13:20.123Z"),
                ])
            )
        );
    }

    /// CastTest.castFieldsWithSchema.
    #[test]
    fn fields_with_schema() {
        let mut t = cast(
            Side::Value,
            "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,\
             boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,bytes:string,\
             byteArray:string",
        );
        let mut int32 = prim(SchemaType::Int32);
        int32.default = Some(Box::new(Value::Int(2)));
        let mut float64 = prim(SchemaType::Float64);
        float64.default = Some(Box::new(Value::Float(-1.125)));
        let timestamp = Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false);
        let schema = structure(vec![
            ("int8", prim(SchemaType::Int8)),
            ("int16", Schema::primitive(SchemaType::Int16, true)),
            ("int32", int32),
            ("int64", prim(SchemaType::Int64)),
            ("float32", prim(SchemaType::Float32)),
            ("float64", float64),
            ("boolean", prim(SchemaType::Boolean)),
            ("string", prim(SchemaType::String)),
            ("bigdecimal", Schema::decimal(0, None, false)),
            (
                "date",
                Schema::logical(SchemaType::Int32, logical::DATE, false),
            ),
            ("optional", Schema::primitive(SchemaType::Float32, true)),
            ("timestamp", timestamp.clone()),
            ("bytes", prim(SchemaType::Bytes)),
            ("byteArray", prim(SchemaType::Bytes)),
        ]);
        let bytes = Bytes::from_static(&[0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10]);
        let value = Value::Struct(vec![
            Value::Int(8),
            Value::Int(16),
            Value::Int(32),
            Value::Int(64),
            Value::Float(32.0),
            Value::Float(-64.0),
            Value::Boolean(true),
            Value::text("42"),
            Value::Decimal(Bytes::from_static(b"42")),
            Value::Date(1),
            Value::Null,
            Value::Timestamp(0),
            Value::Bytes(bytes.clone()),
            Value::Bytes(bytes),
        ]);
        let out = apply(&mut t, record(Some(schema), value)).unwrap();
        let mut int64 = prim(SchemaType::Int64);
        int64.default = Some(Box::new(Value::Int(2)));
        let mut boolean = prim(SchemaType::Boolean);
        boolean.default = Some(Box::new(Value::Boolean(true)));
        let expected = structure(vec![
            ("int8", prim(SchemaType::Int16)),
            ("int16", Schema::primitive(SchemaType::Int32, true)),
            ("int32", int64),
            ("int64", prim(SchemaType::Boolean)),
            ("float32", prim(SchemaType::Float64)),
            ("float64", boolean),
            ("boolean", prim(SchemaType::Int8)),
            ("string", prim(SchemaType::Int32)),
            ("bigdecimal", prim(SchemaType::String)),
            ("date", prim(SchemaType::String)),
            ("optional", Schema::primitive(SchemaType::Int32, true)),
            ("timestamp", timestamp),
            ("bytes", prim(SchemaType::String)),
            ("byteArray", prim(SchemaType::String)),
        ]);
        assert_eq!(
            out.value,
            Part::new(
                some(expected),
                Value::Struct(vec![
                    Value::Int(8),
                    Value::Int(16),
                    Value::Int(32),
                    Value::Boolean(true),
                    Value::Float(32.0),
                    Value::Boolean(true),
                    Value::Int(1),
                    Value::Int(42),
                    Value::text("42"),
                    Value::text("1970-01-02"),
                    Value::Null,
                    Value::Timestamp(0),
                    Value::text("/ty6mHZUMhA="),
                    Value::text("/ty6mHZUMhA="),
                ])
            )
        );
    }

    /// CastTest.castFieldsSchemaless (plus a missing field, put as null).
    #[test]
    fn fields_schemaless() {
        let mut t = cast(
            Side::Value,
            "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,\
             boolean:int8,string:int32,missing:string",
        );
        let entries = |values: Vec<Value>| {
            let names = [
                "int8", "int16", "int32", "int64", "float32", "float64", "boolean", "string",
                "missing",
            ];
            Value::Map(names.iter().map(|n| Value::text(n)).zip(values).collect())
        };
        let input = entries(vec![
            Value::Int(8),
            Value::Int(16),
            Value::Int(32),
            Value::Int(64),
            Value::Float(32.0),
            Value::Float(-64.0),
            Value::Boolean(true),
            Value::text("42"),
        ]);
        let out = apply(&mut t, record(None, input)).unwrap();
        let expected = entries(vec![
            Value::Int(8),
            Value::Int(16),
            Value::Int(32),
            Value::Boolean(true),
            Value::Float(32.0),
            Value::Boolean(true),
            Value::Int(1),
            Value::Int(42),
            Value::Null,
        ]);
        assert_eq!(out.value, Part::new(None, expected));
    }

    /// Java's numeric semantics: narrowing wraps, float to int saturates (NaN is 0), the
    /// Java `toString` of floats, and the errors of unparsable text and bytes.
    #[test]
    fn java_conversions_and_errors() {
        let int64 = || Some(prim(SchemaType::Int64));
        let float64 = || Some(prim(SchemaType::Float64));
        let float32 = || Some(prim(SchemaType::Float32));
        assert_eq!(
            whole("int8", int64(), Value::Int(300)).value,
            Value::Int(44)
        );
        assert_eq!(
            whole("int16", int64(), Value::Int(70_000)).value,
            Value::Int(4464)
        );
        assert_eq!(
            whole("int32", float64(), Value::Float(3.9e10)).value,
            Value::Int(2_147_483_647)
        );
        assert_eq!(
            whole("int8", float64(), Value::Float(300.7)).value,
            Value::Int(44)
        );
        assert_eq!(
            whole("int64", float64(), Value::Float(f64::NAN)).value,
            Value::Int(0)
        );
        assert_eq!(
            whole("boolean", float64(), Value::Float(0.5)).value,
            Value::Boolean(false)
        );
        assert_eq!(
            whole("string", float64(), Value::Float(1e10)).value,
            Value::text("1.0E10")
        );
        assert_eq!(
            whole("string", float32(), Value::Float(f64::from(0.1f32))).value,
            Value::text("0.1")
        );
        assert_eq!(
            whole("string", None, Value::Float(f64::from(0.1f32))).value,
            Value::text("0.10000000149011612")
        );
        assert_eq!(
            whole("float32", None, Value::text(" 1.5f ")).value,
            Value::Float(1.5)
        );
        assert_eq!(
            whole("boolean", None, Value::text("TRUE")).value,
            Value::Boolean(true)
        );
        assert_eq!(
            whole(
                "string",
                Some(Schema::decimal(7, None, false)),
                Value::Decimal(Bytes::from_static(b"0.0000001"))
            )
            .value,
            Value::text("1E-7")
        );
        assert_eq!(
            whole(
                "int8",
                Some(Schema::decimal(2, None, false)),
                Value::Decimal(Bytes::from_static(b"-300.99"))
            )
            .value,
            Value::Int(-44)
        );

        let mut t = cast(Side::Value, "int8");
        let e = apply(&mut t, record(None, Value::text("300"))).unwrap_err();
        assert_eq!(
            e.context(),
            "Value (300) was out of range for requested data type"
        );
        let e = apply(
            &mut t,
            record(None, Value::Bytes(Bytes::from_static(b"\x01"))),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Unexpected type in Cast transformation: class [B"
        );
        let e = apply(
            &mut t,
            record(None, Value::Decimal(Bytes::from_static(b"1"))),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Cast transformation was passed a value of type class java.math.BigDecimal which is \
             not supported by Connect's data API"
        );
        let mut t = cast(Side::Value, "s:int8");
        let schema = structure(vec![("s", structure(vec![]))]);
        let e = apply(
            &mut t,
            record(Some(schema), Value::Struct(vec![Value::Struct(vec![])])),
        )
        .unwrap_err();
        assert!(
            e.context()
                .starts_with("Cast transformation does not support casting from STRUCT")
        );
        let e = apply(&mut t, record(None, Value::Int(1))).unwrap_err();
        assert_eq!(
            e.context(),
            "Only Map objects supported in absence of schema for [cast types], found: \
             java.lang.Long"
        );
    }

    /// `replace.null.with.default`: a null field with a default is cast from its default
    /// (`Struct.get`) or kept null (`getWithoutDefault`).
    #[test]
    fn replace_null_with_default() {
        let mut field = Schema::primitive(SchemaType::Int32, true);
        field.default = Some(Box::new(Value::Int(42)));
        let schema = structure(vec![
            ("a", field),
            ("b", Schema::primitive(SchemaType::Int32, true)),
        ]);
        let mut expected_field = Schema::primitive(SchemaType::String, true);
        expected_field.default = Some(Box::new(Value::text("42")));
        let mut expected_b = Schema::primitive(SchemaType::Int32, true);
        expected_b.default = None;
        let expected = Arc::new(structure(vec![("a", expected_field), ("b", expected_b)]));
        for (replace, value) in [("true", Value::text("42")), ("false", Value::Null)] {
            let config =
                parse(&[(SPEC, "a:string"), ("replace.null.with.default", replace)]).unwrap();
            let mut t = Cast::new(&config, Side::Value).unwrap();
            let out = apply(
                &mut t,
                record(
                    Some(schema.clone()),
                    Value::Struct(vec![Value::Null, Value::Null]),
                ),
            )
            .unwrap();
            assert_eq!(
                out.value,
                Part::new(
                    Some(expected.clone()),
                    Value::Struct(vec![value, Value::Null])
                )
            );
        }
    }
}
