//! The data model every stage shares: Kafka Connect schemas, row values, source batches with
//! their offsets, and sink records as read from Kafka.
//!
//! Rows travel in [`SourceBatch`]es as one flat, row-major `Vec<Value>` (one allocation per
//! batch, not per row); strings and byte strings are [`Bytes`] slices, so a reader can hand out
//! views of its network buffers without copying.

pub(crate) mod arena;
pub(crate) mod calendar;
pub(crate) mod hash;
pub(crate) mod kind;
pub(crate) mod numeric;
pub mod record;

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value as Json;

/// Connect's logical type names (all version 1).
pub mod logical {
    pub(crate) const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    pub(crate) const TIME: &str = "org.apache.kafka.connect.data.Time";
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// Decimal's scale parameter.
    pub(crate) const SCALE: &str = "scale";
    /// The precision parameter the JDBC connectors add to Decimal.
    pub(crate) const PRECISION: &str = "connect.decimal.precision";
}

/// Connect's schema types (`Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// Every schema type, in `Schema.Type`'s order.
    pub(crate) const ALL: [SchemaType; 12] = [
        SchemaType::Int8,
        SchemaType::Int16,
        SchemaType::Int32,
        SchemaType::Int64,
        SchemaType::Float32,
        SchemaType::Float64,
        SchemaType::Boolean,
        SchemaType::String,
        SchemaType::Bytes,
        SchemaType::Array,
        SchemaType::Map,
        SchemaType::Struct,
    ];

    /// Connect's `Schema.Type` constant name (`INT8` … `FLOAT64` … `STRUCT`), as Kafka's
    /// messages print it and its configs name it.
    pub(crate) fn java_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    /// `Schema.Type.valueOf(name.toUpperCase())`: the inverse of [`SchemaType::java_name`], in
    /// any case.
    pub(crate) fn from_java_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|ty| ty.java_name().eq_ignore_ascii_case(name))
    }

    /// The name JsonConverter writes in `"type"`.
    pub(crate) fn json_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// The inverse of [`SchemaType::json_name`].
    pub(crate) fn from_json_name(name: &str) -> Option<Self> {
        Some(match name {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" => SchemaType::Float32,
            "double" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }
}

/// A Connect schema: type, optional, name, version, doc, (ordered) parameters, default, struct
/// fields, and the key and value schemas of maps and arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub(crate) ty: SchemaType,
    pub(crate) optional: bool,
    pub(crate) name: Option<String>,
    pub(crate) version: Option<i32>,
    pub(crate) doc: Option<String>,
    /// In insertion order, as Connect's `SchemaBuilder` keeps them.
    pub(crate) parameters: Vec<(String, String)>,
    /// Struct fields, in order.
    pub fields: Vec<Field>,
    /// A map's key schema.
    pub(crate) key_schema: Option<Box<Schema>>,
    /// A map's value schema, or an array's element schema.
    pub(crate) value_schema: Option<Box<Schema>>,
    /// The default value (Connect's `defaultValue`), used for a null or missing value.
    pub(crate) default: Option<Box<Value>>,
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Schema,
}

impl Field {
    /// A struct field named `name`.
    pub(crate) fn new(name: &str, schema: Schema) -> Field {
        Field {
            name: name.to_string(),
            schema,
        }
    }
}

