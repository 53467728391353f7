//! Typed configuration definitions, after Kafka's `ConfigDef`: every key has a type, a default
//! (or is required), a validator, an importance and documentation. Parsing follows Kafka's rules
//! (strings and lists are trimmed, booleans are case-insensitive) and its error messages, so a
//! user sees the same text they would get from Kafka Connect. The same definitions later back the
//! REST API's `/connector-plugins/{type}/config/validate` and `/config` endpoints.

use std::collections::BTreeMap;
use std::fmt;

use super::secret::Password;

/// The type of a configuration value (Kafka's `ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// Kafka's upper-case name of the type, as shown by the validate endpoint.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How important a key is (Kafka's `ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    /// Kafka's upper-case name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// Value constraints, checked after type parsing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Validator {
    None,
    /// Numeric value `>= min`.
    AtLeast(i64),
    /// Numeric value in `[min, max]`.
    Between(i64, i64),
    /// Numeric value `>= 1` or the one value standing for a default (Connect's topic creation:
    /// -1, the broker's), with the given message.
    PositiveOr(i64, &'static str),
    /// String (case-insensitive) equal to one of the values.
    OneOf(&'static [&'static str]),
    /// The same check, with the message of Kafka's `CaseInsensitiveValidString`, for the keys
    /// Kafka declares with it (`decimal.format`, `field.syntax.version`).
    OneOfCaseInsensitive(&'static [&'static str]),
    /// String exactly equal to one of the values: Kafka's `ValidString`, for the keys whose
    /// readers compare exactly (the transformations').
    OneOfExact(&'static [&'static str]),
    /// Non-empty after trimming.
    NonEmpty,
}

/// One key's definition.
#[derive(Debug, Clone)]
pub(crate) struct ConfigKey {
    pub(crate) name: &'static str,
    pub(crate) ty: ConfigType,
    /// `None`: required. `Some("")` for a list means the empty list.
    pub(crate) default: Option<&'static str>,
    /// A default of `null` in Kafka: the key is optional and has no value unless set.
    pub(crate) nullable: bool,
    pub(crate) validator: Validator,
    pub(crate) importance: Importance,
    pub(crate) documentation: &'static str,
    pub(crate) group: Option<&'static str>,
    pub(crate) display_name: &'static str,
}

impl ConfigKey {
    /// A key that must be given.
    pub(crate) const fn required(name: &'static str, ty: ConfigType) -> Self {
        ConfigKey {
            name,
            ty,
            default: None,
            nullable: false,
            validator: Validator::None,
            importance: Importance::High,
            documentation: "",
            group: None,
            display_name: name,
        }
    }

    /// A key with a default value (parsed like a user value).
    pub(crate) const fn with_default(
        name: &'static str,
        ty: ConfigType,
        default: &'static str,
    ) -> Self {
        ConfigKey {
            default: Some(default),
            importance: Importance::Medium,
            ..ConfigKey::required(name, ty)
        }
    }

    /// A key whose default is Kafka's `null`: no value unless the user sets one.
    pub(crate) const fn optional(name: &'static str, ty: ConfigType) -> Self {
        ConfigKey {
            nullable: true,
            importance: Importance::Medium,
            ..ConfigKey::required(name, ty)
        }
    }

    pub(crate) const fn validator(mut self, validator: Validator) -> Self {
        self.validator = validator;
        self
    }

    pub(crate) const fn importance(mut self, importance: Importance) -> Self {
        self.importance = importance;
        self
    }

    pub(crate) const fn doc(mut self, documentation: &'static str) -> Self {
        self.documentation = documentation;
        self
    }

    pub(crate) const fn group(mut self, group: &'static str) -> Self {
        self.group = Some(group);
        self
    }

    pub(crate) const fn display(mut self, display_name: &'static str) -> Self {
        self.display_name = display_name;
        self
    }

    /// Whether the key has neither a default nor a null default.
    pub(crate) fn is_required(&self) -> bool {
        self.default.is_none() && !self.nullable
    }
}

