//! The run lock: `<state_dir>/lock`, held (an OS file lock, `flock`) for the
//! whole of an update run, so that overlapping runs (cron every minute, a
//! manual run, several threads or processes) never interleave.
//!
//! The state directory is created `0700` when missing; the lock file is
//! created `0600`, opened without following a symlink, and refused unless it
//! is a regular file owned by the effective user (anyone able to open it could
//! `flock` it and freeze every run). [`private_root`] (the state directory:
//! a symlink to it is followed, its target checked) and [`private_dir`] (below
//! it: no symlink followed) are how the update side makes and checks its
//! directories. An insecure state directory (a symlink below the root, owned
//! by another user, writable by others) is an [`ErrorKind::Verification`]
//! error: a security check failed, as a bad signature does; retrying cannot
//! help, an administrator must fix it.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LockMode;
use crate::error::{Error, ErrorKind, Result};

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// How long [`LockMode::Skip`] still tries. A `flock` belongs to the open
/// file, and a child another thread forks gets a copy of every descriptor
/// until it execs: for a moment it holds a lock the run has let go, and an
/// immediate next run of the same process would skip for nothing.
const SKIP_GRACE: Duration = Duration::from_millis(250);

/// The lock of one run; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

/// `<state_dir>/lock`.
pub(crate) fn lock_path(state_dir: &Path) -> PathBuf {
    state_dir.join("lock")
}

impl RunLock {
    /// Takes the lock of `state_dir` (created if missing): at once, or after
    /// polling for up to the time [`LockMode::Wait`] allows. `Ok(None)`: another
    /// run holds it.
    pub async fn acquire(state_dir: &Path, mode: LockMode) -> Result<Option<RunLock>> {
        private_root(state_dir)?;
        let path = lock_path(state_dir);
        let file = open_lock_file(&path)?;
        // A wait too long to represent is no deadline (waits for ever).
        let deadline = match mode {
            LockMode::Skip => Instant::now().checked_add(SKIP_GRACE),
            LockMode::Wait(limit) => Instant::now().checked_add(limit),
        };
        Ok(lock_until(&file, &path, deadline)
            .await?
            .then_some(RunLock { _file: file }))
    }
}

/// Opens (creating it `0600`) the lock file at `path`, without following a
/// symlink; refused unless it is a regular file owned by the effective user
/// (anyone able to open it could `flock` it and freeze every run); a looser
/// mode is tightened to `0600`.
pub(crate) fn open_lock_file(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(path.display(), e))?;
    let meta = file.metadata().map_err(|e| Error::io(path.display(), e))?;
    if !meta.is_file() || meta.uid() != euid() {
        return Err(insecure(path, "is not a regular file owned by this user"));
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path.display(), e))?;
    }
    Ok(file)
}

/// Takes the OS lock (`flock`) on `file` (at `path`), polling until
/// `deadline` (`None`: for ever). `false`: another holder kept it.
pub(crate) async fn lock_until(
    file: &File,
    path: &Path,
    deadline: Option<Instant>,
) -> Result<bool> {
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(path.display(), e).context("locking"));
            }
        }
        let now = Instant::now();
        match deadline {
            None => tokio::time::sleep(POLL).await,
            Some(deadline) if now < deadline => {
                tokio::time::sleep(POLL.min(deadline - now)).await;
            }
            Some(_) => return Ok(false),
        }
    }
}

/// Makes sure `dir` is a directory only this user can write to: created
/// `0700` (with its missing parents) if absent; refused
/// ([`ErrorKind::Verification`], "an insecure state directory") if a symlink,
/// not owned by the effective user, or writable by group or others.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    check_private(dir, false)
}

/// [`private_dir`] for the state directory itself: a symlink there (e.g.
/// `/var/lib/debpull -> /data/debpull`) is followed, and its target must be
/// a directory owned by this user and not writable by others. Below it,
/// [`private_dir`] follows no symlink.
pub(crate) fn private_root(dir: &Path) -> Result<()> {
    check_private(dir, true)
}

fn check_private(dir: &Path, follow: bool) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir.display(), e))?;
    let meta = if follow {
        std::fs::metadata(dir)
    } else {
        std::fs::symlink_metadata(dir)
    }
    .map_err(|e| Error::io(dir.display(), e))?;
    if !meta.is_dir() {
        return Err(insecure(dir, "is not a directory (a symlink?)"));
    }
    if meta.uid() != euid() {
        return Err(insecure(
            dir,
            format_args!("is owned by uid {}, not this user ({})", meta.uid(), euid()),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(insecure(
            dir,
            format_args!("is writable by others (mode {:o})", meta.mode() & 0o7777),
        ));
    }
    Ok(())
}

/// The effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn insecure(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Verification,
        format!(
            "{} {what}: refused (it guards what is installed as root)",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_lock_waits_or_skips() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), LockMode::Skip).await.unwrap();
        assert!(first.is_some());
        assert!(
            RunLock::acquire(dir.path(), LockMode::Skip)
                .await
                .unwrap()
                .is_none()
        );
        let waited = RunLock::acquire(dir.path(), LockMode::Wait(Duration::from_millis(120)))
            .await
            .unwrap();
        assert!(waited.is_none());
        drop(first);
        let again = RunLock::acquire(dir.path(), LockMode::Skip).await.unwrap();
        assert!(again.is_some());
    }

    #[tokio::test]
    async fn a_missing_state_dir_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a/b");
        assert!(
            RunLock::acquire(&state, LockMode::Skip)
                .await
                .unwrap()
                .is_some()
        );
        assert!(lock_path(&state).exists());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&lock_path(&state)), 0o600);
    }

    #[tokio::test]
    async fn loose_state_dirs_and_lock_symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = RunLock::acquire(&state, LockMode::Skip).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(err.to_string().contains("writable by others"), "{err}");

        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, lock_path(&state)).unwrap();
        let err = RunLock::acquire(&state, LockMode::Skip).await.unwrap_err();
        assert!(err.to_string().contains("lock"), "{err}");

        // A lock file others could open (an older layout) is tightened.
        std::fs::remove_file(lock_path(&state)).unwrap();
        std::fs::write(lock_path(&state), "").unwrap();
        std::fs::set_permissions(lock_path(&state), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        assert!(
            RunLock::acquire(&state, LockMode::Skip)
                .await
                .unwrap()
                .is_some()
        );
        let mode = std::fs::metadata(lock_path(&state)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[tokio::test]
    async fn a_symlinked_state_dir_is_followed_and_its_target_checked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("data");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
        let state = dir.path().join("state");
        std::os::unix::fs::symlink(&target, &state).unwrap();
        let lock = RunLock::acquire(&state, LockMode::Skip).await.unwrap();
        assert!(lock.is_some());
        assert!(target.join("lock").is_file());
        drop(lock);
        // The target is checked as the directory itself would be.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = RunLock::acquire(&state, LockMode::Skip).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert!(err.to_string().contains("writable by others"), "{err}");
        // Below the root, a symlink is refused.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, target.join("debs")).unwrap();
        let err = private_dir(&state.join("debs")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        // A lock path that is a directory is a typed error.
        std::fs::remove_file(target.join("lock")).unwrap();
        std::fs::create_dir(target.join("lock")).unwrap();
        let err = RunLock::acquire(&state, LockMode::Skip).await.unwrap_err();
        assert!(err.to_string().contains("lock"), "{err}");
    }

    #[tokio::test]
    async fn an_endless_wait_does_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path(), LockMode::Wait(Duration::MAX)).await;
        assert!(lock.unwrap().is_some());
    }
}
