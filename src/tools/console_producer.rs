//! `sluice console-producer`: Kafka's `kafka-console-producer.sh` (`ConsoleProducer` with its
//! `LineMessageReader`) — one record per line of standard input, keys and headers parsed as
//! Kafka parses them, the same flags and producer defaults.
//!
//! Unlike Kafka's producer, which logs a failed send and still exits 0, any record that cannot
//! be delivered (or a topic that does not appear within `max.block.ms`) makes the run exit 1.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::client::ClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use super::{
    Failure, Signals, client_error_message, log4j_line, merged_properties, millis_property,
    signal_exit_code,
};

/// The reader class names Kafka accepts for its default line reader (4.x and 2.x–3.x).
const LINE_READERS: &[&str] = &[
    "org.apache.kafka.tools.LineMessageReader",
    "kafka.tools.ConsoleProducer$LineMessageReader",
    "kafka.tools.LineMessageReader",
];
/// Kafka's prefix for the reader's errors (a `KafkaException` printed by the script).
const KAFKA_EXCEPTION: &str = "org.apache.kafka.common.KafkaException";

/// Arguments of `sluice console-producer`, Kafka's `ConsoleProducerConfig`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(about = "This tool helps to read data from standard input and publish it to Kafka.")]
pub struct Args {
    /// REQUIRED: The server(s) to connect to. The broker list string in the form
    /// HOST1:PORT1,HOST2:PORT2.
    #[arg(long, alias = "broker-list", value_name = "server to connect to")]
    pub(crate) bootstrap_server: String,
    /// REQUIRED: The topic id to produce messages to.
    #[arg(long, value_name = "topic")]
    pub(crate) topic: Option<String>,
    /// If set message send requests to the brokers are synchronously, one at a time as they
    /// arrive.
    #[arg(long)]
    pub(crate) sync: bool,
    /// The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified
    /// without value, then it defaults to 'gzip'.
    #[arg(
        long,
        value_name = "compression-codec",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub(crate) compression_codec: Option<String>,
    /// Number of messages to send in a single batch if they are not being sent synchronously
    /// (`batch.size`, default 16384).
    #[arg(long, value_name = "size")]
    pub(crate) batch_size: Option<i32>,
    /// The number of retries before the producer gives up and drops a message (`retries`,
    /// default 3).
    #[arg(long, value_name = "Integer")]
    pub(crate) message_send_max_retries: Option<i32>,
    /// The wait before each retry (`retry.backoff.ms`, default 100).
    #[arg(long, value_name = "Long")]
    pub(crate) retry_backoff_ms: Option<i64>,
    /// The longest a message waits for a batch to fill (`linger.ms`, default 1000).
    #[arg(long = "timeout", value_name = "timeout_ms")]
    pub(crate) linger_ms: Option<i64>,
    /// The required `acks` of the producer requests (default -1).
    #[arg(long, value_name = "request required acks", allow_hyphen_values = true)]
    pub(crate) request_required_acks: Option<String>,
    /// The ack timeout of the producer requests (`request.timeout.ms`, default 1500).
    #[arg(long, value_name = "request timeout ms")]
    pub(crate) request_timeout_ms: Option<i32>,
    /// The period after which metadata is refreshed (`metadata.max.age.ms`, default 300000).
    #[arg(long, value_name = "metadata expiration interval")]
    pub(crate) metadata_expiry_ms: Option<i64>,
    /// The longest the producer waits for the topic's metadata or for room in its queue
    /// (`max.block.ms`, default 60000).
    #[arg(long, value_name = "max block on send")]
    pub(crate) max_block_ms: Option<i64>,
    /// The memory for records waiting to be sent (`buffer.memory`, default 33554432).
    #[arg(long, value_name = "total memory in bytes")]
    pub(crate) max_memory_bytes: Option<i64>,
    /// The batch size per partition (`batch.size`; wins over --batch-size).
    #[arg(long, value_name = "memory in bytes per partition")]
    pub(crate) max_partition_memory_bytes: Option<i32>,
    /// The class to read lines with (only the default LineMessageReader is available).
    #[arg(long, value_name = "reader_class")]
    pub(crate) line_reader: Option<String>,
    /// The size of the TCP send buffer (`send.buffer.bytes`).
    #[arg(long, value_name = "size")]
    pub(crate) socket_buffer_size: Option<i32>,
    /// Properties for the line reader: parse.key, key.separator, parse.headers,
    /// headers.delimiter, headers.separator, headers.key.separator, ignore.error, null.marker
    /// (repeatable).
    #[arg(long, alias = "reader-property", value_name = "prop")]
    pub(crate) property: Vec<String>,
    /// Config properties file for the message reader. Note that --property takes precedence
    /// over this config.
    #[arg(long, value_name = "config file")]
    pub(crate) reader_config: Option<PathBuf>,
    /// Producer config properties in the form key=value (repeatable).
    #[arg(long, alias = "command-property", value_name = "producer_prop")]
    pub(crate) producer_property: Vec<String>,
    /// Producer config properties file. Note that --producer-property takes precedence over
    /// this config.
    #[arg(
        long = "producer.config",
        alias = "command-config",
        value_name = "config file"
    )]
    pub(crate) producer_config: Option<PathBuf>,
}

