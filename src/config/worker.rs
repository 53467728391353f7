//! The worker configuration: a Kafka Connect worker `.properties` file (the same file
//! `connect-distributed` and `connect-standalone` read), with Connect's keys and defaults.
//! Unknown keys are kept; `producer.`, `consumer.` and `admin.` prefixed keys, and top-level
//! client security keys, are passed to the Kafka clients as Connect passes them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::LazyLock;

use super::def::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Validator};
use super::properties;
use super::provider::ConfigProviders;
use crate::error::Result;

/// Kafka Connect's JSON converter: the worker's key and value converter when its file names none.
pub(crate) const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
/// Connect's default `header.converter`.
pub(crate) const SIMPLE_HEADER_CONVERTER: &str =
    "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Sluice's memory budget setting (see [`crate::budget`]).
pub(crate) const MEMORY_BUDGET_BYTES: &str = "sluice.memory.budget.bytes";
/// Its default: 64 MiB.
const DEFAULT_MEMORY_BUDGET_BYTES: &str = "67108864";

/// Prefixes of top-level worker keys that Connect also hands to its Kafka clients.
const CLIENT_KEY_PREFIXES: &[&str] = &["security.", "sasl.", "ssl.", "client.dns.lookup"];

/// Worker keys and defaults (Kafka's `WorkerConfig` and `DistributedConfig`).
pub(crate) static WORKER_CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    ConfigDef::new()
        .define(
            ConfigKey::with_default("bootstrap.servers", List, "localhost:9092")
                .importance(Importance::High)
                .doc("Kafka brokers to bootstrap from, host:port[,host:port…]."),
        )
        .define(
            ConfigKey::with_default("group.id", String, "connect-cluster")
                .validator(Validator::NonEmpty)
                .doc("The Connect cluster this worker belongs to."),
        )
        .define(
            ConfigKey::with_default("key.converter", Class, JSON_CONVERTER)
                .doc("Converter class for record keys."),
        )
        .define(
            ConfigKey::with_default("value.converter", Class, JSON_CONVERTER)
                .doc("Converter class for record values."),
        )
        .define(
            ConfigKey::with_default("header.converter", Class, SIMPLE_HEADER_CONVERTER)
                .doc("Converter class for record headers."),
        )
        .define(
            ConfigKey::with_default("offset.storage.topic", String, "connect-offsets")
                .validator(Validator::NonEmpty),
        )
        .define(
            ConfigKey::with_default("offset.storage.partitions", Int, "25")
                .validator(Validator::AtLeast(1)),
        )
        .define(ConfigKey::with_default(
            "offset.storage.replication.factor",
            Short,
            "3",
        ))
        .define(
            ConfigKey::with_default("config.storage.topic", String, "connect-configs")
                .validator(Validator::NonEmpty),
        )
        .define(ConfigKey::with_default(
            "config.storage.replication.factor",
            Short,
            "3",
        ))
        .define(
            ConfigKey::with_default("status.storage.topic", String, "connect-status")
                .validator(Validator::NonEmpty),
        )
        .define(
            ConfigKey::with_default("status.storage.partitions", Int, "5")
                .validator(Validator::AtLeast(1)),
        )
        .define(ConfigKey::with_default(
            "status.storage.replication.factor",
            Short,
            "3",
        ))
        .define(
            ConfigKey::with_default("offset.flush.interval.ms", Long, "60000")
                .validator(Validator::AtLeast(1)),
        )
        .define(
            ConfigKey::with_default("offset.flush.timeout.ms", Long, "5000")
                .validator(Validator::AtLeast(1)),
        )
        .define(
            ConfigKey::with_default("task.shutdown.graceful.timeout.ms", Long, "5000")
                .validator(Validator::AtLeast(0)),
        )
        .define(ConfigKey::with_default("session.timeout.ms", Int, "10000").doc(
            "How long the worker group waits for a worker's heartbeat before it hands the \
             worker's connectors and tasks to the others.",
        ))
        .define(
            ConfigKey::with_default("heartbeat.interval.ms", Int, "3000")
                .doc("How often a worker heartbeats to its group."),
        )
        .define(
            ConfigKey::with_default("rebalance.timeout.ms", Int, "60000")
                .validator(Validator::AtLeast(1))
                .doc(
                    "How long the worker group waits for a worker to stop the tasks it gives up \
                     and rejoin.",
                ),
        )
        .define(
            ConfigKey::with_default(MEMORY_BUDGET_BYTES, Long, DEFAULT_MEMORY_BUDGET_BYTES)
            .validator(Validator::AtLeast(1))
            .doc(
                "Sluice: bytes the worker's pipelines may hold in batches queued between stages, \
                 shared evenly by the running tasks; reading pauses when a task's share is spent.",
            ),
        )
        .define(
            ConfigKey::with_default("topic.creation.enable", Boolean, "true").doc(
                "Whether source connectors may create their topics with the settings of their \
                 topic.creation.* keys.",
            ),
        )
        .define(
            ConfigKey::optional("consumer.max.poll.records", Int)
                .validator(Validator::AtLeast(1))
                .doc(
                    "The most records a sink task's batch holds, for every sink connector that \
                     does not override it (consumer.override.max.poll.records).",
                ),
        )
        .define(ConfigKey::optional("listeners", List))
        .define(ConfigKey::optional("rest.port", Int).validator(Validator::Between(0, 65535)))
        .define(ConfigKey::optional("rest.host.name", String))
        .define(ConfigKey::optional("rest.advertised.host.name", String))
        .define(
            ConfigKey::optional("rest.advertised.port", Int)
                .validator(Validator::Between(0, 65535)),
        )
        .define(ConfigKey::optional("plugin.path", List))
        .define(
            ConfigKey::with_default("rest.extension.classes", List, "")
                .doc("REST extensions; Sluice provides Kafka's BasicAuthSecurityRestExtension."),
        )
        .define(
            ConfigKey::with_default("access.control.allow.origin", String, "").doc(
                "CORS: origins allowed to call the REST API (`*` for any); empty disables CORS.",
            ),
        )
        .define(
            ConfigKey::with_default("access.control.allow.methods", String, "")
                .doc("CORS: methods allowed for cross-origin requests; empty means GET,POST,HEAD."),
        )
        .define(
            ConfigKey::with_default("config.providers", List, "")
                .doc("Config providers resolving ${name:path:key} references."),
        )
        .define(ConfigKey::optional("offset.storage.file.filename", String))
        .define(ConfigKey::with_default(
            "connector.client.config.override.policy",
            String,
            "All",
        ))
});

