//! `Source::check` against real repositories: published by debpull's own
//! `Repository` (on a local directory and on S3 in moto), by aptly (with and
//! without `-acquire-by-hash`) and by apt-ftparchive + gpg (InRelease, or only
//! Release + Release.gpg). Requests are counted through the fault proxy: a
//! no-change check is one request answered 304, a check after a publish at
//! most three. Attacks, each its own test: a typed error, the state directory
//! unchanged, the next good check works.

#[allow(dead_code)]
#[path = "support/aptly.rs"]
mod aptly;
#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "support/ftparchive.rs"]
mod ftparchive;
// aptly.rs has its own copy.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "support/gpg.rs"]
mod gpg;
#[allow(dead_code)]
#[path = "support/http_servers.rs"]
mod http_servers;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use backends::{Backend, new_store, read, write};
use debpull::checksum::{self, Algorithm, Algorithms};
use debpull::client::{Action, Policy, Source, SourceOptions, SourceTrust, Status};
use debpull::index::release::format_date;
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{HttpOptions, HttpStorage, LocalStorage, S3Storage, Storage};
use debpull::{Error, ErrorKind, Version};
use http_servers::{PythonServer, Reply, ScriptServer};
use std::sync::Mutex;
use test_debs::build_deb;

const SUITE: &str = "staging";
const INRELEASE: &str = "dists/staging/InRelease";

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<dyn Storage>,
    repo: Repository,
    key: SigningKey,
    trusted: TrustedKeys,
}

fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, RepositoryOptions::default())
}

fn fixture_with(backend: Backend, mut options: RepositoryOptions) -> Fixture {
    // debpull's client compares ETags: no need to wait for a new second.
    options.wait_for_new_second = false;
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let trusted = trust_of(&key);
    let store = new_store(backend, dir.path());
    let repo = Repository::new(store.clone(), key.clone(), options).unwrap();
    write_status(dir.path(), None);
    Fixture {
        dir,
        store,
        repo,
        key,
        trusted,
    }
}

fn trust_of(key: &SigningKey) -> TrustedKeys {
    TrustedKeys::from_bytes(key.public_key_armored().unwrap().as_bytes()).unwrap()
}

/// dpkg's status file in `<dir>/admin`, with `app` installed at `version`.
fn write_status(dir: &Path, version: Option<&str>) {
    let admin = dir.join("admin");
    std::fs::create_dir_all(&admin).unwrap();
    let mut text = String::from(
        "Package: other\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7\n\n",
    );
    if let Some(version) = version {
        text.push_str(&format!(
            "Package: app\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
        ));
    }
    std::fs::write(admin.join("status"), text).unwrap();
}

fn options(dir: &Path, trust: SourceTrust) -> SourceOptions {
    let mut options = SourceOptions::new(SUITE, trust, dir.join("state"));
    options.architecture = Some("amd64".into());
    options.admin_dir = dir.join("admin");
    options
}

impl Fixture {
    fn source(&self) -> Source {
        self.source_on(self.store.clone())
    }

    fn source_on(&self, store: Arc<dyn Storage>) -> Source {
        let options = options(self.dir.path(), SourceTrust::Keys(self.trusted.clone()));
        Source::new(store, options).unwrap()
    }

    async fn publish(&self, name: &str, version: &str, arch: &str) {
        let deb = build_deb(self.dir.path(), name, version, arch, "");
        self.repo
            .publish(SUITE, "main", &[deb], Replace::Never, &|_| {})
            .await
            .unwrap();
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }
}

/// Every file under `dir` and its content.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn version(status: &Status) -> String {
    status
        .candidate
        .as_ref()
        .map(|c| c.version().as_str().to_owned())
        .unwrap_or_default()
}

/// `check` must fail with `kind` and a message containing `needle`, leaving
/// the state directory as it was.
async fn refused(f: &Fixture, source: &Source, kind: ErrorKind, needle: &str) -> Error {
    let before = files(&f.state_dir());
    let err = source.check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    assert_eq!(files(&f.state_dir()), before, "the state changed: {err}");
    err
}

// ---- The protocol on both backends -------------------------------------------

