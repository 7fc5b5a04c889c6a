//! The read-only HTTP(S) backend against real servers on loopback:
//! `python3 -m http.server` serving a local store's directory (no ETag: the
//! If-Modified-Since path), moto serving a public-read bucket (the ETag path),
//! the fault proxy (5xx, resets, truncated bodies), and a scripted server
//! (redirects, endless or slow bodies, refusals, odd 304s and 206s), and a
//! TLS front with a private CA made by openssl. The read functions of the storage
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
use http_servers::{PythonServer, Reply, ScriptServer, TestCa, TlsFront};
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
    // Through a counting proxy: the NotModified must be the server's own 304.
    let proxy = FaultProxy::start(&m.server.url(), 3);
    let store = http(&proxy.endpoint());
    let (_, meta) = conformance::read(&store, key).await;
    assert_eq!(meta.etag.0, "", "python's http.server sends no ETag");
    let modified = meta.last_modified.expect("a Last-Modified");
    // The client stores both and passes both: the empty ETag is no condition.
    let stored = GetOptions {
        if_none_match: Some(meta.etag.clone()),
        if_modified_since: Some(modified),
        ..GetOptions::default()
    };
    proxy.reset_stats();
    assert_eq!(
        store.get(key, stored).await.unwrap(),
        GetResult::NotModified
    );
    let stats = proxy.stats();
    assert_eq!(stats.statuses.get(&304), Some(&1), "{stats:?}");
    assert_eq!(stats.total_requests(), 1, "{stats:?}");
}

/// A server that sends the object (200) is the object, whatever dates it
/// gives: a forged future `Last-Modified` once must not make every later
/// check "not modified" (review finding 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_is_the_object_whatever_its_last_modified() {
    let server = ScriptServer::start(|head| {
        let date = match head.path() {
            "/future/InRelease" => "Fri, 31 Dec 9999 23:59:59 GMT",
            _ => "Sun, 06 Nov 1994 08:49:37 GMT",
        };
        Reply::Full {
            status: 200,
            headers: vec![("Last-Modified".to_owned(), date.to_owned())],
            body: b"Suite: stable\n".to_vec(),
        }
    });
    for base in ["future", "past"] {
        let store = http(&format!("{}/{base}", server.url()));
        let (_, meta) = conformance::read(&store, "InRelease").await;
        let stamp = meta.last_modified.expect("a Last-Modified");
        let now = std::time::SystemTime::now();
        for since in [stamp, now, stamp.max(now) + Duration::from_secs(86_400)] {
            let asked = GetOptions {
                if_modified_since: Some(since),
                ..GetOptions::default()
            };
            match store.get("InRelease", asked).await.unwrap() {
                GetResult::Found { data, .. } => assert_eq!(data, b"Suite: stable\n"),
                GetResult::NotModified => {
                    panic!("{base}: NotModified from a 200 (since {since:?})")
                }
            }
        }
    }
    let asked = server
        .requests()
        .iter()
        .filter(|r| r.header("If-Modified-Since").is_some())
        .count();
    assert_eq!(asked, 6, "every conditional get carried its condition");
}

/// A `Last-Modified` that is no date this side of year 10000 is no time,
/// never a panic (review finding 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_last_modified_dates_are_ignored() {
    let server = ScriptServer::start(|head| {
        let date = match head.path() {
            "/huge" => "Sat, 01 Jan 300000000000 00:00:00 GMT",
            "/max" => "Sat, 01 Jan 9223372036854775807 23:59:59 GMT",
            "/10000" => "Sat, 01 Jan 10000 00:00:00 GMT",
            _ => "Wed, 31 Dec 1969 23:59:59 GMT",
        };
        Reply::Full {
            status: 200,
            headers: vec![("Last-Modified".to_owned(), date.to_owned())],
            body: b"x".to_vec(),
        }
    });
    let store = http(&server.url());
    for key in ["huge", "max", "10000", "1969"] {
        let (_, meta) = conformance::read(&store, key).await;
        assert_eq!(meta.last_modified, None, "{key}");
        assert_eq!(store.head(key).await.unwrap().last_modified, None, "{key}");
    }
}