/// A converter as the worker configures it for keys, values or headers. Which classes exist is
/// the record stage's business (`convert::ConverterSpec` checks it at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConverterConfig {
    /// The converter class, as given.
    pub(crate) class: String,
    /// The `<role>.converter.*` keys, prefix stripped.
    pub(crate) config: BTreeMap<String, String>,
}

/// The REST API's listener protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http,
    Https,
}

impl Protocol {
    pub(crate) fn scheme(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
}

/// A listener of the REST API (`listeners=http://host:port,https://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    pub(crate) protocol: Protocol,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Listener {
    /// The address to bind (an empty host binds every interface, as in Connect).
    pub(crate) fn bind_addr(&self) -> std::result::Result<SocketAddr, std::net::AddrParseError> {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else if self.host == "localhost" {
            "127.0.0.1"
        } else {
            &self.host
        };
        format!("{host}:{}", self.port).parse()
    }
}

/// The worker group's timing, as Connect's `DistributedConfig` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupTiming {
    /// `session.timeout.ms`.
    pub(crate) session_timeout_ms: i32,
    /// `heartbeat.interval.ms`.
    pub(crate) heartbeat_interval_ms: i32,
    /// `rebalance.timeout.ms`.
    pub(crate) rebalance_timeout_ms: i32,
}

