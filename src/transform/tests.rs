//! Transformations working together in a chain built from a connector's keys.

use std::sync::Arc;

use super::Chain;
use super::util::field;
use crate::config::props;
use crate::model::record::{Part, Record};
use crate::model::{Schema, SchemaType, Value};

#[path = "../../tests/support/recipes.rs"]
mod recipes;

/// Connect's documented "key from a value field" recipe: ValueToKey, ExtractField$Key, then
/// InsertField$Value with a static field.
#[test]
fn value_to_key_extract_field_insert_field() {
    let mut chain = Chain::from_config(&props(recipes::KEY_FROM_ID)).unwrap();
    let schema = Arc::new(Schema::structure(
        Some("db.t".into()),
        vec![
            field("id", Schema::primitive(SchemaType::Int32, false)),
            field("name", Schema::primitive(SchemaType::String, true)),
        ],
        false,
    ));
    let record = Record {
        timestamp: Some(1_700_000_000_000),
        ..Record::new(
            "db.t",
            Part::new(
                Some(schema),
                Value::Struct(vec![Value::Int(2), Value::text("b")]),
            ),
        )
    };
    let out = chain.apply(record.clone()).unwrap().unwrap();
    let value_schema = Schema::structure(
        Some("db.t".into()),
        vec![
            field("id", Schema::primitive(SchemaType::Int32, false)),
            field("name", Schema::primitive(SchemaType::String, true)),
            field("source", Schema::primitive(SchemaType::String, true)),
        ],
        false,
    );
    let expected = Record {
        key: Part::new(
            Some(Arc::new(Schema::primitive(SchemaType::Int32, false))),
            Value::Int(2),
        ),
        value: Part::new(
            Some(Arc::new(value_schema)),
            Value::Struct(vec![
                Value::Int(2),
                Value::text("b"),
                Value::text("mariadb"),
            ]),
        ),
        ..record
    };
    assert_eq!(out, expected);
}

/// A transformation's config error names the connector-level key.
#[test]
fn config_errors_name_the_prefixed_key() {
    let error = Chain::from_config(&props(&[
        ("transforms", "mask"),
        (
            "transforms.mask.type",
            "org.apache.kafka.connect.transforms.MaskField$Value",
        ),
        ("transforms.mask.fields", "a"),
        ("transforms.mask.replacement", ""),
    ]))
    .err()
    .unwrap();
    assert_eq!(error.key, "transforms.mask.replacement");
    let error = Chain::from_config(&props(&[
        ("transforms", "x"),
        (
            "transforms.x.type",
            "org.apache.kafka.connect.transforms.ExtractField$Value",
        ),
        ("transforms.x.field", "a"),
        ("transforms.x.field.syntax.version", "V3"),
    ]))
    .err()
    .unwrap();
    assert_eq!(error.key, "transforms.x.field.syntax.version");
}

/// `negate` is a BOOLEAN as ConfigDef parses one: any case and spaces, but an empty value is no
/// boolean.
#[test]
fn negate_parses_as_a_config_boolean() {
    let chain = |negate: &str| {
        Chain::from_config(&props(&[
            ("transforms", "f"),
            (
                "transforms.f.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.f.predicate", "p"),
            ("transforms.f.negate", negate),
            ("predicates", "p"),
            (
                "predicates.p.type",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ),
        ]))
    };
    assert!(chain(" TRUE ").is_ok());
    let error = chain("").err().unwrap();
    assert_eq!(error.key, "transforms.f.negate");
    assert!(
        error
            .to_string()
            .contains("Expected value to be either true or false"),
        "{error}"
    );
}
