//! `io.debezium.transforms.ExtractNewRecordState` (Debezium 2.7): replaces a Debezium change
//! event (`<topic>.Envelope` with `before`, `after`, `source`, `op`, `ts_ms`, `transaction`) by the
//! row state it carries, for sinks that want plain rows.
//!
//! Behaviour, in Debezium's order (`ExtractNewRecordState.doApply`):
//! - A tombstone (null value) is kept only when the mode keeps tombstones
//!   (`rewrite-with-tombstone`, or `drop.tombstones=false` in the legacy modes); a kept tombstone
//!   gets only the `op` header of `add.headers`, with the value `d`.
//! - A value whose schema is not named `*.Envelope` (heartbeats, schema changes, transaction
//!   metadata, schemaless values) passes unchanged, without headers.
//! - For an envelope, the `add.headers` are added first; then an event without `after` and
//!   `before` (truncate `t`, message `m`) is dropped.
//! - A delete (`after` null) is dropped (`drop`), becomes a null value whose schema is the `after`
//!   schema (`tombstone`, legacy `none`: what the JDBC sink reads as a delete), or the `before`
//!   row with `__deleted: "true"` (`rewrite*`). `route.by.field` then reads `before`, the
//!   `drop.fields.header.name` fields are removed, and `add.fields` are appended to a non-null
//!   value.
//! - A create, read or update becomes the `after` row (with `__deleted: "false"` when
//!   rewriting); `route.by.field` reads it, `add.fields` are appended, then the header's fields
//!   are dropped.
//!
//! The unwrapped value's schema is built as Kafka's `SchemaUtil.copySchemaBasics` does (the row
//! schema's name, version, doc and parameters; required) with the row's fields, then the
//! optional string `__deleted`, then each `add.fields` entry as an optional copy of the field it
//! reads. Rewritten rows pass through Kafka's `InsertField`, which reads null fields that have a
//! schema default as that default; the other modes keep the raw values.
//!
//! `delete.tombstone.handling.mode` (Debezium 2.5) has no default: when it is unset, the
//! deprecated `drop.tombstones` (default true) and `delete.handling.mode` (default `drop`) apply,
//! so by default deletes and tombstones are both dropped.

use std::sync::{Arc, LazyLock};

use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance};
use crate::error::Result;
use crate::model::record::{Header, Part, Record};
use crate::model::{Schema, SchemaType, Value};

use super::Transformation;
use super::util::{
    copy_schema_basics, data_error, field, java_class, push_field, require_map, require_struct,
    struct_get,
};

const DROP_TOMBSTONES: &str = "drop.tombstones";
const HANDLE_DELETES: &str = "delete.handling.mode";
const HANDLE_TOMBSTONE_DELETES: &str = "delete.tombstone.handling.mode";
const ROUTE_BY_FIELD: &str = "route.by.field";
const ADD_FIELDS_PREFIX: &str = "add.fields.prefix";
const ADD_FIELDS: &str = "add.fields";
const ADD_HEADERS_PREFIX: &str = "add.headers.prefix";
const ADD_HEADERS: &str = "add.headers";
const DROP_FIELDS_HEADER: &str = "drop.fields.header.name";
const DROP_FIELDS_FROM_KEY: &str = "drop.fields.from.key";
const DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE: &str = "drop.fields.keep.schema.compatible";

/// The field a rewrite adds (`ExtractNewRecordStateConfigDefinition.DELETED_FIELD`).
const DELETED_FIELD: &str = "__deleted";
/// The default of both prefixes (`METADATA_FIELD_PREFIX`).
const METADATA_FIELD_PREFIX: &str = "__";
const ENVELOPE_SUFFIX: &str = ".Envelope";
const OPERATION: &str = "op";
/// Debezium's `BoundedConcurrentHashMap` size for derived schemas.
const SCHEMA_CACHE_SIZE: usize = 64;

/// Debezium's validation messages list the literals in `HashSet` order.
const DELETE_HANDLING_LITERALS: &str = "drop, none, rewrite";
const DELETE_TOMBSTONE_HANDLING_LITERALS: &str = "drop, tombstone, rewrite-with-tombstone, rewrite";

static CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::with_default(DROP_TOMBSTONES, ConfigType::Boolean, "true")
                .importance(Importance::Low)
                .display("Drop tombstones")
                .doc(
                    "Debezium by default generates a tombstone record to enable Kafka compaction \
                     after a delete record was generated. This record is usually filtered out to \
                     avoid duplicates as a delete record is converted to a tombstone record, too",
                ),
        )
        .define(
            ConfigKey::with_default(HANDLE_DELETES, ConfigType::String, "drop")
                .display("Handle delete records")
                .doc(
                    "How to handle delete records. Options are: none - records are passed,drop - \
                     records are removed (the default),rewrite - __deleted field is added to \
                     records.",
                ),
        )
        .define(
            ConfigKey::optional(HANDLE_TOMBSTONE_DELETES, ConfigType::String)
                .display("Handle delete and tombstone records")
                .doc(
                    "How to handle delete and tombstone records. Options are: drop - Remove the \
                     delete event and tombstone from the stream. tombstone - For each delete \
                     event, leave only a tombstone in the stream. rewrite - Remove tombstone from \
                     the record, and add a `__deleted` field with the value `true`. \
                     rewrite-with-tombstone - Retain tombstone in record and add a `__deleted` \
                     field with the value `true`.",
                ),
        )
        .define(
            ConfigKey::with_default(ROUTE_BY_FIELD, ConfigType::String, "")
                .importance(Importance::Low)
                .display(
                    "The column which determines how the events will be routed, the value will \
                     replace the topic name.",
                ),
        )
        .define(
            ConfigKey::with_default(ADD_FIELDS_PREFIX, ConfigType::String, METADATA_FIELD_PREFIX)
                .importance(Importance::Low)
                .display("Field prefix to be added to each field.")
                .doc("Adds this prefix to each field listed."),
        )
        .define(
            ConfigKey::with_default(ADD_FIELDS, ConfigType::List, "")
                .importance(Importance::Low)
                .display("Adds the specified field(s) to the message if they exist.")
                .doc(
                    "Adds each field listed, prefixed with __ (or __<struct>_ if the struct is \
                     specified). Example: 'version,connector,source.ts_ms' would add __version, \
                     __connector and __source_ts_ms fields. Optionally one can also map new field \
                     name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP.\
                     Please note that the new field name is case-sensitive.",
                ),
        )
        .define(
            ConfigKey::with_default(ADD_HEADERS_PREFIX, ConfigType::String, METADATA_FIELD_PREFIX)
                .importance(Importance::Low)
                .display("Header prefix to be added to each header.")
                .doc("Adds this prefix listed to each header."),
        )
        .define(
            ConfigKey::with_default(ADD_HEADERS, ConfigType::List, "")
                .importance(Importance::Low)
                .display("Adds the specified fields to the header if they exist.")
                .doc(
                    "Adds each field listed to the header,  __ (or __<struct>_ if the struct is \
                     specified). Example: 'version,connector,source.ts_ms' would add __version, \
                     __connector and __source_ts_ms fields. Optionally one can also map new field \
                     name like version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP.\
                     Please note that the new field name is case-sensitive.",
                ),
        )
        .define(
            ConfigKey::optional(DROP_FIELDS_HEADER, ConfigType::String)
                .importance(Importance::Low)
                .display("Specifies a header that contains a list of field names to be removed")
                .doc(
                    "Specifies the name of a header that contains a list of fields to be removed \
                     from the event value.",
                ),
        )
        .define(
            ConfigKey::with_default(DROP_FIELDS_FROM_KEY, ConfigType::Boolean, "false")
                .importance(Importance::Low)
                .display(
                    "Specifies whether the fields to be dropped should also be omitted from the key",
                )
                .doc(
                    "Specifies whether to apply the drop fields behavior to the event key as well \
                     as the value. Default behavior is to only remove fields from the event value, \
                     not the key.",
                ),
        )
        .define(
            ConfigKey::with_default(
                DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE,
                ConfigType::Boolean,
                "true",
            )
            .importance(Importance::Low)
            .display("Specifies if fields are dropped, will the event's schemas be compatible")
            .doc(
                "Controls the output event's schema compatibility when using the drop fields \
                 feature. `true`: dropped fields are removed if the schema indicates its optional \
                 leaving the schemas unchanged, `false`: dropped fields are removed from the \
                 key/value schemas, regardless of optionality.",
            ),
        )
});

