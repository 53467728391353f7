//! `sluice standalone <worker.properties> <connector>...`: like `connect-standalone`, runs the
//! given connectors in this process until SIGINT/SIGTERM, then drains and exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConnectorConfig, WorkerConfig};
use crate::connector::Plugins;
use crate::error::{Error, Result};

/// A connector file, loaded and validated.
pub struct LoadedConnector {
    pub(crate) config: ConnectorConfig,
}

/// Loads and validates the worker file and every connector file before anything starts, so a
/// bad file fails fast with an error naming the file and the key.
pub fn load(
    worker_file: &Path,
    connector_files: &[PathBuf],
    plugins: &Plugins,
) -> Result<(WorkerConfig, Vec<LoadedConnector>)> {
    let worker = super::load_worker(worker_file)?;
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
        // Validated resolved (`${provider:path:key}`), started from the raw configuration.
        let resolved = worker
            .config_providers
            .resolve_connector(&config)
            .map_err(bad)?;
        let common = resolved.common().map_err(bad)?;
        let plugin = plugins.find(&common.class).map_err(bad)?;
        if let Some(error) = crate::pipeline::config_errors(&*plugin, &resolved, &worker)
            .into_iter()
            .next()
        {
            return Err(bad(crate::config::provider::unresolve_error(
                &config.config,
                error,
            )));
        }
        connectors.push(LoadedConnector { config });
    }
    Ok((worker, connectors))
}

/// Runs the loaded connectors until SIGINT/SIGTERM, then drains and returns.
pub async fn run(
    worker: WorkerConfig,
    connectors: Vec<LoadedConnector>,
    plugins: Plugins,
) -> Result<()> {
    let worker = Arc::new(worker);
    tracing::info!(
        message = "starting standalone worker",
        bootstrap_servers = %worker.bootstrap_servers,
        offsets_topic = %worker.offset_storage_topic,
        connectors = connectors.len()
    );
    let offsets = Arc::new(crate::offsets::topic::KafkaOffsetStore::open(&worker).await?);
    let runtime = super::worker::Worker::new(worker.clone(), plugins, offsets);
    for connector in &connectors {
        if let Err(error) = runtime.start_connector(&connector.config).await {
            runtime
                .stop_all(Duration::from_millis(
                    worker.task_shutdown_graceful_timeout_ms,
                ))
                .await;
            return Err(Error::with_source(
                error.kind(),
                format!("failed to start connector {}", connector.config.name),
                error,
            ));
        }
    }
    shutdown_signal().await;
    tracing::info!(message = "shutting down: stopping sources, draining queues, storing offsets");
    // Connect's task.shutdown.graceful.timeout.ms bounds each task; draining a full pipeline
    // needs a little longer than Connect's 5 s default on a loaded machine.
    let deadline = Duration::from_millis(worker.task_shutdown_graceful_timeout_ms.max(30_000));
    runtime.stop_all(deadline).await;
    tracing::info!(message = "stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
