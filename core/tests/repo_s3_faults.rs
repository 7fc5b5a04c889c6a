//! The S3 backend and the publisher under injected network faults: a seeded
//! loopback proxy (`support/fault_proxy.rs`) between the SDK and moto answers a
//! fraction of requests with 500 InternalError or 503 SlowDown, resets the
//! connection before or after forwarding, or truncates the response body.
//!
//! - Storage level, per fault kind and mixed (30% of requests): every put, get,
//!   conditional get, get_stream, head, delete and list either succeeds with the
//!   right content and metadata, or fails with [`ErrorKind::Storage`] naming the
//!   store and the key, and only once its attempts are spent; a truncated body
//!   never passes as a short object. The proxy's counters, taken between calls,
//!   attribute faults to calls: retries happened and rescued calls.
//! - A conditional put whose first answer was lost meets its own success as a
//!   412 on the retry: that is a success (with the right ETag), also when it is
//!   the store's probe of conditional writes or a multipart completion; a real
//!   concurrent writer's 412 stays [`ErrorKind::ConcurrentUpdate`].
//! - Repository level: publish, promote and remove through the faulty proxy,
//!   with retries, with few retries, cut off at each kind of request, and three
//!   publishers at once; after each call, read directly from moto, the suite
//!   lists only whole packages of the snapshot before or after the call, the
//!   real `apt-get` reads it over HTTP, and it verifies (but for plain-path
//!   files after a failure that followed the commit); rerunning a failed call
//!   completes it (a rerun remove that finds nothing left to remove still
//!   repairs the plain-path files). Run with `--nocapture` for the fault counts
//!   and outcomes.
//!
//! Each test's store has a region name of its own ([`isolated_region`]).

#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use debpull::checksum::{self, Algorithm, Algorithms};
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{
    ETag, GetOptions, GetResult, ObjectMeta, Payload, PutMode, S3Options, S3Storage, Storage,
};
use debpull::{Error, ErrorKind, Version};
use fault_proxy::{Fault, FaultProxy, Faults, Stats};
use moto::Moto;
use private_apt::PrivateApt;
use tokio::io::AsyncReadExt as _;

/// Attempts per request: the SDK's retries, and the backend's own for bodies.
const ATTEMPTS: u32 = 4;
/// The fraction of requests that get a fault.
const RATE: f64 = 0.3;

/// A region name of its own for `test`. The SDK gives every client of one
/// region a shared, process-wide retry quota (500 tokens, 5 or 10 per retry):
/// a test that spends it would leave the next without retries. moto serves
/// every region from one store, so the name changes nothing else.
fn isolated_region(test: &str) -> String {
    format!("us-{test}-1")
}

/// A fresh bucket on the shared moto, reached through a fault proxy
/// (`faulty`, where faults are injected) and directly (`direct`, the truth).
struct Rig {
    proxy: FaultProxy,
    bucket: String,
    faulty: Arc<dyn Storage>,
    direct: Arc<dyn Storage>,
}

impl Rig {
    fn new(test: &str, seed: u64, configure: impl FnOnce(&mut S3Options)) -> Rig {
        let moto = Moto::shared();
        let bucket = moto.create_bucket(test);
        let proxy = FaultProxy::start(&moto.endpoint(), seed);
        let mut options = backends::s3_options(moto, &bucket, moto.credentials());
        options.endpoint = Some(proxy.endpoint());
        options.region = Some(isolated_region(test));
        options.max_attempts = ATTEMPTS;
        options.initial_backoff = Duration::from_millis(2);
        configure(&mut options);
        let faulty = Arc::new(S3Storage::new(options).unwrap());
        let direct = Arc::new(
            S3Storage::new(backends::s3_options(moto, &bucket, moto.credentials())).unwrap(),
        );
        Rig {
            proxy,
            bucket,
            faulty,
            direct,
        }
    }

    /// Makes the store's first conditional put, faults off, so that its probe of
    /// conditional writes is done and the next requests are the test's own.
    async fn probe_first(&self) {
        let key = "probed";
        self.faulty
            .put(key, Payload::Bytes(Vec::new()), PutMode::Create)
            .await
            .unwrap();
        self.direct.delete(key).await.unwrap();
        self.proxy.reset_stats();
    }

    /// Every key in the bucket, read directly.
    async fn all_keys(&self) -> Vec<String> {
        let entries = self.direct.list("").await.unwrap();
        entries.into_iter().map(|e| e.key).collect()
    }

    /// What the bucket holds at `key`, read directly: content and ETag.
    async fn stored(&self, key: &str) -> Option<(Vec<u8>, ETag)> {
        match self.direct.get(key, GetOptions::default()).await {
            Ok(GetResult::Found { data, meta }) => Some((data, meta.etag)),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            other => panic!("direct get {key}: {other:?}"),
        }
    }

    /// A failure must be a storage error naming the store and what was asked.
    fn assert_clear(&self, error: &Error, call: &str, key: &str) {
        assert_eq!(error.kind(), ErrorKind::Storage, "{call} {key}: {error:?}");
        let message = error.message();
        assert!(
            message.contains(&format!("s3://{}", self.bucket)) && message.contains(key),
            "{call} {key}: the message names neither the store nor the key: {message}"
        );
    }
}

/// Deterministic pseudo-random bytes, different for each seed.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// One storage call: what it was, the faults and requests it met, how it ended.
#[derive(Debug)]
struct Call {
    op: &'static str,
    key: String,
    faults: u64,
    requests: u64,
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The right answer (content, metadata, or NotFound for what is not there).
    Right,
    /// A clear error, with its message.
    Failed(String),
    /// get_stream answered, then reading the body failed (the reader's error).
    StreamBroken(String),
}

/// The calls of one run, with the proxy's counters split between them (the
/// calls run one after the other).
struct Ledger<'a> {
    proxy: &'a FaultProxy,
    mark: Stats,
    calls: Vec<Call>,
}

