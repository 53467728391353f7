//! The herder (Connect's name): owns every connector's configuration and target state, keeps
//! them in the config topic, runs this worker's share of the connectors' tasks on the
//! [`Worker`], reports statuses (and writes them to the status topic), and re-plans a
//! connector's tasks when its plugin reports a change (e.g. a new table matching the JDBC
//! source's filters).
//!
//! With a config topic, the topic is the source of truth: a REST write on any worker of a
//! cluster is written to the topic, and every worker (the writer included) applies it when it
//! reads it back; the REST call answers once its own worker has applied it. Which tasks a worker
//! runs is decided by Kafka group membership ([`super::membership`]): a worker runs the tasks in
//! the slots it holds, and re-plans the connectors in them. Without membership (one worker, no
//! group) a worker runs everything.
//!
//! Mutating REST operations are serialized (like Connect's herder thread); so are the changes to
//! the local tasks (config records, rebalances). Reads are served from a snapshot and never wait
//! behind a draining task.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

mod ops;
mod reconcile;
mod view;

use self::reconcile::{Local, LocalTask, Placement, plan};
use self::view::{Entry, RestartRequest, View};
use super::membership::Change;
use super::state::State;
use super::store::{ConfigChange, ConfigReader, ConfigStore, StatusStore, TargetState};
use super::worker::{TaskEvent, TaskState, Worker};
use crate::config::provider::unresolve_error;
use crate::config::{ConfigError, ConnectorConfig};
use crate::connector::ConnectorType;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::log::TailRecord;
use crate::offsets::topic::KafkaOffsetStore;

/// A connector's or task's reported state (Connect's `ConnectorStateInfo.AbstractState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateInfo {
    pub(crate) state: State,
    pub(crate) trace: Option<String>,
    pub(crate) worker_id: String,
}

/// `GET /connectors/{name}/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectorStatus {
    pub(crate) name: String,
    pub(crate) connector: StateInfo,
    pub(crate) tasks: Vec<(u32, StateInfo)>,
    pub(crate) connector_type: ConnectorType,
}

/// `GET /connectors/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectorInfo {
    pub(crate) name: String,
    pub(crate) config: BTreeMap<String, String>,
    pub(crate) tasks: Vec<u32>,
    pub(crate) connector_type: ConnectorType,
}

/// Runs the connectors of one worker.
pub struct Herder {
    worker: Arc<Worker>,
    worker_id: String,
    configs: Option<ConfigStore>,
    statuses: Option<StatusStore>,
    /// Offsets kept current with the other workers' writes (cluster mode).
    shared_offsets: OnceLock<Arc<KafkaOffsetStore>>,
    view: RwLock<View>,
    local: Mutex<Local>,
    /// Serializes REST operations.
    ops: tokio::sync::Mutex<()>,
    /// Serializes changes to the local tasks.
    applying: tokio::sync::Mutex<()>,
    /// Offset of the last config record applied.
    applied: tokio::sync::watch::Sender<i64>,
    /// Whether this worker has been assigned its slots at least once (always, without
    /// membership).
    assigned: tokio::sync::watch::Sender<bool>,
    closing: CancellationToken,
    drain: Duration,
}

/// A 404 for a connector that does not exist, with Connect's message.
pub(crate) fn not_found(name: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("Connector {name} not found"))
}

fn connector_state(target: TargetState) -> State {
    match target {
        TargetState::Started => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    }
}

impl Herder {
    /// A herder over `worker`. With stores, configs and statuses are kept in Kafka; task state
    /// changes arrive on `events` (from [`Worker::with_events`]).
    pub(crate) fn new(
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
            shared_offsets: OnceLock::new(),
            view: RwLock::new(View::default()),
            local: Mutex::new(Local {
                placement: Placement::All,
                reader: ConfigReader::default(),
                tasks: BTreeMap::new(),
                owned: BTreeMap::new(),
                paused: BTreeSet::new(),
            }),
            ops: tokio::sync::Mutex::new(()),
            applying: tokio::sync::Mutex::new(()),
            applied: tokio::sync::watch::Sender::new(-1),
            assigned: tokio::sync::watch::Sender::new(true),
            closing: CancellationToken::new(),
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

    pub(crate) fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().expect("local lock")
    }

