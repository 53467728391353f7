//! `JdbcSourceConnector` configuration: Confluent's keys and defaults
//! (`JdbcSourceConnectorConfig`), parsed and cross-checked.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use crate::config::connector::SOURCE_CONNECTOR_CONFIG_DEF;
use crate::config::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, ConnectorConfig, Importance, Validator,
};
use crate::db::{DbSettings, DbZone, Dialect, JdbcUrl};

pub(crate) const MODES: &[&str] = &[
    "bulk",
    "incrementing",
    "timestamp",
    "timestamp+incrementing",
];

/// The source's keys (Confluent kafka-connect-jdbc 10.x names and defaults).
pub(crate) static SOURCE_CONFIG_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    crate::db::connection_config_def("Database")
        .define(ConfigKey::with_default("table.whitelist", List, "").group("Database"))
        .define(ConfigKey::with_default("table.blacklist", List, "").group("Database"))
        .define(ConfigKey::optional("table.include.list", List).group("Database"))
        .define(ConfigKey::optional("table.exclude.list", List).group("Database"))
        .define(ConfigKey::optional("catalog.pattern", String).group("Database"))
        .define(ConfigKey::optional("schema.pattern", String).group("Database"))
        .define(
            ConfigKey::with_default("table.types", List, "TABLE")
                .validator(Validator::OneOf(&["TABLE", "VIEW"]))
                .group("Database"),
        )
        .define(
            ConfigKey::with_default("numeric.mapping", String, "none")
                .validator(Validator::OneOf(&[
                    "none",
                    "precision_only",
                    "best_fit",
                    "best_fit_eager_double",
                ]))
                .group("Database")
                .doc(
                    "Accepted as Confluent's. Its mappings apply to columns the JDBC driver reports \
                     as NUMERIC; MySQL's and MariaDB's drivers report DECIMAL and NUMERIC columns \
                     as DECIMAL, which stays a Connect Decimal under every mapping \
                     (kafka-connect-jdbc#563), and so does Sluice.",
                ),
        )
        .define(ConfigKey::with_default("dialect.name", String, "").group("Database"))
        .define(
            ConfigKey::required("mode", String)
                .validator(Validator::OneOf(MODES))
                .group("Mode")
                .doc("bulk, incrementing, timestamp or timestamp+incrementing."),
        )
        .define(ConfigKey::with_default("incrementing.column.name", String, "").group("Mode"))
        .define(ConfigKey::with_default("timestamp.column.name", List, "").group("Mode"))
        .define(ConfigKey::optional("timestamp.initial", Long).group("Mode"))
        .define(ConfigKey::with_default("validate.non.null", Boolean, "true").group("Mode"))
        .define(ConfigKey::with_default("query", String, "").group("Mode"))
        .define(ConfigKey::with_default("query.suffix", String, "").group("Mode"))
        .define(
            ConfigKey::with_default("quote.sql.identifiers", String, "always")
                .validator(Validator::OneOf(&["always", "never"]))
                .group("Mode")
                .doc(
                    "Accepted as Confluent's; Sluice always quotes identifiers (a name that \
                     needs no quotes reads the same either way in MySQL and MariaDB).",
                ),
        )
        .define(
            ConfigKey::with_default("transaction.isolation.mode", String, "DEFAULT")
                .validator(Validator::OneOf(&[
                    "DEFAULT",
                    "READ_UNCOMMITTED",
                    "READ_COMMITTED",
                    "REPEATABLE_READ",
                    "SERIALIZABLE",
                    "SQL_SERVER_SNAPSHOT",
                ]))
                .group("Mode")
                .doc(
                    "The isolation level of the source's sessions; DEFAULT (and \
                     SQL_SERVER_SNAPSHOT, which MySQL and MariaDB lack) keeps the server's.",
                ),
        )
        .define(
            ConfigKey::with_default("timestamp.granularity", String, "connect_logical")
                .validator(Validator::OneOf(&[
                    "connect_logical",
                    "nanos_long",
                    "nanos_string",
                    "nanos_iso_datetime_string",
                    "micros_long",
                    "micros_string",
                    "micros_iso_datetime_string",
                ]))
                .group("Mode"),
        )
        .define(
            ConfigKey::with_default("poll.interval.ms", Int, "5000")
                .validator(Validator::AtLeast(0))
                .importance(Importance::High)
                .group("Connector"),
        )
        .define(
            ConfigKey::with_default("batch.max.rows", Int, "100")
                .validator(Validator::AtLeast(1))
                .group("Connector"),
        )
        .define(
            ConfigKey::with_default("table.poll.interval.ms", Long, "60000")
                .validator(Validator::AtLeast(0))
                .group("Connector"),
        )
        .define(
            ConfigKey::required("topic.prefix", String)
                .group("Connector")
                .doc("Prefix prepended to table names to make the topic name."),
        )
        .define(
            ConfigKey::with_default("timestamp.delay.interval.ms", Long, "0")
                .validator(Validator::AtLeast(0))
                .group("Connector"),
        )
        .define(ConfigKey::with_default("db.timezone", String, "UTC").group("Connector"))
        .define(
            ConfigKey::with_default("sluice.capture", String, "polling")
                .validator(Validator::OneOf(&["polling", "binlog"]))
                .group("Sluice")
                .doc("polling: Connect's queries. binlog: read the binary log (incrementing mode's topics and messages, without polling and without missed rows)."),
        )
        .define(
            ConfigKey::with_default("sluice.binlog.updates", Boolean, "false")
                .group("Sluice")
                .doc("Also write updated rows (the full after-image, same message shape)."),
        )
        .define(
            ConfigKey::with_default("sluice.binlog.deletes", Boolean, "false")
                .group("Sluice")
                .doc("Also write deletes as tombstones; every record then carries its primary key as the record key."),
        )
        .define(
            ConfigKey::with_default("sluice.binlog.snapshot", String, "initial")
                .validator(Validator::OneOf(&["initial", "never"]))
                .group("Sluice")
                .doc("initial: with no stored offset, read the existing rows first (consistently with the binlog position). never: start at the current binlog position."),
        )
        .define(
            ConfigKey::with_default("sluice.binlog.snapshot.locking", String, "auto")
                .validator(Validator::OneOf(&["auto", "global"]))
                .group("Sluice")
                .doc("How the snapshot pins its binlog position. auto: lock-free where the server reports it for the snapshot (MariaDB's binlog_snapshot_file/position), else a global read lock held only while the snapshot transaction starts and the position is read (MySQL; needs RELOAD). global: always that brief global read lock."),
        )
        .define(
            ConfigKey::optional("sluice.binlog.server.id", Long)
                .validator(Validator::Between(1, 4_294_967_295))
                .group("Sluice")
                .doc("The replica server id; unique among the server's replicas. Default: derived from the connector name."),
        )
        .merge(&SOURCE_CONNECTOR_CONFIG_DEF)
});