/// For unit tests: struct fields and the text-backed values, in the few letters tests use.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Field, Schema, Value};

    /// [`Field::new`].
    pub(crate) fn field(name: &str, schema: Schema) -> Field {
        Field::new(name, schema)
    }

    /// A string value.
    pub(crate) fn text(s: &str) -> Value {
        Value::text(s)
    }

    /// A decimal value from its plain digits (`"-12.50"`).
    pub(crate) fn dec(s: &str) -> Value {
        Value::Decimal(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl Schema {
    #[cfg(test)]
    /// The schema with a default value.
    pub(crate) fn with_default(self, value: Value) -> Self {
        Schema {
            default: Some(Box::new(value)),
            ..self
        }
    }

    /// A primitive schema.
    pub fn primitive(ty: SchemaType, optional: bool) -> Self {
        Schema {
            ty,
            optional,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
            default: None,
        }
    }

    /// An array of `items`.
    pub(crate) fn array(items: Schema, optional: bool) -> Self {
        Schema {
            value_schema: Some(Box::new(items)),
            ..Schema::primitive(SchemaType::Array, optional)
        }
    }

    /// A map from `keys` to `values`.
    pub(crate) fn map(keys: Schema, values: Schema, optional: bool) -> Self {
        Schema {
            key_schema: Some(Box::new(keys)),
            value_schema: Some(Box::new(values)),
            ..Schema::primitive(SchemaType::Map, optional)
        }
    }

    /// The struct field called `name`, with its index.
    pub(crate) fn field(&self, name: &str) -> Option<(usize, &Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }

    #[cfg(test)]
    /// The same schema, optional.
    pub(crate) fn into_optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// A logical type: `ty` carrying `name` at version 1.
    pub fn logical(ty: SchemaType, name: &str, optional: bool) -> Self {
        Schema {
            name: Some(name.to_string()),
            version: Some(1),
            ..Schema::primitive(ty, optional)
        }
    }

    /// Connect's Decimal with the JDBC connectors' precision parameter.
    pub fn decimal(scale: i32, precision: Option<u32>, optional: bool) -> Self {
        let mut schema = Schema::logical(SchemaType::Bytes, logical::DECIMAL, optional);
        schema
            .parameters
            .push((logical::SCALE.to_string(), scale.to_string()));
        if let Some(precision) = precision {
            schema
                .parameters
                .push((logical::PRECISION.to_string(), precision.to_string()));
        }
        schema
    }

    /// A struct schema.
    pub fn structure(name: Option<String>, fields: Vec<Field>, optional: bool) -> Self {
        Schema {
            name,
            fields,
            ..Schema::primitive(SchemaType::Struct, optional)
        }
    }

    /// The value of a parameter.
    pub(crate) fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Which logical type this is, if any.
    pub(crate) fn logical_type(&self) -> Option<LogicalType> {
        match self.name.as_deref()? {
            logical::DECIMAL => Some(LogicalType::Decimal {
                scale: self
                    .parameter(logical::SCALE)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            }),
            logical::DATE => Some(LogicalType::Date),
            logical::TIME => Some(LogicalType::Time),
            logical::TIMESTAMP => Some(LogicalType::Timestamp),
            _ => None,
        }
    }
}

/// Connect's logical types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicalType {
    Decimal { scale: i32 },
    Date,
    Time,
    Timestamp,
}

/// One column value. Integer widths, float widths and logical types come from the column's
/// [`Schema`]; the value keeps only what is needed to write it exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    /// Any integer type, already widened as the schema requires (unsigned INT → int64…).
    Int(i64),
    /// FLOAT or DOUBLE.
    Float(f64),
    /// UTF-8 text.
    Text(Bytes),
    /// Raw bytes (BINARY, BLOB, BIT…).
    Bytes(Bytes),
    /// A decimal in the database's canonical text form (`-12.50`); exact at any precision.
    Decimal(Bytes),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight (may be negative or beyond a day for MySQL TIME).
    Time(i64),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    /// A struct's values in field order (with a struct schema).
    Struct(Vec<Value>),
    /// An array's elements.
    Array(Vec<Value>),
    /// A map's entries in order; a schemaless record's JSON object is a map with text keys.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// Bytes this value occupies, its own slot included: what a queued batch costs in memory.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Text(b) | Value::Bytes(b) | Value::Decimal(b) => b.len(),
                Value::Struct(items) | Value::Array(items) => {
                    items.iter().map(Value::heap_bytes).sum()
                }
                Value::Map(entries) => entries
                    .iter()
                    .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                    .sum(),
                _ => 0,
            }
    }

    /// Text from a `str`.
    pub(crate) fn text(s: &str) -> Value {
        Value::Text(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// The text of a [`Value::Text`], when it is UTF-8.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value of a schemaless map's text key.
    pub(crate) fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Where a source is: the partition (e.g. `{"protocol":"1","table":"db.t"}`) and the offset
/// within it (e.g. `{"incrementing":42}`), both JSON as stored in the offsets topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePosition {
    pub partition: Json,
    pub offset: Json,
}

/// A batch of rows of one table for one topic, with the position reached after its last row.
#[derive(Debug, Clone)]
pub struct SourceBatch {
    pub topic: Arc<str>,
    /// The value schema (a struct), shared by every batch of the table until its shape changes.
    pub schema: Arc<Schema>,
    /// `rows × schema.fields.len()` values, row-major.
    pub values: Vec<Value>,
    /// Record keys, when the source writes them (`None`: null keys, as the JDBC source).
    pub keys: Option<SourceKeys>,
    /// Rows whose record value is null (a tombstone); empty when there are none. A tombstone
    /// row's `values` are ignored.
    pub tombstones: Vec<bool>,
    /// The position after the last row; stored once every row is acknowledged by Kafka.
    pub position: SourcePosition,
}

/// The record keys of a [`SourceBatch`]: a struct schema and `rows × fields` values.
#[derive(Debug, Clone)]
pub struct SourceKeys {
    pub(crate) schema: Arc<Schema>,
    pub(crate) values: Vec<Value>,
}

impl SourceBatch {
    /// The number of columns per row.
    pub(crate) fn width(&self) -> usize {
        self.schema.fields.len()
    }

    /// The number of rows.
    pub(crate) fn len(&self) -> usize {
        self.values.len().checked_div(self.width()).unwrap_or(0)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Bytes the batch's values and keys occupy (see [`Value::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        let keys = self
            .keys
            .as_ref()
            .map_or(0, |k| k.values.iter().map(Value::heap_bytes).sum::<usize>());
        self.values.iter().map(Value::heap_bytes).sum::<usize>() + keys + self.tombstones.len()
    }

    /// The rows, as slices of `width()` values.
    pub(crate) fn rows(&self) -> std::slice::ChunksExact<'_, Value> {
        self.values.chunks_exact(self.width().max(1))
    }
}

