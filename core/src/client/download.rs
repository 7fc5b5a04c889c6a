//! The `.deb` cache, `<state_dir>/debs/`: a candidate's file streamed from the
//! source's storage, its size capped at the Packages `Size` and its SHA256 (or
//! SHA512) computed while streaming; only a file that verifies is renamed from
//! `.deb.part` to `.deb`. A cached file that verifies is reused. The cache keeps
//! the installed version and the one before it (for a rollback).

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::checksum::{self, Algorithm, Algorithms, Checksums, Hasher};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;
use crate::storage::{Storage, check_key};
use crate::version::Version;

/// The read buffer of a download.
const CHUNK: usize = 64 * 1024;

/// `<state_dir>/debs`.
pub(crate) fn debs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("debs")
}

/// The cache file name of a version of a package: `<name>_<version>_<arch>.deb`,
/// an epoch's `:` written `%3a` as apt does.
pub(crate) fn file_name(name: &str, version: &Version, arch: &str) -> String {
    format!("{}{arch}.deb", prefix(name, version))
}

/// `<name>_<version>_`: what every cached file of that version starts with.
fn prefix(name: &str, version: &Version) -> String {
    format!("{name}_{}_", version.as_str().replace(':', "%3a"))
}

/// The `.deb` of `package`, verified, in `dir`: the cached file if it matches the
/// Packages stanza, else downloaded from `storage`.
///
/// Errors: a stanza without Filename or without a SHA256/SHA512 checksum
/// ([`ErrorKind::Verification`]: nothing trustworthy to check against); more
/// bytes than `Size` ([`ErrorKind::LimitExceeded`], the transfer cut off);
/// fewer, or a checksum that differs ([`ErrorKind::Verification`]); a broken
/// transfer ([`ErrorKind::Storage`]). On every error no `.deb` and no
/// `.deb.part` of it is left behind. Messages name the key.
pub(crate) async fn fetch(storage: &dyn Storage, package: &Package, dir: &Path) -> Result<PathBuf> {
    let key = package.filename().ok_or_else(|| {
        Error::new(
            ErrorKind::Verification,
            format!(
                "{} {}: the Packages stanza has no Filename",
                package.name(),
                package.version()
            ),
        )
    })?;
    check_key(key)?;
    let expected = strong_checksums(package, key)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let path = dir.join(file_name(
        package.name(),
        package.version(),
        package.architecture(),
    ));
    if path.exists() {
        match verify_file(&path, package.size(), &expected).await {
            Ok(()) => return Ok(path),
            Err(_) => remove(&path),
        }
    }
    let part = path.with_extension("deb.part");
    let result = stream_to(storage, key, &part, package.size(), &expected).await;
    if let Err(e) = result {
        remove(&part);
        return Err(e);
    }
    std::fs::rename(&part, &path).map_err(|e| {
        remove(&part);
        Error::io(path.display(), e)
    })?;
    if let Ok(dir) = std::fs::File::open(dir) {
        // The rename is durable once the directory is: best effort.
        let _ = dir.sync_all();
    }
    Ok(path)
}

/// A cached `.deb` of `name` at `version` for `arch` or `all`, if any.
pub(crate) fn cached(dir: &Path, name: &str, version: &Version, arch: &str) -> Option<PathBuf> {
    [arch, "all"]
        .into_iter()
        .map(|a| dir.join(file_name(name, version, a)))
        .find(|p| p.is_file())
}

/// Deletes the cached files of `name` (`.deb`s and leftover `.deb.part`s)
/// except those of the versions in `keep`. Best effort: the cache is only a cache.
pub(crate) fn prune(dir: &Path, name: &str, keep: &[&Version]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = format!("{name}_");
    let kept: Vec<String> = keep.iter().map(|v| prefix(name, v)).collect();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let is_deb = file.ends_with(".deb") || file.ends_with(".deb.part");
        // `name_` could start another package's name only if that name had a
        // `_`, which package names cannot have.
        if is_deb && file.starts_with(&ours) && !kept.iter().any(|k| file.starts_with(k)) {
            remove(&entry.path());
        }
    }
}

/// The strong checksums (SHA256, SHA512) of the stanza; none is an error.
fn strong_checksums(package: &Package, key: &str) -> Result<Checksums> {
    let strong = package.checksums().restricted_to(
        Algorithms::NONE
            .with(Algorithm::Sha256)
            .with(Algorithm::Sha512),
    );
    if strong.algorithms() == Algorithms::NONE {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "{key}: the Packages stanza of {} {} has no SHA256 or SHA512 checksum",
                package.name(),
                package.version()
            ),
        ));
    }
    Ok(strong)
}