/// The capture mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    pub(crate) fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }

    pub(crate) fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// Which tables a connector reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableFilter {
    pub(crate) whitelist: Vec<String>,
    pub(crate) blacklist: Vec<String>,
    pub(crate) include: Vec<Regex>,
    pub(crate) exclude: Vec<Regex>,
}

impl TableFilter {
    /// Whether `db.table` is selected. Whitelist/blacklist entries match the table name or the
    /// qualified name; include/exclude regexes must match the whole qualified name.
    pub(crate) fn matches(&self, database: &str, table: &str) -> bool {
        let qualified = format!("{database}.{table}");
        let named = |list: &[String]| list.iter().any(|t| t == table || *t == qualified);
        let full = |re: &Regex| re.is_match(&qualified);
        if !self.whitelist.is_empty() {
            return named(&self.whitelist);
        }
        if !self.include.is_empty() && !self.include.iter().any(full) {
            return false;
        }
        if named(&self.blacklist) || self.exclude.iter().any(full) {
            return false;
        }
        true
    }
}

/// The binlog reader's settings (`sluice.binlog.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BinlogSettings {
    /// Write updates (after-image).
    pub(crate) updates: bool,
    /// Write deletes as tombstones (and keys on every record).
    pub(crate) deletes: bool,
    /// Read the existing rows before streaming, when there is no stored offset.
    pub(crate) snapshot: bool,
    /// Always pin the snapshot's position under a brief global read lock.
    pub(crate) snapshot_lock: bool,
    /// `sluice.binlog.server.id` (Debezium: `database.server.id`); `None`: one derived from the connector's name.
    pub(crate) server_id: Option<u32>,
    /// Debezium's change events instead of the JDBC source's records.
    pub(crate) debezium: Option<std::sync::Arc<DebeziumSettings>>,
}

// Debezium's connectors (`io.debezium.connector.mysql.MySqlConnector`, `…mariadb.
// MariaDbConnector`) run the binlog reader with Debezium's event shapes.

/// Which Debezium connector is being replaced: it names the `source` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MySql,
    MariaDb,
}

impl Flavor {
    /// `source.connector`.
    pub(crate) fn connector(self) -> &'static str {
        match self {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }

    /// The `source` struct's schema name.
    pub(crate) fn source_schema_name(self) -> &'static str {
        match self {
            Flavor::MySql => "io.debezium.connector.mysql.Source",
            Flavor::MariaDb => "io.debezium.connector.mariadb.Source",
        }
    }
}

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalMode {
    Precise,
    Double,
    String,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeMode {
    /// `adaptive_time_microseconds`: `io.debezium.time.*` types at the column's precision.
    AdaptiveMicros,
    /// `connect`: Connect's Date/Time/Timestamp logical types (milliseconds).
    Connect,
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// Debezium's `snapshot.mode` values Sluice runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotMode {
    /// A snapshot when there is no offset (or an unfinished one), then the stream.
    Initial,
    /// As `initial`, then no stream.
    InitialOnly,
    /// `no_data` (`schema_only`): no data snapshot; the stream starts at the current position.
    NoData,
    /// `never`: no snapshot; the stream starts at the oldest binlog the server has.
    Never,
    /// As `initial`, and a new snapshot when the stored position is gone from the server.
    WhenNeeded,
    /// A snapshot at every start, then the stream from its position.
    Always,
    /// The schema history is rebuilt from the tables' current structures at the stored
    /// offset (for a lost or damaged history topic), then the stream goes on from there.
    Recovery,
}

/// A compiled regex, compared by its pattern (so settings stay comparable).
#[derive(Debug, Clone)]
pub(crate) struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl Pattern {
    /// Whether it matches the whole of `name` (it was built by [`regexes`], anchored).
    pub(crate) fn matches_whole(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

/// What shapes Debezium's events, from the connector's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DebeziumSettings {
    /// `connector.class`: MySQL or MariaDB.
    pub(crate) flavor: Flavor,
    /// `topic.prefix`: topics, schema names, `source.name` and the offset partition.
    pub(crate) prefix: String,
    /// `decimal.handling.mode`.
    pub(crate) decimal: DecimalMode,
    /// `time.precision.mode`.
    pub(crate) time: TimeMode,
    /// `bigint.unsigned.handling.mode=precise`: BIGINT UNSIGNED as Decimal(20, 0).
    pub(crate) bigint_precise: bool,
    /// `binary.handling.mode`.
    pub(crate) binary: BinaryMode,
    /// `tombstones.on.delete`.
    pub(crate) tombstones: bool,
    /// `event.processing.failure.handling.mode`.
    pub(crate) event_failure: EventFailure,
    /// `gtid.source.includes` / `gtid.source.excludes` with `gtid.source.filter.dml.events`
    /// (whole-name regexes on a GTID's source: MySQL's server UUID, MariaDB's
    /// `<domain>-<server>`): the row events of transactions from other sources are not written.
    pub(crate) gtid_sources: Option<(Vec<Pattern>, Vec<Pattern>)>,
    /// `skipped.operations`: creates, updates, deletes not written.
    pub(crate) skip_creates: bool,
    /// `u` in `skipped.operations`.
    pub(crate) skip_updates: bool,
    /// `d` in `skipped.operations`.
    pub(crate) skip_deletes: bool,
    /// `t` in `skipped.operations` (Debezium's default): no truncate events.
    pub(crate) skip_truncates: bool,
    /// `heartbeat.interval.ms` (when above 0) and the heartbeat topic
    /// (`<heartbeat.topics.prefix>.<topic.prefix>`).
    pub(crate) heartbeat: Option<(std::time::Duration, String)>,
    /// `column.include.list` / `column.exclude.list`: whole-name, case-insensitive regexes on
    /// `<db>.<table>.<column>`.
    pub(crate) column_include: Vec<Pattern>,
    pub(crate) column_exclude: Vec<Pattern>,
    /// `column.mask.with.<n>.chars`: columns whose text is replaced by `n` asterisks.
    pub(crate) column_masks: Vec<(Pattern, usize)>,
    /// `column.truncate.to.<n>.chars`: columns whose text is cut to `n` characters.
    pub(crate) column_truncates: Vec<(Pattern, usize)>,
    /// `column.mask.hash.[v2.]<algorithm>.with.salt.<salt>`: columns whose text is replaced by
    /// the hex digest of the salt and the value.
    pub(crate) column_hashes: Vec<(Pattern, ColumnHash)>,
    /// `snapshot.mode`.
    pub(crate) snapshot_mode: SnapshotMode,
    /// `message.key.columns`: tables (whole-name regexes on `<db>.<table>`) keyed by these
    /// columns instead of their primary key.
    pub(crate) message_key_columns: Vec<(Pattern, Vec<String>)>,
    /// `provide.transaction.metadata`, and its topic (`<topic.prefix>.<topic.transaction>`).
    pub(crate) transaction_metadata: bool,
    pub(crate) transaction_topic: String,
    /// `signal.data.collection`: the signal table (database, table) read from the binlog.
    pub(crate) signal_table: Option<(String, String)>,
    /// `incremental.snapshot.chunk.size`: rows per incremental snapshot chunk.
    pub(crate) chunk_size: usize,
    /// `include.schema.changes`: schema-change events on the `<topic.prefix>` topic.
    pub(crate) schema_changes: bool,
    /// `schema.history.internal.kafka.topic` and `….bootstrap.servers`: the schema history.
    pub(crate) history: Option<HistoryTopic>,
}

/// What a binlog event whose rows cannot be read does (`event.processing.failure.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventFailure {
    /// The task fails with the error (Debezium's default).
    Fail,
    /// The event is skipped, with a warning naming it and its position.
    Warn,
    /// The event is skipped (`skip`, `ignore`), logged at debug level.
    Skip,
}

/// A `column.mask.hash.*` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnHash {
    pub(crate) algorithm: HashAlgorithm,
    pub(crate) salt: String,
    /// `v2`: the value's UTF-8 bytes are hashed; otherwise (Debezium's default, V1) the bytes
    /// Java's `ObjectOutputStream` writes for the string.
    pub(crate) v2: bool,
}

