//! A JsonConverter-compatible decoder: the bytes Kafka Connect's `JsonConverter` writes in, a
//! struct schema and its row values out. It is the inverse of
//! [`crate::convert::json::encode::JsonEncoder`]: for every row the encoder can write,
//! `decode(encode(row)) == row` (times and timestamps at millisecond precision, decimals as text
//! at the schema's scale).
//!
//! - Parsing is simd-json's tape API over a scratch copy of the record owned by the decoder (one
//!   `memcpy`; the tape, simd-json's buffers and the decimal scratch are reused, so there is no
//!   allocation per record beyond the returned `Vec<Value>` and the `Bytes` of strings, byte
//!   strings and decimals).
//! - Schemas are cached by their raw JSON bytes. JsonConverter always writes
//!   `{"schema":<schema>,"payload":<payload>}`; when a record starts with the bytes of the schema
//!   used last (or of one found by a 64-bit hash of the schema bytes, located by a small
//!   string-aware bracket scanner, and then compared byte for byte), only the payload is parsed.
//!   Records with another layout (whitespace, `payload` first) are parsed whole and their schema
//!   is keyed by a canonical walk of the parsed value instead. The cache is emptied when it holds
//!   more than [`MAX_CACHED_SCHEMAS`] schemas.
//! - Values follow the field schemas: integers are range-checked against their width, floats
//!   accept the `"NaN"`, `"Infinity"` and `"-Infinity"` strings Jackson writes, bytes are
//!   base64, `Decimal` is base64 of the big-endian two's-complement unscaled value (any length) or
//!   a JSON number (`decimal.format=NUMERIC`, read exactly from the raw text, beyond what `f64`
//!   or `u64` hold), turned into canonical decimal text at the schema's scale (`-12.50`; the
//!   arithmetic is `model::numeric`, shared with the encoder). `Date`
//!   is days, `Time` milliseconds of the day (any `int32`, as MySQL's TIME can be negative or
//!   beyond a day) and `Timestamp` epoch milliseconds; the last two become microseconds.
//! - A null or missing field takes the field schema's `default` when it has one (as
//!   JsonConverter's `replace.null.with.default=true`, its default), else `Value::Null` when the
//!   field is optional, else it is an error naming the field.
//! - Array, map and nested struct fields are rejected: the JDBC sink cannot write them.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use simd_json::{Buffers, Node, StaticNode, Tape};

use crate::error::{Error, ErrorKind};
use crate::model::kind::Kind;
use crate::model::numeric::{DecimalError, from_byte_array, place_point, unscaled_digits};
use crate::model::{Field, Schema, SchemaType, Value, logical};

/// When the cache holds this many schemas, it is emptied before the next one is added.
pub(crate) const MAX_CACHED_SCHEMAS: usize = 1024;

/// The largest `|scale|` a Decimal schema may have (bounds the zeros written for it).
const MAX_SCALE: i64 = 100_000;

/// What JsonConverter writes first.
const SCHEMA_PREFIX: &[u8] = b"{\"schema\":";
/// What JsonConverter writes between the schema and the payload.
const PAYLOAD_KEY: &[u8] = b",\"payload\":";

/// JsonConverter's message for a record that is not exactly a schema-and-payload envelope.
const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// Standard base64; padding accepted but not required (Jackson is as lenient).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const NULL_NODE: Node<'static> = Node::Static(StaticNode::Null);

/// One decoded record value (or key): its schema (shared, cached) and its values in field order.
///
/// For a struct schema, `values` has one value per field. For a primitive schema (a record key
/// such as `{"schema":{"type":"int32","optional":false},"payload":42}`), `schema` is that
/// primitive schema (`schema.ty` is not [`SchemaType::Struct`]) and `values` holds the one value.
pub(crate) use crate::model::Data as Decoded;

/// Decodes records written by Kafka Connect's JsonConverter.
pub struct JsonDecoder {
    schemas_enable: bool,
    parser: Parser,
    cache: Cache,
    /// Plans for [`JsonDecoder::decode_with_schema`], keyed by `Arc::as_ptr` (each plan keeps its
    /// `Arc`, so an address cannot be reused while its entry lives).
    targets: HashMap<usize, Plan>,
    scratch: DecimalScratch,
}

impl JsonDecoder {
    /// JsonConverter's `replace.null.with.default` (true when not called): whether a null or
    /// missing field takes its schema's default.
    pub fn replace_null_with_default(mut self, replace: bool) -> Self {
        self.cache.keep_defaults = replace;
        self
    }

    /// A new decoder. `schemas_enable` is JsonConverter's `schemas.enable`.
    pub fn new(schemas_enable: bool) -> Self {
        JsonDecoder {
            schemas_enable,
            parser: Parser {
                scratch: Vec::new(),
                buffers: Buffers::default(),
                tape: Tape(Vec::new()),
            },
            cache: Cache {
                keep_defaults: true,
                ..Cache::default()
            },
            targets: HashMap::new(),
            scratch: DecimalScratch::default(),
        }
    }

    /// Decodes a record value (or key) written with `schemas.enable=true`: exactly
    /// `{"schema":…,"payload":…}`. A Kafka null (tombstone) is the caller's `None` and never
    /// reaches here; an empty slice is not JSON and is an error. `Ok(None)` for a JSON `null`
    /// payload with a null or optional schema.
    pub fn decode(&mut self, bytes: &[u8]) -> crate::Result<Option<Decoded>> {
        if !self.schemas_enable {
            return Err(Error::new(
                ErrorKind::Conversion,
                "records written with schemas.enable=false carry no schema: decode them with \
                 decode_with_schema",
            ));
        }
        if let Some(hit) = self.cache.find_layout(bytes) {
            let plan = &self.cache.plans[hit.plan];
            let scratch = &mut self.scratch;
            let raw = RawInput {
                input: bytes,
                payload_at: Some(hit.payload_start),
            };
            let parsed = self
                .parser
                .parse(&bytes[hit.payload_start..hit.payload_end], |nodes| {
                    decode_value(plan, nodes, 0, scratch, raw)
                });
            // A payload that does not parse alone goes the slow way, which reports the error.
            if let Ok(result) = parsed {
                self.cache.hits += 1;
                return result;
            }
        }
        self.decode_envelope(bytes)
    }

    /// Decodes a record written with `schemas.enable=false` (a plain JSON value) against a known
    /// target schema, such as the sink table's columns: struct fields are matched by name (extra
    /// keys are ignored; a missing field is `Null` if optional, else an error) and converted as
    /// [`JsonDecoder::decode`] does (so a Decimal is a JSON number or base64). A primitive
    /// `schema` decodes a scalar value. `Ok(None)` for a JSON `null`. The envelope is not
    /// expected here, whatever `schemas_enable` says.
    pub(crate) fn decode_with_schema(
        &mut self,
        bytes: &[u8],
        schema: &Arc<Schema>,
    ) -> crate::Result<Option<Decoded>> {
        let key = Arc::as_ptr(schema) as usize;
        if !self.targets.contains_key(&key) {
            let plan = Plan::from_schema(schema)?;
            if self.targets.len() >= MAX_CACHED_SCHEMAS {
                self.targets.clear();
            }
            self.targets.insert(key, plan);
        }
        let Some(plan) = self.targets.get(&key) else {
            return Err(Error::internal("decoder plan vanished"));
        };
        let scratch = &mut self.scratch;
        let raw = RawInput {
            input: bytes,
            payload_at: Some(skip_ws(bytes, 0)),
        };
        let parsed = self.parser.parse(bytes, |nodes| {
            if is_null(node_at(nodes, 0)) {
                return Ok(None);
            }
            decode_value(plan, nodes, 0, scratch, raw)
        });
        parsed.unwrap_or_else(|error| Err(not_json(error)))
    }

    /// Like [`JsonDecoder::decode_with_schema`] for a plain JSON object that is a whole table
    /// row, with one difference: a key that is not one of `schema`'s fields is an error naming
    /// it, not ignored (a schemaless record's field that has no column would otherwise be lost).
    pub(crate) fn decode_row(
        &mut self,
        bytes: &[u8],
        schema: &Arc<Schema>,
    ) -> crate::Result<Option<Decoded>> {
        if schema.ty == SchemaType::Struct {
            let parsed = self.parser.parse(bytes, |nodes| {
                members(nodes, 0)
                    .map(|(key, _)| key)
                    .find(|key| !schema.fields.iter().any(|f| f.name == *key))
                    .map(str::to_string)
            });
            match parsed {
                Ok(Some(unknown)) => {
                    return Err(Error::new(
                        ErrorKind::Conversion,
                        format!(
                            "field {unknown:?} is not a column of the target table (column names \
                             match exactly; a schemaless record cannot add columns)"
                        ),
                    ));
                }
                Ok(None) => {}
                Err(error) => return Err(not_json(error)),
            }
        }
        self.decode_with_schema(bytes, schema)
    }

    #[cfg(test)]
    /// Schema cache statistics: `(hits, misses, cached schemas)`. A hit is a record whose schema
    /// came from the cache; a miss parsed its schema.
    pub(crate) fn cache_stats(&self) -> (u64, u64, usize) {
        (self.cache.hits, self.cache.misses, self.cache.plans.len())
    }

