//! The read-only HTTP(S) backend against real servers on loopback:
//! `python3 -m http.server` serving a local store's directory (no ETag: the
//! If-Modified-Since path), moto serving a public-read bucket (the ETag path),
//! the fault proxy (5xx, resets, truncated bodies), and a scripted server
//! (redirects, endless bodies, refusals). The read functions of the storage
//! conformance suite run with a writable store behind the HTTP one.

#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/storage_conformance.rs"]
mod conformance;
#[allow(dead_code)]
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "support/http_servers.rs"]
mod http_servers;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "support/snapshot_reader.rs"]
mod snapshot_reader;
#[allow(dead_code)]
#[path = "support/test_debs.rs"]
mod test_debs;

use std::sync::Arc;
use std::time::{Duration, Instant};

use debpull::ErrorKind;
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{
    self, GetOptions, GetResult, HttpOptions, HttpStorage, LocalStorage, Payload, PutMode,
    S3Storage, Storage,
};
use fault_proxy::{Fault, FaultProxy, Faults};
use http_servers::{PythonServer, Reply, ScriptServer};
use moto::Moto;
use tokio::io::AsyncReadExt as _;

/// Quick retries for tests.
fn options(url: &str) -> HttpOptions {
    let mut options = HttpOptions::new(url);
    options.initial_backoff = Duration::from_millis(10);
    options.read_timeout = Duration::from_secs(10);
    options
}

fn http(url: &str) -> Arc<dyn Storage> {
    Arc::new(HttpStorage::new(options(url)).expect("an HTTP store"))
}

/// A local store served by `python3 -m http.server`, and the HTTP store reading it.
struct Mirror {
    _dir: tempfile::TempDir,
    local: Arc<dyn Storage>,
    server: PythonServer,
    http: Arc<dyn Storage>,
}

fn mirror() -> Mirror {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStorage::new(dir.path().join("repo")).unwrap();
    let server = PythonServer::start(local.root());
    let http = http(&server.url());
    Mirror {
        _dir: dir,
        local: Arc::new(local),
        server,
        http,
    }
}

