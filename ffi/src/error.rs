//! Status codes, the error object, and the panic boundary every entry point runs in.

use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use debpull::{Error, ErrorKind};

/// What a fallible function returns: `DEBPULL_STATUS_OK` (0) on success, else
/// the kind of failure (the same kinds as the Rust `debpull::ErrorKind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebpullStatus {
    /// Success.
    Ok = 0,
    /// An argument is not acceptable: NULL, not UTF-8, empty, out of range.
    InvalidInput = 1,
    /// A string is not a version that dpkg accepts.
    InvalidVersion = 2,
    /// Malformed data (control file, archive, index); the message has the position.
    Parse = 3,
    /// Data is larger than a limit.
    LimitExceeded = 4,
    /// Something asked for does not exist.
    NotFound = 5,
    /// Different content already exists where identical content was expected.
    Conflict = 6,
    /// A conditional update lost against a concurrent writer.
    ConcurrentUpdate = 7,
    /// A signature, checksum or size check failed.
    Verification = 8,
    /// A storage backend or the network failed.
    Storage = 9,
    /// A local file operation failed.
    Io = 10,
    /// The operation was cancelled.
    Cancelled = 11,
    /// Not supported by this backend, format or build.
    Unsupported = 12,
    /// A bug in debpull (a Rust panic, caught at the boundary). Please report it.
    Internal = 100,
}

impl From<ErrorKind> for DebpullStatus {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidInput => DebpullStatus::InvalidInput,
            ErrorKind::InvalidVersion => DebpullStatus::InvalidVersion,
            ErrorKind::Parse => DebpullStatus::Parse,
            ErrorKind::LimitExceeded => DebpullStatus::LimitExceeded,
            ErrorKind::NotFound => DebpullStatus::NotFound,
            ErrorKind::Conflict => DebpullStatus::Conflict,
            ErrorKind::ConcurrentUpdate => DebpullStatus::ConcurrentUpdate,
            ErrorKind::Verification => DebpullStatus::Verification,
            ErrorKind::Storage => DebpullStatus::Storage,
            ErrorKind::Io => DebpullStatus::Io,
            ErrorKind::Cancelled => DebpullStatus::Cancelled,
            ErrorKind::Unsupported => DebpullStatus::Unsupported,
            // A kind added to core without a status here: still an error.
            _ => DebpullStatus::Internal,
        }
    }
}

/// A failure: its kind and a message naming what is at fault (a path, a key,
/// a field, a line). Created by debpull, owned by the caller, freed with
/// `debpull_error_free`. Immutable: safe to read from any thread.
pub struct DebpullError {
    status: DebpullStatus,
    message: CString,
}

impl DebpullError {
    pub(crate) fn new(status: DebpullStatus, message: &str) -> DebpullError {
        DebpullError {
            status,
            message: crate::args::text(message),
        }
    }
}

/// The kind of `error`; `DEBPULL_STATUS_INVALID_INPUT` for a NULL `error`.
/// Borrows `error`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_error_status(error: *const DebpullError) -> DebpullStatus {
    // SAFETY: the caller passes NULL or an error from debpull, not freed.
    unsafe { error.as_ref() }.map_or(DebpullStatus::InvalidInput, |e| e.status)
}

/// The message of `error` (UTF-8, NUL-terminated), borrowed: valid until
/// `error` is freed. NULL for a NULL `error`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_error_message(error: *const DebpullError) -> *const c_char {
    // SAFETY: the caller passes NULL or an error from debpull, not freed.
    unsafe { error.as_ref() }.map_or(std::ptr::null(), |e| e.message.as_ptr())
}

/// A short, static, lower-case name of a `DebpullStatus` value ("not found",
/// ...; "unknown status" for a value that is none): never NULL, never freed.
/// Takes an `int` so that any value is safe to pass.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_status_name(status: c_int) -> *const c_char {
    const OK: c_int = DebpullStatus::Ok as c_int;
    const INVALID_INPUT: c_int = DebpullStatus::InvalidInput as c_int;
    const INVALID_VERSION: c_int = DebpullStatus::InvalidVersion as c_int;
    const PARSE: c_int = DebpullStatus::Parse as c_int;
    const LIMIT_EXCEEDED: c_int = DebpullStatus::LimitExceeded as c_int;
    const NOT_FOUND: c_int = DebpullStatus::NotFound as c_int;
    const CONFLICT: c_int = DebpullStatus::Conflict as c_int;
    const CONCURRENT_UPDATE: c_int = DebpullStatus::ConcurrentUpdate as c_int;
    const VERIFICATION: c_int = DebpullStatus::Verification as c_int;
    const STORAGE: c_int = DebpullStatus::Storage as c_int;
    const IO: c_int = DebpullStatus::Io as c_int;
    const CANCELLED: c_int = DebpullStatus::Cancelled as c_int;
    const UNSUPPORTED: c_int = DebpullStatus::Unsupported as c_int;
    const INTERNAL: c_int = DebpullStatus::Internal as c_int;
    let name: &'static CStr = match status {
        OK => c"ok",
        INVALID_INPUT => c"invalid input",
        INVALID_VERSION => c"invalid version",
        PARSE => c"parse error",
        LIMIT_EXCEEDED => c"limit exceeded",
        NOT_FOUND => c"not found",
        CONFLICT => c"conflict",
        CONCURRENT_UPDATE => c"concurrent update",
        VERIFICATION => c"verification failed",
        STORAGE => c"storage error",
        IO => c"I/O error",
        CANCELLED => c"cancelled",
        UNSUPPORTED => c"unsupported",
        INTERNAL => c"internal error",
        _ => c"unknown status",
    };
    name.as_ptr()
}

/// Frees `error`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_error_free(error: *mut DebpullError) {
    if !error.is_null() {
        // SAFETY: a non-NULL `error` came from Box::into_raw in `report`.
        drop(unsafe { Box::from_raw(error) });
    }
}

/// Runs the body of a fallible entry point: catches panics, turns an error
/// into its status and, when `error_out` is not NULL, a new `DebpullError`
/// written there. `error_out` is written only on failure.
pub(crate) fn call(
    error_out: *mut *mut DebpullError,
    body: impl FnOnce() -> Result<(), Error>,
) -> DebpullStatus {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return DebpullStatus::Ok,
        Ok(Err(e)) => (DebpullStatus::from(e.kind()), e.to_string()),
        Err(panic) => (DebpullStatus::Internal, panic_message(panic.as_ref())),
    };
    if !error_out.is_null() {
        let error = Box::into_raw(Box::new(DebpullError::new(status, &message)));
        // SAFETY: `error_out` is not NULL and points to a pointer the caller owns.
        unsafe { error_out.write(error) };
    }
    status
}

/// Runs an infallible entry point (an accessor): a panic gives `fallback`.
pub(crate) fn guard<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic");
    format!("internal error in debpull (please report it): {what}")
}
