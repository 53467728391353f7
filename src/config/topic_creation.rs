//! How a source connector's topics are created (Kafka Connect's KIP-158: `TopicCreationConfig`,
//! `TopicCreationGroup`). When the worker allows it (`topic.creation.enable`, on by default) and
//! the connector sets any `topic.creation.*` key, each topic the connector writes to is created
//! before its first record with the settings of the first group that matches its name:
//!
//! - the groups named in `topic.creation.groups`, in that order, each matching the topics its
//!   `include` regexes match and its `exclude` regexes do not (exclusion wins), with its own
//!   `partitions` and `replication.factor` (the default group's when unset);
//! - else the `default` group, which matches every topic (its `include` and `exclude` are
//!   ignored, as Connect ignores them) and whose `partitions` and `replication.factor` are then
//!   required.
//!
//! Any other `topic.creation.<group>.<key>` is a topic config of the group's topics
//! (`cleanup.policy`, `compression.type`, …). -1 stands for the broker's default.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::def::{Config, ConfigDef, ConfigError, ConfigKey, ConfigType, Validator, with_prefix};

/// Every topic creation key starts with this.
const PREFIX: &str = "topic.creation.";
const GROUPS: &str = "topic.creation.groups";
const DEFAULT_GROUP: &str = "default";
const INCLUDE: &str = "topic.creation.default.include";
const EXCLUDE: &str = "topic.creation.default.exclude";
const REPLICATION_FACTOR: &str = "topic.creation.default.replication.factor";
const PARTITIONS: &str = "topic.creation.default.partitions";
/// The default group's keys without their prefix: the keys every group has.
const GROUP_KEYS: [&str; 4] = ["include", "exclude", "replication.factor", "partitions"];

/// The key every source connector's definition lists (Kafka's `SourceConnectorConfig`): the
/// group keys depend on the groups named, and are checked when the connector's config is.
pub(crate) static TOPIC_CREATION_GROUPS_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    ConfigDef::new().define(
        ConfigKey::with_default(GROUPS, ConfigType::List, "")
            .group("Topic Creation")
            .doc(
                "Groups of configurations for topics created by source connectors, besides the \
                 default group.",
            ),
    )
});

/// A group's keys, as Connect defines them for the default group; a named group's are checked
/// by the same definitions.
static GROUP_DEF: LazyLock<ConfigDef> = LazyLock::new(|| {
    use ConfigType::*;
    let group = "Topic Creation";
    ConfigDef::new()
        .define(ConfigKey::with_default(INCLUDE, List, ".*").group(group))
        .define(ConfigKey::with_default(EXCLUDE, List, "").group(group))
        .define(
            ConfigKey::optional(REPLICATION_FACTOR, Short)
                .validator(Validator::PositiveOr(
                    -1,
                    "Replication factor must be positive and not larger than the number of \
                     brokers in the Kafka cluster, or -1 to use the broker's default",
                ))
                .group(group),
        )
        .define(
            ConfigKey::optional(PARTITIONS, Int)
                .validator(Validator::PositiveOr(
                    -1,
                    "Number of partitions must be positive, or -1 to use the broker's default",
                ))
                .group(group),
        )
});

/// The settings a topic is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewTopicSettings {
    /// -1: the broker's default.
    pub(crate) partitions: i32,
    /// -1: the broker's default.
    pub(crate) replication_factor: i16,
    /// Topic configs (`cleanup.policy`, …).
    pub(crate) configs: Vec<(String, String)>,
}

/// One group of `topic.creation.groups`.
#[derive(Debug, Clone)]
struct Group {
    include: Vec<regex::Regex>,
    exclude: Vec<regex::Regex>,
    settings: NewTopicSettings,
}

impl Group {
    fn matches(&self, topic: &str) -> bool {
        !self.exclude.iter().any(|r| r.is_match(topic))
            && self.include.iter().any(|r| r.is_match(topic))
    }
}

/// A source connector's topic creation, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct TopicCreation {
    /// The named groups in `topic.creation.groups` order.
    groups: Vec<Group>,
    /// The default group's settings, for every topic no named group takes.
    default: NewTopicSettings,
}

