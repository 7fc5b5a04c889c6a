//! Small test packages, built with debpull's own `deb::Builder`.

use std::path::{Path, PathBuf};

use debpull::deb::Builder;

/// Builds `name` `version` for `arch` under `dir`; `salt` changes the content
/// (same name, version and architecture, different file).
pub fn build_deb(dir: &Path, name: &str, version: &str, arch: &str, salt: &str) -> PathBuf {
    build_deb_with(dir, name, version, arch, salt, &Extras::default())
}

/// What a test package has besides `usr/share/<name>/VERSION`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras<'a> {
    /// Control files (`postinst`, `conffiles`, ...): name, contents, mode.
    pub control_files: &'a [(&'a str, &'a str)],
    /// More files of the tree: path relative to the root, contents.
    pub files: &'a [(&'a str, &'a str)],
    /// More control fields (`Depends`, ...): name, value.
    pub fields: &'a [(&'a str, &'a str)],
}

/// [`build_deb`] with maintainer scripts (mode 0755), conffiles and more files.
pub fn build_deb_with(
    dir: &Path,
    name: &str,
    version: &str,
    arch: &str,
    salt: &str,
    extras: &Extras,
) -> PathBuf {
    let tree = dir.join(format!("tree-{name}-{version}-{arch}-{salt}"));
    let bin = tree.join("usr/share").join(name);
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("VERSION"), format!("{name} {version} {salt}\n")).unwrap();
    for (rel, contents) in extras.files {
        let path = tree.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let file_version = version.split_once(':').map_or(version, |(_, v)| v);
    let out = dir.join(format!(
        "{name}_{file_version}_{arch}{}.deb",
        if salt.is_empty() {
            String::new()
        } else {
            format!("-{salt}")
        }
    ));
    let mut builder = Builder::new(&tree);
    for (file, contents) in extras.control_files {
        let mode = if *file == "conffiles" { 0o644 } else { 0o755 };
        builder = builder.control_file(*file, contents.as_bytes().to_vec(), mode);
    }
    for (field, value) in extras.fields {
        builder = builder.field(*field, *value);
    }
    builder
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
