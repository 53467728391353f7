//! Operator tools with the flags, output and messages of Kafka's own scripts, without a JVM:
//! `sluice consumer-groups` (`kafka-consumer-groups.sh`), `sluice topics` (`kafka-topics.sh`),
//! `sluice console-consumer` (`kafka-console-consumer.sh`) and `sluice console-producer`
//! (`kafka-console-producer.sh`).
//!
//! Each tool parses its arguments with clap, checks their combinations with Kafka's messages,
//! then talks to the cluster with librdkafka. Planning and formatting are pure functions (offset
//! clamping, shift-by, datetimes and durations, Kafka's column alignment), kept apart from the
//! I/O so they are unit-tested without a broker.
//!
//! Where Kafka's scripts print an error on stdout and still exit 0, these tools print it on
//! stderr and exit 1, so a script can rely on the exit code.

pub mod console_consumer;
pub mod console_producer;
pub mod consumer_groups;
pub mod topics;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::WorkerConfig;
use crate::kafka::{ClientRole, client_config};

/// Why a tool run failed: the message for stderr (exit code 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Prints a failure's message on stderr and turns the outcome into the process exit code.
pub(crate) fn exit_code(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message);
            ExitCode::FAILURE
        }
    }
}

/// Reads a `--command-config` file: Java client properties.
pub(crate) fn read_command_config(path: &Path) -> Result<BTreeMap<String, String>, Failure> {
    crate::config::properties::read(path).map_err(|error| Failure::new(error.trace()))
}

/// The librdkafka configuration for a tool: the `--command-config` properties translated from
/// the Java client's names (as the worker's `admin.*` settings are), SASL credentials taken
/// from a PLAIN or SCRAM `sasl.jaas.config`, then `--bootstrap-server` (which wins, as in Kafka).
/// librdkafka's own log lines are silenced unless the properties ask for `debug`: the tool
/// reports what failed itself.
pub(crate) fn tool_client_config(
    bootstrap_server: &str,
    properties: &BTreeMap<String, String>,
) -> Result<ClientConfig, Failure> {
    let worker = WorkerConfig::from_map(BTreeMap::from([(
        "bootstrap.servers".to_string(),
        bootstrap_server.to_string(),
    )]))
    .map_err(|error| Failure::new(format!("Invalid --bootstrap-server: {error}")))?;
    let mut overrides = properties.clone();
    if let Some(jaas) = properties.get("sasl.jaas.config") {
        for (key, value) in jaas_credentials(jaas) {
            overrides.entry(key.to_string()).or_insert(value);
        }
    }
    let mut config = client_config(&worker, ClientRole::Admin, &[], &overrides);
    config.set("bootstrap.servers", bootstrap_server);
    if properties.contains_key("debug") {
        config.set_log_level(RDKafkaLogLevel::Debug);
    } else {
        config.set_log_level(RDKafkaLogLevel::Emerg);
        config.set("log.connection.close", "false");
    }
    Ok(config)
}

/// `sasl.username`/`sasl.password` from a Java `sasl.jaas.config` of the PLAIN or SCRAM login
/// modules (`… required username="u" password="p";`); nothing for other modules.
pub(crate) fn jaas_credentials(jaas: &str) -> Vec<(&'static str, String)> {
    if !(jaas.contains("PlainLoginModule") || jaas.contains("ScramLoginModule")) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (option, key) in [("username", "sasl.username"), ("password", "sasl.password")] {
        if let Some(value) = crate::config::jaas::option(jaas, option) {
            found.push((key, value));
        }
    }
    found
}

/// Java's `String.format("%-Ns", s)`: left-aligned in at least `width` characters.
pub(crate) fn pad(value: &str, width: usize) -> String {
    format!("{value:<width$}")
}