/// The producer's properties with Java's names, as `ConsoleProducerConfig.producerProps`
/// builds them: the config file, then `--producer-property`, then the compression codec, then
/// each option given (or its default when the properties do not set the key).
pub(crate) fn producer_properties(args: &Args) -> Result<BTreeMap<String, String>, Failure> {
    let mut properties =
        merged_properties(args.producer_config.as_deref(), &args.producer_property)?;
    let codec = match args.compression_codec.as_deref() {
        None => "none",
        Some("") => "gzip",
        Some(codec) => codec,
    };
    properties.insert("compression.type".into(), codec.into());
    properties
        .entry("client.id".into())
        .or_insert_with(|| "console-producer".into());
    let mut merge = |key: &str, given: Option<String>, default: &str| match given {
        Some(value) => {
            properties.insert(key.into(), value);
        }
        None => {
            properties
                .entry(key.into())
                .or_insert_with(|| default.into());
        }
    };
    let text = |value: Option<i64>| value.map(|v| v.to_string());
    merge("linger.ms", text(args.linger_ms), "1000");
    merge("acks", args.request_required_acks.clone(), "-1");
    merge(
        "request.timeout.ms",
        text(args.request_timeout_ms.map(i64::from)),
        "1500",
    );
    merge(
        "retries",
        text(args.message_send_max_retries.map(i64::from)),
        "3",
    );
    merge("retry.backoff.ms", text(args.retry_backoff_ms), "100");
    merge("buffer.memory", text(args.max_memory_bytes), "33554432");
    merge(
        "batch.size",
        text(
            args.max_partition_memory_bytes
                .or(args.batch_size)
                .map(i64::from),
        ),
        "16384",
    );
    merge(
        "metadata.max.age.ms",
        text(args.metadata_expiry_ms),
        "300000",
    );
    merge("max.block.ms", text(args.max_block_ms), "60000");
    // The Java producer's delivery timeout (librdkafka's default is 300000).
    if !properties.contains_key("message.timeout.ms") {
        properties
            .entry("delivery.timeout.ms".into())
            .or_insert_with(|| "120000".into());
    }
    // librdkafka's name for the socket buffer; its default (the system's) unless asked for.
    if let Some(size) = args.socket_buffer_size {
        properties.insert("send.buffer.bytes".into(), size.to_string());
    }
    if let Some(size) = properties.remove("send.buffer.bytes") {
        properties.insert("socket.send.buffer.bytes".into(), size);
    }
    if let Some(size) = properties.remove("receive.buffer.bytes") {
        properties.insert("socket.receive.buffer.bytes".into(), size);
    }
    Ok(properties)
}

