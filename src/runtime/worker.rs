//! The worker: starts connectors through their plugins, runs their tasks, tracks their state
//! and stops them with a drain deadline. Shared by `sluice standalone` and `sluice worker`
//! (where the herder decides which tasks this worker runs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::state::State;
use crate::budget::{MemoryBudget, Share};
use crate::config::CommonConfig;
use crate::config::connector::{SinkConnectorConfig, SourceConnectorConfig};
use crate::config::def::with_prefix;
use crate::config::{ConfigProviders, ConnectorConfig, WorkerConfig};
use crate::connector::{Plugins, Task, TaskConfig, TaskContext};
use crate::error::Result;
use crate::offsets::OffsetStore;
use crate::pipeline::record::RecordStageConfig;
use crate::pipeline::sink::SinkPipeline;
use crate::pipeline::source::SourcePipeline;

/// A task's state, as the status API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// Failed, with the error's trace.
    Failed(String),
    Stopped,
}

struct RunningTask {
    connector: String,
    id: u32,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
    state: Arc<Mutex<TaskState>>,
}

impl TaskState {
    /// The state Connect reports for it.
    pub(crate) fn state(&self) -> State {
        match self {
            TaskState::Running => State::Running,
            TaskState::Failed(_) => State::Failed,
            TaskState::Stopped => State::Unassigned,
        }
    }
}

/// A task's state change, for the status topic.
#[derive(Debug, Clone)]
pub(crate) struct TaskEvent {
    pub(crate) connector: String,
    pub(crate) task: u32,
    pub(crate) state: TaskState,
}

/// Runs connectors' tasks in this process.
pub struct Worker {
    config: Arc<WorkerConfig>,
    plugins: Plugins,
    offsets: Arc<dyn OffsetStore>,
    tasks: Mutex<Vec<RunningTask>>,
    events: Option<tokio::sync::mpsc::UnboundedSender<TaskEvent>>,
    /// `sluice.memory.budget.bytes`, shared by every task's pipeline.
    budget: Arc<MemoryBudget>,
}

impl Worker {
    pub fn new(config: Arc<WorkerConfig>, plugins: Plugins, offsets: Arc<dyn OffsetStore>) -> Self {
        Worker {
            budget: MemoryBudget::new(config.memory_budget_bytes),
            config,
            plugins,
            offsets,
            tasks: Mutex::new(Vec::new()),
            events: None,
        }
    }

    /// Reports every task state change on `events`.
    pub(crate) fn with_events(
        mut self,
        events: tokio::sync::mpsc::UnboundedSender<TaskEvent>,
    ) -> Self {
        self.events = Some(events);
        self
    }

    pub(crate) fn config(&self) -> &Arc<WorkerConfig> {
        &self.config
    }

    pub(crate) fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    pub(crate) fn offsets(&self) -> &Arc<dyn OffsetStore> {
        &self.offsets
    }

    /// Validates `connector`, computes its task configurations and starts every task.
    pub async fn start_connector(&self, connector: &ConnectorConfig) -> Result<usize> {
        let task_configs = self.task_configs(connector).await?;
        let count = task_configs.len();
        self.start_tasks(
            connector,
            task_configs
                .into_iter()
                .enumerate()
                .map(|(i, c)| (i as u32, c)),
        )?;
        tracing::info!(message = "connector started", connector = %connector.name, tasks = count);
        Ok(count)
    }

    /// `config` with its `${provider:path:key}` references resolved by the worker's config
    /// providers. Only what is handed to a plugin or task is resolved; what is stored and shown
    /// stays raw.
    pub(crate) fn resolve(&self, config: &ConnectorConfig) -> Result<ConnectorConfig> {
        Ok(self.config.config_providers.resolve_connector(config)?)
    }

    /// Validates `connector` and asks its plugin for the task configurations (from the resolved
    /// configuration; the returned configurations hold the raw `${…}` text again wherever the
    /// connector's did).
    pub(crate) async fn task_configs(
        &self,
        connector: &ConnectorConfig,
    ) -> Result<Vec<TaskConfig>> {
        let resolved = self.resolve(connector)?;
        let common = resolved.common()?;
        let plugin = self.plugins.find(&common.class)?;
        if let Some(error) = crate::pipeline::config_errors(&*plugin, &resolved, &self.config)
            .into_iter()
            .next()
        {
            return Err(error.into());
        }
        let mut tasks = plugin.task_configs(&resolved, common.tasks_max).await?;
        for task in &mut tasks {
            ConfigProviders::unresolve(&connector.config, task);
        }
        Ok(tasks)
    }

