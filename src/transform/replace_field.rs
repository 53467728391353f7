//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`: drops (`exclude`), keeps
//! (`include`) and renames (`renames=old:new,…`) top-level fields of the key or value.
//!
//! A field is kept iff it is not excluded and, when `include` is set, included (both on the
//! original names; exclude wins), then renamed. A null key/value passes through unchanged. With
//! a schema, the struct schema is copied (name, version, doc, parameters; not optionality) with
//! the kept fields in their original order under their new names. `whitelist`/`blacklist` are
//! Kafka 3.x's deprecated aliases of `include`/`exclude` (the new key wins when both are set).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{
    self, REPLACE_NULL_WITH_DEFAULT, SchemaCache, copy_schema_basics, project_struct, push_field,
    require_map, require_struct,
};
use crate::config::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, java_split,
};
use crate::error::Result;
use crate::model::record::{Record, Side};
use crate::model::{Schema, Value};

const PURPOSE: &str = "field replacement";

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::with_default("exclude", ConfigType::List, "")
                .doc("Fields to exclude. This takes precedence over the fields to include."),
        )
        .define(
            ConfigKey::optional("blacklist", ConfigType::List)
                .importance(Importance::Low)
                .doc("Deprecated. Use exclude instead."),
        )
        .define(
            ConfigKey::with_default("include", ConfigType::List, "")
                .doc("Fields to include. If specified, only these fields will be used."),
        )
        .define(
            ConfigKey::optional("whitelist", ConfigType::List)
                .importance(Importance::Low)
                .doc("Deprecated. Use include instead."),
        )
        .define(
            ConfigKey::with_default("renames", ConfigType::List, "").doc("Field rename mappings."),
        )
        .define(REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// `parseRenameMappings`: every mapping must be `old:new`.
fn parse_renames(mappings: &[String]) -> Result<HashMap<String, String>, ConfigError> {
    let mut renames = HashMap::new();
    for mapping in mappings {
        match java_split(mapping, ':')[..] {
            [from, to] => {
                renames.insert(from.to_string(), to.to_string());
            }
            _ => {
                return Err(util::invalid(
                    "renames",
                    format!("[{}]", mappings.join(", ")),
                    format!("Invalid rename mapping: {mapping}"),
                ));
            }
        }
    }
    Ok(renames)
}

/// `include`/`exclude`, or their deprecated alias when only the alias is set
/// (`ConfigUtils.translateDeprecatedConfigs`).
fn list_or_alias(config: &Config, key: &str, alias: &str) -> Vec<String> {
    let given = config.originals().contains_key(key);
    match config.get(alias) {
        Some(_) if given => {
            tracing::error!(
                "{key} was configured, as well as the deprecated alias(es) {alias}.  Using the value of {key}"
            );
            config.list(key).to_vec()
        }
        Some(_) => {
            tracing::warn!(
                "Configuration {alias} is deprecated and will be removed in future version. Use {key} instead."
            );
            config.list(alias).to_vec()
        }
        None => config.list(key).to_vec(),
    }
}

/// A derived struct schema and, for each of its fields, the index of the input field.
type Derived = Arc<(Arc<Schema>, Vec<usize>)>;

/// `ReplaceField$Key` / `ReplaceField$Value`.
pub(crate) struct ReplaceField {
    side: Side,
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: HashMap<String, String>,
    replace_null_with_default: bool,
    cache: SchemaCache<Derived>,
}

impl ReplaceField {
    /// `ReplaceField$Key` or `ReplaceField$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        Ok(ReplaceField {
            side,
            exclude: list_or_alias(config, "exclude", "blacklist")
                .into_iter()
                .collect(),
            include: list_or_alias(config, "include", "whitelist")
                .into_iter()
                .collect(),
            renames: parse_renames(config.list("renames"))?,
            replace_null_with_default: config.bool("replace.null.with.default"),
            cache: SchemaCache::new(),
        })
    }
}

/// The kept and renamed fields of a record.
struct Filter<'a> {
    exclude: &'a HashSet<String>,
    include: &'a HashSet<String>,
    renames: &'a HashMap<String, String>,
}

impl Filter<'_> {
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }

    fn renamed<'n>(&'n self, name: &'n str) -> &'n str {
        self.renames.get(name).map(String::as_str).unwrap_or(name)
    }

    fn derive(&self, schema: &Schema) -> Result<Derived> {
        let mut updated = copy_schema_basics(schema);
        let mut sources = Vec::new();
        for (i, field) in schema.fields.iter().enumerate() {
            if self.keeps(&field.name) {
                push_field(
                    &mut updated,
                    util::field(self.renamed(&field.name), field.schema.clone()),
                )?;
                sources.push(i);
            }
        }
        Ok(Arc::new((Arc::new(updated), sources)))
    }
}