/// The parsed worker configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `bootstrap.servers`.
    pub(crate) bootstrap_servers: String,
    /// `group.id`: the Connect cluster (distributed mode).
    pub(crate) group_id: String,
    /// `key.converter` and its `key.converter.*` settings.
    pub(crate) key_converter: ConverterConfig,
    /// `value.converter` and its settings.
    pub(crate) value_converter: ConverterConfig,
    /// `header.converter` and its settings.
    pub(crate) header_converter: ConverterConfig,
    /// `offset.storage.topic` (`connect-offsets`).
    pub(crate) offset_storage_topic: String,
    /// `offset.storage.partitions`.
    pub(crate) offset_storage_partitions: i32,
    /// `offset.storage.replication.factor`.
    pub(crate) offset_storage_replication_factor: i16,
    /// `config.storage.topic`.
    pub(crate) config_storage_topic: String,
    /// `config.storage.replication.factor`.
    pub(crate) config_storage_replication_factor: i16,
    /// `status.storage.topic`.
    pub(crate) status_storage_topic: String,
    /// `status.storage.partitions`.
    pub(crate) status_storage_partitions: i32,
    /// `status.storage.replication.factor`.
    pub(crate) status_storage_replication_factor: i16,
    /// `offset.flush.interval.ms`.
    pub(crate) offset_flush_interval_ms: u64,
    /// `offset.flush.timeout.ms`.
    pub(crate) offset_flush_timeout_ms: u64,
    /// `task.shutdown.graceful.timeout.ms`.
    pub(crate) task_shutdown_graceful_timeout_ms: u64,
    /// `session.timeout.ms`, `heartbeat.interval.ms` and `rebalance.timeout.ms`: the worker
    /// group's timing (distributed mode).
    pub(crate) group_timing: GroupTiming,
    /// `sluice.memory.budget.bytes`.
    pub(crate) memory_budget_bytes: u64,
    /// `listeners` (or `rest.host.name` / `rest.port`), in order.
    pub(crate) listeners: Vec<Listener>,
    /// `rest.advertised.host.name`, when set.
    pub(crate) rest_advertised_host_name: Option<String>,
    /// `rest.advertised.port`, when set.
    pub(crate) rest_advertised_port: Option<u16>,
    /// `rest.extension.classes`.
    pub(crate) rest_extension_classes: Vec<String>,
    /// `access.control.allow.origin`, when set: CORS is off otherwise.
    pub(crate) cors_allow_origin: Option<String>,
    /// `access.control.allow.methods`, when set.
    pub(crate) cors_allow_methods: Option<String>,
    /// Properties for every Kafka client: top-level security keys plus `bootstrap.servers`.
    pub(crate) client: BTreeMap<String, String>,
    /// `producer.*` overrides, prefix removed.
    pub(crate) producer: BTreeMap<String, String>,
    /// `consumer.*` overrides, prefix removed.
    pub(crate) consumer: BTreeMap<String, String>,
    /// `topic.creation.enable`: whether source connectors' `topic.creation.*` keys apply.
    pub(crate) topic_creation_enable: bool,
    /// `consumer.max.poll.records`: the most records of a sink batch, unless the connector
    /// overrides it.
    pub(crate) consumer_max_poll_records: Option<usize>,
    /// `admin.*` overrides, prefix removed.
    pub(crate) admin: BTreeMap<String, String>,
    /// Every key as given (config provider references resolved), including ones Sluice does
    /// not interpret.
    pub(crate) originals: BTreeMap<String, String>,
    /// The declared config providers, which resolve `${provider:path:key}` references in
    /// connector configurations.
    pub(crate) config_providers: ConfigProviders,
}