    /// Starts the given tasks of `connector`.
    pub(crate) fn start_tasks(
        &self,
        connector: &ConnectorConfig,
        task_configs: impl IntoIterator<Item = (u32, TaskConfig)>,
    ) -> Result<()> {
        let connector = &self.resolve(connector)?;
        let common = connector.common()?;
        let plugin = self.plugins.find(&common.class)?;
        let name: Arc<str> = connector.name.as_str().into();
        let producer_overrides = with_prefix(&connector.config, "producer.override.");
        let record_stage = RecordStageConfig::new(&connector.config, &self.config)?;
        for (id, config) in task_configs {
            let config = self.config.config_providers.resolve(&config)?;
            let task = plugin.create_task(TaskContext {
                connector: name.clone(),
                config,
            })?;
            let cancel = CancellationToken::new();
            let state = Arc::new(Mutex::new(TaskState::Running));
            let run = match task {
                Task::Source(task) => {
                    let source = SourceConnectorConfig::parse(
                        &connector.config,
                        self.config.topic_creation_enable,
                    )?;
                    let pipeline = SourcePipeline {
                        connector: name.clone(),
                        task_id: id,
                        worker: self.config.clone(),
                        offsets: self.offsets.clone(),
                        producer_overrides: producer_overrides.clone(),
                        topic_creation: source.topic_creation,
                        record_stage: record_stage.clone(),
                        tolerate_errors: common.tolerate_errors,
                        share: self.budget.share(&name, id),
                    };
                    Box::pin(pipeline.run(task, cancel.clone()))
                        as std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>
                }
                Task::Sink(task) => {
                    let pipeline = sink_pipeline(
                        connector,
                        &common,
                        id,
                        self.config.clone(),
                        task.batch_records(),
                        record_stage.clone(),
                        self.budget.share(&name, id),
                    )?;
                    Box::pin(pipeline.run(task, cancel.clone()))
                }
            };
            let task_state = state.clone();
            let label = format!("{name}-{id}");
            let events = self.events.clone();
            let name_for_events = name.clone();
            let event = move |state: TaskState| {
                if let Some(events) = &events {
                    let _ = events.send(TaskEvent {
                        connector: name_for_events.to_string(),
                        task: id,
                        state,
                    });
                }
            };
            event(TaskState::Running);
            crate::metrics::task_state_name(&name, id, State::Running.as_str());
            let metric_name = name.clone();
            let handle = tokio::spawn(async move {
                tracing::info!(message = "task started", task = %label);
                let result = run.await;
                let new_state = match result {
                    Ok(()) => {
                        tracing::info!(message = "task stopped", task = %label);
                        TaskState::Stopped
                    }
                    Err(error) => {
                        tracing::error!(message = "task failed", task = %label, error = %error.trace());
                        TaskState::Failed(error.trace())
                    }
                };
                crate::metrics::task_state_name(&metric_name, id, new_state.state().as_str());
                *task_state.lock().expect("task state lock") = new_state.clone();
                event(new_state);
            });
            self.tasks.lock().expect("tasks lock").push(RunningTask {
                connector: connector.name.clone(),
                id,
                cancel,
                handle,
                state,
            });
        }
        Ok(())
    }

    /// Stops the given tasks (`(connector, id)` pairs), draining them together within
    /// `deadline`; returns once they have stopped.
    pub(crate) async fn stop_task_list(&self, which: &[(String, u32)], deadline: Duration) {
        if which.is_empty() {
            return;
        }
        let tasks: Vec<RunningTask> = {
            let mut all = self.tasks.lock().expect("tasks lock");
            let (stop, keep) = std::mem::take(&mut *all)
                .into_iter()
                .partition(|t| which.iter().any(|(c, id)| *c == t.connector && *id == t.id));
            *all = keep;
            stop
        };
        Self::drain(tasks, deadline).await;
    }

    /// The state of every task of `connector`.
    pub fn task_states(&self, connector: &str) -> Vec<(u32, TaskState)> {
        self.tasks
            .lock()
            .expect("tasks lock")
            .iter()
            .filter(|t| t.connector == connector)
            .map(|t| (t.id, t.state.lock().expect("task state lock").clone()))
            .collect()
    }

