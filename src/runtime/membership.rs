//! Which worker of a cluster runs what, decided by Kafka's group membership (`sluice worker`).
//!
//! Every worker joins the consumer group `group.id` subscribed to the coordination topic
//! `<config.storage.topic>-assignments`, created with [`SLOTS`] partitions and never written.
//! Kafka's group coordinator tracks the members (heartbeats; a worker that stops heart-beating
//! is dropped after `session.timeout.ms`), and the group's assignor hands the topic's
//! partitions — *slots* — out among the members. A connector sits in slot `fnv1a(name) % slots`
//! and its tasks in slots spread around the ring from there (see [`slot`]). A worker runs the
//! tasks (and the connector's re-planning) whose slots it holds; a sink task's own consumer
//! group `connect-<name>` then balances topic partitions among the sink's tasks.
//!
//! The group uses Kafka's incremental cooperative protocol (the `cooperative-sticky` assignor,
//! KIP-429, the consumer-side twin of Connect's KIP-415): on a membership change only the slots
//! that move are released, each by its worker stopping (draining) their tasks before the slots
//! go to another worker, so a task never runs on two workers at once, the next worker resumes
//! from the offsets its predecessor stored, and tasks that stay put keep running.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::topic_partition_list::TopicPartitionList;
use tokio::sync::mpsc::UnboundedSender;

use crate::config::WorkerConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::admin::{TopicSpec, ensure_topic};
use crate::kafka::{ClientRole, client_config, kafka_error};
use crate::model::hash::fnv1a;

/// Partitions of the coordination topic when Sluice creates it. 60 divides evenly among 1–6,
/// 10, 12, 15, 20 and 30 workers. An existing topic's partition count is used as it is.
pub(crate) const SLOTS: i32 = 60;

/// The coordination topic of a cluster.
pub(crate) fn assignment_topic(worker: &WorkerConfig) -> String {
    format!("{}-assignments", worker.config_storage_topic)
}

/// The slot of a connector (`task: None`) or of its task `k` out of `tasks`. Task 0 shares the
/// connector's slot; task `k` sits `k` strides further (see [`stride`]).
pub(crate) fn slot(connector: &str, task: Option<u32>, tasks: usize, slots: i32) -> i32 {
    let slots = u64::from(slots.max(1).unsigned_abs());
    let base = u64::from(fnv1a(connector.as_bytes())) % slots;
    match task {
        None | Some(0) => base as i32,
        Some(k) => {
            let step = stride(base, tasks.max(k as usize + 1) as u64, slots);
            ((base + u64::from(k) * step) % slots) as i32
        }
    }
}

/// The distance between the slots of a connector's consecutive tasks: close to
/// `slots / tasks`, coprime to 2, 3 and 5 (so to 60: every task gets its own slot), and chosen
/// so that when as many workers as tasks split the slots, the tasks land on distinct workers in
/// both layouts the cooperative-sticky assignor produces: contiguous ranges (workers that
/// joined one after another) and round-robin (workers that joined together).
fn stride(base: u64, tasks: u64, slots: u64) -> u64 {
    if tasks <= 1 || tasks > slots {
        return 1;
    }
    let ideal = slots / tasks;
    let mut candidates: Vec<u64> = (1..slots)
        .filter(|s| s % 2 != 0 && s % 3 != 0 && s % 5 != 0)
        .collect();
    candidates.sort_by_key(|s| s.abs_diff(ideal));
    let distinct = |values: Vec<u64>| {
        let count = values.len();
        values.into_iter().collect::<BTreeSet<u64>>().len() == count
    };
    let spread = |step: u64| {
        let places: Vec<u64> = (0..tasks).map(|k| (base + k * step) % slots).collect();
        distinct(places.iter().map(|p| p / ideal).collect())
            && distinct(places.iter().map(|p| p % tasks).collect())
    };
    candidates
        .iter()
        .take(8)
        .copied()
        .find(|step| spread(*step))
        .or_else(|| candidates.first().copied())
        .unwrap_or(1)
}

/// A change of the slots this worker holds.
#[derive(Debug)]
pub(crate) enum Change {
    /// The worker now holds exactly these slots.
    Assigned(BTreeSet<i32>),
    /// The worker is giving these slots up: stop their tasks, then signal `done` (the worker
    /// rejoins the group only then, so nobody else starts them before they stopped).
    Revoked {
        slots: BTreeSet<i32>,
        done: std::sync::mpsc::Sender<()>,
    },
}

struct Context {
    topic: String,
    changes: UnboundedSender<Change>,
    revoke_timeout: Duration,
}

impl Context {
    fn slots(&self, list: &TopicPartitionList) -> BTreeSet<i32> {
        list.elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition())
            .collect()
    }
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                let slots = self.slots(list);
                if slots.is_empty() {
                    return;
                }
                tracing::info!(
                    message = "worker group rebalance: releasing slots",
                    slots = slots.len()
                );
                let (done, stopped) = std::sync::mpsc::channel();
                if self.changes.send(Change::Revoked { slots, done }).is_ok()
                    && let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                        stopped.recv_timeout(self.revoke_timeout)
                {
                    tracing::warn!(
                        message = "tasks did not stop within the rebalance timeout; rejoining the worker group anyway"
                    );
                }
            }
            Rebalance::Error(error) => {
                tracing::warn!(message = "worker group rebalance failed", error = %error);
            }
            Rebalance::Assign(_) => {}
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) = rebalance {
            match consumer.assignment() {
                Ok(list) => {
                    let slots = self.slots(&list);
                    tracing::info!(
                        message = "worker group rebalance: holding slots",
                        slots = slots.len()
                    );
                    let _ = self.changes.send(Change::Assigned(slots));
                }
                Err(error) => {
                    tracing::warn!(message = "cannot read the worker group assignment", error = %error);
                }
            }
        }
    }
}

