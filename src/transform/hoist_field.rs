//! `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`: wraps the key or value in a
//! struct (with a schema) or a map (schemaless) with the single field `field`.
//!
//! With a schema the result is an unnamed, required `struct{field: <original schema>}`; a null
//! value under a required original schema fails as Connect's `Struct.put` does. Schemaless, the
//! result is `{field: value}`, a null value included.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{self, SchemaCache, check_put};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance};
use crate::error::Result;
use crate::model::record::{Record, Side};
use crate::model::{Schema, Value};

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::required("field", ConfigType::String)
            .importance(Importance::Medium)
            .doc(
                "Field name for the single field that will be created in the resulting Struct or \
                 Map.",
            ),
    )
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// `HoistField$Key` / `HoistField$Value`.
pub(crate) struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache<Arc<Schema>>,
}

impl HoistField {
    /// `HoistField$Key` or `HoistField$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        Ok(HoistField {
            side,
            field: config.string("field").unwrap_or_default().to_string(),
            cache: SchemaCache::new(),
        })
    }
}

impl Transformation for HoistField {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let side = self.side;
        let part = record.part_mut(side);
        let value = std::mem::replace(&mut part.value, Value::Null);
        match part.schema.take() {
            None => {
                part.value = Value::Map(vec![(Value::text(&self.field), value)]);
            }
            Some(schema) => {
                let name = &self.field;
                let updated = self.cache.get_or_try_insert(&schema, |s| {
                    Ok::<_, crate::error::Error>(Arc::new(Schema::structure(
                        None,
                        vec![util::field(name, s.clone())],
                        false,
                    )))
                })?;
                check_put(&updated.fields[0], &value)?;
                part.schema = Some(updated);
                part.value = Value::Struct(vec![value]);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::SchemaType;
    use crate::model::record::Part;

    fn key_xform(field: &str) -> HoistField {
        let raw = BTreeMap::from([("field".to_string(), field.to_string())]);
        HoistField::new(&config_def().parse(&raw).unwrap(), Side::Key).unwrap()
    }

    fn record(key: Part) -> Record {
        Record {
            partition: Some(0),
            key,
            ..Record::new("test", Part::NULL)
        }
    }

    /// `HoistFieldTest.schemaless`.
    #[test]
    fn schemaless() {
        let mut xform = key_xform("magic");
        let r = record(Part::new(None, Value::Int(42)));
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(
                None,
                Value::Map(vec![(Value::text("magic"), Value::Int(42))]),
            ),
            ..r
        };
        assert_eq!(out, expected);
        // A null key is hoisted too.
        let out = xform.apply(record(Part::NULL)).unwrap().unwrap();
        assert_eq!(
            out.key.value,
            Value::Map(vec![(Value::text("magic"), Value::Null)])
        );
    }

    /// `HoistFieldTest.withSchema`.
    #[test]
    fn with_schema() {
        let mut xform = key_xform("magic");
        let int32 = Schema::primitive(SchemaType::Int32, false);
        let r = record(Part::new(Some(Arc::new(int32.clone())), Value::Int(42)));
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(
                Some(Arc::new(Schema::structure(
                    None,
                    vec![util::field("magic", int32)],
                    false,
                ))),
                Value::Struct(vec![Value::Int(42)]),
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// The reference's verified case: a null value under a required schema is refused by
    /// `Struct.put`; under an optional one it is hoisted.
    #[test]
    fn null_with_schema() {
        let mut xform = key_xform("f");
        let required = Arc::new(Schema::primitive(SchemaType::Int32, false));
        let error = xform
            .apply(record(Part::new(Some(required), Value::Null)))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value: null used for required field: \"f\", schema type: INT32"
        );
        let optional = Arc::new(Schema::primitive(SchemaType::Int32, true));
        let out = xform
            .apply(record(Part::new(Some(optional), Value::Null)))
            .unwrap()
            .unwrap();
        assert_eq!(out.key.value, Value::Struct(vec![Value::Null]));
    }

    #[test]
    fn field_is_required() {
        let error = config_def().parse(&BTreeMap::new()).unwrap_err();
        assert_eq!(
            error.message(),
            "Missing required configuration \"field\" which has no default value."
        );
    }
}
