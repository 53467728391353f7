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

use crate::config::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, java_split,
};
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

pub(crate) fn config_def() -> &'static ConfigDef {
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
pub(crate) struct ExtractNewRecordState {
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

pub(crate) fn build(config: &Config) -> Result<ExtractNewRecordState, ConfigError> {
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
    /// An envelope's `before` and `after`, and the fields `add.fields` and `add.headers` read
    /// from: `source`, `transaction` and the rest are neither passed on nor read.
    fn value_fields_read(&self, schema: &Schema) -> Option<Vec<bool>> {
        if schema.ty != SchemaType::Struct || !is_envelope(schema) {
            return None;
        }
        let mut read = vec![false; schema.fields.len()];
        let names = ["before", "after"].into_iter().chain(
            self.add_fields
                .iter()
                .chain(&self.add_headers)
                .map(|r| r.parent.as_deref().unwrap_or(&r.field)),
        );
        for name in names {
            if let Some((index, _)) = schema.field(name) {
                read[index] = true;
            }
        }
        Some(read)
    }

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

#[cfg(test)]
mod tests {
    //! Envelopes as Debezium 2.7's MySQL connector writes them for the tutorial's
    //! `inventory.customers` table; expectations from Debezium's `ExtractNewRecordStateTest` and
    //! the event-flattening documentation.

    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Field;
    use crate::transform::Chain;
    use crate::transform::registry;
    use crate::transform::util::fixtures::opt;

    const TOPIC: &str = "dbserver1.inventory.customers";

    fn req(ty: SchemaType) -> Schema {
        Schema::primitive(ty, false)
    }

    fn fields(pairs: Vec<(&str, Schema)>) -> Vec<Field> {
        pairs.into_iter().map(|(n, s)| field(n, s)).collect()
    }

    /// `dbserver1.inventory.customers.Value`, optional as in `before`/`after`.
    fn customers_value() -> Schema {
        Schema::structure(
            Some(format!("{TOPIC}.Value")),
            fields(vec![
                ("id", req(SchemaType::Int32)),
                ("first_name", req(SchemaType::String)),
                ("last_name", req(SchemaType::String)),
                ("email", req(SchemaType::String)),
            ]),
            true,
        )
    }

    /// `io.debezium.connector.mysql.Source` (2.7).
    fn mysql_source() -> Schema {
        let snapshot = Schema {
            name: Some("io.debezium.data.Enum".into()),
            version: Some(1),
            parameters: vec![("allowed".into(), "true,last,false,incremental".into())],
            default: Some(Box::new(Value::text("false"))),
            ..opt(SchemaType::String)
        };
        Schema::structure(
            Some("io.debezium.connector.mysql.Source".into()),
            fields(vec![
                ("version", req(SchemaType::String)),
                ("connector", req(SchemaType::String)),
                ("name", req(SchemaType::String)),
                ("ts_ms", req(SchemaType::Int64)),
                ("snapshot", snapshot),
                ("db", req(SchemaType::String)),
                ("sequence", opt(SchemaType::String)),
                ("ts_us", opt(SchemaType::Int64)),
                ("ts_ns", opt(SchemaType::Int64)),
                ("table", opt(SchemaType::String)),
                ("server_id", req(SchemaType::Int64)),
                ("gtid", opt(SchemaType::String)),
                ("file", req(SchemaType::String)),
                ("pos", req(SchemaType::Int64)),
                ("row", req(SchemaType::Int32)),
                ("thread", opt(SchemaType::Int64)),
                ("query", opt(SchemaType::String)),
            ]),
            false,
        )
    }

    /// `event.block`, the transaction metadata block.
    fn transaction_block() -> Schema {
        Schema {
            version: Some(1),
            ..Schema::structure(
                Some("event.block".into()),
                fields(vec![
                    ("id", req(SchemaType::String)),
                    ("total_order", req(SchemaType::Int64)),
                    ("data_collection_order", req(SchemaType::Int64)),
                ]),
                true,
            )
        }
    }

    fn envelope_of(row: Schema) -> Arc<Schema> {
        Arc::new(Schema {
            version: Some(1),
            ..Schema::structure(
                Some(format!("{TOPIC}.Envelope")),
                fields(vec![
                    ("before", row.clone()),
                    ("after", row),
                    ("source", mysql_source()),
                    ("op", req(SchemaType::String)),
                    ("ts_ms", opt(SchemaType::Int64)),
                    ("ts_us", opt(SchemaType::Int64)),
                    ("ts_ns", opt(SchemaType::Int64)),
                    ("transaction", transaction_block()),
                ]),
                false,
            )
        })
    }

    static ENVELOPE: LazyLock<Arc<Schema>> = LazyLock::new(|| envelope_of(customers_value()));

    fn key_schema() -> Arc<Schema> {
        Arc::new(Schema::structure(
            Some(format!("{TOPIC}.Key")),
            fields(vec![("id", req(SchemaType::Int32))]),
            false,
        ))
    }

    fn anne(first_name: &str) -> Value {
        Value::Struct(vec![
            Value::Int(1004),
            Value::text(first_name),
            Value::text("Kretchmar"),
            Value::text("annek@noanswer.org"),
        ])
    }

    fn source(snapshot: &str) -> Value {
        Value::Struct(vec![
            Value::text("2.7.3.Final"),
            Value::text("mysql"),
            Value::text("dbserver1"),
            Value::Int(1486500577000),
            Value::text(snapshot),
            Value::text("inventory"),
            Value::Null,
            Value::Int(1486500577000000),
            Value::Int(1486500577000000000),
            Value::text("customers"),
            Value::Int(223344),
            Value::Null,
            Value::text("mysql-bin.000003"),
            Value::Int(364),
            Value::Int(0),
            Value::Int(7),
            Value::Null,
        ])
    }

    fn transaction() -> Value {
        Value::Struct(vec![Value::text("571"), Value::Int(42), Value::Int(1)])
    }

    /// A change event on `schema` (an envelope of the customers table's shape).
    fn event_on(schema: &Arc<Schema>, op: &str, before: Value, after: Value) -> Record {
        let tx = match op {
            "r" => Value::Null,
            _ => transaction(),
        };
        let snapshot = if op == "r" { "true" } else { "false" };
        let envelope = Value::Struct(vec![
            before,
            after,
            source(snapshot),
            Value::text(op),
            Value::Int(1486500577691),
            Value::Int(1486500577691547),
            Value::Int(1486500577691547271),
            tx,
        ]);
        Record {
            topic: TOPIC.into(),
            partition: Some(0),
            offset: None,
            key: Part::new(Some(key_schema()), Value::Struct(vec![Value::Int(1004)])),
            value: Part::new(Some(schema.clone()), envelope),
            timestamp: Some(1486500577700),
            headers: Vec::new(),
        }
    }

    fn event(op: &str) -> Record {
        match op {
            "c" | "r" => event_on(&ENVELOPE, op, Value::Null, anne("Anne")),
            "u" => event_on(&ENVELOPE, op, anne("Anne"), anne("Anne Marie")),
            "d" => event_on(&ENVELOPE, op, anne("Anne Marie"), Value::Null),
            "t" => event_on(&ENVELOPE, op, Value::Null, Value::Null),
            _ => unreachable!(),
        }
    }

    fn tombstone() -> Record {
        Record {
            value: Part::NULL,
            ..event("d")
        }
    }

    fn config(pairs: &[(&str, &str)]) -> Result<ExtractNewRecordState, ConfigError> {
        build(&crate::transform::util::parse_pairs(config_def(), pairs)?)
    }

    fn transform(pairs: &[(&str, &str)]) -> ExtractNewRecordState {
        config(pairs).unwrap()
    }

    fn apply(smt: &mut ExtractNewRecordState, record: Record) -> Option<Record> {
        smt.apply(record).unwrap()
    }

    fn error(smt: &mut ExtractNewRecordState, record: Record) -> String {
        smt.apply(record).unwrap_err().context().to_string()
    }

    /// The unwrapped row's schema: `copySchemaBasics` (required) + the row's fields + `extra`.
    fn unwrapped(extra: Vec<(&str, Schema)>) -> Schema {
        let mut schema = Schema {
            optional: false,
            ..customers_value()
        };
        schema.fields.extend(fields(extra));
        schema
    }

    /// Asserts that `out` is the unwrapped `row` followed by the `added` fields (name, schema,
    /// value), in its schema and in its value.
    fn assert_unwrapped(out: &Record, row: Value, added: &[(&str, Schema, Value)]) {
        let schema = unwrapped(added.iter().map(|(n, s, _)| (*n, s.clone())).collect());
        assert_eq!(out.value.schema.as_deref(), Some(&schema));
        let values = added.iter().map(|(_, _, v)| v.clone()).collect();
        assert_eq!(out.value.value, with(row, values));
    }

    fn with(row: Value, extra: Vec<Value>) -> Value {
        match row {
            Value::Struct(mut values) => {
                values.extend(extra);
                Value::Struct(values)
            }
            _ => unreachable!(),
        }
    }

    fn header(key: &str, schema: Schema, value: Value) -> Header {
        Header {
            key: key.into(),
            schema: Some(Arc::new(schema)),
            value,
        }
    }

    #[test]
    fn create_read_and_update_become_the_after_row() {
        let mut smt = transform(&[]);
        for (op, row) in [
            ("c", anne("Anne")),
            ("r", anne("Anne")),
            ("u", anne("Anne Marie")),
        ] {
            let input = event(op);
            let out = apply(&mut smt, input.clone()).unwrap();
            assert_eq!(
                out.value.schema.as_deref(),
                Some(&unwrapped(vec![])),
                "{op}"
            );
            assert_eq!(out.value.value, row, "{op}");
            assert_eq!(out.key, input.key);
            assert_eq!(out.topic, input.topic);
            assert_eq!(out.partition, Some(0));
            assert_eq!(out.timestamp, input.timestamp);
            assert!(out.headers.is_empty());
        }
    }

    #[test]
    fn by_default_deletes_and_tombstones_are_dropped() {
        // delete.tombstone.handling.mode unset: drop.tombstones=true, delete.handling.mode=drop.
        let mut smt = transform(&[]);
        assert_eq!(apply(&mut smt, event("d")), None);
        assert_eq!(apply(&mut smt, tombstone()), None);
    }

    #[test]
    fn legacy_none_keeps_deletes_as_null_values_and_tombstones_when_asked() {
        let mut smt = transform(&[(HANDLE_DELETES, "none"), (DROP_TOMBSTONES, "false")]);
        let out = apply(&mut smt, event("d")).unwrap();
        // The value schema is the `after` schema (optional), not null: the JDBC sink's delete.
        assert_eq!(out.value.schema.as_deref(), Some(&customers_value()));
        assert_eq!(out.value.value, Value::Null);
        assert_eq!(out.key, event("d").key);
        assert_eq!(apply(&mut smt, tombstone()), Some(tombstone()));
    }

    #[test]
    fn legacy_rewrite_marks_every_row() {
        let mut smt = transform(&[(HANDLE_DELETES, "rewrite")]);
        let deleted = vec![("__deleted", opt(SchemaType::String))];
        let out = apply(&mut smt, event("c")).unwrap();
        assert_eq!(
            out.value.schema.as_deref(),
            Some(&unwrapped(deleted.clone()))
        );
        assert_eq!(
            out.value.value,
            with(anne("Anne"), vec![Value::text("false")])
        );
        let out = apply(&mut smt, event("d")).unwrap();
        assert_eq!(out.value.schema.as_deref(), Some(&unwrapped(deleted)));
        assert_eq!(
            out.value.value,
            with(anne("Anne Marie"), vec![Value::text("true")])
        );
        // drop.tombstones keeps its default, true.
        assert_eq!(apply(&mut smt, tombstone()), None);
    }

    #[test]
    fn delete_tombstone_handling_modes() {
        let rewritten = with(anne("Anne Marie"), vec![Value::text("true")]);
        for (mode, delete, keeps_tombstone) in [
            ("drop", None, false),
            ("tombstone", Some(Value::Null), false),
            ("rewrite", Some(rewritten.clone()), false),
            ("rewrite-with-tombstone", Some(rewritten.clone()), true),
            (" Rewrite-With-Tombstone ", Some(rewritten.clone()), true),
        ] {
            // The new key wins over the deprecated pair.
            let mut smt = transform(&[
                (HANDLE_TOMBSTONE_DELETES, mode),
                (DROP_TOMBSTONES, "false"),
                (HANDLE_DELETES, "none"),
            ]);
            let out = apply(&mut smt, event("d"));
            assert_eq!(out.map(|r| r.value.value), delete, "{mode}");
            assert_eq!(
                apply(&mut smt, tombstone()).is_some(),
                keeps_tombstone,
                "{mode}"
            );
            let create = apply(&mut smt, event("c")).unwrap().value.value;
            let marked = mode.contains("rewrite") || mode.contains("Rewrite");
            let expected = match marked {
                true => with(anne("Anne"), vec![Value::text("false")]),
                false => anne("Anne"),
            };
            assert_eq!(create, expected, "{mode}");
        }
        let mut smt = transform(&[(HANDLE_TOMBSTONE_DELETES, "tombstone")]);
        let out = apply(&mut smt, event("d")).unwrap();
        assert_eq!(out.value.schema.as_deref(), Some(&customers_value()));
    }

    #[test]
    fn truncate_events_are_dropped() {
        for mode in ["drop", "tombstone", "rewrite", "rewrite-with-tombstone"] {
            let mut smt = transform(&[(HANDLE_TOMBSTONE_DELETES, mode)]);
            assert_eq!(apply(&mut smt, event("t")), None, "{mode}");
        }
        let mut smt = transform(&[(HANDLE_DELETES, "none"), (DROP_TOMBSTONES, "false")]);
        assert_eq!(apply(&mut smt, event("t")), None);
    }

    #[test]
    fn add_fields_appends_optional_copies_after_the_row() {
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "rewrite"),
            (ADD_FIELDS, "op,table,db,source.ts_ms,ts_ms"),
        ]);
        let (text, int) = (opt(SchemaType::String), opt(SchemaType::Int64));
        let out = apply(&mut smt, event("c")).unwrap();
        assert_unwrapped(
            &out,
            anne("Anne"),
            &[
                ("__deleted", text.clone(), Value::text("false")),
                ("__op", text.clone(), Value::text("c")),
                ("__table", text.clone(), Value::text("customers")),
                ("__db", text, Value::text("inventory")),
                ("__source_ts_ms", int.clone(), Value::Int(1486500577000)),
                ("__ts_ms", int, Value::Int(1486500577691)),
            ],
        );
        // testAddFieldsHandleDeleteRewrite: a rewritten delete carries `__op: d`.
        let out = apply(&mut smt, event("d")).unwrap();
        assert_eq!(
            out.value.value,
            with(
                anne("Anne Marie"),
                vec![
                    Value::text("true"),
                    Value::text("d"),
                    Value::text("customers"),
                    Value::text("inventory"),
                    Value::Int(1486500577000),
                    Value::Int(1486500577691),
                ]
            )
        );
    }

    #[test]
    fn add_fields_reads_structs_renames_and_skips_missing_fields() {
        // testAddFields: bare `id` is transaction.id, other bare names come from `source`.
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "tombstone"),
            (ADD_FIELDS, "op , pos,id"),
            (ADD_FIELDS_PREFIX, "prefix."),
        ]);
        let (text, int) = (opt(SchemaType::String), opt(SchemaType::Int64));
        let out = apply(&mut smt, event("u")).unwrap();
        assert_unwrapped(
            &out,
            anne("Anne Marie"),
            &[
                ("prefix.op", text.clone(), Value::text("u")),
                ("prefix.pos", int.clone(), Value::Int(364)),
                ("prefix.id", text.clone(), Value::text("571")),
            ],
        );
        // testAddFieldsForMissingOptionalField: no transaction block in a snapshot read.
        let out = apply(&mut smt, event("r")).unwrap();
        assert_eq!(
            out.value.value,
            with(
                anne("Anne"),
                vec![Value::text("r"), Value::Int(364), Value::Null]
            )
        );

        // testAddFieldsSpecifyStruct and testNewFieldAndHeaderMapping / testFieldNotExists.
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "tombstone"),
            (
                ADD_FIELDS,
                "notExisting,op:OP,source.file:BINLOG,transaction.id,\
                 transaction.total_order:TOTAL_ORDER",
            ),
            (ADD_FIELDS_PREFIX, ""),
        ]);
        let out = apply(&mut smt, event("u")).unwrap();
        assert_unwrapped(
            &out,
            anne("Anne Marie"),
            &[
                ("OP", text.clone(), Value::text("u")),
                ("BINLOG", text.clone(), Value::text("mysql-bin.000003")),
                ("transaction_id", text, Value::text("571")),
                ("TOTAL_ORDER", int, Value::Int(42)),
            ],
        );
    }

    #[test]
    fn added_field_schemas_copy_name_and_parameters_but_not_the_default() {
        let mut smt = transform(&[(ADD_FIELDS, "snapshot")]);
        let out = apply(&mut smt, event("r")).unwrap();
        let schema = out.value.schema.unwrap();
        let (_, snapshot) = schema.field("__snapshot").unwrap();
        assert_eq!(
            snapshot.schema,
            Schema {
                name: Some("io.debezium.data.Enum".into()),
                version: Some(1),
                parameters: vec![("allowed".into(), "true,last,false,incremental".into())],
                ..opt(SchemaType::String)
            }
        );
    }

    #[test]
    fn add_headers_on_change_events_and_kept_tombstones() {
        // testAddHeadersHandleDeleteRewriteAndTombstone.
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "rewrite-with-tombstone"),
            (ADD_HEADERS, "op,source.pos,db"),
        ]);
        let out = apply(&mut smt, event("d")).unwrap();
        assert_eq!(
            out.value.value,
            with(anne("Anne Marie"), vec![Value::text("true")])
        );
        assert_eq!(
            out.headers,
            [
                header("__op", opt(SchemaType::String), Value::text("d")),
                header("__source_pos", opt(SchemaType::Int64), Value::Int(364)),
                header("__db", opt(SchemaType::String), Value::text("inventory")),
            ]
        );
        // A tombstone only gets the operation, as Headers.addString (a required string).
        let out = apply(&mut smt, tombstone()).unwrap();
        assert_eq!(out.value, Part::NULL);
        assert_eq!(
            out.headers,
            [header("__op", req(SchemaType::String), Value::text("d"))]
        );

        // testHandleCreateRewrite / testUnwrapPropagatesRecordHeaders: existing headers stay.
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "rewrite"),
            (ADD_HEADERS, "op"),
            (ADD_HEADERS_PREFIX, "dbz."),
        ]);
        let mut input = event("c");
        let existing = header("trace", req(SchemaType::String), Value::text("abc"));
        input.headers.push(existing.clone());
        let out = apply(&mut smt, input).unwrap();
        assert_eq!(
            out.headers,
            [
                existing,
                header("dbz.op", opt(SchemaType::String), Value::text("c"))
            ]
        );
        assert_eq!(
            out.value.value,
            with(anne("Anne"), vec![Value::text("false")])
        );
    }

    #[test]
    fn records_that_are_not_change_events_pass_unchanged() {
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "rewrite"),
            (ADD_HEADERS, "op,source.pos"),
            (ADD_FIELDS, "op"),
            (ROUTE_BY_FIELD, "last_name"),
        ]);
        let heartbeat_schema = Schema::structure(
            Some("io.debezium.connector.common.Heartbeat".into()),
            fields(vec![("ts_ms", req(SchemaType::Int64))]),
            false,
        );
        let heartbeat = Record {
            key: Part::new(
                Some(Arc::new(Schema::structure(
                    Some("io.debezium.connector.common.ServerNameKey".into()),
                    fields(vec![("serverName", req(SchemaType::String))]),
                    false,
                ))),
                Value::Struct(vec![Value::text("dbserver1")]),
            ),
            ..Record::new(
                "__debezium-heartbeat.dbserver1",
                Part::new(
                    Some(Arc::new(heartbeat_schema)),
                    Value::Struct(vec![Value::Int(1486500577691)]),
                ),
            )
        };
        let schema_change = Record::new(
            "dbserver1",
            Part::new(
                Some(Arc::new(Schema::structure(
                    Some("io.debezium.connector.mysql.SchemaChangeValue".into()),
                    fields(vec![
                        ("source", mysql_source()),
                        ("ts_ms", req(SchemaType::Int64)),
                        ("databaseName", opt(SchemaType::String)),
                        ("schemaName", opt(SchemaType::String)),
                        ("ddl", opt(SchemaType::String)),
                    ]),
                    false,
                ))),
                Value::Struct(vec![
                    source("false"),
                    Value::Int(1486500577691),
                    Value::text("inventory"),
                    Value::Null,
                    Value::text("ALTER TABLE customers ADD COLUMN phone VARCHAR(20)"),
                ]),
            ),
        );
        let unnamed = Record::new(
            TOPIC,
            Part::new(
                Some(Arc::new(Schema::structure(
                    None,
                    fields(vec![("id", req(SchemaType::Int8))]),
                    false,
                ))),
                Value::Struct(vec![Value::Int(1)]),
            ),
        );
        // Schemaless JSON (JsonConverter with schemas.enable=false): no schema, no envelope.
        let schemaless = Record::new(
            TOPIC,
            Part::new(
                None,
                Value::Map(vec![
                    (Value::text("op"), Value::text("c")),
                    (Value::text("after"), Value::Map(vec![])),
                ]),
            ),
        );
        for record in [heartbeat, schema_change, unnamed, schemaless] {
            assert_eq!(apply(&mut smt, record.clone()), Some(record));
        }
    }

    #[test]
    fn route_by_field_reads_the_row() {
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "tombstone"),
            (ROUTE_BY_FIELD, "first_name"),
        ]);
        // testAddTopicRoutingField / testUpdateTopicRoutingField / testDeleteTopicRoutingField.
        assert_eq!(&*apply(&mut smt, event("c")).unwrap().topic, "Anne");
        assert_eq!(&*apply(&mut smt, event("u")).unwrap().topic, "Anne Marie");
        let delete = apply(&mut smt, event("d")).unwrap();
        assert_eq!(&*delete.topic, "Anne Marie");
        assert_eq!(delete.value.value, Value::Null);
        // A blank value keeps the topic.
        let blank = event_on(&ENVELOPE, "c", Value::Null, anne(" "));
        assert_eq!(&*apply(&mut smt, blank).unwrap().topic, TOPIC);

        let mut smt = transform(&[(ROUTE_BY_FIELD, "nope")]);
        assert_eq!(
            error(&mut smt, event("c")),
            "nope is not a valid field name"
        );
        let mut smt = transform(&[(ROUTE_BY_FIELD, "id")]);
        assert_eq!(
            error(&mut smt, event("c")),
            "Field 'id' is not of type STRING"
        );
    }

    #[test]
    fn rewrite_reads_null_fields_as_their_default_other_modes_keep_null() {
        // DBZ-5166 and DBZ-7094: InsertField (rewrite) applies the default, ExtractField not.
        let mut row = customers_value();
        row.fields[3].schema =
            opt(SchemaType::String).with_default(Value::text("none@example.com"));
        let envelope = envelope_of(row);
        let after = Value::Struct(vec![
            Value::Int(1005),
            Value::text("Jane"),
            Value::text("Doe"),
            Value::Null,
        ]);
        let record = event_on(&envelope, "c", Value::Null, after);
        let mut smt = transform(&[(HANDLE_TOMBSTONE_DELETES, "tombstone")]);
        let out = apply(&mut smt, record.clone()).unwrap();
        let Value::Struct(values) = out.value.value else {
            panic!()
        };
        assert_eq!(values[3], Value::Null);
        // The copied row schema keeps the field's default.
        let schema = out.value.schema.unwrap();
        assert!(schema.fields[3].schema.default.is_some());
        let mut smt = transform(&[(HANDLE_TOMBSTONE_DELETES, "rewrite")]);
        let Value::Struct(values) = apply(&mut smt, record).unwrap().value.value else {
            panic!()
        };
        assert_eq!(values[3], Value::text("none@example.com"));
        assert_eq!(values[4], Value::text("false"));
    }

    /// A row whose `email` is optional, with the `drop-fields` header listing `id` and `email`.
    fn drop_fields_event(op: &str) -> Record {
        let mut row = customers_value();
        row.fields[3].schema = opt(SchemaType::String);
        let envelope = envelope_of(row);
        let mut record = match op {
            "c" => event_on(&envelope, op, Value::Null, anne("Anne")),
            _ => event_on(&envelope, op, anne("Anne"), Value::Null),
        };
        record.headers.push(Header {
            key: "drop-fields".into(),
            schema: Some(Arc::new(Schema::array(req(SchemaType::String), false))),
            value: Value::Array(vec![Value::text("id"), Value::text("email")]),
        });
        record
    }

    fn names(part: &Part) -> Vec<String> {
        let schema = part.schema.as_deref().unwrap();
        schema.fields.iter().map(|f| f.name.clone()).collect()
    }

    #[test]
    fn drop_fields_header_removes_listed_fields() {
        // dropFieldsFromValueWithSchemaCompatibility: only the optional field goes.
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "rewrite"),
            (DROP_FIELDS_HEADER, "drop-fields"),
            (ADD_FIELDS, "op"),
        ]);
        let out = apply(&mut smt, drop_fields_event("c")).unwrap();
        assert_eq!(
            names(&out.value),
            ["id", "first_name", "last_name", "__deleted", "__op"]
        );
        assert_eq!(
            out.value.value,
            Value::Struct(vec![
                Value::Int(1004),
                Value::text("Anne"),
                Value::text("Kretchmar"),
                Value::text("false"),
                Value::text("c"),
            ])
        );
        assert_eq!(out.key, drop_fields_event("c").key);
        // On a delete the fields go before add.fields are appended.
        let out = apply(&mut smt, drop_fields_event("d")).unwrap();
        assert_eq!(
            names(&out.value),
            ["id", "first_name", "last_name", "__deleted", "__op"]
        );

        // dropFieldsFromValueAndKeyWithoutSchemaCompatibility: every listed field goes.
        let mut smt = transform(&[
            (HANDLE_TOMBSTONE_DELETES, "drop"),
            (DROP_FIELDS_HEADER, "drop-fields"),
            (DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE, "false"),
            (DROP_FIELDS_FROM_KEY, "true"),
        ]);
        let out = apply(&mut smt, drop_fields_event("c")).unwrap();
        assert_eq!(names(&out.value), ["first_name", "last_name"]);
        assert_eq!(out.key.value, Value::Struct(vec![]));
        assert_eq!(
            out.key.schema.as_deref().map(|s| s.name.as_deref()),
            Some(Some("dbserver1.inventory.customers.Key"))
        );
    }

    #[test]
    fn unwrapped_schemas_are_cached_per_envelope_schema() {
        let mut smt = transform(&[(ADD_FIELDS, "op")]);
        let first = apply(&mut smt, event("c")).unwrap().value.schema.unwrap();
        let second = apply(&mut smt, event("u")).unwrap().value.schema.unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        // An equal schema in another allocation hits the same entry.
        let copy = Arc::new((**ENVELOPE).clone());
        let third = apply(&mut smt, event_on(&copy, "c", Value::Null, anne("A")));
        assert!(Arc::ptr_eq(&first, &third.unwrap().value.schema.unwrap()));
        assert_eq!(smt.plans.len(), 1);
    }

    #[test]
    fn record_errors_name_the_problem() {
        // A field name taken twice (prefix "" and a row column).
        let mut smt = transform(&[(ADD_FIELDS, "op:email"), (ADD_FIELDS_PREFIX, "")]);
        assert_eq!(
            error(&mut smt, event("c")),
            "Cannot create field because of field name duplication email"
        );
        // A struct the envelope does not have (Debezium fails with a NullPointerException).
        let mut smt = transform(&[(ADD_FIELDS, "nope.x")]);
        assert!(error(&mut smt, event("c")).contains("has no field nope"));
        // ... but a delete that is dropped never reads add.fields.
        assert_eq!(apply(&mut smt, event("d")), None);
        // A whole struct cannot be added: its copied schema has no fields.
        let mut smt = transform(&[(ADD_FIELDS, "transaction")]);
        assert_eq!(error(&mut smt, event("u")), "Struct schemas do not match.");
        // An envelope whose value is not a struct, or without `after`.
        let mut smt = transform(&[]);
        let mut bad = event("c");
        bad.value.value = Value::text("x");
        assert_eq!(
            error(&mut smt, bad),
            "Only Struct objects supported for [field extraction], found: java.lang.String"
        );
        let mut no_after = (**ENVELOPE).clone();
        no_after.fields.remove(1);
        let no_after = Arc::new(no_after);
        let mut record = event("c");
        record.value = Part::new(
            Some(no_after),
            Value::Struct(vec![Value::Null, source("false"), Value::text("c")]),
        );
        assert_eq!(error(&mut smt, record), "Unknown field: after");
    }

    #[test]
    fn config_errors_name_the_key() {
        let message = |pairs: &[(&str, &str)]| config(pairs).err().unwrap().to_string();
        assert_eq!(
            message(&[(HANDLE_DELETES, "sometimes")]),
            "Invalid value sometimes for configuration delete.handling.mode: \
             Value must be one of drop, none, rewrite"
        );
        // `delete-to-tombstone` arrived in Debezium 3.2.
        assert_eq!(
            message(&[(HANDLE_TOMBSTONE_DELETES, "delete-to-tombstone")]),
            "Invalid value delete-to-tombstone for configuration delete.tombstone.handling.mode: \
             Value must be one of drop, tombstone, rewrite-with-tombstone, rewrite"
        );
        assert_eq!(
            message(&[(DROP_TOMBSTONES, "yes")]),
            "Invalid value yes for configuration drop.tombstones: \
             Expected value to be either true or false"
        );
        assert_eq!(
            message(&[(ADD_HEADERS, "op:a:b")]),
            "Invalid value op:a:b for configuration add.headers: Unexpected field name: op:a:b"
        );
        // Case and surrounding blanks are accepted, as Debezium's parse does.
        assert!(config(&[(HANDLE_DELETES, " REWRITE ")]).is_ok());
    }

    #[test]
    fn java_split_drops_trailing_empty_strings() {
        assert_eq!(java_split("op:", ':'), ["op"]);
        assert_eq!(java_split("", ':'), [""]);
        assert_eq!(java_split("a.b.c", '.'), ["a", "b", "c"]);
        let item = FieldRef::parse("__", "op:").unwrap();
        assert_eq!((item.parent, item.name.as_str()), (None, "__op"));
        let item = FieldRef::parse("__", "source.ts_ms").unwrap();
        assert_eq!(item.name, "__source_ts_ms");
        let item = FieldRef::parse("__", "total_order").unwrap();
        assert_eq!(item.parent.as_deref(), Some("transaction"));
    }

    #[test]
    fn registered_by_class_and_alias_and_runs_in_a_chain() {
        let plugin = registry::transformation("ExtractNewRecordState").unwrap();
        assert_eq!(plugin.class, "io.debezium.transforms.ExtractNewRecordState");
        assert_eq!(plugin.version, "2.7.3.Final");
        assert!(registry::transformation("io.debezium.transforms.ExtractNewRecordState").is_some());

        let connector: BTreeMap<String, String> = [
            ("transforms", "unwrap"),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            (
                "transforms.unwrap.delete.tombstone.handling.mode",
                "rewrite",
            ),
            ("transforms.unwrap.add.fields", "op,table,lsn,source.ts_ms"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut chain = Chain::from_config(&connector).unwrap();
        // The documentation's example: `lsn` is not a MySQL field, so it is skipped.
        let out = chain.apply(event("c")).unwrap().unwrap();
        assert_eq!(
            out.value.value,
            with(
                anne("Anne"),
                vec![
                    Value::text("false"),
                    Value::text("c"),
                    Value::text("customers"),
                    Value::Int(1486500577000),
                ]
            )
        );
        assert_eq!(chain.apply(tombstone()).unwrap(), None);

        let mut bad = connector.clone();
        bad.insert(
            "transforms.unwrap.delete.handling.mode".into(),
            "sometimes".into(),
        );
        assert_eq!(
            Chain::from_config(&bad).err().unwrap().key,
            "transforms.unwrap.delete.handling.mode"
        );
    }

    /// What the converter may leave unread: all but `before`, `after` and what `add.fields` /
    /// `add.headers` read; nothing when the transformation has a predicate (a record it skips
    /// passes on whole) or the value is not a change event.
    #[test]
    fn reads_the_rows_and_the_added_fields_only() {
        let names = |read: Option<Vec<bool>>| -> Option<Vec<&str>> {
            read.map(|read| {
                ENVELOPE
                    .fields
                    .iter()
                    .zip(read)
                    .filter(|(_, r)| *r)
                    .map(|(f, _)| f.name.as_str())
                    .collect()
            })
        };
        let chain = |pairs: &[(&str, &str)]| {
            let mut config: BTreeMap<String, String> = [
                ("transforms", "unwrap"),
                ("transforms.unwrap.type", "ExtractNewRecordState"),
            ]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            config.insert("predicates.p.type".into(), "RecordIsTombstone".into());
            Chain::from_config(&config).unwrap()
        };
        assert_eq!(
            names(chain(&[]).value_fields_read(&ENVELOPE)),
            Some(vec!["before", "after"])
        );
        assert_eq!(
            names(
                chain(&[
                    ("transforms.unwrap.add.fields", "op,source.ts_ms"),
                    ("transforms.unwrap.add.headers", "ts_ms"),
                ])
                .value_fields_read(&ENVELOPE)
            ),
            Some(vec!["before", "after", "source", "op", "ts_ms"])
        );
        let predicated = chain(&[
            ("predicates", "p"),
            ("transforms.unwrap.predicate", "p"),
            ("transforms.unwrap.negate", "true"),
        ]);
        assert_eq!(predicated.value_fields_read(&ENVELOPE), None);
        assert_eq!(chain(&[]).value_fields_read(&customers_value()), None);
    }
}
