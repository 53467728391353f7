//! HTTP basic authentication for the REST API, configured exactly as for Kafka's
//! `BasicAuthSecurityRestExtension`:
//!
//! ```properties
//! rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension
//! ```
//!
//! with `KAFKA_OPTS=-Djava.security.auth.login.config=/etc/kafka/connect-jaas.conf` in the
//! environment, that file holding
//!
//! ```text
//! KafkaConnect {
//!     org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
//!     file="/etc/kafka/connect.password";
//! };
//! ```
//!
//! and the credentials file one `user: password` (or `user=password`) line per user. Confluent
//! documents the same file with roles after the password (`user: password,role…`, Jetty's
//! format); Sluice accepts both: the whole value, or the part before its first comma.
//! Passwords are compared in constant time. A request without valid credentials gets 401 with
//! `WWW-Authenticate: Basic` and Kafka's body "User cannot access the resource.". As in Kafka,
//! an empty credentials file lets every request through (with a warning at start).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::config::ConfigError;
use crate::error::{Error, ErrorKind, Result};

/// Kafka's basic-auth REST extension.
pub(super) const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
const LOGIN_MODULE: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";
/// The JAAS section the extension reads.
const SECTION: &str = "KafkaConnect";
const JAAS_PROPERTY: &str = "-Djava.security.auth.login.config=";

/// The users allowed to call the REST API.
#[derive(Clone)]
pub(super) struct Credentials {
    users: Arc<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("users", &self.users.len())
            .finish()
    }
}

impl Credentials {
    /// The credentials for `rest.extension.classes`, or `None` when no extension is listed.
    /// `kafka_opts` is the `KAFKA_OPTS` environment variable.
    pub(super) fn from_extensions(
        extensions: &[String],
        kafka_opts: Option<&str>,
    ) -> Result<Option<Credentials>> {
        let mut basic = false;
        for class in extensions {
            if class == BASIC_AUTH_EXTENSION || class == "BasicAuthSecurityRestExtension" {
                basic = true;
            } else {
                return Err(ConfigError::invalid(
                    "rest.extension.classes",
                    class,
                    format!("Sluice provides {BASIC_AUTH_EXTENSION} only"),
                )
                .into());
            }
        }
        if !basic {
            return Ok(None);
        }
        let jaas = kafka_opts.and_then(jaas_file).ok_or_else(|| {
            Error::config(format!(
                "rest.extension.classes names {BASIC_AUTH_EXTENSION}, which reads the JAAS file given as {JAAS_PROPERTY}<file> in the KAFKA_OPTS environment variable; KAFKA_OPTS names none"
            ))
        })?;
        let text = std::fs::read_to_string(&jaas).map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                format!("cannot read the JAAS file {jaas}"),
                e,
            )
        })?;
        let file = credentials_file(&text)
            .map_err(|why| Error::config(format!("JAAS file {jaas}: {why}")))?;
        let users = crate::config::properties::read(Path::new(&file))?;
        if users.is_empty() {
            tracing::warn!(
                message = "the REST credentials file is empty: every request is let through, as Kafka does",
                file = %file
            );
        }
        Ok(Some(Credentials {
            users: Arc::new(users),
        }))
    }

    /// Whether an `Authorization` header value names a user and its password.
    pub(super) fn allows(&self, authorization: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return false;
        };
        let Some(stored) = self.users.get(&user) else {
            // Compare anyway, so an unknown user takes as long as a wrong password.
            let _ = password.as_bytes().ct_eq(password.as_bytes());
            return false;
        };
        let whole: bool = stored.as_bytes().ct_eq(password.as_bytes()).into();
        let before_roles = stored.split(',').next().unwrap_or("").trim_end();
        let without_roles: bool = before_roles.as_bytes().ct_eq(password.as_bytes()).into();
        whole | without_roles
    }
}

/// The JAAS file named in `KAFKA_OPTS` (`-Djava.security.auth.login.config=<file>`, the path
/// optionally quoted).
fn jaas_file(kafka_opts: &str) -> Option<String> {
    let start = kafka_opts.find(JAAS_PROPERTY)? + JAAS_PROPERTY.len();
    let rest = &kafka_opts[start..];
    let path = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split_whitespace().next()?,
    };
    Some(path.to_string()).filter(|p| !p.is_empty())
}

