//! The cluster's connectors as the config topic describes them, and how each config-topic
//! record changes that picture. Pure: no I/O, no tasks; the herder applies records here and
//! then reconciles.
//!
//! Records may arrive in any order (Connect writes a connector's target state before its
//! configuration, and a plan's task records before its commit): a target state or a plan read
//! before its connector's configuration waits in `pending_*` until the configuration arrives.

use std::collections::BTreeMap;

use crate::config::ConnectorConfig;
use crate::connector::{ConnectorType, TaskConfig};
use crate::error::Result;
use crate::runtime::store::{ConfigChange, TargetState};

/// One connector as the herder knows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) config: ConnectorConfig,
    pub(crate) connector_type: ConnectorType,
    pub(crate) target: TargetState,
    /// Task configurations of the current committed plan (empty when stopped or failed).
    pub(crate) tasks: Vec<TaskConfig>,
    /// The connector configuration the plan was committed under: tasks restart when a new plan
    /// is committed, not when the connector's configuration record arrives.
    pub(crate) tasks_for: ConnectorConfig,
    /// Why the connector itself failed (its plan could not be made), without a status topic.
    pub(crate) failure: Option<String>,
}

/// A restart a record asks for; which local tasks it touches is the herder's to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RestartRequest {
    /// `restart-connector-<name>` with `includeTasks=true`.
    Tasks { name: String, only_failed: bool },
    /// `restart-task-<name>-<id>`.
    Task { name: String, task: u32 },
}

/// Every connector, and the records waiting for their connector's configuration.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub(crate) entries: BTreeMap<String, Entry>,
    pending_targets: BTreeMap<String, TargetState>,
    pending_tasks: BTreeMap<String, Vec<TaskConfig>>,
}

impl View {
    /// Applies one record's change. `check` validates a stored connector configuration and
    /// tells its type (a configuration it refuses is skipped with an error log, as Connect
    /// skips a connector it cannot load). Returns the restart the record asks for, if any.
    pub(super) fn apply(
        &mut self,
        change: ConfigChange,
        check: impl Fn(&ConnectorConfig) -> Result<ConnectorType>,
    ) -> Option<RestartRequest> {
        match change {
            ConfigChange::Connector {
                name,
                config: Some(map),
            } => {
                let checked = ConnectorConfig::from_map(Some(name.clone()), map)
                    .map_err(|e| crate::error::Error::config(e.to_string()))
                    .and_then(|config| check(&config).map(|t| (config, t)));
                let (config, connector_type) = match checked {
                    Ok(checked) => checked,
                    Err(error) => {
                        tracing::error!(message = "skipping a stored connector with a bad configuration", connector = %name, error = %error.trace());
                        return None;
                    }
                };
                match self.entries.get_mut(&name) {
                    Some(entry) => {
                        entry.config = config;
                        entry.connector_type = connector_type;
                    }
                    None => {
                        let target = self
                            .pending_targets
                            .remove(&name)
                            .unwrap_or(TargetState::Started);
                        let tasks = self.pending_tasks.remove(&name).unwrap_or_default();
                        self.entries.insert(
                            name,
                            Entry {
                                tasks_for: config.clone(),
                                config,
                                connector_type,
                                target,
                                tasks,
                                failure: None,
                            },
                        );
                    }
                }
            }
            ConfigChange::Connector { name, config: None } => {
                self.pending_targets.remove(&name);
                self.pending_tasks.remove(&name);
                if self.entries.remove(&name).is_some() {
                    tracing::info!(message = "connector deleted", connector = %name);
                }
            }
            ConfigChange::Target { name, state } => match (self.entries.get_mut(&name), state) {
                (Some(entry), state) => {
                    let state = state.unwrap_or(TargetState::Started);
                    if entry.target != state {
                        tracing::info!(message = "connector target state changed", connector = %name, state = state.name());
                    }
                    entry.target = state;
                }
                (None, Some(state)) => {
                    self.pending_targets.insert(name, state);
                }
                (None, None) => {
                    self.pending_targets.remove(&name);
                }
            },
            ConfigChange::Tasks { name, tasks } => match self.entries.get_mut(&name) {
                Some(entry) => {
                    entry.tasks = tasks;
                    entry.tasks_for = entry.config.clone();
                }
                None => {
                    self.pending_tasks.insert(name, tasks);
                }
            },
            ConfigChange::Restart {
                name,
                include_tasks: true,
                only_failed,
            } => return Some(RestartRequest::Tasks { name, only_failed }),
            ConfigChange::Restart { .. } => {}
            ConfigChange::RestartTask { name, task } => {
                return Some(RestartRequest::Task { name, task });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};

    fn config(name: &str, extra: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("connector.class".to_string(), "Dummy".to_string()),
            ("extra".to_string(), extra.to_string()),
        ])
    }

    fn task(n: &str) -> TaskConfig {
        BTreeMap::from([("task".to_string(), n.to_string())])
    }

    fn source(_: &ConnectorConfig) -> Result<ConnectorType> {
        Ok(ConnectorType::Source)
    }

    fn apply(view: &mut View, change: ConfigChange) -> Option<RestartRequest> {
        view.apply(change, source)
    }

