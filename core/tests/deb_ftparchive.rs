//! Differential test: for real Debian .debs and for .debs we build with every
//! compression, `Package`'s Display (from `deb::inspect`) equals the stanza that
//! `apt-ftparchive packages` prints, Filename aside, byte for byte.

mod deb_common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use deb_common::*;
use debpull::deb::{self, Builder, Compression, InspectOptions};

/// Real packages with the fields that matter: Essential, Multi-Arch, Pre-Depends,
/// Built-Using, Important/Protected, long descriptions, architecture all.
const REAL: &[&str] = &[
    "base-files",
    "bash",
    "coreutils",
    "dpkg",
    "libc6",
    "zlib1g",
    "libzstd1",
    "libssl3",
    "ripgrep",
    "fd-find",
    "tzdata",
    "debconf",
    "python3-six",
    "ca-certificates",
    "apt",
    "vim-common",
    "init",
    "login",
    "util-linux",
    "libgcc-s1",
    "python3-numpy",
    "fonts-dejavu-core",
    "restic",
    "sensible-utils",
    "perl-base",
    "gcc-12-base",
    "libstdc++6",
    "needrestart",
    "hostname",
    "dash",
];

/// The real .debs, downloaded once into a cache under target/ (outside git).
fn real_debs() -> PathBuf {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deb-ftparchive-real");
    fs::create_dir_all(&cache).unwrap();
    let have = |name: &str| {
        fs::read_dir(&cache).unwrap().any(|e| {
            let file = e.unwrap().file_name().into_string().unwrap();
            file.starts_with(&format!("{name}_")) && file.ends_with(".deb")
        })
    };
    let missing: Vec<&str> = REAL.iter().copied().filter(|n| !have(n)).collect();
    if !missing.is_empty() {
        require("apt-get", "apt");
        let out = Command::new("apt-get")
            .arg("download")
            .args(&missing)
            .current_dir(&cache)
            .output()
            .expect("cannot run apt-get");
        assert!(
            out.status.success(),
            "`apt-get download` failed (run `apt-get update` first; the test needs Debian's archive):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    cache
}

/// `apt-ftparchive packages DIR` with MD5 + SHA256, stanzas by file name, Filename removed.
fn ftparchive(dir: &Path) -> BTreeMap<String, String> {
    require("apt-ftparchive", "apt-utils");
    let text = stdout(
        Command::new("apt-ftparchive")
            .args([
                "-o",
                "APT::FTPArchive::SHA1=false",
                "-o",
                "APT::FTPArchive::SHA512=false",
            ])
            .arg("packages")
            .arg(dir),
    );
    let mut stanzas = BTreeMap::new();
    for stanza in text.split("\n\n").filter(|s| !s.trim().is_empty()) {
        let mut file = None;
        let mut rest = String::new();
        for line in stanza.lines() {
            match line.strip_prefix("Filename: ") {
                Some(f) => {
                    file = Some(
                        Path::new(f)
                            .file_name()
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    )
                }
                None => {
                    rest.push_str(line);
                    rest.push('\n');
                }
            }
        }
        stanzas.insert(file.expect("stanza without Filename"), rest);
    }
    stanzas
}

fn compare(dir: &Path, expected_count: usize) {
    let expected = ftparchive(dir);
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), expected_count, "files in {}", dir.display());
    assert_eq!(
        expected.len(),
        paths.len(),
        "apt-ftparchive skipped files in {}",
        dir.display()
    );
    let all = deb::inspect_all(&paths, &InspectOptions::default());
    for (path, package) in paths.iter().zip(all) {
        let package = package.unwrap_or_else(|e| panic!("{e}"));
        let single = deb::inspect(path).unwrap();
        assert_eq!(single, package);
        let file = path.file_name().unwrap().to_string_lossy();
        let theirs = &expected[&*file];
        let ours = package.to_string();
        assert!(
            ours == *theirs,
            "{file}:\n--- apt-ftparchive\n{theirs}\n--- debpull\n{ours}"
        );
    }
}

#[test]
fn real_debian_packages_match_apt_ftparchive() {
    compare(&real_debs(), REAL.len());
}

#[test]
fn built_packages_match_apt_ftparchive() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let out = dir.path().join("debs");
    fs::create_dir(&out).unwrap();
    let mut count = 0;
    for control in Compression::ALL {
        for data in Compression::ALL {
            let name = format!(
                "built-{}{}",
                control.extension().trim_start_matches('.'),
                data.extension().replace('.', "-")
            );
            let mut builder = Builder::new(&tree)
                .field("Package", &name)
                .field("Version", "2:1.0+really0.9-1~bpo12+1")
                .field("Architecture", if count % 2 == 0 { "amd64" } else { "all" })
                .field("Maintainer", "Debpull Tests <tests@example.com>")
                .field("Source", "built-src (1.0)")
                .field("Essential", "yes")
                .field("Multi-Arch", "foreign")
                .field("Pre-Depends", "dpkg (>= 1.15.6~)")
                .field("Depends", "libc6 (>= 2.36), zlib1g")
                .field("Built-Using", "rustc (= 1.63.0+dfsg1-2)")
                .field("Static-Built-Using", "rust-regex (= 1.7.1-1)")
                .field("Section", "  utils ")
                .field("Priority", "optional")
                .field("Homepage", "https://example.com/built")
                .field("X-Custom", "kept")
                .field("Description", "built test package\n First line of the long description.\n .\n   Indented text, kept as is.\n Last line.");
            if count % 4 == 1 {
                // Rare fields, each with its place in apt's order.
                for (field, value) in [
                    ("Protected", "yes"),
                    ("Important", "yes"),
                    ("Build-Essential", "yes"),
                    ("Auto-Built-Package", "debug-symbols"),
                    ("Phased-Update-Percentage", "10"),
                    ("Description-md5", "0123456789abcdef0123456789abcdef"),
                    ("Original-Maintainer", "Someone <someone@example.com>"),
                    ("Recommends", "foo"),
                    ("Tag", "role::program"),
                    ("Task", "ssh-server"),
                    ("Built-For-Profiles", "noudeb"),
                    ("Package-Type", "deb"),
                ] {
                    builder = builder.field(field, value);
                }
            }
            if count % 4 == 3 {
                // Obsolete aliases apt no longer orders (nor rewrites).
                for (field, value) in [
                    ("Class", "standard"),
                    ("Recommended", "bar"),
                    ("Optional", "baz"),
                    ("Suggests", "qux"),
                    ("Revision", "7"),
                    ("Status", "install ok installed"),
                ] {
                    builder = builder.field(field, value);
                }
            }
            builder
                .control_compression(control)
                .data_compression(data)
                .mtime(1_700_000_000)
                .write_file(out.join(format!("{name}.deb")))
                .unwrap();
            count += 1;
        }
    }
    compare(&out, count);
}
