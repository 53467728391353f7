//! Metric and label names, in one place. Prometheus conventions: `sluice_<area>_<what>_<unit>`,
//! base units, counters end in `_total`. Labels have bounded values.

/// Records read from the source by the reader stage.
pub const SOURCE_RECORDS_READ_TOTAL: &str = "sluice_source_records_read_total";
/// Records acknowledged by Kafka.
pub const SOURCE_RECORDS_WRITTEN_TOTAL: &str = "sluice_source_records_written_total";
/// Encoded record bytes handed to the producer.
pub const SOURCE_BYTES_TOTAL: &str = "sluice_source_bytes_total";
/// Rows per batch read by the reader stage.
pub const SOURCE_BATCH_ROWS: &str = "sluice_source_batch_rows";
/// Batches waiting in a stage's input queue.
pub const PIPELINE_QUEUE_DEPTH: &str = "sluice_pipeline_queue_depth";
/// Records handed to the producer and not yet acknowledged.
pub const PRODUCER_IN_FLIGHT: &str = "sluice_producer_in_flight_records";
/// Times the producer stage found librdkafka's queue full and waited (backpressure).
pub const PRODUCER_QUEUE_FULL_TOTAL: &str = "sluice_producer_queue_full_total";
/// Offset flushes to the offsets topic.
pub const OFFSET_COMMITS_TOTAL: &str = "sluice_offset_commits_total";
/// Offset flush latency.
pub const OFFSET_COMMIT_SECONDS: &str = "sluice_offset_commit_seconds";
/// Seconds since the newest row read by a source task (freshness).
pub const SOURCE_LAST_READ_TIMESTAMP_SECONDS: &str = "sluice_source_last_read_timestamp_seconds";

/// Records consumed by a sink task.
pub const SINK_RECORDS_READ_TOTAL: &str = "sluice_sink_records_read_total";
/// Records a sink task made durable in the target.
pub const SINK_RECORDS_WRITTEN_TOTAL: &str = "sluice_sink_records_written_total";
/// Records that failed conversion or writing (tolerated: logged and sent to the dead-letter topic).
pub const SINK_RECORDS_FAILED_TOTAL: &str = "sluice_sink_records_failed_total";
/// Time to write one batch (one transaction), retries included.
pub const SINK_PUT_SECONDS: &str = "sluice_sink_put_seconds";
/// Time to commit the consumer group's offsets after a batch.
pub const SINK_COMMIT_SECONDS: &str = "sluice_sink_commit_seconds";

pub const LABEL_CONNECTOR: &str = "connector";
pub const LABEL_TASK: &str = "task";
pub const LABEL_STAGE: &str = "stage";
