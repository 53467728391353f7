//! The transformations and predicates this build provides, by Connect's class names.
//!
//! A class is found by its fully qualified name, or by an alias as Connect computes them
//! (`PluginUtils.computeAliases`): the simple name of a top-level class (`RegexRouter`,
//! `TopicNameMatches`). `$Key`/`$Value` classes have no alias: their simple names collide.

use std::sync::LazyLock;

use super::{Predicate, Transformation};
use crate::config::{Config, ConfigDef, ConfigError};

/// The version Connect's built-in plugins report (`GET /connector-plugins`).
pub(crate) const KAFKA_VERSION: &str = "3.9.0";

/// A transformation class.
pub(crate) struct TransformPlugin {
    pub(crate) class: &'static str,
    pub(crate) version: &'static str,
    pub(crate) config_def: fn() -> &'static ConfigDef,
    pub(crate) build: fn(&Config) -> Result<Box<dyn Transformation>, ConfigError>,
}

/// A predicate class.
pub(crate) struct PredicatePlugin {
    pub(crate) class: &'static str,
    pub(crate) version: &'static str,
    pub(crate) config_def: fn() -> &'static ConfigDef,
    pub(crate) build: fn(&Config) -> Result<Box<dyn Predicate>, ConfigError>,
}

/// A definition with no keys.
pub(crate) fn no_keys() -> &'static ConfigDef {
    static NONE: LazyLock<ConfigDef> = LazyLock::new(ConfigDef::new);
    &NONE
}

macro_rules! transform {
    ($class:literal, $module:ident :: $ty:ident, $side:ident) => {
        TransformPlugin {
            class: $class,
            version: KAFKA_VERSION,
            config_def: super::$module::config_def,
            build: |config| {
                Ok(Box::new(super::$module::$ty::new(
                    config,
                    crate::model::record::Side::$side,
                )?))
            },
        }
    };
    ($class:literal, $module:ident :: $build:ident) => {
        TransformPlugin {
            class: $class,
            version: KAFKA_VERSION,
            config_def: super::$module::config_def,
            build: |config| Ok(Box::new(super::$module::$build(config)?)),
        }
    };
    ($class:literal, $version:expr, $module:ident :: $build:ident) => {
        TransformPlugin {
            class: $class,
            version: $version,
            config_def: super::$module::config_def,
            build: |config| Ok(Box::new(super::$module::$build(config)?)),
        }
    };
}

/// Every transformation, sorted by class.
pub(crate) static TRANSFORMATIONS: &[TransformPlugin] = &[
    transform!(
        "io.debezium.transforms.ExtractNewRecordState",
        "2.7.3.Final",
        extract_new_record_state::build
    ),
    transform!(
        "org.apache.kafka.connect.transforms.Cast$Key",
        cast::Cast,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.Cast$Value",
        cast::Cast,
        Value
    ),
    TransformPlugin {
        class: "org.apache.kafka.connect.transforms.DropHeaders",
        version: KAFKA_VERSION,
        config_def: super::headers::drop_headers_def,
        build: |config| Ok(Box::new(super::headers::drop_headers(config)?)),
    },
    transform!(
        "org.apache.kafka.connect.transforms.ExtractField$Key",
        extract_field::ExtractField,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.ExtractField$Value",
        extract_field::ExtractField,
        Value
    ),
    transform!("org.apache.kafka.connect.transforms.Filter", filter::build),
    transform!(
        "org.apache.kafka.connect.transforms.Flatten$Key",
        flatten::Flatten,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.Flatten$Value",
        flatten::Flatten,
        Value
    ),
    TransformPlugin {
        class: "org.apache.kafka.connect.transforms.HeaderFrom$Key",
        version: KAFKA_VERSION,
        config_def: super::headers::header_from_def,
        build: |config| Ok(Box::new(super::headers::header_from_key(config)?)),
    },
    TransformPlugin {
        class: "org.apache.kafka.connect.transforms.HeaderFrom$Value",
        version: KAFKA_VERSION,
        config_def: super::headers::header_from_def,
        build: |config| Ok(Box::new(super::headers::header_from_value(config)?)),
    },
    transform!(
        "org.apache.kafka.connect.transforms.HoistField$Key",
        hoist_field::HoistField,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.HoistField$Value",
        hoist_field::HoistField,
        Value
    ),
    transform!(
        "org.apache.kafka.connect.transforms.InsertField$Key",
        insert_field::InsertField,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.InsertField$Value",
        insert_field::InsertField,
        Value
    ),
    TransformPlugin {
        class: "org.apache.kafka.connect.transforms.InsertHeader",
        version: KAFKA_VERSION,
        config_def: super::headers::insert_header_def,
        build: |config| Ok(Box::new(super::headers::insert_header(config)?)),
    },
    transform!(
        "org.apache.kafka.connect.transforms.MaskField$Key",
        mask_field::MaskField,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.MaskField$Value",
        mask_field::MaskField,
        Value
    ),
    TransformPlugin {
        class: "org.apache.kafka.connect.transforms.RegexRouter",
        version: KAFKA_VERSION,
        config_def: super::router::regex_router_def,
        build: |config| Ok(Box::new(super::router::regex_router(config)?)),
    },
    transform!(
        "org.apache.kafka.connect.transforms.ReplaceField$Key",
        replace_field::ReplaceField,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.ReplaceField$Value",
        replace_field::ReplaceField,
        Value
    ),
    transform!(
        "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
        set_schema_metadata::SetSchemaMetadata,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
        set_schema_metadata::SetSchemaMetadata,
        Value
    ),
    transform!(
        "org.apache.kafka.connect.transforms.TimestampConverter$Key",
        timestamp_converter::TimestampConverter,
        Key
    ),
    transform!(
        "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        timestamp_converter::TimestampConverter,
        Value
    ),
    TransformPlugin {
        class: "org.apache.kafka.connect.transforms.TimestampRouter",
        version: KAFKA_VERSION,
        config_def: super::router::timestamp_router_def,
        build: |config| Ok(Box::new(super::router::timestamp_router(config)?)),
    },
    transform!(
        "org.apache.kafka.connect.transforms.ValueToKey",
        value_to_key::build
    ),
];

/// Every predicate, sorted by class.
pub(crate) static PREDICATES: &[PredicatePlugin] = &[
    PredicatePlugin {
        class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        version: KAFKA_VERSION,
        config_def: super::predicates::has_header_key_def,
        build: |config| Ok(Box::new(super::predicates::HasHeaderKey::new(config)?)),
    },
    PredicatePlugin {
        class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        version: KAFKA_VERSION,
        config_def: no_keys,
        build: |_| Ok(Box::new(super::predicates::RecordIsTombstone)),
    },
    PredicatePlugin {
        class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        version: KAFKA_VERSION,
        config_def: super::predicates::topic_name_matches_def,
        build: |config| Ok(Box::new(super::predicates::TopicNameMatches::new(config)?)),
    },
];

/// Whether `name` names `class`: its full name, or the simple name of a top-level class.
fn names(class: &str, name: &str) -> bool {
    if class == name {
        return true;
    }
    let simple = class.rsplit('.').next().unwrap_or(class);
    !simple.contains('$') && simple == name
}

/// The transformation called `name`.
pub(crate) fn transformation(name: &str) -> Option<&'static TransformPlugin> {
    TRANSFORMATIONS.iter().find(|p| names(p.class, name))
}

/// The predicate called `name`.
pub(crate) fn predicate(name: &str) -> Option<&'static PredicatePlugin> {
    PREDICATES.iter().find(|p| names(p.class, name))
}
