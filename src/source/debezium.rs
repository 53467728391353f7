//! Debezium's MySQL and MariaDB connectors (`io.debezium.connector.mysql.MySqlConnector`,
//! `io.debezium.connector.mariadb.MariaDbConnector`), rebuilt on the binlog reader: Debezium's
//! configuration keys, and its change events, topics and offsets (`binlog/envelope.rs`).
//!
//! Keys Debezium documents and Sluice does not support yet are refused by name (HTTP 400), as
//! are values of supported keys that would change what Debezium writes in ways Sluice does not
//! reproduce; README's Debezium section lists them.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;

use super::config::{
    BinaryMode, BinlogSettings, ColumnHash, DebeziumSettings, DecimalMode, EventFailure, Flavor,
    HashAlgorithm, HistoryTopic, JdbcSourceConfig, Mode, Pattern, SnapshotMode, TableFilter,
    TimeMode, TimestampGranularity, regexes,
};
use crate::config::connector::SOURCE_CONNECTOR_CONFIG_DEF;
use crate::config::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, ConnectorConfig, Importance, Validator,
};
use crate::connector::{ConnectorPlugin, ConnectorType, Task, TaskConfig, TaskContext};
use crate::db::{DbSettings, DbZone, Dialect, JdbcUrl};
use crate::error::{Error, Result};

/// The keys Sluice reads, with Debezium's defaults.
pub(crate) static DEBEZIUM_CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    let g = "Debezium";
    ConfigDef::new()
        .define(
            ConfigKey::required("database.hostname", String)
                .importance(Importance::High)
                .group(g),
        )
        .define(ConfigKey::with_default("database.port", Int, "3306").group(g))
        .define(
            ConfigKey::required("database.user", String)
                .importance(Importance::High)
                .group(g),
        )
        .define(
            ConfigKey::optional("database.password", Password)
                .importance(Importance::High)
                .group(g),
        )
        .define(
            ConfigKey::required("database.server.id", Long)
                .validator(Validator::Between(1, u32::MAX as i64))
                .group(g)
                .doc("The replica server id the binlog stream uses."),
        )
        .define(
            ConfigKey::required("topic.prefix", String)
                .validator(Validator::NonEmpty)
                .group(g)
                .doc("Names the topics, schemas, source.name and the offset partition."),
        )
        .define(ConfigKey::optional("database.include.list", List).group(g))
        .define(ConfigKey::optional("table.include.list", List).group(g))
        .define(ConfigKey::optional("table.exclude.list", List).group(g))
        .define(
            ConfigKey::with_default("snapshot.mode", String, "initial")
                .validator(Validator::OneOf(&[
                    "initial",
                    "initial_only",
                    "when_needed",
                    "always",
                    "no_data",
                    "schema_only",
                    "recovery",
                    "never",
                ]))
                .group(g),
        )
        .define(
            ConfigKey::with_default("snapshot.locking.mode", String, "minimal")
                .validator(Validator::OneOf(&["minimal", "extended", "none"]))
                .group(g),
        )
        .define(
            ConfigKey::with_default("decimal.handling.mode", String, "precise")
                .validator(Validator::OneOf(&["precise", "double", "string"]))
                .group(g),
        )
        .define(
            ConfigKey::with_default("time.precision.mode", String, "adaptive_time_microseconds")
                .validator(Validator::OneOf(&["adaptive_time_microseconds", "connect"]))
                .group(g),
        )
        .define(
            ConfigKey::with_default("bigint.unsigned.handling.mode", String, "long")
                .validator(Validator::OneOf(&["long", "precise"]))
                .group(g),
        )
        .define(
            ConfigKey::with_default("binary.handling.mode", String, "bytes")
                .validator(Validator::OneOf(&[
                    "bytes",
                    "base64",
                    "base64-url-safe",
                    "hex",
                ]))
                .group(g),
        )
        .define(ConfigKey::with_default("tombstones.on.delete", Boolean, "true").group(g))
        .define(ConfigKey::optional("gtid.source.includes", List).group(g))
        .define(ConfigKey::optional("gtid.source.excludes", List).group(g))
        .define(ConfigKey::with_default("gtid.source.filter.dml.events", Boolean, "true").group(g))
        .define(
            ConfigKey::with_default("event.processing.failure.handling.mode", String, "fail")
                .validator(Validator::OneOf(&["fail", "warn", "skip", "ignore"]))
                .group(g)
                .doc("What a change event that cannot be read does: fail the task, or be skipped (warn: with a log line)."),
        )
        .define(ConfigKey::with_default("skipped.operations", List, "t").group(g))
        .define(ConfigKey::with_default("include.schema.changes", Boolean, "true").group(g))
        .define(ConfigKey::optional("schema.history.internal.kafka.topic", String).group(g))
        .define(
            ConfigKey::optional("schema.history.internal.kafka.bootstrap.servers", String).group(g),
        )
        .define(
            ConfigKey::with_default("heartbeat.interval.ms", Int, "0")
                .validator(Validator::AtLeast(0))
                .group(g),
        )
        .define(
            ConfigKey::with_default("heartbeat.topics.prefix", String, "__debezium-heartbeat")
                .group(g),
        )
        .define(ConfigKey::with_default("provide.transaction.metadata", Boolean, "false").group(g))
        .define(ConfigKey::with_default("topic.transaction", String, "transaction").group(g))
        .define(ConfigKey::optional("message.key.columns", String).group(g))
        .define(ConfigKey::optional("column.include.list", List).group(g))
        .define(ConfigKey::optional("column.exclude.list", List).group(g))
        .define(ConfigKey::optional("signal.data.collection", String).group(g))
        .define(ConfigKey::with_default("signal.enabled.channels", List, "source").group(g))
        .define(
            ConfigKey::with_default("incremental.snapshot.chunk.size", Int, "1024")
                .validator(Validator::AtLeast(1))
                .group(g),
        )
        .define(
            ConfigKey::with_default(
                "incremental.snapshot.watermarking.strategy",
                String,
                "insert_insert",
            )
            .validator(Validator::OneOf(&["insert_insert"]))
            .group(g),
        )
        .define(
            ConfigKey::with_default("max.batch.size", Int, "2048")
                .validator(Validator::AtLeast(1))
                .group(g),
        )
        .define(
            ConfigKey::with_default("poll.interval.ms", Long, "500")
                .validator(Validator::AtLeast(0))
                .group(g),
        )
        .define(
            ConfigKey::with_default("connect.timeout.ms", Int, "30000")
                .validator(Validator::AtLeast(1))
                .group(g),
        )
        .merge(&SOURCE_CONNECTOR_CONFIG_DEF)
});

