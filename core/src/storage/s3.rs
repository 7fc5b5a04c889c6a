//! The S3 backend (`s3://bucket/prefix`), on aws-sdk-s3.
//!
//! Each object is the S3 object `<prefix>/<key>` of one bucket, so the bucket
//! (or a CloudFront distribution in front of it) is also a plain `http(s):` apt
//! repository when objects are readable.
//!
//! - **Credentials**: the SDK's default chain (environment, shared profile,
//!   web identity, ECS, EC2 instance metadata with IMDSv2, `credential_process`),
//!   explicit keys, or none (anonymous reads of a public bucket). SSO profiles are
//!   not built in.
//! - **Conditional writes**: [`PutMode::Create`] sends `If-None-Match: *`,
//!   [`PutMode::Update`] `If-Match: <etag>`; S3 answers 412 when the condition
//!   fails, which becomes [`ErrorKind::ConcurrentUpdate`] after one check: every
//!   put carries a random marker in its metadata (`x-amz-meta-debpull-write`), and
//!   a failed condition whose key now holds our own marker was our own write,
//!   retried by the SDK after its answer was lost, so it is a success. A 409
//!   `ConditionalRequestConflict` (another conditional write to the key in
//!   flight) is retried with backoff. Before its first conditional put, a store
//!   probes once that the service honours the conditions (on PUT and on
//!   completing a multipart upload, on the object `.debpull-probe`); if it does
//!   not, conditional puts are refused ([`ErrorKind::Unsupported`]) rather than
//!   silently overwriting.
//! - **Retries**: the SDK's standard mode (exponential backoff with jitter) for
//!   5xx, throttling (`SlowDown`), timeouts and broken connections; reading a
//!   body that breaks off is retried here. [`S3Options::max_attempts`] bounds both.
//! - **Streaming**: file payloads are uploaded from disk, in parts (multipart
//!   upload, [`S3Options::part_size`]) above [`S3Options::multipart_threshold`]
//!   unless they are [`PutMode::Update`]s, which stay single PUTs (up to 5 GiB);
//!   [`Storage::get_stream`] hands out the body as it arrives. The SDK sends
//!   Content-Length and a CRC32 checksum with every upload.
//! - **Object settings**: canned ACL (none by default; `public-read` for a bucket
//!   read anonymously), storage class, server-side encryption (AES256 or KMS),
//!   Cache-Control: content-addressed objects (`pool/`, `by-hash/`) never change,
//!   everything else (InRelease, plain-path indexes) does.
//!
//! ETags are S3's, quotes included; multipart objects have S3's `"<md5>-<parts>"`
//! form. [`Storage::list`] reads 1,000 keys per request.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, StorageClass,
};
use aws_smithy_types::byte_stream::Length;
use tokio::sync::OnceCell;

use super::{
    BoxFuture, Capabilities, ETag, GetOptions, GetResult, ListEntry, ObjectMeta, ObjectStream,
    Payload, PutMode, Storage, backoff, check_key, past_the_end, percent_decode, strip_scheme,
    too_large,
};
use crate::error::{Error, ErrorKind, Result};

/// The object the conditional-write probe writes, under the prefix.
const PROBE_KEY: &str = ".debpull-probe";
/// The user-metadata key carrying each put's marker (`x-amz-meta-debpull-write`).
const MARKER_KEY: &str = "debpull-write";
/// The longest key S3 accepts, in bytes.
const MAX_KEY_BYTES: usize = 1024;
/// S3's smallest part (all but the last) and most parts of a multipart upload.
const MIN_PART_SIZE: u64 = 5 << 20;
const MAX_PARTS: u64 = 10_000;

/// Where an [`S3Storage`] gets its credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum S3Credentials {
    /// The SDK's default chain: environment, shared profile, web identity, ECS,
    /// EC2 instance metadata (IMDSv2), `credential_process`.
    #[default]
    DefaultChain,
    /// These keys.
    Static {
        /// `AWS_ACCESS_KEY_ID`.
        access_key_id: String,
        /// `AWS_SECRET_ACCESS_KEY`.
        secret_access_key: String,
        /// `AWS_SESSION_TOKEN`, for temporary credentials.
        session_token: Option<String>,
    },
    /// No credentials: unsigned requests, for reading a public bucket.
    Anonymous,
}

impl fmt::Debug for S3Credentials {
    /// Names the access key, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Credentials::DefaultChain => f.write_str("DefaultChain"),
            S3Credentials::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .finish_non_exhaustive(),
            S3Credentials::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// Server-side encryption of written objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// S3-managed keys (`AES256`).
    Aes256,
    /// AWS KMS (`aws:kms`), with this key or the bucket's default.
    Kms {
        /// A key ID or ARN; `None`: the account's default `aws/s3` key.
        key_id: Option<String>,
    },
}

/// How to reach a bucket and how to write its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    /// The bucket.
    pub bucket: String,
    /// A key prefix (without leading or trailing `/`); empty: the bucket's root.
    pub prefix: String,
    /// The region; `None`: from the environment or profile (`AWS_REGION`...).
    pub region: Option<String>,
    /// An endpoint URL for S3-compatible stores (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores need.
    pub force_path_style: bool,
    /// Where credentials come from.
    pub credentials: S3Credentials,
    /// A canned ACL for written objects (`public-read`); `None`: the bucket's default.
    pub acl: Option<String>,
    /// A storage class for written objects (`STANDARD_IA`); `None`: `STANDARD`.
    pub storage_class: Option<String>,
    /// Server-side encryption of written objects; `None`: the bucket's default.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// Cache-Control of objects that change (InRelease, plain-path indexes).
    pub cache_control_mutable: Option<String>,
    /// Cache-Control of content-addressed objects (`pool/`, `by-hash/`), which never change.
    pub cache_control_immutable: Option<String>,
    /// File payloads at least this large are uploaded in parts.
    pub multipart_threshold: u64,
    /// The size of each part (at least 5 MiB).
    pub part_size: u64,
    /// Attempts per request (the first one included), for retryable failures.
    /// The SDK also keeps a retry budget per region and process (a token bucket:
    /// under sustained failures it stops retrying before this many attempts, so
    /// that a struggling service is not flooded).
    pub max_attempts: u32,
    /// The first retry's backoff (doubling, with jitter, up to 20 s).
    pub initial_backoff: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a request may wait for the first byte of its answer (a body
    /// that stalls later is cut off by the SDK's stalled-stream protection).
    pub read_timeout: Duration,
}

