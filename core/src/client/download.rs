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
/// How many times one run resumes a body that broke off.
const MAX_RESUMES: u32 = 3;
/// The first wait before resuming (doubling, with jitter).
const RESUME_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

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
/// transfer ([`ErrorKind::Storage`]), after resuming it a few times. On every
/// error no `.deb` is left behind, and a `.deb.part` only after a broken
/// transfer (for the next run to resume). Messages name the key.
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
    let resuming = std::fs::metadata(&part).is_ok_and(|m| m.len() > 0);
    let mut result = stream_to(storage, key, &part, package.size(), &expected).await;
    if resuming
        && result
            .as_ref()
            .is_err_and(|e| e.kind() == ErrorKind::Verification)
    {
        // What an earlier run left may be another file's beginning: once afresh.
        remove(&part);
        result = stream_to(storage, key, &part, package.size(), &expected).await;
    }
    if let Err(e) = result {
        // A transfer that broke off is resumed by the next run; anything else
        // (a mismatch, an overlong body, a local failure) starts again.
        if e.kind() != ErrorKind::Storage {
            remove(&part);
        }
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

/// Deletes the cached files of `name` (`.deb`s, leftover `.deb.part`s, failure records)
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
        let is_deb = [".deb", ".deb.part", FAILED]
            .iter()
            .any(|x| file.ends_with(x));
        // `name_` could start another package's name only if that name had a
        // `_`, which package names cannot have.
        if is_deb && file.starts_with(&ours) && !kept.iter().any(|k| file.starts_with(k)) {
            remove(&entry.path());
        }
    }
}

/// The suffix of a failure record.
const FAILED: &str = ".deb.failed";

/// Records that `package` failed its health check (and was rolled back), so
/// that it is not installed again: `<file>.deb.failed`, holding its SHA256 (the
/// record applies to that content only) and the reason.
pub(crate) fn record_failure(dir: &Path, package: &Package, reason: &str) -> Result<PathBuf> {
    let path = failure_path(dir, package);
    let sha256 = package.sha256_hex().unwrap_or_default();
    let reason = reason.replace('\n', " ");
    std::fs::write(&path, format!("SHA256: {sha256}\nReason: {reason}\n"))
        .map_err(|e| Error::io(path.display(), e))?;
    Ok(path)
}

/// The failure record of `package` (this content), if there is one: its path and reason.
pub(crate) fn recorded_failure(dir: &Path, package: &Package) -> Option<(PathBuf, String)> {
    let path = failure_path(dir, package);
    let text = std::fs::read_to_string(&path).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let sha256 = field("SHA256:")?;
    (Some(sha256) == package.sha256_hex()).then(|| (path, field("Reason:").unwrap_or_default()))
}

