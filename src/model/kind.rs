//! The kind of value a schema holds, as both JSON codecs plan a schema's fields: its Connect type
//! refined by the logical type it names. The encoder writes and the decoder reads each value by
//! its field's kind; each says what it expects of a kind in its own words.

use super::{LogicalType, Schema, SchemaType};

/// How a field's value is written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Decimal {
        scale: i32,
    },
    Date,
    Time,
    Timestamp,
    /// Array, map and nested struct values: the encoder writes them with its general writer
    /// (`write_connect`), the decoder refuses the schema.
    Unsupported(SchemaType),
}

impl Kind {
    /// The schema's kind. A Decimal's scale is its `scale` parameter, 0 when it is missing or
    /// unreadable (the decoder checks it strictly).
    pub(crate) fn of(schema: &Schema) -> Kind {
        match (schema.ty, schema.logical_type()) {
            (SchemaType::Bytes, Some(LogicalType::Decimal { scale })) => Kind::Decimal { scale },
            (SchemaType::Int32, Some(LogicalType::Date)) => Kind::Date,
            (SchemaType::Int32, Some(LogicalType::Time)) => Kind::Time,
            (SchemaType::Int64, Some(LogicalType::Timestamp)) => Kind::Timestamp,
            (SchemaType::Int8, _) => Kind::Int8,
            (SchemaType::Int16, _) => Kind::Int16,
            (SchemaType::Int32, _) => Kind::Int32,
            (SchemaType::Int64, _) => Kind::Int64,
            (SchemaType::Float32, _) => Kind::Float32,
            (SchemaType::Float64, _) => Kind::Float64,
            (SchemaType::Boolean, _) => Kind::Boolean,
            (SchemaType::String, _) => Kind::String,
            (SchemaType::Bytes, _) => Kind::Bytes,
            (ty @ (SchemaType::Array | SchemaType::Map | SchemaType::Struct), _) => {
                Kind::Unsupported(ty)
            }
        }
    }
}
