//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: appends the record's topic,
//! partition, offset, timestamp and/or a static string as fields of the key or value.
//!
//! Each `*.field` names the field; a trailing `!` makes it required, `?` (or nothing) optional.
//! A null key/value passes through unchanged. Schemaless, the map gains the entries (existing
//! keys are overwritten in place, new ones appended); with a schema, the struct schema is copied
//! (name, version, doc, parameters; not optionality) and the fields are appended in the fixed
//! order topic (string), partition (int32), offset (int64), timestamp (Connect `Timestamp`),
//! static (string).

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{
    self, REPLACE_NULL_WITH_DEFAULT, SchemaCache, check_put, copy_schema_basics, data_error,
    push_field, require_map, require_struct, struct_get,
};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType};
use crate::error::Result;
use crate::model::record::{Record, Side};
use crate::model::{Schema, SchemaType, Value, logical};

const PURPOSE: &str = "field insertion";

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(ConfigKey::optional("topic.field", ConfigType::String).doc(
            "Field name for Kafka topic. Suffix with <code>!</code> to make this a required \
             field, or <code>?</code> to keep it optional (the default).",
        ))
        .define(ConfigKey::optional("partition.field", ConfigType::String).doc(
            "Field name for Kafka partition. Suffix with <code>!</code> to make this a required \
             field, or <code>?</code> to keep it optional (the default).",
        ))
        .define(ConfigKey::optional("offset.field", ConfigType::String).doc(
            "Field name for Kafka offset - only applicable to sink connectors.<br/>Suffix with \
             <code>!</code> to make this a required field, or <code>?</code> to keep it \
             optional (the default).",
        ))
        .define(ConfigKey::optional("timestamp.field", ConfigType::String).doc(
            "Field name for record timestamp. Suffix with <code>!</code> to make this a \
             required field, or <code>?</code> to keep it optional (the default).",
        ))
        .define(ConfigKey::optional("static.field", ConfigType::String).doc(
            "Field name for static data field. Suffix with <code>!</code> to make this a \
             required field, or <code>?</code> to keep it optional (the default).",
        ))
        .define(
            ConfigKey::optional("static.value", ConfigType::String)
                .doc("Static field value, if field name configured."),
        )
        .define(REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// A field to insert: `name`, `name?` (optional) or `name!` (required).
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(spec: Option<&str>) -> Option<Spec> {
        let spec = spec?;
        let (name, optional) = if let Some(name) = spec.strip_suffix('?') {
            (name, true)
        } else if let Some(name) = spec.strip_suffix('!') {
            (name, false)
        } else {
            (spec, true)
        };
        Some(Spec {
            name: name.to_string(),
            optional,
        })
    }
}

/// The configured insertions.
#[derive(Debug, Clone)]
struct Specs {
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: String,
}

impl Specs {
    /// The input struct schema with the configured fields appended (`makeUpdatedSchema`).
    fn updated_schema(&self, schema: &Schema) -> Result<Arc<Schema>> {
        let mut updated = copy_schema_basics(schema);
        for field in &schema.fields {
            push_field(&mut updated, field.clone())?;
        }
        let inserted = [
            (&self.topic, Schema::primitive(SchemaType::String, false)),
            (&self.partition, Schema::primitive(SchemaType::Int32, false)),
            (&self.offset, Schema::primitive(SchemaType::Int64, false)),
            (
                &self.timestamp,
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, false),
            ),
            (
                &self.static_field,
                Schema::primitive(SchemaType::String, false),
            ),
        ];
        for (spec, mut field_schema) in inserted {
            if let Some(spec) = spec {
                field_schema.optional = spec.optional;
                push_field(&mut updated, util::field(&spec.name, field_schema))?;
            }
        }
        Ok(Arc::new(updated))
    }
}

