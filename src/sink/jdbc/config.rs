//! `JdbcSinkConnector` configuration: Confluent's keys and defaults (`JdbcSinkConfig`) plus the
//! sink keys of Connect itself (`topics`, `topics.regex`, dead-letter queue).

use std::sync::LazyLock;
use std::time::Duration;

use crate::config::connector::{SINK_CONNECTOR_CONFIG_DEF, SinkConnectorConfig};
use crate::config::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, ConnectorConfig, Importance, Validator,
    redact_url,
};
use crate::db::{DbSettings, DbZone, JdbcUrl};

/// The sink's keys.
pub(crate) static SINK_CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    crate::db::connection_config_def("Connection")
        .merge(&SINK_CONNECTOR_CONFIG_DEF)
        .define(ConfigKey::with_default("dialect.name", String, "").group("Connection"))
        .define(
            ConfigKey::with_default("insert.mode", String, "insert")
                .validator(Validator::OneOf(&["insert", "upsert", "update"]))
                .importance(Importance::High)
                .group("Writes"),
        )
        .define(
            ConfigKey::with_default("batch.size", Int, "3000")
                .validator(Validator::AtLeast(1))
                .group("Writes"),
        )
        .define(ConfigKey::with_default("delete.enabled", Boolean, "false").group("Writes"))
        .define(ConfigKey::with_default("table.types", List, "TABLE").group("Writes"))
        .define(
            ConfigKey::with_default("table.name.format", String, "${topic}").group("Data Mapping"),
        )
        .define(
            ConfigKey::with_default("pk.mode", String, "none")
                .validator(Validator::OneOf(&[
                    "none",
                    "kafka",
                    "record_key",
                    "record_value",
                ]))
                .importance(Importance::High)
                .group("Data Mapping"),
        )
        .define(ConfigKey::with_default("pk.fields", List, "").group("Data Mapping"))
        .define(ConfigKey::with_default("fields.whitelist", List, "").group("Data Mapping"))
        .define(ConfigKey::with_default("db.timezone", String, "UTC").group("Data Mapping"))
        .define(ConfigKey::with_default("auto.create", Boolean, "false").group("DDL Support"))
        .define(ConfigKey::with_default("auto.evolve", Boolean, "false").group("DDL Support"))
        .define(
            ConfigKey::with_default("quote.sql.identifiers", String, "always")
                .validator(Validator::OneOf(&["always", "never"]))
                .group("DDL Support"),
        )
        .define(
            ConfigKey::with_default("max.retries", Int, "10")
                .validator(Validator::AtLeast(0))
                .group("Retries"),
        )
        .define(
            ConfigKey::with_default("retry.backoff.ms", Int, "3000")
                .validator(Validator::AtLeast(0))
                .group("Retries"),
        )
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertMode {
    Insert,
    Upsert,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

/// The target database.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    MySql(DbSettings),
    Postgres(DbSettings),
}

/// A parsed, validated sink configuration.
#[derive(Debug, Clone)]
pub(crate) struct JdbcSinkConfig {
    /// `connection.*`: the target database.
    pub(crate) target: Target,
    /// `insert.mode`.
    pub(crate) insert_mode: InsertMode,
    /// `pk.mode`.
    pub(crate) pk_mode: PkMode,
    /// `pk.fields`.
    pub(crate) pk_fields: Vec<String>,
    /// `fields.whitelist`.
    pub(crate) fields_whitelist: Vec<String>,
    /// `auto.create`.
    pub(crate) auto_create: bool,
    /// `auto.evolve`.
    pub(crate) auto_evolve: bool,
    /// `delete.enabled`.
    pub(crate) delete_enabled: bool,
    /// `batch.size`.
    pub(crate) batch_size: usize,
    /// `table.name.format` (`${topic}`).
    pub(crate) table_name_format: String,
    /// `max.retries`.
    pub(crate) max_retries: u32,
    pub(crate) retry_backoff: Duration,
    /// `db.timezone`: Timestamps written to DATETIME (PostgreSQL: `timestamp without time zone`)
    /// columns are that zone's wall-clock time.
    pub(crate) zone: DbZone,
}

