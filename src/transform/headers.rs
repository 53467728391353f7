//! Kafka's header transformations:
//! - `org.apache.kafka.connect.transforms.InsertHeader` (`header`, `value.literal`): appends one
//!   header to every record; the literal is read once with `Values.parseString` (see
//!   [`parse_string`]): `42` is an INT8, `true` a BOOLEAN, `1.5` a FLOAT32, `2024-01-02` a Date,
//!   `[1,2]` an array, `null` a null header without schema, anything else a STRING.
//! - `org.apache.kafka.connect.transforms.DropHeaders` (`headers`): removes every header with one
//!   of the names, keeping the others in order.
//! - `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value` (`fields`, `headers`,
//!   `operation` = `copy`|`move`, `replace.null.with.default`): appends a header per field with
//!   the field's value (and, with a schema, the field's schema); `move` also removes the fields.
//!   No null pass-through: a null key/value fails as Kafka's does.

use std::sync::{Arc, LazyLock};

use super::Transformation;
use super::util::{self, SchemaCache};
use super::values::parse_string;
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Validator};
use crate::error::Result;
use crate::model::record::{Header, Part, Record, Side};
use crate::model::{Schema, Value};

const HEADER: &str = "header";
const VALUE_LITERAL: &str = "value.literal";
const HEADERS: &str = "headers";
const FIELDS: &str = "fields";
const OPERATION: &str = "operation";

static INSERT_HEADER: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(ConfigKey::required(HEADER, ConfigType::String).doc("The name of the header."))
        .define(
            ConfigKey::required(VALUE_LITERAL, ConfigType::String)
                .doc("The literal value that is to be set as the header value on all records."),
        )
});

static DROP_HEADERS: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::required(HEADERS, ConfigType::List)
            .doc("The name of the headers to be removed."),
    )
});

static HEADER_FROM: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(ConfigKey::required(FIELDS, ConfigType::List).doc(
            "Field names in the record whose values are to be copied or moved to headers.",
        ))
        .define(ConfigKey::required(HEADERS, ConfigType::List).doc(
            "Header names, in the same order as the field names listed in the fields \
             configuration property.",
        ))
        .define(ConfigKey::required(OPERATION, ConfigType::String).validator(Validator::OneOfExact(&["move", "copy"])).doc(
            "Either <code>move</code> if the fields are to be moved to the headers (removed from \
             the key/value), or <code>copy</code> if the fields are to be copied to the headers \
             (retained in the key/value).",
        ))
        .define(util::REPLACE_NULL_WITH_DEFAULT)
});

pub(crate) fn insert_header_def() -> &'static ConfigDef {
    &INSERT_HEADER
}

pub(crate) fn drop_headers_def() -> &'static ConfigDef {
    &DROP_HEADERS
}

pub(crate) fn header_from_def() -> &'static ConfigDef {
    &HEADER_FROM
}

// ---------------------------------------------------------------------------------------------
// InsertHeader

/// Appends the configured header.
pub(crate) struct InsertHeader {
    header: Header,
}

/// `InsertHeader`.
pub(crate) fn insert_header(config: &Config) -> Result<InsertHeader, ConfigError> {
    let (schema, value) = parse_string(config.string(VALUE_LITERAL).unwrap_or_default());
    Ok(InsertHeader {
        header: Header {
            key: config.string(HEADER).unwrap_or_default().to_string(),
            schema: schema.map(Arc::new),
            value,
        },
    })
}