/// The Kafka offset of a record, for `offset.field`.
///
/// Sink records carry their Kafka offset; source records have none (Kafka fails them with
/// `Only SinkRecord supported for [field insertion], found: …SourceRecord`).
pub(crate) fn record_offset(record: &Record) -> Option<i64> {
    record.offset
}

/// Why `offset.field` cannot be served for `record`.
fn offset_unavailable(record: &Record) -> crate::error::Error {
    match record.partition {
        None => data_error(
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord",
        ),
        Some(_) => data_error(
            "offset.field requires the record's Kafka offset, which this record does not carry",
        ),
    }
}

/// `InsertField$Key` / `InsertField$Value`.
pub(crate) struct InsertField {
    side: Side,
    specs: Specs,
    replace_null_with_default: bool,
    cache: SchemaCache<Arc<Schema>>,
}

impl InsertField {
    /// `InsertField$Key` or `InsertField$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let specs = Specs {
            topic: Spec::parse(config.string("topic.field")),
            partition: Spec::parse(config.string("partition.field")),
            offset: Spec::parse(config.string("offset.field")),
            timestamp: Spec::parse(config.string("timestamp.field")),
            static_field: Spec::parse(config.string("static.field")),
            static_value: config
                .string("static.value")
                .unwrap_or_default()
                .to_string(),
        };
        if specs.topic.is_none()
            && specs.partition.is_none()
            && specs.offset.is_none()
            && specs.timestamp.is_none()
            && specs.static_field.is_none()
        {
            // Kafka's ConfigException names no key; the first insertion key stands for them.
            return Err(ConfigError::rule(
                "topic.field",
                "No field insertion configured",
            ));
        }
        if let Some(spec) = &specs.static_field
            && config.string("static.value").is_none()
        {
            // Kafka prints the InsertionSpec object (`InsertField$InsertionSpec@80503`); the
            // field name says the same thing usefully.
            return Err(util::invalid(
                "static.value",
                "null",
                format!("No value specified for static field: {}", spec.name),
            ));
        }
        Ok(InsertField {
            side,
            specs,
            replace_null_with_default: config.bool("replace.null.with.default"),
            cache: SchemaCache::new(),
        })
    }

    /// The values to insert, in the fixed order, for a schemaless map (`timestamp` as epoch
    /// milliseconds) or a struct (`timestamp` as a Connect Timestamp). Absent partition or
    /// timestamp: `None` (not inserted into a map, null in a struct).
    fn inserted(&self, record: &Record, with_schema: bool) -> Result<Vec<(&str, Option<Value>)>> {
        let specs = &self.specs;
        let mut out = Vec::with_capacity(5);
        if let Some(spec) = &specs.topic {
            out.push((spec.name.as_str(), Some(Value::text(&record.topic))));
        }
        if let Some(spec) = &specs.partition {
            out.push((
                spec.name.as_str(),
                record.partition.map(|p| Value::Int(i64::from(p))),
            ));
        }
        if let Some(spec) = &specs.offset {
            let offset = record_offset(record).ok_or_else(|| offset_unavailable(record))?;
            out.push((spec.name.as_str(), Some(Value::Int(offset))));
        }
        if let Some(spec) = &specs.timestamp {
            let value = record.timestamp.map(|ms| match with_schema {
                true => Value::Timestamp(ms.saturating_mul(1000)),
                false => Value::Int(ms),
            });
            out.push((spec.name.as_str(), value));
        }
        if let Some(spec) = &specs.static_field {
            out.push((spec.name.as_str(), Some(Value::text(&specs.static_value))));
        }
        Ok(out)
    }
}