pub fn config_def() -> &'static ConfigDef {
    &CONFIG_DEF
}

/// What becomes of a delete event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletes {
    /// Dropped.
    Drop,
    /// A null value with the `after` schema.
    Null,
    /// The `before` row with `__deleted: "true"`.
    Rewrite,
}

/// One `add.fields` / `add.headers` item (Debezium's `FieldReference`).
#[derive(Debug, Clone)]
struct FieldRef {
    /// The envelope struct holding the field (`source`, `transaction`), or `None` for the
    /// envelope's own `op`, `ts_ms`, `ts_us`, `ts_ns`.
    parent: Option<String>,
    field: String,
    /// The added field's or header's name, prefix included.
    name: String,
}

/// Java's `String.split` on a literal separator: trailing empty strings are removed.
fn java_split(s: &str, separator: char) -> Vec<&str> {
    if s.is_empty() {
        return vec![""];
    }
    let mut parts: Vec<&str> = s.split(separator).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

impl FieldRef {
    /// Parses `path[:newName]`, `path` being `field` or `struct.field`.
    fn parse(prefix: &str, item: &str) -> Option<FieldRef> {
        let parts = java_split(item, ':');
        let splits = java_split(parts.first()?, '.');
        let (parent, field, name) = match splits.as_slice() {
            [] => return None,
            [field] => (
                Self::default_parent(field).map(str::to_string),
                field.to_string(),
                format!("{prefix}{field}"),
            ),
            [parent, field, ..] => (
                Some(parent.to_string()),
                field.to_string(),
                format!("{prefix}{parent}_{field}"),
            ),
        };
        let name = match parts.len() {
            1 => name,
            2 => format!("{prefix}{}", parts[1]),
            _ => return None,
        };
        Some(FieldRef {
            parent,
            field,
            name,
        })
    }

    /// Where an unqualified field lives (`FieldReference.determineStruct`).
    fn default_parent(field: &str) -> Option<&'static str> {
        match field {
            "id" | "total_order" | "data_collection_order" => Some("transaction"),
            "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
            _ => Some("source"),
        }
    }

    /// Resolves the item against an envelope schema: `Ok(None)` when the field is neither in
    /// its struct nor at the envelope's top level (the item is skipped), `Err` when the named
    /// struct does not exist (Debezium fails the record).
    fn resolve(&self, envelope: &Schema) -> Result<Option<Added>, String> {
        let (parent, parent_schema) = match &self.parent {
            Some(name) => match envelope.field(name) {
                Some((index, f)) => (Some(index), &f.schema),
                None => {
                    return Err(format!(
                        "Cannot read field {}.{}: the change event schema {} has no field {name}",
                        name,
                        self.field,
                        envelope.name.as_deref().unwrap_or("")
                    ));
                }
            },
            None => (None, envelope),
        };
        if parent_schema.ty != SchemaType::Struct {
            return Err("Cannot look up fields on non-struct type".to_string());
        }
        let (read, source) = match (parent, parent_schema.field(&self.field)) {
            (Some(parent), Some((index, f))) => (Read::InParent { parent, index }, &f.schema),
            (None, Some((index, f))) => (Read::Top(index), &f.schema),
            (Some(parent), None) => match envelope.field(&self.field) {
                Some((top, f)) => (Read::TopIfParent { parent, top }, &f.schema),
                None => return Ok(None),
            },
            (None, None) => return Ok(None),
        };
        Ok(Some(Added {
            name: self.name.clone(),
            schema: Arc::new(optional_copy(source)),
            read,
        }))
    }
}

