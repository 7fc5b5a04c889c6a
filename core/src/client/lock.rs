//! The run lock: `<state_dir>/lock`, held (an OS file lock, `flock`) for the
//! whole of an update run, so that overlapping runs (cron every minute, a
//! manual run, several threads or processes) never interleave.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LockMode;
use crate::error::{Error, Result};

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(50);

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
        std::fs::create_dir_all(state_dir).map_err(|e| Error::io(state_dir.display(), e))?;
        let path = lock_path(state_dir);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(path.display(), e))?;
        let deadline = match mode {
            LockMode::Skip => None,
            LockMode::Wait(limit) => Some(Instant::now() + limit),
        };
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(RunLock { _file: file })),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(path.display(), e).context("locking"));
                }
            }
            let now = Instant::now();
            match deadline {
                Some(deadline) if now < deadline => {
                    tokio::time::sleep(POLL.min(deadline - now)).await;
                }
                _ => return Ok(None),
            }
        }
    }
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
    }
}
