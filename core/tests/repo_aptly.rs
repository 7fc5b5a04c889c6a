//! Adoption: debpull publishes into suites that the real aptly published
//! before, keeping aptly's packages, and the real apt-get (private
//! configuration, `signed-by=` debpull's key) accepts the result.
//!
//! Every check goes through `Arc<dyn Storage>` and a [`Peer`] (aptly and the
//! URI apt reads the repository at): the adoption scenarios run on the local
//! backend and on S3 (aptly publishing to moto, apt reading over HTTP).

#[allow(dead_code)]
#[path = "support/aptly.rs"]
mod aptly;
#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aptly::{Aptly, Endpoint, Publish};
use debpull::checksum::Algorithm;
use debpull::index::Release;
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{self, GetOptions, GetResult, Payload, PutMode, S3Storage, Storage};
use debpull::{ErrorKind, Version};
use private_apt::PrivateApt;
use test_debs::build_deb;

/// A repository that aptly publishes to, as debpull and apt see it.
struct Peer {
    /// Where aptly publishes, as debpull's storage.
    storage: Arc<dyn Storage>,
    aptly: Aptly,
    /// The repository's URI for apt's sources.list.
    apt_uri: String,
}

/// aptly publishing to a directory, debpull's local storage on it.
fn local_peer(dir: &Path) -> Peer {
    let root = dir.join("published");
    std::fs::create_dir_all(&root).unwrap();
    Peer {
        storage: storage::open(&format!("file://{}", root.display())).unwrap(),
        aptly: Aptly::new(dir, Endpoint::FileSystem { root: root.clone() }),
        // copy: rather than file:, so that apt puts what it downloads in its cache.
        apt_uri: format!("copy:{}", root.display()),
    }
}

/// aptly publishing to a fresh bucket of moto under `debian/` with the
/// public-read ACL, debpull's S3 storage on it writing the same way, apt
/// reading anonymously over HTTP.
fn s3_peer(dir: &Path) -> Peer {
    let moto = moto::Moto::shared();
    let bucket = moto.create_bucket("aptly");
    let credentials = moto.credentials();
    let mut options = backends::s3_options(moto, &bucket, credentials);
    options.prefix = "debian".to_owned();
    options.acl = Some("public-read".to_owned());
    Peer {
        storage: Arc::new(S3Storage::new(options).unwrap()),
        aptly: Aptly::new(
            dir,
            Endpoint::S3 {
                endpoint: moto.endpoint(),
                region: moto::REGION.to_owned(),
                bucket: bucket.clone(),
                prefix: "debian".to_owned(),
                access_key: credentials.access_key_id.clone(),
                secret_key: credentials.secret_access_key.clone(),
            },
        ),
        apt_uri: format!("{}/debian", moto.bucket_url(&bucket)),
    }
}

/// The packages of the scenarios, built under `dir`: aptly's main (an amd64
/// package, an `all` one, one to remove), aptly's contrib, and debpull's own.
struct Debs {
    hello: PathBuf,
    data: PathBuf,
    legacy: PathBuf,
    tool: PathBuf,
    app: PathBuf,
}

fn debs(dir: &Path) -> Debs {
    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs).unwrap();
    Debs {
        hello: build_deb(&debs, "hello", "1.0-1", "amd64", ""),
        data: build_deb(&debs, "data", "2.0", "all", ""),
        legacy: build_deb(&debs, "legacy", "0.9", "amd64", ""),
        tool: build_deb(&debs, "tool", "0.5", "amd64", ""),
        app: build_deb(&debs, "app", "1.0", "amd64", ""),
    }
}

/// aptly's repositories `main-repo` (hello, data, legacy) and `contrib-repo` (tool).
fn aptly_repos(aptly: &Aptly, debs: &Debs) {
    aptly.repo(
        "main-repo",
        &[debs.hello.clone(), debs.data.clone(), debs.legacy.clone()],
    );
    aptly.repo("contrib-repo", std::slice::from_ref(&debs.tool));
}