/// `SchemaUtil.copySchemaBasics(schema).optional().build()`: type, name, version, doc and
/// parameters (an array keeps its element schema; a struct loses its fields), optional, no
/// default.
fn optional_copy(source: &Schema) -> Schema {
    Schema {
        name: source.name.clone(),
        version: source.version,
        doc: source.doc.clone(),
        parameters: source.parameters.clone(),
        key_schema: source.key_schema.clone(),
        value_schema: source.value_schema.clone(),
        ..Schema::primitive(source.ty, true)
    }
}

/// Where an added field's value is read in the envelope struct.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// A top-level envelope field.
    Top(usize),
    /// A field of a struct field of the envelope; null when that struct is null.
    InParent { parent: usize, index: usize },
    /// A top-level field found after the named struct lacked it; null when that struct is null.
    TopIfParent { parent: usize, top: usize },
}

impl Read {
    /// The raw value (`getWithoutDefault`).
    fn value(self, envelope: &[Value]) -> Value {
        let get = |i: usize| envelope.get(i).cloned().unwrap_or(Value::Null);
        match self {
            Read::Top(index) => get(index),
            Read::InParent { parent, index } => match envelope.get(parent) {
                Some(Value::Struct(values)) => values.get(index).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Read::TopIfParent { parent, top } => match envelope.get(parent) {
                None | Some(Value::Null) => Value::Null,
                Some(_) => get(top),
            },
        }
    }
}

/// A resolved `add.fields` / `add.headers` item.
#[derive(Debug, Clone)]
struct Added {
    name: String,
    schema: Arc<Schema>,
    read: Read,
}

impl Added {
    /// The value, checked against the copied schema as `Struct.put` / `Headers.add` do: a
    /// struct copy has no fields, so no struct value fits it.
    fn value(&self, envelope: &[Value]) -> Result<Value> {
        let value = self.read.value(envelope);
        if self.schema.ty == SchemaType::Struct && !value.is_null() {
            return Err(data_error("Struct schemas do not match."));
        }
        Ok(value)
    }
}

/// What is derived once per envelope schema.
struct Plan {
    envelope: Arc<Schema>,
    before: Option<usize>,
    after: Option<usize>,
    /// The `after` field's schema: the value schema of a delete turned into a null value.
    after_schema: Option<Arc<Schema>>,
    fields: Result<Vec<Added>, String>,
    headers: Result<Vec<Added>, String>,
    /// The unwrapped value schema of a create/update (`[0]`) and of a rewritten delete (`[1]`).
    unwrapped: [Option<Arc<Schema>>; 2],
}

fn resolve_all(items: &[FieldRef], envelope: &Schema) -> Result<Vec<Added>, String> {
    let mut added = Vec::with_capacity(items.len());
    for item in items {
        added.extend(item.resolve(envelope)?);
    }
    Ok(added)
}

impl Plan {
    fn new(envelope: Arc<Schema>, fields: &[FieldRef], headers: &[FieldRef]) -> Plan {
        let after = envelope.field("after");
        Plan {
            before: envelope.field("before").map(|(i, _)| i),
            after: after.map(|(i, _)| i),
            after_schema: after.map(|(_, f)| Arc::new(f.schema.clone())),
            fields: resolve_all(fields, &envelope),
            headers: resolve_all(headers, &envelope),
            unwrapped: [None, None],
            envelope,
        }
    }

    fn fields(&self) -> Result<&[Added]> {
        self.fields
            .as_deref()
            .map_err(|message| data_error(message.clone()))
    }