impl Transformation for ReplaceField {
    fn apply(&mut self, record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        if part.value.is_null() {
            return Ok(Some(record));
        }
        let filter = Filter {
            exclude: &self.exclude,
            include: &self.include,
            renames: &self.renames,
        };
        let (schema, value) = match &part.schema {
            None => {
                let entries = require_map(&part.value, PURPOSE)?;
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let Some(name) = key.as_str() else {
                        out.push((key.clone(), value.clone()));
                        continue;
                    };
                    if !filter.keeps(name) {
                        continue;
                    }
                    let renamed = filter.renamed(name);
                    match out.iter_mut().find(|(k, _)| k.as_str() == Some(renamed)) {
                        Some(entry) => entry.1 = value.clone(),
                        None => out.push((Value::text(renamed), value.clone())),
                    }
                }
                (None, Value::Map(out))
            }
            Some(schema) => {
                let values = require_struct(schema, &part.value, PURPOSE)?;
                let derived = self.cache.get_or_try_insert(schema, |s| filter.derive(s))?;
                let (updated, sources) = &*derived;
                let value = project_struct(
                    schema,
                    values,
                    updated,
                    sources,
                    self.replace_null_with_default,
                )?;
                (Some(updated.clone()), value)
            }
        };
        Ok(Some(record.with_part(self.side, schema, value)))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::record::Part;
    use crate::model::{Field, SchemaType};
    use crate::transform::util::fixtures::map;
    use crate::transform::util::parse_pairs;

    fn value_xform(pairs: &[(&str, &str)]) -> ReplaceField {
        ReplaceField::new(&parse_pairs(config_def(), pairs).unwrap(), Side::Value).unwrap()
    }

    fn field(name: &str, ty: SchemaType) -> Field {
        util::field(name, Schema::primitive(ty, false))
    }

    fn record(schema: Option<Arc<Schema>>, value: Value) -> Record {
        Record {
            partition: Some(0),
            ..Record::new("test", Part::new(schema, value))
        }
    }

    fn dont_abc_foo_etc() -> Arc<Schema> {
        Arc::new(Schema::structure(
            None,
            vec![
                field("dont", SchemaType::String),
                field("abc", SchemaType::Int32),
                field("foo", SchemaType::Boolean),
                field("etc", SchemaType::String),
            ],
            false,
        ))
    }

