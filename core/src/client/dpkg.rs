//! What dpkg has installed: the `Version` of a package in dpkg's status file.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::control::Reader;
use crate::error::{Error, ErrorKind, Result};
use crate::version::Version;

/// dpkg's default administrative directory (`--admindir`).
pub const DEFAULT_ADMIN_DIR: &str = "/var/lib/dpkg";

/// The version of `package` that dpkg records as installed in
/// `<admin_dir>/status`, or `None` when it is not installed.
///
/// "Installed" is what apt counts as an installed version: any `Status` whose
/// state is not `not-installed` or `config-files` (a half-configured or
/// unpacked package has a version on disk; [`installed_package`] tells them
/// apart). A package listed once per architecture (multi-arch) answers with
/// the highest version. The status file is streamed: memory stays bounded by
/// its largest paragraph. A missing status file is an [`ErrorKind::NotFound`]
/// error naming it (dpkg always has one); a malformed one a
/// [`ErrorKind::Parse`] error with the line.
pub fn installed_version(admin_dir: &Path, package: &str) -> Result<Option<Version>> {
    Ok(installed_package(admin_dir, package)?.map(|p| p.version))
}

/// A package dpkg has on disk: its version and its `Status` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    /// The version (the highest of a multi-arch package's copies).
    pub version: Version,
    /// dpkg's `Status` of that copy, e.g. `install ok installed` or
    /// `install reinstreq half-configured`.
    pub status: String,
}

impl InstalledPackage {
    /// Whether dpkg finished installing it: the flag `ok` and the state
    /// `installed` (`install ok installed`, `hold ok installed`, ...; not
    /// half-configured, unpacked, awaiting triggers, needing a reinstall...).
    /// The selection word (the first) says what the administrator wants, not
    /// what is on disk.
    pub fn is_configured(&self) -> bool {
        let words: Vec<&str> = self.status.split_ascii_whitespace().collect();
        matches!(words.as_slice(), [_, "ok", "installed"])
    }

    /// Whether the administrator put it on hold (`apt-mark hold`, dpkg's
    /// selection `hold`): its `Status` starts with `hold`.
    pub fn is_held(&self) -> bool {
        self.status.split_ascii_whitespace().next() == Some("hold")
    }
}

/// `package` as dpkg's status file in `admin_dir` has it: its version and
/// state, or `None` when it is not installed (as for [`installed_version`],
/// whose errors it shares).
pub fn installed_package(admin_dir: &Path, package: &str) -> Result<Option<InstalledPackage>> {
    let path = status_path(admin_dir);
    let file = File::open(&path).map_err(|e| {
        let err = Error::io(path.display(), e);
        if err_is_not_found(&err) {
            err.with_kind(ErrorKind::NotFound)
        } else {
            err
        }
    })?;
    let at = |e: Error| e.context(path.display());
    let mut reader = Reader::new(std::io::BufReader::new(file));
    let mut best: Option<InstalledPackage> = None;
    while let Some(paragraph) = reader.next_paragraph() {
        let paragraph = paragraph.map_err(at)?;
        if paragraph.get("Package") != Some(package) {
            continue;
        }
        let status = paragraph
            .get("Status")
            .unwrap_or("unknown ok not-installed");
        let state = status
            .split_ascii_whitespace()
            .nth(2)
            .unwrap_or("not-installed");
        if matches!(state, "not-installed" | "config-files") {
            continue;
        }
        let Some(field) = paragraph.field("Version") else {
            continue;
        };
        let version = Version::parse(field.value()).map_err(|e| {
            at(e.context(format_args!(
                "package {package}, field Version at line {}",
                field.line()
            )))
        })?;
        if best.as_ref().is_none_or(|b| version > b.version) {
            best = Some(InstalledPackage {
                version,
                status: status.to_owned(),
            });
        }
    }
    Ok(best)
}

/// `<admin_dir>/status`.
pub fn status_path(admin_dir: &Path) -> PathBuf {
    admin_dir.join("status")
}

fn err_is_not_found(err: &Error) -> bool {
    std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_dir(status: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("status"), status).unwrap();
        dir
    }

    #[test]
    fn reads_the_installed_version() {
        let dir = admin_dir(
            "Package: other\nStatus: install ok installed\nVersion: 9\n\n\
             Package: app\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:2.0~rc1-3\n\n\
             Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
             Package: never\nStatus: purge ok not-installed\n\n\
             Package: half\nStatus: install reinstreq half-configured\nVersion: 0.5\n\n\
             Package: held\nStatus: hold ok installed\nVersion: 2.0\n\n\
             Package: leaving\nStatus: deinstall ok installed\nVersion: 3.0\n\n\
             Package: heldhalf\nStatus: hold reinstreq half-installed\nVersion: 4.0\n",
        );
        let v = |name: &str| installed_version(dir.path(), name).unwrap();
        assert_eq!(v("app").unwrap().as_str(), "1:2.0~rc1-3");
        assert_eq!(v("other").unwrap().as_str(), "9");
        assert_eq!(v("half").unwrap().as_str(), "0.5");
        assert!(v("gone").is_none());
        assert!(v("never").is_none());
        assert!(v("absent").is_none());
        let p = |name: &str| installed_package(dir.path(), name).unwrap().unwrap();
        assert!(p("app").is_configured());
        assert!(!p("half").is_configured());
        assert_eq!(p("half").status, "install reinstreq half-configured");
        // The selection (hold, deinstall) is the administrator's wish, not a broken install.
        assert!(p("held").is_configured() && p("held").is_held());
        assert!(p("leaving").is_configured() && !p("leaving").is_held());
        assert!(!p("heldhalf").is_configured() && p("heldhalf").is_held());
        assert!(!p("app").is_held());
        assert!(installed_package(dir.path(), "gone").unwrap().is_none());
    }

    #[test]
    fn multi_arch_copies_answer_with_the_highest() {
        let dir = admin_dir(
            "Package: lib\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n\
             Package: lib\nStatus: install ok installed\nArchitecture: i386\nVersion: 1.1\n",
        );
        let got = installed_version(dir.path(), "lib").unwrap().unwrap();
        assert_eq!(got.as_str(), "1.1");
    }

    #[test]
    fn bad_status_files_are_typed_errors() {
        let missing = tempfile::tempdir().unwrap();
        let err = installed_version(missing.path(), "app").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("status"), "{err}");

        let dir = admin_dir("Package: app\nStatus: install ok installed\nVersion: a:b\n");
        let err = installed_version(dir.path(), "app").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidVersion, "{err}");
        assert!(err.to_string().contains("line 3"), "{err}");

        let dir = admin_dir("Package: app\nno colon here\n");
        let err = installed_version(dir.path(), "app").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    }
}
