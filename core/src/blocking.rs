//! The blocking facade for the bindings (C, Ruby), which are synchronous: one
//! process-wide tokio runtime, started on first use, that every binding call
//! runs its future on.
//!
//! The runtime lives until the process ends. Work an async call leaves running
//! (the install task of [`Updater::update`](crate::client::Updater::update),
//! which completes even when its caller is cancelled) therefore finishes as long
//! as the process does. A child made by `fork()` (a preloading Ruby server, a
//! worker pool) has none of its parent's threads: it gets a runtime of its own
//! on first use (the parent's, whose threads are gone, is never touched again).

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, ErrorKind, Result};

/// Worker threads of the shared runtime: I/O-bound work (storage requests,
/// child processes) needs few; hashing runs on the calling futures.
const WORKER_THREADS: usize = 2;

/// The runtime and the process it was started in.
static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime, started if needed.
fn runtime() -> Result<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((owner, runtime)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(runtime.clone());
    }
    if let Some((_, inherited)) = slot.take() {
        // The parent's, after fork(): its threads do not exist here, and
        // dropping it would wait for them for ever.
        std::mem::forget(inherited);
    }
    let runtime = Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("debpull")
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| Error::new(ErrorKind::Io, format!("starting debpull's runtime: {e}")))?;
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}

/// Runs `future` to completion on the shared runtime, blocking the calling
/// thread. Called from inside an async context (a tokio runtime's thread), it
/// refuses with [`ErrorKind::InvalidInput`] rather than deadlock or panic: async
/// callers await the future themselves. A runtime that cannot start (no
/// threads) is an [`ErrorKind::Io`] error.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "debpull's blocking calls cannot run inside an async runtime: await the async API instead",
        ));
    }
    Ok(runtime()?.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_futures_from_many_threads_at_once() {
        let threads: Vec<_> = (0..8u64)
            .map(|i| {
                std::thread::spawn(move || {
                    block_on(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        i * 2
                    })
                    .unwrap()
                })
            })
            .collect();
        let results: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results, (0..8).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn spawned_work_outlives_the_call_that_started_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        block_on(async move {
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                tx.send(42).unwrap();
            });
        })
        .unwrap();
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap(),
            42
        );
    }

    #[test]
    fn a_forked_child_gets_a_runtime_of_its_own() {
        // The parent's runtime runs (its worker threads exist only here).
        assert_eq!(block_on(async { 1 }).unwrap(), 1);
        // SAFETY: the child only runs debpull's blocking call and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = block_on(async {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                42
            })
            .unwrap_or(1);
            // SAFETY: leaves the child at once, without running the parent's exit handlers.
            unsafe { libc::_exit(code) };
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child, without blocking.
            let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if done == pid {
                break;
            }
            if std::time::Instant::now() > deadline {
                // SAFETY: our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("the forked child's blocking call hung");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(libc::WIFEXITED(status), "status {status}");
        assert_eq!(libc::WEXITSTATUS(status), 42);
    }

    #[tokio::test]
    async fn refuses_inside_an_async_runtime() {
        let err = block_on(async { 1 }).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("await"), "{err}");
    }
}
