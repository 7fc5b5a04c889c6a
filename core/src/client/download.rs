//! The `.deb` cache, `<state_dir>/debs/<source>/` (one directory per
//! repository, suite and trust, see `Updater::debs_dir`; all `0700`, checked):
//! a candidate's file streamed from the source's storage, its size capped at
//! the Packages `Size` and its SHA256 (or SHA512) computed while streaming; only
//! a file that verifies is renamed from `.deb.part` to
//! `<name>_<version>_<arch>.<hash>.deb`, named by that verified hash. A cached
//! file is hashed again before every install: against the stanza when the
//! suite lists it, else against the hash in its name (a rollback to a version
//! no longer listed). Versions in names are canonical (no `0:` epoch, as dpkg
//! writes them) and compared as versions. Files are created `0600` without
//! following symlinks. The cache keeps the installed version and the one
//! before it (for a rollback), and failure records (`.failed`).

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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

/// The version as dpkg writes it in its status file: no epoch when it is 0,
/// no leading zeros in it.
fn canonical(version: &Version) -> String {
    let rest = match version.as_str().split_once(':') {
        Some((_, rest)) => rest,
        None => version.as_str(),
    };
    if version.epoch() == 0 {
        rest.to_owned()
    } else {
        format!("{}:{rest}", version.epoch())
    }
}

/// `<name>_<version>_<arch>`: a version of a package in cache names, the
/// version canonical and its `:` written `%3a` as apt does.
fn stem(name: &str, version: &Version, arch: &str) -> String {
    format!("{name}_{}_{arch}", canonical(version).replace(':', "%3a"))
}

/// The cache file name of a `.deb` with the (strong) hash `hex`.
pub(crate) fn file_name(name: &str, version: &Version, arch: &str, hex: &str) -> String {
    format!("{}.{hex}.deb", stem(name, version, arch))
}

/// The package name and version in a cache file name, if it is one.
fn parse_name(file: &str) -> Option<(&str, Version)> {
    let (name, rest) = file.split_once('_')?;
    let (version, _) = rest.split_once('_')?;
    Some((name, Version::parse(&version.replace("%3a", ":")).ok()?))
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
    let hex = expected.strongest().map(|(_, hex)| hex).unwrap_or_default();
    super::lock::private_dir(dir)?;
    let path = dir.join(file_name(
        package.name(),
        package.version(),
        package.architecture(),
        &hex,
    ));
    if std::fs::symlink_metadata(&path).is_ok() {
        match verify_file(&path, Some(package.size()), &expected).await {
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

/// The cached `.deb` of `name` at `version` (compared as versions) for `arch`
/// or `all`, verified against the hash its name carries: the file, or a
/// [`ErrorKind::NotFound`] error (none cached) or [`ErrorKind::Verification`]
/// error (its content is not what was verified when it was downloaded; the
/// file is deleted).
pub(crate) async fn cached(
    dir: &Path,
    name: &str,
    version: &Version,
    arch: &str,
) -> Result<PathBuf> {
    let mut found = None;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some(hex) = file
            .strip_suffix(".deb")
            .and_then(|f| f.rsplit_once('.'))
            .map(|(_, h)| h)
        else {
            continue;
        };
        let ours = parse_name(file).is_some_and(|(n, v)| n == name && v == *version);
        let arch_ok = [arch, "all"]
            .iter()
            .any(|a| file.contains(&format!("_{a}.")));
        if ours && arch_ok {
            found = Some((entry.path(), hex.to_owned()));
            break;
        }
    }
    let Some((path, hex)) = found else {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("{name} {version} is not cached in {}", dir.display()),
        ));
    };
    let mut expected = Checksums::default();
    let algorithm = if hex.len() == 128 {
        Algorithm::Sha512
    } else {
        Algorithm::Sha256
    };
    expected
        .set_hex(algorithm, &hex)
        .map_err(|e| e.context(path.display()))?;
    if let Err(e) = verify_file(&path, None, &expected).await {
        remove(&path);
        return Err(e.context("the cached file was changed after it was verified"));
    }
    Ok(path)
}

