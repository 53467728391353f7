//! `sluice console-consumer`: Kafka's `kafka-console-consumer.sh` (`ConsoleConsumer` with its
//! `DefaultMessageFormatter`) — the same flags, the same bytes on stdout, the same
//! `Processed a total of N messages` on stderr.
//!
//! Without a consumer group (no `--group`, no `group.id` property) the partitions are assigned
//! directly rather than subscribed with a throwaway group as Kafka does: nothing is committed,
//! no group is left behind, and no group join delays the first message. With a group the topic
//! (or `--include` pattern) is subscribed and offsets are committed as Kafka's consumer does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Timestamp};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;

use super::{
    Failure, Quiet, Signals, client_error_message, is_internal_topic, log4j_line,
    merged_properties, millis_property, signal_exit_code,
};

/// The logger Kafka's console consumer logs its errors under.
const LOGGER: &str = "org.apache.kafka.tools.consumer.ConsoleConsumer";
/// The Java consumer's `default.api.timeout.ms`: how long the start waits for the cluster and
/// the topic when `--timeout-ms` is not given.
const DEFAULT_API_TIMEOUT_MS: u64 = 60_000;
/// How often an `--include` pattern without a group looks for new matching topics.
const RESCAN: Duration = Duration::from_secs(5);
/// The formatter class names Kafka accepts for its default formatter (4.x and 2.x–3.x).
const DEFAULT_FORMATTERS: &[&str] = &[
    "org.apache.kafka.tools.consumer.DefaultMessageFormatter",
    "kafka.tools.DefaultMessageFormatter",
];

/// Arguments of `sluice console-consumer`, Kafka's `ConsoleConsumerOptions`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    about = "This tool helps to read data from Kafka topics and outputs it to standard output."
)]
pub struct Args {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long, value_name = "server to connect to")]
    pub(crate) bootstrap_server: String,
    /// The topic to consume from.
    #[arg(long, value_name = "topic")]
    pub(crate) topic: Option<String>,
    /// Regular expression specifying list of topics to include for consumption.
    #[arg(long, alias = "whitelist", value_name = "Java regex (String)")]
    pub(crate) include: Option<String>,
    /// The partition to consume from. Consumption starts from the end of the partition unless
    /// '--offset' is specified.
    #[arg(long, value_name = "partition", allow_negative_numbers = true)]
    pub(crate) partition: Option<i32>,
    /// The offset to consume from (a non-negative number), or 'earliest' which means from
    /// beginning, or 'latest' which means from end.
    #[arg(long, value_name = "consume offset", allow_negative_numbers = true)]
    pub(crate) offset: Option<String>,
    /// Consumer config properties in the form key=value (repeatable).
    #[arg(long, alias = "command-property", value_name = "consumer_prop")]
    pub(crate) consumer_property: Vec<String>,
    /// Consumer config properties file. Note that --consumer-property takes precedence over
    /// this config.
    #[arg(
        long = "consumer.config",
        alias = "command-config",
        value_name = "config file"
    )]
    pub(crate) consumer_config: Option<PathBuf>,
    /// The name of a class to use for formatting kafka messages for display (only the default
    /// formatter is available).
    #[arg(long, value_name = "class")]
    pub(crate) formatter: Option<String>,
    /// The properties to initialize the message formatter: print.timestamp, print.key,
    /// print.offset, print.partition, print.headers, print.value (true|false), key.separator,
    /// line.separator, headers.separator, null.literal (repeatable).
    #[arg(long, alias = "formatter-property", value_name = "prop")]
    pub(crate) property: Vec<String>,
    /// Config properties file to initialize the message formatter. Note that --property takes
    /// precedence over this config.
    #[arg(long, value_name = "config file")]
    pub(crate) formatter_config: Option<PathBuf>,
    /// If the consumer does not already have an established offset to consume from, start with
    /// the earliest message present in the log rather than the latest message.
    #[arg(long)]
    pub(crate) from_beginning: bool,
    /// The maximum number of messages to consume before exiting. If not set, consumption is
    /// continual.
    #[arg(long, value_name = "num_messages", allow_negative_numbers = true)]
    pub(crate) max_messages: Option<i32>,
    /// If specified, exit if no message is available for consumption for the specified
    /// interval.
    #[arg(long, value_name = "timeout_ms", allow_negative_numbers = true)]
    pub(crate) timeout_ms: Option<i64>,
    /// If there is an error when processing a message, skip it instead of halt.
    #[arg(long)]
    pub(crate) skip_message_on_error: bool,
    /// Set to read_committed in order to filter out transactional messages which are not
    /// committed. Set to read_uncommitted to read all messages.
    #[arg(long, value_name = "isolation level")]
    pub(crate) isolation_level: Option<String>,
    /// The consumer group id of the consumer.
    #[arg(long, value_name = "consumer group id")]
    pub(crate) group: Option<String>,
}

