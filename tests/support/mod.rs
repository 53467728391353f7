//! The test harness: service endpoints, a fresh database per test, unique topic names, and
//! small Kafka helpers. A test fails loudly when a service is unreachable; it is never skipped.

#![allow(dead_code, unreachable_pub)]

pub mod recipes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql_async::prelude::*;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value as Json;

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

    /// Runs a query and reads every row as `T` (a tuple of the selected columns, or `Row`).
    pub async fn select<T: FromRow + Send + 'static>(&self, sql: &str) -> Vec<T> {
        let mut conn = self.conn().await;
        conn.query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
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
    /// Header keys and values (`None`: a null value), in the record's order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
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
/// Every record of `topic`: read until none arrives for `idle`. (The test broker's high
/// watermark can lag the last batch written, so it cannot say where the topic ends.)
pub async fn read_until_idle(topic: &str, idle: Duration) -> Vec<Record> {
    read_topic_until(topic, usize::MAX, Duration::from_secs(300), Some(idle)).await
}

pub async fn read_topic(topic: &str, count: usize, timeout: Duration) -> Vec<Record> {
    read_topic_until(topic, count, timeout, None).await
}

/// Reads `topic` like [`read_topic`] and asserts that all `count` records arrived in time.
pub async fn read_exactly(topic: &str, count: usize, timeout: Duration) -> Vec<Record> {
    let records = read_topic(topic, count, timeout).await;
    assert_eq!(
        records.len(),
        count,
        "{topic}: {count} records expected within {timeout:?}: {records:?}"
    );
    records
}

async fn read_topic_until(
    topic: &str,
    count: usize,
    timeout: Duration,
    idle: Option<Duration>,
) -> Vec<Record> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
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
        let mut last_seen = std::time::Instant::now();
        while records.len() < count && std::time::Instant::now() < deadline {
            if idle.is_some_and(|idle| last_seen.elapsed() > idle) {
                break;
            }
            if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                let message = message.unwrap();
                last_seen = std::time::Instant::now();
                records.push(Record {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                    headers: message
                        .headers()
                        .map(|list| {
                            list.iter()
                                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
        }
        records.sort_by_key(|r| (r.partition, r.offset));
        records
    })
    .await
    .unwrap()
}

/// How many records `topic` holds (the sum of its partitions' high watermarks; 0 when it does
/// not exist yet).
pub async fn topic_end(topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = services().kafka_config().create().unwrap();
        let Ok(metadata) = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)) else {
            return 0;
        };
        metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .map(|p| {
                consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(10))
                    .map_or(0, |(_, high)| high)
            })
            .sum()
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

    /// The error trace of a worker that must refuse to start `connector`.
    pub async fn start_error(
        config: &sluice::config::WorkerConfig,
        connector: serde_json::Value,
    ) -> String {
        match RunningWorker::start(config, &[connector]).await {
            Ok(worker) => {
                worker.stop().await;
                panic!("the connector should not start");
            }
            Err(error) => error.trace(),
        }
    }

    /// The trace of `connector`'s first task once it has failed, polled every 200 ms for up to
    /// `timeout` (empty if it has not failed by then).
    pub async fn failure_trace(&self, connector: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some((_, sluice::runtime::worker::TaskState::Failed(trace))) =
                self.worker.task_states(connector).into_iter().next()
            {
                return trace;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        String::new()
    }
}

/// Produces `(key, value)` records in order (one partition topics keep that order), awaiting each.
/// The end of a test: the worker stopped, then its database dropped.
pub async fn finish(worker: RunningWorker, db: TestDb) {
    worker.stop().await;
    db.drop_db().await;
}

/// Asserts that `topic` holds no record (waiting two seconds for one to arrive).
pub async fn assert_no_records(topic: &str) {
    let records = read_topic(topic, 1, Duration::from_secs(2)).await;
    assert!(
        records.is_empty(),
        "{topic} should hold no record: {records:?}"
    );
}

/// Produces `values` to `topic`, without keys.
pub async fn produce_values(topic: &str, values: &[String]) {
    let records: Vec<_> = values.iter().map(|v| (None, Some(v.as_str()))).collect();
    produce(topic, &records).await;
}

pub async fn produce(topic: &str, records: &[(Option<&str>, Option<&str>)]) {
    let producer: FutureProducer = services().kafka_config().create().unwrap();
    for (key, value) in records {
        send(&producer, record(topic, *key, *value)).await;
    }
}

/// A record for `topic` with an optional key and value (no value: a tombstone).
pub fn record<'a>(
    topic: &'a str,
    key: Option<&'a str>,
    value: Option<&'a str>,
) -> FutureRecord<'a, str, str> {
    let mut record = FutureRecord::to(topic);
    if let Some(key) = key {
        record = record.key(key);
    }
    if let Some(value) = value {
        record = record.payload(value);
    }
    record
}

