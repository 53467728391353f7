//! Kafka's predicates (`org.apache.kafka.connect.transforms.predicates.*`): `TopicNameMatches`
//! (`pattern`, a regex matched against the whole topic name), `HasHeaderKey` (`name`) and
//! `RecordIsTombstone` (the value is null).

use std::sync::LazyLock;

use regex::Regex;

use super::Predicate;
use crate::config::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Validator};
use crate::model::record::Record;

static TOPIC_NAME_MATCHES: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::required("pattern", ConfigType::String)
            .validator(Validator::NonEmpty)
            .doc("A Java regular expression for matching against the name of a record's topic."),
    )
});

static HAS_HEADER_KEY: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::required("name", ConfigType::String)
            .validator(Validator::NonEmpty)
            .doc("The header name."),
    )
});

pub(crate) fn topic_name_matches_def() -> &'static ConfigDef {
    &TOPIC_NAME_MATCHES
}

pub(crate) fn has_header_key_def() -> &'static ConfigDef {
    &HAS_HEADER_KEY
}

/// A Java regex as a Rust one that must match the whole input (`Matcher.matches`).
pub(crate) fn whole_match(key: &str, pattern: &str) -> Result<Regex, ConfigError> {
    crate::config::whole_regex(pattern, false)
        .map_err(|e| ConfigError::invalid(key, pattern, format!("Invalid regex: {e}")))
}

/// Matches records whose topic name matches `pattern` in full.
pub(crate) struct TopicNameMatches {
    pattern: Regex,
}

impl TopicNameMatches {
    pub(crate) fn new(config: &Config) -> Result<Self, ConfigError> {
        let pattern = config.string("pattern").unwrap_or_default();
        Ok(TopicNameMatches {
            pattern: whole_match("pattern", pattern)?,
        })
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &Record) -> bool {
        self.pattern.is_match(&record.topic)
    }
}

/// Matches records with at least one header called `name`.
pub(crate) struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    pub(crate) fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(HasHeaderKey {
            name: config.string("name").unwrap_or_default().to_string(),
        })
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &Record) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

/// Matches tombstones (records whose value is null).
pub(crate) struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &Record) -> bool {
        record.is_tombstone()
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::Value;
    use crate::model::record::{Header, Part};

    fn config(def: &ConfigDef, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        crate::transform::util::parse_pairs(def, pairs)
    }

    fn record(topic: &str, value: Value) -> Record {
        Record::new(topic, Part::new(None, value))
    }

    #[test]
    fn topic_name_matches_the_whole_name() {
        let p = TopicNameMatches::new(
            &config(&TOPIC_NAME_MATCHES, &[("pattern", "my-prefix-.*")]).unwrap(),
        )
        .unwrap();
        assert!(p.test(&record("my-prefix-foo", Value::Null)));
        assert!(!p.test(&record("x-my-prefix-foo", Value::Null)));
        let p = TopicNameMatches::new(&config(&TOPIC_NAME_MATCHES, &[("pattern", "foo")]).unwrap())
            .unwrap();
        assert!(!p.test(&record("foobar", Value::Null)));
    }

    #[test]
    fn topic_name_matches_needs_a_valid_pattern() {
        let missing = config(&TOPIC_NAME_MATCHES, &[]).unwrap_err();
        assert_eq!(
            missing.message(),
            "Missing required configuration \"pattern\" which has no default value."
        );
        let bad = TopicNameMatches::new(&config(&TOPIC_NAME_MATCHES, &[("pattern", "[")]).unwrap());
        assert!(bad.err().unwrap().message().contains("Invalid regex"));
    }

    #[test]
    fn has_header_key_and_tombstone() {
        let p = HasHeaderKey::new(&config(&HAS_HEADER_KEY, &[("name", "h")]).unwrap()).unwrap();
        let mut r = record("t", Value::Int(1));
        assert!(!p.test(&r));
        r.headers.push(Header {
            key: "h".into(),
            schema: None,
            value: Value::Null,
        });
        assert!(p.test(&r));
        assert!(!RecordIsTombstone.test(&r));
        assert!(RecordIsTombstone.test(&record("t", Value::Null)));
    }
}