/// Where a partition without a committed offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Earliest,
    Latest,
    Offset(i64),
}

impl Start {
    fn offset(self) -> Offset {
        match self {
            Start::Earliest => Offset::Beginning,
            Start::Latest => Offset::End,
            Start::Offset(offset) => Offset::Offset(offset),
        }
    }
}

/// What is consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--topic`: every partition of one topic.
    Topic(String),
    /// `--topic` with `--partition`: one partition from `start`.
    Partition {
        topic: String,
        partition: i32,
        start: Start,
    },
    /// `--include`: every topic whose whole name matches the pattern.
    Include(String),
}

/// A checked command line: what to read, how, and how to print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) source: Source,
    /// The consumer group (`--group` or a `group.id` property): subscribe and commit.
    pub(crate) group: Option<String>,
    /// Where assigned partitions start when there is no group (`auto.offset.reset`).
    pub(crate) reset: Start,
    /// The consumer's properties with Java's names, as Kafka builds them.
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) formatter: Formatter,
    /// `None`: no limit.
    pub(crate) max_messages: Option<i64>,
    /// `--timeout-ms`: how long to wait for a message (`None`: forever).
    pub(crate) timeout: Option<Duration>,
}

/// Checks the command line as `ConsoleConsumerOptions` does, with its messages, and builds the
/// consumer's properties.
pub(crate) fn plan(args: &Args) -> Result<Plan, Failure> {
    if args.topic.is_some() == args.include.is_some() {
        return Err(Failure::new(
            "Exactly one of the following arguments is required: [topic], [include]",
        ));
    }
    if args.partition.is_some() {
        if args.topic.is_none() {
            return Err(Failure::new(
                "The topic is required when partition is specified.",
            ));
        }
        if args.from_beginning && args.offset.is_some() {
            return Err(Failure::new(
                "Options from-beginning and offset cannot be specified together.",
            ));
        }
    } else if args.offset.is_some() {
        return Err(Failure::new(
            "The partition is required when offset is specified.",
        ));
    }

    let file = match &args.consumer_config {
        Some(path) => super::read_command_config(path)?,
        None => BTreeMap::new(),
    };
    let extra = super::parse_key_value_args(&args.consumer_property);
    let mut groups: Vec<&str> = Vec::new();
    for group in [
        args.group.as_deref(),
        file.get("group.id").map(String::as_str),
        extra.get("group.id").map(String::as_str),
    ]
    .into_iter()
    .flatten()
    {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    if groups.len() > 1 {
        let detected: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
        return Err(Failure::new(format!(
            "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: {}",
            detected.join(", ")
        )));
    }
    if !groups.is_empty() && args.partition.is_some() {
        return Err(Failure::new(
            "Options group and partition cannot be specified together.",
        ));
    }
    let group = groups.first().map(|g| g.to_string());

    let mut properties = file.clone();
    properties.extend(extra.clone());
    match properties.get("auto.offset.reset") {
        Some(reset) if args.from_beginning && reset != "earliest" => {
            return Err(Failure::new(format!(
                "Can't simultaneously specify --from-beginning and 'auto.offset.reset={reset}', please remove one option"
            )));
        }
        Some(_) => {}
        None => {
            let reset = if args.from_beginning {
                "earliest"
            } else {
                "latest"
            };
            properties.insert("auto.offset.reset".into(), reset.into());
        }
    }
    properties
        .entry("client.id".into())
        .or_insert_with(|| "console-consumer".into());
    match &args.isolation_level {
        Some(level) => {
            properties.insert("isolation.level".into(), level.clone());
        }
        None => {
            properties
                .entry("isolation.level".into())
                .or_insert_with(|| "read_uncommitted".into());
        }
    }
    match &group {
        Some(group) => {
            properties.insert("group.id".into(), group.clone());
            // Offsets are stored as records are printed, so that what librdkafka fetched but
            // the tool never printed is not committed when it closes (Kafka's console consumer
            // seeks back to the first unconsumed record for the same reason).
            properties
                .entry("enable.auto.offset.store".into())
                .or_insert_with(|| "false".into());
        }
        None => {
            properties.insert("group.id".into(), throwaway_group());
            properties
                .entry("enable.auto.commit".into())
                .or_insert_with(|| "false".into());
        }
    }
    // The Java consumer's default (librdkafka's is false): a broker that auto-creates topics
    // creates a missing one when the consumer asks for it.
    properties
        .entry("allow.auto.create.topics".into())
        .or_insert_with(|| "true".into());
    let reset = match properties.get("auto.offset.reset").map(String::as_str) {
        Some("earliest" | "smallest" | "beginning") => Start::Earliest,
        _ => Start::Latest,
    };

    let start = match args.offset.as_deref() {
        Some(offset) => parse_offset(offset)?,
        None if args.from_beginning => Start::Earliest,
        None => Start::Latest,
    };
    let source = match (&args.topic, args.partition, &args.include) {
        (Some(topic), Some(partition), _) => Source::Partition {
            topic: topic.clone(),
            partition,
            start,
        },
        (Some(topic), None, _) => Source::Topic(topic.clone()),
        (None, _, include) => Source::Include(include.clone().unwrap_or_default()),
    };
    if let Source::Include(pattern) = &source {
        include_pattern(pattern)?;
    }

    if let Some(formatter) = &args.formatter
        && !DEFAULT_FORMATTERS.contains(&formatter.as_str())
    {
        return Err(Failure::new(format!(
            "Unsupported formatter {formatter}: only {} is available",
            DEFAULT_FORMATTERS[0]
        )));
    }
    let formatter_properties = merged_properties(args.formatter_config.as_deref(), &args.property)?;
    Ok(Plan {
        source,
        group,
        reset,
        properties,
        formatter: Formatter::configure(&formatter_properties),
        max_messages: args.max_messages.filter(|max| *max != -1).map(i64::from),
        timeout: args
            .timeout_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis),
    })
}