impl S3Options {
    /// Options for `bucket` with everything else at its default.
    pub fn new(bucket: impl Into<String>) -> S3Options {
        S3Options {
            bucket: bucket.into(),
            prefix: String::new(),
            region: None,
            endpoint: None,
            force_path_style: false,
            credentials: S3Credentials::DefaultChain,
            acl: None,
            storage_class: None,
            server_side_encryption: None,
            cache_control_mutable: Some("no-cache".to_owned()),
            cache_control_immutable: Some("public, max-age=31536000, immutable".to_owned()),
            multipart_threshold: 64 << 20,
            part_size: 16 << 20,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }

    /// Parses `s3://bucket/prefix?option=value&...`. Options: `region`,
    /// `endpoint` (percent-encoded URL), `path-style` (`true`/`false`), `acl`,
    /// `storage-class`, `sse` (`AES256` or `aws:kms`), `sse-kms-key-id`,
    /// `anonymous` (`true`). Credentials are never part of a URI: they come
    /// from the default chain.
    pub fn from_uri(uri: &str) -> Result<S3Options> {
        let invalid = |why: String| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("S3 URI {uri:?}: {why} (expected s3://bucket/prefix?region=...)"),
            )
        };
        let rest =
            strip_scheme(uri, "s3://").ok_or_else(|| invalid("the scheme is not s3".to_owned()))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        check_bucket(bucket).map_err(invalid)?;
        let mut options = S3Options::new(bucket);
        options.prefix =
            percent_decode(prefix.trim_matches('/')).map_err(|why| invalid(why.to_owned()))?;
        if !options.prefix.is_empty() {
            check_key(&options.prefix)
                .map_err(|_| invalid(format!("the prefix {:?} is not a clean path", prefix)))?;
        }
        if uri.contains('#') {
            return Err(invalid("a fragment (#) has no meaning here".to_owned()));
        }
        let mut seen = Vec::new();
        let mut kms_key_id = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).map_err(|why| invalid(why.to_owned()))?;
            if value.is_empty() {
                return Err(invalid(format!("the option {name:?} has no value")));
            }
            if seen.contains(&name) {
                return Err(invalid(format!("the option {name:?} is given twice")));
            }
            seen.push(name);
            let flag = || match value.as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(invalid(format!("{name}={value:?} is not true or false"))),
            };
            match name {
                "region" => options.region = Some(value),
                "endpoint" => options.endpoint = Some(value),
                "path-style" => options.force_path_style = flag()?,
                "acl" => options.acl = Some(value),
                "storage-class" => options.storage_class = Some(value),
                "sse" => {
                    options.server_side_encryption = Some(match value.as_str() {
                        "AES256" => ServerSideEncryption::Aes256,
                        "aws:kms" => ServerSideEncryption::Kms { key_id: None },
                        _ => return Err(invalid(format!("sse={value:?}: use AES256 or aws:kms"))),
                    })
                }
                "sse-kms-key-id" => kms_key_id = Some(value),
                "anonymous" => {
                    if flag()? {
                        options.credentials = S3Credentials::Anonymous;
                    }
                }
                _ => return Err(invalid(format!("unknown option {name:?}"))),
            }
        }
        if let Some(key_id) = kms_key_id {
            match options.server_side_encryption {
                None | Some(ServerSideEncryption::Kms { .. }) => {
                    options.server_side_encryption = Some(ServerSideEncryption::Kms {
                        key_id: Some(key_id),
                    });
                }
                Some(ServerSideEncryption::Aes256) => {
                    return Err(invalid(
                        "sse-kms-key-id goes with sse=aws:kms, not AES256".to_owned(),
                    ));
                }
            }
        }
        Ok(options)
    }

    /// [`S3Options::from_uri`], then `open`'s region and endpoint instead of the
    /// URI's; an endpoint implies path-style addressing.
    pub fn from_uri_with(uri: &str, open: &super::OpenOptions) -> Result<S3Options> {
        let mut options = S3Options::from_uri(uri)?;
        if let Some(region) = &open.region {
            options.region = Some(region.clone());
        }
        if let Some(endpoint) = &open.endpoint {
            options.endpoint = Some(endpoint.clone());
            options.force_path_style = true;
        }
        Ok(options)
    }
}

/// A repository in an S3 bucket (`s3://bucket/prefix`).
///
/// Cheap to clone (clones share the client). The SDK client is built on first
/// use, from the options and the environment; a configuration error (no region)
/// surfaces then. Must be used inside a Tokio runtime.
#[derive(Debug, Clone)]
pub struct S3Storage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: S3Options,
    client: OnceCell<Client>,
    /// Set once the bucket was seen to exist.
    bucket_exists: OnceCell<()>,
    /// Set once the store was seen to honour conditional writes.
    conditional_writes: OnceCell<()>,
}

