//! Connect's simple converters (each also a header converter with the same encoding):
//! `StringConverter`, `ByteArrayConverter`, and the `Short`/`Integer`/`Long`/`Float`/`Double`/
//! `Boolean` converters (big-endian, as Kafka's serializers write them).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::{Converter, Role};
use crate::config::ConfigError;
use crate::error::{Error, ErrorKind, Result};
use crate::model::record::Part;
use crate::model::{Schema, SchemaType, Value};
use crate::transform::util::java_string;

fn conversion(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Conversion, message.into())
}

fn optional(ty: SchemaType) -> Option<Arc<Schema>> {
    Some(Arc::new(Schema::primitive(ty, true)))
}

/// The character sets `converter.encoding` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
    Ascii,
}

impl Encoding {
    fn parse(key: &str, name: &str) -> Result<Encoding, ConfigError> {
        match name.trim().to_ascii_uppercase().as_str() {
            "UTF-8" | "UTF8" => Ok(Encoding::Utf8),
            "ISO-8859-1" | "ISO8859_1" | "LATIN1" => Ok(Encoding::Latin1),
            "US-ASCII" | "ASCII" => Ok(Encoding::Ascii),
            _ => Err(ConfigError::invalid(
                key,
                name,
                "Sluice supports the encodings UTF-8, ISO-8859-1 and US-ASCII",
            )),
        }
    }

    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            // Java replaces what the charset cannot hold with '?'.
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Encoding::Ascii => text
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Encoding::Ascii => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{FFFD}'
                    }
                })
                .collect(),
        }
    }
}

/// `org.apache.kafka.connect.storage.StringConverter`: `value.toString()` in
/// `converter.encoding` (UTF-8), read back as an optional string.
pub(crate) struct StringConverter {
    serialize: Encoding,
    deserialize: Encoding,
}

impl StringConverter {
    pub(crate) fn new(config: &BTreeMap<String, String>, _role: Role) -> Result<Self, ConfigError> {
        let base = match config.get("converter.encoding") {
            Some(name) => Encoding::parse("converter.encoding", name)?,
            None => Encoding::Utf8,
        };
        let pick = |key: &str| match config.get(key) {
            Some(name) => Encoding::parse(key, name),
            None => Ok(base),
        };
        Ok(StringConverter {
            serialize: pick("serializer.encoding")?,
            deserialize: pick("deserializer.encoding")?,
        })
    }
}

impl Converter for StringConverter {
    fn from_connect(&mut self, _topic: &str, part: &Part) -> Result<Option<Vec<u8>>> {
        if part.value.is_null() {
            return Ok(None);
        }
        Ok(Some(
            self.serialize
                .encode(&java_string(part.schema.as_deref(), &part.value)),
        ))
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<Part> {
        Ok(Part::new(
            optional(SchemaType::String),
            bytes.map_or(Value::Null, |b| Value::text(&self.deserialize.decode(b))),
        ))
    }
}

/// `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes as they are.
pub(crate) struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn from_connect(&mut self, _topic: &str, part: &Part) -> Result<Option<Vec<u8>>> {
        if let Some(schema) = &part.schema
            && schema.ty != SchemaType::Bytes
        {
            return Err(conversion(format!(
                "Invalid schema type for ByteArrayConverter: {}",
                schema.ty.json_name().to_uppercase()
            )));
        }
        match &part.value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.to_vec())),
            other => Err(conversion(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                crate::transform::util::java_class(other)
            ))),
        }
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<Part> {
        Ok(Part::new(
            optional(SchemaType::Bytes),
            bytes.map_or(Value::Null, |b| Value::Bytes(Bytes::copy_from_slice(b))),
        ))
    }
}

/// The number and boolean converters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Number {
    Short,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
}

