//! The worker runtime: connector and task lifecycle, and the standalone runner.

pub(crate) mod herder;
pub(crate) mod membership;
pub mod standalone;
pub(crate) mod startup;
pub(crate) mod state;
pub(crate) mod store;
pub mod worker;

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::WorkerConfig;
use crate::convert::Converters;
use crate::error::{Error, Result};

/// Reads a worker's `.properties` file and checks its converters (`key.converter`,
/// `value.converter`, `header.converter` and their `<role>.converter.*` keys) by each
/// converter's own definition, as Connect does when a worker starts. A bad file fails here,
/// before any runtime or connection exists, with an error naming the file and the key.
pub fn load_worker(path: &Path) -> Result<WorkerConfig> {
    let worker = WorkerConfig::from_file(path)?;
    Converters::resolve(&BTreeMap::new(), &worker)
        .map_err(|error| Error::config(format!("{}: {error}", path.display())))?;
    Ok(worker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<WorkerConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.properties");
        std::fs::write(&path, text).unwrap();
        load_worker(&path)
    }

    /// The worker's converter keys are checked by the converter the worker names, as Connect
    /// checks them at start: JsonConverter's keys for JsonConverter, none for StringConverter.
    #[test]
    fn worker_converters_are_checked_by_their_own_definitions() {
        for (text, message) in [
            (
                "value.converter.decimal.format=HEX",
                "w.properties: Invalid value HEX for configuration value.converter.decimal.format",
            ),
            (
                "key.converter.schemas.enable=maybe",
                "Invalid value maybe for configuration key.converter.schemas.enable",
            ),
            (
                "key.converter.replace.null.with.default=nope",
                "Invalid value nope for configuration key.converter.replace.null.with.default",
            ),
            (
                "value.converter=com.example.NoSuchConverter",
                "Invalid value com.example.NoSuchConverter for configuration value.converter: \
                 Class com.example.NoSuchConverter could not be found.",
            ),
        ] {
            let error = load(text).err().unwrap().to_string();
            assert!(error.contains(message), "{text}: {error}");
        }

        // StringConverter has no `schemas.enable`: Connect ignores the key, and so does Sluice.
        let worker = load(
            "key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             key.converter.schemas.enable=maybe\nvalue.converter.decimal.format=NUMERIC\n",
        )
        .unwrap();
        assert_eq!(worker.key_converter.config["schemas.enable"], "maybe");
        assert_eq!(worker.value_converter.config["decimal.format"], "NUMERIC");
    }
}
