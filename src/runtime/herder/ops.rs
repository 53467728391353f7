//! The herder's REST-facing operations: reads served from the view (`GET /connectors…`) and
//! the changes a REST call makes (create, reconfigure, delete, pause/resume/stop, restarts,
//! offsets), each serialized behind `Herder::ops` and committed through the config topic.

use super::view::Entry;
use super::{ConnectorInfo, ConnectorStatus, Herder, StateInfo, connector_state};
use crate::config::ConnectorConfig;
use crate::connector::{ConnectorType, TaskConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::runtime::state::State;
use crate::runtime::store::{ConfigChange, TargetState};
use crate::runtime::worker::TaskState;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

impl Herder {
    /// Connector names, sorted.
    pub(crate) fn connectors(&self) -> Vec<String> {
        self.view
            .read()
            .expect("view lock")
            .entries
            .keys()
            .cloned()
            .collect()
    }

    pub(crate) fn info(&self, name: &str) -> Result<ConnectorInfo> {
        let entry = self.entry(name)?;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: entry.config.config.clone(),
            tasks: (0..entry.tasks.len() as u32).collect(),
            connector_type: entry.connector_type,
        })
    }

    pub(crate) fn task_configs(&self, name: &str) -> Result<Vec<TaskConfig>> {
        Ok(self.entry(name)?.tasks)
    }

    /// The connector's and its tasks' states: this worker's own tasks as they run here, the
    /// others' as their workers reported them in the status topic.
    pub(crate) fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let entry = self.entry(name)?;
        let me = self.worker_id.as_str();
        let info = |state: State, trace: Option<String>, worker_id: &str| StateInfo {
            state,
            trace,
            worker_id: if worker_id.is_empty() { me } else { worker_id }.to_string(),
        };
        let reported = self.statuses.as_ref().and_then(|s| s.connector(name));
        let reporter = reported.as_ref().map_or(me, |r| r.worker_id.as_str());
        let connector = match entry.target {
            TargetState::Paused => info(State::Paused, None, reporter),
            TargetState::Stopped => info(State::Stopped, None, reporter),
            TargetState::Started => match (&self.statuses, &reported, &entry.failure) {
                (Some(_), Some(r), _) if r.state == State::Failed.as_str() => {
                    info(State::Failed, r.trace.clone(), &r.worker_id)
                }
                (None, _, Some(trace)) => info(State::Failed, Some(trace.clone()), me),
                _ => info(State::Running, None, reporter),
            },
        };
        let running: BTreeMap<u32, TaskState> = self.worker.task_states(name).into_iter().collect();
        let count = entry.tasks.len() as u32;
        let (held, start_errors): (Vec<bool>, BTreeMap<u32, String>) = {
            let local = self.local();
            let held = (0..count)
                .map(|id| local.placement.holds(name, Some(id), count as usize))
                .collect();
            let errors = local
                .tasks
                .iter()
                .filter(|((c, _), _)| c == name)
                .filter_map(|((_, id), t)| t.start_error.clone().map(|e| (*id, e)))
                .collect();
            (held, errors)
        };
        let tasks = (0..count)
            .map(|id| {
                let remote = self
                    .statuses
                    .as_ref()
                    .and_then(|s| s.task(name, id))
                    .filter(|r| r.worker_id != me && !r.worker_id.is_empty());
                let here = held[id as usize];
                let state = if entry.target == TargetState::Paused {
                    let worker = match (&remote, here) {
                        (Some(r), false) => r.worker_id.as_str(),
                        _ => me,
                    };
                    info(State::Paused, None, worker)
                } else if let Some(trace) = start_errors.get(&id) {
                    info(State::Failed, Some(trace.clone()), me)
                } else if let Some(state) = running.get(&id) {
                    match state {
                        TaskState::Running => info(State::Running, None, me),
                        TaskState::Failed(trace) => info(State::Failed, Some(trace.clone()), me),
                        TaskState::Stopped => info(State::Unassigned, None, me),
                    }
                } else if here {
                    info(State::Unassigned, None, me)
                } else if let Some(r) = remote {
                    info(State::parse(&r.state), r.trace.clone(), &r.worker_id)
                } else {
                    info(State::Unassigned, None, me)
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
    pub(crate) async fn create(
        self: &Arc<Self>,
        config: ConnectorConfig,
        initial: TargetState,
    ) -> Result<ConnectorInfo> {
        let _ops = self.ops.lock().await;
        let name = config.name.clone();
        if self
            .view
            .read()
            .expect("view lock")
            .entries
            .contains_key(&name)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("Connector {name} already exists"),
            ));
        }
        self.check(&config)?;
        let mut changes = vec![
            ConfigChange::Target {
                name: name.clone(),
                state: Some(initial),
            },
            ConfigChange::Connector {
                name: name.clone(),
                config: Some(config.config.clone()),
            },
        ];
        let mut failure = None;
        match initial {
            TargetState::Started => match self.worker.task_configs(&config).await {
                Ok(tasks) => changes.push(ConfigChange::Tasks {
                    name: name.clone(),
                    tasks,
                }),
                Err(error) => failure = Some(error),
            },
            TargetState::Paused => {
                // Paused tasks keep their configurations; they do not run.
                if let Ok(tasks) = self.worker.task_configs(&config).await {
                    changes.push(ConfigChange::Tasks {
                        name: name.clone(),
                        tasks,
                    });
                }
            }
            TargetState::Stopped => changes.push(ConfigChange::Tasks {
                name: name.clone(),
                tasks: Vec::new(),
            }),
        }
        self.commit(changes, true).await?;
        match failure {
            Some(error) => self.fail(&name, &error).await,
            None => {
                self.set_connector_state(&name, connector_state(initial), None)
                    .await
            }
        }
        tracing::info!(message = "connector created", connector = %name, state = initial.name());
        self.info(&name)
    }

    /// A fresh plan for `entry`: the changes committing it (an empty one on failure).
    async fn replan(&self, name: &str, entry: &Entry) -> (ConfigChange, Option<Error>) {
        match self.worker.task_configs(&entry.config).await {
            Ok(tasks) => (
                ConfigChange::Tasks {
                    name: name.to_string(),
                    tasks,
                },
                None,
            ),
            Err(error) => (
                ConfigChange::Tasks {
                    name: name.to_string(),
                    tasks: Vec::new(),
                },
                Some(error),
            ),
        }
    }

    /// `PUT /connectors/{name}/config`: creates or replaces. Returns whether it was created.
    pub(crate) async fn put(
        self: &Arc<Self>,
        config: ConnectorConfig,
    ) -> Result<(bool, ConnectorInfo)> {
        let name = config.name.clone();
        if self.entry(&name).is_err() {
            return Ok((true, self.create(config, TargetState::Started).await?));
        }
        let _ops = self.ops.lock().await;
        let connector_type = self.check(&config)?;
        let mut entry = self.entry(&name)?;
        entry.config = config.clone();
        entry.connector_type = connector_type;
        let mut changes = vec![ConfigChange::Connector {
            name: name.clone(),
            config: Some(config.config.clone()),
        }];
        let mut failure = None;
        if entry.target != TargetState::Stopped {
            let (plan, error) = self.replan(&name, &entry).await;
            changes.push(plan);
            failure = error;
        }
        self.commit(changes, true).await?;
        match failure {
            Some(error) => self.fail(&name, &error).await,
            None => {
                self.set_connector_state(&name, connector_state(entry.target), None)
                    .await
            }
        }
        Ok((false, self.info(&name)?))
    }

    /// `DELETE /connectors/{name}`: every worker stops its tasks (draining them) and forgets
    /// the connector; this worker's are stopped when the call returns.
    pub(crate) async fn delete(self: &Arc<Self>, name: &str) -> Result<()> {
        let _ops = self.ops.lock().await;
        let entry = self.entry(name)?;
        self.commit(
            vec![
                ConfigChange::Connector {
                    name: name.to_string(),
                    config: None,
                },
                ConfigChange::Target {
                    name: name.to_string(),
                    state: None,
                },
            ],
            true,
        )
        .await?;
        if let Some(statuses) = &self.statuses {
            let _ = statuses.remove(name, entry.tasks.len()).await;
        }
        for task in 0..entry.tasks.len() as u32 {
            crate::metrics::task_state_name(name, task, "");
        }
        Ok(())
    }

    /// `PUT /connectors/{name}/pause|resume|stop`. Stopping waits (a little) until no worker
    /// reports the connector's tasks running, so offsets can be changed right after.
    pub(crate) async fn set_target(
        self: &Arc<Self>,
        name: &str,
        target: TargetState,
    ) -> Result<()> {
        let _ops = self.ops.lock().await;
        let entry = self.entry(name)?;
        let failed = self.connector_failed(name, &entry);
        if entry.target == target && !failed {
            return Ok(());
        }
        let state = ConfigChange::Target {
            name: name.to_string(),
            state: Some(target),
        };
        let mut failure = None;
        let changes = match target {
            TargetState::Started => {
                // The plan first: the tasks start once, with it.
                let (plan, error) = self.replan(name, &entry).await;
                failure = error;
                vec![plan, state]
            }
            TargetState::Paused if entry.tasks.is_empty() => {
                match self.worker.task_configs(&entry.config).await {
                    Ok(tasks) => vec![
                        state,
                        ConfigChange::Tasks {
                            name: name.to_string(),
                            tasks,
                        },
                    ],
                    Err(_) => vec![state],
                }
            }
            TargetState::Paused => vec![state],
            TargetState::Stopped => vec![
                state,
                ConfigChange::Tasks {
                    name: name.to_string(),
                    tasks: Vec::new(),
                },
            ],
        };
        self.commit(changes, true).await?;
        match failure {
            Some(error) => self.fail(name, &error).await,
            None => {
                self.set_connector_state(name, connector_state(target), None)
                    .await
            }
        }
        if target == TargetState::Stopped
            && let Err(error) = self
                .wait_stopped_elsewhere(name, Duration::from_secs(15))
                .await
        {
            tracing::warn!(message = "connector stopped, but other workers still report tasks running", connector = %name, error = %error.trace());
        }
        Ok(())
    }

    /// `POST /connectors/{name}/restart`: re-plans the connector and, with `include_tasks`,
    /// restarts its tasks (only failed ones with `only_failed`) wherever they run. Returns the
    /// status with the restarted parts marked RESTARTING, as Connect answers.
    pub(crate) async fn restart(
        self: &Arc<Self>,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus> {
        let _ops = self.ops.lock().await;
        let mut status = self.status(name)?;
        let entry = self.entry(name)?;
        let connector_failed = status.connector.state == State::Failed;
        let restart_connector = !only_failed || connector_failed;
        let restart_tasks: Vec<u32> = if include_tasks {
            status
                .tasks
                .iter()
                .filter(|(_, s)| !only_failed || s.state == State::Failed)
                .map(|(id, _)| *id)
                .collect()
        } else {
            Vec::new()
        };
        if restart_connector {
            status.connector.state = State::Restarting;
            status.connector.trace = None;
        }
        for (id, state) in &mut status.tasks {
            if restart_tasks.contains(id) {
                state.state = State::Restarting;
                state.trace = None;
            }
        }
        if entry.target != TargetState::Started {
            return Ok(status);
        }
        if connector_failed || (restart_connector && include_tasks && !only_failed) {
            // A fresh plan and fresh tasks.
            let (plan, error) = self.replan(name, &entry).await;
            let restart = ConfigChange::Restart {
                name: name.to_string(),
                include_tasks: true,
                only_failed: false,
            };
            self.commit(vec![plan, restart], true).await?;
            match error {
                Some(error) => self.fail(name, &error).await,
                None => self.set_connector_state(name, State::Running, None).await,
            }
        } else if !restart_tasks.is_empty() {
            let restart = ConfigChange::Restart {
                name: name.to_string(),
                include_tasks,
                only_failed,
            };
            self.commit(vec![restart], true).await?;
        }
        Ok(status)
    }

    /// `POST /connectors/{name}/tasks/{id}/restart`, wherever the task runs.
    pub(crate) async fn restart_task(self: &Arc<Self>, name: &str, id: u32) -> Result<()> {
        let _ops = self.ops.lock().await;
        let entry = self.entry(name)?;
        if id as usize >= entry.tasks.len() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("Task {name}-{id} not found"),
            ));
        }
        if entry.target != TargetState::Started {
            return Ok(());
        }
        self.commit(
            vec![ConfigChange::RestartTask {
                name: name.to_string(),
                task: id,
            }],
            true,
        )
        .await?;
        tracing::info!(message = "task restart requested", connector = %name, task = id);
        Ok(())
    }

    /// The connector's configuration and whether it is stopped, for the offsets endpoints.
    /// The connector's configuration (resolved: the offsets APIs use its clients' settings),
    /// type, and whether it is stopped.
    pub(crate) fn offsets_target(
        &self,
        name: &str,
    ) -> Result<(ConnectorConfig, ConnectorType, bool)> {
        let entry = self.entry(name)?;
        Ok((
            self.worker.resolve(&entry.config)?,
            entry.connector_type,
            entry.target == TargetState::Stopped,
        ))
    }

    /// Serializes an offsets change with every other operation; fails unless the connector is
    /// stopped (KIP-875) and no worker still reports one of its tasks running.
    pub(crate) async fn with_stopped<T>(
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
        self.wait_stopped_elsewhere(name, Duration::from_secs(15))
            .await?;
        change(&config, connector_type).await
    }
}
