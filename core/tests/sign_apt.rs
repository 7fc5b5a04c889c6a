//! The real apt accepts what we sign: `apt-get update` (with a private
//! configuration, never the system's sources) on a small `file:` repository whose
//! Release apt-ftparchive wrote and whose InRelease / Release.gpg we signed, with
//! `signed-by=` an armored or a binary key; and it refuses a tampered InRelease.

use std::fs;
use std::path::Path;
use std::process::Command;

use debpull::sign::{KeyKind, SigningKey};

const HINT: &str = "these tests need apt and apt-ftparchive: apt-get install -y apt apt-utils";

/// A repository with one empty Packages index and apt-ftparchive's Release.
fn repository(root: &Path) -> String {
    let dists = root.join("repo/dists/test");
    let index = dists.join("main/binary-amd64");
    fs::create_dir_all(&index).unwrap();
    fs::write(index.join("Packages"), "").unwrap();
    let out = Command::new("apt-ftparchive")
        .args(["-o", "APT::FTPArchive::Release::Suite=test"])
        .args(["-o", "APT::FTPArchive::Release::Codename=test"])
        .args(["-o", "APT::FTPArchive::Release::Components=main"])
        .args(["-o", "APT::FTPArchive::Release::Architectures=amd64"])
        .arg("release")
        .arg(&dists)
        .output()
        .unwrap_or_else(|e| panic!("apt-ftparchive: {e}; {HINT}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let release = String::from_utf8(out.stdout).unwrap();
    fs::write(dists.join("Release"), &release).unwrap();
    release
}

/// Runs `apt-get update` on the repository with `signed-by=key`; returns apt's
/// output and whether it succeeded without a warning or error.
fn apt_update(root: &Path, key: &Path) -> (bool, String) {
    let state = root.join("state");
    let _ = fs::remove_dir_all(&state);
    for dir in [
        "state/lists/partial",
        "cache/archives/partial",
        "etc/parts",
        "log",
    ] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    fs::write(root.join("status"), "").unwrap();
    let sources = root.join("etc/sources.list");
    fs::write(
        &sources,
        format!(
            "deb [signed-by={}] file:{} test main\n",
            key.display(),
            root.join("repo").display()
        ),
    )
    .unwrap();
    let r = root.display();
    let config = format!(
        "Dir::State \"{r}/state\";\nDir::State::status \"{r}/status\";\nDir::Cache \"{r}/cache\";\n\
         Dir::Log \"{r}/log\";\nDir::Etc::SourceList \"{r}/etc/sources.list\";\n\
         Dir::Etc::SourceParts \"{r}/etc/parts\";\nDir::Etc::Trusted \"{r}/etc/trusted.gpg\";\n\
         Dir::Etc::TrustedParts \"{r}/etc/parts\";\nDir::Etc::Preferences \"{r}/etc/preferences\";\n\
         Dir::Etc::PreferencesParts \"{r}/etc/parts\";\nDir::Etc::Parts \"{r}/etc/parts\";\n\
         APT::Architecture \"amd64\";\nAcquire::Languages \"none\";\nAPT::Sandbox::User \"root\";\n"
    );
    fs::write(root.join("apt.conf"), config).unwrap();
    let out = Command::new("apt-get")
        .arg("update")
        .env("APT_CONFIG", root.join("apt.conf"))
        .output()
        .unwrap_or_else(|e| panic!("apt-get: {e}; {HINT}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let clean = out.status.success()
        && !text
            .lines()
            .any(|l| l.starts_with("W:") || l.starts_with("E:"));
    (clean, text)
}

#[test]
fn apt_accepts_our_inrelease_and_release_gpg() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let release = repository(root);
    let dists = root.join("repo/dists/test");
    for kind in [KeyKind::Ed25519, KeyKind::Rsa(3072)] {
        let key = SigningKey::generate("Apt <apt@example.org>", kind).unwrap();
        let armored = root.join("key.asc");
        let binary = root.join("key.gpg");
        fs::write(&armored, key.public_key_armored().unwrap()).unwrap();
        fs::write(&binary, key.public_key_binary().unwrap()).unwrap();
        let inrelease = key.clearsign(&release).unwrap();
        let detached = key.sign_detached(release.as_bytes()).unwrap();
        for key_file in [&armored, &binary] {
            // InRelease alone, then Release + Release.gpg alone.
            let _ = fs::remove_file(dists.join("Release.gpg"));
            fs::write(dists.join("InRelease"), &inrelease).unwrap();
            let (ok, out) = apt_update(root, key_file);
            assert!(
                ok,
                "{kind:?} {}: apt refused our InRelease:\n{out}",
                key_file.display()
            );

            fs::remove_file(dists.join("InRelease")).unwrap();
            fs::write(dists.join("Release.gpg"), &detached).unwrap();
            let (ok, out) = apt_update(root, key_file);
            assert!(
                ok,
                "{kind:?} {}: apt refused our Release.gpg:\n{out}",
                key_file.display()
            );
        }
        // A changed InRelease is refused (the oracle can say no).
        let _ = fs::remove_file(dists.join("Release.gpg"));
        fs::write(
            dists.join("InRelease"),
            inrelease.replacen("Suite: test", "Suite: tesT", 1),
        )
        .unwrap();
        let (ok, out) = apt_update(root, &armored);
        assert!(!ok, "apt accepted a tampered InRelease:\n{out}");
        assert!(out.contains("BADSIG"), "{out}");
    }
}
