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
//! Backends: [`LocalStorage`] (`file://`, the embedded default); with the
//! `s3` feature (on by default), `S3Storage` (`s3://`); with the `http` feature
//! (on by default), the read-only `HttpStorage` (`http://`, `https://`: a
//! public bucket, CloudFront, any apt mirror). Every backend passes the same
//! conformance suite (`core/tests/support/storage_conformance.rs`, run by
//! `storage_conformance.rs`, `storage_s3.rs` and `storage_http.rs`).

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, ErrorKind, Result};

#[cfg(feature = "http")]
pub mod http;
pub mod local;
#[cfg(feature = "s3")]
pub mod s3;

#[cfg(feature = "http")]
pub use http::{HttpOptions, HttpStorage};
pub use local::LocalStorage;
#[cfg(feature = "s3")]
pub use s3::{S3Credentials, S3Options, S3Storage, ServerSideEncryption};

/// The future a [`Storage`] method returns (boxed, so that `dyn Storage` works).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An opaque tag that changes whenever an object's content changes.
///
/// Empty when the store gives none: many HTTP servers (`python3 -m
/// http.server`, plain mirrors) send no `ETag`; then [`ObjectMeta::last_modified`]
/// is what a conditional read can go by ([`GetOptions::if_modified_since`]).
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
    /// Its current ETag; empty if the store gives none (see [`ETag`]).
    pub etag: ETag,
    /// When it was last written, if the backend knows (HTTP: `Last-Modified`,
    /// whole seconds). Pass it as [`GetOptions::if_modified_since`] when the
    /// ETag is empty.
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
    /// An empty ETag (a store that gives none) is no condition.
    pub if_none_match: Option<ETag>,
    /// Answer [`GetResult::NotModified`] if the object was not modified after
    /// this time, compared in whole seconds (HTTP's `If-Modified-Since`; the
    /// local backend compares the file's modification time); for stores that
    /// give no ETag. Ignored when a non-empty `if_none_match` is given. Like
    /// HTTP's, it cannot see two writes within one second.
    pub if_modified_since: Option<SystemTime>,
    /// Refuse ([`ErrorKind::LimitExceeded`], naming the key and the limit) an
    /// object larger than this many bytes: at once when its announced size is
    /// larger, otherwise as soon as more arrives, never buffering more than
    /// the limit (and one read's worth).
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
/// [`std::io::Error`]s from the reader; the caller names the key. A body that
/// ends before `size - offset` bytes is such an error, never a short object;
/// resume with [`Storage::get_stream_from`] at the offset reached.
pub struct ObjectStream {
    /// The whole object's size in bytes, as the backend announced it.
    pub size: u64,
    /// Where the reader starts in the object (0 but for
    /// [`Storage::get_stream_from`]); it yields `size - offset` bytes.
    pub offset: u64,
    /// The content from `offset` on.
    pub reader: Pin<Box<dyn tokio::io::AsyncRead + Send>>,
}

impl fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("size", &self.size)
            .field("offset", &self.offset)
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
    /// [`Storage::put`] and [`Storage::delete`] work (false: a read-only store,
    /// which refuses them and [`Storage::list`] with [`ErrorKind::Unsupported`]).
    pub writable: bool,
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

    /// Reads the object at `key` as a stream from byte `offset` on (to resume a
    /// download that broke off). `offset == size` gives an empty stream; an
    /// offset past the end is [`ErrorKind::InvalidInput`]. Nothing guarantees
    /// that the object did not change since an earlier stream: check the
    /// content's hash (pool files never change).
    ///
    /// The provided method reads from the start and skips `offset` bytes; the
    /// backends here start where asked (a seek, an HTTP `Range`).
    fn get_stream_from<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
    ) -> BoxFuture<'a, Result<ObjectStream>> {
        Box::pin(async move {
            let stream = self.get_stream(key).await?;
            if offset > stream.size {
                return Err(past_the_end(self, key, offset, stream.size));
            }
            Ok(ObjectStream {
                size: stream.size,
                offset,
                reader: Box::pin(Skip::new(stream.reader, offset)),
            })
        })
    }

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

/// What [`open_with`] takes besides the URI: settings a binding gives apart
/// from it (`Repository.new("s3://bucket", region:, endpoint:)`). Only `s3://`
/// URIs take any; every field `None` is [`open`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// The S3 region, instead of the URI's `region=` (and the environment's).
    pub region: Option<String>,
    /// An S3-compatible endpoint URL (`http://127.0.0.1:9000`), instead of the
    /// URI's `endpoint=`; it implies path-style addressing, which such stores need.
    pub endpoint: Option<String>,
}

impl OpenOptions {
    /// The settings given, by name, for messages.
    fn given(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        if self.region.is_some() {
            given.push("region");
        }
        if self.endpoint.is_some() {
            given.push("endpoint");
        }
        given
    }
}

/// [`open`] with `options` overriding what the URI says: for `s3://`, the
/// region and the endpoint (an endpoint implies path-style addressing). An
/// empty value, or any value for a URI of another scheme, is
/// [`ErrorKind::InvalidInput`] naming the setting.
pub fn open_with(uri: &str, options: &OpenOptions) -> Result<Arc<dyn Storage>> {
    let given = options.given();
    if given.is_empty() {
        return open(uri);
    }
    for (name, value) in [("region", &options.region), ("endpoint", &options.endpoint)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("storage URI {uri:?}: the {name} given is empty"),
            ));
        }
    }
    if strip_scheme(uri, "s3://").is_none() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "storage URI {uri:?}: {} applies only to s3:// URIs",
                given.join(" and ")
            ),
        ));
    }
    open_s3_with(uri, options)
}