/// The `MessageDigest` algorithms `column.mask.hash.*` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// A Java `MessageDigest` name (`SHA-256`, `MD5`…).
    pub(crate) fn from_java(name: &str) -> Option<HashAlgorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(HashAlgorithm::Md5),
            "SHA" | "SHA1" | "SHA-1" => Some(HashAlgorithm::Sha1),
            "SHA-256" | "SHA256" => Some(HashAlgorithm::Sha256),
            "SHA-384" | "SHA384" => Some(HashAlgorithm::Sha384),
            "SHA-512" | "SHA512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }
}

impl ColumnHash {
    /// The lowercase hex digest of the salt followed by `value`'s bytes, as Debezium's
    /// `MaskStrings.HashValueConverter` computes it.
    pub(crate) fn hex(&self, value: &str) -> String {
        use sha2::Digest;
        let bytes = if self.v2 {
            value.as_bytes().to_vec()
        } else {
            java_serialized_string(value)
        };
        fn digest<D: Digest>(salt: &[u8], bytes: &[u8]) -> Vec<u8> {
            let mut hasher = D::new();
            hasher.update(salt);
            hasher.update(bytes);
            hasher.finalize().to_vec()
        }
        let salt = self.salt.as_bytes();
        let hash = match self.algorithm {
            HashAlgorithm::Md5 => digest::<md5::Md5>(salt, &bytes),
            HashAlgorithm::Sha1 => digest::<sha1::Sha1>(salt, &bytes),
            HashAlgorithm::Sha256 => digest::<sha2::Sha256>(salt, &bytes),
            HashAlgorithm::Sha384 => digest::<sha2::Sha384>(salt, &bytes),
            HashAlgorithm::Sha512 => digest::<sha2::Sha512>(salt, &bytes),
        };
        hex::encode(hash)
    }
}

