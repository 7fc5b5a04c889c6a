//! The publisher on both storage backends (a local directory and S3 on moto):
//! publish (idempotent, conflicts, replacement), remove, promote (sharing the
//! pool), prune, list, verify (which must notice damage), garbage collection,
//! concurrent publishers, bad input. Every test runs as `local::NAME` and `s3::NAME`.

#[path = "support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backends::{Backend, exists, keys, new_store, read, write};
use debpull::ErrorKind;
use debpull::Version;
use debpull::repo::{Progress, Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{self, Storage};
use test_debs::build_deb;

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<dyn Storage>,
    repo: Repository,
    trusted: TrustedKeys,
}

fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, RepositoryOptions::default())
}

fn fixture_with(backend: Backend, options: RepositoryOptions) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let trusted = TrustedKeys::from_bytes(key.public_key_armored().unwrap().as_bytes()).unwrap();
    let store = new_store(backend, dir.path());
    let repo = Repository::new(store.clone(), key, options).unwrap();
    Fixture {
        dir,
        store,
        repo,
        trusted,
    }
}

impl Fixture {
    fn deb(&self, name: &str, version: &str, arch: &str) -> PathBuf {
        build_deb(self.dir.path(), name, version, arch, "")
    }

    async fn read(&self, key: &str) -> Vec<u8> {
        read(&self.store, key).await
    }

    async fn write(&self, key: &str, data: &[u8]) {
        write(&self.store, key, data).await
    }

    async fn exists(&self, key: &str) -> bool {
        exists(&self.store, key).await
    }

