//! A JsonConverter-compatible encoder: rows in, the exact bytes Kafka Connect's `JsonConverter`
//! (Jackson, default settings) writes out.
//!
//! With `schemas.enable=true` a record is `{"schema":<schema>,"payload":<value>}` with no
//! whitespace; with `schemas.enable=false` it is `<value>` alone.
//!
//! - The schema part and every field's `,"name":` key are serialized once per schema and cached
//!   by `Arc` pointer (the cache holds a clone of the `Arc`, so the pointer cannot be reused while
//!   the entry lives). Encoding a row then only copies bytes and formats values, straight into
//!   the output buffer: integers with `itoa`, floats on the stack, base64 in place, decimals with
//!   scratch buffers owned by the encoder. There is no heap allocation per row once warm.
//! - Strings are escaped as Jackson does: `"` and `\`, control characters as `\b \t \n \f \r` or
//!   `\u00XX` (uppercase hex); everything else, `/`, DEL and non-ASCII included, raw UTF-8.
//!   Invalid UTF-8 is written as U+FFFD per maximal invalid subsequence, as Java decodes it.
//! - Floats are written as JDK 19+ `Double.toString` / `Float.toString` (Raffaello Giulietti's
//!   algorithm): the shortest decimal that rounds back, the closest one, ties to an even digit,
//!   and two digits for a one-digit subnormal when closer (`4.9E-324`). Checked against JDK 25 on
//!   1.7M values. JDK 17 and older print more digits for some values (`1.0E23` is
//!   `9.999999999999999E22` there), so a Connect worker on an old JDK can differ. NaN and the
//!   infinities are written as the strings Jackson writes.
//! - Decimals (database text like `-12.50`) are rescaled exactly to the schema's scale and written
//!   as base64 of `BigInteger.toByteArray()` of the unscaled value (any length), or with
//!   `decimal.format=NUMERIC` as `BigDecimal.toString()` would.
//! - The float printer and the decimal arithmetic live in `model::numeric`, shared with the
//!   decoder; the field kinds in `model::kind`.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, ErrorKind};
use crate::model::kind::Kind;
use crate::model::numeric::{
    DecimalError, small_byte_array, small_unscaled, to_byte_array, unscaled_digits,
    write_big_decimal, write_f32, write_f64,
};
use crate::model::{Schema, SchemaType, SourceBatch, Value};

/// When the cache holds more schemas than this, it is emptied before the next one is added.
const MAX_CACHED_SCHEMAS: usize = 1024;

/// The largest power of ten a decimal may be shifted by when rescaled (guards against
/// `1E+999999999` blowing up the digit buffer).
const MAX_DECIMAL_SHIFT: i64 = 100_000;

/// Encodes rows as Kafka Connect's JsonConverter does.
pub struct JsonEncoder {
    schemas_enable: bool,
    decimal_numeric: bool,
    replace_null_with_default: bool,
    /// Cached per-schema plans; `index` maps `Arc::as_ptr` to a position here.
    plans: Vec<Plan>,
    index: HashMap<usize, usize>,
    /// The plan used last, checked before the map.
    last: Option<usize>,
    scratch: Scratch,
    hits: u64,
    misses: u64,
}

/// Reusable buffers for decimals.
#[derive(Default)]
pub(crate) struct Scratch {
    /// ASCII digits of an unscaled value, without leading zeros (empty for zero).
    digits: Vec<u8>,
    /// Little-endian base-2^32 limbs of an unscaled value too long for `u128`.
    limbs: Vec<u32>,
    /// Big-endian two's complement bytes.
    bytes: Vec<u8>,
}

/// Everything needed to encode rows of one struct schema.
struct Plan {
    /// Keeps the schema (and so its address, the cache key) alive.
    schema: Arc<Schema>,
    /// `{"schema":<schema>,"payload":` or nothing.
    prefix: Box<[u8]>,
    /// Every field's key: `{"a":` for the first, `,"b":` for the others, back to back.
    keys: Box<[u8]>,
    fields: Box<[FieldPlan]>,
}

#[derive(Clone, Copy)]
struct FieldPlan {
    key_start: u32,
    key_end: u32,
    kind: Kind,
    optional: bool,
    /// The field's schema has a default (for `replace.null.with.default`).
    has_default: bool,
}

/// What a field of `kind` expects, for error messages.
fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Int8 => "int8 (an Int)",
        Kind::Int16 => "int16 (an Int)",
        Kind::Int32 => "int32 (an Int)",
        Kind::Int64 => "int64 (an Int)",
        Kind::Float32 => "float (a Float)",
        Kind::Float64 => "double (a Float)",
        Kind::Boolean => "boolean (a Boolean)",
        Kind::String => "string (a Text)",
        Kind::Bytes => "bytes (a Bytes)",
        Kind::Decimal { .. } => "Decimal (a Decimal)",
        Kind::Date => "Date (a Date)",
        Kind::Time => "Time (a Time)",
        Kind::Timestamp => "Timestamp (a Timestamp)",
        Kind::Unsupported(SchemaType::Array) => "array",
        Kind::Unsupported(SchemaType::Map) => "map",
        Kind::Unsupported(_) => "struct",
    }
}

fn value_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Boolean(_) => "Boolean",
        Value::Int(_) => "Int",
        Value::Float(_) => "Float",
        Value::Text(_) => "Text",
        Value::Bytes(_) => "Bytes",
        Value::Decimal(_) => "Decimal",
        Value::Date(_) => "Date",
        Value::Time(_) => "Time",
        Value::Timestamp(_) => "Timestamp",
        Value::Struct(_) => "Struct",
        Value::Array(_) => "Array",
        Value::Map(_) => "Map",
    }
}

impl JsonEncoder {
    /// A new encoder. `schemas_enable` is JsonConverter's `schemas.enable`; `decimal_numeric`
    /// is `decimal.format=NUMERIC` (otherwise `BASE64`, the default).
    pub fn new(schemas_enable: bool, decimal_numeric: bool) -> Self {
        JsonEncoder {
            schemas_enable,
            decimal_numeric,
            replace_null_with_default: true,
            plans: Vec::new(),
            index: HashMap::new(),
            last: None,
            scratch: Scratch::default(),
            hits: 0,
            misses: 0,
        }
    }

    /// JsonConverter's `replace.null.with.default` (true when not called): whether a null takes
    /// its schema's default.
    pub fn replace_null_with_default(mut self, replace: bool) -> Self {
        self.replace_null_with_default = replace;
        self
    }

