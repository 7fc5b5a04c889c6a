//! Debian versions: parse, compare, relations (`debpull_version_*`).

use std::ffi::{CString, c_char, c_int};

use debpull::{Relation, Version};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};

/// A parsed Debian version. Immutable: safe to share between threads.
/// Created by `debpull_version_parse`, freed with `debpull_version_free`.
pub struct DebpullVersion {
    version: Version,
    text: CString,
    upstream: CString,
    revision: Option<CString>,
}

impl DebpullVersion {
    /// The handle for `version` (its parts as C strings).
    pub(crate) fn new(version: Version) -> debpull::Result<DebpullVersion> {
        Ok(DebpullVersion {
            text: args::c_string(version.as_str(), "version")?,
            upstream: args::c_string(version.upstream(), "version")?,
            revision: version
                .revision()
                .map(|r| args::c_string(r, "version"))
                .transpose()?,
            version,
        })
    }
}

/// Parses `text` as dpkg does (blanks around it ignored) and writes a new
/// version to `*out` (owned by the caller: `debpull_version_free`). Borrows
/// `text`. `DEBPULL_STATUS_INVALID_VERSION` with dpkg's reason when dpkg
/// would refuse it.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_parse(
    text: *const c_char,
    out: *mut *mut DebpullVersion,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let text = unsafe { args::str(text, "text") }?;
        args::out(out, "out")?;
        let version = DebpullVersion::new(Version::parse(text)?)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(version)) };
        Ok(())
    })
}

/// The epoch of `version` (0 when it has none, and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_epoch(version: *const DebpullVersion) -> u32 {
    args::read(version, 0, |v| v.version.epoch())
}

/// The whole version as parsed (blanks trimmed), borrowed from `version`:
/// valid until it is freed. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_string(version: *const DebpullVersion) -> *const c_char {
    args::read(version, std::ptr::null(), |v| v.text.as_ptr())
}

/// The upstream part, borrowed from `version`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_upstream(version: *const DebpullVersion) -> *const c_char {
    args::read(version, std::ptr::null(), |v| v.upstream.as_ptr())
}

/// The Debian revision, borrowed from `version`; NULL when there is none
/// (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_revision(version: *const DebpullVersion) -> *const c_char {
    args::read(version, std::ptr::null(), |v| args::opt_ptr(&v.revision))
}

/// Compares two parsed versions in dpkg's order: negative, 0 or positive as
/// `a` is earlier than, equal to or later than `b` (`1.0` equals `0:1.00-0`).
/// NULL sorts before every version. Borrows both.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_cmp(a: *const DebpullVersion, b: *const DebpullVersion) -> c_int {
    guard(0, || {
        // SAFETY: NULL or live versions from debpull.
        let (a, b) = unsafe { (a.as_ref(), b.as_ref()) };
        let a = a.map(|v| &v.version);
        let b = b.map(|v| &v.version);
        a.cmp(&b) as c_int
    })
}

/// Compares two version strings as `dpkg --compare-versions` does and writes
/// -1, 0 or 1 to `*result`. Borrows `a` and `b`; either one not a valid
/// version is `DEBPULL_STATUS_INVALID_VERSION` naming it.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_compare(
    a: *const c_char,
    b: *const c_char,
    result: *mut c_int,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let (a, b) = unsafe { (args::str(a, "a")?, args::str(b, "b")?) };
        args::out(result, "result")?;
        let ordering = Version::compare_str(a, b)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(result, ordering as c_int) };
        Ok(())
    })
}

/// Whether `a relation b` holds, `relation` being one of `<<`, `<=`, `=`,
/// `>=`, `>>` (or `lt le eq ge gt`); writes the answer to `*result`. Borrows
/// every string. An unknown relation is `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_relation(
    a: *const c_char,
    relation: *const c_char,
    b: *const c_char,
    result: *mut bool,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let (a, relation, b) = unsafe {
            (
                args::str(a, "a")?,
                args::str(relation, "relation")?,
                args::str(b, "b")?,
            )
        };
        args::out(result, "result")?;
        let relation: Relation = relation.parse()?;
        let holds = relation.holds_for(Version::compare_str(a, b)?);
        // SAFETY: checked not NULL above.
        unsafe { args::write(result, holds) };
        Ok(())
    })
}

/// Frees `version`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_version_free(version: *mut DebpullVersion) {
    // SAFETY: NULL or a version from debpull_version_parse, not used again.
    guard((), || unsafe { args::free(version) })
}