/// Sends one record and waits for the broker's acknowledgement.
pub async fn send(producer: &FutureProducer, record: FutureRecord<'_, str, str>) {
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)
        .unwrap();
}

/// A consumer of `group` that joins nothing: for reading and setting its committed offsets.
fn group_client(group: &str) -> rdkafka::consumer::BaseConsumer {
    services()
        .kafka_config()
        .set("group.id", group)
        .create()
        .unwrap()
}

/// The committed offset of `group` on partition 0 of `topic` (`None` when nothing is committed).
pub async fn committed_offset(group: &str, topic: &str) -> Option<i64> {
    committed_offset_on(group, topic, 0).await
}

/// Waits (60 s) until sink connector `name`'s consumer group, `connect-<name>`, has committed
/// `offset` on partition 0 of `topic`.
pub async fn await_committed(name: &str, topic: &str, offset: i64) {
    let group = format!("connect-{name}");
    eventually(
        &format!("{group} to commit offset {offset} on {topic}"),
        Duration::from_secs(60),
        || async { committed_offset(&group, topic).await == Some(offset) },
    )
    .await;
}

/// Runs sink connector `connector` (its REST JSON) in a worker on `config` until its group has
/// committed `offset` on partition 0 of `topic`, then stops the worker.
pub async fn run_until_committed(
    config: &sluice::config::WorkerConfig,
    connector: &Json,
    topic: &str,
    offset: i64,
) {
    let worker = RunningWorker::start(config, std::slice::from_ref(connector))
        .await
        .unwrap();
    await_committed(connector["name"].as_str().unwrap(), topic, offset).await;
    worker.stop().await;
}

/// The committed offset of `group` on `partition` of `topic` (`None`: nothing committed).
pub async fn committed_offset_on(group: &str, topic: &str, partition: i32) -> Option<i64> {
    use rdkafka::consumer::Consumer;
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let mut list = TopicPartitionList::new();
        list.add_partition(&topic, partition);
        let committed = group_client(&group)
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
    use rdkafka::consumer::{CommitMode, Consumer};
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&topic, 0, Offset::Offset(offset))
            .unwrap();
        group_client(&group)
            .commit(&list, CommitMode::Sync)
            .unwrap();
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

/// The app user of a [`PrivateMariaDb`] (all privileges, replication included).
pub const PRIVATE_MARIADB_USER: &str = "sluice";
pub const PRIVATE_MARIADB_PASSWORD: &str = "sluice";

/// A MariaDB server of a test's own, started as `scripts/services.sh` starts the shared one
/// (binlog on: ROW, FULL image and metadata, CRC32), for tests that stop, kill or restart the
/// server while other tests keep using the shared one. Listens on 127.0.0.1 on a port outside
/// the ephemeral range (so no outgoing connection takes it while the server is down). On drop
/// the server is killed and its directory removed.
pub struct PrivateMariaDb {
    pub port: u16,
    mariadbd: std::path::PathBuf,
    run_as_root: bool,
    /// Server options after the standard ones (a later option overrides an earlier one).
    extra_args: Vec<String>,
    child: Option<std::process::Child>,
    // Last: removed after `Drop::drop` killed the server.
    dir: tempfile::TempDir,
}

impl PrivateMariaDb {
    /// Initialises a datadir, starts the server and creates the app user.
    pub async fn start() -> PrivateMariaDb {
        PrivateMariaDb::start_with(&[]).await
    }

