//! Kafka Connect's `JsonConverter`.
//!
//! - [`encode`]: the zero-copy encoder for source rows, the source pipeline's fast path.
//! - [`decode`]: the tape decoder for sink records, the sink pipeline's fast path.
//! - [`JsonConverter`]: the general converter for the record stage: any schema (arrays, maps,
//!   nested structs, defaults), schemaless data, headers. Keys: `schemas.enable` (true),
//!   `decimal.format` (`BASE64` | `NUMERIC`), `replace.null.with.default` (true),
//!   `schemas.cache.size` (accepted).

pub mod decode;
pub mod encode;
mod payload;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use self::decode::JsonDecoder;
use self::encode::JsonEncoder;
use super::Converter;
use crate::config::{ConfigDef, ConfigError, ConfigKey, ConfigType, Validator};
use crate::error::{Error, ErrorKind, Result};
use crate::model::arena::ValueArena;
use crate::model::record::Part;
use crate::model::{Field, LogicalType, Schema, SchemaType, Value};

/// JsonConverter's message for a record that is not exactly a schema-and-payload envelope.
const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// The general JsonConverter.
pub struct JsonConverter {
    settings: JsonSettings,
    scratch: encode::Scratch,
    /// Schema JSON by schema address (each entry keeps its `Arc`), bounded.
    schema_json: Vec<(Arc<Schema>, Box<[u8]>)>,
    /// Parsed schemas by their raw JSON text, bounded.
    schemas: HashMap<Box<str>, Arc<Schema>>,
    /// The schemas of the last few records, by their raw JSON text: a record whose bytes start
    /// with one of them skips the envelope parse (see [`JsonConverter::recent_schema`]).
    recent: Vec<(Box<[u8]>, Arc<Schema>)>,
    /// Where read strings are kept.
    arena: ValueArena,
}

/// Schemas [`JsonConverter::recent_schema`] compares against: a sink task reads a few topics.
const RECENT_SCHEMAS: usize = 8;

/// JsonConverter's envelope with its two members left unparsed: the schema is looked up by its
/// text, and only the payload is parsed.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    schema: &'a RawValue,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// JsonConverter's settings that change the bytes, as the fast encoder and decoder take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JsonSettings {
    /// `schemas.enable` (true).
    pub(crate) schemas_enable: bool,
    /// `decimal.format=NUMERIC` (false: `BASE64`).
    pub(crate) decimal_numeric: bool,
    /// `replace.null.with.default` (true): a null takes its schema's default.
    pub(crate) replace_null_with_default: bool,
}

impl Default for JsonSettings {
    /// JsonConverter's defaults, from its key definitions.
    fn default() -> Self {
        JsonSettings::parse(&BTreeMap::new()).expect("JsonConverter's defaults are valid")
    }
}

/// JsonConverter's keys (`JsonConverterConfig`): the converter reads its settings with them and
/// the REST API validates them with them.
pub(crate) fn config_keys() -> &'static ConfigDef {
    static DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
        ConfigDef::new()
            .define(
                ConfigKey::with_default("schemas.enable", ConfigType::Boolean, "true")
                    .group("Schemas")
                    .display("Enable Schemas")
                    .doc("Include schemas within each of the serialized values and keys."),
            )
            .define(
                ConfigKey::with_default("schemas.cache.size", ConfigType::Int, "1000")
                    .group("Schemas")
                    .display("Schema Cache Size")
                    .doc("The maximum number of schemas that can be cached in this converter instance."),
            )
            .define(
                ConfigKey::with_default("decimal.format", ConfigType::String, "BASE64")
                    .validator(Validator::OneOfCaseInsensitive(&["BASE64", "NUMERIC"]))
                    .group("Serialization")
                    .display("Decimal Format")
                    .doc("Controls which format this converter will serialize decimals in. This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'"),
            )
            .define(
                ConfigKey::with_default("replace.null.with.default", ConfigType::Boolean, "true")
                    .group("Serialization")
                    .display("Replace null with default")
                    .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."),
            )
    });
    &DEF
}

