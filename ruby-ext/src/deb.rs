//! `Debpull._build_deb`: builds a `.deb` from a directory tree and control
//! fields (over `debpull::deb::Builder`); `Debpull.build_deb` in
//! `lib/debpull/package.rb` is the keyword API over it.

use std::path::PathBuf;

use debpull::deb::{Builder, Compression};
use magnus::Ruby;
use magnus::{Error, RModule, function};

use crate::gvl::without_gvl;
use crate::package::invalid;

/// The compressions `build_deb` accepts, by name.
const COMPRESSIONS: [(&str, Compression); 4] = [
    ("xz", Compression::Xz),
    ("gzip", Compression::Gzip),
    ("zstd", Compression::Zstd),
    ("none", Compression::None),
];

/// Builds the `.deb` for the tree `dir` with the control `fields` (in order)
/// and the control `files` (name, contents, mode) into `output`, without the
/// GVL (compression and writing). Bad fields are `Debpull::InvalidInput` (or
/// `InvalidVersion`), a missing `dir` or unwritable `output`
/// `Debpull::IOError`, naming what is wrong. Returns `output`.
fn build_deb(
    ruby: &Ruby,
    dir: PathBuf,
    output: PathBuf,
    fields: Vec<(String, String)>,
    files: Vec<(String, String, u32)>,
    compression: Option<String>,
) -> Result<PathBuf, Error> {
    let mut builder = Builder::new(dir);
    for (name, value) in fields {
        builder = builder.field(name, value);
    }
    for (name, contents, mode) in files {
        if mode > 0o7777 {
            return Err(invalid(
                ruby,
                format!("control file {name:?}: mode {mode:#o} is more than permission bits"),
            ));
        }
        builder = builder.control_file(name, contents.into_bytes(), mode);
    }
    if let Some(name) = compression {
        let Some((_, compression)) = COMPRESSIONS.iter().find(|(n, _)| *n == name) else {
            let allowed: Vec<&str> = COMPRESSIONS.iter().map(|(n, _)| *n).collect();
            return Err(invalid(
                ruby,
                format!(
                    "unknown compression {name:?}: use one of {}",
                    allowed.join(", ")
                ),
            ));
        };
        builder = builder.compression(*compression);
    }
    let written = output.clone();
    without_gvl(ruby, async move { builder.write_file(&written) })?;
    Ok(output)
}

/// Defines `Debpull._build_deb` in `module`.
pub(crate) fn define(module: &RModule) -> Result<(), Error> {
    module.define_module_function("_build_deb", function!(build_deb, 5))?;
    Ok(())
}