    /// The whole record parsed at once: the first record of a schema, or another layout.
    fn decode_envelope(&mut self, bytes: &[u8]) -> crate::Result<Option<Decoded>> {
        let layout = schema_layout(bytes);
        let cache = &mut self.cache;
        let scratch = &mut self.scratch;
        let parsed = self.parser.parse(bytes, |nodes| {
            let Node::Object { len: 2, .. } = node_at(nodes, 0) else {
                return Err(Error::new(ErrorKind::Conversion, ENVELOPE_ERROR));
            };
            let (mut schema_at, mut payload_at) = (None, None);
            for (key, at) in members(nodes, 0) {
                match key {
                    "schema" => schema_at = Some(at),
                    "payload" => payload_at = Some(at),
                    _ => {}
                }
            }
            let (Some(schema_at), Some(payload_at)) = (schema_at, payload_at) else {
                return Err(Error::new(ErrorKind::Conversion, ENVELOPE_ERROR));
            };
            if is_null(node_at(nodes, schema_at)) {
                if is_null(node_at(nodes, payload_at)) {
                    return Ok(None);
                }
                return Err(Error::new(
                    ErrorKind::Conversion,
                    "record has a null schema but a non-null payload; the JDBC sink needs a \
                     schema",
                ));
            }
            let raw_schema = layout.map(|(start, end)| &bytes[start..end]);
            let plan = cache.plan(nodes, schema_at, raw_schema, scratch)?;
            let raw = RawInput {
                input: bytes,
                payload_at: None,
            };
            decode_value(&cache.plans[plan], nodes, payload_at, scratch, raw)
        });
        parsed.unwrap_or_else(|error| Err(not_json(error)))
    }
}

#[cold]
fn not_json(error: simd_json::Error) -> Error {
    Error::with_source(
        ErrorKind::Conversion,
        format!("record is not valid JSON: {error}"),
        error,
    )
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// simd-json's reusable state and the mutable copy of the input it parses in place.
struct Parser {
    scratch: Vec<u8>,
    buffers: Buffers,
    /// Empty between calls; its node vector is reused.
    tape: Tape<'static>,
}

impl Parser {
    /// Parses `input` and hands the tape's nodes to `f`. Integers beyond `i64`/`u64` (which
    /// simd-json rejects) are retried as floats: callers needing them exactly (decimals) read
    /// the raw text.
    fn parse<R>(
        &mut self,
        input: &[u8],
        mut f: impl FnMut(&[Node<'_>]) -> R,
    ) -> Result<R, simd_json::Error> {
        self.scratch.clear();
        self.scratch.extend_from_slice(input);
        let error = match self.attempt(&mut f) {
            Ok(result) => return Ok(result),
            Err(error) => error,
        };
        self.scratch.clear();
        self.scratch.extend_from_slice(input);
        if !patch_big_integers(&mut self.scratch) {
            return Err(error);
        }
        self.attempt(&mut f).map_err(|_| error)
    }

    fn attempt<R>(&mut self, f: &mut impl FnMut(&[Node<'_>]) -> R) -> Result<R, simd_json::Error> {
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let result =
            simd_json::fill_tape(self.scratch.as_mut_slice(), &mut self.buffers, &mut tape)
                .map(|()| f(&tape.0));
        self.tape = tape.reset();
        result
    }
}

#[inline]
fn node_at<'i>(nodes: &[Node<'i>], at: usize) -> Node<'i> {
    nodes.get(at).copied().unwrap_or(NULL_NODE)
}

#[inline]
fn is_null(node: Node<'_>) -> bool {
    matches!(node, Node::Static(StaticNode::Null))
}

/// The number of tape nodes of the value at `at`, nested ones included.
#[inline]
fn span(nodes: &[Node<'_>], at: usize) -> usize {
    match nodes.get(at) {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => count + 1,
        _ => 1,
    }
}

/// An object's members as (key, index of the value's node).
struct Members<'t, 'i> {
    nodes: &'t [Node<'i>],
    next: usize,
    left: usize,
}

impl<'i> Iterator for Members<'_, 'i> {
    type Item = (&'i str, usize);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let Some(Node::String(key)) = self.nodes.get(self.next) else {
            return None;
        };
        let value = self.next + 1;
        self.next = value + span(self.nodes, value);
        Some((key, value))
    }
}

fn members<'t, 'i>(nodes: &'t [Node<'i>], at: usize) -> Members<'t, 'i> {
    let left = match nodes.get(at) {
        Some(Node::Object { len, .. }) => *len,
        _ => 0,
    };
    Members {
        nodes,
        next: at + 1,
        left,
    }
}

fn find_member(nodes: &[Node<'_>], at: usize, key: &str) -> Option<usize> {
    members(nodes, at).find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn node_name(node: Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "a string",
        Node::Object { .. } => "an object",
        Node::Array { .. } => "an array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "a boolean",
        Node::Static(StaticNode::F64(_)) => "a number with a fraction or exponent",
        Node::Static(_) => "an integer",
    }
}

/// Rewrites integer literals simd-json cannot hold (beyond `i64::MIN..=u64::MAX`) into floats
/// of the same length and about the same magnitude (`…5678` → `…56e2`), outside strings. Returns whether any was rewritten.
fn patch_big_integers(buf: &mut [u8]) -> bool {
    let mut patched = false;
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'"' => i = skip_string(buf, i).unwrap_or(buf.len()),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < buf.len()
                    && matches!(buf[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let negative = buf[start] == b'-';
                let first = start + usize::from(negative);
                let digits = &buf[first..i];
                if digits.len() >= 19
                    && digits[0] != b'0'
                    && digits.iter().all(u8::is_ascii_digit)
                    && integer_overflows(negative, digits)
                {
                    // `1234…5678` → `1234…56e2`: a float of about the same magnitude.
                    buf[i - 2] = b'e';
                    buf[i - 1] = b'2';
                    patched = true;
                }
            }
            _ => i += 1,
        }
    }
    patched
}

fn integer_overflows(negative: bool, digits: &[u8]) -> bool {
    if digits.len() > 20 {
        return true;
    }
    let value = digits
        .iter()
        .fold(0u128, |v, &d| v * 10 + u128::from(d - b'0'));
    if negative {
        value > 1u128 << 63
    } else {
        value > u128::from(u64::MAX)
    }
}

// ---------------------------------------------------------------------------------------------
// Raw byte scanning (schema location, exact decimal numbers)

#[inline]
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index after the string starting at `i` (a `"`).
#[inline]
fn skip_string(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = bytes
            .get(j..)?
            .iter()
            .position(|&c| c == b'"' || c == b'\\')?;
        j += k;
        if bytes[j] == b'"' {
            return Some(j + 1);
        }
        j += 2;
    }
}

/// The index after the JSON value starting at `i` (no leading whitespace). Trusts the JSON to be
/// valid: on invalid input it returns some index or `None`, never panics.
fn skip_value(bytes: &[u8], mut i: usize) -> Option<usize> {
    match *bytes.get(i)? {
        b'"' => skip_string(bytes, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let start = i;
            while i < bytes.len()
                && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// Where the value of member `key` of the object at `at` (whitespace allowed) lies in `bytes`.
fn raw_member(bytes: &[u8], at: usize, key: &str) -> Option<(usize, usize)> {
    let mut i = skip_ws(bytes, at);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(bytes, i);
        match bytes.get(i)? {
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(bytes, i)?;
        let raw_key = &bytes[i + 1..key_end - 1];
        let matches = if raw_key.contains(&b'\\') {
            serde_json::from_slice::<String>(&bytes[i..key_end]).is_ok_and(|k| k == key)
        } else {
            raw_key == key.as_bytes()
        };
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(bytes, i + 1);
        let end = skip_value(bytes, i)?;
        if matches {
            return Some((i, end));
        }
        i = end;
    }
}

/// JsonConverter's layout, `{"schema":<schema>,"payload":…`: where `<schema>` lies.
fn schema_layout(bytes: &[u8]) -> Option<(usize, usize)> {
    let rest = bytes.strip_prefix(SCHEMA_PREFIX)?;
    let end = skip_value(rest, 0)?;
    rest[end..]
        .starts_with(PAYLOAD_KEY)
        .then_some((SCHEMA_PREFIX.len(), SCHEMA_PREFIX.len() + end))
}

/// Where the raw text of a payload number is, for exact decimals.
#[derive(Clone, Copy)]
struct RawInput<'a> {
    /// The whole record; empty when there is none (schema defaults).
    input: &'a [u8],
    /// Where the payload starts; `None` to look up the envelope's `payload` member.
    payload_at: Option<usize>,
}

impl<'a> RawInput<'a> {
    const NONE: RawInput<'static> = RawInput {
        input: b"",
        payload_at: None,
    };

    /// The raw text of the payload's `field` member, or of the payload itself.
    fn text(self, field: Option<&str>) -> Option<&'a [u8]> {
        if self.input.is_empty() {
            return None;
        }
        let payload = match self.payload_at {
            Some(at) => at,
            None => raw_member(self.input, 0, "payload")?.0,
        };
        let (start, end) = match field {
            Some(field) => raw_member(self.input, payload, field)?,
            None => {
                let start = skip_ws(self.input, payload);
                (start, skip_value(self.input, start)?)
            }
        };
        Some(&self.input[start..end])
    }
}

// ---------------------------------------------------------------------------------------------
// Schema cache and plans

/// The kind a value is read as: [`Kind::of`], with Decimal's scale parameter required and
/// checked, and arrays, maps and nested structs refused.
fn read_kind(schema: &Schema) -> Result<Kind, String> {
    Ok(match Kind::of(schema) {
        Kind::Decimal { .. } => {
            let Some(scale) = schema.parameter(logical::SCALE) else {
                return Err("Decimal schema has no scale parameter".into());
            };
            match scale.trim().parse::<i32>() {
                Ok(s) if i64::from(s).abs() <= MAX_SCALE => Kind::Decimal { scale: s },
                _ => return Err(format!("Decimal schema has an invalid scale {scale:?}")),
            }
        }
        Kind::Unsupported(SchemaType::Struct) => {
            return Err("nested structs are not supported by the JDBC sink".into());
        }
        Kind::Unsupported(_) => {
            return Err("arrays and maps are not supported by the JDBC sink".into());
        }
        kind => kind,
    })
}

/// What a value of `kind` must be, for error messages.
fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Int8 => "int8",
        Kind::Int16 => "int16",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Float32 => "float",
        Kind::Float64 => "double",
        Kind::Boolean => "boolean",
        Kind::String => "string",
        Kind::Bytes => "bytes (base64)",
        Kind::Decimal { .. } => "Decimal (base64 or a number)",
        Kind::Date => "Date (int32 days)",
        Kind::Time => "Time (int32 milliseconds)",
        Kind::Timestamp => "Timestamp (int64 milliseconds)",
        // Refused by `read_kind`.
        Kind::Unsupported(ty) => ty.json_name(),
    }
}