async fn finds_the_candidate_then_answers_from_state(backend: Backend) {
    let f = fixture(backend);
    f.publish("app", "1.0", "amd64").await;
    f.publish("app", "1.1", "all").await;
    f.publish("app", "9.0", "arm64").await;
    write_status(f.dir.path(), Some("1.0"));
    let source = f.source();
    let first = source.check("app", None).await.unwrap();
    assert!(first.repository_changed);
    assert_eq!(version(&first), "1.1");
    assert_eq!(first.installed.as_ref().unwrap().as_str(), "1.0");
    assert!(first.update_available());
    assert_eq!(first.action(Policy::UpgradeOnly), Action::Upgrade);
    assert!(first.warnings.is_empty());

    let again = source.check("app", None).await.unwrap();
    assert!(!again.repository_changed);
    assert_eq!(version(&again), "1.1");
    // A package never asked before: from the stored index.
    let other = source.check("other", None).await.unwrap();
    assert!(!other.repository_changed);
    assert!(other.candidate.is_none());
    assert_eq!(other.action(Policy::FollowRepository), Action::Nothing);

    f.publish("app", "1.2", "amd64").await;
    let changed = source.check("app", None).await.unwrap();
    assert!(changed.repository_changed);
    assert_eq!(version(&changed), "1.2");
    let pin = Version::parse("1.0").unwrap();
    let pinned = source.check("app", Some(&pin)).await.unwrap();
    assert_eq!(version(&pinned), "1.0");
    assert_eq!(pinned.action(Policy::UpgradeOnly), Action::Nothing);
    let absent = Version::parse("5").unwrap();
    let err = source.check("app", Some(&absent)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // The suite rolled back (1.2 removed): a newer snapshot, a lower candidate.
    write_status(f.dir.path(), Some("1.2"));
    f.repo
        .remove(SUITE, "app", Some(&Version::parse("1.2").unwrap()))
        .await
        .unwrap();
    let down = source.check("app", None).await.unwrap();
    assert_eq!(version(&down), "1.1");
    assert_eq!(down.action(Policy::UpgradeOnly), Action::Nothing);
    assert_eq!(down.action(Policy::FollowRepository), Action::Downgrade);
}

async fn unsigned_inrelease_is_refused(backend: Backend) {
    let f = fixture(backend);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    let good = read(&f.store, INRELEASE).await;
    f.publish("app", "1.1", "amd64").await;
    let release = read(&f.store, "dists/staging/Release").await;
    write(&f.store, INRELEASE, &release).await;
    refused(&f, &source, ErrorKind::Verification, "InRelease").await;
    write(&f.store, INRELEASE, &good).await;
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.0");
}

async fn wrong_key_is_refused(backend: Backend) {
    let f = fixture(backend);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    let good = read(&f.store, INRELEASE).await;
    let release = String::from_utf8(read(&f.store, "dists/staging/Release").await).unwrap();
    let other = SigningKey::generate("mallory <m@example.org>", KeyKind::Ed25519).unwrap();
    write(
        &f.store,
        INRELEASE,
        other.clearsign(&release).unwrap().as_bytes(),
    )
    .await;
    refused(&f, &source, ErrorKind::Verification, "InRelease").await;
    write(&f.store, INRELEASE, &good).await;
    source.check("app", None).await.unwrap();
}

async fn replayed_older_inrelease_is_refused(backend: Backend) {
    let f = fixture(backend);
    f.publish("app", "1.0", "amd64").await;
    let old = read(&f.store, INRELEASE).await;
    wait_for_next_second();
    f.publish("app", "1.1", "amd64").await;
    let source = f.source();
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
    // The old InRelease, still validly signed, its by-hash index still there.
    write(&f.store, INRELEASE, &old).await;
    refused(&f, &source, ErrorKind::Verification, "rollback").await;
    wait_for_next_second();
    f.publish("app", "1.2", "amd64").await;
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.2");
}

async fn packages_hash_mismatch_is_refused(backend: Backend) {
    let f = fixture(backend);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    f.publish("app", "1.1", "amd64").await;
    let (key, good) = by_hash_index(&f.store).await;
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    write(&f.store, &key, &bad).await;
    refused(&f, &source, ErrorKind::Verification, "by-hash").await;
    write(&f.store, &key, &good).await;
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
}

async fn filename_escaping_the_pool_is_refused(backend: Backend) {
    let f = fixture(backend);
    let source = f.source();
    let now = SystemTime::now();
    craft(
        &f,
        SUITE,
        now - Duration::from_secs(60),
        None,
        "pool/main/a/app/app_1.0_amd64.deb",
    )
    .await;
    source.check("app", None).await.unwrap();
    craft(&f, SUITE, now, None, "pool/../../etc/shadow").await;
    refused(&f, &source, ErrorKind::Verification, "field Filename").await;
    craft(&f, SUITE, now, None, "pool/main/a/app/app_1.0_amd64.deb").await;
    source.check("app", None).await.unwrap();
}

async fn another_suite_is_refused(backend: Backend) {
    let f = fixture(backend);
    let source = f.source();
    let now = SystemTime::now();
    craft(&f, SUITE, now - Duration::from_secs(60), None, "pool/a.deb").await;
    source.check("app", None).await.unwrap();
    // production's signed files, served as staging's.
    craft(&f, "production", now, None, "pool/a.deb").await;
    refused(&f, &source, ErrorKind::Verification, "not \"staging\"").await;
    craft(&f, SUITE, now, None, "pool/a.deb").await;
    source.check("app", None).await.unwrap();
}

backend_tests!(
    finds_the_candidate_then_answers_from_state,
    unsigned_inrelease_is_refused,
    wrong_key_is_refused,
    replayed_older_inrelease_is_refused,
    packages_hash_mismatch_is_refused,
    filename_escaping_the_pool_is_refused,
    another_suite_is_refused,
);

// ---- Local storage only ------------------------------------------------------

#[tokio::test]
async fn expired_valid_until_is_refused() {
    let f = fixture(Backend::Local);
    let source = f.source();
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    craft(&f, SUITE, now - 2 * day, Some(now + day), "pool/a.deb").await;
    source.check("app", None).await.unwrap();
    craft(&f, SUITE, now - day, Some(now - day / 2), "pool/a.deb").await;
    refused(&f, &source, ErrorKind::Verification, "Valid-Until").await;
    craft(&f, SUITE, now - day, Some(now + day), "pool/a.deb").await;
    source.check("app", None).await.unwrap();
}

#[tokio::test]
async fn an_accepted_snapshot_that_expires_is_refused_even_when_not_modified() {
    let f = fixture(Backend::Local);
    let source = f.source();
    let now = SystemTime::now();
    // Valid for two seconds: then the unchanged InRelease (a 304) is refused.
    craft(
        &f,
        SUITE,
        now,
        Some(now + Duration::from_secs(2)),
        "pool/a.deb",
    )
    .await;
    source.check("app", None).await.unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let err = refused(&f, &source, ErrorKind::Verification, "Valid-Until").await;
    assert!(err.to_string().contains("not modified"), "{err}");
}

/// Depends on the backends honouring `GetOptions::max_size` (cut off with
/// `LimitExceeded`); before that, the oversized body is read whole and refused
/// as a size mismatch (`Verification`).
#[tokio::test]
async fn packages_larger_than_signed_is_cut_off() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    f.publish("app", "1.1", "amd64").await;
    let (key, good) = by_hash_index(&f.store).await;
    // Far larger than the signed size: the first bytes of the real index, then zeros.
    let mut endless = good.clone();
    endless.resize(64 << 20, 0);
    write(&f.store, &key, &endless).await;
    refused(
        &f,
        &source,
        ErrorKind::Verification,
        "bytes the Release says (cut off)",
    )
    .await;
    write(&f.store, &key, &good).await;
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
}

