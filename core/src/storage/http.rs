//! The read-only HTTP(S) backend (`http://host/path`, `https://host/path`): a
//! public bucket, CloudFront, any apt mirror (hyper 1, HTTP/1.1, rustls).
//!
//! - **Keys** are appended to the base URL's path, each segment
//!   percent-encoded but for RFC 3986's unreserved characters (`A-Z a-z 0-9 -
//!   . _ ~`): `+` is `%2B` (S3 and CloudFront read a bare `+` as a space; apt's
//!   http method encodes it for that reason), `:` (epochs) is `%3A`, `~` stays.
//! - **Conditional reads**: `If-None-Match` from [`GetOptions::if_none_match`],
//!   else `If-Modified-Since` from [`GetOptions::if_modified_since`] (an HTTP
//!   date, whole seconds); `304` is [`GetResult::NotModified`]. Only the
//!   server decides: a `200` is the object whatever its `Last-Modified` says. A server that
//!   sends no `ETag` (`python3 -m http.server`, many mirrors) gives an empty
//!   [`ETag`] and its `Last-Modified` in [`ObjectMeta::last_modified`].
//! - **Limits**: [`GetOptions::max_size`] refuses an announced `Content-Length`
//!   at once and cuts a body off as soon as more arrives; a body that ends
//!   short of its `Content-Length` is an error, never a short object.
//! - **Retries**: connection failures, timeouts, `5xx` and `429` are retried
//!   with jittered exponential backoff ([`HttpOptions::max_attempts`] in all),
//!   for get, head and opening a stream; a get whose body breaks off is read
//!   again. A stream that breaks off is the reader's error: resume it with
//!   [`Storage::get_stream_from`] (`Range: bytes=N-`; a server that ignores
//!   ranges is read from the start and the first bytes skipped).
//! - **Deadlines**: [`HttpOptions::read_timeout`] for each wait (the head,
//!   each piece of the body); [`HttpOptions::total_timeout`] plus 1 s per
//!   [`HttpOptions::min_rate`] bytes received for a whole operation, retries
//!   and a stream's body included.
//! - **Redirects** (301, 302, 303, 307, 308) are followed up to
//!   [`HttpOptions::max_redirects`] hops, never from `https` to `http`;
//!   credentials go only to the base URL's own origin.
//! - **Errors**: `404`/`410` are [`ErrorKind::NotFound`]; `401`/`403` a
//!   [`ErrorKind::Storage`] error saying access was denied (403 is
//!   NotFound with [`HttpOptions::forbidden_as_missing`], also set by a URI
//!   ending in `?forbidden-as-missing=true`, see [`HttpOptions::from_uri`]); a `304` to a
//!   request without a condition is a Storage error; writes and listings
//!   [`ErrorKind::Unsupported`] (read-only, see [`Capabilities`]).
//! - **TLS**: the platform's root certificates (`SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` replace them, as with OpenSSL), plus PEM certificates of
//!   private CAs from [`HttpOptions::ca_certificates`].
//! - **Credentials**: a URL's `user:password@` is sent as HTTP Basic
//!   authentication; [`Display`](fmt::Display) and `Debug` never show it.

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::{Body as _, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio::io::{AsyncRead, ReadBuf};

use super::{
    BoxFuture, Capabilities, ETag, GetOptions, GetResult, ListEntry, ObjectMeta, ObjectStream,
    Payload, PutMode, Skip, Storage, backoff, check_key, past_the_end, too_large,
};
use crate::error::{Error, ErrorKind, Result};

/// How to reach a repository over HTTP(S).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// The base URL: `http(s)://[user:password@]host[:port][/path]`, without a
    /// query or fragment (keys are appended to its path).
    pub url: String,
    /// PEM certificates (one or more per entry) of CAs trusted besides the
    /// platform's roots, for servers with a private CA.
    pub ca_certificates: Vec<Vec<u8>>,
    /// Trust the platform's root certificates (default true).
    pub native_roots: bool,
    /// Attempts per request (the first one included) for retryable failures.
    pub max_attempts: u32,
    /// The first retry's backoff (doubling, with jitter, up to 20 s).
    pub initial_backoff: Duration,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long to wait for an answer's head, and then for each piece of its body.
    pub read_timeout: Duration,
    /// How long one operation (a get, a head, a stream from opening to its
    /// last byte) may take in all — connecting, redirects, retries and their
    /// backoff, the body — before the allowance of [`HttpOptions::min_rate`].
    /// Past it the operation fails ([`ErrorKind::Storage`], or the stream's
    /// reader with [`io::ErrorKind::TimedOut`]), never retried: a server
    /// dripping a byte now and then cannot hold a reader forever.
    pub total_timeout: Duration,
    /// Bytes per second: each byte received extends the operation's deadline
    /// by `1 / min_rate` s, so a body of N bytes may take `total_timeout +
    /// N / min_rate`. Large `.deb`s get the time they need at this rate; an
    /// `InRelease` (small, capped) gets little more than `total_timeout`.
    /// 0 gives no allowance.
    pub min_rate: u64,
    /// Redirects followed per request.
    pub max_redirects: u32,
    /// Take `403 Forbidden` as [`ErrorKind::NotFound`] (default false: a
    /// [`ErrorKind::Storage`] error, access denied). S3 buckets read
    /// anonymously without `s3:ListBucket`, S3 website endpoints and
    /// CloudFront with origin access control answer 403 for a key that does
    /// not exist; with this set, optional lookups (`InRelease` before
    /// `Release`, a by-hash copy before the plain path) can fall back there.
    /// A 403 for a key that does exist then reads as missing too.
    pub forbidden_as_missing: bool,
}

