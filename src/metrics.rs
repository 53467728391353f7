//! Metric and label names, in one place. Prometheus conventions: `sluice_<area>_<what>_<unit>`,
//! base units, counters end in `_total`. Labels have bounded values: connector and task names,
//! a source's tables, a sink's topics, pipeline stages and task states. METRICS.md documents
//! every series; grafana/dashboard.json charts them.

/// Records read from the source by the reader stage (labels: connector, task, table).
pub(crate) const SOURCE_RECORDS_READ_TOTAL: &str = "sluice_source_records_read_total";
/// Records acknowledged by Kafka (labels: connector, task, table).
pub(crate) const SOURCE_RECORDS_WRITTEN_TOTAL: &str = "sluice_source_records_written_total";
/// Records Kafka did not acknowledge; the first such failure fails the task (labels: connector,
/// task).
pub(crate) const SOURCE_RECORDS_FAILED_TOTAL: &str = "sluice_source_records_failed_total";
/// Source records the record stage failed on and skipped with `errors.tolerance=all` (labels:
/// connector, task).
pub(crate) const SOURCE_RECORDS_SKIPPED_TOTAL: &str = "sluice_source_records_skipped_total";
/// Encoded record bytes handed to the producer (labels: connector, task, table).
pub(crate) const SOURCE_BYTES_TOTAL: &str = "sluice_source_bytes_total";
/// Rows per batch read by the reader stage (labels: connector, task, table).
pub(crate) const SOURCE_BATCH_ROWS: &str = "sluice_source_batch_rows";
/// Batches waiting in a stage's input queue (labels: connector, task, stage).
pub(crate) const PIPELINE_QUEUE_DEPTH: &str = "sluice_pipeline_queue_depth";
/// Bytes of the batches a pipeline holds in a stage's input queue, reserved from the worker's
/// memory budget (labels: connector, task, stage).
pub(crate) const PIPELINE_BUFFERED_BYTES: &str = "sluice_pipeline_buffered_bytes";
/// Each time a pipeline's reading paused because its share of the memory budget was spent:
/// how long, until it was back under the low mark (labels: connector, task).
pub(crate) const PIPELINE_PAUSE_SECONDS: &str = "sluice_pipeline_pause_seconds";
/// The worker's memory budget, `sluice.memory.budget.bytes`.
pub(crate) const MEMORY_BUDGET_BYTES: &str = "sluice_worker_memory_budget_bytes";
/// Bytes reserved from the memory budget by every pipeline of the worker.
pub(crate) const MEMORY_IN_USE_BYTES: &str = "sluice_worker_memory_in_use_bytes";
/// Records handed to the producer and not yet acknowledged.
pub(crate) const PRODUCER_IN_FLIGHT: &str = "sluice_producer_in_flight_records";
/// Times the producer stage found librdkafka's queue full and waited (backpressure).
pub(crate) const PRODUCER_QUEUE_FULL_TOTAL: &str = "sluice_producer_queue_full_total";
/// Offset flushes to the offsets topic.
pub(crate) const OFFSET_COMMITS_TOTAL: &str = "sluice_offset_commits_total";
/// Offset flush latency.
pub(crate) const OFFSET_COMMIT_SECONDS: &str = "sluice_offset_commit_seconds";
/// Unix time (seconds) at which a source task last read a non-empty batch of a table. Source
/// lag (time since the newest row was read) is `time() - sluice_source_last_read_timestamp_seconds`
/// in PromQL, so it keeps growing while nothing is read (labels: connector, task, table).
pub(crate) const SOURCE_LAST_READ_TIMESTAMP_SECONDS: &str =
    "sluice_source_last_read_timestamp_seconds";
/// Binlog capture: seconds between the server writing the last event read and reading it
/// (replication lag), updated on every event and heartbeat.
pub(crate) const BINLOG_LAG_SECONDS: &str = "sluice_source_binlog_lag_seconds";

/// Records consumed by a sink task (labels: connector, task, topic).
pub(crate) const SINK_RECORDS_READ_TOTAL: &str = "sluice_sink_records_read_total";
/// Records a sink task made durable in the target (labels: connector, task, topic).
pub(crate) const SINK_RECORDS_WRITTEN_TOTAL: &str = "sluice_sink_records_written_total";
/// Records that failed conversion or writing (tolerated: logged and sent to the dead-letter
/// topic) (labels: connector, task, topic).
pub(crate) const SINK_RECORDS_FAILED_TOTAL: &str = "sluice_sink_records_failed_total";
/// Failed records written to the dead-letter topic and acknowledged by Kafka (labels:
/// connector, task, topic).
pub(crate) const SINK_DEAD_LETTER_RECORDS_TOTAL: &str = "sluice_sink_dead_letter_records_total";
/// Key and value bytes consumed by a sink task (labels: connector, task, topic).
pub(crate) const SINK_BYTES_TOTAL: &str = "sluice_sink_bytes_total";
/// Records per batch handed to a sink task (failed conversions included).
pub(crate) const SINK_BATCH_RECORDS: &str = "sluice_sink_batch_records";
/// Time to write one batch (one transaction), retries included.
pub(crate) const SINK_PUT_SECONDS: &str = "sluice_sink_put_seconds";
/// Time to commit the consumer group's offsets after a batch.
pub(crate) const SINK_COMMIT_SECONDS: &str = "sluice_sink_commit_seconds";

