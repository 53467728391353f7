//! Java's JAAS configuration text (`sasl.jaas.config`, the REST extension's
//! `java.security.auth.login.config` file): login module options.

/// The value of option `name="value"` (or an unquoted `name=value`) in a JAAS login module's
/// options: the name stands alone (after whitespace or `;`), and `\` escapes the next character
/// of a quoted value.
pub(crate) fn option(jaas: &str, name: &str) -> Option<String> {
    let mut rest = jaas;
    while let Some(at) = rest.find(name) {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ';');
        let after = rest[at + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            if let Some(quoted) = value.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => out.extend(chars.next()),
                        '"' => return Some(out),
                        c => out.push(c),
                    }
                }
                return None;
            }
            let end = value
                .find(|c: char| c.is_whitespace() || c == ';')
                .unwrap_or(value.len());
            return Some(value[..end].to_string());
        }
        rest = &rest[at + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_stand_alone_and_unescape() {
        let options = r#"required profile="a\"b" file="/etc/x y" level=3;"#;
        assert_eq!(option(options, "file").as_deref(), Some("/etc/x y"));
        assert_eq!(option(options, "profile").as_deref(), Some("a\"b"));
        assert_eq!(option(options, "level").as_deref(), Some("3"));
        assert_eq!(option(options, "missing"), None);
    }
}
