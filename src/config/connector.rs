//! Connector configurations as users already write them: the Connect REST JSON
//! (`{"name":…,"config":{…}}`), the same JSON flattened (`{"name":…,"connector.class":…}`), or a
//! `.properties` file, as `connect-standalone` accepts. The keys common to every connector
//! (Kafka's `ConnectorConfig`, `SourceConnectorConfig`, `SinkConnectorConfig`) are defined here; each plugin adds its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use serde_json::Value as Json;

use super::def::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Validator};
use super::properties;
use super::topic_creation::{TOPIC_CREATION_GROUPS_DEF, TopicCreation};
use crate::error::{Error, Result};

/// Keys every connector accepts (Kafka's `ConnectorConfig`).
pub(crate) static CONNECTOR_CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    ConfigDef::new()
        .define(
            ConfigKey::required("name", String)
                .validator(Validator::NonEmpty)
                .group("Common")
                .doc("Globally unique name to use for this connector."),
        )
        .define(
            ConfigKey::required("connector.class", String)
                .group("Common")
                .display("Connector class")
                .doc("Name or alias of the class for this connector."),
        )
        .define(
            ConfigKey::with_default("tasks.max", Int, "1")
                .validator(Validator::AtLeast(1))
                .importance(Importance::High)
                .group("Common")
                .display("Tasks max")
                .doc("Maximum number of tasks to use for this connector."),
        )
        .define(ConfigKey::optional("key.converter", Class).group("Common"))
        .define(ConfigKey::optional("value.converter", Class).group("Common"))
        .define(ConfigKey::optional("header.converter", Class).group("Common"))
        .define(
            ConfigKey::with_default("config.action.reload", String, "restart")
                .validator(Validator::OneOf(&["none", "restart"]))
                .group("Common"),
        )
        .define(ConfigKey::with_default("transforms", List, "").group("Transforms"))
        .define(ConfigKey::with_default("predicates", List, "").group("Predicates"))
        .define(
            ConfigKey::with_default("errors.retry.timeout", Long, "0").group("Error Handling"),
        )
        .define(
            ConfigKey::with_default("errors.retry.delay.max.ms", Long, "60000")
                .group("Error Handling"),
        )
        .define(
            ConfigKey::with_default("errors.tolerance", String, "none")
                .validator(Validator::OneOf(&["none", "all"]))
                .group("Error Handling")
                .doc("none: an error fails the task; all: problematic records are skipped (sinks: sent to the dead-letter topic when one is set)."),
        )
        .define(ConfigKey::with_default("errors.log.enable", Boolean, "false").group("Error Handling"))
        .define(
            ConfigKey::with_default("errors.log.include.messages", Boolean, "false")
                .group("Error Handling"),
        )
});

/// Keys every sink connector accepts (Kafka's `SinkConnectorConfig`): what it consumes and
/// where failing records go. Their defaults live here only.
pub(crate) static SINK_CONNECTOR_CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    ConfigDef::new()
        .define(
            ConfigKey::with_default("topics", List, "")
                .importance(Importance::High)
                .group("Common")
                .doc("Topics to consume (or topics.regex)."),
        )
        .define(
            ConfigKey::with_default("topics.regex", String, "")
                .importance(Importance::High)
                .group("Common")
                .doc("A regular expression of the topics to consume (or topics)."),
        )
        .define(
            ConfigKey::with_default("errors.deadletterqueue.topic.name", String, "")
                .group("Error Handling"),
        )
        .define(
            ConfigKey::with_default(
                "errors.deadletterqueue.topic.replication.factor",
                Short,
                "3",
            )
            .group("Error Handling"),
        )
        .define(
            ConfigKey::with_default(
                "errors.deadletterqueue.context.headers.enable",
                Boolean,
                "false",
            )
            .group("Error Handling"),
        )
});

/// Keys every source connector's definition lists (Kafka's `SourceConnectorConfig`): the topic
/// creation groups. The groups' keys are checked with the connector's config
/// ([`SourceConnectorConfig`]).
pub(crate) static SOURCE_CONNECTOR_CONFIG_DEF: LazyLock<ConfigDef> =
    LazyLock::new(|| ConfigDef::new().merge(&TOPIC_CREATION_GROUPS_DEF));

/// The settings every source connector shares, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct SourceConnectorConfig {
    /// How the connector's topics are created; `None`: left to the broker.
    pub(crate) topic_creation: Option<TopicCreation>,
}

