//! Reconciling: which tasks this worker should run, given the cluster's connectors
//! ([`super::view`]), the slots it holds ([`Placement`]) and what it runs now ([`Local`]).
//! [`plan`] is pure — it decides; the herder then stops, starts and reports.

use std::collections::{BTreeMap, BTreeSet};

use tokio_util::sync::CancellationToken;

use super::view::Entry;
use crate::config::ConnectorConfig;
use crate::connector::TaskConfig;
use crate::runtime::membership::slot;
use crate::runtime::store::{ConfigReader, TargetState};

/// Which connectors and tasks this worker runs.
pub(super) enum Placement {
    /// Everything (a worker on its own).
    All,
    /// Those in the slots it holds in its cluster's group.
    Slots { slots: i32, held: BTreeSet<i32> },
}

impl Placement {
    /// Whether this worker runs the connector (`task: None`) or its task `k` of `tasks`.
    pub(super) fn holds(&self, connector: &str, task: Option<u32>, tasks: usize) -> bool {
        match self {
            Placement::All => true,
            Placement::Slots { slots, held } => {
                held.contains(&slot(connector, task, tasks, *slots))
            }
        }
    }
}

/// A task this worker started.
pub(super) struct LocalTask {
    pub(super) connector: ConnectorConfig,
    pub(super) config: TaskConfig,
    /// Why the task could not be created.
    pub(super) start_error: Option<String>,
}

/// A connector this worker owns (re-plans and reports).
pub(super) struct Owned {
    pub(super) config: ConnectorConfig,
    pub(super) target: TargetState,
    pub(super) cancel: CancellationToken,
}

/// What this worker runs, changed only with `Herder::applying` held.
pub(super) struct Local {
    pub(super) placement: Placement,
    pub(super) reader: ConfigReader,
    pub(super) tasks: BTreeMap<(String, u32), LocalTask>,
    pub(super) owned: BTreeMap<String, Owned>,
    /// Tasks of paused connectors reported PAUSED.
    pub(super) paused: BTreeSet<(String, u32)>,
}

/// What a reconciliation does once the local state is computed.
pub(super) struct Plan {
    pub(super) stop: Vec<(String, u32)>,
    pub(super) start: Vec<((String, u32), ConnectorConfig, TaskConfig)>,
    pub(super) owners: Vec<(String, ConnectorConfig, TargetState, CancellationToken)>,
    pub(super) paused: Vec<(String, u32)>,
    pub(super) unpaused: Vec<(String, u32)>,
}