impl S3Storage {
    /// A store for the bucket and prefix of `options`. Nothing is sent yet.
    pub fn new(options: S3Options) -> Result<S3Storage> {
        check_bucket(&options.bucket)
            .map_err(|why| Error::new(ErrorKind::InvalidInput, format!("S3 storage: {why}")))?;
        let prefix = options.prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            check_key(&prefix)?;
        }
        if options.part_size < MIN_PART_SIZE || options.multipart_threshold < options.part_size {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "S3 storage: part size {} must be at least 5 MiB and at most the multipart \
                     threshold {}",
                    options.part_size, options.multipart_threshold
                ),
            ));
        }
        if options.max_attempts == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "S3 storage: max_attempts must be at least 1",
            ));
        }
        let mut options = options;
        options.prefix = prefix;
        Ok(S3Storage {
            inner: Arc::new(Inner {
                options,
                client: OnceCell::new(),
                bucket_exists: OnceCell::new(),
                conditional_writes: OnceCell::new(),
            }),
        })
    }

    /// Opens an `s3://bucket/prefix?...` URI (see [`S3Options::from_uri`]).
    pub fn from_uri(uri: &str) -> Result<S3Storage> {
        S3Storage::new(S3Options::from_uri(uri)?)
    }

    /// The options this store was made with.
    pub fn options(&self) -> &S3Options {
        &self.inner.options
    }

    /// The SDK client, built on first use.
    async fn client(&self) -> Result<&Client> {
        self.inner
            .client
            .get_or_try_init(|| build_client(&self.inner.options))
            .await
            .map_err(|why| Error::new(ErrorKind::InvalidInput, format!("{self}: {why}")))
    }

    /// The S3 key of `key`.
    fn object_key(&self, key: &str) -> Result<String> {
        check_key(key).map_err(|e| self.error(ErrorKind::InvalidInput, key, e.message()))?;
        let full = if self.inner.options.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.inner.options.prefix)
        };
        if full.len() > MAX_KEY_BYTES {
            return Err(self.error(
                ErrorKind::InvalidInput,
                key,
                format_args!(
                    "the S3 key is {} bytes, S3 allows {MAX_KEY_BYTES}",
                    full.len()
                ),
            ));
        }
        Ok(full)
    }

    fn error(&self, kind: ErrorKind, key: &str, message: impl fmt::Display) -> Error {
        Error::new(kind, format!("{self}: {key}: {message}"))
    }

    /// Maps an SDK failure of `operation` on `key` to a typed error.
    fn sdk_error<E>(&self, operation: &str, key: &str, err: SdkError<E, HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = http_status(&err);
        let code = err
            .as_service_error()
            .and_then(|e| e.code())
            .map(str::to_owned);
        let kind = match (status, code.as_deref()) {
            (_, Some("NoSuchBucket" | "NoSuchUpload")) => ErrorKind::Storage,
            (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => ErrorKind::NotFound,
            (Some(412), _) | (_, Some("ConditionalRequestConflict")) => ErrorKind::ConcurrentUpdate,
            _ => ErrorKind::Storage,
        };
        let what = describe(&err, status, code.as_deref());
        let message = match (kind, code.as_deref()) {
            (_, Some("NoSuchBucket")) => {
                format!(
                    "{operation}: the bucket {:?} does not exist",
                    self.inner.options.bucket
                )
            }
            (ErrorKind::NotFound, _) => format!("{operation}: no such object"),
            (_, Some("NoSuchUpload")) => {
                format!("{operation}: the multipart upload was aborted ({what})")
            }
            (_, Some("ConditionalRequestConflict")) => {
                format!("{operation}: another conditional write to the key was in flight ({what})")
            }
            (ErrorKind::ConcurrentUpdate, _) => {
                format!("{operation}: the condition failed, another writer changed it ({what})")
            }
            (_, Some(c)) if is_credentials_error(c) => {
                format!("{operation}: the credentials were refused: {what}")
            }
            // HEAD answers carry no error code.
            (_, None) if status == Some(403) => format!(
                "{operation}: access refused (HTTP 403): the credentials were refused or lack \
                 the permission"
            ),
            (_, None) if status == Some(400) => format!(
                "{operation}: refused as a bad request (HTTP 400; an invalid session token is \
                 one cause)"
            ),
            _ => format!("{operation}: {what}"),
        };
        // The modeled error only: the raw response of a refused signature echoes
        // the canonical request, session token included.
        let error = self.error(kind, key, message);
        match err {
            SdkError::ServiceError(service) => error.with_source(service.into_err()),
            other => error.with_source(other),
        }
    }

    async fn get_object(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        let client = self.client().await?;
        let object_key = self.object_key(key)?;
        let attempts = self.inner.options.max_attempts;
        let mut attempt = 1;
        loop {
            let mut request = client
                .get_object()
                .bucket(&self.inner.options.bucket)
                .key(&object_key);
            let mut conditional = true;
            match options.if_none_match.as_ref().filter(|e| !e.0.is_empty()) {
                Some(etag) => request = request.if_none_match(&etag.0),
                None => match options.if_modified_since {
                    Some(since) => {
                        request =
                            request.if_modified_since(aws_smithy_types::DateTime::from(since));
                    }
                    None => conditional = false,
                },
            }
            let output = match request.send().await {
                Ok(output) => output,
                // Not modified only when we asked: a 304 to an unconditional
                // get says nothing about any state the caller holds.
                Err(err) if http_status(&err) == Some(304) && conditional => {
                    return Ok(GetResult::NotModified);
                }
                Err(err) if http_status(&err) == Some(304) => {
                    return Err(self.error(
                        ErrorKind::Storage,
                        key,
                        "get: HTTP 304 Not Modified to a request without a condition",
                    ));
                }
                Err(err) => return Err(self.sdk_error("get", key, err)),
            };
            let announced = output.content_length.and_then(|l| u64::try_from(l).ok());
            if let (Some(limit), Some(size)) = (options.max_size, announced)
                && size > limit
            {
                return Err(too_large(self, key, limit, Some(size)));
            }
            let mut meta = ObjectMeta {
                key: key.to_owned(),
                size: announced.unwrap_or(0),
                etag: self.etag_of(key, output.e_tag.as_deref())?,
                last_modified: output.last_modified.and_then(to_system_time),
            };
            // The body may break off after the answer began: read it again.
            match read_body(output.body, options.max_size).await {
                Err(BodyError::TooLarge(limit)) => {
                    return Err(too_large(self, key, limit, None));
                }
                Ok(data) if announced.is_none_or(|size| data.len() as u64 == size) => {
                    meta.size = data.len() as u64;
                    return Ok(GetResult::Found { data, meta });
                }
                Ok(data) if attempt >= attempts => {
                    return Err(self.error(
                        ErrorKind::Storage,
                        key,
                        format_args!(
                            "get: the body has {} bytes, its Content-Length said {} \
                             ({attempts} attempts)",
                            data.len(),
                            meta.size
                        ),
                    ));
                }
                Err(BodyError::Broken(e)) if attempt >= attempts => {
                    return Err(self
                        .error(
                            ErrorKind::Storage,
                            key,
                            format_args!("get: reading the body: {e} ({attempts} attempts)"),
                        )
                        .with_source(e));
                }
                _ => {}
            }
            tokio::time::sleep(backoff(self.inner.options.initial_backoff, attempt)).await;
            attempt += 1;
        }
    }

    async fn get_object_stream(&self, key: &str, offset: u64) -> Result<ObjectStream> {
        let client = self.client().await?;
        let output = client
            .get_object()
            .bucket(&self.inner.options.bucket)
            .key(self.object_key(key)?)
            .set_range((offset > 0).then(|| format!("bytes={offset}-")))
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            // 416: nothing from the offset on; an empty stream at the very end.
            Err(err) if http_status(&err) == Some(416) => {
                let size = self.head_object(key).await?.size;
                if offset != size {
                    return Err(past_the_end(self, key, offset, size));
                }
                return Ok(ObjectStream {
                    size,
                    offset,
                    reader: Box::pin(tokio::io::empty()),
                });
            }
            Err(err) => return Err(self.sdk_error("get", key, err)),
        };
        Ok(ObjectStream {
            size: offset + content_length(output.content_length),
            offset,
            reader: Box::pin(output.body.into_async_read()),
        })
    }

    async fn head_object(&self, key: &str) -> Result<ObjectMeta> {
        self.head_with_marker(key).await.map(|(meta, _)| meta)
    }

    /// Fails with a [`ErrorKind::Storage`] error if the bucket does not exist
    /// (checked once per store while it does).
    async fn check_bucket_exists(&self, key: &str) -> Result<()> {
        let client = self.client().await?;
        self.inner
            .bucket_exists
            .get_or_try_init(|| async {
                client
                    .head_bucket()
                    .bucket(&self.inner.options.bucket)
                    .send()
                    .await
                    .map(drop)
                    .or_else(|e| match http_status(&e) {
                        Some(404) => Err(self.error(
                            ErrorKind::Storage,
                            key,
                            format_args!(
                                "the bucket {:?} does not exist",
                                self.inner.options.bucket
                            ),
                        )),
                        // HeadBucket needs s3:ListBucket, which a reader may lack:
                        // then the object's own 404 stands.
                        _ => Ok(()),
                    })
            })
            .await
            .map(drop)
    }

    /// Refuses conditional puts, once and for all, on a store that ignores
    /// `If-None-Match` or `If-Match` (some S3-compatible stores, older S3
    /// clones) on a PUT or on completing a multipart upload: there they would
    /// silently overwrite. Probed once per store on one small object,
    /// `<prefix>/.debpull-probe`, rewritten by every probe and never deleted (a
    /// publisher may have no delete permission, and deleting would race with
    /// another process's probe).
    async fn check_conditional_writes(&self) -> Result<()> {
        self.inner
            .conditional_writes
            .get_or_try_init(|| self.probe_conditional_writes())
            .await
            .map(drop)
    }

    async fn probe_conditional_writes(&self) -> Result<()> {
        let key = PROBE_KEY.to_owned();
        let object_key = self.object_key(&key)?;
        let marker = new_marker();
        let put = |mode: PutMode| {
            let (key, object_key, marker) = (&key, &object_key, &marker);
            async move {
                self.put_single(
                    key,
                    object_key,
                    Payload::Bytes(b"probe".to_vec()),
                    5,
                    &mode,
                    marker,
                )
                .await
                .map_err(|(error, _)| error)
            }
        };
        // Written unconditionally: a retried write whose first answer was lost
        // must not look like a failed condition.
        let verdict = match put(PutMode::Overwrite).await {
            Ok(_) => {
                let create_again = put(PutMode::Create).await;
                let stale = ETag(format!("\"{}\"", new_marker()));
                let update_stale = put(PutMode::Update(stale)).await;
                let complete_again = self
                    .probe_multipart_create(&key, &object_key, &marker)
                    .await;
                probe_verdict([
                    ("If-None-Match", create_again),
                    ("If-Match", update_stale),
                    (
                        "If-None-Match on completing a multipart upload",
                        complete_again,
                    ),
                ])
            }
            Err(e) => Err(e),
        };
        // A probe that failed on its way (a 500, a broken connection) says nothing
        // about the store: that error, and another probe with the next put.
        let ignored = verdict?;
        if ignored.is_empty() {
            return Ok(());
        }
        Err(self.error(
            ErrorKind::Unsupported,
            &key,
            format_args!(
                "the store ignored {} on a probe object: it cannot do conditional writes, \
                 and publishing without them could lose concurrent updates",
                ignored.join(" and ")
            ),
        ))
    }

    /// A one-part multipart upload onto the existing probe object, completed
    /// with `If-None-Match: *`: a store that honours it answers 412.
    async fn probe_multipart_create(
        &self,
        key: &str,
        object_key: &str,
        marker: &str,
    ) -> Result<ObjectMeta> {
        let client = self.client().await?;
        let bucket = &self.inner.options.bucket;
        let upload = client
            .create_multipart_upload()
            .bucket(bucket)
            .key(object_key)
            .metadata(MARKER_KEY, marker)
            .send()
            .await
            .map_err(|e| self.sdk_error("probing a multipart upload", key, e))?;
        let upload_id = upload.upload_id.unwrap_or_default();
        let completed = async {
            let part = client
                .upload_part()
                .bucket(bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .part_number(1)
                .body(ByteStream::from_static(b"probe"))
                .send()
                .await
                .map_err(|e| self.sdk_error("probing a multipart upload", key, e))?;
            let parts = CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .set_e_tag(part.e_tag)
                        .build(),
                )
                .build();
            let output = client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .multipart_upload(parts)
                .if_none_match("*")
                .send()
                .await
                .map_err(|e| self.put_error(key, &PutMode::Create, e).0)?;
            self.written(key, 5, output.e_tag.as_deref())
                .map_err(|(e, _)| e)
        }
        .await;
        if completed.is_err() {
            let _ = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        completed
    }

    /// The object's metadata and the marker of the put that wrote it.
    async fn head_with_marker(&self, key: &str) -> Result<(ObjectMeta, Option<String>)> {
        let client = self.client().await?;
        let output = client
            .head_object()
            .bucket(&self.inner.options.bucket)
            .key(self.object_key(key)?)
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                let error = self.sdk_error("head", key, e);
                if error.kind() == ErrorKind::NotFound {
                    // A HEAD answer has no error code: a missing bucket looks
                    // like a missing object.
                    self.check_bucket_exists(key).await?;
                }
                return Err(error);
            }
        };
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: content_length(output.content_length),
            etag: self.etag_of(key, output.e_tag.as_deref())?,
            last_modified: output.last_modified.and_then(to_system_time),
        };
        let marker = output
            .metadata
            .and_then(|mut m: HashMap<String, String>| m.remove(MARKER_KEY));
        Ok((meta, marker))
    }

    async fn put_object(&self, key: &str, payload: Payload, mode: PutMode) -> Result<ObjectMeta> {
        let object_key = self.object_key(key)?;
        if mode != PutMode::Overwrite {
            self.check_conditional_writes().await.map_err(|e| {
                e.context(format_args!(
                    "{self}: {key}: checking that the store honours conditional writes"
                ))
            })?;
        }
        let size = payload.size()?;
        // One marker for every attempt: any of them may be the one that landed.
        let marker = new_marker();
        // Updates stay single PUTs (up to S3's 5 GiB): If-Match on completing a
        // multipart upload is newer S3 and some stores ignore it. Only small
        // objects (InRelease) are ever updated.
        let multipart =
            size >= self.inner.options.multipart_threshold && !matches!(mode, PutMode::Update(_));
        let attempts = self.inner.options.max_attempts;
        let mut attempt = 1;
        loop {
            let written = match &payload {
                Payload::File(path) if multipart => {
                    self.put_multipart(key, &object_key, path, size, &mode, &marker)
                        .await
                }
                _ => {
                    self.put_single(key, &object_key, payload.clone(), size, &mode, &marker)
                        .await
                }
            };
            match written {
                Ok(meta) => return Ok(meta),
                // 409: another conditional write to the key is in flight; S3 asks to retry.
                Err((_, true)) if attempt < attempts => {
                    tokio::time::sleep(backoff(self.inner.options.initial_backoff, attempt)).await;
                    attempt += 1;
                }
                // A failed condition, or (multipart) an upload that is gone: ours, if
                // the SDK retried a request whose first answer was lost.
                Err((err, _))
                    if err.kind() == ErrorKind::ConcurrentUpdate
                        || (multipart && err.kind() == ErrorKind::Storage) =>
                {
                    return match self.head_with_marker(key).await {
                        Ok((meta, Some(found))) if found == marker => Ok(meta),
                        _ => Err(err),
                    };
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    async fn put_single(
        &self,
        key: &str,
        object_key: &str,
        payload: Payload,
        size: u64,
        mode: &PutMode,
        marker: &str,
    ) -> std::result::Result<ObjectMeta, (Error, bool)> {
        let client = self.client().await.map_err(|e| (e, false))?;
        let body = match payload {
            Payload::Bytes(bytes) => ByteStream::from(bytes),
            Payload::File(path) => self
                .file_body(key, &path, 0, size)
                .await
                .map_err(|e| (e, false))?,
        };
        let settings = &self.inner.options;
        let mut request = client
            .put_object()
            .bucket(&settings.bucket)
            .key(object_key)
            .body(body)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .set_cache_control(self.cache_control(key))
            .set_acl(settings.acl.as_deref().map(ObjectCannedAcl::from))
            .set_storage_class(settings.storage_class.as_deref().map(StorageClass::from))
            .metadata(MARKER_KEY, marker)
            .set_server_side_encryption(self.encryption())
            .set_ssekms_key_id(self.kms_key_id());
        request = match mode {
            PutMode::Overwrite => request,
            PutMode::Create => request.if_none_match("*"),
            PutMode::Update(etag) => request.if_match(&etag.0),
        };
        let output = request
            .send()
            .await
            .map_err(|e| self.put_error(key, mode, e))?;
        self.written(key, size, output.e_tag.as_deref())
    }

    /// What a put answered: the new object's metadata.
    fn written(
        &self,
        key: &str,
        size: u64,
        etag: Option<&str>,
    ) -> std::result::Result<ObjectMeta, (Error, bool)> {
        Ok(ObjectMeta {
            key: key.to_owned(),
            size,
            etag: self.etag_of(key, etag).map_err(|e| (e, false))?,
            last_modified: None,
        })
    }

    async fn put_multipart(
        &self,
        key: &str,
        object_key: &str,
        path: &std::path::Path,
        size: u64,
        mode: &PutMode,
        marker: &str,
    ) -> std::result::Result<ObjectMeta, (Error, bool)> {
        if *mode == PutMode::Create {
            // Not gigabytes for nothing: the condition can only fail at the end.
            match self.head_object(key).await {
                Ok(_) => {
                    return Err((
                        self.error(
                            ErrorKind::ConcurrentUpdate,
                            key,
                            "put if absent: the object exists",
                        ),
                        false,
                    ));
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err((e, false)),
            }
        }
        let client = self.client().await.map_err(|e| (e, false))?;
        let settings = &self.inner.options;
        let part_size = settings.part_size.max(size.div_ceil(MAX_PARTS));
        let create = client
            .create_multipart_upload()
            .bucket(&settings.bucket)
            .key(object_key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .set_cache_control(self.cache_control(key))
            .set_acl(settings.acl.as_deref().map(ObjectCannedAcl::from))
            .set_storage_class(settings.storage_class.as_deref().map(StorageClass::from))
            .metadata(MARKER_KEY, marker)
            .set_server_side_encryption(self.encryption())
            .set_ssekms_key_id(self.kms_key_id());
        let upload = create
            .send()
            .await
            .map_err(|e| (self.sdk_error("starting a multipart upload", key, e), false))?;
        let upload_id = upload.upload_id.ok_or_else(|| {
            let error = self.error(
                ErrorKind::Storage,
                key,
                "S3 started a multipart upload without an ID",
            );
            (error, false)
        })?;
        let result = self
            .upload_parts(key, object_key, path, size, part_size, &upload_id, mode)
            .await;
        if result.is_err() {
            // Best effort: an unfinished upload costs storage until aborted. A
            // publisher killed or cancelled mid-upload cannot abort: give the bucket
            // a lifecycle rule (AbortIncompleteMultipartUpload) for those.
            let _ = client
                .abort_multipart_upload()
                .bucket(&settings.bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_parts(
        &self,
        key: &str,
        object_key: &str,
        path: &std::path::Path,
        size: u64,
        part_size: u64,
        upload_id: &str,
        mode: &PutMode,
    ) -> std::result::Result<ObjectMeta, (Error, bool)> {
        let client = self.client().await.map_err(|e| (e, false))?;
        let settings = &self.inner.options;
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < size {
            let length = part_size.min(size - offset);
            let body = self
                .file_body(key, path, offset, length)
                .await
                .map_err(|e| (e, false))?;
            let part = client
                .upload_part()
                .bucket(&settings.bucket)
                .key(object_key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(length as i64)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    (
                        self.sdk_error(&format!("uploading part {number}"), key, e),
                        false,
                    )
                })?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag)
                    .set_checksum_crc32(part.checksum_crc32)
                    .build(),
            );
            offset += length;
            number += 1;
        }
        let mut complete = client
            .complete_multipart_upload()
            .bucket(&settings.bucket)
            .key(object_key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        complete = match mode {
            PutMode::Create => complete.if_none_match("*"),
            PutMode::Overwrite | PutMode::Update(_) => complete,
        };
        let output = complete
            .send()
            .await
            .map_err(|e| self.put_error(key, mode, e))?;
        self.written(key, size, output.e_tag.as_deref())
    }

    /// A failed put: a failed condition (including S3's 404 for `If-Match` on a
    /// key that is gone) is a concurrent update; `true` if it was a 409 (another
    /// conditional write in flight: worth retrying).
    fn put_error<E>(
        &self,
        key: &str,
        mode: &PutMode,
        err: SdkError<E, HttpResponse>,
    ) -> (Error, bool)
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let in_flight = err
            .as_service_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "ConditionalRequestConflict");
        let error = self.sdk_error("put", key, err);
        let error = match (mode, error.kind()) {
            (PutMode::Update(etag), ErrorKind::NotFound) => self.error(
                ErrorKind::ConcurrentUpdate,
                key,
                format_args!("put if ETag is {etag}: the object was deleted by another writer"),
            ),
            _ => error,
        };
        (error, in_flight)
    }

    async fn delete_object(&self, key: &str) -> Result<()> {
        let client = self.client().await?;
        client
            .delete_object()
            .bucket(&self.inner.options.bucket)
            .key(self.object_key(key)?)
            .send()
            .await
            .map(drop)
            .or_else(|e| match self.sdk_error("delete", key, e) {
                e if e.kind() == ErrorKind::NotFound => Ok(()),
                e => Err(e),
            })
    }

    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListEntry>> {
        let client = self.client().await?;
        let root = match self.inner.options.prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let full_prefix = format!("{root}{prefix}");
        let mut entries = Vec::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(&self.inner.options.bucket)
            .prefix(&full_prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.sdk_error("list", prefix, e))?;
            for object in page.contents.unwrap_or_default() {
                let Some(key) = object.key.as_deref().and_then(|k| k.strip_prefix(&root)) else {
                    continue;
                };
                // Keys another tool wrote that are not clean paths are no objects of ours.
                if check_key(key).is_err() {
                    continue;
                }
                entries.push(ListEntry {
                    key: key.to_owned(),
                    size: content_length(object.size),
                    last_modified: object.last_modified.and_then(to_system_time),
                });
            }
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    /// `length` bytes of the file at `path` from `offset`, streamed from disk.
    async fn file_body(
        &self,
        key: &str,
        path: &std::path::Path,
        offset: u64,
        length: u64,
    ) -> Result<ByteStream> {
        ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(Length::Exact(length))
            .build()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("{self}: {key}: reading {}: {e}", path.display()),
                )
                .with_source(e)
            })
    }

    /// The server-side encryption header of written objects.
    fn encryption(&self) -> Option<aws_sdk_s3::types::ServerSideEncryption> {
        use aws_sdk_s3::types::ServerSideEncryption as Sse;
        self.inner
            .options
            .server_side_encryption
            .as_ref()
            .map(|sse| match sse {
                ServerSideEncryption::Aes256 => Sse::Aes256,
                ServerSideEncryption::Kms { .. } => Sse::AwsKms,
            })
    }

    /// The KMS key of written objects, if one is named.
    fn kms_key_id(&self) -> Option<String> {
        match &self.inner.options.server_side_encryption {
            Some(ServerSideEncryption::Kms { key_id }) => key_id.clone(),
            _ => None,
        }
    }

    fn cache_control(&self, key: &str) -> Option<String> {
        let immutable = key.starts_with("pool/") || key.contains("/by-hash/");
        let settings = &self.inner.options;
        if immutable {
            settings.cache_control_immutable.clone()
        } else {
            settings.cache_control_mutable.clone()
        }
    }

    fn etag_of(&self, key: &str, etag: Option<&str>) -> Result<ETag> {
        etag.map(|e| ETag(e.to_owned()))
            .ok_or_else(|| self.error(ErrorKind::Storage, key, "the S3 answer has no ETag"))
    }
}

impl fmt::Display for S3Storage {
    /// `s3://bucket/prefix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.inner.options;
        write!(f, "s3://{}", options.bucket)?;
        if !options.prefix.is_empty() {
            write!(f, "/{}", options.prefix)?;
        }
        Ok(())
    }
}

impl Storage for S3Storage {
    fn get<'a>(&'a self, key: &'a str, options: GetOptions) -> BoxFuture<'a, Result<GetResult>> {
        Box::pin(async move { self.get_object(key, &options).await })
    }

    fn get_stream<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectStream>> {
        Box::pin(self.get_object_stream(key, 0))
    }

    fn get_stream_from<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
    ) -> BoxFuture<'a, Result<ObjectStream>> {
        Box::pin(self.get_object_stream(key, offset))
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        Box::pin(self.head_object(key))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        payload: Payload,
        mode: PutMode,
    ) -> BoxFuture<'a, Result<ObjectMeta>> {
        Box::pin(self.put_object(key, payload, mode))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.delete_object(key))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ListEntry>>> {
        Box::pin(self.list_objects(prefix))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_put: true,
            conditional_get: true,
            writable: true,
        }
    }
}

