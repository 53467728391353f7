//! The crate's error type: a kind for classification, a static-ish context message, and the
//! preserved source. The source is never formatted into the message; [`Error::trace`] renders the
//! whole chain for task status traces and logs.

use std::borrow::Cow;
use std::fmt;

/// `Result` with the crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, for retry decisions, HTTP status mapping and metrics labels.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A configuration value is missing or invalid.
    Config,
    /// The source or target database failed (connection, query, transaction).
    Database,
    /// The Kafka client or broker failed.
    Kafka,
    /// A record could not be converted to or from its wire format.
    Conversion,
    /// Local I/O failed (files, sockets).
    Io,
    /// Something that was looked up does not exist.
    NotFound,
    /// The operation conflicts with the current state.
    Conflict,
    /// The task or worker is shutting down.
    Shutdown,
    /// A broken invariant inside Sluice.
    Internal,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The crate's error: kind, context message and optional source.
pub struct Error {
    kind: ErrorKind,
    context: Cow<'static, str>,
    transient: bool,
    source: Option<BoxError>,
}

impl Error {
    /// A new error without a source.
    pub fn new(kind: ErrorKind, context: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            context: context.into(),
            transient: false,
            source: None,
        }
    }

    /// A new error wrapping `source`.
    pub(crate) fn with_source(
        kind: ErrorKind,
        context: impl Into<Cow<'static, str>>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error {
            kind,
            context: context.into(),
            transient: false,
            source: Some(source.into()),
        }
    }

    /// Marks the error as transient: retrying the same operation may succeed.
    pub(crate) fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// The error's kind.
    pub(crate) fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The context message, without the source chain.
    pub(crate) fn context(&self) -> &str {
        &self.context
    }

    /// Whether retrying may succeed (lost connection, deadlock, broker unavailable…).
    pub(crate) fn is_transient(&self) -> bool {
        self.transient
    }

    /// The message followed by every source in the chain, one per line, as shown in a task's
    /// `trace` in the status API.
    pub fn trace(&self) -> String {
        use std::fmt::Write;
        let mut out = self.context.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(source) = next {
            let _ = write!(out, "\nCaused by: {source}");
            next = source.source();
        }
        out
    }

    /// Shorthand for a configuration error.
    pub(crate) fn config(context: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Config, context)
    }

    /// Shorthand for an internal error.
    pub(crate) fn internal(context: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Internal, context)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("context", &self.context)
            .field("transient", &self.transient)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)?;
        if f.alternate() {
            let mut next = std::error::Error::source(self);
            while let Some(source) = next {
                write!(f, ": {source}")?;
                next = source.source();
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::with_source(ErrorKind::Io, "I/O error", error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_renders_the_source_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = Error::with_source(ErrorKind::Database, "cannot connect to 127.0.0.1:3307", io);
        assert_eq!(error.to_string(), "cannot connect to 127.0.0.1:3307");
        assert_eq!(
            format!("{error:#}"),
            "cannot connect to 127.0.0.1:3307: refused"
        );
        assert_eq!(
            error.trace(),
            "cannot connect to 127.0.0.1:3307\nCaused by: refused"
        );
        assert!(!error.is_transient());
        assert!(error.transient().is_transient());
    }
}