/// What this worker should change so that it runs exactly its share of `entries`: tasks to
/// stop (no longer here, re-planned, or in `restarts`) and start, connectors it now owns,
/// tasks newly paused or no longer paused. Updates `local`'s owned connectors and paused set.
pub(super) fn plan(
    entries: &BTreeMap<String, Entry>,
    local: &mut Local,
    restarts: &BTreeSet<(String, u32)>,
) -> Plan {
    let mut desired: BTreeMap<(String, u32), (&ConnectorConfig, &TaskConfig)> = BTreeMap::new();
    for (name, entry) in entries {
        if entry.target != TargetState::Started {
            continue;
        }
        for (id, config) in entry.tasks.iter().enumerate() {
            let id = id as u32;
            if local.placement.holds(name, Some(id), entry.tasks.len()) {
                desired.insert((name.clone(), id), (&entry.tasks_for, config));
            }
        }
    }
    let stop: Vec<(String, u32)> = local
        .tasks
        .iter()
        .filter(|(key, task)| {
            restarts.contains(*key)
                || desired.get(*key).is_none_or(|(connector, config)| {
                    **connector != task.connector || **config != task.config
                })
        })
        .map(|(key, _)| key.clone())
        .collect();
    let start = desired
        .into_iter()
        .filter(|(key, _)| !local.tasks.contains_key(key) || stop.contains(key))
        .map(|(key, (connector, config))| (key, connector.clone(), config.clone()))
        .collect();
    let released: Vec<String> = local
        .owned
        .iter()
        .filter(|(name, owned)| {
            entries.get(*name).is_none_or(|e| {
                e.config != owned.config
                    || e.target != owned.target
                    || !local.placement.holds(name, None, 0)
            })
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in released {
        if let Some(owned) = local.owned.remove(&name) {
            owned.cancel.cancel();
        }
    }
    let mut owners = Vec::new();
    for (name, entry) in entries {
        if local.placement.holds(name, None, 0) && !local.owned.contains_key(name) {
            let cancel = CancellationToken::new();
            local.owned.insert(
                name.clone(),
                Owned {
                    config: entry.config.clone(),
                    target: entry.target,
                    cancel: cancel.clone(),
                },
            );
            owners.push((name.clone(), entry.config.clone(), entry.target, cancel));
        }
    }
    let mut paused_now = BTreeSet::new();
    for (name, entry) in entries {
        if entry.target == TargetState::Paused {
            for id in 0..entry.tasks.len() as u32 {
                if local.placement.holds(name, Some(id), entry.tasks.len()) {
                    paused_now.insert((name.clone(), id));
                }
            }
        }
    }
    let paused = paused_now.difference(&local.paused).cloned().collect();
    let unpaused = local.paused.difference(&paused_now).cloned().collect();
    local.paused = paused_now;
    Plan {
        stop,
        start,
        owners,
        paused,
        unpaused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::ConnectorType;

    fn connector(name: &str, version: &str) -> ConnectorConfig {
        ConnectorConfig {
            name: name.into(),
            config: BTreeMap::from([
                ("name".to_string(), name.to_string()),
                ("version".to_string(), version.to_string()),
            ]),
        }
    }

    fn entry(name: &str, version: &str, tasks: usize, target: TargetState) -> Entry {
        let config = connector(name, version);
        Entry {
            tasks_for: config.clone(),
            config,
            connector_type: ConnectorType::Source,
            target,
            tasks: (0..tasks)
                .map(|t| BTreeMap::from([("task".to_string(), t.to_string())]))
                .collect(),
            failure: None,
        }
    }

    fn local(placement: Placement) -> Local {
        Local {
            placement,
            reader: ConfigReader::default(),
            tasks: BTreeMap::new(),
            owned: BTreeMap::new(),
            paused: BTreeSet::new(),
        }
    }

    /// What the herder does with a plan's starts and stops.
    fn carry_out(local: &mut Local, plan: &Plan) {
        for key in &plan.stop {
            local.tasks.remove(key);
        }
        for (key, connector, config) in &plan.start {
            local.tasks.insert(
                key.clone(),
                LocalTask {
                    connector: connector.clone(),
                    config: config.clone(),
                    start_error: None,
                },
            );
        }
    }

    fn keys(list: &[(String, u32)]) -> Vec<(&str, u32)> {
        list.iter().map(|(n, t)| (n.as_str(), *t)).collect()
    }

    /// Connector `c` with `tasks` tasks, started on this worker: its config entries, the local
    /// state after the first plan was carried out, and that plan.
    fn running(tasks: usize) -> (BTreeMap<String, Entry>, Local, Plan) {
        let entries = BTreeMap::from([(
            "c".to_string(),
            entry("c", "1", tasks, TargetState::Started),
        )]);
        let mut local = local(Placement::All);
        let first = plan(&entries, &mut local, &BTreeSet::new());
        carry_out(&mut local, &first);
        (entries, local, first)
    }

    fn started(plan: &Plan) -> Vec<(&str, u32)> {
        plan.start
            .iter()
            .map(|((n, t), _, _)| (n.as_str(), *t))
            .collect()
    }

    #[test]
    fn a_created_connector_starts_its_tasks_once() {
        let entries = BTreeMap::from([("c".to_string(), entry("c", "1", 2, TargetState::Started))]);
        let mut local = local(Placement::All);
        let first = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(started(&first), [("c", 0), ("c", 1)]);
        assert!(first.stop.is_empty());
        assert_eq!(first.owners.len(), 1, "the worker owns the connector");
        carry_out(&mut local, &first);
        let again = plan(&entries, &mut local, &BTreeSet::new());
        assert!(again.start.is_empty() && again.stop.is_empty() && again.owners.is_empty());
    }

    #[test]
    fn a_new_plan_restarts_every_task_and_the_owner() {
        let (mut entries, mut local, first) = running(2);
        let owner = first.owners[0].3.clone();
        entries.insert("c".into(), entry("c", "2", 1, TargetState::Started));
        let second = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(keys(&second.stop), [("c", 0), ("c", 1)]);
        assert_eq!(started(&second), [("c", 0)]);
        assert!(owner.is_cancelled(), "the old owner stops re-planning");
        assert_eq!(second.owners.len(), 1);
    }

    #[test]
    fn pause_stops_and_reports_tasks_resume_starts_them() {
        let (mut entries, mut local, _) = running(1);
        entries.get_mut("c").unwrap().target = TargetState::Paused;
        let paused = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(keys(&paused.stop), [("c", 0)]);
        assert_eq!(keys(&paused.paused), [("c", 0)]);
        carry_out(&mut local, &paused);
        entries.get_mut("c").unwrap().target = TargetState::Started;
        let resumed = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(started(&resumed), [("c", 0)]);
        assert_eq!(keys(&resumed.unpaused), [("c", 0)]);
        carry_out(&mut local, &resumed);
        entries.get_mut("c").unwrap().target = TargetState::Stopped;
        let stopped = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(keys(&stopped.stop), [("c", 0)]);
        assert!(stopped.start.is_empty() && stopped.paused.is_empty());
    }

    #[test]
    fn a_restart_stops_and_starts_the_task() {
        let (entries, mut local, _) = running(2);
        let restart = plan(
            &entries,
            &mut local,
            &BTreeSet::from([("c".to_string(), 1)]),
        );
        assert_eq!(keys(&restart.stop), [("c", 1)]);
        assert_eq!(started(&restart), [("c", 1)]);
    }

    #[test]
    fn a_deleted_connector_stops_its_tasks_and_owner() {
        let (_, mut local, first) = running(1);
        let deleted = plan(&BTreeMap::new(), &mut local, &BTreeSet::new());
        assert_eq!(keys(&deleted.stop), [("c", 0)]);
        assert!(first.owners[0].3.is_cancelled());
        assert!(local.owned.is_empty());
    }

    #[test]
    fn only_the_tasks_in_held_slots_run_here() {
        let slots = 60;
        let entries = BTreeMap::from([("c".to_string(), entry("c", "1", 3, TargetState::Started))]);
        let task1 = slot("c", Some(1), 3, slots);
        let mut local = local(Placement::Slots {
            slots,
            held: BTreeSet::from([task1]),
        });
        let here = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(started(&here), [("c", 1)]);
        let owns = local.placement.holds("c", None, 0);
        assert_eq!(here.owners.len(), usize::from(owns));
        // The slot moves away: the task stops here.
        local.placement = Placement::Slots {
            slots,
            held: BTreeSet::new(),
        };
        carry_out(&mut local, &here);
        let moved = plan(&entries, &mut local, &BTreeSet::new());
        assert_eq!(keys(&moved.stop), [("c", 1)]);
        assert!(moved.start.is_empty());
    }
}
