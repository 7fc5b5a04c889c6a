//! Runs core's async operations for a blocking C caller, and brings the
//! events they report (progress, update events) onto the caller's thread.

use std::cell::Cell;
use std::future::Future;

use debpull::{Error, ErrorKind, Result};
use tokio::sync::mpsc;

thread_local! {
    /// Whether this thread is running a C callback for a blocking call.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `future` on debpull's process-wide runtime and waits for it.
pub(crate) fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    not_in_a_callback()?;
    debpull::blocking::block_on(future)?
}

/// Refuses a blocking call made from a debpull callback (which runs while
/// another blocking call waits on this thread).
fn not_in_a_callback() -> Result<()> {
    if IN_CALLBACK.get() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a debpull callback called a blocking debpull function: \
             call it after the running function returns",
        ));
    }
    Ok(())
}

/// Runs `callback`, marking this thread as in a callback meanwhile (until
/// it returns or unwinds).
fn in_callback(callback: impl FnOnce()) {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_CALLBACK.set(self.0);
        }
    }
    let _restore = Restore(IN_CALLBACK.replace(true));
    callback();
}

/// Runs the future `start` makes, passing it a sender for its events, and
/// calls `on_event` for each event on the calling thread (never on a runtime
/// worker) while the future runs, and for any left when it ends, before
/// returning its result. Events sent after that are dropped.
pub(crate) fn block_on_with_events<T, E, F>(
    start: impl FnOnce(mpsc::UnboundedSender<E>) -> F,
    mut on_event: impl FnMut(E),
) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    not_in_a_callback()?;
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let future = start(sender);
    // `block_on` polls this future on the calling thread: `on_event` runs here.
    debpull::blocking::block_on(async move {
        tokio::pin!(future);
        let result = loop {
            tokio::select! {
                biased;
                Some(event) = receiver.recv() => in_callback(|| on_event(event)),
                result = &mut future => break result,
            }
        };
        while let Ok(event) = receiver.try_recv() {
            in_callback(|| on_event(event));
        }
        result
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_run_on_the_calling_thread_in_order() {
        let caller = std::thread::current().id();
        let mut seen = Vec::new();
        let result = block_on_with_events(
            |sender| async move {
                // Sent from a runtime worker thread, as core's spawned work does.
                let worker = tokio::spawn(async move {
                    for i in 0..100 {
                        sender.send(i).unwrap();
                        tokio::task::yield_now().await;
                    }
                });
                worker.await.unwrap();
                Ok(7)
            },
            |event: i32| {
                assert_eq!(std::thread::current().id(), caller);
                seen.push(event);
            },
        )
        .unwrap();
        assert_eq!(result, 7);
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_blocking_call_from_a_callback_is_refused_and_later_ones_work() {
        let mut refused = None;
        block_on_with_events(
            |sender| async move {
                sender.send(()).unwrap();
                Ok(())
            },
            |()| refused = Some(block_on(async { Ok(1) })),
        )
        .unwrap();
        let err = refused.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("callback"), "{err}");
        assert_eq!(block_on(async { Ok(2) }).unwrap(), 2);
    }
}
