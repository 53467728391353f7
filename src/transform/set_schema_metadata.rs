//! `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`: sets the name and/or
//! version of the key or value schema.
//!
//! The new schema keeps everything else (type, optionality, default, doc, parameters, fields).
//! A null value without a schema passes unchanged; a schemaless value fails
//! (`Schema required for [updating schema metadata]`). Like Kafka's, it works on struct schemas
//! only: Kafka copies `schema.fields()` unconditionally, which Connect refuses for any other type
//! (`Cannot list fields on non-struct type`). A struct value is rebuilt on the new schema
//! (`updateSchemaIn`), reading null fields as their defaults unless `replace.null.with.default`
//! is false; any other value (null) is kept as it is.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{self, REPLACE_NULL_WITH_DEFAULT, SchemaCache, data_error, struct_get};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance};
use crate::error::Result;
use crate::model::record::{Record, Side};
use crate::model::{Schema, SchemaType, Value};

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::optional("schema.name", ConfigType::String)
                .importance(Importance::High)
                .doc("Schema name to set."),
        )
        .define(
            ConfigKey::optional("schema.version", ConfigType::Int)
                .importance(Importance::High)
                .doc("Schema version to set."),
        )
        .define(REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`.
pub(crate) struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache<Arc<Schema>>,
}

impl SetSchemaMetadata {
    /// `SetSchemaMetadata$Key` or `SetSchemaMetadata$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let name = config.string("schema.name").map(str::to_string);
        let version = config
            .long("schema.version")
            .and_then(|v| i32::try_from(v).ok());
        if name.is_none() && version.is_none() {
            // Kafka's ConfigException names no key; the name key stands for both.
            return Err(ConfigError::rule(
                "schema.name",
                "Neither schema name nor version configured",
            ));
        }
        Ok(SetSchemaMetadata {
            side,
            name,
            version,
            replace_null_with_default: config.bool("replace.null.with.default"),
            cache: SchemaCache::new(),
        })
    }
}

/// `schema` with the configured name and/or version.
fn with_metadata(name: Option<&str>, version: Option<i32>, schema: &Schema) -> Result<Arc<Schema>> {
    if schema.ty != SchemaType::Struct {
        return Err(data_error("Cannot list fields on non-struct type"));
    }
    Ok(Arc::new(Schema {
        name: name.map(str::to_string).or_else(|| schema.name.clone()),
        version: version.or(schema.version),
        ..schema.clone()
    }))
}

