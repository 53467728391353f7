//! Kafka's header transformations:
//! - `org.apache.kafka.connect.transforms.InsertHeader` (`header`, `value.literal`): appends one
//!   header to every record; the literal is read once with `Values.parseString` (see
//!   [`parse_string`]): `42` is an INT8, `true` a BOOLEAN, `1.5` a FLOAT32, `2024-01-02` a Date,
//!   `[1,2]` an array, `null` a null header without schema, anything else a STRING.
//! - `org.apache.kafka.connect.transforms.DropHeaders` (`headers`): removes every header with one
//!   of the names, keeping the others in order.
//! - `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value` (`fields`, `headers`,
//!   `operation` = `copy`|`move`, `replace.null.with.default`): appends a header per field with
//!   the field's value (and, with a schema, the field's schema); `move` also removes the fields.
//!   No null pass-through: a null key/value fails as Kafka's does.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::java_date;
use super::util::{self, SchemaCache};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType};
use crate::error::Result;
use crate::model::numeric::place_point;
use crate::model::record::{Header, Part, Record, Side};
use crate::model::{Schema, SchemaType, Value, logical};

const HEADER: &str = "header";
const VALUE_LITERAL: &str = "value.literal";
const HEADERS: &str = "headers";
const FIELDS: &str = "fields";
const OPERATION: &str = "operation";

static INSERT_HEADER: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(ConfigKey::required(HEADER, ConfigType::String).doc("The name of the header."))
        .define(
            ConfigKey::required(VALUE_LITERAL, ConfigType::String)
                .doc("The literal value that is to be set as the header value on all records."),
        )
});

static DROP_HEADERS: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::required(HEADERS, ConfigType::List)
            .doc("The name of the headers to be removed."),
    )
});

static HEADER_FROM: LazyLock<ConfigDef> =
    LazyLock::new(|| {
        ConfigDef::new()
        .define(ConfigKey::required(FIELDS, ConfigType::List).doc(
            "Field names in the record whose values are to be copied or moved to headers.",
        ))
        .define(ConfigKey::required(HEADERS, ConfigType::List).doc(
            "Header names, in the same order as the field names listed in the fields \
             configuration property.",
        ))
        .define(ConfigKey::required(OPERATION, ConfigType::String).doc(
            "Either <code>move</code> if the fields are to be moved to the headers (removed from \
             the key/value), or <code>copy</code> if the fields are to be copied to the headers \
             (retained in the key/value).",
        ))
        .define(util::REPLACE_NULL_WITH_DEFAULT)
    });

pub(crate) fn insert_header_def() -> &'static ConfigDef {
    &INSERT_HEADER
}

pub(crate) fn drop_headers_def() -> &'static ConfigDef {
    &DROP_HEADERS
}

pub(crate) fn header_from_def() -> &'static ConfigDef {
    &HEADER_FROM
}

/// `NonEmptyListValidator`.
fn non_empty(config: &Config, key: &str) -> Result<Vec<String>, ConfigError> {
    let list = config.list(key);
    if list.is_empty() {
        return Err(ConfigError::invalid(key, "[]", "Empty list"));
    }
    Ok(list.to_vec())
}

// ---------------------------------------------------------------------------------------------
// InsertHeader

/// Appends the configured header.
pub(crate) struct InsertHeader {
    header: Header,
}

/// `InsertHeader`.
pub(crate) fn insert_header(config: &Config) -> Result<InsertHeader, ConfigError> {
    let (schema, value) = parse_string(config.string(VALUE_LITERAL).unwrap_or_default());
    Ok(InsertHeader {
        header: Header {
            key: config.string(HEADER).unwrap_or_default().to_string(),
            schema: schema.map(Arc::new),
            value,
        },
    })
}

