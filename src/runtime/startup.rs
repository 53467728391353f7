//! A worker's start-up as its REST API sees it. Connect serves REST from the first second and
//! holds a request that needs the herder until the herder can serve it (or the request times
//! out, after 90 s, with 500 and "Request timed out. The worker is currently <stage>, which
//! began at <instant>"), so a script that starts a worker and POSTs a connector at once just
//! works. [`Startup`] is that gate: the daemon reports each stage and finally the ready herder;
//! REST handlers wait on it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::herder::Herder;

/// Connect's REST request timeout (`RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS`).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// The stages, named as Connect's `DistributedHerder` names them in its time-out messages.
pub(crate) mod stage {
    pub(crate) const AWAITING_STARTUP: &str = "awaiting startup";
    pub(crate) const READING_CONFIG_TOPIC: &str = "reading to the end of the config topic";
    pub(crate) const ENSURING_MEMBERSHIP: &str = "ensuring membership in the cluster";
}

#[derive(Clone)]
enum Phase {
    Starting {
        stage: &'static str,
        since: SystemTime,
    },
    Ready(Arc<Herder>),
}

/// The gate between a starting worker and its REST API (cheap to clone).
#[derive(Clone)]
pub struct Startup {
    phase: Arc<tokio::sync::watch::Sender<Phase>>,
}

impl Default for Startup {
    fn default() -> Self {
        Startup::new()
    }
}

impl Startup {
    /// A worker that is awaiting start-up.
    pub fn new() -> Self {
        Startup {
            phase: Arc::new(tokio::sync::watch::Sender::new(Phase::Starting {
                stage: stage::AWAITING_STARTUP,
                since: SystemTime::now(),
            })),
        }
    }

    /// The worker entered `stage`.
    pub(crate) fn stage(&self, stage: &'static str) {
        self.phase.send_replace(Phase::Starting {
            stage,
            since: SystemTime::now(),
        });
    }

    /// The worker has read its topics, joined its group, been assigned its slots and restored
    /// its connectors: requests are served from now on.
    pub(crate) fn ready(&self, herder: Arc<Herder>) {
        self.phase.send_replace(Phase::Ready(herder));
    }

    /// The herder, if the worker is ready.
    pub fn herder_now(&self) -> Option<Arc<Herder>> {
        match &*self.phase.borrow() {
            Phase::Ready(herder) => Some(herder.clone()),
            Phase::Starting { .. } => None,
        }
    }

    /// The herder once the worker is ready; after `timeout`, Connect's time-out message naming
    /// the stage the worker is in.
    pub(crate) async fn herder(&self, timeout: Duration) -> Result<Arc<Herder>, String> {
        let mut phase = self.phase.subscribe();
        let ready = phase.wait_for(|p| matches!(p, Phase::Ready(_)));
        if let Ok(Ok(phase)) = tokio::time::timeout(timeout, ready).await
            && let Phase::Ready(herder) = &*phase
        {
            return Ok(herder.clone());
        }
        Err(self.timeout_message())
    }

    fn timeout_message(&self) -> String {
        match &*self.phase.borrow() {
            Phase::Starting { stage, since } => format!(
                "Request timed out. The worker is currently {stage}, which began at {}",
                iso_millis(*since)
            ),
            Phase::Ready(_) => "Request timed out.".into(),
        }
    }
}

/// Java's `Instant.toString()` at millisecond precision: `2025-10-14T15:25:01.075Z`.
fn iso_millis(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_times_out_naming_the_stage() {
        let startup = Startup::new();
        startup.stage(stage::ENSURING_MEMBERSHIP);
        let error = startup
            .herder(Duration::from_millis(20))
            .await
            .err()
            .unwrap();
        assert!(
            error.starts_with(
                "Request timed out. The worker is currently ensuring membership in the cluster, which began at 20"
            ),
            "{error}"
        );
        assert!(error.ends_with('Z'), "{error}");
        assert!(startup.herder_now().is_none());
    }

    #[test]
    fn instants_print_as_java_does() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_760_455_501_075);
        assert_eq!(iso_millis(at), "2025-10-14T15:25:01.075Z");
    }
}