impl JdbcSinkConfig {
    pub(crate) fn parse_all(config: &ConnectorConfig) -> (Option<Self>, Vec<ConfigError>) {
        let (parsed, errors) = SINK_CONFIG_DEF.parse_all(&config.config);
        if !errors.is_empty() {
            return (None, errors);
        }
        match build(&parsed) {
            Ok(config) => (Some(config), Vec::new()),
            Err(errors) => (None, errors),
        }
    }

    pub(crate) fn parse(config: &ConnectorConfig) -> Result<Self, ConfigError> {
        match JdbcSinkConfig::parse_all(config) {
            (Some(config), _) => Ok(config),
            (None, mut errors) => Err(errors.swap_remove(0)),
        }
    }

    /// The target table for a topic (`table.name.format` with `${topic}` replaced).
    pub(crate) fn table_name(&self, topic: &str) -> String {
        self.table_name_format.replace("${topic}", topic)
    }
}

fn build(parsed: &Config) -> Result<JdbcSinkConfig, Vec<ConfigError>> {
    let mut errors = Vec::new();
    // Connect's sink rules (topics or topics.regex); the runtime consumes by them.
    if let Err(error) = SinkConnectorConfig::from_parsed(parsed) {
        errors.push(error);
    }
    let insert_mode = match parsed
        .string("insert.mode")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "upsert" => InsertMode::Upsert,
        "update" => InsertMode::Update,
        _ => InsertMode::Insert,
    };
    let pk_mode = match parsed
        .string("pk.mode")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "kafka" => PkMode::Kafka,
        "record_key" => PkMode::RecordKey,
        "record_value" => PkMode::RecordValue,
        _ => PkMode::None,
    };
    let delete_enabled = parsed.bool("delete.enabled");
    if delete_enabled && pk_mode != PkMode::RecordKey {
        errors.push(ConfigError::rule(
            "delete.enabled",
            "Primary key mode must be 'record_key' when delete support is enabled (pk.mode=record_key)",
        ));
    }
    if matches!(insert_mode, InsertMode::Upsert | InsertMode::Update) && pk_mode == PkMode::None {
        errors.push(ConfigError::rule(
            "pk.mode",
            format!(
                "insert.mode={} needs a primary key: set pk.mode to record_key, record_value or kafka",
                parsed.string("insert.mode").unwrap_or_default()
            ),
        ));
    }
    let mut pk_fields = parsed.list("pk.fields").to_vec();
    if pk_mode == PkMode::Kafka {
        if pk_fields.is_empty() {
            pk_fields = vec![
                "__connect_topic".into(),
                "__connect_partition".into(),
                "__connect_offset".into(),
            ];
        } else if pk_fields.len() != 3 {
            errors.push(ConfigError::invalid(
                "pk.fields",
                pk_fields.join(","),
                "exactly 3 names (topic, partition, offset columns) with pk.mode=kafka",
            ));
        }
    }
    let zone = crate::db::db_timezone(parsed, &mut errors);
    let table_name_format = parsed
        .string("table.name.format")
        .unwrap_or_default()
        .to_string();
    if table_name_format.is_empty() {
        errors.push(ConfigError::invalid(
            "table.name.format",
            "",
            "a table name pattern such as ${topic}",
        ));
    }
    let url_text = parsed.string("connection.url").unwrap_or_default();
    let target = match JdbcUrl::parse("connection.url", url_text) {
        Ok(url) if url.database.is_none() => {
            errors.push(ConfigError::invalid(
                "connection.url",
                redact_url(url_text),
                "a URL naming the database, e.g. jdbc:mysql://host:3306/mydb",
            ));
            None
        }
        Ok(url) => Some(match url.dialect {
            crate::db::Dialect::MySql => {
                Target::MySql(DbSettings::from_connection_config(parsed, url))
            }
            crate::db::Dialect::Postgres => {
                Target::Postgres(DbSettings::from_connection_config(parsed, url))
            }
        }),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(JdbcSinkConfig {
        target: target.expect("checked"),
        insert_mode,
        pk_mode,
        pk_fields,
        fields_whitelist: parsed.list("fields.whitelist").to_vec(),
        auto_create: parsed.bool("auto.create"),
        auto_evolve: parsed.bool("auto.evolve"),
        delete_enabled,
        batch_size: parsed.long("batch.size").unwrap_or_default().max(1) as usize,
        table_name_format,
        max_retries: parsed.long("max.retries").unwrap_or_default().max(0) as u32,
        retry_backoff: Duration::from_millis(
            parsed.long("retry.backoff.ms").unwrap_or_default().max(0) as u64,
        ),
        zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connector::Subscription;

    const SEED: &[(&str, &str)] = &[
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector",
        ),
        ("connection.url", "jdbc:mysql://localhost:3306/mydb"),
        ("connection.user", "root"),
        ("connection.password", "1234"),
        ("auto.create", "true"),
        ("auto.evolve", "true"),
        ("delete.enabled", "false"),
        ("tasks.max", "1"),
        ("topics", "my_topic_users"),
    ];

    fn config(pairs: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig::from_pairs("sink", SEED, pairs)
    }

    #[test]
    fn parses_the_seed_sink() {
        let sink = JdbcSinkConfig::parse(&config(&[])).unwrap();
        assert_eq!(
            SinkConnectorConfig::parse(&config(&[]))
                .unwrap()
                .subscription,
            Subscription::Topics(vec!["my_topic_users".into()])
        );
        assert_eq!(sink.insert_mode, InsertMode::Insert);
        assert_eq!(sink.pk_mode, PkMode::None);
        assert!(sink.auto_create && sink.auto_evolve && !sink.delete_enabled);
        assert_eq!(sink.batch_size, 3000);
        assert_eq!(sink.table_name("my_topic_users"), "my_topic_users");
        assert!(matches!(sink.target, Target::MySql(_)));
    }

    /// `consumer.override.max.poll.records` bounds a batch; a bad one is refused when the
    /// connector is configured, not ignored.
    #[test]
    fn max_poll_records_override() {
        let sink = |pairs: &[(&str, &str)]| SinkConnectorConfig::parse(&config(pairs));
        assert_eq!(sink(&[]).unwrap().max_poll_records, None);
        assert_eq!(
            sink(&[("consumer.override.max.poll.records", " 250 ")])
                .unwrap()
                .max_poll_records,
            Some(250)
        );
        for (value, message) in [
            (
                "lots",
                "Invalid value lots for configuration consumer.override.max.poll.records: Not a number of type INT",
            ),
            (
                "0",
                "Invalid value 0 for configuration consumer.override.max.poll.records: Value must be at least 1",
            ),
        ] {
            let pairs = [("consumer.override.max.poll.records", value)];
            assert_eq!(sink(&pairs).unwrap_err().to_string(), message);
            let error = JdbcSinkConfig::parse(&config(&pairs)).unwrap_err();
            assert_eq!(error.key, "consumer.override.max.poll.records");
        }
    }

    #[test]
    fn rules_name_the_key() {
        let error = JdbcSinkConfig::parse(&config(&[("insert.mode", "upsert")])).unwrap_err();
        assert_eq!(error.key, "pk.mode");
        let error = JdbcSinkConfig::parse(&config(&[
            ("delete.enabled", "true"),
            ("pk.mode", "record_value"),
        ]))
        .unwrap_err();
        assert_eq!(error.key, "delete.enabled");
        let error = JdbcSinkConfig::parse(&config(&[("topics", "")])).unwrap_err();
        assert_eq!(error.key, "topics");
        let error = JdbcSinkConfig::parse(&config(&[("topics.regex", "x.*")])).unwrap_err();
        assert_eq!(error.key, "topics.regex");
        let error = JdbcSinkConfig::parse(&config(&[("insert.mode", "merge")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value merge for configuration insert.mode: String must be one of: insert, upsert, update"
        );
        let pg = JdbcSinkConfig::parse(&config(&[(
            "connection.url",
            "jdbc:postgresql://localhost/db",
        )]))
        .unwrap();
        assert!(matches!(pg.target, Target::Postgres { .. }));
        let kafka = JdbcSinkConfig::parse(&config(&[("pk.mode", "kafka")])).unwrap();
        assert_eq!(
            kafka.pk_fields,
            ["__connect_topic", "__connect_partition", "__connect_offset"]
        );
    }
}
