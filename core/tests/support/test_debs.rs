//! Small test packages, built with debpull's own `deb::Builder`.

use std::path::{Path, PathBuf};

use debpull::deb::Builder;

/// Builds `name` `version` for `arch` under `dir`; `salt` changes the content
/// (same name, version and architecture, different file).
pub fn build_deb(dir: &Path, name: &str, version: &str, arch: &str, salt: &str) -> PathBuf {
    let tree = dir.join(format!("tree-{name}-{version}-{arch}-{salt}"));
    let bin = tree.join("usr/share").join(name);
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("VERSION"), format!("{name} {version} {salt}\n")).unwrap();
    let file_version = version.split_once(':').map_or(version, |(_, v)| v);
    let out = dir.join(format!(
        "{name}_{file_version}_{arch}{}.deb",
        if salt.is_empty() {
            String::new()
        } else {
            format!("-{salt}")
        }
    ));
    Builder::new(&tree)
        .field("Package", name)
        .field("Version", version)
        .field("Architecture", arch)
        .field("Maintainer", "debpull tests <tests@example.org>")
        .field(
            "Description",
            format!("test package {name}\n Built by the debpull test suite."),
        )
        .mtime(1_700_000_000)
        .write_file(&out)
        .unwrap();
    out
}