impl SourceConnectorConfig {
    /// Parses the source keys of `config`; `topic_creation_enabled` is the worker's
    /// `topic.creation.enable`.
    pub(crate) fn parse(
        config: &BTreeMap<String, String>,
        topic_creation_enabled: bool,
    ) -> std::result::Result<Self, ConfigError> {
        match TopicCreation::parse_all(config, topic_creation_enabled) {
            (topic_creation, errors) if errors.is_empty() => {
                Ok(SourceConnectorConfig { topic_creation })
            }
            (_, mut errors) => Err(errors.swap_remove(0)),
        }
    }

    /// Every error in the source keys of `config`.
    pub(crate) fn errors(
        config: &BTreeMap<String, String>,
        topic_creation_enabled: bool,
    ) -> Vec<ConfigError> {
        TopicCreation::parse_all(config, topic_creation_enabled).1
    }
}

/// The consumer override that bounds a sink batch.
const MAX_POLL_RECORDS: &str = "consumer.override.max.poll.records";

/// [`MAX_POLL_RECORDS`] as the consumer's `ConfigDef` checks `max.poll.records`. A client
/// override, not a connector key: kept out of the sink definitions the REST API lists.
static MAX_POLL_RECORDS_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::optional(MAX_POLL_RECORDS, ConfigType::Int).validator(Validator::AtLeast(1)),
    )
});

/// What a sink connector consumes: `topics` or `topics.regex` (exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subscription {
    Topics(Vec<String>),
    Regex(String),
}

/// The dead-letter queue of a sink connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadLetterQueue {
    pub(crate) topic: String,
    pub(crate) replication_factor: i16,
    pub(crate) context_headers: bool,
}

/// The settings every sink connector shares, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SinkConnectorConfig {
    pub(crate) subscription: Subscription,
    /// `errors.deadletterqueue.topic.name` and its settings, when a topic is named.
    pub(crate) dead_letter: Option<DeadLetterQueue>,
    /// `consumer.override.max.poll.records`, when set: the most records in one batch.
    pub(crate) max_poll_records: Option<usize>,
}

impl SinkConnectorConfig {
    /// Parses and checks the sink keys of `config`: exactly one of `topics` / `topics.regex`,
    /// a valid regex.
    pub(crate) fn parse(config: &ConnectorConfig) -> std::result::Result<Self, ConfigError> {
        SinkConnectorConfig::from_parsed(&SINK_CONNECTOR_CONFIG_DEF.parse(&config.config)?)
    }

    /// The same from a configuration already parsed with a definition that includes
    /// [`SINK_CONNECTOR_CONFIG_DEF`] (a sink plugin's own).
    pub(crate) fn from_parsed(parsed: &Config) -> std::result::Result<Self, ConfigError> {
        let topics = parsed.list("topics").to_vec();
        let regex = parsed.non_empty("topics.regex").map(str::to_string);
        let subscription = match (topics.is_empty(), regex) {
            (false, Some(_)) => {
                return Err(ConfigError::rule(
                    "topics.regex",
                    "topics and topics.regex are mutually exclusive: set one",
                ));
            }
            (true, None) => {
                return Err(ConfigError::rule(
                    "topics",
                    "Must configure one of topics or topics.regex",
                ));
            }
            (false, None) => Subscription::Topics(topics),
            (true, Some(regex)) => match regex::Regex::new(&regex) {
                Ok(_) => Subscription::Regex(regex),
                Err(e) => {
                    return Err(ConfigError::invalid(
                        "topics.regex",
                        regex,
                        format!("a valid regular expression ({e})"),
                    ));
                }
            },
        };
        let dead_letter = parsed
            .non_empty("errors.deadletterqueue.topic.name")
            .map(|topic| DeadLetterQueue {
                topic: topic.to_string(),
                replication_factor: parsed
                    .long("errors.deadletterqueue.topic.replication.factor")
                    .unwrap_or_default() as i16,
                context_headers: parsed.bool("errors.deadletterqueue.context.headers.enable"),
            });
        let max_poll_records = MAX_POLL_RECORDS_DEF
            .parse(parsed.originals())?
            .long(MAX_POLL_RECORDS)
            .map(|n| n as usize);
        Ok(SinkConnectorConfig {
            subscription,
            dead_letter,
            max_poll_records,
        })
    }
}

/// A connector's name and its configuration map (which also holds `name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorConfig {
    pub(crate) name: String,
    pub(crate) config: BTreeMap<String, String>,
}

/// Settings common to every connector, parsed.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub(crate) class: String,
    pub(crate) tasks_max: usize,
    /// `errors.tolerance=all`.
    pub(crate) tolerate_errors: bool,
}