struct FieldPlan {
    kind: Kind,
    optional: bool,
    /// The schema's default, used for null and missing values.
    default: Option<Value>,
}

/// A parsed schema and how to read its values.
struct Plan {
    /// The schema's raw JSON bytes, or `\0` and its canonical walk (never raw JSON).
    raw: Box<[u8]>,
    schema: Arc<Schema>,
    /// One per struct field, or one for a primitive schema.
    fields: Box<[FieldPlan]>,
}

impl Plan {
    fn from_schema(schema: &Arc<Schema>) -> crate::Result<Plan> {
        let plan = |s: &Schema| -> Result<FieldPlan, String> {
            Ok(FieldPlan {
                kind: read_kind(s)?,
                optional: s.optional,
                default: None,
            })
        };
        let fields = if schema.ty == SchemaType::Struct {
            schema
                .fields
                .iter()
                .map(|f| {
                    plan(&f.schema).map_err(|e| schema_error(format!("field {:?}: {e}", f.name)))
                })
                .collect::<crate::Result<_>>()?
        } else {
            vec![plan(schema).map_err(schema_error)?]
        };
        Ok(Plan {
            raw: Box::default(),
            schema: Arc::clone(schema),
            fields: fields.into_boxed_slice(),
        })
    }
}

#[derive(Default)]
struct Cache {
    plans: Vec<Plan>,
    /// Hash of `Plan::raw` → position in `plans`.
    index: HashMap<u64, usize>,
    /// The plan used last, tried first.
    last: Option<usize>,
    /// Scratch for canonical keys.
    canonical: Vec<u8>,
    hits: u64,
    misses: u64,
    /// `replace.null.with.default`: plans read a null as the schema's default.
    keep_defaults: bool,
}

/// A record in JsonConverter's layout whose schema is cached.
struct LayoutHit {
    plan: usize,
    payload_start: usize,
    /// Before the envelope's closing brace.
    payload_end: usize,
}

impl Cache {
    /// Finds the cached schema the record starts with, without parsing anything.
    fn find_layout(&mut self, bytes: &[u8]) -> Option<LayoutHit> {
        let rest = bytes.strip_prefix(SCHEMA_PREFIX)?;
        // Only raw schema objects are compared (canonical keys start with `\0`).
        if rest.first() != Some(&b'{') {
            return None;
        }
        let last = self.last.and_then(|i| {
            let raw = &self.plans[i].raw;
            (rest.starts_with(raw) && rest[raw.len()..].starts_with(PAYLOAD_KEY)).then_some(i)
        });
        let plan = match last {
            Some(i) => i,
            None => {
                let (start, end) = schema_layout(bytes)?;
                let raw = &bytes[start..end];
                let &i = self.index.get(&hash_bytes(raw))?;
                if *self.plans[i].raw != *raw {
                    return None;
                }
                self.last = Some(i);
                i
            }
        };
        let payload_start = SCHEMA_PREFIX.len() + self.plans[plan].raw.len() + PAYLOAD_KEY.len();
        let mut end = bytes.len();
        while end > payload_start && matches!(bytes[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
            end -= 1;
        }
        (end > payload_start + 1 && bytes[end - 1] == b'}').then_some(LayoutHit {
            plan,
            payload_start,
            payload_end: end - 1,
        })
    }

    /// The plan of the schema at `at`, parsed on a miss. `raw` is its bytes in the record when
    /// the record has JsonConverter's layout.
    fn plan(
        &mut self,
        nodes: &[Node<'_>],
        at: usize,
        raw: Option<&[u8]>,
        scratch: &mut DecimalScratch,
    ) -> crate::Result<usize> {
        let mut canonical = std::mem::take(&mut self.canonical);
        let key = match raw {
            Some(raw) => raw,
            None => {
                canonical.clear();
                canonical.push(0);
                write_canonical(nodes, at, &mut canonical);
                &canonical[..]
            }
        };
        let hash = hash_bytes(key);
        if let Some(&i) = self.index.get(&hash)
            && *self.plans[i].raw == *key
        {
            self.hits += 1;
            self.last = Some(i);
            self.canonical = canonical;
            return Ok(i);
        }
        let parsed = parse_plan(nodes, at, scratch, self.keep_defaults);
        let key: Box<[u8]> = key.into();
        self.canonical = canonical;
        let (schema, fields) = parsed?;
        self.misses += 1;
        if self.plans.len() >= MAX_CACHED_SCHEMAS {
            self.plans.clear();
            self.index.clear();
        }
        self.plans.push(Plan {
            raw: key,
            schema: Arc::new(schema),
            fields: fields.into_boxed_slice(),
        });
        let i = self.plans.len() - 1;
        self.index.insert(hash, i);
        self.last = Some(i);
        Ok(i)
    }
}

/// A fast 64-bit hash; equality is always checked on the bytes.
fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64) ^ 0x243F_6A88_85A3_08D3;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
        h = (h.rotate_left(5) ^ v).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// An unambiguous serialization of the value at `at`, for cache keys. Returns the next node.
fn write_canonical(nodes: &[Node<'_>], at: usize, out: &mut Vec<u8>) -> usize {
    match node_at(nodes, at) {
        node @ (Node::Object { len, .. } | Node::Array { len, .. }) => {
            let object = matches!(node, Node::Object { .. });
            out.push(if object { b'{' } else { b'[' });
            let mut next = at + 1;
            for i in 0..len {
                if i > 0 {
                    out.push(b',');
                }
                if object {
                    next = write_canonical(nodes, next, out);
                    out.push(b':');
                }
                next = write_canonical(nodes, next, out);
            }
            out.push(if object { b'}' } else { b']' });
            next
        }
        Node::String(s) => {
            out.push(b'"');
            for &c in s.as_bytes() {
                if c == b'"' || c == b'\\' {
                    out.push(b'\\');
                }
                out.push(c);
            }
            out.push(b'"');
            at + 1
        }
        Node::Static(value) => {
            let _ = write!(out, "{value:?}");
            at + 1
        }
    }
}

#[cold]
fn schema_error(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Conversion,
        format!("invalid record schema: {why}"),
    )
}

/// A schema node's own attributes, and where its `fields` and `default` are.
struct SchemaNode<'i> {
    schema: Schema,
    fields_at: Option<usize>,
    default_at: Option<usize>,
    field_name: Option<&'i str>,
}

/// `JsonConverter.asConnectSchema` for one level: `type` (required), `optional` (false unless
/// `true`), `name`, `version`, `doc` and `parameters` (string values) when of the right type.
fn parse_schema_node<'i>(nodes: &[Node<'i>], at: usize) -> Result<SchemaNode<'i>, String> {
    let node = node_at(nodes, at);
    if !matches!(node, Node::Object { .. }) {
        return Err(format!(
            "a schema must be an object, not {}",
            node_name(node)
        ));
    }
    let mut ty = None;
    let mut schema = Schema::primitive(SchemaType::Struct, false);
    let (mut fields_at, mut default_at, mut field_name) = (None, None, None);
    for (key, value) in members(nodes, at) {
        let value_node = node_at(nodes, value);
        match (key, value_node) {
            ("type", Node::String(name)) => {
                ty = Some(
                    SchemaType::from_json_name(name)
                        .ok_or_else(|| format!("unknown schema type {name:?}"))?,
                );
            }
            ("type", _) => return Err("schema \"type\" must be a string".into()),
            ("optional", _) => {
                schema.optional = matches!(value_node, Node::Static(StaticNode::Bool(true)));
            }
            ("name", Node::String(name)) => schema.name = Some(name.to_string()),
            ("version", Node::Static(StaticNode::I64(v))) => schema.version = i32::try_from(v).ok(),
            ("version", Node::Static(StaticNode::U64(v))) => schema.version = i32::try_from(v).ok(),
            ("doc", Node::String(doc)) => schema.doc = Some(doc.to_string()),
            ("parameters", Node::Object { .. }) => {
                schema.parameters.clear();
                for (name, param) in members(nodes, value) {
                    let Node::String(param) = node_at(nodes, param) else {
                        return Err("schema parameters must have string values".into());
                    };
                    schema
                        .parameters
                        .push((name.to_string(), param.to_string()));
                }
            }
            ("fields", _) => fields_at = Some(value),
            ("default", _) => default_at = Some(value),
            ("field", Node::String(name)) => field_name = Some(name),
            _ => {}
        }
    }
    schema.ty = ty.ok_or("a schema must have a \"type\"")?;
    Ok(SchemaNode {
        schema,
        fields_at,
        default_at,
        field_name,
    })
}