/// One record parsed from a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineRecord {
    pub(crate) headers: Vec<(String, Option<String>)>,
    pub(crate) key: Option<String>,
    pub(crate) value: Option<String>,
}

/// Kafka's `LineMessageReader`: each line is `[headers<delimiter>][key<separator>]value`.
#[derive(Debug, Clone)]
pub(crate) struct LineReader {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: regex::Regex,
    headers_key_separator: String,
    ignore_error: bool,
    null_marker: Option<String>,
    line_number: usize,
}

fn reader_error(message: impl std::fmt::Display) -> Failure {
    Failure::new(format!("{KAFKA_EXCEPTION}: {message}"))
}

impl LineReader {
    /// The reader `properties` configure, refused with Kafka's messages when separators clash.
    pub(crate) fn configure(properties: &BTreeMap<String, String>) -> Result<LineReader, Failure> {
        let text = |key: &str, default: &str| {
            properties
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        let flag = |key: &str| {
            properties
                .get(key)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let key_separator = text("key.separator", "\t");
        let headers_delimiter = text("headers.delimiter", "\t");
        let headers_separator = text("headers.separator", ",");
        let headers_key_separator = text("headers.key.separator", ":");
        let null_marker = properties.get("null.marker").cloned();
        let clashes = [
            (
                &headers_delimiter,
                &headers_separator,
                "headers.delimiter and headers.separator",
            ),
            (
                &headers_delimiter,
                &headers_key_separator,
                "headers.delimiter and headers.key.separator",
            ),
            (
                &headers_separator,
                &headers_key_separator,
                "headers.separator and headers.key.separator",
            ),
        ];
        for (a, b, names) in clashes {
            if a == b {
                return Err(reader_error(format!("{names} may not be equal")));
            }
        }
        if let Some(marker) = &null_marker {
            for (other, name) in [
                (&key_separator, "key.separator"),
                (&headers_separator, "headers.separator"),
                (&headers_delimiter, "headers.delimiter"),
                (&headers_key_separator, "headers.key.separator"),
            ] {
                if other == marker {
                    return Err(reader_error(format!(
                        "null.marker and {name} may not be equal"
                    )));
                }
            }
        }
        let pattern = regex::Regex::new(&headers_separator).map_err(|error| {
            Failure::new(format!(
                "java.util.regex.PatternSyntaxException: {headers_separator}: {error}"
            ))
        })?;
        Ok(LineReader {
            parse_key: flag("parse.key"),
            key_separator,
            parse_headers: flag("parse.headers"),
            headers_delimiter,
            headers_separator: pattern,
            headers_key_separator,
            ignore_error: flag("ignore.error"),
            null_marker,
            line_number: 0,
        })
    }

    fn is_null(&self, text: &str) -> bool {
        self.null_marker.as_deref() == Some(text)
    }

    /// The part of `line` from `start` up to `demarcation` (`None`: not parsed, or missing
    /// with `ignore.error`).
    fn part<'a>(
        &self,
        enabled: bool,
        line: &'a str,
        start: usize,
        demarcation: &str,
        name: &str,
    ) -> Result<Option<&'a str>, Failure> {
        if !enabled {
            return Ok(None);
        }
        match line[start..].find(demarcation) {
            Some(at) => Ok(Some(&line[start..start + at])),
            None if self.ignore_error => Ok(None),
            None => Err(reader_error(format!(
                "No {name} found on line number {}: '{line}'",
                self.line_number
            ))),
        }
    }

