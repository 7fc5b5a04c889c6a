//! Packages and Release parsing on Debian's own files, as `apt-get update` left
//! them in /var/lib/apt/lists: every stanza of every Packages index becomes a
//! `Package`, every InRelease text a `Release`, and the checksums Debian's
//! Release gives for a Packages index match that index.

#[allow(dead_code)]
#[path = "support/apt_lists.rs"]
mod apt_lists;

use std::path::PathBuf;

use debpull::checksum::{self, Algorithm, Algorithms};
use debpull::control;
use debpull::index::{Packages, Release};

/// The InRelease files of Debian's archive in /var/lib/apt/lists.
fn debian_inreleases() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/var/lib/apt/lists")
        .expect("/var/lib/apt/lists: run `apt-get update`")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("deb.debian.org_") && name.ends_with("_InRelease")
        })
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no Debian InRelease in /var/lib/apt/lists: run `apt-get update`"
    );
    found
}

/// The signed text of a clearsigned message (RFC 4880 §7), for files whose
/// lines need no dash-unescaping (checked). Verification is not this test's job.
fn cleartext(message: &str) -> &str {
    let body = message
        .strip_prefix("-----BEGIN PGP SIGNED MESSAGE-----\n")
        .expect("clearsigned message");
    let start = body.find("\n\n").expect("armor headers end") + 2;
    let end = body
        .find("\n-----BEGIN PGP SIGNATURE-----")
        .expect("signature");
    let text = &body[start..=end];
    assert!(
        !text.lines().any(|l| l.starts_with('-')),
        "dash-escaped lines"
    );
    text
}

#[test]
fn every_debian_packages_stanza_is_a_package_and_round_trips() {
    let mut total = 0;
    for path in apt_lists::packages_files() {
        let text = apt_lists::cat(&path);
        let index = Packages::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stanzas = control::paragraphs(&text).count();
        assert_eq!(index.len(), stanzas, "{}", path.display());
        // Every field of every stanza survives, value for value (order is apt-ftparchive's).
        for (package, paragraph) in index.iter().zip(control::paragraphs(&text)) {
            let paragraph = paragraph.unwrap();
            let rendered = package.to_string();
            let again = control::paragraphs(&rendered).next().unwrap().unwrap();
            assert_eq!(again.len(), paragraph.len(), "{}", package.name());
            for field in paragraph.fields() {
                assert_eq!(
                    again.get(field.name()),
                    Some(field.value()),
                    "{} {}",
                    package.name(),
                    field.name()
                );
            }
        }
        assert_eq!(
            Packages::parse(&index.to_string()).unwrap(),
            index,
            "{}",
            path.display()
        );
        total += index.len();
    }
    assert!(
        total > 50_000,
        "only {total} packages: is Debian's main index there?"
    );
}

#[test]
fn debian_inrelease_texts_parse_and_round_trip() {
    for path in debian_inreleases() {
        let message = std::fs::read_to_string(&path).unwrap();
        let release = Release::parse(cleartext(&message))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            release.origin.as_deref(),
            Some("Debian"),
            "{}",
            path.display()
        );
        assert!(release.suite.is_some() && release.codename.is_some());
        assert!(release.date.is_some(), "{}: Date", path.display());
        assert!(release.acquire_by_hash);
        assert!(
            release
                .components
                .iter()
                .any(|c| c == "main" || c.ends_with("/main"))
        );
        assert!(release.architectures.iter().any(|a| a == "amd64"));
        assert!(release.files.len() > 10);
        assert!(
            release.algorithms().contains(Algorithm::Sha256),
            "apt relies on SHA256"
        );
        assert_eq!(Release::parse(&release.to_string()).unwrap(), release);
    }
}

#[test]
fn debian_release_checksums_match_the_packages_index() {
    let path = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease";
    let message = std::fs::read_to_string(path).expect("bookworm InRelease: run `apt-get update`");
    let release = Release::parse(cleartext(&message)).unwrap();
    let listed = release
        .file("main/binary-amd64/Packages")
        .expect("Packages listed");
    let packages = apt_lists::packages_files()
        .into_iter()
        .find(|p| {
            p.to_string_lossy()
                .contains("debian_dists_bookworm_main_binary-amd64_Packages")
        })
        .expect("bookworm main amd64 Packages");
    let text = apt_lists::cat(&packages);
    assert_eq!(listed.size, text.len() as u64);
    let sums = checksum::of_bytes(text.as_bytes(), Algorithms::DEFAULT);
    assert_eq!(listed.checksums.verify(&sums), Ok(()));
    assert!(listed.checksums.get(Algorithm::Sha256).is_some());
}
