//! A connector's or task's state, by Connect's names (`AbstractStatus.State`), as
//! `GET /connectors/{name}/status`, the status topic and the `sluice_task_state` metric show it.

/// Connect's connector and task states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum State {
    /// Not running anywhere (not yet assigned, or stopped by its worker).
    Unassigned,
    Running,
    /// Its connector is paused.
    Paused,
    /// Failed; the status carries the trace.
    Failed,
    /// A restart was requested and has not completed.
    Restarting,
    /// Its connector is stopped (connectors only).
    Stopped,
}

impl State {
    /// Connect's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
        }
    }

    /// A state read from the status topic; a name this version does not know (another
    /// worker's, such as Connect's internal `DESTROYED`) reads as unassigned.
    pub(crate) fn parse(name: &str) -> State {
        match name {
            "RUNNING" => State::Running,
            "PAUSED" => State::Paused,
            "FAILED" => State::Failed,
            "RESTARTING" => State::Restarting,
            "STOPPED" => State::Stopped,
            _ => State::Unassigned,
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in [
            State::Unassigned,
            State::Running,
            State::Paused,
            State::Failed,
            State::Restarting,
            State::Stopped,
        ] {
            assert_eq!(State::parse(state.as_str()), state);
        }
        assert_eq!(State::parse("DESTROYED"), State::Unassigned);
    }
}