impl<'a> Ledger<'a> {
    fn new(proxy: &'a FaultProxy) -> Ledger<'a> {
        Ledger {
            proxy,
            mark: proxy.stats(),
            calls: Vec::new(),
        }
    }

    /// Records a call that ended now; the next one starts counting here.
    fn record(&mut self, op: &'static str, key: &str, outcome: Outcome) {
        let now = self.proxy.stats();
        self.calls.push(Call {
            op,
            key: key.to_owned(),
            faults: now.total_faults() - self.mark.total_faults(),
            requests: now.total_requests() - self.mark.total_requests(),
            outcome,
        });
        self.mark = now;
    }

    /// Calls of `op` (all: `None`) that ended as `outcome` says.
    fn count(&self, op: Option<&str>, outcome: fn(&Outcome) -> bool) -> usize {
        self.calls
            .iter()
            .filter(|c| op.is_none_or(|op| c.op == op) && outcome(&c.outcome))
            .count()
    }

    /// Calls of `op` that met at least one fault and still gave the right answer.
    fn rescued(&self, op: Option<&str>) -> usize {
        self.calls
            .iter()
            .filter(|c| op.is_none_or(|op| c.op == op))
            .filter(|c| c.outcome == Outcome::Right && c.faults > 0)
            .count()
    }

    fn summary(&self, label: &str) -> String {
        let stats = self.proxy.stats();
        let mut text = format!(
            "{label}: {} calls in {} requests, faults {:?}\n",
            self.calls.len(),
            stats.total_requests(),
            stats.faults
        );
        for op in OPS {
            writeln!(
                text,
                "  {op:<15} {:>3} calls: {:>3} right ({:>2} after faults), {} failed, {} broken \
                 streams",
                self.count(Some(op), |_| true),
                self.count(Some(op), |o| *o == Outcome::Right),
                self.rescued(Some(op)),
                self.count(Some(op), |o| matches!(o, Outcome::Failed(_))),
                self.count(Some(op), |o| matches!(o, Outcome::StreamBroken(_))),
            )
            .unwrap();
        }
        for call in self.calls.iter().filter(|c| c.outcome != Outcome::Right) {
            writeln!(
                text,
                "  {:?} after {} faults in {} requests: {} {}",
                call.outcome, call.faults, call.requests, call.op, call.key
            )
            .unwrap();
        }
        text
    }
}

/// The storage calls the workload makes.
const OPS: [&str; 8] = [
    "create",
    "update",
    "get",
    "conditional get",
    "get_stream",
    "head",
    "delete",
    "list",
];

/// The message of a failed write, noting when the write happened nonetheless
/// (its answer was lost): then the message must not say it was never sent.
fn written_anyway(error: &Error, written: bool) -> String {
    if written {
        assert!(
            !error.message().contains("not be sent"),
            "written, yet: {error}"
        );
        format!("[written nonetheless] {error}")
    } else {
        error.to_string()
    }
}

fn assert_meta(meta: &ObjectMeta, key: &str, size: usize, etag: &ETag) {
    assert_eq!(
        (meta.key.as_str(), meta.size, &meta.etag),
        (key, size as u64, etag),
        "metadata of {key}"
    );
}

/// Puts, updates, reads and deletes a dozen objects through `rig`'s proxy,
/// checking every answer against what the bucket really holds; returns the
/// ledger of the calls.
async fn storage_workload<'a>(rig: &'a Rig, dir: &Path) -> Ledger<'a> {
    let keys: Vec<String> = (0..12)
        .map(|i| match i % 3 {
            0 => format!("pool/main/a/app{i}/app{i}_1.0+b{i}~rc1_amd64.deb"),
            1 => format!("dists/s{i}/main/binary-amd64/by-hash/SHA256/{i:064x}"),
            _ => format!("dists/s{i}/InRelease"),
        })
        .collect();
    let sizes = [
        1, 2, 100, 1000, 4096, 10_000, 65_536, 100_000, 250_000, 7, 31_337, 400_000,
    ];
    let mut ledger = Ledger::new(&rig.proxy);
    let mut truth: BTreeMap<String, (Vec<u8>, ETag)> = BTreeMap::new();

    for (i, key) in keys.iter().enumerate() {
        let data = pattern(sizes[i], i as u64 + 1);
        let payload = if i % 2 == 0 {
            Payload::Bytes(data.clone())
        } else {
            let path = dir.join(format!("object-{i}"));
            std::fs::write(&path, &data).unwrap();
            Payload::File(path)
        };
        let result = rig.faulty.put(key, payload, PutMode::Create).await;
        let stored = rig.stored(key).await;
        let outcome = match &result {
            Ok(meta) => {
                let (content, etag) = stored.clone().expect("a put that succeeded stored nothing");
                assert!(content == data, "put {key}: other content stored");
                assert_meta(meta, key, data.len(), &etag);
                Outcome::Right
            }
            // Only this store writes: a failed condition can only be its own write.
            Err(e) => {
                rig.assert_clear(e, "put (create)", key);
                if let Some((content, _)) = &stored {
                    assert!(*content == data, "failed put {key}: other content stored");
                }
                Outcome::Failed(written_anyway(e, stored.is_some()))
            }
        };
        ledger.record("create", key, outcome);
        if let Some(object) = stored {
            truth.insert(key.clone(), object);
        }
    }

    for (i, key) in keys.iter().enumerate() {
        let Some((old, old_etag)) = truth.get(key).cloned() else {
            continue;
        };
        let data = pattern(sizes[i] + 3, i as u64 + 100);
        let result = rig
            .faulty
            .put(
                key,
                Payload::Bytes(data.clone()),
                PutMode::Update(old_etag.clone()),
            )
            .await;
        let (content, etag) = rig.stored(key).await.expect("an updated object vanished");
        let outcome = match &result {
            Ok(meta) => {
                assert!(content == data, "update {key}: other content stored");
                assert_ne!(etag, old_etag, "update {key}: the ETag did not change");
                assert_meta(meta, key, data.len(), &etag);
                Outcome::Right
            }
            Err(e) => {
                rig.assert_clear(e, "put (update)", key);
                assert!(
                    (content == old && etag == old_etag) || content == data,
                    "failed update {key}: neither the old nor the new content is stored"
                );
                Outcome::Failed(written_anyway(e, content == data))
            }
        };
        ledger.record("update", key, outcome);
        truth.insert(key.clone(), (content, etag));
    }

    for key in &keys {
        let expected = truth.get(key);
        let outcome = match (rig.faulty.get(key, GetOptions::default()).await, expected) {
            (Ok(GetResult::Found { data, meta }), Some((content, etag))) => {
                assert!(
                    data == *content,
                    "get {key}: {} bytes returned as the object, which has {}",
                    data.len(),
                    content.len()
                );
                assert_meta(&meta, key, content.len(), etag);
                Outcome::Right
            }
            (Err(e), None) if e.kind() == ErrorKind::NotFound => Outcome::Right,
            (Err(e), _) => {
                rig.assert_clear(&e, "get", key);
                Outcome::Failed(e.to_string())
            }
            (other, _) => panic!("get {key}: {other:?}, expected {}", expected.is_some()),
        };
        ledger.record("get", key, outcome);

        if let Some((_, etag)) = expected {
            let options = GetOptions {
                if_none_match: Some(etag.clone()),
                ..GetOptions::default()
            };
            let outcome = match rig.faulty.get(key, options).await {
                Ok(GetResult::NotModified) => Outcome::Right,
                Err(e) => {
                    rig.assert_clear(&e, "conditional get", key);
                    Outcome::Failed(e.to_string())
                }
                Ok(other) => panic!("conditional get {key} of an unchanged object: {other:?}"),
            };
            ledger.record("conditional get", key, outcome);
        }

        let outcome = match (rig.faulty.get_stream(key).await, expected) {
            (Ok(mut stream), Some((content, _))) => {
                assert_eq!(stream.size, content.len() as u64, "get_stream {key}: size");
                let mut data = Vec::new();
                match stream.reader.read_to_end(&mut data).await {
                    Ok(_) => {
                        assert!(
                            data == *content,
                            "get_stream {key}: {} bytes streamed as the object, which has {}",
                            data.len(),
                            content.len()
                        );
                        Outcome::Right
                    }
                    Err(e) => Outcome::StreamBroken(e.to_string()),
                }
            }
            (Err(e), None) if e.kind() == ErrorKind::NotFound => Outcome::Right,
            (Err(e), _) => {
                rig.assert_clear(&e, "get_stream", key);
                Outcome::Failed(e.to_string())
            }
            (Ok(stream), None) => panic!("get_stream {key}: {stream:?} for a missing object"),
        };
        ledger.record("get_stream", key, outcome);

        let outcome = match (rig.faulty.head(key).await, expected) {
            (Ok(meta), Some((content, etag))) => {
                assert_meta(&meta, key, content.len(), etag);
                Outcome::Right
            }
            (Err(e), None) if e.kind() == ErrorKind::NotFound => Outcome::Right,
            (Err(e), _) => {
                rig.assert_clear(&e, "head", key);
                Outcome::Failed(e.to_string())
            }
            (other, _) => panic!("head {key}: {other:?}"),
        };
        ledger.record("head", key, outcome);
    }

    // Every fourth object, and one that was never there.
    for key in keys
        .iter()
        .step_by(4)
        .chain([&"pool/never/written.deb".to_owned()])
    {
        let result = rig.faulty.delete(key).await;
        let stored = rig.stored(key).await;
        let outcome = match result {
            Ok(()) => {
                assert!(
                    stored.is_none(),
                    "delete {key} succeeded, the object is still there"
                );
                Outcome::Right
            }
            Err(e) => {
                rig.assert_clear(&e, "delete", key);
                Outcome::Failed(e.to_string())
            }
        };
        ledger.record("delete", key, outcome);
        if stored.is_none() {
            truth.remove(key);
        }
    }

    for prefix in ["pool/", "dists/", "dists/s1", "pool/main/a/app9/"] {
        let outcome = match rig.faulty.list(prefix).await {
            Ok(entries) => {
                let listed: Vec<(String, u64)> =
                    entries.into_iter().map(|e| (e.key, e.size)).collect();
                let expected: Vec<(String, u64)> = truth
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, (data, _))| (k.clone(), data.len() as u64))
                    .collect();
                assert_eq!(listed, expected, "list {prefix}");
                Outcome::Right
            }
            Err(e) => {
                rig.assert_clear(&e, "list", prefix);
                Outcome::Failed(e.to_string())
            }
        };
        ledger.record("list", prefix, outcome);
    }
    ledger
}

