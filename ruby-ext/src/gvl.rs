//! Blocking work without the GVL: other Ruby threads run meanwhile, and an
//! interrupt (`Timeout`, `Thread#kill`, Ctrl-C) cancels the work and is
//! raised.
//!
//! Ruby calls the unblocking function for every interrupt of the thread,
//! including ones that raise nothing (a `trap` handler that returns,
//! `Thread#wakeup`, an exception deferred by `Thread.handle_interrupt`). So
//! the unblocking function only pauses the work: with the GVL back, Ruby
//! handles the interrupt; if that raises, the work is dropped and the
//! exception goes on; if not, the same work resumes where it was.

use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use magnus::{Error, Ruby};
use tokio::sync::Notify;

use crate::error::{internal, to_ruby};

unsafe extern "C" {
    // ruby/thread.h (not in rb-sys's bindings).
    fn rb_thread_call_without_gvl(
        func: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
        data1: *mut c_void,
        ubf: Option<unsafe extern "C" fn(*mut c_void)>,
        data2: *mut c_void,
    ) -> *mut c_void;
}

/// The work of one [`without_gvl`] call, boxed so that it survives pauses.
type Work<'a, T> = Pin<Box<dyn Future<Output = debpull::Result<T>> + 'a>>;

/// What a stretch without the GVL leaves behind.
enum Step<T> {
    /// Not run (an interrupt came before) or paused by the unblocking function.
    Paused,
    /// The work ended.
    Done(debpull::Result<T>),
    /// The work panicked (the message); it is gone.
    Panicked(String),
}

/// What the call without the GVL works on.
struct Call<'a, T> {
    work: Option<Work<'a, T>>,
    pause: Arc<Notify>,
    step: Step<T>,
}

/// Runs `future` to completion on debpull's runtime with the GVL released.
/// An interrupt of this Ruby thread that raises (Timeout, `Thread#kill`,
/// Ctrl-C) drops the future (work that must finish, an install, goes on in
/// core's own task) and is raised; one that raises nothing lets it go on. A
/// panic becomes a `Debpull::Error`, never a crash.
pub(crate) fn without_gvl<T, F>(ruby: &Ruby, future: F) -> Result<T, Error>
where
    F: Future<Output = debpull::Result<T>>,
{
    let pause = Arc::new(Notify::new());
    let mut call = Call::<T> {
        work: Some(Box::pin(future)),
        pause: pause.clone(),
        step: Step::Paused,
    };
    loop {
        let data = (&mut call as *mut Call<'_, T>).cast::<c_void>();
        let pause_data = Arc::as_ptr(&pause).cast_mut().cast::<c_void>();
        // SAFETY: `run` and `unblock` get pointers to `call` and `pause`,
        // which outlive this call; protect catches the interrupt Ruby may
        // raise (a longjmp) before or after running `run`; the closure owns
        // nothing that needs dropping.
        let raised = magnus::rb_sys::protect(|| unsafe {
            rb_thread_call_without_gvl(run::<T>, data, Some(unblock), pause_data);
            magnus::rb_sys::AsRawValue::as_raw(ruby.qnil())
        });
        if let Err(interrupt) = raised {
            // Timeout::Error, a kill, Interrupt...: the work is dropped.
            drop_work(call.work.take());
            return Err(interrupt);
        }
        match std::mem::replace(&mut call.step, Step::Paused) {
            Step::Done(result) => return result.map_err(|e| to_ruby(ruby, e)),
            Step::Panicked(panic) => {
                return Err(internal(
                    ruby,
                    format!("internal error in debpull: {panic}"),
                ));
            }
            // Paused by an interrupt that raised nothing: go on.
            Step::Paused if call.work.is_some() => {}
            Step::Paused => {
                return Err(internal(
                    ruby,
                    "internal error in debpull: the work was lost",
                ));
            }
        }
    }
}

/// Tells [`blocking`] work whether its caller is gone (an interrupt raised).
pub(crate) struct Detach(Arc<AtomicBool>);

impl Detach {
    /// Whether the call that started the work was interrupted: its result
    /// will be dropped, so it should not change anything any more.
    pub(crate) fn detached(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sets the flag when dropped: when the awaiting future ends or is dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs the synchronous `work` (reading or building a big file, unlocking a
/// key, starting `dpkg`) on a thread of debpull's runtime for blocking work,
/// with the GVL released. An interrupt that raises detaches the work at once
/// (it ends on its own in the background, its result dropped; `work` can ask
/// its [`Detach`] before it changes anything), where running it inside
/// [`without_gvl`]'s future would only see the interrupt when the work ends.
/// A panic of `work` becomes the base `Debpull::Error`.
pub(crate) fn blocking<T, F>(ruby: &Ruby, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&Detach) -> debpull::Result<T> + Send + 'static,
{
    let flag = Arc::new(AtomicBool::new(false));
    let detach = Detach(flag.clone());
    without_gvl(ruby, async move {
        let _gone = SetOnDrop(flag);
        match tokio::task::spawn_blocking(move || work(&detach)).await {
            Ok(result) => result,
            // Caught by `run`'s catch_unwind (no panic hook runs again).
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(debpull::Error::new(
                debpull::ErrorKind::Io,
                format!("debpull's blocking work did not run: {e}"),
            )),
        }
    })
}

/// Drops interrupted work inside debpull's runtime (its timers and tasks
/// expect one), catching a panic of its destructors.
fn drop_work<T>(work: Option<Work<'_, T>>) {
    if let Some(work) = work {
        drop_in_runtime(work);
    }
}

/// Drops `value` (a future, a stream of core's) inside debpull's runtime,
/// catching a panic of its destructors.
pub(crate) fn drop_in_runtime<V>(value: V) {
    let _ = catch_unwind(AssertUnwindSafe(move || {
        let _ = debpull::blocking::block_on(async move { drop(value) });
    }));
}

/// The body, without the GVL: drive the work until it ends or is paused.
unsafe extern "C" fn run<T>(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is the `Call` of `without_gvl`, alive and not aliased now.
    let call = unsafe { &mut *data.cast::<Call<'_, T>>() };
    let Some(mut work) = call.work.take() else {
        return std::ptr::null_mut();
    };
    let pause = call.pause.clone();
    let result = catch_unwind(AssertUnwindSafe(|| {
        debpull::blocking::block_on(async {
            tokio::select! {
                output = &mut work => Some(output),
                () = pause.notified() => None,
            }
        })
    }));
    call.step = match result {
        Ok(Ok(Some(output))) => Step::Done(output),
        Ok(Ok(None)) => {
            call.work = Some(work);
            Step::Paused
        }
        // The runtime refused (an async caller) or could not start.
        Ok(Err(e)) => Step::Done(Err(e)),
        Err(panic) => {
            // The work may be in any state: drop it here, panics caught.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(work)));
            Step::Panicked(
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned()),
            )
        }
    };
    std::ptr::null_mut()
}

/// Ruby's unblocking function (an interrupt arrived): pause the work, so
/// that Ruby can handle the interrupt with the GVL.
unsafe extern "C" fn unblock(data: *mut c_void) {
    // SAFETY: `data` is the `Notify` `without_gvl` keeps alive during the call.
    let pause = unsafe { &*data.cast::<Notify>() };
    // A permit is kept if the body is not waiting yet.
    pause.notify_one();
}