/// Deletes the cached files of `name` (`.deb`s, leftover `.deb.part`s, failure records)
/// except those of the versions in `keep`. Best effort: the cache is only a cache.
pub(crate) fn prune(dir: &Path, name: &str, keep: &[&Version]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let is_ours = [".deb", ".deb.part", FAILED, ".tmp"]
            .iter()
            .any(|x| file.ends_with(x));
        // Package names cannot have a `_`: `name_` is this package's only.
        let Some((n, version)) = parse_name(file) else {
            continue;
        };
        if is_ours && n == name && !keep.contains(&&version) {
            remove(&entry.path());
        }
    }
}

/// The suffix of a failure record.
const FAILED: &str = ".failed";

/// How long a version that failed is held back, by its number of failures:
/// 1 hour, 4 hours, then a day.
pub(crate) fn hold_for(failures: u32) -> Duration {
    const HOUR: u64 = 3600;
    Duration::from_secs(match failures {
        0 | 1 => HOUR,
        2 => 4 * HOUR,
        _ => 24 * HOUR,
    })
}

/// How long a failed rollback waits before it is tried again, by the number
/// of failed rollbacks: 5 minutes, 15 minutes, 1 hour, then 4 hours.
pub(crate) fn rollback_backoff(rollbacks: u32) -> Duration {
    const MINUTE: u64 = 60;
    Duration::from_secs(match rollbacks {
        0 | 1 => 5 * MINUTE,
        2 => 15 * MINUTE,
        3 => 60 * MINUTE,
        _ => 240 * MINUTE,
    })
}

/// How far in the future a record's times may be (clock skew) before the
/// record is unusable.
const MAX_SKEW: Duration = Duration::from_secs(3600);

/// That a version (one content: its SHA256) failed to install or its health
/// check, and was rolled back.
#[derive(Debug, Clone)]
pub(crate) struct FailureRecord {
    /// The record file.
    pub path: PathBuf,
    /// Why it failed (last time).
    pub reason: String,
    /// The version installed before, rolled back to.
    pub previous: Option<Version>,
    /// How many times it failed.
    pub failures: u32,
    /// Until when it is held back (its last failure + [`hold_for`]).
    pub until: SystemTime,
    /// Whether it was installed because of a pin.
    pub pinned: bool,
    /// How many rollbacks to `previous` failed since the last failure, and
    /// when the next may be tried.
    pub rollbacks: u32,
    /// When a failed rollback is tried again (`None`: none failed).
    pub retry_rollback: Option<SystemTime>,
}

impl FailureRecord {
    /// Until when the version is held back.
    pub fn until(&self) -> SystemTime {
        self.until
    }
}

/// Seconds since the epoch, now.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Records that `package` failed (and was rolled back to `previous`), so that
/// it is not installed again before [`hold_for`] its failure count has passed:
/// `<name>_<version>_<arch>.failed`, holding its SHA256 (the record applies to
/// that content only), the reason, the count and the time. Written to a
/// temporary file, `0600`, renamed into place. Failed rollbacks counted
/// before start again from zero.
pub(crate) fn record_failure(
    dir: &Path,
    package: &Package,
    reason: &str,
    previous: Option<&Version>,
    pinned: bool,
) -> Result<PathBuf> {
    let path = failure_path(dir, package);
    let failures = recorded_failure(dir, package)
        .ok()
        .flatten()
        .map_or(0, |r| r.failures);
    let sha256 = package.sha256_hex().unwrap_or_default();
    let reason = reason.replace(['\n', '\r'], " ");
    let mut text = format!(
        "SHA256: {sha256}\nReason: {reason}\nFailures: {}\nLast: {}\nPinned: {}\n",
        failures.saturating_add(1),
        now_secs(),
        if pinned { "yes" } else { "no" }
    );
    if let Some(previous) = previous {
        text.push_str(&format!("Previous: {previous}\n"));
    }
    write_private(&path, text.as_bytes())?;
    Ok(path)
}