    /// Appends one record per row of `batch` to `out`; pushes each record's end offset (index
    /// into `out` after the record) to `ends`. On error, `out` and `ends` are left as they were
    /// before the call and the error names the row and the field.
    pub fn encode_batch(
        &mut self,
        batch: &SourceBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> crate::Result<()> {
        let width = batch.width();
        if batch.values.is_empty() {
            return Ok(());
        }
        if width == 0 || !batch.values.len().is_multiple_of(width) {
            return Err(Error::internal(format!(
                "batch for topic {} has {} values, not a multiple of its {width} fields",
                batch.topic,
                batch.values.len()
            )));
        }
        let plan = self.plan(&batch.schema)?;
        let plan = &self.plans[plan];
        let rows = batch.values.len() / width;
        let (out_len, ends_len) = (out.len(), ends.len());
        ends.reserve(rows);
        for (row_index, row) in batch.values.chunks_exact(width).enumerate() {
            if batch.tombstones.get(row_index) == Some(&true) {
                // A null value: no bytes (the producer sends no payload).
                ends.push(out.len());
                continue;
            }
            let start = out.len();
            let result = encode_record(
                plan,
                row,
                (self.schemas_enable, self.decimal_numeric),
                self.replace_null_with_default,
                &mut self.scratch,
                out,
            );
            if let Err(error) = result {
                out.truncate(out_len);
                ends.truncate(ends_len);
                return Err(Error::new(
                    error.kind(),
                    format!("topic {} row {row_index}: {}", batch.topic, error.context()),
                ));
            }
            ends.push(out.len());
            if row_index == 0 && rows > 1 {
                // Size the rest of the batch on the first record, with some slack.
                let record = out.len() - start;
                out.reserve((rows - 1) * (record + record / 8));
            }
        }
        Ok(())
    }

    /// Appends the record keys of `keys` (one per row) to `out`, pushing each key's end
    /// offset to `ends`.
    pub(crate) fn encode_keys(
        &mut self,
        keys: &crate::model::SourceKeys,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> crate::Result<()> {
        let width = keys.schema.fields.len().max(1);
        for row in keys.values.chunks_exact(width) {
            self.encode_row(&keys.schema, row, out)?;
            ends.push(out.len());
        }
        Ok(())
    }

    /// Appends one record: a struct `schema` with `row` values (`row.len() ==
    /// schema.fields.len()`). On error `out` is left as it was.
    pub fn encode_row(
        &mut self,
        schema: &Arc<Schema>,
        row: &[Value],
        out: &mut Vec<u8>,
    ) -> crate::Result<()> {
        if row.len() != schema.fields.len() {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!(
                    "row has {} values but schema {} has {} fields",
                    row.len(),
                    schema.name.as_deref().unwrap_or("(unnamed)"),
                    schema.fields.len()
                ),
            ));
        }
        let plan = self.plan(schema)?;
        let start = out.len();
        let result = encode_record(
            &self.plans[plan],
            row,
            (self.schemas_enable, self.decimal_numeric),
            self.replace_null_with_default,
            &mut self.scratch,
            out,
        );
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    #[cfg(test)]
    /// Schema cache statistics: `(hits, misses, cached schemas)`.
    pub(crate) fn cache_stats(&self) -> (u64, u64, usize) {
        (self.hits, self.misses, self.plans.len())
    }

    /// The position of `schema`'s plan, built on a miss.
    fn plan(&mut self, schema: &Arc<Schema>) -> crate::Result<usize> {
        if let Some(i) = self.last
            && Arc::ptr_eq(&self.plans[i].schema, schema)
        {
            self.hits += 1;
            return Ok(i);
        }
        let key = Arc::as_ptr(schema) as usize;
        if let Some(&i) = self.index.get(&key) {
            self.hits += 1;
            self.last = Some(i);
            return Ok(i);
        }
        self.misses += 1;
        let plan = Plan::new(schema, self.schemas_enable)?;
        if self.plans.len() >= MAX_CACHED_SCHEMAS {
            self.plans.clear();
            self.index.clear();
        }
        self.plans.push(plan);
        let i = self.plans.len() - 1;
        self.index.insert(key, i);
        self.last = Some(i);
        Ok(i)
    }
}

impl Plan {
    fn new(schema: &Arc<Schema>, schemas_enable: bool) -> crate::Result<Plan> {
        if schema.ty != SchemaType::Struct {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!(
                    "a record's value schema must be a struct, not {}",
                    schema.ty.json_name()
                ),
            ));
        }
        let mut prefix = Vec::new();
        if schemas_enable {
            prefix.extend_from_slice(b"{\"schema\":");
            write_schema(&mut prefix, schema, None);
            prefix.extend_from_slice(b",\"payload\":");
        }
        let mut keys = Vec::new();
        let mut fields = Vec::with_capacity(schema.fields.len());
        for (i, field) in schema.fields.iter().enumerate() {
            let key_start = keys.len();
            keys.push(if i == 0 { b'{' } else { b',' });
            write_json_str(&mut keys, &field.name);
            keys.push(b':');
            let (Ok(key_start), Ok(key_end)) =
                (u32::try_from(key_start), u32::try_from(keys.len()))
            else {
                return Err(Error::new(
                    ErrorKind::Conversion,
                    "schema field names are too long",
                ));
            };
            fields.push(FieldPlan {
                key_start,
                key_end,
                kind: Kind::of(&field.schema),
                optional: field.schema.optional,
                has_default: field.schema.default.is_some(),
            });
        }
        Ok(Plan {
            schema: Arc::clone(schema),
            prefix: prefix.into_boxed_slice(),
            keys: keys.into_boxed_slice(),
            fields: fields.into_boxed_slice(),
        })
    }
}

/// The JsonConverter JSON of a schema alone (what goes after `"schema":`).
pub fn schema_json(schema: &Schema) -> String {
    let mut out = Vec::new();
    write_schema(&mut out, schema, None);
    // Only valid UTF-8 (from `str`s) and ASCII were written.
    String::from_utf8(out).unwrap_or_default()
}