/// Depends on the backends honouring `GetOptions::max_size`, like the test above.
#[tokio::test]
async fn an_inrelease_larger_than_the_cap_is_cut_off() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    let good = read(&f.store, INRELEASE).await;
    let mut endless = good.clone();
    endless.resize(debpull::client::MAX_RELEASE_SIZE as usize + 1, b'x');
    write(&f.store, INRELEASE, &endless).await;
    refused(&f, &source, ErrorKind::LimitExceeded, "InRelease").await;
    write(&f.store, INRELEASE, &good).await;
    source.check("app", None).await.unwrap();
}

#[tokio::test]
async fn a_missing_by_hash_index_falls_back_to_the_plain_path() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let (key, _) = by_hash_index(&f.store).await;
    f.store.delete(&key).await.unwrap();
    let status = f.source().check("app", None).await.unwrap();
    assert_eq!(version(&status), "1.0");
}

#[tokio::test]
async fn insecure_unsigned_sources_warn_every_check() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    // An unsigned Release only: no InRelease, no Release.gpg.
    f.store.delete(INRELEASE).await.unwrap();
    f.store.delete("dists/staging/Release.gpg").await.unwrap();
    let options = options(f.dir.path(), SourceTrust::InsecureUnsigned);
    let source = Source::new(f.store.clone(), options).unwrap();
    for _ in 0..2 {
        let status = source.check("app", None).await.unwrap();
        assert_eq!(version(&status), "1.0");
        assert_eq!(status.warnings.len(), 1);
        assert!(status.warnings[0].contains("NOT checked"));
    }
    // With keys, the same suite is refused.
    refused(&f, &f.source(), ErrorKind::Verification, "not signed").await;
}

#[tokio::test]
async fn an_absent_pin_still_accepts_a_good_snapshot() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    let pin = Version::parse("2.0").unwrap();
    let err = source.check("app", Some(&pin)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("2.0"), "{err}");
    let status = source.check("app", None).await.unwrap();
    assert!(!status.repository_changed, "the snapshot was accepted");
    assert_eq!(version(&status), "1.0");
}

#[tokio::test]
async fn bad_package_names_are_invalid_input() {
    let f = fixture(Backend::Local);
    for name in ["", "../x", "A", "a/b"] {
        let err = f.source().check(name, None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
    }
}

// ---- A corrupt state directory -------------------------------------------------

/// A good check, then `damage` to the state directory: the next check fails
/// with `kind` naming `file`, moves the bad file aside, and the one after works.
async fn corrupt_state(damage: impl FnOnce(&Path), kind: ErrorKind, file: &str, needle: &str) {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    let dir = source.check_state_dir();
    damage(&dir);
    let err = source.check("other", None).await.unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    let message = err.to_string();
    assert!(message.contains(file), "{file:?} not in: {message}");
    assert!(message.contains(needle), "{needle:?} not in: {message}");
    assert!(message.contains("moved aside"), "{message}");
    let status = source.check("app", None).await.unwrap();
    assert_eq!(version(&status), "1.0");
    assert!(source.check("other", None).await.is_ok());
}

#[tokio::test]
async fn garbage_state_file() {
    corrupt_state(
        |dir| std::fs::write(dir.join("state"), "Format: 1\nETag \"x\"\n").unwrap(),
        ErrorKind::Parse,
        "state",
        "line 2",
    )
    .await;
}

#[tokio::test]
async fn truncated_state_file() {
    corrupt_state(
        |dir| {
            let text = std::fs::read(dir.join("state")).unwrap();
            std::fs::write(dir.join("state"), &text[..text.len() / 2]).unwrap();
        },
        ErrorKind::Parse,
        "state",
        "line",
    )
    .await;
}

#[tokio::test]
async fn binary_garbage_state_file() {
    corrupt_state(
        |dir| std::fs::write(dir.join("state"), [0xff, 0xfe, 0, 1, 2]).unwrap(),
        ErrorKind::Parse,
        "state",
        "line 1",
    )
    .await;
}

#[tokio::test]
async fn a_file_where_a_directory_should_be() {
    corrupt_state(
        |dir| {
            std::fs::remove_dir_all(dir.join("packages")).unwrap();
            std::fs::write(dir.join("packages"), "oops").unwrap();
        },
        ErrorKind::Io,
        "packages",
        "not a directory",
    )
    .await;
}

#[tokio::test]
async fn a_directory_where_the_state_file_should_be() {
    corrupt_state(
        |dir| {
            std::fs::remove_file(dir.join("state")).unwrap();
            std::fs::create_dir(dir.join("state")).unwrap();
        },
        ErrorKind::Io,
        "state",
        "not a regular file",
    )
    .await;
}

#[tokio::test]
async fn a_state_file_others_may_write() {
    use std::os::unix::fs::PermissionsExt;
    corrupt_state(
        |dir| {
            let perms = std::fs::Permissions::from_mode(0o666);
            std::fs::set_permissions(dir.join("state"), perms).unwrap();
        },
        ErrorKind::Verification,
        "state",
        "writable by group or others",
    )
    .await;
}

#[tokio::test]
async fn a_damaged_stored_index() {
    corrupt_state(
        |dir| {
            let index = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .starts_with("Packages-")
                })
                .unwrap();
            let mut text = std::fs::read(&index).unwrap();
            text.truncate(text.len() / 2);
            std::fs::write(&index, text).unwrap();
        },
        ErrorKind::Verification,
        "Packages-",
        "SHA256",
    )
    .await;
}