/// Opens the store a URI names: `file:///abs/path` is a [`LocalStorage`],
/// `s3://bucket/prefix?region=...` an `S3Storage` (feature `s3`, see
/// `S3Options::from_uri`), `http(s)://host/path?forbidden-as-missing=true` a
/// read-only `HttpStorage` (feature `http`, the option optional, see
/// `HttpOptions::from_uri`); any other scheme is
/// [`ErrorKind::Unsupported`], naming it.
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
    } else if scheme.eq_ignore_ascii_case("s3") {
        open_s3(uri)
    } else if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        open_http(uri)
    } else {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "storage URI {uri:?}: the scheme {scheme:?} is not supported \
                 (supported: file, s3, http, https)"
            ),
        ))
    }
}

#[cfg(feature = "http")]
fn open_http(uri: &str) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(HttpStorage::from_uri(uri)?))
}

#[cfg(not(feature = "http"))]
fn open_http(uri: &str) -> Result<Arc<dyn Storage>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!("storage URI {uri:?}: debpull was built without the \"http\" feature"),
    ))
}

#[cfg(feature = "s3")]
fn open_s3(uri: &str) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(S3Storage::from_uri(uri)?))
}

#[cfg(feature = "s3")]
fn open_s3_with(uri: &str, options: &OpenOptions) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(S3Storage::new(S3Options::from_uri_with(
        uri, options,
    )?)?))
}

#[cfg(not(feature = "s3"))]
fn open_s3_with(uri: &str, _options: &OpenOptions) -> Result<Arc<dyn Storage>> {
    open_s3(uri)
}

#[cfg(not(feature = "s3"))]
fn open_s3(uri: &str) -> Result<Arc<dyn Storage>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!("storage URI {uri:?}: debpull was built without the \"s3\" feature"),
    ))
}

/// The wait before retry number `attempt` (1-based): doubling from `initial`,
/// up to 20 s, with jitter (half to all of it).
#[cfg_attr(not(any(feature = "s3", feature = "http")), allow(dead_code))]
pub(crate) fn backoff(initial: std::time::Duration, attempt: u32) -> std::time::Duration {
    use rand::Rng as _;
    let ceiling = initial
        .saturating_mul(1 << attempt.min(8))
        .min(std::time::Duration::from_secs(20));
    ceiling.mul_f64(rand::thread_rng().gen_range(0.5..1.0))
}

/// The error of a stream asked to start past the end of its object.
pub(crate) fn past_the_end<S: fmt::Display + ?Sized>(
    store: &S,
    key: &str,
    offset: u64,
    size: u64,
) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{store}: {key}: cannot read from byte {offset}: the object has {size} bytes"),
    )
}

/// The error of a read refused by [`GetOptions::max_size`].
pub(crate) fn too_large<S: fmt::Display + ?Sized>(
    store: &S,
    key: &str,
    limit: u64,
    size: Option<u64>,
) -> Error {
    let what = match size {
        Some(size) => format!("{size} bytes"),
        None => "more".to_owned(),
    };
    Error::new(
        ErrorKind::LimitExceeded,
        format!("{store}: {key}: the object has {what}, over the limit of {limit} bytes"),
    )
}

/// Whether an object last modified at `modified` counts as not modified since
/// `since`, in whole seconds as HTTP's `If-Modified-Since` compares.
pub(crate) fn not_modified_since(modified: SystemTime, since: SystemTime) -> bool {
    let seconds = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    seconds(modified) <= seconds(since)
}

/// A reader that discards its first bytes.
pub(crate) struct Skip<R> {
    inner: R,
    remaining: u64,
}

impl<R> Skip<R> {
    pub(crate) fn new(inner: R, skip: u64) -> Skip<R> {
        Skip {
            inner,
            remaining: skip,
        }
    }
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Skip<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.remaining > 0 {
            let mut scratch = [0u8; 8192];
            let want = scratch
                .len()
                .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            let mut skipped = tokio::io::ReadBuf::new(&mut scratch[..want]);
            match Pin::new(&mut self.inner).poll_read(cx, &mut skipped) {
                Poll::Ready(Ok(())) if skipped.filled().is_empty() => {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!(
                            "the body ended {} bytes before the offset asked for",
                            self.remaining
                        ),
                    )));
                }
                Poll::Ready(Ok(())) => self.remaining -= skipped.filled().len() as u64,
                other => return other,
            }
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
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
    fn open_with_gives_region_and_endpoint_to_s3_uris_only() {
        let dir = tempfile::tempdir().unwrap();
        let file_uri = format!("file://{}", dir.path().display());
        let none = OpenOptions::default();
        assert!(open_with(&file_uri, &none).is_ok());
        let endpoint = OpenOptions {
            endpoint: Some("http://127.0.0.1:9000".to_owned()),
            ..OpenOptions::default()
        };
        let region = OpenOptions {
            region: Some("eu-west-1".to_owned()),
            ..OpenOptions::default()
        };
        let both = OpenOptions {
            region: region.region.clone(),
            endpoint: endpoint.endpoint.clone(),
        };
        for (uri, options, named) in [
            (
                file_uri.as_str(),
                &endpoint,
                "endpoint applies only to s3://",
            ),
            (file_uri.as_str(), &region, "region applies only to s3://"),
            (
                "https://example.org/apt",
                &both,
                "region and endpoint applies only",
            ),
        ] {
            let err = open_with(uri, options).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains(named), "{err}");
        }
        let empty = OpenOptions {
            region: Some(" ".to_owned()),
            ..OpenOptions::default()
        };
        let err = open_with("s3://bucket", &empty).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("region given is empty"), "{err}");
        #[cfg(feature = "s3")]
        {
            let store = open_with("S3://bucket/apt?region=x", &both).unwrap();
            assert_eq!(store.to_string(), "s3://bucket/apt");
        }
    }

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
