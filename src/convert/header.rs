//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`, Connect's default header
//! converter: a header value is written as its string form (`Values.convertToString`) and read
//! back by inferring a schema from the text (`Values.parseString`).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value as Json;

use super::{Converter, join_entries, join_items};
use crate::error::Result;
use crate::model::numeric::java_double;
use crate::model::record::Part;
use crate::model::{Schema, SchemaType, Value};

/// Connect's default header converter.
pub(crate) struct SimpleHeaderConverter;

impl Converter for SimpleHeaderConverter {
    fn from_connect(&mut self, _topic: &str, part: &Part) -> Result<Option<Vec<u8>>> {
        if part.value.is_null() {
            return Ok(None);
        }
        Ok(Some(
            convert_to_string(part.schema.as_deref(), &part.value, false).into_bytes(),
        ))
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<Part> {
        let Some(bytes) = bytes else {
            return Ok(Part::NULL);
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(Part::new(
                Some(Arc::new(Schema::primitive(SchemaType::Bytes, false))),
                Value::Bytes(Bytes::copy_from_slice(bytes)),
            ));
        };
        Ok(parse_string(text))
    }
}

/// `Values.convertToString`: a top-level string as it is, nested strings quoted.
pub(crate) fn convert_to_string(schema: Option<&Schema>, value: &Value, nested: bool) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Text(t) if nested => {
            let s = String::from_utf8_lossy(t);
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }
        Value::Text(t) | Value::Decimal(t) => String::from_utf8_lossy(t).into_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => java_double(*x, schema.is_some_and(|s| s.ty == SchemaType::Float32)),
        Value::Bytes(b) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(b)
        }
        Value::Date(days) => chrono::DateTime::from_timestamp(i64::from(*days) * 86_400, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        Value::Time(micros) => chrono::DateTime::from_timestamp_micros(*micros)
            .map(|t| t.format("%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default(),
        Value::Timestamp(micros) => chrono::DateTime::from_timestamp_micros(*micros)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default(),
        Value::Array(items) => join_items(schema, items, ",", |s, v| convert_to_string(s, v, true)),
        Value::Map(entries) => join_entries(schema, entries, ":", ",", |s, v| {
            convert_to_string(s, v, true)
        }),
        Value::Struct(values) => {
            let fields = schema.map(|s| s.fields.as_slice()).unwrap_or_default();
            let inner: Vec<String> = fields
                .iter()
                .zip(values)
                .map(|(f, v)| {
                    format!(
                        "\"{}\":{}",
                        f.name,
                        convert_to_string(Some(&f.schema), v, true)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
    }
}

fn primitive(ty: SchemaType) -> Option<Arc<Schema>> {
    Some(Arc::new(Schema::primitive(ty, false)))
}

/// The smallest integer schema that holds `v`.
fn integer(v: i64) -> Part {
    let ty = if i8::try_from(v).is_ok() {
        SchemaType::Int8
    } else if i16::try_from(v).is_ok() {
        SchemaType::Int16
    } else if i32::try_from(v).is_ok() {
        SchemaType::Int32
    } else {
        SchemaType::Int64
    };
    Part::new(primitive(ty), Value::Int(v))
}

/// `Values.parseString`: booleans, integers (smallest type), floats (FLOAT32 when exact as a
/// float), dates and times in Connect's ISO forms, JSON-like lists and maps; anything else is a
/// string.
pub(crate) fn parse_string(text: &str) -> Part {
    let trimmed = text.trim();
    if text.is_empty() {
        return Part::new(primitive(SchemaType::String), Value::text(""));
    }
    match trimmed {
        "true" => return Part::new(primitive(SchemaType::Boolean), Value::Boolean(true)),
        "false" => return Part::new(primitive(SchemaType::Boolean), Value::Boolean(false)),
        "null" => return Part::NULL,
        _ => {}
    }
    if let Ok(v) = trimmed.parse::<i64>() {
        return integer(v);
    }
    if trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
        && let Ok(x) = trimmed.parse::<f64>()
    {
        let ty = if f64::from(x as f32) == x {
            SchemaType::Float32
        } else {
            SchemaType::Float64
        };
        return Part::new(primitive(ty), Value::Float(x));
    }
    if let Some(part) = temporal(trimmed) {
        return part;
    }
    if (trimmed.starts_with('[') || trimmed.starts_with('{'))
        && let Ok(json) = serde_json::from_str::<Json>(trimmed)
    {
        let value = crate::convert::json::schemaless(&json);
        return Part::new(infer(&value).map(Arc::new), value);
    }
    Part::new(primitive(SchemaType::String), Value::text(text))
}

/// `yyyy-MM-dd`, `HH:mm:ss.SSS'Z'` and `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`.
fn temporal(text: &str) -> Option<Part> {
    use crate::model::logical;
    match text.len() {
        10 => {
            let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            let days = date.signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?);
            Some(Part::new(
                Some(Arc::new(Schema::logical(
                    SchemaType::Int32,
                    logical::DATE,
                    false,
                ))),
                Value::Date(days.num_days() as i32),
            ))
        }
        13 => {
            let time = chrono::NaiveTime::parse_from_str(text, "%H:%M:%S%.3fZ").ok()?;
            let micros = time
                .signed_duration_since(chrono::NaiveTime::MIN)
                .num_microseconds()?;
            Some(Part::new(
                Some(Arc::new(Schema::logical(
                    SchemaType::Int32,
                    logical::TIME,
                    false,
                ))),
                Value::Time(micros),
            ))
        }
        24 => {
            let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3fZ").ok()?;
            Some(Part::new(
                Some(Arc::new(Schema::logical(
                    SchemaType::Int64,
                    logical::TIMESTAMP,
                    false,
                ))),
                Value::Timestamp(at.and_utc().timestamp_micros()),
            ))
        }
        _ => None,
    }
}

/// A schema for a parsed list or map when all its elements agree (Connect leaves it null
/// otherwise).
fn infer(value: &Value) -> Option<Schema> {
    fn of(value: &Value) -> Option<Schema> {
        Some(match value {
            Value::Boolean(_) => Schema::primitive(SchemaType::Boolean, false),
            Value::Int(v) => (*integer(*v).schema?).clone(),
            Value::Float(_) => Schema::primitive(SchemaType::Float64, false),
            Value::Text(_) => Schema::primitive(SchemaType::String, false),
            Value::Array(_) | Value::Map(_) => infer(value)?,
            _ => return None,
        })
    }
    fn common(values: impl Iterator<Item = Option<Schema>>) -> Option<Schema> {
        let mut found: Option<Schema> = None;
        for schema in values {
            let schema = schema?;
            match &found {
                None => found = Some(schema),
                Some(prev) if *prev == schema => {}
                Some(prev) if is_int(prev.ty) && is_int(schema.ty) => {
                    if rank(schema.ty) > rank(prev.ty) {
                        found = Some(schema);
                    }
                }
                Some(_) => return None,
            }
        }
        found
    }
    fn is_int(ty: SchemaType) -> bool {
        matches!(
            ty,
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64
        )
    }
    fn rank(ty: SchemaType) -> u8 {
        match ty {
            SchemaType::Int8 => 0,
            SchemaType::Int16 => 1,
            SchemaType::Int32 => 2,
            _ => 3,
        }
    }
    match value {
        Value::Array(items) => Some(Schema::array(common(items.iter().map(of))?, false)),
        Value::Map(entries) => Some(Schema::map(
            common(entries.iter().map(|(k, _)| of(k)))?,
            common(entries.iter().map(|(_, v)| of(v)))?,
            false,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_round_trips_as_kafka() {
        // REFERENCE-TRANSFORMS §4.4: "42" ⇒ INT8; "true" ⇒ BOOLEAN; 1.5 ⇒ FLOAT32; bytes ⇒ base64.
        let p = parse_string("42");
        assert_eq!(p.schema.unwrap().ty, SchemaType::Int8);
        assert_eq!(p.value, Value::Int(42));
        assert_eq!(parse_string("true").value, Value::Boolean(true));
        assert_eq!(parse_string("1.5").schema.unwrap().ty, SchemaType::Float32);
        assert_eq!(parse_string("hello").value, Value::text("hello"));
        let mut c = SimpleHeaderConverter;
        let bytes = Part::new(None, Value::Bytes(Bytes::from_static(&[1, 2])));
        assert_eq!(c.from_connect("t", &bytes).unwrap().unwrap(), b"AQI=");
        assert_eq!(
            c.from_connect("t", &Part::new(None, Value::text("x")))
                .unwrap()
                .unwrap(),
            b"x"
        );
    }

    #[test]
    fn lists_and_maps_get_common_schemas() {
        // shouldConvertListWithIntegerValues, shouldConvertMapWithStringKeys
        let list = parse_string("[1234567890,-987654321]");
        assert_eq!(
            *list.schema.unwrap(),
            Schema::array(Schema::primitive(SchemaType::Int32, false), false)
        );
        let map = parse_string(r#"{"foo":"123","bar":"baz"}"#);
        assert_eq!(
            *map.schema.unwrap(),
            Schema::map(
                Schema::primitive(SchemaType::String, false),
                Schema::primitive(SchemaType::String, false),
                false
            )
        );
        let ts = parse_string("2023-11-14T22:13:20.123Z");
        assert_eq!(ts.value, Value::Timestamp(1_700_000_000_123_000));
    }
}
