//! Core errors as Ruby exceptions: one class per `ErrorKind`, defined in
//! Ruby (`lib/debpull/error.rb`) and looked up here when raised.

use debpull::ErrorKind;
use magnus::{Error, ExceptionClass, Module, RModule, Ruby};

/// The name of the Ruby class of `kind` (under `Debpull`).
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "InvalidInput",
        ErrorKind::InvalidVersion => "InvalidVersion",
        ErrorKind::Parse => "ParseError",
        ErrorKind::LimitExceeded => "LimitExceeded",
        ErrorKind::NotFound => "NotFound",
        ErrorKind::Conflict => "Conflict",
        ErrorKind::ConcurrentUpdate => "ConcurrentUpdate",
        ErrorKind::Verification => "VerificationError",
        ErrorKind::Storage => "StorageError",
        ErrorKind::Io => "IOError",
        ErrorKind::Cancelled => "Cancelled",
        ErrorKind::Unsupported => "Unsupported",
        _ => "Error",
    }
}

/// `error` as the Ruby exception of its kind, with its message.
pub(crate) fn to_ruby(ruby: &Ruby, error: debpull::Error) -> Error {
    Error::new(class_of(ruby, error.kind()), error.to_string())
}

/// The base `Debpull::Error` with `message`: what no kind describes (a panic
/// caught at the boundary, an internal fault).
pub(crate) fn internal(ruby: &Ruby, message: impl Into<String>) -> Error {
    let lookup = || -> Result<ExceptionClass, Error> {
        let module: RModule = ruby.class_object().const_get("Debpull")?;
        module.const_get("Error")
    };
    let class = lookup().unwrap_or_else(|_| ruby.exception_standard_error());
    Error::new(class, message.into())
}

/// `Debpull::<class of kind>`, or `StandardError` if the Ruby files are not
/// loaded (they always are through `require "debpull"`).
fn class_of(ruby: &Ruby, kind: ErrorKind) -> ExceptionClass {
    let lookup = || -> Result<ExceptionClass, Error> {
        let module: RModule = ruby.class_object().const_get("Debpull")?;
        module.const_get(class_name(kind))
    };
    lookup().unwrap_or_else(|_| ruby.exception_standard_error())
}

/// Maps a core result for Ruby.
pub(crate) trait IntoRuby<T> {
    /// The value, or the Ruby exception of the error's kind.
    fn into_ruby(self, ruby: &Ruby) -> Result<T, Error>;
}

impl<T> IntoRuby<T> for debpull::Result<T> {
    fn into_ruby(self, ruby: &Ruby) -> Result<T, Error> {
        self.map_err(|e| to_ruby(ruby, e))
    }
}
