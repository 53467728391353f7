//! The herder (Connect's name): owns every connector's configuration and target state, keeps
//! them in the config topic, runs the connectors' tasks on the [`Worker`], reports statuses
//! (and writes them to the status topic), and re-plans a connector's tasks when its plugin
//! reports a change (e.g. a new table matching the JDBC source's filters).
//!
//! Mutating operations are serialized (like Connect's herder thread); reads are served from a
//! snapshot and never wait behind a draining task.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::store::{ConfigStore, StatusStore, StoredConnector, TargetState};
use super::worker::{TaskEvent, TaskState, Worker};
use crate::config::{ConfigError, ConnectorConfig};
use crate::connector::{ConnectorType, TaskConfig};
use crate::error::{Error, ErrorKind, Result};

/// One connector as the herder knows it.
#[derive(Clone)]
struct Entry {
    config: ConnectorConfig,
    connector_type: ConnectorType,
    target: TargetState,
    /// Task configurations of the current plan (empty when stopped or failed).
    tasks: Vec<TaskConfig>,
    /// Why the connector itself failed (its plan could not be made).
    failure: Option<String>,
    /// Stops the connector's re-planning loop.
    monitor: Option<CancellationToken>,
}

/// A connector's or task's reported state (Connect's `ConnectorStateInfo.AbstractState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateInfo {
    pub state: String,
    pub trace: Option<String>,
    pub worker_id: String,
}

/// `GET /connectors/{name}/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: StateInfo,
    pub tasks: Vec<(u32, StateInfo)>,
    pub connector_type: ConnectorType,
}

/// `GET /connectors/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub tasks: Vec<u32>,
    pub connector_type: ConnectorType,
}

/// Runs the connectors of one worker.
pub struct Herder {
    worker: Arc<Worker>,
    worker_id: String,
    configs: Option<ConfigStore>,
    statuses: Option<StatusStore>,
    view: RwLock<BTreeMap<String, Entry>>,
    ops: tokio::sync::Mutex<()>,
    drain: Duration,
}

/// A 404 for a connector that does not exist, with Connect's message.
pub fn not_found(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("Connector {name} not found"))
}