impl Transformation for InsertHeader {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.headers.push(self.header.clone());
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------------------
// DropHeaders

/// Removes the configured headers.
pub(crate) struct DropHeaders {
    headers: Vec<String>,
}

/// `DropHeaders`.
pub(crate) fn drop_headers(config: &Config) -> Result<DropHeaders, ConfigError> {
    Ok(DropHeaders {
        headers: util::non_empty_list(config, HEADERS)?,
    })
}

impl Transformation for DropHeaders {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------------------
// HeaderFrom

/// `HeaderFrom$Key`.
pub(crate) fn header_from_key(config: &Config) -> Result<HeaderFrom, ConfigError> {
    HeaderFrom::new(config, Side::Key)
}

/// `HeaderFrom$Value`.
pub(crate) fn header_from_value(config: &Config) -> Result<HeaderFrom, ConfigError> {
    HeaderFrom::new(config, Side::Value)
}

/// Copies or moves fields of the key or value into headers.
pub(crate) struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    moving: bool,
    replace_null_with_default: bool,
    plans: SchemaCache<Arc<Plan>>,
}

/// What a struct schema needs: the struct without the moved fields (and where they come from),
/// and each header's field index and schema (`None`: the schema has no such field).
struct Plan {
    moved: Option<(Arc<Schema>, Vec<usize>)>,
    sources: Vec<Option<(usize, Arc<Schema>)>>,
}

impl HeaderFrom {
    fn new(config: &Config, side: Side) -> Result<Self, ConfigError> {
        let fields = util::non_empty_list(config, FIELDS)?;
        let headers = util::non_empty_list(config, HEADERS)?;
        let operation = config.string(OPERATION).unwrap_or_default();
        if fields.len() != headers.len() {
            return Err(ConfigError::rule(
                FIELDS,
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        Ok(HeaderFrom {
            side,
            fields,
            headers,
            moving: operation == "move",
            replace_null_with_default: config.bool(util::REPLACE_NULL_WITH_DEFAULT.name),
            plans: SchemaCache::new(),
        })
    }

    fn purpose(&self) -> &'static str {
        match self.moving {
            true => "header move",
            false => "header copy",
        }
    }

    fn plan(&self, schema: &Schema) -> Result<Plan> {
        let moved = match self.moving {
            false => None,
            true => {
                let mut out = util::copy_schema_basics(schema);
                let mut kept = Vec::new();
                for (i, field) in schema.fields.iter().enumerate() {
                    if !self.fields.contains(&field.name) {
                        util::push_field(&mut out, field.clone())?;
                        kept.push(i);
                    }
                }
                Some((Arc::new(out), kept))
            }
        };
        let sources = self
            .fields
            .iter()
            .map(|name| {
                schema
                    .field(name)
                    .map(|(i, f)| (i, Arc::new(f.schema.clone())))
            })
            .collect();
        Ok(Plan { moved, sources })
    }

    fn apply_schemaless(&self, part: &Part, headers: &mut Vec<Header>) -> Result<Part> {
        let entries = util::require_map(&part.value, self.purpose())?;
        let mut updated = entries.to_vec();
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let value = part.value.map_get(field).cloned().unwrap_or(Value::Null);
            if self.moving {
                updated.retain(|(k, _)| k.as_str() != Some(field.as_str()));
            }
            headers.push(Header {
                key: header.clone(),
                schema: None,
                value,
            });
        }
        Ok(Part::new(None, Value::Map(updated)))
    }

    fn apply_with_schema(
        &mut self,
        schema: &Arc<Schema>,
        value: &Value,
        headers: &mut Vec<Header>,
    ) -> Result<Part> {
        let values = util::require_struct(schema, value, self.purpose())?;
        let mut plans = std::mem::take(&mut self.plans);
        let plan = plans.get_or_try_insert(schema, |_| -> crate::error::Result<_> {
            Ok(Arc::new(self.plan(schema)?))
        });
        self.plans = plans;
        let plan = plan?;
        let get = |i: usize| {
            util::struct_get(
                &schema.fields[i].schema,
                values.get(i).unwrap_or(&Value::Null),
                self.replace_null_with_default,
            )
        };
        let updated = match &plan.moved {
            None => Part::new(Some(Arc::clone(schema)), value.clone()),
            Some((moved, kept)) => {
                let mut out = Vec::with_capacity(kept.len());
                for (field, &i) in moved.fields.iter().zip(kept) {
                    let value = get(i);
                    util::check_put(field, &value)?;
                    out.push(value);
                }
                Part::new(Some(Arc::clone(moved)), Value::Struct(out))
            }
        };
        for (source, header) in plan.sources.iter().zip(&self.headers) {
            let Some((i, field_schema)) = source else {
                return Err(util::data_error(
                    "Cannot invoke \"org.apache.kafka.connect.data.Field.schema()\" because the \
                     return value of \"org.apache.kafka.connect.data.Schema.field(String)\" is \
                     null",
                ));
            };
            let value = get(*i);
            if value.is_null() && !field_schema.optional {
                return Err(util::data_error(format!(
                    "A null value requires an optional schema but was {}",
                    util::schema_string(Some(field_schema))
                )));
            }
            headers.push(Header {
                key: header.clone(),
                schema: Some(Arc::clone(field_schema)),
                value,
            });
        }
        Ok(updated)
    }
}

impl Transformation for HeaderFrom {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let part = std::mem::replace(record.part_mut(self.side), Part::NULL);
        let mut headers = std::mem::take(&mut record.headers);
        let updated = match &part.schema {
            None => self.apply_schemaless(&part, &mut headers),
            Some(schema) => self.apply_with_schema(schema, &part.value, &mut headers),
        }?;
        *record.part_mut(self.side) = updated;
        record.headers = headers;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SchemaType;
    use crate::transform::util::fixtures::structure;

