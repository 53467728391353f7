//! Database connections from JDBC settings: `connection.url` (`jdbc:mysql://`,
//! `jdbc:mariadb://`), `connection.user`, `connection.password`, with Connect's retry
//! (`connection.attempts`, `connection.backoff.ms`).

use std::collections::BTreeMap;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::config::{
    ConfigDef, ConfigError, ConfigKey, ConfigType, Importance, Password, Validator, redact_url,
};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::{RetryPolicy, retry};

pub(crate) mod time;
mod zone;
pub(crate) use zone::DbZone;

/// The connection keys the JDBC source and sink share (Confluent's names and defaults).
pub(crate) fn connection_config_def(group: &'static str) -> ConfigDef {
    use ConfigType::*;
    ConfigDef::new()
        .define(
            ConfigKey::required("connection.url", String)
                .group(group)
                .display("JDBC URL")
                .doc("JDBC URL: jdbc:mysql://, jdbc:mariadb:// (or jdbc:postgresql:// for the sink)."),
        )
        .define(ConfigKey::optional("connection.user", String).importance(Importance::High).group(group))
        .define(ConfigKey::optional("connection.password", Password).importance(Importance::High).group(group))
        .define(
            ConfigKey::with_default("connection.attempts", Int, "3")
                .validator(Validator::AtLeast(1))
                .group(group),
        )
        .define(
            ConfigKey::with_default("connection.backoff.ms", Long, "10000")
                .validator(Validator::AtLeast(0))
                .group(group),
        )
}

/// `db.timezone` (source and sink), recording an invalid zone in `errors` (then UTC).
pub(crate) fn db_timezone(parsed: &crate::config::Config, errors: &mut Vec<ConfigError>) -> DbZone {
    let text = parsed.string("db.timezone").unwrap_or_default();
    text.parse::<DbZone>().unwrap_or_else(|message| {
        errors.push(ConfigError::invalid("db.timezone", text, message));
        DbZone::UTC
    })
}

/// Which SQL dialect a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// MySQL and MariaDB (`jdbc:mysql:`, `jdbc:mariadb:`).
    MySql,
    /// PostgreSQL (`jdbc:postgresql:`).
    Postgres,
}

/// Prepared statements each connection keeps (mysql_async's default: 32). Each keeps the
/// server's description of every parameter; the sink caps a statement at 16,384 parameters and
/// cuts its runs into a full size and powers of two below it, so a table's upserts take about a
/// dozen statements, ~15 MB for 30-column rows (BENCHMARKS.md).
const STATEMENT_CACHE: usize = 16;

/// A parsed JDBC URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JdbcUrl {
    pub(crate) dialect: Dialect,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The database (MySQL catalog) in the path, if any.
    pub(crate) database: Option<String>,
    /// Query parameters (`?user=…&password=…&useSSL=false`); `user` and `password` also from
    /// the user information before the host (`jdbc:mysql://user:secret@host/db`, as
    /// Connector/J reads it) when the query does not give them.
    pub(crate) params: BTreeMap<String, String>,
}