impl fmt::Debug for HttpOptions {
    /// The URL without its password; the CA certificates counted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("url", &redact(&self.url))
            .field("ca_certificates", &self.ca_certificates.len())
            .field("native_roots", &self.native_roots)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("min_rate", &self.min_rate)
            .field("max_redirects", &self.max_redirects)
            .field("forbidden_as_missing", &self.forbidden_as_missing)
            .finish()
    }
}

impl HttpOptions {
    /// Options for `url` with everything else at its default: platform roots,
    /// 4 attempts from 200 ms, 10 s to connect, 30 s of read timeout, 2
    /// minutes in all per operation plus 1 s per 64 KiB received (a 100 MB
    /// `.deb` may take 27 minutes; a drip of a few-KB `InRelease` about 2, of
    /// one at a 16 MiB cap at most 6.3), 5 redirects.
    pub fn new(url: impl Into<String>) -> HttpOptions {
        HttpOptions {
            url: url.into(),
            ca_certificates: Vec::new(),
            native_roots: true,
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            min_rate: 64 << 10,
            max_redirects: 5,
            forbidden_as_missing: false,
        }
    }

    /// Options for an `http(s)://` storage URI (see [`HttpOptions::new`]).
    /// The URI may end in options, `?name=value&...`, which are not part of
    /// the URL: `forbidden-as-missing` (`true` or `false`, see
    /// [`HttpOptions::forbidden_as_missing`]), e.g.
    /// `https://bucket.s3.amazonaws.com/apt?forbidden-as-missing=true`.
    /// An unknown or repeated option is [`ErrorKind::InvalidInput`].
    pub fn from_uri(uri: &str) -> Result<HttpOptions> {
        let invalid = |why: String| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "storage URI {:?}: {why} (the one option is forbidden-as-missing=true|false)",
                    redact(uri)
                ),
            )
        };
        let (url, query) = uri.split_once('?').unwrap_or((uri, ""));
        if query.contains('#') {
            return Err(invalid("a fragment (#) has no meaning here".to_owned()));
        }
        BaseUrl::parse(url)?;
        let mut options = HttpOptions::new(url);
        let mut seen = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if seen.contains(&name) {
                return Err(invalid(format!("the option {name:?} is given twice")));
            }
            seen.push(name);
            let value = super::percent_decode(value).map_err(|why| invalid(why.to_owned()))?;
            match name {
                "forbidden-as-missing" => {
                    options.forbidden_as_missing = match value.as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => {
                            return Err(invalid(format!("{name}={value:?} is not true or false")));
                        }
                    }
                }
                _ => return Err(invalid(format!("unknown option {name:?}"))),
            }
        }
        Ok(options)
    }

    /// Adds the PEM certificates of the file at `path` to the trusted CAs.
    pub fn add_ca_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        self.ca_certificates.push(pem);
        Ok(())
    }
}

/// A repository read over HTTP(S). Read-only: puts, deletes and listings are
/// [`ErrorKind::Unsupported`].
///
/// Cheap to clone (clones share the connection pool). See the [module
/// documentation](self) for encoding, retries, redirects and TLS. Must be used
/// inside a Tokio runtime.
#[derive(Clone)]
pub struct HttpStorage {
    inner: Arc<Inner>,
}

struct Inner {
    base: BaseUrl,
    options: HttpOptions,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl fmt::Debug for HttpStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpStorage")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for HttpStorage {
    /// The base URL without credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = &self.inner.base;
        write!(f, "{}://{}{}", base.scheme, base.authority, base.path)
    }
}

/// Which of the two schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// A parsed base URL.
#[derive(Debug, Clone)]
struct BaseUrl {
    scheme: Scheme,
    /// `host[:port]`, lower-case host, without credentials.
    authority: String,
    /// The path as given (percent-encoded), without trailing `/`; may be empty.
    path: String,
    /// `Authorization: Basic ...` from the URL's credentials.
    authorization: Option<HeaderValue>,
}

