//! The proof with the real client: three versions of an app published to
//! `staging`, one promoted to `production`; the real `apt-get` (private
//! configuration, `signed-by=` the test key) picks and downloads the expected
//! version from each suite, and refuses a tampered InRelease. The same over
//! plain HTTP from an S3 bucket (moto with authentication on) that only the
//! public-read ACL makes readable.

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

use debpull::Version;
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{self, S3Storage};
use private_apt::PrivateApt;
use std::sync::Arc;
use test_debs::build_deb;

/// A repository under `dir/repo` signed with a new key; its armored public key,
/// also written to `dir/repo-key.asc` for apt's signed-by.
fn signed_repository(
    dir: &std::path::Path,
    wait_for_new_second: bool,
) -> (Repository, String, std::path::PathBuf) {
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let public = key.public_key_armored().unwrap();
    let key_file = dir.join("repo-key.asc");
    std::fs::write(&key_file, &public).unwrap();
    let storage = storage::open(&format!("file://{}", dir.join("repo").display())).unwrap();
    let options = RepositoryOptions {
        origin: "debpull tests".into(),
        label: "app".into(),
        wait_for_new_second,
        ..RepositoryOptions::default()
    };
    (
        Repository::new(storage, key, options).unwrap(),
        public,
        key_file,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn apt_gets_the_published_and_promoted_versions() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (repo, public, key_file) = signed_repository(dir, true);

    let debs: Vec<_> = ["1.0.0", "1.1.0", "1.2.0~rc1"]
        .iter()
        .map(|v| build_deb(dir, "app", v, "amd64", ""))
        .chain([build_deb(dir, "app-data", "3", "all", "")])
        .collect();
    let report = repo
        .publish("staging", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.added.len(), 4);
    let promoted = repo
        .promote(
            "app",
            &Version::parse("1.1.0").unwrap(),
            "staging",
            "production",
        )
        .await
        .unwrap();
    assert_eq!(promoted.len(), 1);

    let trusted = TrustedKeys::from_bytes(public.as_bytes()).unwrap();
    let repo_dir = dir.join("repo");
    for (suite, expected, data) in [
        ("staging", "1.2.0~rc1", true),
        ("production", "1.1.0", false),
    ] {
        let apt = PrivateApt::new(
            &dir.join(format!("apt-{suite}")),
            &format!(
                "deb [signed-by={}] copy:{} {suite} main",
                key_file.display(),
                repo_dir.display()
            ),
        );
        apt.update()
            .unwrap_or_else(|out| panic!("apt-get update of {suite} failed:\n{out}"));
        assert_eq!(apt.candidate("app").as_deref(), Some(expected), "{suite}");
        assert_eq!(
            apt.candidate("app-data").is_some(),
            data,
            "{suite}: app-data"
        );
        let downloaded = apt
            .download("app")
            .unwrap_or_else(|out| panic!("{suite}: {out}"));
        // apt may escape characters of the version in the cache's file names.
        let names = [
            format!("app_{expected}_amd64.deb"),
            format!("app_{}_amd64.deb", expected.replace('~', "%7e")),
        ];
        assert!(
            downloaded.iter().any(|d| names.contains(d)),
            "{suite}: {downloaded:?}"
        );
        let report = repo.verify(suite, &trusted).await.unwrap();
        assert!(
            report.pool_files >= 1 && report.index_files >= 3,
            "{report:?}"
        );
    }

    // One byte changed in the signed text: apt refuses the suite.
    let inrelease = repo_dir.join("dists/staging/InRelease");
    let text = std::fs::read_to_string(&inrelease).unwrap();
    std::fs::write(&inrelease, text.replacen("Label: app", "Label: apq", 1)).unwrap();
    let apt = PrivateApt::new(
        &dir.join("apt-tampered"),
        &format!(
            "deb [signed-by={}] file:{} staging main",
            key_file.display(),
            repo_dir.display()
        ),
    );
    let refused = apt.update().expect_err("apt accepted a tampered InRelease");
    assert!(
        refused.contains("signature")
            || refused.contains("BADSIG")
            || refused.contains("not signed"),
        "{refused}"
    );
    assert_eq!(apt.candidate("app"), None);
    let err = repo.verify("staging", &trusted).await.unwrap_err();
    assert_eq!(err.kind(), debpull::ErrorKind::Verification, "{err}");
}

/// A staged rollout's `Phased-Update-Percentage` stanza field: apt accepts
/// the signed suite, reads the field (its policy says "phased N%"), and after
/// the rollout completes (100) the field is gone.
#[tokio::test(flavor = "multi_thread")]
async fn apt_accepts_and_reads_a_phased_version() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (repo, _, key_file) = signed_repository(dir, true);
    let options = debpull::repo::PublishOptions {
        percentage: Some(30),
        ..Default::default()
    };
    repo.publish_with(
        "staging",
        "main",
        &[build_deb(dir, "app", "1.0", "amd64", "")],
        &options,
        &|_| {},
    )
    .await
    .unwrap();
    let policy = |name: &str| {
        let apt = PrivateApt::new(
            &dir.join(name),
            &format!(
                "deb [signed-by={}] copy:{} staging main",
                key_file.display(),
                dir.join("repo").display()
            ),
        );
        apt.update()
            .unwrap_or_else(|out| panic!("apt-get update of a phased suite failed:\n{out}"));
        assert_eq!(apt.candidate("app").as_deref(), Some("1.0"));
        let out = std::process::Command::new("apt-cache")
            .args(["policy", "app"])
            .env("APT_CONFIG", apt.dir.join("apt.conf"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = policy("apt-30");
    assert!(text.contains("(phased 30%)"), "{text}");
    let packages =
        std::fs::read_to_string(dir.join("repo/dists/staging/main/binary-amd64/Packages")).unwrap();
    // In apt-ftparchive's place: after Source/Origin, before Maintainer.
    let field = packages.find("Phased-Update-Percentage: 30\n").unwrap();
    assert!(field < packages.find("Maintainer:").unwrap(), "{packages}");
    repo.phase("staging", "app", &Version::parse("1.0").unwrap(), 100)
        .await
        .unwrap();
    let text = policy("apt-100");
    assert!(!text.contains("phased"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_grown_by_appends_are_read_whole_by_apt() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (repo, public, key_file) = signed_repository(dir, false);
    // One package per publish: each one appends to the index files, and past
    // 32 appended blocks the files are compressed from scratch again.
    for i in 0..40 {
        let deb = build_deb(dir, &format!("pkg{i:02}"), "1.0", "amd64", "");
        repo.publish("grow", "main", &[deb], Replace::Never, &|_| {})
            .await
            .unwrap();
    }
    let xz = dir.join("repo/dists/grow/main/binary-amd64/Packages.xz");
    let listing = std::process::Command::new("xz")
        .args(["--list", "--robot"])
        .arg(&xz)
        .output()
        .expect("run xz (package xz-utils)");
    let listing = String::from_utf8_lossy(&listing.stdout);
    let totals: Vec<&str> = listing
        .lines()
        .find(|l| l.starts_with("totals"))
        .unwrap()
        .split('\t')
        .collect();
    assert_eq!(totals[1], "1", "one stream: {listing}");
    let blocks: u64 = totals[2].parse().unwrap();
    assert!((2..=33).contains(&blocks), "{blocks} blocks: {listing}");

    let apt = PrivateApt::new(
        &dir.join("apt"),
        &format!(
            "deb [signed-by={}] file:{} grow main",
            key_file.display(),
            dir.join("repo").display()
        ),
    );
    apt.update().unwrap_or_else(|out| panic!("{out}"));
    for i in [0, 17, 31, 32, 39] {
        assert_eq!(
            apt.candidate(&format!("pkg{i:02}")).as_deref(),
            Some("1.0"),
            "pkg{i:02}"
        );
    }
    let trusted = TrustedKeys::from_bytes(public.as_bytes()).unwrap();
    assert_eq!(repo.verify("grow", &trusted).await.unwrap().packages, 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn apt_reads_a_repository_in_s3_over_http_through_the_public_read_acl() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    // Authentication on: an anonymous reader (apt) gets only what the ACL opens.
    let moto = moto::Moto::shared_with_auth();
    let bucket = moto.create_bucket("apt-http");
    let credentials = moto.credentials();
    let mut options = backends::s3_options(moto, &bucket, credentials);
    options.prefix = "debian".to_owned();
    options.acl = Some("public-read".to_owned());
    let store = Arc::new(S3Storage::new(options).unwrap());
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let key_file = dir.join("repo-key.asc");
    std::fs::write(&key_file, key.public_key_armored().unwrap()).unwrap();
    let repo = Repository::new(store, key, RepositoryOptions::default()).unwrap();

    // '+' and '~' in pool keys, an epoch (':') in a version.
    let debs = [
        build_deb(dir, "app", "1.0+git1~rc1-1", "amd64", ""),
        build_deb(dir, "app", "1:0.9", "amd64", ""),
        build_deb(dir, "app-data", "3", "all", ""),
    ];
    repo.publish("staging", "main", &debs, Replace::Never, &|_| {})
        .await
        .unwrap();
    let apt = PrivateApt::new(
        &dir.join("apt"),
        &format!(
            "deb [signed-by={}] {}/debian staging main",
            key_file.display(),
            moto.bucket_url(&bucket)
        ),
    );
    apt.update()
        .unwrap_or_else(|out| panic!("apt-get update over HTTP failed:\n{out}"));
    assert_eq!(apt.candidate("app").as_deref(), Some("1:0.9"));
    assert_eq!(apt.candidate("app-data").as_deref(), Some("3"));
    for (package, file) in [
        ("app", "app_1%3a0.9_amd64.deb"),
        ("app-data", "app-data_3_all.deb"),
    ] {
        let downloaded = apt
            .download(package)
            .unwrap_or_else(|out| panic!("download {package}: {out}"));
        assert!(
            downloaded.iter().any(|d| d == file),
            "{package}: {downloaded:?}"
        );
    }
    // A second publish: apt follows the new snapshot (by-hash indexes).
    // At once: a rewrite within the same second as the last one would get a 304
    // to apt's If-Modified-Since if the publisher did not wait for a new second.
    let newer = build_deb(dir, "app", "1:1.0~beta+b2", "amd64", "");
    repo.publish("staging", "main", &[newer], Replace::Never, &|_| {})
        .await
        .unwrap();
    apt.update().unwrap_or_else(|out| panic!("{out}"));
    assert_eq!(apt.candidate("app").as_deref(), Some("1:1.0~beta+b2"));
    let downloaded = apt.download("app").unwrap_or_else(|out| panic!("{out}"));
    assert!(
        downloaded
            .iter()
            .any(|d| d.starts_with("app_1%3a1.0") && d.contains("beta")),
        "{downloaded:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apt_fetches_indexes_by_hash_under_the_strongest_hash_listed() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let key_file = dir.join("repo-key.asc");
    std::fs::write(&key_file, key.public_key_armored().unwrap()).unwrap();
    let storage = storage::open(&format!("file://{}", dir.join("repo").display())).unwrap();
    let options = RepositoryOptions {
        algorithms: debpull::checksum::Algorithms::ALL,
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(storage, key, options).unwrap();
    let deb = build_deb(dir, "app", "1.0", "amd64", "");
    repo.publish("s", "main", &[deb], Replace::Never, &|_| {})
        .await
        .unwrap();
    let apt = PrivateApt::new(
        &dir.join("apt"),
        &format!(
            "deb [signed-by={}] copy:{} s main",
            key_file.display(),
            dir.join("repo").display()
        ),
    );
    let out = apt.apt_get(&["-o", "Debug::pkgAcquire::Worker=1", "update"]);
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("binary-amd64/by-hash/SHA512/"),
        "apt asked for the SHA512 by-hash file: {text}"
    );
    // Found at once: no failed fetch, no fallback to the plain path.
    assert!(
        !text.contains("URI%20Failure") && !text.contains("\nIgn:"),
        "{text}"
    );
    assert!(!text.contains("\nW:") && !text.contains("\nE:"), "{text}");
    assert_eq!(apt.candidate("app").as_deref(), Some("1.0"));
}
