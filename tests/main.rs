//! Integration tests against real services: a private MariaDB with binlog on and a
//! Kafka-protocol broker, both started by `scripts/services.sh up`. One binary, one module per
//! scenario; every test makes its own database and topic names so tests run in parallel.

mod binlog;
mod binlog_restart;
mod cli;
mod console;
mod debezium;
mod distributed;
mod grafana;
mod layout;
mod memory_budget;
mod offsets_topic;
mod record_stage;
mod rest_api;
mod secure_worker;
mod sink_jdbc;
mod smoke;
mod source_jdbc;
mod support;
mod tools;