    /// `ReplaceFieldTest.tombstoneSchemaless` and `tombstoneWithSchema`.
    #[test]
    fn tombstones_pass_unchanged() {
        let mut xform = value_xform(&[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")]);
        let r = record(None, Value::Null);
        assert_eq!(xform.apply(r.clone()).unwrap().unwrap(), r);
        let r = record(Some(dont_abc_foo_etc()), Value::Null);
        assert_eq!(xform.apply(r.clone()).unwrap().unwrap(), r);
    }

    /// `ReplaceFieldTest.schemaless`.
    #[test]
    fn schemaless() {
        let mut xform = value_xform(&[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]);
        let r = record(
            None,
            map(&[
                ("dont", Value::text("whatever")),
                ("abc", Value::Int(42)),
                ("foo", Value::Boolean(true)),
                ("etc", Value::text("etc")),
            ]),
        );
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            value: Part::new(
                None,
                map(&[
                    ("xyz", Value::Int(42)),
                    ("bar", Value::Boolean(true)),
                    ("etc", Value::text("etc")),
                ]),
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// `ReplaceFieldTest.withSchema`.
    #[test]
    fn with_schema() {
        let mut xform = value_xform(&[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")]);
        let r = record(
            Some(dont_abc_foo_etc()),
            Value::Struct(vec![
                Value::text("whatever"),
                Value::Int(42),
                Value::Boolean(true),
                Value::text("etc"),
            ]),
        );
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected_schema = Schema::structure(
            None,
            vec![
                field("xyz", SchemaType::Int32),
                field("bar", SchemaType::Boolean),
            ],
            false,
        );
        let expected = Record {
            value: Part::new(
                Some(Arc::new(expected_schema)),
                Value::Struct(vec![Value::Int(42), Value::Boolean(true)]),
            ),
            ..r
        };
        assert_eq!(out, expected);
    }

    /// The reference's verified case: exclude wins over include, original order is kept, and
    /// the schema's name, version, doc and parameters are copied (optionality is not).
    #[test]
    fn exclude_wins_and_order_is_kept() {
        let mut xform = value_xform(&[("include", "a,b"), ("exclude", "b"), ("renames", "a:x")]);
        let schema = Arc::new(Schema {
            version: Some(3),
            doc: Some("d".into()),
            parameters: vec![("p".into(), "v".into())],
            ..Schema::structure(
                Some("n".into()),
                vec![
                    field("b", SchemaType::Int32),
                    field("c", SchemaType::Int32),
                    field("a", SchemaType::Int32),
                ],
                true,
            )
        });
        let out = xform
            .apply(record(
                Some(schema),
                Value::Struct(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
            ))
            .unwrap()
            .unwrap();
        let expected = Schema {
            version: Some(3),
            doc: Some("d".into()),
            parameters: vec![("p".into(), "v".into())],
            ..Schema::structure(Some("n".into()), vec![field("x", SchemaType::Int32)], false)
        };
        assert_eq!(out.value.schema.as_deref(), Some(&expected));
        assert_eq!(out.value.value, Value::Struct(vec![Value::Int(3)]));
    }

    /// `testReplaceNullWithDefaultConfigOnValue` / `…OnKey` (both parameterisations).
    #[test]
    fn replace_null_with_default() {
        for (replace, expected) in [("false", Value::Null), ("true", Value::Int(42))] {
            let pairs = [
                ("include", "abc"),
                ("renames", "abc:optional_with_default"),
                ("replace.null.with.default", replace),
            ];
            let with_default =
                Schema::primitive(SchemaType::Int32, true).with_default(Value::Int(42));
            let schema = Arc::new(Schema::structure(
                None,
                vec![util::field("abc", with_default.clone())],
                false,
            ));
            let expected_schema = Arc::new(Schema::structure(
                None,
                vec![util::field("optional_with_default", with_default)],
                false,
            ));
            let mut xform = value_xform(&pairs);
            let out = xform
                .apply(record(
                    Some(schema.clone()),
                    Value::Struct(vec![Value::Null]),
                ))
                .unwrap()
                .unwrap();
            assert_eq!(
                out.value,
                Part::new(
                    Some(expected_schema.clone()),
                    Value::Struct(vec![expected.clone()])
                )
            );

            let mut xform =
                ReplaceField::new(&parse_pairs(config_def(), &pairs).unwrap(), Side::Key).unwrap();
            let mut r = record(None, Value::Null);
            r.key = Part::new(Some(schema), Value::Struct(vec![Value::Null]));
            let out = xform.apply(r).unwrap().unwrap();
            assert_eq!(
                out.key,
                Part::new(Some(expected_schema), Value::Struct(vec![expected]))
            );
        }
    }

    /// Kafka 3.x's removed `testIncludeBackwardsCompatibility` / `testExcludeBackwardsCompatibility`:
    /// the aliases work alone; the new key wins when both are set.
    #[test]
    fn deprecated_aliases() {
        let value = map(&[
            ("dont", Value::Int(1)),
            ("abc", Value::Int(2)),
            ("foo", Value::Int(3)),
        ]);
        let mut xform = value_xform(&[("blacklist", "dont")]);
        let out = xform.apply(record(None, value.clone())).unwrap().unwrap();
        assert_eq!(
            out.value.value,
            map(&[("abc", Value::Int(2)), ("foo", Value::Int(3))])
        );
        let mut xform = value_xform(&[("whitelist", "abc")]);
        let out = xform.apply(record(None, value.clone())).unwrap().unwrap();
        assert_eq!(out.value.value, map(&[("abc", Value::Int(2))]));
        let mut xform = value_xform(&[("whitelist", "abc"), ("include", "foo")]);
        let out = xform.apply(record(None, value)).unwrap().unwrap();
        assert_eq!(out.value.value, map(&[("foo", Value::Int(3))]));
    }

    #[test]
    fn rename_mappings_follow_java_split() {
        let error = ReplaceField::new(
            &parse_pairs(config_def(), &[("renames", "abc:xyz, a:b:c")]).unwrap(),
            Side::Value,
        )
        .err()
        .unwrap();
        assert_eq!(error.key, "renames");
        assert_eq!(
            error.message(),
            "Invalid value [abc:xyz, a:b:c] for configuration renames: Invalid rename mapping: a:b:c"
        );
        // `a:` splits into one part; `:b` renames the empty name.
        assert!(
            ReplaceField::new(
                &parse_pairs(config_def(), &[("renames", "a:")]).unwrap(),
                Side::Value
            )
            .is_err()
        );
        let mut xform = value_xform(&[("renames", ":b")]);
        let out = xform
            .apply(record(None, map(&[("", Value::Int(1))])))
            .unwrap()
            .unwrap();
        assert_eq!(out.value.value, map(&[("b", Value::Int(1))]));
    }

    #[test]
    fn requires_struct_or_map() {
        let mut xform = value_xform(&[("exclude", "a")]);
        let error = xform.apply(record(None, Value::text("x"))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Map objects supported in absence of schema for [field replacement], found: java.lang.String"
        );
    }

    #[test]
    fn rename_clash_fails() {
        let mut xform = value_xform(&[("renames", "a:b")]);
        let schema = Arc::new(Schema::structure(
            None,
            vec![field("a", SchemaType::Int32), field("b", SchemaType::Int32)],
            false,
        ));
        let error = xform
            .apply(record(
                Some(schema),
                Value::Struct(vec![Value::Int(1), Value::Int(2)]),
            ))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cannot create field because of field name duplication b"
        );
    }
}