impl Number {
    fn name(self) -> &'static str {
        match self {
            Number::Short => "short",
            Number::Integer => "integer",
            Number::Long => "long",
            Number::Float => "float",
            Number::Double => "double",
            Number::Boolean => "boolean",
        }
    }

    fn schema_type(self) -> SchemaType {
        match self {
            Number::Short => SchemaType::Int16,
            Number::Integer => SchemaType::Int32,
            Number::Long => SchemaType::Int64,
            Number::Float => SchemaType::Float32,
            Number::Double => SchemaType::Float64,
            Number::Boolean => SchemaType::Boolean,
        }
    }

    fn size(self) -> usize {
        match self {
            Number::Short => 2,
            Number::Integer | Number::Float => 4,
            Number::Long | Number::Double => 8,
            Number::Boolean => 1,
        }
    }
}

impl Converter for Number {
    fn from_connect(&mut self, _topic: &str, part: &Part) -> Result<Option<Vec<u8>>> {
        let mismatch = |value: &Value| {
            conversion(format!(
                "Failed to serialize to {} (was class {}): ",
                self.name(),
                crate::transform::util::java_class(value)
            ))
        };
        if *self == Number::Boolean
            && let Some(schema) = &part.schema
            && schema.ty != SchemaType::Boolean
        {
            return Err(mismatch(&part.value));
        }
        Ok(Some(match (*self, &part.value) {
            (_, Value::Null) => return Ok(None),
            (Number::Short, Value::Int(v)) => i16::try_from(*v)
                .map_err(|_| mismatch(&part.value))?
                .to_be_bytes()
                .to_vec(),
            (Number::Integer, Value::Int(v)) => i32::try_from(*v)
                .map_err(|_| mismatch(&part.value))?
                .to_be_bytes()
                .to_vec(),
            (Number::Long, Value::Int(v)) => v.to_be_bytes().to_vec(),
            (Number::Float, Value::Float(x)) => (*x as f32).to_bits().to_be_bytes().to_vec(),
            (Number::Double, Value::Float(x)) => x.to_bits().to_be_bytes().to_vec(),
            (Number::Boolean, Value::Boolean(b)) => vec![u8::from(*b)],
            (_, other) => return Err(mismatch(other)),
        }))
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<Part> {
        let schema = optional(self.schema_type());
        let Some(bytes) = bytes else {
            return Ok(Part::new(schema, Value::Null));
        };
        if bytes.len() != self.size() {
            return Err(conversion(format!(
                "Failed to deserialize {}: Size of data received by {}Deserializer is not {}",
                self.name(),
                match self {
                    Number::Short => "Short",
                    Number::Integer => "Integer",
                    Number::Long => "Long",
                    Number::Float => "Float",
                    Number::Double => "Double",
                    Number::Boolean => "Boolean",
                },
                self.size()
            )));
        }
        let value = match self {
            Number::Short => Value::Int(i64::from(i16::from_be_bytes([bytes[0], bytes[1]]))),
            Number::Integer => Value::Int(i64::from(i32::from_be_bytes(
                bytes.try_into().unwrap_or_default(),
            ))),
            Number::Long => Value::Int(i64::from_be_bytes(bytes.try_into().unwrap_or_default())),
            Number::Float => Value::Float(f64::from(f32::from_bits(u32::from_be_bytes(
                bytes.try_into().unwrap_or_default(),
            )))),
            Number::Double => Value::Float(f64::from_bits(u64::from_be_bytes(
                bytes.try_into().unwrap_or_default(),
            ))),
            Number::Boolean => match bytes[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => {
                    return Err(conversion(format!(
                        "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: {other}"
                    )));
                }
            },
        };
        Ok(Part::new(schema, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    #[test]
    fn string_converter_writes_to_string() {
        let mut c = StringConverter::new(&BTreeMap::new(), Role::Key).unwrap();
        let int = Part::new(
            Some(Arc::new(Schema::primitive(SchemaType::Int32, false))),
            Value::Int(2),
        );
        assert_eq!(c.from_connect("t", &int).unwrap().unwrap(), b"2");
        let schema = Schema::structure(
            None,
            vec![
                Field {
                    name: "a".into(),
                    schema: Schema::primitive(SchemaType::Int32, false),
                },
                Field {
                    name: "b".into(),
                    schema: Schema::primitive(SchemaType::String, true),
                },
            ],
            false,
        );
        let s = Part::new(
            Some(Arc::new(schema)),
            Value::Struct(vec![Value::Int(1), Value::Null]),
        );
        assert_eq!(c.from_connect("t", &s).unwrap().unwrap(), b"Struct{a=1}");
        assert_eq!(c.from_connect("t", &Part::NULL).unwrap(), None);
        // `toString()` of a java.util.Date (in UTC), a List and a Map.
        let written = |c: &mut StringConverter, value: Value| {
            c.from_connect("t", &Part::new(None, value))
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            written(&mut c, Value::Timestamp(1_700_000_000_123_000)),
            b"Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(
            written(&mut c, Value::Date(0)),
            b"Thu Jan 01 00:00:00 UTC 1970"
        );
        assert_eq!(
            written(&mut c, Value::Array(vec![Value::Int(1), Value::text("x")])),
            b"[1, x]"
        );
        assert_eq!(
            written(
                &mut c,
                Value::Map(vec![(Value::text("k"), Value::Float(1e10))])
            ),
            b"{k=1.0E10}"
        );
        let back = c.to_connect("t", Some(b"caf\xc3\xa9")).unwrap();
        assert_eq!(back.value, Value::text("café"));
        assert!(back.schema.unwrap().optional);
        let latin = StringConverter::new(
            &[("converter.encoding".to_string(), "ISO-8859-1".to_string())].into(),
            Role::Value,
        )
        .unwrap();
        assert_eq!(latin.serialize.encode("café"), b"caf\xe9");
        let bad = StringConverter::new(
            &[("converter.encoding".to_string(), "EBCDIC".to_string())].into(),
            Role::Value,
        );
        assert_eq!(bad.err().unwrap().key, "converter.encoding");
    }

    #[test]
    fn numbers_are_big_endian() {
        let int = |v| Part::new(None, Value::Int(v));
        assert_eq!(
            Number::Integer.from_connect("t", &int(2)).unwrap().unwrap(),
            [0, 0, 0, 2]
        );
        assert_eq!(
            Number::Short.from_connect("t", &int(-2)).unwrap().unwrap(),
            [0xff, 0xfe]
        );
        assert_eq!(
            Number::Long
                .to_connect("t", Some(&[0, 0, 0, 0, 0, 0, 1, 0]))
                .unwrap()
                .value,
            Value::Int(256)
        );
        assert_eq!(
            Number::Double
                .from_connect("t", &Part::new(None, Value::Float(1.5)))
                .unwrap()
                .unwrap(),
            1.5f64.to_bits().to_be_bytes()
        );
        let err = Number::Integer.to_connect("t", Some(&[1, 2])).unwrap_err();
        assert!(err.context().contains("is not 4"), "{}", err.context());
        let err = Number::Boolean.to_connect("t", Some(&[2])).unwrap_err();
        assert!(err.context().ends_with("BooleanDeserializer: 2"));
        let err = Number::Long
            .from_connect("t", &Part::new(None, Value::text("x")))
            .unwrap_err();
        assert_eq!(
            err.context(),
            "Failed to serialize to long (was class java.lang.String): "
        );
    }

    #[test]
    fn byte_array_passes_bytes() {
        let mut c = ByteArrayConverter;
        let part = Part::new(None, Value::Bytes(Bytes::from_static(b"\x00\x01")));
        assert_eq!(c.from_connect("t", &part).unwrap().unwrap(), b"\x00\x01");
        let wrong = Part::new(
            Some(Arc::new(Schema::primitive(SchemaType::String, false))),
            Value::text("x"),
        );
        assert_eq!(
            c.from_connect("t", &wrong).unwrap_err().context(),
            "Invalid schema type for ByteArrayConverter: STRING"
        );
    }
}