    /// Stops every task: each drains (queued rows produced, acknowledged offsets stored) within
    /// `deadline`; a task that misses it is named in the log and aborted.
    pub async fn stop_all(&self, deadline: Duration) {
        let tasks: Vec<RunningTask> = std::mem::take(&mut *self.tasks.lock().expect("tasks lock"));
        Self::drain(tasks, deadline).await;
    }

    async fn drain(tasks: Vec<RunningTask>, deadline: Duration) {
        for task in &tasks {
            task.cancel.cancel();
        }
        let until = tokio::time::Instant::now() + deadline;
        for mut task in tasks {
            if tokio::time::timeout_at(until, &mut task.handle)
                .await
                .is_err()
            {
                tracing::error!(
                    message = "task did not stop within the shutdown deadline; aborting it",
                    connector = %task.connector,
                    task = task.id,
                    deadline_ms = deadline.as_millis() as u64
                );
                task.handle.abort();
            }
        }
    }
}

/// The runtime side of a sink task: Connect's sink keys ([`SinkConnectorConfig`]: topics or
/// topics.regex, the dead-letter queue), `errors.tolerance`, `consumer.override.*`, the
/// converters' `schemas.enable`. A batch holds up to `consumer.override.max.poll.records`, else
/// the worker's `consumer.max.poll.records` (as in Connect, the override wins over the worker's
/// consumer keys), else what the task asks for, else [`DEFAULT_SINK_BATCH_RECORDS`].
fn sink_pipeline(
    connector: &ConnectorConfig,
    common: &CommonConfig,
    task_id: u32,
    worker: Arc<WorkerConfig>,
    task_batch_records: Option<usize>,
    record_stage: RecordStageConfig,
    share: Share,
) -> Result<SinkPipeline> {
    let sink = SinkConnectorConfig::parse(connector)?;
    let consumer_overrides = with_prefix(&connector.config, "consumer.override.");
    let batch_size = sink
        .max_poll_records
        .or(worker.consumer_max_poll_records)
        .or(task_batch_records)
        .unwrap_or(DEFAULT_SINK_BATCH_RECORDS)
        .max(1);
    if sink.dead_letter.is_some() && !common.tolerate_errors {
        tracing::warn!(message = "errors.deadletterqueue.topic.name is set but errors.tolerance=none: failing records fail the task", connector = %connector.name);
    }
    Ok(SinkPipeline {
        connector: connector.name.as_str().into(),
        task_id,
        record_stage,
        worker,
        consumer_overrides,
        subscription: sink.subscription,
        batch_size,
        tolerate_errors: common.tolerate_errors,
        dead_letter: sink.dead_letter,
        share,
    })
}

/// Records in a sink batch when neither the connector nor its task says.
const DEFAULT_SINK_BATCH_RECORDS: usize = 3000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::props;

    /// A sink batch holds up to the connector's `consumer.override.max.poll.records`, else the
    /// worker's `consumer.max.poll.records`, else the task's `batch.size`, else the default.
    #[test]
    fn sink_batch_size_precedence() {
        let batch = |worker: &[(&str, &str)], connector: &[(&str, &str)], task: Option<usize>| {
            let mut worker_props = props(&[("bootstrap.servers", "127.0.0.1:1")]);
            worker_props.extend(props(worker));
            let worker = Arc::new(WorkerConfig::from_map(worker_props).unwrap());
            let mut connector_props = props(&[
                ("name", "s"),
                (
                    "connector.class",
                    "io.confluent.connect.jdbc.JdbcSinkConnector",
                ),
                ("topics", "t"),
            ]);
            connector_props.extend(props(connector));
            let connector = ConnectorConfig::from_map(None, connector_props).unwrap();
            let record_stage = RecordStageConfig::new(&connector.config, &worker).unwrap();
            let share = crate::budget::MemoryBudget::new(1 << 20).share("s", 0);
            sink_pipeline(
                &connector,
                &connector.common().unwrap(),
                0,
                worker,
                task,
                record_stage,
                share,
            )
            .unwrap()
            .batch_size
        };
        let over = [("consumer.override.max.poll.records", "50")];
        let worker = [("consumer.max.poll.records", "200")];
        assert_eq!(batch(&worker, &over, Some(1000)), 50);
        assert_eq!(batch(&worker, &[], Some(1000)), 200);
        assert_eq!(batch(&[], &[], Some(1000)), 1000);
        assert_eq!(batch(&[], &[], None), DEFAULT_SINK_BATCH_RECORDS);
    }
}