/// `--offset`: `earliest`, `latest` (any case) or a non-negative number.
fn parse_offset(text: &str) -> Result<Start, Failure> {
    match text.to_ascii_lowercase().as_str() {
        "earliest" => Ok(Start::Earliest),
        "latest" => Ok(Start::Latest),
        _ => match text.parse::<i64>() {
            Ok(offset) if offset >= 0 => Ok(Start::Offset(offset)),
            _ => Err(Failure::new(format!(
                "The provided offset value '{text}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
            ))),
        },
    }
}

/// `--include`: matched against whole topic names, as Java's `Pattern.matcher(…).matches()`.
fn include_pattern(pattern: &str) -> Result<regex::Regex, Failure> {
    crate::config::whole_regex(pattern, false)
        .map_err(|error| Failure::new(format!("Invalid --include pattern {pattern}: {error}")))
}

/// Kafka's group for a consumer without one: `console-consumer-<0..100000>`.
fn throwaway_group() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "console-consumer-{}",
        (nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % 100_000
    )
}

/// Kafka's `DefaultMessageFormatter` and its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Formatter {
    /// `print.timestamp`: `CreateTime:<ms>` before each record.
    pub(crate) print_timestamp: bool,
    /// `print.key`.
    pub(crate) print_key: bool,
    /// `print.value` (default true).
    pub(crate) print_value: bool,
    /// `print.partition`: `Partition:<n>`.
    pub(crate) print_partition: bool,
    /// `print.offset`: `Offset:<n>`.
    pub(crate) print_offset: bool,
    /// `print.headers`: `k1:v1,k2:v2`, or `NO_HEADERS`.
    pub(crate) print_headers: bool,
    /// `key.separator` (a tab).
    pub(crate) key_separator: Vec<u8>,
    /// `line.separator` (a newline).
    pub(crate) line_separator: Vec<u8>,
    /// `headers.separator` (a comma).
    pub(crate) headers_separator: Vec<u8>,
    /// `null.literal`: how a null key or value is printed (`null`).
    pub(crate) null_literal: Vec<u8>,
}