/// Keys Debezium documents whose default Sluice reproduces, but no other value: any other value
/// is refused by name.
const DEFAULT_ONLY: &[(&str, &str)] = &[
    ("include.query", "false"),
    ("inconsistent.schema.handling.mode", "fail"),
    ("topic.delimiter", "."),
    (
        "topic.naming.strategy",
        "io.debezium.schema.DefaultTopicNamingStrategy",
    ),
    ("schema.name.adjustment.mode", "none"),
    ("field.name.adjustment.mode", "none"),
    ("table.ignore.builtin", "true"),
    ("extended.headers.enabled", "false"),
    ("read.only", "false"),
    ("gtid.ignore.on.recovery", "false"),
    (
        "schema.history.internal",
        "io.debezium.storage.kafka.history.KafkaSchemaHistory",
    ),
];

/// Prefixes of Debezium's own keys: a key under one of them that Sluice does not read is
/// refused rather than silently ignored.
const DEBEZIUM_PREFIXES: &[&str] = &[
    "database.",
    "table.",
    "column.",
    "snapshot.",
    "schema.history.internal",
    "signal.",
    "incremental.snapshot.",
    "heartbeat.",
    "gtid.",
    "binlog.",
    "message.key.columns",
    "converters",
    "custom.metric.tags",
    "notification.",
    "post.processors",
    "datatype.propagate.source.type",
    "column.propagate.source.type",
    "max.queue.size",
    "skip.messages.without.change",
    "enable.time.adjuster",
    "connect.keep.alive",
    "min.row.count.to.stream.results",
    "database.server.name",
];