impl BaseUrl {
    fn parse(uri: &str) -> Result<BaseUrl> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "storage URI {:?}: {why} (expected http(s)://host[:port]/path)",
                    redact(uri)
                ),
            )
        };
        let (scheme, rest) = if let Some(rest) = super::strip_scheme(uri, "https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = super::strip_scheme(uri, "http://") {
            (Scheme::Http, rest)
        } else {
            return Err(invalid("not an http:// or https:// URL"));
        };
        if rest.contains(['?', '#']) {
            return Err(invalid(
                "a query or fragment cannot be part of a base URL (keys are appended to its path)",
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        let (userinfo, host) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        if !valid_host_port(host) {
            return Err(invalid("not a host name with an optional numeric port"));
        }
        let path = path.trim_end_matches('/');
        // The path's segments must be clean (no `.`/`..`, no empty ones).
        if !path.is_empty() {
            let decoded = super::percent_decode(&path[1..]).map_err(invalid)?;
            check_key(&decoded).map_err(|_| invalid("the path is not a clean path"))?;
        }
        let authority = host.to_ascii_lowercase();
        // hyper's own parser has the last word on the host, port and path.
        format!("{scheme}://{authority}{path}/")
            .parse::<Uri>()
            .map_err(|e| invalid(&e.to_string()))?;
        let authorization = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let user = super::percent_decode(user).map_err(invalid)?;
                let password = super::percent_decode(password).map_err(invalid)?;
                let token = base64(format!("{user}:{password}").as_bytes());
                let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| invalid("the credentials cannot be sent"))?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(BaseUrl {
            scheme,
            authority,
            path: path.to_owned(),
            authorization,
        })
    }

    /// The URL of `key`.
    fn url_of(&self, key: &str) -> String {
        let mut url = format!("{}://{}{}", self.scheme, self.authority, self.path);
        for segment in key.split('/') {
            url.push('/');
            encode_segment(segment, &mut url);
        }
        url
    }

    /// Whether `uri` is on this base's origin (scheme, host and port).
    fn same_origin(&self, uri: &Uri) -> bool {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        uri.scheme_str() == Some(scheme)
            && uri
                .authority()
                .is_some_and(|a| a.as_str().eq_ignore_ascii_case(&self.authority))
    }
}