impl Default for Formatter {
    fn default() -> Formatter {
        Formatter {
            print_timestamp: false,
            print_key: false,
            print_value: true,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            key_separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
        }
    }
}

/// One record as the formatter sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub(crate) timestamp: Timestamp,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) headers: &'a [(&'a str, Option<&'a [u8]>)],
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
}

impl Formatter {
    /// The formatter `properties` configure (unknown keys are ignored, as Kafka does).
    pub(crate) fn configure(properties: &BTreeMap<String, String>) -> Formatter {
        let mut formatter = Formatter::default();
        let flag = |key: &str, field: &mut bool| {
            if let Some(value) = properties.get(key) {
                *field = value.trim().eq_ignore_ascii_case("true");
            }
        };
        flag("print.timestamp", &mut formatter.print_timestamp);
        flag("print.key", &mut formatter.print_key);
        flag("print.value", &mut formatter.print_value);
        flag("print.partition", &mut formatter.print_partition);
        flag("print.offset", &mut formatter.print_offset);
        flag("print.headers", &mut formatter.print_headers);
        let bytes = |key: &str, field: &mut Vec<u8>| {
            if let Some(value) = properties.get(key) {
                *field = value.as_bytes().to_vec();
            }
        };
        bytes("key.separator", &mut formatter.key_separator);
        bytes("line.separator", &mut formatter.line_separator);
        bytes("headers.separator", &mut formatter.headers_separator);
        bytes("null.literal", &mut formatter.null_literal);
        formatter
    }

    /// Appends `record` to `out` as Kafka prints it: timestamp, partition, offset, headers,
    /// key and value (those asked for), separated by `key.separator`, the last one followed
    /// by `line.separator`. Keys, values and header values are written as their raw bytes.
    pub(crate) fn write(&self, record: &Record<'_>, out: &mut Vec<u8>) {
        let fields = [
            self.print_timestamp,
            self.print_partition,
            self.print_offset,
            self.print_headers,
            self.print_key,
            self.print_value,
        ];
        let Some(last) = fields.iter().rposition(|printed| *printed) else {
            return;
        };
        for (field, _) in fields.iter().enumerate().filter(|(_, printed)| **printed) {
            match field {
                0 => match record.timestamp {
                    Timestamp::CreateTime(ms) => {
                        out.extend_from_slice(format!("CreateTime:{ms}").as_bytes())
                    }
                    Timestamp::LogAppendTime(ms) => {
                        out.extend_from_slice(format!("LogAppendTime:{ms}").as_bytes())
                    }
                    Timestamp::NotAvailable => out.extend_from_slice(b"NO_TIMESTAMP"),
                },
                1 => out.extend_from_slice(format!("Partition:{}", record.partition).as_bytes()),
                2 => out.extend_from_slice(format!("Offset:{}", record.offset).as_bytes()),
                3 if record.headers.is_empty() => out.extend_from_slice(b"NO_HEADERS"),
                3 => {
                    for (i, (key, value)) in record.headers.iter().enumerate() {
                        if i > 0 {
                            out.extend_from_slice(&self.headers_separator);
                        }
                        out.extend_from_slice(key.as_bytes());
                        out.push(b':');
                        out.extend_from_slice(value.unwrap_or(&self.null_literal));
                    }
                }
                4 => out.extend_from_slice(record.key.unwrap_or(&self.null_literal)),
                _ => out.extend_from_slice(record.value.unwrap_or(&self.null_literal)),
            }
            out.extend_from_slice(if field == last {
                &self.line_separator
            } else {
                &self.key_separator
            });
        }
    }
}

/// Runs `sluice console-consumer`; the process exit code.
pub fn run(args: Args) -> ExitCode {
    match plan(&args).and_then(|plan| consume(&args.bootstrap_server, &plan)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::FAILURE
        }
    }
}

/// Why consumption ended.
enum End {
    /// `--max-messages` reached.
    Done,
    /// `--timeout-ms` passed without a message.
    TimedOut,
    /// SIGINT or SIGTERM.
    Signal(i32),
    /// A fatal consumer error.
    Failed(KafkaError),
    /// Standard output closed.
    Closed,
}