/// Builds the SDK client: region, credentials, endpoint, retries and timeouts.
async fn build_client(options: &S3Options) -> std::result::Result<Client, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(options.max_attempts)
                .with_initial_backoff(options.initial_backoff)
                .with_max_backoff(Duration::from_secs(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .read_timeout(options.read_timeout)
                .build(),
        );
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader = match &options.credentials {
        S3Credentials::DefaultChain => loader,
        S3Credentials::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } => loader.credentials_provider(Credentials::new(
            access_key_id,
            secret_access_key,
            session_token.clone(),
            None,
            "debpull",
        )),
        S3Credentials::Anonymous => loader.no_credentials(),
    };
    let shared = loader.load().await;
    if shared.region().is_none() {
        return Err("no region: give one (region=... in the URI) or set AWS_REGION".to_owned());
    }
    let mut config =
        aws_sdk_s3::config::Builder::from(&shared).force_path_style(options.force_path_style);
    if let Some(endpoint) = &options.endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' and '.')"
        ))
    }
}

fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// A short description: the S3 error code and message, or the transport failure.
fn describe<E>(err: &SdkError<E, HttpResponse>, status: Option<u16>, code: Option<&str>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let message = service.err().message().unwrap_or("");
            match (code, status) {
                (Some(code), Some(status)) => format!("{code} (HTTP {status}) {message}"),
                (None, Some(status)) => format!("HTTP {status} {message}"),
                (code, None) => format!("{} {message}", code.unwrap_or("error")),
            }
            .trim_end()
            .to_owned()
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(_) if not_connected(err) => {
            format!("the request could not be sent: {}", chain(err))
        }
        // The request may have reached S3 and been carried out: a put's outcome is unknown.
        SdkError::DispatchFailure(_) => {
            format!("the connection failed before an answer: {}", chain(err))
        }
        _ => chain(err),
    }
}