impl Transformation for InsertHeader {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.headers.push(self.header.clone());
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------------------
// DropHeaders

/// Removes the configured headers.
pub(crate) struct DropHeaders {
    headers: Vec<String>,
}

/// `DropHeaders`.
pub(crate) fn drop_headers(config: &Config) -> Result<DropHeaders, ConfigError> {
    Ok(DropHeaders {
        headers: non_empty(config, HEADERS)?,
    })
}

impl Transformation for DropHeaders {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------------------
// HeaderFrom

/// `HeaderFrom$Key`.
pub(crate) fn header_from_key(config: &Config) -> Result<HeaderFrom, ConfigError> {
    HeaderFrom::new(config, Side::Key)
}

/// `HeaderFrom$Value`.
pub(crate) fn header_from_value(config: &Config) -> Result<HeaderFrom, ConfigError> {
    HeaderFrom::new(config, Side::Value)
}

/// Copies or moves fields of the key or value into headers.
pub(crate) struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    moving: bool,
    replace_null_with_default: bool,
    plans: SchemaCache<Arc<Plan>>,
}

/// What a struct schema needs: the struct without the moved fields (and where they come from),
/// and each header's field index and schema (`None`: the schema has no such field).
struct Plan {
    moved: Option<(Arc<Schema>, Vec<usize>)>,
    sources: Vec<Option<(usize, Arc<Schema>)>>,
}

impl HeaderFrom {
    fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let fields = non_empty(config, FIELDS)?;
        let headers = non_empty(config, HEADERS)?;
        let operation = config.string(OPERATION).unwrap_or_default();
        util::one_of_exact(OPERATION, operation, &["move", "copy"])?;
        if fields.len() != headers.len() {
            return Err(ConfigError::rule(
                FIELDS,
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        Ok(HeaderFrom {
            side,
            fields,
            headers,
            moving: operation == "move",
            replace_null_with_default: config.bool(util::REPLACE_NULL_WITH_DEFAULT.name),
            plans: SchemaCache::new(),
        })
    }

    fn purpose(&self) -> &'static str {
        match self.moving {
            true => "header move",
            false => "header copy",
        }
    }

    fn plan(&self, schema: &Schema) -> Result<Plan> {
        let moved = match self.moving {
            false => None,
            true => {
                let mut out = util::copy_schema_basics(schema);
                let mut kept = Vec::new();
                for (i, field) in schema.fields.iter().enumerate() {
                    if !self.fields.contains(&field.name) {
                        util::push_field(&mut out, field.clone())?;
                        kept.push(i);
                    }
                }
                Some((Arc::new(out), kept))
            }
        };
        let sources = self
            .fields
            .iter()
            .map(|name| {
                schema
                    .field(name)
                    .map(|(i, f)| (i, Arc::new(f.schema.clone())))
            })
            .collect();
        Ok(Plan { moved, sources })
    }

    fn apply_schemaless(&self, part: &Part, headers: &mut Vec<Header>) -> Result<Part> {
        let entries = util::require_map(&part.value, self.purpose())?;
        let mut updated = entries.to_vec();
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let value = part.value.map_get(field).cloned().unwrap_or(Value::Null);
            if self.moving {
                updated.retain(|(k, _)| k.as_str() != Some(field.as_str()));
            }
            headers.push(Header {
                key: header.clone(),
                schema: None,
                value,
            });
        }
        Ok(Part::new(None, Value::Map(updated)))
    }

    fn apply_with_schema(
        &mut self,
        schema: &Arc<Schema>,
        value: &Value,
        headers: &mut Vec<Header>,
    ) -> Result<Part> {
        let values = util::require_struct(schema, value, self.purpose())?;
        let mut plans = std::mem::take(&mut self.plans);
        let plan = plans.get_or_try_insert(schema, |_| -> crate::error::Result<_> {
            Ok(Arc::new(self.plan(schema)?))
        });
        self.plans = plans;
        let plan = plan?;
        let get = |i: usize| {
            util::struct_get(
                &schema.fields[i].schema,
                values.get(i).unwrap_or(&Value::Null),
                self.replace_null_with_default,
            )
        };
        let updated = match &plan.moved {
            None => Part::new(Some(Arc::clone(schema)), value.clone()),
            Some((moved, kept)) => {
                let mut out = Vec::with_capacity(kept.len());
                for (field, &i) in moved.fields.iter().zip(kept) {
                    let value = get(i);
                    util::check_put(field, &value)?;
                    out.push(value);
                }
                Part::new(Some(Arc::clone(moved)), Value::Struct(out))
            }
        };
        for (source, header) in plan.sources.iter().zip(&self.headers) {
            let Some((i, field_schema)) = source else {
                return Err(util::data_error(
                    "Cannot invoke \"org.apache.kafka.connect.data.Field.schema()\" because the \
                     return value of \"org.apache.kafka.connect.data.Schema.field(String)\" is \
                     null",
                ));
            };
            let value = get(*i);
            if value.is_null() && !field_schema.optional {
                return Err(util::data_error(format!(
                    "A null value requires an optional schema but was {}",
                    util::schema_string(Some(field_schema))
                )));
            }
            headers.push(Header {
                key: header.clone(),
                schema: Some(Arc::clone(field_schema)),
                value,
            });
        }
        Ok(updated)
    }
}

impl Transformation for HeaderFrom {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = std::mem::replace(record.part_mut(self.side), Part::NULL);
        let mut headers = std::mem::take(&mut record.headers);
        let updated = match &part.schema {
            None => self.apply_schemaless(&part, &mut headers),
            Some(schema) => self.apply_with_schema(schema, &part.value, &mut headers),
        }?;
        *record.part_mut(self.side) = updated;
        record.headers = headers;
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------------------
// Values.parseString

/// `Values.parseString(text)`: the schema and value Connect reads from header text (`None`
/// schema: the `null` literal).
///
/// Follows Kafka's parser (3.9): the text is cut into tokens at unescaped `: , { } [ ] "`;
/// `true`, `false` and `null` alone are literals; `[…]` and `{…}` are arrays and maps of
/// embedded values (quoted strings, numbers, literals, nested arrays and maps) whose schema is
/// the elements' common one (integers widen to the larger type, then to floats; none: an array
/// or map schema without element schema) — when they parse, else the text is a string; a first token that starts with a digit is tried as an ISO 8601 time
/// (`HH:mm:ss.SSS'Z'`), timestamp (`yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`) or date (`yyyy-MM-dd`), in
/// UTC, then as a `BigDecimal`: an integer in the smallest of INT8…INT64, else a FLOAT32 or
/// FLOAT64 if finite, else a Decimal; everything else is the whole text as a STRING.
pub(crate) fn parse_string(text: &str) -> (Option<Schema>, Value) {
    if text.is_empty() {
        return (string_schema(), Value::text(""));
    }
    let mut parser = Parser::new(text);
    match parser.parse(false) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => (None, Value::Null),
        Err(Malformed) => (string_schema(), Value::text(text)),
    }
}

fn string_schema() -> Option<Schema> {
    Some(Schema::primitive(SchemaType::String, false))
}

type Parsed = (Option<Schema>, Value);

/// A `DataException` inside the parser (its message is not shown: Kafka catches it).
struct Malformed;

struct Parser<'t> {
    original: &'t str,
    tokens: Vec<&'t str>,
    pos: usize,
}

