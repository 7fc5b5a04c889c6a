//! The C ABI of debpull: `libdebpull.so` / `libdebpull.a` and
//! `include/debpull.h` (generated from this crate by cbindgen).
//!
//! Thin functions over the `debpull` crate, no logic of their own. The
//! conventions, the same for every function (and repeated in the header):
//!
//! - Names: `debpull_<type>_<verb>`. Opaque handles made by a `_new`,
//!   `_open`, `_parse` or `_inspect` function, or written to an output, are
//!   owned by the caller and freed by their `_free` function (which accepts
//!   NULL); handles returned as `const` pointers are borrowed from another
//!   handle. Plain `#[repr(C)]` structs are filled in and need no freeing.
//! - A fallible function returns a `DebpullStatus`: `DEBPULL_STATUS_OK` (0)
//!   on success, else the kind of failure. Its outputs are its last
//!   parameters but one, written only on success. The very last parameter,
//!   `DebpullError **error`, may be NULL; if not, a failure writes a new error
//!   object there (kind and a message naming the file, key, field or line at
//!   fault), owned by the caller and freed with `debpull_error_free`.
//! - Every pointer is checked: a NULL where a value is needed is
//!   `DEBPULL_STATUS_INVALID_INPUT` naming the parameter. Strings are
//!   NUL-terminated UTF-8 unless a length is given; invalid UTF-8 is refused.
//!   Buffers (pointer + length) longer than 64 MiB are refused.
//! - Strings debpull returns are borrowed from a handle (`const char *`,
//!   valid until the handle is freed).
//! - No Rust panic crosses the boundary: it becomes `DEBPULL_STATUS_INTERNAL`.
//! - Blocking calls (storage, network, installs) run on one process-wide
//!   runtime of debpull's own; they must not be called from a debpull callback
//!   (refused), nor after `fork()` in a child of a process that used them.
//!   Callbacks run on the thread that called the function, before it returns;
//!   they must not free a handle the running call uses, nor unwind (C++
//!   exceptions, longjmp) through debpull.
//! - Each handle's documentation says whether it may be used from several
//!   threads at once.

// Entry points are called from C, where every function is unsafe: each one
// checks its pointers for NULL and documents what it borrows and owns.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod args;
mod deb;
mod error;
mod notify;
mod package;
// Staged rollout (issue 8): its own module and re-exports.
mod phasing;
mod repository;
mod repository_options;
mod run;
mod source;
mod updater;
mod user_data;
mod version;

use std::ffi::c_char;

pub use deb::DebpullDebBuilder;
pub use error::{DebpullError, DebpullStatus};
pub use notify::{DebpullMessage, DebpullNotifier};
pub use package::{DebpullPackage, DebpullPackageList};
pub use phasing::DebpullPromoteReport;
pub use repository::{
    DebpullGcReport, DebpullProgress, DebpullProgressCallback, DebpullProgressKind,
    DebpullPublishReport, DebpullRepository, DebpullVerifyReport,
};
pub use repository_options::DebpullRepositoryOptions;
pub use source::{DebpullCheck, DebpullSource, DebpullSourceOptions};
pub use updater::{
    DebpullEvent, DebpullEventCallback, DebpullOutcome, DebpullOutcomeKind, DebpullUpdater,
    DebpullUpdaterOptions,
};
pub use user_data::{DebpullUserData, DebpullUserDataOptions};
pub use version::DebpullVersion;

/// The version of the debpull library (`"0.1.0"`): static, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_library_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
