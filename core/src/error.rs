//! The one error type of debpull, with a small closed set of kinds.
//!
//! Every message names the thing at fault (a path, an archive member, a field, a
//! line). The C status codes and the Ruby exception classes are each one mapping
//! from [`ErrorKind`].

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument given by the caller is not acceptable.
    InvalidInput,
    /// A string is not a version that dpkg accepts.
    InvalidVersion,
    /// Malformed data: a control file, an archive, an index. The message has the position.
    Parse,
    /// Data is larger than a configured limit (decompression bombs, oversized fields).
    LimitExceeded,
    /// Something asked for does not exist.
    NotFound,
    /// Different content already exists where identical content was expected.
    Conflict,
    /// A conditional update lost against a concurrent writer.
    ConcurrentUpdate,
    /// A signature, checksum or size check failed.
    Verification,
    /// A storage backend or the network failed.
    Storage,
    /// A local file operation failed.
    Io,
    /// The operation was cancelled.
    Cancelled,
    /// The operation is not supported (by this backend, format or build).
    Unsupported,
}

impl ErrorKind {
    /// A short, stable, lower-case name for the kind (used by the bindings).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::InvalidVersion => "invalid version",
            ErrorKind::Parse => "parse error",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::ConcurrentUpdate => "concurrent update",
            ErrorKind::Verification => "verification failed",
            ErrorKind::Storage => "storage error",
            ErrorKind::Io => "I/O error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every fallible debpull operation.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with debpull's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message that names what is at fault.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An I/O error on `path`, keeping the operating system's error as the source.
    pub fn io(path: impl fmt::Display, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{path}: {err}")).with_source(err)
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Prefixes the message with where the error happened: `"{context}: {message}"`.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The same error as another kind (the message and source stay).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_message_and_keeps_kind() {
        let err = Error::new(ErrorKind::Parse, "line 3: missing colon").context("app_1.0_all.deb");
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert_eq!(err.to_string(), "app_1.0_all.deb: line 3: missing colon");
    }

    #[test]
    fn io_error_keeps_source() {
        let os = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = Error::io("/tmp/x.deb", os);
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.to_string().starts_with("/tmp/x.deb: "));
        assert!(std::error::Error::source(&err).is_some());
    }
}
