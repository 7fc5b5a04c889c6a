//! `Debpull._build_deb`: builds a `.deb` from a directory tree and control
//! fields (over `debpull::deb::Builder`); `Debpull.build_deb` in
//! `lib/debpull/package.rb` is the keyword API over it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use debpull::deb::{Builder, Compression};
use debpull::{Error as CoreError, ErrorKind};
use magnus::Ruby;
use magnus::{Error, RModule, function};

use crate::args::invalid;
use crate::gvl::{Detach, blocking};

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
    blocking(ruby, move |detach| write_deb(&builder, &written, detach))?;
    Ok(output)
}

/// Distinguishes the temporary files of builds running at once.
static BUILDS: AtomicU64 = AtomicU64::new(0);

/// Builds the `.deb` in memory, writes it to a temporary file next to
/// `output` and renames it over `output`: `output` is either the old file or
/// the complete new one. A build whose caller was interrupted (`detach`)
/// writes nothing (checked after the build and before the rename).
fn write_deb(builder: &Builder, output: &Path, detach: &Detach) -> debpull::Result<()> {
    let cancelled = || {
        CoreError::new(
            ErrorKind::Cancelled,
            format!("building {}: interrupted", output.display()),
        )
    };
    let bytes = builder.build()?;
    if detach.detached() {
        return Err(cancelled());
    }
    let mut tmp = output.as_os_str().to_owned();
    tmp.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        BUILDS.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| file.write_all(&bytes));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(CoreError::io(tmp.display(), e));
    }
    if detach.detached() {
        let _ = std::fs::remove_file(&tmp);
        return Err(cancelled());
    }
    std::fs::rename(&tmp, output).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CoreError::io(output.display(), e)
    })
}

/// Defines `Debpull._build_deb` in `module`.
pub(crate) fn define(module: &RModule) -> Result<(), Error> {
    module.define_module_function("_build_deb", function!(build_deb, 5))?;
    Ok(())
}