#[tokio::test]
async fn a_torn_package_record() {
    corrupt_state(
        |dir| std::fs::write(dir.join("packages/other"), "Index-SHA256 nothing\n").unwrap(),
        ErrorKind::Parse,
        "packages/other",
        "line 1",
    )
    .await;
}

// ---- Requests counted (S3 on moto through the counting proxy) ------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_change_check_is_one_request_and_a_change_at_most_three() {
    let f = fixture(Backend::S3);
    f.publish("app", "1.0", "amd64").await;
    let moto = moto::Moto::shared();
    let proxy = fault_proxy::FaultProxy::start(&moto.endpoint(), 1);
    let bucket = f.store.to_string();
    let bucket = bucket
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut s3 = backends::s3_options(moto, &bucket, moto.credentials());
    s3.endpoint = Some(proxy.endpoint());
    let counted: Arc<dyn Storage> = Arc::new(S3Storage::new(s3).unwrap());
    let source = f.source_on(counted);

    source.check("app", None).await.unwrap();
    proxy.reset_stats();
    let same = source.check("app", None).await.unwrap();
    let stats = proxy.stats();
    assert!(!same.repository_changed);
    assert_eq!(stats.total_requests(), 1, "{stats:?}");
    assert_eq!(stats.statuses.get(&304), Some(&1), "{stats:?}");

    f.publish("app", "1.1", "amd64").await;
    proxy.reset_stats();
    let changed = source.check("app", None).await.unwrap();
    let stats = proxy.stats();
    assert!(changed.repository_changed);
    assert_eq!(version(&changed), "1.1");
    assert!(stats.total_requests() <= 3, "{stats:?}");
    eprintln!(
        "requests: no change 1 (304), after a publish {}",
        stats.total_requests()
    );
}

// ---- Plain HTTP mirrors ---------------------------------------------------------

/// How a [`mirror`] misbehaves.
#[derive(Default)]
struct Mirror {
    /// Send this `Last-Modified` with every file (and answer `304` to an
    /// `If-Modified-Since` equal to it, as a real server would).
    last_modified: Option<String>,
    /// Answer `304` to every InRelease request, whatever it carried.
    not_modified: bool,
    /// Answer the next InRelease request with these bytes, once `release`
    /// is set (or after ten seconds).
    hold: Option<Vec<u8>>,
    /// Lets the held request go.
    release: bool,
}

/// A mirror without ETags serving `root` as `behaviour` says.
fn mirror(root: PathBuf, behaviour: Arc<Mutex<Mirror>>) -> ScriptServer {
    ScriptServer::start(move |head| {
        let path = head.path().trim_start_matches('/').to_owned();
        let inrelease = path.ends_with("/InRelease");
        let (held, last_modified) = {
            let mut m = behaviour.lock().unwrap();
            if inrelease && m.not_modified {
                return Reply::status(304, b"");
            }
            let held = if inrelease { m.hold.take() } else { None };
            (held, m.last_modified.clone())
        };
        let body = match held {
            Some(bytes) => {
                for _ in 0..200 {
                    if behaviour.lock().unwrap().release {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                bytes
            }
            None => match std::fs::read(root.join(&path)) {
                Ok(bytes) => bytes,
                Err(_) => return Reply::status(404, b"not found"),
            },
        };
        let mut headers = Vec::new();
        if let Some(lm) = last_modified {
            if head.header("If-Modified-Since") == Some(lm.as_str()) {
                return Reply::status(304, b"");
            }
            headers.push(("Last-Modified".to_owned(), lm));
        }
        Reply::Full {
            status: 200,
            headers,
            body,
        }
    })
}

fn http_store(url: &str) -> Arc<dyn Storage> {
    let mut options = HttpOptions::new(url);
    options.max_attempts = 1;
    Arc::new(HttpStorage::new(options).unwrap())
}

/// The stored `state` file of `source`.
fn state_text(source: &Source) -> String {
    std::fs::read_to_string(source.check_state_dir().join("state")).unwrap()
}

/// Publishes 1.0, then (a second later) 1.1; returns 1.0's InRelease.
async fn two_snapshots(f: &Fixture) -> Vec<u8> {
    f.publish("app", "1.0", "amd64").await;
    let old = read(&f.store, INRELEASE).await;
    wait_for_next_second();
    f.publish("app", "1.1", "amd64").await;
    old
}

#[tokio::test]
async fn an_etag_less_mirror_is_asked_if_modified_since() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let server = PythonServer::start(&f.dir.path().join("repo"));
    let source = f.source_on(http_store(&server.url()));
    let first = source.check("app", None).await.unwrap();
    assert!(first.repository_changed);
    assert_eq!(version(&first), "1.0");
    let state = state_text(&source);
    assert!(state.contains("Last-Modified: "), "{state}");
    assert!(!state.contains("ETag"), "{state}");
    let same = source.check("app", None).await.unwrap();
    assert!(!same.repository_changed);
    assert_eq!(version(&same), "1.0");
    wait_for_next_second();
    f.publish("app", "1.1", "amd64").await;
    let changed = source.check("app", None).await.unwrap();
    assert!(changed.repository_changed);
    assert_eq!(version(&changed), "1.1");
}

#[tokio::test]
async fn a_forged_last_modified_does_not_switch_off_rollback_protection() {
    let f = fixture(Backend::Local);
    let old = two_snapshots(&f).await;
    let behaviour = Arc::new(Mutex::new(Mirror {
        last_modified: Some("Sat, 01 Jan 10000 00:00:00 GMT".into()),
        ..Mirror::default()
    }));
    let server = mirror(f.dir.path().join("repo"), behaviour);
    let source = f.source_on(http_store(&server.url()));
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
    assert!(!state_text(&source).contains("Last-Modified"));
    write(&f.store, INRELEASE, &old).await;
    for _ in 0..2 {
        refused(&f, &source, ErrorKind::Verification, "rollback").await;
    }
}

#[tokio::test]
async fn a_future_last_modified_does_not_freeze_the_check() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let behaviour = Arc::new(Mutex::new(Mirror {
        last_modified: Some("Fri, 31 Dec 9999 23:59:59 GMT".into()),
        ..Mirror::default()
    }));
    let server = mirror(f.dir.path().join("repo"), behaviour);
    let source = f.source_on(http_store(&server.url()));
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.0");
    // The same file again (no validator kept): answered from the state.
    assert!(!source.check("app", None).await.unwrap().repository_changed);
    f.publish("app", "1.1", "amd64").await;
    let changed = source.check("app", None).await.unwrap();
    assert!(changed.repository_changed);
    assert_eq!(version(&changed), "1.1");
}

