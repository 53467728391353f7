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
pub struct Header {
    pub key: String,
    pub schema: Option<Arc<Schema>>,
    pub value: Value,
}

/// A record's key or value with its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub schema: Option<Arc<Schema>>,
    pub value: Value,
}

impl Part {
    /// A null part without a schema.
    pub const NULL: Part = Part {
        schema: None,
        value: Value::Null,
    };

    pub fn new(schema: Option<Arc<Schema>>, value: Value) -> Self {
        Part { schema, value }
    }
}

/// Which half of a record a `$Key` / `$Value` transformation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    /// `key` or `value`, as Connect's error messages name them.
    pub fn name(self) -> &'static str {
        match self {
            Side::Key => "key",
            Side::Value => "value",
        }
    }
}

/// A Connect record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: Arc<str>,
    /// The Kafka partition, when known (sink records) or chosen (`None`: the producer's
    /// partitioner decides).
    pub partition: Option<i32>,
    /// The Kafka offset of a consumed (sink) record; `None` for source records.
    pub offset: Option<i64>,
    pub key: Part,
    pub value: Part,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// In order; a key may repeat.
    pub headers: Vec<Header>,
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
    pub fn part(&self, side: Side) -> &Part {
        match side {
            Side::Key => &self.key,
            Side::Value => &self.value,
        }
    }

    /// The key or the value, to change it.
    pub fn part_mut(&mut self, side: Side) -> &mut Part {
        match side {
            Side::Key => &mut self.key,
            Side::Value => &mut self.value,
        }
    }

    /// The record with its key or value replaced (Connect's `newRecord` for one side).
    pub fn with_part(mut self, side: Side, schema: Option<Arc<Schema>>, value: Value) -> Record {
        *self.part_mut(side) = Part { schema, value };
        self
    }

    /// Whether the value is null (Connect's tombstone).
    pub fn is_tombstone(&self) -> bool {
        self.value.value.is_null()
    }

    /// The last header with `key` (Connect's `Headers.lastWithName`).
    pub fn last_header(&self, key: &str) -> Option<&Header> {
        self.headers.iter().rev().find(|h| h.key == key)
    }
}
