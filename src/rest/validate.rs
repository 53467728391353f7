//! `PUT /connector-plugins/{type}/config/validate` and `GET /connector-plugins/{type}/config`:
//! Connect's `ConfigInfos` / `ConfigKeyInfo` shapes from Sluice's config definitions.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::config::connector::{CONNECTOR_CONFIG_DEF, validate_name};
use crate::config::provider::unresolve_error;
use crate::config::{ConfigError, ConfigKey, ConfigProviders, ConfigType, Password};
use crate::connector::ConnectorPlugin;

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
    let plugin_errors = plugin.validate(&crate::config::ConnectorConfig {
        name: config.get("name").cloned().unwrap_or_default(),
        config: resolved.clone(),
    });
    for error in unresolved
        .chain(common)
        .chain(name_errors)
        .chain(plugin_errors)
        .map(|e| unresolve_error(&config, e))
    {
        let messages = errors.entry(error.key.clone()).or_default();
        let message = error.message();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    let keys = keys(plugin);
    let mut groups: Vec<&str> = Vec::new();
    for key in &keys {
        if let Some(group) = key.group
            && !groups.contains(&group)
        {
            groups.push(group);
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