impl JdbcUrl {
    /// Parses `jdbc:<subprotocol>://[user[:password]@]host[:port][/database][?k=v&…]` (the
    /// first host of a list).
    pub(crate) fn parse(key: &str, url: &str) -> std::result::Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::invalid(key, redact_url(url), why.to_string());
        let rest = url
            .trim()
            .strip_prefix("jdbc:")
            .ok_or_else(|| bad("a JDBC URL starting with jdbc:"))?;
        let (subprotocol, rest) = rest
            .split_once("://")
            .ok_or_else(|| bad("a JDBC URL of the form jdbc:mysql://host:port/database"))?;
        let (dialect, default_port) = match subprotocol {
            "mysql" | "mariadb" => (Dialect::MySql, 3306),
            "postgresql" => (Dialect::Postgres, 5432),
            _ => {
                return Err(bad(
                    "a jdbc:mysql://, jdbc:mariadb:// or jdbc:postgresql:// URL",
                ));
            }
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, q),
            None => (rest, ""),
        };
        let (hosts, database) = match rest.split_once('/') {
            Some((h, d)) => (h, Some(d.trim_end_matches('/'))),
            None => (rest, None),
        };
        // Connector/J: `user:pw@[h1,h2]` gives every host of the list the same credentials,
        // `user:pw@h1,user2:pw2@h2` each host its own. The first host is the one used. (A
        // bracketed IPv6 address, `user:pw@[::1]`, is a host, not a list.)
        let (shared_info, hosts) = match hosts.split_once("@[") {
            Some((info, rest)) if !info.contains(',') => match rest.strip_suffix(']') {
                Some(list) if list.contains(',') || list.parse::<std::net::Ipv6Addr>().is_err() => {
                    (Some(info), list)
                }
                _ => (None, hosts),
            },
            _ => (None, hosts),
        };
        let first = hosts.split(',').next().unwrap_or_default().trim();
        let (user_info, host_port) = match first.rsplit_once('@') {
            Some((info, host_port)) => (Some(info), host_port),
            None => (shared_info, first),
        };
        let port = |p: &str| p.parse::<u16>().map_err(|_| bad("a numeric port"));
        let (host, port) = match host_port.strip_prefix('[').and_then(|h| h.split_once(']')) {
            // `[IPv6]` or `[IPv6]:port`.
            Some((host, "")) => (host, default_port),
            Some((host, rest)) => (
                host,
                port(
                    rest.strip_prefix(':')
                        .ok_or_else(|| bad("a numeric port"))?,
                )?,
            ),
            None => match host_port.rsplit_once(':') {
                Some((host, p)) => (host, port(p)?),
                None => (host_port, default_port),
            },
        };
        if host.is_empty() {
            return Err(bad("a host name"));
        }
        let mut params: BTreeMap<String, String> = query
            .split(['&', ';'])
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        if let Some(info) = user_info {
            let (user, password) = match info.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (info, None),
            };
            if !user.is_empty() {
                params.entry("user".into()).or_insert_with(|| decode(user));
            }
            if let Some(password) = password {
                params
                    .entry("password".into())
                    .or_insert_with(|| decode(password));
            }
        }
        Ok(JdbcUrl {
            dialect,
            host: host.to_string(),
            port,
            database: database.filter(|d| !d.is_empty()).map(decode),
            params,
        })
    }
}