impl JsonSettings {
    /// The settings in a JsonConverter's sub-keys (`schemas.enable`, …); errors name the
    /// sub-key.
    pub(crate) fn parse(config: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let parsed = config_keys().parse(config)?;
        Ok(JsonSettings {
            schemas_enable: parsed.bool("schemas.enable"),
            decimal_numeric: parsed
                .string("decimal.format")
                .is_some_and(|format| format.eq_ignore_ascii_case("NUMERIC")),
            replace_null_with_default: parsed.bool("replace.null.with.default"),
        })
    }

    /// The fast encoder with these settings.
    pub(crate) fn encoder(self) -> JsonEncoder {
        JsonEncoder::new(self.schemas_enable, self.decimal_numeric)
            .replace_null_with_default(self.replace_null_with_default)
    }

    /// The fast decoder with these settings (it reads either decimal format).
    pub(crate) fn decoder(self) -> JsonDecoder {
        JsonDecoder::new(self.schemas_enable)
            .replace_null_with_default(self.replace_null_with_default)
    }
}

/// Cached schemas per direction.
const SCHEMA_CACHE: usize = 64;

impl JsonConverter {
    /// Configured from its sub-keys; errors name the sub-key.
    pub fn new(config: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        Ok(JsonConverter {
            settings: JsonSettings::parse(config)?,
            scratch: encode::Scratch::default(),
            schema_json: Vec::new(),
            schemas: HashMap::new(),
            recent: Vec::new(),
            arena: ValueArena::default(),
        })
    }

    /// The record's schema and payload text when it is written as the last few records were:
    /// `{"schema":<one of their schemas>,"payload":<payload>}`, compact, as JsonConverter and
    /// Debezium write it. Anything else takes the envelope parse.
    fn recent_schema<'b>(&self, bytes: &'b [u8]) -> Option<(Arc<Schema>, &'b [u8])> {
        let rest = bytes.strip_prefix(b"{\"schema\":")?;
        self.recent.iter().find_map(|(text, schema)| {
            let payload = rest
                .strip_prefix(&text[..])?
                .strip_prefix(b",\"payload\":")?
                .strip_suffix(b"}")?;
            Some((schema.clone(), payload))
        })
    }

    fn remember(&mut self, text: &str, schema: &Arc<Schema>) {
        if self.recent.iter().any(|(t, _)| t[..] == *text.as_bytes()) {
            return;
        }
        if self.recent.len() >= RECENT_SCHEMAS {
            self.recent.pop();
        }
        self.recent
            .insert(0, (text.as_bytes().into(), schema.clone()));
    }

    fn write_schema(&mut self, out: &mut Vec<u8>, schema: &Arc<Schema>) {
        if let Some((_, json)) = self
            .schema_json
            .iter()
            .find(|(s, _)| Arc::ptr_eq(s, schema))
        {
            out.extend_from_slice(json);
            return;
        }
        let start = out.len();
        encode::write_schema_json(out, schema);
        if self.schema_json.len() >= SCHEMA_CACHE {
            self.schema_json.remove(0);
        }
        self.schema_json
            .push((schema.clone(), out[start..].to_vec().into_boxed_slice()));
    }
}

impl Converter for JsonConverter {
    fn from_connect(&mut self, _topic: &str, part: &Part) -> Result<Option<Vec<u8>>> {
        if part.schema.is_none() && part.value.is_null() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(256);
        if self.settings.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match &part.schema {
                Some(schema) => self.write_schema(&mut out, schema),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
        }
        match &part.schema {
            Some(schema) => encode::write_connect(
                &mut out,
                schema,
                &part.value,
                self.settings.decimal_numeric,
                self.settings.replace_null_with_default,
                &mut self.scratch,
            )?,
            None => encode::write_schemaless(&mut out, &part.value)?,
        }
        if self.settings.schemas_enable {
            out.push(b'}');
        }
        Ok(Some(out))
    }

