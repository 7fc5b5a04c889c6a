//! Blocking work without the GVL: other Ruby threads run meanwhile, and an
//! interrupt (`Timeout`, `Thread#kill`, Ctrl-C) cancels the work and is
//! raised.

use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use debpull::{Error as CoreError, ErrorKind};
use magnus::{Error, Ruby};
use tokio::sync::Notify;

use crate::error::to_ruby;

unsafe extern "C" {
    // ruby/thread.h (not in rb-sys's bindings).
    fn rb_thread_call_without_gvl(
        func: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
        data1: *mut c_void,
        ubf: Option<unsafe extern "C" fn(*mut c_void)>,
        data2: *mut c_void,
    ) -> *mut c_void;
}

/// What the call without the GVL works on and leaves behind.
struct Call<F, T> {
    future: Option<F>,
    cancel: Arc<Notify>,
    /// `None`: cancelled (or not run: an interrupt came first); `Some(Err)`: a panic.
    output: Option<Result<debpull::Result<T>, String>>,
}

/// Runs `future` to completion on debpull's runtime with the GVL released.
/// An interrupt of this Ruby thread drops the future (work that must finish,
/// an install, goes on in core's own task) and raises that interrupt; a
/// panic becomes a `Debpull::Error`, never a crash.
pub(crate) fn without_gvl<T, F: Future<Output = debpull::Result<T>>>(
    ruby: &Ruby,
    future: F,
) -> Result<T, Error> {
    let cancel = Arc::new(Notify::new());
    let mut call = Call {
        future: Some(future),
        cancel: cancel.clone(),
        output: None,
    };
    let data = (&mut call as *mut Call<F, T>).cast::<c_void>();
    let cancel_data = Arc::as_ptr(&cancel).cast_mut().cast::<c_void>();
    // SAFETY: `run` and `unblock` get pointers to `call` and `cancel`, which
    // outlive this call; protect catches the interrupt Ruby may raise (a
    // longjmp) before or after running `run`.
    magnus::rb_sys::protect(|| unsafe {
        rb_thread_call_without_gvl(run::<F, T>, data, Some(unblock), cancel_data);
        magnus::rb_sys::AsRawValue::as_raw(ruby.qnil())
    })?;
    match call.output {
        Some(Ok(result)) => result.map_err(|e| to_ruby(ruby, e)),
        Some(Err(panic)) => Err(to_ruby(
            ruby,
            CoreError::new(ErrorKind::Io, format!("internal error in debpull: {panic}")),
        )),
        None => {
            // Cancelled by an interrupt: raise it (Timeout::Error, kill...).
            // SAFETY: checks this thread's pending interrupts, with the GVL.
            magnus::rb_sys::protect(|| unsafe {
                rb_sys::rb_thread_check_ints();
                magnus::rb_sys::AsRawValue::as_raw(ruby.qnil())
            })?;
            Err(to_ruby(
                ruby,
                CoreError::new(ErrorKind::Cancelled, "interrupted"),
            ))
        }
    }
}

/// The body, without the GVL: drive the future until it ends or is cancelled.
unsafe extern "C" fn run<F: Future<Output = debpull::Result<T>>, T>(
    data: *mut c_void,
) -> *mut c_void {
    // SAFETY: `data` is the `Call` of `without_gvl`, alive and not aliased now.
    let call = unsafe { &mut *data.cast::<Call<F, T>>() };
    let (Some(future), cancel) = (call.future.take(), call.cancel.clone()) else {
        return std::ptr::null_mut();
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        debpull::blocking::block_on(async move {
            tokio::select! {
                output = future => Some(output),
                () = cancel.notified() => None,
            }
        })
    }));
    call.output = match result {
        Ok(Ok(Some(output))) => Some(Ok(output)),
        Ok(Ok(None)) => None,
        // The runtime refused (an async caller) or could not start.
        Ok(Err(e)) => Some(Ok(Err(e))),
        Err(panic) => Some(Err(panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned()))),
    };
    std::ptr::null_mut()
}

/// Ruby's unblocking function (an interrupt arrived): cancel the work.
unsafe extern "C" fn unblock(data: *mut c_void) {
    // SAFETY: `data` is the `Notify` `without_gvl` keeps alive during the call.
    let cancel = unsafe { &*data.cast::<Notify>() };
    // A permit is kept if the body is not waiting yet.
    cancel.notify_one();
}
