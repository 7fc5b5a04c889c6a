//! Posting messages to a Slack incoming webhook (or anything that takes the
//! same JSON) over HTTP(S): hyper 1, HTTP/1.1, rustls with the platform's
//! root certificates; plain `http://` too (tests, a local relay).
//!
//! - **Timeout** per attempt ([`WebhookOptions::timeout`], default 10 s):
//!   connecting, sending and reading the answer.
//! - **Retries** ([`WebhookOptions::retries`], default 3, so 4 attempts at
//!   most): connection failures, timeouts and `5xx` after a jittered
//!   exponential backoff; `429 Too Many Requests` after its `Retry-After`
//!   seconds when that is at most [`WebhookOptions::max_retry_after`]
//!   (default 30 s; a longer wait gives up at once). Other answers (`400
//!   invalid_payload`, `403`, `404 no_service`...) are final.
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
}

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
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

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
    /// no credentials), nothing is sent yet. A bad URL or a zero timeout is
    /// [`ErrorKind::InvalidInput`].
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
        if options.timeout.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "webhook timeout must be more than zero",
            ));
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(&options.ca_certificates).map_err(|why| invalid(&why))?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Webhook {
            inner: Arc::new(Inner {
                uri,
                shown,
                options,
                client,
            }),
        })
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
    /// attempts it took. Any `2xx` answer is success.
    pub async fn post_json(&self, body: impl Into<Bytes>) -> Result<u32> {
        let body = body.into();
        let options = &self.inner.options;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let wait = match tokio::time::timeout(options.timeout, self.attempt(body.clone())).await
            {
                Ok(Ok(())) => return Ok(attempt),
                Ok(Err(Failure::Final(why))) => return Err(self.error(&why, attempt)),
                Ok(Err(Failure::Retry(why, wait))) => (why, wait),
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
            .inner
            .client
            .request(request)
            .await
            .map_err(|e| Failure::Retry(chain(&e), None))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
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
            Err(Failure::Retry(
                why,
                Some(retry_after.unwrap_or(Duration::ZERO)),
            ))
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

/// The platform's root certificates (loaded once per process) and the extra CAs.
fn tls_config(extra: &[Vec<u8>]) -> std::result::Result<rustls::ClientConfig, String> {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let mut roots = rustls::RootCertStore::empty();
    let native = NATIVE.get_or_init(|| rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(native.iter().cloned());
    for (i, pem) in extra.iter().enumerate() {
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
    fn answers_are_shown_on_one_line() {
        assert_eq!(shown_answer(b"invalid_payload\nmore"), ": invalid_payload");
        assert_eq!(shown_answer(b""), "");
    }
}
