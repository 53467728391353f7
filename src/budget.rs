//! The worker's memory budget (`sluice.memory.budget.bytes`): every batch waiting between two
//! stages holds a [`Reservation`] of its bytes, taken before it is read on and released (by
//! drop) once the next stage has handed it on. Each running pipeline gets an equal [`Share`];
//! a pipeline that would go over its share (or the worker over the budget) pauses reading until
//! it is back under three quarters of its share (hysteresis), so memory follows bytes, not rows.
//!
//! Nothing is ever dropped: a pipeline holding nothing may always take one batch, so a single
//! record larger than the budget still passes, alone. The budget bounds the batches queued
//! between stages; librdkafka's own queues are sized from the share by the Kafka stage.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use crate::metrics as m;

/// A batch's share of its pipeline's share: readers hand a batch on at this many bytes (or at
/// their row limit, whichever comes first), so several batches fit in flight.
const BATCHES_PER_SHARE: usize = 8;

/// The smallest batch byte limit, so a tiny budget still moves rows in useful batches.
const MIN_BATCH_BYTES: usize = 64 << 10;

/// The worker-wide budget.
pub(crate) struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
    pipelines: AtomicUsize,
    released: Notify,
    in_use: metrics::Gauge,
}

impl MemoryBudget {
    pub(crate) fn new(limit: u64) -> Arc<MemoryBudget> {
        metrics::gauge!(m::MEMORY_BUDGET_BYTES).set(limit as f64);
        Arc::new(MemoryBudget {
            limit: usize::try_from(limit).unwrap_or(usize::MAX).max(1),
            used: AtomicUsize::new(0),
            pipelines: AtomicUsize::new(0),
            released: Notify::new(),
            in_use: metrics::gauge!(m::MEMORY_IN_USE_BYTES),
        })
    }

    /// A share for one more pipeline (a task), labelled for its metrics; the shares of the
    /// others shrink to make room.
    pub(crate) fn share(self: &Arc<Self>, connector: &str, task: u32) -> Share {
        self.pipelines.fetch_add(1, Ordering::Relaxed);
        let labels = [
            (m::LABEL_CONNECTOR, connector.to_string()),
            (m::LABEL_TASK, task.to_string()),
        ];
        Share(Arc::new(ShareState {
            budget: self.clone(),
            used: AtomicUsize::new(0),
            paused: Mutex::new(false),
            pauses: metrics::histogram!(m::PIPELINE_PAUSE_SECONDS, &labels),
            labels,
        }))
    }