/// `JsonConverter.asJsonSchema`: `type`, struct `fields`, `optional`, `name`, `version`, `doc`,
/// `parameters`, and for a struct field its `field` name last.
fn write_schema(out: &mut Vec<u8>, schema: &Schema, field_name: Option<&str>) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(schema.ty.json_name().as_bytes());
    out.push(b'"');
    if schema.ty == SchemaType::Struct {
        out.extend_from_slice(b",\"fields\":[");
        for (i, field) in schema.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_schema(out, &field.schema, Some(&field.name));
        }
        out.push(b']');
    }
    if schema.ty == SchemaType::Array
        && let Some(items) = &schema.value_schema
    {
        out.extend_from_slice(b",\"items\":");
        write_schema(out, items, None);
    }
    if schema.ty == SchemaType::Map
        && let (Some(keys), Some(values)) = (&schema.key_schema, &schema.value_schema)
    {
        out.extend_from_slice(b",\"keys\":");
        write_schema(out, keys, None);
        out.extend_from_slice(b",\"values\":");
        write_schema(out, values, None);
    }
    out.extend_from_slice(if schema.optional {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(name) = &schema.name {
        out.extend_from_slice(b",\"name\":");
        write_json_str(out, name);
    }
    if let Some(version) = schema.version {
        out.extend_from_slice(b",\"version\":");
        out.extend_from_slice(itoa::Buffer::new().format(version).as_bytes());
    }
    if let Some(doc) = &schema.doc {
        out.extend_from_slice(b",\"doc\":");
        write_json_str(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (key, value)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, key);
            out.push(b':');
            write_json_str(out, value);
        }
        out.push(b'}');
    }
    if let Some(default) = &schema.default {
        out.extend_from_slice(b",\"default\":");
        // A default that does not fit its schema is written as null rather than failing.
        let mut scratch = Scratch::default();
        let at = out.len();
        if write_connect(out, schema, default, false, false, &mut scratch).is_err() {
            out.truncate(at);
            out.extend_from_slice(b"null");
        }
    }
    if let Some(name) = field_name {
        out.extend_from_slice(b",\"field\":");
        write_json_str(out, name);
    }
    out.push(b'}');
}

fn encode_record(
    plan: &Plan,
    row: &[Value],
    (schemas_enable, decimal_numeric): (bool, bool),
    replace_null_with_default: bool,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> crate::Result<()> {
    out.extend_from_slice(&plan.prefix);
    if plan.fields.is_empty() {
        out.extend_from_slice(b"{}");
    } else {
        for (i, (field, value)) in plan.fields.iter().zip(row).enumerate() {
            out.extend_from_slice(&plan.keys[field.key_start as usize..field.key_end as usize]);
            let general = match value.is_null() {
                false => matches!(field.kind, Kind::Unsupported(_)),
                true => replace_null_with_default && field.has_default,
            };
            if general {
                // Nested structs, arrays and maps (Debezium's envelope), and a null that takes its
                // field's default: the general writer.
                let schema = &plan.schema.fields[i].schema;
                let replace = replace_null_with_default;
                write_connect(out, schema, value, decimal_numeric, replace, scratch).map_err(
                    |e| {
                        Error::new(
                            e.kind(),
                            format!(
                                "cannot convert field {:?} of {}: {}",
                                plan.schema.fields[i].name,
                                plan.schema.name.as_deref().unwrap_or("(unnamed)"),
                                e.context()
                            ),
                        )
                    },
                )?;
                continue;
            }
            if let Err(problem) = write_value(field, value, decimal_numeric, scratch, out) {
                return Err(field_error(plan, i, value, problem));
            }
        }
        out.push(b'}');
    }
    if schemas_enable {
        out.push(b'}');
    }
    Ok(())
}

/// Why a value could not be written (the field is named by the caller).
enum Problem {
    /// Null in a required field.
    Null,
    /// The value does not fit the field's schema.
    Mismatch,
    /// Out of the schema type's range.
    Range(i64),
    /// A decimal's text is malformed or does not fit the scale.
    Decimal(DecimalError),
}

#[cold]
#[inline(never)]
fn field_error(plan: &Plan, index: usize, value: &Value, problem: Problem) -> Error {
    let field = &plan.schema.fields[index];
    let kind = plan.fields[index].kind;
    let what = match problem {
        Problem::Null => "null value for a required field".to_string(),
        Problem::Mismatch => format!("expected {}, got {}", expected(kind), value_name(value)),
        Problem::Range(v) => format!("value {v} out of range for {}", expected(kind)),
        Problem::Decimal(error) => match value {
            Value::Decimal(text) => format!(
                "decimal {:?} {} {}",
                String::from_utf8_lossy(text),
                decimal_reason(error),
                match kind {
                    Kind::Decimal { scale } => format!("(scale {scale})"),
                    _ => String::new(),
                }
            ),
            _ => decimal_reason(error).to_string(),
        },
    };
    Error::new(
        ErrorKind::Conversion,
        format!(
            "cannot convert field {:?} of {}: {what}",
            field.name,
            plan.schema.name.as_deref().unwrap_or("(unnamed struct)")
        ),
    )
}

/// Why a decimal could not be written, after its text in an error message.
fn decimal_reason(error: DecimalError) -> &'static str {
    match error {
        DecimalError::NotANumber => "is not a decimal number",
        DecimalError::ExponentOutOfRange => "has an exponent out of range",
        DecimalError::OutOfRange => "is out of range for",
        DecimalError::TooManyFractionalDigits => "has more fractional digits than its scale",
    }
}

#[inline]
fn write_value(
    field: &FieldPlan,
    value: &Value,
    decimal_numeric: bool,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    match (value, field.kind) {
        (Value::Null, _) => {
            if !field.optional {
                return Err(Problem::Null);
            }
            out.extend_from_slice(b"null");
        }
        (Value::Int(v), Kind::Int64) => write_int(out, *v),
        (Value::Int(v), Kind::Int32) => {
            i32::try_from(*v).map_err(|_| Problem::Range(*v))?;
            write_int(out, *v);
        }
        (Value::Int(v), Kind::Int16) => {
            i16::try_from(*v).map_err(|_| Problem::Range(*v))?;
            write_int(out, *v);
        }
        (Value::Int(v), Kind::Int8) => {
            i8::try_from(*v).map_err(|_| Problem::Range(*v))?;
            write_int(out, *v);
        }
        (Value::Text(text), Kind::String) => write_json_bytes(out, text),
        (Value::Timestamp(micros), Kind::Timestamp) => write_int(out, micros.div_euclid(1000)),
        (Value::Date(days), Kind::Date) => write_int(out, i64::from(*days)),
        (Value::Time(micros), Kind::Time) => {
            let millis = micros.div_euclid(1000);
            i32::try_from(millis).map_err(|_| Problem::Range(millis))?;
            write_int(out, millis);
        }
        (Value::Boolean(b), Kind::Boolean) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" });
        }
        (Value::Float(x), Kind::Float64) => write_f64(out, *x),
        (Value::Float(x), Kind::Float32) => write_f32(out, *x as f32),
        (Value::Bytes(bytes), Kind::Bytes) => write_base64(out, bytes),
        (Value::Decimal(text), Kind::Decimal { scale }) => {
            if let Some((negative, unscaled)) = small_unscaled(text, scale) {
                if decimal_numeric {
                    let mut buf = itoa::Buffer::new();
                    let digits = if unscaled == 0 {
                        &b""[..]
                    } else {
                        buf.format(unscaled).as_bytes()
                    };
                    write_big_decimal(out, negative, digits, scale);
                } else {
                    write_base64(out, small_byte_array(negative, unscaled).as_slice());
                }
                return Ok(());
            }
            let negative = unscaled_digits(text, scale, MAX_DECIMAL_SHIFT, &mut scratch.digits)
                .map_err(Problem::Decimal)?;
            if decimal_numeric {
                write_big_decimal(out, negative, &scratch.digits, scale);
            } else {
                to_byte_array(
                    negative,
                    &scratch.digits,
                    &mut scratch.limbs,
                    &mut scratch.bytes,
                );
                write_base64(out, &scratch.bytes);
            }
        }
        _ => return Err(Problem::Mismatch),
    }
    Ok(())
}