    fn to_connect(&mut self, topic: &str, bytes: Option<&[u8]>) -> Result<Part> {
        self.to_connect_fields(topic, bytes, &mut |_| None)
    }

    fn to_connect_fields(
        &mut self,
        _topic: &str,
        bytes: Option<&[u8]>,
        fields_read: &mut crate::convert::FieldsRead<'_>,
    ) -> Result<Part> {
        let Some(bytes) = bytes else {
            return Ok(Part::NULL);
        };
        if !self.settings.schemas_enable && bytes.is_empty() {
            return Ok(Part::NULL);
        }
        let serialization = |e: serde_json::Error| {
            Error::with_source(
                ErrorKind::Conversion,
                "Converting byte[] to Kafka Connect data failed due to serialization error: ",
                e,
            )
        };
        if !self.settings.schemas_enable {
            let json: Json = serde_json::from_slice(bytes).map_err(serialization)?;
            return Ok(Part::new(None, schemaless(&json)));
        }
        if let Some((schema, payload)) = self.recent_schema(bytes)
            && let Some(value) = payload::read(
                &schema,
                payload,
                fields_read(&schema).as_deref(),
                self.settings.replace_null_with_default,
                &mut self.arena,
            )
        {
            return Ok(Part::new(Some(schema), value));
        }
        let envelope: Envelope<'_> = match serde_json::from_slice(bytes) {
            Ok(envelope) => envelope,
            Err(e) if e.is_data() || e.is_eof() => {
                return Err(Error::new(ErrorKind::Conversion, ENVELOPE_ERROR));
            }
            Err(e) => return Err(serialization(e)),
        };
        let text = envelope.schema.get();
        let schema = match self.schemas.get(text) {
            Some(schema) => schema.clone(),
            None => {
                let schema_json: Json = serde_json::from_str(text).map_err(serialization)?;
                if schema_json.is_null() {
                    let payload: Json =
                        serde_json::from_str(envelope.payload.get()).map_err(serialization)?;
                    return Ok(Part::new(None, schemaless(&payload)));
                }
                let schema = Arc::new(parse_schema(&schema_json)?);
                if self.schemas.len() >= SCHEMA_CACHE {
                    self.schemas.clear();
                }
                self.schemas.insert(text.into(), schema.clone());
                schema
            }
        };
        self.remember(text, &schema);
        let payload = envelope.payload.get();
        if let Some(value) = payload::read(
            &schema,
            payload.as_bytes(),
            fields_read(&schema).as_deref(),
            self.settings.replace_null_with_default,
            &mut self.arena,
        ) {
            return Ok(Part::new(Some(schema), value));
        }
        let payload: Json = serde_json::from_str(payload).map_err(serialization)?;
        let value = to_value(&schema, &payload, self.settings.replace_null_with_default)?;
        Ok(Part::new(Some(schema), value))
    }
}

fn conversion(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Conversion, message.into())
}

/// A schemaless JSON value as Connect reads it: objects as maps, integral numbers as `Int`
/// (Long), other numbers as `Float` (Double).
pub(crate) fn schemaless(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::text(s),
        Json::Array(items) => Value::Array(items.iter().map(schemaless).collect()),
        Json::Object(members) => Value::Map(
            members
                .iter()
                .map(|(k, v)| (Value::text(k), schemaless(v)))
                .collect(),
        ),
    }
}