/// `304 Not Modified` is an answer to a condition: to a get that sent none
/// it is an error naming the key, never "unchanged" (review finding 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_304_without_a_condition_is_an_error() {
    let server = ScriptServer::start(|_| Reply::status(304, b""));
    let store = http(&server.url());
    let key = "dists/stable/InRelease";
    let err = conformance::expect_error(
        &store,
        store.get(key, GetOptions::default()).await,
        ErrorKind::Storage,
        key,
        "a 304 to an unconditional get",
    );
    assert!(err.to_string().contains("without a condition"), "{err}");
    // An empty ETag is no condition either.
    let empty = GetOptions {
        if_none_match: Some(storage::ETag(String::new())),
        ..GetOptions::default()
    };
    conformance::expect_error(
        &store,
        store.get(key, empty).await,
        ErrorKind::Storage,
        key,
        "a 304 to a get with an empty ETag",
    );
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
        assert_eq!(store.get(key, asked).await.unwrap(), GetResult::NotModified);
    }
}

/// A 206 must be exactly the range asked for: its Content-Range consistent
/// with its Content-Length and the object's end (review finding 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_answers_must_match_the_range_asked_for() {
    let server = ScriptServer::start(|head| {
        let (range, body) = match head.path() {
            "/good" => ("bytes 100-149/150", vec![b'g'; 50]),
            "/short" => ("bytes 100-149/1000", vec![b's'; 50]),
            "/long-claim" => ("bytes 100-999/1000", vec![b'l'; 50]),
            "/open-total" => ("bytes 100-149/*", vec![b'o'; 50]),
            "/other-start" => ("bytes 0-49/150", vec![b'x'; 50]),
            // Offset + length and last + 1 both overflow u64 (review 5c finding 7).
            "/overflow" => {
                return Reply::Exact {
                    status: 206,
                    headers: vec![
                        (
                            "Content-Range".to_owned(),
                            "bytes 100-18446744073709551615/*".to_owned(),
                        ),
                        (
                            "Content-Length".to_owned(),
                            "18446744073709551516".to_owned(),
                        ),
                    ],
                    body: vec![b'v'; 50],
                };
            }
            _ => ("bytes 100-99/1000", Vec::new()),
        };
        Reply::Full {
            status: 206,
            headers: vec![("Content-Range".to_owned(), range.to_owned())],
            body,
        }
    });
    let store = http(&server.url());
    let (size, rest) = conformance::read_stream_from(&store, "good", 100)
        .await
        .unwrap();
    assert_eq!((size, rest), (150, vec![b'g'; 50]));
    let (size, _) = conformance::read_stream_from(&store, "open-total", 100)
        .await
        .unwrap();
    assert_eq!(size, 150);
    for key in [
        "short",
        "long-claim",
        "other-start",
        "overflow",
        "backwards",
    ] {
        let err = store.get_stream_from(key, 100).await.map(drop).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{key}: {err}");
        assert!(err.to_string().contains("Content-Range"), "{key}: {err}");
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}