impl WorkerConfig {
    /// Reads a worker `.properties` file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let raw = properties::read(path)?;
        WorkerConfig::from_map(raw)
            .map_err(|error| crate::error::Error::config(format!("{}: {error}", path.display())))
    }

    /// Parses worker properties.
    /// `${provider:path:key}` references are resolved first, with the providers the same
    /// properties declare (`config.providers`).
    pub fn from_map(raw: BTreeMap<String, String>) -> std::result::Result<Self, ConfigError> {
        let config_providers = ConfigProviders::from_worker(&raw)?;
        let raw = config_providers.resolve(&raw)?;
        let config = WORKER_CONFIG_DEF.parse(&raw)?;
        let key_converter = converter(&config, "key")?;
        let value_converter = converter(&config, "value")?;
        let header_converter = converter(&config, "header")?;
        let listeners = listeners(&config)?;
        let bootstrap_servers = config.list("bootstrap.servers").join(",");
        if bootstrap_servers.is_empty() {
            return Err(ConfigError::invalid(
                "bootstrap.servers",
                "",
                "a non-empty list of host:port",
            ));
        }
        // The Java clients use `ssl.*` only over SSL; the same keys often configure the REST
        // API's HTTPS listener, and librdkafka refuses them where it was built without TLS.
        let tls_to_kafka = raw
            .get("security.protocol")
            .is_some_and(|p| p.trim().to_ascii_uppercase().ends_with("SSL"));
        let mut client: BTreeMap<String, String> = raw
            .iter()
            .filter(|(k, _)| CLIENT_KEY_PREFIXES.iter().any(|p| k.starts_with(p)))
            .filter(|(k, _)| tls_to_kafka || !k.starts_with("ssl."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        client.insert("bootstrap.servers".into(), bootstrap_servers.clone());
        let short = |key: &str| config.long(key).unwrap_or_default() as i16;
        let int = |key: &str| config.long(key).unwrap_or_default() as i32;
        let ms = |key: &str| config.long(key).unwrap_or_default().max(0) as u64;
        Ok(WorkerConfig {
            group_id: config.string("group.id").unwrap_or_default().to_string(),
            offset_storage_topic: config
                .string("offset.storage.topic")
                .unwrap_or_default()
                .into(),
            offset_storage_partitions: int("offset.storage.partitions"),
            offset_storage_replication_factor: short("offset.storage.replication.factor"),
            config_storage_topic: config
                .string("config.storage.topic")
                .unwrap_or_default()
                .into(),
            config_storage_replication_factor: short("config.storage.replication.factor"),
            status_storage_topic: config
                .string("status.storage.topic")
                .unwrap_or_default()
                .into(),
            status_storage_partitions: int("status.storage.partitions"),
            status_storage_replication_factor: short("status.storage.replication.factor"),
            offset_flush_interval_ms: ms("offset.flush.interval.ms"),
            offset_flush_timeout_ms: ms("offset.flush.timeout.ms"),
            task_shutdown_graceful_timeout_ms: ms("task.shutdown.graceful.timeout.ms"),
            group_timing: GroupTiming {
                session_timeout_ms: int("session.timeout.ms"),
                heartbeat_interval_ms: int("heartbeat.interval.ms"),
                rebalance_timeout_ms: int("rebalance.timeout.ms"),
            },
            memory_budget_bytes: config.long(MEMORY_BUDGET_BYTES).unwrap_or_default().max(1) as u64,
            producer: config.originals_with_prefix("producer."),
            consumer: config.originals_with_prefix("consumer."),
            topic_creation_enable: config.bool("topic.creation.enable"),
            consumer_max_poll_records: config.long("consumer.max.poll.records").map(|n| n as usize),
            admin: config.originals_with_prefix("admin."),
            bootstrap_servers,
            key_converter,
            value_converter,
            header_converter,
            listeners,
            rest_advertised_host_name: config
                .non_empty("rest.advertised.host.name")
                .map(str::to_string),
            rest_advertised_port: config.long("rest.advertised.port").map(|port| port as u16),
            rest_extension_classes: config
                .list("rest.extension.classes")
                .iter()
                .filter(|class| !class.is_empty())
                .cloned()
                .collect(),
            cors_allow_origin: config
                .non_empty("access.control.allow.origin")
                .map(str::to_string),
            cors_allow_methods: config
                .non_empty("access.control.allow.methods")
                .map(str::to_string),
            client,
            originals: raw,
            config_providers,
        })
    }

    /// The first REST listener, which names the worker (`worker_id`, `Location` headers).
    pub(crate) fn rest_listener(&self) -> &Listener {
        &self.listeners[0]
    }

    /// The TLS settings of the HTTPS listeners, as Connect takes them
    /// (`valuesWithPrefixAllOrNothing("listeners.https.")`): when any `listeners.https.ssl.*`
    /// key is set, those alone (prefix removed); otherwise the top-level `ssl.*` keys.
    pub(crate) fn rest_ssl(&self) -> BTreeMap<String, String> {
        let prefixed = super::def::with_prefix(&self.originals, "listeners.https.");
        if !prefixed.is_empty() {
            return prefixed;
        }
        self.originals
            .iter()
            .filter(|(k, _)| k.starts_with("ssl."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn converter(config: &Config, which: &str) -> std::result::Result<ConverterConfig, ConfigError> {
    let key = format!("{which}.converter");
    let class = config
        .string(&key)
        .unwrap_or(JSON_CONVERTER)
        .trim()
        .to_string();
    Ok(ConverterConfig {
        class,
        config: config.originals_with_prefix(&format!("{key}.")),
    })
}

fn listeners(config: &Config) -> std::result::Result<Vec<Listener>, ConfigError> {
    let list = config.list("listeners");
    if list.is_empty() {
        let host = config.string("rest.host.name").unwrap_or("").to_string();
        let port = config.long("rest.port").unwrap_or(8083) as u16;
        return Ok(vec![Listener {
            protocol: Protocol::Http,
            host,
            port,
        }]);
    }
    list.iter()
        .map(|item| {
            let bad = || {
                ConfigError::invalid(
                    "listeners",
                    item.clone(),
                    "a list of http://host:port or https://host:port URLs (host may be empty for all interfaces)",
                )
            };
            let (protocol, rest) = if let Some(rest) = item.strip_prefix("http://") {
                (Protocol::Http, rest)
            } else if let Some(rest) = item.strip_prefix("https://") {
                (Protocol::Https, rest)
            } else {
                return Err(bad());
            };
            let rest = rest.trim_end_matches('/');
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = port.parse::<u16>().map_err(|_| bad())?;
            Ok(Listener {
                protocol,
                host: host.to_string(),
                port,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<WorkerConfig, ConfigError> {
        WorkerConfig::from_map(properties::parse(text, "test").unwrap())
    }

    #[test]
    fn connect_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.bootstrap_servers, "localhost:9092");
        assert_eq!(config.group_id, "connect-cluster");
        assert_eq!(config.offset_storage_topic, "connect-offsets");
        assert_eq!(config.offset_storage_partitions, 25);
        assert_eq!(config.config_storage_topic, "connect-configs");
        assert_eq!(config.status_storage_topic, "connect-status");
        assert_eq!(config.status_storage_partitions, 5);
        assert_eq!(config.offset_flush_interval_ms, 60_000);
        assert_eq!(config.value_converter.class, JSON_CONVERTER);
        assert!(config.value_converter.config.is_empty());
        assert_eq!(config.header_converter.class, SIMPLE_HEADER_CONVERTER);
        assert_eq!(
            config.listeners,
            vec![Listener {
                protocol: Protocol::Http,
                host: String::new(),
                port: 8083
            }]
        );
    }

    #[test]
    fn reads_a_connect_distributed_file() {
        let config = parse(
            "bootstrap.servers=k1:9092, k2:9092\ngroup.id=my-cluster\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter.schemas.enable=false\nlisteners=http://localhost:18083\n\
             producer.linger.ms=20\nconsumer.max.poll.records=2000\n\
             security.protocol=SASL_SSL\nplugin.path=/opt/connectors\nsome.unknown=kept\n",
        )
        .unwrap();
        assert_eq!(config.bootstrap_servers, "k1:9092,k2:9092");
        assert_eq!(config.group_id, "my-cluster");
        assert_eq!(config.value_converter.config["schemas.enable"], "false");
        assert!(!config.key_converter.config.contains_key("schemas.enable"));
        assert_eq!(config.rest_listener().port, 18083);
        assert_eq!(config.producer["linger.ms"], "20");
        assert_eq!(config.consumer["max.poll.records"], "2000");
        assert_eq!(config.client["security.protocol"], "SASL_SSL");
        assert_eq!(config.client["bootstrap.servers"], "k1:9092,k2:9092");
        assert_eq!(config.originals["some.unknown"], "kept");
    }

    /// The worker group's timing and the REST keys are read once, here, with Connect's
    /// defaults; a bad value fails the worker's start naming its key.
    #[test]
    fn group_timing_and_rest_keys_are_parsed_with_the_worker() {
        let config = parse("").unwrap();
        assert_eq!(
            config.group_timing,
            GroupTiming {
                session_timeout_ms: 10_000,
                heartbeat_interval_ms: 3_000,
                rebalance_timeout_ms: 60_000,
            }
        );
        assert_eq!(config.rest_advertised_host_name, None);
        assert_eq!(config.rest_advertised_port, None);
        assert!(config.rest_extension_classes.is_empty());
        assert_eq!(config.cors_allow_origin, None);
        assert_eq!(config.cors_allow_methods, None);
        assert_eq!(config.consumer_max_poll_records, None);
        assert!(config.topic_creation_enable);

        let config = parse(
            "session.timeout.ms=30000\nheartbeat.interval.ms=1000\nrebalance.timeout.ms=20000\n\
             rest.advertised.host.name= w1.example \nrest.advertised.port=9083\n\
             rest.extension.classes=a.B, c.D\naccess.control.allow.origin=*\n\
             access.control.allow.methods=GET,PUT\nconsumer.max.poll.records=250\n\
             topic.creation.enable=false\n",
        )
        .unwrap();
        assert_eq!(
            config.group_timing,
            GroupTiming {
                session_timeout_ms: 30_000,
                heartbeat_interval_ms: 1_000,
                rebalance_timeout_ms: 20_000,
            }
        );
        assert_eq!(
            config.rest_advertised_host_name.as_deref(),
            Some("w1.example")
        );
        assert_eq!(config.rest_advertised_port, Some(9083));
        assert_eq!(config.rest_extension_classes, ["a.B", "c.D"]);
        assert_eq!(config.cors_allow_origin.as_deref(), Some("*"));
        assert_eq!(config.cors_allow_methods.as_deref(), Some("GET,PUT"));
        assert_eq!(config.consumer_max_poll_records, Some(250));
        assert!(!config.topic_creation_enable);
        assert_eq!(config.consumer["max.poll.records"], "250");

        for (text, key, message) in [
            (
                "rebalance.timeout.ms=soon",
                "rebalance.timeout.ms",
                "Invalid value soon for configuration rebalance.timeout.ms: Not a number of type INT",
            ),
            (
                "session.timeout.ms=10s",
                "session.timeout.ms",
                "Invalid value 10s for configuration session.timeout.ms: Not a number of type INT",
            ),
            (
                "rest.advertised.port=70000",
                "rest.advertised.port",
                "Invalid value 70000 for configuration rest.advertised.port: Value must be in range [0,...,65535]",
            ),
            (
                "consumer.max.poll.records=0",
                "consumer.max.poll.records",
                "Invalid value 0 for configuration consumer.max.poll.records: Value must be at least 1",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.key, key, "{text}");
            assert_eq!(error.to_string(), message, "{text}");
        }
    }

    #[test]
    fn https_listeners_and_their_tls_settings() {
        let config = parse(
            "listeners=http://:8083,https://127.0.0.1:8443\n\
             ssl.keystore.location=/top.p12\nssl.truststore.location=/trust.pem\n",
        )
        .unwrap();
        assert_eq!(config.listeners.len(), 2);
        assert_eq!(config.listeners[1].protocol, Protocol::Https);
        assert_eq!(config.listeners[1].port, 8443);
        // Without listeners.https.* keys the top-level ssl.* keys serve.
        assert_eq!(config.rest_ssl()["ssl.keystore.location"], "/top.p12");
        // …and reach the Kafka clients only when they speak SSL.
        assert!(!config.client.contains_key("ssl.keystore.location"));
        // With any of them, those alone (Connect's all-or-nothing prefix).
        let config = parse(
            "listeners=https://:8443\nssl.keystore.location=/top.p12\n\
             ssl.truststore.location=/trust.pem\nlisteners.https.ssl.keystore.location=/rest.p12\n",
        )
        .unwrap();
        let ssl = config.rest_ssl();
        assert_eq!(ssl["ssl.keystore.location"], "/rest.p12");
        assert!(!ssl.contains_key("ssl.truststore.location"));
        assert_eq!(parse("listeners=ftp://:21").unwrap_err().key, "listeners");
    }

    #[test]
    fn rest_port_is_honoured_without_listeners() {
        let config = parse("rest.port=9999").unwrap();
        assert_eq!(config.rest_listener().port, 9999);
    }

    #[test]
    fn bad_values_name_the_key() {
        let error = parse("offset.flush.interval.ms=soon").unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value soon for configuration offset.flush.interval.ms: Not a number of type LONG"
        );
        let error = parse("listeners=localhost:8083").unwrap_err();
        assert_eq!(error.key, "listeners");
        // Which converter classes exist is checked by the record stage when the worker starts.
        let config = parse("value.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter.converter.encoding=UTF-8").unwrap();
        assert_eq!(
            config.value_converter.class,
            "org.apache.kafka.connect.storage.StringConverter"
        );
        assert_eq!(config.value_converter.config["converter.encoding"], "UTF-8");
    }
}