/// `JsonConverter.asConnectSchema`.
pub(crate) fn parse_schema(json: &Json) -> Result<Schema> {
    let Json::Object(node) = json else {
        return Err(conversion("Schema must be an object"));
    };
    let ty = match node.get("type") {
        Some(Json::String(t)) => SchemaType::from_json_name(t)
            .ok_or_else(|| conversion(format!("Unknown schema type: {t}")))?,
        Some(_) => return Err(conversion("Schema type field must be a string")),
        None => return Err(conversion("Schema must contain 'type' field")),
    };
    let mut schema = Schema::primitive(ty, node.get("optional") == Some(&Json::Bool(true)));
    if let Some(Json::String(name)) = node.get("name") {
        schema.name = Some(name.clone());
    }
    if let Some(Json::Number(v)) = node.get("version") {
        schema.version = v.as_i64().and_then(|v| i32::try_from(v).ok());
    }
    if let Some(Json::String(doc)) = node.get("doc") {
        schema.doc = Some(doc.clone());
    }
    if let Some(params) = node.get("parameters") {
        let Json::Object(params) = params else {
            return Err(conversion("Schema parameters must be an object"));
        };
        for (k, v) in params {
            let Json::String(v) = v else {
                return Err(conversion("Schema parameters must have string values."));
            };
            schema.parameters.push((k.clone(), v.clone()));
        }
    }
    match ty {
        SchemaType::Struct => {
            let Some(Json::Array(fields)) = node.get("fields") else {
                return Err(conversion(
                    "Struct schema's \"fields\" argument is not an array.",
                ));
            };
            for field in fields {
                let Some(Json::String(name)) = field.get("field") else {
                    return Err(conversion(
                        "Struct schema's field name not specified properly",
                    ));
                };
                schema.fields.push(Field {
                    name: name.clone(),
                    schema: parse_schema(field)?,
                });
            }
        }
        SchemaType::Array => {
            let items = node
                .get("items")
                .ok_or_else(|| conversion("Array schema did not specify the element type"))?;
            schema.value_schema = Some(Box::new(parse_schema(items)?));
        }
        SchemaType::Map => {
            let keys = node
                .get("keys")
                .ok_or_else(|| conversion("Map schema did not specify the key type"))?;
            let values = node
                .get("values")
                .ok_or_else(|| conversion("Map schema did not specify the value type"))?;
            schema.key_schema = Some(Box::new(parse_schema(keys)?));
            schema.value_schema = Some(Box::new(parse_schema(values)?));
        }
        _ => {}
    }
    if let Some(default) = node.get("default")
        && !default.is_null()
    {
        let value = to_value(&schema, default, false)?;
        schema.default = Some(Box::new(value));
    }
    Ok(schema)
}

fn type_error(schema: &Schema, json: &Json) -> Error {
    let got = match json {
        Json::Null => "NULL",
        Json::Bool(_) => "BOOLEAN",
        Json::Number(_) => "NUMBER",
        Json::String(_) => "STRING",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    };
    conversion(format!(
        "Invalid type for {}: {got}",
        schema.ty.json_name().to_uppercase()
    ))
}

fn integer(schema: &Schema, json: &Json, min: i64, max: i64) -> Result<i64> {
    match json {
        Json::Number(n) => match n.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(conversion(format!(
                "value {n} out of range for {}",
                schema.ty.json_name()
            ))),
        },
        other => Err(type_error(schema, other)),
    }
}

