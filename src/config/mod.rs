//! Configuration that users already have: Kafka Connect worker `.properties` files and
//! connector JSON or `.properties`, with Connect's key names, defaults and error messages.

pub(crate) mod connector;
pub(crate) mod def;
pub(crate) mod jaas;
pub(crate) mod properties;
pub(crate) mod provider;
pub(crate) mod secret;
pub(crate) mod topic_creation;
pub(crate) mod worker;

pub use connector::{CommonConfig, ConnectorConfig};
pub(crate) use def::{
    Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Validator,
};
pub(crate) use provider::ConfigProviders;
pub(crate) use secret::{Password, redact_url};
pub use worker::WorkerConfig;

/// Java's `String.split` on a literal separator: no match gives the whole text (`""` → `[""]`),
/// and trailing empty strings are removed (`"a:"` → `["a"]`, `":"` → `[]`).
pub(crate) fn java_split(text: &str, separator: char) -> Vec<&str> {
    if text.is_empty() {
        return vec![""];
    }
    let mut parts: Vec<&str> = text.split(separator).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// A Java regex that must match the whole input, as Java's `Matcher.matches()` does (Connect's
/// topic and table filters, Debezium's filters, Kafka's tools): `^(?:pattern)$`, ignoring case
/// when asked (Debezium's filters are case-insensitive). The caller words the error.
pub(crate) fn whole_regex(
    pattern: &str,
    case_insensitive: bool,
) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(case_insensitive)
        .build()
}

/// For unit tests: a configuration map from `(key, value)` pairs, as a properties file or a
/// connector's JSON gives it.
#[cfg(test)]
pub(crate) fn props(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_split_drops_trailing_empty_strings_only() {
        assert_eq!(java_split("", ':'), [""]);
        assert_eq!(java_split(":", ':'), Vec::<&str>::new());
        assert_eq!(java_split("a::b:", ':'), ["a", "", "b"]);
        assert_eq!(java_split(":a", ':'), ["", "a"]);
    }

    #[test]
    fn whole_regex_matches_whole_names_only() {
        let re = whole_regex("db\\.(user|users)", false).unwrap();
        assert!(re.is_match("db.users") && re.is_match("db.user"));
        assert!(!re.is_match("xdb.users") && !re.is_match("db.users2"));
        assert!(whole_regex("DB\\.T", true).unwrap().is_match("db.t"));
    }
}