    /// Parses the next line of input.
    pub(crate) fn read(&mut self, line: &str) -> Result<LineRecord, Failure> {
        self.line_number += 1;
        let headers = self.part(
            self.parse_headers,
            line,
            0,
            &self.headers_delimiter,
            "headers delimiter",
        )?;
        let header_end = headers.map_or(0, |h| h.len() + self.headers_delimiter.len());
        let key = self.part(
            self.parse_key,
            line,
            header_end,
            &self.key_separator,
            "key separator",
        )?;
        let key_end = key.map_or(0, |k| k.len() + self.key_separator.len());
        let value = &line[header_end + key_end..];
        let headers = match headers {
            Some(headers) if !self.is_null(headers) => self.split_headers(headers)?,
            _ => Vec::new(),
        };
        Ok(LineRecord {
            headers,
            key: key.filter(|k| !self.is_null(k)).map(str::to_string),
            value: (!self.is_null(value)).then(|| value.to_string()),
        })
    }

    fn split_headers(&self, headers: &str) -> Result<Vec<(String, Option<String>)>, Failure> {
        java_split(&self.headers_separator, headers)
            .into_iter()
            .map(|pair| match pair.find(&self.headers_key_separator) {
                None if self.ignore_error => Ok((pair.to_string(), None)),
                None => Err(reader_error(format!(
                    "No header key separator found in pair '{pair}' on line number {}",
                    self.line_number
                ))),
                Some(at) => {
                    let key = &pair[..at];
                    if self.is_null(key) {
                        return Err(reader_error(format!(
                            "Header keys should not be equal to the null marker '{}' as they can't be null",
                            self.null_marker.as_deref().unwrap_or_default()
                        )));
                    }
                    let value = &pair[at + self.headers_key_separator.len()..];
                    Ok((
                        key.to_string(),
                        (!self.is_null(value)).then(|| value.to_string()),
                    ))
                }
            })
            .collect()
    }
}

/// Java's `Pattern.split(input)`: the pieces between matches, no leading empty piece for a
/// zero-width match at the start, trailing empty pieces dropped.
fn java_split<'a>(pattern: &regex::Regex, input: &'a str) -> Vec<&'a str> {
    let mut pieces = Vec::new();
    let mut from = 0;
    for found in pattern.find_iter(input) {
        if found.end() == 0 {
            continue;
        }
        pieces.push(&input[from..found.start()]);
        from = found.end();
    }
    if pieces.is_empty() {
        return vec![input];
    }
    pieces.push(&input[from..]);
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Reports failed deliveries as Kafka's `ErrorLoggingCallback` logs them, and counts them.
struct Reporter {
    failures: AtomicUsize,
}

impl ClientContext for Reporter {
    fn error(&self, _error: rdkafka::error::KafkaError, _reason: &str) {}
}

impl ProducerContext for Reporter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            self.failures.fetch_add(1, Ordering::SeqCst);
            let size = |bytes: Option<&[u8]>| {
                bytes.map_or_else(|| "null".to_string(), |b| format!("{} bytes", b.len()))
            };
            eprintln!(
                "{}\n{}",
                log4j_line(
                    "ERROR",
                    &format!(
                        "Error when sending message to topic {} with key: {}, value: {} with error:",
                        message.topic(),
                        size(message.key()),
                        size(message.payload())
                    ),
                    "org.apache.kafka.clients.producer.internals.ErrorLoggingCallback"
                ),
                client_error_message(error)
            );
        }
    }
}

/// Standard input's lines, read on their own thread so that a signal is noticed while the
/// producer waits for input. Lines end at `\n`, `\r` or `\r\n` (Java's `readLine`); `None` ends
/// the input. Kafka's `>` prompt is printed before each line when both ends are a terminal.
fn stdin_lines() -> crossbeam_channel::Receiver<Option<String>> {
    let (sender, receiver) = crossbeam_channel::bounded(16);
    let prompt = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    std::thread::spawn(move || {
        let mut input = std::io::stdin().lock();
        let mut buffer = Vec::new();
        loop {
            if prompt {
                print!(">");
                let _ = std::io::stdout().flush();
            }
            buffer.clear();
            match input.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => {
                    let _ = sender.send(None);
                    return;
                }
                Ok(_) => {
                    let mut line = buffer.as_slice();
                    line = line.strip_suffix(b"\n").unwrap_or(line);
                    line = line.strip_suffix(b"\r").unwrap_or(line);
                    for part in line.split(|b| *b == b'\r') {
                        if sender
                            .send(Some(String::from_utf8_lossy(part).into_owned()))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        }
    });
    receiver
}

/// Runs `sluice console-producer`; the process exit code.
pub fn run(args: Args) -> ExitCode {
    match produce(&args) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::FAILURE
        }
    }
}