impl TopicCreation {
    /// The connector's topic creation: `None` when the worker does not allow it
    /// (`topic.creation.enable=false`) or the connector sets no `topic.creation.*` key (its
    /// topics are then left to the broker, as in Connect). Every error found, each naming its
    /// key.
    pub(crate) fn parse_all(
        config: &BTreeMap<String, String>,
        enabled: bool,
    ) -> (Option<TopicCreation>, Vec<ConfigError>) {
        let (parsed, mut errors) = TOPIC_CREATION_GROUPS_DEF.parse_all(config);
        let names: Vec<&str> = parsed.list(GROUPS).iter().map(|n| n.trim()).collect();
        if names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n))
        {
            errors.push(ConfigError::invalid(
                GROUPS,
                config.get(GROUPS).cloned().unwrap_or_default(),
                "Duplicate alias provided.",
            ));
        }
        if !enabled || !config.keys().any(|key| key.starts_with(PREFIX)) {
            return (None, errors);
        }
        // The default group's include and exclude are not read (`group`): it takes every topic
        // no named group takes.
        let (parsed, default_errors) = GROUP_DEF.parse_all(config);
        errors.extend(default_errors);
        for key in [REPLICATION_FACTOR, PARTITIONS] {
            if !config.contains_key(key) {
                errors.push(ConfigError::missing(key));
            }
        }
        let default = group(DEFAULT_GROUP, &parsed, None, config, &mut errors).settings;
        let mut groups: Vec<Group> = Vec::new();
        for name in names {
            if name.is_empty() || name == DEFAULT_GROUP {
                continue;
            }
            // The named group's keys, checked by the default group's definitions.
            let own = with_prefix(config, &format!("{PREFIX}{name}."));
            let renamed: BTreeMap<String, String> = GROUP_KEYS
                .iter()
                .filter_map(|key| {
                    own.get(*key)
                        .map(|v| (format!("{PREFIX}{DEFAULT_GROUP}.{key}"), v.clone()))
                })
                .collect();
            let (named, named_errors) = GROUP_DEF.parse_all(&renamed);
            errors.extend(named_errors.into_iter().map(|mut error| {
                error.key = error.key.replacen(
                    &format!("{PREFIX}{DEFAULT_GROUP}."),
                    &format!("{PREFIX}{name}."),
                    1,
                );
                error
            }));
            groups.push(group(name, &named, Some(&default), config, &mut errors));
        }
        if errors.is_empty() {
            (Some(TopicCreation { groups, default }), errors)
        } else {
            (None, errors)
        }
    }

    /// The settings `topic` is created with: those of the first named group that matches it,
    /// else the default group's.
    pub(crate) fn settings_for(&self, topic: &str) -> &NewTopicSettings {
        self.groups
            .iter()
            .find(|group| group.matches(topic))
            .map_or(&self.default, |group| &group.settings)
    }
}

