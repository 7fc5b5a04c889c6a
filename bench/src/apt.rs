//! apt's deb822 parser (libapt-pkg's `pkgTagSection` / `pkgTagFile`), the
//! reference for `debpull::control`.

use std::ffi::{CString, c_char};
use std::path::Path;

unsafe extern "C" {
    fn debpull_bench_apt_scan(text: *const c_char, len: usize, value_bytes: *mut usize) -> usize;
    fn debpull_bench_apt_tagfile(path: *const c_char, value_bytes: *mut usize) -> usize;
}

/// Stanzas of `text` and the total length of their Package and Version values,
/// by `pkgTagSection::Scan` over the text in memory.
pub fn scan(text: &str) -> (usize, usize) {
    let mut value_bytes = 0;
    // SAFETY: the pointer and length describe `text`, which outlives the call;
    // the shim only reads it and writes `value_bytes`.
    let stanzas =
        unsafe { debpull_bench_apt_scan(text.as_ptr().cast(), text.len(), &mut value_bytes) };
    (stanzas, value_bytes)
}

/// The same, by `pkgTagFile` reading the file at `path`.
pub fn tagfile(path: &Path) -> (usize, usize) {
    let path = CString::new(path.as_os_str().as_encoded_bytes()).expect("path without NUL");
    let mut value_bytes = 0;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let stanzas = unsafe { debpull_bench_apt_tagfile(path.as_ptr(), &mut value_bytes) };
    (stanzas, value_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_and_debpull_read_the_same_stanzas() {
        let text =
            "Package: a1\nVersion: 1.0\n\nPackage: bb\nDescription: x\n y\nVersion: 2:3-4\n\n";
        let path =
            std::env::temp_dir().join(format!("debpull-bench-apt-test-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let expected = (2, "a1".len() + "1.0".len() + "bb".len() + "2:3-4".len());
        assert_eq!(scan(text), expected);
        assert_eq!(tagfile(&path), expected);
        std::fs::remove_file(&path).unwrap();
        let ours =
            debpull::control::paragraphs(text)
                .map(|p| p.unwrap())
                .fold((0, 0), |(n, len), p| {
                    (
                        n + 1,
                        len + p.get("Package").unwrap().len() + p.get("Version").unwrap().len(),
                    )
                });
        assert_eq!(ours, expected);
    }
}