impl HttpStorage {
    /// A store for `options`: the URL is checked and the TLS roots loaded;
    /// nothing is sent yet.
    pub fn new(options: HttpOptions) -> Result<HttpStorage> {
        let base = BaseUrl::parse(&options.url)?;
        if options.max_attempts == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "HTTP storage: max_attempts must be at least 1",
            ));
        }
        let tls = tls_config(&options).map_err(|why| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("HTTP storage {}: {why}", redact(&options.url)),
            )
        })?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.connect_timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpStorage {
            inner: Arc::new(Inner {
                base,
                options,
                client,
            }),
        })
    }

    /// Opens an `http(s)://` URI with default options.
    pub fn from_uri(uri: &str) -> Result<HttpStorage> {
        HttpStorage::new(HttpOptions::from_uri(uri)?)
    }

    /// The options this store was made with.
    pub fn options(&self) -> &HttpOptions {
        &self.inner.options
    }

    /// The URL a key is read from (without credentials).
    pub fn url_of(&self, key: &str) -> Result<String> {
        check_key(key).map_err(|e| self.error(ErrorKind::InvalidInput, key, e.message()))?;
        Ok(self.inner.base.url_of(key))
    }

    fn error(&self, kind: ErrorKind, key: &str, message: impl fmt::Display) -> Error {
        Error::new(kind, format!("{self}: {key}: {message}"))
    }

    /// Sends `method` for `key` with `headers`, following redirects and
    /// retrying retryable failures; `attempt` counts attempts across calls (a
    /// get whose body broke off calls again). The answer is any status but a
    /// redirect, a 5xx or a 429.
    async fn send(
        &self,
        operation: &str,
        key: &str,
        method: &Method,
        headers: &HeaderMap,
        attempt: &mut u32,
        budget: &Budget,
    ) -> Result<Response<Incoming>> {
        let sent = self.send_attempts(operation, key, method, headers, attempt);
        match tokio::time::timeout_at(budget.deadline(), sent).await {
            Ok(answer) => answer,
            Err(_) => Err(self.error(
                ErrorKind::Storage,
                key,
                format_args!("{operation}: {} ({attempt} attempts)", budget.ran_out()),
            )),
        }
    }

    /// [`HttpStorage::send`] without the total deadline.
    async fn send_attempts(
        &self,
        operation: &str,
        key: &str,
        method: &Method,
        headers: &HeaderMap,
        attempt: &mut u32,
    ) -> Result<Response<Incoming>> {
        let start = self.url_of(key)?;
        let options = &self.inner.options;
        loop {
            *attempt += 1;
            let failure = match self.follow(key, method, headers, &start).await {
                Ok(response) if retryable(response.status()) => {
                    format!("HTTP {}", response.status())
                }
                Ok(response) => return Ok(response),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Retry(why)) => why,
            };
            if *attempt >= options.max_attempts {
                return Err(self.error(
                    ErrorKind::Storage,
                    key,
                    format_args!("{operation}: {failure} ({attempt} attempts)"),
                ));
            }
            tokio::time::sleep(backoff(options.initial_backoff, *attempt)).await;
        }
    }

    /// One attempt: the request and its redirects.
    async fn follow(
        &self,
        key: &str,
        method: &Method,
        headers: &HeaderMap,
        start: &str,
    ) -> std::result::Result<Response<Incoming>, Failure> {
        let options = &self.inner.options;
        let mut url: Uri = start.parse().map_err(|e| {
            Failure::Final(self.error(
                ErrorKind::InvalidInput,
                key,
                format_args!("not a valid URL {start:?}: {e}"),
            ))
        })?;
        let mut hops = 0;
        loop {
            let mut request = Request::builder()
                .method(method.clone())
                .uri(url.clone())
                .body(Empty::<Bytes>::new())
                .map_err(|e| {
                    Failure::Final(self.error(ErrorKind::InvalidInput, key, format_args!("{e}")))
                })?;
            *request.headers_mut() = headers.clone();
            request.headers_mut().insert(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("debpull/", env!("CARGO_PKG_VERSION"))),
            );
            if let Some(authorization) = &self.inner.base.authorization
                && self.inner.base.same_origin(&url)
            {
                request
                    .headers_mut()
                    .insert(header::AUTHORIZATION, authorization.clone());
            }
            let waited = options.connect_timeout + options.read_timeout;
            let response =
                match tokio::time::timeout(waited, self.inner.client.request(request)).await {
                    Err(_) => {
                        return Err(Failure::Retry(format!(
                            "no answer within {} s",
                            waited.as_secs_f64()
                        )));
                    }
                    Ok(Err(e)) => {
                        let what = if e.is_connect() {
                            "connecting failed"
                        } else {
                            "the connection failed"
                        };
                        return Err(Failure::Retry(format!("{what}: {}", chain(&e))));
                    }
                    Ok(Ok(response)) => response,
                };
            let status = response.status();
            if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            hops += 1;
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    Failure::Final(self.error(
                        ErrorKind::Storage,
                        key,
                        format_args!("{url} answered HTTP {status} without a usable Location"),
                    ))
                })?;
            if hops > options.max_redirects {
                return Err(Failure::Final(self.error(
                    ErrorKind::Storage,
                    key,
                    format_args!(
                        "more than {} redirects (the last from {url} to {location:?})",
                        options.max_redirects
                    ),
                )));
            }
            let next = resolve(&url, location).map_err(|why| {
                Failure::Final(self.error(
                    ErrorKind::Storage,
                    key,
                    format_args!("redirect from {url} to {location:?}: {why}"),
                ))
            })?;
            if url.scheme_str() == Some("https") && next.scheme_str() != Some("https") {
                return Err(Failure::Final(self.error(
                    ErrorKind::Storage,
                    key,
                    format_args!("refusing the redirect from {url} to {next}: https to http"),
                )));
            }
            url = next;
        }
    }

    /// The error for an answer that is not what `operation` wanted.
    fn refused(&self, operation: &str, key: &str, status: StatusCode) -> Error {
        match status.as_u16() {
            404 | 410 => self.error(
                ErrorKind::NotFound,
                key,
                format_args!("{operation}: no such object (HTTP {status})"),
            ),
            403 if self.inner.options.forbidden_as_missing => self.error(
                ErrorKind::NotFound,
                key,
                format_args!(
                    "{operation}: access denied (HTTP {status}), taken as no such object \
                     (forbidden_as_missing)"
                ),
            ),
            401 | 403 => self.error(
                ErrorKind::Storage,
                key,
                format_args!("{operation}: access denied (HTTP {status})"),
            ),
            _ => self.error(
                ErrorKind::Storage,
                key,
                format_args!("{operation}: unexpected answer HTTP {status}"),
            ),
        }
    }

    fn meta_of(&self, key: &str, headers: &HeaderMap, size: u64) -> ObjectMeta {
        ObjectMeta {
            key: key.to_owned(),
            size,
            etag: ETag(
                headers
                    .get(header::ETAG)
                    .and_then(|e| e.to_str().ok())
                    .unwrap_or("")
                    .to_owned(),
            ),
            last_modified: headers
                .get(header::LAST_MODIFIED)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_http_date),
        }
    }

    async fn get_object(&self, key: &str, options: GetOptions) -> Result<GetResult> {
        let mut headers = HeaderMap::new();
        let by_etag = options.if_none_match.as_ref().filter(|e| !e.0.is_empty());
        if let Some(etag) = by_etag {
            let value = HeaderValue::from_str(&etag.0).map_err(|_| {
                self.error(
                    ErrorKind::InvalidInput,
                    key,
                    format_args!("the ETag {:?} cannot be sent in a header", etag.0),
                )
            })?;
            headers.insert(header::IF_NONE_MATCH, value);
        } else if let Some(since) = options.if_modified_since {
            let value = HeaderValue::from_str(&format_http_date(since))
                .map_err(|_| self.error(ErrorKind::InvalidInput, key, "a date out of range"))?;
            headers.insert(header::IF_MODIFIED_SINCE, value);
        }
        let mut attempt = 0;
        let mut budget = Budget::new(&self.inner.options);
        loop {
            let response = self
                .send("get", key, &Method::GET, &headers, &mut attempt, &budget)
                .await?;
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED {
                let conditional = headers.contains_key(header::IF_NONE_MATCH)
                    || headers.contains_key(header::IF_MODIFIED_SINCE);
                if !conditional {
                    return Err(self.error(
                        ErrorKind::Storage,
                        key,
                        "get: HTTP 304 Not Modified to a request without a condition",
                    ));
                }
                return Ok(GetResult::NotModified);
            }
            if status != StatusCode::OK {
                return Err(self.refused("get", key, status));
            }
            let announced = content_length(response.headers());
            if let (Some(limit), Some(size)) = (options.max_size, announced)
                && size > limit
            {
                return Err(too_large(self, key, limit, Some(size)));
            }
            // A 200 is the object, whatever its dates say: only the server
            // decides "not modified" (a forged or future Last-Modified must not
            // freeze the reader).
            let mut meta = self.meta_of(key, response.headers(), 0);
            let mut reader = BodyReader::new(response.into_body(), announced, self, budget);
            let mut data = Vec::with_capacity(
                announced.map_or(0, |n| usize::try_from(n.min(1 << 20)).unwrap_or(0)),
            );
            let broken = loop {
                match reader.next_chunk().await {
                    Ok(Some(chunk)) => {
                        data.extend_from_slice(&chunk);
                        if let Some(limit) = options.max_size.filter(|&l| data.len() as u64 > l) {
                            return Err(too_large(self, key, limit, None));
                        }
                    }
                    Ok(None) => {
                        meta.size = data.len() as u64;
                        return Ok(GetResult::Found { data, meta });
                    }
                    Err(e) => break e,
                }
            };
            budget = reader.budget;
            if attempt >= self.inner.options.max_attempts || budget.is_over() {
                return Err(self
                    .error(
                        ErrorKind::Storage,
                        key,
                        format_args!("get: reading the body: {broken} ({attempt} attempts)"),
                    )
                    .with_source(broken));
            }
            tokio::time::sleep(backoff(self.inner.options.initial_backoff, attempt)).await;
        }
    }

    async fn open_stream(&self, key: &str, offset: u64) -> Result<ObjectStream> {
        let mut headers = HeaderMap::new();
        if offset > 0 {
            let range = HeaderValue::from_str(&format!("bytes={offset}-"))
                .map_err(|_| self.error(ErrorKind::InvalidInput, key, "a bad offset"))?;
            headers.insert(header::RANGE, range);
        }
        let mut attempt = 0;
        let budget = Budget::new(&self.inner.options);
        let response = self
            .send("get", key, &Method::GET, &headers, &mut attempt, &budget)
            .await?;
        let status = response.status();
        let length = content_length(response.headers());
        let no_length = || {
            self.error(
                ErrorKind::Storage,
                key,
                "get: the server did not announce the size (no Content-Length)",
            )
        };
        match status.as_u16() {
            200 => {
                // The whole object (a server that ignores ranges): skip to the offset.
                let size = length.ok_or_else(no_length)?;
                if offset > size {
                    return Err(past_the_end(self, key, offset, size));
                }
                let body = BodyReader::new(response.into_body(), Some(size), self, budget);
                Ok(ObjectStream {
                    size,
                    offset,
                    reader: Box::pin(Skip::new(body, offset)),
                })
            }
            206 => {
                let range = content_range(response.headers());
                let length = length.ok_or_else(no_length)?;
                // The range must be exactly what was asked for, to the end:
                // FIRST = offset, its length the Content-Length, LAST the
                // object's last byte (when the total is known). An end past
                // u64 is no range at all (both sides overflowing must not match).
                let end = offset.checked_add(length);
                let size = match (range, end) {
                    (Some((Some((first, last)), total)), Some(end))
                        if first == offset
                            && last.checked_add(1) == Some(end)
                            && total.is_none_or(|total| total == end) =>
                    {
                        end
                    }
                    _ => {
                        return Err(self.error(
                            ErrorKind::Storage,
                            key,
                            format_args!(
                                "get: asked for bytes from {offset} on, the server sent \
                                 Content-Range {:?} with Content-Length {length}",
                                response.headers().get(header::CONTENT_RANGE)
                            ),
                        ));
                    }
                };
                Ok(ObjectStream {
                    size,
                    offset,
                    reader: Box::pin(BodyReader::new(
                        response.into_body(),
                        Some(length),
                        self,
                        budget,
                    )),
                })
            }
            416 => {
                let size = match content_range(response.headers()) {
                    Some((None, Some(total))) => total,
                    _ => self.head_object(key).await?.size,
                };
                if offset != size {
                    return Err(past_the_end(self, key, offset, size));
                }
                Ok(ObjectStream {
                    size,
                    offset,
                    reader: Box::pin(tokio::io::empty()),
                })
            }
            _ => Err(self.refused("get", key, status)),
        }
    }

    async fn head_object(&self, key: &str) -> Result<ObjectMeta> {
        let mut attempt = 0;
        let response = self
            .send(
                "head",
                key,
                &Method::HEAD,
                &HeaderMap::new(),
                &mut attempt,
                &Budget::new(&self.inner.options),
            )
            .await?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(self.refused("head", key, status));
        }
        let size = content_length(response.headers()).ok_or_else(|| {
            self.error(
                ErrorKind::Storage,
                key,
                "head: the server did not announce the size (no Content-Length)",
            )
        })?;
        Ok(self.meta_of(key, response.headers(), size))
    }

    fn read_only(&self, key: &str, operation: &str) -> Error {
        self.error(
            ErrorKind::Unsupported,
            key,
            format_args!("read-only: an http(s) store cannot {operation}"),
        )
    }
}

