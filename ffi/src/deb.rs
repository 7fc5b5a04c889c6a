//! `.deb` files: inspecting one (`debpull_deb_inspect`), building one
//! (`debpull_deb_builder_*`).

use std::ffi::c_char;

use debpull::control::OwnedParagraph;
use debpull::deb::{Builder, Compression};
use debpull::{Error, ErrorKind, Result};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};
use crate::package::DebpullPackage;

/// Reads the `.deb` at `path` in one pass (its control file, and its MD5,
/// SHA-1, SHA-256 and SHA-512 digests and size) and writes the package to
/// `*out`, owned by the caller (`debpull_package_free`); it has no Filename.
/// Borrows `path`. A missing file is `DEBPULL_STATUS_IO`, a file that is not
/// a valid `.deb` `DEBPULL_STATUS_PARSE`, both naming the file.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_inspect(
    path: *const c_char,
    out: *mut *mut DebpullPackage,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { args::non_empty_str(path, "path") }?;
        args::out(out, "out")?;
        let options = debpull::deb::InspectOptions {
            algorithms: debpull::checksum::Algorithms::ALL,
            ..Default::default()
        };
        let package = DebpullPackage::new(debpull::deb::inspect_with(path, &options)?)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(package)) };
        Ok(())
    })
}

/// A `.deb` being built from a directory tree and control fields (over
/// `debpull::deb::Builder`): reproducible, entries sorted, owner root:root,
/// every timestamp the same, `Installed-Size` and `md5sums` generated. Made by
/// `debpull_deb_builder_new`, freed with `debpull_deb_builder_free`. Not
/// thread-safe: use it from one thread at a time.
pub struct DebpullDebBuilder {
    builder: Builder,
}

impl DebpullDebBuilder {
    /// Applies one of the builder's by-value setters in place.
    fn update(&mut self, set: impl FnOnce(Builder) -> Builder) {
        let builder = std::mem::replace(&mut self.builder, Builder::new(""));
        self.builder = set(builder);
    }
}

/// The builder behind `builder`; NULL is an error.
///
/// # Safety
/// `builder` is NULL or a live builder from `debpull_deb_builder_new`, used by
/// this thread only.
unsafe fn builder_mut<'a>(builder: *mut DebpullDebBuilder) -> Result<&'a mut DebpullDebBuilder> {
    // SAFETY: the caller's promise.
    unsafe { args::borrow_mut(builder, "builder") }
}

/// The compressions `debpull_deb_builder_set_compression` accepts.
const COMPRESSIONS: [(&str, Compression); 4] = [
    ("xz", Compression::Xz),
    ("gzip", Compression::Gzip),
    ("zstd", Compression::Zstd),
    ("none", Compression::None),
];

/// Writes to `*out` a new builder for the tree under `root_dir` (the files to
/// install, relative to `/`; read by `debpull_deb_builder_write`, so it need
/// not exist yet), with no control fields, xz compression and timestamps
/// from `SOURCE_DATE_EPOCH` (else 0). Owned by the caller:
/// `debpull_deb_builder_free`. Borrows `root_dir`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_new(
    root_dir: *const c_char,
    out: *mut *mut DebpullDebBuilder,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a NUL-terminated string.
        let root_dir = unsafe { args::non_empty_str(root_dir, "root_dir") }?;
        args::out(out, "out")?;
        let builder = DebpullDebBuilder {
            builder: Builder::new(root_dir),
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(builder)) };
        Ok(())
    })
}

/// Sets the control field `name` to `value`, replacing a field of the same
/// name (case-insensitive) in place; new fields keep the order they are set
/// in. Continuation lines of a multi-line value (`Description`) start with a
/// space; an empty line is " .". A name that is not a deb822 field name or a
/// malformed value is `DEBPULL_STATUS_INVALID_INPUT` naming it; the package
/// fields themselves (Package, Version, Architecture) are checked by
/// `debpull_deb_builder_write`. Borrows `name` and `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_set_field(
    builder: *mut DebpullDebBuilder,
    name: *const c_char,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live builder used by this thread only.
        let builder = unsafe { builder_mut(builder) }?;
        // SAFETY: NULL or NUL-terminated strings.
        let (name, value) = unsafe { (args::str(name, "name")?, args::str(value, "value")?) };
        // The checks the builder makes when writing, made now.
        OwnedParagraph::new().set(name, value)?;
        builder.update(|b| b.field(name, value));
        Ok(())
    })
}

