//! JsonConverter's payload read straight into a [`Value`] as its schema says, without the
//! `serde_json::Value` in between: structs fill their fields by name, integers, booleans and
//! strings are read in place (strings copied into a [`ValueArena`], not an allocation each),
//! and everything else goes through [`to_value`] one leaf at a time.
//!
//! Contract: when [`read`] succeeds, its value is exactly what `to_value(schema, &json)` gives
//! for the same payload. It may fail where `to_value` would not (a duplicate member whose first
//! value is invalid, a number written as `1e2`): the caller then falls back to `to_value`,
//! which also words the error as Connect does. So this module never decides an error.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value as Json;

use super::to_value;
use crate::model::arena::ValueArena;
use crate::model::{LogicalType, Schema, SchemaType, Value};

/// Reads a payload (the JSON text of `"payload"`) as `schema` says, its strings kept in
/// `arena`; `None` when the caller must take the general path. With `fields_read` (one flag per
/// field of a struct `schema`), the top-level members not flagged are skipped as JSON, neither
/// read nor checked against their schema, and left null.
pub(super) fn read(
    schema: &Schema,
    payload: &[u8],
    fields_read: Option<&[bool]>,
    replace_null_with_default: bool,
    arena: &mut ValueArena,
) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let cell = RefCell::new(std::mem::take(arena));
    let value = Seed {
        schema,
        fields_read: fields_read.filter(|read| read.len() == schema.fields.len()),
        replace_null_with_default,
        arena: &cell,
    }
    .deserialize(&mut de)
    .ok();
    *arena = cell.into_inner();
    let value = value?;
    de.end().ok()?;
    Some(value)
}

/// A value of `schema`, null included.
#[derive(Clone, Copy)]
struct Seed<'s> {
    schema: &'s Schema,
    /// For a struct, which of its fields to read (all when `None`).
    fields_read: Option<&'s [bool]>,
    replace_null_with_default: bool,
    arena: &'s RefCell<ValueArena>,
}

/// Any failure: the caller falls back, so its text does not matter.
fn fail<E: de::Error>(_: impl fmt::Display) -> E {
    E::custom("payload needs the general path")
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JsonConverter payload")
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        to_value(self.schema, &Json::Null, self.replace_null_with_default).map_err(fail)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let schema = self.schema;
        let integer = |min: i64, max: i64| Integer { min, max };
        match (schema.logical_type(), schema.ty) {
            (None, SchemaType::Struct) => deserializer.deserialize_map(StructVisitor(self)),
            (None, SchemaType::Int8) => deserializer
                .deserialize_i64(integer(i8::MIN.into(), i8::MAX.into()))
                .map(Value::Int),
            (None, SchemaType::Int16) => deserializer
                .deserialize_i64(integer(i16::MIN.into(), i16::MAX.into()))
                .map(Value::Int),
            (None, SchemaType::Int32) => deserializer
                .deserialize_i64(integer(i32::MIN.into(), i32::MAX.into()))
                .map(Value::Int),
            (None, SchemaType::Int64) => deserializer
                .deserialize_i64(integer(i64::MIN, i64::MAX))
                .map(Value::Int),
            (Some(LogicalType::Date), _) => deserializer
                .deserialize_i64(integer(i32::MIN.into(), i32::MAX.into()))
                .map(|days| Value::Date(days as i32)),
            (Some(LogicalType::Time), _) => deserializer
                .deserialize_i64(integer(i32::MIN.into(), i32::MAX.into()))
                .map(|millis| Value::Time(millis * 1000)),
            (Some(LogicalType::Timestamp), _) => {
                let millis = deserializer.deserialize_i64(integer(i64::MIN, i64::MAX))?;
                millis
                    .checked_mul(1000)
                    .map(Value::Timestamp)
                    .ok_or_else(|| fail("out of range"))
            }
            (None, SchemaType::Boolean) => bool::deserialize(deserializer).map(Value::Boolean),
            (None, SchemaType::String) => deserializer.deserialize_str(Text(self.arena)),
            _ => {
                let json = Json::deserialize(deserializer)?;
                to_value(schema, &json, self.replace_null_with_default).map_err(fail)
            }
        }
    }
}

/// The widest struct read here; wider ones take the general path.
const MAX_FIELDS: usize = 256;

/// A struct's members matched to its fields by name; a member the schema does not name is
/// skipped, a field without a member is read as null (its default, when it has one).
struct StructVisitor<'s>(Seed<'s>);

impl<'de> Visitor<'de> for StructVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a struct")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Seed {
            schema,
            fields_read,
            replace_null_with_default,
            arena,
        } = self.0;
        let fields = &schema.fields;
        // Which fields had a member, a bit each (wider structs take the general path).
        let mut seen = [0u64; MAX_FIELDS / 64];
        if fields.len() > MAX_FIELDS {
            return Err(fail("too many fields"));
        }
        let read = |i: usize| fields_read.is_none_or(|read| read[i]);
        let mut values = vec![Value::Null; fields.len()];
        let mut expected = 0;
        while let Some(index) = map.next_key_seed(FieldIndex { fields, expected })? {
            if let Some(i) = index {
                expected = i + 1;
            }
            match index {
                Some(i) if read(i) => {
                    seen[i / 64] |= 1 << (i % 64);
                    values[i] = map.next_value_seed(Seed {
                        schema: &fields[i].schema,
                        fields_read: None,
                        replace_null_with_default,
                        arena,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (i, field) in fields.iter().enumerate() {
            if seen[i / 64] & (1 << (i % 64)) == 0 && read(i) {
                values[i] = to_value(&field.schema, &Json::Null, replace_null_with_default)
                    .map_err(fail)?;
            }
        }
        Ok(Value::Struct(values))
    }
}

/// The index of the field a member names, if any. Members usually come in the schema's field
/// order (JsonConverter and Debezium write them so), so the field after the previous member's is
/// tried first.
struct FieldIndex<'s> {
    fields: &'s [crate::model::Field],
    expected: usize,
}

impl<'de> DeserializeSeed<'de> for FieldIndex<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldIndex<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        match self.fields.get(self.expected) {
            Some(field) if field.name == name => Ok(Some(self.expected)),
            _ => Ok(self.fields.iter().position(|field| field.name == name)),
        }
    }
}

