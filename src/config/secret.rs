//! A password that never leaks through `Debug`, `Display` or logs: reading it takes an explicit
//! [`Password::expose`].

use std::fmt;

/// A secret string value (Kafka's `Password` type).
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct Password(String);

impl Password {
    /// What Kafka Connect shows instead of a password.
    pub(crate) const HIDDEN: &'static str = "[hidden]";

    pub(crate) fn new(value: String) -> Self {
        Password(value)
    }

    /// The secret itself. Call only where it is handed to a client library.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Password::HIDDEN)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Password::HIDDEN)
    }
}

/// Replaces the password in a URL's userinfo (`scheme://user:password@host`) and in `password=`
/// query parameters with `[hidden]`, for logs and API responses.
pub(crate) fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, Password::HIDDEN);
            }
        }
    }
    let mut result = String::with_capacity(out.len());
    let (base, query) = match out.find(['?', ';']) {
        Some(i) => out.split_at(i),
        None => (out.as_str(), ""),
    };
    result.push_str(base);
    let mut first = true;
    for part in query.split_inclusive(['&', '?', ';']) {
        if first && query.starts_with(['?', ';']) && part.len() == 1 {
            result.push_str(part);
            first = false;
            continue;
        }
        first = false;
        let (pair, sep) = match part.strip_suffix(['&', ';']) {
            Some(p) => (p, &part[p.len()..]),
            None => (part, ""),
        };
        match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                result.push_str(k);
                result.push('=');
                result.push_str(Password::HIDDEN);
            }
            _ => result.push_str(pair),
        }
        result.push_str(sep);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_hidden_in_debug_and_display() {
        let p = Password::new("1234".into());
        assert_eq!(format!("{p:?} {p}"), "[hidden] [hidden]");
        assert_eq!(p.expose(), "1234");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("mysql://root:1234@localhost:3306/mydb"),
            "mysql://root:[hidden]@localhost:3306/mydb"
        );
        assert_eq!(
            redact_url("jdbc:mysql://localhost:3306/mydb?user=root&password=1234&useSSL=false"),
            "jdbc:mysql://localhost:3306/mydb?user=root&password=[hidden]&useSSL=false"
        );
        assert_eq!(
            redact_url("jdbc:mysql://localhost/mydb"),
            "jdbc:mysql://localhost/mydb"
        );
    }
}