impl ConnectorConfig {
    /// Reads a connector file: `.properties`, or JSON in either Connect REST form.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = properties::read_text(path)?;
        let origin = path.display().to_string();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            || text.trim_start().starts_with('{');
        let config = if is_json {
            let json: Json = serde_json::from_str(&text).map_err(|error| {
                Error::with_source(
                    crate::error::ErrorKind::Config,
                    format!("{origin}: not valid JSON"),
                    error,
                )
            })?;
            ConnectorConfig::from_json(&json)
        } else {
            let map = properties::parse(&text, &origin)?;
            ConnectorConfig::from_map(None, map)
        };
        config.map_err(|error| Error::config(format!("{origin}: {error}")))
    }

    /// From the REST body `{"name":…,"config":{…}}` or the flat form `{"name":…, key: value…}`.
    pub fn from_json(json: &Json) -> std::result::Result<Self, ConfigError> {
        let Json::Object(object) = json else {
            return Err(ConfigError::rule(
                "config",
                "a connector configuration must be a JSON object",
            ));
        };
        let name = match object.get("name") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(ConfigError::invalid(
                    "name",
                    other.to_string(),
                    "a JSON string",
                ));
            }
        };
        let map = match object.get("config") {
            Some(Json::Object(config)) => json_map(config)?,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "config",
                    other.to_string(),
                    "a JSON object of string values",
                ));
            }
            None => json_map(object)?,
        };
        ConnectorConfig::from_map(name, map)
    }

    /// For unit tests: `base` with `changes` applied, an empty value removing its key.
    #[cfg(test)]
    pub(crate) fn from_pairs(
        name: &str,
        base: &[(&str, &str)],
        changes: &[(&str, &str)],
    ) -> ConnectorConfig {
        let mut map: BTreeMap<String, String> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in changes {
            match v.is_empty() {
                true => map.remove(*k),
                false => map.insert(k.to_string(), v.to_string()),
            };
        }
        ConnectorConfig::from_map(Some(name.into()), map).unwrap()
    }

    /// From a name (if given apart from the map) and the config map. The map's `name` must
    /// match when both are given.
    pub fn from_map(
        name: Option<String>,
        mut config: BTreeMap<String, String>,
    ) -> std::result::Result<Self, ConfigError> {
        let name = match (name, config.get("name")) {
            (Some(outer), Some(inner)) if &outer != inner => {
                return Err(ConfigError::rule(
                    "name",
                    format!(
                        "Connector name configuration ({inner}) doesn't match connector name in the URL ({outer})"
                    ),
                ));
            }
            (Some(outer), _) => outer,
            (None, Some(inner)) => inner.clone(),
            (None, None) => return Err(ConfigError::missing("name")),
        };
        validate_name(&name)?;
        config.insert("name".into(), name.clone());
        Ok(ConnectorConfig { name, config })
    }

    /// The `connector.class` value, if any.
    pub(crate) fn class(&self) -> Option<&str> {
        self.config.get("connector.class").map(|s| s.trim())
    }

    /// Parses the keys common to every connector.
    pub(crate) fn common(&self) -> std::result::Result<CommonConfig, ConfigError> {
        let parsed: Config = CONNECTOR_CONFIG_DEF.parse(&self.config)?;
        Ok(CommonConfig {
            class: parsed
                .string("connector.class")
                .unwrap_or_default()
                .to_string(),
            tasks_max: parsed.long("tasks.max").unwrap_or_default().max(1) as usize,
            tolerate_errors: parsed
                .string("errors.tolerance")
                .is_some_and(|s| s.eq_ignore_ascii_case("all")),
        })
    }
}

/// A connector name must be non-empty, without `/`, whitespace or control characters (it is
/// used in REST paths, consumer group names and offset keys).
pub(crate) fn validate_name(name: &str) -> std::result::Result<(), ConfigError> {
    let expected = "a non-empty name without '/', whitespace or control characters";
    if name.is_empty()
        || name.contains('/')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::invalid("name", name, expected));
    }
    Ok(())
}