impl Transformation for SetSchemaMetadata {
    fn apply(&mut self, record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        if part.schema.is_none() && part.value.is_null() {
            return Ok(Some(record));
        }
        let schema = util::require_schema(part.schema.as_ref(), "updating schema metadata")?;
        let (name, version) = (self.name.as_deref(), self.version);
        let updated = self
            .cache
            .get_or_try_insert(schema, |s| with_metadata(name, version, s))?;
        let value = match &part.value {
            Value::Struct(values) => Value::Struct(
                updated
                    .fields
                    .iter()
                    .zip(values)
                    .map(|(f, v)| struct_get(&f.schema, v, self.replace_null_with_default))
                    .collect(),
            ),
            other => other.clone(),
        };
        Ok(Some(record.with_part(self.side, Some(updated), value)))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::record::Part;
    use crate::transform::util::fixtures::record;
    use crate::transform::util::parse_pairs;

    fn value_xform(pairs: &[(&str, &str)]) -> SetSchemaMetadata {
        SetSchemaMetadata::new(&parse_pairs(config_def(), pairs).unwrap(), Side::Value).unwrap()
    }

    fn empty_struct() -> Arc<Schema> {
        Arc::new(Schema::structure(None, Vec::new(), false))
    }

    /// `SetSchemaMetadataTest.schemaNameUpdate`, `schemaVersionUpdate`, `schemaNameAndVersionUpdate`.
    #[test]
    fn name_and_version_updates() {
        for (pairs, name, version) in [
            (&[("schema.name", "foo")][..], Some("foo"), None),
            (&[("schema.version", "42")][..], None, Some(42)),
            (
                &[("schema.name", "foo"), ("schema.version", "42")][..],
                Some("foo"),
                Some(42),
            ),
        ] {
            let mut xform = value_xform(pairs);
            let r = record(Some(empty_struct()), Value::Null);
            let out = xform.apply(r.clone()).unwrap().unwrap();
            let expected = Record {
                value: Part::new(
                    Some(Arc::new(Schema {
                        version,
                        ..Schema::structure(name.map(str::to_string), Vec::new(), false)
                    })),
                    Value::Null,
                ),
                ..r
            };
            assert_eq!(out, expected);
        }
    }

    /// `SetSchemaMetadataTest.schemaNameAndVersionUpdateWithStruct`: everything but the name and
    /// version is kept, the struct's values too.
    #[test]
    fn name_and_version_update_with_struct() {
        let mut xform = value_xform(&[("schema.name", "foo"), ("schema.version", "42")]);
        let fields = vec![
            util::field("f1", Schema::primitive(SchemaType::String, false)),
            util::field("f2", Schema::primitive(SchemaType::Int32, false)),
        ];
        let original = Schema {
            doc: Some("d".into()),
            parameters: vec![("p".into(), "v".into())],
            ..Schema::structure(Some("my.orig.SchemaDefn".into()), fields.clone(), true)
        };
        let value = Value::Struct(vec![Value::text("value1"), Value::Int(1)]);
        let r = record(Some(Arc::new(original)), value.clone());
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            value: Part::new(
                Some(Arc::new(Schema {
                    version: Some(42),
                    doc: Some("d".into()),
                    parameters: vec![("p".into(), "v".into())],
                    ..Schema::structure(Some("foo".into()), fields, true)
                })),
                value,
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// `updateSchemaIn` reads fields with `Struct.get`: a null with a default becomes the
    /// default unless `replace.null.with.default=false`.
    #[test]
    fn struct_defaults() {
        let with_default = Schema::primitive(SchemaType::Int32, true).with_default(Value::Int(5));
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("a", with_default)],
            false,
        ));
        for (replace, expected) in [("true", Value::Int(5)), ("false", Value::Null)] {
            let mut xform =
                value_xform(&[("schema.name", "n"), ("replace.null.with.default", replace)]);
            let out = xform
                .apply(record(
                    Some(schema.clone()),
                    Value::Struct(vec![Value::Null]),
                ))
                .unwrap()
                .unwrap();
            assert_eq!(out.value.value, Value::Struct(vec![expected]));
        }
    }

    /// `SetSchemaMetadataTest.valueSchemaRequired` and `ignoreRecordWithNullValue`.
    #[test]
    fn schema_required_unless_null() {
        let mut xform = value_xform(&[("schema.name", "foo")]);
        let error = xform.apply(record(None, Value::Int(42))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Schema required for [updating schema metadata]"
        );
        let r = record(None, Value::Null);
        assert_eq!(xform.apply(r.clone()).unwrap().unwrap(), r);
    }

    /// The reference's verified case: non-struct schemas fail as in Kafka.
    #[test]
    fn non_struct_schema_fails() {
        let mut xform = SetSchemaMetadata::new(
            &parse_pairs(config_def(), &[("schema.name", "foo")]).unwrap(),
            Side::Key,
        )
        .unwrap();
        let mut r = record(None, Value::Null);
        r.key = Part::new(
            Some(Arc::new(Schema::decimal(2, None, false))),
            Value::Decimal("1.00".into()),
        );
        assert_eq!(
            xform.apply(r).unwrap_err().to_string(),
            "Cannot list fields on non-struct type"
        );
    }

    #[test]
    fn config_errors() {
        let error = SetSchemaMetadata::new(&parse_pairs(config_def(), &[]).unwrap(), Side::Value)
            .err()
            .unwrap();
        assert_eq!(
            error.message(),
            "Neither schema name nor version configured"
        );
        let error = parse_pairs(config_def(), &[("schema.version", "x")]).unwrap_err();
        assert_eq!(
            error.message(),
            "Invalid value x for configuration schema.version: Not a number of type INT"
        );
    }
}