/// debpull on the peer's storage with a new key (also written to
/// `dir/debpull.asc` for apt), taking over suites signed by aptly's key if `adopt`.
fn debpull(peer: &Peer, dir: &Path, adopt: bool) -> (Repository, TrustedKeys, PathBuf) {
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let public = key.public_key_armored().unwrap();
    let key_file = dir.join("debpull.asc");
    std::fs::write(&key_file, &public).unwrap();
    let options = RepositoryOptions {
        origin: "debpull tests".into(),
        label: "debpull".into(),
        adopt_keys: adopt
            .then(|| TrustedKeys::from_bytes(peer.aptly.public_key().as_bytes()).unwrap()),
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(peer.storage.clone(), key, options).unwrap();
    (
        repo,
        TrustedKeys::from_bytes(public.as_bytes()).unwrap(),
        key_file,
    )
}

/// aptly's public key as trusted keys, and written to `dir/aptly.asc` for apt.
fn aptly_trust(peer: &Peer, dir: &Path) -> (TrustedKeys, PathBuf) {
    let public = peer.aptly.public_key();
    let file = dir.join("aptly.asc");
    std::fs::write(&file, &public).unwrap();
    (TrustedKeys::from_bytes(public.as_bytes()).unwrap(), file)
}

async fn get(storage: &dyn Storage, key: &str) -> Option<Vec<u8>> {
    match storage.get(key, GetOptions::default()).await {
        Ok(GetResult::Found { data, .. }) => Some(data),
        Ok(GetResult::NotModified) => panic!("{key}: not modified without a condition"),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => panic!("{key}: {e}"),
    }
}

async fn exists(storage: &dyn Storage, key: &str) -> bool {
    get(storage, key).await.is_some()
}

/// The plain-path Release of `suite`.
async fn release(storage: &dyn Storage, suite: &str) -> Release {
    let data = get(storage, &format!("dists/{suite}/Release"))
        .await
        .unwrap_or_else(|| panic!("dists/{suite}/Release is missing"));
    Release::parse(std::str::from_utf8(&data).unwrap()).unwrap()
}

/// `name version (arch)` of every package of `suite`, as debpull lists them.
async fn listing(repo: &Repository, suite: &str) -> Vec<String> {
    repo.list(suite)
        .await
        .unwrap_or_else(|e| panic!("list {suite}: {e}"))
        .iter()
        .map(|p| format!("{} {} ({})", p.name(), p.version(), p.architecture()))
        .collect()
}

/// The real apt-get reading `suite` (its `components`) with `signed-by=key_file`.
fn apt(peer: &Peer, dir: &Path, key_file: &Path, suite: &str, components: &str) -> PrivateApt {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let apt = PrivateApt::new(
        &dir.join(format!("apt-{suite}-{n}")),
        &format!(
            "deb [signed-by={}] {} {suite} {components}",
            key_file.display(),
            peer.apt_uri
        ),
    );
    apt.update()
        .unwrap_or_else(|out| panic!("apt-get update of {suite} failed:\n{out}"));
    apt
}

/// Whether apt downloaded `name`'s .deb (apt escapes some characters of versions).
fn downloads(apt: &PrivateApt, name: &str) {
    let debs = apt
        .download(name)
        .unwrap_or_else(|out| panic!("apt-get download of {name} failed:\n{out}"));
    assert!(
        debs.iter().any(|d| d.starts_with(&format!("{name}_"))),
        "{name}: {debs:?}"
    );
}

/// How aptly publishes the scenario's suites.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// aptly's defaults: no by-hash, the packages' architectures; a chosen
    /// Origin and Label.
    Plain,
    /// `-acquire-by-hash`, `-architectures=amd64,all` (a binary-all index),
    /// aptly's default Origin and Label.
    ByHash,
}