    /// Bytes reserved now, by every pipeline.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// One pipeline's share of the budget. Cloned into each of its stages.
#[derive(Clone)]
pub(crate) struct Share(Arc<ShareState>);

struct ShareState {
    budget: Arc<MemoryBudget>,
    used: AtomicUsize,
    /// Over the share: waits until back under the low mark.
    paused: Mutex<bool>,
    pauses: metrics::Histogram,
    labels: [(&'static str, String); 2],
}

impl Drop for ShareState {
    fn drop(&mut self) {
        self.budget.pipelines.fetch_sub(1, Ordering::Relaxed);
        self.budget.released.notify_waiters();
    }
}

impl Share {
    /// This pipeline's share now: the budget split evenly over the running pipelines.
    pub(crate) fn limit(&self) -> usize {
        let budget = &self.0.budget;
        budget.limit / budget.pipelines.load(Ordering::Relaxed).max(1)
    }

    /// The byte limit of one batch.
    pub(crate) fn batch_bytes(&self) -> usize {
        (self.limit() / BATCHES_PER_SHARE).max(MIN_BATCH_BYTES)
    }

    /// Bytes this pipeline holds now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    /// Reserves `bytes`, waiting while the pipeline is over its share or the worker over the
    /// budget. Granted at once when the pipeline holds nothing, whatever the size.
    pub(crate) async fn reserve(&self, bytes: usize, stage: &'static str) -> Reservation {
        let state = &self.0;
        let budget = &state.budget;
        let mut waited: Option<Instant> = None;
        loop {
            let released = budget.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.try_reserve(bytes) {
                if let Some(started) = waited {
                    state.pauses.record(started.elapsed().as_secs_f64());
                }
                return self.granted(bytes, stage);
            }
            waited.get_or_insert_with(Instant::now);
            released.await;
        }
    }

    fn try_reserve(&self, bytes: usize) -> bool {
        let state = &self.0;
        let budget = &state.budget;
        let mut paused = state.paused.lock().expect("budget lock");
        let used = state.used.load(Ordering::Acquire);
        let limit = self.limit();
        let fits = used == 0
            || (used + bytes <= limit
                && budget.used.load(Ordering::Acquire) + bytes <= budget.limit
                && (!*paused || used <= limit / 4 * 3));
        *paused = !fits;
        if fits {
            state.used.fetch_add(bytes, Ordering::AcqRel);
            budget.used.fetch_add(bytes, Ordering::AcqRel);
        }
        fits
    }

    fn granted(&self, bytes: usize, stage: &'static str) -> Reservation {
        let budget = &self.0.budget;
        budget.in_use.set(budget.used() as f64);
        let gauge = self.stage_gauge(stage);
        gauge.increment(bytes as f64);
        Reservation {
            share: self.clone(),
            bytes,
            gauge,
        }
    }

    fn stage_gauge(&self, stage: &'static str) -> metrics::Gauge {
        let labels = &self.0.labels;
        metrics::gauge!(
            m::PIPELINE_BUFFERED_BYTES,
            m::LABEL_CONNECTOR => labels[0].1.clone(),
            m::LABEL_TASK => labels[1].1.clone(),
            m::LABEL_STAGE => stage
        )
    }
}

/// Bytes held by one batch; released when dropped.
pub(crate) struct Reservation {
    share: Share,
    bytes: usize,
    gauge: metrics::Gauge,
}

impl Reservation {
    /// The batch moved on to `stage` (for the per-stage gauge).
    pub(crate) fn moved_to(&mut self, stage: &'static str) {
        self.gauge.decrement(self.bytes as f64);
        self.gauge = self.share.stage_gauge(stage);
        self.gauge.increment(self.bytes as f64);
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes over `other`'s bytes: one reservation for batches merged into one.
    pub(crate) fn absorb(&mut self, mut other: Reservation) {
        let bytes = std::mem::take(&mut other.bytes);
        other.gauge.decrement(bytes as f64);
        self.gauge.increment(bytes as f64);
        self.bytes += bytes;
    }

    /// The batch now holds `bytes` (it changed form, e.g. rows encoded into JSON). Never waits:
    /// the memory is already taken, and a pipeline over its share pauses on its next
    /// [`Share::reserve`].
    pub(crate) fn resize(&mut self, bytes: usize) {
        let state = &self.share.0;
        let budget = &state.budget;
        if bytes >= self.bytes {
            let more = bytes - self.bytes;
            state.used.fetch_add(more, Ordering::AcqRel);
            budget.used.fetch_add(more, Ordering::AcqRel);
            self.gauge.increment(more as f64);
        } else {
            let less = self.bytes - bytes;
            state.used.fetch_sub(less, Ordering::AcqRel);
            budget.used.fetch_sub(less, Ordering::AcqRel);
            self.gauge.decrement(less as f64);
            budget.released.notify_waiters();
        }
        budget.in_use.set(budget.used() as f64);
        self.bytes = bytes;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.resize(0);
    }
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reservation({} bytes)", self.bytes)
    }
}

/// Emptied buffers a later stage hands back to an earlier one, so a pipeline reuses warm
/// memory instead of allocating a fresh buffer per batch. Once the allocator has returned a
/// freed buffer's pages to the system, the kernel faults in and zeroes them again for the next
/// one: on 30-column rows, with freed memory returned at once, that was a fifth of the reader's
/// and the encoder's time (BENCHMARKS.md). At most `count` buffers are kept, none above
/// `max_capacity` elements; what does not fit is freed.
pub(crate) struct Spares<T> {
    tx: crossbeam_channel::Sender<Vec<T>>,
    rx: crossbeam_channel::Receiver<Vec<T>>,
    max_capacity: usize,
}

impl<T> Clone for Spares<T> {
    fn clone(&self) -> Self {
        Spares {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            max_capacity: self.max_capacity,
        }
    }
}

/// Keeps nothing: every buffer given is freed.
impl<T> Default for Spares<T> {
    fn default() -> Self {
        Spares::new(0, 0)
    }
}

impl<T> Spares<T> {
    pub(crate) fn new(count: usize, max_capacity: usize) -> Spares<T> {
        let (tx, rx) = crossbeam_channel::bounded(count);
        Spares {
            tx,
            rx,
            max_capacity,
        }
    }

    /// An empty buffer with room for at least `capacity` elements: a spare when one is kept.
    pub(crate) fn take(&self, capacity: usize) -> Vec<T> {
        let mut buffer = self.rx.try_recv().unwrap_or_default();
        buffer.reserve(capacity);
        buffer
    }

    /// Empties `buffer` and keeps it for a later [`Spares::take`], if there is room.
    pub(crate) fn give(&self, mut buffer: Vec<T>) {
        if buffer.capacity() > 0 && buffer.capacity() <= self.max_capacity {
            buffer.clear();
            let _ = self.tx.try_send(buffer);
        }
    }
}

impl<T> std::fmt::Debug for Spares<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spares({} kept)", self.rx.len())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::task::JoinHandle;

    use super::*;

    /// Reserves `bytes` in the background: the handle finishes once the reservation is granted.
    fn reserve_later(share: &Share, bytes: usize) -> JoinHandle<Reservation> {
        let share = share.clone();
        tokio::spawn(async move { share.reserve(bytes, "read").await })
    }

    /// The reservation of a waiting [`reserve_later`], once granted.
    async fn granted(waiting: JoinHandle<Reservation>) -> Reservation {
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the reservation is granted")
            .unwrap()
    }

    #[tokio::test]
    async fn a_pipeline_pauses_over_its_share_and_resumes_under_the_low_mark() {
        let budget = MemoryBudget::new(1000);
        let share = budget.share("c", 0);
        assert_eq!(share.limit(), 1000);
        let a = share.reserve(400, "read").await;
        let b = share.reserve(400, "read").await;
        // 400 more would pass 1000: it waits.
        let waiting = reserve_later(&share, 400);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        // 400 held: under the share with 400 more, and under the low mark (750).
        drop(a);
        let c = granted(waiting).await;
        assert_eq!(share.used(), 800);
        assert_eq!(budget.used(), 800);
        drop((b, c));
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn hysteresis_holds_a_paused_pipeline_until_the_low_mark() {
        let budget = MemoryBudget::new(1000);
        let share = budget.share("c", 0);
        let big = share.reserve(800, "read").await;
        let small = share.reserve(150, "read").await;
        // 100 does not fit: paused.
        let waiting = reserve_later(&share, 100);
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(small);
        // 800 held: 100 more would fit, but 800 is above the low mark (750).
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(big);
        granted(waiting).await;
    }

    #[tokio::test]
    async fn a_record_larger_than_the_budget_passes_alone() {
        let budget = MemoryBudget::new(100);
        let share = budget.share("c", 0);
        let huge = share.reserve(10_000, "read").await;
        assert_eq!(huge.bytes(), 10_000);
        let waiting = reserve_later(&share, 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(huge);
        granted(waiting).await;
    }

    #[tokio::test]
    async fn pipelines_split_the_budget() {
        let budget = MemoryBudget::new(1000);
        let one = budget.share("a", 0);
        let two = budget.share("b", 0);
        assert_eq!(one.limit(), 500);
        let _held = one.reserve(500, "read").await;
        let waiting = reserve_later(&one, 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        // The other pipeline still has its own half.
        let other = two.reserve(500, "read").await;
        drop((other, two));
        assert_eq!(one.limit(), 1000);
        waiting.abort();
    }

    #[tokio::test]
    async fn merged_and_resized_reservations_count_what_the_batch_holds_now() {
        let budget = MemoryBudget::new(1000);
        let share = budget.share("c", 0);
        let mut a = share.reserve(100, "read").await;
        let b = share.reserve(200, "read").await;
        a.absorb(b);
        assert_eq!((a.bytes(), share.used(), budget.used()), (300, 300, 300));
        // Encoded, the batch is bigger than the budget: counted, and the next reader waits.
        a.resize(1200);
        assert_eq!((share.used(), budget.used()), (1200, 1200));
        let waiting = reserve_later(&share, 10);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        // Shrunk under the low mark, the reader goes on.
        a.resize(100);
        let c = granted(waiting).await;
        drop((a, c));
        assert_eq!((share.used(), budget.used()), (0, 0));
    }

    #[test]
    fn spares_keep_emptied_buffers_up_to_their_count_and_capacity() {
        let spares: Spares<u8> = Spares::new(1, 64);
        let mut buffer = spares.take(16);
        assert!(buffer.capacity() >= 16);
        buffer.extend_from_slice(b"abc");
        let pointer = buffer.as_ptr();
        spares.give(buffer);
        // The same memory comes back, empty.
        let again = spares.take(8);
        assert_eq!((again.as_ptr(), again.len()), (pointer, 0));
        // One is kept at most; a buffer above the capacity limit is not kept.
        spares.give(Vec::with_capacity(32));
        spares.give(Vec::with_capacity(32));
        assert_eq!(spares.rx.len(), 1);
        let _ = spares.take(0);
        spares.give(Vec::with_capacity(128));
        assert_eq!(spares.rx.len(), 0);
    }
}
