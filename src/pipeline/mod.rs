//! Stage wiring. A source task runs as a pipeline of threads joined by bounded crossbeam
//! queues: reader → encoder → producer, with acknowledgements flowing to the offset committer.
//! Full queues block the stage before them (backpressure); nothing buffers without bound.

pub(crate) mod record;
pub(crate) mod sink;
pub mod source;
