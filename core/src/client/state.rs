//! The check side of a [`Source`](super::Source)'s state directory: what the
//! last accepted snapshot of its suite was, so that the next check can ask for
//! `InRelease` conditionally and answer a `304` without parsing anything.
//!
//! Layout, under `<state_dir>/check/<repository>/<suite>/<component>/binary-<arch>/`,
//! where `<repository>` is the first 16 hex digits of the SHA256 of the
//! store's credential-free name (its `Display`, e.g. `s3://bucket/prefix`):
//! two sources of the same suite in two repositories sharing a `state_dir`
//! never see each other's state.
//!
//! ```text
//! lock                   flock'ed by a check from loading the state to committing
//! floor                  the rollback floor: `Date: <the newest Date accepted>`
//! state                  the commit point: one deb822 paragraph (below)
//! InRelease | Release    the signed file accepted, as fetched (and Release.gpg)
//! Packages-<sha256>      the verified index, decompressed, named by its SHA256
//! packages/<name>        per package asked: its stanzas for this architecture
//!                        and `all`, cut from the index whose SHA256 it names
//! ```
//!
//! `state` holds `Format: 1`, `Signed-File` (`InRelease` or `Release`), `ETag`
//! and `Last-Modified` of that file as the store gave them (either may be
//! absent; a Last-Modified later than the local clock is not kept: a forged
//! or skewed one must not turn later checks into "not modified"), the
//! Release's `Date` and `Valid-Until` (Release date format), `Index` (the
//! index read, relative to the suite), `Index-SHA256` (of the stored
//! `Packages-<sha256>`), `Signed-SHA256` (of the signed file) and `Signed-By`
//! (the fingerprint of the trusted key that signed it, or `unchecked` under
//! `SourceTrust::InsecureUnsigned`: a source whose trusted keys do not include
//! it ignores that state and verifies afresh).
//!
//! `floor` is written before everything else of a commit and read on its
//! own: a `state` that is damaged, moved aside or ignored (a trust change)
//! does not lower the Date a new snapshot must reach. It only ever moves
//! forward. A damaged `floor` is an error like a damaged `state` (moved aside,
//! named); the floor then comes from `state` alone.
//!
//! Writes are atomic: a temporary file in the same directory, fsynced, renamed
//! over the old one, the directory fsynced. A commit writes the floor, the
//! index, the signed file and the package record first and `state` last; the
//! files a crash may leave behind are not referenced by `state` and a later
//! commit removes them. A package record names the index it was cut from, so
//! a record left from an older snapshot is never used for a newer one.
//!
//! A check holds `lock` (an OS file lock, waited for up to
//! [`CHECK_LOCK_WAIT`]) from loading the state to committing it, so that two
//! checks of one source (threads or processes) never move the state back nor
//! remove what the other's `state` names; old files are removed only under it.
//!
//! Every directory (the `state_dir` root included) and file must belong to
//! the effective user and not be writable by group or others (as ssh's
//! StrictModes): others could make a check accept a rolled-back or frozen
//! repository. A state file that cannot be read or parsed, or fails that
//! test, or a file where a directory should be, is moved aside
//! (`<name>.corrupt.<unix seconds>`) and reported as a typed error naming it:
//! the next check starts afresh with a full fetch (the floor kept). A root
//! that fails it is an error and left alone. Failing that test is an
//! [`ErrorKind::Verification`] error (the state cannot be trusted), as for
//! the run lock's directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::checksum::{self, Algorithm, Algorithms};
use crate::control;
use crate::error::{Error, ErrorKind, Result};
use crate::index::release::{format_date, parse_date};
use crate::storage::ETag;

use super::lock::{euid, lock_until, open_lock_file};

