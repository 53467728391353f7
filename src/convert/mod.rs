//! The record stage's converters (Kafka Connect's `Converter` and `HeaderConverter`): Connect
//! data to the bytes on a topic and back.
//!
//! # Contract
//! - [`Converter::from_connect`] writes a key, value or header ([`Part`]: optional schema and
//!   value) as bytes; `None` is a Kafka null (a tombstone value, a null key).
//! - [`Converter::to_connect`] reads bytes (`None` for a Kafka null) back into a [`Part`].
//! - An `Err` fails that record at stage `KEY_CONVERTER`, `VALUE_CONVERTER` or
//!   `HEADER_CONVERTER`: skipped with `errors.tolerance=all` (a sink sends it to its dead-letter
//!   topic), otherwise the task fails.
//! - Every converter is configured as Connect configures it: the class from `key.converter`,
//!   `value.converter` or `header.converter` (connector level first, then the worker's), with the
//!   sub-keys under that prefix (`value.converter.schemas.enable`). See [`ConverterSpec`].
//!
//! `json` also holds the zero-copy JsonConverter encoder and decoder the pipelines use when no
//! transformation is configured (the fast paths); [`json::JsonConverter`] is the general one.

pub(crate) mod header;
pub mod json;
pub(crate) mod simple;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::def::with_prefix;
use std::sync::LazyLock;

use crate::config::{ConfigDef, ConfigError, ConfigKey, ConfigType, Validator, WorkerConfig};
use crate::error::Result;
use crate::model::Schema;
use crate::model::record::Part;

/// For a value schema, which of its top-level fields the caller reads (`None`: all); see
/// [`Converter::to_connect_fields`].
pub(crate) type FieldsRead<'a> = dyn FnMut(&Arc<Schema>) -> Option<Arc<[bool]>> + 'a;

/// Connect data ↔ bytes. The methods keep Connect's names.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send {
    /// Connect's `fromConnectData` (and `fromConnectHeader`): `None` for a Kafka null.
    fn from_connect(&mut self, topic: &str, part: &Part) -> Result<Option<Vec<u8>>>;

    /// Connect's `toConnectData` (and `toConnectHeader`).
    fn to_connect(&mut self, topic: &str, bytes: Option<&[u8]>) -> Result<Part>;

    /// [`Converter::to_connect`] for a caller that reads only some top-level fields of a struct
    /// value: `fields_read` answers, for the value's schema, which
    /// ([`Transformation::value_fields_read`](crate::transform::Transformation::value_fields_read);
    /// `None`, all). The converter may leave the others [`Value::Null`](crate::model::Value),
    /// unchecked against their schema; the default reads everything.
    fn to_connect_fields(
        &mut self,
        topic: &str,
        bytes: Option<&[u8]>,
        fields_read: &mut FieldsRead<'_>,
    ) -> Result<Part> {
        let _ = fields_read;
        self.to_connect(topic, bytes)
    }
}

/// Which role a converter is configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Key,
    Value,
    Header,
}

impl Role {
    /// The config key that names the class: `key.converter`, …
    pub(crate) fn key(self) -> &'static str {
        match self {
            Role::Key => "key.converter",
            Role::Value => "value.converter",
            Role::Header => "header.converter",
        }
    }
}

/// What a plugin can serve as (`GET /connector-plugins?connectorsOnly=false` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serves {
    /// `converter` and `header_converter`.
    Both,
    /// `header_converter` only.
    HeaderOnly,
}

/// Builds a converter from its sub-keys for a role.
pub(crate) type BuildConverter =
    fn(&BTreeMap<String, String>, Role) -> Result<Box<dyn Converter>, ConfigError>;

/// A converter class.
pub(crate) struct ConverterPlugin {
    pub(crate) class: &'static str,
    pub(crate) serves: Serves,
    /// Its keys, as `GET /connector-plugins/{class}/config` lists them.
    pub(crate) config_def: fn() -> &'static ConfigDef,
    /// Builds it from its sub-keys (prefix stripped); errors name the sub-key.
    pub(crate) build: BuildConverter,
}

pub(crate) use crate::config::worker::{JSON_CONVERTER, SIMPLE_HEADER_CONVERTER};

/// Every converter, sorted by class.
pub(crate) static CONVERTERS: &[ConverterPlugin] = &[
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.BooleanConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::Number::Boolean)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.ByteArrayConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::ByteArrayConverter)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.DoubleConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::Number::Double)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.FloatConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::Number::Float)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.IntegerConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::Number::Integer)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.LongConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::Number::Long)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.converters.ShortConverter",
        serves: Serves::Both,
        config_def: type_def,
        build: |_, _| Ok(Box::new(simple::Number::Short)),
    },
    ConverterPlugin {
        class: JSON_CONVERTER,
        serves: Serves::Both,
        config_def: json_def,
        build: |config, _| Ok(Box::new(json::JsonConverter::new(config)?)),
    },
    ConverterPlugin {
        class: SIMPLE_HEADER_CONVERTER,
        serves: Serves::HeaderOnly,
        config_def: header_def,
        build: |_, _| Ok(Box::new(header::SimpleHeaderConverter)),
    },
    ConverterPlugin {
        class: "org.apache.kafka.connect.storage.StringConverter",
        serves: Serves::Both,
        config_def: string_def,
        build: |config, role| Ok(Box::new(simple::StringConverter::new(config, role)?)),
    },
];