/// A parsed, typed value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConfigValue {
    Boolean(bool),
    String(String),
    Int(i32),
    Short(i16),
    Long(i64),
    List(Vec<String>),
    Password(Password),
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigErrorKind {
    /// A required key is absent.
    Missing,
    /// The value could not be parsed or failed its validator.
    Invalid { value: String, expected: String },
    /// A rule that involves the key (possibly with others) is broken.
    Rule(String),
}

/// A configuration error that names the key, the value and what was expected. Password values
/// are shown as `[hidden]`, as Kafka does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub(crate) key: String,
    pub(crate) kind: ConfigErrorKind,
}

impl ConfigError {
    pub(crate) fn missing(key: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            kind: ConfigErrorKind::Missing,
        }
    }

    pub(crate) fn invalid(
        key: impl Into<String>,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        ConfigError {
            key: key.into(),
            kind: ConfigErrorKind::Invalid {
                value: value.into(),
                expected: expected.into(),
            },
        }
    }

    pub(crate) fn rule(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            kind: ConfigErrorKind::Rule(message.into()),
        }
    }

    /// The message without the key, as the validate endpoint lists it under the key.
    pub(crate) fn message(&self) -> String {
        match &self.kind {
            ConfigErrorKind::Missing => format!(
                "Missing required configuration \"{}\" which has no default value.",
                self.key
            ),
            ConfigErrorKind::Invalid { value, expected } => {
                format!(
                    "Invalid value {value} for configuration {}: {expected}",
                    self.key
                )
            }
            ConfigErrorKind::Rule(message) => message.clone(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ConfigErrorKind::Rule(message) => write!(f, "{}: {message}", self.key),
            _ => f.write_str(&self.message()),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for crate::error::Error {
    fn from(error: ConfigError) -> Self {
        crate::error::Error::new(crate::error::ErrorKind::Config, error.to_string())
    }
}

/// A set of key definitions.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    pub(crate) fn new() -> Self {
        ConfigDef::default()
    }

    /// Adds a key. A later definition of the same name replaces the earlier one.
    pub(crate) fn define(mut self, key: ConfigKey) -> Self {
        self.keys.retain(|k| k.name != key.name);
        self.keys.push(key);
        self
    }

    /// Adds every key of `other`.
    pub(crate) fn merge(mut self, other: &ConfigDef) -> Self {
        for key in &other.keys {
            self = self.define(key.clone());
        }
        self
    }

    pub(crate) fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    pub(crate) fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Parses every defined key from `raw`, collecting every error (as the validate endpoint
    /// reports all of them at once). Unknown keys are kept in [`Config::originals`].
    pub(crate) fn parse_all(&self, raw: &BTreeMap<String, String>) -> (Config, Vec<ConfigError>) {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for key in &self.keys {
            let text = match raw.get(key.name) {
                Some(v) => Some(v.as_str()),
                None => key.default,
            };
            let Some(text) = text else {
                if key.is_required() {
                    errors.push(ConfigError::missing(key.name));
                }
                continue;
            };
            match parse_value(key, text) {
                Ok(value) => {
                    values.insert(key.name, value);
                }
                Err(error) => errors.push(error),
            }
        }
        (
            Config {
                values,
                originals: raw.clone(),
            },
            errors,
        )
    }

    /// Parses `raw`, failing on the first error.
    pub(crate) fn parse(&self, raw: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let (config, mut errors) = self.parse_all(raw);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors.swap_remove(0))
        }
    }
}

fn shown(key: &ConfigKey, text: &str) -> String {
    if key.ty == ConfigType::Password {
        Password::HIDDEN.to_string()
    } else {
        text.to_string()
    }
}

/// `ConfigDef.parseType` of a BOOLEAN: `true` or `false` in any case, trimmed; the error names
/// `key` and the text as given.
pub(crate) fn parse_bool(key: &str, text: &str) -> Result<bool, ConfigError> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("true") => Ok(true),
        t if t.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ConfigError::invalid(
            key,
            text,
            "Expected value to be either true or false",
        )),
    }
}