#[inline]
fn write_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Strings

/// What follows the backslash for each byte Jackson escapes: `0` for none, `u` for `\u00XX`.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// A JSON string from a `str`.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_utf8(out, s.as_bytes());
    out.push(b'"');
}

/// A JSON string from bytes that should be UTF-8; invalid sequences become U+FFFD.
#[inline]
fn write_json_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
        escape_utf8(out, bytes);
    } else {
        write_lossy(out, bytes);
    }
    out.push(b'"');
}

#[cold]
#[inline(never)]
fn write_lossy(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        escape_utf8(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

/// Escapes valid UTF-8 as Jackson does.
#[inline]
fn escape_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPES[b as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_UPPER[(b >> 4) as usize],
                HEX_UPPER[(b & 0xF) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Standard base64 with padding, in quotes, encoded in place at the end of `out`.
fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = data.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    let written = STANDARD
        .encode_slice(data, &mut out[start..])
        .unwrap_or_default();
    debug_assert_eq!(written, len);
    out.truncate(start + written);
    out.push(b'"');
}

/// Writes `value` with `schema` as JsonConverter's `convertToJson` does, at any nesting: structs
/// as objects in field order, arrays, maps as objects when their keys are strings and as arrays
/// of `[key, value]` pairs otherwise, primitives and logical types as the fast path writes them.
/// A null takes the schema's default when `replace_null_with_default` (JsonConverter's
/// `replace.null.with.default`, true by default).
pub(crate) fn write_connect(
    out: &mut Vec<u8>,
    schema: &Schema,
    value: &Value,
    decimal_numeric: bool,
    replace_null_with_default: bool,
    scratch: &mut Scratch,
) -> crate::Result<()> {
    let value = match (value, &schema.default) {
        (Value::Null, Some(default)) if replace_null_with_default => &**default,
        _ => value,
    };
    match (value, schema.ty) {
        (Value::Null, _) if schema.optional => out.extend_from_slice(b"null"),
        (Value::Null, _) => {
            return Err(Error::new(
                ErrorKind::Conversion,
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        (Value::Struct(values), SchemaType::Struct) => {
            if values.len() != schema.fields.len() {
                return Err(Error::new(ErrorKind::Conversion, "Mismatching schema."));
            }
            out.push(b'{');
            for (i, (field, value)) in schema.fields.iter().zip(values).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, &field.name);
                out.push(b':');
                write_connect(
                    out,
                    &field.schema,
                    value,
                    decimal_numeric,
                    replace_null_with_default,
                    scratch,
                )
                .map_err(|e| {
                    Error::with_source(
                        ErrorKind::Conversion,
                        format!("cannot convert field {:?}", field.name),
                        e,
                    )
                })?;
            }
            out.push(b'}');
        }
        (Value::Array(items), SchemaType::Array) => {
            let Some(item_schema) = &schema.value_schema else {
                return Err(Error::new(
                    ErrorKind::Conversion,
                    "array schema without items",
                ));
            };
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_connect(
                    out,
                    item_schema,
                    item,
                    decimal_numeric,
                    replace_null_with_default,
                    scratch,
                )?;
            }
            out.push(b']');
        }
        (Value::Map(entries), SchemaType::Map) => {
            let (Some(key_schema), Some(value_schema)) = (&schema.key_schema, &schema.value_schema)
            else {
                return Err(Error::new(
                    ErrorKind::Conversion,
                    "map schema without keys and values",
                ));
            };
            let object = key_schema.ty == SchemaType::String;
            out.push(if object { b'{' } else { b'[' });
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if object {
                    let Value::Text(key) = key else {
                        return Err(Error::new(
                            ErrorKind::Conversion,
                            "a map key must be a string",
                        ));
                    };
                    write_json_bytes(out, key);
                    out.push(b':');
                } else {
                    out.push(b'[');
                    write_connect(
                        out,
                        key_schema,
                        key,
                        decimal_numeric,
                        replace_null_with_default,
                        scratch,
                    )?;
                    out.push(b',');
                }
                write_connect(
                    out,
                    value_schema,
                    value,
                    decimal_numeric,
                    replace_null_with_default,
                    scratch,
                )?;
                if !object {
                    out.push(b']');
                }
            }
            out.push(if object { b'}' } else { b']' });
        }
        (value, ty) if !matches!(ty, SchemaType::Struct | SchemaType::Array | SchemaType::Map) => {
            let field = FieldPlan {
                key_start: 0,
                key_end: 0,
                kind: Kind::of(schema),
                optional: schema.optional,
                has_default: schema.default.is_some(),
            };
            if let Err(problem) = write_value(&field, value, decimal_numeric, scratch, out) {
                let what = match problem {
                    Problem::Null => "null value for a required field".to_string(),
                    Problem::Mismatch => format!(
                        "expected {}, got {}",
                        expected(field.kind),
                        value_name(value)
                    ),
                    Problem::Range(v) => {
                        format!("value {v} out of range for {}", expected(field.kind))
                    }
                    Problem::Decimal(error) => decimal_reason(error).to_string(),
                };
                return Err(Error::new(
                    ErrorKind::Conversion,
                    format!("Conversion error: {what}"),
                ));
            }
        }
        (value, ty) => {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!(
                    "Conversion error: a {} schema cannot hold a {}",
                    ty.json_name(),
                    value_name(value)
                ),
            ));
        }
    }
    Ok(())
}