/// Keys under [`DEBEZIUM_PREFIXES`] that Sluice accepts and deliberately does not use, because
/// they have nothing to tune in Sluice's reader.
const ACCEPTED_UNUSED: &[&str] = &[
    "database.ssl.mode",
    "schema.history.internal.store.only.captured.tables.ddl",
    "schema.history.internal.store.only.captured.databases.ddl",
    "schema.history.internal.skip.unparseable.ddl",
];

/// `column.mask.with.<n>.chars` (`true`) or `column.truncate.to.<n>.chars` (`false`), and `n`.
fn column_edit(key: &str) -> Option<(bool, usize)> {
    let (mask, rest) = match key.strip_prefix("column.mask.with.") {
        Some(rest) => (true, rest),
        None => (false, key.strip_prefix("column.truncate.to.")?),
    };
    let n = rest.strip_suffix(".chars")?.parse().ok()?;
    Some((mask, n))
}

/// `column.mask.hash.[v2.]<algorithm>.with.salt.<salt>`: whether V2, the algorithm name and
/// the salt.
fn column_hash_key(key: &str) -> Option<(bool, &str, &str)> {
    let rest = key.strip_prefix("column.mask.hash.")?;
    let (v2, rest) = match rest.strip_prefix("v2.") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let (algorithm, salt) = rest.split_once(".with.salt.")?;
    Some((v2, algorithm, salt))
}

/// Every problem with a Debezium connector config.
fn parse_all(
    config: &ConnectorConfig,
    flavor: Flavor,
) -> (Option<JdbcSourceConfig>, Vec<ConfigError>) {
    let (parsed, mut errors) = DEBEZIUM_CONFIG_DEF.parse_all(&config.config);
    for (key, value) in &config.config {
        if let Some((_, default)) = DEFAULT_ONLY.iter().find(|(k, _)| k == key) {
            if !value.trim().eq_ignore_ascii_case(default) {
                errors.push(ConfigError::invalid(
                    key.clone(),
                    value.clone(),
                    format!("{default}: Sluice's Debezium connector does not support {key} yet"),
                ));
            }
            continue;
        }
        let debeziums = DEBEZIUM_PREFIXES.iter().any(|p| key.starts_with(p));
        if debeziums
            && DEBEZIUM_CONFIG_DEF.key(key).is_none()
            && column_edit(key).is_none()
            && column_hash_key(key).is_none()
            && !ACCEPTED_UNUSED.contains(&key.as_str())
        {
            errors.push(ConfigError::rule(
                key.clone(),
                format!("Sluice's Debezium connector does not support {key} yet"),
            ));
        }
    }
    if config.config.get("database.ssl.mode").is_some_and(|m| {
        !matches!(
            m.trim().to_ascii_lowercase().as_str(),
            "disabled" | "disable" | "preferred"
        )
    }) {
        errors.push(ConfigError::rule(
            "database.ssl.mode",
            "Sluice's Debezium connector does not support TLS to the database yet",
        ));
    }
    if !errors.is_empty() {
        return (None, errors);
    }
    match build(config, &parsed, flavor) {
        Ok(config) => (Some(config), errors),
        Err(mut more) => {
            errors.append(&mut more);
            (None, errors)
        }
    }
}

