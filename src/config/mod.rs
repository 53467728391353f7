//! Configuration that users already have: Kafka Connect worker `.properties` files and
//! connector JSON or `.properties`, with Connect's key names, defaults and error messages.

pub(crate) mod connector;
pub(crate) mod def;
pub(crate) mod properties;
pub(crate) mod provider;
pub(crate) mod secret;
pub(crate) mod worker;

pub use connector::{CommonConfig, ConnectorConfig};
pub use def::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, ConfigValue, Importance, Validator,
};
pub use provider::ConfigProviders;
pub use secret::{Password, redact_url};
pub use worker::WorkerConfig;
