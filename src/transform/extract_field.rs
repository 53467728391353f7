//! `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`: replaces the key or value
//! with one of its fields.
//!
//! `field` is a path (KIP-821): with `field.syntax.version=V1` (the default) the whole string is
//! one field name; with `V2` it is split on dots, and a step wrapped in backticks may contain
//! dots (see [`FieldPath::parse_v2`]). A null key/value gives null. Schemaless, the key/value must
//! be a map and a missing step gives null. With a schema the field is looked up in the schema
//! first (`Unknown field: <field>` when absent, even for a null value) and its schema becomes the
//! key/value schema as it is.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{
    REPLACE_NULL_WITH_DEFAULT, SchemaCache, data_error, require_map_or_null, require_struct_or_null,
};
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Validator};
use crate::error::Result;
use crate::model::record::{Record, Side};
use crate::model::{Schema, SchemaType, Value};

const PURPOSE: &str = "field extraction";
const NESTED: &str = "nested field access";

/// `FieldSyntaxVersion.FIELD_SYNTAX_VERSION_DOC`.
const FIELD_SYNTAX_VERSION_DOC: &str = "Defines the version of the syntax to access fields. If \
     set to `V1`, then the field paths are limited to access the elements at the root level of \
     the struct or map. If set to `V2`, the syntax will support accessing nested elements. To \
     access nested elements, dotted notation is used. If dots are already included in the field \
     name, then backtick pairs can be used to wrap field names containing dots. E.g. to access \
     the subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can \
     be used to access its elements: \"`foo.bar`.baz\".";

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::required("field", ConfigType::String)
                .importance(Importance::Medium)
                .doc("Field name to extract."),
        )
        .define(REPLACE_NULL_WITH_DEFAULT)
        .define(
            ConfigKey::with_default("field.syntax.version", ConfigType::String, "V1")
                .validator(Validator::OneOfCaseInsensitive(&["V1", "V2"]))
                .importance(Importance::High)
                .doc(FIELD_SYNTAX_VERSION_DOC),
        )
});

pub(crate) fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// A parsed field path (Kafka's `SingleFieldPath`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldPath {
    steps: Vec<String>,
}

/// Whether `field.syntax.version` (checked by its definition) is V2.
fn syntax_is_v2(config: &Config) -> bool {
    config
        .string("field.syntax.version")
        .is_some_and(|version| version.eq_ignore_ascii_case("V2"))
}

impl FieldPath {
    /// `path` under syntax V1 (one step) or V2 (dotted, with backtick pairs).
    pub(crate) fn parse(path: &str, v2: bool) -> Result<FieldPath, ConfigError> {
        match v2 {
            false => Ok(FieldPath {
                steps: vec![path.to_string()],
            }),
            true => FieldPath::parse_v2(path),
        }
    }

    /// KIP-821's V2 syntax: steps are separated by dots; a step that starts with a backtick
    /// runs to the next backtick that is followed by a dot or ends the path (a backslash before
    /// such a backtick escapes it); other backticks are ordinary characters. A trailing dot adds
    /// an empty step.
    fn parse_v2(path: &str) -> Result<FieldPath, ConfigError> {
        let bytes = path.as_bytes();
        let len = bytes.len();
        let find = |from: usize, byte: u8| {
            bytes[from.min(len)..]
                .iter()
                .position(|&b| b == byte)
                .map(|i| i + from)
        };
        let incomplete = |backtick_at: usize| {
            // Java reports a UTF-16 index.
            let position = path[..backtick_at].encode_utf16().count();
            ConfigError::rule(
                "field",
                format!(
                    "Incomplete backtick pair in path: [{path}], consider adding a backslash \
                     before backtick at position {position} to escape it"
                ),
            )
        };
        let mut steps = Vec::new();
        let mut idx = 0;
        while idx < len {
            if bytes[idx] != b'`' {
                let start = idx;
                match find(idx, b'.') {
                    Some(dot) => {
                        steps.push(path[start..dot].to_string());
                        idx = dot + 1;
                    }
                    None => {
                        steps.push(path[start..].to_string());
                        break;
                    }
                }
                continue;
            }
            let backtick_at = idx;
            idx += 1;
            let mut field = String::new();
            let mut start = idx;
            loop {
                idx = find(idx, b'`').ok_or_else(|| incomplete(backtick_at))?;
                let escaped = bytes[idx - 1] == b'\\';
                if idx + 1 >= len {
                    if escaped {
                        return Err(incomplete(backtick_at));
                    }
                    field.push_str(&path[start..idx]);
                    steps.push(field);
                    idx += 1;
                    break;
                }
                if bytes[idx + 1] != b'.' {
                    idx += 1;
                    continue;
                }
                if escaped {
                    field.push_str(&path[start..idx - 1]);
                    field.push('`');
                    idx += 1;
                    start = idx;
                    continue;
                }
                field.push_str(&path[start..idx]);
                steps.push(field);
                idx += 2;
                break;
            }
        }
        if path.ends_with('.') {
            steps.push(String::new());
        }
        Ok(FieldPath { steps })
    }