/// `JsonConverter.convertToConnect`: `json` read as `schema` says.
pub(crate) fn to_value(
    schema: &Schema,
    json: &Json,
    replace_null_with_default: bool,
) -> Result<Value> {
    if json.is_null() {
        if replace_null_with_default && let Some(default) = &schema.default {
            return Ok((**default).clone());
        }
        if schema.optional {
            return Ok(Value::Null);
        }
        return Err(conversion(format!(
            "Invalid null value for required {} field",
            schema.ty.json_name().to_uppercase()
        )));
    }
    if let Some(logical) = schema.logical_type() {
        return Ok(match (logical, json) {
            (LogicalType::Decimal { scale }, Json::Number(n)) => Value::Decimal(
                decode::decimal_payload(&n.to_string(), true, scale).map_err(conversion)?,
            ),
            (LogicalType::Decimal { scale }, Json::String(s)) => {
                Value::Decimal(decode::decimal_payload(s, false, scale).map_err(conversion)?)
            }
            (LogicalType::Date, _) => {
                Value::Date(integer(schema, json, i32::MIN.into(), i32::MAX.into())? as i32)
            }
            (LogicalType::Time, _) => {
                Value::Time(integer(schema, json, i32::MIN.into(), i32::MAX.into())? * 1000)
            }
            (LogicalType::Timestamp, _) => {
                let millis = integer(schema, json, i64::MIN, i64::MAX)?;
                Value::Timestamp(
                    millis
                        .checked_mul(1000)
                        .ok_or_else(|| conversion(format!("timestamp {millis} out of range")))?,
                )
            }
            (LogicalType::Decimal { .. }, other) => return Err(type_error(schema, other)),
        });
    }
    Ok(match (schema.ty, json) {
        (SchemaType::Int8, _) => Value::Int(integer(schema, json, i8::MIN.into(), i8::MAX.into())?),
        (SchemaType::Int16, _) => {
            Value::Int(integer(schema, json, i16::MIN.into(), i16::MAX.into())?)
        }
        (SchemaType::Int32, _) => {
            Value::Int(integer(schema, json, i32::MIN.into(), i32::MAX.into())?)
        }
        (SchemaType::Int64, _) => Value::Int(integer(schema, json, i64::MIN, i64::MAX)?),
        (SchemaType::Float32 | SchemaType::Float64, Json::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            Value::Float(if schema.ty == SchemaType::Float32 {
                f64::from(x as f32)
            } else {
                x
            })
        }
        (SchemaType::Float32 | SchemaType::Float64, Json::String(s)) => {
            Value::Float(match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ => return Err(type_error(schema, json)),
            })
        }
        (SchemaType::Boolean, Json::Bool(b)) => Value::Boolean(*b),
        (SchemaType::String, Json::String(s)) => Value::text(s),
        (SchemaType::Bytes, Json::String(s)) => {
            Value::Bytes(Bytes::from(decode::base64_decode(s).map_err(conversion)?))
        }
        (SchemaType::Array, Json::Array(items)) => {
            let item_schema = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| conversion("Array schema did not specify the element type"))?;
            Value::Array(
                items
                    .iter()
                    .map(|item| to_value(item_schema, item, replace_null_with_default))
                    .collect::<Result<_>>()?,
            )
        }
        (SchemaType::Map, _) => {
            let (Some(keys), Some(values)) =
                (schema.key_schema.as_deref(), schema.value_schema.as_deref())
            else {
                return Err(conversion(
                    "Map schema did not specify the key and value types",
                ));
            };
            match json {
                Json::Object(members) if keys.ty == SchemaType::String => Value::Map(
                    members
                        .iter()
                        .map(|(k, v)| {
                            Ok((
                                Value::text(k),
                                to_value(values, v, replace_null_with_default)?,
                            ))
                        })
                        .collect::<Result<_>>()?,
                ),
                Json::Array(pairs) => Value::Map(
                    pairs
                        .iter()
                        .map(|pair| match pair {
                            Json::Array(kv) if kv.len() == 2 => Ok((
                                to_value(keys, &kv[0], replace_null_with_default)?,
                                to_value(values, &kv[1], replace_null_with_default)?,
                            )),
                            _ => Err(conversion(
                                "Found invalid map entry instead of array tuple: ",
                            )),
                        })
                        .collect::<Result<_>>()?,
                ),
                other => return Err(type_error(schema, other)),
            }
        }
        (SchemaType::Struct, Json::Object(members)) => Value::Struct(
            schema
                .fields
                .iter()
                .map(|field| {
                    to_value(
                        &field.schema,
                        members.get(&field.name).unwrap_or(&Json::Null),
                        replace_null_with_default,
                    )
                })
                .collect::<Result<_>>()?,
        ),
        (_, other) => return Err(type_error(schema, other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converter(pairs: &[(&str, &str)]) -> JsonConverter {
        JsonConverter::new(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    /// REFERENCE-TRANSFORMS §4.2: the verified JsonConverter output for a struct with a default,
    /// a Decimal, a Timestamp and a map with int32 keys.
    #[test]
    fn writes_kafkas_verified_envelope_and_reads_it_back() {
        let mut opt = Schema::primitive(SchemaType::String, true);
        opt.default = Some(Box::new(Value::text("dflt")));
        let mut schema = Schema::structure(
            Some("my.Rec".into()),
            vec![
                Field {
                    name: "id".into(),
                    schema: Schema::primitive(SchemaType::Int32, false),
                },
                Field {
                    name: "opt".into(),
                    schema: opt,
                },
                Field {
                    name: "amt".into(),
                    schema: Schema::decimal(2, None, false),
                },
                Field {
                    name: "ts".into(),
                    schema: Schema::logical(
                        SchemaType::Int64,
                        crate::model::logical::TIMESTAMP,
                        false,
                    ),
                },
                Field {
                    name: "m".into(),
                    schema: Schema::map(
                        Schema::primitive(SchemaType::Int32, false),
                        Schema::primitive(SchemaType::String, false),
                        false,
                    ),
                },
            ],
            false,
        );
        schema.version = Some(3);
        schema.doc = Some("d".into());
        let schema = Arc::new(schema);
        let value = Value::Struct(vec![
            Value::Int(1),
            Value::Null,
            Value::Decimal(Bytes::from_static(b"10.23")),
            Value::Timestamp(1_700_000_000_123_000),
            Value::Map(vec![(Value::Int(1), Value::text("x"))]),
        ]);
        let part = Part::new(Some(schema.clone()), value.clone());
        let bytes = converter(&[]).from_connect("t", &part).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"default":"dflt","field":"opt"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"amt"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false,"field":"m"}],"optional":false,"name":"my.Rec","version":3,"doc":"d"},"payload":{"id":1,"opt":"dflt","amt":"A/8=","ts":1700000000123,"m":[[1,"x"]]}}"#
        );
        let plain = converter(&[("schemas.enable", "false"), ("decimal.format", "NUMERIC")])
            .from_connect("t", &part)
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            r#"{"id":1,"opt":"dflt","amt":10.23,"ts":1700000000123,"m":[[1,"x"]]}"#
        );
        let back = converter(&[]).to_connect("t", Some(&bytes)).unwrap();
        assert_eq!(back.schema.as_deref(), Some(&*schema));
        let Value::Struct(fields) = back.value else {
            panic!()
        };
        assert_eq!(fields[1], Value::text("dflt"));
        assert_eq!(fields[2], Value::Decimal(Bytes::from_static(b"10.23")));
        assert_eq!(
            fields[4],
            Value::Map(vec![(Value::Int(1), Value::text("x"))])
        );
    }

    /// A record written with a schema seen before skips the envelope parse and reads the same;
    /// a bad one with that schema still gets Connect's error.
    #[test]
    fn records_with_a_recent_schema_read_the_same_and_fail_the_same() {
        let mut json = converter(&[]);
        let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"s"}],"optional":false,"name":"r"}"#;
        let first = json
            .to_connect(
                "t",
                Some(format!(r#"{{"schema":{schema},"payload":{{"id":1,"s":"a"}}}}"#).as_bytes()),
            )
            .unwrap();
        assert_eq!(json.recent.len(), 1);
        let again = json
            .to_connect(
                "t",
                Some(format!(r#"{{"schema":{schema},"payload":{{"s":"a","id":1}}}}"#).as_bytes()),
            )
            .unwrap();
        assert!(Arc::ptr_eq(
            first.schema.as_ref().unwrap(),
            again.schema.as_ref().unwrap()
        ));
        assert_eq!(format!("{:?}", first.value), format!("{:?}", again.value));
        let error = json
            .to_connect(
                "t",
                Some(format!(r#"{{"schema":{schema},"payload":{{"id":"x"}}}}"#).as_bytes()),
            )
            .unwrap_err();
        assert_eq!(error.to_string(), "Invalid type for INT32: STRING");
        let error = json
            .to_connect(
                "t",
                Some(format!(r#"{{"schema":{schema},"payload":{{"id":1}},"x":1}}"#).as_bytes()),
            )
            .unwrap_err();
        assert_eq!(error.to_string(), ENVELOPE_ERROR);
        assert_eq!(json.recent.len(), 1);
    }

    #[test]
    fn nulls_tombstones_and_schemaless() {
        let mut json = converter(&[]);
        assert_eq!(json.from_connect("t", &Part::NULL).unwrap(), None);
        let optional = Part::new(
            Some(Arc::new(Schema::primitive(SchemaType::String, true))),
            Value::Null,
        );
        assert_eq!(
            json.from_connect("t", &optional).unwrap().unwrap(),
            br#"{"schema":{"type":"string","optional":true},"payload":null}"#
        );
        let mut plain = converter(&[("schemas.enable", "false")]);
        assert_eq!(
            plain.from_connect("t", &optional).unwrap().unwrap(),
            b"null"
        );
        let read = plain
            .to_connect("t", Some(br#"{"a":12,"b":12.24,"c":[true]}"#))
            .unwrap();
        assert_eq!(read.schema, None);
        assert_eq!(
            read.value,
            Value::Map(vec![
                (Value::text("a"), Value::Int(12)),
                (Value::text("b"), Value::Float(12.24)),
                (Value::text("c"), Value::Array(vec![Value::Boolean(true)])),
            ])
        );
        assert_eq!(plain.to_connect("t", Some(b"")).unwrap(), Part::NULL);
        let err = json.to_connect("t", Some(br#"{"payload":1}"#)).unwrap_err();
        assert_eq!(err.context(), ENVELOPE_ERROR);
        let err = json
            .to_connect("t", Some(br#"{"schema":{"type":"int32"},"payload":null}"#))
            .unwrap_err();
        assert_eq!(err.context(), "Invalid null value for required INT32 field");
    }

    /// The settings come from JsonConverterConfig's definitions: its defaults, case-insensitive
    /// `decimal.format`, and its messages.
    #[test]
    fn settings_parse_with_the_key_definitions() {
        let settings = |pairs: &[(&str, &str)]| JsonSettings::parse(&crate::config::props(pairs));
        assert_eq!(
            JsonSettings::default(),
            JsonSettings {
                schemas_enable: true,
                decimal_numeric: false,
                replace_null_with_default: true,
            }
        );
        assert_eq!(settings(&[]).unwrap(), JsonSettings::default());
        assert_eq!(
            settings(&[
                ("schemas.enable", "FALSE"),
                ("decimal.format", "numeric"),
                ("replace.null.with.default", "false"),
                ("converter.type", "value"),
            ])
            .unwrap(),
            JsonSettings {
                schemas_enable: false,
                decimal_numeric: true,
                replace_null_with_default: false,
            }
        );
        for (key, value, message) in [
            (
                "decimal.format",
                "HEX",
                "Invalid value HEX for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC",
            ),
            (
                "schemas.cache.size",
                "many",
                "Invalid value many for configuration schemas.cache.size: Not a number of type INT",
            ),
        ] {
            let error = settings(&[(key, value)]).unwrap_err();
            assert_eq!(error.key, key);
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn bad_settings_name_their_key() {
        let err = JsonConverter::new(&[("decimal.format".to_string(), "HEX".to_string())].into())
            .err()
            .unwrap();
        assert_eq!(err.key, "decimal.format");
    }
}
