//! Where a repository lives: a small asynchronous object-store interface, and
//! its backends.
//!
//! Keys are relative, `/`-separated paths (`dists/staging/InRelease`). Writes are
//! whole-object and atomic: a reader sees the old object or the new one, never a
//! mix. Conditional writes ([`PutMode::Create`], [`PutMode::Update`]) are what the
//! publisher builds its compare-and-swap on; a backend that cannot honour them says
//! so in its [`Capabilities`] and refuses them ([`ErrorKind::Unsupported`]) rather
//! than overwrite silently (the S3 backend finds out by probing the store once).
//!
//! Backends: [`LocalStorage`] (`file://`, the embedded default) and, with the
//! `s3` feature (on by default), `S3Storage` (`s3://`). Every backend passes the
//! same conformance suite (`core/tests/support/storage_conformance.rs`, run by
//! `storage_conformance.rs` and `storage_s3.rs`).

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, ErrorKind, Result};

pub mod local;
#[cfg(feature = "s3")]
pub mod s3;

pub use local::LocalStorage;
#[cfg(feature = "s3")]
pub use s3::{S3Credentials, S3Options, S3Storage, ServerSideEncryption};

/// The future a [`Storage`] method returns (boxed, so that `dyn Storage` works).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An opaque tag that changes whenever an object's content changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(pub String);

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a backend knows about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its current ETag.
    pub etag: ETag,
    /// When it was last written, if the backend knows.
    pub last_modified: Option<SystemTime>,
}

/// An object as [`Storage::list`] names it. There is no ETag: some backends
/// (the local one) can only compute it by reading the whole object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, if the backend knows.
    pub last_modified: Option<SystemTime>,
}

/// How a put may replace what is stored at its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutMode {
    /// Whatever is there is replaced.
    Overwrite,
    /// Only if nothing is stored at the key (`If-None-Match: *`).
    Create,
    /// Only if the stored object's ETag is this one (`If-Match`).
    Update(ETag),
}

/// What a put writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Bytes in memory (indexes, signatures).
    Bytes(Vec<u8>),
    /// A local file, streamed rather than loaded (`.deb`s).
    File(PathBuf),
}

impl Payload {
    /// The payload's size in bytes.
    pub fn size(&self) -> Result<u64> {
        match self {
            Payload::Bytes(bytes) => Ok(bytes.len() as u64),
            Payload::File(path) => std::fs::metadata(path)
                .map(|m| m.len())
                .map_err(|e| Error::io(path.display(), e)),
        }
    }
}

/// Conditions on a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Answer [`GetResult::NotModified`] if the object's ETag is still this one.
    pub if_none_match: Option<ETag>,
    /// Answer [`GetResult::NotModified`] if the object was not modified after
    /// this time (whole seconds, HTTP's `If-Modified-Since`); for stores that
    /// give no ETag. Ignored when `if_none_match` is given.
    pub if_modified_since: Option<SystemTime>,
    /// Refuse ([`ErrorKind::LimitExceeded`]) an object larger than this many
    /// bytes, cutting the transfer off instead of buffering it.
    pub max_size: Option<u64>,
}

/// The answer to a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetResult {
    /// The object's content and metadata.
    Found {
        /// The whole content.
        data: Vec<u8>,
        /// Its metadata (ETag included).
        meta: ObjectMeta,
    },
    /// The object still has the ETag given in [`GetOptions::if_none_match`].
    NotModified,
}

/// An object's content as a stream, for objects too large to hold in memory
/// (`.deb`s). Read errors (a connection lost mid-body) surface as
/// [`std::io::Error`]s from the reader; the caller names the key.
pub struct ObjectStream {
    /// The object's size in bytes, as the backend announced it.
    pub size: u64,
    /// The content.
    pub reader: Pin<Box<dyn tokio::io::AsyncRead + Send>>,
}

impl fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// What a backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// [`PutMode::Create`] and [`PutMode::Update`] are atomic compare-and-swap operations.
    pub conditional_put: bool,
    /// [`GetOptions::if_none_match`] is honoured.
    pub conditional_get: bool,
}