fn build(
    config: &ConnectorConfig,
    parsed: &Config,
    flavor: Flavor,
) -> std::result::Result<JdbcSourceConfig, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let prefix = parsed
        .string("topic.prefix")
        .unwrap_or_default()
        .to_string();
    if !prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        errors.push(ConfigError::invalid(
            "topic.prefix",
            prefix.clone(),
            "only letters, digits, '.', '_' and '-'",
        ));
    }
    // The reader captures one database: the include list must name it.
    let databases = parsed.list("database.include.list");
    let database = match databases {
        [one]
            if !one.is_empty()
                && one
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$') =>
        {
            Some(one.clone())
        }
        _ => {
            errors.push(ConfigError::invalid(
                "database.include.list",
                databases.join(","),
                "the name of the one database to capture (Sluice's Debezium connector captures \
                 one database per connector)",
            ));
            None
        }
    };
    // Debezium's filters: case-insensitive, matching the whole name.
    let include = regexes(
        "table.include.list",
        parsed.list("table.include.list"),
        true,
        &mut errors,
    );
    let exclude = regexes(
        "table.exclude.list",
        parsed.list("table.exclude.list"),
        true,
        &mut errors,
    );
    if !include.is_empty() && !exclude.is_empty() {
        errors.push(ConfigError::rule(
            "table.exclude.list",
            "table.include.list and table.exclude.list are mutually exclusive",
        ));
    }
    // The signal table: in the captured database, and captured (Debezium adds it to the table
    // filter) so that its rows are read from the binlog.
    let mut include = include;
    let signal_table = parsed.non_empty("signal.data.collection").and_then(|name| {
        match (name.split_once('.'), &database) {
            (Some((db, table)), Some(captured)) if db == captured && !table.is_empty() => {
                if !include.is_empty() {
                    include.extend(regexes(
                        "signal.data.collection",
                        &[regex::escape(name)],
                        true,
                        &mut errors,
                    ));
                }
                Some((db.to_string(), table.to_string()))
            }
            _ => {
                errors.push(ConfigError::invalid(
                    "signal.data.collection",
                    name,
                    "<database>.<table> in the captured database",
                ));
                None
            }
        }
    });
    for channel in parsed.list("signal.enabled.channels") {
        if !channel.trim().eq_ignore_ascii_case("source") {
            errors.push(ConfigError::invalid(
                "signal.enabled.channels",
                parsed.list("signal.enabled.channels").join(","),
                "source: Sluice reads signals from the signal table only",
            ));
            break;
        }
    }
    // Column filters, masks and truncations: whole-name regexes on `<db>.<table>.<column>`.
    let patterns = |key: &str, raw: &[String], errors: &mut Vec<ConfigError>| {
        regexes(key, raw, true, errors)
            .into_iter()
            .map(Pattern)
            .collect::<Vec<_>>()
    };
    let column_include = patterns(
        "column.include.list",
        parsed.list("column.include.list"),
        &mut errors,
    );
    let column_exclude = patterns(
        "column.exclude.list",
        parsed.list("column.exclude.list"),
        &mut errors,
    );
    let gtid_include = patterns(
        "gtid.source.includes",
        parsed.list("gtid.source.includes"),
        &mut errors,
    );
    let gtid_exclude = patterns(
        "gtid.source.excludes",
        parsed.list("gtid.source.excludes"),
        &mut errors,
    );
    if !gtid_include.is_empty() && !gtid_exclude.is_empty() {
        errors.push(ConfigError::rule(
            "gtid.source.excludes",
            "gtid.source.includes and gtid.source.excludes are mutually exclusive",
        ));
    }
    if !column_include.is_empty() && !column_exclude.is_empty() {
        errors.push(ConfigError::rule(
            "column.exclude.list",
            "column.include.list and column.exclude.list are mutually exclusive",
        ));
    }
    // `<table regex>:<column>,<column>;…`
    let mut message_key_columns = Vec::new();
    for entry in parsed
        .non_empty("message.key.columns")
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let Some((table, columns)) = entry.rsplit_once(':') else {
            errors.push(ConfigError::invalid(
                "message.key.columns",
                entry,
                "<db>.<table regex>:<column>,<column>;…",
            ));
            continue;
        };
        let columns: Vec<String> = columns
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        for pattern in patterns(
            "message.key.columns",
            &[table.trim().to_string()],
            &mut errors,
        ) {
            message_key_columns.push((pattern, columns.clone()));
        }
    }
    let (mut column_masks, mut column_truncates) = (Vec::new(), Vec::new());
    let mut column_hashes = Vec::new();
    for (key, value) in &config.config {
        if let Some((v2, algorithm, salt)) = column_hash_key(key) {
            let Some(algorithm) = HashAlgorithm::from_java(algorithm) else {
                errors.push(ConfigError::rule(
                    key.clone(),
                    format!(
                        "{algorithm} is not a hash algorithm Sluice computes (MD5, SHA-1, \
                         SHA-256, SHA-384, SHA-512)"
                    ),
                ));
                continue;
            };
            let list: Vec<String> = value
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let hash = ColumnHash {
                algorithm,
                salt: salt.to_string(),
                v2,
            };
            for pattern in patterns(key, &list, &mut errors) {
                column_hashes.push((pattern, hash.clone()));
            }
            continue;
        }
        if let Some((mask, n)) = column_edit(key) {
            let list: Vec<String> = value
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            for pattern in patterns(key, &list, &mut errors) {
                match mask {
                    true => column_masks.push((pattern, n)),
                    false => column_truncates.push((pattern, n)),
                }
            }
        }
    }
    let mut skip = (false, false, false, false);
    for op in parsed.list("skipped.operations") {
        match op.trim().to_ascii_lowercase().as_str() {
            "c" => skip.0 = true,
            "u" => skip.1 = true,
            "d" => skip.2 = true,
            "t" => skip.3 = true,
            "none" => {}
            other => errors.push(ConfigError::invalid(
                "skipped.operations",
                other,
                "a list of c, u, d, t or none",
            )),
        }
    }
    let lower = |key: &str| parsed.string(key).unwrap_or_default().to_ascii_lowercase();
    let settings = DebeziumSettings {
        flavor,
        prefix,
        decimal: match lower("decimal.handling.mode").as_str() {
            "double" => DecimalMode::Double,
            "string" => DecimalMode::String,
            _ => DecimalMode::Precise,
        },
        time: match lower("time.precision.mode").as_str() {
            "connect" => TimeMode::Connect,
            _ => TimeMode::AdaptiveMicros,
        },
        bigint_precise: lower("bigint.unsigned.handling.mode") == "precise",
        binary: match lower("binary.handling.mode").as_str() {
            "base64" => BinaryMode::Base64,
            "base64-url-safe" => BinaryMode::Base64UrlSafe,
            "hex" => BinaryMode::Hex,
            _ => BinaryMode::Bytes,
        },
        tombstones: parsed.bool("tombstones.on.delete"),
        gtid_sources: (parsed.bool("gtid.source.filter.dml.events")
            && !(gtid_include.is_empty() && gtid_exclude.is_empty()))
        .then_some((gtid_include, gtid_exclude)),
        event_failure: match lower("event.processing.failure.handling.mode").as_str() {
            "warn" => EventFailure::Warn,
            "skip" | "ignore" => EventFailure::Skip,
            _ => EventFailure::Fail,
        },
        skip_creates: skip.0,
        skip_updates: skip.1,
        skip_deletes: skip.2,
        skip_truncates: skip.3,
        heartbeat: match parsed.long("heartbeat.interval.ms").unwrap_or_default() {
            0 => None,
            ms => Some((
                Duration::from_millis(ms.max(0) as u64),
                format!(
                    "{}.{}",
                    parsed.string("heartbeat.topics.prefix").unwrap_or_default(),
                    parsed.string("topic.prefix").unwrap_or_default()
                ),
            )),
        },
        snapshot_mode: match lower("snapshot.mode").as_str() {
            "initial_only" => SnapshotMode::InitialOnly,
            "when_needed" => SnapshotMode::WhenNeeded,
            "always" => SnapshotMode::Always,
            "no_data" | "schema_only" => SnapshotMode::NoData,
            "recovery" => SnapshotMode::Recovery,
            "never" => SnapshotMode::Never,
            _ => SnapshotMode::Initial,
        },
        message_key_columns,
        column_include,
        column_exclude,
        column_masks,
        column_truncates,
        column_hashes,
        transaction_metadata: parsed.bool("provide.transaction.metadata"),
        transaction_topic: format!(
            "{}.{}",
            parsed.string("topic.prefix").unwrap_or_default(),
            parsed.string("topic.transaction").unwrap_or_default()
        ),
        signal_table,
        chunk_size: parsed
            .long("incremental.snapshot.chunk.size")
            .unwrap_or_default()
            .max(1) as usize,
        schema_changes: parsed.bool("include.schema.changes"),
        history: parsed
            .non_empty("schema.history.internal.kafka.topic")
            .map(|topic| HistoryTopic {
                topic: topic.to_string(),
                bootstrap_servers: parsed
                    .non_empty("schema.history.internal.kafka.bootstrap.servers")
                    .map(str::to_string),
            }),
    };
    let (Some(database), true) = (database, errors.is_empty()) else {
        return Err(errors);
    };
    let url = JdbcUrl {
        dialect: Dialect::MySql,
        host: parsed
            .string("database.hostname")
            .unwrap_or_default()
            .to_string(),
        port: parsed.long("database.port").unwrap_or_default() as u16,
        database: Some(database),
        params: Default::default(),
    };
    let snapshot = !matches!(
        settings.snapshot_mode,
        SnapshotMode::NoData | SnapshotMode::Recovery | SnapshotMode::Never
    );
    Ok(JdbcSourceConfig {
        database: DbSettings::new(
            url,
            parsed.non_empty("database.user").map(str::to_string),
            parsed.password("database.password").cloned(),
            3,
            Duration::from_secs(10),
        )
        .with_connect_timeout(Duration::from_millis(
            parsed.long("connect.timeout.ms").unwrap_or_default().max(1) as u64,
        )),
        mode: Mode::Incrementing,
        incrementing_column: None,
        timestamp_columns: Vec::new(),
        timestamp_initial_ms: None,
        timestamp_delay: Duration::ZERO,
        query: None,
        query_suffix: String::new(),
        tables: TableFilter {
            whitelist: Vec::new(),
            blacklist: Vec::new(),
            include,
            exclude,
        },
        table_types: vec!["TABLE".into()],
        topic_prefix: String::new(),
        poll_interval: Duration::from_millis(
            parsed.long("poll.interval.ms").unwrap_or_default() as u64
        ),
        table_poll_interval: Duration::from_secs(60),
        batch_max_rows: parsed.long("max.batch.size").unwrap_or_default().max(1) as usize,
        validate_non_null: false,
        // Debezium writes DATETIME as if it were UTC, and TIMESTAMP in UTC.
        zone: DbZone::UTC,
        binlog: Some(BinlogSettings {
            updates: true,
            deletes: true,
            snapshot,
            snapshot_lock: lower("snapshot.locking.mode") == "extended",
            server_id: parsed.long("database.server.id").map(|id| id as u32),
            debezium: Some(Arc::new(settings)),
        }),
        granularity: TimestampGranularity::ConnectLogical,
    })
}