pub(crate) const LABEL_CONNECTOR: &str = "connector";
pub(crate) const LABEL_TASK: &str = "task";
pub(crate) const LABEL_STAGE: &str = "stage";
/// A source's table (`database.table`, `query` in query mode).
pub(crate) const LABEL_TABLE: &str = "table";
/// A sink's topic.
pub(crate) const LABEL_TOPIC: &str = "topic";
/// `stage` of the reader → encoder queue.
pub(crate) const STAGE_ENCODER: &str = "encoder";
/// `stage` of the encoder → producer queue.
pub(crate) const STAGE_PRODUCER: &str = "producer";
/// `stage` of a sink's consumer → converter queue (raw batches).
pub(crate) const STAGE_CONVERT: &str = "convert";
/// `stage` of a sink's gatherer → put queue (batches read and converted, waiting for the task).
pub(crate) const STAGE_PUT: &str = "put";

/// The `table` label of a source batch from its source partition: `{"table": "db.t"}` → `db.t`,
/// a query → `query`, a partition of another shape → empty (no `table` label).
pub(crate) fn source_table(partition: &serde_json::Value) -> &str {
    match partition.get("table").and_then(serde_json::Value::as_str) {
        Some(table) => table,
        None if partition.get("query").is_some() => "query",
        None => "",
    }
}

