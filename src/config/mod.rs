//! Configuration that users already have: Kafka Connect worker `.properties` files and
//! connector JSON or `.properties`, with Connect's key names, defaults and error messages.

pub mod connector;
pub mod def;
pub mod properties;
pub mod provider;
pub mod secret;
pub mod worker;

pub use connector::{CommonConfig, ConnectorConfig};
pub use def::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, ConfigValue, Importance, Validator,
};
pub use provider::ConfigProviders;
pub use secret::{Password, redact_url};
pub use worker::WorkerConfig;