    /// The (cached) schema of an unwrapped `row` (the `after` or `before` field at
    /// `row_index`), with `__deleted` when `deleted`, then the added fields.
    fn unwrapped_schema(&mut self, row_index: usize, deleted: bool) -> Result<Arc<Schema>> {
        let slot = usize::from(Some(row_index) == self.before);
        if let Some(schema) = &self.unwrapped[slot] {
            return Ok(schema.clone());
        }
        let row = &self.envelope.fields[row_index].schema;
        let schema = Arc::new(with_added(&row_schema(row, deleted)?, self.fields()?)?);
        self.unwrapped[slot] = Some(schema.clone());
        Ok(schema)
    }
}

/// The row schema after `ExtractField` and, when `deleted`, `InsertField` (`__deleted`, an
/// optional string).
fn row_schema(row: &Schema, deleted: bool) -> Result<Schema> {
    let mut schema = copy_schema_basics(row);
    schema.fields = row.fields.clone();
    if deleted {
        push_field(
            &mut schema,
            field(DELETED_FIELD, Schema::primitive(SchemaType::String, true)),
        )?;
    }
    Ok(schema)
}

/// The row values; `InsertField` reads null fields with a default as the default.
fn row_values(row: &Schema, mut values: Vec<Value>, deleted: Option<&str>) -> Vec<Value> {
    if let Some(deleted) = deleted {
        for (value, f) in values.iter_mut().zip(&row.fields) {
            if value.is_null() && f.schema.default.is_some() {
                *value = struct_get(&f.schema, value, true);
            }
        }
        values.push(Value::text(deleted));
    }
    values
}

/// `makeUpdatedSchema`: a copy of `schema` with the added fields appended.
fn with_added(schema: &Schema, added: &[Added]) -> Result<Schema> {
    let mut updated = copy_schema_basics(schema);
    updated.fields = schema.fields.clone();
    for a in added {
        push_field(&mut updated, field(&a.name, (*a.schema).clone()))?;
    }
    Ok(updated)
}

/// The row struct's values, or Kafka's `requireStruct` error for `purpose`.
fn row_struct(schema: &Schema, value: Value, purpose: &str) -> Result<Vec<Value>> {
    require_struct(schema, &value, purpose)?;
    match value {
        Value::Struct(values) => Ok(values),
        _ => unreachable!("require_struct accepted a non-struct"),
    }
}

/// `Struct.getString(field)` on a row, for `route.by.field`; `deleted` is the `__deleted` value
/// the row carries, if any.
fn route_value<'v>(
    row: &Schema,
    values: &'v [Value],
    deleted: Option<&'v str>,
    name: &str,
) -> Result<Option<&'v str>> {
    match row.field(name) {
        Some((_, f)) if f.schema.ty != SchemaType::String => {
            Err(data_error(format!("Field '{name}' is not of type STRING")))
        }
        Some((index, _)) => Ok(values.get(index).and_then(Value::as_str)),
        None if deleted.is_some() && name == DELETED_FIELD => Ok(deleted),
        None => Err(data_error(format!("{name} is not a valid field name"))),
    }
}

/// `setTopic`: a null or blank value keeps the topic.
fn set_topic(record: &mut Record, topic: Option<&str>) {
    if let Some(topic) = topic.filter(|t| !t.trim().is_empty()) {
        record.topic = topic.into();
    }
}

/// Connect's `Schema.STRING_SCHEMA`, the schema of `Headers.addString`.
static STRING_SCHEMA: LazyLock<Arc<Schema>> =
    LazyLock::new(|| Arc::new(Schema::primitive(SchemaType::String, false)));

/// Replaces a Debezium change event by its row state.
pub struct ExtractNewRecordState {
    keep_tombstones: bool,
    deletes: Deletes,
    /// Whether creates and updates get `__deleted: "false"`.
    rewrite: bool,
    route_by_field: Option<String>,
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    drop_fields_keep_schema_compatible: bool,
    /// Derived per envelope schema, most recent last, at most [`SCHEMA_CACHE_SIZE`].
    plans: Vec<Plan>,
}

/// Debezium's enum validation (`Field.EnumRecommender`): trimmed, any case.
fn parse_mode<'m>(
    key: &str,
    value: &str,
    modes: &[&'m str],
    literals: &str,
) -> Result<&'m str, ConfigError> {
    let trimmed = value.trim();
    modes
        .iter()
        .find(|m| m.eq_ignore_ascii_case(trimmed))
        .copied()
        .ok_or_else(|| ConfigError::invalid(key, value, format!("Value must be one of {literals}")))
}

fn field_refs(config: &Config, key: &str, prefix: &str) -> Result<Vec<FieldRef>, ConfigError> {
    config
        .list(key)
        .iter()
        .map(|item| {
            FieldRef::parse(prefix, item).ok_or_else(|| {
                ConfigError::invalid(
                    key,
                    config.originals().get(key).map_or("", String::as_str),
                    format!("Unexpected field name: {item}"),
                )
            })
        })
        .collect()
}