/// The bytes Java's `ObjectOutputStream.writeObject(String)` writes: the stream header, then
/// `TC_STRING` and a 16-bit length (`TC_LONGSTRING` and a 64-bit one past 65,535 bytes) and
/// the string in modified UTF-8 (NUL as two bytes, characters beyond the BMP as two 3-byte
/// surrogates).
fn java_serialized_string(value: &str) -> Vec<u8> {
    let mut text = Vec::with_capacity(value.len() + 8);
    for unit in value.encode_utf16() {
        match unit {
            0x0001..=0x007f => text.push(unit as u8),
            0x0000 | 0x0080..=0x07ff => {
                text.push(0xc0 | (unit >> 6) as u8);
                text.push(0x80 | (unit & 0x3f) as u8);
            }
            _ => {
                text.push(0xe0 | (unit >> 12) as u8);
                text.push(0x80 | ((unit >> 6) & 0x3f) as u8);
                text.push(0x80 | (unit & 0x3f) as u8);
            }
        }
    }
    let mut out = vec![0xac, 0xed, 0x00, 0x05];
    match u16::try_from(text.len()) {
        Ok(len) => {
            out.push(0x74);
            out.extend_from_slice(&len.to_be_bytes());
        }
        Err(_) => {
            out.push(0x7c);
            out.extend_from_slice(&(text.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&text);
    out
}

/// Where Debezium's schema history is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryTopic {
    pub(crate) topic: String,
    /// The history's Kafka cluster (`None`: the worker's).
    pub(crate) bootstrap_servers: Option<String>,
}

/// `timestamp.granularity`: how DATETIME/TIMESTAMP columns are written (Connect's
/// `TimestampGranularity`). Every form but `connect_logical` keeps sub-millisecond digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TimestampGranularity {
    /// The `org.apache.kafka.connect.data.Timestamp` logical type: epoch milliseconds.
    #[default]
    ConnectLogical,
    /// int64 epoch nanoseconds.
    NanosLong,
    /// Epoch nanoseconds as a decimal string.
    NanosString,
    /// `yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS` in `db.timezone`.
    NanosIsoDatetimeString,
    /// int64 epoch microseconds.
    MicrosLong,
    /// Epoch microseconds as a decimal string.
    MicrosString,
    /// `yyyy-MM-dd'T'HH:mm:ss.SSSSSS` in `db.timezone`.
    MicrosIsoDatetimeString,
}

impl TimestampGranularity {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        use TimestampGranularity::*;
        Some(match text.to_ascii_lowercase().as_str() {
            "connect_logical" => ConnectLogical,
            "nanos_long" => NanosLong,
            "nanos_string" => NanosString,
            "nanos_iso_datetime_string" => NanosIsoDatetimeString,
            "micros_long" => MicrosLong,
            "micros_string" => MicrosString,
            "micros_iso_datetime_string" => MicrosIsoDatetimeString,
            _ => return None,
        })
    }
}

/// A parsed and validated source configuration.
#[derive(Debug, Clone)]
pub(crate) struct JdbcSourceConfig {
    /// `connection.*`: where to read.
    pub(crate) database: DbSettings,
    /// `mode`: how new rows are found.
    pub(crate) mode: Mode,
    /// `incrementing.column.name` (found from AUTO_INCREMENT when empty).
    pub(crate) incrementing_column: Option<String>,
    /// `timestamp.column.name`: the first non-null of these orders rows.
    pub(crate) timestamp_columns: Vec<String>,
    /// `timestamp.initial` (ms since the epoch): where a first run starts; `None`: the beginning.
    pub(crate) timestamp_initial_ms: Option<i64>,
    /// `timestamp.delay.interval.ms`: rows this recent wait for the next poll.
    pub(crate) timestamp_delay: Duration,
    /// `query`: one custom query instead of the tables.
    pub(crate) query: Option<String>,
    /// `query.suffix`, appended to every query.
    pub(crate) query_suffix: String,
    /// `table.whitelist` / `table.blacklist`, or `table.include.list` / `table.exclude.list`.
    pub(crate) tables: TableFilter,
    /// `table.types` (`TABLE`, `VIEW`).
    pub(crate) table_types: Vec<String>,
    /// `topic.prefix`: the topic is the prefix and the table name.
    pub(crate) topic_prefix: String,
    /// `poll.interval.ms`: the wait when a poll found nothing new.
    pub(crate) poll_interval: Duration,
    /// `table.poll.interval.ms`: how often the table list is refreshed.
    pub(crate) table_poll_interval: Duration,
    /// `batch.max.rows`.
    pub(crate) batch_max_rows: usize,
    /// `validate.non.null`.
    pub(crate) validate_non_null: bool,
    /// `db.timezone`: the wall clock of DATETIME columns.
    pub(crate) zone: DbZone,
    /// `sluice.capture=binlog`: the binlog reader instead of polling.
    pub(crate) binlog: Option<BinlogSettings>,
    /// `timestamp.granularity`: how DATETIME/TIMESTAMP values are written.
    pub(crate) granularity: TimestampGranularity,
}

impl JdbcSourceConfig {
    /// Parses and validates every rule, returning all problems.
    pub(crate) fn parse_all(config: &ConnectorConfig) -> (Option<Self>, Vec<ConfigError>) {
        let (parsed, mut errors) = SOURCE_CONFIG_DEF.parse_all(&config.config);
        if !errors.is_empty() {
            return (None, errors);
        }
        match build(&parsed) {
            Ok(config) => (Some(config), errors),
            Err(mut more) => {
                errors.append(&mut more);
                (None, errors)
            }
        }
    }

    /// Parses, failing on the first problem.
    pub(crate) fn parse(config: &ConnectorConfig) -> Result<Self, ConfigError> {
        match JdbcSourceConfig::parse_all(config) {
            (Some(config), _) => Ok(config),
            (None, mut errors) => Err(errors.swap_remove(0)),
        }
    }
}