/// This worker's membership of its cluster's group; leaves the group when dropped.
pub(crate) struct Membership {
    slots: i32,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Membership {
    /// Creates the coordination topic when absent and joins the group. Slot changes arrive on
    /// `changes` (the first once the group has formed: a few seconds).
    pub(crate) async fn join(
        worker: &WorkerConfig,
        worker_id: &str,
        changes: UnboundedSender<Change>,
    ) -> Result<Membership> {
        let topic = assignment_topic(worker);
        let admin = crate::kafka::admin::admin_client(worker)?;
        ensure_topic(
            &admin,
            &TopicSpec {
                name: &topic,
                partitions: SLOTS,
                replication_factor: i32::from(worker.config_storage_replication_factor),
                configs: &[],
            },
        )
        .await?;
        let timing = worker.group_timing;
        let revoke_timeout = Duration::from_millis(
            u64::try_from(timing.rebalance_timeout_ms)
                .unwrap_or_default()
                .saturating_sub(5_000)
                .max(1_000),
        );
        let consumer: BaseConsumer<Context> =
            client_config(worker, ClientRole::Consumer, &[], &Default::default())
                .set("group.id", &worker.group_id)
                .set("client.id", format!("sluice-worker-{worker_id}"))
                .set("partition.assignment.strategy", "cooperative-sticky")
                .set("session.timeout.ms", timing.session_timeout_ms.to_string())
                .set(
                    "heartbeat.interval.ms",
                    timing.heartbeat_interval_ms.to_string(),
                )
                // librdkafka's rebalance timeout: how long the group waits for a member to
                // release its slots (drain its tasks) and rejoin.
                .set(
                    "max.poll.interval.ms",
                    timing.rebalance_timeout_ms.to_string(),
                )
                .set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false")
                .set("enable.partition.eof", "false")
                .set("auto.offset.reset", "latest")
                .create_with_context(Context {
                    topic: topic.clone(),
                    changes,
                    revoke_timeout,
                })
                .map_err(|e| kafka_error(e, "cannot create the worker group member"))?;
        let (consumer, slots) = tokio::task::spawn_blocking(move || {
            let metadata = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(30))
                .map_err(|e| kafka_error(e, format!("cannot read metadata of {topic}")))?;
            let slots = metadata
                .topics()
                .iter()
                .map(|t| t.partitions().len() as i32)
                .sum::<i32>();
            if slots == 0 {
                return Err(Error::new(
                    ErrorKind::Kafka,
                    format!("the worker group's topic {topic} has no partitions"),
                ));
            }
            consumer
                .subscribe(&[&topic])
                .map_err(|e| kafka_error(e, format!("cannot join the worker group on {topic}")))?;
            Ok((consumer, slots))
        })
        .await
        .map_err(|e| Error::with_source(ErrorKind::Internal, "group join panicked", e))??;
        let stop = Arc::new(AtomicBool::new(false));
        let running = stop.clone();
        let thread = std::thread::Builder::new()
            .name("worker-group".into())
            .spawn(move || {
                while !running.load(Ordering::Relaxed) {
                    // Serves the rebalance callbacks; the topic holds no records.
                    if let Some(Err(error)) = consumer.poll(Duration::from_millis(200)) {
                        tracing::debug!(message = "worker group", error = %error);
                    }
                }
                // Dropping the consumer leaves the group (releasing the slots first).
                drop(consumer);
            })
            .map_err(|e| Error::with_source(ErrorKind::Io, "cannot start the group member", e))?;
        tracing::info!(message = "joining the worker group", group = %worker.group_id, slots);
        Ok(Membership {
            slots,
            stop,
            thread: Some(thread),
        })
    }

    /// How many slots the cluster has.
    pub(crate) fn slots(&self) -> i32 {
        self.slots
    }

    /// Leaves the group, so the other workers take this worker's slots over at once.
    pub(crate) async fn leave(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_stable_and_spread() {
        // FNV-1a test vectors.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        let base = slot("orders", None, 2, SLOTS);
        assert_eq!(slot("orders", Some(0), 2, SLOTS), base);
        assert!((0..SLOTS).contains(&slot("x", Some(u32::MAX), 1, SLOTS)));
        // Two tasks on two workers, whichever way the workers split the 60 slots: halves or
        // odd/even. Three tasks on three workers likewise.
        for name in (0..500).map(|i| format!("connector-{i}")) {
            let two: Vec<i32> = (0..2).map(|k| slot(&name, Some(k), 2, SLOTS)).collect();
            assert_ne!(two[0] / 30, two[1] / 30, "{name}: {two:?}");
            assert_ne!(two[0] % 2, two[1] % 2, "{name}: {two:?}");
            let three: Vec<i32> = (0..3).map(|k| slot(&name, Some(k), 3, SLOTS)).collect();
            let halves: BTreeSet<i32> = three.iter().map(|s| s / 20).collect();
            let thirds: BTreeSet<i32> = three.iter().map(|s| s % 3).collect();
            assert_eq!((halves.len(), thirds.len()), (3, 3), "{name}: {three:?}");
            let many: BTreeSet<i32> = (0..60).map(|k| slot(&name, Some(k), 60, SLOTS)).collect();
            assert_eq!(many.len(), 60, "{name}: one slot per task");
        }
    }
}