fn is_blank(token: &str) -> bool {
    token.trim().is_empty()
}

impl<'t> Parser<'t> {
    fn new(original: &'t str) -> Self {
        let mut tokens = Vec::new();
        let mut start = 0;
        let mut escaped = false;
        for (i, c) in original.char_indices() {
            match c {
                '\\' => escaped = !escaped,
                ':' | ',' | '{' | '}' | '[' | ']' | '"' if !escaped => {
                    if start < i {
                        tokens.push(&original[start..i]);
                    }
                    tokens.push(&original[i..i + 1]);
                    start = i + 1;
                }
                _ => escaped = false,
            }
        }
        if start < original.len() {
            tokens.push(&original[start..]);
        }
        Parser {
            original,
            tokens,
            pos: 0,
        }
    }

    fn has_next(&self) -> bool {
        self.pos < self.tokens.len()
    }

    /// `canConsume(expected)`: skips blank tokens (unless last), then takes the next token if
    /// it is `expected` once trimmed.
    fn can_consume(&mut self, expected: &str) -> bool {
        while self.pos + 1 < self.tokens.len() && is_blank(self.tokens[self.pos]) {
            self.pos += 1;
        }
        if self
            .tokens
            .get(self.pos)
            .is_some_and(|t| t.trim() == expected)
        {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Option<&'t str> {
        let token = self.tokens.get(self.pos).copied();
        self.pos += usize::from(token.is_some());
        token
    }

    /// `canParseSingleTokenLiteral`: the literal, and at the top level nothing after it
    /// (`true}` is a string).
    fn single_token_literal(&mut self, embedded: bool, literal: &str) -> bool {
        let mark = self.pos;
        if self.can_consume(literal) && (embedded || !self.has_next()) {
            return true;
        }
        self.pos = mark;
        false
    }

    /// `ValueParser.parse`: `None` is Java's null `SchemaAndValue` (no token, or `null`).
    fn parse(&mut self, embedded: bool) -> Result<Option<Parsed>, Malformed> {
        if !self.has_next() {
            return Ok(None);
        }
        if embedded && self.can_consume("\"") {
            return Ok(Some(self.parse_quoted()));
        }
        if self.single_token_literal(embedded, "null") {
            return Ok(None);
        }
        if self.single_token_literal(embedded, "true") {
            return Ok(Some((boolean_schema(), Value::Boolean(true))));
        }
        if self.single_token_literal(embedded, "false") {
            return Ok(Some((boolean_schema(), Value::Boolean(false))));
        }
        let start = self.pos;
        let nested = if self.can_consume("[") {
            Some(self.parse_array())
        } else if self.can_consume("{") {
            Some(self.parse_map())
        } else {
            None
        };
        match nested {
            Some(Ok(parsed)) => return Ok(Some(parsed)),
            Some(Err(Malformed)) => self.pos = start,
            None => {}
        }
        let Some(token) = self.next() else {
            return Ok(None);
        };
        if is_blank(token) {
            return Ok(Some((string_schema(), Value::text(token))));
        }
        let token = token.trim();
        let first = token.chars().next().unwrap_or(' ');
        if first.is_ascii_digit() {
            let mark = self.pos;
            if self.pos + 4 <= self.tokens.len() {
                let joined: String = std::iter::once(token)
                    .chain(self.tokens[self.pos..self.pos + 4].iter().copied())
                    .collect();
                self.pos += 4;
                if let Some(parsed) = parse_temporal(&joined) {
                    return Ok(Some(parsed));
                }
            }
            self.pos = mark;
            if let Some(parsed) = parse_temporal(token) {
                return Ok(Some(parsed));
            }
        }
        if (first.is_ascii_digit() || first == '+' || first == '-')
            && let Some(parsed) = parse_number(token)
        {
            return Ok(Some(parsed));
        }
        if embedded {
            return Err(Malformed);
        }
        Ok(Some((string_schema(), Value::text(self.original))))
    }

    /// A quoted string (after its `"`): temporal text becomes its logical type.
    fn parse_quoted(&mut self) -> Parsed {
        let mut content = String::new();
        while self.has_next() {
            if self.can_consume("\"") {
                break;
            }
            if let Some(token) = self.next() {
                content.push_str(token);
            }
        }
        parse_temporal(&content).unwrap_or_else(|| (string_schema(), Value::text(&content)))
    }

    fn parse_array(&mut self) -> Result<Parsed, Malformed> {
        let mut elements = Vec::new();
        let mut common = Merger::default();
        while self.has_next() {
            if self.can_consume("]") {
                return Ok(match common.schema() {
                    Some(schema) => {
                        let elements = elements
                            .into_iter()
                            .map(|v| align(&schema, v))
                            .collect::<Result<_, _>>()?;
                        (Some(Schema::array(schema, false)), Value::Array(elements))
                    }
                    // `SchemaBuilder.arrayOfNull()`: no element schema.
                    None => (
                        Some(Schema::primitive(SchemaType::Array, false)),
                        Value::Array(elements),
                    ),
                });
            }
            if self.can_consume(",") {
                return Err(Malformed);
            }
            let element = self.parse(true)?;
            common.merge(element.as_ref());
            elements.push(element.map(|(_, v)| v).unwrap_or(Value::Null));
            let mark = self.pos;
            if self.can_consume("]") {
                self.pos = mark;
            } else if !self.can_consume(",") {
                return Err(Malformed);
            }
        }
        Err(Malformed)
    }

    fn parse_map(&mut self) -> Result<Parsed, Malformed> {
        let mut entries: Vec<(Value, Value)> = Vec::new();
        let mut keys = Merger::default();
        let mut values = Merger::default();
        while self.has_next() {
            if self.can_consume("}") {
                return Ok(match (keys.schema(), values.schema()) {
                    (Some(k), Some(v)) => {
                        let entries = entries
                            .into_iter()
                            .map(|(key, value)| Ok((align(&k, key)?, align(&v, value)?)))
                            .collect::<Result<_, _>>()?;
                        (Some(Schema::map(k, v, false)), Value::Map(entries))
                    }
                    // `SchemaBuilder.mapWithNullValues(keys)`.
                    (Some(k), None) => {
                        let entries = entries
                            .into_iter()
                            .map(|(key, value)| Ok((align(&k, key)?, value)))
                            .collect::<Result<_, _>>()?;
                        let schema = Schema {
                            key_schema: Some(Box::new(k)),
                            ..Schema::primitive(SchemaType::Map, false)
                        };
                        (Some(schema), Value::Map(entries))
                    }
                    // `SchemaBuilder.mapOfNull()`.
                    (None, _) => (
                        Some(Schema::primitive(SchemaType::Map, false)),
                        Value::Map(entries),
                    ),
                });
            }
            if self.can_consume(",") {
                return Err(Malformed);
            }
            let key = self.parse(true)?;
            let Some((key_schema, key)) = key.filter(|(_, v)| !v.is_null()) else {
                return Err(Malformed);
            };
            if !self.can_consume(":") {
                return Err(Malformed);
            }
            let value = self.parse(true)?;
            keys.merge(Some(&(key_schema, Value::Null)));
            values.merge(value.as_ref());
            let value = value.map(|(_, v)| v).unwrap_or(Value::Null);
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
            self.can_consume(",");
        }
        Err(Malformed)
    }
}

fn boolean_schema() -> Option<Schema> {
    Some(Schema::primitive(SchemaType::Boolean, false))
}

/// Kafka's `SchemaMerger`: the elements' common schema, `None` once two disagree.
#[derive(Default)]
struct Merger {
    common: Option<Schema>,
    incompatible: bool,
}

impl Merger {
    fn merge(&mut self, parsed: Option<&Parsed>) {
        let Some((Some(schema), _)) = parsed else {
            return;
        };
        if self.incompatible {
            return;
        }
        self.common = match self.common.take() {
            None => Some(schema.clone()),
            Some(previous) => {
                let merged = merge_schemas(previous, schema);
                self.incompatible = merged.is_none();
                merged
            }
        };
    }

