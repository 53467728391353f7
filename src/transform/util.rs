//! What Kafka's transformations share (`transforms/util/Requirements.java`, `SchemaUtil.java`):
//! the checks with Connect's error messages, schema copying and struct access.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock};

use super::java_date::{self, DatePattern};
use crate::config::{Config, ConfigError, ConfigKey, ConfigType};
use crate::error::{Error, ErrorKind, Result};
use crate::model::numeric::java_double;
use crate::model::{Field, Schema, SchemaType, Value};

/// A `DataException`: a record the transformation cannot handle.
#[cold]
pub(crate) fn data_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Conversion, message.into())
}

/// The Java class Connect would hold for `value` (as Kafka's messages name it).
pub(crate) fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int(_) => "java.lang.Long",
        Value::Float(_) => "java.lang.Double",
        Value::Text(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Decimal(_) => "java.math.BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "java.util.Date",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
    }
}

/// Java's `toString()` of a Connect value, as StringConverter writes it and Kafka's messages
/// show it: numbers and booleans as Java prints them, a struct as `Struct{a=1,b=x}` (null
/// fields left out), lists as `[a, b]`, maps as `{k=v, k2=v2}`, a date as
/// `java.util.Date.toString()` in UTC (`Thu Jan 01 00:00:00 UTC 1970`), bytes as `[B@` and a
/// hash.
pub(crate) fn java_string(schema: Option<&Schema>, value: &Value) -> String {
    static DATE: LazyLock<DatePattern> = LazyLock::new(|| {
        DatePattern::new("EEE MMM dd HH:mm:ss zzz yyyy")
            .unwrap_or_else(|_| unreachable!("a valid constant pattern"))
    });
    let items = schema.and_then(|s| s.value_schema.as_deref());
    match value {
        Value::Null => "null".to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Int(v) => v.to_string(),
        Value::Float(x) => java_double(*x, schema.is_some_and(|s| s.ty == SchemaType::Float32)),
        Value::Text(b) | Value::Decimal(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Bytes(b) => format!("[B@{:x}", crate::model::hash::fnv1a(b)),
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            DATE.format(java_date::epoch_millis(value).unwrap_or_default())
        }
        Value::Struct(values) => {
            let fields = schema.map(|s| s.fields.as_slice()).unwrap_or_default();
            let inner: Vec<String> = fields
                .iter()
                .zip(values)
                .filter(|(_, v)| !v.is_null())
                .map(|(f, v)| format!("{}={}", f.name, java_string(Some(&f.schema), v)))
                .collect();
            format!("Struct{{{}}}", inner.join(","))
        }
        Value::Array(values) => {
            let inner: Vec<String> = values.iter().map(|v| java_string(items, v)).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Map(entries) => {
            let keys = schema.and_then(|s| s.key_schema.as_deref());
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}={}", java_string(keys, k), java_string(items, v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// `Requirements.requireMap`: a schemaless value must be a map.
pub(crate) fn require_map<'v>(value: &'v Value, purpose: &str) -> Result<&'v [(Value, Value)]> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(data_error(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            java_class(other)
        ))),
    }
}

/// `Requirements.requireMapOrNull`.
pub(crate) fn require_map_or_null<'v>(
    value: &'v Value,
    purpose: &str,
) -> Result<Option<&'v [(Value, Value)]>> {
    match value {
        Value::Null => Ok(None),
        other => require_map(other, purpose).map(Some),
    }
}

/// `Requirements.requireStruct`: a value with a schema must be a struct.
pub(crate) fn require_struct<'v>(
    schema: &Schema,
    value: &'v Value,
    purpose: &str,
) -> Result<&'v [Value]> {
    match value {
        Value::Struct(values) if schema.ty == SchemaType::Struct => Ok(values),
        other => Err(data_error(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            java_class_in(Some(schema), other)
        ))),
    }
}

/// `Requirements.requireStructOrNull`.
pub(crate) fn require_struct_or_null<'v>(
    schema: &Schema,
    value: &'v Value,
    purpose: &str,
) -> Result<Option<&'v [Value]>> {
    match value {
        Value::Null => Ok(None),
        other => require_struct(schema, other, purpose).map(Some),
    }
}

/// `Requirements.requireSchema`.
pub(crate) fn require_schema<'s>(
    schema: Option<&'s Arc<Schema>>,
    purpose: &str,
) -> Result<&'s Arc<Schema>> {
    schema.ok_or_else(|| data_error(format!("Schema required for [{purpose}]")))
}

