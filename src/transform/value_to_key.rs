//! `org.apache.kafka.connect.transforms.ValueToKey`: replaces the record key with a new key made
//! of the value's `fields`.
//!
//! With a value schema the key is an unnamed, unversioned, required struct with the listed
//! fields in `fields` order and the value's field schemas (an unknown field is `Field does not
//! exist: <f>`). Schemaless, the value must be a map and the key is a map of every listed field
//! (a missing one is null) with no schema. The value is left as it is.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{
    self, REPLACE_NULL_WITH_DEFAULT, SchemaCache, data_error, non_empty_list, project_struct,
    push_field, require_map, require_struct,
};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType};
use crate::error::Result;
use crate::model::record::{Part, Record};
use crate::model::{Schema, Value};

const PURPOSE: &str = "copying fields from value to key";

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::required("fields", ConfigType::List)
                .doc("Field names on the record value to extract as the record key."),
        )
        .define(REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// A key schema and, for each of its fields, the index of the value's field.
type Derived = Arc<(Arc<Schema>, Vec<usize>)>;

/// `ValueToKey`.
pub(crate) struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache<Derived>,
}

pub(crate) fn build(config: &Config) -> Result<ValueToKey, ConfigError> {
    Ok(ValueToKey {
        fields: non_empty_list(config, "fields")?,
        replace_null_with_default: config.bool("replace.null.with.default"),
        cache: SchemaCache::new(),
    })
}

/// The key schema for a value schema.
fn key_schema(fields: &[String], value_schema: &Schema) -> Result<Derived> {
    let mut schema = Schema::structure(None, Vec::new(), false);
    let mut sources = Vec::with_capacity(fields.len());
    for name in fields {
        let Some((i, field)) = value_schema.field(name) else {
            return Err(data_error(format!("Field does not exist: {name}")));
        };
        push_field(&mut schema, util::field(name, field.schema.clone()))?;
        sources.push(i);
    }
    Ok(Arc::new((Arc::new(schema), sources)))
}

impl Transformation for ValueToKey {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let key = match &record.value.schema {
            None => {
                let entries = require_map(&record.value.value, PURPOSE)?;
                let mut key: Vec<(Value, Value)> = Vec::with_capacity(self.fields.len());
                for name in &self.fields {
                    if key.iter().any(|(k, _)| k.as_str() == Some(name)) {
                        continue;
                    }
                    let value = entries
                        .iter()
                        .find(|(k, _)| k.as_str() == Some(name))
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Null);
                    key.push((Value::text(name), value));
                }
                Part::new(None, Value::Map(key))
            }
            Some(schema) => {
                let values = require_struct(schema, &record.value.value, PURPOSE)?;
                let fields = &self.fields;
                let derived = self
                    .cache
                    .get_or_try_insert(schema, |s| key_schema(fields, s))?;
                let (key_schema, sources) = &*derived;
                let key = project_struct(
                    schema,
                    values,
                    key_schema,
                    sources,
                    self.replace_null_with_default,
                )?;
                Part::new(Some(key_schema.clone()), key)
            }
        };
        record.key = key;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::{Field, SchemaType};
    use crate::transform::util::fixtures::{map, record};
    use crate::transform::util::parse_pairs;

    fn xform(pairs: &[(&str, &str)]) -> ValueToKey {
        build(&parse_pairs(config_def(), pairs).unwrap()).unwrap()
    }

    fn int32(name: &str) -> Field {
        util::field(name, Schema::primitive(SchemaType::Int32, false))
    }

    /// `ValueToKeyTest.schemaless`.
    #[test]
    fn schemaless() {
        let mut xform = xform(&[("fields", "a,b")]);
        let r = record(
            None,
            map(&[
                ("a", Value::Int(1)),
                ("b", Value::Int(2)),
                ("c", Value::Int(3)),
            ]),
        );
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(None, map(&[("a", Value::Int(1)), ("b", Value::Int(2))])),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// The reference's verified cases: a missing field is a null entry; a null value fails.
    #[test]
    fn schemaless_missing_field_and_null_value() {
        let mut xform = xform(&[("fields", "a,x")]);
        let out = xform
            .apply(record(None, map(&[("a", Value::Int(1))])))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.key,
            Part::new(None, map(&[("a", Value::Int(1)), ("x", Value::Null)]))
        );
        let error = xform.apply(record(None, Value::Null)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"
        );
    }

    /// `ValueToKeyTest.withSchema`.
    #[test]
    fn with_schema() {
        let mut xform = xform(&[("fields", "a,b")]);
        let value_schema = Arc::new(Schema::structure(
            Some("v".into()),
            vec![int32("a"), int32("b"), int32("c")],
            false,
        ));
        let r = record(
            Some(value_schema),
            Value::Struct(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        );
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(
                Some(Arc::new(Schema::structure(
                    None,
                    vec![int32("a"), int32("b")],
                    false,
                ))),
                Value::Struct(vec![Value::Int(1), Value::Int(2)]),
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// Key fields follow `fields` order; defaults apply per `replace.null.with.default`.
    #[test]
    fn fields_order_and_defaults() {
        let with_default = Schema::primitive(SchemaType::Int64, true).with_default(Value::Int(7));
        let value_schema = Arc::new(Schema::structure(
            None,
            vec![int32("a"), util::field("d", with_default.clone())],
            false,
        ));
        for (replace, expected) in [("true", Value::Int(7)), ("false", Value::Null)] {
            let mut xform = xform(&[("fields", "d,a"), ("replace.null.with.default", replace)]);
            let out = xform
                .apply(record(
                    Some(value_schema.clone()),
                    Value::Struct(vec![Value::Int(1), Value::Null]),
                ))
                .unwrap()
                .unwrap();
            let key_schema = Schema::structure(
                None,
                vec![util::field("d", with_default.clone()), int32("a")],
                false,
            );
            assert_eq!(
                out.key,
                Part::new(
                    Some(Arc::new(key_schema)),
                    Value::Struct(vec![expected, Value::Int(1)])
                )
            );
        }
    }

    /// `ValueToKeyTest.nonExistingField`.
    #[test]
    fn non_existing_field() {
        let mut xform = xform(&[("fields", "not_exist")]);
        let value_schema = Arc::new(Schema::structure(None, vec![int32("a")], false));
        let error = xform
            .apply(record(
                Some(value_schema),
                Value::Struct(vec![Value::Int(1)]),
            ))
            .unwrap_err();
        assert_eq!(error.to_string(), "Field does not exist: not_exist");
    }

    #[test]
    fn with_schema_requires_struct() {
        let mut xform = xform(&[("fields", "a")]);
        let schema = Arc::new(Schema::structure(None, vec![int32("a")], true));
        let error = xform.apply(record(Some(schema), Value::Null)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Struct objects supported for [copying fields from value to key], found: null"
        );
    }

    #[test]
    fn fields_must_be_a_non_empty_list() {
        let error = parse_pairs(config_def(), &[]).unwrap_err();
        assert_eq!(
            error.message(),
            "Missing required configuration \"fields\" which has no default value."
        );
        let error = build(&parse_pairs(config_def(), &[("fields", "")]).unwrap())
            .err()
            .unwrap();
        assert_eq!(error.key, "fields");
        assert_eq!(
            error.message(),
            "Invalid value [] for configuration fields: Empty list"
        );
    }
}
