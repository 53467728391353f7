//! `PUT /connector-plugins/{type}/config/validate` and `GET /connector-plugins/{type}/config`:
//! Connect's `ConfigInfos` / `ConfigKeyInfo` shapes from Sluice's config definitions.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::config::WorkerConfig;
use crate::config::connector::{CONNECTOR_CONFIG_DEF, validate_name};
use crate::config::provider::unresolve_error;
use crate::config::{ConfigError, ConfigKey, ConfigProviders, ConfigType, Password};
use crate::connector::ConnectorPlugin;
use crate::convert::{CONVERTERS, Serves};
use crate::transform::Chain;
use crate::transform::registry::{PREDICATES, TRANSFORMATIONS};

/// `GET /connector-plugins?connectorsOnly=false`'s entries after the connectors:
/// transformations, predicates, converters and header converters, each sorted by class.
pub(super) fn record_stage_plugins() -> Vec<Json> {
    let mut list = Vec::new();
    let entry = |class: &str, ty: &str, version: &str| json!({"class": class, "type": ty, "version": version});
    for t in TRANSFORMATIONS {
        list.push(entry(t.class, "transformation", t.version));
    }
    for p in PREDICATES {
        list.push(entry(p.class, "predicate", p.version));
    }
    let version = crate::transform::registry::KAFKA_VERSION;
    for c in CONVERTERS.iter().filter(|c| c.serves == Serves::Both) {
        list.push(entry(c.class, "converter", version));
    }
    for c in CONVERTERS {
        list.push(entry(c.class, "header_converter", version));
    }
    list
}

/// `GET /connector-plugins/{plugin}/config` for a transformation, predicate or converter (its
/// class or alias).
pub(super) fn record_stage_definitions(name: &str) -> Option<Json> {
    let def = crate::transform::registry::transformation(name)
        .map(|t| (t.config_def)())
        .or_else(|| crate::transform::registry::predicate(name).map(|p| (p.config_def)()))
        .or_else(|| crate::convert::plugin(name).map(|c| (c.config_def)()))?;
    Some(Json::Array(
        def.keys()
            .iter()
            .map(|key| {
                let mut definition = definition(key, 0);
                definition["order"] = json!(-1);
                definition
            })
            .collect(),
    ))
}

/// The common keys then the plugin's, without duplicates.
fn keys(plugin: &dyn ConnectorPlugin) -> Vec<&ConfigKey> {
    let mut keys: Vec<&ConfigKey> = CONNECTOR_CONFIG_DEF.keys().iter().collect();
    for key in plugin.config_def().keys() {
        if !keys.iter().any(|k| k.name == key.name) {
            keys.push(key);
        }
    }
    keys
}

fn definition(key: &ConfigKey, order: usize) -> Json {
    json!({
        "name": key.name,
        "type": key.ty.name(),
        "required": key.is_required(),
        "default_value": key.default,
        "importance": key.importance.name(),
        "documentation": key.documentation,
        "group": key.group,
        "width": "NONE",
        "display_name": key.display_name,
        "dependents": [],
        "order": order,
    })
}

/// `GET /connector-plugins/{type}/config`: every key's definition.
pub(super) fn definitions(plugin: &dyn ConnectorPlugin) -> Json {
    Json::Array(
        keys(plugin)
            .iter()
            .enumerate()
            .map(|(i, key)| definition(key, i + 1))
            .collect(),
    )
}

/// Validates `config` against the common and the plugin's keys: every key with its value and
/// errors, and the total error count.
///
/// The values are validated resolved (`${provider:path:key}` references replaced, a reference
/// that cannot be resolved an error on its key) and shown raw.
pub(super) fn validate(
    plugin: &dyn ConnectorPlugin,
    mut config: BTreeMap<String, String>,
    providers: &ConfigProviders,
    worker: &WorkerConfig,
) -> Json {
    config
        .entry("connector.class".into())
        .or_insert_with(|| plugin.class().to_string());
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (resolved, unresolved) = providers.resolve_all(&config);
    let unresolved = unresolved
        .into_iter()
        .map(|(key, why)| ConfigError::rule(key, why));
    let (_, common) = CONNECTOR_CONFIG_DEF.parse_all(&resolved);
    let name_errors = config
        .get("name")
        .and_then(|name| validate_name(name).err());
    let connector_errors = crate::pipeline::config_errors(
        plugin,
        &crate::config::ConnectorConfig {
            name: config.get("name").cloned().unwrap_or_default(),
            config: resolved.clone(),
        },
        worker,
    );
    for error in unresolved
        .chain(common)
        .chain(name_errors)
        .chain(connector_errors)
        .map(|e| unresolve_error(&config, e))
    {
        let messages = errors.entry(error.key.clone()).or_default();
        let message = error.message();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    let keys = keys(plugin);
    let mut groups: Vec<String> = Vec::new();
    for key in &keys {
        if let Some(group) = key.group
            && !groups.iter().any(|g| g == group)
        {
            groups.push(group.to_string());
        }
    }
    let mut configs: Vec<Json> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let value = config.get(key.name).map(|v| {
                if key.ty == ConfigType::Password {
                    Password::HIDDEN.to_string()
                } else {
                    v.clone()
                }
            });
            json!({
                "definition": definition(key, i + 1),
                "value": {
                    "name": key.name,
                    "value": value.or(key.default.map(str::to_string)),
                    "recommended_values": [],
                    "errors": errors.remove(key.name).unwrap_or_default(),
                    "visible": true,
                }
            })
        })
        .collect();
    // The keys of each configured transformation and predicate, in their own groups.
    for chain_key in Chain::keys(&resolved) {
        if !groups.contains(&chain_key.group) {
            groups.push(chain_key.group.clone());
        }
        let mut definition = definition(&chain_key.key, configs.len() + 1);
        definition["name"] = json!(chain_key.name);
        definition["group"] = json!(chain_key.group);
        let value = config
            .get(&chain_key.name)
            .cloned()
            .or(chain_key.key.default.map(str::to_string));
        configs.push(json!({
            "definition": definition,
            "value": {
                "name": chain_key.name,
                "value": value,
                "recommended_values": [],
                "errors": errors.remove(&chain_key.name).unwrap_or_default(),
                "visible": true,
            }
        }));
    }
    // Errors about keys no definition covers (cross-key rules) still count and show.
    for (key, messages) in errors {
        configs.push(json!({
            "definition": null,
            "value": {"name": key, "value": config.get(&key), "recommended_values": [], "errors": messages, "visible": true}
        }));
    }
    let error_count: usize = configs
        .iter()
        .map(|c| c["value"]["errors"].as_array().map_or(0, Vec::len))
        .sum();
    json!({
        "name": plugin.class(),
        "error_count": error_count,
        "groups": groups,
        "configs": configs,
    })
}
