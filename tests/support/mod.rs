//! The test harness: service endpoints, a fresh database per test, unique topic names, and
//! small Kafka helpers. A test fails loudly when a service is unreachable; it is never skipped.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql_async::prelude::*;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

/// How to reach the services (from `scripts/services.sh env`, with its defaults).
pub struct Services {
    pub mariadb_host: String,
    pub mariadb_port: u16,
    pub mariadb_user: String,
    pub mariadb_password: String,
    pub repl_user: String,
    pub repl_password: String,
    pub kafka_bootstrap: String,
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

pub fn services() -> Services {
    Services {
        mariadb_host: env_or("SLUICE_MARIADB_HOST", "127.0.0.1"),
        mariadb_port: env_or("SLUICE_MARIADB_PORT", "3307")
            .parse()
            .expect("SLUICE_MARIADB_PORT"),
        mariadb_user: env_or("SLUICE_MARIADB_USER", "sluice"),
        mariadb_password: env_or("SLUICE_MARIADB_PASSWORD", "sluice"),
        repl_user: env_or("SLUICE_MARIADB_REPL_USER", "sluice_repl"),
        repl_password: env_or("SLUICE_MARIADB_REPL_PASSWORD", "sluice_repl"),
        kafka_bootstrap: env_or("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A TCP port free right now on 127.0.0.1 (for a worker's REST listener or Prometheus).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A name unique across tests, processes and runs: `<prefix>_<pid>_<time>_<n>`.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{:x}_{}",
        std::process::id(),
        nanos % 0xffff_ffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A database created for one test (dropped by [`TestDb::drop_db`]).
pub struct TestDb {
    pub name: String,
    pub pool: mysql_async::Pool,
}

impl TestDb {
    pub async fn new(prefix: &str) -> TestDb {
        let s = services();
        let name = unique(prefix);
        let admin = mysql_async::Pool::new(s.opts(None));
        let mut conn = tokio::time::timeout(Duration::from_secs(10), admin.get_conn())
            .await
            .unwrap_or_else(|_| panic!("{}", s.mariadb_unreachable("timed out")))
            .unwrap_or_else(|e| panic!("{}", s.mariadb_unreachable(&e.to_string())));
        conn.query_drop(format!("CREATE DATABASE `{name}`"))
            .await
            .expect("create test database");
        drop(conn);
        admin.disconnect().await.ok();
        let pool = mysql_async::Pool::new(s.opts(Some(&name)));
        TestDb { name, pool }
    }

    pub async fn conn(&self) -> mysql_async::Conn {
        self.pool.get_conn().await.expect("MariaDB connection")
    }

    pub async fn exec(&self, sql: &str) {
        let mut conn = self.conn().await;
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `jdbc:mysql://host:port/<db>` for connector configs.
    pub fn jdbc_url(&self) -> String {
        let s = services();
        format!(
            "jdbc:mysql://{}:{}/{}",
            s.mariadb_host, s.mariadb_port, self.name
        )
    }

    pub async fn drop_db(self) {
        let mut conn = self.conn().await;
        conn.query_drop(format!("DROP DATABASE `{}`", self.name))
            .await
            .ok();
        drop(conn);
        self.pool.disconnect().await.ok();
    }
}

impl Services {
    pub fn opts(&self, db: Option<&str>) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.mariadb_host.clone())
            .tcp_port(self.mariadb_port)
            .user(Some(self.mariadb_user.clone()))
            .pass(Some(self.mariadb_password.clone()))
            .db_name(db.map(str::to_string))
            .into()
    }

    pub fn repl_opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.mariadb_host.clone())
            .tcp_port(self.mariadb_port)
            .user(Some(self.repl_user.clone()))
            .pass(Some(self.repl_password.clone()))
            .into()
    }

    fn mariadb_unreachable(&self, why: &str) -> String {
        format!(
            "MariaDB at {}:{} is unreachable ({why}); start it with `scripts/services.sh up`",
            self.mariadb_host, self.mariadb_port
        )
    }

    pub fn kafka_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.kafka_bootstrap)
            .set("socket.connection.setup.timeout.ms", "5000");
        config
    }
}

/// Creates a topic, failing loudly when the broker is unreachable.
pub async fn create_topic(name: &str, partitions: i32) {
    let s = services();
    let admin: AdminClient<DefaultClientContext> = s.kafka_config().create().expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Kafka broker at {} is unreachable ({e}); start it with `scripts/services.sh up`",
                s.kafka_bootstrap
            )
        });
    for result in results {
        result.unwrap_or_else(|(topic, code)| panic!("create topic {topic}: {code}"));
    }
}

/// A Kafka record read back from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

impl Record {
    pub fn value_str(&self) -> &str {
        std::str::from_utf8(self.value.as_deref().unwrap_or_default()).unwrap()
    }
    pub fn key_str(&self) -> &str {
        std::str::from_utf8(self.key.as_deref().unwrap_or_default()).unwrap()
    }
}

