//! The record stage's transformations and predicates: Kafka Connect's Single Message Transforms,
//! configured with Connect's keys and run in Connect's order.
//!
//! ```text
//! source: reader ──rows──▶ [chain] ──records──▶ converter ──bytes──▶ producer
//! sink:   consumer ──bytes──▶ converter ──records──▶ [chain] ──records──▶ writer
//! ```
//!
//! # Contract
//! - A [`Transformation`] takes one [`Record`] and returns the record to pass on, or `None` to
//!   drop it (`Filter`). It is built once per task from its own keys (the `transforms.<alias>.`
//!   prefix stripped), so it may keep caches. An `Err` is a failure of the record at stage
//!   `TRANSFORMATION`: with `errors.tolerance=all` the record is skipped (and sent to a sink's
//!   dead-letter topic), otherwise the task fails with the record's coordinates.
//! - A [`Predicate`] decides whether a transformation applies to a record
//!   (`transforms.<alias>.predicate`, optionally `negate`d).
//! - Both follow Kafka's own classes: output schemas (names, optionality, field order), the
//!   schemaless behaviour and the error messages are Kafka's, so a connector config and what it
//!   produces carry over unchanged.
//! - The [`Chain`] is what the pipelines call; with no `transforms` it is empty and the
//!   pipelines keep their zero-copy fast paths.
//! - A transformation that reads only some top-level fields of a struct value, and passes none
//!   of the others on (`ExtractNewRecordState` keeps the row and drops `source`), says which
//!   through [`Transformation::value_fields_read`]. When it is first in the chain without a
//!   predicate, the sink's converter reads only those fields and leaves the others null.
//!
//! The concrete transformations live one per file below; [`registry`] names them with Connect's
//! class strings.

mod chain;
pub(crate) mod registry;
pub(crate) mod util;

pub(crate) mod cast;
pub(crate) mod extract_field;
pub(crate) mod extract_new_record_state;
pub(crate) mod filter;
pub(crate) mod flatten;
pub(crate) mod headers;
pub(crate) mod hoist_field;
pub(crate) mod insert_field;
pub(crate) mod java_date;
pub(crate) mod mask_field;
pub(crate) mod predicates;
pub(crate) mod replace_field;
pub(crate) mod router;
pub(crate) mod set_schema_metadata;
pub(crate) mod timestamp_converter;
pub(crate) mod value_to_key;
pub(crate) mod values;

#[cfg(test)]
mod tests;

pub use chain::{Chain, TransformFailure};

use crate::error::Result;
use crate::model::Schema;
use crate::model::record::Record;

/// One Single Message Transform (Connect's `Transformation<R>`).
pub(crate) trait Transformation: Send {
    /// Transforms one record; `Ok(None)` drops it.
    fn apply(&mut self, record: Record) -> Result<Option<Record>>;

    /// For a struct value of `schema`: which of its top-level fields `apply` reads, by index,
    /// when it reads only some and passes none of the others on, in its output or its errors.
    /// The converter may then leave the others [`Value::Null`](crate::model::Value::Null),
    /// unchecked against their schema. `None` (the default): it reads the whole value.
    fn value_fields_read(&self, _schema: &Schema) -> Option<Vec<bool>> {
        None
    }
}

/// A condition on a record (Connect's `Predicate<R>`).
pub(crate) trait Predicate: Send {
    /// Whether the record matches.
    fn test(&self, record: &Record) -> bool;
}
