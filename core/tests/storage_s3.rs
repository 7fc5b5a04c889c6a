//! The S3 backend against moto in server mode on loopback: the storage
//! conformance suite (each function on a fresh bucket, all of them on one store
//! opened by URI, all at once), multipart uploads, streaming reads, object
//! settings (ACL, Cache-Control, storage class, encryption) as an anonymous HTTP
//! client sees them, missing buckets, and credentials with authentication on.

#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/storage_conformance.rs"]
mod conformance;
#[allow(dead_code)]
#[path = "support/http_servers.rs"]
mod http_servers;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;

use std::process::Command;
use std::sync::Arc;

use debpull::ErrorKind;
use debpull::storage::{
    self, GetOptions, Payload, PutMode, S3Credentials, S3Options, S3Storage, ServerSideEncryption,
    Storage,
};
use moto::{Moto, REGION};
use tokio::io::AsyncReadExt as _;

use backends::s3_options as options;

/// A store on a fresh bucket of the shared no-auth server.
fn fresh_store(prefix: &str) -> Arc<dyn Storage> {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("conformance");
    let mut options = options(moto, &bucket, moto.credentials());
    options.prefix = prefix.to_owned();
    Arc::new(S3Storage::new(options).unwrap())
}

conformance_tests!(((), fresh_store("")));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_and_endpoint_given_apart_from_the_uri_reach_the_store() {
    // The URI's region and endpoint (nothing listens there) are overridden; the
    // endpoint given implies path-style addressing, without which moto on
    // 127.0.0.1 cannot be reached (bucket.127.0.0.1 does not resolve).
    let moto = Moto::shared();
    let bucket = moto.create_bucket("open-with");
    let uri = format!("s3://{bucket}/apt?region=nowhere-1&endpoint=http%3A%2F%2F127.0.0.1%3A1");
    let given = storage::OpenOptions {
        region: Some(REGION.to_owned()),
        endpoint: Some(moto.endpoint()),
    };
    let mut parsed = S3Options::from_uri_with(&uri, &given).unwrap();
    assert!(parsed.force_path_style);
    parsed.credentials = options(moto, &bucket, moto.credentials()).credentials;
    let store = S3Storage::new(parsed).unwrap();
    store
        .put(
            "k",
            Payload::Bytes(b"given apart".to_vec()),
            PutMode::Create,
        )
        .await
        .unwrap();
    let mut root = options(moto, &bucket, moto.credentials());
    root.prefix = String::new();
    let root: Arc<dyn Storage> = Arc::new(S3Storage::new(root).unwrap());
    assert_eq!(backends::read(&root, "apt/k").await, b"given apart");
    let opened = storage::open_with(&uri, &given).unwrap();
    assert_eq!(opened.to_string(), format!("s3://{bucket}/apt"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_all_on_one_store_opened_by_uri() {
    // Credentials are never in a URI; the test's come in through the options
    // (the default chain would look in the environment).
    let moto = Moto::shared();
    let bucket = moto.create_bucket("by-uri");
    let endpoint = moto.endpoint().replace(':', "%3A").replace('/', "%2F");
    let uri =
        format!("s3://{bucket}/apt/repo+x?region={REGION}&endpoint={endpoint}&path-style=true");
    let opened = storage::open(&uri).expect("storage::open");
    assert_eq!(opened.to_string(), format!("s3://{bucket}/apt/repo+x"));
    let mut parsed = S3Options::from_uri(&uri).unwrap();
    assert_eq!(parsed.credentials, S3Credentials::DefaultChain);
    parsed.credentials = options(moto, &bucket, moto.credentials()).credentials;
    let store: Arc<dyn Storage> = Arc::new(S3Storage::new(parsed).unwrap());
    conformance::run_all(store.clone()).await;
    // Everything went under the prefix: the bucket's root holds nothing else.
    let mut root = options(moto, &bucket, moto.credentials());
    root.prefix = String::new();
    let root = S3Storage::new(root).unwrap();
    let outside: Vec<String> = root
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .filter(|k| !k.starts_with("apt/repo+x/"))
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_at_once_on_one_store() {
    let store = fresh_store("shared");
    conformance::run_all_at_once(store).await;
}

/// Reads a whole stream.
async fn read_stream(store: &Arc<dyn Storage>, key: &str) -> (u64, Vec<u8>) {
    let mut stream = store.get_stream(key).await.unwrap();
    let mut data = Vec::new();
    stream.reader.read_to_end(&mut data).await.unwrap();
    (stream.size, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_files_go_up_in_parts_under_the_same_conditions() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("multipart");
    let mut options = options(moto, &bucket, moto.credentials());
    options.multipart_threshold = 5 << 20;
    options.part_size = 5 << 20;
    let store: Arc<dyn Storage> = Arc::new(S3Storage::new(options).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.deb");
    let content = conformance::pattern((12 << 20) + 12_345, 7);
    std::fs::write(&big, &content).unwrap();
    let key = "pool/main/b/big/big_1.0+b1~rc1_amd64.deb";

    let first = store
        .put(key, Payload::File(big.clone()), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(first.size, content.len() as u64);
    assert!(
        first.etag.0.ends_with("-3\""),
        "three parts, S3's multipart ETag: {}",
        first.etag
    );
    let (size, data) = read_stream(&store, key).await;
    assert_eq!(size, content.len() as u64);
    assert!(data == content, "the parts joined in order");
    let head = store.head(key).await.unwrap();
    assert_eq!(head.etag, first.etag);

    // The conditions hold for multipart uploads too.
    let err = store
        .put(key, Payload::File(big.clone()), PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConcurrentUpdate, "{err}");
    let stale = debpull::storage::ETag("\"0123456789abcdef0123456789abcdef\"".to_owned());
    let err = store
        .put(key, Payload::File(big.clone()), PutMode::Update(stale))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConcurrentUpdate, "{err}");
    // Updates are single PUTs whatever their size (If-Match on completing a
    // multipart upload is not honoured everywhere: moto ignores it).
    let other = conformance::pattern((10 << 20) + 1, 8);
    std::fs::write(&big, &other).unwrap();
    let second = store
        .put(key, Payload::File(big.clone()), PutMode::Update(first.etag))
        .await
        .unwrap();
    assert_ne!(second.etag, head.etag);
    assert!(!second.etag.0.contains('-'), "one PUT: {}", second.etag);
    let (_, data) = read_stream(&store, key).await;
    assert!(data == other, "replaced by the second upload");

    // A file below the threshold is one PUT (an MD5 ETag, no part count).
    let small = dir.path().join("small.deb");
    std::fs::write(&small, &content[..1000]).unwrap();
    let meta = store
        .put("small.deb", Payload::File(small), PutMode::Overwrite)
        .await
        .unwrap();
    assert!(!meta.etag.0.contains('-'), "{}", meta.etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_a_storage_error_not_a_missing_object() {
    // A publisher reading InRelease must not take a missing bucket for a new suite.
    let moto = Moto::shared();
    let store = S3Storage::new(options(moto, "no-such-bucket-here", moto.credentials())).unwrap();
    let err = store
        .get("dists/staging/InRelease", GetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("no-such-bucket-here") && message.contains("does not exist"),
        "{message}"
    );
    let err = store
        .put("x", Payload::Bytes(b"x".to_vec()), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    // HEAD answers carry no error code: the bucket is checked.
    let errors = [
        store.head("dists/staging/InRelease").await.unwrap_err(),
        store.list("dists/").await.unwrap_err(),
        store.delete("x").await.unwrap_err(),
        store.get_stream("x").await.unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_ignores_conditions_is_refused_conditional_puts() {
    // Some S3-compatible stores drop If-None-Match / If-Match: there a
    // create-only or compare-and-swap put would silently overwrite.
    let moto = Moto::start_ignoring_conditions();
    let bucket = moto.create_bucket("unconditional");
    let store = S3Storage::new(options(&moto, &bucket, moto.credentials())).unwrap();
    store
        .put("k", Payload::Bytes(b"first".to_vec()), PutMode::Overwrite)
        .await
        .unwrap();
    for mode in [
        PutMode::Create,
        PutMode::Update(store.head("k").await.unwrap().etag),
    ] {
        let err = store
            .put("k", Payload::Bytes(b"second".to_vec()), mode.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{mode:?}: {err}");
        assert!(err.to_string().contains("If-None-Match"), "{err}");
    }
    let (data, _) = conformance::read(&(Arc::new(store.clone()) as Arc<dyn Storage>), "k").await;
    assert_eq!(data, b"first", "nothing was overwritten");
    let leftovers: Vec<String> = store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        leftovers,
        [".debpull-probe", "k"],
        "nothing but the probe object"
    );
    // The same test passes on a store that honours them (the shared server).
    let honest = fresh_store("");
    honest
        .put("k", Payload::Bytes(b"x".to_vec()), PutMode::Create)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_longer_than_a_page_are_whole() {
    let store = fresh_store("paged");
    let keys: Vec<String> = (0..1_010).map(|i| format!("pool/k{i:05}")).collect();
    let mut puts = tokio::task::JoinSet::new();
    for chunk in keys.chunks(101) {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        puts.spawn(async move {
            for key in chunk {
                store
                    .put(
                        &key,
                        Payload::Bytes(key.as_bytes().to_vec()),
                        PutMode::Overwrite,
                    )
                    .await
                    .unwrap();
            }
        });
    }
    puts.join_all().await;
    let listed: Vec<String> = store
        .list("pool/")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        listed, keys,
        "1,010 keys over two pages, prefix stripped, sorted"
    );
}

/// Set in the child process of [`a_store_without_a_region_says_so`].
const NO_REGION_CHILD: &str = "DEBPULL_TEST_NO_REGION_CHILD";

#[test]
fn a_store_without_a_region_says_so() {
    if std::env::var_os(NO_REGION_CHILD).is_some() {
        let mut options = S3Options::new("some-bucket");
        options.credentials = S3Credentials::Anonymous;
        options.endpoint = Some(closed_port_endpoint());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = S3Storage::new(options).unwrap();
        let err = runtime.block_on(store.head("k")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("no region"), "{err}");
        return;
    }
    // A child with an environment of its own: no region anywhere (variables,
    // profile files, instance metadata).
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        "--exact",
        "a_store_without_a_region_says_so",
        "--test-threads=1",
    ]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    let output = command
        .env(NO_REGION_CHILD, "1")
        .env("AWS_CONFIG_FILE", "/nonexistent/debpull-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/debpull-test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `http://127.0.0.1:PORT` with nothing listening on PORT (bound, then closed).
fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_fails_with_a_clear_error() {
    let moto = Moto::shared();
    let mut options = options(moto, "some-bucket", moto.credentials());
    options.endpoint = Some(closed_port_endpoint());
    options.max_attempts = 2;
    options.initial_backoff = std::time::Duration::from_millis(10);
    let store = S3Storage::new(options).unwrap();
    let err = store
        .get("dists/s/InRelease", GetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("s3://some-bucket: dists/s/InRelease")
            && message.contains("could not be sent"),
        "{message}"
    );
}

/// `curl` GET of `url` without credentials: the status and the response headers
/// (lower-case names).
fn anonymous_get(url: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let output = Command::new("curl")
        .args(["-sS", "-D", "/dev/stderr", "-o", "-", url])
        // Asks S3 for the checksum it stored with the object, if any.
        .args(["-H", "x-amz-checksum-mode: ENABLED"])
        .output()
        .expect("curl (apt-get install curl)");
    let head = String::from_utf8_lossy(&output.stderr);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("curl {url}: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, output.stdout)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_settings_reach_s3() {
    let moto = Moto::shared_with_auth();
    let bucket = moto.create_bucket("settings");
    let mut public = options(moto, &bucket, moto.credentials());
    public.acl = Some("public-read".to_owned());
    public.storage_class = Some("STANDARD_IA".to_owned());
    public.server_side_encryption = Some(ServerSideEncryption::Aes256);
    let public = S3Storage::new(public).unwrap();
    let private = S3Storage::new(options(moto, &bucket, moto.credentials())).unwrap();

    let pool_key = "pool/main/a/app/app_1:2.0+b1~rc1_amd64.deb";
    public
        .put(pool_key, Payload::Bytes(b"deb".to_vec()), PutMode::Create)
        .await
        .unwrap();
    public
        .put(
            "dists/s/InRelease",
            Payload::Bytes(b"signed".to_vec()),
            PutMode::Create,
        )
        .await
        .unwrap();
    private
        .put(
            "private",
            Payload::Bytes(b"secret".to_vec()),
            PutMode::Create,
        )
        .await
        .unwrap();

    // apt sends the key percent-encoded where it must be; '+', '~' and ':' stay usable.
    let url = format!(
        "{}/{}",
        moto.bucket_url(&bucket),
        pool_key.replace(':', "%3A").replace('+', "%2B")
    );
    let (status, headers, body) = anonymous_get(&url);
    assert_eq!(status, 200, "{url}: {headers:?}");
    assert_eq!(body, b"deb");
    let pool_cache = header(&headers, "cache-control").unwrap_or_default();
    assert!(pool_cache.contains("immutable"), "{headers:?}");
    assert_eq!(
        header(&headers, "x-amz-storage-class"),
        Some("STANDARD_IA"),
        "{headers:?}"
    );
    assert_eq!(
        header(&headers, "x-amz-server-side-encryption"),
        Some("AES256"),
        "{headers:?}"
    );
    // The upload carried a checksum (the SDK's CRC32), which S3 checked and kept.
    let crc = header(&headers, "x-amz-checksum-crc32").unwrap_or_else(|| panic!("{headers:?}"));
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(b"deb");
    assert_eq!(
        crc,
        base64_of(&hasher.finalize().to_be_bytes()),
        "{headers:?}"
    );
    let (status, headers, _) =
        anonymous_get(&format!("{}/dists/s/InRelease", moto.bucket_url(&bucket)));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    let (status, _, _) = anonymous_get(&format!("{}/private", moto.bucket_url(&bucket)));
    assert_eq!(status, 403, "no ACL: not readable anonymously");

    // An anonymous store reads the public objects and nothing else.
    let mut anonymous = options(moto, &bucket, moto.credentials());
    anonymous.credentials = S3Credentials::Anonymous;
    let anonymous = S3Storage::new(anonymous).unwrap();
    assert_eq!(anonymous.head(pool_key).await.unwrap().size, 3);
    let err = anonymous
        .put("x", Payload::Bytes(b"x".to_vec()), PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_with_a_clear_error() {
    let moto = Moto::shared_with_auth();
    let keys = moto.auth().expect("an auth-enabled server");
    let bucket = moto.create_bucket("auth");
    let good = S3Storage::new(options(moto, &bucket, moto.credentials())).unwrap();
    good.put("k", Payload::Bytes(b"v".to_vec()), PutMode::Create)
        .await
        .unwrap();
    let role = S3Storage::new(options(moto, &bucket, &keys.role)).unwrap();
    assert_eq!(
        role.head("k").await.unwrap().size,
        1,
        "a role session works"
    );

    let mut wrong_secret = moto.credentials().clone();
    wrong_secret.secret_access_key.push('x');
    let mut unknown = moto.credentials().clone();
    unknown.access_key_id = "AKIAUNKNOWNKEY000000".to_owned();
    let mut bad_token = keys.role.clone();
    bad_token.session_token = Some("not-the-token".to_owned());
    for (credentials, code) in [
        (&wrong_secret, "SignatureDoesNotMatch"),
        (&unknown, "InvalidAccessKeyId"),
        (&keys.no_permission, "AccessDenied"),
        (&bad_token, "InvalidToken"),
    ] {
        let store = S3Storage::new(options(moto, &bucket, credentials)).unwrap();
        for err in [
            store.head("k").await.unwrap_err(),
            store
                .put("k2", Payload::Bytes(b"v".to_vec()), PutMode::Create)
                .await
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Storage, "{code}: {err}");
            let message = err.to_string();
            if !message.starts_with("s3://") || !message.contains("refused") {
                panic!("{code}: the message names the store and the refusal: {message}");
            }
        }
        let err = store
            .get("k", GetOptions::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(code), "{code}: {err}");
    }
    let listed: Vec<String> = good
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        listed,
        [".debpull-probe", "k"],
        "nothing was written with bad credentials"
    );
}

/// Standard base64 with padding (what S3 uses for checksum headers).
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A 304 is "not modified" only as the answer to a condition: to a get that
/// sent none it is a storage error naming the key (review finding 7). The
/// "S3 endpoint" is a scripted server answering 304 to everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_304_without_a_condition_is_an_error() {
    let server = http_servers::ScriptServer::start(|_| http_servers::Reply::status(304, b""));
    let mut options = S3Options::new("bucket");
    options.endpoint = Some(server.url());
    options.region = Some(REGION.to_owned());
    options.force_path_style = true;
    options.max_attempts = 1;
    options.credentials = S3Credentials::Static {
        access_key_id: "AKIDEXAMPLE".to_owned(),
        secret_access_key: "secret".to_owned(),
        session_token: None,
    };
    let store: Arc<dyn Storage> = Arc::new(S3Storage::new(options).unwrap());
    let key = "dists/stable/InRelease";
    let err = conformance::expect_error(
        &store,
        store.get(key, GetOptions::default()).await,
        ErrorKind::Storage,
        key,
        "a 304 to an unconditional get",
    );
    assert!(err.to_string().contains("without a condition"), "{err}");
    for asked in [
        GetOptions {
            if_none_match: Some(storage::ETag("\"e1\"".to_owned())),
            ..GetOptions::default()
        },
        GetOptions {
            if_modified_since: Some(std::time::SystemTime::now()),
            ..GetOptions::default()
        },
    ] {
        assert_eq!(
            store.get(key, asked).await.unwrap(),
            storage::GetResult::NotModified
        );
    }
    assert!(
        server.requests().len() >= 3,
        "the gets reached the scripted server"
    );
}
