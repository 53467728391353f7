//! Kafka's topic routers:
//! - `org.apache.kafka.connect.transforms.RegexRouter` (`regex`, `replacement`): when the whole
//!   topic matches `regex` (`Matcher.matches()`), the topic becomes `replaceFirst(replacement)`.
//!   The replacement is Java's syntax (`$1`, `${name}`, `\$`), translated once to the regex
//!   crate's: Java reads `$12` as group 12 only when the pattern has 12 groups (else group 1 then
//!   `2`), and `$1x` is group 1 then `x`. A replacement Java would reject fails each record the
//!   regex matches, with Java's message, as in Kafka.
//! - `org.apache.kafka.connect.transforms.TimestampRouter` (`topic.format`, default
//!   `${topic}-${timestamp}`; `timestamp.format`, default `yyyyMMdd`, a `SimpleDateFormat`
//!   pattern in UTC): the topic becomes the format with `${topic}` and then `${timestamp}`
//!   replaced; a record without timestamp fails with `Timestamp missing on record: …`.
//!
//! The regex is Rust's `regex` syntax, which is Java's for the common cases (no look-around or
//! back-references).

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::Transformation;
use super::java_date::{DatePattern, PatternError};
use super::predicates::whole_match;
use super::util;
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType};
use crate::error::Result;
use crate::model::record::{Header, Record};

const REGEX: &str = "regex";
const REPLACEMENT: &str = "replacement";
const TOPIC_FORMAT: &str = "topic.format";
const TIMESTAMP_FORMAT: &str = "timestamp.format";

static REGEX_ROUTER: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::required(REGEX, ConfigType::String)
                .doc("Regular expression to use for matching."),
        )
        .define(ConfigKey::required(REPLACEMENT, ConfigType::String).doc("Replacement string."))
});

static TIMESTAMP_ROUTER: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new()
        .define(
            ConfigKey::with_default(TOPIC_FORMAT, ConfigType::String, "${topic}-${timestamp}")
                .importance(crate::config::Importance::High)
                .doc(
                    "Format string which can contain <code>${topic}</code> and \
                     <code>${timestamp}</code> as placeholders for the topic and timestamp, \
                     respectively.",
                ),
        )
        .define(
            ConfigKey::with_default(TIMESTAMP_FORMAT, ConfigType::String, "yyyyMMdd")
                .importance(crate::config::Importance::High)
                .doc(
                    "Format string for the timestamp that is compatible with \
                     <code>java.text.SimpleDateFormat</code>.",
                ),
        )
});

pub(crate) fn regex_router_def() -> &'static ConfigDef {
    &REGEX_ROUTER
}

pub(crate) fn timestamp_router_def() -> &'static ConfigDef {
    &TIMESTAMP_ROUTER
}

// ---------------------------------------------------------------------------------------------
// RegexRouter

/// Renames topics that match a regex.
pub(crate) struct RegexRouter {
    whole: Regex,
    first: Regex,
    /// The replacement in the regex crate's syntax, or Java's error for it.
    replacement: Result<String, String>,
    /// The last topic routed and where it went: a task reads a few topics, in runs.
    last: Option<(Arc<str>, Arc<str>)>,
}

/// `RegexRouter`.
pub(crate) fn regex_router(config: &Config) -> Result<RegexRouter, ConfigError> {
    let pattern = config.string(REGEX).unwrap_or_default();
    let whole = whole_match(REGEX, pattern)?;
    let first = Regex::new(pattern)
        .map_err(|e| ConfigError::invalid(REGEX, pattern, format!("Invalid regex: {e}")))?;
    let replacement = java_replacement(config.string(REPLACEMENT).unwrap_or_default(), &first);
    Ok(RegexRouter {
        whole,
        first,
        replacement,
        last: None,
    })
}