/// Adds a failed rollback to the failure record of `package` (its count and
/// time, `Rollbacks:` and `Last-Rollback:`), so that the next is tried only
/// after [`rollback_backoff`].
pub(crate) fn record_failed_rollback(dir: &Path, package: &Package) -> Result<()> {
    let path = failure_path(dir, package);
    let record = recorded_failure(dir, package).ok().flatten();
    let rollbacks = record.map_or(0, |r| r.rollbacks).saturating_add(1);
    let text = read_record(&path).unwrap_or_default();
    let mut kept: String = text
        .lines()
        .filter(|l| !l.starts_with("Rollbacks:") && !l.starts_with("Last-Rollback:"))
        .map(|l| format!("{l}\n"))
        .collect();
    kept.push_str(&format!(
        "Rollbacks: {rollbacks}\nLast-Rollback: {}\n",
        now_secs()
    ));
    write_private(&path, kept.as_bytes())
}

fn read_record(path: &Path) -> Option<String> {
    let file = open_nofollow(path).ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, 64 * 1024), &mut text).ok()?;
    Some(text)
}

/// The failure record of `package` (this content), if there is one. A record
/// that cannot be used (a count or time that does not parse, overflows or
/// lies in the future) is deleted: `Err` says so, for a warning.
pub(crate) fn recorded_failure(
    dir: &Path,
    package: &Package,
) -> std::result::Result<Option<FailureRecord>, String> {
    let path = failure_path(dir, package);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let Some(text) = read_record(&path) else {
        remove(&path);
        return Err(format!(
            "the failure record {} is unreadable: deleted",
            path.display()
        ));
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    if field("SHA256:") != package.sha256_hex() {
        return Ok(None);
    }
    match parse_record(&field) {
        Ok((failures, until, rollbacks, retry_rollback)) => Ok(Some(FailureRecord {
            reason: field("Reason:").unwrap_or_default(),
            previous: field("Previous:").and_then(|v| Version::parse(&v).ok()),
            failures,
            until,
            pinned: field("Pinned:").as_deref() == Some("yes"),
            rollbacks,
            retry_rollback,
            path,
        })),
        Err(why) => {
            remove(&path);
            Err(format!(
                "the failure record {} is unusable ({why}): deleted",
                path.display()
            ))
        }
    }
}

type Parsed = (u32, SystemTime, u32, Option<SystemTime>);

/// The count, hold, failed rollbacks and rollback retry time of a record.
fn parse_record(field: &dyn Fn(&str) -> Option<String>) -> std::result::Result<Parsed, String> {
    let latest = SystemTime::now() + MAX_SKEW;
    let time =
        |name: &str, value: Option<String>| -> std::result::Result<Option<SystemTime>, String> {
            let Some(value) = value else { return Ok(None) };
            let secs: u64 = value
                .parse()
                .map_err(|_| format!("{name} {value:?} is not a number of seconds"))?;
            SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(secs))
                .filter(|t| *t <= latest)
                .map(Some)
                .ok_or_else(|| format!("{name} {secs} lies in the future"))
        };
    let count = |name: &str, default: u32| -> std::result::Result<u32, String> {
        field(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name} {v:?} is not a count"))
        })
    };
    let failures = count("Failures:", 1)?;
    let last = time("Last:", field("Last:"))?.ok_or("it has no Last: time")?;
    let until = last
        .checked_add(hold_for(failures))
        .ok_or("its hold overflows")?;
    let rollbacks = count("Rollbacks:", 0)?;
    let retry = match time("Last-Rollback:", field("Last-Rollback:"))? {
        Some(t) if rollbacks > 0 => Some(
            t.checked_add(rollback_backoff(rollbacks))
                .ok_or("its rollback retry overflows")?,
        ),
        _ => None,
    };
    Ok((failures, until, rollbacks, retry))
}