/// The version of the `state` file's format.
const FORMAT: &str = "1";
/// `Signed-By` of a snapshot accepted without a signature check.
const UNCHECKED: &str = "unchecked";
/// How long a check waits for another check of the same source to finish.
pub(crate) const CHECK_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Which signed file of the suite was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedFile {
    /// `InRelease` (clearsigned).
    InRelease,
    /// `Release` (with a detached `Release.gpg`, or unsigned when allowed).
    Release,
}

impl SignedFile {
    /// The file's name under `dists/<suite>/`.
    pub fn name(self) -> &'static str {
        match self {
            SignedFile::InRelease => "InRelease",
            SignedFile::Release => "Release",
        }
    }
}

/// The last snapshot accepted: the content of the `state` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub signed_file: SignedFile,
    pub etag: Option<ETag>,
    pub last_modified: Option<SystemTime>,
    pub date: SystemTime,
    pub valid_until: Option<SystemTime>,
    pub index: String,
    pub index_sha256: String,
    pub signed_sha256: String,
    /// The fingerprint of the trusted key that signed; `None`: accepted
    /// without a signature check (`SourceTrust::InsecureUnsigned`).
    pub signed_by: Option<String>,
}

/// One source's check state directory.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The directory of `repository`/`suite`/`component`/`arch` under
    /// `root` (created if needed; `repository` is [`repository_key`]). A file
    /// where one of its directories should be is moved aside; a root that
    /// another user owns or may write to is refused.
    pub fn open(
        root: &Path,
        repository: &str,
        suite: &str,
        component: &str,
        arch: &str,
    ) -> Result<StateDir> {
        if !root.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)
                .map_err(|e| Error::io(root.display(), e))?;
        }
        let meta = fs::metadata(root).map_err(|e| Error::io(root.display(), e))?;
        check_mode(root, &meta).map_err(|e| {
            e.context(format_args!(
                "the state directory {} is refused",
                root.display()
            ))
        })?;
        let mut dir = root.to_path_buf();
        let binary = format!("binary-{arch}");
        for part in ["check", repository, suite, component, &binary] {
            dir.push(part);
            ensure_dir(&dir)?;
        }
        ensure_dir(&dir.join("packages"))?;
        Ok(StateDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Takes the check lock of this directory, waiting up to `wait` for
    /// another check to release it ([`ErrorKind::ConcurrentUpdate`] after).
    pub async fn lock(&self, wait: Duration) -> Result<CheckLock> {
        let path = self.dir.join("lock");
        let file = open_lock_file(&path)?;
        if lock_until(&file, &path, Instant::now().checked_add(wait)).await? {
            return Ok(CheckLock { _file: file });
        }
        Err(Error::new(
            ErrorKind::ConcurrentUpdate,
            format!(
                "{}: another check of this source held the lock for more than {} s",
                path.display(),
                wait.as_secs()
            ),
        ))
    }

    /// The accepted snapshot, `None` before the first accepted check. A
    /// `Last-Modified` later than now (the clock went back) is dropped.
    pub fn load(&self) -> Result<Option<Accepted>> {
        let path = self.dir.join("state");
        let Some(text) = read_state_file(&path)? else {
            return Ok(None);
        };
        let mut accepted = parse_accepted(&text).map_err(|e| corrupt(&path, e))?;
        accepted.last_modified = usable_last_modified(accepted.last_modified, SystemTime::now());
        Ok(Some(accepted))
    }

    /// The rollback floor kept in `floor`: `None` if there is none yet.
    pub fn floor(&self) -> Result<Option<SystemTime>> {
        let path = self.dir.join("floor");
        let Some(text) = read_state_file(&path)? else {
            return Ok(None);
        };
        parse_floor(&text)
            .map(Some)
            .map_err(|e| corrupt(&path, e).context("the rollback floor is now the state's Date"))
    }

    /// The stanzas of `package` recorded from the index `index_sha256`; `None`
    /// when there is no record, or one cut from another index.
    pub fn record(&self, package: &str, index_sha256: &str) -> Result<Option<String>> {
        let path = self.record_path(package);
        let Some(text) = read_state_file(&path)? else {
            return Ok(None);
        };
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let parsed = control::paragraphs(head)
            .next()
            .transpose()
            .and_then(|p| {
                p.and_then(|p| p.get("Index-SHA256").map(str::to_owned))
                    .ok_or_else(|| Error::new(ErrorKind::Parse, "line 1: missing Index-SHA256"))
            })
            .and_then(|recorded| {
                // The stanzas must parse too: a torn record is refused here.
                for paragraph in control::paragraphs(body) {
                    paragraph.map_err(|e| control::shift_line(e, head.lines().count() + 1))?;
                }
                Ok(recorded)
            });
        match parsed {
            Ok(recorded) if recorded == index_sha256 => Ok(Some(body.to_owned())),
            Ok(_) => Ok(None),
            Err(e) => Err(corrupt(&path, e)),
        }
    }

    /// Writes the record of `package`: its `stanzas` cut from the index `index_sha256`.
    pub fn write_record(&self, package: &str, index_sha256: &str, stanzas: &str) -> Result<()> {
        let text = format!("Index-SHA256: {index_sha256}\n\n{stanzas}");
        write_atomic(&self.record_path(package), text.as_bytes())
    }

    /// The stored index `sha256`, its hash checked. A missing or damaged one is
    /// moved aside with the `state` that names it (the next check fetches again).
    pub fn read_index(&self, sha256: &str) -> Result<String> {
        let path = self.dir.join(format!("Packages-{sha256}"));
        let fail = |e: Error| {
            let state = self.dir.join("state");
            let moved = move_aside(&state);
            corrupt(&path, e).context(format_args!(
                "{} names it{}",
                state.display(),
                moved.map_or(String::new(), |to| format!(
                    " (moved aside to {})",
                    to.display()
                ))
            ))
        };
        let bytes = match read_state_file(&path) {
            Ok(Some(text)) => text,
            Ok(None) => return Err(fail(Error::new(ErrorKind::NotFound, "missing"))),
            Err(e) => return Err(fail(e)),
        };
        let actual = sha256_hex(bytes.as_bytes());
        if actual != sha256 {
            return Err(fail(Error::new(
                ErrorKind::Verification,
                format!("its SHA256 is {actual}"),
            )));
        }
        Ok(bytes)
    }

    /// Commits a newly accepted snapshot, under the check lock: the floor
    /// (moved forward), the index text, the signed files as fetched, the
    /// asked package's record, then `state`; then removes the files of older
    /// snapshots. A `Date` older than the floor is refused
    /// ([`ErrorKind::Verification`]): the state never goes back.
    pub fn commit(
        &self,
        _lock: &CheckLock,
        accepted: &Accepted,
        signed: &[(&str, &[u8])],
        index: &str,
        record: (&str, &str),
    ) -> Result<()> {
        let floor = self.floor()?;
        if let Some(floor) = floor
            && accepted.date < floor
        {
            return Err(Error::new(
                ErrorKind::Verification,
                format!(
                    "{}: Date {} is older than the floor {}: the state is not moved back",
                    self.dir.display(),
                    format_date(accepted.date),
                    format_date(floor)
                ),
            ));
        }
        if floor != Some(accepted.date) {
            let text = format!("Date: {}\n", format_date(accepted.date));
            write_atomic(&self.dir.join("floor"), text.as_bytes())?;
        }
        let index_name = format!("Packages-{}", accepted.index_sha256);
        let index_path = self.dir.join(&index_name);
        if !index_path.is_file() {
            write_atomic(&index_path, index.as_bytes())?;
        }
        for (name, bytes) in signed {
            write_atomic(&self.dir.join(name), bytes)?;
        }
        self.write_record(record.0, &accepted.index_sha256, record.1)?;
        write_atomic(
            &self.dir.join("state"),
            render_accepted(accepted).as_bytes(),
        )?;
        // Older snapshots' files: nothing refers to them any more.
        let keep_signed: Vec<&str> = signed.iter().map(|(n, _)| *n).collect();
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let stale_index = name.starts_with("Packages-") && name != index_name;
                let stale_signed = ["InRelease", "Release", "Release.gpg"].contains(&name)
                    && !keep_signed.contains(&name);
                // Another check's temporary file may be in flight: only old ones go.
                let temporary = name.starts_with(".tmp-")
                    && entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age.as_secs() > 600);
                if stale_index || stale_signed || temporary {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Removes the rollback floor and the accepted `state`, under the check
    /// lock, so that the next check accepts whatever the repository serves
    /// (fetched and verified in full). Returns the newest Date they held, if
    /// any could be read. Absent files are no error.
    pub fn reset_floor(&self, _lock: &CheckLock) -> Result<Option<SystemTime>> {
        let floor = self.floor().ok().flatten();
        let state = self.load().ok().flatten().map(|a| a.date);
        for name in ["floor", "state"] {
            let path = self.dir.join(name);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path.display(), e)),
            }
        }
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(floor.max(state))
    }

    fn record_path(&self, package: &str) -> PathBuf {
        self.dir.join("packages").join(package)
    }
}

