//! A temporary system for the real dpkg to install into: a root directory
//! (`dpkg --root`) and an administrative directory (`--admindir`) with an
//! empty status file, `updates/` and `info/`. What is installed is read back
//! with the real `dpkg-query`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A root and a dpkg admin directory under a test's temporary directory.
pub struct DpkgRoot {
    /// Where packages' files go.
    pub root: PathBuf,
    /// dpkg's administrative directory.
    pub admin: PathBuf,
}

impl DpkgRoot {
    /// A fresh, empty system under `dir` (`dir/root`, `dir/admin`).
    pub fn new(dir: &Path) -> DpkgRoot {
        let root = dir.join("root");
        let admin = dir.join("admin");
        for sub in [root.clone(), admin.join("updates"), admin.join("info")] {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(admin.join("status"), "").unwrap();
        DpkgRoot { root, admin }
    }

    /// A fresh system under `dir` where maintainer scripts run: the admin
    /// directory inside the root (`dir/root/var/lib/dpkg`, as dpkg requires
    /// when it chroots into `--root` for them; the tests run as root) and
    /// `/bin/sh` (the host's, with the libraries it loads) in it.
    pub fn with_shell(dir: &Path) -> DpkgRoot {
        let root = dir.join("root");
        let admin = root.join("var/lib/dpkg");
        for sub in [admin.join("updates"), admin.join("info")] {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(admin.join("status"), "").unwrap();
        let system = DpkgRoot { root, admin };
        let output = Command::new("ldd")
            .arg("/bin/sh")
            .output()
            .expect("run ldd (package libc-bin)");
        let text = String::from_utf8_lossy(&output.stdout);
        let libs = text
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
            .map(str::to_owned);
        for file in std::iter::once("/bin/sh".to_owned()).chain(libs) {
            let real = std::fs::canonicalize(&file).unwrap();
            let to = system.root.join(file.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&real, &to).unwrap();
        }
        system
    }

    /// dpkg's `Status` and `Version` of `package` (as dpkg-query prints them), if it knows it.
    pub fn state(&self, package: &str) -> Option<(String, String)> {
        let output = Command::new("dpkg-query")
            .arg(format!("--admindir={}", self.admin.display()))
            .args(["-W", "-f", "${Status}|${Version}", package])
            .output()
            .expect("run dpkg-query (package dpkg)");
        let text = String::from_utf8_lossy(&output.stdout);
        text.split_once('|')
            .map(|(s, v)| (s.to_owned(), v.to_owned()))
    }

    /// The version of `package` dpkg-query reports as installed, if any.
    pub fn installed(&self, package: &str) -> Option<String> {
        let output = Command::new("dpkg-query")
            .arg(format!("--admindir={}", self.admin.display()))
            .args(["-W", "-f", "${Status}|${Version}", package])
            .output()
            .expect("run dpkg-query (package dpkg)");
        let text = String::from_utf8_lossy(&output.stdout);
        match text.split_once('|') {
            Some((status, version)) if status.ends_with(" installed") => Some(version.to_owned()),
            _ => None,
        }
    }

    /// The content of an installed file, `rel` relative to the root.
    pub fn file(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }

    /// Installs `deb` with the real `dpkg -i` (to set up a machine).
    pub fn dpkg_install(&self, deb: &Path) {
        let output = Command::new("dpkg")
            .arg(format!("--root={}", self.root.display()))
            .arg(format!("--admindir={}", self.admin.display()))
            .arg("-i")
            .arg(deb)
            .output()
            .expect("run dpkg (package dpkg)");
        assert!(
            output.status.success(),
            "dpkg -i {}: {}",
            deb.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