/// Deletes the failure record of `package`, if any.
pub(crate) fn clear_failure(dir: &Path, package: &Package) {
    remove(&failure_path(dir, package));
}

fn failure_path(dir: &Path, package: &Package) -> PathBuf {
    let stem = stem(package.name(), package.version(), package.architecture());
    dir.join(format!("{stem}{FAILED}"))
}

/// Writes `bytes` to `path` through a fresh `0600` temporary file (never
/// following a symlink), renamed into place.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |e| Error::io(tmp.display(), e);
    remove(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(io)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        remove(&tmp);
        Error::io(path.display(), e)
    })
}

/// Opens `path` for reading, refusing a symlink.
fn open_nofollow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
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
        let room = size
            .saturating_add(1)
            .saturating_sub(hasher.len())
            .min(CHUNK as u64) as usize;
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
        // A fresh file: whatever is at `part` (a symlink planted there) goes.
        remove(part);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(part)
            .await
            .map_err(io)?;
        return Ok((hasher, file));
    }
    let hasher = tokio::task::spawn_blocking(move || {
        let mut file = open_nofollow(&owned)?;
        std::io::copy(&mut file, &mut hasher)?;
        Ok::<_, std::io::Error>(hasher)
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, format!("hashing {}: {e}", part.display())))?
    .map_err(io)?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
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