/// A line of columns as Kafka's tools print them: column `i` left-aligned in `widths[i]`
/// characters, one space between columns, columns past `widths` as they are (Kafka's
/// `%-Ns %-Ms … %s`).
pub(crate) fn columns(values: &[&str], widths: &[usize]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| match widths.get(i) {
            Some(width) => pad(value, *width),
            None => (*value).to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The message Kafka's Java client gives for a broker error code (its `Errors` enum), so the
/// tools print what the scripts print; librdkafka's description for codes not listed.
pub(crate) fn kafka_error_message(code: RDKafkaErrorCode) -> String {
    use RDKafkaErrorCode::*;
    let message = match code {
        UnknownTopicOrPartition => "This server does not host this topic-partition.",
        TopicAlreadyExists => "Topic already exists.",
        InvalidPartitions => "Number of partitions is below 1.",
        InvalidReplicationFactor => {
            "Replication factor is below 1 or larger than the number of available brokers."
        }
        InvalidReplicaAssignment => "Replica assignment is invalid.",
        InvalidConfig => "Configuration is invalid.",
        InvalidTopic => "The request attempted to perform an operation on an invalid topic.",
        PolicyViolation => "Request parameters do not satisfy the configured policy.",
        TopicAuthorizationFailed => "Topic authorization failed.",
        GroupAuthorizationFailed => "Group authorization failed.",
        ClusterAuthorizationFailed => "Cluster authorization failed.",
        GroupIdNotFound => "The group id does not exist.",
        NonEmptyGroup => "The group is not empty.",
        InvalidGroupId => "The configured groupId is invalid.",
        CoordinatorNotAvailable => "The coordinator is not available.",
        NotCoordinator => "This is not the correct coordinator.",
        UnknownMemberId => "The coordinator is not aware of this member.",
        IllegalGeneration => "Specified group generation id is not valid.",
        RebalanceInProgress => "The group is rebalancing, so a rejoin is needed.",
        UnsupportedVersion => "The version of API is not supported.",
        TopicDeletionDisabled => "Topic deletion is disabled.",
        _ => return code_description(code),
    };
    message.to_string()
}

/// The message of a client-side error (timeouts, transport), or of the broker's error code.
pub(crate) fn client_error_message(error: &rdkafka::error::KafkaError) -> String {
    let code = match error {
        rdkafka::error::KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    };
    match code {
        Some(code) if (code as i32) > 0 => kafka_error_message(code),
        Some(code) => code_description(code),
        None => error.to_string(),
    }
}

/// librdkafka's description of an error code (`Local: Timed out`), without the code's name.
pub(crate) fn code_description(code: RDKafkaErrorCode) -> String {
    let text = code.to_string();
    match text.split_once(" (") {
        Some((_, rest)) => rest.strip_suffix(')').unwrap_or(rest).to_string(),
        None => text,
    }
}

/// Kafka's `IncludeList` topic filter: a Java regex where `,` means `|`, spaces and surrounding
/// quotes are dropped, matched against the whole name.
pub(crate) fn include_list(raw: &str) -> Result<regex::Regex, Failure> {
    let cleaned: String = raw.trim().replace(',', "|").replace(' ', "");
    let cleaned = cleaned
        .trim_start_matches(['"', '\''])
        .trim_end_matches(['"', '\'']);
    crate::config::whole_regex(cleaned, false)
        .map_err(|_| Failure::new(format!("{raw} is an invalid regex.")))
}

pub(crate) use crate::kafka::admin::is_internal_topic;

/// A small single-threaded runtime for the admin client's futures.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::new(format!("cannot start the async runtime: {error}")))?;
    Ok(runtime.block_on(future))
}

/// Kafka's `CommandLineUtils.parseKeyValueArgs`: each `key=value` split at its first `=`, a
/// missing value read as empty, later pairs winning.
pub(crate) fn parse_key_value_args(pairs: &[String]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (pair.clone(), String::new()),
        })
        .collect()
}

/// Properties as Kafka's console tools merge them: a `--…config` file, then the `key=value`
/// options over it.
pub(crate) fn merged_properties(
    file: Option<&Path>,
    pairs: &[String],
) -> Result<BTreeMap<String, String>, Failure> {
    let mut properties = match file {
        Some(path) => read_command_config(path)?,
        None => BTreeMap::new(),
    };
    properties.extend(parse_key_value_args(pairs));
    Ok(properties)
}

/// A line as Kafka's tools log it on stderr (`tools-log4j`: `[%d] %p %m (%c)`).
pub(crate) fn log4j_line(level: &str, message: &str, logger: &str) -> String {
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f");
    format!("[{now}] {level} {message} ({logger})")
}