/// `ConnectSchema.toString()`: `Schema{name:TYPE}` or `Schema{TYPE}` (`null` without a schema).
pub(crate) fn schema_string(schema: Option<&Schema>) -> String {
    match schema {
        None => "null".to_string(),
        Some(s) => match &s.name {
            Some(name) => format!("Schema{{{name}:{}}}", s.ty.java_name()),
            None => format!("Schema{{{}}}", s.ty.java_name()),
        },
    }
}

/// `SchemaUtil.copySchemaBasics(source, new SchemaBuilder(ty))`: `source`'s name, version, doc
/// and parameters on a required schema of type `ty`.
pub(crate) fn copy_schema_basics_as(source: &Schema, ty: SchemaType) -> Schema {
    Schema {
        ty,
        ..copy_schema_basics(source)
    }
}

/// `SchemaUtil.copySchemaBasics`: a struct schema with `source`'s name, version, doc and
/// parameters, no fields, required (optionality and default are not copied).
pub(crate) fn copy_schema_basics(source: &Schema) -> Schema {
    Schema {
        name: source.name.clone(),
        version: source.version,
        doc: source.doc.clone(),
        parameters: source.parameters.clone(),
        ..Schema::primitive(SchemaType::Struct, false)
    }
}

/// A struct field ([`Field::new`]).
pub(crate) fn field(name: &str, schema: Schema) -> Field {
    Field::new(name, schema)
}

/// `Struct.get(field)` (with `replace.null.with.default`) or `getWithoutDefault`.
pub(crate) fn struct_get(schema: &Schema, value: &Value, replace_null_with_default: bool) -> Value {
    match (value, &schema.default) {
        (Value::Null, Some(default)) if replace_null_with_default => (**default).clone(),
        _ => value.clone(),
    }
}

/// A struct value rebuilt for `updated` (the struct's schema after the transformation): each
/// field read as `Struct.get` reads it, passed through `convert`, and put with `Struct.put`'s
/// checks.
pub(crate) fn rebuild_struct(
    schema: &Schema,
    values: &[Value],
    updated: &Schema,
    replace_null_with_default: bool,
    mut convert: impl FnMut(&Field, Value) -> Result<Value>,
) -> Result<Value> {
    let mut out = Vec::with_capacity(values.len());
    for (i, field) in schema.fields.iter().enumerate() {
        let value = struct_get(
            &field.schema,
            values.get(i).unwrap_or(&Value::Null),
            replace_null_with_default,
        );
        let value = convert(field, value)?;
        if let Some(updated) = updated.fields.get(i) {
            check_put(updated, &value)?;
        }
        out.push(value);
    }
    Ok(Value::Struct(out))
}

/// A struct value for `updated`, whose field `n` is the source struct's field `sources[n]`
/// (ReplaceField's kept fields, ValueToKey's key fields): each read as `Struct.get` reads it and
/// put with `Struct.put`'s checks.
pub(crate) fn project_struct(
    schema: &Schema,
    values: &[Value],
    updated: &Schema,
    sources: &[usize],
    replace_null_with_default: bool,
) -> Result<Value> {
    let mut out = Vec::with_capacity(sources.len());
    for (field, &i) in updated.fields.iter().zip(sources) {
        let value = struct_get(
            &schema.fields[i].schema,
            &values[i],
            replace_null_with_default,
        );
        check_put(field, &value)?;
        out.push(value);
    }
    Ok(Value::Struct(out))
}

/// `Struct.put` checks: a null in a required field without a default is Connect's
/// `Invalid value: null used for required field: "f", schema type: INT32`.
pub(crate) fn check_put(field: &Field, value: &Value) -> Result<()> {
    if value.is_null() && !field.schema.optional && field.schema.default.is_none() {
        return Err(data_error(format!(
            "Invalid value: null used for required field: \"{}\", schema type: {}",
            field.name,
            field.schema.ty.java_name()
        )));
    }
    Ok(())
}

/// A schema with the struct fields `fields`, refusing duplicate names as Connect's
/// `SchemaBuilder.field` does.
pub(crate) fn push_field(schema: &mut Schema, field: Field) -> Result<()> {
    if schema.fields.iter().any(|f| f.name == field.name) {
        return Err(data_error(format!(
            "Cannot create field because of field name duplication {}",
            field.name
        )));
    }
    schema.fields.push(field);
    Ok(())
}

/// A config error on a key of a transformation (the chain adds the `transforms.<alias>.` prefix).
pub(crate) fn invalid(key: &str, value: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, value, why)
}

