//! `sluice standalone <worker.properties> <connector>...`: like `connect-standalone`, runs the
//! given connectors in this process until SIGINT/SIGTERM, then drains and exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ConnectorConfig, WorkerConfig};
use crate::connector::{ConnectorPlugin, Plugins};
use crate::error::{Error, Result};

/// A connector file, loaded and validated, with its plugin.
pub struct LoadedConnector {
    pub config: ConnectorConfig,
    pub plugin: Arc<dyn ConnectorPlugin>,
}

/// Loads and validates the worker file and every connector file before anything starts, so a
/// bad file fails fast with an error naming the file and the key.
pub fn load(
    worker_file: &Path,
    connector_files: &[PathBuf],
    plugins: &Plugins,
) -> Result<(WorkerConfig, Vec<LoadedConnector>)> {
    let worker = WorkerConfig::from_file(worker_file)?;
    let mut connectors = Vec::with_capacity(connector_files.len());
    for path in connector_files {
        let config = ConnectorConfig::from_file(path)?;
        let bad = |error: crate::config::ConfigError| {
            Error::config(format!(
                "{}: connector {}: {error}",
                path.display(),
                config.name
            ))
        };
        if connectors
            .iter()
            .any(|c: &LoadedConnector| c.config.name == config.name)
        {
            return Err(Error::config(format!(
                "{}: connector {} is given twice",
                path.display(),
                config.name
            )));
        }
        let common = config.common().map_err(bad)?;
        let plugin = plugins.find(&common.class).map_err(bad)?;
        if let Some(error) = plugin.validate(&config).into_iter().next() {
            return Err(bad(error));
        }
        connectors.push(LoadedConnector { config, plugin });
    }
    Ok((worker, connectors))
}