/// Why reading stopped.
enum End {
    Eof,
    Signal(i32),
    Failed(Failure),
}

fn produce(args: &Args) -> Result<ExitCode, Failure> {
    let Some(topic) = args.topic.clone() else {
        return Err(Failure::new("Missing required argument \"[topic]\""));
    };
    if let Some(reader) = &args.line_reader
        && !LINE_READERS.contains(&reader.as_str())
    {
        return Err(Failure::new(format!(
            "Unsupported line reader {reader}: only {} is available",
            LINE_READERS[0]
        )));
    }
    let mut reader_properties = match &args.reader_config {
        Some(path) => super::read_command_config(path)?,
        None => BTreeMap::new(),
    };
    reader_properties.insert("topic".into(), topic.clone());
    reader_properties.extend(super::parse_key_value_args(&args.property));
    let mut reader = LineReader::configure(&reader_properties)?;
    let properties = producer_properties(args)?;
    let max_block = Duration::from_millis(millis_property(&properties, "max.block.ms", 60_000));
    let delivery = Duration::from_millis(millis_property(
        &properties,
        "delivery.timeout.ms",
        millis_property(&properties, "message.timeout.ms", 120_000),
    ));

    let signals = Signals::catch()?;
    let config = super::tool_client_config(&args.bootstrap_server, &properties)?;
    let producer: BaseProducer<Reporter> = config
        .create_with_context(Reporter {
            failures: AtomicUsize::new(0),
        })
        .map_err(|error| {
            Failure::new(format!(
                "Error: invalid producer configuration: {}",
                client_error_message(&error)
            ))
        })?;
    let stopped = || signals.received().is_some();
    let lines = stdin_lines();
    let mut topic_known = false;
    let end = loop {
        if let Some(signal) = signals.received() {
            break End::Signal(signal);
        }
        let line = match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(line)) => line,
            Ok(None) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break End::Eof,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                producer.poll(Duration::ZERO);
                continue;
            }
        };
        let record = match reader.read(&line) {
            Ok(record) => record,
            Err(failure) => break End::Failed(failure),
        };
        if !topic_known {
            match super::wait_for_topic(
                producer.client(),
                &args.bootstrap_server,
                &topic,
                max_block,
                &stopped,
            ) {
                Ok(Some(_)) => topic_known = true,
                Ok(None) => continue,
                Err(failure) => break End::Failed(failure),
            }
        }
        if let Err(failure) = send(&producer, &topic, &record, max_block) {
            break End::Failed(failure);
        }
        if args.sync {
            let _ = producer.flush(delivery);
        }
        producer.poll(Duration::ZERO);
    };
    // Kafka closes its producer on every way out, which sends what is queued.
    let flushed = producer.flush(delivery + Duration::from_secs(5));
    let failures = producer.context().failures.load(Ordering::SeqCst);
    Ok(match end {
        End::Signal(signal) => signal_exit_code(signal),
        End::Failed(failure) => {
            eprintln!("{failure}");
            ExitCode::FAILURE
        }
        End::Eof if flushed.is_err() => {
            eprintln!(
                "Error: {} records were not delivered within {} ms",
                producer.in_flight_count(),
                delivery.as_millis()
            );
            ExitCode::FAILURE
        }
        End::Eof if failures > 0 => ExitCode::FAILURE,
        End::Eof => ExitCode::SUCCESS,
    })
}

