//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`, Connect's default header
//! converter: a header value is written as its string form (`Values.convertToString`) and read
//! back by inferring a schema from the text (`Values.parseString`).

use std::sync::Arc;

use bytes::Bytes;

use super::Converter;
use crate::error::Result;
use crate::model::numeric::java_double;
use crate::model::record::Part;
use crate::model::{Schema, SchemaType, Value};
use crate::transform::java_date;
use crate::transform::values::parse_string;

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
        let (schema, value) = parse_string(text);
        Ok(Part::new(schema.map(Arc::new), value))
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
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            java_date::date_format_for(java_date::epoch_millis(value).unwrap_or_default())
        }
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

/// A Connect array's string form, `[a<sep>b]`: each item written by `render` with the array's
/// value schema.
fn join_items(
    schema: Option<&Schema>,
    items: &[Value],
    sep: &str,
    render: impl Fn(Option<&Schema>, &Value) -> String,
) -> String {
    let item = schema.and_then(|s| s.value_schema.as_deref());
    let inner: Vec<String> = items.iter().map(|v| render(item, v)).collect();
    format!("[{}]", inner.join(sep))
}

/// A Connect map's string form, `{k<kv>v<sep>…}`: keys and values written by `render` with the
/// map's key and value schemas.
fn join_entries(
    schema: Option<&Schema>,
    entries: &[(Value, Value)],
    kv: &str,
    sep: &str,
    render: impl Fn(Option<&Schema>, &Value) -> String,
) -> String {
    let ks = schema.and_then(|s| s.key_schema.as_deref());
    let vs = schema.and_then(|s| s.value_schema.as_deref());
    let inner: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}{kv}{}", render(ks, k), render(vs, v)))
        .collect();
    format!("{{{}}}", inner.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header value read by the converter, as a sink task reads it.
    fn parse_string(text: &str) -> Part {
        SimpleHeaderConverter
            .to_connect("t", Some(text.as_bytes()))
            .unwrap()
    }

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

    /// Dates, times and timestamps are written with `Values.dateFormatFor`, which looks at the
    /// instant, not at the schema: under a day a time, at midnight a date (REFERENCE-TRANSFORMS
    /// §4.4; UTC, as Sluice runs `Values`' formats).
    #[test]
    fn temporal_headers_as_date_format_for() {
        let written = |value: Value| {
            let bytes = SimpleHeaderConverter
                .from_connect("t", &Part::new(None, value))
                .unwrap()
                .unwrap();
            String::from_utf8(bytes).unwrap()
        };
        assert_eq!(
            written(Value::Timestamp(1_700_000_000_123_000)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            written(Value::Timestamp(1_704_153_600_000_000)),
            "2024-01-02"
        );
        assert_eq!(written(Value::Date(19_724)), "2024-01-02");
        assert_eq!(written(Value::Date(0)), "00:00:00.000Z");
        assert_eq!(written(Value::Time(1_000_000)), "00:00:01.000Z");
    }

    /// The converter reads headers with `Values.parseString` itself, where an approximation
    /// (integers as `long`, lists as JSON) went wrong.
    #[test]
    fn reads_as_values_parse_string() {
        // Beyond a long: a BigDecimal of scale 0, so a Decimal, not a FLOAT64.
        let big = parse_string("123456789012345678901234567890");
        assert_eq!(*big.schema.unwrap(), Schema::decimal(0, None, false));
        assert_eq!(
            big.value,
            Value::Decimal(Bytes::from_static(b"123456789012345678901234567890"))
        );
        // Elements that do not agree: `SchemaBuilder.arrayOfNull()`, an array schema all the same.
        let mixed = parse_string(r#"[1,"a"]"#);
        assert_eq!(
            *mixed.schema.unwrap(),
            Schema::primitive(SchemaType::Array, false)
        );
    }
}