fn converter_type() -> ConfigKey {
    ConfigKey::required("converter.type", ConfigType::String)
        .validator(Validator::OneOf(&["key", "value", "header"]))
        .doc("How this converter will be used.")
}

fn type_def() -> &'static ConfigDef {
    static DEF: LazyLock<ConfigDef> = LazyLock::new(|| ConfigDef::new().define(converter_type()));
    &DEF
}

fn header_def() -> &'static ConfigDef {
    crate::transform::registry::no_keys()
}

fn string_def() -> &'static ConfigDef {
    static DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
        ConfigDef::new().define(converter_type()).define(
            ConfigKey::with_default("converter.encoding", ConfigType::String, "UTF-8").doc(
                "The name of the Java character set to use for encoding strings as byte arrays.",
            ),
        )
    });
    &DEF
}

fn json_def() -> &'static ConfigDef {
    static DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
        ConfigDef::new()
            .define(converter_type())
            .merge(json::config_keys())
    });
    &DEF
}

/// The converter called `name`: its class, or its simple name (`JsonConverter`).
pub(crate) fn plugin(name: &str) -> Option<&'static ConverterPlugin> {
    let name = name.trim();
    CONVERTERS
        .iter()
        .find(|p| p.class == name || p.class.rsplit('.').next() == Some(name))
}

/// A converter as configured for one role of one connector: its class and sub-keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConverterSpec {
    pub(crate) role: Role,
    pub(crate) class: &'static str,
    pub(crate) config: BTreeMap<String, String>,
}

impl ConverterSpec {
    /// The converter for `role`: the connector's class and `<role>.converter.*` keys when it
    /// names one; otherwise the worker's class and keys, which the connector's own
    /// `<role>.converter.*` keys amend (Sluice has always honoured a connector-level
    /// `value.converter.schemas.enable` alone; Connect would ignore it).
    pub(crate) fn resolve(
        role: Role,
        connector: &BTreeMap<String, String>,
        worker: &WorkerConfig,
    ) -> Result<ConverterSpec, ConfigError> {
        let key = role.key();
        let prefix = format!("{key}.");
        let (class, config) = match connector
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            Some(class) => (class.to_string(), with_prefix(connector, &prefix)),
            None => {
                let worker_spec = match role {
                    Role::Key => &worker.key_converter,
                    Role::Value => &worker.value_converter,
                    Role::Header => &worker.header_converter,
                };
                let mut config = worker_spec.config.clone();
                config.extend(with_prefix(connector, &prefix));
                (worker_spec.class.to_string(), config)
            }
        };
        ConverterSpec::named(role, &class, config)
    }

    /// A spec for `class` (a class name or alias), checked: an unknown class, or
    /// `SimpleHeaderConverter` as a key or value converter, is an error naming the role's key.
    pub(crate) fn named(
        role: Role,
        class: &str,
        config: BTreeMap<String, String>,
    ) -> Result<ConverterSpec, ConfigError> {
        let key = role.key();
        let plugin = plugin(class).ok_or_else(|| {
            ConfigError::invalid(key, class, format!("Class {class} could not be found."))
        })?;
        if plugin.serves == Serves::HeaderOnly && role != Role::Header {
            return Err(ConfigError::invalid(
                key,
                class,
                format!("{} is a HeaderConverter, not a Converter", plugin.class),
            ));
        }
        let spec = ConverterSpec {
            role,
            class: plugin.class,
            config,
        };
        spec.build()?;
        Ok(spec)
    }

    /// A new converter; errors name the connector-level key (`value.converter.decimal.format`).
    pub(crate) fn build(&self) -> Result<Box<dyn Converter>, ConfigError> {
        let plugin = plugin(self.class).ok_or_else(|| ConfigError::missing(self.role.key()))?;
        (plugin.build)(&self.config, self.role).map_err(|mut e| {
            e.key = format!("{}.{}", self.role.key(), e.key);
            e
        })
    }

    /// Whether this is JsonConverter, which the fast paths implement.
    pub(crate) fn is_json(&self) -> bool {
        self.class == JSON_CONVERTER
    }
}

/// The key, value and header converters of one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Converters {
    pub(crate) key: ConverterSpec,
    pub(crate) value: ConverterSpec,
    pub(crate) header: ConverterSpec,
}

impl Converters {
    /// Resolves all three for a (resolved) connector config.
    pub(crate) fn resolve(
        connector: &BTreeMap<String, String>,
        worker: &WorkerConfig,
    ) -> Result<Converters, ConfigError> {
        Ok(Converters {
            key: ConverterSpec::resolve(Role::Key, connector, worker)?,
            value: ConverterSpec::resolve(Role::Value, connector, worker)?,
            header: ConverterSpec::resolve(Role::Header, connector, worker)?,
        })
    }
}