/// Reads every partition of `topic` from the beginning until `count` records arrived (or
/// `timeout` passed), without a consumer group. Records are ordered by (partition, offset).
pub async fn read_topic(topic: &str, count: usize, timeout: Duration) -> Vec<Record> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = services()
            .kafka_config()
            .set("group.id", unique("reader"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let deadline = std::time::Instant::now() + timeout;
        let partitions = loop {
            let metadata = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(10))
                .unwrap();
            let ids: Vec<i32> = metadata
                .topics()
                .iter()
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if !ids.is_empty() || std::time::Instant::now() > deadline {
                break ids;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let mut list = TopicPartitionList::new();
        for p in partitions {
            list.add_partition_offset(&topic, p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&list).unwrap();
        let mut records = Vec::new();
        while records.len() < count && std::time::Instant::now() < deadline {
            if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                let message = message.unwrap();
                records.push(Record {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                });
            }
        }
        records.sort_by_key(|r| (r.partition, r.offset));
        records
    })
    .await
    .unwrap()
}

/// A worker configuration for tests: the test broker, a private offsets topic, fast flushes.
pub fn worker_config(offsets_topic: &str) -> sluice::config::WorkerConfig {
    let s = services();
    let props = [
        ("bootstrap.servers", s.kafka_bootstrap.as_str()),
        ("offset.storage.topic", offsets_topic),
        ("offset.storage.replication.factor", "1"),
        ("offset.storage.partitions", "5"),
        ("offset.flush.interval.ms", "200"),
        ("producer.linger.ms", "1"),
    ];
    sluice::config::WorkerConfig::from_map(
        props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
    .unwrap()
}

/// A worker running connectors in this test process.
pub struct RunningWorker {
    pub worker: std::sync::Arc<sluice::runtime::worker::Worker>,
    pub offsets: std::sync::Arc<sluice::offsets::topic::KafkaOffsetStore>,
}

impl RunningWorker {
    /// Opens the offsets store and starts `connectors`; errors are returned, not panicked.
    pub async fn start(
        config: &sluice::config::WorkerConfig,
        connectors: &[serde_json::Value],
    ) -> sluice::Result<RunningWorker> {
        use std::sync::Arc;
        let config = Arc::new(config.clone());
        let offsets = Arc::new(sluice::offsets::topic::KafkaOffsetStore::open(&config).await?);
        let worker = Arc::new(sluice::runtime::worker::Worker::new(
            config,
            sluice::connector::Plugins::builtin(),
            offsets.clone(),
        ));
        for json in connectors {
            let connector = sluice::config::ConnectorConfig::from_json(json)?;
            worker.start_connector(&connector).await?;
        }
        Ok(RunningWorker { worker, offsets })
    }

    pub async fn stop(self) {
        self.worker.stop_all(Duration::from_secs(30)).await;
    }
}

/// Produces `(key, value)` records in order (one partition topics keep that order), awaiting each.
pub async fn produce(topic: &str, records: &[(Option<&str>, Option<&str>)]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = services().kafka_config().create().unwrap();
    for (key, value) in records {
        let mut record: FutureRecord<'_, str, str> = FutureRecord::to(topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// The committed offset of `group` on partition 0 of `topic` (`None` when nothing is committed).
pub async fn committed_offset(group: &str, topic: &str) -> Option<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = services()
            .kafka_config()
            .set("group.id", &group)
            .create()
            .unwrap();
        let mut list = TopicPartitionList::new();
        list.add_partition(&topic, 0);
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .unwrap();
        match committed.elements()[0].offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }
    })
    .await
    .unwrap()
}

/// Sets `group`'s committed offset on partition 0 of `topic`, as an offset reset by an admin
/// client does while the group has no members.
pub async fn reset_offset(group: &str, topic: &str, offset: i64) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = services()
            .kafka_config()
            .set("group.id", &group)
            .create()
            .unwrap();
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&topic, 0, Offset::Offset(offset))
            .unwrap();
        consumer.commit(&list, CommitMode::Sync).unwrap();
    })
    .await
    .unwrap()
}

/// Polls `check` until it returns true, failing after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `jdbc:postgresql://…` of the local PostgreSQL (database `test`), from SLUICE_POSTGRES_*.
pub fn postgres_url() -> (String, String) {
    let host = env_or("SLUICE_POSTGRES_HOST", "127.0.0.1");
    let port = env_or("SLUICE_POSTGRES_PORT", "5432");
    let db = env_or("SLUICE_POSTGRES_DB", "test");
    (
        format!("jdbc:postgresql://{host}:{port}/{db}"),
        env_or("SLUICE_POSTGRES_USER", "postgres"),
    )
}