/// Held while a check loads, verifies and commits; released when dropped.
#[derive(Debug)]
pub(crate) struct CheckLock {
    _file: fs::File,
}

/// The directory name of a repository: the first 16 hex digits of the SHA256
/// of its credential-free name (`storage.to_string()`).
pub(crate) fn repository_key(name: &str) -> String {
    sha256_hex(name.as_bytes())[..16].to_owned()
}

/// A Last-Modified worth keeping as a validator: not before 1970 and not
/// after `now` (a forged or skewed one would make later checks "not modified").
pub(crate) fn usable_last_modified(
    time: Option<SystemTime>,
    now: SystemTime,
) -> Option<SystemTime> {
    time.filter(|t| *t >= SystemTime::UNIX_EPOCH && *t <= now)
}

/// SHA256 of `bytes` in lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    checksum::of_bytes(bytes, Algorithms::NONE.with(Algorithm::Sha256))
        .hex(Algorithm::Sha256)
        .unwrap_or_default()
}

fn render_accepted(a: &Accepted) -> String {
    let mut out = format!("Format: {FORMAT}\nSigned-File: {}\n", a.signed_file.name());
    if let Some(etag) = &a.etag {
        out.push_str(&format!("ETag: {etag}\n"));
    }
    if let Some(time) = a.last_modified {
        out.push_str(&format!("Last-Modified: {}\n", format_date(time)));
    }
    out.push_str(&format!("Date: {}\n", format_date(a.date)));
    if let Some(time) = a.valid_until {
        out.push_str(&format!("Valid-Until: {}\n", format_date(time)));
    }
    out.push_str(&format!(
        "Index: {}\nIndex-SHA256: {}\nSigned-SHA256: {}\nSigned-By: {}\n",
        a.index,
        a.index_sha256,
        a.signed_sha256,
        a.signed_by.as_deref().unwrap_or(UNCHECKED)
    ));
    out
}

