//! `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`: flattens nested structs (with a
//! schema) or nested maps (schemaless) into one level, naming each leaf by its path joined with
//! `delimiter` (default `.`).
//!
//! As Kafka's `Flatten` (3.9):
//! - A null key/value passes unchanged (schema untouched).
//! - Schemaless: the value must be a map; nested maps are recursed, nulls, primitives, bytes and
//!   lists are copied unflattened; a later key that collides with an earlier one overwrites it in
//!   place (`LinkedHashMap.put`).
//! - With a schema: the value must be a struct. The output schema copies the top schema's name,
//!   version, doc and parameters (required, no default); leaf fields keep their own basics
//!   (logical names, an array's element schema), become optional when they or any ancestor
//!   struct are optional, and take their own default or else the value in the parent's default
//!   struct. MAP fields are refused. A null nested struct gives null leaves.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{self, SchemaCache};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType};
use crate::error::Result;
use crate::model::record::{Part, Record, Side};
use crate::model::{Schema, SchemaType, Value};

const DELIMITER: &str = "delimiter";
const PURPOSE: &str = "flattening";

static DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::with_default(DELIMITER, ConfigType::String, ".").doc(
            "Delimiter to insert between field names from the input record when generating \
             field names for the output record",
        ),
    )
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &DEF
}

/// Flattens the key or the value.
pub(crate) struct Flatten {
    side: Side,
    delimiter: String,
    schemas: SchemaCache<Arc<Schema>>,
}

impl Flatten {
    /// `Flatten$Key` or `Flatten$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        Ok(Flatten {
            side,
            delimiter: config.string(DELIMITER).unwrap_or_default().to_string(),
            schemas: SchemaCache::new(),
        })
    }
}

/// The flattening rules, with the configured delimiter.
struct Names<'d>(&'d str);