/// A public-read bucket on moto, its S3 store and the HTTP store reading it.
fn public_bucket() -> (Arc<dyn Storage>, Arc<dyn Storage>) {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("http");
    moto.public_read(&bucket, "");
    let s3 = S3Storage::new(backends::s3_options(moto, &bucket, moto.credentials())).unwrap();
    (Arc::new(s3), http(&moto.bucket_url(&bucket)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_conformance_over_python_http_server() {
    let m = mirror();
    conformance::max_size(&m.local, &m.http).await;
    conformance::if_modified_since(&m.local, &m.http).await;
    conformance::stream_from(&m.local, &m.http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_conformance_over_a_public_moto_bucket() {
    let (s3, http) = public_bucket();
    conformance::max_size(&s3, &http).await;
    conformance::if_modified_since(&s3, &http).await;
    conformance::stream_from(&s3, &http).await;
}

/// The keys of `conformance::debian_keys` and an epoch, written by `writer`,
/// read back over HTTP byte for byte.
async fn debian_keys_read_back(writer: &Arc<dyn Storage>, reader: &Arc<dyn Storage>) {
    let keys = [
        "pool/main/a/app/app_1:2.0+b1~rc1-3_amd64.deb",
        "pool/main/liba/libapp++/libapp++_1.0~~alpha+dfsg_all.deb",
        "with space/and%20percent%",
        "odd=&@,;!$'()[]*",
        "unicodé/ключ",
    ];
    for (i, key) in keys.iter().enumerate() {
        let data = conformance::pattern(1000 + i, i as u64);
        let written = writer
            .put(key, Payload::Bytes(data.clone()), PutMode::Overwrite)
            .await
            .unwrap();
        let (got, meta) = conformance::read(reader, key).await;
        assert!(got == data, "{key:?}: other content over HTTP");
        assert_eq!(meta.size, data.len() as u64);
        let head = reader.head(key).await.unwrap();
        assert_eq!(head.size, data.len() as u64, "{key:?}: head");
        if !head.etag.0.is_empty() {
            assert_eq!(head.etag, written.etag, "{key:?}: the ETag over HTTP");
            assert_eq!(meta.etag, written.etag, "{key:?}: the ETag of a get");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_keys_over_both_servers() {
    let m = mirror();
    debian_keys_read_back(&m.local, &m.http).await;
    let (s3, http) = public_bucket();
    debian_keys_read_back(&s3, &http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_from_moto_make_conditional_gets() {
    let (s3, http) = public_bucket();
    let key = "dists/staging/InRelease";
    let first = s3
        .put(key, Payload::Bytes(b"one".to_vec()), PutMode::Overwrite)
        .await
        .unwrap();
    let (_, meta) = conformance::read(&http, key).await;
    assert_eq!(meta.etag, first.etag);
    let same = GetOptions {
        if_none_match: Some(meta.etag.clone()),
        ..GetOptions::default()
    };
    assert_eq!(
        http.get(key, same.clone()).await.unwrap(),
        GetResult::NotModified
    );
    s3.put(key, Payload::Bytes(b"two".to_vec()), PutMode::Overwrite)
        .await
        .unwrap();
    match http.get(key, same).await.unwrap() {
        GetResult::Found { data, meta: new } => {
            assert_eq!(data, b"two");
            assert_ne!(new.etag, meta.etag);
        }
        GetResult::NotModified => panic!("NotModified after a change"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_etags_is_asked_by_date() {
    let m = mirror();
    let key = "dists/stable/InRelease";
    m.local
        .put(
            key,
            Payload::Bytes(b"Date: one".to_vec()),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    let (_, meta) = conformance::read(&m.http, key).await;
    assert_eq!(meta.etag.0, "", "python's http.server sends no ETag");
    let modified = meta.last_modified.expect("a Last-Modified");
    // The client stores both and passes both: the empty ETag is no condition.
    let stored = GetOptions {
        if_none_match: Some(meta.etag.clone()),
        if_modified_since: Some(modified),
        ..GetOptions::default()
    };
    assert_eq!(
        m.http.get(key, stored).await.unwrap(),
        GetResult::NotModified
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_is_read_only_and_names_its_url() {
    let store = storage::open("http://user:hunter2@127.0.0.1:9/apt/repo/").unwrap();
    assert_eq!(store.to_string(), "http://127.0.0.1:9/apt/repo");
    assert!(!format!("{store:?}").contains("hunter2"));
    let caps = store.capabilities();
    assert!(!caps.writable && !caps.conditional_put && caps.conditional_get);
    let key = "pool/x.deb";
    let put = store
        .put(key, Payload::Bytes(b"x".to_vec()), PutMode::Overwrite)
        .await;
    let err = conformance::expect_error(&store, put, ErrorKind::Unsupported, key, "put");
    assert!(err.to_string().contains("read-only"), "{err}");
    conformance::expect_error(
        &store,
        store.delete(key).await,
        ErrorKind::Unsupported,
        key,
        "delete",
    );
    conformance::expect_error(
        &store,
        store.list("pool/").await,
        ErrorKind::Unsupported,
        "pool/",
        "list",
    );
    let bad = store.get("../etc/passwd", GetOptions::default()).await;
    conformance::expect_error(
        &store,
        bad,
        ErrorKind::InvalidInput,
        "../etc/passwd",
        "a bad key",
    );
    assert!(storage::open("https://host.example").is_ok());
    let err = storage::open("http://host/x?y=1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // Nothing listens on port 9: connecting fails, is retried, then reported.
    let started = Instant::now();
    let err = store.head(key).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(err.to_string().contains("4 attempts"), "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_through_faults_and_truncation_is_an_error() {
    let m = mirror();
    let proxy = FaultProxy::start(&m.server.url(), 7);
    let store = http(&proxy.endpoint());
    let key = "pool/main/a/app/app_1.0+b1_amd64.deb";
    let data = conformance::pattern(200_000, 5);
    m.local
        .put(key, Payload::Bytes(data.clone()), PutMode::Overwrite)
        .await
        .unwrap();

    // Three failures in a row, each kind in turn, then success (4 attempts).
    for kind in [
        Fault::InternalError,
        Fault::SlowDown,
        Fault::ResetBeforeForward,
        Fault::TruncateBody,
    ] {
        proxy.reset_stats();
        proxy.set_faults(Faults::new(1.0, &[kind]).at_most(3));
        let (got, _) = conformance::read(&store, key).await;
        assert!(got == data, "{kind:?}: other content");
        let stats = proxy.stats();
        assert_eq!(stats.faults_of(kind), 3, "{kind:?}: {stats:?}");
        assert_eq!(stats.requests_of("GET"), 4, "{kind:?}: {stats:?}");
    }
    // head and opening a stream retry too.
    for kind in [Fault::SlowDown, Fault::ResetBeforeForward] {
        proxy.set_faults(Faults::new(1.0, &[kind]).at_most(2));
        assert_eq!(store.head(key).await.unwrap().size, data.len() as u64);
        proxy.set_faults(Faults::new(1.0, &[kind]).at_most(2));
        let (size, got) = conformance::read_stream_from(&store, key, 0).await.unwrap();
        assert_eq!(size, data.len() as u64);
        assert!(got == data);
    }

    // Failing every time: the error after max_attempts, naming the status.
    proxy.reset_stats();
    proxy.set_faults(Faults::new(1.0, &[Fault::SlowDown]));
    let err = store.get(key, GetOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("503"), "{err}");
    assert!(err.to_string().contains(key), "{err}");
    assert_eq!(proxy.stats().requests_of("GET"), 4);

    // A stream cut short is an error from the reader, never a short object;
    // resuming at the offset reached completes it.
    proxy.set_faults(Faults::new(1.0, &[Fault::TruncateBody]).at_most(1));
    let mut stream = store.get_stream(key).await.unwrap();
    assert_eq!(stream.size, data.len() as u64);
    let mut got = Vec::new();
    let mut buffer = vec![0; 8192];
    let broke = loop {
        match stream.reader.read(&mut buffer).await {
            Ok(0) => panic!(
                "a truncated body read as a whole object of {} bytes",
                got.len()
            ),
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            Err(e) => break e,
        }
    };
    assert!(got.len() < data.len(), "{broke}");
    assert!(got[..] == data[..got.len()], "the part read is right");
    let (size, rest) = conformance::read_stream_from(&store, key, got.len() as u64)
        .await
        .unwrap();
    assert_eq!(size, data.len() as u64);
    got.extend_from_slice(&rest);
    assert!(got == data, "resumed: the whole object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_uses_range_requests_where_the_server_has_them() {
    // moto answers ranges (206); python 3.11's http.server does not (200, skipped).
    let (s3, http) = public_bucket();
    let key = "pool/main/b/big/big_1.0_all.deb";
    let data = conformance::pattern(100_000, 9);
    s3.put(key, Payload::Bytes(data.clone()), PutMode::Overwrite)
        .await
        .unwrap();
    let moto = Moto::shared();
    let proxy = FaultProxy::start(&moto.endpoint(), 1);
    let bucket_path = http.to_string();
    let bucket = bucket_path.rsplit('/').next().unwrap();
    let counted = self::http(&format!("{}/{bucket}", proxy.endpoint()));
    let (_, rest) = conformance::read_stream_from(&counted, key, 60_000)
        .await
        .unwrap();
    assert!(rest == data[60_000..]);
    let stats = proxy.stats();
    assert!(
        stats.response_body_bytes < 41_000,
        "only the rest was sent: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_up_to_five_hops() {
    let server = ScriptServer::start(|head| {
        let path = head.path();
        if let Some(n) = path.strip_prefix("/hop/") {
            // /hop/N/rest redirects to /hop/N-1/rest, /hop/0/rest to /final/rest.
            let (n, rest) = n.split_once('/').unwrap();
            let n: u32 = n.parse().unwrap();
            let statuses = [301, 302, 303, 307, 308];
            let status = statuses[n as usize % statuses.len()];
            if n == 0 {
                return Reply::redirect(status, &format!("/final/{rest}"));
            }
            // Relative and absolute-path Locations in turn.
            let location = if n.is_multiple_of(2) {
                format!("/hop/{}/{rest}", n - 1)
            } else {
                format!("../{}/{rest}", n - 1)
            };
            return Reply::redirect(status, &location);
        }
        if let Some(rest) = path.strip_prefix("/final/") {
            return Reply::status(200, rest.as_bytes());
        }
        if path.starts_with("/nowhere/") {
            return Reply::status(302, b"no Location");
        }
        Reply::status(404, b"")
    });
    // 4 redirects from /hop/3 to /final: followed.
    let store = http(&format!("{}/hop/3", server.url()));
    let (data, _) = conformance::read(&store, "InRelease").await;
    assert_eq!(data, b"InRelease");
    // 5: followed; 6: refused.
    let store = http(&format!("{}/hop/4", server.url()));
    assert_eq!(conformance::read(&store, "a").await.0, b"a");
    let store = http(&format!("{}/hop/5", server.url()));
    let err = store.get("a", GetOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    let store = http(&format!("{}/nowhere", server.url()));
    let err = store.head("a").await.unwrap_err();
    assert!(err.to_string().contains("Location"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_map_to_kinds() {
    let server = ScriptServer::start(|head| match head.path() {
        "/403/k" => Reply::status(403, b"AccessDenied"),
        "/401/k" => Reply::status(401, b""),
        "/410/k" => Reply::status(410, b""),
        "/418/k" => Reply::status(418, b""),
        _ => Reply::status(404, b""),
    });
    for (base, kind, text) in [
        ("403", ErrorKind::Storage, "access denied (HTTP 403"),
        ("401", ErrorKind::Storage, "access denied (HTTP 401"),
        ("404", ErrorKind::NotFound, "no such object"),
        ("410", ErrorKind::NotFound, "no such object"),
        ("418", ErrorKind::Storage, "unexpected answer HTTP 418"),
    ] {
        let store = http(&format!("{}/{base}", server.url()));
        for result in [
            store.get("k", GetOptions::default()).await.map(drop),
            store.head("k").await.map(drop),
            store.get_stream("k").await.map(drop),
        ] {
            let err = conformance::expect_error(&store, result, kind, "k", base);
            assert!(err.to_string().contains(text), "{err}");
        }
    }
    // Not retried: one request each.
    assert_eq!(server.requests().len(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_off_at_max_size() {
    let server = ScriptServer::start(|head| match head.path() {
        "/endless" => Reply::Endless {
            headers: Vec::new(),
        },
        "/announced" => Reply::Endless {
            headers: vec![("Content-Length".to_owned(), (10u64 << 30).to_string())],
        },
        _ => Reply::status(404, b""),
    });
    let store = http(&server.url());
    let limit = 1 << 20;
    let limited = GetOptions {
        max_size: Some(limit),
        ..GetOptions::default()
    };
    let started = Instant::now();
    let err = conformance::expect_error(
        &store,
        store.get("endless", limited.clone()).await,
        ErrorKind::LimitExceeded,
        "endless",
        "an endless body",
    );
    assert!(err.to_string().contains(&limit.to_string()), "{err}");
    let err = conformance::expect_error(
        &store,
        store.get("announced", limited).await,
        ErrorKind::LimitExceeded,
        "announced",
        "an announced 10 GiB",
    );
    assert!(err.to_string().contains("10737418240"), "{err}");
    // The server stops when the client goes away: far less than the cap went out.
    std::thread::sleep(Duration::from_millis(200));
    let sent = server.body_bytes();
    assert!(sent < 64 << 20, "{sent} bytes sent before the cut-off");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_sent_percent_encoded_and_credentials_only_to_the_origin() {
    let other = ScriptServer::start(|_| Reply::status(200, b"elsewhere"));
    let elsewhere = other.url();
    let server = ScriptServer::start(move |head| {
        if head.path().ends_with("/moved") {
            Reply::redirect(302, &format!("{elsewhere}/moved"))
        } else {
            Reply::status(200, b"here")
        }
    });
    let url = server.url().replace("http://", "http://deploy:p%40ss@");
    let store = http(&format!("{url}/repo"));
    let key = "pool/main/a/app/app_1:2.0+b1~rc1_all.deb";
    conformance::read(&store, key).await;
    conformance::read(&store, "moved").await;
    let requests = server.requests();
    assert_eq!(
        requests[0].path(),
        "/repo/pool/main/a/app/app_1%3A2.0%2Bb1~rc1_all.deb"
    );
    // Basic deploy:p@ss on the origin, nothing elsewhere.
    for request in &requests {
        assert_eq!(
            request.header("Authorization"),
            Some("Basic ZGVwbG95OnBAc3M="),
            "{}",
            request.start_line
        );
    }
    let moved = other.requests();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].header("Authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_suite_reads_over_http_as_apt_would() {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn Storage> = Arc::new(LocalStorage::new(dir.path().join("repo")).unwrap());
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let trusted = TrustedKeys::from_bytes(key.public_key_armored().unwrap().as_bytes()).unwrap();
    let repo = Repository::new(local.clone(), key, RepositoryOptions::default()).unwrap();
    let debs = vec![
        test_debs::build_deb(dir.path(), "app", "1:2.0+b1~rc1", "amd64", ""),
        test_debs::build_deb(dir.path(), "tool", "1.0", "all", ""),
    ];
    repo.publish("staging", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    let server = PythonServer::start(&dir.path().join("repo"));
    let store = http(&server.url());
    let mut reader =
        snapshot_reader::SnapshotReader::new(store, "staging", "main", "amd64", trusted, 3);
    reader.read().await.unwrap();
    let stats = reader.stats();
    assert_eq!(stats.last_listed, 2, "{stats:?}");
    assert!(stats.pool_files >= 1, "{stats:?}");
}