/// A Java client duration setting in milliseconds (`default.api.timeout.ms`, `max.block.ms`),
/// or `default` when it is absent or not a number.
pub(crate) fn millis_property(
    properties: &BTreeMap<String, String>,
    key: &str,
    default: u64,
) -> u64 {
    properties
        .get(key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Waits until the cluster knows `topic` (librdkafka asks with `allow.auto.create.topics`, so a
/// broker that auto-creates topics creates it, as it does for Java clients) and returns its
/// partition ids. Bounded by `wait`: a cluster that never answers and a topic that never appears
/// are both errors, never a hang. `None`: `stopped` said to give up (a signal came).
pub(crate) fn wait_for_topic<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
    topic: &str,
    wait: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<Option<Vec<i32>>, Failure> {
    let deadline = Instant::now() + wait;
    let mut answered = false;
    let mut last_error = None;
    loop {
        if stopped() {
            return Ok(None);
        }
        match client.fetch_metadata(Some(topic), attempt(deadline)) {
            Ok(metadata) => {
                answered = true;
                if let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) {
                    match found.error().map(RDKafkaErrorCode::from) {
                        None if !found.partitions().is_empty() => {
                            let mut ids: Vec<i32> =
                                found.partitions().iter().map(|p| p.id()).collect();
                            ids.sort_unstable();
                            return Ok(Some(ids));
                        }
                        None
                        | Some(
                            RDKafkaErrorCode::UnknownTopicOrPartition
                            | RDKafkaErrorCode::LeaderNotAvailable,
                        ) => {}
                        Some(code) => {
                            return Err(Failure::new(format!(
                                "Error: {}",
                                kafka_error_message(code)
                            )));
                        }
                    }
                }
            }
            Err(error) => last_error = Some(error),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(200)));
    }
    if answered {
        Err(Failure::new(format!(
            "Error: Topic {topic} not present in metadata after {} ms.",
            wait.as_millis()
        )))
    } else {
        Err(unreachable(bootstrap, wait, last_error.as_ref()))
    }
}

/// The whole cluster's metadata, or the error of a cluster that did not answer within `wait`.
/// `None`: `stopped` said to give up.
pub(crate) fn cluster_metadata<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
    wait: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<Option<Metadata>, Failure> {
    let deadline = Instant::now() + wait;
    loop {
        if stopped() {
            return Ok(None);
        }
        match client.fetch_metadata(None, attempt(deadline)) {
            Ok(metadata) => return Ok(Some(metadata)),
            Err(error) if Instant::now() >= deadline => {
                return Err(unreachable(bootstrap, wait, Some(&error)));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// One metadata request's timeout: at most a second, so that a signal is noticed meanwhile.
fn attempt(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .clamp(Duration::from_millis(1), Duration::from_secs(1))
}

fn unreachable(
    bootstrap: &str,
    wait: Duration,
    error: Option<&rdkafka::error::KafkaError>,
) -> Failure {
    let reason = error.map_or_else(|| "no answer".to_string(), client_error_message);
    Failure::new(format!(
        "Error: cannot reach the Kafka cluster at {bootstrap} within {} ms ({reason})",
        wait.as_millis()
    ))
}

/// The context of the console tools' clients: librdkafka's global errors (a refused connection,
/// all brokers down) are retried by the client and are not printed, as Kafka's clients do not
/// print them at the tools' log level; the tools report what made them fail themselves.
pub(crate) struct Quiet;

impl ClientContext for Quiet {
    fn error(&self, _error: rdkafka::error::KafkaError, _reason: &str) {}
}

impl rdkafka::consumer::ConsumerContext for Quiet {}

/// SIGINT and SIGTERM caught, so that a tool finishes as Kafka's JVM does in its shutdown hook
/// (the consumer prints its total, the producer flushes) instead of dying on the spot.
pub(crate) struct Signals {
    received: Arc<AtomicI32>,
    _runtime: tokio::runtime::Runtime,
}

impl Signals {
    pub(crate) fn catch() -> Result<Signals, Failure> {
        use tokio::signal::unix::{SignalKind, signal};
        let failed = |error: std::io::Error| Failure::new(format!("cannot catch signals: {error}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("signals")
            .enable_all()
            .build()
            .map_err(failed)?;
        let (mut interrupt, mut terminate) = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt()).map_err(failed)?,
                signal(SignalKind::terminate()).map_err(failed)?,
            )
        };
        let received = Arc::new(AtomicI32::new(0));
        let flag = received.clone();
        runtime.spawn(async move {
            let number = tokio::select! {
                _ = interrupt.recv() => 2,
                _ = terminate.recv() => 15,
            };
            flag.store(number, Ordering::SeqCst);
        });
        Ok(Signals {
            received,
            _runtime: runtime,
        })
    }

    /// The number of the first signal received, if any.
    pub(crate) fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            number => Some(number),
        }
    }
}

/// The exit code of a JVM stopped by a signal (128 + its number), as Kafka's scripts exit.
pub(crate) fn signal_exit_code(signal: i32) -> ExitCode {
    ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
}

/// Parses a tool's arguments as clap does on the command line (for the tools' unit tests).
#[cfg(test)]
pub(crate) fn parse_args<A: clap::Args + clap::FromArgMatches>(argv: &[&str]) -> A {
    let command = A::augment_args(clap::Command::new("tool").no_binary_name(true));
    let matches = command
        .try_get_matches_from(argv)
        .expect("clap accepts the arguments");
    A::from_arg_matches(&matches).expect("clap accepts the arguments")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_like_java_format() {
        assert_eq!(
            columns(
                &["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
                &[15, 15, 10]
            ),
            "GROUP           TOPIC           PARTITION  NEW-OFFSET"
        );
        // A value longer than its column pushes the rest right, as Java's %-Ns does.
        assert_eq!(columns(&["abcdef", "x"], &[3]), "abcdef x");
        // When every column has a width the last one is padded too (Kafka's trailing `%-15s `).
        assert_eq!(columns(&["a", "b"], &[2, 3]), "a  b  ");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            kafka_error_message(RDKafkaErrorCode::UnknownTopicOrPartition),
            "This server does not host this topic-partition."
        );
        assert_eq!(
            client_error_message(&rdkafka::error::KafkaError::AdminOp(
                RDKafkaErrorCode::UnsupportedFeature
            )),
            "Local: Required feature not supported by broker"
        );
        assert_eq!(
            client_error_message(&rdkafka::error::KafkaError::MetadataFetch(
                RDKafkaErrorCode::OperationTimedOut
            )),
            "Local: Timed out"
        );
    }

    #[test]
    fn jaas_plain_and_scram_credentials() {
        let plain = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3\"cret";"#;
        assert_eq!(
            jaas_credentials(plain),
            vec![
                ("sasl.username", "alice".to_string()),
                ("sasl.password", "s3\"cret".to_string())
            ]
        );
        let scram = "org.apache.kafka.common.security.scram.ScramLoginModule required username=bob password=pw;";
        assert_eq!(
            jaas_credentials(scram),
            vec![
                ("sasl.username", "bob".to_string()),
                ("sasl.password", "pw".to_string())
            ]
        );
        assert!(
            jaas_credentials(
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
            )
            .is_empty()
        );
    }

    #[test]
    fn command_config_is_translated_and_bootstrap_wins() {
        let props = BTreeMap::from([
            ("bootstrap.servers".to_string(), "other:9092".to_string()),
            ("security.protocol".to_string(), "SASL_SSL".to_string()),
            ("sasl.mechanism".to_string(), "PLAIN".to_string()),
            (
                "sasl.jaas.config".to_string(),
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#
                    .to_string(),
            ),
            (
                "ssl.truststore.location".to_string(),
                "/etc/ca.pem".to_string(),
            ),
            ("default.api.timeout.ms".to_string(), "1000".to_string()),
        ]);
        let config = tool_client_config("k1:9092,k2:9092", &props).unwrap();
        assert_eq!(config.get("bootstrap.servers"), Some("k1:9092,k2:9092"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.username"), Some("u"));
        assert_eq!(config.get("sasl.password"), Some("p"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/ca.pem"));
        assert_eq!(config.get("sasl.jaas.config"), None);
        assert_eq!(config.get("default.api.timeout.ms"), None);
    }

    #[test]
    fn include_list_is_kafkas_topic_filter() {
        let filter = include_list("orders,users.*").unwrap();
        assert!(filter.is_match("orders"));
        assert!(filter.is_match("users_v2"));
        assert!(!filter.is_match("my_orders"));
        assert!(include_list("'a.b'").unwrap().is_match("a.b"));
        assert_eq!(
            include_list("(").unwrap_err().message,
            "( is an invalid regex."
        );
    }
}