pub fn build(config: &Config) -> Result<ExtractNewRecordState, ConfigError> {
    // Debezium reads its string settings untrimmed from the connector's own keys.
    let raw = |key: &str| config.originals().get(key).map(String::as_str);
    let legacy = parse_mode(
        HANDLE_DELETES,
        raw(HANDLE_DELETES).unwrap_or("drop"),
        &["drop", "rewrite", "none"],
        DELETE_HANDLING_LITERALS,
    )?;
    let mode = match raw(HANDLE_TOMBSTONE_DELETES).filter(|v| !v.trim().is_empty()) {
        Some(value) => Some(parse_mode(
            HANDLE_TOMBSTONE_DELETES,
            value,
            &["drop", "tombstone", "rewrite", "rewrite-with-tombstone"],
            DELETE_TOMBSTONE_HANDLING_LITERALS,
        )?),
        None => None,
    };
    let (keep_tombstones, deletes) = match mode {
        Some("drop") => (false, Deletes::Drop),
        Some("tombstone") => (false, Deletes::Null),
        Some("rewrite") => (false, Deletes::Rewrite),
        Some(_) => (true, Deletes::Rewrite),
        None => (
            !config.bool(DROP_TOMBSTONES),
            match legacy {
                "drop" => Deletes::Drop,
                "none" => Deletes::Null,
                _ => Deletes::Rewrite,
            },
        ),
    };
    let fields_prefix = raw(ADD_FIELDS_PREFIX).unwrap_or(METADATA_FIELD_PREFIX);
    let headers_prefix = raw(ADD_HEADERS_PREFIX).unwrap_or(METADATA_FIELD_PREFIX);
    Ok(ExtractNewRecordState {
        keep_tombstones,
        deletes,
        rewrite: deletes == Deletes::Rewrite,
        route_by_field: raw(ROUTE_BY_FIELD)
            .filter(|f| !f.is_empty())
            .map(str::to_string),
        add_fields: field_refs(config, ADD_FIELDS, fields_prefix)?,
        add_headers: field_refs(config, ADD_HEADERS, headers_prefix)?,
        drop_fields_header: raw(DROP_FIELDS_HEADER)
            .filter(|h| !h.trim().is_empty())
            .map(str::to_string),
        drop_fields_from_key: config.bool(DROP_FIELDS_FROM_KEY),
        drop_fields_keep_schema_compatible: config.bool(DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE),
        plans: Vec::new(),
    })
}

fn is_envelope(schema: &Schema) -> bool {
    schema
        .name
        .as_deref()
        .is_some_and(|name| name.ends_with(ENVELOPE_SUFFIX))
}

impl ExtractNewRecordState {
    /// The plan of an envelope schema, derived on first sight.
    fn plan(&mut self, schema: &Arc<Schema>) -> usize {
        if let Some(i) = self
            .plans
            .iter()
            .position(|p| Arc::ptr_eq(&p.envelope, schema))
        {
            return i;
        }
        if let Some(i) = self.plans.iter().position(|p| *p.envelope == **schema) {
            // Same shape in a new allocation: remember this one for the pointer check.
            self.plans[i].envelope = schema.clone();
            return i;
        }
        if self.plans.len() >= SCHEMA_CACHE_SIZE {
            self.plans.remove(0);
        }
        self.plans.push(Plan::new(
            schema.clone(),
            &self.add_fields,
            &self.add_headers,
        ));
        self.plans.len() - 1
    }

    fn tombstone(&self, mut record: Record) -> Option<Record> {
        if !self.keep_tombstones {
            return None;
        }
        for item in self.add_headers.iter().filter(|h| h.field == OPERATION) {
            record.headers.push(Header {
                key: item.name.clone(),
                schema: Some(STRING_SCHEMA.clone()),
                value: Value::text("d"),
            });
        }
        Some(record)
    }