    async fn record_task(&self, event: &TaskEvent) {
        let Some(statuses) = &self.statuses else {
            return;
        };
        // A deleted connector's tasks report nothing.
        let Ok(entry) = self.entry(&event.connector) else {
            return;
        };
        let (state, trace) = match &event.state {
            TaskState::Failed(trace) => (State::Failed, Some(trace.as_str())),
            TaskState::Stopped if entry.target == TargetState::Paused => (State::Paused, None),
            other => (other.state(), None),
        };
        if let Err(error) = statuses
            .put_task(&event.connector, event.task, state, trace)
            .await
        {
            tracing::warn!(message = "cannot write a task status", connector = %event.connector, task = event.task, error = %error.trace());
        }
    }

    /// Sets the connector's reported state (and remembers a failure).
    async fn set_connector_state(&self, name: &str, state: State, trace: Option<&str>) {
        let failure = trace.filter(|_| state == State::Failed).map(str::to_string);
        self.update(name, |e| e.failure = failure);
        if let Some(statuses) = &self.statuses
            && let Err(error) = statuses.put_connector(name, state, trace).await
        {
            tracing::warn!(message = "cannot write a connector status", connector = %name, error = %error.trace());
        }
    }

    /// Runs only the tasks in the slots this worker holds in its cluster's group, as `changes`
    /// report them (call before [`Herder::restore`]). `offsets` is read to its end before a
    /// task starts, so a task that moved here resumes where it stopped elsewhere.
    pub(crate) fn place_by_membership(
        self: &Arc<Self>,
        slots: i32,
        mut changes: tokio::sync::mpsc::UnboundedReceiver<Change>,
        offsets: Arc<KafkaOffsetStore>,
    ) {
        let _ = self.shared_offsets.set(offsets);
        self.local().placement = Placement::Slots {
            slots,
            held: BTreeSet::new(),
        };
        self.assigned.send_replace(false);
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(change) = changes.recv().await {
                let Some(herder) = weak.upgrade() else { break };
                herder.on_membership(change).await;
            }
        });
    }

    async fn on_membership(self: &Arc<Self>, change: Change) {
        match change {
            Change::Assigned(held) => {
                // Act on the cluster's latest configuration.
                self.catch_up().await;
                let _applying = self.applying.lock().await;
                if let Placement::Slots { held: current, .. } = &mut self.local().placement {
                    *current = held;
                }
                self.reconcile(BTreeSet::new()).await;
                self.assigned.send_replace(true);
            }
            Change::Revoked { slots, done } => {
                {
                    let _applying = self.applying.lock().await;
                    if let Placement::Slots { held, .. } = &mut self.local().placement {
                        held.retain(|s| !slots.contains(s));
                    }
                    self.reconcile(BTreeSet::new()).await;
                }
                let _ = done.send(());
            }
        }
    }

    /// Resolves once this worker has been assigned its slots in its cluster's group and has
    /// started the tasks in them (at once without membership).
    pub(crate) async fn wait_assigned(&self) {
        let _ = self
            .assigned
            .subscribe()
            .wait_for(|assigned| *assigned)
            .await;
    }

    /// Waits until every config record written so far has been applied.
    async fn catch_up(&self) {
        let Some(configs) = &self.configs else {
            return;
        };
        match configs.sync().await {
            Ok(Some(last)) => {
                if !self.wait_applied(last).await {
                    tracing::warn!(message = "timed out applying the config topic");
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(message = "cannot read the config topic to its end", error = %error.trace());
            }
        }
    }

    async fn wait_applied(&self, offset: i64) -> bool {
        let mut applied = self.applied.subscribe();
        let wait = applied.wait_for(|a| *a >= offset);
        matches!(
            tokio::time::timeout(self.drain + Duration::from_secs(30), wait).await,
            Ok(Ok(_))
        )
    }

    /// Applies the config topic's records (read when the worker started) and starts the
    /// connectors in their stored states; then follows the topic.
    pub(crate) async fn restore(self: &Arc<Self>, records: Vec<TailRecord>) {
        {
            let _applying = self.applying.lock().await;
            self.apply_records(records, false).await;
        }
        tracing::info!(
            message = "restored connectors",
            connectors = self.view.read().expect("view lock").entries.len()
        );
        let Some(mut updates) = self.configs.as_ref().and_then(ConfigStore::updates) else {
            return;
        };
        let weak = Arc::downgrade(self);
        let closing = self.closing.clone();
        tokio::spawn(async move {
            loop {
                let batch = tokio::select! {
                    _ = closing.cancelled() => break,
                    batch = updates.recv() => batch,
                };
                let Some(mut batch) = batch else { break };
                while let Ok(more) = updates.try_recv() {
                    batch.extend(more);
                }
                let Some(herder) = weak.upgrade() else { break };
                let _applying = herder.applying.lock().await;
                herder.apply_records(batch, true).await;
            }
        });
    }

    /// Applies config records, then brings the local tasks in line. Called with `applying`
    /// held. Restart requests count only when `live` (not when replaying the topic).
    async fn apply_records(self: &Arc<Self>, records: Vec<TailRecord>, live: bool) {
        let last = records.iter().map(|r| r.offset).max();
        let changes: Vec<ConfigChange> = {
            let mut local = self.local();
            records
                .iter()
                .filter_map(|r| local.reader.read(&r.key, r.value.as_deref()))
                .collect()
        };
        let restarts = self.apply_changes(changes, live);
        self.reconcile(restarts).await;
        if let Some(last) = last {
            self.applied.send_modify(|a| *a = (*a).max(last));
        }
    }

    /// Applies changes to the view; returns the local tasks to restart (only for records
    /// read live, not when the worker restores its state).
    fn apply_changes(&self, changes: Vec<ConfigChange>, live: bool) -> BTreeSet<(String, u32)> {
        let requests: Vec<RestartRequest> = {
            let mut view = self.view.write().expect("view lock");
            changes
                .into_iter()
                .filter_map(|change| view.apply(change, |config| self.check_stored(config)))
                .collect()
        };
        let mut restarts = BTreeSet::new();
        if !live {
            return restarts;
        }
        for request in requests {
            match request {
                RestartRequest::Tasks { name, only_failed } => {
                    let failed: BTreeSet<u32> = self
                        .worker
                        .task_states(&name)
                        .into_iter()
                        .filter(|(_, s)| matches!(s, TaskState::Failed(_)))
                        .map(|(id, _)| id)
                        .collect();
                    let local = self.local();
                    for ((connector, id), task) in &local.tasks {
                        if *connector == name
                            && (!only_failed || task.start_error.is_some() || failed.contains(id))
                        {
                            restarts.insert((name.clone(), *id));
                        }
                    }
                }
                RestartRequest::Task { name, task } => {
                    let key = (name, task);
                    if self.local().tasks.contains_key(&key) {
                        restarts.insert(key);
                    }
                }
            }
        }
        restarts
    }

    /// Brings the local tasks and owned connectors in line with the view and the placement:
    /// stops (draining) tasks that should not run here or whose plan changed, starts the ones
    /// that should. Called with `applying` held.
    async fn reconcile(self: &Arc<Self>, restarts: BTreeSet<(String, u32)>) {
        if self.closing.is_cancelled() {
            return;
        }
        let entries: BTreeMap<String, Entry> = self.view.read().expect("view lock").entries.clone();
        let plan = plan(&entries, &mut self.local(), &restarts);

        if !plan.stop.is_empty() {
            tracing::info!(message = "stopping tasks", tasks = ?plan.stop);
            self.worker.stop_task_list(&plan.stop, self.drain).await;
            let mut local = self.local();
            for key in &plan.stop {
                local.tasks.remove(key);
            }
        }
        for (name, id) in plan.stop.iter().chain(&plan.unpaused) {
            if !entries.contains_key(name) {
                crate::metrics::task_state_name(name, *id, "");
            }
        }
        if !plan.start.is_empty() {
            if let Some(offsets) = self.shared_offsets.get()
                && let Err(error) = offsets.sync().await
            {
                tracing::warn!(message = "cannot read the offsets topic to its end", error = %error.trace());
            }
            tracing::info!(message = "starting tasks", tasks = ?plan.start.iter().map(|(k, _, _)| k).collect::<Vec<_>>());
        }
        for ((name, id), connector, config) in plan.start {
            let start_error = match self.worker.start_tasks(&connector, [(id, config.clone())]) {
                Ok(()) => None,
                Err(error) => {
                    let trace = error.trace();
                    tracing::error!(message = "cannot start a task", connector = %name, task = id, error = %trace);
                    crate::metrics::task_state_name(&name, id, State::Failed.as_str());
                    if let Some(statuses) = &self.statuses {
                        let _ = statuses
                            .put_task(&name, id, State::Failed, Some(&trace))
                            .await;
                    }
                    Some(trace)
                }
            };
            self.local().tasks.insert(
                (name, id),
                LocalTask {
                    connector,
                    config,
                    start_error,
                },
            );
        }
        for (name, id) in plan.paused {
            crate::metrics::task_state_name(&name, id, State::Paused.as_str());
            if let Some(statuses) = &self.statuses {
                let _ = statuses.put_task(&name, id, State::Paused, None).await;
            }
        }
        self.clean_statuses(&entries).await;
        for (name, config, target, cancel) in plan.owners {
            self.own(name, config, target, cancel);
        }
    }

    /// Rewrites RUNNING statuses left by other workers (e.g. one that died) for tasks in this
    /// worker's slots that are not supposed to run.
    async fn clean_statuses(&self, entries: &BTreeMap<String, Entry>) {
        let Some(statuses) = &self.statuses else {
            return;
        };
        let mut stale = Vec::new();
        {
            let local = self.local();
            for (name, entry) in entries {
                if entry.target == TargetState::Started {
                    continue;
                }
                for (id, record) in statuses.tasks(name) {
                    if record.state == State::Running.as_str()
                        && record.worker_id != self.worker_id
                        && local.placement.holds(
                            name,
                            Some(id),
                            entry.tasks.len().max(id as usize + 1),
                        )
                    {
                        let paused = entry.target == TargetState::Paused
                            && (id as usize) < entry.tasks.len();
                        stale.push((
                            name.clone(),
                            id,
                            if paused {
                                State::Paused
                            } else {
                                State::Unassigned
                            },
                        ));
                    }
                }
            }
        }
        for (name, id, state) in stale {
            let _ = statuses.put_task(&name, id, state, None).await;
        }
    }

    /// Runs a connector this worker owns: reports its state and, while it runs, checks its
    /// plan at once and then every interval its plugin asks for, committing a changed plan
    /// (Connect's `requestTaskReconfiguration`; every worker restarts its affected tasks).
    fn own(
        self: &Arc<Self>,
        name: String,
        config: ConnectorConfig,
        target: TargetState,
        cancel: CancellationToken,
    ) {
        let herder = Arc::downgrade(self);
        tokio::spawn(async move {
            if target != TargetState::Started {
                if let Some(herder) = herder.upgrade() {
                    herder
                        .set_connector_state(&name, connector_state(target), None)
                        .await;
                }
                return;
            }
            let interval = config.class().and_then(|class| {
                let herder = herder.upgrade()?;
                let plugin = herder.worker.plugins().find(class).ok()?;
                plugin.reconfigure_interval(&config)
            });
            let mut first = true;
            loop {
                if !first {
                    let Some(interval) = interval else { return };
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
                let Some(herder) = herder.upgrade() else {
                    return;
                };
                let planned = herder.worker.task_configs(&config).await;
                let Ok(current) = herder.entry(&name) else {
                    return;
                };
                if cancel.is_cancelled() {
                    return;
                }
                match planned {
                    Ok(planned) => {
                        if planned != current.tasks || current.tasks_for != config {
                            tracing::info!(message = "connector's task plan changed; committing it", connector = %name, tasks = planned.len());
                            let change = ConfigChange::Tasks {
                                name: name.clone(),
                                tasks: planned,
                            };
                            if let Err(error) = herder.commit(vec![change], false).await {
                                tracing::warn!(message = "cannot commit the connector's task plan", connector = %name, error = %error.trace());
                                first = false;
                                continue;
                            }
                        }
                        if first || herder.connector_failed(&name, &current) {
                            herder
                                .set_connector_state(&name, State::Running, None)
                                .await;
                        }
                    }
                    Err(error) if first && current.tasks.is_empty() => {
                        herder.fail(&name, &error).await;
                    }
                    Err(error) => {
                        tracing::warn!(message = "cannot re-plan connector tasks", connector = %name, error = %error.trace());
                    }
                }
                first = false;
            }
        });
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
        // Validated resolved, as Connect does; an unresolvable reference names its key.
        let (resolved, unresolved) = self
            .worker
            .config()
            .config_providers
            .resolve_all(&config.config);
        if !unresolved.is_empty() {
            return Err(invalid(
                unresolved
                    .into_iter()
                    .map(|(key, why)| ConfigError::rule(key, why))
                    .collect(),
            ));
        }
        let raw = &config.config;
        let config = &ConnectorConfig {
            name: config.name.clone(),
            config: resolved,
        };
        let invalid = |errors: Vec<ConfigError>| {
            invalid(
                errors
                    .into_iter()
                    .map(|e| unresolve_error(raw, e))
                    .collect(),
            )
        };
        let common = config.common().map_err(|e| invalid(vec![e]))?;
        let plugin = self
            .worker
            .plugins()
            .find(&common.class)
            .map_err(|e| invalid(vec![e]))?;
        let errors = crate::pipeline::config_errors(&*plugin, config, self.worker.config());
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        Ok(plugin.connector_type())
    }

    /// Validates a configuration read from the config topic. One whose `${provider:…}`
    /// references cannot be resolved right now (a secret file missing after a restart) is kept:
    /// its tasks fail at start naming the reference, and recover on restart once it resolves.
    fn check_stored(&self, config: &ConnectorConfig) -> Result<ConnectorType> {
        self.check(config).or_else(|error| {
            let (_, unresolved) = self
                .worker
                .config()
                .config_providers
                .resolve_all(&config.config);
            if unresolved.is_empty() {
                return Err(error);
            }
            let common = config.common()?;
            Ok(self.worker.plugins().find(&common.class)?.connector_type())
        })
    }

    fn entry(&self, name: &str) -> Result<Entry> {
        self.view
            .read()
            .expect("view lock")
            .entries
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Entry)) {
        if let Some(entry) = self.view.write().expect("view lock").entries.get_mut(name) {
            change(entry);
        }
    }

    /// Whether the connector itself is reported FAILED.
    fn connector_failed(&self, name: &str, entry: &Entry) -> bool {
        match &self.statuses {
            Some(statuses) => statuses
                .connector(name)
                .is_some_and(|r| r.state == State::Failed.as_str()),
            None => entry.failure.is_some(),
        }
    }

    async fn fail(&self, name: &str, error: &Error) {
        let trace = error.trace();
        tracing::error!(message = "connector failed", connector = %name, error = %trace);
        self.set_connector_state(name, State::Failed, Some(&trace))
            .await;
    }

    /// Makes configuration changes: with a config topic, writes them and (with `wait`) waits
    /// until this worker has applied them; without one, applies them at once.
    async fn commit(self: &Arc<Self>, changes: Vec<ConfigChange>, wait: bool) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        match &self.configs {
            Some(configs) => {
                let last = configs.write(&changes).await?;
                if wait
                    && let Some(last) = last
                    && !self.wait_applied(last).await
                {
                    return Err(Error::new(
                        ErrorKind::Internal,
                        "Request timed out: the change is stored in the config topic but this worker has not applied it yet",
                    ));
                }
                Ok(())
            }
            None => {
                let _applying = self.applying.lock().await;
                let restarts = self.apply_changes(changes, true);
                self.reconcile(restarts).await;
                Ok(())
            }
        }
    }

    /// Waits (up to `timeout`) until no other worker reports a task of the connector RUNNING.
    async fn wait_stopped_elsewhere(&self, name: &str, timeout: Duration) -> Result<()> {
        let Some(statuses) = &self.statuses else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let running: Vec<String> = statuses
                .tasks(name)
                .into_iter()
                .filter(|(_, r)| {
                    r.state == State::Running.as_str() && r.worker_id != self.worker_id
                })
                .map(|(id, r)| format!("{name}-{id} on {}", r.worker_id))
                .collect();
            if running.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "Cannot complete request momentarily: tasks are still running ({})",
                        running.join(", ")
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every connector's tasks (draining them) for shutdown; configs stay stored.
    pub(crate) async fn shutdown(&self) {
        let _ops = self.ops.lock().await;
        self.closing.cancel();
        let _applying = self.applying.lock().await;
        let owned = std::mem::take(&mut self.local().owned);
        for owned in owned.values() {
            owned.cancel.cancel();
        }
        self.worker.stop_all(self.drain).await;
        self.local().tasks.clear();
    }
}