    /// The steps, and the last one (`None` for an empty V2 path).
    fn split(&self) -> Option<(&[String], &str)> {
        let (last, init) = self.steps.split_last()?;
        Some((init, last))
    }

    /// `fieldFrom`: the schema of the field at this path, if there is one.
    pub(crate) fn field_schema<'s>(&self, schema: &'s Schema) -> Result<Option<&'s Schema>> {
        let Some((init, last)) = self.split() else {
            return Ok(None);
        };
        let mut current = schema;
        for step in init {
            match lookup(current, step)? {
                Some((_, field)) => current = field,
                None => return Ok(None),
            }
        }
        Ok(lookup(current, last)?.map(|(_, s)| s))
    }

    /// `valueFrom(Struct)`: the value at this path of a struct `values` of `schema`; null when
    /// a step is missing or null.
    pub(crate) fn struct_value<'a>(
        &self,
        schema: &'a Schema,
        values: &'a [Value],
        replace_null_with_default: bool,
    ) -> Result<Value> {
        let Some((init, last)) = self.split() else {
            return Ok(Value::Null);
        };
        let (mut schema, mut values) = (schema, values);
        for step in init {
            let Some((i, field)) = lookup(schema, step)? else {
                return Ok(Value::Null);
            };
            match get_ref(field, &values[i], replace_null_with_default) {
                Value::Null => return Ok(Value::Null),
                Value::Struct(inner) if field.ty == SchemaType::Struct => {
                    schema = field;
                    values = inner;
                }
                other => {
                    require_struct_or_null(field, other, NESTED)?;
                    return Ok(Value::Null);
                }
            }
        }
        Ok(match lookup(schema, last)? {
            Some((i, field)) => get_ref(field, &values[i], replace_null_with_default).clone(),
            None => Value::Null,
        })
    }

    /// `valueFrom(Map)`: the value at this path of a schemaless map; null when a step is
    /// missing or null.
    pub(crate) fn map_value(&self, entries: &[(Value, Value)]) -> Result<Value> {
        let Some((init, last)) = self.split() else {
            return Ok(Value::Null);
        };
        let mut current = entries;
        for step in init {
            match require_map_or_null(get(current, step).unwrap_or(&Value::Null), NESTED)? {
                Some(next) => current = next,
                None => return Ok(Value::Null),
            }
        }
        Ok(get(current, last).cloned().unwrap_or(Value::Null))
    }
}

/// A struct field by name (Connect's `Schema.field`, which refuses other types).
fn lookup<'s>(schema: &'s Schema, name: &str) -> Result<Option<(usize, &'s Schema)>> {
    if schema.ty != SchemaType::Struct {
        return Err(data_error("Cannot look up fields on non-struct type"));
    }
    Ok(schema.field(name).map(|(i, f)| (i, &f.schema)))
}

/// `Struct.get` (the default for a null, with `replace.null.with.default`) or
/// `getWithoutDefault`, borrowed.
fn get_ref<'a>(schema: &'a Schema, value: &'a Value, replace_null_with_default: bool) -> &'a Value {
    match (value, &schema.default) {
        (Value::Null, Some(default)) if replace_null_with_default => default,
        _ => value,
    }
}

/// A schemaless map's value for a text key.
fn get<'v>(entries: &'v [(Value, Value)], key: &str) -> Option<&'v Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// `ExtractField$Key` / `ExtractField$Value`.
pub(crate) struct ExtractField {
    side: Side,
    original: String,
    path: FieldPath,
    replace_null_with_default: bool,
    cache: SchemaCache<Option<Arc<Schema>>>,
}