fn parse_floor(text: &str) -> Result<SystemTime> {
    let mut paragraphs = control::paragraphs(text);
    let paragraph = paragraphs
        .next()
        .ok_or_else(|| Error::new(ErrorKind::Parse, "line 1: empty"))??;
    let field = paragraph
        .field("Date")
        .ok_or_else(|| Error::new(ErrorKind::Parse, "line 1: missing field Date"))?;
    if paragraph.len() != 1 || paragraphs.next().is_some() {
        return Err(Error::new(
            ErrorKind::Parse,
            "line 1: more than the one field Date",
        ));
    }
    parse_date(field.value()).ok_or_else(|| {
        Error::new(
            ErrorKind::Parse,
            format!(
                "line {}: field Date: {:?} is not a date",
                field.line(),
                field.value()
            ),
        )
    })
}

fn parse_accepted(text: &str) -> Result<Accepted> {
    let mut paragraphs = control::paragraphs(text);
    let paragraph = paragraphs
        .next()
        .ok_or_else(|| Error::new(ErrorKind::Parse, "line 1: empty"))??;
    if let Some(next) = paragraphs.next() {
        let line = next?.line();
        return Err(Error::new(
            ErrorKind::Parse,
            format!("line {line}: a second paragraph"),
        ));
    }
    let missing = |name: &str| {
        Error::new(
            ErrorKind::Parse,
            format!(
                "line {}: missing field {name}",
                paragraph.line() + paragraph.len()
            ),
        )
    };
    let required = |name: &str| {
        paragraph
            .field(name)
            .filter(|f| !f.value().is_empty())
            .ok_or_else(|| missing(name))
    };
    let date = |name: &str| -> Result<Option<SystemTime>> {
        let Some(field) = paragraph.field(name) else {
            return Ok(None);
        };
        parse_date(field.value()).map(Some).ok_or_else(|| {
            Error::new(
                ErrorKind::Parse,
                format!(
                    "line {}: field {name}: {:?} is not a date",
                    field.line(),
                    field.value()
                ),
            )
        })
    };
    let format = required("Format")?;
    if format.value() != FORMAT {
        return Err(Error::new(
            ErrorKind::Parse,
            format!(
                "line {}: field Format: {:?} is not {FORMAT}",
                format.line(),
                format.value()
            ),
        ));
    }
    let signed = required("Signed-File")?;
    let signed_file = match signed.value() {
        "InRelease" => SignedFile::InRelease,
        "Release" => SignedFile::Release,
        other => {
            return Err(Error::new(
                ErrorKind::Parse,
                format!(
                    "line {}: field Signed-File: {other:?} is not InRelease or Release",
                    signed.line()
                ),
            ));
        }
    };
    let hex = |name: &str| -> Result<String> {
        let field = required(name)?;
        let value = field.value();
        if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(value.to_ascii_lowercase())
        } else {
            Err(Error::new(
                ErrorKind::Parse,
                format!(
                    "line {}: field {name}: {value:?} is not a SHA256",
                    field.line()
                ),
            ))
        }
    };
    Ok(Accepted {
        signed_file,
        etag: paragraph.get("ETag").map(|e| ETag(e.to_owned())),
        last_modified: date("Last-Modified")?,
        date: date("Date")?.ok_or_else(|| missing("Date"))?,
        valid_until: date("Valid-Until")?,
        index: required("Index")?.value().to_owned(),
        index_sha256: hex("Index-SHA256")?,
        signed_sha256: hex("Signed-SHA256")?,
        signed_by: Some(required("Signed-By")?.value())
            .filter(|v| *v != UNCHECKED)
            .map(str::to_owned),
    })
}