fn parse_value(key: &ConfigKey, text: &str) -> Result<ConfigValue, ConfigError> {
    let trimmed = text.trim();
    let invalid = |expected: &str| ConfigError::invalid(key.name, shown(key, text), expected);
    let value = match key.ty {
        ConfigType::Boolean => ConfigValue::Boolean(parse_bool(key.name, text)?),
        ConfigType::String | ConfigType::Class => ConfigValue::String(trimmed.to_string()),
        ConfigType::Password => ConfigValue::Password(Password::new(text.to_string())),
        ConfigType::Int => ConfigValue::Int(
            trimmed
                .parse()
                .map_err(|_| invalid("Not a number of type INT"))?,
        ),
        ConfigType::Short => ConfigValue::Short(
            trimmed
                .parse()
                .map_err(|_| invalid("Not a number of type SHORT"))?,
        ),
        ConfigType::Long => ConfigValue::Long(
            trimmed
                .parse()
                .map_err(|_| invalid("Not a number of type LONG"))?,
        ),
        ConfigType::List => ConfigValue::List(if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split(',').map(|s| s.trim().to_string()).collect()
        }),
    };
    validate(key, text, &value)?;
    Ok(value)
}

fn validate(key: &ConfigKey, text: &str, value: &ConfigValue) -> Result<(), ConfigError> {
    let number = match value {
        ConfigValue::Int(v) => Some(i64::from(*v)),
        ConfigValue::Short(v) => Some(i64::from(*v)),
        ConfigValue::Long(v) => Some(*v),
        _ => None,
    };
    let invalid = |expected: String| ConfigError::invalid(key.name, shown(key, text), expected);
    match key.validator {
        Validator::None => Ok(()),
        Validator::AtLeast(min) => match number {
            Some(n) if n < min => Err(invalid(format!("Value must be at least {min}"))),
            _ => Ok(()),
        },
        Validator::PositiveOr(default, message) => match number {
            Some(n) if n < 1 && n != default => Err(invalid(message.to_string())),
            _ => Ok(()),
        },
        Validator::Between(min, max) => match number {
            Some(n) if n < min || n > max => {
                Err(invalid(format!("Value must be in range [{min},...,{max}]")))
            }
            _ => Ok(()),
        },
        Validator::OneOfExact(allowed) => match value {
            ConfigValue::String(s) if !allowed.contains(&s.as_str()) => Err(invalid(format!(
                "String must be one of: {}",
                allowed.join(", ")
            ))),
            _ => Ok(()),
        },
        Validator::OneOfCaseInsensitive(allowed) => match value {
            ConfigValue::String(s) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => {
                Err(invalid(format!(
                    "String must be one of (case insensitive): {}",
                    allowed.join(", ")
                )))
            }
            _ => Ok(()),
        },
        Validator::OneOf(allowed) => match value {
            ConfigValue::String(s) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Err(
                invalid(format!("String must be one of: {}", allowed.join(", "))),
            ),
            ConfigValue::List(items) => match items
                .iter()
                .find(|s| !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)))
            {
                Some(bad) => Err(invalid(format!(
                    "Invalid value {bad}: must be one of {}",
                    allowed.join(", ")
                ))),
                None => Ok(()),
            },
            _ => Ok(()),
        },
        Validator::NonEmpty => match value {
            ConfigValue::String(s) if s.is_empty() => {
                Err(invalid("String must be non-empty".to_string()))
            }
            _ => Ok(()),
        },
    }
}

/// Parsed values for the defined keys, plus every original key (defined or not).
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    values: BTreeMap<&'static str, ConfigValue>,
    originals: BTreeMap<String, String>,
}

