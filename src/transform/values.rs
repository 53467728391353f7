//! Kafka's `org.apache.kafka.connect.data.Values.parseString`: the schema and value Connect
//! infers from text. `InsertHeader` reads its `value.literal` with it, and
//! `SimpleHeaderConverter` reads every header value with it.

use super::java_date;
use crate::model::numeric::JavaDecimal;
use crate::model::{Schema, SchemaType, Value, logical};

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
    let decimal = JavaDecimal::parse(token)?;
    if let Some(value) = decimal.long_value_exact() {
        return Some((
            Some(Schema::primitive(smallest_int(value), false)),
            Value::Int(value),
        ));
    }
    let scale = decimal.scale();
    let float = token.parse::<f32>().ok()?;
    if float.is_finite() && scale != 0 {
        return Some((
            Some(Schema::primitive(SchemaType::Float32, false)),
            Value::Float(f64::from(float)),
        ));
    }
    let double = decimal.double_value();
    if double.is_finite() && scale != 0 {
        return Some((
            Some(Schema::primitive(SchemaType::Float64, false)),
            Value::Float(double),
        ));
    }
    let text = decimal.text_at(scale)?;
    Some((
        Some(Schema::decimal(i32::try_from(scale).ok()?, None, false)),
        Value::Decimal(text.into()),
    ))
}

/// The smallest of INT8 … INT64 that holds `value`.
fn smallest_int(value: i64) -> SchemaType {
    if i8::try_from(value).is_ok() {
        SchemaType::Int8
    } else if i16::try_from(value).is_ok() {
        SchemaType::Int16
    } else if i32::try_from(value).is_ok() {
        SchemaType::Int32
    } else {
        SchemaType::Int64
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

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
