//! Posting messages to a Slack incoming webhook (or anything that takes the
//! same JSON) over HTTP(S): hyper 1, HTTP/1.1, rustls with the platform's
//! root certificates; plain `http://` too (tests, a local relay).
//!
//! - **Timeout** per attempt ([`WebhookOptions::timeout`], default 10 s, at
//!   most an hour): connecting, sending and reading the answer.
//! - **Retries** ([`WebhookOptions::retries`], default 3, at most 10):
//!   connection failures, timeouts and `5xx` after a jittered exponential
//!   backoff; `429 Too Many Requests` after its `Retry-After` (seconds or an
//!   HTTP date) when that is at most [`WebhookOptions::max_retry_after`]
//!   (default 30 s; a longer wait gives up at once), after the backoff when
//!   it has none. Other answers (`400 invalid_payload`, `403`, `404
//!   no_service`...) and certificate errors are final.
//! - **Deadline** ([`WebhookOptions::deadline`], default 15 s, at most an
//!   hour): the whole post, attempts, backoffs and `Retry-After` waits
//!   included, never takes longer; a wait that would end past it gives up.
//! - **Duplicates**: an attempt that timed out after its request was sent
//!   may have been posted; its retry then posts the message a second time.
//!   Slack's incoming webhooks have no idempotency key to prevent it.
//! - **TLS**: the client (and the platform's root certificates) is built on
//!   the first post, not by [`Webhook::new`]: a run that posts nothing never
//!   reads the CA bundle.
//! - **Errors** are [`ErrorKind::Storage`] (the network failed, or the
//!   webhook refused), naming the webhook without its secret path, the
//!   status and the start of the answer, and the attempts made.
//! - The webhook's URL is a secret (whoever has it can post): its path is
//!   never shown by [`Display`](fmt::Display) or `Debug`, nor in errors.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use super::Message;
use crate::error::{Error, ErrorKind, Result};

/// How much of a refusing answer is read for the error message.
const ANSWER_LIMIT: usize = 4096;

/// Where and how a [`Webhook`] posts.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// The webhook URL (`https://hooks.slack.com/services/...`, or `http://`).
    pub url: String,
    /// How long one attempt may take (default 10 s).
    pub timeout: Duration,
    /// Attempts after the first one for retryable failures (default 3).
    pub retries: u32,
    /// The first backoff between attempts (default 500 ms; doubling, jittered).
    pub initial_backoff: Duration,
    /// The longest `Retry-After` of a `429` waited for (default 30 s).
    pub max_retry_after: Duration,
    /// PEM certificates (one or more per entry) of CAs trusted besides the
    /// platform's roots, for a relay with a private CA (default none).
    pub ca_certificates: Vec<Vec<u8>>,
    /// The longest a whole post may take, retries and waits included
    /// (default 15 s, at most an hour).
    pub deadline: Duration,
}

/// The longest [`WebhookOptions::timeout`] and [`WebhookOptions::deadline`].
pub const MAX_WEBHOOK_WAIT: Duration = Duration::from_secs(3600);
/// The most [`WebhookOptions::retries`].
pub const MAX_WEBHOOK_RETRIES: u32 = 10;

impl WebhookOptions {
    /// Options for `url` with the defaults.
    pub fn new(url: impl Into<String>) -> WebhookOptions {
        WebhookOptions {
            url: url.into(),
            timeout: Duration::from_secs(10),
            retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(30),
            ca_certificates: Vec::new(),
            deadline: Duration::from_secs(15),
        }
    }
}

impl fmt::Debug for WebhookOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookOptions")
            .field("url", &redact(&self.url))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// A webhook messages are posted to. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Webhook {
    inner: Arc<Inner>,
}