impl Transformation for InsertField {
    fn apply(&mut self, record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        if part.value.is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = match &part.schema {
            None => {
                let entries = require_map(&part.value, PURPOSE)?;
                let mut entries = entries.to_vec();
                for (name, value) in self.inserted(&record, false)? {
                    let Some(value) = value else { continue };
                    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((Value::text(name), value)),
                    }
                }
                (None, Value::Map(entries))
            }
            Some(schema) => {
                let values = require_struct(schema, &part.value, PURPOSE)?;
                let specs = &self.specs;
                let updated = self
                    .cache
                    .get_or_try_insert(schema, |s| specs.updated_schema(s))?;
                let mut out = Vec::with_capacity(updated.fields.len());
                for (field, value) in schema.fields.iter().zip(values) {
                    let value = struct_get(&field.schema, value, self.replace_null_with_default);
                    check_put(field, &value)?;
                    out.push(value);
                }
                for (_, value) in self.inserted(&record, true)? {
                    out.push(value.unwrap_or(Value::Null));
                }
                (Some(updated), Value::Struct(out))
            }
        };
        Ok(Some(record.with_part(self.side, schema, value)))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::Field;
    use crate::model::record::Part;
    use crate::transform::util::fixtures::map;
    use crate::transform::util::parse_pairs;

    /// The configuration most of Kafka's InsertFieldTest cases use.
    const ALL: &[(&str, &str)] = &[
        ("topic.field", "topic_field!"),
        ("partition.field", "partition_field"),
        ("timestamp.field", "timestamp_field?"),
        ("static.field", "instance_id"),
        ("static.value", "my-instance-id"),
    ];

    fn value_xform(pairs: &[(&str, &str)]) -> InsertField {
        InsertField::new(&parse_pairs(config_def(), pairs).unwrap(), Side::Value).unwrap()
    }

    fn field(name: &str, schema: Schema) -> Field {
        util::field(name, schema)
    }

    fn source_record(
        partition: Option<i32>,
        schema: Option<Arc<Schema>>,
        value: Value,
        ts: Option<i64>,
    ) -> Record {
        Record {
            topic: "test".into(),
            partition,
            offset: None,
            key: Part::NULL,
            value: Part::new(schema, value),
            timestamp: ts,
            headers: Vec::new(),
        }
    }

    /// `InsertFieldTest.copySchemaAndInsertConfiguredFields`.
    #[test]
    fn copy_schema_and_insert_configured_fields() {
        let mut xform = value_xform(ALL);
        let schema = Arc::new(Schema {
            version: Some(1),
            doc: Some("doc".into()),
            ..Schema::structure(
                Some("name".into()),
                vec![field("magic", Schema::primitive(SchemaType::Int64, true))],
                false,
            )
        });
        let record = source_record(
            Some(0),
            Some(schema.clone()),
            Value::Struct(vec![Value::Int(42)]),
            Some(789),
        );
        let out = xform.apply(record.clone()).unwrap().unwrap();
        let expected_schema = Schema {
            version: Some(1),
            doc: Some("doc".into()),
            ..Schema::structure(
                Some("name".into()),
                vec![
                    field("magic", Schema::primitive(SchemaType::Int64, true)),
                    field("topic_field", Schema::primitive(SchemaType::String, false)),
                    field(
                        "partition_field",
                        Schema::primitive(SchemaType::Int32, true),
                    ),
                    field(
                        "timestamp_field",
                        Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
                    ),
                    field("instance_id", Schema::primitive(SchemaType::String, true)),
                ],
                false,
            )
        };
        let expected = Record {
            value: Part::new(
                Some(Arc::new(expected_schema)),
                Value::Struct(vec![
                    Value::Int(42),
                    Value::text("test"),
                    Value::Int(0),
                    Value::Timestamp(789_000),
                    Value::text("my-instance-id"),
                ]),
            ),
            ..record.clone()
        };
        assert_eq!(out, expected);

        // Exercise caching: the same input schema gives the same output schema.
        let second = source_record(
            Some(1),
            Some(schema),
            Value::Struct(vec![Value::Null]),
            None,
        );
        let out2 = xform.apply(second).unwrap().unwrap();
        assert!(Arc::ptr_eq(
            out.value.schema.as_ref().unwrap(),
            out2.value.schema.as_ref().unwrap()
        ));
        // No timestamp on the record: the optional field stays null.
        assert_eq!(
            out2.value.value,
            Value::Struct(vec![
                Value::Null,
                Value::text("test"),
                Value::Int(1),
                Value::Null,
                Value::text("my-instance-id"),
            ])
        );
    }