/// Whether a transport failure happened while connecting, before anything was sent.
fn not_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::{
        AddrNotAvailable, ConnectionRefused, HostUnreachable, NetworkUnreachable,
    };
    std::iter::successors(Some(err), |e| e.source()).any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
            )
        })
    })
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

fn is_credentials_error(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"
    )
}

/// Why a body could not be read whole.
enum BodyError {
    /// More than this many bytes arrived.
    TooLarge(u64),
    /// The connection broke off.
    Broken(aws_smithy_types::byte_stream::error::Error),
}

/// Reads a body whole, stopping as soon as more than `limit` bytes arrived.
async fn read_body(
    mut body: ByteStream,
    limit: Option<u64>,
) -> std::result::Result<Vec<u8>, BodyError> {
    let mut data = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BodyError::Broken)?;
        data.extend_from_slice(&chunk);
        if let Some(limit) = limit.filter(|&l| data.len() as u64 > l) {
            return Err(BodyError::TooLarge(limit));
        }
    }
    Ok(data)
}

fn content_length(length: Option<i64>) -> u64 {
    length.and_then(|l| u64::try_from(l).ok()).unwrap_or(0)
}

fn to_system_time(time: aws_smithy_types::DateTime) -> Option<SystemTime> {
    SystemTime::try_from(time).ok()
}