fn failure_path(dir: &Path, package: &Package) -> PathBuf {
    let name = file_name(package.name(), package.version(), package.architecture());
    dir.join(format!("{name}.failed"))
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

/// Streams `key` into `part`, cut off past `size` bytes, hashed on the way,
/// synced to disk once it verifies. What an earlier run left in `part` is
/// hashed and the download resumed after it; a body breaking off is resumed
/// where it stopped ([`Storage::get_stream_from`]) up to [`MAX_RESUMES`] times.
async fn stream_to(
    storage: &dyn Storage,
    key: &str,
    part: &Path,
    size: u64,
    expected: &Checksums,
) -> Result<()> {
    let at_key = |e: Error| e.context(format_args!("{storage}: {key}"));
    let hasher = Hasher::new(expected.algorithms());
    let (mut hasher, mut file) = reopen_part(part, size, hasher).await?;
    let copied = copy(storage, key, part, size, &mut hasher, &mut file).await;
    // tokio writes in the background: what was written is on disk before a
    // broken transfer returns (for the next run to resume after it).
    let flushed = file.flush().await.map_err(|e| Error::io(part.display(), e));
    copied.and(flushed)?;
    check_digest(hasher, size, expected).map_err(at_key)?;
    file.sync_all()
        .await
        .map_err(|e| Error::io(part.display(), e))?;
    Ok(())
}

/// Appends `key`'s bytes from `hasher.len()` on to `file`, hashing them.
async fn copy(
    storage: &dyn Storage,
    key: &str,
    part: &Path,
    size: u64,
    hasher: &mut Hasher,
    file: &mut tokio::fs::File,
) -> Result<()> {
    let at_key = |e: Error| e.context(format_args!("{storage}: {key}"));
    let mut stream = open_at(storage, key, hasher.len(), size)
        .await
        .map_err(at_key)?;
    let mut resumes = 0;
    let mut buf = vec![0u8; CHUNK];
    loop {
        // One byte more than allowed is read, to notice an overlong body
        // without reading the rest of it.
        let room = (size + 1 - hasher.len()).min(CHUNK as u64) as usize;
        let n = match stream.reader.read(&mut buf[..room]).await {
            Ok(n) => n,
            Err(_) if resumes < MAX_RESUMES => {
                resumes += 1;
                tokio::time::sleep(crate::storage::backoff(RESUME_BACKOFF, resumes)).await;
                stream = open_at(storage, key, hasher.len(), size)
                    .await
                    .map_err(at_key)?;
                continue;
            }
            Err(e) => {
                return Err(at_key(
                    Error::new(
                        ErrorKind::Storage,
                        format!(
                            "the download broke off after {} of {size} bytes ({resumes} resumes): {e}",
                            hasher.len()
                        ),
                    )
                    .with_source(e),
                ));
            }
        };
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
    Ok(())
}

/// A stream of `key` from `offset` on, refused at once if the object is
/// announced larger than `size`.
async fn open_at(
    storage: &dyn Storage,
    key: &str,
    offset: u64,
    size: u64,
) -> Result<crate::storage::ObjectStream> {
    let stream = if offset == 0 {
        storage.get_stream(key).await?
    } else {
        storage.get_stream_from(key, offset).await?
    };
    if stream.size > size {
        return Err(too_large(size, stream.size));
    }
    Ok(stream)
}

/// Opens `part` for appending after hashing what it holds (an earlier run's
/// download); one longer than `size` is started afresh.
async fn reopen_part(
    part: &Path,
    size: u64,
    mut hasher: Hasher,
) -> Result<(Hasher, tokio::fs::File)> {
    let owned = part.to_owned();
    let io = |e| Error::io(part.display(), e);
    let existing = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    if existing == 0 || existing > size {
        let file = tokio::fs::File::create(part).await.map_err(io)?;
        return Ok((hasher, file));
    }
    let hasher = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&owned)?;
        std::io::copy(&mut file, &mut hasher)?;
        Ok::<_, std::io::Error>(hasher)
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, format!("hashing {}: {e}", part.display())))?
    .map_err(io)?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(part)
        .await
        .map_err(io)?;
    // Exactly after what was hashed (the file cannot have grown: the run lock).
    file.set_len(hasher.len()).await.map_err(io)?;
    tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(hasher.len()))
        .await
        .map_err(io)?;
    Ok((hasher, file))
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

    use crate::storage::{LocalStorage, Payload, PutMode};

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    /// A store holding `content` at `key`, and the stanza for it with `hashes`.
    async fn stored(dir: &Path, content: &[u8], hashes: &str) -> (LocalStorage, Package) {
        let store = LocalStorage::new(dir.join("repo")).unwrap();
        let key = "pool/main/a/app/app_1.0_amd64.deb";
        let put = Payload::Bytes(content.to_vec());
        store.put(key, put, PutMode::Overwrite).await.unwrap();
        let text = format!(
            "Package: app\nVersion: 1.0\nArchitecture: amd64\nFilename: {key}\nSize: {}\n{hashes}",
            content.len()
        );
        let paragraph = crate::control::paragraphs(&text).next().unwrap().unwrap();
        (store, Package::from_paragraph(&paragraph).unwrap())
    }

    fn sha256_field(content: &[u8]) -> String {
        let sums = checksum::of_bytes(content, Algorithms::NONE.with(Algorithm::Sha256));
        format!("SHA256: {}\n", sums.hex(Algorithm::Sha256).unwrap())
    }

    #[tokio::test]
    async fn a_stanza_without_a_strong_checksum_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"not really a deb";
        let md5 = checksum::of_bytes(content, Algorithms::NONE.with(Algorithm::Md5));
        let field = format!("MD5sum: {}\n", md5.hex(Algorithm::Md5).unwrap());
        let (store, package) = stored(dir.path(), content, &field).await;
        let err = fetch(&store, &package, &dir.path().join("debs"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(err.to_string().contains("no SHA256 or SHA512"), "{err}");
    }

    #[tokio::test]
    async fn a_verified_cached_file_is_reused_and_a_damaged_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the content of a package";
        let (store, package) = stored(dir.path(), content, &sha256_field(content)).await;
        let debs = dir.path().join("debs");
        let path = fetch(&store, &package, &debs).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), content);
        // Gone from the store: the cached copy is used.
        store.delete(package.filename().unwrap()).await.unwrap();
        assert_eq!(fetch(&store, &package, &debs).await.unwrap(), path);
        // A damaged cached copy is not used (and here not replaceable).
        std::fs::write(&path, b"the content of a pickage").unwrap();
        let err = fetch(&store, &package, &debs).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_partial_file_is_resumed_and_a_stale_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the content of a package";
        let (store, package) = stored(dir.path(), content, &sha256_field(content)).await;
        let debs = dir.path().join("debs");
        std::fs::create_dir_all(&debs).unwrap();
        let part = debs.join("app_1.0_amd64.deb.part");
        for left in [&content[..7], b"stale b".as_slice()] {
            std::fs::write(&part, left).unwrap();
            let path = fetch(&store, &package, &debs).await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), content);
            assert!(!part.exists());
            std::fs::remove_file(path).unwrap();
        }
    }

    #[tokio::test]
    async fn a_short_object_is_a_size_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the content of a package";
        let (store, package) = stored(dir.path(), content, &sha256_field(content)).await;
        let key = package.filename().unwrap();
        let short = Payload::Bytes(content[..10].to_vec());
        store.put(key, short, PutMode::Overwrite).await.unwrap();
        let err = fetch(&store, &package, &dir.path().join("debs"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(
            err.to_string()
                .contains("10 bytes where the Packages index says 24"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("debs")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn failure_records_apply_to_the_same_content_only() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the content of a package";
        let (_store, package) = stored(dir.path(), content, &sha256_field(content)).await;
        std::fs::create_dir_all(dir.path().join("debs")).unwrap();
        let debs = dir.path().join("debs");
        assert!(recorded_failure(&debs, &package).is_none());
        record_failure(&debs, &package, "health check\nfailed").unwrap();
        let (_, reason) = recorded_failure(&debs, &package).unwrap();
        assert_eq!(reason, "health check failed");
        let other = b"other content, same version";
        let (_store, rebuilt) = stored(&dir.path().join("b"), other, &sha256_field(other)).await;
        assert!(recorded_failure(&debs, &rebuilt).is_none());
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