impl ExtractField {
    /// `ExtractField$Key` or `ExtractField$Value`.
    pub(crate) fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let original = config.string("field").unwrap_or_default().to_string();
        let path = FieldPath::parse(&original, syntax_is_v2(config))?;
        Ok(ExtractField {
            side,
            original,
            path,
            replace_null_with_default: config.bool("replace.null.with.default"),
            cache: SchemaCache::new(),
        })
    }
}

impl Transformation for ExtractField {
    fn apply(&mut self, record: Record) -> Result<Option<Record>> {
        let part = record.part(self.side);
        let (schema, value) = match &part.schema {
            None => match require_map_or_null(&part.value, PURPOSE)? {
                None => (None, Value::Null),
                Some(entries) => (None, self.path.map_value(entries)?),
            },
            Some(schema) => {
                let values = require_struct_or_null(schema, &part.value, PURPOSE)?;
                let path = &self.path;
                let field = self.cache.get_or_try_insert(schema, |s| {
                    Ok::<_, crate::error::Error>(path.field_schema(s)?.map(|f| Arc::new(f.clone())))
                })?;
                let Some(field) = field else {
                    return Err(data_error(format!("Unknown field: {}", self.original)));
                };
                let value = match values {
                    None => Value::Null,
                    Some(values) => {
                        self.path
                            .struct_value(schema, values, self.replace_null_with_default)?
                    }
                };
                (Some(field), value)
            }
        };
        Ok(Some(record.with_part(self.side, schema, value)))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::record::Part;
    use crate::transform::util;
    use crate::transform::util::fixtures::map;
    use crate::transform::util::parse_pairs;

    /// Kafka's ExtractFieldTest works on the key.
    fn key_xform(pairs: &[(&str, &str)]) -> ExtractField {
        ExtractField::new(&parse_pairs(config_def(), pairs).unwrap(), Side::Key).unwrap()
    }

    fn record(key: Part) -> Record {
        Record {
            partition: Some(0),
            key,
            ..Record::new("test", Part::NULL)
        }
    }

    fn int32() -> Schema {
        Schema::primitive(SchemaType::Int32, false)
    }

    fn steps(path: &str) -> Vec<String> {
        FieldPath::parse(path, true).unwrap().steps
    }

    /// `FieldPathNotationTest`: every V1 and V2 case.
    #[test]
    fn field_path_notation() {
        for path in ["foo.bar.baz", "foo`bar`", "foo.`bar.baz`"] {
            assert_eq!(FieldPath::parse(path, false).unwrap().steps, [path]);
        }
        let cases: &[(&str, &[&str])] = &[
            ("..", &["", "", ""]),
            ("foo..", &["foo", "", ""]),
            (".bar.", &["", "bar", ""]),
            ("..baz", &["", "", "baz"]),
            ("", &[]),
            ("foobarbaz", &["foobarbaz"]),
            ("foo.bar.baz", &["foo", "bar", "baz"]),
            ("foo`bar`baz", &["foo`bar`baz"]),
            ("`foo.bar.baz`", &["foo.bar.baz"]),
            ("foo.`bar.baz`", &["foo", "bar.baz"]),
            ("`foo.bar`.baz", &["foo.bar", "baz"]),
            ("foo.`bar`.baz", &["foo", "bar", "baz"]),
            ("foo.``bar.baz`", &["foo", "`bar.baz"]),
            ("foo.`bar.baz``", &["foo", "bar.baz`"]),
            ("foo.`ba`r.baz`", &["foo", "ba`r.baz"]),
            ("foo.ba`r.baz", &["foo", "ba`r", "baz"]),
            ("foo.``bar``.baz", &["foo", "`bar`", "baz"]),
            ("``foo.bar.baz``", &["`foo.bar.baz`"]),
            ("foo.`bar\\`.baz`", &["foo", "bar`.baz"]),
            ("foo.`bar.`baz`", &["foo", "bar.`baz"]),
            ("foo.`bar\\`.`baz`", &["foo", "bar`.`baz"]),
            ("foo.`bar\\\\`.\\`baz`", &["foo", "bar\\`.\\`baz"]),
        ];
        for (path, expected) in cases {
            assert_eq!(steps(path), *expected, "{path}");
        }
        for (path, at) in [
            ("`foo.bar.baz", 0),
            ("foo.`bar.baz", 4),
            ("foo.bar.`baz", 8),
            ("foo.bar.`baz\\`", 8),
        ] {
            let error = FieldPath::parse(path, true).unwrap_err();
            assert_eq!(
                error.message(),
                format!(
                    "Incomplete backtick pair in path: [{path}], consider adding a backslash \
                     before backtick at position {at} to escape it"
                )
            );
        }
    }

    /// `ExtractFieldTest.schemaless` and `nullSchemaless`.
    #[test]
    fn schemaless() {
        let mut xform = key_xform(&[("field", "magic")]);
        let r = record(Part::new(None, map(&[("magic", Value::Int(42))])));
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(None, Value::Int(42)),
            ..r
        };
        assert_eq!(out, expected);
        let r = record(Part::NULL);
        assert_eq!(xform.apply(r.clone()).unwrap().unwrap(), r);
    }