/// A server dripping its body slowly cannot hold a reader beyond the total
/// deadline (total_timeout, plus 1 s per min_rate bytes); a body arriving
/// faster than min_rate may take longer than total_timeout (review finding 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drip_runs_into_the_total_deadline() {
    let server = ScriptServer::start(|head| match head.path() {
        // 10 bytes a second: 1000 s for the whole body.
        "/drip" => Reply::Drip {
            body: vec![b'd'; 10_000],
            piece: 1,
            pause: Duration::from_millis(100),
        },
        // 4000 bytes a second: 1.5 s in all, faster than min_rate.
        _ => Reply::Drip {
            body: vec![b'f'; 6_000],
            piece: 200,
            pause: Duration::from_millis(50),
        },
    });
    let mut options = options(&server.url());
    options.read_timeout = Duration::from_secs(5);
    options.total_timeout = Duration::from_secs(1);
    options.min_rate = 1_000;
    let store: Arc<dyn Storage> = Arc::new(HttpStorage::new(options).unwrap());

    let started = Instant::now();
    let err = store.get("drip", GetOptions::default()).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(err.to_string().contains("total_timeout"), "{err}");
    assert!(took < Duration::from_secs(4), "{took:?}: {err}");
    // Not retried after the deadline: one request.
    assert_eq!(server.requests().len(), 1);

    let started = Instant::now();
    let mut stream = store.get_stream("drip").await.unwrap();
    let mut sink = Vec::new();
    let err = stream.reader.read_to_end(&mut sink).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(err.to_string().contains("total_timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(sink.len() < 100, "{} bytes", sink.len());

    let (data, _) = conformance::read(&store, "fast").await;
    assert_eq!(data, vec![b'f'; 6_000]);
    let mut stream = store.get_stream("fast").await.unwrap();
    let mut sink = Vec::new();
    stream.reader.read_to_end(&mut sink).await.unwrap();
    assert_eq!(sink.len(), 6_000);
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
    forbidden_can_be_taken_as_missing().await;
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

/// With forbidden_as_missing a 403 is NotFound (S3 without ListBucket,
/// CloudFront with OAC); a 401 stays an access error.
async fn forbidden_can_be_taken_as_missing() {
    let server = ScriptServer::start(|head| match head.path() {
        "/k403" => Reply::status(403, b"AccessDenied"),
        _ => Reply::status(401, b""),
    });
    let mut options = options(&server.url());
    options.forbidden_as_missing = true;
    let store: Arc<dyn Storage> = Arc::new(HttpStorage::new(options).unwrap());
    // The same through a storage URI (what Source::open takes).
    let by_uri = storage::open(&format!("{}?forbidden-as-missing=true", server.url())).unwrap();
    assert_eq!(by_uri.to_string(), server.url());
    for store in [store, by_uri] {
        for (key, kind) in [("k403", ErrorKind::NotFound), ("k401", ErrorKind::Storage)] {
            for result in [
                store.get(key, GetOptions::default()).await.map(drop),
                store.head(key).await.map(drop),
                store.get_stream(key).await.map(drop),
            ] {
                let err = conformance::expect_error(&store, result, kind, key, "forbidden");
                assert!(err.to_string().contains("access denied"), "{err}");
            }
        }
    }
    // Without the option the same 403 is an access error.
    let strict = storage::open(&server.url()).unwrap();
    let result = strict.get("k403", GetOptions::default()).await.map(drop);
    conformance::expect_error(&strict, result, ErrorKind::Storage, "k403", "strict");
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

/// HTTPS with a private CA (made by openssl at test time): refused without
/// the CA, read with it (as PEM bytes or a file); a redirect from https to
/// http is refused and nothing is asked of the http server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_and_no_downgrade_by_redirect() {
    let plain = ScriptServer::start(|_| Reply::status(200, b"over plain http"));
    let plain_url = plain.url();
    let backend = ScriptServer::start(move |head| match head.path() {
        "/repo/dists/stable/InRelease" => Reply::status(200, b"over https"),
        "/repo/moved" => Reply::redirect(302, &format!("{plain_url}/repo/moved")),
        "/repo/same-origin" => Reply::redirect(301, "/repo/dists/stable/InRelease"),
        _ => Reply::status(404, b""),
    });
    let ca = TestCa::new();
    let front = TlsFront::start(&ca, backend.port());
    let url = format!("{}/repo", front.url());
    let key = "dists/stable/InRelease";

    // The platform's roots only (the test CA is not among them): refused.
    let mut untrusted = options(&url);
    untrusted.max_attempts = 1;
    let store: Arc<dyn Storage> = Arc::new(HttpStorage::new(untrusted.clone()).unwrap());
    let err = store.get(key, GetOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert!(backend.requests().is_empty(), "nothing went through");

    // The CA as PEM bytes, then as a file.
    let mut trusted = untrusted.clone();
    trusted.native_roots = false;
    trusted.ca_certificates.push(ca.ca_pem.clone());
    let mut from_file = untrusted;
    from_file.native_roots = false;
    from_file
        .add_ca_file(ca.dir.path().join("ca.pem"))
        .expect("the CA file");
    for options in [trusted, from_file] {
        let store: Arc<dyn Storage> = Arc::new(HttpStorage::new(options).unwrap());
        let (data, _) = conformance::read(&store, key).await;
        assert_eq!(data, b"over https");
        let (data, _) = conformance::read(&store, "same-origin").await;
        assert_eq!(data, b"over https", "an https redirect is followed");
        let err = store.get("moved", GetOptions::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        assert!(err.to_string().contains("https to http"), "{err}");
    }
    assert!(
        plain.requests().is_empty(),
        "the http server was never asked"
    );

    // The server certificate itself is no CA.
    let mut wrong = options(&url);
    wrong.native_roots = false;
    wrong.max_attempts = 1;
    wrong.ca_certificates.push(ca.cert_pem.clone());
    let store: Arc<dyn Storage> = Arc::new(HttpStorage::new(wrong).unwrap());
    let err = store.head(key).await.unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}
