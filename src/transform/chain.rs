//! The transformation chain of one connector, built from Connect's keys
//! (`ConnectorConfig.transformationStages`): `transforms=a,b`, `transforms.a.type`,
//! `transforms.a.<key>`, `transforms.a.predicate`, `transforms.a.negate`, `predicates=p`,
//! `predicates.p.type`, `predicates.p.<key>`.

use std::collections::BTreeMap;

use super::registry::{self, PredicatePlugin, TransformPlugin};
use super::{Predicate, Transformation};
use crate::config::def::with_prefix;
use crate::config::{ConfigDef, ConfigError, ConfigKey, ConfigType};
use crate::error::Error;
use crate::model::Schema;
use crate::model::record::Record;

/// One configured stage: a transformation, applied when its predicate (if any) agrees.
struct Stage {
    class: &'static str,
    transform: Box<dyn Transformation>,
    predicate: Option<(Box<dyn Predicate>, bool)>,
}

/// A record a transformation failed on: the transformation's class (Connect's
/// `__connect.errors.class.name`) and why.
#[derive(Debug)]
pub struct TransformFailure {
    pub(crate) class: &'static str,
    pub(crate) error: Error,
}

/// The transformations of a connector, in order.
#[derive(Default)]
pub struct Chain {
    stages: Vec<Stage>,
}

/// A key of a transformation or predicate, with the connector-level name it is validated under
/// and its validate-endpoint group (`Transforms: a`, `Predicates: p`).
pub(crate) struct ChainKey {
    pub(crate) name: String,
    pub(crate) group: String,
    pub(crate) key: ConfigKey,
}

/// The keys every transformation has besides its own (Connect adds them to each).
fn stage_keys() -> [ConfigKey; 3] {
    [
        ConfigKey::required("type", ConfigType::Class).doc("Class for the transformation."),
        ConfigKey::optional("predicate", ConfigType::String).doc(
            "The alias of a predicate used to determine whether to apply this transformation.",
        ),
        ConfigKey::with_default("negate", ConfigType::Boolean, "false")
            .doc("Whether the configured predicate should be negated."),
    ]
}

/// `transforms` or `predicates` as a list of aliases; a repeated alias is an error.
fn aliases(config: &BTreeMap<String, String>, key: &str) -> Result<Vec<String>, ConfigError> {
    let raw = config.get(key).map(|s| s.trim()).unwrap_or("");
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).collect();
    for (i, alias) in list.iter().enumerate() {
        if list[..i].contains(alias) {
            return Err(ConfigError::invalid(
                key,
                format!("[{}]", list.join(", ")),
                "Duplicate alias provided.",
            ));
        }
    }
    Ok(list)
}

/// The keys under `prefix`, minus the framework's own, parsed with `def`; errors name the
/// connector-level key.
fn plugin_config(
    config: &BTreeMap<String, String>,
    prefix: &str,
    def: &ConfigDef,
    framework: &[&str],
) -> (crate::config::Config, Vec<ConfigError>) {
    let mut own = with_prefix(config, prefix);
    own.retain(|k, _| !framework.contains(&k.as_str()));
    let (parsed, errors) = def.parse_all(&own);
    let errors = errors
        .into_iter()
        .map(|mut e| {
            e.key = format!("{prefix}{}", e.key);
            e
        })
        .collect();
    (parsed, errors)
}

/// The plugin `<prefix>type` names, looked up by `find`; the config error Connect gives when
/// the key is missing (`Not a Transformation`) or names no known class.
fn plugin_of<P: ?Sized + 'static>(
    config: &BTreeMap<String, String>,
    prefix: &str,
    what: &str,
    find: fn(&str) -> Option<&'static P>,
) -> Result<&'static P, ConfigError> {
    let key = format!("{prefix}type");
    let Some(class) = config.get(&key).map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Err(ConfigError::invalid(key, "null", format!("Not a {what}")));
    };
    find(class).ok_or_else(|| {
        ConfigError::invalid(key, class, format!("Class {class} could not be found."))
    })
}

impl Chain {
    /// Whether no transformation is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The top-level fields of a struct value of `schema` the chain reads: those its first
    /// transformation reads ([`Transformation::value_fields_read`]) when it runs on every record
    /// (no predicate); `None` for all of them.
    pub(crate) fn value_fields_read(&self, schema: &Schema) -> Option<Vec<bool>> {
        match self.stages.first() {
            Some(Stage {
                transform,
                predicate: None,
                ..
            }) => transform.value_fields_read(schema),
            _ => None,
        }
    }

    /// Builds the chain of a (resolved) connector config; the first error names its key.
    pub fn from_config(config: &BTreeMap<String, String>) -> Result<Chain, ConfigError> {
        let (chain, mut errors) = Chain::build(config);
        match errors.is_empty() {
            true => Ok(chain),
            false => Err(errors.swap_remove(0)),
        }
    }

    /// Every error of the chain's keys, for the validate endpoint.
    pub(crate) fn validate(config: &BTreeMap<String, String>) -> Vec<ConfigError> {
        Chain::build(config).1
    }