/// An object store holding a repository.
///
/// Errors: a missing key is [`ErrorKind::NotFound`]; a failed condition of
/// [`PutMode::Create`] or [`PutMode::Update`] is [`ErrorKind::ConcurrentUpdate`];
/// a key that is not a clean relative path is [`ErrorKind::InvalidInput`];
/// backend failures are [`ErrorKind::Storage`] or [`ErrorKind::Io`]. Messages
/// name the key and the store.
pub trait Storage: Send + Sync + fmt::Debug + fmt::Display {
    /// Reads the object at `key`.
    fn get<'a>(&'a self, key: &'a str, options: GetOptions) -> BoxFuture<'a, Result<GetResult>>;

    /// Reads the object at `key` as a stream, without holding it in memory.
    fn get_stream<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectStream>>;

    /// The metadata of the object at `key`.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>>;

    /// Writes `payload` at `key` atomically, under `mode`; returns the new metadata.
    fn put<'a>(
        &'a self,
        key: &'a str,
        payload: Payload,
        mode: PutMode,
    ) -> BoxFuture<'a, Result<ObjectMeta>>;

    /// Deletes the object at `key`; deleting what is not there is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Every object whose key starts with `prefix`, sorted by key.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ListEntry>>>;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;
}

/// Opens the store a URI names: `file:///abs/path` is a [`LocalStorage`],
/// `s3://bucket/prefix?region=...` an `S3Storage` (feature `s3`, see
/// `S3Options::from_uri`); any other scheme is [`ErrorKind::Unsupported`], naming it.
pub fn open(uri: &str) -> Result<Arc<dyn Storage>> {
    let scheme = uri
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|s| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{uri:?} is not a storage URI (expected file:///absolute/path or s3://bucket/prefix)"),
            )
        })?;
    if scheme.eq_ignore_ascii_case("file") {
        Ok(Arc::new(LocalStorage::from_uri(uri)?))
    } else if scheme.eq_ignore_ascii_case("s3") && cfg!(feature = "s3") {
        open_s3(uri)
    } else {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "storage URI {uri:?}: the scheme {scheme:?} is not supported (supported: file, s3)"
            ),
        ))
    }
}

#[cfg(feature = "s3")]
fn open_s3(uri: &str) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(S3Storage::from_uri(uri)?))
}

#[cfg(not(feature = "s3"))]
fn open_s3(uri: &str) -> Result<Arc<dyn Storage>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!("storage URI {uri:?}: debpull was built without the \"s3\" feature"),
    ))
}

/// What follows `prefix` (a scheme with its `://`, matched case-insensitively)
/// at the start of `uri`.
pub(crate) fn strip_scheme<'a>(uri: &'a str, prefix: &str) -> Option<&'a str> {
    uri.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &uri[prefix.len()..])
}

/// Decodes `%XX` escapes (a URI's path or query value); the error says what is
/// wrong, for the caller to put in context.
pub(crate) fn percent_decode(text: &str) -> std::result::Result<String, &'static str> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let digits = tail
                .get(..2)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .ok_or("a % is not followed by two hex digits")?;
            let hex = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
            bytes.push(hex(digits[0]) << 4 | hex(digits[1]));
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| "the decoded text is not UTF-8")
}

/// Checks that `key` is a clean relative path: not empty, no leading or trailing
/// `/`, no empty, `.` or `..` segment, no backslash or control character.
pub fn check_key(key: &str) -> Result<()> {
    let clean = !key.is_empty()
        && !key.contains(['\\', '\0'])
        && !key.chars().any(char::is_control)
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if clean {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("storage key {key:?} is not a clean relative path"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_clean_relative_paths() {
        for good in [
            "InRelease",
            "dists/staging/InRelease",
            "pool/main/a/app/app_1.0+b1~rc1_amd64.deb",
        ] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/./b",
            "../x",
            "a/..",
            "trailing/",
            "a\\b",
            "nul\0",
            "tab\there",
        ] {
            let err = check_key(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