    fn schema(&self) -> Option<Schema> {
        self.common.clone().filter(|_| !self.incompatible)
    }
}

/// `Values.mergeSchemas`: numbers widen to the larger integer, then to the larger float (by
/// type, logical or not); the same type keeps the later schema.
fn merge_schemas(previous: Schema, next: &Schema) -> Option<Schema> {
    fn rank(ty: SchemaType) -> Option<u8> {
        Some(match ty {
            SchemaType::Int8 => 0,
            SchemaType::Int16 => 1,
            SchemaType::Int32 => 2,
            SchemaType::Int64 => 3,
            SchemaType::Float32 => 4,
            SchemaType::Float64 => 5,
            _ => return None,
        })
    }
    if previous.ty != next.ty {
        return match (rank(previous.ty), rank(next.ty)) {
            (Some(a), Some(b)) if a > b => Some(previous),
            (Some(_), Some(_)) => Some(next.clone()),
            _ => None,
        };
    }
    if previous.optional == next.optional {
        return Some(if previous.optional {
            previous
        } else {
            next.clone()
        });
    }
    (previous == *next).then_some(previous)
}

/// `convertTo(schema, null, value)` for the values a common schema may hold: numbers widen,
/// a number under a Date/Time/Timestamp schema is read as days or milliseconds, a null needs
/// an optional schema.
fn align(schema: &Schema, value: Value) -> Result<Value, Malformed> {
    Ok(match (schema.ty, schema.name.as_deref(), value) {
        (_, _, Value::Null) if !schema.optional => return Err(Malformed),
        (_, Some(logical::DATE), Value::Int(v)) => Value::Date(v as i32),
        (_, Some(logical::TIME), Value::Int(v)) => Value::Time(i64::from(v as i32) * 1000),
        (_, Some(logical::TIMESTAMP), Value::Int(v)) => Value::Timestamp(v.saturating_mul(1000)),
        (
            SchemaType::Int8
            | SchemaType::Int16
            | SchemaType::Int32
            | SchemaType::Int64
            | SchemaType::Float32
            | SchemaType::Float64,
            None,
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_),
        ) => return Err(Malformed),
        (SchemaType::Float32, _, Value::Int(v)) => Value::Float(f64::from(v as f32)),
        (SchemaType::Float32, _, Value::Float(x)) => Value::Float(f64::from(x as f32)),
        (SchemaType::Float64, _, Value::Int(v)) => Value::Float(v as f64),
        (_, _, value) => value,
    })
}