/// Makes sure `dir` is a directory; a file (or anything else) there is moved aside.
fn ensure_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => check_mode(dir, &meta).map_err(|e| corrupt(dir, e)),
        Ok(_) => Err(corrupt(
            dir,
            Error::new(ErrorKind::Io, "not a directory, where the state needs one"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .or_else(|e| {
                // Another check created it meanwhile.
                if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| Error::io(dir.display(), e)),
        Err(e) => Err(Error::io(dir.display(), e)),
    }
}

/// Refuses state that another user owns or that others than its owner may
/// change: they could make a check accept a rolled-back or frozen repository.
/// [`ErrorKind::Verification`], as the run lock's directory (`lock.rs`).
fn check_mode(path: &Path, meta: &fs::Metadata) -> Result<()> {
    let euid = euid();
    if meta.uid() != euid {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "{}: owned by uid {}, not by this process's user (uid {euid})",
                path.display(),
                meta.uid()
            ),
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "{}: writable by group or others (mode {mode:04o})",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Reads a state file: `None` if absent; any other failure (a directory, no
/// permission, not UTF-8, loose permissions) moves it aside.
fn read_state_file(path: &Path) -> Result<Option<String>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    if !meta.is_file() {
        return Err(corrupt(
            path,
            Error::new(ErrorKind::Io, "not a regular file"),
        ));
    }
    check_mode(path, &meta).map_err(|e| corrupt(path, e))?;
    let bytes = fs::read(path).map_err(|e| corrupt(path, Error::io(path.display(), e)))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Err(corrupt(
                path,
                Error::new(ErrorKind::Parse, format!("line {line}: invalid UTF-8")),
            ))
        }
    }
}

/// `err` about the state file `path`, which is moved aside.
fn corrupt(path: &Path, err: Error) -> Error {
    let moved = move_aside(path);
    let message = err.message().to_owned();
    let prefix = format!("{}: ", path.display());
    let message = message.strip_prefix(&prefix).unwrap_or(&message).to_owned();
    Error::new(
        err.kind(),
        format!(
            "state file {}: {message}; {}",
            path.display(),
            match moved {
                Some(to) => format!(
                    "moved aside to {}, the next check starts afresh",
                    to.display()
                ),
                None => "it could not be moved aside".to_owned(),
            }
        ),
    )
}

/// Renames `path` to `<path>.corrupt.<unix seconds>`; the new path, if renamed.
fn move_aside(path: &Path) -> Option<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.file_name()?.to_os_string();
    name.push(format!(".corrupt.{secs}"));
    let to = path.with_file_name(name);
    fs::rename(path, &to).ok().map(|_| to)
}