    async fn versions(&self, suite: &str) -> Vec<String> {
        self.repo
            .list(suite)
            .await
            .unwrap()
            .iter()
            .map(|p| format!("{}={}/{}", p.name(), p.version(), p.architecture()))
            .collect()
    }
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

async fn publishing_the_same_files_again_changes_nothing(backend: Backend) {
    let f = fixture(backend);
    let debs = [f.deb("app", "1.0", "amd64"), f.deb("tool", "2", "all")];
    let first = f
        .repo
        .publish("staging", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        (first.added.len(), first.unchanged.len(), first.attempts),
        (2, 0, 1)
    );
    let inrelease = f.read("dists/staging/InRelease").await;
    let again = f
        .repo
        .publish("staging", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        (again.added.len(), again.unchanged.len(), again.attempts),
        (0, 2, 0)
    );
    assert_eq!(
        f.read("dists/staging/InRelease").await,
        inrelease,
        "no new snapshot"
    );
    assert_eq!(f.versions("staging").await, ["app=1.0/amd64", "tool=2/all"]);
    f.repo.verify("staging", &f.trusted).await.unwrap();
}

async fn other_content_under_the_same_identity_conflicts_unless_replacing(backend: Backend) {
    let f = fixture(backend);
    let original = f.deb("app", "1.0", "amd64");
    f.repo
        .publish(
            "staging",
            "main",
            std::slice::from_ref(&original),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap();
    let rebuilt = build_deb(f.dir.path(), "app", "1.0", "amd64", "rebuilt");
    let err = f
        .repo
        .publish(
            "staging",
            "main",
            std::slice::from_ref(&rebuilt),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("app 1.0 (amd64)"), "{err}");

    // Another suite cannot put other bytes at the shared pool path either.
    let err = f
        .repo
        .publish(
            "other",
            "main",
            std::slice::from_ref(&rebuilt),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(
        !f.exists("dists/other/InRelease").await,
        "nothing half-written"
    );

    let report = f
        .repo
        .publish("staging", "main", &[rebuilt], Replace::Always, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.replaced.len(), 1);
    let filename = report.replaced[0].filename().unwrap().to_owned();
    assert_ne!(
        filename, "pool/main/a/app/app_1.0_amd64.deb",
        "the old file stays for old snapshots"
    );
    assert!(f.exists("pool/main/a/app/app_1.0_amd64.deb").await);
    let listed = f.repo.list("staging").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].filename(), Some(filename.as_str()));
    f.repo.verify("staging", &f.trusted).await.unwrap();
}

async fn remove_one_version_or_all(backend: Backend) {
    let f = fixture(backend);
    let debs = [
        f.deb("app", "1.0", "amd64"),
        f.deb("app", "1.1", "amd64"),
        f.deb("app", "1.1", "arm64"),
        f.deb("lib", "1", "all"),
    ];
    f.repo
        .publish("s", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    let removed = f.repo.remove("s", "app", Some(&v("1.1"))).await.unwrap();
    assert_eq!(removed.len(), 2, "both architectures");
    assert_eq!(f.versions("s").await, ["app=1.0/amd64", "lib=1/all"]);
    let err = f.repo.remove("s", "app", Some(&v("9"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    f.repo.remove("s", "app", None).await.unwrap();
    assert_eq!(f.versions("s").await, ["lib=1/all"]);
    assert_eq!(
        f.repo
            .remove("s", "nothing", None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    f.repo.verify("s", &f.trusted).await.unwrap();
}

async fn promote_shares_the_pool_and_uploads_only_indexes(backend: Backend) {
    let f = fixture(backend);
    let debs = [
        f.deb("app", "1.0", "amd64"),
        f.deb("app", "2.0", "amd64"),
        f.deb("app", "2.0", "arm64"),
    ];
    f.repo
        .publish("staging", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    let promoted = f
        .repo
        .promote("app", &v("2.0"), "staging", "production")
        .await
        .unwrap();
    assert_eq!(promoted.len(), 2);
    assert_eq!(
        f.versions("production").await,
        ["app=2.0/amd64", "app=2.0/arm64"]
    );
    let staging = f.repo.list("staging").await.unwrap();
    let production = f.repo.list("production").await.unwrap();
    for p in &production {
        assert!(
            staging.iter().any(|s| s.filename() == p.filename()),
            "{:?} is shared",
            p.filename()
        );
    }
    let pool_files = keys(&f.store, "pool/").await.len();
    assert_eq!(pool_files, 3, "no pool file was added by the promotion");
    // Again: nothing to do.
    let again = f
        .repo
        .promote("app", &v("2.0"), "staging", "production")
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    let err = f
        .repo
        .promote("app", &v("3.0"), "staging", "production")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = f
        .repo
        .promote("app", &v("2.0"), "nowhere", "production")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    f.repo.verify("production", &f.trusted).await.unwrap();
}

async fn progress_reports_hashing_uploads_and_the_commit(backend: Backend) {
    let f = fixture(backend);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let debs = [f.deb("app", "1.0", "amd64")];
    f.repo
        .publish("staging", "main", &debs, Replace::Never, &move |e| {
            sink.lock().unwrap().push(e)
        })
        .await
        .unwrap();
    let events = events.lock().unwrap();
    assert!(
        matches!(&events[0], Progress::Hashed { path, bytes } if path == &debs[0] && *bytes > 0),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, Progress::Uploaded { key, .. } if key == "pool/main/a/app/app_1.0_amd64.deb")));
    assert!(
        events.iter().any(
            |e| matches!(e, Progress::Uploaded { key, .. } if key.contains("/by-hash/SHA256/"))
        )
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::Committed { suite, attempts: 1 } if suite == "staging"))
    );
}

async fn prune_keeps_the_newest_versions_per_package_and_architecture(backend: Backend) {
    let f = fixture(backend);
    let mut debs = Vec::new();
    for version in ["1.0", "1.10", "1.9", "2.0~rc1"] {
        debs.push(f.deb("app", version, "amd64"));
    }
    debs.push(f.deb("app", "0.5", "arm64"));
    debs.push(f.deb("other", "1", "all"));
    f.repo
        .publish("s", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    let removed = f.repo.prune("s", 2).await.unwrap();
    let removed: Vec<String> = removed.iter().map(|p| p.version().to_string()).collect();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(
        removed.contains(&"1.0".to_owned()) && removed.contains(&"1.9".to_owned()),
        "{removed:?}"
    );
    assert_eq!(
        f.versions("s").await,
        [
            "app=0.5/arm64",
            "app=1.10/amd64",
            "app=2.0~rc1/amd64",
            "other=1/all"
        ]
    );
    assert!(f.repo.prune("s", 2).await.unwrap().is_empty());
    assert_eq!(
        f.repo.prune("s", 0).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        f.repo.prune("nope", 1).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

async fn verify_notices_damaged_pool_files_and_indexes(backend: Backend) {
    let f = fixture(backend);
    f.repo
        .publish(
            "s",
            "main",
            &[f.deb("app", "1.0", "amd64")],
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap();
    f.repo.verify("s", &f.trusted).await.unwrap();
    // The repository's own key, as it hands it out, verifies it too.
    let own = f.repo.own_keys().clone();
    assert_eq!(own.fingerprints(), f.trusted.fingerprints());
    f.repo.verify("s", &own).await.unwrap();

    let deb = "pool/main/a/app/app_1.0_amd64.deb";
    let mut bytes = f.read(deb).await;
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    f.write(deb, &bytes).await;
    let err = f.repo.verify("s", &f.trusted).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(
        err.to_string()
            .contains("pool/main/a/app/app_1.0_amd64.deb"),
        "{err}"
    );
    bytes[last] ^= 1;
    f.write(deb, &bytes).await;

    f.write("dists/s/main/binary-amd64/Packages.gz", b"not gzip")
        .await;
    let err = f.repo.verify("s", &f.trusted).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("dists/s/main/binary-amd64/Packages.gz"),
        "{err}"
    );

    let other = SigningKey::generate("someone else <x@example.org>", KeyKind::Ed25519).unwrap();
    let stranger = TrustedKeys::from_bytes(other.public_key_armored().unwrap().as_bytes()).unwrap();
    let err = f.repo.verify("s", &stranger).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(
        f.repo
            .verify("missing", &f.trusted)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

async fn gc_deletes_unreferenced_objects_only_after_the_grace_period(backend: Backend) {
    let f = fixture(backend);
    let debs = [f.deb("app", "1.0", "amd64"), f.deb("app", "1.1", "amd64")];
    f.repo
        .publish("s", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    f.repo
        .publish("t", "main", &[debs[0].clone()], Replace::Never, &|_| {})
        .await
        .unwrap();
    f.repo.remove("s", "app", None).await.unwrap();

    // Marked, not deleted: a reader of the previous snapshot may still need them.
    let first = f.repo.gc(Duration::from_secs(3600)).await.unwrap();
    assert!(first.deleted.is_empty(), "{first:?}");
    assert!(first.pending >= 1, "{first:?}");
    assert!(f.exists("pool/main/a/app/app_1.1_amd64.deb").await);

    let swept = f.repo.gc(Duration::ZERO).await.unwrap();
    assert!(
        swept
            .deleted
            .contains(&"pool/main/a/app/app_1.1_amd64.deb".to_owned()),
        "{swept:?}"
    );
    assert!(
        swept.deleted.iter().any(|k| k.contains("/by-hash/")),
        "old indexes go too: {swept:?}"
    );
    assert!(
        f.exists("pool/main/a/app/app_1.0_amd64.deb").await,
        "suite t still lists it"
    );
    f.repo.verify("s", &f.trusted).await.unwrap();
    f.repo.verify("t", &f.trusted).await.unwrap();
    let again = f.repo.gc(Duration::ZERO).await.unwrap();
    assert!(again.deleted.is_empty(), "{again:?}");
}

async fn eight_concurrent_publishers_lose_nothing(backend: Backend) {
    // Commits as fast as they come (no wait for a new Last-Modified second).
    let options = RepositoryOptions {
        wait_for_new_second: false,
        ..RepositoryOptions::default()
    };
    let f = fixture_with(backend, options);
    let repo = Arc::new(f.repo.clone());
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let debs: Vec<PathBuf> = (0..3)
            .map(|i| f.deb(&format!("pkg{worker}"), &format!("1.{i}"), "amd64"))
            .collect();
        let repo = repo.clone();
        tasks.push(tokio::spawn(async move {
            for deb in debs {
                repo.publish("busy", "main", &[deb], Replace::Never, &|_| {})
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(f.versions("busy").await.len(), 24);
    let report = f.repo.verify("busy", &f.trusted).await.unwrap();
    assert_eq!(report.pool_files, 24);
}

async fn each_snapshot_gets_a_last_modified_second_of_its_own(backend: Backend) {
    // apt asks for InRelease with If-Modified-Since (whole seconds): two
    // snapshots within one second would look unchanged to a client that read
    // the first. Back-to-back publishes must land in different seconds.
    let f = fixture(backend);
    let mut seconds = Vec::new();
    for i in 0..3 {
        let deb = f.deb("app", &format!("1.{i}"), "amd64");
        f.repo
            .publish("s", "main", &[deb], Replace::Never, &|_| {})
            .await
            .unwrap();
        let modified = f
            .store
            .head("dists/s/InRelease")
            .await
            .unwrap()
            .last_modified;
        let since_epoch = modified
            .expect("the backend reports Last-Modified")
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        seconds.push(since_epoch.as_secs());
    }
    assert!(
        seconds.windows(2).all(|w| w[0] < w[1]),
        "Last-Modified seconds {seconds:?}"
    );
}

async fn bad_input_gets_typed_errors_and_writes_nothing(backend: Backend) {
    let f = fixture(backend);
    let deb = f.deb("app", "1.0", "amd64");
    for suite in ["", "../x", "a/b", ".hidden", "with space"] {
        let err = f
            .repo
            .publish(
                suite,
                "main",
                std::slice::from_ref(&deb),
                Replace::Never,
                &|_| {},
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{suite:?}");
    }
    let err = f
        .repo
        .publish(
            "s",
            "main",
            &[PathBuf::from("/nonexistent/x.deb")],
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("/nonexistent/x.deb"), "{err}");
    let not_a_deb = f.dir.path().join("garbage.deb");
    std::fs::write(&not_a_deb, b"garbage").unwrap();
    let err = f
        .repo
        .publish(
            "s",
            "main",
            &[deb.clone(), not_a_deb],
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert!(err.to_string().contains("garbage.deb"), "{err}");
    let written = keys(&f.store, "").await;
    assert!(written.is_empty(), "nothing written: {written:?}");
    assert_eq!(
        f.repo.list("s").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    for arch in ["all", "AMD64", "", "amd 64"] {
        let options = RepositoryOptions {
            default_architectures: vec![arch.to_owned()],
            ..RepositoryOptions::default()
        };
        let key = SigningKey::generate("x <x@example.org>", KeyKind::Ed25519).unwrap();
        let store =
            storage::open(&format!("file://{}", f.dir.path().join("other").display())).unwrap();
        let err = Repository::new(store, key, options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{arch:?}: {err}");
    }
}

backend_tests!(
    publishing_the_same_files_again_changes_nothing,
    other_content_under_the_same_identity_conflicts_unless_replacing,
    remove_one_version_or_all,
    promote_shares_the_pool_and_uploads_only_indexes,
    progress_reports_hashing_uploads_and_the_commit,
    prune_keeps_the_newest_versions_per_package_and_architecture,
    verify_notices_damaged_pool_files_and_indexes,
    gc_deletes_unreferenced_objects_only_after_the_grace_period,
    eight_concurrent_publishers_lose_nothing,
    each_snapshot_gets_a_last_modified_second_of_its_own,
    bad_input_gets_typed_errors_and_writes_nothing,
);
