//! Decoders from Kafka record bytes to rows.

pub mod connect_json;