/// Java's `Matcher.appendReplacement` syntax in the regex crate's: `$n` (the longest group
/// number the pattern has), `${name}`, `\x` (a literal `x`); a literal `$` becomes `$$`.
fn java_replacement(java: &str, regex: &Regex) -> Result<String, String> {
    let groups = regex.captures_len() - 1;
    let mut out = String::with_capacity(java.len() + 8);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(escaped) => out.push(escaped),
                None => return Err("character to be escaped is missing".to_string()),
            },
            '$' => match chars.next() {
                None => return Err("Illegal group reference: group index is missing".to_string()),
                Some('{') => {
                    let mut name = String::new();
                    while let Some(&c) = chars.peek() {
                        if !c.is_ascii_alphanumeric() {
                            break;
                        }
                        name.push(c);
                        chars.next();
                    }
                    if name.is_empty() {
                        return Err("named capturing group has 0 length name".to_string());
                    }
                    if chars.next() != Some('}') {
                        return Err("named capturing group is missing trailing '}'".to_string());
                    }
                    if name.starts_with(|c: char| c.is_ascii_digit()) {
                        return Err(format!(
                            "capturing group name {{{name}}} starts with digit character"
                        ));
                    }
                    if !regex.capture_names().any(|n| n == Some(name.as_str())) {
                        return Err(format!("No group with name {{{name}}}"));
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d as usize - '0' as usize;
                    while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let longer = group * 10 + next as usize;
                        if longer > groups {
                            break;
                        }
                        group = longer;
                        chars.next();
                    }
                    if group > groups {
                        return Err(format!("No group {group}"));
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some(_) => return Err("Illegal group reference".to_string()),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Transformation for RegexRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        if let Some((from, to)) = &self.last
            && *from == record.topic
        {
            record.topic = to.clone();
            return Ok(Some(record));
        }
        let from = record.topic.clone();
        if self.whole.is_match(&record.topic) {
            let replacement = self.replacement.as_deref().map_err(util::data_error)?;
            let topic = self.first.replacen(&record.topic, 1, replacement);
            record.topic = topic.as_ref().into();
        }
        self.last = Some((from, record.topic.clone()));
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------------------
// TimestampRouter

/// Routes records to a topic named after their topic and timestamp.
pub(crate) struct TimestampRouter {
    topic_format: String,
    timestamp_format: DatePattern,
}

/// `TimestampRouter`. An unusable `timestamp.format` is refused here, where Kafka fails on the
/// first record.
pub(crate) fn timestamp_router(config: &Config) -> Result<TimestampRouter, ConfigError> {
    let pattern = config.string(TIMESTAMP_FORMAT).unwrap_or_default();
    let timestamp_format = DatePattern::new(pattern).map_err(|e| match e {
        PatternError::Java(message) => ConfigError::invalid(TIMESTAMP_FORMAT, pattern, message),
        PatternError::Unsupported(letter) => {
            super::java_date::unsupported_letter(TIMESTAMP_FORMAT, pattern, letter)
        }
    })?;
    Ok(TimestampRouter {
        topic_format: config.string(TOPIC_FORMAT).unwrap_or_default().to_string(),
        timestamp_format,
    })
}

impl Transformation for TimestampRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>> {
        let Some(timestamp) = record.timestamp else {
            return Err(util::data_error(format!(
                "Timestamp missing on record: {}",
                record_string(&record)
            )));
        };
        let formatted = self.timestamp_format.format(timestamp);
        let topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        record.topic = topic.into();
        Ok(Some(record))
    }
}

/// `ConnectRecord.toString()` (Kafka prefixes it with the Source/SinkRecord's own fields).
fn record_string(record: &Record) -> String {
    let optional = |v: Option<String>| v.unwrap_or_else(|| "null".to_string());
    let headers: Vec<String> = record.headers.iter().map(header_string).collect();
    format!(
        "ConnectRecord{{topic='{}', kafkaPartition={}, key={}, keySchema={}, value={}, \
         valueSchema={}, timestamp={}, headers=ConnectHeaders(headers={})}}",
        record.topic,
        optional(record.partition.map(|p| p.to_string())),
        util::java_string(record.key.schema.as_deref(), &record.key.value),
        util::schema_string(record.key.schema.as_deref()),
        util::java_string(record.value.schema.as_deref(), &record.value.value),
        util::schema_string(record.value.schema.as_deref()),
        optional(record.timestamp.map(|t| t.to_string())),
        if headers.is_empty() {
            String::new()
        } else {
            format!("[{}]", headers.join(", "))
        }
    )
}

fn header_string(header: &Header) -> String {
    format!(
        "ConnectHeader(key={}, value={}, schema={})",
        header.key,
        util::java_string(header.schema.as_deref(), &header.value),
        util::schema_string(header.schema.as_deref())
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::record::Part;
    use crate::model::{Schema, SchemaType, Value};

    fn parse(def: &ConfigDef, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        crate::transform::util::parse_pairs(def, pairs)
    }

    fn route(regex: &str, replacement: &str, topic: &str) -> Result<String> {
        let config = parse(&REGEX_ROUTER, &[(REGEX, regex), (REPLACEMENT, replacement)]).unwrap();
        let mut router = regex_router(&config).unwrap();
        let record = Record::new(topic, Part::NULL);
        router.apply(record).map(|r| r.unwrap().topic.to_string())
    }

    fn ok(regex: &str, replacement: &str, topic: &str) -> String {
        route(regex, replacement, topic).unwrap()
    }

    /// RegexRouterTest.staticReplacement, doesntMatch, identity, addPrefix, addSuffix, slice.
    #[test]
    fn regex_router_kafka_cases() {
        assert_eq!(ok("foo", "bar", "foo"), "bar");
        assert_eq!(ok("foo", "bar", "orig"), "orig");
        assert_eq!(ok("(.*)", "$1", "orig"), "orig");
        assert_eq!(ok("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(ok("(.*)", "$1-suffix", "orig"), "orig-suffix");
        assert_eq!(
            ok("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-20160117"),
            "index"
        );
    }

    /// Java's `matches()` then `replaceFirst`, and its replacement syntax.
    #[test]
    fn regex_router_java_semantics() {
        // The reference's verified case: db\.(.*) → $1_x.
        assert_eq!(ok("db\\.(.*)", "$1_x", "xdb.t"), "xdb.t");
        assert_eq!(ok("db\\.(.*)", "$1_x", "db.t"), "t_x");
        // $1x is group 1 then "x"; $12 is group 1 then "2" with fewer than 12 groups.
        assert_eq!(ok("(a)(b)", "$1x$12", "ab"), "axa2");
        assert_eq!(
            ok(
                "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)",
                "$12$1",
                "abcdefghijkl"
            ),
            "la"
        );
        assert_eq!(ok("(?<name>.*)-x", "${name}_y", "t-x"), "t_y");
        assert_eq!(ok("(.*)", "\\$1 \\\\ x", "t"), "$1 \\ x");
        // replaceFirst finds the first match again: "a|ab" matches "ab" whole, but the first
        // match found is "a".
        assert_eq!(ok("a|ab", "X", "ab"), "Xb");
    }

    /// The router remembers its last topic; records of other topics, in any order, still route
    /// by their own name.
    #[test]
    fn regex_router_routes_each_topic_of_a_run() {
        let config = parse(&REGEX_ROUTER, &[(REGEX, "db\\.(.*)"), (REPLACEMENT, "$1")]).unwrap();
        let mut router = regex_router(&config).unwrap();
        for (topic, routed) in [
            ("db.a", "a"),
            ("db.a", "a"),
            ("x", "x"),
            ("x", "x"),
            ("db.b", "b"),
            ("db.a", "a"),
        ] {
            let record = router
                .apply(Record::new(topic, Part::NULL))
                .unwrap()
                .unwrap();
            assert_eq!(&*record.topic, routed);
        }
    }

    #[test]
    fn regex_router_errors() {
        let e = regex_router(&parse(&REGEX_ROUTER, &[(REGEX, "("), (REPLACEMENT, "x")]).unwrap())
            .err()
            .unwrap();
        assert_eq!(e.key, REGEX);
        assert!(
            e.message()
                .starts_with("Invalid value ( for configuration regex: Invalid regex: ")
        );
        let e = parse(&REGEX_ROUTER, &[(REGEX, "a")]).unwrap_err();
        assert_eq!(
            e.message(),
            "Missing required configuration \"replacement\" which has no default value."
        );
        // Java accepts any replacement at configuration and fails the matching records.
        assert_eq!(
            route("(.*)", "$2", "t").unwrap_err().context(),
            "No group 2"
        );
        assert_eq!(ok("x(.*)", "$2", "t"), "t");
        assert_eq!(
            route("(.*)", "a\\", "t").unwrap_err().context(),
            "character to be escaped is missing"
        );
        assert_eq!(
            route("(.*)", "$x", "t").unwrap_err().context(),
            "Illegal group reference"
        );
        assert_eq!(
            route("(.*)", "${nope}", "t").unwrap_err().context(),
            "No group with name {nope}"
        );
    }

    fn timestamp_router_with(pairs: &[(&str, &str)]) -> Result<TimestampRouter, ConfigError> {
        timestamp_router(&parse(&TIMESTAMP_ROUTER, pairs)?)
    }

    /// TimestampRouterTest.defaultConfiguration and the reference's verified custom formats.
    #[test]
    fn timestamp_router_formats() {
        let mut router = timestamp_router_with(&[]).unwrap();
        let mut record = Record::new("test", Part::NULL);
        record.timestamp = Some(1_483_425_001_864);
        let out = router.apply(record.clone()).unwrap().unwrap();
        let mut expected = record.clone();
        expected.topic = "test-20170103".into();
        assert_eq!(out, expected);

        let mut router = timestamp_router_with(&[
            (TOPIC_FORMAT, "${topic}_${timestamp}"),
            (TIMESTAMP_FORMAT, "yyyy-MM-dd'T'HH"),
        ])
        .unwrap();
        record.topic = "orders".into();
        let out = router.apply(record).unwrap().unwrap();
        assert_eq!(&*out.topic, "orders_2017-01-03T06");
    }

    #[test]
    fn timestamp_router_errors() {
        let mut router = timestamp_router_with(&[]).unwrap();
        let mut record = Record::new(
            "test",
            Part::new(
                Some(Arc::new(Schema::primitive(SchemaType::String, false))),
                Value::text("v"),
            ),
        );
        record.headers.push(Header {
            key: "h".into(),
            schema: None,
            value: Value::Int(1),
        });
        let e = router.apply(record).unwrap_err();
        assert_eq!(
            e.context(),
            "Timestamp missing on record: ConnectRecord{topic='test', kafkaPartition=null, \
             key=null, keySchema=null, value=v, valueSchema=Schema{STRING}, timestamp=null, \
             headers=ConnectHeaders(headers=[ConnectHeader(key=h, value=1, schema=null)])}"
        );
        let e = timestamp_router_with(&[(TIMESTAMP_FORMAT, "bad-format")])
            .err()
            .unwrap();
        assert_eq!(
            e.message(),
            "Invalid value bad-format for configuration timestamp.format: Illegal pattern \
             character 'b'"
        );
        let e = timestamp_router_with(&[(TIMESTAMP_FORMAT, "yyyy-ww")])
            .err()
            .unwrap();
        assert_eq!(e.key, TIMESTAMP_FORMAT);
    }
}