/// A URL part as Connector/J reads it: percent-escapes decoded (a `+` stays a `+`), a malformed
/// escape kept as written.
fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything needed to open connections to the database a JDBC URL names (MySQL, MariaDB or,
/// for the sink, PostgreSQL).
#[derive(Clone)]
pub(crate) struct DbSettings {
    pub(crate) url: JdbcUrl,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<Password>,
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
    /// How long one connection attempt may take (Debezium's `connect.timeout.ms`); `None`:
    /// as long as the network takes, as Confluent's JDBC connectors wait.
    pub(crate) connect_timeout: Option<Duration>,
    /// The sessions' transaction isolation level (`READ COMMITTED`, …); `None`: the server's
    /// default.
    pub(crate) isolation: Option<&'static str>,
}

impl std::fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSettings")
            .field("host", &self.url.host)
            .field("port", &self.url.port)
            .field("database", &self.url.database)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl DbSettings {
    /// From the keys of [`connection_config_def`] (`connection.user`, `connection.password`,
    /// `connection.attempts`, `connection.backoff.ms`) and the parsed `connection.url`.
    pub(crate) fn from_connection_config(parsed: &crate::config::Config, url: JdbcUrl) -> Self {
        DbSettings::new(
            url,
            parsed.non_empty("connection.user").map(str::to_string),
            parsed.password("connection.password").cloned(),
            parsed
                .long("connection.attempts")
                .unwrap_or_default()
                .max(1) as u32,
            Duration::from_millis(
                parsed
                    .long("connection.backoff.ms")
                    .unwrap_or_default()
                    .max(0) as u64,
            ),
        )
    }

    /// `connection.user`/`connection.password` win over the URL's `user`/`password`.
    pub(crate) fn new(
        url: JdbcUrl,
        user: Option<String>,
        password: Option<Password>,
        attempts: u32,
        backoff: Duration,
    ) -> Self {
        let user = user
            .filter(|u| !u.is_empty())
            .or_else(|| url.params.get("user").cloned());
        let password = password
            .filter(|p| !p.is_empty())
            .or_else(|| url.params.get("password").map(|p| Password::new(p.clone())));
        DbSettings {
            url,
            user,
            password,
            attempts: attempts.max(1),
            backoff,
            connect_timeout: None,
            isolation: None,
        }
    }

    /// The same settings, every session at the isolation level Connect's JDBC source names
    /// `mode` (`transaction.isolation.mode`): `READ_COMMITTED` is `READ COMMITTED`, …; `DEFAULT`
    /// keeps the server's, and so does `SQL_SERVER_SNAPSHOT`, which MySQL and MariaDB do not
    /// have (Confluent's connector then also keeps the default, with a warning).
    pub(crate) fn with_isolation_mode(self, mode: &str) -> Self {
        let isolation = match mode.to_ascii_uppercase().as_str() {
            "READ_UNCOMMITTED" => Some("READ UNCOMMITTED"),
            "READ_COMMITTED" => Some("READ COMMITTED"),
            "REPEATABLE_READ" => Some("REPEATABLE READ"),
            "SERIALIZABLE" => Some("SERIALIZABLE"),
            _ => None,
        };
        DbSettings { isolation, ..self }
    }

    /// The same settings, each connection attempt bounded by `timeout`.
    pub(crate) fn with_connect_timeout(self, timeout: Duration) -> Self {
        DbSettings {
            connect_timeout: Some(timeout),
            ..self
        }
    }

    /// A short description for messages: `host:port/database` (never the password).
    pub(crate) fn describe(&self) -> String {
        format!(
            "{}:{}/{}",
            self.url.host,
            self.url.port,
            self.url.database.as_deref().unwrap_or("")
        )
    }

    /// Connection options. Prepared statements are cached per connection, at most
    /// [`STATEMENT_CACHE`] of them.
    pub(crate) fn opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.url.host.clone())
            .tcp_port(self.url.port)
            .user(self.user.clone())
            .pass(self.password.as_ref().map(|p| p.expose().to_string()))
            .db_name(self.url.database.clone())
            .prefer_socket(false)
            .tcp_nodelay(true)
            .wait_timeout(Some(28_800))
            .stmt_cache_size(STATEMENT_CACHE)
            // Every session works in UTC: TIMESTAMP columns and CURRENT_TIMESTAMP come back in
            // UTC, matching Connect's default db.timezone.
            .setup(
                std::iter::once("SET time_zone = '+00:00'".to_string())
                    .chain(
                        self.isolation.map(|level| {
                            format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}")
                        }),
                    )
                    .collect(),
            )
            .into()
    }

    /// Opens a MySQL connection, trying `attempts` times `backoff` apart while the errors are
    /// transient.
    pub(crate) async fn connect(&self) -> Result<mysql_async::Conn> {
        self.retrying(|| async {
            let attempt = async {
                let mut conn = mysql_async::Conn::new(self.opts())
                    .await
                    .map_err(|e| self.error(e))?;
                conn.query_drop("SELECT 1")
                    .await
                    .map_err(|e| self.error(e))?;
                Ok(conn)
            };
            match self.connect_timeout {
                None => attempt.await,
                Some(timeout) => {
                    tokio::time::timeout(timeout, attempt)
                        .await
                        .unwrap_or_else(|_| {
                            Err(Error::new(
                                ErrorKind::Database,
                                format!(
                                    "database {}: no connection within connect.timeout.ms ({} ms)",
                                    self.describe(),
                                    timeout.as_millis()
                                ),
                            )
                            .transient())
                        })
                }
            }
        })
        .await
    }

    /// Runs `connect` (any driver's) until it succeeds, `attempts` times `backoff` apart while
    /// its errors are transient, logging each retry.
    pub(crate) async fn retrying<T, F, Fut>(&self, connect: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        retry(
            RetryPolicy::fixed(self.backoff, self.attempts.saturating_sub(1)),
            connect,
            Error::is_transient,
            |error, retry, delay| {
                tracing::warn!(
                    message = "database connection failed, retrying",
                    database = %self.describe(),
                    retry,
                    attempts = self.attempts,
                    delay_ms = delay.as_millis() as u64,
                    %error
                );
            },
        )
        .await
    }

    /// Wraps a driver error with the server's address and a transient flag.
    pub(crate) fn error(&self, error: mysql_async::Error) -> Error {
        mysql_error(error, &format!("database {}", self.describe()))
    }
}