/// The conditions a store ignored, from the answers to conditional writes onto
/// an existing probe object (a create-only PUT, a stale update, a create-only
/// multipart completion): a refusal (412) means honoured, a success ignored;
/// any other failure is the probe's error.
fn probe_verdict<const N: usize>(
    checks: [(&'static str, Result<ObjectMeta>); N],
) -> Result<Vec<&'static str>> {
    let mut ignored = Vec::new();
    for (header, result) in checks {
        match result {
            Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => {}
            Err(e) => return Err(e),
            Ok(_) => ignored.push(header),
        }
    }
    Ok(ignored)
}

/// A random marker naming one put.
fn new_marker() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::checksum::to_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_options_override_the_uri_and_an_endpoint_implies_path_style() {
        let uri = "s3://bkt/p?region=eu-west-1&endpoint=http%3A%2F%2F10.0.0.1%3A1&acl=private";
        let given = crate::storage::OpenOptions {
            region: Some("us-east-2".to_owned()),
            endpoint: Some("http://127.0.0.1:9000".to_owned()),
        };
        let o = S3Options::from_uri_with(uri, &given).unwrap();
        assert_eq!(o.region.as_deref(), Some("us-east-2"));
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(o.force_path_style);
        assert_eq!((o.bucket.as_str(), o.prefix.as_str()), ("bkt", "p"));
        assert_eq!(o.acl.as_deref(), Some("private"));
        // Only a region: the URI's endpoint and addressing stay.
        let region_only = crate::storage::OpenOptions {
            region: Some("ap-south-1".to_owned()),
            endpoint: None,
        };
        let o = S3Options::from_uri_with(uri, &region_only).unwrap();
        assert_eq!(o.region.as_deref(), Some("ap-south-1"));
        assert_eq!(o.endpoint.as_deref(), Some("http://10.0.0.1:1"));
        assert!(!o.force_path_style);
        // Nothing given: from_uri's answer.
        let none = crate::storage::OpenOptions::default();
        assert_eq!(
            format!("{:?}", S3Options::from_uri_with(uri, &none).unwrap()),
            format!("{:?}", S3Options::from_uri(uri).unwrap())
        );
        // A bad URI stays an error.
        assert_eq!(
            S3Options::from_uri_with("s3://", &given)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn uris_parse_with_their_options() {
        let o = S3Options::from_uri(
            "s3://my-bucket/apt/repo/?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000\
             &path-style=true&acl=public-read&storage-class=STANDARD_IA&sse-kms-key-id=alias%2Fk",
        )
        .unwrap();
        assert_eq!(o.bucket, "my-bucket");
        assert_eq!(o.prefix, "apt/repo");
        assert_eq!(o.region.as_deref(), Some("eu-west-1"));
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(o.force_path_style);
        assert_eq!(o.acl.as_deref(), Some("public-read"));
        assert_eq!(o.storage_class.as_deref(), Some("STANDARD_IA"));
        assert_eq!(
            o.server_side_encryption,
            Some(ServerSideEncryption::Kms {
                key_id: Some("alias/k".to_owned())
            })
        );
        // The key ID wins whatever the order.
        for uri in [
            "s3://b-1?sse-kms-key-id=k&sse=aws:kms",
            "s3://b-1?sse=aws:kms&sse-kms-key-id=k",
        ] {
            assert_eq!(
                S3Options::from_uri(uri).unwrap().server_side_encryption,
                Some(ServerSideEncryption::Kms {
                    key_id: Some("k".to_owned())
                }),
                "{uri}"
            );
        }
        let bare = S3Options::from_uri("s3://bucket").unwrap();
        assert_eq!((bare.bucket.as_str(), bare.prefix.as_str()), ("bucket", ""));
        assert_eq!(bare.credentials, S3Credentials::DefaultChain);
    }

    #[test]
    fn bad_uris_are_refused_naming_the_fault() {
        for (uri, fault) in [
            ("s3://", "bucket name"),
            ("s3://UPPER/x", "bucket name"),
            ("s3://b/x", "bucket name"),
            ("s3://bucket/a/../b", "prefix"),
            ("s3://bucket?colour=red", "unknown option \"colour\""),
            ("s3://bucket?path-style=maybe", "not true or false"),
            ("s3://bucket?sse=rot13", "AES256 or aws:kms"),
            ("s3://bucket?region=%zz", "two hex digits"),
            ("s3://bucket?region=", "no value"),
            ("s3://bucket?acl=private&acl=public-read", "twice"),
            ("s3://bucket/p#frag", "fragment"),
            ("s3://bucket?sse=AES256&sse-kms-key-id=k", "not AES256"),
            ("http://bucket", "scheme"),
        ] {
            let err = S3Options::from_uri(uri).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{uri}");
            assert!(err.to_string().contains(fault), "{uri}: {err}");
        }
    }

    #[test]
    fn parts_must_be_at_least_five_mebibytes() {
        let mut options = S3Options::new("bucket");
        options.part_size = 1 << 20;
        let err = S3Storage::new(options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn keys_get_the_prefix_and_a_length_check() {
        let mut options = S3Options::new("bucket");
        options.prefix = "/apt/".to_owned();
        let store = S3Storage::new(options).unwrap();
        assert_eq!(store.to_string(), "s3://bucket/apt");
        assert_eq!(
            store.object_key("pool/main/a/app_1.0+b1~rc:1.deb").unwrap(),
            "apt/pool/main/a/app_1.0+b1~rc:1.deb"
        );
        let long = "k".repeat(1100);
        let err = store.object_key(&long).unwrap_err();
        assert!(err.to_string().contains("1024"), "{err}");
        assert_eq!(
            store.object_key("../x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn a_probe_that_fails_on_its_way_is_no_verdict() {
        let error = |kind| Err(Error::new(kind, "put"));
        let written = || {
            Ok(ObjectMeta {
                key: "k".to_owned(),
                size: 5,
                etag: ETag("\"e\"".to_owned()),
                last_modified: None,
            })
        };
        let refused = || error(ErrorKind::ConcurrentUpdate);
        let verdict = |a, b, c| probe_verdict([("A", a), ("B", b), ("C", c)]);
        assert_eq!(
            verdict(refused(), refused(), refused()).unwrap(),
            Vec::<&str>::new()
        );
        assert_eq!(verdict(written(), refused(), refused()).unwrap(), ["A"]);
        assert_eq!(verdict(refused(), written(), refused()).unwrap(), ["B"]);
        assert_eq!(verdict(refused(), refused(), written()).unwrap(), ["C"]);
        for (a, b, c) in [
            (error(ErrorKind::Storage), refused(), refused()),
            (refused(), error(ErrorKind::Storage), refused()),
            (written(), error(ErrorKind::Storage), refused()),
            (refused(), refused(), error(ErrorKind::Storage)),
        ] {
            let err = verdict(a, b, c).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Storage);
        }
    }

    #[test]
    fn only_connecting_failures_say_nothing_was_sent() {
        use std::io::{Error as IoError, ErrorKind as Io};
        let wrapped = |kind| Error::new(ErrorKind::Storage, "put").with_source(IoError::from(kind));
        assert!(not_connected(&wrapped(Io::ConnectionRefused)));
        assert!(not_connected(&wrapped(Io::NetworkUnreachable)));
        // Reset or closed after the request went out: it may have been carried out.
        assert!(!not_connected(&wrapped(Io::ConnectionReset)));
        assert!(!not_connected(&wrapped(Io::UnexpectedEof)));
    }

    #[test]
    fn immutable_objects_get_long_cache_control() {
        let store = S3Storage::new(S3Options::new("bucket")).unwrap();
        let long = store
            .cache_control("pool/main/a/app/app_1_all.deb")
            .unwrap();
        assert!(long.contains("immutable"));
        let by_hash = store
            .cache_control("dists/s/main/binary-amd64/by-hash/SHA256/ab")
            .unwrap();
        assert_eq!(by_hash, long);
        assert_eq!(
            store.cache_control("dists/s/InRelease").as_deref(),
            Some("no-cache")
        );
    }
}