/// A group from its keys as `parsed` holds them under the default group's names. `default`:
/// the default group's settings, for a named group (its unset partitions and replication factor
/// are the default group's, and its include list is empty unless set). The default group's own
/// regexes are not read: it takes every topic no named group takes.
fn group(
    name: &str,
    parsed: &Config,
    default: Option<&NewTopicSettings>,
    config: &BTreeMap<String, String>,
    errors: &mut Vec<ConfigError>,
) -> Group {
    let prefix = format!("{PREFIX}{name}.");
    let set = |key: &str| config.contains_key(&format!("{prefix}{key}"));
    let mut regexes = |key: &str| -> Vec<regex::Regex> {
        if !set(key) {
            return Vec::new();
        }
        parsed
            .list(&format!("{PREFIX}{DEFAULT_GROUP}.{key}"))
            .iter()
            .filter(|pattern| !pattern.is_empty())
            .filter_map(|pattern| match super::whole_regex(pattern, false) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    errors.push(ConfigError::invalid(
                        format!("{prefix}{key}"),
                        pattern.clone(),
                        format!("Syntax error in regular expression: {error}"),
                    ));
                    None
                }
            })
            .collect()
    };
    let (include, exclude) = match default {
        Some(_) => (regexes("include"), regexes("exclude")),
        None => (Vec::new(), Vec::new()),
    };
    let partitions = parsed
        .long(PARTITIONS)
        .map(|n| n as i32)
        .or(default.map(|d| d.partitions))
        .unwrap_or(-1);
    let replication_factor = parsed
        .long(REPLICATION_FACTOR)
        .map(|n| n as i16)
        .or(default.map(|d| d.replication_factor))
        .unwrap_or(-1);
    let configs = with_prefix(config, &prefix)
        .into_iter()
        .filter(|(key, _)| !GROUP_KEYS.contains(&key.as_str()))
        .collect();
    Group {
        include,
        exclude,
        settings: NewTopicSettings {
            partitions,
            replication_factor,
            configs,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::props;

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<TopicCreation>, Vec<String>> {
        match TopicCreation::parse_all(&props(pairs), true) {
            (creation, errors) if errors.is_empty() => Ok(creation),
            (_, errors) => Err(errors.iter().map(ToString::to_string).collect()),
        }
    }

    /// `SourceConnectorConfigTest.noTopicCreation`: no key, no topic creation; nor when the
    /// worker disables it.
    #[test]
    fn unused_without_keys_or_when_the_worker_disables_it() {
        assert!(parse(&[]).unwrap().is_none());
        let config = props(&[(PARTITIONS, "3"), (REPLICATION_FACTOR, "1"), ("name", "x")]);
        let (creation, errors) = TopicCreation::parse_all(&config, false);
        assert!(creation.is_none() && errors.is_empty());
        // Disabled, the groups' keys are not read at all, as in Connect.
        let config = props(&[(PARTITIONS, "0"), (REPLICATION_FACTOR, "x")]);
        let (creation, errors) = TopicCreation::parse_all(&config, false);
        assert!(creation.is_none() && errors.is_empty(), "{errors:?}");
    }

    /// `topic.creation.groups` names each group once (Connect's "Duplicate alias provided.");
    /// listing `default` is allowed.
    #[test]
    fn group_names_are_unique() {
        assert_eq!(
            parse(&[
                (GROUPS, "a,b,a"),
                (PARTITIONS, "1"),
                (REPLICATION_FACTOR, "1")
            ])
            .unwrap_err(),
            [
                "Invalid value a,b,a for configuration topic.creation.groups: Duplicate alias \
              provided."
            ]
        );
        assert!(
            parse(&[
                (GROUPS, "default,a"),
                (PARTITIONS, "1"),
                (REPLICATION_FACTOR, "1")
            ])
            .unwrap()
            .is_some()
        );
    }

    /// The default group's `include` and `exclude` are ignored, as Connect removes them: it
    /// takes every topic no named group takes, and a bad regex there is no error.
    #[test]
    fn the_default_groups_regexes_are_ignored() {
        let creation = parse(&[
            (PARTITIONS, "4"),
            (REPLICATION_FACTOR, "1"),
            (INCLUDE, "only_this"),
            (EXCLUDE, "(unclosed"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(creation.settings_for("any.topic").partitions, 4);
        assert!(creation.settings_for("any.topic").configs.is_empty());
    }

    /// `shouldNotAllowZeroPartitionsOrReplicationFactor`,
    /// `shouldNotAllowPartitionsOrReplicationFactorLessThanNegativeOne`,
    /// `shouldAllowNegativeOneAndPositiveForReplicationFactor`: Connect's messages.
    #[test]
    fn partitions_and_replication_factor_are_positive_or_minus_one() {
        for bad in ["0", "-2", "-99"] {
            assert_eq!(
                parse(&[(PARTITIONS, bad), (REPLICATION_FACTOR, "-1")]).unwrap_err(),
                [format!(
                    "Invalid value {bad} for configuration topic.creation.default.partitions: \
                     Number of partitions must be positive, or -1 to use the broker's default"
                )]
            );
            assert_eq!(
                parse(&[(PARTITIONS, "-1"), (REPLICATION_FACTOR, bad)]).unwrap_err(),
                [format!(
                    "Invalid value {bad} for configuration \
                     topic.creation.default.replication.factor: Replication factor must be \
                     positive and not larger than the number of brokers in the Kafka cluster, \
                     or -1 to use the broker's default"
                )]
            );
        }
        for good in ["-1", "1", "100"] {
            let creation = parse(&[(PARTITIONS, good), (REPLICATION_FACTOR, good)])
                .unwrap()
                .unwrap();
            let n: i32 = good.parse().unwrap();
            assert_eq!(creation.settings_for("t").partitions, n);
            assert_eq!(i32::from(creation.settings_for("t").replication_factor), n);
        }
    }

    /// The default group's partitions and replication factor have no default: any
    /// `topic.creation.*` key requires both.
    #[test]
    fn the_default_group_needs_both_counts() {
        assert_eq!(
            parse(&[(PARTITIONS, "1")]).unwrap_err(),
            [
                "Missing required configuration \"topic.creation.default.replication.factor\" \
                 which has no default value."
            ]
        );
        assert_eq!(
            parse(&[("topic.creation.default.cleanup.policy", "compact")]).unwrap_err(),
            [
                "Missing required configuration \"topic.creation.default.replication.factor\" \
                 which has no default value.",
                "Missing required configuration \"topic.creation.default.partitions\" which has \
                 no default value."
            ]
        );
    }

    /// `shouldAllowSettingTopicProperties`: other keys of a group are its topics' configs.
    #[test]
    fn other_keys_are_topic_configs() {
        let creation = parse(&[
            (PARTITIONS, "1"),
            (REPLICATION_FACTOR, "-1"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.default.compression.type", "lz4"),
            ("topic.creation.default.retention.ms", "2592000000"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            creation.settings_for("anything"),
            &NewTopicSettings {
                partitions: 1,
                replication_factor: -1,
                configs: vec![
                    ("cleanup.policy".into(), "compact".into()),
                    ("compression.type".into(), "lz4".into()),
                    ("retention.ms".into(), "2592000000".into()),
                ],
            }
        );
    }

    /// Named groups, in `topic.creation.groups` order: the first that includes and does not
    /// exclude a topic gives its settings, its unset counts the default group's, its topic
    /// configs its own; other topics get the default group's.
    #[test]
    fn the_first_matching_named_group_wins() {
        let creation = parse(&[
            (GROUPS, "compacted, orders,default"),
            (PARTITIONS, "3"),
            (REPLICATION_FACTOR, "1"),
            ("topic.creation.default.compression.type", "lz4"),
            (
                "topic.creation.compacted.include",
                "db\\.config.*, db\\.users",
            ),
            ("topic.creation.compacted.exclude", "db\\.config_tmp"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.orders.include", "db\\..*"),
            ("topic.creation.orders.partitions", "12"),
        ])
        .unwrap()
        .unwrap();
        let compacted = creation.settings_for("db.config_a");
        assert_eq!((compacted.partitions, compacted.replication_factor), (3, 1));
        assert_eq!(
            compacted.configs,
            [("cleanup.policy".to_string(), "compact".to_string())]
        );
        assert_eq!(creation.settings_for("db.users").configs.len(), 1);
        // Excluded from the first group: the second one's.
        let orders = creation.settings_for("db.config_tmp");
        assert_eq!((orders.partitions, orders.replication_factor), (12, 1));
        assert!(orders.configs.is_empty());
        // No named group: the default's.
        let other = creation.settings_for("other.t");
        assert_eq!((other.partitions, other.replication_factor), (3, 1));
        assert_eq!(
            other.configs,
            [("compression.type".to_string(), "lz4".to_string())]
        );
        // A named group without include matches nothing.
        let creation = parse(&[
            (GROUPS, "g"),
            (PARTITIONS, "3"),
            (REPLICATION_FACTOR, "1"),
            ("topic.creation.g.partitions", "5"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(creation.settings_for("t").partitions, 3);
    }

    /// A named group's keys are checked as the default group's and named by their own key.
    #[test]
    fn a_named_groups_errors_name_its_keys() {
        let errors = parse(&[
            (GROUPS, "g"),
            (PARTITIONS, "3"),
            (REPLICATION_FACTOR, "1"),
            ("topic.creation.g.include", "(unclosed"),
            ("topic.creation.g.partitions", "0"),
            ("topic.creation.g.replication.factor", "x"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(
            errors[..2],
            [
                "Invalid value x for configuration topic.creation.g.replication.factor: Not a \
                 number of type SHORT",
                "Invalid value 0 for configuration topic.creation.g.partitions: Number of \
                 partitions must be positive, or -1 to use the broker's default",
            ]
        );
        assert!(
            errors[2].starts_with(
                "Invalid value (unclosed for configuration topic.creation.g.include: Syntax \
                 error in regular expression: "
            ),
            "{}",
            errors[2]
        );
    }
}