/// `columns` of `information_schema.COLUMNS` for each column of `database.table`, in the
/// table's column order (empty when there is no such table).
pub(crate) async fn describe_columns<R>(
    conn: &mut mysql_async::Conn,
    columns: &str,
    database: &str,
    table: &str,
    context: &str,
) -> Result<Vec<R>>
where
    R: mysql_async::prelude::FromRow + Send + 'static,
{
    conn.exec(
        format!(
            "SELECT {columns} FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
        ),
        (database, table),
    )
    .await
    .map_err(|e| mysql_error(e, context))
}

/// Wraps a mysql_async error, classifying lost connections, deadlocks and lock timeouts as
/// transient.
pub(crate) fn mysql_error(error: mysql_async::Error, context: &str) -> Error {
    let transient = match &error {
        mysql_async::Error::Io(_) => true,
        // The server closed the connection (restart, KILL): a new one may succeed.
        mysql_async::Error::Driver(
            mysql_async::DriverError::ConnectionClosed | mysql_async::DriverError::PoolDisconnected,
        ) => true,
        mysql_async::Error::Driver(_) => false,
        // 1205 lock wait timeout, 1213 deadlock, 1040 too many connections, 2006/2013 gone,
        // 1053 server shutdown, 1927 connection killed.
        mysql_async::Error::Server(e) => {
            matches!(e.code, 1205 | 1213 | 1040 | 2006 | 2013 | 1053 | 1927)
        }
        _ => false,
    };
    let message = match &error {
        mysql_async::Error::Server(e) => format!("{context}: {} (error {})", e.message, e.code),
        _ => format!("{context}: {error}"),
    };
    let error = Error::with_source(ErrorKind::Database, message, error);
    if transient { error.transient() } else { error }
}

/// The MySQL/MariaDB server error code behind `error` (`ER_*`), if a server error caused it.
pub(crate) fn mysql_code(error: &Error) -> Option<u16> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(mysql_async::Error::Server(server)) =
            current.downcast_ref::<mysql_async::Error>()
        {
            return Some(server.code);
        }
        cause = current.source();
    }
    None
}

/// `ER_MASTER_FATAL_ERROR_READING_BINLOG`: the requested binlog position is gone (purged, or
/// never on this server).
pub(crate) const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;

/// Quotes a MySQL identifier with backticks (doubling any backtick inside).
pub(crate) fn quote_mysql(identifier: &str) -> String {
    quote_identifier(identifier, '`')
}

