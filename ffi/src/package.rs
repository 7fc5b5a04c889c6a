//! Packages (`debpull_package_*`): a `.deb`'s control fields and file fields
//! as a Packages index lists them; lists of packages (`debpull_package_list_*`).

use std::ffi::{CString, c_char};

use debpull::checksum::Algorithm;
use debpull::{Error, ErrorKind, Package};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};

/// A package: its Packages stanza (control fields, Filename, Size, checksums).
/// Immutable: safe to share between threads. Made by `debpull_deb_inspect`
/// (owned, `debpull_package_free`) or borrowed from a list or a check.
pub struct DebpullPackage {
    package: Package,
    name: CString,
    version: CString,
    architecture: CString,
    stanza: CString,
    /// The stanza's fields in order: name, value (continuation lines joined
    /// with newlines, as deb822 has them).
    fields: Vec<(CString, CString)>,
    /// Hex digests, by `Algorithm::ALL`'s order.
    checksums: [Option<CString>; 4],
}

impl DebpullPackage {
    /// The handle for `package`, its strings ready for C.
    pub(crate) fn new(package: Package) -> debpull::Result<DebpullPackage> {
        let what = format!("package {}", package.name());
        let stanza = package.to_string();
        let mut fields = Vec::new();
        for paragraph in debpull::control::paragraphs(&stanza) {
            for field in paragraph?.fields() {
                fields.push((
                    args::c_string(field.name(), &what)?,
                    args::c_string(field.value(), &what)?,
                ));
            }
        }
        let mut checksums: [Option<CString>; 4] = Default::default();
        for (slot, algorithm) in checksums.iter_mut().zip(Algorithm::ALL) {
            *slot = package
                .checksums()
                .hex(algorithm)
                .map(|hex| args::c_string(&hex, &what))
                .transpose()?;
        }
        Ok(DebpullPackage {
            name: args::c_string(package.name(), &what)?,
            version: args::c_string(package.version().as_str(), &what)?,
            architecture: args::c_string(package.architecture(), &what)?,
            stanza: args::c_string(&stanza, &what)?,
            fields,
            checksums,
            package,
        })
    }
}

/// The package's name, borrowed from `package`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_name(package: *const DebpullPackage) -> *const c_char {
    args::read(package, std::ptr::null(), |p| p.name.as_ptr())
}

/// The package's version as written, borrowed from `package`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_version(package: *const DebpullPackage) -> *const c_char {
    args::read(package, std::ptr::null(), |p| p.version.as_ptr())
}

/// The package's architecture (`amd64`, `all`, ...), borrowed from `package`.
/// NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_architecture(package: *const DebpullPackage) -> *const c_char {
    args::read(package, std::ptr::null(), |p| p.architecture.as_ptr())
}

/// The size of the `.deb` in bytes (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_size(package: *const DebpullPackage) -> u64 {
    args::read(package, 0, |p| p.package.size())
}

/// The value of the stanza's field `name` (case-insensitive: `Depends`,
/// `Filename`, `SHA256`, ...), borrowed from `package`; NULL when the package
/// has no such field, and for NULL arguments.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_field(
    package: *const DebpullPackage,
    name: *const c_char,
) -> *const c_char {
    args::read(package, std::ptr::null(), |p| {
        // SAFETY: NULL or a NUL-terminated string.
        let Ok(name) = (unsafe { args::str(name, "name") }) else {
            return std::ptr::null();
        };
        p.fields
            .iter()
            .find(|(field, _)| {
                field
                    .to_str()
                    .is_ok_and(|field| field.eq_ignore_ascii_case(name))
            })
            .map_or(std::ptr::null(), |(_, value)| value.as_ptr())
    })
}

/// How many fields the stanza has (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_field_count(package: *const DebpullPackage) -> usize {
    args::read(package, 0, |p| p.fields.len())
}

/// The stanza's field number `index` (from 0, in the stanza's order): writes
/// its name and value, both borrowed from `package`, to `*name` and `*value`.
/// An index past the last field is `DEBPULL_STATUS_NOT_FOUND`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_field_at(
    package: *const DebpullPackage,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live package from debpull.
        let package = unsafe { args::borrow(package, "package") }?;
        args::out(name, "name")?;
        args::out(value, "value")?;
        let (field, text) = package.fields.get(index).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "package {} has {} fields: there is no field {index}",
                    package.package.name(),
                    package.fields.len()
                ),
            )
        })?;
        // SAFETY: both checked not NULL above.
        unsafe {
            args::write(name, field.as_ptr());
            args::write(value, text.as_ptr());
        }
        Ok(())
    })
}

/// The hex digest of the `.deb` under `algorithm` (`MD5`, `SHA1`, `SHA256`,
/// `SHA512`, case-insensitive; `MD5sum` too), borrowed from `package`; NULL
/// when it was not computed or listed, and for NULL or unknown arguments.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_checksum(
    package: *const DebpullPackage,
    algorithm: *const c_char,
) -> *const c_char {
    args::read(package, std::ptr::null(), |p| {
        // SAFETY: NULL or a NUL-terminated string.
        let Ok(algorithm) = (unsafe { args::str(algorithm, "algorithm") }) else {
            return std::ptr::null();
        };
        let algorithm = if algorithm.eq_ignore_ascii_case("MD5") {
            "MD5sum"
        } else {
            algorithm
        };
        Algorithm::ALL
            .iter()
            .position(|a| a.packages_field().eq_ignore_ascii_case(algorithm))
            .and_then(|i| p.checksums[i].as_ref())
            .map_or(std::ptr::null(), |hex| hex.as_ptr())
    })
}

/// The package's Packages stanza (what `apt-ftparchive packages` writes for
/// it), borrowed from `package`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_stanza(package: *const DebpullPackage) -> *const c_char {
    args::read(package, std::ptr::null(), |p| p.stanza.as_ptr())
}

/// Frees a package the caller owns. NULL is fine. Never free a package
/// borrowed from a list or a check.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_free(package: *mut DebpullPackage) {
    // SAFETY: NULL or an owned package from debpull, not used again.
    guard((), || unsafe { args::free(package) })
}

/// A list of packages (what a suite lists, what an operation changed).
/// Immutable: safe to share between threads. Owned by the caller,
/// `debpull_package_list_free`; its packages are borrowed from it.
pub struct DebpullPackageList {
    packages: Vec<DebpullPackage>,
}

impl DebpullPackageList {
    /// The handle for `packages`.
    pub(crate) fn new(packages: Vec<Package>) -> debpull::Result<DebpullPackageList> {
        Ok(DebpullPackageList {
            packages: packages
                .into_iter()
                .map(DebpullPackage::new)
                .collect::<debpull::Result<_>>()?,
        })
    }
}

/// How many packages `list` holds (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_list_len(list: *const DebpullPackageList) -> usize {
    args::read(list, 0, |l| l.packages.len())
}

/// Package number `index` (from 0) of `list`, borrowed from it: valid until
/// the list is freed. NULL past the end and for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_list_get(
    list: *const DebpullPackageList,
    index: usize,
) -> *const DebpullPackage {
    args::read(list, std::ptr::null(), |l| {
        l.packages
            .get(index)
            .map_or(std::ptr::null(), |p| p as *const DebpullPackage)
    })
}

/// Frees `list` and the packages in it. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_package_list_free(list: *mut DebpullPackageList) {
    // SAFETY: NULL or a list from debpull, not used again.
    guard((), || unsafe { args::free(list) })
}