/// Compiles the regexes of list `key`, each to match whole names (ignoring case when
/// `case_insensitive`, as Debezium's filters do), recording each invalid one in `errors` under
/// the text the user wrote.
pub(crate) fn regexes(
    key: &str,
    raw: &[String],
    case_insensitive: bool,
    errors: &mut Vec<ConfigError>,
) -> Vec<Regex> {
    raw.iter()
        .filter_map(|r| match crate::config::whole_regex(r, case_insensitive) {
            Ok(re) => Some(re),
            Err(e) => {
                errors.push(ConfigError::invalid(
                    key,
                    r.clone(),
                    format!("a valid regular expression ({e})"),
                ));
                None
            }
        })
        .collect()
}

fn build(parsed: &Config) -> Result<JdbcSourceConfig, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let url = parsed.string("connection.url").unwrap_or_default();
    let url = match JdbcUrl::parse("connection.url", url) {
        Ok(url) if url.dialect != Dialect::MySql => {
            errors.push(ConfigError::invalid(
                "connection.url",
                crate::config::redact_url(parsed.string("connection.url").unwrap_or_default()),
                "a jdbc:mysql:// or jdbc:mariadb:// URL (the JDBC source reads MySQL and MariaDB)",
            ));
            None
        }
        Ok(url) => Some(url),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let mode = match parsed
        .string("mode")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "bulk" => Mode::Bulk,
        "incrementing" => Mode::Incrementing,
        "timestamp" => Mode::Timestamp,
        _ => Mode::TimestampIncrementing,
    };
    let incrementing_column = parsed
        .non_empty("incrementing.column.name")
        .map(str::to_string);
    let timestamp_columns = parsed.list("timestamp.column.name").to_vec();
    if mode.uses_timestamp() && timestamp_columns.is_empty() {
        errors.push(ConfigError::rule(
            "timestamp.column.name",
            format!(
                "mode {} needs timestamp.column.name: the column(s) holding each row's last-modified time",
                parsed.string("mode").unwrap_or_default()
            ),
        ));
    }
    let query = parsed.non_empty("query").map(str::to_string);
    let whitelist = parsed.list("table.whitelist").to_vec();
    let blacklist = parsed.list("table.blacklist").to_vec();
    let include_raw = parsed.list("table.include.list").to_vec();
    let exclude_raw = parsed.list("table.exclude.list").to_vec();
    if !whitelist.is_empty() && !blacklist.is_empty() {
        errors.push(ConfigError::rule(
            "table.blacklist",
            "table.whitelist and table.blacklist are mutually exclusive",
        ));
    }
    if (!whitelist.is_empty() || !blacklist.is_empty())
        && (!include_raw.is_empty() || !exclude_raw.is_empty())
    {
        errors.push(ConfigError::rule(
            "table.include.list",
            "table.include.list/table.exclude.list cannot be combined with the legacy table.whitelist/table.blacklist",
        ));
    }
    if query.is_some()
        && (!whitelist.is_empty() || !blacklist.is_empty() || !include_raw.is_empty())
    {
        errors.push(ConfigError::rule(
            "query",
            "query cannot be combined with table.whitelist, table.blacklist or table.include.list",
        ));
    }
    let include = regexes("table.include.list", &include_raw, false, &mut errors);
    let exclude = regexes("table.exclude.list", &exclude_raw, false, &mut errors);
    let zone = crate::db::db_timezone(parsed, &mut errors);
    let is = |key: &str, value: &str| {
        parsed
            .string(key)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    };
    let binlog = is("sluice.capture", "binlog").then(|| BinlogSettings {
        updates: parsed.bool("sluice.binlog.updates"),
        deletes: parsed.bool("sluice.binlog.deletes"),
        snapshot: !is("sluice.binlog.snapshot", "never"),
        snapshot_lock: is("sluice.binlog.snapshot.locking", "global"),
        server_id: parsed.long("sluice.binlog.server.id").map(|id| id as u32),
        debezium: None,
    });
    if binlog.is_some() && mode != Mode::Incrementing {
        errors.push(ConfigError::invalid(
            "mode",
            parsed.string("mode").unwrap_or_default(),
            "incrementing (sluice.capture=binlog keeps incrementing mode's semantics)",
        ));
    }
    if binlog.is_some() && parsed.non_empty("query").is_some() {
        errors.push(ConfigError::invalid(
            "query",
            parsed.string("query").unwrap_or_default(),
            "no query with sluice.capture=binlog (the binlog carries tables, not query results)",
        ));
    }
    let granularity =
        TimestampGranularity::parse(parsed.string("timestamp.granularity").unwrap_or_default())
            .unwrap_or_default();
    let topic_prefix = parsed
        .string("topic.prefix")
        .unwrap_or_default()
        .to_string();
    if query.is_some() && topic_prefix.is_empty() {
        errors.push(ConfigError::invalid(
            "topic.prefix",
            "",
            "the topic name for the query's rows",
        ));
    }
    let Some(url) = url else {
        return Err(errors);
    };
    if url.database.is_none() {
        errors.push(ConfigError::invalid(
            "connection.url",
            crate::config::redact_url(parsed.string("connection.url").unwrap_or_default()),
            "a URL naming the database, e.g. jdbc:mysql://host:3306/mydb",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let ms = |key: &str| Duration::from_millis(parsed.long(key).unwrap_or_default().max(0) as u64);
    Ok(JdbcSourceConfig {
        database: DbSettings::from_connection_config(parsed, url).with_isolation_mode(
            parsed
                .string("transaction.isolation.mode")
                .unwrap_or_default(),
        ),
        mode,
        incrementing_column,
        timestamp_columns,
        timestamp_initial_ms: parsed.long("timestamp.initial"),
        timestamp_delay: ms("timestamp.delay.interval.ms"),
        query,
        query_suffix: parsed
            .string("query.suffix")
            .unwrap_or_default()
            .to_string(),
        tables: TableFilter {
            whitelist,
            blacklist,
            include,
            exclude,
        },
        table_types: parsed
            .list("table.types")
            .iter()
            .map(|t| t.to_ascii_uppercase())
            .collect(),
        topic_prefix,
        poll_interval: ms("poll.interval.ms"),
        table_poll_interval: ms("table.poll.interval.ms").max(Duration::from_millis(100)),
        batch_max_rows: parsed.long("batch.max.rows").unwrap_or_default().max(1) as usize,
        validate_non_null: parsed.bool("validate.non.null"),
        zone,
        granularity,
        binlog,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[(&str, &str)] = &[
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        ),
        ("connection.url", "jdbc:mysql://localhost:3306/mydb"),
        ("connection.user", "root"),
        ("connection.password", "1234"),
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("table.whitelist", "users"),
        ("topic.prefix", "my_topic_"),
    ];

    fn config(pairs: &[(&str, &str)]) -> ConnectorConfig {
        ConnectorConfig::from_pairs("c", SEED, pairs)
    }

    #[test]
    fn parses_the_seed_config() {
        let parsed = JdbcSourceConfig::parse(&config(&[])).unwrap();
        assert_eq!(parsed.mode, Mode::Incrementing);
        assert_eq!(parsed.incrementing_column.as_deref(), Some("id"));
        assert_eq!(parsed.tables.whitelist, ["users"]);
        assert_eq!(parsed.poll_interval, Duration::from_secs(5));
        assert_eq!(parsed.batch_max_rows, 100);
        assert_eq!(parsed.database.url.database.as_deref(), Some("mydb"));
        assert_eq!(parsed.database.user.as_deref(), Some("root"));
    }

    /// The `sluice.*` choices are checked case-insensitively, so they are read that way too:
    /// `BINLOG` is the binlog reader, not polling.
    #[test]
    fn sluice_choices_read_in_any_case() {
        let parsed = JdbcSourceConfig::parse(&config(&[
            ("sluice.capture", "BINLOG"),
            ("sluice.binlog.snapshot", "Never"),
            ("sluice.binlog.snapshot.locking", "GLOBAL"),
        ]))
        .unwrap();
        let binlog = parsed.binlog.expect("the binlog reader");
        assert!(!binlog.snapshot);
        assert!(binlog.snapshot_lock);
        let binlog = JdbcSourceConfig::parse(&config(&[("sluice.capture", "binlog")]))
            .unwrap()
            .binlog
            .unwrap();
        assert!(binlog.snapshot);
        assert!(!binlog.snapshot_lock);
        assert!(
            JdbcSourceConfig::parse(&config(&[]))
                .unwrap()
                .binlog
                .is_none()
        );
        // `mode` is read in any case too, and the binlog reader's check reads the parsed mode.
        let parsed = JdbcSourceConfig::parse(&config(&[
            ("sluice.capture", "binlog"),
            ("mode", "INCREMENTING"),
        ]))
        .unwrap();
        assert_eq!(parsed.mode, Mode::Incrementing);
        assert!(parsed.binlog.is_some());
    }

    #[test]
    fn bad_configs_name_the_key() {
        let error = JdbcSourceConfig::parse(&config(&[("mode", "")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Missing required configuration \"mode\" which has no default value."
        );
        let error = JdbcSourceConfig::parse(&config(&[("mode", "sometimes")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value sometimes for configuration mode: String must be one of: bulk, incrementing, timestamp, timestamp+incrementing"
        );
        let error = JdbcSourceConfig::parse(&config(&[("mode", "timestamp")])).unwrap_err();
        assert_eq!(error.key, "timestamp.column.name");
        let error = JdbcSourceConfig::parse(&config(&[("table.blacklist", "x")])).unwrap_err();
        assert_eq!(error.key, "table.blacklist");
        let error = JdbcSourceConfig::parse(&config(&[("connection.url", "jdbc:mysql://h:3306")]))
            .unwrap_err();
        assert_eq!(error.key, "connection.url");
        let error = JdbcSourceConfig::parse(&config(&[("topic.prefix", "")])).unwrap_err();
        assert_eq!(error.key, "topic.prefix");
        let error = JdbcSourceConfig::parse(&config(&[("batch.max.rows", "0")])).unwrap_err();
        assert_eq!(error.key, "batch.max.rows");
    }

    #[test]
    fn time_zone_and_granularity() {
        let parsed = JdbcSourceConfig::parse(&config(&[
            ("db.timezone", "Asia/Seoul"),
            ("timestamp.granularity", "micros_long"),
        ]))
        .unwrap();
        assert_eq!(parsed.zone.to_string(), "Asia/Seoul");
        assert_eq!(parsed.granularity, TimestampGranularity::MicrosLong);
        let error =
            JdbcSourceConfig::parse(&config(&[("db.timezone", "Mars/Olympus")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid value Mars/Olympus for configuration db.timezone: Invalid time zone identifier"
        );
        let error =
            JdbcSourceConfig::parse(&config(&[("timestamp.granularity", "hours")])).unwrap_err();
        assert_eq!(error.key, "timestamp.granularity");
    }

    #[test]
    fn table_filters() {
        let f = TableFilter {
            whitelist: vec!["users".into()],
            ..Default::default()
        };
        assert!(f.matches("db", "users"));
        assert!(!f.matches("db", "orders"));
        let f = TableFilter {
            blacklist: vec!["db.secret".into()],
            ..Default::default()
        };
        assert!(f.matches("db", "users"));
        assert!(!f.matches("db", "secret"));
        let whole = |p: &str| crate::config::whole_regex(p, false).unwrap();
        let f = TableFilter {
            include: vec![whole("db\\.u.*")],
            exclude: vec![whole(".*_tmp")],
            ..Default::default()
        };
        assert!(f.matches("db", "users"));
        assert!(!f.matches("db", "users_tmp"));
        assert!(!f.matches("db", "orders"));
        assert!(!f.matches("xdb", "users"));
    }

    /// `table.include.list` patterns match whole names as Java's `matches()` does: any
    /// alternative that covers the name, not only the leftmost one that starts a match.
    #[test]
    fn include_list_alternatives_match_whole_names() {
        let parsed = JdbcSourceConfig::parse(&config(&[
            ("table.whitelist", ""),
            ("table.include.list", "mydb\\.(user|users)"),
        ]))
        .unwrap();
        assert!(parsed.tables.matches("mydb", "users"));
        assert!(parsed.tables.matches("mydb", "user"));
        assert!(!parsed.tables.matches("mydb", "users2"));
    }
}

#[cfg(test)]
mod hash_tests {
    use super::*;

    /// Debezium's `MaskStringsTest` values (salt `salt`, V1).
    #[test]
    fn column_hashes_match_debeziums() {
        let hash = |algorithm, v2| ColumnHash {
            algorithm,
            salt: "salt".into(),
            v2,
        };
        assert_eq!(
            hash(HashAlgorithm::Sha256, false).hex("hello"),
            "af5843a0f0e728ab0332c8888b6e1190bfb79e584f0d40538de8f10df6ef29c6"
        );
        assert_eq!(
            hash(HashAlgorithm::Sha256, false).hex("world"),
            "4588e1f2dcdc7fefc1515d3acd5acb9033478eace68286f383c337b9ff4464a3"
        );
        // V2 hashes the value's own bytes: SHA-256("salthello").
        assert_eq!(
            hash(HashAlgorithm::Sha256, true).hex("hello"),
            "cd31b3b98ece60cb739c0bf770b2de892ae0ad133f645513c3d83f08757a843a"
        );
        assert_eq!(
            java_serialized_string("a\0é"),
            [0xac, 0xed, 0, 5, 0x74, 0, 5, b'a', 0xc0, 0x80, 0xc3, 0xa9]
        );
    }
}