    fn create(view: &mut View, name: &str) {
        // Connect's order: target state, configuration, task records with their commit.
        apply(
            view,
            ConfigChange::Target {
                name: name.into(),
                state: Some(TargetState::Started),
            },
        );
        apply(
            view,
            ConfigChange::Connector {
                name: name.into(),
                config: Some(config(name, "1")),
            },
        );
        apply(
            view,
            ConfigChange::Tasks {
                name: name.into(),
                tasks: vec![task("a"), task("b")],
            },
        );
    }

    #[test]
    fn create_records_make_an_entry() {
        let mut view = View::default();
        create(&mut view, "c");
        let entry = &view.entries["c"];
        assert_eq!(entry.target, TargetState::Started);
        assert_eq!(entry.tasks, vec![task("a"), task("b")]);
        assert_eq!(entry.tasks_for, entry.config);
        assert_eq!(entry.connector_type, ConnectorType::Source);
    }

    #[test]
    fn records_before_their_connector_wait_for_it() {
        let mut view = View::default();
        apply(
            &mut view,
            ConfigChange::Tasks {
                name: "c".into(),
                tasks: vec![task("a")],
            },
        );
        apply(
            &mut view,
            ConfigChange::Target {
                name: "c".into(),
                state: Some(TargetState::Paused),
            },
        );
        assert!(view.entries.is_empty());
        apply(
            &mut view,
            ConfigChange::Connector {
                name: "c".into(),
                config: Some(config("c", "1")),
            },
        );
        assert_eq!(view.entries["c"].target, TargetState::Paused);
        assert_eq!(view.entries["c"].tasks, vec![task("a")]);
    }

    #[test]
    fn a_reconfiguration_restarts_tasks_only_with_its_new_plan() {
        let mut view = View::default();
        create(&mut view, "c");
        let before = view.entries["c"].tasks_for.clone();
        apply(
            &mut view,
            ConfigChange::Connector {
                name: "c".into(),
                config: Some(config("c", "2")),
            },
        );
        let entry = &view.entries["c"];
        assert_eq!(entry.config.config["extra"], "2");
        assert_eq!(entry.tasks_for, before, "the old plan runs until a new one");
        apply(
            &mut view,
            ConfigChange::Tasks {
                name: "c".into(),
                tasks: vec![task("x")],
            },
        );
        let entry = &view.entries["c"];
        assert_eq!(entry.tasks, vec![task("x")]);
        assert_eq!(entry.tasks_for.config["extra"], "2");
    }

    #[test]
    fn pause_resume_and_stop_set_the_target() {
        let mut view = View::default();
        create(&mut view, "c");
        for state in [
            TargetState::Paused,
            TargetState::Started,
            TargetState::Stopped,
        ] {
            apply(
                &mut view,
                ConfigChange::Target {
                    name: "c".into(),
                    state: Some(state),
                },
            );
            assert_eq!(view.entries["c"].target, state);
        }
        // A deleted target state means started (Connect's default).
        apply(
            &mut view,
            ConfigChange::Target {
                name: "c".into(),
                state: None,
            },
        );
        assert_eq!(view.entries["c"].target, TargetState::Started);
    }

    #[test]
    fn a_tombstone_deletes_the_connector_and_what_waits_for_it() {
        let mut view = View::default();
        create(&mut view, "c");
        apply(
            &mut view,
            ConfigChange::Connector {
                name: "c".into(),
                config: None,
            },
        );
        assert!(view.entries.is_empty());
        apply(
            &mut view,
            ConfigChange::Target {
                name: "d".into(),
                state: Some(TargetState::Paused),
            },
        );
        apply(
            &mut view,
            ConfigChange::Connector {
                name: "d".into(),
                config: None,
            },
        );
        apply(
            &mut view,
            ConfigChange::Connector {
                name: "d".into(),
                config: Some(config("d", "1")),
            },
        );
        assert_eq!(
            view.entries["d"].target,
            TargetState::Started,
            "the deleted connector's pending state is gone"
        );
    }

    #[test]
    fn restart_records_ask_for_restarts() {
        let mut view = View::default();
        create(&mut view, "c");
        assert_eq!(
            apply(
                &mut view,
                ConfigChange::Restart {
                    name: "c".into(),
                    include_tasks: true,
                    only_failed: true
                }
            ),
            Some(RestartRequest::Tasks {
                name: "c".into(),
                only_failed: true
            })
        );
        assert_eq!(
            apply(
                &mut view,
                ConfigChange::Restart {
                    name: "c".into(),
                    include_tasks: false,
                    only_failed: false
                }
            ),
            None,
            "the connector alone restarts on its owner"
        );
        assert_eq!(
            apply(
                &mut view,
                ConfigChange::RestartTask {
                    name: "c".into(),
                    task: 1
                }
            ),
            Some(RestartRequest::Task {
                name: "c".into(),
                task: 1
            })
        );
    }

    #[test]
    fn a_configuration_the_worker_refuses_is_skipped() {
        let mut view = View::default();
        let refused = view.apply(
            ConfigChange::Connector {
                name: "c".into(),
                config: Some(config("c", "1")),
            },
            |_| Err(Error::new(ErrorKind::Config, "unknown class")),
        );
        assert_eq!(refused, None);
        assert!(view.entries.is_empty());
    }
}
