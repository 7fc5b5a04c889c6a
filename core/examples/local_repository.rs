//! The main job on the embedded default, a local directory: builds three versions
//! of an app as `.deb`s, lays them out as an apt repository suite (pool, Packages,
//! Packages.gz, Packages.xz, Release), then reads the suite back the way a server
//! does: Release → Packages (size and SHA256 checked) → candidate → pool file.
//!
//! Usage: `cargo run --release --example local_repository -- [DIR]` (default
//! `./demo-repo`). Signing, promotion and the update client come with the
//! repository and client modules; this repository is not signed yet.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use debpull::Package;
use debpull::checksum::{self, Algorithms};
use debpull::compress::{Bounds, Compression};
use debpull::deb::{self, Builder, InspectOptions};
use debpull::index::{Packages, Release, ReleaseFile};

const SUITE: &str = "staging";
const COMPONENT: &str = "main";
const ARCH: &str = "amd64";

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("demo-repo"), PathBuf::from);
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local_repository: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(repo: &Path) -> debpull::Result<()> {
    let work = repo.join(".build");
    let mut debs = Vec::new();
    for version in ["1.0.0-1", "1.1.0-1", "1.2.0~rc1-1"] {
        debs.push(build_app(&work, version)?);
    }

    // Publish: every .deb into the pool, one Packages index, one Release.
    let mut index = Packages::new();
    for result in deb::inspect_all(&debs, &InspectOptions::default()) {
        let mut package = result?;
        let pool_path = package.pool_path(COMPONENT);
        let built = work.join(file_name(&pool_path));
        copy(&built, &repo.join(&pool_path))?;
        package.set_filename(pool_path)?;
        println!(
            "published {} {} ({} bytes, sha256 {})",
            package.name(),
            package.version(),
            package.size(),
            package.sha256_hex().unwrap_or_default()
        );
        index.push(package);
    }
    index.sort();
    let suite_dir = repo.join("dists").join(SUITE);
    let text = index.to_string();
    let mut release = Release {
        origin: Some("debpull demo".into()),
        label: Some("app".into()),
        suite: Some(SUITE.into()),
        codename: Some(SUITE.into()),
        date: Some(SystemTime::now()),
        valid_until: Some(SystemTime::now() + Duration::from_secs(7 * 86_400)),
        acquire_by_hash: false,
        architectures: vec![ARCH.into()],
        components: vec![COMPONENT.into()],
        ..Release::default()
    };
    for compression in [Compression::None, Compression::Gzip, Compression::Xz] {
        let path = format!(
            "{COMPONENT}/binary-{ARCH}/Packages{}",
            compression.extension()
        );
        let bytes = compression.compress(text.as_bytes())?;
        write(&suite_dir.join(&path), &bytes)?;
        release.files.push(ReleaseFile {
            path,
            size: bytes.len() as u64,
            checksums: checksum::of_bytes(&bytes, Algorithms::DEFAULT),
        });
    }
    write(&suite_dir.join("Release"), release.to_string().as_bytes())?;
    println!(
        "wrote {} (unsigned: signing comes with the repository module)",
        suite_dir.join("Release").display()
    );

    // Pull: what a server does to find its update.
    let release = Release::parse(&read_text(&suite_dir.join("Release"))?)?;
    let listed = release
        .file(&format!("{COMPONENT}/binary-{ARCH}/Packages.xz"))
        .ok_or_else(|| {
            debpull::Error::new(
                debpull::ErrorKind::NotFound,
                "Packages.xz is not in Release",
            )
        })?;
    let packed = read(&suite_dir.join(&listed.path))?;
    verify(&packed, listed)?;
    let index = Packages::parse_compressed(&packed, Compression::Xz, Bounds::output(64 << 20))?;
    let candidate = index
        .candidate("app", ARCH)
        .ok_or_else(|| debpull::Error::new(debpull::ErrorKind::NotFound, "no candidate for app"))?;
    let deb = read(&repo.join(candidate.filename().unwrap_or_default()))?;
    check_pool_file(&deb, candidate)?;
    println!(
        "candidate for {ARCH}: app {} ({}), pool file verified",
        candidate.version(),
        candidate.filename().unwrap_or_default()
    );
    std::fs::remove_dir_all(&work).map_err(|e| debpull::Error::io(work.display(), e))?;
    Ok(())
}

/// Builds `app` at `version`: a script under /usr/bin and a README.
fn build_app(work: &Path, version: &str) -> debpull::Result<PathBuf> {
    let root = work.join(format!("app-{version}"));
    write(
        &root.join("usr/bin/app"),
        format!("#!/bin/sh\necho app {version}\n").as_bytes(),
    )?;
    write(
        &root.join("usr/share/doc/app/README"),
        b"The demo app of debpull.\n",
    )?;
    let output = work.join(format!(
        "app_{}_{ARCH}.deb",
        version.split_once(':').map_or(version, |(_, v)| v)
    ));
    Builder::new(&root)
        .field("Package", "app")
        .field("Version", version)
        .field("Architecture", ARCH)
        .field("Maintainer", "Demo <demo@example.org>")
        .field("Section", "misc")
        .field("Priority", "optional")
        .field(
            "Description",
            "demo app\n Built by debpull's local_repository example.",
        )
        .mtime(1_700_000_000)
        .write_file(&output)?;
    Ok(output)
}

fn verify(bytes: &[u8], listed: &ReleaseFile) -> debpull::Result<()> {
    let sums = checksum::of_bytes(bytes, Algorithms::DEFAULT);
    if bytes.len() as u64 != listed.size || sums.verify(&listed.checksums).is_err() {
        return Err(debpull::Error::new(
            debpull::ErrorKind::Verification,
            format!("{}: size or checksum differs from Release", listed.path),
        ));
    }
    Ok(())
}

fn check_pool_file(bytes: &[u8], package: &Package) -> debpull::Result<()> {
    let sums = checksum::of_bytes(bytes, Algorithms::DEFAULT);
    if bytes.len() as u64 != package.size() || sums.verify(package.checksums()).is_err() {
        return Err(debpull::Error::new(
            debpull::ErrorKind::Verification,
            format!(
                "{}: size or checksum differs from Packages",
                package.filename().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn write(path: &Path, bytes: &[u8]) -> debpull::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| debpull::Error::io(parent.display(), e))?;
    }
    std::fs::write(path, bytes).map_err(|e| debpull::Error::io(path.display(), e))
}

fn copy(from: &Path, to: &Path) -> debpull::Result<()> {
    write(to, &read(from)?)
}

fn read(path: &Path) -> debpull::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| debpull::Error::io(path.display(), e))
}

fn read_text(path: &Path) -> debpull::Result<String> {
    String::from_utf8(read(path)?).map_err(|_| {
        debpull::Error::new(
            debpull::ErrorKind::Parse,
            format!("{}: not UTF-8", path.display()),
        )
    })
}