/// Hashes the file at `path` (not a symlink) and compares it with `size` (if
/// known) and `expected`.
async fn verify_file(path: &Path, size: Option<u64>, expected: &Checksums) -> Result<()> {
    let path = path.to_owned();
    let expected = expected.clone();
    tokio::task::spawn_blocking(move || {
        let file = open_nofollow(&path).map_err(|e| Error::io(path.display(), e))?;
        let mut hasher = Hasher::new(expected.algorithms());
        let limit = size.map_or(u64::MAX, |s| s.saturating_add(1));
        std::io::copy(&mut std::io::Read::take(file, limit), &mut hasher)
            .map_err(|e| Error::io(path.display(), e))?;
        let size = size.unwrap_or(hasher.len());
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

    use std::os::unix::fs::PermissionsExt;

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
        let sha256 = package.sha256_hex().unwrap();
        let part = debs.join(format!("app_1.0_amd64.{sha256}.deb.part"));
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
        assert!(recorded_failure(&debs, &package).unwrap().is_none());
        record_failure(
            &debs,
            &package,
            "health check\nfailed",
            Some(&v("0.9")),
            false,
        )
        .unwrap();
        let record = recorded_failure(&debs, &package).unwrap().unwrap();
        assert_eq!(record.reason, "health check failed");
        assert_eq!(record.previous, Some(v("0.9")));
        assert_eq!(record.failures, 1);
        assert!(!record.pinned);
        assert!(record.until() > SystemTime::now() + Duration::from_secs(3000));
        // Failing again holds it longer.
        record_failure(&debs, &package, "again", None, true).unwrap();
        let record = recorded_failure(&debs, &package).unwrap().unwrap();
        assert_eq!((record.failures, record.pinned), (2, true));
        assert!(record.until() > SystemTime::now() + Duration::from_secs(4 * 3600 - 60));
        assert_eq!(
            std::fs::metadata(&record.path)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let other = b"other content, same version";
        let (_store, rebuilt) = stored(&dir.path().join("b"), other, &sha256_field(other)).await;
        assert!(recorded_failure(&debs, &rebuilt).unwrap().is_none());
    }

    #[test]
    fn file_names_escape_the_epoch_and_write_it_as_dpkg_does() {
        assert_eq!(
            file_name("app", &v("1:2.0-1"), "amd64", "ab"),
            "app_1%3a2.0-1_amd64.ab.deb"
        );
        assert_eq!(
            file_name("app", &v("0:1.0"), "all", "ab"),
            "app_1.0_all.ab.deb"
        );
        assert_eq!(
            file_name("app", &v("01:2"), "all", "ab"),
            "app_1%3a2_all.ab.deb"
        );
    }

    #[tokio::test]
    async fn unusable_failure_records_are_deleted_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the content of a package";
        let (_store, package) = stored(dir.path(), content, &sha256_field(content)).await;
        let debs = dir.path().join("debs");
        std::fs::create_dir_all(&debs).unwrap();
        let sha256 = package.sha256_hex().unwrap();
        let path = debs.join("app_1.0_amd64.failed");
        for (fields, why) in [
            ("Last: 18446744073709551615\n", "lies in the future"),
            ("Last: 9223372036854775807\n", "lies in the future"),
            ("Last: soon\n", "not a number"),
            ("Last: 0\nFailures: -1\n", "not a count"),
            ("Failures: 2\n", "no Last"),
            (
                "Last: 0\nRollbacks: 1\nLast-Rollback: 18446744073709551615\n",
                "future",
            ),
        ] {
            std::fs::write(&path, format!("SHA256: {sha256}\n{fields}")).unwrap();
            let err = recorded_failure(&debs, &package).unwrap_err();
            assert!(err.contains(why) && err.contains("deleted"), "{err}");
            assert!(!path.exists(), "{fields}");
            // Recording again works.
            record_failure(&debs, &package, "again", None, false).unwrap();
            let record = recorded_failure(&debs, &package).unwrap().unwrap();
            assert_eq!(record.failures, 1);
            std::fs::remove_file(&path).unwrap();
        }
        // Failed rollbacks are counted and back off.
        record_failure(&debs, &package, "broke", Some(&v("0.9")), false).unwrap();
        record_failed_rollback(&debs, &package).unwrap();
        record_failed_rollback(&debs, &package).unwrap();
        let record = recorded_failure(&debs, &package).unwrap().unwrap();
        assert_eq!((record.rollbacks, record.failures), (2, 1));
        assert_eq!(record.previous, Some(v("0.9")));
        let retry = record.retry_rollback.unwrap();
        assert!(
            retry > SystemTime::now() + Duration::from_secs(14 * 60),
            "{retry:?}"
        );
    }

    #[test]
    fn hold_backs_grow() {
        assert_eq!(hold_for(1), Duration::from_secs(3600));
        assert_eq!(hold_for(2), Duration::from_secs(4 * 3600));
        assert_eq!(hold_for(9), Duration::from_secs(24 * 3600));
    }

    #[tokio::test]
    async fn a_cached_file_is_found_by_version_and_verified_by_its_name() {
        let dir = tempfile::tempdir().unwrap();
        // Written with the epoch the control file had; asked for as dpkg says it.
        let content = b"the content of a package";
        let (store, package) = stored(dir.path(), content, &sha256_field(content)).await;
        let debs = dir.path().join("debs");
        let path = fetch(&store, &package, &debs).await.unwrap();
        assert_eq!(
            cached(&debs, "app", &v("0:1.0"), "amd64").await.unwrap(),
            path
        );
        let err = cached(&debs, "app", &v("1.1"), "amd64").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        // Changed after it was verified: refused, and deleted.
        std::fs::write(&path, b"the content of a pickage").unwrap();
        let err = cached(&debs, "app", &v("1.0"), "amd64").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn prune_keeps_the_given_versions_of_the_package_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "app_1.0_amd64.aa.deb",
            "app_1.1_amd64.bb.deb",
            "app_0%3a1.2_all.cc.deb",
            "app_1.3_amd64.dd.deb.part",
            "app-extra_1.0_amd64.ee.deb",
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
                "app-extra_1.0_amd64.ee.deb",
                "app_0%3a1.2_all.cc.deb",
                "app_1.1_amd64.bb.deb",
                "notes.txt"
            ]
        );
    }
}