/// The `file` option of the `KafkaConnect` section's `PropertyFileLoginModule`.
fn credentials_file(jaas: &str) -> std::result::Result<String, String> {
    // Drop comments (`//…` and `/* … */`).
    let mut text = String::with_capacity(jaas.len());
    let mut rest = jaas;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("//") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else {
            let c = rest.chars().next().expect("non-empty");
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    let mut sections = text.as_str();
    loop {
        let open = sections
            .find('{')
            .ok_or_else(|| format!("no JAAS section named '{SECTION}'"))?;
        let name = sections[..open].trim().trim_start_matches(';').trim();
        let close = sections[open..]
            .find('}')
            .ok_or_else(|| format!("section {name} is not closed with }}"))?
            + open;
        let body = &sections[open + 1..close];
        sections = &sections[close + 1..];
        sections = sections.trim_start().trim_start_matches(';');
        if name != SECTION {
            continue;
        }
        let mut words = body.split_whitespace();
        let module = words.next().unwrap_or("");
        if module != LOGIN_MODULE && module != "PropertyFileLoginModule" {
            return Err(format!(
                "section {SECTION} names login module {module}; Sluice provides {LOGIN_MODULE} only"
            ));
        }
        let options = body[body.find(module).map_or(0, |i| i + module.len())..]
            .trim()
            .trim_end_matches(';');
        let file = crate::config::jaas::option(options, "file")
            .filter(|f| !f.is_empty())
            .ok_or_else(|| "Property Credentials file must be specified".to_string())?;
        return Ok(file);
    }
}

/// `Basic base64(user:password)` → user and password.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (!user.is_empty()).then(|| (user.to_string(), password.to_string()))
}

/// The middleware: 401 unless the request carries valid credentials.
pub(super) async fn require(
    State(credentials): State<Credentials>,
    request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if credentials.allows(authorization) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"KafkaConnect\""),
        )],
        "User cannot access the resource.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    fn credentials(lines: &str) -> Credentials {
        let users = crate::config::properties::parse(lines, "test").unwrap();
        Credentials {
            users: Arc::new(users),
        }
    }

    #[test]
    fn passwords_with_and_without_roles() {
        let c = credentials("admin: admin-secret,admin\nops=ops:pw\n");
        assert!(c.allows(Some(&header("admin", "admin-secret"))));
        assert!(c.allows(Some(&header("admin", "admin-secret,admin"))));
        assert!(c.allows(Some(&header("ops", "ops:pw"))));
        assert!(!c.allows(Some(&header("admin", "wrong"))));
        assert!(!c.allows(Some(&header("nobody", "admin-secret"))));
        assert!(!c.allows(None));
        assert!(!c.allows(Some("Bearer abc")));
        assert!(!c.allows(Some("Basic !!!")));
        assert!(credentials("").allows(None), "an empty file lets all in");
    }

    #[test]
    fn reads_the_jaas_file_named_in_kafka_opts() {
        assert_eq!(
            jaas_file("-Xmx1g -Djava.security.auth.login.config=/etc/kafka/jaas.conf -Dx=y"),
            Some("/etc/kafka/jaas.conf".into())
        );
        assert_eq!(
            jaas_file(r#"-Djava.security.auth.login.config="/etc/my dir/jaas.conf""#),
            Some("/etc/my dir/jaas.conf".into())
        );
        assert_eq!(jaas_file("-Xmx1g"), None);
        let jaas = r#"
            // the REST API
            KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b"; };
            KafkaConnect {
                org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
                file="/etc/kafka/connect.password";
            };
        "#;
        assert_eq!(
            credentials_file(jaas).unwrap(),
            "/etc/kafka/connect.password"
        );
        assert!(credentials_file("Other { x required; };").is_err());
        assert!(
            credentials_file("KafkaConnect { com.example.Ldap required file=\"/x\"; };")
                .unwrap_err()
                .contains("login module com.example.Ldap")
        );
        assert_eq!(
            credentials_file(
                "KafkaConnect { org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required; };"
            )
            .unwrap_err(),
            "Property Credentials file must be specified"
        );
        // `file` is an option name, not any text containing it.
        assert_eq!(
            credentials_file(
                "KafkaConnect { PropertyFileLoginModule required profile=\"p\" file=\"/y\"; };"
            )
            .unwrap(),
            "/y"
        );
    }

    #[test]
    fn extensions_are_checked() {
        assert!(Credentials::from_extensions(&[], None).unwrap().is_none());
        let other = Credentials::from_extensions(&["com.example.Auth".into()], None)
            .unwrap_err()
            .trace();
        assert!(other.contains("rest.extension.classes"), "{other}");
        let no_jaas = Credentials::from_extensions(&[BASIC_AUTH_EXTENSION.into()], Some("-Xmx1g"))
            .unwrap_err()
            .trace();
        assert!(no_jaas.contains("KAFKA_OPTS"), "{no_jaas}");
    }
}