impl Names<'_> {
    fn field_name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}{}{name}", self.0)
        }
    }

    fn flatten_map(
        &self,
        entries: &[(Value, Value)],
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<()> {
        for (key, value) in entries {
            let Some(key) = key.as_str() else {
                return Err(util::data_error(format!(
                    "class {} cannot be cast to class java.lang.String",
                    util::java_class(key)
                )));
            };
            let name = self.field_name(prefix, key);
            match value {
                Value::Null
                | Value::Boolean(_)
                | Value::Int(_)
                | Value::Float(_)
                | Value::Text(_)
                | Value::Bytes(_)
                | Value::Array(_) => put(out, name, value.clone()),
                Value::Map(inner) => self.flatten_map(inner, &name, out)?,
                Value::Struct(_) => {
                    return Err(util::data_error(format!(
                        "Flatten transformation does not support class {} for record without \
                         schemas (for field {name}).",
                        util::java_class(value)
                    )));
                }
                Value::Decimal(_) | Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
                    return Err(util::data_error(format!(
                        "Flatten transformation was passed a value of type class {} which is not \
                         supported by Connect's data API",
                        util::java_class(value)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The flattened schema of `schema` (`applyWithSchema`'s `buildUpdatedSchema`).
    fn flat_schema(&self, schema: &Schema) -> Result<Schema> {
        let mut out = util::copy_schema_basics(schema);
        let default = match schema.default.as_deref() {
            Some(Value::Struct(values)) => Some(values.as_slice()),
            _ => None,
        };
        self.add_fields(schema, "", &mut out, schema.optional, default)?;
        Ok(out)
    }

    fn add_fields(
        &self,
        schema: &Schema,
        prefix: &str,
        out: &mut Schema,
        optional: bool,
        parent_default: Option<&[Value]>,
    ) -> Result<()> {
        for (i, field) in schema.fields.iter().enumerate() {
            let name = self.field_name(prefix, &field.name);
            let optional = optional || field.schema.optional;
            let default = match field.schema.default.as_deref() {
                Some(own) => Some(own.clone()),
                None => parent_default
                    .and_then(|values| values.get(i))
                    .filter(|v| !v.is_null())
                    .cloned(),
            };
            match field.schema.ty {
                SchemaType::Struct => {
                    let default = match &default {
                        Some(Value::Struct(values)) => Some(values.as_slice()),
                        _ => None,
                    };
                    self.add_fields(&field.schema, &name, out, optional, default)?;
                }
                SchemaType::Map => {
                    return Err(util::data_error(format!(
                        "Flatten transformation does not support MAP for record with schemas \
                         (for field {name})."
                    )));
                }
                ty => {
                    let mut leaf = util::copy_schema_basics_as(&field.schema, ty);
                    if ty == SchemaType::Array {
                        leaf.value_schema = field.schema.value_schema.clone();
                    }
                    leaf.optional = optional;
                    leaf.default = default.map(Box::new);
                    util::push_field(out, util::field(&name, leaf))?;
                }
            }
        }
        Ok(())
    }
}

/// Appends the leaves of the struct `values` (null: every leaf null) in schema order.
fn add_values(
    schema: &Schema,
    values: Option<&[Value]>,
    flat: &Schema,
    out: &mut Vec<Value>,
) -> Result<()> {
    for (i, field) in schema.fields.iter().enumerate() {
        let value = values.map(|v| with_default(&field.schema, v.get(i).unwrap_or(&Value::Null)));
        if field.schema.ty == SchemaType::Struct {
            let inner = match value {
                Some(Value::Struct(inner)) => Some(inner.as_slice()),
                _ => None,
            };
            add_values(&field.schema, inner, flat, out)?;
            continue;
        }
        let value = value.cloned().unwrap_or(Value::Null);
        if value.is_null()
            && let Some(leaf) = flat.fields.get(out.len())
        {
            util::check_put(leaf, &value)?;
        }
        out.push(value);
    }
    Ok(())
}

/// `Struct.get(field)`: a null field reads as its schema's default.
fn with_default<'v>(schema: &'v Schema, value: &'v Value) -> &'v Value {
    match (value, schema.default.as_deref()) {
        (Value::Null, Some(default)) => default,
        _ => value,
    }
}

/// `LinkedHashMap.put`: replaces an existing key in place, else appends.
fn put(out: &mut Vec<(Value, Value)>, name: String, value: Value) {
    match out
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some(name.as_str()))
    {
        Some(entry) => entry.1 = value,
        None => out.push((Value::text(&name), value)),
    }
}

impl Transformation for Flatten {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        if part.value.is_null() {
            return Ok(Some(record));
        }
        let flattened = match &part.schema {
            None => {
                let entries = util::require_map(&part.value, PURPOSE)?;
                let mut out = Vec::with_capacity(entries.len());
                Names(&self.delimiter).flatten_map(entries, "", &mut out)?;
                Part::new(None, Value::Map(out))
            }
            Some(schema) => {
                let values = util::require_struct(schema, &part.value, PURPOSE)?;
                let names = Names(&self.delimiter);
                let flat = self
                    .schemas
                    .get_or_try_insert(schema, |_| -> crate::error::Result<_> {
                        Ok(Arc::new(names.flat_schema(schema)?))
                    })?;
                let mut out = Vec::with_capacity(flat.fields.len());
                add_values(schema, Some(values), &flat, &mut out)?;
                Part::new(Some(flat), Value::Struct(out))
            }
        };
        *record.part_mut(self.side) = flattened;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {

    use bytes::Bytes;

    use super::*;
    use crate::transform::util::fixtures::{map, opt, prim, structure};

    fn flatten(side: Side, pairs: &[(&str, &str)]) -> Flatten {
        let config = crate::transform::util::parse_pairs(config_def(), pairs).unwrap();
        Flatten::new(&config, side).unwrap()
    }

    fn value_record(schema: Option<Schema>, value: Value) -> Record {
        Record::new("topic", Part::new(schema.map(Arc::new), value))
    }

    fn apply(t: &mut Flatten, record: Record) -> Result<Record> {
        t.apply(record).map(|r| r.unwrap())
    }

    fn supported_types() -> (Schema, Value) {
        let schema = structure(vec![
            ("int8", prim(SchemaType::Int8)),
            ("int16", prim(SchemaType::Int16)),
            ("int32", prim(SchemaType::Int32)),
            ("int64", prim(SchemaType::Int64)),
            ("float32", prim(SchemaType::Float32)),
            ("float64", prim(SchemaType::Float64)),
            ("boolean", prim(SchemaType::Boolean)),
            ("string", prim(SchemaType::String)),
            ("bytes", prim(SchemaType::Bytes)),
        ]);
        let value = Value::Struct(vec![
            Value::Int(8),
            Value::Int(16),
            Value::Int(32),
            Value::Int(64),
            Value::Float(32.0),
            Value::Float(64.0),
            Value::Boolean(true),
            Value::text("stringy"),
            Value::Bytes(Bytes::from_static(b"bytes")),
        ]);
        (schema, value)
    }

    /// FlattenTest.topLevelStructRequired / topLevelMapRequired.
    #[test]
    fn top_level_struct_or_map_required() {
        let mut t = flatten(Side::Value, &[]);
        let e = apply(
            &mut t,
            value_record(Some(prim(SchemaType::Int32)), Value::Int(42)),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Only Struct objects supported for [flattening], found: java.lang.Integer"
        );
        let e = apply(&mut t, value_record(None, Value::Int(42))).unwrap_err();
        assert_eq!(
            e.context(),
            "Only Map objects supported in absence of schema for [flattening], found: java.lang.Long"
        );
    }

    /// FlattenTest.testNestedStruct.
    #[test]
    fn nested_struct() {
        let (inner, inner_value) = supported_types();
        let one = structure(vec![("B", inner.clone())]);
        let two = structure(vec![("A", one)]);
        let value = Value::Struct(vec![Value::Struct(vec![inner_value.clone()])]);
        let mut t = flatten(Side::Value, &[]);
        let out = apply(&mut t, value_record(Some(two), value)).unwrap();
        let mut expected_schema = inner.clone();
        for field in &mut expected_schema.fields {
            field.name = format!("A.B.{}", field.name);
        }
        let Value::Struct(leaves) = inner_value else {
            unreachable!()
        };
        assert_eq!(
            out.value,
            Part::new(Some(Arc::new(expected_schema)), Value::Struct(leaves))
        );
    }

    /// FlattenTest.testNestedMapWithDelimiter.
    #[test]
    fn nested_map_with_delimiter() {
        let inner = map(&[
            ("int8", Value::Int(8)),
            ("int16", Value::Int(16)),
            ("int32", Value::Int(32)),
            ("int64", Value::Int(64)),
            ("float32", Value::Float(32.0)),
            ("float64", Value::Float(64.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::text("stringy")),
            ("bytes", Value::Bytes(Bytes::from_static(b"bytes"))),
        ]);
        let value = map(&[("A", map(&[("B", inner.clone())]))]);
        let mut t = flatten(Side::Value, &[("delimiter", "#")]);
        let out = apply(&mut t, value_record(None, value)).unwrap();
        let Value::Map(entries) = inner else {
            unreachable!()
        };
        let expected = Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::text(&format!("A#B#{}", k.as_str().unwrap())), v))
                .collect(),
        );
        assert_eq!(out.value, Part::new(None, expected));
    }

    /// FlattenTest.testOptionalFieldStruct and testOptionalNestedStruct.
    #[test]
    fn optional_fields_and_null_nested_struct() {
        let inner = structure(vec![("opt_int32", opt(SchemaType::Int32))]);
        let outer = structure(vec![("B", inner.clone())]);
        let mut t = flatten(Side::Value, &[]);
        let out = apply(
            &mut t,
            value_record(
                Some(outer),
                Value::Struct(vec![Value::Struct(vec![Value::Null])]),
            ),
        )
        .unwrap();
        let expected = structure(vec![("B.opt_int32", opt(SchemaType::Int32))]);
        assert_eq!(
            out.value,
            Part::new(
                Some(Arc::new(expected.clone())),
                Value::Struct(vec![Value::Null])
            )
        );

        let outer = structure(vec![("B", inner.into_optional())]);
        let out = apply(
            &mut t,
            value_record(Some(outer), Value::Struct(vec![Value::Null])),
        )
        .unwrap();
        assert_eq!(
            out.value,
            Part::new(Some(Arc::new(expected)), Value::Struct(vec![Value::Null]))
        );
    }

    /// FlattenTest.testOptionalStruct, tombstoneEventWithSchemaShouldPassThrough and
    /// tombstoneEventWithoutSchemaShouldPassThrough: a null value passes unchanged.
    #[test]
    fn null_values_pass_through() {
        let mut schema = structure(vec![("magic", opt(SchemaType::Int64))]);
        schema.name = Some("name".into());
        schema.version = Some(1);
        schema.doc = Some("doc".into());
        let mut t = flatten(Side::Value, &[]);
        let record = value_record(Some(schema.clone()), Value::Null);
        assert_eq!(apply(&mut t, record.clone()).unwrap(), record);
        let record = value_record(Some(schema.into_optional()), Value::Null);
        assert_eq!(apply(&mut t, record.clone()).unwrap(), record);
        let record = value_record(None, Value::Null);
        assert_eq!(apply(&mut t, record.clone()).unwrap(), record);
    }

    /// FlattenTest.testOptionalFieldMap and testKey.
    #[test]
    fn schemaless_null_field_and_key() {
        let mut t = flatten(Side::Value, &[]);
        let out = apply(
            &mut t,
            value_record(None, map(&[("B", map(&[("opt_int32", Value::Null)]))])),
        )
        .unwrap();
        assert_eq!(
            out.value,
            Part::new(None, map(&[("B.opt_int32", Value::Null)]))
        );

        let mut t = flatten(Side::Key, &[]);
        let mut record = value_record(None, Value::Null);
        record.key = Part::new(None, map(&[("A", map(&[("B", Value::Int(12))]))]));
        let out = apply(&mut t, record).unwrap();
        assert_eq!(out.key, Part::new(None, map(&[("A.B", Value::Int(12))])));
        assert_eq!(out.value, Part::NULL);
    }

    /// FlattenTest.testSchemalessArray: lists are copied, not flattened.
    #[test]
    fn schemaless_array() {
        let value = map(&[(
            "foo",
            Value::Array(vec![
                Value::text("bar"),
                map(&[("baz", map(&[("lfg", Value::text("lfg"))]))]),
            ]),
        )]);
        let mut t = flatten(Side::Value, &[]);
        let out = apply(&mut t, value_record(None, value.clone())).unwrap();
        assert_eq!(out.value, Part::new(None, value));
    }

    /// FlattenTest.testArrayWithSchema: an array field keeps its element schema and doc.
    #[test]
    fn array_with_schema() {
        let nested = structure(vec![("lfg", prim(SchemaType::String))]);
        let inner = structure(vec![("baz", nested)]);
        let mut array = Schema::array(inner, false);
        array.doc = Some("durk".into());
        let schema = structure(vec![("foo", array)]);
        let value = Value::Struct(vec![Value::Array(vec![Value::Struct(vec![
            Value::Struct(vec![Value::text("lfg")]),
        ])])]);
        let mut t = flatten(Side::Value, &[]);
        let out = apply(&mut t, value_record(Some(schema.clone()), value.clone())).unwrap();
        assert_eq!(out.value, Part::new(Some(Arc::new(schema)), value));
    }

    /// FlattenTest.testOptionalAndDefaultValuesNested.
    #[test]
    fn optional_and_default_values_nested() {
        let mut opt_field = opt(SchemaType::String);
        opt_field.default = Some(Box::new(Value::text("child_default")));
        let mut schema = structure(vec![
            ("req_field", prim(SchemaType::String)),
            ("opt_field", opt_field.clone()),
        ])
        .into_optional();
        schema.default = Some(Box::new(Value::Struct(vec![
            Value::text("req_default"),
            Value::Null,
        ])));
        let mut t = flatten(Side::Value, &[]);
        let out = apply(
            &mut t,
            value_record(Some(schema), Value::Struct(vec![Value::Null, Value::Null])),
        )
        .unwrap();
        let mut req = opt(SchemaType::String);
        req.default = Some(Box::new(Value::text("req_default")));
        let expected = structure(vec![("req_field", req), ("opt_field", opt_field)]);
        assert_eq!(
            out.value,
            Part::new(
                Some(Arc::new(expected)),
                Value::Struct(vec![Value::Null, Value::text("child_default")])
            )
        );
    }

    /// FlattenTest.testMapWithNullFields / testStructWithNullFields: nulls keep their place.
    #[test]
    fn null_fields_keep_order() {
        let value = map(&[
            ("firstNull", Value::Null),
            ("firstNonNull", Value::text("nonNull")),
            ("secondNull", Value::Null),
            ("secondNonNull", Value::text("alsoNonNull")),
            ("thirdNonNull", Value::Null),
        ]);
        let mut t = flatten(Side::Value, &[]);
        let out = apply(&mut t, value_record(None, value.clone())).unwrap();
        assert_eq!(out.value, Part::new(None, value));

        let schema = structure(vec![
            ("firstNull", opt(SchemaType::String)),
            ("firstNonNull", opt(SchemaType::String)),
            ("secondNull", opt(SchemaType::String)),
            ("secondNonNull", opt(SchemaType::String)),
            ("thirdNonNull", opt(SchemaType::String)),
        ]);
        let value = Value::Struct(vec![
            Value::Null,
            Value::text("nonNull"),
            Value::Null,
            Value::text("alsoNonNull"),
            Value::Null,
        ]);
        let out = apply(&mut t, value_record(Some(schema.clone()), value.clone())).unwrap();
        assert_eq!(out.value, Part::new(Some(Arc::new(schema)), value));
    }

    /// Logical leaves keep their name and parameters; the top schema's basics are copied but
    /// the output is required.
    #[test]
    fn logical_leaves_and_top_basics() {
        let mut top = structure(vec![(
            "a",
            structure(vec![("amount", Schema::decimal(2, Some(10), false))]),
        )])
        .into_optional();
        top.name = Some("db.t.Value".into());
        top.version = Some(3);
        let mut t = flatten(Side::Value, &[("delimiter", "_")]);
        let out = apply(
            &mut t,
            value_record(
                Some(top),
                Value::Struct(vec![Value::Struct(vec![Value::Decimal(
                    Bytes::from_static(b"1.50"),
                )])]),
            ),
        )
        .unwrap();
        let mut expected = structure(vec![("a_amount", Schema::decimal(2, Some(10), true))]);
        expected.name = Some("db.t.Value".into());
        expected.version = Some(3);
        assert_eq!(
            out.value,
            Part::new(
                Some(Arc::new(expected)),
                Value::Struct(vec![Value::Decimal(Bytes::from_static(b"1.50"))])
            )
        );
    }

    /// Kafka refuses MAP fields with a schema, structs and unknown classes without one, and
    /// duplicate flattened names.
    #[test]
    fn unsupported_values() {
        let mut t = flatten(Side::Value, &[]);
        let schema = structure(vec![(
            "m",
            Schema::map(prim(SchemaType::String), prim(SchemaType::String), false),
        )]);
        let e = apply(
            &mut t,
            value_record(Some(schema), Value::Struct(vec![Value::Map(vec![])])),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Flatten transformation does not support MAP for record with schemas (for field m)."
        );
        let e = apply(
            &mut t,
            value_record(
                None,
                map(&[("d", Value::Decimal(Bytes::from_static(b"1")))]),
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Flatten transformation was passed a value of type class java.math.BigDecimal which \
             is not supported by Connect's data API"
        );
        let e = apply(
            &mut t,
            value_record(None, map(&[("a", map(&[("s", Value::Struct(vec![]))]))])),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Flatten transformation does not support class org.apache.kafka.connect.data.Struct \
             for record without schemas (for field a.s)."
        );
        let schema = structure(vec![
            ("a.b", prim(SchemaType::Int32)),
            ("a", structure(vec![("b", prim(SchemaType::Int32))])),
        ]);
        let e = apply(
            &mut t,
            value_record(
                Some(schema),
                Value::Struct(vec![Value::Int(1), Value::Struct(vec![Value::Int(2)])]),
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.context(),
            "Cannot create field because of field name duplication a.b"
        );
        // Schemaless collisions overwrite in place, as LinkedHashMap.put does.
        let out = apply(
            &mut t,
            value_record(
                None,
                map(&[("a.b", Value::Int(1)), ("a", map(&[("b", Value::Int(2))]))]),
            ),
        )
        .unwrap();
        assert_eq!(out.value, Part::new(None, map(&[("a.b", Value::Int(2))])));
    }

    #[test]
    fn default_delimiter_is_a_dot() {
        let key = config_def().key(DELIMITER).unwrap();
        assert_eq!(key.default, Some("."));
    }
}