impl Herder {
    /// A herder over `worker`. With stores, configs and statuses are kept in Kafka; task state
    /// changes arrive on `events` (from [`Worker::with_events`]).
    pub fn new(
        worker: Arc<Worker>,
        worker_id: String,
        configs: Option<ConfigStore>,
        statuses: Option<StatusStore>,
        events: Option<tokio::sync::mpsc::UnboundedReceiver<TaskEvent>>,
    ) -> Arc<Herder> {
        // Connect's task.shutdown.graceful.timeout.ms bounds each task; draining a full
        // pipeline needs a little longer than Connect's 5 s default on a loaded machine.
        let drain = Duration::from_millis(
            worker
                .config()
                .task_shutdown_graceful_timeout_ms
                .max(30_000),
        );
        let herder = Arc::new(Herder {
            worker,
            worker_id,
            configs,
            statuses,
            view: RwLock::new(BTreeMap::new()),
            ops: tokio::sync::Mutex::new(()),
            drain,
        });
        if let Some(mut events) = events {
            let weak = Arc::downgrade(&herder);
            tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    let Some(herder) = weak.upgrade() else { break };
                    herder.record_task(&event).await;
                }
            });
        }
        herder
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    async fn record_task(&self, event: &TaskEvent) {
        let Some(statuses) = &self.statuses else {
            return;
        };
        let trace = match &event.state {
            TaskState::Failed(trace) => Some(trace.as_str()),
            _ => None,
        };
        if let Err(error) = statuses
            .put_task(&event.connector, event.task, event.state.name(), trace)
            .await
        {
            tracing::warn!(message = "cannot write a task status", connector = %event.connector, task = event.task, error = %error.trace());
        }
    }

    async fn record_connector(&self, name: &str, state: &str, trace: Option<&str>) {
        if let Some(statuses) = &self.statuses
            && let Err(error) = statuses.put_connector(name, state, trace).await
        {
            tracing::warn!(message = "cannot write a connector status", connector = %name, error = %error.trace());
        }
    }

    /// Starts the connectors restored from the config topic, each in its stored state.
    pub async fn restore(self: &Arc<Self>, connectors: BTreeMap<String, StoredConnector>) {
        for (name, stored) in connectors {
            let config = match ConnectorConfig::from_map(Some(name.clone()), stored.config) {
                Ok(config) => config,
                Err(error) => {
                    tracing::error!(message = "skipping a stored connector with a bad configuration", connector = %name, error = %error);
                    continue;
                }
            };
            let _ops = self.ops.lock().await;
            match self.check(&config) {
                Ok(connector_type) => {
                    self.insert(config, connector_type, stored.target);
                    self.apply(&name).await;
                }
                Err(error) => {
                    tracing::error!(message = "skipping a stored connector with a bad configuration", connector = %name, error = %error.trace());
                }
            }
        }
    }

    /// Validates a configuration as `POST /connectors` does; returns the connector's type.
    fn check(&self, config: &ConnectorConfig) -> Result<ConnectorType> {
        let invalid = |errors: Vec<ConfigError>| {
            let mut message = format!(
                "Connector configuration is invalid and contains the following {} error(s):",
                errors.len()
            );
            for error in &errors {
                message.push('\n');
                message.push_str(&error.to_string());
            }
            message.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
            Error::new(ErrorKind::Config, message)
        };
        let common = config.common().map_err(|e| invalid(vec![e]))?;
        let plugin = self
            .worker
            .plugins()
            .find(&common.class)
            .map_err(|e| invalid(vec![e]))?;
        let errors = plugin.validate(config);
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        Ok(plugin.connector_type())
    }

    fn insert(&self, config: ConnectorConfig, connector_type: ConnectorType, target: TargetState) {
        let name = config.name.clone();
        let entry = Entry {
            config,
            connector_type,
            target,
            tasks: Vec::new(),
            failure: None,
            monitor: None,
        };
        self.view.write().expect("view lock").insert(name, entry);
    }

    fn entry(&self, name: &str) -> Result<Entry> {
        self.view
            .read()
            .expect("view lock")
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Entry)) {
        if let Some(entry) = self.view.write().expect("view lock").get_mut(name) {
            change(entry);
        }
    }

    /// Brings a connector's tasks in line with its target state. Called with `ops` held and the
    /// connector's tasks stopped.
    async fn apply(self: &Arc<Self>, name: &str) {
        let Ok(entry) = self.entry(name) else { return };
        match entry.target {
            TargetState::Started => match self.worker.task_configs(&entry.config).await {
                Ok(tasks) => {
                    if let Some(configs) = &self.configs
                        && let Err(error) = configs.put_task_configs(name, &tasks).await
                    {
                        tracing::warn!(message = "cannot write task configurations", connector = %name, error = %error.trace());
                    }
                    let numbered = tasks
                        .iter()
                        .cloned()
                        .enumerate()
                        .map(|(i, c)| (i as u32, c));
                    if let Err(error) = self.worker.start_tasks(&entry.config, numbered) {
                        self.fail(name, &error).await;
                        return;
                    }
                    let count = tasks.len();
                    let monitor = self.monitor(name, &entry.config, tasks.clone());
                    self.update(name, |e| {
                        e.tasks = tasks;
                        e.failure = None;
                        e.monitor = monitor;
                    });
                    self.record_connector(name, "RUNNING", None).await;
                    tracing::info!(message = "connector started", connector = %name, tasks = count);
                }
                Err(error) => self.fail(name, &error).await,
            },
            TargetState::Paused => {
                // Paused tasks keep their configurations; they do not run.
                if entry.tasks.is_empty()
                    && let Ok(tasks) = self.worker.task_configs(&entry.config).await
                {
                    self.update(name, |e| e.tasks = tasks);
                }
                self.record_connector(name, "PAUSED", None).await;
                let count = self.entry(name).map(|e| e.tasks.len()).unwrap_or(0);
                for task in 0..count as u32 {
                    crate::metrics::task_state_name(name, task, "PAUSED");
                    if let Some(statuses) = &self.statuses {
                        let _ = statuses.put_task(name, task, "PAUSED", None).await;
                    }
                }
            }
            TargetState::Stopped => {
                self.update(name, |e| e.tasks.clear());
                if let Some(configs) = &self.configs {
                    let _ = configs.put_task_configs(name, &[]).await;
                }
                self.record_connector(name, "STOPPED", None).await;
            }
        }
    }

    async fn fail(&self, name: &str, error: &Error) {
        let trace = error.trace();
        tracing::error!(message = "connector failed", connector = %name, error = %trace);
        self.update(name, |e| {
            e.failure = Some(trace.clone());
            e.tasks.clear();
        });
        self.record_connector(name, "FAILED", Some(&trace)).await;
    }

    /// Re-plans a running connector every interval its plugin asks for, restarting its tasks
    /// when the plan changes (Connect's `requestTaskReconfiguration`).
    fn monitor(
        self: &Arc<Self>,
        name: &str,
        config: &ConnectorConfig,
        tasks: Vec<TaskConfig>,
    ) -> Option<CancellationToken> {
        let class = config.class()?.to_string();
        let plugin = self.worker.plugins().find(&class).ok()?;
        let interval = plugin.reconfigure_interval(config)?;
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let herder = Arc::downgrade(self);
        let name = name.to_string();
        let config = config.clone();
        tokio::spawn(async move {
            let mut current = tasks;
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                let Some(herder) = herder.upgrade() else {
                    return;
                };
                let planned = match herder.worker.task_configs(&config).await {
                    Ok(planned) => planned,
                    Err(error) => {
                        tracing::warn!(message = "cannot re-plan connector tasks", connector = %name, error = %error.trace());
                        continue;
                    }
                };
                if planned == current {
                    continue;
                }
                let _ops = herder.ops.lock().await;
                if token.is_cancelled() {
                    return;
                }
                tracing::info!(message = "connector's task plan changed; restarting its tasks", connector = %name, tasks = planned.len());
                herder.worker.stop_tasks(&name, None, herder.drain).await;
                if let Some(configs) = &herder.configs {
                    let _ = configs.put_task_configs(&name, &planned).await;
                }
                let numbered = planned
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, c)| (i as u32, c));
                if let Err(error) = herder.worker.start_tasks(&config, numbered) {
                    herder.fail(&name, &error).await;
                    return;
                }
                herder.update(&name, |e| e.tasks = planned.clone());
                current = planned;
            }
        });
        Some(cancel)
    }

    /// Stops a connector's tasks and its re-planning loop.
    async fn halt(&self, name: &str) {
        if let Ok(entry) = self.entry(name)
            && let Some(monitor) = entry.monitor
        {
            monitor.cancel();
        }
        self.update(name, |e| e.monitor = None);
        self.worker.stop_tasks(name, None, self.drain).await;
    }

    /// Connector names, sorted.
    pub fn connectors(&self) -> Vec<String> {
        self.view
            .read()
            .expect("view lock")
            .keys()
            .cloned()
            .collect()
    }

    pub fn info(&self, name: &str) -> Result<ConnectorInfo> {
        let entry = self.entry(name)?;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: entry.config.config.clone(),
            tasks: (0..entry.tasks.len() as u32).collect(),
            connector_type: entry.connector_type,
        })
    }

    pub fn task_configs(&self, name: &str) -> Result<Vec<TaskConfig>> {
        Ok(self.entry(name)?.tasks)
    }

    pub fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let entry = self.entry(name)?;
        let info = |state: &str, trace: Option<String>| StateInfo {
            state: state.to_string(),
            trace,
            worker_id: self.worker_id.clone(),
        };
        let connector = match (&entry.failure, entry.target) {
            (Some(trace), _) => info("FAILED", Some(trace.clone())),
            (None, TargetState::Started) => info("RUNNING", None),
            (None, TargetState::Paused) => info("PAUSED", None),
            (None, TargetState::Stopped) => info("STOPPED", None),
        };
        let running: BTreeMap<u32, TaskState> = self.worker.task_states(name).into_iter().collect();
        let tasks = (0..entry.tasks.len() as u32)
            .map(|id| {
                let state = match (entry.target, running.get(&id)) {
                    (TargetState::Paused, _) => info("PAUSED", None),
                    (_, Some(TaskState::Running)) => info("RUNNING", None),
                    (_, Some(TaskState::Failed(trace))) => info("FAILED", Some(trace.clone())),
                    (_, Some(TaskState::Stopped) | None) => info("UNASSIGNED", None),
                };
                (id, state)
            })
            .collect();
        Ok(ConnectorStatus {
            name: name.to_string(),
            connector,
            tasks,
            connector_type: entry.connector_type,
        })
    }

    /// `POST /connectors`. Fails with [`ErrorKind::Conflict`] when the name is taken.
    pub async fn create(
        self: &Arc<Self>,
        config: ConnectorConfig,
        initial: TargetState,
    ) -> Result<ConnectorInfo> {
        let _ops = self.ops.lock().await;
        let name = config.name.clone();
        if self.view.read().expect("view lock").contains_key(&name) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("Connector {name} already exists"),
            ));
        }
        let connector_type = self.check(&config)?;
        if let Some(configs) = &self.configs {
            configs.put_connector(&name, &config.config).await?;
            configs.put_target_state(&name, initial).await?;
        }
        self.insert(config, connector_type, initial);
        self.apply(&name).await;
        self.info(&name)
    }

    /// `PUT /connectors/{name}/config`: creates or replaces. Returns whether it was created.
    pub async fn put(self: &Arc<Self>, config: ConnectorConfig) -> Result<(bool, ConnectorInfo)> {
        let name = config.name.clone();
        if self.entry(&name).is_err() {
            return Ok((true, self.create(config, TargetState::Started).await?));
        }
        let _ops = self.ops.lock().await;
        let connector_type = self.check(&config)?;
        if let Some(configs) = &self.configs {
            configs.put_connector(&name, &config.config).await?;
        }
        self.halt(&name).await;
        self.update(&name, |e| {
            e.config = config;
            e.connector_type = connector_type;
            e.failure = None;
            e.tasks.clear();
        });
        self.apply(&name).await;
        Ok((false, self.info(&name)?))
    }

    /// `DELETE /connectors/{name}`: stops its tasks (draining them) and forgets it.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let _ops = self.ops.lock().await;
        let entry = self.entry(name)?;
        self.halt(name).await;
        if let Some(configs) = &self.configs {
            configs.remove_connector(name).await?;
        }
        if let Some(statuses) = &self.statuses {
            let _ = statuses.remove(name, entry.tasks.len()).await;
        }
        for task in 0..entry.tasks.len() as u32 {
            crate::metrics::task_state_name(name, task, "");
        }
        self.view.write().expect("view lock").remove(name);
        tracing::info!(message = "connector deleted", connector = %name);
        Ok(())
    }

    /// `PUT /connectors/{name}/pause|resume|stop`.
    pub async fn set_target(self: &Arc<Self>, name: &str, target: TargetState) -> Result<()> {
        let _ops = self.ops.lock().await;
        let entry = self.entry(name)?;
        if entry.target == target && entry.failure.is_none() {
            return Ok(());
        }
        if let Some(configs) = &self.configs {
            configs.put_target_state(name, target).await?;
        }
        self.halt(name).await;
        self.update(name, |e| {
            e.target = target;
            e.failure = None;
        });
        self.apply(name).await;
        tracing::info!(message = "connector target state changed", connector = %name, state = target.name());
        Ok(())
    }

    /// `POST /connectors/{name}/restart`: re-plans the connector and, with `include_tasks`,
    /// restarts its tasks (only failed ones with `only_failed`). Returns the status with the
    /// restarted parts marked RESTARTING, as Connect answers.
    pub async fn restart(
        self: &Arc<Self>,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus> {
        let _ops = self.ops.lock().await;
        let mut status = self.status(name)?;
        let entry = self.entry(name)?;
        let connector_failed = status.connector.state == "FAILED";
        let restart_connector = !only_failed || connector_failed;
        let restart_tasks: Vec<u32> = if include_tasks {
            status
                .tasks
                .iter()
                .filter(|(_, s)| !only_failed || s.state == "FAILED")
                .map(|(id, _)| *id)
                .collect()
        } else {
            Vec::new()
        };
        if restart_connector {
            status.connector.state = "RESTARTING".into();
            status.connector.trace = None;
        }
        for (id, state) in &mut status.tasks {
            if restart_tasks.contains(id) {
                state.state = "RESTARTING".into();
                state.trace = None;
            }
        }
        if entry.target != TargetState::Started {
            return Ok(status);
        }
        if connector_failed || (restart_connector && include_tasks && !only_failed) {
            // A fresh plan and fresh tasks.
            self.halt(name).await;
            self.update(name, |e| {
                e.failure = None;
                e.tasks.clear();
            });
            self.apply(name).await;
        } else {
            for id in restart_tasks {
                self.restart_task_locked(&entry, id).await?;
            }
        }
        Ok(status)
    }

    /// `POST /connectors/{name}/tasks/{id}/restart`.
    pub async fn restart_task(&self, name: &str, id: u32) -> Result<()> {
        let _ops = self.ops.lock().await;
        let entry = self.entry(name)?;
        self.restart_task_locked(&entry, id).await
    }

    async fn restart_task_locked(&self, entry: &Entry, id: u32) -> Result<()> {
        let name = &entry.config.name;
        let config = entry.tasks.get(id as usize).cloned().ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("Task {name}-{id} not found"))
        })?;
        if entry.target != TargetState::Started {
            return Ok(());
        }
        self.worker.stop_tasks(name, Some(id), self.drain).await;
        self.worker.start_tasks(&entry.config, [(id, config)])?;
        tracing::info!(message = "task restarted", connector = %name, task = id);
        Ok(())
    }

    /// The connector's configuration and whether it is stopped, for the offsets endpoints.
    pub fn offsets_target(&self, name: &str) -> Result<(ConnectorConfig, ConnectorType, bool)> {
        let entry = self.entry(name)?;
        Ok((
            entry.config,
            entry.connector_type,
            entry.target == TargetState::Stopped,
        ))
    }

    /// Serializes an offsets change with every other operation; fails unless the connector is
    /// stopped (KIP-875).
    pub async fn with_stopped<T>(
        &self,
        name: &str,
        change: impl AsyncFnOnce(&ConnectorConfig, ConnectorType) -> Result<T>,
    ) -> Result<T> {
        let _ops = self.ops.lock().await;
        let (config, connector_type, stopped) = self.offsets_target(name)?;
        if !stopped {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
                ),
            ));
        }
        change(&config, connector_type).await
    }

    /// Stops every connector's tasks (draining them) for shutdown; configs stay stored.
    pub async fn shutdown(&self) {
        let _ops = self.ops.lock().await;
        for entry in self.view.read().expect("view lock").values() {
            if let Some(monitor) = &entry.monitor {
                monitor.cancel();
            }
        }
        self.worker.stop_all(self.drain).await;
    }
}
