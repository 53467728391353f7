//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces the values of
//! `fields` with a neutral value of their type, or with `replacement` converted to it.
//!
//! The neutral value follows the Java class Connect holds: `false`, zero for every number,
//! `""`, the epoch for Date/Time/Timestamp, an empty list or map; bytes and structs cannot be
//! masked (`Cannot mask value of type: class [B`). A `replacement` applies to numbers (parsed as
//! Java's `BigDecimal` and narrowed as Java casts do), strings and decimals only. Nulls stay
//! null. There is no null pass-through: a null key/value fails the struct/map requirement.
//! Schemaless, every listed field is put back into the map, so a missing one is added as null.
//! The schema is unchanged.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::Transformation;
use super::util::{
    REPLACE_NULL_WITH_DEFAULT, check_put, data_error, java_class_in, non_empty_list, require_map,
    require_struct, struct_get,
};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Validator};
use crate::error::Result;
use crate::model::numeric::{JavaDecimal, place_point};
use crate::model::record::{Record, Side};
use crate::model::{LogicalType, Schema, SchemaType, Value};

const PURPOSE: &str = "mask fields";

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(ConfigKey::required("fields", ConfigType::List).doc("Names of fields to mask."))
        .define(
            ConfigKey::optional("replacement", ConfigType::String)
                .validator(Validator::NonEmpty)
                .importance(Importance::Low)
                .doc(
                    "Custom value replacement, that will be applied to all 'fields' values \
                     (numeric or non-empty string values only).",
                ),
        )
        .define(REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// The scale of a Decimal schema (its own scale when there is no schema).
fn decimal_scale(schema: Option<&Schema>) -> Option<i64> {
    match schema?.logical_type()? {
        LogicalType::Decimal { scale } => Some(i64::from(scale)),
        _ => None,
    }
}

/// Narrows a `long` as Java's casts do for the integer width of `schema`.
fn narrow(schema: Option<&Schema>, value: i64) -> i64 {
    match schema.map(|s| s.ty) {
        Some(SchemaType::Int8) => i64::from(value as i8),
        Some(SchemaType::Int16) => i64::from(value as i16),
        Some(SchemaType::Int32) => i64::from(value as i32),
        _ => value,
    }
}

/// The neutral value of `value`'s Java class (`maskWithNullValue`).
fn mask_with_null_value(schema: Option<&Schema>, value: &Value) -> Result<Value> {
    Ok(match value {
        Value::Null => Value::Null,
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int(_) => Value::Int(0),
        Value::Float(_) => Value::Float(0.0),
        Value::Decimal(_) => {
            // BigDecimal.ZERO, written at the schema's scale as a Decimal value must be.
            let mut out = Vec::new();
            let scale = decimal_scale(schema).unwrap_or(0);
            place_point(false, &[], i32::try_from(scale).unwrap_or(0), &mut out);
            Value::Decimal(out.into())
        }
        Value::Date(_) => Value::Date(0),
        Value::Time(_) => Value::Time(0),
        Value::Timestamp(_) => Value::Timestamp(0),
        Value::Text(_) => Value::text(""),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        Value::Bytes(_) | Value::Struct(_) => {
            return Err(data_error(format!(
                "Cannot mask value of type: class {}",
                java_class_in(schema, value)
            )));
        }
    })
}

/// `replacement` converted to `value`'s Java class (`maskWithCustomReplacement`).
fn mask_with_replacement(
    schema: Option<&Schema>,
    value: &Value,
    replacement: &str,
) -> Result<Value> {
    // `Values.convertToX` and `new BigDecimal` as Kafka reports their failures.
    let not_a_number = || {
        data_error(format!(
            "Unable to convert {replacement} (class java.lang.String) to a number"
        ))
    };
    Ok(match value {
        Value::Null => Value::Null,
        Value::Int(_) => {
            let parsed = JavaDecimal::parse(replacement).ok_or_else(not_a_number)?;
            Value::Int(narrow(schema, parsed.long_value()))
        }
        Value::Float(_) => {
            let parsed = JavaDecimal::parse(replacement).ok_or_else(not_a_number)?;
            let double = parsed.double_value();
            match schema.map(|s| s.ty) {
                Some(SchemaType::Float32) => Value::Float(f64::from(double as f32)),
                _ => Value::Float(double),
            }
        }
        Value::Text(_) => Value::text(replacement),
        Value::Decimal(_) => {
            let parsed = JavaDecimal::parse(replacement).ok_or_else(|| {
                data_error(format!(
                    "Unable to convert {replacement} (class java.lang.String) to number"
                ))
            })?;
            // A Decimal value is written at its schema's scale; Kafka keeps the replacement's
            // own scale and fails this way when the converter writes it.
            let scale = decimal_scale(schema).unwrap_or(parsed.scale().max(0));
            let text = parsed.text_at(scale).ok_or_else(|| {
                data_error("BigDecimal has mismatching scale value for given Decimal schema")
            })?;
            Value::Decimal(text.into())
        }
        other => {
            return Err(data_error(format!(
                "Cannot mask value of type class {} with custom replacement.",
                java_class_in(schema, other)
            )));
        }
    })
}

/// `MaskField$Key` / `MaskField$Value`.
pub(crate) struct MaskField {
    side: Side,
    /// The listed fields, once each, in order.
    fields: Vec<String>,
    masked: HashSet<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

impl MaskField {
    /// `MaskField$Key` or `MaskField$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let mut fields = non_empty_list(config, "fields")?;
        let mut seen = HashSet::new();
        fields.retain(|f| seen.insert(f.clone()));
        Ok(MaskField {
            side,
            fields,
            masked: seen,
            replacement: config.string("replacement").map(str::to_string),
            replace_null_with_default: config.bool("replace.null.with.default"),
        })
    }

    fn mask(&self, schema: Option<&Schema>, value: &Value) -> Result<Value> {
        match &self.replacement {
            None => mask_with_null_value(schema, value),
            Some(replacement) => mask_with_replacement(schema, value, replacement),
        }
    }
}

impl Transformation for MaskField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        let value = match &part.schema {
            None => {
                let entries = require_map(&part.value, PURPOSE)?;
                let mut out = entries.to_vec();
                for name in &self.fields {
                    match out.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
                        Some(entry) => entry.1 = self.mask(None, &entry.1)?,
                        None => out.push((Value::text(name), Value::Null)),
                    }
                }
                Value::Map(out)
            }
            Some(schema) => {
                let values = require_struct(schema, &part.value, PURPOSE)?;
                let mut out = Vec::with_capacity(values.len());
                for (field, value) in schema.fields.iter().zip(values) {
                    let value = struct_get(&field.schema, value, self.replace_null_with_default);
                    let value = match self.masked.contains(&field.name) {
                        true => self.mask(Some(&field.schema), &value)?,
                        false => value,
                    };
                    check_put(field, &value)?;
                    out.push(value);
                }
                Value::Struct(out)
            }
        };
        record.part_mut(self.side).value = value;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::logical;
    use crate::model::record::Part;
    use crate::transform::util;
    use crate::transform::util::fixtures::{map, record};
    use crate::transform::util::parse_pairs;

    fn xform(fields: &str, replacement: Option<&str>) -> MaskField {
        let mut pairs = vec![("fields", fields)];
        if let Some(r) = replacement {
            pairs.push(("replacement", r));
        }
        MaskField::new(&parse_pairs(config_def(), &pairs).unwrap(), Side::Value).unwrap()
    }

    fn dec(text: &str) -> Value {
        Value::Decimal(bytes::Bytes::copy_from_slice(text.as_bytes()))
    }

    /// `MaskFieldTest.VALUES` (schemaless; no `BigInteger` in this model).
    fn schemaless_values() -> Vec<(&'static str, Value)> {
        vec![
            ("magic", Value::Int(42)),
            ("bool", Value::Boolean(true)),
            ("byte", Value::Int(42)),
            ("short", Value::Int(42)),
            ("int", Value::Int(42)),
            ("long", Value::Int(42)),
            ("float", Value::Float(42.0)),
            ("double", Value::Float(42.0)),
            ("string", Value::text("55.121.20.20")),
            ("date", Value::Timestamp(1_700_000_000_123_000)),
            ("bigdec", dec("42.0")),
            ("list", Value::Array(vec![Value::Int(42)])),
            ("map", map(&[("key", Value::text("value"))])),
        ]
    }

    /// `MaskFieldTest.SCHEMA`.
    fn schema() -> Arc<Schema> {
        let p = |ty| Schema::primitive(ty, false);
        Arc::new(Schema::structure(
            None,
            vec![
                util::field("magic", p(SchemaType::Int32)),
                util::field("bool", p(SchemaType::Boolean)),
                util::field("byte", p(SchemaType::Int8)),
                util::field("short", p(SchemaType::Int16)),
                util::field("int", p(SchemaType::Int32)),
                util::field("long", p(SchemaType::Int64)),
                util::field("float", p(SchemaType::Float32)),
                util::field("double", p(SchemaType::Float64)),
                util::field("string", p(SchemaType::String)),
                util::field(
                    "date",
                    Schema::logical(SchemaType::Int32, logical::DATE, false),
                ),
                util::field(
                    "time",
                    Schema::logical(SchemaType::Int32, logical::TIME, false),
                ),
                util::field(
                    "timestamp",
                    Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false),
                ),
                util::field("decimal", Schema::decimal(0, None, false)),
                util::field("array", Schema::array(p(SchemaType::Int32), false)),
                util::field(
                    "map",
                    Schema::map(p(SchemaType::String), p(SchemaType::String), false),
                ),
            ],
            false,
        ))
    }

    /// `MaskFieldTest.VALUES_WITH_SCHEMA`.
    fn schema_values() -> Vec<Value> {
        vec![
            Value::Int(42),
            Value::Boolean(true),
            Value::Int(42),
            Value::Int(42),
            Value::Int(42),
            Value::Int(42),
            Value::Float(42.0),
            Value::Float(42.0),
            Value::text("hmm"),
            Value::Date(19_000),
            Value::Time(3_600_000_000),
            Value::Timestamp(1_700_000_000_123_000),
            dec("42"),
            Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
            map(&[("what", Value::text("what"))]),
        ]
    }

    /// `MaskFieldTest.testSchemaless`.
    #[test]
    fn schemaless() {
        let values = schemaless_values();
        let names: Vec<&str> = values.iter().map(|(k, _)| *k).skip(1).collect();
        let mut xform = xform(&names.join(","), None);
        let r = record(None, map(&values));
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            value: Part::new(
                None,
                map(&[
                    ("magic", Value::Int(42)),
                    ("bool", Value::Boolean(false)),
                    ("byte", Value::Int(0)),
                    ("short", Value::Int(0)),
                    ("int", Value::Int(0)),
                    ("long", Value::Int(0)),
                    ("float", Value::Float(0.0)),
                    ("double", Value::Float(0.0)),
                    ("string", Value::text("")),
                    ("date", Value::Timestamp(0)),
                    ("bigdec", dec("0")),
                    ("list", Value::Array(Vec::new())),
                    ("map", Value::Map(Vec::new())),
                ]),
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// `MaskFieldTest.testWithSchema`: the schema is kept, every value but `magic` masked.
    #[test]
    fn with_schema() {
        let schema = schema();
        let names: Vec<&str> = schema.fields[1..].iter().map(|f| f.name.as_str()).collect();
        let mut xform = xform(&names.join(","), None);
        let r = record(Some(schema.clone()), Value::Struct(schema_values()));
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            value: Part::new(
                Some(schema),
                Value::Struct(vec![
                    Value::Int(42),
                    Value::Boolean(false),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Float(0.0),
                    Value::Float(0.0),
                    Value::text(""),
                    Value::Date(0),
                    Value::Time(0),
                    Value::Timestamp(0),
                    dec("0"),
                    Value::Array(Vec::new()),
                    Value::Map(Vec::new()),
                ]),
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// The masked field's value, schemaless.
    fn masked_schemaless(field: &str, replacement: &str) -> Result<Value> {
        let mut xform = xform(field, Some(replacement));
        let out = xform
            .apply(record(None, map(&schemaless_values())))?
            .unwrap();
        Ok(out.value.value.map_get(field).unwrap().clone())
    }

    /// The masked field's value, with the schema.
    fn masked_with_schema(field: &str, replacement: &str) -> Result<Value> {
        let schema = schema();
        let (i, _) = schema.field(field).unwrap();
        let mut xform = xform(field, Some(replacement));
        let out = xform.apply(record(Some(schema), Value::Struct(schema_values())))?;
        match out.unwrap().value.value {
            Value::Struct(values) => Ok(values[i].clone()),
            other => panic!("{other:?}"),
        }
    }

    /// The replacements both of Kafka's replacement tests make, with what each field becomes.
    fn replacements() -> Vec<(&'static str, &'static str, Value)> {
        vec![
            ("short", "123", Value::Int(123)),
            ("byte", "123", Value::Int(123)),
            ("int", "123", Value::Int(123)),
            ("long", "123", Value::Int(123)),
            ("float", "123.0", Value::Float(123.0)),
            ("double", "123.0", Value::Float(123.0)),
            ("string", "123", Value::text("123")),
        ]
    }

    /// `MaskFieldTest.testSchemalessWithReplacement`.
    #[test]
    fn schemaless_with_replacement() {
        let mut cases = replacements();
        cases.push(("bigdec", "123.0", dec("123.0")));
        for (field, replacement, expected) in cases {
            assert_eq!(
                masked_schemaless(field, replacement).unwrap(),
                expected,
                "{field}"
            );
        }
    }

    /// `MaskFieldTest.testWithSchemaAndReplacement`; the decimal is written at its schema's scale.
    #[test]
    fn with_schema_and_replacement() {
        let mut cases = replacements();
        cases.push(("decimal", "123.0", dec("123")));
        for (field, replacement, expected) in cases {
            assert_eq!(
                masked_with_schema(field, replacement).unwrap(),
                expected,
                "{field}"
            );
        }
        let error = masked_with_schema("decimal", "123.5").unwrap_err();
        assert_eq!(
            error.to_string(),
            "BigDecimal has mismatching scale value for given Decimal schema"
        );
    }

    /// Java's `BigDecimal` reading and narrowing casts.
    #[test]
    fn replacement_conversions() {
        assert_eq!(masked_with_schema("byte", "300").unwrap(), Value::Int(44));
        assert_eq!(masked_with_schema("short", "-1.9").unwrap(), Value::Int(-1));
        assert_eq!(masked_with_schema("int", "1e3").unwrap(), Value::Int(1000));
        assert_eq!(masked_with_schema("int", "+7").unwrap(), Value::Int(7));
        assert_eq!(
            masked_with_schema("long", "18446744073709551617").unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            masked_with_schema("float", "0.1").unwrap(),
            Value::Float(f64::from(0.1f32))
        );
        assert_eq!(
            masked_with_schema("double", "0.1").unwrap(),
            Value::Float(0.1)
        );
        assert_eq!(masked_schemaless("bigdec", "1E+3").unwrap(), dec("1000"));
    }

    /// `MaskFieldTest.testSchemalessUnsupportedReplacementType` and
    /// `testWithSchemaUnsupportedReplacementType`.
    #[test]
    fn unsupported_replacement_types() {
        for (field, class) in [
            ("date", "java.util.Date"),
            ("bool", "java.lang.Boolean"),
            ("list", "java.util.ArrayList"),
            ("map", "java.util.HashMap"),
        ] {
            assert_eq!(
                masked_schemaless(field, "123").unwrap_err().to_string(),
                format!("Cannot mask value of type class {class} with custom replacement.")
            );
        }
        assert!(masked_schemaless("int,date", "123").is_err());
        for (field, class) in [
            ("time", "java.util.Date"),
            ("timestamp", "java.util.Date"),
            ("array", "java.util.ArrayList"),
        ] {
            assert_eq!(
                masked_with_schema(field, "123").unwrap_err().to_string(),
                format!("Cannot mask value of type class {class} with custom replacement.")
            );
        }
    }

    /// `MaskFieldTest.testReplacementTypeMismatch`.
    #[test]
    fn replacement_type_mismatch() {
        for field in ["byte", "short", "int", "long", "float", "double"] {
            assert_eq!(
                masked_schemaless(field, "foo").unwrap_err().to_string(),
                "Unable to convert foo (class java.lang.String) to a number"
            );
        }
        assert_eq!(
            masked_schemaless("bigdec", "foo").unwrap_err().to_string(),
            "Unable to convert foo (class java.lang.String) to number"
        );
        let date = "Tue Nov 14 22:13:20 UTC 2023";
        assert!(masked_schemaless("int", date).is_err());
        for bad in ["", ".", "1e", "1.2.3", "NaN", "Infinity", " 1", "0x10"] {
            assert!(JavaDecimal::parse(bad).is_none(), "{bad}");
        }
    }

    /// Bytes and structs have no neutral value.
    #[test]
    fn unmaskable_types() {
        let mut xform = xform("b", None);
        let error = xform
            .apply(record(
                None,
                map(&[("b", Value::Bytes(bytes::Bytes::from_static(b"x")))]),
            ))
            .unwrap_err();
        assert_eq!(error.to_string(), "Cannot mask value of type: class [B");
        let inner = Schema::structure(None, Vec::new(), false);
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("b", inner)],
            false,
        ));
        let error = xform
            .apply(record(
                Some(schema),
                Value::Struct(vec![Value::Struct(vec![])]),
            ))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cannot mask value of type: class org.apache.kafka.connect.data.Struct"
        );
    }

    /// The reference's verified cases: a missing key is added as null; no null pass-through.
    #[test]
    fn missing_key_and_null_value() {
        let mut xform = xform("x", None);
        let out = xform
            .apply(record(None, map(&[("y", Value::Int(1))])))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value.value,
            map(&[("y", Value::Int(1)), ("x", Value::Null)])
        );
        let error = xform.apply(record(None, Value::Null)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Map objects supported in absence of schema for [mask fields], found: null"
        );
        let error = xform
            .apply(record(Some(schema()), Value::Null))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Struct objects supported for [mask fields], found: null"
        );
    }

    /// `replace.null.with.default`: a null with a default is masked as the default's type;
    /// without replacing, it stays null.
    #[test]
    fn replace_null_with_default() {
        let with_default = Schema::primitive(SchemaType::Int32, true).with_default(Value::Int(42));
        let schema = Arc::new(Schema::structure(
            None,
            vec![
                util::field("a", with_default.clone()),
                util::field("b", with_default),
            ],
            false,
        ));
        for (replace, a, b) in [
            ("true", Value::Int(0), Value::Int(42)),
            ("false", Value::Null, Value::Null),
        ] {
            let mut xform = MaskField::new(
                &parse_pairs(
                    config_def(),
                    &[("fields", "a"), ("replace.null.with.default", replace)],
                )
                .unwrap(),
                Side::Value,
            )
            .unwrap();
            let out = xform
                .apply(record(
                    Some(schema.clone()),
                    Value::Struct(vec![Value::Null, Value::Null]),
                ))
                .unwrap()
                .unwrap();
            assert_eq!(out.value.value, Value::Struct(vec![a, b]));
        }
    }

    /// `MaskFieldTest.testEmptyStringReplacementValue` and the required non-empty `fields`.
    #[test]
    fn config_errors() {
        let error =
            parse_pairs(config_def(), &[("fields", "short"), ("replacement", "")]).unwrap_err();
        assert_eq!(
            error.message(),
            "Invalid value  for configuration replacement: String must be non-empty"
        );
        let error = parse_pairs(config_def(), &[]).unwrap_err();
        assert_eq!(error.key, "fields");
        let error = MaskField::new(
            &parse_pairs(config_def(), &[("fields", "")]).unwrap(),
            Side::Value,
        )
        .err()
        .unwrap();
        assert_eq!(
            error.message(),
            "Invalid value [] for configuration fields: Empty list"
        );
    }
}