/// aptly publishes `staging` (main + contrib) and `production` (contrib);
/// debpull adds its package to staging, removes one of aptly's, promotes one
/// of aptly's to production; debpull lists and verifies both, apt installs
/// from both, garbage collection keeps what readers need.
async fn adoption(peer: &Peer, dir: &Path, shape: Shape) {
    let debs = debs(dir);
    let aptly = &peer.aptly;
    aptly_repos(aptly, &debs);
    let (by_hash, architectures, origin, label) = match shape {
        Shape::Plain => (false, &[][..], Some("Example Corp"), Some("example")),
        Shape::ByHash => (true, &["amd64", "all"][..], None, None),
    };
    for (distribution, components) in [
        (
            "staging",
            &[("main", "main-repo"), ("contrib", "contrib-repo")][..],
        ),
        ("production", &[("contrib", "contrib-repo")][..]),
    ] {
        aptly.publish(&Publish {
            distribution,
            components,
            acquire_by_hash: by_hash,
            architectures,
            origin,
            label,
            ..Publish::default()
        });
    }
    let storage = &*peer.storage;

    // What aptly 1.5 writes.
    let aptly_release = release(storage, "staging").await;
    // aptly's default Origin and Label: "<prefix> <distribution>".
    let identity = |suite: &str| match shape {
        Shape::Plain => ("Example Corp".to_owned(), "example".to_owned()),
        Shape::ByHash => (format!(". {suite}"), format!(". {suite}")),
    };
    let (want_origin, want_label) = identity("staging");
    assert_eq!(aptly_release.origin, Some(want_origin));
    assert_eq!(aptly_release.label, Some(want_label));
    assert_eq!(
        aptly_release.description.as_deref(),
        Some("Generated by aptly")
    );
    assert_eq!(aptly_release.acquire_by_hash, by_hash);
    assert_eq!(aptly_release.components, ["contrib", "main"]);
    let aptly_arches = match shape {
        Shape::Plain => vec!["amd64"],
        Shape::ByHash => vec!["all", "amd64"],
    };
    assert_eq!(aptly_release.architectures, aptly_arches);
    for listed in [
        "main/binary-amd64/Packages",
        "main/binary-amd64/Packages.gz",
        "main/binary-amd64/Packages.bz2",
        "main/binary-amd64/Release",
        "main/Contents-amd64.gz",
        "Contents-amd64.gz",
    ] {
        assert!(aptly_release.file(listed).is_some(), "aptly lists {listed}");
    }
    assert!(
        aptly_release
            .file("main/binary-amd64/Packages.xz")
            .is_none()
    );
    let old_packages = aptly_release.file("main/binary-amd64/Packages").unwrap();
    assert_eq!(
        old_packages
            .checksums
            .algorithms()
            .iter()
            .collect::<Vec<_>>(),
        Algorithm::ALL
    );
    let old_sha512 = format!(
        "dists/staging/main/binary-amd64/by-hash/SHA512/{}",
        old_packages.checksums.hex(Algorithm::Sha512).unwrap()
    );
    assert_eq!(exists(storage, &old_sha512).await, by_hash, "{old_sha512}");
    assert!(exists(storage, "pool/main/h/hello/hello_1.0-1_amd64.deb").await);

    // Without aptly's key, debpull reads nothing of it, and writes nothing.
    let inrelease_before = get(storage, "dists/staging/InRelease").await.unwrap();
    let (stranger, _, _) = debpull(peer, dir, false);
    let err = stranger.list("staging").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert!(
        err.message().contains("dists/staging/InRelease") && err.message().contains("adopt_keys"),
        "{err}"
    );
    let err = stranger
        .publish(
            "staging",
            "main",
            std::slice::from_ref(&debs.app),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(
        get(storage, "dists/staging/InRelease").await.unwrap(),
        inrelease_before
    );
    assert!(!exists(storage, "pool/main/a/app/app_1.0_amd64.deb").await);

    // With it: aptly's suite as it is, verified with aptly's key, and garbage
    // collection keeps what aptly's readers fetch (SHA512 by-hash copies).
    let (repo, ours, key_file) = debpull(peer, dir, true);
    let (theirs, aptly_key_file) = aptly_trust(peer, dir);
    assert_eq!(
        listing(&repo, "staging").await,
        [
            "data 2.0 (all)",
            "hello 1.0-1 (amd64)",
            "legacy 0.9 (amd64)",
            "tool 0.5 (amd64)"
        ]
    );
    repo.verify("staging", &theirs)
        .await
        .unwrap_or_else(|e| panic!("aptly's own suite: {e}"));
    let gc = repo.gc(Duration::ZERO).await.unwrap();
    for deleted in &gc.deleted {
        // Only aptly's bookkeeping links (by-hash/SHA256/Packages, ...).
        let name = deleted.rsplit('/').next().unwrap();
        assert!(
            deleted.contains("/by-hash/") && !name.bytes().all(|b| b.is_ascii_hexdigit()),
            "gc deleted {deleted}"
        );
    }
    assert_eq!(exists(storage, &old_sha512).await, by_hash);
    let apt_before = apt(peer, dir, &aptly_key_file, "staging", "main contrib");
    assert_eq!(apt_before.candidate("hello").as_deref(), Some("1.0-1"));

    // Taking over: publish into staging, remove one of aptly's, promote one.
    let report = repo
        .publish(
            "staging",
            "main",
            std::slice::from_ref(&debs.app),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.added.len(), 1);
    assert_eq!(
        report.added[0].filename(),
        Some("pool/main/a/app/app_1.0_amd64.deb")
    );
    let removed = repo.remove("staging", "legacy", None).await.unwrap();
    assert_eq!(removed.len(), 1);
    let promoted = repo
        .promote(
            "hello",
            &Version::parse("1.0-1").unwrap(),
            "staging",
            "production",
        )
        .await
        .unwrap();
    assert_eq!(promoted.len(), 1);
    assert_eq!(
        listing(&repo, "staging").await,
        [
            "app 1.0 (amd64)",
            "data 2.0 (all)",
            "hello 1.0-1 (amd64)",
            "tool 0.5 (amd64)"
        ]
    );
    assert_eq!(
        listing(&repo, "production").await,
        ["hello 1.0-1 (amd64)", "tool 0.5 (amd64)"]
    );
    // aptly's entries as aptly wrote them: its pool path, its SHA512 field.
    let hello = repo
        .list("staging")
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name() == "hello")
        .unwrap();
    assert_eq!(
        hello.filename(),
        Some("pool/main/h/hello/hello_1.0-1_amd64.deb")
    );
    assert!(hello.checksums().hex(Algorithm::Sha512).is_some());

    // The new Release: the suite's identity, debpull's files only.
    for suite in ["staging", "production"] {
        let new = release(storage, suite).await;
        let (want_origin, want_label) = identity(suite);
        assert_eq!(new.origin, Some(want_origin), "{suite}");
        assert_eq!(new.label, Some(want_label), "{suite}");
        assert_eq!(new.suite.as_deref(), Some(suite));
        assert_eq!(new.codename.as_deref(), Some(suite));
        assert_eq!(new.description, None, "{suite}");
        assert!(new.acquire_by_hash);
        assert_eq!(new.components, ["contrib", "main"], "{suite}");
        assert_eq!(new.architectures, aptly_arches, "{suite}");
        let mut paths: Vec<&str> = new.files.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        let mut expected = Vec::new();
        for component in ["contrib", "main"] {
            for arch in &aptly_arches {
                for ext in ["", ".gz", ".xz"] {
                    expected.push(format!("{component}/binary-{arch}/Packages{ext}"));
                }
            }
        }
        expected.sort_unstable();
        assert_eq!(paths, expected, "{suite}");
        let verified = repo
            .verify(suite, &ours)
            .await
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert_eq!(verified.index_files, expected.len(), "{suite}");
        assert!(repo.verify(suite, &theirs).await.is_err(), "{suite}");
    }
    // aptly's files the new Release does not list stay, for its readers.
    for kept in [
        "dists/staging/main/binary-amd64/Packages.bz2",
        "dists/staging/main/Contents-amd64.gz",
        "dists/staging/main/binary-amd64/Release",
    ] {
        assert!(exists(storage, kept).await, "{kept}");
    }

    // The real apt-get, trusting debpull's key only.
    let apt_staging = apt(peer, dir, &key_file, "staging", "main contrib");
    for (name, version) in [
        ("hello", Some("1.0-1")),
        ("data", Some("2.0")),
        ("tool", Some("0.5")),
        ("app", Some("1.0")),
        ("legacy", None),
    ] {
        assert_eq!(apt_staging.candidate(name).as_deref(), version, "{name}");
    }
    downloads(&apt_staging, "hello");
    downloads(&apt_staging, "app");
    downloads(&apt_staging, "data");
    let apt_production = apt(peer, dir, &key_file, "production", "main contrib");
    assert_eq!(apt_production.candidate("hello").as_deref(), Some("1.0-1"));
    assert_eq!(apt_production.candidate("app"), None);
    downloads(&apt_production, "tool");

    // Garbage collection: nothing before the grace period; after it, only
    // what no suite lists (legacy's file, aptly's old by-hash indexes).
    let gc = repo.gc(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(gc.deleted, Vec::<String>::new());
    assert_eq!(exists(storage, &old_sha512).await, by_hash);
    let gc = repo.gc(Duration::ZERO).await.unwrap();
    assert!(
        gc.deleted
            .contains(&"pool/main/l/legacy/legacy_0.9_amd64.deb".to_owned()),
        "{:?}",
        gc.deleted
    );
    assert!(!exists(storage, &old_sha512).await);
    for pool in [
        "pool/main/h/hello/hello_1.0-1_amd64.deb",
        "pool/main/d/data/data_2.0_all.deb",
        "pool/contrib/t/tool/tool_0.5_amd64.deb",
        "pool/main/a/app/app_1.0_amd64.deb",
    ] {
        assert!(exists(storage, pool).await, "{pool}");
    }
    let apt_after = apt(peer, dir, &key_file, "staging", "main contrib");
    downloads(&apt_after, "data");
    for suite in ["staging", "production"] {
        repo.verify(suite, &ours)
            .await
            .unwrap_or_else(|e| panic!("{suite} after gc: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn adopts_suites_aptly_published_without_by_hash() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    adoption(&peer, temp.path(), Shape::Plain).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adopts_suites_aptly_published_with_acquire_by_hash() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    adoption(&peer, temp.path(), Shape::ByHash).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adopts_suites_aptly_published_to_s3_without_by_hash() {
    let temp = tempfile::tempdir().unwrap();
    let peer = s3_peer(temp.path());
    adoption(&peer, temp.path(), Shape::Plain).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adopts_suites_aptly_published_to_s3_with_acquire_by_hash() {
    let temp = tempfile::tempdir().unwrap();
    let peer = s3_peer(temp.path());
    adoption(&peer, temp.path(), Shape::ByHash).await;
}

/// aptly publishes `staging` (main: hello, data, legacy); then `index` of it
/// is damaged by `damage`: reading the suite fails naming the object, and
/// nothing is published.
async fn damaged(peer: &Peer, dir: &Path, by_hash: bool) {
    let debs = debs(dir);
    aptly_repos(&peer.aptly, &debs);
    peer.aptly.publish(&Publish {
        distribution: "staging",
        components: &[("main", "main-repo")],
        acquire_by_hash: by_hash,
        ..Publish::default()
    });
    let storage = &*peer.storage;
    let listed = release(storage, "staging").await;
    let file = listed.file("main/binary-amd64/Packages").unwrap();
    // debpull reads the by-hash copy under the strongest hash (as apt does)
    // when the Release says so, else the plain path.
    let key = if by_hash {
        format!(
            "dists/staging/main/binary-amd64/by-hash/SHA512/{}",
            file.checksums.hex(Algorithm::Sha512).unwrap()
        )
    } else {
        "dists/staging/main/binary-amd64/Packages".to_owned()
    };
    let original = get(storage, &key).await.unwrap();
    let (repo, _, _) = debpull(peer, dir, true);
    let inrelease = get(storage, "dists/staging/InRelease").await.unwrap();

    // One byte changed (same size), then a stanza added (other size).
    let mut changed = original.clone();
    let at = changed.windows(5).position(|w| w == b"hello").unwrap();
    changed[at] = b'j';
    let mut longer = original.clone();
    longer.extend_from_slice(b"Package: evil\nVersion: 1\nArchitecture: amd64\nFilename: pool/evil.deb\nSize: 1\nSHA256: 0000000000000000000000000000000000000000000000000000000000000000\n\n");
    for (bad, why) in [
        (changed, "checksum differs"),
        (
            longer,
            &format!("the {} bytes the Release says", file.size)[..],
        ),
    ] {
        storage
            .put(&key, Payload::Bytes(bad), PutMode::Overwrite)
            .await
            .unwrap();
        let err = repo.list("staging").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(
            err.message().contains(&key) && err.message().contains(why),
            "{why}: {err}"
        );
        let err = repo
            .publish(
                "staging",
                "main",
                std::slice::from_ref(&debs.app),
                Replace::Never,
                &|_| {},
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(err.message().contains(&key), "{err}");
        assert!(repo.gc(Duration::ZERO).await.is_err());
    }
    assert_eq!(
        get(storage, "dists/staging/InRelease").await.unwrap(),
        inrelease
    );
    assert!(!exists(storage, "pool/main/a/app/app_1.0_amd64.deb").await);
    assert!(exists(storage, "pool/main/h/hello/hello_1.0-1_amd64.deb").await);

    // Repaired: all is well again.
    storage
        .put(&key, Payload::Bytes(original), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(listing(&repo, "staging").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aptly_index_that_does_not_match_its_release_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    damaged(&peer, temp.path(), false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aptly_by_hash_index_that_does_not_match_its_release_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    damaged(&peer, temp.path(), true).await;
}

/// Writes `release` as `suite`'s Release, signed with aptly's key.
async fn resign(peer: &Peer, suite: &str, release: &Release) {
    let text = release.to_string();
    let (inrelease, detached) = peer.aptly.sign(&text);
    for (name, bytes) in [
        ("Release", text.into_bytes()),
        ("Release.gpg", detached),
        ("InRelease", inrelease.into_bytes()),
    ] {
        peer.storage
            .put(
                &format!("dists/{suite}/{name}"),
                Payload::Bytes(bytes),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
    }
}

/// An index debpull cannot read is an error naming it, never an empty index.
async fn unreadable(peer: &Peer, dir: &Path) {
    let debs = debs(dir);
    aptly_repos(&peer.aptly, &debs);
    peer.aptly.publish(&Publish {
        distribution: "staging",
        components: &[("main", "main-repo")],
        ..Publish::default()
    });
    let storage = &*peer.storage;
    let (repo, _, _) = debpull(peer, dir, true);
    let original = release(storage, "staging").await;

    // Listed only as bzip2 (debpull has no bzip2 decoder).
    let mut bz2_only = original.clone();
    bz2_only.files.retain(|f| {
        ![
            "main/binary-amd64/Packages",
            "main/binary-amd64/Packages.gz",
        ]
        .contains(&f.path.as_str())
    });
    resign(peer, "staging", &bz2_only).await;
    let err = repo.list("staging").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(
        err.message()
            .contains("main/binary-amd64/Packages only as main/binary-amd64/Packages.bz2"),
        "{err}"
    );

    // Listed, but none of the readable forms is there.
    resign(peer, "staging", &original).await;
    assert_eq!(listing(&repo, "staging").await.len(), 3);
    for name in ["Packages", "Packages.gz"] {
        storage
            .delete(&format!("dists/staging/main/binary-amd64/{name}"))
            .await
            .unwrap();
    }
    let err = repo
        .publish(
            "staging",
            "main",
            std::slice::from_ref(&debs.app),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.message().contains(
            "dists/staging/main/binary-amd64/Packages: listed in the Release but missing, as are main/binary-amd64/Packages.gz"
        ),
        "{err}"
    );
    assert!(!exists(storage, "pool/main/a/app/app_1.0_amd64.deb").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aptly_index_debpull_cannot_read_is_an_error_not_an_empty_index() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    unreadable(&peer, temp.path()).await;
}

/// A source package built with dpkg-source (a `.dsc` and a native `.tar.xz`).
fn source_package(dir: &Path) -> PathBuf {
    let tree = dir.join("srcpkg-1.0");
    std::fs::create_dir_all(tree.join("debian/source")).unwrap();
    std::fs::write(tree.join("debian/source/format"), "3.0 (native)\n").unwrap();
    std::fs::write(
        tree.join("debian/control"),
        "Source: srcpkg\nMaintainer: debpull tests <tests@example.org>\n\nPackage: srcpkg\nArchitecture: all\nDescription: test\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("debian/changelog"),
        "srcpkg (1.0) unstable; urgency=low\n\n  * Test.\n\n -- debpull tests <tests@example.org>  Thu, 01 Jan 2026 00:00:00 +0000\n",
    )
    .unwrap();
    let out = std::process::Command::new("dpkg-source")
        .arg("-b")
        .arg("srcpkg-1.0")
        .current_dir(dir)
        .output()
        .expect("run dpkg-source (package dpkg-dev)");
    assert!(
        out.status.success(),
        "dpkg-source: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("srcpkg_1.0.dsc")
}

/// Suites debpull cannot take over without losing packages are refused
/// before anything is written, and stop garbage collection.
async fn refused(peer: &Peer, dir: &Path) {
    let debs = debs(dir);
    aptly_repos(&peer.aptly, &debs);
    peer.aptly
        .repo("source-repo", &[source_package(dir), debs.tool.clone()]);
    let storage = &*peer.storage;
    let (repo, _, _) = debpull(peer, dir, true);

    // An empty Sources index (aptly's `-architectures=amd64,source`) loses nothing.
    peer.aptly.publish(&Publish {
        distribution: "nosource",
        components: &[("main", "main-repo")],
        architectures: &["amd64", "source"],
        ..Publish::default()
    });
    assert!(
        release(storage, "nosource")
            .await
            .file("main/source/Sources")
            .is_some()
    );
    repo.publish(
        "nosource",
        "main",
        std::slice::from_ref(&debs.app),
        Replace::Never,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(listing(&repo, "nosource").await.len(), 4);

    // Source packages: refused, naming the index.
    peer.aptly.publish(&Publish {
        distribution: "sources",
        components: &[("main", "source-repo")],
        ..Publish::default()
    });
    let err = repo.list("sources").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("main/source/Sources"), "{err}");
    let before = get(storage, "dists/sources/InRelease").await.unwrap();
    let err = repo
        .publish(
            "sources",
            "main",
            std::slice::from_ref(&debs.app),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(
        get(storage, "dists/sources/InRelease").await.unwrap(),
        before
    );
    let err = repo.gc(Duration::ZERO).await.unwrap_err();
    assert!(err.message().contains("nothing deleted"), "{err}");
    assert!(exists(storage, "pool/main/s/srcpkg/srcpkg_1.0.dsc").await);

    // Unsigned (aptly's -skip-signing): no InRelease; debpull does not start
    // the suite anew over it, and gc does not collect its files.
    peer.aptly.publish(&Publish {
        distribution: "unsigned",
        components: &[("contrib", "contrib-repo")],
        skip_signing: true,
        ..Publish::default()
    });
    assert!(!exists(storage, "dists/unsigned/InRelease").await);
    let err = repo
        .publish(
            "unsigned",
            "contrib",
            std::slice::from_ref(&debs.app),
            Replace::Never,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("dists/unsigned/Release"), "{err}");
    assert!(!exists(storage, "dists/unsigned/InRelease").await);
    let err = repo.gc(Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(
        err.message().contains("dists/unsigned/Release")
            && err.message().contains("nothing deleted"),
        "{err}"
    );
    assert!(exists(storage, "pool/contrib/t/tool/tool_0.5_amd64.deb").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn suites_debpull_would_lose_packages_of_are_refused() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    refused(&peer, temp.path()).await;
}

/// aptly publishing again over a suite debpull took over (not supported):
/// what the documentation says happens does.
async fn aptly_afterwards(peer: &Peer, dir: &Path) {
    let debs = debs(dir);
    aptly_repos(&peer.aptly, &debs);
    peer.aptly.publish(&Publish {
        distribution: "staging",
        components: &[("main", "main-repo")],
        ..Publish::default()
    });
    let storage = &*peer.storage;
    let (repo, _, _) = debpull(peer, dir, true);
    repo.publish(
        "staging",
        "main",
        std::slice::from_ref(&debs.app),
        Replace::Never,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(listing(&repo, "staging").await.len(), 4);

    peer.aptly.update("staging");
    // aptly's view again, and its clean-up deleted debpull's pool file.
    assert_eq!(
        listing(&repo, "staging").await,
        [
            "data 2.0 (all)",
            "hello 1.0-1 (amd64)",
            "legacy 0.9 (amd64)"
        ]
    );
    assert!(!exists(storage, "pool/main/a/app/app_1.0_amd64.deb").await);
    // debpull builds on it again (with aptly's key among adopt_keys).
    repo.publish(
        "staging",
        "main",
        std::slice::from_ref(&debs.app),
        Replace::Never,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(listing(&repo, "staging").await.len(), 4);
    assert!(exists(storage, "pool/main/a/app/app_1.0_amd64.deb").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn aptly_republishing_drops_what_debpull_added() {
    let temp = tempfile::tempdir().unwrap();
    let peer = local_peer(temp.path());
    aptly_afterwards(&peer, temp.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aptly_republishing_to_s3_drops_what_debpull_added() {
    let temp = tempfile::tempdir().unwrap();
    let peer = s3_peer(temp.path());
    aptly_afterwards(&peer, temp.path()).await;
}
