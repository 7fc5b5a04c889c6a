//! Versions from Debian's real Packages files, as `apt-get update` leaves them
//! in /var/lib/apt/lists (lz4-compressed there; apt-helper decompresses).

use std::path::{Path, PathBuf};
use std::process::Command;

const LISTS: &str = "/var/lib/apt/lists";
const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// The Packages files in /var/lib/apt/lists, sorted by name; fails (with the
/// command to run) when there are none.
pub fn packages_files() -> Vec<PathBuf> {
    let entries = std::fs::read_dir(LISTS)
        .unwrap_or_else(|e| panic!("{LISTS}: {e}; run `apt-get update` to fetch Packages files"));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("reading the apt lists directory").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with("_Packages") || name.contains("_Packages.")
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no Packages files in {LISTS}: run `apt-get update` (as root) first"
    );
    files
}

/// The decompressed text of one apt lists file.
pub fn cat(path: &Path) -> String {
    let out = Command::new(APT_HELPER)
        .arg("cat-file")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{APT_HELPER} cat-file {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{APT_HELPER} cat-file {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("Packages files are UTF-8")
}

/// Every `Version:` value, and the version of every `Source: name (version)`,
/// in all Packages files, in file order (with repeats).
pub fn real_versions() -> Vec<String> {
    let mut versions = Vec::new();
    for file in packages_files() {
        for line in cat(&file).lines() {
            if let Some(v) = line.strip_prefix("Version:") {
                versions.push(v.trim().to_owned());
            } else if let Some(source) = line.strip_prefix("Source:")
                && let Some((_, v)) = source.split_once('(')
            {
                versions.push(v.trim_end().trim_end_matches(')').trim().to_owned());
            }
        }
    }
    assert!(
        versions.len() > 1000,
        "only {} versions found in the Packages files of {LISTS}: run `apt-get update`",
        versions.len()
    );
    versions
}