/// A JSON object of configuration values: strings, and numbers and booleans as their text (as
/// Jackson reads them into Connect's `Map<String, String>`); any other value is an error naming
/// its key.
pub(crate) fn json_map(
    object: &serde_json::Map<String, Json>,
) -> std::result::Result<BTreeMap<String, String>, ConfigError> {
    object
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                other => {
                    return Err(ConfigError::invalid(
                        key.clone(),
                        other.to_string(),
                        "a string value",
                    ));
                }
            };
            Ok((key.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_SOURCE: &str = r#"
{
    "name" : "my-source-connect",
    "config" : {
        "connector.class" : "io.confluent.connect.jdbc.JdbcSourceConnector",
        "connection.url":"jdbc:mysql://localhost:3306/mydb",
        "connection.user":"root",
        "connection.password":"1234",
        "mode": "incrementing",
        "incrementing.column.name" : "id",
        "table.whitelist":"users",
        "topic.prefix" : "my_topic_",
        "tasks.max" : "1"
    }
}"#;

    /// Topic creation (`SourceConnectorConfig`): none unless a `topic.creation.*` key is set
    /// and the worker allows it; a bad value names its key.
    #[test]
    fn source_topic_creation_keys() {
        let parse = |pairs: &[(&str, &str)], enabled| {
            SourceConnectorConfig::parse(&crate::config::props(pairs), enabled)
        };
        assert!(parse(&[], true).unwrap().topic_creation.is_none());
        let both = [
            ("topic.creation.default.partitions", "6"),
            ("topic.creation.default.replication.factor", "3"),
        ];
        let creation = parse(&both, true).unwrap().topic_creation.unwrap();
        let settings = creation.settings_for("t");
        assert_eq!((settings.partitions, settings.replication_factor), (6, 3));
        assert!(parse(&both, false).unwrap().topic_creation.is_none());
        let error = parse(
            &[
                ("topic.creation.default.partitions", "6"),
                ("topic.creation.default.replication.factor", "99999"),
            ],
            true,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value 99999 for configuration topic.creation.default.replication.factor: Not a number of type SHORT"
        );
        assert_eq!(
            SourceConnectorConfig::errors(&crate::config::props(&both[..1]), true)[0].key,
            "topic.creation.default.replication.factor"
        );
    }

    #[test]
    fn reads_the_seed_rest_json() {
        let json: Json = serde_json::from_str(SEED_SOURCE).unwrap();
        let config = ConnectorConfig::from_json(&json).unwrap();
        assert_eq!(config.name, "my-source-connect");
        assert_eq!(config.config["name"], "my-source-connect");
        assert_eq!(
            config.class(),
            Some("io.confluent.connect.jdbc.JdbcSourceConnector")
        );
        let common = config.common().unwrap();
        assert_eq!(common.tasks_max, 1);
        assert!(!common.tolerate_errors);
    }

    #[test]
    fn reads_flat_json_and_properties() {
        let json: Json =
            serde_json::from_str(r#"{"name":"a","connector.class":"X","tasks.max":4}"#).unwrap();
        let config = ConnectorConfig::from_json(&json).unwrap();
        assert_eq!(config.common().unwrap().tasks_max, 4);
        let map = properties::parse("name=b\nconnector.class=X\n", "t").unwrap();
        let config = ConnectorConfig::from_map(None, map).unwrap();
        assert_eq!(config.name, "b");
    }

    #[test]
    fn rejects_bad_names_and_values() {
        for name in ["", "a/b", "a b", " a", "a\tb"] {
            let error = validate_name(name).unwrap_err();
            assert_eq!(error.key, "name", "{name:?}");
        }
        let json: Json = serde_json::from_str(r#"{"config":{"connector.class":"X"}}"#).unwrap();
        assert_eq!(
            ConnectorConfig::from_json(&json).unwrap_err(),
            ConfigError::missing("name")
        );
        let json: Json =
            serde_json::from_str(r#"{"name":"a","config":{"tasks.max":[1]}}"#).unwrap();
        assert_eq!(
            ConnectorConfig::from_json(&json).unwrap_err().key,
            "tasks.max"
        );
        let json: Json = serde_json::from_str(r#"{"name":"a","config":{"name":"b"}}"#).unwrap();
        assert!(
            ConnectorConfig::from_json(&json)
                .unwrap_err()
                .to_string()
                .contains("doesn't match")
        );
        let config = ConnectorConfig::from_map(
            Some("a".into()),
            [("tasks.max".to_string(), "0".to_string())].into(),
        )
        .unwrap();
        let error = config.common().unwrap_err();
        assert_eq!(error, ConfigError::missing("connector.class"));
        let config = ConnectorConfig::from_map(
            Some("a".into()),
            [
                ("connector.class".to_string(), "X".to_string()),
                ("tasks.max".to_string(), "0".to_string()),
            ]
            .into(),
        )
        .unwrap();
        assert_eq!(
            config.common().unwrap_err().to_string(),
            "Invalid value 0 for configuration tasks.max: Value must be at least 1"
        );
    }
}
