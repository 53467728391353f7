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