impl Storage for HttpStorage {
    fn get<'a>(&'a self, key: &'a str, options: GetOptions) -> BoxFuture<'a, Result<GetResult>> {
        Box::pin(self.get_object(key, options))
    }

    fn get_stream<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectStream>> {
        Box::pin(self.open_stream(key, 0))
    }

    fn get_stream_from<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
    ) -> BoxFuture<'a, Result<ObjectStream>> {
        Box::pin(self.open_stream(key, offset))
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        Box::pin(self.head_object(key))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        _payload: Payload,
        _mode: PutMode,
    ) -> BoxFuture<'a, Result<ObjectMeta>> {
        Box::pin(async move {
            self.url_of(key)?;
            Err(self.read_only(key, "write (put)"))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.url_of(key)?;
            Err(self.read_only(key, "delete"))
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ListEntry>>> {
        Box::pin(async move { Err(self.read_only(prefix, "list objects")) })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_put: false,
            conditional_get: true,
            writable: false,
        }
    }
}

/// How one attempt failed.
enum Failure {
    /// Worth another attempt (a connection failure, a timeout).
    Retry(String),
    /// Not (a bad redirect, an invalid URL).
    Final(Error),
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The deadline of one operation: [`HttpOptions::total_timeout`] from its
/// start, plus `1 / min_rate` s per byte received.
#[derive(Debug, Clone, Copy)]
struct Budget {
    start: tokio::time::Instant,
    total: Duration,
    min_rate: u64,
    received: u64,
}

impl Budget {
    fn new(options: &HttpOptions) -> Budget {
        Budget {
            start: tokio::time::Instant::now(),
            total: options.total_timeout,
            min_rate: options.min_rate,
            received: 0,
        }
    }