#[tokio::test]
async fn a_304_to_an_unconditional_request_is_an_error() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let behaviour = Arc::new(Mutex::new(Mirror::default()));
    let server = mirror(f.dir.path().join("repo"), behaviour.clone());
    let source = f.source_on(http_store(&server.url()));
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.0");
    // Neither ETag nor Last-Modified: the same bytes answer from the state.
    let same = source.check("app", None).await.unwrap();
    assert!(!same.repository_changed);
    let inrelease_requests = server
        .requests()
        .iter()
        .filter(|h| h.path().ends_with("/InRelease"))
        .count();
    assert_eq!(inrelease_requests, 2);
    behaviour.lock().unwrap().not_modified = true;
    f.publish("app", "1.1", "amd64").await;
    let err = refused(&f, &source, ErrorKind::Storage, "without a condition").await;
    assert!(err.to_string().contains("InRelease"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_checks_at_once_never_move_the_state_back() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let behaviour = Arc::new(Mutex::new(Mirror {
        hold: Some(read(&f.store, INRELEASE).await),
        ..Mirror::default()
    }));
    let server = mirror(f.dir.path().join("repo"), behaviour.clone());
    let source = f.source_on(http_store(&server.url()));
    // A fetches 1.0's InRelease, held by the server; meanwhile 1.1 is
    // published and B starts; then A's answer arrives.
    let a = tokio::spawn({
        let source = source.clone();
        async move { source.check("app", None).await }
    });
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for_next_second();
    f.publish("app", "1.1", "amd64").await;
    let b = tokio::spawn({
        let source = source.clone();
        async move { source.check("app", None).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    behaviour.lock().unwrap().release = true;
    let a = a.await.unwrap().unwrap();
    let b = b.await.unwrap().unwrap();
    assert_eq!(version(&a), "1.0");
    assert_eq!(version(&b), "1.1");
    let after = source.check("app", None).await.unwrap();
    assert!(!after.repository_changed, "the state went back to 1.0");
    assert_eq!(version(&after), "1.1");
}

// ---- Rollback floor, future dates, trust, repositories, owners ----------------

#[tokio::test]
async fn the_rollback_floor_survives_a_corrupt_state() {
    let f = fixture(Backend::Local);
    let old = two_snapshots(&f).await;
    let source = f.source();
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
    std::fs::write(source.check_state_dir().join("state"), "garbage\n").unwrap();
    write(&f.store, INRELEASE, &old).await;
    let err = source.check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert!(err.to_string().contains("moved aside"), "{err}");
    // The state is gone, the floor is not.
    refused(&f, &source, ErrorKind::Verification, "rollback").await;
}

/// A repository restored to an older snapshot is refused with the floor file
/// and the way out named; after `reset_rollback_floor` the next check accepts
/// it, and the floor protects again from there (review 5c finding 3).
#[tokio::test]
async fn a_legitimately_restored_repository_is_accepted_after_a_floor_reset() {
    let f = fixture(Backend::Local);
    let old = two_snapshots(&f).await;
    let source = f.source();
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
    let newer = read(&f.store, INRELEASE).await;
    write(&f.store, INRELEASE, &old).await;
    let floor = source.check_state_dir().join("floor");
    let err = refused(&f, &source, ErrorKind::Verification, "rollback").await;
    for needle in [&*floor.to_string_lossy(), "Source::reset_rollback_floor"] {
        assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    }
    // Still refused until the reset.
    refused(&f, &source, ErrorKind::Verification, "rollback").await;
    source.reset_rollback_floor().await.unwrap();
    assert!(!floor.exists());
    assert!(!source.check_state_dir().join("state").exists());
    let restored = source.check("app", None).await.unwrap();
    assert!(restored.repository_changed);
    assert_eq!(version(&restored), "1.0");
    assert!(floor.exists());
    assert!(!source.check("app", None).await.unwrap().repository_changed);
    // Resetting what is already reset is no error.
    source.reset_rollback_floor().await.unwrap();
    source.reset_rollback_floor().await.unwrap();
    assert!(source.check("app", None).await.unwrap().repository_changed);
    // The newer snapshot moves the floor forward again; the older one is refused.
    write(&f.store, INRELEASE, &newer).await;
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
    write(&f.store, INRELEASE, &old).await;
    refused(&f, &source, ErrorKind::Verification, "rollback").await;
}

#[tokio::test]
async fn a_corrupt_floor_is_reported_and_the_state_still_holds_the_date() {
    let f = fixture(Backend::Local);
    let old = two_snapshots(&f).await;
    let source = f.source();
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.1");
    std::fs::write(source.check_state_dir().join("floor"), "Date: soon\n").unwrap();
    let err = source.check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert!(err.to_string().contains("floor"), "{err}");
    assert!(err.to_string().contains("moved aside"), "{err}");
    write(&f.store, INRELEASE, &old).await;
    refused(&f, &source, ErrorKind::Verification, "rollback").await;
}

#[tokio::test]
async fn a_date_in_the_future_is_refused() {
    let f = fixture(Backend::Local);
    let source = f.source();
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    craft(&f, SUITE, now - day, None, "pool/a.deb").await;
    source.check("app", None).await.unwrap();
    craft(&f, SUITE, now + day, None, "pool/a.deb").await;
    refused(
        &f,
        &source,
        ErrorKind::Verification,
        "ahead of this machine's clock",
    )
    .await;
    craft(&f, SUITE, now, None, "pool/a.deb").await;
    source.check("app", None).await.unwrap();
}

#[tokio::test]
async fn a_trust_change_verifies_afresh() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    assert_eq!(
        version(&f.source().check("app", None).await.unwrap()),
        "1.0"
    );
    // The same unchanged suite (its ETag still matches), now trusting only another key.
    let other = SigningKey::generate("other <o@example.org>", KeyKind::Ed25519).unwrap();
    let options = options(f.dir.path(), SourceTrust::Keys(trust_of(&other)));
    let source = Source::new(f.store.clone(), options).unwrap();
    refused(&f, &source, ErrorKind::Verification, "InRelease").await;
    // The original trust still answers from the state.
    assert!(
        !f.source()
            .check("app", None)
            .await
            .unwrap()
            .repository_changed
    );
}

#[tokio::test]
async fn sources_of_two_repositories_may_share_a_state_dir() {
    let f = fixture(Backend::Local);
    let second: Arc<dyn Storage> = Arc::new(LocalStorage::new(f.dir.path().join("repo2")).unwrap());
    let repo2 =
        Repository::new(second.clone(), f.key.clone(), RepositoryOptions::default()).unwrap();
    let deb = build_deb(f.dir.path(), "app", "2.0", "amd64", "");
    repo2
        .publish(SUITE, "main", &[deb], Replace::Never, &|_| {})
        .await
        .unwrap();
    wait_for_next_second();
    f.publish("app", "1.0", "amd64").await;
    let newer = f.source();
    let older = f.source_on(second);
    assert_ne!(newer.check_state_dir(), older.check_state_dir());
    for _ in 0..2 {
        assert_eq!(version(&newer.check("app", None).await.unwrap()), "1.0");
        assert_eq!(version(&older.check("app", None).await.unwrap()), "2.0");
    }
    assert!(!older.check("app", None).await.unwrap().repository_changed);
}

#[tokio::test]
async fn a_state_dir_others_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    let root = f.state_dir();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = refused(
        &f,
        &source,
        ErrorKind::Verification,
        "writable by group or others",
    )
    .await;
    assert!(err.to_string().contains(&*root.to_string_lossy()), "{err}");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(!source.check("app", None).await.unwrap().repository_changed);
}

/// Gives `path` to the user `nobody` (65534): the test must run as root.
fn give_away(path: &Path) {
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap_or_else(|e| {
        panic!(
            "chown {} to 65534 failed ({e}): this test needs root to make a file another user owns",
            path.display()
        )
    });
}

#[tokio::test]
async fn a_state_file_another_user_owns() {
    corrupt_state(
        |dir| give_away(&dir.join("state")),
        ErrorKind::Verification,
        "state",
        "owned by uid 65534",
    )
    .await;
}

#[tokio::test]
async fn a_state_directory_another_user_owns() {
    let f = fixture(Backend::Local);
    f.publish("app", "1.0", "amd64").await;
    let source = f.source();
    source.check("app", None).await.unwrap();
    give_away(&source.check_state_dir().join("packages"));
    let err = source.check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert!(err.to_string().contains("owned by uid 65534"), "{err}");
    assert!(err.to_string().contains("packages"), "{err}");
    let root = f.state_dir();
    give_away(&root);
    refused(&f, &source, ErrorKind::Verification, "owned by uid 65534").await;
}

#[tokio::test]
async fn a_missing_smallest_index_form_falls_back_to_the_next() {
    let f = fixture(Backend::Local);
    let source = f.source();
    craft_with_missing_form(&f).await;
    assert_eq!(version(&source.check("app", None).await.unwrap()), "1.0");
}

// ---- Source::open and the machine's architecture -----------------------------------

/// The machine's architecture, as `dpkg --print-architecture` prints it.
fn dpkg_architecture() -> String {
    let output = std::process::Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .expect("these tests need dpkg (apt-get install dpkg)");
    assert!(output.status.success(), "dpkg --print-architecture failed");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// An architecture other than `arch`.
fn other_architecture(arch: &str) -> &'static str {
    if arch == "arm64" { "amd64" } else { "arm64" }
}

/// Options without an architecture (the machine's) and with their own state directory.
fn machine_options(f: &Fixture, state: &str) -> SourceOptions {
    let mut options = options(f.dir.path(), SourceTrust::Keys(f.trusted.clone()));
    options.architecture = None;
    options.state_dir = f.dir.path().join(state);
    options
}

/// `Source::open` with a `file://` URI and no architecture: dpkg's is used,
/// and the candidate is the machine's, not another architecture's higher one
/// (review 5c finding 11).
#[tokio::test]
async fn a_file_uri_source_uses_the_machine_architecture() {
    let f = fixture(Backend::Local);
    let arch = dpkg_architecture();
    f.publish("app", "1.0", &arch).await;
    f.publish("app", "2.0", other_architecture(&arch)).await;
    let uri = format!("file://{}", f.dir.path().join("repo").display());
    let source = Source::open(&uri, machine_options(&f, "state")).unwrap();
    assert_eq!(source.architecture(), arch);
    assert!(source.check_state_dir().ends_with(format!("binary-{arch}")));
    let status = source.check("app", None).await.unwrap();
    assert_eq!(version(&status), "1.0");
    assert_eq!(status.candidate.as_ref().unwrap().architecture(), arch);
    assert!(!source.check("app", None).await.unwrap().repository_changed);
}

/// A Release + Release.gpg suite (no InRelease) over HTTP from a server that
/// answers 403 for every missing key, as S3 without s3:ListBucket does:
/// `Source::open` with `?forbidden-as-missing=true` falls back to Release;
/// without it the 403 is an access error. Whatever goes missing then, the
/// error keeps what the store said (review 5c findings 9 and 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_answering_403_for_missing_keys_over_http() {
    let f = fixture(Backend::Local);
    let arch = dpkg_architecture();
    f.publish("app", "1.0", &arch).await;
    let root = f.dir.path().join("repo");
    let suite = root.join("dists").join(SUITE);
    std::fs::remove_file(suite.join("InRelease")).unwrap();
    let server = ScriptServer::start(move |head| {
        let path = head.path().trim_start_matches('/');
        match std::fs::read(root.join(path)) {
            Ok(body) => Reply::Full {
                status: 200,
                headers: Vec::new(),
                body,
            },
            Err(_) => Reply::status(403, b"<Error><Code>AccessDenied</Code></Error>"),
        }
    });
    let denied = "access denied (HTTP 403 Forbidden), taken as no such object";
    let open = |state: &str| {
        let uri = format!("{}/?forbidden-as-missing=true", server.url());
        Source::open(&uri, machine_options(&f, state)).unwrap()
    };

    // Without the option the 403 for InRelease is what it is: access denied.
    let strict = Source::open(&server.url(), machine_options(&f, "strict")).unwrap();
    let err = strict.check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(
        err.to_string()
            .contains("access denied (HTTP 403 Forbidden)"),
        "{err}"
    );
    assert!(err.to_string().contains("InRelease"), "{err}");

    // With it, InRelease is missing and Release + Release.gpg are read.
    let source = open("state-1");
    assert_eq!(source.architecture(), arch);
    assert_eq!(source.storage().to_string(), server.url());
    let status = source.check("app", None).await.unwrap();
    assert!(status.repository_changed);
    assert_eq!(version(&status), "1.0");

    // Each later loss names the store's own words, not only "missing".
    std::fs::remove_dir_all(suite.join("main")).unwrap();
    let err = open("state-2").check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for needle in ["listed in the Release but missing", denied, "Packages"] {
        assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    }
    std::fs::remove_file(suite.join("Release.gpg")).unwrap();
    let err = open("state-3").check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    for needle in ["not signed", denied, "Release.gpg"] {
        assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    }
    std::fs::remove_file(suite.join("Release")).unwrap();
    let err = open("state-4").check("app", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for needle in ["neither", denied, "dists/staging/Release: get"] {
        assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    }
    assert!(std::error::Error::source(&err).is_some(), "{err:?}");
}

// ---- Other publishers ------------------------------------------------------------

fn aptly_suite(by_hash: bool) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("published");
    let aptly = aptly::Aptly::new(
        &dir.path().join("aptly"),
        aptly::Endpoint::FileSystem { root: root.clone() },
    );
    let debs = vec![
        build_deb(dir.path(), "app", "1.0", "amd64", ""),
        build_deb(dir.path(), "app", "1.3~rc1", "all", ""),
    ];
    aptly.repo("apps", &debs);
    aptly.publish(&aptly::Publish {
        distribution: SUITE,
        components: &[("main", "apps")],
        acquire_by_hash: by_hash,
        architectures: &["amd64"],
        ..aptly::Publish::default()
    });
    write_status(dir.path(), Some("1.0"));
    let trusted = TrustedKeys::from_bytes(aptly.public_key().as_bytes()).unwrap();
    let store: Arc<dyn Storage> = Arc::new(LocalStorage::new(&root).unwrap());
    let source = Source::new(store, options(dir.path(), SourceTrust::Keys(trusted))).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(source.check("app", None)).unwrap();
    assert_eq!(version(&status), "1.3~rc1");
    assert_eq!(status.action(Policy::UpgradeOnly), Action::Upgrade);
    let again = runtime.block_on(source.check("app", None)).unwrap();
    assert!(!again.repository_changed);
}

#[test]
fn aptly_suite_with_acquire_by_hash() {
    aptly_suite(true);
}

#[test]
fn aptly_suite_without_acquire_by_hash() {
    aptly_suite(false);
}

fn ftparchive_suite(signing: ftparchive::Signing) {
    let dir = tempfile::tempdir().unwrap();
    let archive = ftparchive::FtpArchive::new(&dir.path().join("repo"));
    let debs = vec![build_deb(dir.path(), "app", "2.0", "amd64", "")];
    archive.publish(SUITE, &debs, signing);
    write_status(dir.path(), None);
    let trusted = TrustedKeys::from_bytes(&archive.public_key()).unwrap();
    let store: Arc<dyn Storage> = Arc::new(LocalStorage::new(archive.root()).unwrap());
    let source = Source::new(store, options(dir.path(), SourceTrust::Keys(trusted))).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(source.check("app", None)).unwrap();
    assert_eq!(version(&status), "2.0");
    assert_eq!(status.action(Policy::UpgradeOnly), Action::Install);
    assert!(
        !runtime
            .block_on(source.check("app", None))
            .unwrap()
            .repository_changed
    );
    wait_for_next_second();
    let debs = vec![build_deb(dir.path(), "app", "2.1", "amd64", "")];
    archive.publish(SUITE, &debs, signing);
    let status = runtime.block_on(source.check("app", None)).unwrap();
    assert!(status.repository_changed);
    assert_eq!(version(&status), "2.1");
}

#[test]
fn ftparchive_suite_with_inrelease() {
    ftparchive_suite(ftparchive::Signing::Both);
}

#[test]
fn ftparchive_suite_with_release_gpg_only() {
    ftparchive_suite(ftparchive::Signing::DetachedOnly);
}

// ---- Helpers -------------------------------------------------------------------

/// The by-hash amd64 index the current InRelease's smallest form points at.
async fn by_hash_index(store: &Arc<dyn Storage>) -> (String, Vec<u8>) {
    let text = String::from_utf8(read(store, "dists/staging/Release").await).unwrap();
    let release = debpull::index::Release::parse(&text).unwrap();
    let file = release
        .files
        .iter()
        .filter(|f| f.path.starts_with("main/binary-amd64/Packages"))
        .min_by_key(|f| f.size)
        .unwrap();
    let hex = file.checksums.hex(Algorithm::Sha256).unwrap();
    let key = format!("dists/staging/main/binary-amd64/by-hash/SHA256/{hex}");
    let data = read(store, &key).await;
    (key, data)
}

/// Writes a suite by hand at `dists/staging/`: one plain Packages index with
/// one `app` 1.0 stanza whose Filename is `filename`, and an InRelease signed
/// by the fixture's key that says `Suite: suite`, `Date: date`.
async fn craft(
    f: &Fixture,
    suite: &str,
    date: SystemTime,
    valid_until: Option<SystemTime>,
    filename: &str,
) {
    let packages = format!(
        "Package: app\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.org>\n\
         Filename: {filename}\nSize: 1234\n\
         SHA256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
         Description: app\n\n"
    );
    let sums = checksum::of_bytes(
        packages.as_bytes(),
        Algorithms::NONE.with(Algorithm::Sha256),
    );
    let mut release = format!(
        "Origin: crafted\nSuite: {suite}\nCodename: {suite}\nDate: {}\n",
        format_date(date)
    );
    if let Some(until) = valid_until {
        release.push_str(&format!("Valid-Until: {}\n", format_date(until)));
    }
    release.push_str(&format!(
        "Architectures: amd64\nComponents: main\nSHA256:\n {} {} main/binary-amd64/Packages\n",
        sums.hex(Algorithm::Sha256).unwrap(),
        packages.len()
    ));
    write(
        &f.store,
        "dists/staging/main/binary-amd64/Packages",
        packages.as_bytes(),
    )
    .await;
    write(
        &f.store,
        INRELEASE,
        f.key.clearsign(&release).unwrap().as_bytes(),
    )
    .await;
}

/// Like [`craft`] (now, no Valid-Until), but the Release also lists a
/// `Packages.gz`, smaller than the plain index, that the store lacks (as
/// mirrors drop forms Debian's Release lists).
async fn craft_with_missing_form(f: &Fixture) {
    craft(f, SUITE, SystemTime::now(), None, "pool/a.deb").await;
    let packages = read(&f.store, "dists/staging/main/binary-amd64/Packages").await;
    let sums = checksum::of_bytes(&packages, Algorithms::NONE.with(Algorithm::Sha256));
    let release = format!(
        "Origin: crafted\nSuite: {SUITE}\nCodename: {SUITE}\nDate: {}\n\
         Architectures: amd64\nComponents: main\nSHA256:\n \
         {} {} main/binary-amd64/Packages\n \
         0000000000000000000000000000000000000000000000000000000000000000 20 main/binary-amd64/Packages.gz\n",
        format_date(SystemTime::now()),
        sums.hex(Algorithm::Sha256).unwrap(),
        packages.len()
    );
    write(
        &f.store,
        INRELEASE,
        f.key.clearsign(&release).unwrap().as_bytes(),
    )
    .await;
}

/// Waits until the clock has passed into the next whole second (Release dates
/// have whole seconds: the next publish then gets a later Date).
fn wait_for_next_second() {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 10_000_000,
    ));
}
