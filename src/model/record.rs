//! A Connect record as the record stage sees it (Connect's `ConnectRecord`): topic, partition,
//! key and value each with an optional schema, timestamp and headers. Source rows become records
//! before the transformation chain and converters; sink records are converted into one before
//! the chain and handed to the writer after it.
//!
//! A value without a schema is schemaless, as in Connect: a JSON object is a [`Value::Map`] with
//! text keys, a list a [`Value::Array`], numbers are `Int` (Java `Long`) or `Float` (`Double`).
//! A null value ([`Value::Null`]) is a tombstone.

use std::sync::Arc;

use super::{Schema, Value};

/// One record header: its key, and its value with an optional schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub(crate) key: String,
    pub(crate) schema: Option<Arc<Schema>>,
    pub(crate) value: Value,
}

/// A record's key or value with its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub(crate) schema: Option<Arc<Schema>>,
    pub(crate) value: Value,
}

impl Part {
    /// A null part without a schema.
    pub(crate) const NULL: Part = Part {
        schema: None,
        value: Value::Null,
    };

    pub fn new(schema: Option<Arc<Schema>>, value: Value) -> Self {
        Part { schema, value }
    }
}

/// Which half of a record a `$Key` / `$Value` transformation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

/// A Connect record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub(crate) topic: Arc<str>,
    /// The Kafka partition, when known (sink records) or chosen (`None`: the producer's
    /// partitioner decides).
    pub(crate) partition: Option<i32>,
    /// The Kafka offset of a consumed (sink) record; `None` for source records.
    pub(crate) offset: Option<i64>,
    pub(crate) key: Part,
    pub(crate) value: Part,
    /// Milliseconds since the epoch.
    pub(crate) timestamp: Option<i64>,
    /// In order; a key may repeat.
    pub(crate) headers: Vec<Header>,
}

impl Record {
    /// A record with a value and no key, timestamp or headers.
    pub fn new(topic: impl Into<Arc<str>>, value: Part) -> Self {
        Record {
            topic: topic.into(),
            partition: None,
            offset: None,
            key: Part::NULL,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }

    /// The key or the value.
    pub(crate) fn part(&self, side: Side) -> &Part {
        match side {
            Side::Key => &self.key,
            Side::Value => &self.value,
        }
    }

    /// The key or the value, to change it.
    pub(crate) fn part_mut(&mut self, side: Side) -> &mut Part {
        match side {
            Side::Key => &mut self.key,
            Side::Value => &mut self.value,
        }
    }

    /// The record with its key or value replaced (Connect's `newRecord` for one side).
    pub(crate) fn with_part(
        mut self,
        side: Side,
        schema: Option<Arc<Schema>>,
        value: Value,
    ) -> Record {
        *self.part_mut(side) = Part { schema, value };
        self
    }

    /// Whether the value is null (Connect's tombstone).
    pub(crate) fn is_tombstone(&self) -> bool {
        self.value.value.is_null()
    }
}

/// Where a record failed, named as Connect names the stage in dead-letter headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureStage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
}

impl FailureStage {
    /// Connect's `Stage` name (`__connect.errors.stage`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailureStage::KeyConverter => "KEY_CONVERTER",
            FailureStage::ValueConverter => "VALUE_CONVERTER",
            FailureStage::HeaderConverter => "HEADER_CONVERTER",
            FailureStage::Transformation => "TRANSFORMATION",
            FailureStage::TaskPut => "TASK_PUT",
        }
    }
}
