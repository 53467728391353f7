//! Stage wiring. A source task runs as a pipeline of threads joined by bounded crossbeam
//! queues: reader → encoder → producer, with acknowledgements flowing to the offset committer.
//! Full queues block the stage before them (backpressure); nothing buffers without bound.

pub(crate) mod record;
pub(crate) mod sink;
pub(crate) mod source;

/// For the pipelines' unit tests: a worker that never reaches a broker, and the record stage of
/// a connector configured with `connector`.
#[cfg(test)]
fn test_stage(
    connector: &[(&str, &str)],
) -> (
    std::sync::Arc<crate::config::WorkerConfig>,
    record::RecordStageConfig,
) {
    let worker = crate::config::WorkerConfig::from_map(crate::config::props(&[(
        "bootstrap.servers",
        "127.0.0.1:1",
    )]))
    .unwrap();
    let stage = record::RecordStageConfig::new(&crate::config::props(connector), &worker).unwrap();
    (std::sync::Arc::new(worker), stage)
}