/// The schema at `at` (a struct of primitives, or a primitive) and its field plans. Defaults
/// are checked either way, and kept in the plans (to replace nulls) when `keep_defaults`.
fn parse_plan(
    nodes: &[Node<'_>],
    at: usize,
    scratch: &mut DecimalScratch,
    keep_defaults: bool,
) -> crate::Result<(Schema, Vec<FieldPlan>)> {
    let top = parse_schema_node(nodes, at).map_err(schema_error)?;
    let mut schema = top.schema;
    if schema.ty != SchemaType::Struct {
        let kind = read_kind(&schema).map_err(schema_error)?;
        let default = default_value(kind, nodes, top.default_at, scratch)
            .map_err(|why| schema_error(format!("invalid default: {why}")))?
            .filter(|_| keep_defaults);
        let optional = schema.optional;
        return Ok((
            schema,
            vec![FieldPlan {
                kind,
                optional,
                default,
            }],
        ));
    }
    let Some(fields_at) = top.fields_at else {
        return Err(schema_error("a struct schema must have \"fields\""));
    };
    let Node::Array { len, .. } = node_at(nodes, fields_at) else {
        return Err(schema_error(
            "a struct schema's \"fields\" must be an array",
        ));
    };
    let mut fields = Vec::with_capacity(len);
    let mut plans = Vec::with_capacity(len);
    let mut next = fields_at + 1;
    for i in 0..len {
        let field = parse_schema_node(nodes, next)
            .map_err(|why| schema_error(format!("field {i}: {why}")))?;
        let Some(name) = field.field_name else {
            return Err(schema_error(format!("field {i} has no \"field\" name")));
        };
        let kind = read_kind(&field.schema)
            .map_err(|why| schema_error(format!("field {name:?}: {why}")))?;
        let default = default_value(kind, nodes, field.default_at, scratch)
            .map_err(|why| schema_error(format!("field {name:?}: invalid default: {why}")))?
            .filter(|_| keep_defaults);
        plans.push(FieldPlan {
            kind,
            optional: field.schema.optional,
            default,
        });
        fields.push(Field {
            name: name.to_string(),
            schema: field.schema,
        });
        next += span(nodes, next);
    }
    schema.fields = fields;
    Ok((schema, plans))
}

/// A schema's `default`, read like a payload value (a `NUMERIC` decimal default goes through
/// `f64`).
fn default_value(
    kind: Kind,
    nodes: &[Node<'_>],
    at: Option<usize>,
    scratch: &mut DecimalScratch,
) -> Result<Option<Value>, String> {
    let Some(at) = at else {
        return Ok(None);
    };
    let node = node_at(nodes, at);
    if is_null(node) {
        return Ok(None);
    }
    convert(kind, node, scratch, RawInput::NONE, None)
        .map(Some)
        .map_err(|problem| problem.describe(kind))
}

// ---------------------------------------------------------------------------------------------
// Values

/// Why a value could not be read (the field is named by the caller).
enum Problem {
    Null,
    Type(&'static str),
    Range(String),
    Invalid(String),
}

impl Problem {
    fn describe(self, kind: Kind) -> String {
        match self {
            Problem::Null => "null value for a required field".into(),
            Problem::Type(got) => format!("expected {}, got {got}", expected(kind)),
            Problem::Range(v) => format!("value {v} out of range for {}", expected(kind)),
            Problem::Invalid(why) => why,
        }
    }
}

#[cold]
#[inline(never)]
fn value_error(schema: &Schema, field: Option<&str>, kind: Kind, problem: Problem) -> Error {
    let what = problem.describe(kind);
    let context = match field {
        Some(field) => format!(
            "cannot convert field {field:?} of {}: {what}",
            schema.name.as_deref().unwrap_or("(unnamed struct)")
        ),
        None => format!(
            "cannot convert the record's {} payload: {what}",
            schema.ty.json_name()
        ),
    };
    Error::new(ErrorKind::Conversion, context)
}

/// Decodes the payload at `at` against `plan`.
fn decode_value(
    plan: &Plan,
    nodes: &[Node<'_>],
    at: usize,
    scratch: &mut DecimalScratch,
    raw: RawInput<'_>,
) -> crate::Result<Option<Decoded>> {
    let schema = &plan.schema;
    let node = node_at(nodes, at);
    if schema.ty != SchemaType::Struct {
        let Some(field) = plan.fields.first() else {
            return Err(Error::internal("primitive plan without a field"));
        };
        if is_null(node) && field.default.is_none() && field.optional {
            return Ok(None);
        }
        let value = field_value(field, node, scratch, raw, None)
            .map_err(|problem| value_error(schema, None, field.kind, problem))?;
        return Ok(Some(Decoded {
            schema: Arc::clone(schema),
            values: vec![value],
        }));
    }
    let Node::Object { len, .. } = node else {
        if is_null(node) && schema.optional {
            return Ok(None);
        }
        return Err(Error::new(
            ErrorKind::Conversion,
            format!(
                "cannot convert the record's payload: struct {} needs an object, got {}",
                schema.name.as_deref().unwrap_or("(unnamed)"),
                node_name(node)
            ),
        ));
    };
    let mut values = Vec::with_capacity(plan.fields.len());
    // JsonConverter writes the fields in schema order: follow the object while it agrees.
    let mut cursor = at + 1;
    let mut left = len;
    let mut in_order = true;
    for (field, field_plan) in schema.fields.iter().zip(plan.fields.iter()) {
        let mut found = None;
        if in_order && left > 0 {
            if matches!(node_at(nodes, cursor), Node::String(key) if key == field.name) {
                found = Some(cursor + 1);
                cursor += 1 + span(nodes, cursor + 1);
                left -= 1;
            } else {
                in_order = false;
            }
        }
        if !in_order && found.is_none() {
            found = find_member(nodes, at, &field.name);
        }
        let node = found.map_or(NULL_NODE, |i| node_at(nodes, i));
        let value = field_value(field_plan, node, scratch, raw, Some(&field.name))
            .map_err(|problem| value_error(schema, Some(&field.name), field_plan.kind, problem))?;
        values.push(value);
    }
    Ok(Some(Decoded {
        schema: Arc::clone(schema),
        values,
    }))
}

#[inline]
fn field_value(
    plan: &FieldPlan,
    node: Node<'_>,
    scratch: &mut DecimalScratch,
    raw: RawInput<'_>,
    field: Option<&str>,
) -> Result<Value, Problem> {
    if is_null(node) {
        return match &plan.default {
            Some(default) => Ok(default.clone()),
            None if plan.optional => Ok(Value::Null),
            None => Err(Problem::Null),
        };
    }
    convert(plan.kind, node, scratch, raw, field)
}

/// Reads a non-null value.
#[inline]
fn convert(
    kind: Kind,
    node: Node<'_>,
    scratch: &mut DecimalScratch,
    raw: RawInput<'_>,
    field: Option<&str>,
) -> Result<Value, Problem> {
    Ok(match kind {
        Kind::Int64 => Value::Int(int(node, i64::MIN, i64::MAX)?),
        Kind::Int32 => Value::Int(int(node, i32::MIN.into(), i32::MAX.into())?),
        Kind::Int16 => Value::Int(int(node, i16::MIN.into(), i16::MAX.into())?),
        Kind::Int8 => Value::Int(int(node, i8::MIN.into(), i8::MAX.into())?),
        Kind::String => match node {
            Node::String(s) => Value::Text(Bytes::copy_from_slice(s.as_bytes())),
            other => return Err(Problem::Type(node_name(other))),
        },
        Kind::Timestamp => {
            let millis = int(node, i64::MIN, i64::MAX)?;
            Value::Timestamp(
                millis
                    .checked_mul(1000)
                    .ok_or_else(|| Problem::Range(millis.to_string()))?,
            )
        }
        Kind::Date => Value::Date(int(node, i32::MIN.into(), i32::MAX.into())? as i32),
        Kind::Time => Value::Time(int(node, i32::MIN.into(), i32::MAX.into())? * 1000),
        Kind::Boolean => match node {
            Node::Static(StaticNode::Bool(b)) => Value::Boolean(b),
            other => return Err(Problem::Type(node_name(other))),
        },
        Kind::Float64 => Value::Float(float(node)?),
        Kind::Float32 => Value::Float(f64::from(float(node)? as f32)),
        Kind::Bytes => match node {
            Node::String(s) => {
                let mut out = Vec::with_capacity(base64::decoded_len_estimate(s.len()));
                BASE64
                    .decode_vec(s.as_bytes(), &mut out)
                    .map_err(|e| Problem::Invalid(format!("invalid base64: {e}")))?;
                Value::Bytes(Bytes::from(out))
            }
            other => return Err(Problem::Type(node_name(other))),
        },
        Kind::Decimal { scale } => Value::Decimal(decimal(node, scale, scratch, raw, field)?),
        // Refused when the plan is made.
        Kind::Unsupported(_) => return Err(Problem::Type(node_name(node))),
    })
}

#[inline]
fn int(node: Node<'_>, min: i64, max: i64) -> Result<i64, Problem> {
    match node {
        Node::Static(StaticNode::I64(v)) if (min..=max).contains(&v) => Ok(v),
        Node::Static(StaticNode::I64(v)) => Err(Problem::Range(v.to_string())),
        Node::Static(StaticNode::U64(v)) => match i64::try_from(v) {
            Ok(v) if v <= max => Ok(v),
            _ => Err(Problem::Range(v.to_string())),
        },
        // Integers beyond u64 arrive as floats (see `patch_big_integers`).
        Node::Static(StaticNode::F64(x)) if x.fract() == 0.0 => {
            Err(Problem::Range(format!("{x:e}")))
        }
        other => Err(Problem::Type(node_name(other))),
    }
}

#[inline]
fn float(node: Node<'_>) -> Result<f64, Problem> {
    match node {
        Node::Static(StaticNode::F64(x)) => Ok(x),
        Node::Static(StaticNode::I64(v)) => Ok(v as f64),
        Node::Static(StaticNode::U64(v)) => Ok(v as f64),
        Node::String("NaN") => Ok(f64::NAN),
        Node::String("Infinity") => Ok(f64::INFINITY),
        Node::String("-Infinity") => Ok(f64::NEG_INFINITY),
        other => Err(Problem::Type(node_name(other))),
    }
}

// ---------------------------------------------------------------------------------------------
// Decimals

/// Reusable buffers for decimals.
#[derive(Default)]
struct DecimalScratch {
    /// Decoded base64: the unscaled value's big-endian two's complement.
    bytes: Vec<u8>,
    /// Little-endian base-10^9 limbs of a long unscaled value.
    limbs: Vec<u64>,
    /// ASCII digits of the unscaled value, without leading zeros (empty for zero).
    digits: Vec<u8>,
}

fn decimal(
    node: Node<'_>,
    scale: i32,
    scratch: &mut DecimalScratch,
    raw: RawInput<'_>,
    field: Option<&str>,
) -> Result<Bytes, Problem> {
    let mut out = Vec::new();
    match node {
        Node::String(s) => {
            scratch.bytes.clear();
            BASE64
                .decode_vec(s.as_bytes(), &mut scratch.bytes)
                .map_err(|e| Problem::Invalid(format!("invalid base64: {e}")))?;
            if scratch.bytes.is_empty() {
                return Err(Problem::Invalid(
                    "a Decimal's unscaled value has no bytes".into(),
                ));
            }
            let negative =
                from_byte_array(&mut scratch.bytes, &mut scratch.limbs, &mut scratch.digits);
            place_point(negative, &scratch.digits, scale, &mut out);
        }
        Node::Static(StaticNode::I64(v)) => integer_text(v.into(), scale, scratch, &mut out)?,
        Node::Static(StaticNode::U64(v)) => integer_text(v.into(), scale, scratch, &mut out)?,
        Node::Static(StaticNode::F64(x)) => match raw.text(field) {
            Some(text) => numeric_text(text, scale, scratch, &mut out)?,
            None => numeric_text(format!("{x:e}").as_bytes(), scale, scratch, &mut out)?,
        },
        other => return Err(Problem::Type(node_name(other))),
    }
    Ok(Bytes::from(out))
}

/// A Decimal payload read outside the fast path: base64 of the unscaled value (`text` is a JSON
/// string) or the raw text of a JSON number, as canonical text at `scale`.
pub(crate) fn decimal_payload(text: &str, is_number: bool, scale: i32) -> Result<Bytes, String> {
    let mut scratch = DecimalScratch::default();
    let mut out = Vec::new();
    if is_number {
        numeric_text(text.as_bytes(), scale, &mut scratch, &mut out)
            .map_err(|p| p.describe(Kind::Decimal { scale }))?;
    } else {
        BASE64
            .decode_vec(text.as_bytes(), &mut scratch.bytes)
            .map_err(|e| format!("invalid base64: {e}"))?;
        if scratch.bytes.is_empty() {
            return Err("a Decimal's unscaled value has no bytes".into());
        }
        let negative = from_byte_array(&mut scratch.bytes, &mut scratch.limbs, &mut scratch.digits);
        place_point(negative, &scratch.digits, scale, &mut out);
    }
    Ok(Bytes::from(out))
}

/// Standard base64, padding optional, as Jackson reads it.
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(text.as_bytes())
        .map_err(|e| format!("invalid base64: {e}"))
}

/// [`numeric_text`] of a JSON integer.
fn integer_text(
    value: i128,
    scale: i32,
    scratch: &mut DecimalScratch,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    numeric_text(
        itoa::Buffer::new().format(value).as_bytes(),
        scale,
        scratch,
        out,
    )
}

/// A JSON number (`BigDecimal.toString()` with `decimal.format=NUMERIC`: `-12.5`, `1.5E+3`)
/// rescaled exactly to `scale` and written as canonical text.
fn numeric_text(
    text: &[u8],
    scale: i32,
    scratch: &mut DecimalScratch,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    let invalid =
        |why: &str| Problem::Invalid(format!("{:?} {why}", String::from_utf8_lossy(text)));
    // A JSON number has no leading `+` (database text, which the parser also reads, may).
    if text.first() == Some(&b'+') {
        return Err(invalid("is not a decimal number"));
    }
    let negative =
        unscaled_digits(text, scale, 2 * MAX_SCALE, &mut scratch.digits).map_err(|error| {
            match error {
                DecimalError::NotANumber => invalid("is not a decimal number"),
                DecimalError::ExponentOutOfRange => invalid("has an exponent out of range"),
                DecimalError::OutOfRange => {
                    Problem::Range(String::from_utf8_lossy(text).into_owned())
                }
                DecimalError::TooManyFractionalDigits => invalid(&format!(
                    "has more fractional digits than the scale {scale}"
                )),
            }
        })?;
    place_point(negative, &scratch.digits, scale, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::json::encode::JsonEncoder;
    use crate::model::fixtures::{dec, field, text};

    #[test]
    fn decode_row_refuses_keys_that_are_not_fields() {
        let schema = Arc::new(Schema::structure(
            None,
            vec![
                field("id", Schema::primitive(SchemaType::Int64, true)),
                field("name", Schema::primitive(SchemaType::String, true)),
            ],
            false,
        ));
        let mut decoder = JsonDecoder::new(false);
        let row = decoder
            .decode_row(br#" {"name":"a","id":7} "#, &schema)
            .unwrap()
            .unwrap();
        assert_eq!(row.values, vec![Value::Int(7), text("a")]);
        let error = decoder
            .decode_row(br#"{"id":7,"Name":"a"}"#, &schema)
            .unwrap_err();
        assert!(error.to_string().contains("\"Name\""), "{error}");
        // decode_with_schema ignores it, as JsonConverter ignores payload keys with schemas.
        assert!(
            decoder
                .decode_with_schema(br#"{"id":7,"Name":"a"}"#, &schema)
                .is_ok()
        );
        assert!(decoder.decode_row(b"{not json", &schema).is_err());
    }

    fn decode(json: &str) -> crate::Result<Option<Decoded>> {
        JsonDecoder::new(true).decode(json.as_bytes())
    }

    fn values(json: &str) -> Vec<Value> {
        decode(json)
            .unwrap_or_else(|e| panic!("{e:#}: {json}"))
            .unwrap()
            .values
    }

    /// A Conversion error; returns its context.
    fn error(json: &str) -> String {
        let error = decode(json).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conversion, "{error:?}");
        error.context().to_string()
    }

    /// An envelope with a one-field struct schema `{"type":<ty>,…,"field":"v"}`.
    fn one(field_schema: &str, payload: &str) -> String {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{field_schema}],"optional":false,"name":"t"}},"payload":{payload}}}"#
        )
    }

    fn one_value(field_schema: &str, payload: &str) -> Value {
        values(&one(field_schema, &format!("{{\"v\":{payload}}}"))).remove(0)
    }

    fn encode(encoder: &mut JsonEncoder, schema: &Arc<Schema>, row: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        encoder.encode_row(schema, row, &mut out).unwrap();
        out
    }

    const SEED: &str = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"user_id"},{"type":"string","optional":true,"field":"pwd"},{"type":"string","optional":true,"field":"name"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"}],"optional":false,"name":"users"},"payload":{"id":2,"user_id":"user2","pwd":"1234","name":"lee","created_at":1638687468000}}"#;

    fn seed_schema() -> Schema {
        Schema::structure(
            Some("users".into()),
            vec![
                field("id", Schema::primitive(SchemaType::Int32, false)),
                field("user_id", Schema::primitive(SchemaType::String, true)),
                field("pwd", Schema::primitive(SchemaType::String, true)),
                field("name", Schema::primitive(SchemaType::String, true)),
                field(
                    "created_at",
                    Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
                ),
            ],
            false,
        )
    }

    #[test]
    fn seed_message_from_the_jdbc_source() {
        let decoded = decode(SEED).unwrap().unwrap();
        assert_eq!(*decoded.schema, seed_schema());
        assert_eq!(
            decoded.values,
            [
                Value::Int(2),
                text("user2"),
                text("1234"),
                text("lee"),
                Value::Timestamp(1_638_687_468_000_000),
            ]
        );
        // And back, byte for byte.
        let out = encode(
            &mut JsonEncoder::new(true, false),
            &decoded.schema,
            &decoded.values,
        );
        assert_eq!(String::from_utf8(out).unwrap(), SEED);
    }

    fn wide_schema() -> Arc<Schema> {
        let types = [
            ("i8", Schema::primitive(SchemaType::Int8, false)),
            ("i8n", Schema::primitive(SchemaType::Int8, true)),
            ("i16", Schema::primitive(SchemaType::Int16, true)),
            ("i32", Schema::primitive(SchemaType::Int32, true)),
            ("i64", Schema::primitive(SchemaType::Int64, false)),
            ("f32", Schema::primitive(SchemaType::Float32, true)),
            ("f64", Schema::primitive(SchemaType::Float64, true)),
            ("b", Schema::primitive(SchemaType::Boolean, true)),
            ("s", Schema::primitive(SchemaType::String, true)),
            ("by", Schema::primitive(SchemaType::Bytes, true)),
            ("dec", Schema::decimal(2, Some(10), true)),
            ("dec0", Schema::decimal(0, None, true)),
            ("dec10", Schema::decimal(10, Some(20), true)),
            ("big", Schema::decimal(30, Some(65), true)),
            ("big0", Schema::decimal(0, Some(65), true)),
            ("neg_scale", Schema::decimal(-2, None, true)),
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
            ("ké\"y\n", Schema::primitive(SchemaType::String, false)),
        ];
        let mut schema = Schema::structure(
            Some("db.wide \"t\"".into()),
            types.into_iter().map(|(n, s)| field(n, s)).collect(),
            false,
        );
        schema.version = Some(7);
        schema.doc = Some("a doc with \"quotes\" and é".into());
        schema.fields[8].schema.parameters =
            vec![("z".into(), "1".into()), ("a".into(), "\\x\u{1}".into())];
        Arc::new(schema)
    }

    fn wide_rows() -> Vec<Vec<Value>> {
        let nines = "9".repeat(65);
        let big = format!("{}.{}", "9".repeat(35), "9".repeat(30));
        vec![
            vec![
                Value::Int(-128),
                Value::Int(127),
                Value::Int(-32768),
                Value::Int(i64::from(i32::MIN)),
                Value::Int(i64::MIN),
                Value::Float(f64::from(f32::MAX)),
                Value::Float(f64::MAX),
                Value::Boolean(true),
                text("\"\\/\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} hé 😀 中文"),
                Value::Bytes(Bytes::from_static(b"\x00\xff\x10ab")),
                dec("-12.50"),
                dec("-9223372036854775809"),
                dec("-0.0000000001"),
                dec(&format!("-{big}")),
                dec(&format!("-{nines}")),
                dec("-12300"),
                Value::Date(-25_567),
                Value::Time(-1_000),
                Value::Timestamp(-1_000),
                text(""),
            ],
            vec![
                Value::Int(127),
                Value::Int(-128),
                Value::Int(32767),
                Value::Int(i64::from(i32::MAX)),
                Value::Int(i64::MAX),
                Value::Float(f64::from(1.1f32)),
                Value::Float(5e-324),
                Value::Boolean(false),
                text(""),
                Value::Bytes(Bytes::new()),
                dec("99999999.99"),
                dec("18446744073709551616"),
                dec("1234567890.0123456789"),
                dec(&big),
                dec(&nines),
                dec("12300"),
                Value::Date(19_000),
                Value::Time(86_399_999_000),
                Value::Timestamp(1_638_687_468_123_000),
                text("k"),
            ],
            vec![
                Value::Int(0),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Int(0),
                Value::Float(-0.5),
                Value::Float(0.1),
                Value::Null,
                Value::Null,
                Value::Null,
                dec("0.00"),
                dec("0"),
                dec("0.0000000000"),
                dec("0.000000000000000000000000000001"),
                dec("1"),
                dec("0"),
                Value::Date(0),
                Value::Time(0),
                Value::Timestamp(0),
                text("\u{0}"),
            ],
            vec![
                Value::Int(-1),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Int(-1),
                Value::Null,
                Value::Float(1e23),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                dec("-0.000000000000000000000000000001"),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Timestamp((i64::MAX / 1000) * 1000),
                text("x"),
            ],
        ]
    }

    #[test]
    fn wide_rows_round_trip_through_the_encoder() {
        let schema = wide_schema();
        for (schemas_enable, numeric) in
            [(true, false), (true, true), (false, false), (false, true)]
        {
            let mut encoder = JsonEncoder::new(schemas_enable, numeric);
            let mut decoder = JsonDecoder::new(schemas_enable);
            for round in 0..2 {
                for row in wide_rows() {
                    let bytes = encode(&mut encoder, &schema, &row);
                    let what = format!(
                        "schemas {schemas_enable} numeric {numeric} round {round}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                    let decoded = if schemas_enable {
                        decoder.decode(&bytes)
                    } else {
                        decoder.decode_with_schema(&bytes, &schema)
                    };
                    let decoded = decoded.unwrap_or_else(|e| panic!("{e:#} {what}")).unwrap();
                    assert_eq!(*decoded.schema, *schema, "{what}");
                    assert_eq!(decoded.values, row, "{what}");
                    for (a, b) in decoded.values.iter().zip(&row) {
                        if let (Value::Float(a), Value::Float(b)) = (a, b) {
                            assert_eq!(a.to_bits(), b.to_bits(), "{what}");
                        }
                    }
                    // Encoding the decoded row gives the same bytes.
                    assert_eq!(
                        encode(&mut encoder, &decoded.schema, &decoded.values),
                        bytes,
                        "{what}"
                    );
                }
            }
            if schemas_enable {
                let (hits, misses, cached) = decoder.cache_stats();
                assert_eq!((hits, misses, cached), (7, 1, 1));
            }
        }
    }

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_floats_and_decimals_round_trip() {
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        let schema = Arc::new(Schema::structure(
            Some("r".into()),
            vec![
                field("f32", Schema::primitive(SchemaType::Float32, false)),
                field("f64", Schema::primitive(SchemaType::Float64, false)),
                field("d", Schema::decimal(0, None, false)),
                field("d7", Schema::decimal(7, None, false)),
                field("d30", Schema::decimal(30, None, false)),
            ],
            false,
        ));
        // Canonical text of a random decimal with up to `precision` digits at `scale`.
        fn random_decimal(rng: &mut Rng, precision: u64, scale: usize) -> String {
            let digits = (0..=rng.below(precision + 1))
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect::<String>();
            let digits = digits.trim_start_matches('0');
            let padded = format!("{digits:0>width$}", width = scale + 1);
            let (int, frac) = padded.split_at(padded.len() - scale);
            let mut s = if scale == 0 {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            };
            if !digits.is_empty() && rng.below(2) == 0 {
                s.insert(0, '-');
            }
            s
        }
        for numeric in [false, true] {
            let mut encoder = JsonEncoder::new(true, numeric);
            let mut decoder = JsonDecoder::new(true);
            for _ in 0..5_000 {
                let f32_value = loop {
                    let x = f32::from_bits(rng.next() as u32);
                    if x.is_finite() {
                        break x;
                    }
                };
                let f64_value = loop {
                    let x = f64::from_bits(rng.next());
                    if x.is_finite() {
                        break x;
                    }
                };
                let row = [
                    Value::Float(f64::from(f32_value)),
                    Value::Float(f64_value),
                    dec(&random_decimal(&mut rng, 70, 0)),
                    dec(&random_decimal(&mut rng, 40, 7)),
                    dec(&random_decimal(&mut rng, 65, 30)),
                ];
                let bytes = encode(&mut encoder, &schema, &row);
                let decoded = decoder.decode(&bytes).unwrap().unwrap();
                assert_eq!(decoded.values, row, "{}", String::from_utf8_lossy(&bytes));
            }
            assert_eq!(decoder.cache_stats(), (4_999, 1, 1));
        }
    }

    #[test]
    fn decimals_from_base64_and_numbers() {
        let d = |scale: i32, payload: &str| {
            one_value(
                &format!(
                    r#"{{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{{"scale":"{scale}"}},"field":"v"}}"#
                ),
                payload,
            )
        };
        use base64::engine::general_purpose::STANDARD;
        let b64 = |bytes: &[u8]| format!("\"{}\"", STANDARD.encode(bytes));
        assert_eq!(d(2, &b64(&(-1250i16).to_be_bytes())), dec("-12.50"));
        assert_eq!(d(0, &b64(&[123])), dec("123"));
        assert_eq!(d(4, &b64(&[1])), dec("0.0001"));
        assert_eq!(d(2, &b64(&[0])), dec("0.00"));
        assert_eq!(d(0, &b64(&[0xFF])), dec("-1"));
        assert_eq!(d(1, &b64(&[0x80])), dec("-12.8"));
        assert_eq!(d(-3, &b64(&[5])), dec("5000"));
        assert_eq!(d(-3, &b64(&[0])), dec("0"));
        // 2^127 and -2^127 - 1 need 17 bytes: the long path.
        let mut two_127 = vec![0u8; 17];
        two_127[1] = 0x80;
        assert_eq!(
            d(3, &b64(&two_127)),
            dec("170141183460469231731687303715884105.728")
        );
        let mut minus = vec![0xFFu8; 17];
        minus[1] = 0x7F;
        assert_eq!(
            d(0, &b64(&minus)),
            dec("-170141183460469231731687303715884105729")
        );
        // Redundant sign bytes are fine.
        let mut minus_one = vec![0xFFu8; 40];
        assert_eq!(d(2, &b64(&minus_one)), dec("-0.01"));
        minus_one.fill(0);
        assert_eq!(d(2, &b64(&minus_one)), dec("0.00"));
        // Unpadded base64 is accepted.
        assert_eq!(d(0, "\"ew\""), dec("123"));
        // decimal.format=NUMERIC.
        assert_eq!(d(2, "-12.5"), dec("-12.50"));
        assert_eq!(d(2, "1.5E+3"), dec("1500.00"));
        assert_eq!(d(10, "1E-10"), dec("0.0000000001"));
        assert_eq!(d(2, "-0.0"), dec("0.00"));
        assert_eq!(d(2, "7"), dec("7.00"));
        assert_eq!(d(2, "-7"), dec("-7.00"));
        assert_eq!(d(-2, "1.23E+4"), dec("12300"));
        assert_eq!(d(0, "18446744073709551615"), dec("18446744073709551615"));
        assert_eq!(
            d(0, "-123456789012345678901234567890123456789"),
            dec("-123456789012345678901234567890123456789")
        );
        assert_eq!(
            d(3, "123456789012345678901234567890.123"),
            dec("123456789012345678901234567890.123")
        );
        assert_eq!(d(1, "2.50"), dec("2.5"));
        let wrong = error(&one(
            r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"1"},"field":"v"}"#,
            r#"{"v":2.55}"#,
        ));
        assert!(
            wrong.contains("\"v\"") && wrong.contains("scale"),
            "{wrong}"
        );
    }

    #[test]
    fn floats_accept_jackson_specials_and_integers() {
        let double = r#"{"type":"double","optional":false,"field":"v"}"#;
        let Value::Float(nan) = one_value(double, "\"NaN\"") else {
            panic!()
        };
        assert!(nan.is_nan());
        assert_eq!(
            one_value(double, "\"Infinity\""),
            Value::Float(f64::INFINITY)
        );
        assert_eq!(
            one_value(double, "\"-Infinity\""),
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(one_value(double, "5"), Value::Float(5.0));
        assert_eq!(one_value(double, "-5"), Value::Float(-5.0));
        assert_eq!(one_value(double, "1.0E-5"), Value::Float(1e-5));
        assert_eq!(one_value(double, "4.9E-324"), Value::Float(5e-324));
        let Value::Float(zero) = one_value(double, "-0.0") else {
            panic!()
        };
        assert_eq!(zero.to_bits(), (-0.0f64).to_bits());
        // float is narrowed as Java's floatValue() does.
        let float = r#"{"type":"float","optional":false,"field":"v"}"#;
        assert_eq!(one_value(float, "1.1"), Value::Float(f64::from(1.1f32)));
        let Value::Float(nan) = one_value(float, "\"NaN\"") else {
            panic!()
        };
        assert!(nan.is_nan());
        // Integers of each width, bounds included.
        for (ty, min, max) in [
            ("int8", "-128", "127"),
            ("int16", "-32768", "32767"),
            ("int32", "-2147483648", "2147483647"),
            ("int64", "-9223372036854775808", "9223372036854775807"),
        ] {
            let schema = format!(r#"{{"type":"{ty}","optional":false,"field":"v"}}"#);
            assert_eq!(one_value(&schema, min), Value::Int(min.parse().unwrap()));
            assert_eq!(one_value(&schema, max), Value::Int(max.parse().unwrap()));
        }
        // Unicode escapes from other producers.
        assert_eq!(
            one_value(
                r#"{"type":"string","optional":false,"field":"v"}"#,
                r#""\u00e9\ud83d\ude00\"""#
            ),
            text("é😀\"")
        );
    }

    #[test]
    fn logical_types() {
        let logical = |ty: &str, name: &str, payload: &str| {
            one_value(
                &format!(
                    r#"{{"type":"{ty}","optional":false,"name":"org.apache.kafka.connect.data.{name}","version":1,"field":"v"}}"#
                ),
                payload,
            )
        };
        assert_eq!(logical("int32", "Date", "-1"), Value::Date(-1));
        assert_eq!(
            logical("int32", "Time", "45296789"),
            Value::Time(45_296_789_000)
        );
        assert_eq!(
            logical("int64", "Timestamp", "1700000000123"),
            Value::Timestamp(1_700_000_000_123_000)
        );
        let overflow = error(&one(
            r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","field":"v"}"#,
            r#"{"v":9223372036854775807}"#,
        ));
        assert!(overflow.contains("out of range"), "{overflow}");
        // A logical name on another type is just a name.
        assert_eq!(logical("int64", "Date", "5"), Value::Int(5));
    }

    #[test]
    fn error_paths() {
        // Not JSON.
        for bad in ["", "nope", "{\"schema\":", "{\"schema\":{}, \"payload\": }"] {
            let error = decode(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Conversion);
            assert!(error.context().contains("not valid JSON"), "{error:?}");
        }
        // Not exactly the envelope.
        for bad in [
            r#"{"schema":{"type":"int32","optional":false},"payload":1,"x":2}"#,
            r#"{"schema":{"type":"int32","optional":false}}"#,
            r#"{"schema":{"type":"int32","optional":false},"schema":{"type":"int32","optional":false}}"#,
            r#"{"id":1,"name":"x"}"#,
            "null",
            "[1,2]",
            "42",
        ] {
            assert_eq!(error(bad), ENVELOPE_ERROR, "{bad}");
        }
        // Null and missing required fields.
        let id = r#"{"type":"int32","optional":false,"field":"id"}"#;
        for payload in [r#"{"id":null}"#, "{}"] {
            let e = error(&one(id, payload));
            assert_eq!(
                e,
                "cannot convert field \"id\" of t: null value for a required field"
            );
        }
        // Range and type errors name the field.
        let e = error(&one(
            r#"{"type":"int8","optional":true,"field":"v"}"#,
            r#"{"v":128}"#,
        ));
        assert_eq!(
            e,
            "cannot convert field \"v\" of t: value 128 out of range for int8"
        );
        let e = error(&one(
            r#"{"type":"int32","optional":true,"field":"v"}"#,
            r#"{"v":"5"}"#,
        ));
        assert_eq!(
            e,
            "cannot convert field \"v\" of t: expected int32, got a string"
        );
        let e = error(&one(
            r#"{"type":"array","items":{"type":"int32","optional":false},"optional":true,"field":"tags"}"#,
            r#"{"tags":null}"#,
        ));
        assert_eq!(
            e,
            "invalid record schema: field \"tags\": arrays and maps are not supported by the JDBC sink"
        );
        const DECIMAL: &str = r#""type":"bytes","name":"org.apache.kafka.connect.data.Decimal""#;
        // (field schema, payload, what the error says)
        let cases: &[(String, &str, &[&str])] = &[
            (r#""type":"int8""#.into(), r#"{"v":-129}"#, &["out of range"]),
            (r#""type":"int64""#.into(), r#"{"v":18446744073709551615}"#, &["\"v\"", "out of range"]),
            (r#""type":"int64""#.into(), r#"{"v":123456789012345678901234567890}"#, &["\"v\"", "out of range"]),
            (r#""type":"int32""#.into(), r#"{"v":1.5}"#, &["expected int32"]),
            (r#""type":"boolean""#.into(), r#"{"v":1}"#, &["expected boolean"]),
            (r#""type":"string""#.into(), r#"{"v":{}}"#, &["got an object"]),
            // Bad base64.
            (r#""type":"bytes""#.into(), r#"{"v":"!!!"}"#, &["\"v\"", "invalid base64"]),
            (format!(r#"{DECIMAL},"parameters":{{"scale":"2"}}"#), r#"{"v":"a*b="}"#, &["\"v\"", "invalid base64"]),
            (format!(r#"{DECIMAL},"parameters":{{"scale":"2"}}"#), r#"{"v":""}"#, &["no bytes"]),
            // Unsupported field types.
            (r#""type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false}"#.into(), r#"{"v":{}}"#, &["\"v\"", "arrays and maps"]),
            (r#""type":"struct","fields":[]"#.into(), r#"{"v":null}"#, &["\"v\"", "nested structs"]),
            // Malformed schemas.
            (r#""type":"uuid""#.into(), "{}", &["unknown schema type \"uuid\""]),
            (DECIMAL.into(), "{}", &["\"v\"", "scale"]),
            (r#""type":"string","parameters":{"a":1}"#.into(), "{}", &["string values"]),
        ];
        for (schema, payload, says) in cases {
            let e = error(&one(
                &format!(r#"{{{schema},"optional":true,"field":"v"}}"#),
                payload,
            ));
            for part in *says {
                assert!(e.contains(part), "{schema} {payload}: {e}");
            }
        }
        let e = error(
            r#"{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1]}"#,
        );
        assert!(e.contains("arrays and maps"), "{e}");
        let e = error(&one(r#"{"optional":true,"field":"v"}"#, "{}"));
        assert!(e.contains("\"type\""), "{e}");
        let e = error(&one(r#"{"type":"int32","optional":true}"#, "{}"));
        assert!(e.contains("\"field\" name"), "{e}");
        let e = error(r#"{"schema":{"type":"struct","optional":false},"payload":{}}"#);
        assert!(e.contains("\"fields\""), "{e}");
        let e = error(r#"{"schema":"int32","payload":1}"#);
        assert!(e.contains("must be an object"), "{e}");
        // Payload shape.
        let e = error(&one(id, "[1]"));
        assert!(e.contains("needs an object, got an array"), "{e}");
        let e = error(&one(id, "null"));
        assert!(e.contains("needs an object, got null"), "{e}");
        let e = error(r#"{"schema":null,"payload":{"id":1}}"#);
        assert!(e.contains("null schema"), "{e}");
        let e = error(r#"{"schema":{"type":"int32","optional":false},"payload":null}"#);
        assert_eq!(
            e,
            "cannot convert the record's int32 payload: null value for a required field"
        );
        // schemas.enable=false records need a target schema.
        let e = JsonDecoder::new(false).decode(b"{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conversion);
        assert!(e.context().contains("decode_with_schema"), "{e:?}");
    }

    #[test]
    fn errors_after_a_cached_schema_are_still_reported() {
        let mut decoder = JsonDecoder::new(true);
        let schema = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false}"#;
        let ok = format!(r#"{{"schema":{schema},"payload":{{"id":1}}}}"#);
        assert_eq!(
            decoder.decode(ok.as_bytes()).unwrap().unwrap().values,
            [Value::Int(1)]
        );
        for (bad, expected) in [
            (
                format!(r#"{{"schema":{schema},"payload":{{"id":1}},"x":1}}"#),
                ENVELOPE_ERROR,
            ),
            (
                format!(r#"{{"schema":{schema},"payload":{{"id":1}}}}}}"#),
                "not valid JSON",
            ),
            (
                format!(r#"{{"schema":{schema},"payload":{{"id":1}}"#),
                "not valid JSON",
            ),
            (
                format!(r#"{{"schema":{schema},"payload":}}"#),
                "not valid JSON",
            ),
            (
                format!(r#"{{"schema":{schema},"payload":{{"id":null}}}}"#),
                "null value for a required field",
            ),
        ] {
            let e = decoder.decode(bad.as_bytes()).unwrap_err();
            assert!(e.context().contains(expected), "{bad}: {e:?}");
        }
        // Trailing whitespace is fine.
        let spaced = format!("{ok} \n");
        assert_eq!(
            decoder.decode(spaced.as_bytes()).unwrap().unwrap().values,
            [Value::Int(1)]
        );
    }

    #[test]
    fn tombstones_and_nulls() {
        assert_eq!(decode(r#"{"schema":null,"payload":null}"#).unwrap(), None);
        assert_eq!(
            decode(r#"{"schema":{"type":"struct","fields":[],"optional":true},"payload":null}"#)
                .unwrap(),
            None
        );
        assert_eq!(
            decode(r#"{"schema":{"type":"string","optional":true},"payload":null}"#).unwrap(),
            None
        );
        // An empty value is not a tombstone: the caller has None for those.
        assert!(decode("").is_err());
        assert_eq!(
            JsonDecoder::new(false)
                .decode_with_schema(b" null ", &Arc::new(seed_schema()))
                .unwrap(),
            None
        );
    }

    #[test]
    fn primitive_top_level_schemas() {
        let decoded = decode(r#"{"schema":{"type":"int32","optional":false},"payload":42}"#)
            .unwrap()
            .unwrap();
        assert_eq!(*decoded.schema, Schema::primitive(SchemaType::Int32, false));
        assert_eq!(decoded.values, [Value::Int(42)]);
        let decoded = decode(
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"3"}},"payload":1.5E+30}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(decoded.schema.ty, SchemaType::Bytes);
        assert_eq!(decoded.values, [dec("1500000000000000000000000000000.000")]);
        let e = error(r#"{"schema":{"type":"int8","optional":false},"payload":300}"#);
        assert_eq!(
            e,
            "cannot convert the record's int8 payload: value 300 out of range for int8"
        );
        assert_eq!(
            JsonDecoder::new(false)
                .decode_with_schema(
                    b"\"k\"",
                    &Arc::new(Schema::primitive(SchemaType::String, false))
                )
                .unwrap()
                .unwrap()
                .values,
            [text("k")]
        );
    }

    #[test]
    fn defaults_replace_nulls() {
        let msg = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"default":7,"field":"a"},{"type":"string","optional":true,"default":"x","field":"b"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"default":"AQ==","field":"c"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"default":1.5,"field":"d"},{"type":"int32","optional":true,"default":null,"field":"e"}],"optional":false},"payload":{"a":null,"e":null}}"#;
        assert_eq!(
            values(msg),
            [
                Value::Int(7),
                text("x"),
                dec("0.01"),
                dec("1.50"),
                Value::Null
            ]
        );
        let e = error(&one(
            r#"{"type":"int8","optional":false,"default":1000,"field":"v"}"#,
            "{}",
        ));
        assert!(e.contains("\"v\"") && e.contains("default"), "{e}");
    }

    /// With `replace.null.with.default=false` a null or missing field stays null, as the general
    /// JsonConverter reads it; a required field then fails (its default is still checked).
    #[test]
    fn nulls_stay_null_without_replace_null_with_default() {
        use crate::convert::Converter;
        use crate::convert::json::JsonConverter;
        let msg = r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":7,"field":"a"},{"type":"string","optional":true,"default":"x","field":"b"}],"optional":false},"payload":{"a":null}}"#;
        let mut decoder = JsonDecoder::new(true).replace_null_with_default(false);
        let fast = decoder.decode(msg.as_bytes()).unwrap().unwrap().values;
        assert_eq!(fast, [Value::Null, Value::Null]);
        let config = [("replace.null.with.default".to_string(), "false".to_string())].into();
        let general = JsonConverter::new(&config)
            .unwrap()
            .to_connect("t", Some(msg.as_bytes()))
            .unwrap();
        assert_eq!(general.value, Value::Struct(fast));
        // Required with a default: nothing replaces the null.
        let required = one(
            r#"{"type":"int32","optional":false,"default":7,"field":"v"}"#,
            "{}",
        );
        let mut decoder = JsonDecoder::new(true).replace_null_with_default(false);
        let e = decoder.decode(required.as_bytes()).unwrap_err();
        assert!(e.context().contains("\"v\""), "{}", e.context());
        let bad = one(
            r#"{"type":"int8","optional":true,"default":1000,"field":"v"}"#,
            "{}",
        );
        let mut decoder = JsonDecoder::new(true).replace_null_with_default(false);
        assert!(decoder.decode(bad.as_bytes()).is_err());
    }

    #[test]
    fn schemaless_decode_with_a_target_schema() {
        let schema = Arc::new(Schema::structure(
            Some("orders".into()),
            vec![
                field("id", Schema::primitive(SchemaType::Int64, false)),
                field("name", Schema::primitive(SchemaType::String, true)),
                field("amount", Schema::decimal(2, Some(10), true)),
                field(
                    "ts",
                    Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
                ),
                field("big", Schema::decimal(0, None, true)),
            ],
            false,
        ));
        let mut decoder = JsonDecoder::new(false);
        let decoded = decoder
            .decode_with_schema(
                br#" {"big": 123456789012345678901234567890, "extra": [1, {"a": "}"}], "name": "x\"y", "id": 5, "amount": 12.5 } "#,
                &schema,
            )
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&decoded.schema, &schema));
        assert_eq!(
            decoded.values,
            [
                Value::Int(5),
                text("x\"y"),
                dec("12.50"),
                Value::Null,
                dec("123456789012345678901234567890"),
            ]
        );
        let decoded = decoder
            .decode_with_schema(br#"{"id":1,"ts":1000}"#, &schema)
            .unwrap()
            .unwrap();
        assert_eq!(
            decoded.values,
            [
                Value::Int(1),
                Value::Null,
                Value::Null,
                Value::Timestamp(1_000_000),
                Value::Null
            ]
        );
        let e = decoder
            .decode_with_schema(br#"{"name":"x"}"#, &schema)
            .unwrap_err();
        assert_eq!(
            e.context(),
            "cannot convert field \"id\" of orders: null value for a required field"
        );
        let e = decoder.decode_with_schema(b"{", &schema).unwrap_err();
        assert!(e.context().contains("not valid JSON"), "{e:?}");
        // Unsupported target schemas are reported.
        let bad = Arc::new(Schema::structure(
            None,
            vec![field("a", Schema::primitive(SchemaType::Array, true))],
            false,
        ));
        let e = decoder.decode_with_schema(b"{}", &bad).unwrap_err();
        assert!(e.context().contains("\"a\""), "{e:?}");
    }

    #[test]
    fn fields_out_of_order_and_other_layouts() {
        let pretty = r#"
        {
            "payload": {"created_at": 1638687468000, "name": "lee", "id": 2, "extra": 1},
            "schema": {
                "name": "users", "optional": false, "type": "struct",
                "fields": [
                    {"field": "id", "type": "int32", "optional": false},
                    {"field": "user_id", "type": "string", "optional": true},
                    {"field": "pwd", "type": "string", "optional": true},
                    {"field": "name", "type": "string", "optional": true},
                    {"field": "created_at", "type": "int64", "optional": true,
                     "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}
                ]
            }
        }"#;
        let mut decoder = JsonDecoder::new(true);
        let decoded = decoder.decode(pretty.as_bytes()).unwrap().unwrap();
        assert_eq!(*decoded.schema, seed_schema());
        assert_eq!(
            decoded.values,
            [
                Value::Int(2),
                Value::Null,
                Value::Null,
                text("lee"),
                Value::Timestamp(1_638_687_468_000_000),
            ]
        );
        assert_eq!(decoder.cache_stats(), (0, 1, 1));
        // The same schema in another layout hits the canonical key.
        let compact_payload_first = r#"{"payload":{"id":3},"schema":{"name":"users","optional":false,"type":"struct","fields":[{"field":"id","type":"int32","optional":false},{"field":"user_id","type":"string","optional":true},{"field":"pwd","type":"string","optional":true},{"field":"name","type":"string","optional":true},{"field":"created_at","type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}]}}"#;
        let decoded = decoder
            .decode(compact_payload_first.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(decoded.values[0], Value::Int(3));
        assert_eq!(decoder.cache_stats(), (1, 1, 1));
        // NUMERIC decimals are found in the raw text whatever the layout.
        let numeric = r#"{ "payload" : { "d" : 12345678901234567890.25 } , "schema" : {"type":"struct","fields":[{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"d"}],"optional":false} }"#;
        assert_eq!(
            decoder.decode(numeric.as_bytes()).unwrap().unwrap().values,
            [dec("12345678901234567890.25")]
        );
    }

    #[test]
    fn the_schema_cache_is_hit_for_repeated_schemas() {
        let mut decoder = JsonDecoder::new(true);
        for _ in 0..3 {
            decoder.decode(SEED.as_bytes()).unwrap().unwrap();
        }
        assert_eq!(decoder.cache_stats(), (2, 1, 1));
        let other = one(
            r#"{"type":"int32","optional":false,"field":"v"}"#,
            r#"{"v":1}"#,
        );
        assert_eq!(
            decoder.decode(other.as_bytes()).unwrap().unwrap().values,
            [Value::Int(1)]
        );
        assert_eq!(decoder.cache_stats(), (2, 2, 2));
        // Back to the first: found by hash, not by "last".
        let first = decoder.decode(SEED.as_bytes()).unwrap().unwrap();
        assert_eq!(decoder.cache_stats(), (3, 2, 2));
        let again = decoder.decode(SEED.as_bytes()).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first.schema, &again.schema));
        assert_eq!(decoder.cache_stats(), (4, 2, 2));
        // A schema that differs only inside a string is a different schema.
        let renamed = SEED.replace("\"name\":\"users\"", "\"name\":\"users2\"");
        let decoded = decoder.decode(renamed.as_bytes()).unwrap().unwrap();
        assert_eq!(decoded.schema.name.as_deref(), Some("users2"));
        assert_eq!(decoder.cache_stats(), (4, 3, 3));
        // The cache is bounded.
        for i in 0..(MAX_CACHED_SCHEMAS + 100) {
            let msg = SEED.replace("\"name\":\"users\"", &format!("\"name\":\"u{i}\""));
            let decoded = decoder.decode(msg.as_bytes()).unwrap().unwrap();
            assert_eq!(decoded.schema.name, Some(format!("u{i}")));
            assert!(decoder.cache_stats().2 <= MAX_CACHED_SCHEMAS);
        }
        assert_eq!(
            values(SEED),
            decoder.decode(SEED.as_bytes()).unwrap().unwrap().values
        );
    }

    #[test]
    fn the_decoder_can_move_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<JsonDecoder>();
        assert_send_sync::<Decoded>();
    }

    #[test]
    fn scanner_and_patcher() {
        let s = br#"{"a":"}\"{","b":[1,{"c":"]"}],"d":-1.5e3}"#;
        assert_eq!(skip_value(s, 0), Some(s.len()));
        assert_eq!(
            raw_member(s, 0, "d").map(|(a, b)| &s[a..b]),
            Some(&b"-1.5e3"[..])
        );
        assert_eq!(
            raw_member(s, 0, "b").map(|(a, b)| &s[a..b]),
            Some(&br#"[1,{"c":"]"}]"#[..])
        );
        assert_eq!(raw_member(s, 0, "x"), None);
        let escaped = br#"{"k\u00e9":1}"#;
        assert_eq!(
            raw_member(escaped, 0, "ké").map(|(a, b)| &escaped[a..b]),
            Some(&b"1"[..])
        );
        assert_eq!(skip_value(b"{\"a\":", 0), None);
        assert_eq!(skip_value(b"\"abc", 0), None);
        let mut buf = br#"{"s":"123456789012345678901","n":123456789012345678901,"m":-9223372036854775809,"ok":-9223372036854775808,"u":18446744073709551615}"#.to_vec();
        assert!(patch_big_integers(&mut buf));
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"s":"123456789012345678901","n":1234567890123456789e2,"m":-92233720368547758e2,"ok":-9223372036854775808,"u":18446744073709551615}"#
        );
        let mut small = b"[1,2,-3.5e100]".to_vec();
        assert!(!patch_big_integers(&mut small));
    }
}