    /// [`PrivateMariaDb::start`] with `args` after the standard server options, overriding
    /// them (`--binlog-row-metadata=NO_LOG`, say); a restart keeps them.
    pub async fn start_with(args: &[&str]) -> PrivateMariaDb {
        let mariadbd = [
            "mariadbd",
            "mysqld",
            "/usr/sbin/mariadbd",
            "/usr/sbin/mysqld",
        ]
        .iter()
        .map(std::path::PathBuf::from)
        .find_map(|c| find_executable(&c))
        .expect("mariadbd not found: install MariaDB with `scripts/services.sh up`");
        let run_as_root = tokio::process::Command::new("id")
            .arg("-u")
            .output()
            .await
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let dir = tempfile::Builder::new()
            .prefix("sluice-mariadb-")
            .tempdir_in(std::env::temp_dir())
            .expect("temp dir");
        let data = dir.path().join("data");
        // A tmpdir of its own: a starting server deletes every `#sql*` file in its tmpdir,
        // those of other servers sharing it (another test's, during its install) included.
        std::fs::create_dir(dir.path().join("tmp")).expect("tmpdir");
        let mut install = tokio::process::Command::new("mariadb-install-db");
        install.arg("--no-defaults");
        if run_as_root {
            install.arg("--user=root");
        }
        let output = install
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", dir.path().join("tmp").display()))
            .args(["--auth-root-authentication-method=socket", "--skip-test-db"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run mariadb-install-db");
        assert!(
            output.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut server = PrivateMariaDb {
            port: port_outside_ephemeral_range(),
            mariadbd,
            run_as_root,
            extra_args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
            dir,
        };
        server.spawn().await;
        let p = PRIVATE_MARIADB_PASSWORD;
        let u = PRIVATE_MARIADB_USER;
        server
            .root_sql(&format!(
                "CREATE USER '{u}'@'127.0.0.1' IDENTIFIED BY '{p}'; \
                 CREATE USER '{u}'@'localhost' IDENTIFIED BY '{p}'; \
                 GRANT ALL PRIVILEGES ON *.* TO '{u}'@'127.0.0.1' WITH GRANT OPTION; \
                 GRANT ALL PRIVILEGES ON *.* TO '{u}'@'localhost' WITH GRANT OPTION; \
                 FLUSH PRIVILEGES;"
            ))
            .await
            .unwrap_or_else(|e| panic!("create the app user: {e}"));
        server
    }

    fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("mariadb.sock")
    }

    fn error_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Runs SQL as root through the socket (the `mariadb` client).
    async fn root_sql(&self, sql: &str) -> Result<(), String> {
        let output = tokio::process::Command::new("mariadb")
            .arg("--no-defaults")
            .arg("--protocol=socket")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "-e", sql])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("run the mariadb client: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Starts `mariadbd` on the datadir and port, and waits until it answers.
    async fn spawn(&mut self) {
        assert!(
            self.child.is_none(),
            "the private MariaDB is already running"
        );
        let dir = self.dir.path();
        let mut command = std::process::Command::new(&self.mariadbd);
        command.arg("--no-defaults");
        if self.run_as_root {
            command.arg("--user=root");
        }
        command
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--tmpdir={}", dir.join("tmp").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg("--server-id=1")
            .arg(format!("--log-bin={}", dir.join("data/binlog").display()))
            .args([
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--binlog-row-metadata=FULL",
                "--binlog-checksum=CRC32",
                "--binlog-annotate-row-events=OFF",
                "--innodb-buffer-pool-size=32M",
                "--max-connections=100",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ])
            .args(&self.extra_args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        self.child = Some(command.spawn().expect("start mariadbd"));
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "the private MariaDB exited at start ({status}):\n{}",
                    self.error_log()
                );
            }
            if self.socket().exists() && self.root_sql("SELECT 1").await.is_ok() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the private MariaDB did not start:\n{}",
                self.error_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` to the server and waits for it to exit.
    async fn signal_and_wait(&mut self, signal: &str) {
        let Some(child) = self.child.as_mut() else {
            panic!("the private MariaDB is not running");
        };
        let status = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("wait for mariadbd").is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the private MariaDB did not exit on SIG{signal}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = None;
    }

    /// A clean shutdown: SIGTERM, then wait for the server to exit.
    pub async fn stop(&mut self) {
        self.signal_and_wait("TERM").await;
    }

    /// An abrupt end: SIGKILL (no shutdown, InnoDB and binlog recover at the next start).
    pub async fn kill(&mut self) {
        self.signal_and_wait("KILL").await;
    }

    /// Starts the server again on the same datadir and port.
    pub async fn start_again(&mut self) {
        self.spawn().await;
    }

    pub fn opts(&self, db: Option<&str>) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(PRIVATE_MARIADB_USER))
            .pass(Some(PRIVATE_MARIADB_PASSWORD))
            .db_name(db.map(str::to_string))
            .into()
    }

    /// `jdbc:mysql://127.0.0.1:<port>/<db>` for connector configs.
    pub fn jdbc_url(&self, db: &str) -> String {
        format!("jdbc:mysql://127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` on a connection of its own (so none outlives a restart).
    pub async fn exec(&self, db: Option<&str>, sql: &str) {
        let mut conn = mysql_async::Conn::new(self.opts(db))
            .await
            .unwrap_or_else(|e| panic!("connect to the private MariaDB: {e}"));
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.disconnect().await.ok();
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

fn find_executable(name: &std::path::Path) -> Option<std::path::PathBuf> {
    if name.is_absolute() {
        return name.is_file().then(|| name.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// A port free on 127.0.0.1 below the kernel's ephemeral range, so the kernel never hands it
/// to an outgoing connection (it stays free while a server that listened on it restarts).
fn port_outside_ephemeral_range() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if low <= 12_000 {
        return free_port();
    }
    let (first, span) = (10_000u16, u64::from(low - 10_000));
    let seed = u64::from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ) + u64::from(std::process::id())
        + COUNTER.fetch_add(1, Ordering::Relaxed) * 997;
    (0..span)
        .map(|i| first + ((seed + i) % span) as u16)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .unwrap_or_else(free_port)
}

/// Runs the `sluice` binary with `args` (no `RUST_LOG`); (exit code, stdout, stderr).
pub fn run_sluice(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run sluice");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