/// The depth gauge of the queue in front of one of a task's stages (`stage`: one of the
/// `STAGE_*` values); `base` is the task's `connector` and `task` labels.
pub(crate) fn queue_depth(
    base: &[(&'static str, String); 2],
    stage: &'static str,
) -> metrics::Gauge {
    metrics::gauge!(
        PIPELINE_QUEUE_DEPTH,
        LABEL_CONNECTOR => base[0].1.clone(),
        LABEL_TASK => base[1].1.clone(),
        LABEL_STAGE => stage
    )
}

/// Metric handles of one task per value of one more label (a source's tables, a sink's
/// topics), made on first use so the hot path looks them up without touching the registry.
pub(crate) struct ByLabel<T> {
    base: [(&'static str, String); 2],
    label: &'static str,
    make: fn(&[(&'static str, String); 3]) -> T,
    handles: std::collections::HashMap<String, T>,
}

impl<T> ByLabel<T> {
    /// `base` is the task's `connector` and `task` labels; `make` registers the handles of one
    /// label value.
    pub(crate) fn new(
        base: [(&'static str, String); 2],
        label: &'static str,
        make: fn(&[(&'static str, String); 3]) -> T,
    ) -> Self {
        ByLabel {
            base,
            label,
            make,
            handles: std::collections::HashMap::new(),
        }
    }

    /// The handles for `value`, registered on first use.
    pub(crate) fn get(&mut self, value: &str) -> &T {
        if !self.handles.contains_key(value) {
            let [connector, task] = self.base.clone();
            let labels = [connector, task, (self.label, value.to_string())];
            self.handles.insert(value.to_string(), (self.make)(&labels));
        }
        &self.handles[value]
    }
}

/// A task's state: 1 for its current state, 0 for the others (`state` label: RUNNING, FAILED,
/// UNASSIGNED, PAUSED).
pub(crate) const TASK_STATE: &str = "sluice_task_state";

/// Connect's names of the states a task is reported in.
const TASK_STATES: [&str; 4] = ["RUNNING", "FAILED", "UNASSIGNED", "PAUSED"];

/// Sets the task state gauges of one task by Connect state name.
pub(crate) fn task_state_name(connector: &str, task: u32, current: &str) {
    for state in TASK_STATES {
        metrics::gauge!(
            TASK_STATE,
            LABEL_CONNECTOR => connector.to_string(),
            LABEL_TASK => task.to_string(),
            "state" => state
        )
        .set(if state == current { 1.0 } else { 0.0 });
    }
}

/// Installs the Prometheus recorder for this process and returns the handle that renders
/// `/metrics`. Histograms get buckets suited to latencies in seconds and batch sizes.
pub fn install_prometheus() -> crate::Result<metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let seconds = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let rows = [
        1.0, 10.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 50000.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(SOURCE_BATCH_ROWS.into()), &rows))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(SINK_BATCH_RECORDS.into()), &rows))
        .map_err(|e| {
            crate::Error::with_source(
                crate::error::ErrorKind::Internal,
                "bad histogram buckets",
                e,
            )
        })?
        .install_recorder()
        .map_err(|e| {
            crate::Error::with_source(
                crate::error::ErrorKind::Internal,
                "cannot install the Prometheus recorder",
                e,
            )
        })?;
    describe();
    Ok(handle)
}

/// Registers the `# HELP` text of every series with the installed recorder.
fn describe() {
    const COUNTERS: [(&str, &str); 12] = [
        (
            SOURCE_RECORDS_SKIPPED_TOTAL,
            "Source records a transformation or converter failed on, skipped (errors.tolerance=all).",
        ),
        (
            SOURCE_RECORDS_READ_TOTAL,
            "Records read from the source by the reader stage.",
        ),
        (
            SOURCE_RECORDS_WRITTEN_TOTAL,
            "Source records acknowledged by Kafka.",
        ),
        (
            SOURCE_RECORDS_FAILED_TOTAL,
            "Source records Kafka did not acknowledge (the task fails).",
        ),
        (
            SOURCE_BYTES_TOTAL,
            "Encoded source record bytes handed to the producer.",
        ),
        (
            PRODUCER_QUEUE_FULL_TOTAL,
            "Times the producer found librdkafka's queue full and waited.",
        ),
        (
            OFFSET_COMMITS_TOTAL,
            "Source offset flushes to the offsets topic.",
        ),
        (SINK_RECORDS_READ_TOTAL, "Records consumed by a sink task."),
        (
            SINK_RECORDS_WRITTEN_TOTAL,
            "Records a sink task made durable in the target.",
        ),
        (
            SINK_RECORDS_FAILED_TOTAL,
            "Sink records that failed conversion or writing (tolerated).",
        ),
        (
            SINK_DEAD_LETTER_RECORDS_TOTAL,
            "Failed sink records written to the dead-letter topic.",
        ),
        (
            SINK_BYTES_TOTAL,
            "Key and value bytes consumed by a sink task.",
        ),
    ];
    const GAUGES: [(&str, &str); 5] = [
        (
            SOURCE_LAST_READ_TIMESTAMP_SECONDS,
            "Unix time of the last non-empty read of a table; lag is time() minus this.",
        ),
        (
            BINLOG_LAG_SECONDS,
            "Binlog capture: seconds between the server writing the last event read and reading it.",
        ),
        (
            PIPELINE_QUEUE_DEPTH,
            "Batches waiting in a pipeline stage's input queue.",
        ),
        (
            PRODUCER_IN_FLIGHT,
            "Records handed to the Kafka producer and not yet acknowledged.",
        ),
        (
            TASK_STATE,
            "1 for a task's current state, 0 for the others.",
        ),
    ];
    const HISTOGRAMS: [(&str, &str); 5] = [
        (
            SOURCE_BATCH_ROWS,
            "Rows per batch read by the source reader stage.",
        ),
        (OFFSET_COMMIT_SECONDS, "Source offset flush latency."),
        (
            SINK_BATCH_RECORDS,
            "Records per batch handed to a sink task.",
        ),
        (
            SINK_PUT_SECONDS,
            "Time to write one sink batch (one transaction), retries included.",
        ),
        (
            SINK_COMMIT_SECONDS,
            "Time to commit a sink's consumer offsets after a batch.",
        ),
    ];
    for (name, help) in COUNTERS {
        metrics::describe_counter!(name, help);
    }
    for (name, help) in GAUGES {
        metrics::describe_gauge!(name, help);
    }
    for (name, help) in HISTOGRAMS {
        metrics::describe_histogram!(name, help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn source_table_label_from_the_partition() {
        let table = json!({"protocol": "1", "table": "db.users"});
        assert_eq!(source_table(&table), "db.users");
        assert_eq!(source_table(&json!({"query": "query"})), "query");
        assert_eq!(source_table(&json!({"file": "x"})), "");
        assert_eq!(source_table(&serde_json::Value::Null), "");
    }

    #[test]
    fn by_label_makes_each_value_once() {
        let base = [(LABEL_CONNECTOR, "c".to_string()), (LABEL_TASK, "0".into())];
        let mut made = ByLabel::new(base, LABEL_TABLE, |labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        });
        assert_eq!(made.get("db.t"), &["connector=c", "task=0", "table=db.t"]);
        assert_eq!(made.get("db.u")[2], "table=db.u");
        assert_eq!(made.get("db.t")[2], "table=db.t");
        assert_eq!(made.handles.len(), 2);
    }
}