    /// An optional input struct gives a required one: `copySchemaBasics` drops optionality.
    #[test]
    fn output_struct_is_required() {
        let mut xform = value_xform(&[("topic.field", "t")]);
        let schema = Arc::new(Schema::structure(
            None,
            vec![field("a", Schema::primitive(SchemaType::Int32, false))],
            true,
        ));
        let out = xform
            .apply(source_record(
                None,
                Some(schema),
                Value::Struct(vec![Value::Int(1)]),
                None,
            ))
            .unwrap()
            .unwrap();
        let schema = out.value.schema.unwrap();
        assert!(!schema.optional);
        assert_eq!(
            schema.fields[1],
            field("t", Schema::primitive(SchemaType::String, true))
        );
    }

    /// `InsertFieldTest.schemalessInsertConfiguredFields`.
    #[test]
    fn schemaless_insert_configured_fields() {
        let mut xform = value_xform(ALL);
        let record = source_record(Some(0), None, map(&[("magic", Value::Int(42))]), Some(123));
        let out = xform.apply(record.clone()).unwrap().unwrap();
        let expected = Record {
            value: Part::new(
                None,
                map(&[
                    ("magic", Value::Int(42)),
                    ("topic_field", Value::text("test")),
                    ("partition_field", Value::Int(0)),
                    ("timestamp_field", Value::Int(123)),
                    ("instance_id", Value::text("my-instance-id")),
                ]),
            ),
            ..record
        };
        assert_eq!(out, expected);
    }

    /// Existing keys are overwritten in place (Java's `HashMap.put`).
    #[test]
    fn schemaless_overwrites_existing_keys() {
        let mut xform = value_xform(&[("topic.field", "t")]);
        let record = source_record(
            None,
            None,
            map(&[("t", Value::Int(1)), ("u", Value::Int(2))]),
            None,
        );
        let out = xform.apply(record).unwrap().unwrap();
        assert_eq!(
            out.value.value,
            map(&[("t", Value::text("test")), ("u", Value::Int(2))])
        );
    }

    /// `insertConfiguredFieldsIntoTombstoneEventWithoutSchemaLeavesValueUnchanged` and
    /// `…WithSchemaLeavesValueUnchanged`.
    #[test]
    fn tombstones_pass_unchanged() {
        let mut xform = value_xform(ALL);
        let record = source_record(Some(0), None, Value::Null, None);
        assert_eq!(xform.apply(record.clone()).unwrap().unwrap(), record);
        let schema = Arc::new(Schema::structure(
            Some("name".into()),
            vec![field("magic", Schema::primitive(SchemaType::Int64, true))],
            false,
        ));
        let record = source_record(Some(0), Some(schema), Value::Null, None);
        assert_eq!(xform.apply(record.clone()).unwrap().unwrap(), record);
    }

    /// `InsertFieldTest.insertKeyFieldsIntoTombstoneEvent` and `insertIntoNullKeyLeavesRecordUnchanged`.
    #[test]
    fn key_fields_into_tombstone_event() {
        let mut xform =
            InsertField::new(&parse_pairs(config_def(), ALL).unwrap(), Side::Key).unwrap();
        let mut record = source_record(Some(0), None, Value::Null, None);
        record.key = Part::new(None, map(&[("magic", Value::Int(42))]));
        let out = xform.apply(record.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(
                None,
                map(&[
                    ("magic", Value::Int(42)),
                    ("topic_field", Value::text("test")),
                    ("partition_field", Value::Int(0)),
                    ("instance_id", Value::text("my-instance-id")),
                ]),
            ),
            ..record
        };
        assert_eq!(out, expected);

        let record = source_record(Some(0), None, map(&[("magic", Value::Int(42))]), None);
        assert_eq!(xform.apply(record.clone()).unwrap().unwrap(), record);
    }