/// Runs the storage workload with `kinds` of faults on a fresh bucket and
/// checks the ledger: nothing failed without a fault, nothing gave up before
/// its attempts were spent, retries happened and rescued calls.
async fn storage_under(test: &str, kinds: &[Fault], seed: u64, check: fn(&Ledger)) {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new(test, seed, |_| {});
    rig.proxy.set_faults(Faults::new(RATE, kinds));
    let ledger = storage_workload(&rig, dir.path()).await;
    let stats = rig.proxy.stats();
    let summary = ledger.summary(test);
    println!("{summary}");
    for call in &ledger.calls {
        match &call.outcome {
            Outcome::Right => {}
            // A stream is not retried: one fault breaks it.
            Outcome::StreamBroken(_) => assert!(call.faults > 0, "{call:?}"),
            Outcome::Failed(_) => assert!(
                call.faults >= u64::from(ATTEMPTS),
                "{test}: {} {} gave up after {} faults: {call:?}",
                call.op,
                call.key,
                call.faults
            ),
        }
    }
    for kind in kinds {
        assert!(stats.faults_of(*kind) > 0, "{test}: no {kind:?} injected");
    }
    assert!(
        stats.total_requests() > ledger.calls.len() as u64,
        "{test}: no call was retried: {stats:?}"
    );
    let calls = ledger.calls.len();
    let right = ledger.count(None, |o| *o == Outcome::Right);
    assert!(ledger.rescued(None) > 0, "{summary}");
    assert!(right > calls * 9 / 10, "{summary}");
    check(&ledger);
}