    /// `ExtractFieldTest.schemalessAndNestedPath`, `nonExistentFieldSchemalessShouldReturnNull`
    /// and `nonExistentNestedFieldSchemalessShouldReturnNull`.
    #[test]
    fn schemaless_nested_and_missing() {
        let key = map(&[("magic", map(&[("foo", Value::Int(42))]))]);
        let mut xform = key_xform(&[("field", "magic.foo"), ("field.syntax.version", "V2")]);
        let out = xform
            .apply(record(Part::new(None, key.clone())))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Part::new(None, Value::Int(42)));

        let mut xform = key_xform(&[("field", "nonexistent")]);
        let out = xform
            .apply(record(Part::new(None, map(&[("magic", Value::Int(42))]))))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Part::NULL);

        // V1: one step named `magic.nonexistent`.
        let mut xform = key_xform(&[("field", "magic.nonexistent")]);
        let out = xform.apply(record(Part::new(None, key))).unwrap().unwrap();
        assert_eq!(out.key, Part::NULL);
    }

    /// The reference's verified cases: with V2, `a.b` does not find the key `"a.b"` but
    /// `` `a.b` `` does; a non-map intermediate fails.
    #[test]
    fn schemaless_v2_backticks_and_bad_intermediate() {
        let key = map(&[("a.b", Value::Int(1)), ("x", Value::Int(2))]);
        let mut xform = key_xform(&[("field", "a.b"), ("field.syntax.version", "v2")]);
        let out = xform
            .apply(record(Part::new(None, key.clone())))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Part::NULL);
        let mut xform = key_xform(&[("field", "`a.b`"), ("field.syntax.version", "V2")]);
        let out = xform
            .apply(record(Part::new(None, key.clone())))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Part::new(None, Value::Int(1)));
        let mut xform = key_xform(&[("field", "x.y"), ("field.syntax.version", "V2")]);
        let error = xform.apply(record(Part::new(None, key))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Map objects supported in absence of schema for [nested field access], found: java.lang.Long"
        );
    }

    /// `ExtractFieldTest.withSchema` and `withSchemaAndNestedPath`.
    #[test]
    fn with_schema() {
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("magic", int32())],
            false,
        ));
        let mut xform = key_xform(&[("field", "magic")]);
        let r = record(Part::new(Some(schema), Value::Struct(vec![Value::Int(42)])));
        let out = xform.apply(r.clone()).unwrap().unwrap();
        let expected = Record {
            key: Part::new(Some(Arc::new(int32())), Value::Int(42)),
            ..r
        };
        assert_eq!(out, expected);

        let foo = Schema::structure(None, vec![util::field("foo", int32())], false);
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("magic", foo)],
            false,
        ));
        let mut xform = key_xform(&[("field", "magic.foo"), ("field.syntax.version", "V2")]);
        let out = xform
            .apply(record(Part::new(
                Some(schema),
                Value::Struct(vec![Value::Struct(vec![Value::Int(42)])]),
            )))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Part::new(Some(Arc::new(int32())), Value::Int(42)));
    }

    /// `ExtractFieldTest.testNullWithSchema`: the field's schema, a null value.
    #[test]
    fn null_with_schema() {
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("magic", int32())],
            true,
        ));
        let mut xform = key_xform(&[("field", "magic")]);
        let out = xform
            .apply(record(Part::new(Some(schema), Value::Null)))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Part::new(Some(Arc::new(int32())), Value::Null));
    }

    /// `ExtractFieldTest.nonExistentFieldWithSchemaShouldFail` and
    /// `nonExistentNestedFieldWithSchemaShouldFail`.
    #[test]
    fn non_existent_field_with_schema_fails() {
        let foo = Schema::structure(None, vec![util::field("foo", int32())], false);
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("magic", foo)],
            false,
        ));
        let value = Value::Struct(vec![Value::Struct(vec![Value::Int(42)])]);
        for (field, version) in [
            ("nonexistent", "V1"),
            ("magic.nonexistent", "V1"),
            ("magic.nonexistent", "V2"),
        ] {
            let mut xform = key_xform(&[("field", field), ("field.syntax.version", version)]);
            let error = xform
                .apply(record(Part::new(Some(schema.clone()), value.clone())))
                .unwrap_err();
            assert_eq!(error.to_string(), format!("Unknown field: {field}"));
            // Even for a null value.
            let error = xform
                .apply(record(Part::new(Some(schema.clone()), Value::Null)))
                .unwrap_err();
            assert_eq!(error.to_string(), format!("Unknown field: {field}"));
        }
    }

    /// `ExtractFieldTest.testUnsetOptionalField` (both parameterisations), also nested.
    #[test]
    fn unset_optional_field() {
        let with_default = Schema::primitive(SchemaType::Int32, true).with_default(Value::Int(42));
        let schema = Arc::new(Schema::structure(
            None,
            vec![util::field("optional_with_default", with_default.clone())],
            false,
        ));
        let outer = Arc::new(Schema::structure(
            None,
            vec![util::field("s", (*schema).clone())],
            false,
        ));
        for (replace, expected) in [("false", Value::Null), ("true", Value::Int(42))] {
            let mut xform = key_xform(&[
                ("field", "optional_with_default"),
                ("replace.null.with.default", replace),
            ]);
            let out = xform
                .apply(record(Part::new(
                    Some(schema.clone()),
                    Value::Struct(vec![Value::Null]),
                )))
                .unwrap()
                .unwrap();
            assert_eq!(
                out.key,
                Part::new(Some(Arc::new(with_default.clone())), expected.clone())
            );
            let mut xform = key_xform(&[
                ("field", "s.optional_with_default"),
                ("field.syntax.version", "V2"),
                ("replace.null.with.default", replace),
            ]);
            let out = xform
                .apply(record(Part::new(
                    Some(outer.clone()),
                    Value::Struct(vec![Value::Struct(vec![Value::Null])]),
                )))
                .unwrap()
                .unwrap();
            assert_eq!(out.key.value, expected);
        }
    }

    /// A key that is neither a struct nor null fails.
    #[test]
    fn requires_struct_or_map() {
        let mut xform = key_xform(&[("field", "magic")]);
        let error = xform
            .apply(record(Part::new(Some(Arc::new(int32())), Value::Int(1))))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Struct objects supported for [field extraction], found: java.lang.Integer"
        );
        let error = xform
            .apply(record(Part::new(None, Value::text("x"))))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"
        );
    }

    /// The error configuring `ExtractField$Value` from `pairs`: the definition's or the
    /// transformation's.
    fn build_error(pairs: &[(&str, &str)]) -> ConfigError {
        parse_pairs(config_def(), pairs)
            .and_then(|config| ExtractField::new(&config, Side::Value).map(drop))
            .unwrap_err()
    }

    #[test]
    fn config_errors() {
        let error = parse_pairs(config_def(), &[]).unwrap_err();
        assert_eq!(
            error.message(),
            "Missing required configuration \"field\" which has no default value."
        );
        let error = build_error(&[("field", "a"), ("field.syntax.version", "v3")]);
        assert_eq!(error.key, "field.syntax.version");
        assert_eq!(
            error.message(),
            "Invalid value v3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"
        );
        let error = build_error(&[("field", "foo.`bar"), ("field.syntax.version", "V2")]);
        assert_eq!(error.key, "field");
        assert!(error.message().starts_with("Incomplete backtick pair"));
    }
}