/// The Java class Connect would hold for `value` under `schema`: with a schema the integer and
/// floating-point widths are known (`INT32` is an `Integer`, `FLOAT32` a `Float`).
pub(crate) fn java_class_in(schema: Option<&Schema>, value: &Value) -> &'static str {
    match (schema.map(|s| s.ty), value) {
        (Some(SchemaType::Int8), Value::Int(_)) => "java.lang.Byte",
        (Some(SchemaType::Int16), Value::Int(_)) => "java.lang.Short",
        (Some(SchemaType::Int32), Value::Int(_)) => "java.lang.Integer",
        (Some(SchemaType::Float32), Value::Float(_)) => "java.lang.Float",
        _ => java_class(value),
    }
}

/// `replace.null.with.default` (KIP-1040), as InsertField, ReplaceField, MaskField, ValueToKey,
/// ExtractField and SetSchemaMetadata define it.
pub(crate) const REPLACE_NULL_WITH_DEFAULT: ConfigKey =
    ConfigKey::with_default("replace.null.with.default", ConfigType::Boolean, "true").doc(
        "Whether to replace fields that have a default value and that are null to the default \
         value. When set to true, the default value is used, otherwise null is used.",
    );

/// A required LIST that must not be empty (`NonEmptyListValidator`: `Invalid value [] for
/// configuration <key>: Empty list`).
pub(crate) fn non_empty_list(config: &Config, key: &str) -> Result<Vec<String>, ConfigError> {
    let items = config.list(key);
    if items.is_empty() {
        return Err(invalid(key, "[]", "Empty list"));
    }
    Ok(items.to_vec())
}

/// Kafka's per-transformation `LRUCache<Schema, …>(16)`: what a transformation derived from an
/// input schema, found by pointer first and then by equality (a sink's converter may hand out
/// equal schemas in new allocations).
pub(crate) struct SchemaCache<T> {
    entries: VecDeque<(Arc<Schema>, T)>,
}

impl<T: Clone> SchemaCache<T> {
    /// Kafka's capacity.
    const CAPACITY: usize = 16;

    pub(crate) fn new() -> Self {
        SchemaCache {
            entries: VecDeque::new(),
        }
    }

    /// What was derived from `schema`, deriving it with `make` on a miss.
    pub(crate) fn get_or_try_insert<E>(
        &mut self,
        schema: &Arc<Schema>,
        make: impl FnOnce(&Schema) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let hit = self
            .entries
            .iter()
            .position(|(k, _)| Arc::ptr_eq(k, schema))
            .or_else(|| self.entries.iter().position(|(k, _)| **k == **schema));
        if let Some(i) = hit {
            if i != 0 {
                let entry = self.entries.remove(i).expect("index in range");
                self.entries.push_front(entry);
            }
            return Ok(self.entries[0].1.clone());
        }
        let made = make(schema)?;
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_back();
        }
        self.entries.push_front((schema.clone(), made.clone()));
        Ok(made)
    }
}

impl<T: Clone> Default for SchemaCache<T> {
    fn default() -> Self {
        SchemaCache::new()
    }
}

/// A definition parsed from `key=value` pairs, for the transformations' tests.
#[cfg(test)]
pub(crate) fn parse_pairs(
    def: &crate::config::ConfigDef,
    pairs: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let raw: std::collections::BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    def.parse(&raw)
}

/// Values, schemas and records the transformations' tests build alike.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::sync::Arc;

    use crate::model::record::{Part, Record};
    use crate::model::{Schema, SchemaType, Value};

    /// A schemaless map with string keys.
    pub(crate) fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::text(k), v.clone()))
                .collect(),
        )
    }

    /// A required primitive schema.
    pub(crate) fn prim(ty: SchemaType) -> Schema {
        Schema::primitive(ty, false)
    }

    /// An optional primitive schema.
    pub(crate) fn opt(ty: SchemaType) -> Schema {
        Schema::primitive(ty, true)
    }

    /// A required, unnamed struct schema of `fields`.
    pub(crate) fn structure(fields: Vec<(&str, Schema)>) -> Schema {
        Schema::structure(
            None,
            fields
                .into_iter()
                .map(|(name, schema)| super::field(name, schema))
                .collect(),
            false,
        )
    }

    /// A record of partition 0 with `value` (and no topic), as Kafka's tests make them.
    pub(crate) fn record(schema: Option<Arc<Schema>>, value: Value) -> Record {
        Record {
            partition: Some(0),
            ..Record::new("", Part::new(schema, value))
        }
    }
}