/// Writes `bytes` to `path` atomically and durably (mode 0600).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |e| Error::io(tmp.display(), e);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(|e| Error::io(path.display(), e))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn accepted() -> Accepted {
        Accepted {
            signed_file: SignedFile::InRelease,
            etag: Some(ETag("\"abc\"".into())),
            last_modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            date: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_001),
            valid_until: None,
            index: "main/binary-amd64/Packages.xz".into(),
            index_sha256: sha256_hex(b"index"),
            signed_sha256: sha256_hex(b"signed"),
            signed_by: Some("ABCD".into()),
        }
    }

    #[test]
    fn the_state_record_round_trips() {
        let a = accepted();
        assert_eq!(parse_accepted(&render_accepted(&a)).unwrap(), a);
    }

    #[test]
    fn the_floor_parses_one_date_only() {
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_001);
        let text = format!("Date: {}\n", format_date(date));
        assert_eq!(parse_floor(&text).unwrap(), date);
        for bad in [
            "",
            "Date: soon\n",
            "Other: x\n",
            &format!("{text}ETag: x\n"),
        ] {
            let err = parse_floor(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse, "{bad:?}");
        }
    }

    #[test]
    fn a_last_modified_after_now_is_not_kept() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let earlier = now - Duration::from_secs(1);
        assert_eq!(usable_last_modified(Some(earlier), now), Some(earlier));
        assert_eq!(usable_last_modified(Some(now), now), Some(now));
        let later = now + Duration::from_secs(1);
        assert_eq!(usable_last_modified(Some(later), now), None);
        assert_eq!(usable_last_modified(None, now), None);
    }

    #[test]
    fn repositories_get_distinct_keys() {
        let a = repository_key("s3://a");
        assert_eq!(a.len(), 16);
        assert_ne!(a, repository_key("s3://b"));
        assert_eq!(a, repository_key("s3://a"));
    }

    #[test]
    fn bad_state_records_name_the_line() {
        let text = render_accepted(&accepted()).replace("Format: 1", "Format: 7");
        let err = parse_accepted(&text).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let text = render_accepted(&accepted()).replace("Index-SHA256: ", "Index-SHA256: zz");
        let err = parse_accepted(&text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(err.to_string().contains("Index-SHA256"), "{err}");
    }
}
