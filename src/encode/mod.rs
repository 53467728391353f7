//! Encoders from rows to Kafka record bytes.

pub mod connect_json;