fn no_more_checks(_: &Ledger) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_calls_under_internal_errors() {
    storage_under("internal-error", &[Fault::InternalError], 1, no_more_checks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_calls_under_slow_down() {
    storage_under("slow-down", &[Fault::SlowDown], 2, no_more_checks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_calls_under_resets_before_forwarding() {
    storage_under(
        "reset-before",
        &[Fault::ResetBeforeForward],
        3,
        no_more_checks,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_calls_under_resets_after_forwarding() {
    storage_under(
        "reset-after",
        &[Fault::ResetAfterForward],
        4,
        no_more_checks,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_calls_under_truncated_bodies() {
    // Truncated bodies reach only reads: get retries them itself, a stream
    // reports them to its reader as an error, never as a short object.
    storage_under("truncate", &[Fault::TruncateBody], 5, |ledger| {
        assert!(
            ledger.rescued(Some("get")) > 0,
            "{}",
            ledger.summary("truncate")
        );
        assert!(
            ledger.count(Some("get_stream"), |o| matches!(
                o,
                Outcome::StreamBroken(_)
            )) > 0,
            "{}",
            ledger.summary("truncate")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_calls_under_every_fault_at_once() {
    storage_under("mixed", &Fault::ALL, 6, no_more_checks).await;
}

// ------------------------------------------------ a 412 that is our own success

/// Faults on the next PUT only: its answer is lost (`kind`), once.
fn next_put(kind: Fault) -> Faults {
    Faults::new(1.0, &[kind]).methods(&["PUT"]).at_most(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_conditional_put_is_recognised_as_our_own_write() {
    let rig = Rig::new("own-412", 7, |_| {});
    rig.probe_first().await;
    let key = "dists/staging/InRelease";

    // Create: moto stores the object, the answer is lost, the SDK retries, moto
    // answers 412 (something is there): ours, so a success.
    rig.proxy.set_faults(next_put(Fault::ResetAfterForward));
    let created = rig
        .faulty
        .put(key, Payload::Bytes(b"first".to_vec()), PutMode::Create)
        .await
        .unwrap_or_else(|e| panic!("create whose answer was lost: {e:?}"));
    let (content, etag) = rig.stored(key).await.unwrap();
    assert_eq!(content, b"first");
    assert_meta(&created, key, 5, &etag);
    let stats = rig.proxy.stats();
    assert_eq!(stats.faults_of(Fault::ResetAfterForward), 1, "{stats:?}");
    assert_eq!(stats.requests_of("PUT"), 2, "one retry: {stats:?}");
    assert_eq!(stats.statuses.get(&412), Some(&1), "the retry met a 412");
    assert_eq!(
        stats.forwarded, 3,
        "2 PUTs and the HEAD that checks the marker"
    );

    // Update (If-Match): the same, and the ETag is the new object's.
    rig.proxy.reset_stats();
    rig.proxy.set_faults(next_put(Fault::ResetAfterForward));
    let updated = rig
        .faulty
        .put(
            key,
            Payload::Bytes(b"second".to_vec()),
            PutMode::Update(etag.clone()),
        )
        .await
        .unwrap_or_else(|e| panic!("update whose answer was lost: {e:?}"));
    let (content, new_etag) = rig.stored(key).await.unwrap();
    assert_eq!(content, b"second");
    assert_ne!(new_etag, etag);
    assert_meta(&updated, key, 6, &new_etag);
    let stats = rig.proxy.stats();
    assert_eq!(stats.requests_of("PUT"), 2, "{stats:?}");
    assert_eq!(stats.statuses.get(&412), Some(&1), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_write_in_flight_409_is_retried_then_reported() {
    // S3 answers 409 ConditionalRequestConflict while another conditional write
    // to the key is in flight, and asks to retry; the SDK does not retry it.
    let rig = Rig::new("conflict-409", 9, |_| {});
    rig.probe_first().await;
    let key = "pool/main/a/app/app_1.0_amd64.deb";
    let conflict = |n| {
        Faults::new(1.0, &[Fault::ConditionalConflict])
            .methods(&["PUT"])
            .at_most(n)
    };
    rig.proxy.set_faults(conflict(2));
    let created = rig
        .faulty
        .put(key, Payload::Bytes(b"deb".to_vec()), PutMode::Create)
        .await
        .unwrap_or_else(|e| panic!("two 409s, then the write: {e:?}"));
    let (content, etag) = rig.stored(key).await.unwrap();
    assert_eq!(content, b"deb");
    assert_meta(&created, key, 3, &etag);
    let stats = rig.proxy.stats();
    assert_eq!(stats.faults_of(Fault::ConditionalConflict), 2, "{stats:?}");
    assert_eq!(stats.requests_of("PUT"), 3, "{stats:?}");

    // Conflicts that do not end within the attempts: a concurrent update,
    // saying why, and nothing written.
    rig.proxy.reset_stats();
    rig.proxy.set_faults(conflict(1_000));
    let err = rig
        .faulty
        .put(
            key,
            Payload::Bytes(b"other".to_vec()),
            PutMode::Update(etag.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConcurrentUpdate, "{err}");
    assert!(err.to_string().contains("in flight"), "{err}");
    let stats = rig.proxy.stats();
    assert_eq!(stats.requests_of("PUT"), u64::from(ATTEMPTS), "{stats:?}");
    assert_eq!(rig.stored(key).await.unwrap(), (b"deb".to_vec(), etag));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_concurrent_writer_stays_a_concurrent_update_after_retries() {
    let rig = Rig::new("other-412", 8, |_| {});
    rig.probe_first().await;
    let key = "dists/staging/InRelease";
    let theirs = rig
        .direct
        .put(key, Payload::Bytes(b"theirs".to_vec()), PutMode::Create)
        .await
        .unwrap();

    for kind in [Fault::ResetBeforeForward, Fault::ResetAfterForward] {
        // The first attempt is lost (before or after moto refused it), the retry
        // meets the other writer's object: a 412 on a retry that is not ours.
        rig.proxy.reset_stats();
        rig.proxy.set_faults(next_put(kind));
        let error = rig
            .faulty
            .put(key, Payload::Bytes(b"ours".to_vec()), PutMode::Create)
            .await
            .expect_err("create over another writer's object");
        assert_eq!(
            error.kind(),
            ErrorKind::ConcurrentUpdate,
            "{kind:?}: {error:?}"
        );
        assert!(
            error.message().contains(&format!("s3://{}", rig.bucket))
                && error.message().contains(key),
            "{error}"
        );
        let stats = rig.proxy.stats();
        assert_eq!(stats.requests_of("PUT"), 2, "{kind:?}: one retry");
        assert_eq!(stats.requests_of("HEAD"), 1, "{kind:?}: the marker checked");

        rig.proxy.reset_stats();
        rig.proxy.set_faults(next_put(kind));
        let error = rig
            .faulty
            .put(
                key,
                Payload::Bytes(b"ours".to_vec()),
                PutMode::Update(ETag("\"0123456789abcdef0123456789abcdef\"".to_owned())),
            )
            .await
            .expect_err("update with an ETag another writer replaced");
        assert_eq!(
            error.kind(),
            ErrorKind::ConcurrentUpdate,
            "{kind:?}: {error:?}"
        );
        assert_eq!(
            rig.proxy.stats().requests_of("PUT"),
            2,
            "{kind:?}: one retry"
        );
        assert_eq!(
            rig.stored(key).await.unwrap(),
            (b"theirs".to_vec(), theirs.etag.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_completing_a_multipart_upload_is_our_own_write() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new("own-multipart", 9, |options| {
        options.multipart_threshold = 5 << 20;
        options.part_size = 5 << 20;
    });
    rig.probe_first().await;
    let data = pattern((5 << 20) + 1234, 42);
    let path = dir.path().join("big.deb");
    std::fs::write(&path, &data).unwrap();
    let key = "pool/main/b/big/big_1.0_amd64.deb";
    // CompleteMultipartUpload is the POST with an uploadId.
    rig.proxy.set_faults(
        Faults::new(1.0, &[Fault::ResetAfterForward])
            .methods(&["POST"])
            .path_contains("uploadId=")
            .at_most(1),
    );
    let result = rig
        .faulty
        .put(key, Payload::File(path.clone()), PutMode::Create)
        .await;
    let stats = rig.proxy.stats();
    assert_eq!(stats.faults_of(Fault::ResetAfterForward), 1, "{stats:?}");
    let (content, etag) = rig.stored(key).await.expect("the upload was completed");
    assert!(content == data);
    let meta = result.unwrap_or_else(|e| panic!("a completed upload whose answer was lost: {e:?}"));
    assert_meta(&meta, key, data.len(), &etag);
    // Whether the key is free (and, once per store, the bucket), starting the
    // upload, two parts, then completing it twice: moto answers a repeated
    // completion of the same upload with its result (a 412 or NoSuchUpload
    // instead would be checked against the marker).
    assert_eq!(stats.requests_of("HEAD"), 2, "{stats:?}");
    assert_eq!(stats.requests_of("PUT"), 2, "{stats:?}");
    assert_eq!(stats.requests_of("POST"), 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_while_probing_conditional_writes_is_no_conflict() {
    let rig = Rig::new("probe-lost", 10, |_| {});
    let key = "pool/main/a/app/app_1.0_amd64.deb";
    // The first conditional put of a store first probes that the store honours
    // conditional writes, on an object of its own: its first write's answer is lost.
    rig.proxy.set_faults(next_put(Fault::ResetAfterForward));
    let meta = rig
        .faulty
        .put(key, Payload::Bytes(b"deb".to_vec()), PutMode::Create)
        .await
        .unwrap_or_else(|e| panic!("a put whose probe lost an answer: {e:?}"));
    assert_eq!(rig.proxy.stats().faults_of(Fault::ResetAfterForward), 1);
    let (content, etag) = rig.stored(key).await.unwrap();
    assert_eq!(content, b"deb");
    assert_meta(&meta, key, 3, &etag);
    assert_eq!(
        rig.all_keys().await,
        [".debpull-probe", key],
        "the probe object stays, once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_of_conditional_writes_that_fails_is_a_storage_error_and_is_tried_again() {
    let rig = Rig::new("probe-fails", 11, |_| {});
    let key = "dists/staging/InRelease";
    rig.proxy
        .set_faults(Faults::new(1.0, &[Fault::InternalError]).path_contains(".debpull-probe"));
    let error = rig
        .faulty
        .put(key, Payload::Bytes(b"x".to_vec()), PutMode::Create)
        .await
        .expect_err("a put whose probe cannot write");
    // Not Unsupported: nothing was learnt about the store.
    rig.assert_clear(&error, "put", key);
    assert!(error.message().contains("conditional writes"), "{error}");
    assert!(rig.stored(key).await.is_none());
    rig.proxy.clear_faults();
    rig.faulty
        .put(key, Payload::Bytes(b"x".to_vec()), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(
        rig.all_keys().await,
        [".debpull-probe", key],
        "one probe object"
    );
}

// ------------------------------------------------------------- the repository

/// A package in a suite: name, version, architecture.
type Entry = (String, String, String);
/// What each suite holds.
type Model = BTreeMap<String, BTreeSet<Entry>>;

/// One repository call of the scenario.
#[derive(Debug, Clone)]
enum Step {
    Publish(
        &'static str,
        Vec<(&'static str, &'static str, &'static str)>,
    ),
    Promote(&'static str, &'static str, &'static str, &'static str),
    Remove(&'static str, &'static str, Option<&'static str>),
}

impl Step {
    /// The suite the call changes.
    fn suite(&self) -> &'static str {
        match self {
            Step::Publish(suite, _) | Step::Remove(suite, _, _) => suite,
            Step::Promote(_, _, _, to) => to,
        }
    }

    /// The model after the call.
    fn apply(&self, model: &Model) -> Model {
        let mut next = model.clone();
        match self {
            Step::Publish(suite, debs) => {
                let entries = next.entry(suite.to_string()).or_default();
                for (name, version, arch) in debs {
                    entries.insert((name.to_string(), version.to_string(), arch.to_string()));
                }
            }
            Step::Promote(name, version, from, to) => {
                let copied: Vec<Entry> = model[*from]
                    .iter()
                    .filter(|(n, v, _)| n == name && v == version)
                    .cloned()
                    .collect();
                let target = next.entry(to.to_string()).or_default();
                target.extend(copied);
                // (The scenario promotes no older version: that is refused
                // without a rollback.)
            }
            Step::Remove(suite, name, version) => {
                next.get_mut(*suite)
                    .unwrap()
                    .retain(|(n, v, _)| !(n == name && version.is_none_or(|version| v == version)));
            }
        }
        next
    }

    async fn run(&self, repo: &Repository, dir: &Path) -> Result<(), Error> {
        match self {
            Step::Publish(suite, debs) => {
                let paths: Vec<PathBuf> = debs
                    .iter()
                    .map(|(name, version, arch)| deb_path(dir, name, version, arch))
                    .collect();
                repo.publish(suite, "main", &paths, Replace::Never, &|_| {})
                    .await
                    .map(drop)
            }
            Step::Promote(name, version, from, to) => repo
                .promote(name, &Version::parse(version).unwrap(), from, to)
                .await
                .map(drop),
            Step::Remove(suite, name, version) => {
                let version = version.map(|v| Version::parse(v).unwrap());
                repo.remove(suite, name, version.as_ref()).await.map(drop)
            }
        }
    }
}

fn deb_path(dir: &Path, name: &str, version: &str, arch: &str) -> PathBuf {
    let path = dir.join(format!("{name}_{version}_{arch}.deb"));
    if !path.exists() {
        test_debs::build_deb(dir, name, version, arch, "");
    }
    path
}

/// A repository written through a faulty proxy and checked directly.
struct RepoRig {
    rig: Rig,
    dir: tempfile::TempDir,
    repo: Repository,
    checker: Repository,
    trusted: TrustedKeys,
    key_file: PathBuf,
    checks: std::cell::Cell<usize>,
}

impl RepoRig {
    fn new(test: &str, seed: u64, attempts: u32) -> RepoRig {
        let rig = Rig::new(test, seed, |options| {
            options.acl = Some("public-read".to_owned());
            options.max_attempts = attempts;
        });
        let dir = tempfile::tempdir().unwrap();
        let key =
            SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
        let public = key.public_key_armored().unwrap();
        let key_file = dir.path().join("repo-key.asc");
        std::fs::write(&key_file, &public).unwrap();
        let options = RepositoryOptions {
            wait_for_new_second: false,
            ..RepositoryOptions::default()
        };
        let repo = Repository::new(rig.faulty.clone(), key.clone(), options.clone()).unwrap();
        let checker = Repository::new(rig.direct.clone(), key, options).unwrap();
        RepoRig {
            rig,
            dir,
            repo,
            checker,
            trusted: TrustedKeys::from_bytes(public.as_bytes()).unwrap(),
            key_file,
            checks: std::cell::Cell::new(0),
        }
    }

    /// What `suite` lists, read directly; every listed pool file is whole.
    async fn listed(&self, suite: &str) -> BTreeSet<Entry> {
        let packages = match self.checker.list(suite).await {
            Ok(packages) => packages,
            Err(e) if e.kind() == ErrorKind::NotFound => return BTreeSet::new(),
            Err(e) => panic!("list {suite}: {e:?}"),
        };
        let mut entries = BTreeSet::new();
        for package in packages {
            let filename = package.filename().expect("a Filename");
            let (data, _) = self
                .rig
                .stored(filename)
                .await
                .unwrap_or_else(|| panic!("{suite} lists {filename}, which is missing"));
            let sha256 = checksum::of_bytes(&data, Algorithms::NONE.with(Algorithm::Sha256))
                .hex(Algorithm::Sha256);
            assert_eq!(
                (data.len() as u64, sha256),
                (package.size(), package.sha256_hex()),
                "{suite}: {filename} is not the file its entry describes"
            );
            entries.insert((
                package.name().to_owned(),
                package.version().to_string(),
                package.architecture().to_owned(),
            ));
        }
        entries
    }

    /// Whether `suite` has been published (its InRelease exists).
    async fn exists(&self, suite: &str) -> bool {
        let inrelease = format!("dists/{suite}/InRelease");
        self.rig.stored(&inrelease).await.is_some()
    }

    /// The real apt-get, anonymous over HTTP straight to moto: it takes the
    /// signed suite and offers the newest listed version of every package
    /// (a suite never published has nothing to read).
    async fn apt_reads(&self, suite: &str, entries: &BTreeSet<Entry>) {
        if !self.exists(suite).await {
            assert!(entries.is_empty(), "{suite}: no InRelease, yet {entries:?}");
            return;
        }
        self.checks.set(self.checks.get() + 1);
        let apt = PrivateApt::new(
            &self.dir.path().join(format!("apt-{}", self.checks.get())),
            &format!(
                "deb [signed-by={}] {} {suite} main",
                self.key_file.display(),
                Moto::shared().bucket_url(&self.rig.bucket)
            ),
        );
        apt.update()
            .unwrap_or_else(|out| panic!("apt-get update of {suite}:\n{out}"));
        let mut newest: BTreeMap<&str, Version> = BTreeMap::new();
        for (name, version, _) in entries {
            let version = Version::parse(version).unwrap();
            let slot = newest.entry(name).or_insert_with(|| version.clone());
            if version > *slot {
                *slot = version;
            }
        }
        for (name, version) in &newest {
            assert_eq!(
                apt.candidate(name).map(|v| Version::parse(&v).unwrap()),
                Some(version.clone()),
                "apt's candidate for {name} in {suite}"
            );
        }
        if !newest.is_empty() {
            let mut args = vec!["install", "-y", "--download-only"];
            args.extend(newest.keys());
            let out = apt.apt_get(&args);
            assert!(
                out.status.success(),
                "apt-get {args:?} in {suite}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Verification as a client would do it, read directly (a suite never
    /// published has nothing to verify).
    async fn verifies(&self, suite: &str, entries: &BTreeSet<Entry>) -> Result<(), Error> {
        if !self.exists(suite).await {
            assert!(entries.is_empty(), "{suite}: no InRelease, yet {entries:?}");
            return Ok(());
        }
        let report = self.checker.verify(suite, &self.trusted).await?;
        assert_eq!(report.packages, entries.len(), "{report:?}");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repository_survives_faults_through_retries() {
    repository_scenario("repo-retries", 2024, ATTEMPTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_leave_the_repository_whole_and_reruns_complete() {
    repository_scenario("repo-reruns", 2025, 3).await;
}

/// Publishes, promotes and removes through the faulty proxy, `attempts` per
/// request; checks the repository after every call and reruns failed calls.
async fn repository_scenario(test: &str, seed: u64, attempts: u32) {
    let rig = RepoRig::new(test, seed, attempts);
    let dir = rig.dir.path().to_owned();
    let scenario = [
        Step::Publish(
            "staging",
            vec![("app", "1.0-1", "amd64"), ("app-data", "1", "all")],
        ),
        Step::Publish("staging", vec![("app", "1.1-1", "amd64")]),
        Step::Promote("app", "1.1-1", "staging", "production"),
        Step::Publish(
            "staging",
            vec![
                ("app", "1.2-1", "amd64"),
                ("tool", "0.1", "amd64"),
                ("tool", "0.2", "amd64"),
            ],
        ),
        Step::Promote("app-data", "1", "staging", "production"),
        Step::Remove("staging", "app", Some("1.0-1")),
        Step::Publish(
            "staging",
            vec![("app", "2.0~rc1-1", "amd64"), ("app-data", "2", "all")],
        ),
        Step::Promote("app", "2.0~rc1-1", "staging", "production"),
        Step::Remove("production", "app", Some("1.1-1")),
        Step::Publish("staging", vec![("tool", "0.3", "amd64")]),
        Step::Promote("tool", "0.3", "staging", "production"),
        Step::Remove("staging", "tool", None),
    ];
    // The .debs are built before any fault.
    for step in &scenario {
        if let Step::Publish(_, debs) = step {
            for (name, version, arch) in debs {
                deb_path(&dir, name, version, arch);
            }
        }
    }

    let mut model = Model::new();
    let mut report = String::new();
    let mut failures = 0;
    rig.rig.proxy.set_faults(Faults::new(RATE, &Fault::ALL));
    for (number, step) in scenario.iter().enumerate() {
        let suite = step.suite();
        let before = model.get(suite).cloned().unwrap_or_default();
        let next = step.apply(&model);
        let after = next[suite].clone();
        let mark = rig.rig.proxy.stats();
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(
                tries <= 10,
                "step {number} {step:?}: still failing after 10 tries"
            );
            let result = step.run(&rig.repo, &dir).await;
            // Readers see the whole snapshot before or after the call, never a mix.
            let listed = rig.listed(suite).await;
            assert!(
                listed == before || listed == after,
                "step {number} {step:?} ({result:?}) left {listed:?}, neither {before:?} nor \
                 {after:?}"
            );
            rig.apt_reads(suite, &listed).await;
            let verified = rig.verifies(suite, &listed).await;
            let error = match result {
                Ok(()) => {
                    assert_eq!(listed, after, "step {number} {step:?} succeeded");
                    verified.unwrap_or_else(|e| panic!("step {number} {step:?}: verify: {e:?}"));
                    break;
                }
                // A rerun after a try whose change was committed finds nothing to
                // remove; it repaired the plain-path files that try left stale.
                Err(e) if e.kind() == ErrorKind::NotFound && tries > 1 && listed == after => {
                    verified.unwrap_or_else(|p| panic!("step {number} {step:?}: rerun: {p:?}"));
                    writeln!(report, "  step {number}: try {tries}: {e}").unwrap();
                    break;
                }
                Err(e) => e,
            };
            failures += 1;
            assert_eq!(error.kind(), ErrorKind::Storage, "step {number}: {error:?}");
            assert!(
                error
                    .message()
                    .contains(&format!("s3://{}", rig.rig.bucket)),
                "step {number}: the error does not name the store: {error}"
            );
            // Only a change committed before the failure may leave stale plain-path
            // files (apt and debpull read InRelease and by-hash indexes).
            match verified {
                Ok(()) => {}
                Err(problem) if listed == after => assert_plain_paths_only(&problem, suite),
                Err(problem) => panic!(
                    "step {number} {step:?} failed ({error}) without a change and the suite does \
                     not verify: {problem}"
                ),
            }
            let committed = if listed == after {
                "committed"
            } else {
                "not committed"
            };
            writeln!(
                report,
                "  step {number}: try {tries} failed, {committed}: {error}"
            )
            .unwrap();
        }
        model = next;
        let stats = rig.rig.proxy.stats();
        writeln!(
            report,
            "step {number} {step:?}: {tries} tries, {} requests, {} faults",
            stats.total_requests() - mark.total_requests(),
            stats.total_faults() - mark.total_faults()
        )
        .unwrap();
    }
    rig.rig.proxy.clear_faults();
    let stats = rig.rig.proxy.stats();
    println!(
        "{test}: {} calls, {failures} tries failed cleanly and were rerun; {} requests, faults \
         {:?}\n{report}",
        scenario.len(),
        stats.total_requests(),
        stats.faults
    );
    for kind in Fault::ALL {
        assert!(stats.faults_of(kind) > 0, "no {kind:?} injected: {stats:?}");
    }
    // What the error of a failure after the commit promises: the next publish
    // (here one that changes nothing) repairs the plain-path files.
    for suite in ["staging", "production"] {
        Step::Publish(suite, vec![("app", "2.0~rc1-1", "amd64")])
            .run(&rig.repo, &dir)
            .await
            .unwrap();
        let listed = rig.listed(suite).await;
        assert_eq!(listed, model[suite], "{suite} at the end");
        rig.verifies(suite, &listed)
            .await
            .unwrap_or_else(|e| panic!("{suite} at the end: {e:?}"));
    }
}

/// A verification failure that concerns only plain-path files of `suite`
/// (Release, Release.gpg, Packages*): no pool file, no by-hash index.
fn assert_plain_paths_only(problem: &Error, suite: &str) {
    let message = problem.message();
    assert!(
        problem.kind() == ErrorKind::Verification
            && message.contains(&format!("dists/{suite}/"))
            && !message.contains("pool/")
            && !message.contains("by-hash/"),
        "{problem:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_cut_off_at_any_kind_of_request_leaves_a_whole_repository() {
    // One attempt per request: the first fault ends the call where it strikes.
    let rig = RepoRig::new("repo-cut", 1, 1);
    let dir = rig.dir.path().to_owned();
    let publish = |version: &str| {
        let deb = deb_path(&dir, "app", version, "amd64");
        let repo = rig.repo.clone();
        async move {
            repo.publish("staging", "main", &[deb], Replace::Never, &|_| {})
                .await
        }
    };
    publish("1.0-1").await.unwrap();
    let mut model = rig.listed("staging").await;
    let cuts = [
        ("GET", "/InRelease"), // reading the suite
        ("GET", "/by-hash/"),  // reading its index
        ("PUT", "/pool/"),     // the new .deb
        ("PUT", "/by-hash/"),  // the new index
        ("PUT", "/InRelease"), // the commit
        ("PUT", "/Packages"),  // a plain-path index, after the commit
        ("PUT", "/Release"),   // Release, after the commit
    ];
    let mut report = String::new();
    let mut n = 0;
    for (method, path) in cuts {
        // Not carried out, or carried out with the answer lost.
        for kind in [Fault::InternalError, Fault::ResetAfterForward] {
            n += 1;
            let version = format!("1.{n}-1");
            let after: BTreeSet<Entry> = model
                .iter()
                .cloned()
                .chain([("app".into(), version.clone(), "amd64".into())])
                .collect();
            let faults = rig.rig.proxy.stats().faults_of(kind);
            rig.rig.proxy.set_faults(
                Faults::new(1.0, &[kind])
                    .methods(&[method])
                    .path_contains(path)
                    .at_most(1),
            );
            let result = publish(&version).await;
            rig.rig.proxy.clear_faults();
            let cut = format!("{method} {path} {kind:?}");
            assert_eq!(
                rig.rig.proxy.stats().faults_of(kind),
                faults + 1,
                "{cut}: the publish never made that request"
            );
            let listed = rig.listed("staging").await;
            assert!(
                listed == model || listed == after,
                "{cut}: ({result:?}) left {listed:?}"
            );
            rig.apt_reads("staging", &listed).await;
            let verified = rig.verifies("staging", &listed).await;
            let committed = if listed == after {
                "committed"
            } else {
                "not committed"
            };
            match result {
                Ok(_) => {
                    assert_eq!(listed, after, "{cut}: succeeded");
                    verified.unwrap_or_else(|e| panic!("{cut}: verify: {e:?}"));
                    writeln!(report, "  {cut:<40} succeeded nonetheless").unwrap();
                }
                Err(error) => {
                    assert_eq!(error.kind(), ErrorKind::Storage, "{cut}: {error:?}");
                    assert!(
                        error
                            .message()
                            .contains(&format!("s3://{}", rig.rig.bucket)),
                        "{cut}: {error}"
                    );
                    // The message tells what the cut did: a 500, or no answer
                    // to a request that was sent (and, for a PUT, carried out).
                    let told = match kind {
                        Fault::InternalError => "InternalError (HTTP 500)",
                        _ => "before an answer",
                    };
                    assert!(error.message().contains(told), "{cut}: {error}");
                    match verified {
                        Ok(()) => {}
                        Err(problem) if listed == after => {
                            assert_plain_paths_only(&problem, "staging")
                        }
                        Err(problem) => panic!("{cut}: {error}; does not verify: {problem}"),
                    }
                    writeln!(report, "  {cut:<40} failed, {committed}: {error}").unwrap();
                    // Rerun without faults: it completes.
                    publish(&version)
                        .await
                        .unwrap_or_else(|e| panic!("{cut}: rerun: {e:?}"));
                    let listed = rig.listed("staging").await;
                    assert_eq!(listed, after, "{cut}: rerun");
                    rig.verifies("staging", &listed)
                        .await
                        .unwrap_or_else(|e| panic!("{cut}: rerun: verify: {e:?}"));
                    rig.apt_reads("staging", &listed).await;
                }
            }
            model = after;
        }
    }
    println!("repo-cut: a publish cut off at one request (one attempt per request)\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_through_faults_lose_nothing() {
    let rig = RepoRig::new("repo-race", 77, ATTEMPTS);
    let dir = rig.dir.path().to_owned();
    const PUBLISHERS: usize = 3;
    const EACH: usize = 3;
    let debs: Vec<Vec<PathBuf>> = (0..PUBLISHERS)
        .map(|p| {
            (0..EACH)
                .map(|i| deb_path(&dir, &format!("app{p}"), &format!("1.{i}"), "amd64"))
                .collect()
        })
        .collect();
    rig.rig.proxy.set_faults(Faults::new(RATE, &Fault::ALL));
    // Each publisher publishes its packages one by one, rerunning what fails.
    let tasks: Vec<_> = debs
        .iter()
        .map(|mine| {
            let repo = rig.repo.clone();
            let mine = mine.clone();
            let bucket = rig.rig.bucket.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for deb in &mine {
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        assert!(tries <= 10, "{}: still failing", deb.display());
                        match repo
                            .publish(
                                "staging",
                                "main",
                                std::slice::from_ref(deb),
                                Replace::Never,
                                &|_| {},
                            )
                            .await
                        {
                            Ok(_) => break,
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::Storage, "{e:?}");
                                assert!(e.message().contains(&format!("s3://{bucket}")), "{e}");
                                failures.push(e.to_string());
                            }
                        }
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(task.await.unwrap());
    }
    rig.rig.proxy.clear_faults();
    let stats = rig.rig.proxy.stats();
    println!(
        "repo-race: {PUBLISHERS} publishers of {EACH} packages each: {} failed tries, rerun; \
         {} requests, faults {:?}",
        failures.len(),
        stats.total_requests(),
        stats.faults
    );
    for failure in &failures {
        println!("  {failure}");
    }
    let expected: BTreeSet<Entry> = (0..PUBLISHERS)
        .flat_map(|p| {
            (0..EACH).map(move |i| (format!("app{p}"), format!("1.{i}"), "amd64".to_owned()))
        })
        .collect();
    let listed = rig.listed("staging").await;
    assert_eq!(listed, expected);
    // A failure after a commit may leave plain-path files stale until the next
    // publish: publish once more (nothing new), then everything verifies.
    rig.repo
        .publish("staging", "main", &debs[0][..1], Replace::Never, &|_| {})
        .await
        .unwrap();
    rig.verifies("staging", &listed).await.unwrap();
    rig.apt_reads("staging", &listed).await;
    assert!(stats.total_faults() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remove_cut_off_after_its_commit_is_repaired_by_its_rerun() {
    let rig = RepoRig::new("repo-remove-cut", 2, 1);
    let dir = rig.dir.path().to_owned();
    Step::Publish(
        "staging",
        vec![("app", "1.0-1", "amd64"), ("app", "1.1-1", "amd64")],
    )
    .run(&rig.repo, &dir)
    .await
    .unwrap();
    let remove = Step::Remove("staging", "app", Some("1.0-1"));
    let after: BTreeSet<Entry> = [("app".into(), "1.1-1".into(), "amd64".into())].into();
    rig.rig.proxy.set_faults(
        Faults::new(1.0, &[Fault::InternalError])
            .methods(&["PUT"])
            .path_contains("/Release")
            .at_most(1),
    );
    let error = remove.run(&rig.repo, &dir).await.expect_err("cut off");
    rig.rig.proxy.clear_faults();
    assert!(error.message().contains("was committed"), "{error}");
    let listed = rig.listed("staging").await;
    assert_eq!(listed, after);
    rig.apt_reads("staging", &listed).await;
    // Stale plain-path files until a rerun.
    let problem = rig
        .verifies("staging", &listed)
        .await
        .expect_err("the cut-off remove left its plain-path files stale");
    assert_plain_paths_only(&problem, "staging");
    // The rerun finds nothing to remove and says so, and repairs them first.
    let rerun = remove.run(&rig.repo, &dir).await.expect_err("nothing left");
    assert_eq!(rerun.kind(), ErrorKind::NotFound, "{rerun:?}");
    rig.verifies("staging", &listed).await.unwrap();
}