    fn string_schema() -> Option<Schema> {
        Some(Schema::primitive(SchemaType::String, false))
    }

    fn parse(def: &ConfigDef, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        crate::transform::util::parse_pairs(def, pairs)
    }

    fn header(key: &str, schema: Option<Schema>, value: Value) -> Header {
        Header {
            key: key.to_string(),
            schema: schema.map(Arc::new),
            value,
        }
    }

    fn string_header(key: &str, value: &str) -> Header {
        header(key, string_schema(), Value::text(value))
    }

    fn record_with_headers(headers: Vec<Header>) -> Record {
        let mut record = Record::new(
            "topic",
            Part::new(string_schema().map(Arc::new), Value::text("value")),
        );
        record.key = Part::new(string_schema().map(Arc::new), Value::text("key"));
        record.timestamp = Some(0);
        record.headers = headers;
        record
    }

    fn insert(name: &str, literal: &str) -> InsertHeader {
        insert_header(&parse(&INSERT_HEADER, &[(HEADER, name), (VALUE_LITERAL, literal)]).unwrap())
            .unwrap()
    }

    /// InsertHeaderTest.insertionWithExistingOtherHeader, insertionWithExistingSameHeader,
    /// insertionWithByteHeader.
    #[test]
    fn insert_header_appends() {
        let original = record_with_headers(vec![string_header("existing", "existing-value")]);
        for (name, literal, expected) in [
            (
                "inserted",
                "inserted-value",
                string_header("inserted", "inserted-value"),
            ),
            (
                "existing",
                "inserted-value",
                string_header("existing", "inserted-value"),
            ),
            (
                "inserted",
                "1",
                header(
                    "inserted",
                    Some(Schema::primitive(SchemaType::Int8, false)),
                    Value::Int(1),
                ),
            ),
        ] {
            let out = insert(name, literal)
                .apply(original.clone())
                .unwrap()
                .unwrap();
            let mut want = original.clone();
            want.headers.push(expected);
            assert_eq!(out, want);
        }
    }

    /// InsertHeaderTest.configRejectsNullHeaderKey / configRejectsNullHeaderValue.
    #[test]
    fn insert_header_requires_both_keys() {
        let e = parse(&INSERT_HEADER, &[(VALUE_LITERAL, "1")]).unwrap_err();
        assert_eq!(
            e.message(),
            "Missing required configuration \"header\" which has no default value."
        );
        let e = parse(&INSERT_HEADER, &[(HEADER, "inserted")]).unwrap_err();
        assert_eq!(e.key, VALUE_LITERAL);
    }

    /// DropHeadersTest.dropExistingHeader, dropExistingHeaderWithMultipleValues,
    /// dropNonExistingHeader, configRejectsEmptyList.
    #[test]
    fn drop_headers_removes_every_copy() {
        let mut t = drop_headers(&parse(&DROP_HEADERS, &[(HEADERS, "to-drop")]).unwrap()).unwrap();
        let original = record_with_headers(vec![
            string_header("existing", "existing-value"),
            string_header("to-drop", "existing-value"),
            string_header("to-drop", "existing-other-value"),
        ]);
        let out = t.apply(original.clone()).unwrap().unwrap();
        let mut want = original;
        want.headers.truncate(1);
        assert_eq!(out, want);

        let original = record_with_headers(vec![string_header("existing", "existing-value")]);
        assert_eq!(t.apply(original.clone()).unwrap().unwrap(), original);

        let e = drop_headers(&parse(&DROP_HEADERS, &[(HEADERS, "")]).unwrap())
            .err()
            .unwrap();
        assert_eq!(
            e.message(),
            "Invalid value [] for configuration headers: Empty list"
        );
    }