    /// The time the bytes received so far earn.
    fn allowance(&self) -> Duration {
        if self.min_rate == 0 {
            return Duration::ZERO;
        }
        let secs = self.received / self.min_rate;
        let nanos =
            u128::from(self.received % self.min_rate) * 1_000_000_000 / u128::from(self.min_rate);
        Duration::new(secs, u32::try_from(nanos).unwrap_or(0))
    }

    fn deadline(&self) -> tokio::time::Instant {
        self.total
            .checked_add(self.allowance())
            .and_then(|d| self.start.checked_add(d))
            // Centuries away: as good as none.
            .unwrap_or_else(|| self.start + Duration::from_secs(1 << 32))
    }

    fn is_over(&self) -> bool {
        tokio::time::Instant::now() >= self.deadline()
    }

    /// Why the operation stopped.
    fn ran_out(&self) -> String {
        format!(
            "not done within total_timeout {} s plus 1 s per {} bytes received ({} bytes)",
            self.total.as_secs_f64(),
            self.min_rate,
            self.received
        )
    }
}

/// A response body as a reader and as chunks: read timeouts, the operation's
/// total deadline, and a body that ends short of its announced length is an
/// error.
struct BodyReader {
    body: Incoming,
    chunk: Bytes,
    received: u64,
    expected: Option<u64>,
    read_timeout: Duration,
    budget: Budget,
    timer: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl BodyReader {
    fn new(
        body: Incoming,
        expected: Option<u64>,
        store: &HttpStorage,
        budget: Budget,
    ) -> BodyReader {
        let read_timeout = store.inner.options.read_timeout;
        let first = (tokio::time::Instant::now() + read_timeout).min(budget.deadline());
        BodyReader {
            body,
            chunk: Bytes::new(),
            received: 0,
            expected,
            read_timeout,
            budget,
            timer: Box::pin(tokio::time::sleep_until(first)),
            done: false,
        }
    }

    /// The next piece of the body, `None` at its end.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        if self.done {
            return Poll::Ready(Ok(None));
        }
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers
                    };
                    self.received += data.len() as u64;
                    self.budget.received += data.len() as u64;
                    let next = (tokio::time::Instant::now() + self.read_timeout)
                        .min(self.budget.deadline());
                    self.timer.as_mut().reset(next);
                    if let Some(expected) = self.expected.filter(|&e| self.received > e) {
                        self.done = true;
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("the body is longer than its Content-Length {expected}"),
                        )));
                    }
                    return Poll::Ready(Ok(Some(data)));
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Err(io::Error::other(format!(
                        "the body broke off after {} bytes: {}",
                        self.received,
                        chain(&e)
                    ))));
                }
                Poll::Ready(None) => {
                    self.done = true;
                    if let Some(expected) = self.expected.filter(|&e| self.received < e) {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("the body ended after {} of {expected} bytes", self.received),
                        )));
                    }
                    return Poll::Ready(Ok(None));
                }
                Poll::Pending => {
                    if self.timer.as_mut().poll(cx).is_ready() {
                        self.done = true;
                        let why = if self.budget.is_over() {
                            self.budget.ran_out()
                        } else {
                            format!(
                                "no data for {} s after {} bytes",
                                self.read_timeout.as_secs_f64(),
                                self.received
                            )
                        };
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.chunk.is_empty() {
            match self.poll_chunk(cx) {
                Poll::Ready(Ok(Some(chunk))) => self.chunk = chunk,
                Poll::Ready(Ok(None)) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.chunk.len().min(buf.remaining());
        buf.put_slice(&self.chunk.split_to(n));
        Poll::Ready(Ok(()))
    }
}

/// The rustls configuration: platform roots (once per process) and the extra CAs.
fn tls_config(options: &HttpOptions) -> std::result::Result<rustls::ClientConfig, String> {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let mut roots = rustls::RootCertStore::empty();
    if options.native_roots {
        let native = NATIVE.get_or_init(|| rustls_native_certs::load_native_certs().certs);
        roots.add_parsable_certificates(native.iter().cloned());
    }
    for (i, pem) in options.ca_certificates.iter().enumerate() {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("CA certificate {}: {e}", i + 1))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate {}: {e}", i + 1))?;
            found += 1;
        }
        if found == 0 {
            return Err(format!(
                "CA certificate {}: no PEM certificate in it",
                i + 1
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Appends `segment` percent-encoded: all but RFC 3986's unreserved characters.
fn encode_segment(segment: &str, out: &mut String) {
    for &byte in segment.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`: names of letters, digits,
/// `-` and `.`; ports of digits up to 65535.
fn valid_host_port(text: &str) -> bool {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        let Some((address, rest)) = v6.split_once(']') else {
            return false;
        };
        if address.is_empty()
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || ".:".contains(c))
        {
            return false;
        }
        match rest {
            "" => return true,
            _ => match rest.strip_prefix(':') {
                Some(port) => ("v6", Some(port)),
                None => return false,
            },
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        && port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

/// The target of a redirect from `current` to `location` (absolute, or
/// relative to `current`).
fn resolve(current: &Uri, location: &str) -> std::result::Result<Uri, String> {
    let scheme = current.scheme_str().unwrap_or("http");
    let authority = current.authority().map_or("", |a| a.as_str());
    let absolute = if location.contains("://") {
        location.to_owned()
    } else if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = current.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    let uri: Uri = absolute.parse().map_err(|e| format!("not a URL ({e})"))?;
    let path = remove_dot_segments(uri.path());
    let uri = if path == uri.path() {
        uri
    } else {
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let authority = uri.authority().map_or("", |a| a.as_str());
        let scheme = uri.scheme_str().unwrap_or("http");
        format!("{scheme}://{authority}{path}{query}")
            .parse()
            .map_err(|e| format!("not a URL ({e})"))?
    };
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err("not an http(s) URL".to_owned()),
    }
}

/// `path` without `.` and `..` segments (RFC 3986 §5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` as (Some((first, last)), total);
/// `bytes */TOTAL` as (None, total); a `*` total is None. Malformed values
/// (LAST before FIRST, LAST at or past TOTAL) are None.
#[allow(clippy::type_complexity)]
fn content_range(headers: &HeaderMap) -> Option<(Option<(u64, u64)>, Option<u64>)> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let total: Option<u64> = if total == "*" {
        None
    } else {
        Some(total.parse().ok()?)
    };
    let range = if range == "*" {
        None
    } else {
        let (first, last) = range.split_once('-')?;
        let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
        if last < first || total.is_some_and(|total| last >= total) {
            return None;
        }
        Some((first, last))
    };
    Some((range, total))
}

/// The error and its sources, joined.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // Everything up to the last `@` before any query or fragment is taken
    // as credentials: a password may hold an unencoded `/`.
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `time` as an HTTP date (IMF-fixdate, whole seconds; times before 1970 as 1970).
fn format_http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let rest = secs % 86_400;
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) of a year from 1970
/// to 9999; other forms and years are None (never a panic, whatever the input).
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut words = text.split_whitespace();
    words.next()?.strip_suffix(',')?;
    let day: u32 = words.next()?.parse().ok()?;
    let month = words.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year: i64 = words.next()?.parse().ok()?;
    let mut clock = words.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if words.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    if words.next().is_some() || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + s)?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a (year, month, day).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_segment_by_segment() {
        let base = BaseUrl::parse("https://User:pw@Mirror.example:8443/apt/deb%2Bx/").unwrap();
        assert_eq!(
            base.url_of("pool/main/a/app/app_1:2.0+b1~rc1_all.deb"),
            "https://mirror.example:8443/apt/deb%2Bx/pool/main/a/app/app_1%3A2.0%2Bb1~rc1_all.deb"
        );
        assert_eq!(
            base.url_of("with space/%/ключ"),
            "https://mirror.example:8443/apt/deb%2Bx/with%20space/%25/%D0%BA%D0%BB%D1%8E%D1%87"
        );
        assert!(base.authorization.is_some());
        let v6 = BaseUrl::parse("http://[::1]:8080/r").unwrap();
        assert_eq!(v6.url_of("a"), "http://[::1]:8080/r/a");
        let bare = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(bare.url_of("InRelease"), "http://127.0.0.1:8080/InRelease");
    }

    #[test]
    fn bad_base_urls_are_refused_naming_the_fault() {
        for (uri, fault) in [
            ("ftp://host/x", "not an http"),
            ("http://", "no host"),
            ("http://user:pw@/x", "no host"),
            ("https://host/a/../b", "clean path"),
            ("https://host/a//b", "clean path"),
            ("https://host/x?sig=1", "query"),
            ("https://host/x#f", "query or fragment"),
            ("https://host:port/x", "numeric port"),
            ("https://host:99999/x", "numeric port"),
            ("https://ho st/x", "host name"),
            ("https://[::1/x", "host name"),
        ] {
            let err = BaseUrl::parse(uri).map(|b| b.url_of("k")).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{uri}");
            assert!(err.to_string().contains(fault), "{uri}: {err}");
        }
        let err = BaseUrl::parse("https://me:secret@host/a/../b").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn uri_options_are_parsed_off_the_url() {
        let plain = HttpOptions::from_uri("https://host/apt").unwrap();
        assert!(!plain.forbidden_as_missing);
        for (uri, expected) in [
            ("https://host/apt?forbidden-as-missing=true", true),
            ("https://host/apt/?forbidden-as-missing=1", true),
            ("https://host/apt?forbidden-as-missing=false", false),
            ("https://host/apt?", false),
        ] {
            let options = HttpOptions::from_uri(uri).unwrap();
            assert_eq!(options.forbidden_as_missing, expected, "{uri}");
            assert!(!options.url.contains('?'), "{uri}: {}", options.url);
            let store = HttpStorage::new(options).unwrap();
            assert_eq!(store.to_string(), "https://host/apt", "{uri}");
        }
        for (uri, fault) in [
            ("https://host/apt?sig=1", "unknown option \"sig\""),
            (
                "https://host/apt?forbidden-as-missing=maybe",
                "not true or false",
            ),
            ("https://host/apt?forbidden-as-missing", "not true or false"),
            (
                "https://host/apt?forbidden-as-missing=1&forbidden-as-missing=0",
                "twice",
            ),
            ("https://host/apt?forbidden-as-missing=1#f", "fragment"),
            ("https://me:secret@host/apt?x=1", "unknown option"),
        ] {
            let err = HttpOptions::from_uri(uri).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{uri}");
            assert!(err.to_string().contains(fault), "{uri}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        // HttpOptions::new takes a URL, not a URI with options.
        let err = HttpStorage::new(HttpOptions::new("https://host/apt?forbidden-as-missing=1"))
            .unwrap_err();
        assert!(err.to_string().contains("query"), "{err}");
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let store = HttpStorage::from_uri("https://me:s3cret@host.example/repo/").unwrap();
        assert_eq!(store.to_string(), "https://host.example/repo");
        assert!(!format!("{store:?}").contains("s3cret"), "{store:?}");
        assert!(format!("{store:?}").contains("me:***@host.example"));
    }

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let current: Uri = "https://a.example/repo/dists/x/InRelease".parse().unwrap();
        let cases = [
            ("https://b.example/y", "https://b.example/y"),
            ("//c.example/z", "https://c.example/z"),
            ("/root/k", "https://a.example/root/k"),
            ("Release", "https://a.example/repo/dists/x/Release"),
            ("http://d.example/w", "http://d.example/w"),
            ("../y/Release", "https://a.example/repo/dists/y/Release"),
            ("./../../../../z", "https://a.example/z"),
            ("/a/./b/../c/", "https://a.example/a/c/"),
        ];
        for (location, want) in cases {
            assert_eq!(resolve(&current, location).unwrap().to_string(), want);
        }
        assert!(resolve(&current, "ftp://e.example/x").is_err());
        assert!(resolve(&current, "https://").is_err());
    }

    #[test]
    fn http_dates_round_trip() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(format_http_date(time), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(time));
        for secs in [0, 951_782_400, 1_709_164_800, 4_102_444_799] {
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_http_date(&format_http_date(t)), Some(t), "{secs}");
        }
        assert_eq!(
            format_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn content_ranges_parse() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 10-99/100"),
        );
        assert_eq!(content_range(&headers), Some((Some((10, 99)), Some(100))));
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes */42"),
        );
        assert_eq!(content_range(&headers), Some((None, Some(42))));
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 5-9/*"),
        );
        assert_eq!(content_range(&headers), Some((Some((5, 9)), None)));
        for bad in [
            "bytes 10-9/100",
            "bytes 10-100/100",
            "bytes 10/100",
            "bytes 10-/100",
            "bytes 0-18446744073709551616/*",
            "bytes -5/100",
            "items 0-1/2",
        ] {
            headers.insert(header::CONTENT_RANGE, HeaderValue::from_static(bad));
            assert_eq!(content_range(&headers), None, "{bad}");
        }
    }

    #[test]
    fn huge_and_odd_dates_are_none_not_a_panic() {
        for text in [
            "Sat, 01 Jan 300000000000 00:00:00 GMT",
            "Sat, 01 Jan 9223372036854775807 00:00:00 GMT",
            "Sat, 01 Jan -9223372036854775808 00:00:00 GMT",
            "Sat, 01 Jan 10000 00:00:00 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT x",
        ] {
            assert_eq!(parse_http_date(text), None, "{text}");
        }
        let last = parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT").expect("year 9999");
        assert_eq!(format_http_date(last), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(SystemTime::UNIX_EPOCH)
        );
    }

    #[test]
    fn redaction_hides_passwords_holding_slashes() {
        for (url, shown) in [
            ("https://deploy:se/cret@host/x", "https://deploy:***@host/x"),
            (
                "https://deploy:se/cret@host/x?q=a@b",
                "https://deploy:***@host/x?q=a@b",
            ),
            ("https://deploy:pw@host/a@b", "https://deploy:***@b"),
            ("https://host/x", "https://host/x"),
        ] {
            let got = redact(url);
            assert_eq!(got, shown, "{url}");
            assert!(!got.contains("cret") && !got.contains("pw"), "{got}");
        }
        let err = BaseUrl::parse("https://deploy:se/cret@host/x").unwrap_err();
        assert!(!err.to_string().contains("cret"), "{err}");
    }
}