struct Inner {
    uri: Uri,
    shown: String,
    options: WebhookOptions,
    /// The extra CAs, parsed by [`Webhook::new`].
    extra_roots: Vec<CertificateDer<'static>>,
    /// Built on the first post.
    client: OnceLock<std::result::Result<HttpClient, String>>,
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

impl fmt::Display for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.shown)
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Webhook {
    /// A webhook for `options`: the URL is checked (`http` or `https`, a host,
    /// no credentials), and the limits: `timeout` and `deadline` more than
    /// zero and at most [`MAX_WEBHOOK_WAIT`], `retries` at most
    /// [`MAX_WEBHOOK_RETRIES`], `ca_certificates` PEM certificates. Nothing is
    /// sent yet (nor the TLS client built). A bad option is
    /// [`ErrorKind::InvalidInput`] naming it.
    pub fn new(options: WebhookOptions) -> Result<Webhook> {
        let shown = redact(&options.url);
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("webhook URL {shown}: {why}"),
            )
        };
        let uri: Uri = options
            .url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| invalid(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(invalid("must start with http:// or https://")),
        }
        let authority = uri.authority().ok_or_else(|| invalid("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("must not hold credentials"));
        }
        if authority.host().is_empty() {
            return Err(invalid("has no host"));
        }
        for (name, value) in [("timeout", options.timeout), ("deadline", options.deadline)] {
            if value.is_zero() || value > MAX_WEBHOOK_WAIT {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "webhook {name} {}: must be more than 0 s and at most an hour (3600 s)",
                        crate::notify::format_duration(value)
                    ),
                ));
            }
        }
        if options.retries > MAX_WEBHOOK_RETRIES {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "webhook retries {}: at most {MAX_WEBHOOK_RETRIES}",
                    options.retries
                ),
            ));
        }
        let extra_roots = parse_cas(&options.ca_certificates).map_err(|why| invalid(&why))?;
        Ok(Webhook {
            inner: Arc::new(Inner {
                uri,
                shown,
                options,
                extra_roots,
                client: OnceLock::new(),
            }),
        })
    }

    /// The HTTP client, built on the first call.
    fn client(&self) -> std::result::Result<&HttpClient, String> {
        let inner = &self.inner;
        inner
            .client
            .get_or_init(|| {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(inner.options.timeout));
                http.set_nodelay(true);
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls_config(&inner.extra_roots)?)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                Ok(Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build(connector))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether the TLS client has been built (by a post).
    #[doc(hidden)]
    pub fn client_built(&self) -> bool {
        self.inner.client.get().is_some()
    }

    /// The options it was made with.
    pub fn options(&self) -> &WebhookOptions {
        &self.inner.options
    }

    /// Posts `message`; returns the attempts it took.
    pub async fn post(&self, message: &Message) -> Result<u32> {
        self.post_json(message.to_json()).await
    }

    /// Posts a JSON body (Slack's incoming-webhook payload); returns the
    /// attempts it took. Any `2xx` answer is success. Takes at most the
    /// options' `deadline`.
    pub async fn post_json(&self, body: impl Into<Bytes>) -> Result<u32> {
        let body = body.into();
        let options = &self.inner.options;
        let end = tokio::time::Instant::now() + options.deadline;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            let limit = options.timeout.min(left);
            let wait = match tokio::time::timeout(limit, self.attempt(body.clone())).await {
                Ok(Ok(())) => return Ok(attempt),
                Ok(Err(Failure::Final(why))) => return Err(self.error(&why, attempt)),
                Ok(Err(Failure::Retry(why, wait))) => (why, wait),
                Err(_) if limit < options.timeout => {
                    return Err(self.error(
                        &format!("no answer within the deadline of {:?}", options.deadline),
                        attempt,
                    ));
                }
                Err(_) => (format!("no answer within {:?}", options.timeout), None),
            };
            let (why, retry_after) = wait;
            if attempt > options.retries {
                return Err(self.error(&why, attempt));
            }
            let delay = match retry_after {
                Some(after) if after > options.max_retry_after => {
                    return Err(self.error(
                        &format!(
                            "{why}: Retry-After {} s is longer than the {} s allowed",
                            after.as_secs(),
                            options.max_retry_after.as_secs()
                        ),
                        attempt,
                    ));
                }
                Some(after) => after,
                None => crate::storage::backoff(options.initial_backoff, attempt - 1),
            };
            if tokio::time::Instant::now() + delay >= end {
                return Err(self.error(
                    &format!(
                        "{why}; the next attempt would start past the deadline of {:?}",
                        options.deadline
                    ),
                    attempt,
                ));
            }
            tokio::time::sleep(delay).await;
        }
    }

    fn error(&self, why: &str, attempts: u32) -> Error {
        let plural = if attempts == 1 { "" } else { "s" };
        Error::new(
            ErrorKind::Storage,
            format!("webhook {self}: {why} ({attempts} attempt{plural})"),
        )
    }

    async fn attempt(&self, body: Bytes) -> std::result::Result<(), Failure> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.inner.uri.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )
            .header(
                header::USER_AGENT,
                concat!("debpull/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body))
            .map_err(|e| Failure::Final(e.to_string()))?;
        let response = self
            .client()
            .map_err(Failure::Final)?
            .request(request)
            .await
            .map_err(|e| {
                if is_certificate_error(&e) {
                    Failure::Final(chain(&e))
                } else {
                    Failure::Retry(chain(&e), None)
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, std::time::SystemTime::now()));
        // The answer is read (Slack says why it refused, e.g. `invalid_payload`),
        // up to a limit.
        let answer = Limited::new(response.into_body(), ANSWER_LIMIT)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            return Ok(());
        }
        let why = format!("HTTP {}{}", status.as_u16(), shown_answer(&answer));
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Without a (readable) Retry-After: the normal backoff.
            Err(Failure::Retry(why, retry_after))
        } else if status.is_server_error() {
            Err(Failure::Retry(why, None))
        } else {
            Err(Failure::Final(why))
        }
    }
}