/// A record key or value after conversion: its schema and its values in field order (for a
/// primitive schema, the one value).
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub(crate) schema: Arc<Schema>,
    pub(crate) values: Vec<Value>,
}

/// A record as consumed from Kafka, with its converted key and value.
#[derive(Debug, Clone)]
pub(crate) struct SinkRecord {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    /// Milliseconds since the epoch, when the broker gave one.
    pub(crate) timestamp_ms: Option<i64>,
    pub(crate) key: Option<Bytes>,
    /// `None` for a tombstone.
    pub(crate) value: Option<Bytes>,
    /// The record's headers, in order.
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
    /// The converted key (when the task asked for keys and the record has one).
    pub(crate) key_data: Option<Data>,
    /// The converted value; `None` for a tombstone (or a JSON null payload).
    pub(crate) value_data: Option<Data>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rows_are_row_major_chunks() {
        let schema = Schema::structure(
            Some("t".into()),
            vec![
                Field {
                    name: "id".into(),
                    schema: Schema::primitive(SchemaType::Int32, false),
                },
                Field {
                    name: "name".into(),
                    schema: Schema::primitive(SchemaType::String, true),
                },
            ],
            false,
        );
        let batch = SourceBatch {
            topic: "t".into(),
            schema: Arc::new(schema),
            values: vec![
                Value::Int(1),
                Value::Text(Bytes::from_static(b"a")),
                Value::Int(2),
                Value::Null,
            ],
            keys: None,
            tombstones: Vec::new(),
            position: SourcePosition {
                partition: serde_json::json!({"protocol":"1","table":"db.t"}),
                offset: serde_json::json!({"incrementing":2}),
            },
        };
        assert_eq!(batch.len(), 2);
        let rows: Vec<_> = batch.rows().collect();
        assert_eq!(rows[1], [Value::Int(2), Value::Null]);
    }

    #[test]
    fn decimal_schema_keeps_parameter_order() {
        let schema = Schema::decimal(2, Some(10), true);
        assert_eq!(schema.parameters[0].0, "scale");
        assert_eq!(schema.parameters[1].0, "connect.decimal.precision");
        assert_eq!(
            schema.logical_type(),
            Some(LogicalType::Decimal { scale: 2 })
        );
        assert_eq!(
            SchemaType::from_json_name("float"),
            Some(SchemaType::Float32)
        );
    }
}
