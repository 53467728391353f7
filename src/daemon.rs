//! `sluice worker <worker.properties>`: the long-running worker, like `connect-distributed`.
//! Serves Connect's REST API (and `/metrics`) at once, then opens the offsets, config and status
//! topics, joins its cluster's group (`group.id`), restores every stored connector in its last
//! state, runs its share of the tasks, and runs until SIGINT/SIGTERM, when it drains every task
//! (rows produced, offsets stored, sink batches committed), leaves the group and exits.
//!
//! Workers with the same `group.id` and internal topics form a cluster: they share the tasks
//! through Kafka's group membership (see [`crate::runtime::membership`]); any of them answers any REST
//! call from the shared topics.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::config::WorkerConfig;
use crate::connector::Plugins;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::log::LogClients;
use crate::offsets::topic::KafkaOffsetStore;
use crate::rest::server::RestServer;
use crate::rest::{RestState, router};
use crate::runtime::herder::Herder;
use crate::runtime::membership::Membership;
use crate::runtime::startup::{Startup, stage};
use crate::runtime::store::{ConfigStore, StatusStore};
use crate::runtime::worker::Worker;

/// The worker id Connect reports in statuses: the advertised REST host and port, with the port
/// the REST listener actually bound (for `listeners=…:0`).
fn worker_id_at(config: &WorkerConfig, bound_port: Option<u16>) -> String {
    let listener = config.rest_listener();
    let host =
        config
            .rest_advertised_host_name
            .clone()
            .unwrap_or_else(|| match listener.host.as_str() {
                "" | "0.0.0.0" | "::" => std::env::var("HOSTNAME")
                    .ok()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "localhost".into()),
                host => host.to_string(),
            });
    let port = config
        .rest_advertised_port
        .unwrap_or(match (listener.port, bound_port) {
            (0, Some(bound)) => bound,
            (port, _) => port,
        });
    format!("{host}:{port}")
}

/// A running worker: its REST address and a handle to stop it.
pub struct Daemon {
    /// The first REST listener's address.
    pub addr: SocketAddr,
    /// The worker's start-up; its herder once ready.
    pub startup: Startup,
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Daemon {
    /// Binds the REST listener and starts the worker in the background. With `metrics`, the
    /// process-wide Prometheus recorder backs `/metrics`.
    pub async fn start(
        config: WorkerConfig,
        plugins: Plugins,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Result<Daemon> {
        // The worker's converters must exist before anything starts.
        crate::convert::Converters::resolve(&Default::default(), &config)?;
        let config = Arc::new(config);
        let server = RestServer::bind(&config)?;
        let (protocol, addr) = (server.listeners[0].protocol, server.listeners[0].addr);
        let id = worker_id_at(&config, Some(addr.port()));
        let startup = Startup::new();
        let (cluster_tx, cluster_rx) = tokio::sync::watch::channel(None);
        let state = RestState {
            startup: startup.clone(),
            plugins: plugins.clone(),
            config_providers: config.config_providers.clone(),
            worker: config.clone(),
            metrics,
            kafka_cluster_id: cluster_rx,
            advertised_url: format!("{}://{id}", protocol.scheme()),
        };
        let shutdown = tokio_util::sync::CancellationToken::new();

        server.serve(router(state), shutdown.clone())?;
        let worker_shutdown = shutdown.clone();
        let gate = startup.clone();
        let task = tokio::spawn(async move {
            gate.stage(stage::READING_CONFIG_TOPIC);
            // One producer and one reader serve all three internal topics.
            let clients = LogClients::connect(&config)?;
            cluster_tx.send_replace(Some(clients.cluster_id().await));
            let (offsets, (configs, records), statuses) = tokio::try_join!(
                KafkaOffsetStore::open_with(&clients, &config),
                ConfigStore::open(&clients, &config),
                StatusStore::open(&clients, &config, &id),
            )?;
            let offsets = Arc::new(offsets);
            let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
            let worker = Arc::new(
                Worker::new(config.clone(), plugins, offsets.clone()).with_events(events_tx),
            );
            let herder = Herder::new(
                worker,
                id.clone(),
                Some(configs),
                Some(statuses),
                Some(events_rx),
            );
            let (changes_tx, changes_rx) = tokio::sync::mpsc::unbounded_channel();
            gate.stage(stage::ENSURING_MEMBERSHIP);
            let membership = Membership::join(&config, &id, changes_tx).await?;
            herder.place_by_membership(membership.slots(), changes_rx, offsets);
            herder.restore(records).await;
            // REST requests are held until the worker holds its slots, so a connector created
            // by the first request starts its tasks at once.
            let assigned = tokio::select! {
                () = herder.wait_assigned() => true,
                () = worker_shutdown.cancelled() => false,
            };
            if assigned {
                gate.ready(herder.clone());
                tracing::info!(message = "worker started", worker_id = %id, rest = %addr, group = %config.group_id);
                worker_shutdown.cancelled().await;
            }
            tracing::info!(
                message = "shutting down: stopping sources, draining queues, committing offsets"
            );
            herder.shutdown().await;
            // Only now: the others take the tasks over from the offsets just stored.
            membership.leave().await;
            tracing::info!(message = "stopped");
            Ok(())
        });
        Ok(Daemon {
            addr,
            startup,
            shutdown,
            task,
        })
    }

    /// Stops every task (draining it) and the REST server.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the worker stops (after [`Daemon::stop`] or a startup failure).
    pub(crate) async fn wait(self) -> Result<()> {
        self.task
            .await
            .map_err(|e| Error::with_source(ErrorKind::Internal, "worker task panicked", e))?
    }

    pub(crate) fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.shutdown.clone()
    }
}

/// Runs the worker until SIGINT/SIGTERM.
pub async fn run(config: WorkerConfig, plugins: Plugins) -> Result<()> {
    let metrics = match crate::metrics::install_prometheus() {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::warn!(message = "metrics disabled", error = %error.trace());
            None
        }
    };
    let daemon = Daemon::start(config, plugins, metrics).await?;
    tracing::info!(message = "REST API listening", addr = %daemon.addr);
    let token = daemon.shutdown_token();
    let mut daemon = daemon;
    tokio::select! {
        _ = crate::runtime::standalone::shutdown_signal() => {
            token.cancel();
        }
        result = &mut daemon.task => {
            // The worker failed to start (e.g. Kafka unreachable).
            return result.map_err(|e| Error::with_source(ErrorKind::Internal, "worker task panicked", e))?;
        }
    }
    daemon.wait().await
}