/// An integral number within a range.
struct Integer {
    min: i64,
    max: i64,
}

impl<'de> Visitor<'de> for Integer {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if (self.min..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(fail(v))
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v)
            .map_err(fail)
            .and_then(|v| self.visit_i64(v))
    }
}

/// A string as [`Value::Text`], its bytes in the arena.
struct Text<'s>(&'s RefCell<ValueArena>);

impl<'de> Visitor<'de> for Text<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Text(self.0.borrow_mut().put(s.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn same_as_to_value(schema: &Schema, payload: &str) {
        let general = to_value(schema, &serde_json::from_str(payload).unwrap(), true).unwrap();
        let direct = read(
            schema,
            payload.as_bytes(),
            None,
            true,
            &mut ValueArena::default(),
        )
        .expect("read directly");
        assert_eq!(format!("{direct:?}"), format!("{general:?}"), "{payload}");
    }

    fn row() -> Schema {
        let field = |name: &str, schema: Schema| Field {
            name: name.into(),
            schema,
        };
        let mut with_default = Schema::primitive(SchemaType::Int32, true);
        with_default.default = Some(Box::new(Value::Int(7)));
        Schema::structure(
            Some("r".into()),
            vec![
                field("id", Schema::primitive(SchemaType::Int64, false)),
                field("s", Schema::primitive(SchemaType::String, true)),
                field("b", Schema::primitive(SchemaType::Boolean, true)),
                field("d", with_default),
                field("f", Schema::primitive(SchemaType::Float64, true)),
                field("n", Schema::decimal(2, None, true)),
                field(
                    "ts",
                    Schema::logical(SchemaType::Int64, crate::model::logical::TIMESTAMP, true),
                ),
                field(
                    "day",
                    Schema::logical(SchemaType::Int32, crate::model::logical::DATE, true),
                ),
            ],
            true,
        )
    }

    #[test]
    fn reads_what_to_value_reads() {
        let schema = row();
        for payload in [
            r#"{"id":1,"s":"a\"b\u00e9","b":true,"d":null,"f":1.5,"n":"AMk=","ts":1700000000123,"day":19000}"#,
            r#"{"day":-1,"ts":null,"id":18446744073709551,"extra":{"x":[1,2]},"s":null}"#,
            r#"{"id":-9223372036854775808,"f":1e300,"n":null}"#,
            r#"{"id":2,"b":false,"s":"back","extra":1,"d":3,"id2":0,"f":2}"#,
            "null",
        ] {
            same_as_to_value(&schema, payload);
        }
    }

    /// Whatever the direct read refuses, the general path decides (and words the error).
    #[test]
    fn leaves_errors_and_odd_numbers_to_the_general_path() {
        let schema = row();
        for payload in [
            r#"{"id":1.0}"#,
            r#"{"id":1e2}"#,
            r#"{"id":"1"}"#,
            r#"{"id":9223372036854775808}"#,
            r#"{"s":1,"id":1}"#,
            r#"{"id":1,"id":"x"}"#,
            r#"[1]"#,
            r#"{"id":1} x"#,
        ] {
            assert!(
                read(
                    &schema,
                    payload.as_bytes(),
                    None,
                    true,
                    &mut ValueArena::default()
                )
                .is_none(),
                "{payload}"
            );
        }
        let required = Schema::primitive(SchemaType::Int32, false);
        assert!(read(&required, b"null", None, true, &mut ValueArena::default()).is_none());
    }

    /// Members outside `fields_read` are skipped unread (their type unchecked) and left null;
    /// the fields read are as the general path reads them, defaults included.
    #[test]
    fn reads_only_the_fields_asked_for() {
        let schema = row();
        let mut read_only = vec![false; schema.fields.len()];
        read_only[0] = true; // id
        read_only[3] = true; // d, missing: its default
        let payload = br#"{"id":5,"s":{"not":"a string"},"b":"x","n":[1],"f":1.5}"#;
        let value = read(
            &schema,
            payload,
            Some(&read_only),
            true,
            &mut ValueArena::default(),
        )
        .expect("read");
        let mut expected = vec![Value::Null; schema.fields.len()];
        expected[0] = Value::Int(5);
        expected[3] = Value::Int(7);
        assert_eq!(
            format!("{value:?}"),
            format!("{:?}", Value::Struct(expected))
        );
        // A flag list that does not fit the schema is ignored.
        let all = read(
            &schema,
            payload,
            Some(&[true]),
            true,
            &mut ValueArena::default(),
        );
        assert!(all.is_none(), "s is not a string: the general path decides");
        // Skipped members must still be JSON.
        let broken = br#"{"id":5,"s":{"not" "json"}}"#;
        assert!(
            read(
                &schema,
                broken,
                Some(&read_only),
                true,
                &mut ValueArena::default()
            )
            .is_none()
        );
    }
}
