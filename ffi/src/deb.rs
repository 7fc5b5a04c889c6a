//! `.deb` files: inspecting one (`debpull_deb_inspect`).

use std::ffi::c_char;

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call};
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