    fn header_from(side: Side, fields: &str, headers: &str, operation: &str) -> HeaderFrom {
        let config = parse(
            &HEADER_FROM,
            &[(FIELDS, fields), (HEADERS, headers), (OPERATION, operation)],
        )
        .unwrap();
        match side {
            Side::Key => header_from_key(&config).unwrap(),
            Side::Value => header_from_value(&config).unwrap(),
        }
    }

    /// One of HeaderFromTest.data(): fields (name, schema, value) and headers before and after.
    struct Case {
        name: &'static str,
        fields: Vec<(&'static str, Schema, Value)>,
        headers: Vec<(&'static str, Schema, Value)>,
        transform: (&'static str, &'static str, &'static str),
        expected_fields: Vec<(&'static str, Schema, Value)>,
        expected_headers: Vec<(&'static str, Schema, Value)>,
    }

    fn cases() -> Vec<Case> {
        let s = || Schema::primitive(SchemaType::String, false);
        let v = Value::text;
        let inner = structure(vec![("foo", s())]);
        let inner_value = Value::Struct(vec![v("foo-value")]);
        let two = || {
            vec![
                ("field1", s(), v("field1-value")),
                ("field2", s(), v("field2-value")),
            ]
        };
        let only2 = || vec![("field2", s(), v("field2-value"))];
        vec![
            Case {
                name: "basic copy",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "copy"),
                expected_fields: two(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "basic move",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "copy with preexisting header",
                fields: two(),
                headers: vec![("inserted1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "copy"),
                expected_fields: two(),
                expected_headers: vec![
                    ("inserted1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "move with preexisting header",
                fields: two(),
                headers: vec![("inserted1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("inserted1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                ],
            },
            Case {
                name: "copy with struct value",
                fields: vec![
                    ("field1", inner.clone(), inner_value.clone()),
                    ("field2", s(), v("field2-value")),
                ],
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "copy"),
                expected_fields: vec![
                    ("field1", inner.clone(), inner_value.clone()),
                    ("field2", s(), v("field2-value")),
                ],
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", inner.clone(), inner_value.clone()),
                ],
            },
            Case {
                name: "move with struct value",
                fields: vec![
                    ("field1", inner.clone(), inner_value.clone()),
                    ("field2", s(), v("field2-value")),
                ],
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1", "inserted1", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", inner, inner_value),
                ],
            },
            Case {
                name: "two headers from same field",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1,field1", "inserted1,inserted2", "move"),
                expected_fields: only2(),
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                    ("inserted2", s(), v("field1-value")),
                ],
            },
            Case {
                name: "two fields to same header",
                fields: two(),
                headers: vec![("header1", s(), v("existing-value"))],
                transform: ("field1,field2", "inserted1,inserted1", "move"),
                expected_fields: vec![],
                expected_headers: vec![
                    ("header1", s(), v("existing-value")),
                    ("inserted1", s(), v("field1-value")),
                    ("inserted1", s(), v("field2-value")),
                ],
            },
        ]
    }

    /// Builds the record of a case: with schema (struct, headers with schemas) or schemaless
    /// (map, headers without schemas), on the key or the value ("key"/"value" on the other).
    fn case_record(
        side: Side,
        schema: bool,
        fields: &[(&str, Schema, Value)],
        headers: &[(&str, Schema, Value)],
    ) -> Record {
        let part = if schema {
            let s = structure(fields.iter().map(|(n, s, _)| (*n, s.clone())).collect());
            let values = fields.iter().map(|(_, _, v)| v.clone()).collect();
            Part::new(Some(Arc::new(s)), Value::Struct(values))
        } else {
            let entries = fields
                .iter()
                .map(|(n, _, v)| (Value::text(n), v.clone()))
                .collect();
            Part::new(None, Value::Map(entries))
        };
        let mut record = Record::new("topic", Part::new(None, Value::text("value")));
        record.key = Part::new(None, Value::text("key"));
        record.partition = Some(0);
        record.timestamp = Some(0);
        *record.part_mut(side) = part;
        record.headers = headers
            .iter()
            .map(|(k, s, v)| header(k, schema.then(|| s.clone()), v.clone()))
            .collect();
        record
    }

    /// HeaderFromTest.schemaless and HeaderFromTest.withSchema over data(), key and value.
    #[test]
    fn header_from_cases() {
        for side in [Side::Key, Side::Value] {
            for schema in [false, true] {
                for case in cases() {
                    let (fields, headers, operation) = case.transform;
                    let mut t = header_from(side, fields, headers, operation);
                    let original = case_record(side, schema, &case.fields, &case.headers);
                    let expected =
                        case_record(side, schema, &case.expected_fields, &case.expected_headers);
                    let out = t.apply(original).unwrap().unwrap();
                    assert_eq!(out, expected, "{} ({side:?}, schema: {schema})", case.name);
                }
            }
        }
    }

    /// HeaderFromTest.invalidConfigExtraHeaderConfig, invalidConfigExtraFieldConfig,
    /// invalidConfigEmptyHeadersAndFieldsConfig, and the case-sensitive operation.
    #[test]
    fn header_from_config_errors() {
        let build = |pairs: &[(&str, &str)]| {
            parse(&HEADER_FROM, pairs)
                .and_then(|config| header_from_value(&config).map(drop))
                .unwrap_err()
        };
        let e = build(&[(FIELDS, "foo,bar"), (HEADERS, "foo"), (OPERATION, "copy")]);
        assert_eq!(
            e.message(),
            "'fields' config must have the same number of elements as 'headers' config."
        );
        let e = build(&[(FIELDS, "foo"), (HEADERS, "foo,bar"), (OPERATION, "copy")]);
        assert_eq!(e.key, FIELDS);
        let e = build(&[(FIELDS, ""), (HEADERS, ""), (OPERATION, "copy")]);
        assert_eq!(
            e.message(),
            "Invalid value [] for configuration fields: Empty list"
        );
        let e = build(&[(FIELDS, "foo"), (HEADERS, "foo"), (OPERATION, "COPY")]);
        assert_eq!(
            e.message(),
            "Invalid value COPY for configuration operation: String must be one of: move, copy"
        );
    }

    /// No null pass-through, a required field's null, a field missing from the schema, and
    /// `replace.null.with.default` (the reference's "Move null field without default").
    #[test]
    fn header_from_nulls_and_defaults() {
        let mut t = header_from(Side::Value, "f", "h", "copy");
        let e = t.apply(Record::new("topic", Part::NULL)).unwrap_err();
        assert_eq!(
            e.context(),
            "Only Map objects supported in absence of schema for [header copy], found: null"
        );
        let schema = structure(vec![("f", Schema::primitive(SchemaType::String, false))]);
        let e = t
            .apply(Record::new(
                "topic",
                Part::new(Some(Arc::new(schema)), Value::Struct(vec![Value::Null])),
            ))
            .unwrap_err();
        assert_eq!(
            e.context(),
            "A null value requires an optional schema but was Schema{STRING}"
        );
        let other = structure(vec![("g", Schema::primitive(SchemaType::String, true))]);
        let e = t
            .apply(Record::new(
                "topic",
                Part::new(Some(Arc::new(other)), Value::Struct(vec![Value::Null])),
            ))
            .unwrap_err();
        assert!(e.context().starts_with("Cannot invoke"));

        let mut field = Schema::primitive(SchemaType::String, true);
        field.default = Some(Box::new(Value::text("dflt")));
        let schema = Arc::new(structure(vec![
            ("f", field.clone()),
            ("g", Schema::primitive(SchemaType::Int32, true)),
        ]));
        for (replace, expected) in [("true", Value::text("dflt")), ("false", Value::Null)] {
            let config = parse(
                &HEADER_FROM,
                &[
                    (FIELDS, "f"),
                    (HEADERS, "h"),
                    (OPERATION, "move"),
                    ("replace.null.with.default", replace),
                ],
            )
            .unwrap();
            let mut t = header_from_value(&config).unwrap();
            let out = t
                .apply(Record::new(
                    "topic",
                    Part::new(
                        Some(Arc::clone(&schema)),
                        Value::Struct(vec![Value::Null, Value::Int(7)]),
                    ),
                ))
                .unwrap()
                .unwrap();
            let moved = structure(vec![("g", Schema::primitive(SchemaType::Int32, true))]);
            assert_eq!(
                out.value,
                Part::new(Some(Arc::new(moved)), Value::Struct(vec![Value::Int(7)]))
            );
            assert_eq!(
                out.headers,
                vec![header("h", Some(field.clone()), expected)]
            );
        }
    }
}