/// Streams `key` into `part` (created afresh), cut off past `size` bytes,
/// hashed on the way, synced to disk once it verifies.
async fn stream_to(
    storage: &dyn Storage,
    key: &str,
    part: &Path,
    size: u64,
    expected: &Checksums,
) -> Result<()> {
    let at_key = |e: Error| e.context(format_args!("{storage}: {key}"));
    let mut stream = storage.get_stream(key).await.map_err(at_key)?;
    if stream.size > size {
        return Err(at_key(too_large(size, stream.size)));
    }
    let mut file = tokio::fs::File::create(part)
        .await
        .map_err(|e| Error::io(part.display(), e))?;
    let mut hasher = Hasher::new(expected.algorithms());
    let mut buf = vec![0u8; CHUNK];
    loop {
        // One byte more than allowed is read, to notice an overlong body
        // without reading the rest of it.
        let room = (size + 1 - hasher.len()).min(CHUNK as u64) as usize;
        let n = stream.reader.read(&mut buf[..room]).await.map_err(|e| {
            at_key(
                Error::new(
                    ErrorKind::Storage,
                    format!(
                        "the download broke off after {} of {size} bytes: {e}",
                        hasher.len()
                    ),
                )
                .with_source(e),
            )
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if hasher.len() > size {
            return Err(at_key(too_large(size, hasher.len())));
        }
        file.write_all(&buf[..n])
            .await
            .map_err(|e| Error::io(part.display(), e))?;
    }
    check_digest(hasher, size, expected).map_err(at_key)?;
    file.sync_all()
        .await
        .map_err(|e| Error::io(part.display(), e))?;
    Ok(())
}

/// Hashes the file at `path` and compares it with `size` and `expected`.
async fn verify_file(path: &Path, size: u64, expected: &Checksums) -> Result<()> {
    let path = path.to_owned();
    let expected = expected.clone();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| Error::io(path.display(), e))?;
        let mut hasher = Hasher::new(expected.algorithms());
        std::io::copy(&mut std::io::Read::take(file, size + 1), &mut hasher)
            .map_err(|e| Error::io(path.display(), e))?;
        check_digest(hasher, size, &expected).map_err(|e| e.context(path.display()))
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, format!("hashing a cached .deb: {e}")))?
}

fn check_digest(hasher: Hasher, size: u64, expected: &Checksums) -> Result<()> {
    let got = hasher.len();
    if got != size {
        return Err(Error::new(
            ErrorKind::Verification,
            format!("{got} bytes where the Packages index says {size}"),
        ));
    }
    let digests = hasher.finish();
    digests.verify(expected).map_err(|mismatch| {
        let detail = match mismatch {
            checksum::Mismatch::Differs(algorithm) => format!(
                " (expected {}, got {})",
                expected.hex(algorithm).unwrap_or_default(),
                digests.hex(algorithm).unwrap_or_default()
            ),
            checksum::Mismatch::NoStrongChecksum => String::new(),
        };
        Error::new(
            ErrorKind::Verification,
            format!("{mismatch} from the Packages index{detail}"),
        )
    })
}

fn too_large(size: u64, got: u64) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("more than the {size} bytes the Packages index says (at least {got}): cut off"),
    )
}

fn remove(path: &Path) {
    // Nothing to do about a file that cannot be removed: the next run
    // truncates a `.part` and re-verifies a `.deb`.
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn file_names_escape_the_epoch() {
        assert_eq!(
            file_name("app", &v("1:2.0-1"), "amd64"),
            "app_1%3a2.0-1_amd64.deb"
        );
    }

    #[test]
    fn prune_keeps_the_given_versions_of_the_package_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "app_1.0_amd64.deb",
            "app_1.1_amd64.deb",
            "app_1.2_all.deb",
            "app_1.3_amd64.deb.part",
            "app-extra_1.0_amd64.deb",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(f), f).unwrap();
        }
        prune(dir.path(), "app", &[&v("1.1"), &v("1.2")]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "app-extra_1.0_amd64.deb",
                "app_1.1_amd64.deb",
                "app_1.2_all.deb",
                "notes.txt"
            ]
        );
        assert_eq!(
            cached(dir.path(), "app", &v("1.2"), "amd64").unwrap(),
            dir.path().join("app_1.2_all.deb")
        );
        assert!(cached(dir.path(), "app", &v("1.0"), "amd64").is_none());
    }
}