/// `--include` without a group: the partitions assigned so far and the pattern that finds
/// more.
struct Scanner {
    pattern: regex::Regex,
    partitions: BTreeSet<(String, i32)>,
    scanned: Instant,
}

/// How consumption started.
enum Started {
    /// A signal came while waiting for the cluster.
    Stopped,
    /// Assigned or subscribed once and for all.
    Fixed,
    /// Assigned what an `--include` pattern matched so far.
    Scanning(Scanner),
}

fn consume(bootstrap: &str, plan: &Plan) -> Result<ExitCode, Failure> {
    let signals = Signals::catch()?;
    let config = super::tool_client_config(bootstrap, &plan.properties)?;
    let consumer: BaseConsumer<Quiet> = config.create_with_context(Quiet).map_err(|error| {
        Failure::new(format!(
            "Error: invalid consumer configuration: {}",
            client_error_message(&error)
        ))
    })?;
    let wait = plan
        .timeout
        .unwrap_or(Duration::from_millis(millis_property(
            &plan.properties,
            "default.api.timeout.ms",
            DEFAULT_API_TIMEOUT_MS,
        )));
    let stopped = || signals.received().is_some();
    let mut scanner = match start(&consumer, bootstrap, plan, wait, &stopped)? {
        Started::Fixed => None,
        Started::Scanning(scanner) => Some(scanner),
        Started::Stopped => {
            let signal = signals.received().unwrap_or(2);
            return Ok(finish(consumer, 0, End::Signal(signal)));
        }
    };

    let store_offsets = plan.group.is_some()
        && plan
            .properties
            .get("enable.auto.offset.store")
            .map(String::as_str)
            == Some("false");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    let mut count: i64 = 0;
    let mut last = Instant::now();
    let end = loop {
        if plan.max_messages.is_some_and(|max| count >= max) {
            break End::Done;
        }
        if let Some(signal) = signals.received() {
            break End::Signal(signal);
        }
        if let Some(scanner) = scanner.as_mut()
            && scanner.scanned.elapsed() >= RESCAN
        {
            scanner.scan(&consumer, plan.reset);
        }
        let polled = match consumer.poll(Duration::ZERO) {
            Some(polled) => Some(polled),
            None => {
                if out.flush().is_err() {
                    break End::Closed;
                }
                consumer.poll(Duration::from_millis(100))
            }
        };
        match polled {
            None => {
                if plan.timeout.is_some_and(|timeout| last.elapsed() > timeout) {
                    break End::TimedOut;
                }
            }
            Some(Err(error)) => {
                if is_fatal(&error) {
                    break End::Failed(error);
                }
            }
            Some(Ok(message)) => {
                count += 1;
                last = Instant::now();
                let headers: Vec<(&str, Option<&[u8]>)> = message
                    .headers()
                    .map(|list| list.iter().map(|h| (h.key, h.value)).collect())
                    .unwrap_or_default();
                line.clear();
                plan.formatter.write(
                    &Record {
                        timestamp: message.timestamp(),
                        partition: message.partition(),
                        offset: message.offset(),
                        headers: &headers,
                        key: message.key(),
                        value: message.payload(),
                    },
                    &mut line,
                );
                if out.write_all(&line).is_err() {
                    break End::Closed;
                }
                if store_offsets {
                    let _ = consumer.store_offset_from_message(&message);
                }
            }
        }
    };
    let end = match (out.flush(), end) {
        (Err(_), End::Done | End::TimedOut) => End::Closed,
        (_, end) => end,
    };
    drop(out);
    Ok(finish(consumer, count, end))
}

