//! The packages of the publish benchmarks (`publish.rs`, `publish_s3.rs`), built
//! once with `deb::Builder` into one cache directory that both share:
//! `$DEBPULL_BENCH_CACHE/publish/debs` (default `/var/cache/debpull-bench`).
//!
//! `pkg00000`…`pkg09999` are the suite's existing packages, `new00`… the new
//! ones the benchmarks publish one at a time. A file is the same bytes whichever
//! benchmark builds it (fixed mtime, fixed content), so the cache is built once.

use std::path::{Path, PathBuf};
use std::process::Command;

use debpull::deb::Builder;
use debpull::sign::SigningKey;

/// The cache directory of the packages.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("DEBPULL_BENCH_CACHE").unwrap_or_else(|_| "/var/cache/debpull-bench".into()),
    )
    .join("publish")
    .join("debs")
}

/// The `.deb`s `pkg00000`… (`existing` of them) then `new00`… (`new` of them),
/// built into `dir` unless they are there already.
pub fn packages(dir: &Path, existing: usize, new: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let tree = dir.join("tree");
    let names: Vec<String> = (0..existing)
        .map(|i| format!("pkg{i:05}"))
        .chain((0..new).map(|i| format!("new{i:02}")))
        .collect();
    names
        .iter()
        .map(|name| {
            let deb = dir.join(format!("{name}_1.0-1_amd64.deb"));
            if !deb.exists() {
                let share = tree.join("usr/share").join(name);
                std::fs::create_dir_all(&share).unwrap();
                std::fs::write(share.join("README"), format!("{name}: a package of the publish benchmark\n")).unwrap();
                let partial = deb.with_extension("partial");
                Builder::new(&tree)
                    .field("Package", name)
                    .field("Version", "1.0-1")
                    .field("Architecture", "amd64")
                    .field("Maintainer", "debpull bench <bench@example.org>")
                    .field("Depends", "libc6 (>= 2.36)")
                    .field("Section", "misc")
                    .field("Priority", "optional")
                    .field("Description", format!("benchmark package {name}\n One of the packages of debpull's publish benchmark."))
                    .mtime(1_700_000_000)
                    .write_file(&partial)
                    .unwrap();
                std::fs::rename(&partial, &deb).unwrap();
                std::fs::remove_dir_all(&share).unwrap();
            }
            deb
        })
        .collect()
}

/// Gives gpg (for aptly) the same secret key, in a new GNUPGHOME at `gnupg`.
pub fn import_into_gpg(key: &SigningKey, gnupg: &Path) {
    std::fs::create_dir_all(gnupg).unwrap();
    std::fs::set_permissions(gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let secret = gnupg.join("secret.asc");
    std::fs::write(&secret, key.to_armored_secret(None).unwrap()).unwrap();
    run(Command::new("gpg")
        .args(["--batch", "--import"])
        .arg(&secret)
        .env("GNUPGHOME", gnupg));
}

/// Runs `command`; its standard output, or a panic with everything it said.
pub fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
