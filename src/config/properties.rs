//! Java `.properties` files (the format of Kafka Connect's worker and connector files), read
//! with the `java-properties` crate: escapes, `\uXXXX`, continuation lines, `=`/`:`/space
//! separators and `#`/`!` comments all behave as in Java.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Parses `.properties` text.
pub(crate) fn parse(text: &str, origin: &str) -> Result<BTreeMap<String, String>> {
    let map = java_properties::read(text.as_bytes()).map_err(|error| {
        let line = error
            .line_number()
            .map(|n| format!(" at line {n}"))
            .unwrap_or_default();
        Error::with_source(
            ErrorKind::Config,
            format!("{origin}: not a valid .properties file{line}"),
            error,
        )
    })?;
    Ok(map.into_iter().collect())
}

/// Reads and parses a `.properties` file.
pub(crate) fn read(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = read_text(path)?;
    parse(&text, &path.display().to_string())
}

/// Reads a whole text file with an error that names it.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|error| {
        Error::with_source(
            ErrorKind::Config,
            format!("cannot read {}", path.display()),
            error,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_syntax() {
        let map = parse(
            "# comment\n! also a comment\nbootstrap.servers=localhost:9092\nkey : value with spaces  \nlong=a,\\\n  b\nunicode=\\u00e9\n",
            "test",
        )
        .unwrap();
        assert_eq!(map["bootstrap.servers"], "localhost:9092");
        assert_eq!(map["key"], "value with spaces  ");
        assert_eq!(map["long"], "a,b");
        assert_eq!(map["unicode"], "é");
    }
}