fn parse(
    config: &ConnectorConfig,
    flavor: Flavor,
) -> std::result::Result<JdbcSourceConfig, ConfigError> {
    match parse_all(config, flavor) {
        (Some(config), _) => Ok(config),
        (None, mut errors) => Err(errors.swap_remove(0)),
    }
}

/// Debezium's MySQL connector, or its MariaDB one.
pub(crate) struct DebeziumConnector {
    flavor: Flavor,
}

impl DebeziumConnector {
    pub(crate) const MYSQL: DebeziumConnector = DebeziumConnector {
        flavor: Flavor::MySql,
    };
    pub(crate) const MARIADB: DebeziumConnector = DebeziumConnector {
        flavor: Flavor::MariaDb,
    };
}

#[async_trait]
impl ConnectorPlugin for DebeziumConnector {
    fn class(&self) -> &'static str {
        match self.flavor {
            Flavor::MySql => "io.debezium.connector.mysql.MySqlConnector",
            Flavor::MariaDb => "io.debezium.connector.mariadb.MariaDbConnector",
        }
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn version(&self) -> &'static str {
        super::binlog::DEBEZIUM_VERSION
    }

    fn config_def(&self) -> &ConfigDef {
        &DEBEZIUM_CONFIG_DEF
    }

    fn validate(&self, config: &ConnectorConfig) -> Vec<ConfigError> {
        parse_all(config, self.flavor).1
    }

    /// One task reads the binlog, as Debezium's (which fails with more).
    async fn task_configs(
        &self,
        config: &ConnectorConfig,
        max_tasks: usize,
    ) -> Result<Vec<TaskConfig>> {
        parse(config, self.flavor)?;
        if max_tasks > 1 {
            return Err(Error::config("Only a single connector task may be started"));
        }
        Ok(vec![config.config.clone()])
    }

    fn create_task(&self, context: TaskContext) -> Result<Task> {
        let connector =
            ConnectorConfig::from_map(Some(context.connector.to_string()), context.config.clone())?;
        let config = Arc::new(parse(&connector, self.flavor)?);
        Ok(Task::Source(Box::new(
            super::binlog::BinlogSourceTask::new(context.connector.clone(), config)?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TUTORIAL: &[(&str, &str)] = &[
        (
            "connector.class",
            "io.debezium.connector.mysql.MySqlConnector",
        ),
        ("tasks.max", "1"),
        ("database.hostname", "mysql"),
        ("database.port", "3306"),
        ("database.user", "debezium"),
        ("database.password", "dbz"),
        ("database.server.id", "184054"),
        ("topic.prefix", "dbserver1"),
        ("database.include.list", "inventory"),
        (
            "schema.history.internal.kafka.bootstrap.servers",
            "kafka:9092",
        ),
        (
            "schema.history.internal.kafka.topic",
            "schema-changes.inventory",
        ),
    ];

    /// Debezium's tutorial config (`inventory-connector`).
    fn tutorial(extra: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig::from_pairs("inventory-connector", TUTORIAL, extra)
    }

    #[test]
    fn the_tutorial_config_parses() {
        let config = parse(&tutorial(&[]), Flavor::MySql).unwrap();
        assert_eq!(config.database.url.database.as_deref(), Some("inventory"));
        let binlog = config.binlog.unwrap();
        assert_eq!(binlog.server_id, Some(184054));
        assert!(binlog.snapshot);
        let settings = binlog.debezium.unwrap();
        assert_eq!(settings.prefix, "dbserver1");
        assert_eq!(settings.flavor, Flavor::MySql);
        assert!(settings.tombstones);
        assert_eq!(settings.decimal, DecimalMode::Precise);
        // `connect.timeout.ms` (30 s by default) bounds each connection attempt.
        assert_eq!(
            config.database.connect_timeout,
            Some(Duration::from_secs(30))
        );
        // A positive INT, as Debezium's `Field::isPositiveInteger`: 0 would wait forever.
        for bad in ["0", "-5", "2147483648"] {
            let error = parse(&tutorial(&[("connect.timeout.ms", bad)]), Flavor::MySql)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(&format!(
                    "Invalid value {bad} for configuration connect.timeout.ms"
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn unsupported_keys_are_refused_by_name() {
        for (key, value) in [
            (
                "column.mask.hash.WHIRLPOOL.with.salt.abc",
                "inventory.customers.email",
            ),
            ("signal.data.collection", "other.debezium_signal"),
            ("signal.enabled.channels", "source,kafka"),
            (
                "incremental.snapshot.watermarking.strategy",
                "insert_delete",
            ),
            ("heartbeat.action.query", "SELECT 1"),
            ("message.key.columns", "inventory.customers"),
            ("time.precision.mode", "adaptive"),
            ("snapshot.mode", "configuration_based"),
        ] {
            let errors = parse_all(&tutorial(&[(key, value)]), Flavor::MySql).1;
            assert!(
                errors.iter().any(|e| e.key == key),
                "{key}={value}: {errors:?}"
            );
        }
        let errors = parse_all(
            &tutorial(&[("database.include.list", "a,b")]),
            Flavor::MySql,
        )
        .1;
        assert_eq!(errors[0].key, "database.include.list");
    }

    /// Debezium's definition lists Connect's source key `topic.creation.groups`; the groups'
    /// keys are checked with every source's config (`pipeline::config_errors`).
    #[test]
    fn topic_creation_groups_are_listed() {
        assert!(
            DEBEZIUM_CONFIG_DEF
                .keys()
                .iter()
                .any(|key| key.name == "topic.creation.groups")
        );
    }

    #[test]
    fn the_signal_table_is_captured_with_the_included_tables() {
        let config = parse(
            &tutorial(&[
                ("table.include.list", "inventory.customers"),
                ("signal.data.collection", "inventory.debezium_signal"),
                ("incremental.snapshot.chunk.size", "500"),
            ]),
            Flavor::MySql,
        )
        .unwrap();
        assert!(config.tables.matches("inventory", "debezium_signal"));
        assert!(!config.tables.matches("inventory", "orders"));
        let settings = config.binlog.unwrap().debezium.unwrap();
        assert_eq!(
            settings.signal_table,
            Some(("inventory".into(), "debezium_signal".into()))
        );
        assert_eq!(settings.chunk_size, 500);
    }

    #[test]
    fn table_filters_are_whole_name_case_insensitive() {
        let config = parse(
            &tutorial(&[("table.include.list", "inventory.cust.*")]),
            Flavor::MySql,
        )
        .unwrap();
        assert!(config.tables.matches("inventory", "Customers"));
        assert!(!config.tables.matches("inventory", "orders"));
    }
}