/// Assigns or subscribes as the plan says, after the cluster (and the topic) answered within
/// `wait`.
fn start(
    consumer: &BaseConsumer<Quiet>,
    bootstrap: &str,
    plan: &Plan,
    wait: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<Started, Failure> {
    let subscribe_failed = |error: KafkaError| {
        Failure::new(format!(
            "Error: cannot consume: {}",
            client_error_message(&error)
        ))
    };
    match &plan.source {
        Source::Partition {
            topic,
            partition,
            start,
        } => {
            let Some(partitions) =
                super::wait_for_topic(consumer.client(), bootstrap, topic, wait, stopped)?
            else {
                return Ok(Started::Stopped);
            };
            if !partitions.contains(partition) {
                return Err(Failure::new(format!(
                    "Error: Topic {topic} has no partition {partition}."
                )));
            }
            let mut list = TopicPartitionList::new();
            list.add_partition_offset(topic, *partition, start.offset())
                .map_err(subscribe_failed)?;
            consumer.assign(&list).map_err(subscribe_failed)?;
            Ok(Started::Fixed)
        }
        Source::Topic(topic) => {
            let Some(partitions) =
                super::wait_for_topic(consumer.client(), bootstrap, topic, wait, stopped)?
            else {
                return Ok(Started::Stopped);
            };
            if plan.group.is_some() {
                consumer.subscribe(&[topic]).map_err(subscribe_failed)?;
                return Ok(Started::Fixed);
            }
            let mut list = TopicPartitionList::new();
            for partition in partitions {
                list.add_partition_offset(topic, partition, plan.reset.offset())
                    .map_err(subscribe_failed)?;
            }
            consumer.assign(&list).map_err(subscribe_failed)?;
            Ok(Started::Fixed)
        }
        Source::Include(pattern) => {
            if super::cluster_metadata(consumer.client(), bootstrap, wait, stopped)?.is_none() {
                return Ok(Started::Stopped);
            }
            if plan.group.is_some() {
                // librdkafka subscribes to a pattern given with a leading `^` (POSIX regex).
                consumer
                    .subscribe(&[&format!("^({pattern})$")])
                    .map_err(subscribe_failed)?;
                return Ok(Started::Fixed);
            }
            let mut scanner = Scanner {
                pattern: include_pattern(pattern)?,
                partitions: BTreeSet::new(),
                scanned: Instant::now(),
            };
            scanner.scan(consumer, plan.reset);
            Ok(Started::Scanning(scanner))
        }
    }
}

impl Scanner {
    /// Assigns the matching partitions not assigned yet.
    fn scan(&mut self, consumer: &BaseConsumer<Quiet>, reset: Start) {
        self.scanned = Instant::now();
        let Ok(metadata) = consumer.fetch_metadata(None, Duration::from_secs(5)) else {
            return;
        };
        let pattern = &self.pattern;
        let found: Vec<(String, i32)> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .filter(|t| !is_internal_topic(t.name()) && pattern.is_match(t.name()))
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id()))
            })
            .collect();
        self.add(consumer, found, reset);
    }

    fn add(&mut self, consumer: &BaseConsumer<Quiet>, found: Vec<(String, i32)>, reset: Start) {
        let mut list = TopicPartitionList::new();
        for (topic, partition) in found {
            if !self.partitions.contains(&(topic.clone(), partition))
                && list
                    .add_partition_offset(&topic, partition, reset.offset())
                    .is_ok()
            {
                self.partitions.insert((topic, partition));
            }
        }
        if list.count() > 0 && consumer.incremental_assign(&list).is_err() {
            for element in list.elements() {
                self.partitions
                    .remove(&(element.topic().to_string(), element.partition()));
            }
        }
    }
}

/// Errors the Java consumer does not retry: the console consumer stops on them.
fn is_fatal(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            Authentication
                | SaslAuthenticationFailed
                | TopicAuthorizationFailed
                | GroupAuthorizationFailed
                | ClusterAuthorizationFailed
                | AutoOffsetReset
                | Fatal
        )
    )
}