    fn build(config: &BTreeMap<String, String>) -> (Chain, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let mut chain = Chain::default();
        let transforms = aliases(config, "transforms").unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let predicate_aliases = aliases(config, "predicates").unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let mut predicates: BTreeMap<&str, (&'static PredicatePlugin, crate::config::Config)> =
            BTreeMap::new();
        for alias in &predicate_aliases {
            let prefix = format!("predicates.{alias}.");
            let plugin = match plugin_of(config, &prefix, "Predicate", registry::predicate) {
                Ok(plugin) => plugin,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let (parsed, plugin_errors) =
                plugin_config(config, &prefix, (plugin.config_def)(), &["type"]);
            if plugin_errors.is_empty() {
                predicates.insert(alias, (plugin, parsed));
            }
            errors.extend(plugin_errors);
        }
        for alias in &transforms {
            let prefix = format!("transforms.{alias}.");
            let plugin: &'static TransformPlugin =
                match plugin_of(config, &prefix, "Transformation", registry::transformation) {
                    Ok(plugin) => plugin,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
            let predicate_key = format!("{prefix}predicate");
            let negate_key = format!("{prefix}negate");
            let negate = match config.get(&negate_key) {
                None => false,
                Some(v) => match crate::config::def::parse_bool(&negate_key, v) {
                    Ok(negate) => negate,
                    Err(error) => {
                        errors.push(error);
                        false
                    }
                },
            };
            let predicate = match config
                .get(&predicate_key)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
            {
                None if config.contains_key(&negate_key) => {
                    errors.push(ConfigError::rule(
                        &negate_key,
                        format!(
                            "Config '{negate_key}' was provided but there is no config \
                             '{predicate_key}' defining a predicate to be negated."
                        ),
                    ));
                    None
                }
                None => None,
                Some(name) => match predicates.get(name) {
                    Some((plugin, parsed)) => match (plugin.build)(parsed) {
                        Ok(predicate) => Some((predicate, negate)),
                        Err(mut e) => {
                            e.key = format!("predicates.{name}.{}", e.key);
                            errors.push(e);
                            None
                        }
                    },
                    None if predicate_aliases.iter().any(|a| a == name) => None,
                    None => {
                        errors.push(ConfigError::invalid(
                            &predicate_key,
                            name,
                            format!(
                                "The predicate alias {name} is not listed in 'predicates' \
                                 (predicates.{name}.type is not defined)"
                            ),
                        ));
                        None
                    }
                },
            };
            let (parsed, plugin_errors) = plugin_config(
                config,
                &prefix,
                (plugin.config_def)(),
                &["type", "predicate", "negate"],
            );
            if !plugin_errors.is_empty() {
                errors.extend(plugin_errors);
                continue;
            }
            match (plugin.build)(&parsed) {
                Ok(transform) => chain.stages.push(Stage {
                    class: plugin.class,
                    transform,
                    predicate,
                }),
                Err(mut e) => {
                    e.key = format!("{prefix}{}", e.key);
                    errors.push(e);
                }
            }
        }
        (chain, errors)
    }

    /// The transformation and predicate keys `config` configures, with their definitions, for
    /// the validate endpoint.
    pub(crate) fn keys(config: &BTreeMap<String, String>) -> Vec<ChainKey> {
        let mut keys = Vec::new();
        for alias in aliases(config, "transforms").unwrap_or_default() {
            let prefix = format!("transforms.{alias}.");
            let group = format!("Transforms: {alias}");
            let own = plugin_of(config, &prefix, "Transformation", registry::transformation)
                .ok()
                .map(|p| (p.config_def)().keys().to_vec())
                .unwrap_or_default();
            for key in stage_keys().into_iter().chain(own) {
                keys.push(ChainKey {
                    name: format!("{prefix}{}", key.name),
                    group: group.clone(),
                    key,
                });
            }
        }
        for alias in aliases(config, "predicates").unwrap_or_default() {
            let prefix = format!("predicates.{alias}.");
            let group = format!("Predicates: {alias}");
            let own = plugin_of(config, &prefix, "Predicate", registry::predicate)
                .ok()
                .map(|p| (p.config_def)().keys().to_vec())
                .unwrap_or_default();
            let [type_key, ..] = stage_keys();
            for key in std::iter::once(type_key).chain(own) {
                keys.push(ChainKey {
                    name: format!("{prefix}{}", key.name),
                    group: group.clone(),
                    key,
                });
            }
        }
        keys
    }

    /// Runs `record` through every stage whose predicate agrees. `Ok(None)`: a stage dropped it.
    pub fn apply(&mut self, mut record: Record) -> Result<Option<Record>, TransformFailure> {
        for stage in &mut self.stages {
            if let Some((predicate, negate)) = &stage.predicate
                && predicate.test(&record) == *negate
            {
                continue;
            }
            match stage.transform.apply(record) {
                Ok(Some(next)) => record = next,
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(TransformFailure {
                        class: stage.class,
                        error,
                    });
                }
            }
        }
        Ok(Some(record))
    }
}
