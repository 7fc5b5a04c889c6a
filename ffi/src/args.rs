//! Checked conversions of what C passes in (pointers, strings, buffers) and
//! of what goes back out (handles, owned strings).

use std::ffi::{CStr, CString, c_char};
use std::time::Duration;

use debpull::{Error, ErrorKind, Result};

use crate::error::guard;

/// The largest buffer a function accepts by pointer and length (keys, control
/// text): anything larger is a mistake, not data.
pub(crate) const MAX_BUFFER: usize = 64 << 20;

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// `ptr` as a reference; NULL is an error naming the parameter `name`.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` for `'a`.
pub(crate) unsafe fn borrow<'a, T>(ptr: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: the caller's promise.
    unsafe { ptr.as_ref() }.ok_or_else(|| invalid(format!("{name} is NULL")))
}

/// `ptr` as a mutable reference (an options builder, a .deb builder); NULL is
/// an error naming the parameter `name`.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` that no other thread uses for `'a`.
pub(crate) unsafe fn borrow_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: the caller's promise.
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(format!("{name} is NULL")))
}

/// What an accessor returns: `get` of the handle `ptr` points to, or
/// `fallback` for NULL (and if `get` panicked).
pub(crate) fn read<T, R: Copy>(ptr: *const T, fallback: R, get: impl FnOnce(&T) -> R) -> R {
    guard(fallback, || {
        // SAFETY: accessors take NULL or a live handle from debpull.
        unsafe { ptr.as_ref() }.map_or(fallback, get)
    })
}

/// A borrowed C string for an optional value: NULL for `None`.
pub(crate) fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The longest duration accepted, in seconds (10 years): more is a mistake.
pub(crate) const MAX_SECONDS: u64 = 10 * 366 * 24 * 60 * 60;

/// `value` seconds as a duration; more than [`MAX_SECONDS`] is refused,
/// naming the parameter `name`.
pub(crate) fn seconds(value: u64, name: &str) -> Result<Duration> {
    if value > MAX_SECONDS {
        return Err(invalid(format!(
            "{name}: {value} seconds is more than the {MAX_SECONDS} (10 years) accepted"
        )));
    }
    Ok(Duration::from_secs(value))
}

/// Checks that an output pointer is not NULL (before any work is done, so
/// that a NULL output never costs a side effect).
pub(crate) fn out<T>(ptr: *mut T, name: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(invalid(format!("{name} (an output) is NULL")));
    }
    Ok(())
}

/// Writes `value` to the output `ptr`, checked not NULL by [`out`] before.
///
/// # Safety
/// `ptr` is valid for a write of `T`.
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) {
    // SAFETY: the caller's promise; checked not NULL.
    unsafe { ptr.write(value) };
}

/// A NUL-terminated string argument as UTF-8; NULL or invalid UTF-8 is an
/// error naming the parameter.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string live for `'a`.
pub(crate) unsafe fn str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: the caller's promise.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "{name} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

/// Like [`str`], but also refuses the empty string.
///
/// # Safety
/// As [`str`].
pub(crate) unsafe fn non_empty_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: the caller's promise.
    let s = unsafe { str(ptr, name) }?;
    if s.is_empty() {
        return Err(invalid(format!("{name} is empty")));
    }
    Ok(s)
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`str`].
pub(crate) unsafe fn opt_str<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise.
    unsafe { str(ptr, name) }.map(Some)
}

/// A buffer argument of `len` bytes at `ptr`. NULL is fine only with `len` 0;
/// a length above [`MAX_BUFFER`] is refused without touching the memory.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if len > MAX_BUFFER {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{name}: a length of {len} bytes is more than the {MAX_BUFFER} accepted"),
        ));
    }
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(invalid(format!("{name} is NULL with a length of {len}")));
    }
    // SAFETY: the caller's promise; `len` is at most MAX_BUFFER (< isize::MAX).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A string array argument: `count` NUL-terminated UTF-8 strings at `ptr`.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `count` pointers, each as for [`str`].
pub(crate) unsafe fn str_array<'a>(
    ptr: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<&'a str>> {
    if count > MAX_BUFFER / std::mem::size_of::<*const c_char>() {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{name}: {count} strings are more than accepted"),
        ));
    }
    if ptr.is_null() {
        if count == 0 {
            return Ok(Vec::new());
        }
        return Err(invalid(format!("{name} is NULL with a count of {count}")));
    }
    // SAFETY: the caller's promise.
    let pointers = unsafe { std::slice::from_raw_parts(ptr, count) };
    pointers
        .iter()
        .enumerate()
        // SAFETY: the caller's promise, for each element.
        .map(|(i, &p)| unsafe { str(p, &format!("{name}[{i}]")) })
        .collect()
}

/// A Rust string as an owned C string. A string from debpull holding a NUL
/// (which C cannot represent) is an error naming `what`.
pub(crate) fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            ErrorKind::Unsupported,
            format!("{what} holds a NUL byte, which a C string cannot carry"),
        )
    })
}

/// A message or a name for C: a NUL byte (which a C string cannot carry; an
/// installer's output may hold one) becomes U+FFFD.
pub(crate) fn text(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Runs `set` on the options handle `options` points to (NULL: an error),
/// under [`crate::error::call`]: the shape of every `_set_*` function.
pub(crate) fn edit<H>(
    options: *mut H,
    error: *mut *mut crate::error::DebpullError,
    set: impl FnOnce(&mut H) -> Result<()>,
) -> crate::error::DebpullStatus {
    crate::error::call(error, || {
        // SAFETY: NULL or live options from debpull, not shared with another
        // thread (options handles are for one thread at a time).
        let options = unsafe { borrow_mut(options, "options") }?;
        set(options)
    })
}

/// Moves `value` to the heap and hands the pointer to C (freed by the type's
/// `_free` function with [`free`]).
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is fine.
///
/// # Safety
/// `ptr` is NULL or came from [`into_handle`] with the same `T` and is not used again.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller's promise.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_what_follows_a_nul_byte() {
        assert_eq!(
            text("unhealthy\0binary").to_str().unwrap(),
            "unhealthy\u{FFFD}binary"
        );
        assert_eq!(text("plain").to_str().unwrap(), "plain");
    }

    #[test]
    fn seconds_refuses_more_than_ten_years() {
        assert_eq!(seconds(MAX_SECONDS, "x").unwrap().as_secs(), MAX_SECONDS);
        let err = seconds(MAX_SECONDS + 1, "jitter").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().starts_with("jitter: "), "{err}");
    }
}