/// Adds the file `name` to the control archive (`postinst`, `prerm`,
/// `conffiles`, `triggers`, ...; an `md5sums` replaces the generated one),
/// holding the `len` bytes at `data` (NULL is fine when `len` is 0), with the
/// permission bits `mode` (0755 for maintainer scripts). A file of the same
/// name is replaced. A mode above 07777 is `DEBPULL_STATUS_INVALID_INPUT`, a
/// length above 64 MiB `DEBPULL_STATUS_LIMIT_EXCEEDED`; a name that is not a
/// plain file name (or is `control`) is refused by
/// `debpull_deb_builder_write`. Borrows `name` and `data` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_add_control_file(
    builder: *mut DebpullDebBuilder,
    name: *const c_char,
    data: *const u8,
    len: usize,
    mode: u32,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live builder used by this thread only.
        let builder = unsafe { builder_mut(builder) }?;
        // SAFETY: NULL or a NUL-terminated string.
        let name = unsafe { args::non_empty_str(name, "name") }?;
        // SAFETY: NULL or `len` readable bytes.
        let data = unsafe { args::bytes(data, len, "data") }?;
        if mode > 0o7777 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "control file {name:?}: mode {mode:#o} is more than permission bits (0o7777)"
                ),
            ));
        }
        builder.update(|b| b.control_file(name, data, mode));
        Ok(())
    })
}

/// Compresses the control and data archives with `compression`: one of
/// "xz" (the default), "gzip", "zstd", "none"; anything else is
/// `DEBPULL_STATUS_INVALID_INPUT` listing them. Borrows `compression`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_set_compression(
    builder: *mut DebpullDebBuilder,
    compression: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live builder used by this thread only.
        let builder = unsafe { builder_mut(builder) }?;
        // SAFETY: NULL or a NUL-terminated string.
        let name = unsafe { args::str(compression, "compression") }?;
        let compression = COMPRESSIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                let allowed: Vec<&str> = COMPRESSIONS.iter().map(|(n, _)| *n).collect();
                Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "unknown compression {name:?}: use one of {}",
                        allowed.join(", ")
                    ),
                )
            })?;
        builder.update(|b| b.compression(compression));
        Ok(())
    })
}

/// Sets every timestamp in the archive to `seconds` since the epoch (instead
/// of `SOURCE_DATE_EPOCH`). A time too large for a `.deb` (8^11 seconds and
/// more) is refused by `debpull_deb_builder_write`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_set_mtime(
    builder: *mut DebpullDebBuilder,
    seconds: u64,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live builder used by this thread only.
        let builder = unsafe { builder_mut(builder) }?;
        builder.update(|b| b.mtime(seconds));
        Ok(())
    })
}

/// Builds the `.deb` and writes it to `output_path` (through a temporary
/// `<output_path>.tmp` renamed into place), replacing a file there. The
/// builder is unchanged and can write again. Missing or invalid Package,
/// Version or Architecture fields are `DEBPULL_STATUS_INVALID_INPUT` (an
/// invalid version `DEBPULL_STATUS_INVALID_VERSION`), a missing root
/// directory or an unwritable output `DEBPULL_STATUS_IO`, naming the field
/// or path. Borrows `builder` and `output_path`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_write(
    builder: *const DebpullDebBuilder,
    output_path: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live builder used by this thread only.
        let builder = unsafe { args::borrow(builder, "builder") }?;
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { args::non_empty_str(output_path, "output_path") }?;
        builder.builder.write_file(path)
    })
}

/// Frees `builder`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_deb_builder_free(builder: *mut DebpullDebBuilder) {
    // SAFETY: NULL or a builder from debpull_deb_builder_new, not used again.
    guard((), || unsafe { args::free(builder) })
}