    /// A create, read or update: the `after` row.
    fn upsert(
        &mut self,
        mut record: Record,
        plan: usize,
        mut envelope: Vec<Value>,
        after: usize,
    ) -> Result<Option<Record>> {
        let deleted = self.rewrite.then_some("false");
        let envelope_schema = self.plans[plan].envelope.clone();
        let row = &envelope_schema.fields[after].schema;
        let value = std::mem::replace(&mut envelope[after], Value::Null);
        let purpose = match self.route_by_field {
            Some(_) => "Read record to set topic routing for CREATE / UPDATE",
            None => "source field insertion",
        };
        let values = row_values(row, row_struct(row, value, purpose)?, deleted);
        if let Some(name) = &self.route_by_field {
            set_topic(&mut record, route_value(row, &values, deleted, name)?);
        }
        let plan = &mut self.plans[plan];
        let schema = plan.unwrapped_schema(after, deleted.is_some())?;
        let mut values = values;
        for added in plan.fields()? {
            values.push(added.value(&envelope)?);
        }
        record.value = Part::new(Some(schema), Value::Struct(values));
        self.drop_fields(&mut record)?;
        Ok(Some(record))
    }

    /// A delete: dropped, a null value, or the `before` row marked deleted.
    fn delete(
        &mut self,
        mut record: Record,
        plan: usize,
        mut envelope: Vec<Value>,
        before: usize,
    ) -> Result<Option<Record>> {
        let envelope_schema = self.plans[plan].envelope.clone();
        let row = &envelope_schema.fields[before].schema;
        let topic = match &self.route_by_field {
            Some(name) if self.deletes != Deletes::Drop => {
                if row.ty != SchemaType::Struct {
                    return Err(data_error("Field 'before' is not of type STRUCT"));
                }
                match &envelope[before] {
                    Value::Struct(values) => {
                        route_value(row, values, None, name)?.map(String::from)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match self.deletes {
            Deletes::Drop => return Ok(None),
            Deletes::Null => {
                record.value = Part::new(self.plans[plan].after_schema.clone(), Value::Null);
                set_topic(&mut record, topic.as_deref());
                self.drop_fields(&mut record)?;
                return Ok(Some(record));
            }
            Deletes::Rewrite => {}
        }
        let value = std::mem::replace(&mut envelope[before], Value::Null);
        let values = row_values(
            row,
            row_struct(row, value, "source field insertion")?,
            Some("true"),
        );
        set_topic(&mut record, topic.as_deref());
        if self.drop_fields_header.is_none() {
            let plan = &mut self.plans[plan];
            let schema = plan.unwrapped_schema(before, true)?;
            let mut values = values;
            for added in plan.fields()? {
                values.push(added.value(&envelope)?);
            }
            record.value = Part::new(Some(schema), Value::Struct(values));
            return Ok(Some(record));
        }
        // Fields are dropped before add.fields on this path: nothing to cache.
        record.value = Part::new(
            Some(Arc::new(row_schema(row, true)?)),
            Value::Struct(values),
        );
        self.drop_fields(&mut record)?;
        let plan = &self.plans[plan];
        let Some(schema) = record.value.schema.clone() else {
            return Ok(Some(record));
        };
        let value = std::mem::replace(&mut record.value.value, Value::Null);
        let mut values = row_struct(&schema, value, "source field insertion")?;
        let added = plan.fields()?;
        for a in added {
            values.push(a.value(&envelope)?);
        }
        record.value = Part::new(
            Some(Arc::new(with_added(&schema, added)?)),
            Value::Struct(values),
        );
        Ok(Some(record))
    }

    /// Removes the fields the `drop.fields.header.name` header lists (Kafka's
    /// `ReplaceField exclude`), from the value and, with `drop.fields.from.key`, the key.
    fn drop_fields(&self, record: &mut Record) -> Result<()> {
        let Some(header) = &self.drop_fields_header else {
            return Ok(());
        };
        let Some(header) = record.headers.iter().find(|h| h.key == *header) else {
            return Ok(());
        };
        let names: Vec<String> = match &header.value {
            Value::Null => return Ok(()),
            Value::Array(items) => items
                .iter()
                .map(|item| match item.as_str() {
                    Some(name) => Ok(name.to_string()),
                    None => Err(data_error(format!(
                        "class {} cannot be cast to class java.lang.String",
                        java_class(item)
                    ))),
                })
                .collect::<Result<_>>()?,
            other => {
                return Err(data_error(format!(
                    "class {} cannot be cast to class java.util.List",
                    java_class(other)
                )));
            }
        };
        if names.is_empty() {
            return Ok(());
        }
        if self.drop_fields_from_key && !record.key.value.is_null() {
            let drop = self.fields_to_drop(&record.key, &names, "key")?;
            if !drop.is_empty() {
                record.key = exclude(&record.key, &drop)?;
            }
        }
        let drop = self.fields_to_drop(&record.value, &names, "value")?;
        if !drop.is_empty() {
            record.value = exclude(&record.value, &drop)?;
        }
        Ok(())
    }

    /// The listed fields, or with `drop.fields.keep.schema.compatible` only the optional ones.
    fn fields_to_drop(&self, part: &Part, names: &[String], side: &str) -> Result<Vec<String>> {
        if !self.drop_fields_keep_schema_compatible {
            return Ok(names.to_vec());
        }
        let Some(schema) = &part.schema else {
            return Err(data_error(format!(
                "Cannot tell the optional fields of a {side} without a schema \
                 (drop.fields.keep.schema.compatible=true)"
            )));
        };
        Ok(schema
            .fields
            .iter()
            .filter(|f| f.schema.optional && names.contains(&f.name))
            .map(|f| f.name.clone())
            .collect())
    }
}

/// Kafka's `ReplaceField` with `exclude`: a null value passes; a struct gets a copy of its
/// schema without the fields (values read with defaults, as `Struct.get`); a schemaless map
/// loses the keys.
fn exclude(part: &Part, drop: &[String]) -> Result<Part> {
    const PURPOSE: &str = "field replacement";
    if part.value.is_null() {
        return Ok(part.clone());
    }
    let Some(schema) = &part.schema else {
        let entries = require_map(&part.value, PURPOSE)?;
        let kept = entries
            .iter()
            .filter(|(k, _)| !k.as_str().is_some_and(|k| drop.iter().any(|d| d == k)))
            .cloned()
            .collect();
        return Ok(Part::new(None, Value::Map(kept)));
    };
    let values = require_struct(schema, &part.value, PURPOSE)?;
    let mut updated = copy_schema_basics(schema);
    let mut kept = Vec::with_capacity(values.len());
    for (f, value) in schema.fields.iter().zip(values) {
        if !drop.contains(&f.name) {
            kept.push(struct_get(&f.schema, value, true));
            updated.fields.push(f.clone());
        }
    }
    Ok(Part::new(Some(Arc::new(updated)), Value::Struct(kept)))
}

impl Transformation for ExtractNewRecordState {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        if record.is_tombstone() {
            return Ok(self.tombstone(record));
        }
        let schema = match &record.value.schema {
            Some(schema) if is_envelope(schema) => schema.clone(),
            _ => return Ok(Some(record)),
        };
        let plan = self.plan(&schema);
        let value = std::mem::replace(&mut record.value.value, Value::Null);
        let envelope = row_struct(&schema, value, "field extraction")?;
        if !self.add_headers.is_empty() {
            let headers = self.plans[plan]
                .headers
                .as_ref()
                .map_err(|message| data_error(message.clone()))?;
            for added in headers {
                record.headers.push(Header {
                    key: added.name.clone(),
                    schema: Some(added.schema.clone()),
                    value: added.value(&envelope)?,
                });
            }
        }
        let Some(after) = self.plans[plan].after else {
            return Err(data_error("Unknown field: after"));
        };
        if !envelope[after].is_null() {
            return self.upsert(record, plan, envelope, after);
        }
        let Some(before) = self.plans[plan].before else {
            return Err(data_error("Unknown field: before"));
        };
        if envelope[before].is_null() {
            // A truncate or a message event.
            return Ok(None);
        }
        self.delete(record, plan, envelope, before)
    }
}