/// A token of the length of an ISO 8601 time, timestamp or date, parsed as one (UTC).
fn parse_temporal(token: &str) -> Option<Parsed> {
    let token = token.replace("\\:", ":");
    match token.chars().count() {
        13 => java_date::iso_time().parse(&token).map(|ms| {
            (
                Some(Schema::logical(SchemaType::Int32, logical::TIME, false)),
                Value::Time(ms * 1000),
            )
        }),
        24 => java_date::iso_timestamp().parse(&token).map(|ms| {
            (
                Some(Schema::logical(
                    SchemaType::Int64,
                    logical::TIMESTAMP,
                    false,
                )),
                Value::Timestamp(ms.saturating_mul(1000)),
            )
        }),
        10 => java_date::iso_date().parse(&token).and_then(|ms| {
            Some((
                Some(Schema::logical(SchemaType::Int32, logical::DATE, false)),
                Value::Date(i32::try_from(ms.div_euclid(86_400_000)).ok()?),
            ))
        }),
        _ => None,
    }
}

/// `new BigDecimal(token)`, then the smallest integer type, a finite float, or a Decimal.
fn parse_number(token: &str) -> Option<Parsed> {
    let bytes = token.as_bytes();
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let mut digits = String::new();
    let mut fraction: i64 = 0;
    let mut seen_point = false;
    while i < bytes.len() {
        match bytes[i] {
            c @ b'0'..=b'9' => {
                digits.push(char::from(c));
                fraction += i64::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() {
        if !matches!(bytes[i], b'e' | b'E') {
            return None;
        }
        exponent = token[i + 1..].parse::<i32>().ok()?.into();
    }
    let scale = fraction - exponent;
    let scale = i32::try_from(scale).ok()?;
    let unscaled = digits.trim_start_matches('0');
    let integral = scale <= 0
        || unscaled.len() <= scale as usize && unscaled.is_empty()
        || (unscaled.len() > scale as usize
            && unscaled[unscaled.len() - scale as usize..]
                .bytes()
                .all(|b| b == b'0'));
    if integral {
        let whole = match scale {
            s if s <= 0 => format!("{unscaled}{}", "0".repeat(s.unsigned_abs() as usize)),
            s => unscaled[..unscaled.len().saturating_sub(s as usize)].to_string(),
        };
        let whole = if whole.is_empty() { "0" } else { &whole };
        if whole.len() <= 20
            && let Ok(magnitude) = whole.parse::<i128>()
        {
            let value = if negative { -magnitude } else { magnitude };
            if let Ok(value) = i64::try_from(value) {
                let ty = if i8::try_from(value).is_ok() {
                    SchemaType::Int8
                } else if i16::try_from(value).is_ok() {
                    SchemaType::Int16
                } else if i32::try_from(value).is_ok() {
                    SchemaType::Int32
                } else {
                    SchemaType::Int64
                };
                return Some((Some(Schema::primitive(ty, false)), Value::Int(value)));
            }
        }
    }
    let float = token.parse::<f32>().ok()?;
    if float.is_finite() && scale != 0 {
        return Some((
            Some(Schema::primitive(SchemaType::Float32, false)),
            Value::Float(f64::from(float)),
        ));
    }
    let double = token.parse::<f64>().ok()?;
    if double.is_finite() && scale != 0 {
        return Some((
            Some(Schema::primitive(SchemaType::Float64, false)),
            Value::Float(double),
        ));
    }
    let mut text = Vec::new();
    place_point(
        negative && !unscaled.is_empty(),
        unscaled.as_bytes(),
        scale,
        &mut text,
    );
    Some((
        Some(Schema::decimal(scale, None, false)),
        Value::Decimal(text.into()),
    ))
}

#[cfg(test)]
mod tests {

    use bytes::Bytes;

    use super::*;
    use crate::transform::util::fixtures::structure;

    fn parse(def: &ConfigDef, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        crate::transform::util::parse_pairs(def, pairs)
    }

    fn header(key: &str, schema: Option<Schema>, value: Value) -> Header {
        Header {
            key: key.to_string(),
            schema: schema.map(Arc::new),
            value,
        }
    }

    fn string_header(key: &str, value: &str) -> Header {
        header(key, string_schema(), Value::text(value))
    }

    fn record_with_headers(headers: Vec<Header>) -> Record {
        let mut record = Record::new(
            "topic",
            Part::new(string_schema().map(Arc::new), Value::text("value")),
        );
        record.key = Part::new(string_schema().map(Arc::new), Value::text("key"));
        record.timestamp = Some(0);
        record.headers = headers;
        record
    }

    fn insert(name: &str, literal: &str) -> InsertHeader {
        insert_header(&parse(&INSERT_HEADER, &[(HEADER, name), (VALUE_LITERAL, literal)]).unwrap())
            .unwrap()
    }

    /// InsertHeaderTest.insertionWithExistingOtherHeader, insertionWithExistingSameHeader,
    /// insertionWithByteHeader.
    #[test]
    fn insert_header_appends() {
        let original = record_with_headers(vec![string_header("existing", "existing-value")]);
        for (name, literal, expected) in [
            (
                "inserted",
                "inserted-value",
                string_header("inserted", "inserted-value"),
            ),
            (
                "existing",
                "inserted-value",
                string_header("existing", "inserted-value"),
            ),
            (
                "inserted",
                "1",
                header(
                    "inserted",
                    Some(Schema::primitive(SchemaType::Int8, false)),
                    Value::Int(1),
                ),
            ),
        ] {
            let out = insert(name, literal)
                .apply(original.clone())
                .unwrap()
                .unwrap();
            let mut want = original.clone();
            want.headers.push(expected);
            assert_eq!(out, want);
        }
    }

    /// InsertHeaderTest.configRejectsNullHeaderKey / configRejectsNullHeaderValue.
    #[test]
    fn insert_header_requires_both_keys() {
        let e = parse(&INSERT_HEADER, &[(VALUE_LITERAL, "1")]).unwrap_err();
        assert_eq!(
            e.message(),
            "Missing required configuration \"header\" which has no default value."
        );
        let e = parse(&INSERT_HEADER, &[(HEADER, "inserted")]).unwrap_err();
        assert_eq!(e.key, VALUE_LITERAL);
    }

    /// DropHeadersTest.dropExistingHeader, dropExistingHeaderWithMultipleValues,
    /// dropNonExistingHeader, configRejectsEmptyList.
    #[test]
    fn drop_headers_removes_every_copy() {
        let mut t = drop_headers(&parse(&DROP_HEADERS, &[(HEADERS, "to-drop")]).unwrap()).unwrap();
        let original = record_with_headers(vec![
            string_header("existing", "existing-value"),
            string_header("to-drop", "existing-value"),
            string_header("to-drop", "existing-other-value"),
        ]);
        let out = t.apply(original.clone()).unwrap().unwrap();
        let mut want = original;
        want.headers.truncate(1);
        assert_eq!(out, want);

        let original = record_with_headers(vec![string_header("existing", "existing-value")]);
        assert_eq!(t.apply(original.clone()).unwrap().unwrap(), original);

        let e = drop_headers(&parse(&DROP_HEADERS, &[(HEADERS, "")]).unwrap())
            .err()
            .unwrap();
        assert_eq!(
            e.message(),
            "Invalid value [] for configuration headers: Empty list"
        );
    }

    fn header_from(side: Side, fields: &str, headers: &str, operation: &str) -> HeaderFrom {
        let config = parse(
            &HEADER_FROM,
            &[(FIELDS, fields), (HEADERS, headers), (OPERATION, operation)],
        )
        .unwrap();
        match side {
            Side::Key => header_from_key(&config).unwrap(),
            Side::Value => header_from_value(&config).unwrap(),
        }
    }

    /// One of HeaderFromTest.data(): fields (name, schema, value) and headers before and after.
    struct Case {
        name: &'static str,
        fields: Vec<(&'static str, Schema, Value)>,
        headers: Vec<(&'static str, Schema, Value)>,
        transform: (&'static str, &'static str, &'static str),
        expected_fields: Vec<(&'static str, Schema, Value)>,
        expected_headers: Vec<(&'static str, Schema, Value)>,
    }

    fn cases() -> Vec<Case> {
        let s = || Schema::primitive(SchemaType::String, false);
        let v = Value::text;
        let inner = structure(vec![("foo", s())]);
        let inner_value = Value::Struct(vec![v("foo-value")]);
        let two = || {
            vec![
                ("field1", s(), v("field1-value")),
                ("field2", s(), v("field2-value")),
            ]
        };
        let only2 = || vec![("field2", s(), v("field2-value"))];
        vec![
            Case {
                name: "basic copy",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "copy"),
                expected_fields: two(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "basic move",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "copy with preexisting header",
                fields: two(),
                headers: vec![("inserted1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "copy"),
                expected_fields: two(),
                expected_headers: vec![
                    ("inserted1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "move with preexisting header",
                fields: two(),
                headers: vec![("inserted1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("inserted1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "copy with struct value",
                fields: vec![
                    ("field1", inner.clone(), inner_value.clone()),
                    ("field2", s(), v("field2-value")),
                ],
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "copy"),
                expected_fields: vec![
                    ("field1", inner.clone(), inner_value.clone()),
                    ("field2", s(), v("field2-value")),
                ],
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", inner.clone(), inner_value.clone()),
                ],
            },
            Case {
                name: "move with struct value",
                fields: vec![
                    ("field1", inner.clone(), inner_value.clone()),
                    ("field2", s(), v("field2-value")),
                ],
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", inner, inner_value),
                ],
            },
            Case {
                name: "two headers from same field",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1,field1", "inserted1,inserted2", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                    ("inserted2", s(), v("field1-value")),
                ],
            },
            Case {
                name: "two fields to same header",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1,field2", "inserted1,inserted1", "move"),
                expected_fields: vec![],
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                    ("inserted1", s(), v("field2-value")),
                ],
            },
        ]
    }

    /// Builds the record of a case: with schema (struct, headers with schemas) or schemaless
    /// (map, headers without schemas), on the key or the value ("key"/"value" on the other).
    fn case_record(
        side: Side,
        schema: bool,
        fields: &[(&str, Schema, Value)],
        headers: &[(&str, Schema, Value)],
    ) -> Record {
        let part = if schema {
            let s = structure(fields.iter().map(|(n, s, _)| (*n, s.clone())).collect());
            let values = fields.iter().map(|(_, _, v)| v.clone()).collect();
            Part::new(Some(Arc::new(s)), Value::Struct(values))
        } else {
            let entries = fields
                .iter()
                .map(|(n, _, v)| (Value::text(n), v.clone()))
                .collect();
            Part::new(None, Value::Map(entries))
        };
        let mut record = Record::new("topic", Part::new(None, Value::text("value")));
        record.key = Part::new(None, Value::text("key"));
        record.partition = Some(0);
        record.timestamp = Some(0);
        *record.part_mut(side) = part;
        record.headers = headers
            .iter()
            .map(|(k, s, v)| header(k, schema.then(|| s.clone()), v.clone()))
            .collect();
        record
    }

    /// HeaderFromTest.schemaless and HeaderFromTest.withSchema over data(), key and value.
    #[test]
    fn header_from_cases() {
        for side in [Side::Key, Side::Value] {
            for schema in [false, true] {
                for case in cases() {
                    let (fields, headers, operation) = case.transform;
                    let mut t = header_from(side, fields, headers, operation);
                    let original = case_record(side, schema, &case.fields, &case.headers);
                    let expected =
                        case_record(side, schema, &case.expected_fields, &case.expected_headers);
                    let out = t.apply(original).unwrap().unwrap();
                    assert_eq!(out, expected, "{} ({side:?}, schema: {schema})", case.name);
                }
            }
        }
    }

    /// HeaderFromTest.invalidConfigExtraHeaderConfig, invalidConfigExtraFieldConfig,
    /// invalidConfigEmptyHeadersAndFieldsConfig, and the case-sensitive operation.
    #[test]
    fn header_from_config_errors() {
        let build = |pairs: &[(&str, &str)]| {
            header_from_value(&parse(&HEADER_FROM, pairs).unwrap())
                .err()
                .unwrap()
        };
        let e = build(&[(FIELDS, "foo,bar"), (HEADERS, "foo"), (OPERATION, "copy")]);
        assert_eq!(
            e.message(),
            "'fields' config must have the same number of elements as 'headers' config."
        );
        let e = build(&[(FIELDS, "foo"), (HEADERS, "foo,bar"), (OPERATION, "copy")]);
        assert_eq!(e.key, FIELDS);
        let e = build(&[(FIELDS, ""), (HEADERS, ""), (OPERATION, "copy")]);
        assert_eq!(
            e.message(),
            "Invalid value [] for configuration fields: Empty list"
        );
        let e = build(&[(FIELDS, "foo"), (HEADERS, "foo"), (OPERATION, "COPY")]);
        assert_eq!(
            e.message(),
            "Invalid value COPY for configuration operation: String must be one of: move, copy"
        );
    }

    /// No null pass-through, a required field's null, a field missing from the schema, and
    /// `replace.null.with.default` (the reference's "Move null field without default").
    #[test]
    fn header_from_nulls_and_defaults() {
        let mut t = header_from(Side::Value, "f", "h", "copy");
        let e = t.apply(Record::new("topic", Part::NULL)).unwrap_err();
        assert_eq!(
            e.context(),
            "Only Map objects supported in absence of schema for [header copy], found: null"
        );
        let schema = structure(vec![("f", Schema::primitive(SchemaType::String, false))]);
        let e = t
            .apply(Record::new(
                "topic",
                Part::new(Some(Arc::new(schema)), Value::Struct(vec![Value::Null])),
            ))
            .unwrap_err();
        assert_eq!(
            e.context(),
            "A null value requires an optional schema but was Schema{STRING}"
        );
        let other = structure(vec![("g", Schema::primitive(SchemaType::String, true))]);
        let e = t
            .apply(Record::new(
                "topic",
                Part::new(Some(Arc::new(other)), Value::Struct(vec![Value::Null])),
            ))
            .unwrap_err();
        assert!(e.context().starts_with("Cannot invoke"));

        let mut field = Schema::primitive(SchemaType::String, true);
        field.default = Some(Box::new(Value::text("dflt")));
        let schema = Arc::new(structure(vec![
            ("f", field.clone()),
            ("g", Schema::primitive(SchemaType::Int32, true)),
        ]));
        for (replace, expected) in [("true", Value::text("dflt")), ("false", Value::Null)] {
            let config = parse(
                &HEADER_FROM,
                &[
                    (FIELDS, "f"),
                    (HEADERS, "h"),
                    (OPERATION, "move"),
                    ("replace.null.with.default", replace),
                ],
            )
            .unwrap();
            let mut t = header_from_value(&config).unwrap();
            let out = t
                .apply(Record::new(
                    "topic",
                    Part::new(
                        Some(Arc::clone(&schema)),
                        Value::Struct(vec![Value::Null, Value::Int(7)]),
                    ),
                ))
                .unwrap()
                .unwrap();
            let moved = structure(vec![("g", Schema::primitive(SchemaType::Int32, true))]);
            assert_eq!(
                out.value,
                Part::new(Some(Arc::new(moved)), Value::Struct(vec![Value::Int(7)]))
            );
            assert_eq!(
                out.headers,
                vec![header("h", Some(field.clone()), expected)]
            );
        }
    }

    fn prim(ty: SchemaType) -> Option<Schema> {
        Some(Schema::primitive(ty, false))
    }

    /// `Values.parseString` as InsertHeader reads `value.literal` (SimpleHeaderConverterTest and
    /// ValuesTest cases).
    #[test]
    fn values_parse_string() {
        let cases: Vec<(&str, Option<Schema>, Value)> = vec![
            ("", prim(SchemaType::String), Value::text("")),
            ("42", prim(SchemaType::Int8), Value::Int(42)),
            ("-300", prim(SchemaType::Int16), Value::Int(-300)),
            (
                "1234567890",
                prim(SchemaType::Int32),
                Value::Int(1_234_567_890),
            ),
            (
                "9223372036854775807",
                prim(SchemaType::Int64),
                Value::Int(i64::MAX),
            ),
            ("1.0", prim(SchemaType::Int8), Value::Int(1)),
            ("1e3", prim(SchemaType::Int16), Value::Int(1000)),
            ("1.5", prim(SchemaType::Float32), Value::Float(1.5)),
            (
                "0.1",
                prim(SchemaType::Float32),
                Value::Float(f64::from(0.1f32)),
            ),
            ("1.5e39", prim(SchemaType::Float64), Value::Float(1.5e39)),
            (
                "123456789012345678901234567890",
                Some(Schema::decimal(0, None, false)),
                Value::Decimal(Bytes::from_static(b"123456789012345678901234567890")),
            ),
            ("true", prim(SchemaType::Boolean), Value::Boolean(true)),
            (" false ", prim(SchemaType::Boolean), Value::Boolean(false)),
            ("null", None, Value::Null),
            (
                "hello, world",
                prim(SchemaType::String),
                Value::text("hello, world"),
            ),
            (
                "12 apples",
                prim(SchemaType::String),
                Value::text("12 apples"),
            ),
            (
                "true story",
                prim(SchemaType::String),
                Value::text("true story"),
            ),
            (
                "2024-01-02",
                Some(Schema::logical(SchemaType::Int32, logical::DATE, false)),
                Value::Date(19_724),
            ),
            (
                "12:34:56.789Z",
                Some(Schema::logical(SchemaType::Int32, logical::TIME, false)),
                Value::Time(45_296_789_000),
            ),
            (
                "2023-11-14T22:13:20.123Z",
                Some(Schema::logical(
                    SchemaType::Int64,
                    logical::TIMESTAMP,
                    false,
                )),
                Value::Timestamp(1_700_000_000_123_000),
            ),
            (
                "[1234567890,-987654321]",
                Some(Schema::array(
                    Schema::primitive(SchemaType::Int32, false),
                    false,
                )),
                Value::Array(vec![Value::Int(1_234_567_890), Value::Int(-987_654_321)]),
            ),
            (
                "[1, 2.5]",
                Some(Schema::array(
                    Schema::primitive(SchemaType::Float32, false),
                    false,
                )),
                Value::Array(vec![Value::Float(1.0), Value::Float(2.5)]),
            ),
            (
                "[1,\"a\",null]",
                Some(Schema::primitive(SchemaType::Array, false)),
                Value::Array(vec![Value::Int(1), Value::text("a"), Value::Null]),
            ),
            (
                "[]",
                Some(Schema::primitive(SchemaType::Array, false)),
                Value::Array(vec![]),
            ),
            (
                "[1,null]",
                prim(SchemaType::String),
                Value::text("[1,null]"),
            ),
            ("true}", prim(SchemaType::String), Value::text("true}")),
            (
                "[true,\"2024-01-02\"]",
                Some(Schema::primitive(SchemaType::Array, false)),
                Value::Array(vec![Value::Boolean(true), Value::Date(19_724)]),
            ),
            (
                "{\"foo\":\"123\",\"bar\":\"baz\"}",
                Some(Schema::map(
                    Schema::primitive(SchemaType::String, false),
                    Schema::primitive(SchemaType::String, false),
                    false,
                )),
                Value::Map(vec![
                    (Value::text("foo"), Value::text("123")),
                    (Value::text("bar"), Value::text("baz")),
                ]),
            ),
            (
                "{\"a\":1,\"b\":300}",
                Some(Schema::map(
                    Schema::primitive(SchemaType::String, false),
                    Schema::primitive(SchemaType::Int16, false),
                    false,
                )),
                Value::Map(vec![
                    (Value::text("a"), Value::Int(1)),
                    (Value::text("b"), Value::Int(300)),
                ]),
            ),
            ("[1,", prim(SchemaType::String), Value::text("[1,")),
            ("{a:b}", prim(SchemaType::String), Value::text("{a:b}")),
        ];
        for (text, schema, value) in cases {
            assert_eq!(parse_string(text), (schema, value), "{text:?}");
        }
    }
}