/// Queues one record, waiting up to `max_block` for room in the producer's queue.
fn send(
    producer: &BaseProducer<Reporter>,
    topic: &str,
    record: &LineRecord,
    max_block: Duration,
) -> Result<(), Failure> {
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    for (key, value) in &record.headers {
        headers = headers.insert(Header {
            key,
            value: value.as_deref(),
        });
    }
    let mut message: BaseRecord<'_, str, str> = BaseRecord::to(topic).headers(headers);
    if let Some(key) = &record.key {
        message = message.key(key);
    }
    if let Some(value) = &record.value {
        message = message.payload(value);
    }
    let deadline = Instant::now() + max_block;
    loop {
        match producer.send(message) {
            Ok(()) => return Ok(()),
            Err((error, returned))
                if error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull)
                    && Instant::now() < deadline =>
            {
                message = returned;
                producer.poll(Duration::from_millis(100));
            }
            Err((error, _)) => {
                return Err(Failure::new(format!(
                    "Error: cannot send to topic {topic}: {}",
                    client_error_message(&error)
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(pairs: &[(&str, &str)]) -> Result<LineReader, Failure> {
        LineReader::configure(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn record(
        key: Option<&str>,
        value: Option<&str>,
        headers: &[(&str, Option<&str>)],
    ) -> LineRecord {
        LineRecord {
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            key: key.map(str::to_string),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn plain_lines_are_values() {
        let mut r = reader(&[]).unwrap();
        assert_eq!(r.read("a\tb").unwrap(), record(None, Some("a\tb"), &[]));
        assert_eq!(r.read("").unwrap(), record(None, Some(""), &[]));
    }

    #[test]
    fn keys_headers_and_null_marker() {
        let mut r = reader(&[
            ("parse.key", "true"),
            ("parse.headers", "true"),
            ("null.marker", "<NULL>"),
        ])
        .unwrap();
        assert_eq!(
            r.read("h1:v1,h2:v2\tkey0\tvalue0").unwrap(),
            record(
                Some("key0"),
                Some("value0"),
                &[("h1", Some("v1")), ("h2", Some("v2"))]
            )
        );
        assert_eq!(
            r.read("h1:<NULL>,h2:\t<NULL>\t<NULL>").unwrap(),
            record(None, None, &[("h1", None), ("h2", Some(""))])
        );
        assert_eq!(
            r.read("<NULL>\tk\tv\tw").unwrap(),
            record(Some("k"), Some("v\tw"), &[])
        );
        assert_eq!(
            r.read("<NULL>:v\tk\tv").unwrap_err().message,
            "org.apache.kafka.common.KafkaException: Header keys should not be equal to the null marker '<NULL>' as they can't be null"
        );
        assert_eq!(
            r.read("h1:v1\tno-key-separator").unwrap_err().message,
            "org.apache.kafka.common.KafkaException: No key separator found on line number 5: 'h1:v1\tno-key-separator'"
        );
        assert_eq!(
            r.read("nothing").unwrap_err().message,
            "org.apache.kafka.common.KafkaException: No headers delimiter found on line number 6: 'nothing'"
        );
        assert_eq!(
            r.read("h1\tk\tv").unwrap_err().message,
            "org.apache.kafka.common.KafkaException: No header key separator found in pair 'h1' on line number 7"
        );
    }

    #[test]
    fn kafkas_reader_cases() {
        let mut r = reader(&[("parse.key", "true"), ("parse.headers", "true")]).unwrap();
        assert_eq!(
            r.read(":\t\t").unwrap(),
            record(Some(""), Some(""), &[("", Some(""))])
        );
        let mut r = reader(&[
            ("parse.key", "true"),
            ("parse.headers", "true"),
            ("ignore.error", "true"),
        ])
        .unwrap();
        // The headers delimiter is found, the key separator after it is not.
        assert_eq!(
            r.read("h1:v1,h2:v2[NO-DELIMITER]key1\tvalue1").unwrap(),
            record(
                None,
                Some("value1"),
                &[("h1", Some("v1")), ("h2", Some("v2[NO-DELIMITER]key1"))]
            )
        );
        assert_eq!(
            r.read("key-val\tkey0\tvalue0").unwrap(),
            record(Some("key0"), Some("value0"), &[("key-val", None)])
        );
    }

    #[test]
    fn custom_separators_and_ignore_error() {
        let mut r = reader(&[
            ("parse.key", "true"),
            ("key.separator", "::"),
            ("ignore.error", "true"),
            ("parse.headers", "true"),
            ("headers.delimiter", "|"),
            ("headers.separator", ";"),
            ("headers.key.separator", "="),
        ])
        .unwrap();
        assert_eq!(
            r.read("a=1;b=2;|k::v::w").unwrap(),
            record(
                Some("k"),
                Some("v::w"),
                &[("a", Some("1")), ("b", Some("2"))]
            )
        );
        // Missing parts are skipped with ignore.error; a header without `=` has a null value.
        assert_eq!(
            r.read("just a value").unwrap(),
            record(None, Some("just a value"), &[])
        );
        assert_eq!(
            r.read("flag|k::v").unwrap(),
            record(Some("k"), Some("v"), &[("flag", None)])
        );
    }

    #[test]
    fn clashing_separators_are_refused() {
        let message = |pairs: &[(&str, &str)]| reader(pairs).unwrap_err().message;
        assert_eq!(
            message(&[("headers.separator", "\t")]),
            "org.apache.kafka.common.KafkaException: headers.delimiter and headers.separator may not be equal"
        );
        assert_eq!(
            message(&[("null.marker", "\t")]),
            "org.apache.kafka.common.KafkaException: null.marker and key.separator may not be equal"
        );
        assert_eq!(
            message(&[("headers.key.separator", ",")]),
            "org.apache.kafka.common.KafkaException: headers.separator and headers.key.separator may not be equal"
        );
    }

    #[test]
    fn java_pattern_split() {
        let comma = regex::Regex::new(",").unwrap();
        assert_eq!(java_split(&comma, "a,b,,"), vec!["a", "b"]);
        assert_eq!(java_split(&comma, ",a"), vec!["", "a"]);
        assert_eq!(java_split(&comma, ""), vec![""]);
        assert_eq!(java_split(&comma, "x"), vec!["x"]);
    }

    fn args(list: &[&str]) -> Args {
        let mut argv = vec!["--bootstrap-server", "k:9092", "--topic", "t"];
        argv.extend_from_slice(list);
        crate::tools::parse_args(&argv)
    }

    #[test]
    fn kafkas_producer_defaults_and_overrides() {
        let p = producer_properties(&args(&[])).unwrap();
        for (key, value) in [
            ("compression.type", "none"),
            ("client.id", "console-producer"),
            ("linger.ms", "1000"),
            ("acks", "-1"),
            ("request.timeout.ms", "1500"),
            ("retries", "3"),
            ("retry.backoff.ms", "100"),
            ("batch.size", "16384"),
            ("max.block.ms", "60000"),
            ("delivery.timeout.ms", "120000"),
        ] {
            assert_eq!(p.get(key).map(String::as_str), Some(value), "{key}");
        }
        let p = producer_properties(&args(&[
            "--compression-codec",
            "--producer-property",
            "linger.ms=5",
            "--producer-property",
            "acks=1",
            "--request-required-acks",
            "all",
            "--batch-size",
            "100",
            "--max-partition-memory-bytes",
            "200",
            "--socket-buffer-size",
            "4096",
        ]))
        .unwrap();
        assert_eq!(p["compression.type"], "gzip");
        assert_eq!(
            p["linger.ms"], "5",
            "a property the option does not name stays"
        );
        assert_eq!(p["acks"], "all", "an option given wins over the property");
        assert_eq!(p["batch.size"], "200");
        assert_eq!(p["socket.send.buffer.bytes"], "4096");
        let p = producer_properties(&args(&["--compression-codec", "zstd"])).unwrap();
        assert_eq!(p["compression.type"], "zstd");
    }
}