    /// `InsertFieldTest.testUnsetOptionalField` (both parameterisations).
    #[test]
    fn unset_optional_field() {
        for (replace, expected) in [("false", Value::Null), ("true", Value::Int(42))] {
            let mut pairs = ALL.to_vec();
            pairs.push(("replace.null.with.default", replace));
            let mut xform = value_xform(&pairs);
            let magic = Schema::primitive(SchemaType::Int64, true).with_default(Value::Int(42));
            let schema = Arc::new(Schema {
                version: Some(1),
                doc: Some("doc".into()),
                ..Schema::structure(
                    Some("name".into()),
                    vec![field("magic_with_default", magic.clone())],
                    false,
                )
            });
            let out = xform
                .apply(source_record(
                    Some(0),
                    Some(schema),
                    Value::Struct(vec![Value::Null]),
                    Some(789),
                ))
                .unwrap()
                .unwrap();
            let out_schema = out.value.schema.unwrap();
            assert_eq!(out_schema.fields[0], field("magic_with_default", magic));
            match out.value.value {
                Value::Struct(values) => assert_eq!(values[0], expected),
                other => panic!("{other:?}"),
            }
        }
    }

    /// `InsertFieldTest.topLevelStructRequired`.
    #[test]
    fn top_level_struct_required() {
        let mut xform = value_xform(&[("topic.field", "topic_field")]);
        let record = source_record(
            Some(0),
            Some(Arc::new(Schema::primitive(SchemaType::Int32, false))),
            Value::Int(42),
            None,
        );
        let error = xform.apply(record).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Struct objects supported for [field insertion], found: java.lang.Integer"
        );
        let record = source_record(None, None, Value::Int(42), None);
        let error = xform.apply(record).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Long"
        );
    }

    /// A name clash is Connect's `SchemaBuilderException`.
    #[test]
    fn duplicate_field_fails() {
        let mut xform = value_xform(&[("topic.field", "a")]);
        let schema = Arc::new(Schema::structure(
            None,
            vec![field("a", Schema::primitive(SchemaType::Int32, false))],
            false,
        ));
        let error = xform
            .apply(source_record(
                None,
                Some(schema),
                Value::Struct(vec![Value::Int(1)]),
                None,
            ))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cannot create field because of field name duplication a"
        );
    }

    /// `offset.field` needs a sink record's offset: a source record fails as in Kafka, a sink
    /// record gets its offset (schemaless: a Long).
    #[test]
    fn offset_field_needs_a_sink_record() {
        let mut xform = value_xform(&[("offset.field", "offset")]);
        let record = source_record(None, None, map(&[]), None);
        assert_eq!(
            xform.apply(record.clone()).unwrap_err().to_string(),
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
        );
        let sink = Record {
            partition: Some(0),
            offset: Some(42),
            ..record
        };
        let out = xform.apply(sink).unwrap().unwrap();
        assert_eq!(out.value.value.map_get("offset"), Some(&Value::Int(42)));
    }

    #[test]
    fn config_errors() {
        let error = InsertField::new(&parse_pairs(config_def(), &[]).unwrap(), Side::Value)
            .err()
            .unwrap();
        assert_eq!(error.message(), "No field insertion configured");
        let error = InsertField::new(
            &parse_pairs(config_def(), &[("static.field", "s")]).unwrap(),
            Side::Value,
        )
        .err()
        .unwrap();
        assert_eq!(error.key, "static.value");
        assert_eq!(
            error.message(),
            "Invalid value null for configuration static.value: No value specified for static field: s"
        );
        let error = parse_pairs(
            config_def(),
            &[("topic.field", "t"), ("replace.null.with.default", "maybe")],
        )
        .unwrap_err();
        assert_eq!(error.key, "replace.null.with.default");
    }
}