/// Writes a schemaless value as JsonConverter does (`schemas.enable=false` or a null schema):
/// maps with text keys as objects (others as `[key, value]` pairs), lists as arrays. Values that
/// only exist with a schema (decimals, dates) are refused, as Connect refuses them.
pub(crate) fn write_schemaless(out: &mut Vec<u8>, value: &Value) -> crate::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(v) => write_int(out, *v),
        Value::Float(x) => write_f64(out, *x),
        Value::Text(text) => write_json_bytes(out, text),
        Value::Bytes(bytes) => write_base64(out, bytes),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schemaless(out, item)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let object = entries.iter().all(|(k, _)| matches!(k, Value::Text(_)));
            out.push(if object { b'{' } else { b'[' });
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let (true, Value::Text(key)) = (object, key) {
                    write_json_bytes(out, key);
                    out.push(b':');
                    write_schemaless(out, value)?;
                } else {
                    out.push(b'[');
                    write_schemaless(out, key)?;
                    out.push(b',');
                    write_schemaless(out, value)?;
                    out.push(b']');
                }
            }
            out.push(if object { b'}' } else { b']' });
        }
        other => {
            let class = match other {
                Value::Decimal(_) => "java.math.BigDecimal",
                Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
                _ => "java.util.Date",
            };
            return Err(Error::new(
                ErrorKind::Conversion,
                format!("Java class class {class} does not have corresponding schema type."),
            ));
        }
    }
    Ok(())
}