/// Closes the consumer (committing for a group), prints what Kafka prints when it stops and
/// returns the exit code: 0, 128 + the signal's number after a signal (the JVM's), 1 after a
/// fatal error.
fn finish(consumer: BaseConsumer<Quiet>, count: i64, end: End) -> ExitCode {
    let code = match &end {
        End::Done | End::TimedOut | End::Closed => ExitCode::SUCCESS,
        End::Signal(signal) => signal_exit_code(*signal),
        End::Failed(_) => ExitCode::FAILURE,
    };
    match &end {
        End::TimedOut => eprintln!(
            "{}\norg.apache.kafka.common.errors.TimeoutException",
            log4j_line(
                "ERROR",
                "Error processing message, terminating consumer process: ",
                LOGGER
            )
        ),
        End::Failed(error) => eprintln!(
            "{}\n{}",
            log4j_line(
                "ERROR",
                "Error processing message, terminating consumer process: ",
                LOGGER
            ),
            client_error_message(error)
        ),
        End::Closed => eprintln!("Unable to write to standard out, closing consumer."),
        End::Done | End::Signal(_) => {}
    }
    drop(consumer);
    eprintln!("Processed a total of {count} messages");
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::props;

    fn args(list: &[&str]) -> Args {
        let mut argv = vec!["--bootstrap-server", "k:9092"];
        argv.extend_from_slice(list);
        crate::tools::parse_args(&argv)
    }

    fn failure(list: &[&str]) -> String {
        plan(&args(list)).unwrap_err().message
    }

    fn format(formatter: &Formatter, record: &Record<'_>) -> String {
        let mut out = Vec::new();
        formatter.write(record, &mut out);
        String::from_utf8(out).unwrap()
    }

    const HEADERS: &[(&str, Option<&[u8]>)] = &[("h1", Some(b"v1")), ("h2", None)];

    fn record<'a>() -> Record<'a> {
        Record {
            timestamp: Timestamp::CreateTime(1_638_687_468_000),
            partition: 3,
            offset: 42,
            headers: HEADERS,
            key: Some(b"k"),
            value: Some(b"{\"id\":2}"),
        }
    }

    #[test]
    fn value_only_by_default() {
        let formatter = Formatter::default();
        assert_eq!(format(&formatter, &record()), "{\"id\":2}\n");
        let tombstone = Record {
            value: None,
            ..record()
        };
        assert_eq!(format(&formatter, &tombstone), "null\n");
    }

    #[test]
    fn every_field_in_kafkas_order() {
        let formatter = Formatter::configure(&props(&[
            ("print.timestamp", "true"),
            ("print.partition", "true"),
            ("print.offset", "true"),
            ("print.headers", "true"),
            ("print.key", "true"),
        ]));
        assert_eq!(
            format(&formatter, &record()),
            "CreateTime:1638687468000\tPartition:3\tOffset:42\th1:v1,h2:null\tk\t{\"id\":2}\n"
        );
        let bare = Record {
            timestamp: Timestamp::NotAvailable,
            headers: &[],
            key: None,
            ..record()
        };
        assert_eq!(
            format(&formatter, &bare),
            "NO_TIMESTAMP\tPartition:3\tOffset:42\tNO_HEADERS\tnull\t{\"id\":2}\n"
        );
        let appended = Record {
            timestamp: Timestamp::LogAppendTime(7),
            ..record()
        };
        assert!(format(&formatter, &appended).starts_with("LogAppendTime:7\t"));
    }

    #[test]
    fn separators_null_literal_and_value_off() {
        let formatter = Formatter::configure(&props(&[
            ("print.key", " TRUE "),
            ("print.headers", "true"),
            ("print.value", "false"),
            ("key.separator", " | "),
            ("line.separator", "\r\n"),
            ("headers.separator", ";"),
            ("null.literal", "<nil>"),
        ]));
        // The key is the last field printed: the line separator follows it.
        assert_eq!(format(&formatter, &record()), "h1:v1;h2:<nil> | k\r\n");
        let nothing = Formatter::configure(&props(&[("print.value", "false")]));
        assert_eq!(format(&nothing, &record()), "");
        let yes = Formatter::configure(&props(&[("print.key", "yes")]));
        assert!(!yes.print_key, "only \"true\" turns a flag on");
    }

    #[test]
    fn seed_command_line() {
        let plan = plan(&args(&["--topic", "my_topic_users", "--from-beginning"])).unwrap();
        assert_eq!(plan.source, Source::Topic("my_topic_users".into()));
        assert_eq!(plan.group, None);
        assert_eq!(plan.reset, Start::Earliest);
        assert_eq!(plan.max_messages, None);
        assert_eq!(plan.timeout, None);
        let p = &plan.properties;
        assert_eq!(p["auto.offset.reset"], "earliest");
        assert_eq!(p["enable.auto.commit"], "false");
        assert_eq!(p["isolation.level"], "read_uncommitted");
        assert_eq!(p["client.id"], "console-consumer");
        assert!(p["group.id"].starts_with("console-consumer-"), "{p:?}");
        assert_eq!(plan.formatter, Formatter::default());
    }

    #[test]
    fn group_partition_offset_and_properties() {
        let plan = plan(&args(&[
            "--topic",
            "t",
            "--group",
            "g",
            "--consumer-property",
            "client.id=me",
            "--isolation-level",
            "read_committed",
            "--max-messages",
            "-1",
            "--timeout-ms",
            "1500",
            "--property",
            "print.key=true",
        ]))
        .unwrap();
        assert_eq!(plan.group.as_deref(), Some("g"));
        assert_eq!(plan.reset, Start::Latest);
        assert_eq!(plan.properties["group.id"], "g");
        assert_eq!(plan.properties["client.id"], "me");
        assert_eq!(plan.properties["isolation.level"], "read_committed");
        assert!(!plan.properties.contains_key("enable.auto.commit"));
        assert_eq!(plan.max_messages, None);
        assert_eq!(plan.timeout, Some(Duration::from_millis(1500)));
        assert!(plan.formatter.print_key);

        let plan = super::plan(&args(&["--topic", "t", "--partition", "2"])).unwrap();
        assert_eq!(
            plan.source,
            Source::Partition {
                topic: "t".into(),
                partition: 2,
                start: Start::Latest
            }
        );
        for (offset, start) in [
            ("EARLIEST", Start::Earliest),
            ("latest", Start::Latest),
            ("17", Start::Offset(17)),
        ] {
            let plan = super::plan(&args(&[
                "--topic",
                "t",
                "--partition",
                "0",
                "--offset",
                offset,
            ]))
            .unwrap();
            assert!(
                matches!(plan.source, Source::Partition { start: s, .. } if s == start),
                "{offset}"
            );
        }
        let plan = super::plan(&args(&[
            "--topic",
            "t",
            "--partition",
            "0",
            "--from-beginning",
        ]))
        .unwrap();
        assert!(matches!(
            plan.source,
            Source::Partition {
                start: Start::Earliest,
                ..
            }
        ));
        let plan = super::plan(&args(&[
            "--include",
            "a.*",
            "--consumer-property",
            "auto.offset.reset=earliest",
        ]))
        .unwrap();
        assert_eq!(plan.source, Source::Include("a.*".into()));
        assert_eq!(plan.reset, Start::Earliest);
    }

    #[test]
    fn kafkas_usage_errors() {
        let both = "Exactly one of the following arguments is required: [topic], [include]";
        assert_eq!(failure(&[]), both);
        assert_eq!(failure(&["--topic", "t", "--include", "x"]), both);
        assert_eq!(
            failure(&["--include", "x", "--partition", "0"]),
            "The topic is required when partition is specified."
        );
        assert_eq!(
            failure(&[
                "--topic",
                "t",
                "--partition",
                "0",
                "--offset",
                "1",
                "--from-beginning"
            ]),
            "Options from-beginning and offset cannot be specified together."
        );
        assert_eq!(
            failure(&["--topic", "t", "--offset", "1"]),
            "The partition is required when offset is specified."
        );
        assert_eq!(
            failure(&["--topic", "t", "--partition", "0", "--offset", "-3"]),
            "The provided offset value '-3' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
        );
        assert_eq!(
            failure(&["--topic", "t", "--partition", "0", "--group", "g"]),
            "Options group and partition cannot be specified together."
        );
        assert_eq!(
            failure(&[
                "--topic",
                "t",
                "--group",
                "a",
                "--consumer-property",
                "group.id=b"
            ]),
            "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: 'a', 'b'"
        );
        assert_eq!(
            failure(&[
                "--topic",
                "t",
                "--from-beginning",
                "--consumer-property",
                "auto.offset.reset=latest"
            ]),
            "Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest', please remove one option"
        );
        assert!(
            failure(&[
                "--topic",
                "t",
                "--formatter",
                "kafka.tools.LoggingMessageFormatter"
            ])
            .starts_with("Unsupported formatter kafka.tools.LoggingMessageFormatter")
        );
        assert!(
            failure(&["--topic", "t", "--consumer.config", "/no/such.properties"])
                .contains("cannot read /no/such.properties")
        );
    }
}