/// How an attempt failed: for good, or worth another try (after the
/// server's `Retry-After`, or the backoff).
enum Failure {
    Final(String),
    Retry(String, Option<Duration>),
}

/// A `Retry-After` value: delay seconds, or an HTTP date (a date past is no
/// wait). `None` when it is neither.
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = crate::storage::http::parse_http_date(value)?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether a request failed on the server's certificate (unknown issuer,
/// expired, wrong name...): no retry mends that.
fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        // io::Error's source() skips the error it wraps: look inside.
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in [Some(e), inner].into_iter().flatten() {
            if let Some(
                rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::UnsupportedNameType,
            ) = candidate.downcast_ref::<rustls::Error>()
            {
                return true;
            }
        }
        next = inner.or_else(|| e.source());
    }
    false
}

/// `: <answer>` for the first line of a printable answer, else nothing.
fn shown_answer(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if line.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", line.trim())
    }
}

/// `scheme://host[:port]/***`: the URL without its path, query or credentials
/// (a Slack webhook's path is its secret).
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or("");
    if end < rest.len() {
        format!("{scheme}://{host}/***")
    } else {
        format!("{scheme}://{host}")
    }
}

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

/// The certificates of the extra CAs (PEM, one or more per entry), each checked.
fn parse_cas(extra: &[Vec<u8>]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for (i, pem) in extra.iter().enumerate() {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("CA certificate {}: {e}", i + 1))?;
            rustls::RootCertStore::empty()
                .add(cert.clone())
                .map_err(|e| format!("CA certificate {}: {e}", i + 1))?;
            certs.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(format!(
                "CA certificate {}: no PEM certificate in it",
                i + 1
            ));
        }
    }
    Ok(certs)
}

/// The platform's root certificates (loaded once per process) and the extra CAs.
fn tls_config(
    extra: &[CertificateDer<'static>],
) -> std::result::Result<rustls::ClientConfig, String> {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let mut roots = rustls::RootCertStore::empty();
    let native = NATIVE.get_or_init(|| rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(native.iter().cloned());
    for cert in extra {
        roots.add(cert.clone()).map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_path_is_never_shown() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(redact("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(redact("https://u:pw@h/x"), "https://h/***");
        let options = WebhookOptions::new("https://hooks.slack.com/services/T0/B0/secret");
        assert!(!format!("{options:?}").contains("secret"));
    }

    #[test]
    fn bad_urls_are_invalid_input() {
        for url in [
            "",
            "ftp://x/y",
            "hooks.slack.com/x",
            "https://u:p@h/x",
            "http://",
        ] {
            let err = Webhook::new(WebhookOptions::new(url)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
        }
        let mut zero = WebhookOptions::new("http://127.0.0.1:1/x");
        zero.timeout = Duration::ZERO;
        assert_eq!(
            Webhook::new(zero).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut no_ca = WebhookOptions::new("https://127.0.0.1:1/x");
        no_ca.ca_certificates = vec![b"not a certificate".to_vec()];
        let err = Webhook::new(no_ca).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.to_string()
                .contains("CA certificate 1: no PEM certificate"),
            "{err}"
        );
    }

    #[test]
    fn limits_are_checked_naming_the_option() {
        let base = || WebhookOptions::new("http://127.0.0.1:1/x");
        let mut long = base();
        long.timeout = Duration::from_secs(3601);
        let mut no_deadline = base();
        no_deadline.deadline = Duration::ZERO;
        let mut retries = base();
        retries.retries = 11;
        for (options, name) in [
            (long, "timeout"),
            (no_deadline, "deadline"),
            (retries, "retries"),
        ] {
            let err = Webhook::new(options).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains(name), "{err}");
        }
        let mut max = base();
        max.timeout = MAX_WEBHOOK_WAIT;
        max.deadline = MAX_WEBHOOK_WAIT;
        max.retries = MAX_WEBHOOK_RETRIES;
        let webhook = Webhook::new(max).unwrap();
        assert!(!webhook.client_built(), "built before any post");
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }

    #[test]
    fn answers_are_shown_on_one_line() {
        assert_eq!(shown_answer(b"invalid_payload\nmore"), ": invalid_payload");
        assert_eq!(shown_answer(b""), "");
    }
}