impl Config {
    /// The value of a defined key, or `None` when it has a null default and was not set.
    pub(crate) fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.get(key)
    }

    pub(crate) fn string(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(ConfigValue::String(s)) => Some(s),
            _ => None,
        }
    }

    /// A string value that is set and non-empty.
    pub(crate) fn non_empty(&self, key: &str) -> Option<&str> {
        self.string(key).filter(|s| !s.is_empty())
    }

    pub(crate) fn bool(&self, key: &str) -> bool {
        matches!(self.values.get(key), Some(ConfigValue::Boolean(true)))
    }

    /// An INT, SHORT or LONG value as i64.
    pub(crate) fn long(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(ConfigValue::Int(v)) => Some(i64::from(*v)),
            Some(ConfigValue::Short(v)) => Some(i64::from(*v)),
            Some(ConfigValue::Long(v)) => Some(*v),
            _ => None,
        }
    }

    pub(crate) fn list(&self, key: &str) -> &[String] {
        match self.values.get(key) {
            Some(ConfigValue::List(v)) => v,
            _ => &[],
        }
    }

    pub(crate) fn password(&self, key: &str) -> Option<&Password> {
        match self.values.get(key) {
            Some(ConfigValue::Password(p)) => Some(p),
            _ => None,
        }
    }

    /// Every key as the user gave it, defined or not.
    pub(crate) fn originals(&self) -> &BTreeMap<String, String> {
        &self.originals
    }

    /// Original keys that start with `prefix`, with the prefix removed.
    pub(crate) fn originals_with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        with_prefix(&self.originals, prefix)
    }
}

/// The keys of `map` that start with `prefix`, with it removed (Kafka's
/// `originalsWithPrefix`: `producer.override.`, `listeners.https.`, …).
pub(crate) fn with_prefix(
    map: &BTreeMap<String, String>,
    prefix: &str,
) -> BTreeMap<String, String> {
    map.iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::props;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::required("mode", ConfigType::String)
                    .validator(Validator::OneOf(&["bulk", "incrementing"])),
            )
            .define(
                ConfigKey::with_default("batch.max.rows", ConfigType::Int, "100")
                    .validator(Validator::AtLeast(1)),
            )
            .define(ConfigKey::with_default(
                "flag",
                ConfigType::Boolean,
                "false",
            ))
            .define(ConfigKey::with_default("tables", ConfigType::List, ""))
            .define(ConfigKey::optional("secret", ConfigType::Password))
    }

    #[test]
    fn parses_defaults_and_values() {
        let config = def()
            .parse(&props(&[
                ("mode", " Incrementing "),
                ("flag", "TRUE"),
                ("tables", "a, b ,c"),
                ("x.unknown", "kept"),
            ]))
            .unwrap();
        assert_eq!(config.string("mode"), Some("Incrementing"));
        assert_eq!(config.long("batch.max.rows"), Some(100));
        assert!(config.bool("flag"));
        assert_eq!(config.list("tables"), ["a", "b", "c"]);
        assert!(config.password("secret").is_none());
        assert_eq!(config.originals()["x.unknown"], "kept");
    }

    #[test]
    fn errors_name_key_value_and_expectation() {
        let error = def().parse(&props(&[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Missing required configuration \"mode\" which has no default value."
        );
        let error = def().parse(&props(&[("mode", "sometimes")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value sometimes for configuration mode: String must be one of: bulk, incrementing"
        );
        let error = def()
            .parse(&props(&[("mode", "bulk"), ("batch.max.rows", "ten")]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value ten for configuration batch.max.rows: Not a number of type INT"
        );
        let error = def()
            .parse(&props(&[("mode", "bulk"), ("batch.max.rows", "0")]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value 0 for configuration batch.max.rows: Value must be at least 1"
        );
        let error = def()
            .parse(&props(&[("mode", "bulk"), ("flag", "yes")]))
            .unwrap_err();
        assert_eq!(error.key, "flag");
    }

    #[test]
    fn parse_all_collects_every_error() {
        let (_, errors) = def().parse_all(&props(&[("batch.max.rows", "-1"), ("flag", "maybe")]));
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["mode", "batch.max.rows", "flag"]);
    }
}
