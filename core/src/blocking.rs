//! The blocking facade for the bindings (C, Ruby), which are synchronous: one
//! process-wide tokio runtime, started on first use, that every binding call
//! runs its future on.
//!
//! The runtime lives until the process ends. Work an async call leaves running
//! (the install task of [`Updater::update`](crate::client::Updater::update),
//! which completes even when its caller is cancelled) therefore finishes as long
//! as the process does.

use std::future::Future;
use std::sync::LazyLock;

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, ErrorKind, Result};

/// Worker threads of the shared runtime: I/O-bound work (storage requests,
/// child processes) needs few; hashing runs on the calling futures.
const WORKER_THREADS: usize = 2;

static RUNTIME: LazyLock<std::result::Result<Runtime, String>> = LazyLock::new(|| {
    Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("debpull")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
});

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
    match &*RUNTIME {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(e) => Err(Error::new(
            ErrorKind::Io,
            format!("starting debpull's runtime: {e}"),
        )),
    }
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

    #[tokio::test]
    async fn refuses_inside_an_async_runtime() {
        let err = block_on(async { 1 }).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("await"), "{err}");
    }
}
