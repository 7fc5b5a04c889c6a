//! libdpkg's version parsing and comparison, the reference for `debpull::Version`.

use std::cmp::Ordering;
use std::ffi::{CString, c_char, c_int, c_uint};

/// libdpkg's `struct dpkg_version`.
#[repr(C)]
struct RawVersion {
    epoch: c_uint,
    version: *const c_char,
    revision: *const c_char,
}

unsafe extern "C" {
    /// libdpkg's comparison (lib/dpkg/version.c).
    fn dpkg_version_compare(a: *const RawVersion, b: *const RawVersion) -> c_int;
    /// `parseversion` behind the shim in `shim/dpkg_version.c`.
    fn debpull_bench_dpkg_parse(out: *mut RawVersion, s: *const c_char) -> c_int;
    /// `sizeof(struct dpkg_version)`, to check the layout above.
    safe fn debpull_bench_dpkg_version_size() -> usize;
}

/// A version parsed by libdpkg's `parseversion`.
///
/// Its strings stay in libdpkg's allocator for the rest of the process (nothing
/// here frees it), so keep the number of parsed versions bounded. Not `Send`:
/// libdpkg's allocator is not thread-safe.
pub struct DpkgVersion(RawVersion);

impl DpkgVersion {
    /// Parses `s` with libdpkg; `None` when dpkg reports an error or a warning,
    /// or when `s` contains a NUL byte.
    pub fn parse(s: &str) -> Option<DpkgVersion> {
        assert_eq!(
            debpull_bench_dpkg_version_size(),
            size_of::<RawVersion>(),
            "struct dpkg_version changed layout"
        );
        let s = CString::new(s).ok()?;
        let mut raw = RawVersion {
            epoch: 0,
            version: std::ptr::null(),
            revision: std::ptr::null(),
        };
        // SAFETY: `raw` is a valid `struct dpkg_version` to write to and `s` a
        // NUL-terminated string that outlives the call; parseversion copies it.
        let rc = unsafe { debpull_bench_dpkg_parse(&mut raw, s.as_ptr()) };
        (rc == 0).then_some(DpkgVersion(raw))
    }

    /// `dpkg_version_compare(self, other)`: negative, zero or positive.
    #[inline]
    pub fn compare(&self, other: &DpkgVersion) -> c_int {
        // SAFETY: both point to versions parseversion filled in, whose strings
        // are never freed (see the type's documentation).
        unsafe { dpkg_version_compare(&self.0, &other.0) }
    }

    /// The sign of [`DpkgVersion::compare`] as an `Ordering`.
    pub fn ordering(&self, other: &DpkgVersion) -> Ordering {
        self.compare(other).cmp(&0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_debpull_on_a_few_pairs() {
        let pairs = [
            ("1.0", "1.00"),
            ("1.0~rc1", "1.0"),
            ("2:0.1", "1:9.9-9"),
            ("1.0a", "1.0+"),
        ];
        for (a, b) in pairs {
            let (da, db) = (
                DpkgVersion::parse(a).expect(a),
                DpkgVersion::parse(b).expect(b),
            );
            let ours = debpull::Version::compare_str(a, b).expect("valid");
            assert_eq!(da.ordering(&db), ours, "{a} vs {b}");
        }
        assert!(DpkgVersion::parse("1:").is_none());
        assert!(DpkgVersion::parse("a1").is_none());
    }
}