/// Writes a schema as JsonConverter's `asJsonSchema`.
pub(crate) fn write_schema_json(out: &mut Vec<u8>, schema: &Schema) {
    write_schema(out, schema, None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{dec, field, text};
    use crate::model::{SourcePosition, logical};
    use bytes::Bytes;

    fn users_schema() -> Arc<Schema> {
        Arc::new(Schema::structure(
            Some("users".into()),
            vec![
                field("id", Schema::primitive(SchemaType::Int32, false)),
                field("user_id", Schema::primitive(SchemaType::String, true)),
                field(
                    "created_at",
                    Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
                ),
            ],
            false,
        ))
    }

    /// Encodes one row and checks the output parses as JSON.
    fn encode_with(encoder: &mut JsonEncoder, schema: &Arc<Schema>, row: &[Value]) -> String {
        let mut out = Vec::new();
        encoder.encode_row(schema, row, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        serde_json::from_str::<serde_json::Value>(&s)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {s}"));
        s
    }

    fn encode(schema: &Arc<Schema>, row: &[Value]) -> String {
        encode_with(&mut JsonEncoder::new(true, false), schema, row)
    }

    /// The payload of a one-field struct with the given field schema.
    fn one(schema: Schema, value: Value, numeric: bool) -> String {
        let schema = Arc::new(Schema::structure(None, vec![field("f", schema)], false));
        let s = encode_with(&mut JsonEncoder::new(false, numeric), &schema, &[value]);
        s.strip_prefix("{\"f\":")
            .and_then(|s| s.strip_suffix('}'))
            .unwrap()
            .to_string()
    }

    fn one_err(schema: Schema, value: Value) -> Error {
        let schema = Arc::new(Schema::structure(
            Some("t".into()),
            vec![field("f", schema)],
            false,
        ));
        let mut out = b"keep".to_vec();
        let error = JsonEncoder::new(true, false)
            .encode_row(&schema, &[value], &mut out)
            .unwrap_err();
        assert_eq!(out, b"keep", "output must be rolled back");
        assert_eq!(error.kind(), ErrorKind::Conversion);
        assert!(error.context().contains("\"f\""), "{}", error.context());
        error
    }

    /// `replace.null.with.default`: a null takes its field's default (Kafka's default, true) or
    /// stays null (false, as Debezium users set it), at the top level and inside a nested struct
    /// such as Debezium's `after`; the fast encoder writes what JsonConverter writes.
    #[test]
    fn nulls_take_defaults_only_when_replace_null_with_default() {
        use crate::convert::Converter;
        use crate::convert::json::JsonConverter;
        use crate::model::record::Part;
        let after = Schema::structure(
            Some("after".into()),
            vec![field(
                "b",
                Schema::primitive(SchemaType::String, true).with_default(text("x")),
            )],
            true,
        );
        let schema = Arc::new(Schema::structure(
            Some("t".into()),
            vec![
                field(
                    "a",
                    Schema::primitive(SchemaType::Int32, true).with_default(Value::Int(7)),
                ),
                field("after", after),
            ],
            false,
        ));
        let row = [Value::Null, Value::Struct(vec![Value::Null])];
        for (replace, expected) in [
            (true, r#"{"a":7,"after":{"b":"x"}}"#),
            (false, r#"{"a":null,"after":{"b":null}}"#),
        ] {
            let mut fast = JsonEncoder::new(false, false).replace_null_with_default(replace);
            assert_eq!(encode_with(&mut fast, &schema, &row), expected);
            let config = [
                ("schemas.enable".to_string(), "false".to_string()),
                ("replace.null.with.default".to_string(), replace.to_string()),
            ]
            .into();
            let part = Part::new(Some(schema.clone()), Value::Struct(row.to_vec()));
            let general = JsonConverter::new(&config)
                .unwrap()
                .from_connect("t", &part)
                .unwrap()
                .unwrap();
            assert_eq!(String::from_utf8(general).unwrap(), expected);
        }
    }

    fn decimal_base64(text: &str, scale: i32) -> String {
        one(Schema::decimal(scale, None, false), dec(text), false)
    }

    fn decimal_numeric(text: &str, scale: i32) -> String {
        one(Schema::decimal(scale, None, false), dec(text), true)
    }

    #[test]
    fn seed_message_from_the_jdbc_source() {
        let row = [
            Value::Int(2),
            text("user2"),
            Value::Timestamp(1_638_687_468_000_000),
        ];
        assert_eq!(
            encode(&users_schema(), &row),
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"user_id"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"}],"optional":false,"name":"users"},"payload":{"id":2,"user_id":"user2","created_at":1638687468000}}"#
        );
    }

    #[test]
    fn schemas_disabled_writes_the_payload_only() {
        let row = [Value::Int(2), Value::Null, Value::Timestamp(-1)];
        let mut encoder = JsonEncoder::new(false, false);
        assert_eq!(
            encode_with(&mut encoder, &users_schema(), &row),
            r#"{"id":2,"user_id":null,"created_at":-1}"#
        );
    }

    #[test]
    fn schema_json_orders_keys_like_json_converter() {
        let mut inner = Schema::structure(
            Some("inner".into()),
            vec![field("x", Schema::primitive(SchemaType::Boolean, true))],
            true,
        );
        inner.version = Some(3);
        inner.doc = Some("a \"doc\"".into());
        let mut param = Schema::primitive(SchemaType::String, false);
        param.parameters = vec![("b".into(), "2".into()), ("a".into(), "1".into())];
        let schema = Schema::structure(
            None,
            vec![
                field("d", Schema::decimal(2, Some(10), true)),
                field("n", inner),
                field("p", param),
                field("e", Schema::structure(None, vec![], false)),
            ],
            false,
        );
        assert_eq!(
            schema_json(&schema),
            r#"{"type":"struct","fields":[{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"d"},{"type":"struct","fields":[{"type":"boolean","optional":true,"field":"x"}],"optional":true,"name":"inner","version":3,"doc":"a \"doc\"","field":"n"},{"type":"string","optional":false,"parameters":{"b":"2","a":"1"},"field":"p"},{"type":"struct","fields":[],"optional":false,"field":"e"}],"optional":false}"#
        );
        serde_json::from_str::<serde_json::Value>(&schema_json(&schema)).unwrap();
        // The primitive types: every type before ARRAY.
        let names: Vec<_> = SchemaType::ALL[..9]
            .iter()
            .map(|&ty| schema_json(&Schema::primitive(ty, false)))
            .collect();
        assert_eq!(
            names.join(","),
            r#"{"type":"int8","optional":false},{"type":"int16","optional":false},{"type":"int32","optional":false},{"type":"int64","optional":false},{"type":"float","optional":false},{"type":"double","optional":false},{"type":"boolean","optional":false},{"type":"string","optional":false},{"type":"bytes","optional":false}"#
        );
    }

    #[test]
    fn every_type_and_nulls() {
        let types = [
            ("i8", Schema::primitive(SchemaType::Int8, true)),
            ("i16", Schema::primitive(SchemaType::Int16, true)),
            ("i32", Schema::primitive(SchemaType::Int32, true)),
            ("i64", Schema::primitive(SchemaType::Int64, true)),
            ("f32", Schema::primitive(SchemaType::Float32, true)),
            ("f64", Schema::primitive(SchemaType::Float64, true)),
            ("b", Schema::primitive(SchemaType::Boolean, true)),
            ("s", Schema::primitive(SchemaType::String, true)),
            ("by", Schema::primitive(SchemaType::Bytes, true)),
            ("dec", Schema::decimal(2, Some(5), true)),
            (
                "date",
                Schema::logical(SchemaType::Int32, logical::DATE, true),
            ),
            (
                "time",
                Schema::logical(SchemaType::Int32, logical::TIME, true),
            ),
            (
                "ts",
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
            ),
        ];
        let schema = Arc::new(Schema::structure(
            Some("all".into()),
            types.iter().map(|(n, s)| field(n, s.clone())).collect(),
            false,
        ));
        let row = [
            Value::Int(-128),
            Value::Int(32767),
            Value::Int(-2147483648),
            Value::Int(i64::MIN),
            Value::Float(1.5),
            Value::Float(-2.25),
            Value::Boolean(true),
            text("hé\"/\\"),
            Value::Bytes(Bytes::from_static(b"\x00\xff\x10ab")),
            dec("-12.5"),
            Value::Date(-1),
            Value::Time(45_296_789_999),
            Value::Timestamp(1_700_000_000_123_456),
        ];
        let mut encoder = JsonEncoder::new(false, false);
        assert_eq!(
            encode_with(&mut encoder, &schema, &row),
            r#"{"i8":-128,"i16":32767,"i32":-2147483648,"i64":-9223372036854775808,"f32":1.5,"f64":-2.25,"b":true,"s":"hé\"/\\","by":"AP8QYWI=","dec":"+x4=","date":-1,"time":45296789,"ts":1700000000123}"#
        );
        let nulls = vec![Value::Null; row.len()];
        let expected = format!(
            "{{{}}}",
            types
                .iter()
                .map(|(n, _)| format!("\"{n}\":null"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(encode_with(&mut encoder, &schema, &nulls), expected);
        assert_eq!(
            one(
                Schema::primitive(SchemaType::Boolean, false),
                Value::Boolean(false),
                false
            ),
            "false"
        );
        assert_eq!(
            one(
                Schema::primitive(SchemaType::Bytes, false),
                Value::Bytes(Bytes::new()),
                false
            ),
            "\"\""
        );
        assert_eq!(
            one(
                Schema::primitive(SchemaType::String, false),
                text(""),
                false
            ),
            "\"\""
        );
        assert_eq!(
            one(
                Schema::primitive(SchemaType::Int64, false),
                Value::Int(i64::MAX),
                false
            ),
            "9223372036854775807"
        );
    }

    #[test]
    fn the_whole_envelope_with_every_type_parses() {
        let schema = Arc::new(Schema::structure(
            Some("db.t\"x".into()),
            vec![
                field("a\nb", Schema::primitive(SchemaType::String, true)),
                field("dec", Schema::decimal(30, Some(65), false)),
                field("f", Schema::primitive(SchemaType::Float64, false)),
            ],
            true,
        ));
        let row = [text("\u{1}"), dec("-1"), Value::Float(f64::NAN)];
        let s = encode(&schema, &row);
        let json: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(json["payload"]["a\nb"], "\u{1}");
        assert_eq!(json["payload"]["f"], "NaN");
        assert_eq!(json["schema"]["name"], "db.t\"x");
        assert!(s.starts_with(r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"field":"a\nb"},"#));
    }

    #[test]
    fn strings_are_escaped_like_jackson() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        assert_eq!(
            one(
                Schema::primitive(SchemaType::String, false),
                text(&all_controls),
                false
            ),
            r#""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F""#
        );
        let s = "a\"b\\c/d\u{7f}e\u{80}é€😀\u{2028}";
        assert_eq!(
            one(Schema::primitive(SchemaType::String, false), text(s), false),
            "\"a\\\"b\\\\c/d\u{7f}e\u{80}é€😀\u{2028}\""
        );
        // Invalid UTF-8 decodes to U+FFFD per maximal invalid subsequence, as Java does.
        let invalid = Value::Text(Bytes::from_static(b"a\xffb\xe2\x82c\"\xc3"));
        assert_eq!(
            one(Schema::primitive(SchemaType::String, false), invalid, false),
            "\"a\u{FFFD}b\u{FFFD}c\\\"\u{FFFD}\""
        );
    }

    #[test]
    fn bytes_are_padded_standard_base64() {
        let cases: [(&[u8], &str); 5] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"\xfb\xff\xbf", "+/+/"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                one(
                    Schema::primitive(SchemaType::Bytes, true),
                    Value::Bytes(Bytes::copy_from_slice(bytes)),
                    false
                ),
                format!("\"{expected}\"")
            );
        }
    }

    #[test]
    fn decimal_base64_is_big_integer_to_byte_array() {
        let cases = [
            ("0", 0, "AA=="),
            ("-0.00", 2, "AA=="),
            ("0.000", 2, "AA=="),
            ("-1", 0, "/w=="),
            ("128", 0, "AIA="),
            ("127", 0, "fw=="),
            ("-128", 0, "gA=="),
            ("-129", 0, "/38="),
            ("255", 0, "AP8="),
            ("-256", 0, "/wA="),
            ("12.5", 2, "BOI="),
            ("12.50", 2, "BOI="),
            ("-12.50", 2, "+x4="),
            ("0.001", 3, "AQ=="),
            ("123", 2, "MAw="),
            ("1.5E3", 0, "Bdw="),
            ("+1.", 1, "Cg=="),
            (".5", 1, "BQ=="),
            ("1200", -2, "DA=="),
            // i64 / u128 boundaries.
            ("9223372036854775807", 0, "f/////////8="),
            ("9223372036854775808", 0, "AIAAAAAAAAAA"),
            ("-9223372036854775808", 0, "gAAAAAAAAAA="),
            ("-9223372036854775809", 0, "/3//////////"),
            (
                "170141183460469231731687303715884105727",
                0,
                "f////////////////////w==",
            ),
            (
                "170141183460469231731687303715884105728",
                0,
                "AIAAAAAAAAAAAAAAAAAAAAA=",
            ),
            (
                "-170141183460469231731687303715884105728",
                0,
                "gAAAAAAAAAAAAAAAAAAAAA==",
            ),
            // 38 vs 39 digits (u128 fast path vs limbs).
            (
                "99999999999999999999999999999999999999",
                0,
                "SztMqFqGxHoJiiI//////w==",
            ),
            (
                "999999999999999999999999999999999999999",
                0,
                "AvBQ/pOJQ6zEX2VWf/////8=",
            ),
            (
                "-999999999999999999999999999999999999999",
                0,
                "/Q+vAWx2vFM7oJqpgAAAAAE=",
            ),
            // DECIMAL(65,30) extremes.
            (
                "99999999999999999999999999999999999.999999999999999999999999999999",
                30,
                "APMWJxx/w5CKi+9GTjlF73olNgn//////////w==",
            ),
            (
                "-99999999999999999999999999999999999.999999999999999999999999999999",
                30,
                "/wzp2OOAPG91dBC5sca6EIXayfYAAAAAAAAAAQ==",
            ),
            ("0.000000000000000000000000000001", 30, "AQ=="),
            ("-0.000000000000000000000000000001", 30, "/w=="),
            ("1", 30, "DJ8snNBGdO3qQAAAAA=="),
            ("-1", 30, "82DTYy+5ixIVwAAAAA=="),
        ];
        for (text, scale, expected) in cases {
            assert_eq!(
                decimal_base64(text, scale),
                format!("\"{expected}\""),
                "{text} at scale {scale}"
            );
        }
    }

    #[test]
    fn decimal_rescaling_is_exact_or_an_error() {
        assert_eq!(decimal_base64("1.500", 2), decimal_base64("1.5", 2));
        for (text, scale) in [
            ("1.234", 2),
            ("0.001", 2),
            ("1250", -2),
            ("1e", 0),
            ("", 0),
            ("-", 0),
            ("1.2.3", 2),
            ("12a", 0),
            ("1e999999999", 0),
        ] {
            let error = one_err(Schema::decimal(scale, None, false), dec(text));
            assert!(error.context().contains("decimal"), "{}", error.context());
        }
        let error = one_err(Schema::decimal(2, None, false), dec("1.234"));
        assert!(
            error.context().contains("more fractional digits"),
            "{}",
            error.context()
        );
    }

    #[test]
    fn decimal_numeric_is_big_decimal_to_string() {
        let cases = [
            ("-12.50", 2, "-12.50"),
            ("-12.5", 2, "-12.50"),
            ("123", 0, "123"),
            ("123", 2, "123.00"),
            ("0", 2, "0.00"),
            ("-0", 0, "0"),
            ("0.001", 3, "0.001"),
            ("0.000001", 6, "0.000001"),
            ("0.0000001", 7, "1E-7"),
            ("-0.0000001", 10, "-1.000E-7"),
            ("0.00000012", 8, "1.2E-7"),
            ("0.0000012", 7, "0.0000012"),
            ("0", 6, "0.000000"),
            ("0", 7, "0E-7"),
            ("0", 30, "0E-30"),
            ("1", 30, "1.000000000000000000000000000000"),
            (
                "99999999999999999999999999999999999.999999999999999999999999999999",
                30,
                "99999999999999999999999999999999999.999999999999999999999999999999",
            ),
            ("1200", -2, "1.2E+3"),
            ("100", -2, "1E+2"),
        ];
        for (text, scale, expected) in cases {
            assert_eq!(decimal_numeric(text, scale), expected, "{text} at {scale}");
        }
    }

    #[test]
    fn doubles_are_written_like_java() {
        assert_eq!(
            one(
                Schema::primitive(SchemaType::Float64, false),
                Value::Float(1e7),
                false
            ),
            "1.0E7"
        );
    }

    #[test]
    fn floats_are_written_like_java() {
        // A FLOAT column's value arrives widened to f64 and is narrowed back.
        assert_eq!(
            one(
                Schema::primitive(SchemaType::Float32, false),
                Value::Float(f64::from(0.1f32)),
                false
            ),
            "0.1"
        );
        assert_eq!(
            one(
                Schema::primitive(SchemaType::Float32, false),
                Value::Float(f64::from(f32::MAX)),
                false
            ),
            "3.4028235E38"
        );
    }

    #[test]
    fn timestamps_times_and_dates_before_1970() {
        let ts = || Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false);
        let time = || Schema::logical(SchemaType::Int32, logical::TIME, false);
        let date = || Schema::logical(SchemaType::Int32, logical::DATE, false);
        assert_eq!(one(ts(), Value::Timestamp(-1), false), "-1");
        assert_eq!(one(ts(), Value::Timestamp(-1000), false), "-1");
        assert_eq!(one(ts(), Value::Timestamp(-1001), false), "-2");
        assert_eq!(one(ts(), Value::Timestamp(999), false), "0");
        // 1900-01-01T00:00:00.000001Z
        assert_eq!(
            one(ts(), Value::Timestamp(-2_208_988_799_999_999), false),
            "-2208988800000"
        );
        assert_eq!(one(time(), Value::Time(-1), false), "-1");
        assert_eq!(one(time(), Value::Time(86_399_999_999), false), "86399999");
        assert_eq!(one(date(), Value::Date(-25_567), false), "-25567");
        let error = one_err(time(), Value::Time(i64::from(i32::MAX) * 1000 + 1000));
        assert!(
            error.context().contains("out of range"),
            "{}",
            error.context()
        );
    }

    #[test]
    fn conversion_errors_name_the_field() {
        let error = one_err(Schema::primitive(SchemaType::Int32, false), Value::Null);
        assert!(error.context().contains("null"), "{}", error.context());
        for (ty, v) in [
            (SchemaType::Int8, 128),
            (SchemaType::Int8, -129),
            (SchemaType::Int16, 32768),
            (SchemaType::Int32, i64::from(i32::MIN) - 1),
        ] {
            let error = one_err(Schema::primitive(ty, false), Value::Int(v));
            assert!(
                error.context().contains("out of range"),
                "{}",
                error.context()
            );
        }
        let error = one_err(Schema::primitive(SchemaType::String, true), Value::Int(1));
        assert!(
            error.context().contains("expected string"),
            "{}",
            error.context()
        );
        let error = one_err(
            Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
            Value::Int(1),
        );
        assert!(
            error.context().contains("expected Timestamp"),
            "{}",
            error.context()
        );
        one_err(Schema::primitive(SchemaType::Array, true), Value::Int(1));
        one_err(Schema::decimal(2, None, true), text("1.00"));
        assert_eq!(
            one(Schema::primitive(SchemaType::Map, true), Value::Null, false),
            "null"
        );
    }

    fn batch(schema: &Arc<Schema>, values: Vec<Value>) -> SourceBatch {
        SourceBatch {
            topic: "users".into(),
            schema: Arc::clone(schema),
            values,
            keys: None,
            tombstones: Vec::new(),
            position: SourcePosition {
                partition: serde_json::json!({}),
                offset: serde_json::json!({}),
            },
        }
    }

    #[test]
    fn encode_batch_appends_records_and_ends() {
        let schema = users_schema();
        let values = vec![
            Value::Int(1),
            text("a"),
            Value::Null,
            Value::Int(2),
            Value::Null,
            Value::Timestamp(-1),
        ];
        let mut encoder = JsonEncoder::new(false, false);
        let mut out = b"xx".to_vec();
        let mut ends = vec![2];
        encoder
            .encode_batch(&batch(&schema, values), &mut out, &mut ends)
            .unwrap();
        let first = r#"{"id":1,"user_id":"a","created_at":null}"#;
        let second = r#"{"id":2,"user_id":null,"created_at":-1}"#;
        assert_eq!(String::from_utf8_lossy(&out), format!("xx{first}{second}"));
        assert_eq!(ends, [2, 2 + first.len(), 2 + first.len() + second.len()]);

        // An error rolls back the whole batch and names row and field.
        let bad = vec![
            Value::Int(3),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ];
        let error = encoder
            .encode_batch(&batch(&schema, bad), &mut out, &mut ends)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conversion);
        assert!(error.context().contains("row 1"), "{}", error.context());
        assert!(error.context().contains("\"id\""), "{}", error.context());
        assert_eq!(ends.len(), 3);
        assert_eq!(out.len(), *ends.last().unwrap());

        // Empty batches and ragged ones.
        encoder
            .encode_batch(&batch(&schema, vec![]), &mut out, &mut ends)
            .unwrap();
        assert_eq!(ends.len(), 3);
        let error = encoder
            .encode_batch(&batch(&schema, vec![Value::Int(1)]), &mut out, &mut ends)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal);
    }

    #[test]
    fn encode_row_checks_width_and_struct() {
        let mut encoder = JsonEncoder::new(true, false);
        let mut out = Vec::new();
        let error = encoder
            .encode_row(&users_schema(), &[Value::Int(1)], &mut out)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conversion);
        let not_struct = Arc::new(Schema::primitive(SchemaType::Int32, false));
        let error = encoder.encode_row(&not_struct, &[], &mut out).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conversion);
        let empty = Arc::new(Schema::structure(Some("e".into()), vec![], false));
        assert_eq!(
            encode_with(&mut encoder, &empty, &[]),
            r#"{"schema":{"type":"struct","fields":[],"optional":false,"name":"e"},"payload":{}}"#
        );
    }

    #[test]
    fn the_schema_cache_is_hit_by_arc() {
        let mut encoder = JsonEncoder::new(true, false);
        let schema = users_schema();
        let row = [Value::Int(1), Value::Null, Value::Null];
        let first = encode_with(&mut encoder, &schema, &row);
        assert_eq!(encoder.cache_stats(), (0, 1, 1));
        let second = encode_with(&mut encoder, &schema, &row);
        assert_eq!(first, second);
        assert_eq!(encoder.cache_stats(), (1, 1, 1));

        // An equal schema in another Arc is a separate entry; both then hit via the map.
        let other = Arc::new((*schema).clone());
        encode_with(&mut encoder, &other, &row);
        assert_eq!(encoder.cache_stats(), (1, 2, 2));
        encode_with(&mut encoder, &schema, &row);
        encode_with(&mut encoder, &other, &row);
        assert_eq!(encoder.cache_stats(), (3, 2, 2));

        // A batch looks its schema up once.
        let values = [row.clone(), row.clone(), row.clone()].concat();
        encoder
            .encode_batch(&batch(&schema, values), &mut Vec::new(), &mut Vec::new())
            .unwrap();
        assert_eq!(encoder.cache_stats(), (4, 2, 2));

        // The cache is emptied past its bound.
        for _ in 0..MAX_CACHED_SCHEMAS + 10 {
            let s = Arc::new((*schema).clone());
            encode_with(&mut encoder, &s, &row);
        }
        assert!(encoder.cache_stats().2 <= MAX_CACHED_SCHEMAS);
        assert_eq!(encode_with(&mut encoder, &schema, &row), first);
    }
}