/// Quotes an identifier with `quote` (a backtick for MySQL, `"` for PostgreSQL), doubling any
/// `quote` inside.
pub(crate) fn quote_identifier(identifier: &str, quote: char) -> String {
    let mut out = String::with_capacity(identifier.len() + 2);
    out.push(quote);
    for c in identifier.chars() {
        if c == quote {
            out.push(quote);
        }
        out.push(c);
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_codes_are_read_through_the_chain() {
        let server = mysql_async::Error::Server(mysql_async::ServerError {
            code: ER_MASTER_FATAL_ERROR_READING_BINLOG,
            message: "Could not find first log file name in binary log index file".into(),
            state: "HY000".into(),
        });
        let error = mysql_error(server, "binlog stream");
        assert_eq!(mysql_code(&error), Some(1236));
        let wrapped = Error::with_source(ErrorKind::Internal, "reading", error);
        assert_eq!(mysql_code(&wrapped), Some(1236));
        assert_eq!(
            mysql_code(&Error::new(ErrorKind::Io, "1236 in the text")),
            None
        );
    }

    /// A server that accepts the TCP connection and never greets: with a connect timeout the
    /// attempt ends with a transient error naming the setting, instead of waiting forever.
    #[tokio::test]
    async fn a_connection_attempt_is_bounded_by_the_connect_timeout() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let url = JdbcUrl::parse(
            "connection.url",
            &format!("jdbc:mysql://127.0.0.1:{port}/db"),
        )
        .unwrap();
        let settings = DbSettings::new(url, None, None, 1, Duration::ZERO)
            .with_connect_timeout(Duration::from_millis(200));
        let error = tokio::time::timeout(Duration::from_secs(30), settings.connect())
            .await
            .expect("the attempt ends on its own")
            .err()
            .unwrap();
        assert!(error.is_transient());
        assert_eq!(
            error.to_string(),
            format!(
                "database 127.0.0.1:{port}/db: no connection within connect.timeout.ms (200 ms)"
            )
        );
        let url = JdbcUrl::parse("connection.url", "jdbc:mysql://h/db").unwrap();
        let settings = DbSettings::new(url, None, None, 1, Duration::ZERO);
        assert_eq!(settings.connect_timeout, None);
        drop(silent);
    }

    #[test]
    fn isolation_modes_name_the_session_level() {
        let url = JdbcUrl::parse("connection.url", "jdbc:mysql://h/db").unwrap();
        let settings = DbSettings::new(url, None, None, 1, Duration::ZERO);
        for (mode, level) in [
            ("DEFAULT", None),
            ("READ_UNCOMMITTED", Some("READ UNCOMMITTED")),
            ("read_committed", Some("READ COMMITTED")),
            ("REPEATABLE_READ", Some("REPEATABLE READ")),
            ("SERIALIZABLE", Some("SERIALIZABLE")),
            ("SQL_SERVER_SNAPSHOT", None),
        ] {
            let settings = settings.clone().with_isolation_mode(mode);
            assert_eq!(settings.isolation, level, "{mode}");
            let setup = settings.opts().setup().to_vec();
            assert_eq!(
                setup.last().unwrap(),
                &level.map_or("SET time_zone = '+00:00'".to_string(), |level| {
                    format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}")
                }),
                "{mode}"
            );
        }
    }

    #[test]
    fn parses_jdbc_urls() {
        let url = JdbcUrl::parse("connection.url", "jdbc:mysql://localhost:3306/mydb").unwrap();
        assert_eq!(url.dialect, Dialect::MySql);
        assert_eq!((url.host.as_str(), url.port), ("localhost", 3306));
        assert_eq!(url.database.as_deref(), Some("mydb"));

        let url = JdbcUrl::parse(
            "connection.url",
            "jdbc:mariadb://db1,db2:3307/shop?user=app&password=secret&useSSL=false",
        )
        .unwrap();
        assert_eq!((url.host.as_str(), url.port), ("db1", 3306));
        assert_eq!(url.params["user"], "app");
        let settings = DbSettings::new(url, None, None, 3, Duration::from_secs(1));
        assert_eq!(settings.user.as_deref(), Some("app"));
        assert_eq!(settings.password.as_ref().unwrap().expose(), "secret");
        assert!(!format!("{settings:?}").contains("secret"));

        let url = JdbcUrl::parse("connection.url", "jdbc:postgresql://pg/db").unwrap();
        assert_eq!((url.dialect, url.port), (Dialect::Postgres, 5432));

        let error = JdbcUrl::parse("connection.url", "mysql://h/db?password=x").unwrap_err();
        assert_eq!(error.key, "connection.url");
        assert!(!error.to_string().contains("password=x"));
        assert!(JdbcUrl::parse("connection.url", "jdbc:oracle://h/db").is_err());
        assert!(JdbcUrl::parse("connection.url", "jdbc:mysql://h:port/db").is_err());

        // Credentials before the host; the query's win, and connection.user/password win over
        // both.
        let url = JdbcUrl::parse("connection.url", "jdbc:mysql://app:s3cret@db:3307/shop").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("db", 3307));
        let settings = DbSettings::new(url, None, None, 3, Duration::from_secs(1));
        assert_eq!(settings.user.as_deref(), Some("app"));
        assert_eq!(settings.password.as_ref().unwrap().expose(), "s3cret");
        let url =
            JdbcUrl::parse("connection.url", "jdbc:mysql://app:s3cret@db/shop?user=q").unwrap();
        assert_eq!(url.params["user"], "q");
        let settings = DbSettings::new(url, Some("c".into()), None, 3, Duration::from_secs(1));
        assert_eq!(settings.user.as_deref(), Some("c"));
        let error =
            JdbcUrl::parse("connection.url", "jdbc:mysql://app:s3cret@db:x/shop").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");

        // Connector/J's multi-host forms (its manual's examples): credentials shared by a
        // bracketed list, or each host's own; the first host is used, with its credentials.
        for url in [
            "jdbc:mysql://sandy:secret@[myhost1:1111,myhost2:2222]/db",
            "jdbc:mysql://sandy:secret@myhost1:1111,juan:niño@myhost2:2222/db",
        ] {
            let url = JdbcUrl::parse("connection.url", url).unwrap();
            assert_eq!((url.host.as_str(), url.port), ("myhost1", 1111));
            assert_eq!(
                (url.params["user"].as_str(), url.params["password"].as_str()),
                ("sandy", "secret")
            );
        }
        // IPv6 hosts, bracketed, with or without a port and credentials.
        for (url, port) in [
            ("jdbc:mysql://[::1]/db", 3306),
            ("jdbc:mysql://[::1]:3307/db", 3307),
            ("jdbc:mysql://u:p@[::1]/db", 3306),
            ("jdbc:mysql://u:p@[::1]:3307/db", 3307),
            ("jdbc:mysql://u:p@[[::1]:3307,h2]/db", 3307),
        ] {
            let parsed = JdbcUrl::parse("connection.url", url).unwrap();
            assert_eq!((parsed.host.as_str(), parsed.port), ("::1", port), "{url}");
            assert_eq!(
                parsed.params.get("user").map(String::as_str),
                url.contains("u:p").then_some("u"),
                "{url}"
            );
        }
        assert!(JdbcUrl::parse("connection.url", "jdbc:mysql://[::1]x/db").is_err());
        let url = JdbcUrl::parse("connection.url", "jdbc:mysql://h1,juan:pw@h2:2222/db").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("h1", 3306));
        assert!(!url.params.contains_key("user"));

        // Reserved characters are percent-encoded in every part, and read decoded.
        let url = JdbcUrl::parse(
            "connection.url",
            "jdbc:mysql://app%40corp:p%40ss%3Aw%2Bd@db/my%20db?serverTimezone=Europe%2FParis&x=a+b",
        )
        .unwrap();
        assert_eq!(url.params["user"], "app@corp");
        assert_eq!(url.params["password"], "p@ss:w+d");
        assert_eq!(url.database.as_deref(), Some("my db"));
        assert_eq!(url.params["serverTimezone"], "Europe/Paris");
        assert_eq!(url.params["x"], "a+b");
        let url =
            JdbcUrl::parse("connection.url", "jdbc:mysql://db/shop?password=100%sure").unwrap();
        assert_eq!(url.params["password"], "100%sure");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_mysql("users"), "`users`");
        assert_eq!(quote_mysql("we`ird"), "`we``ird`");
    }
}
