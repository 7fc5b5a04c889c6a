//! apt-ftparchive + gpg as a peer publisher: a repository directory with a
//! pool of `.deb`s, `apt-ftparchive packages` / `release`, and `gpg --clearsign`
//! (InRelease) and/or `gpg -abs` (Release.gpg) with a key made at test time.
//!
//! Include next to `gpg.rs`:
//! ```ignore
//! #[path = "support/gpg.rs"]
//! mod gpg;
//! #[path = "support/ftparchive.rs"]
//! mod ftparchive;
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::gpg::Gpg;

const INSTALL_HINT: &str =
    "these tests need apt-ftparchive: apt-get install -y apt-utils (scripts/setup installs it)";

/// Which signed files a publish writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// `InRelease` (clearsigned) and `Release.gpg`.
    Both,
    /// Only `Release` + `Release.gpg` (`gpg -abs`), as older tools publish.
    DetachedOnly,
}

/// A repository directory published with apt-ftparchive, signed by its own key.
pub struct FtpArchive {
    root: PathBuf,
    gpg: Gpg,
    fingerprint: String,
}

impl FtpArchive {
    /// An empty repository at `root` with a new ed25519 signing key.
    pub fn new(root: &Path) -> FtpArchive {
        std::fs::create_dir_all(root).unwrap();
        let gpg = Gpg::new();
        let fingerprint = gpg.gen_key(
            "ftparchive tests <ftparchive@example.org>",
            "ed25519",
            "sign",
            "0",
            "",
        );
        FtpArchive {
            root: root.to_path_buf(),
            gpg,
            fingerprint,
        }
    }

    /// The repository's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The signing key's public part (binary).
    pub fn public_key(&self) -> Vec<u8> {
        self.gpg.export(&self.fingerprint)
    }

    /// Copies `debs` into `pool/main/` and (re)publishes `suite` for amd64,
    /// component `main`: Packages and Packages.gz, a Release naming the suite,
    /// signed as `signing` says (an earlier InRelease is removed for
    /// [`Signing::DetachedOnly`]).
    pub fn publish(&self, suite: &str, debs: &[PathBuf], signing: Signing) {
        let pool = self.root.join("pool/main");
        std::fs::create_dir_all(&pool).unwrap();
        for deb in debs {
            std::fs::copy(deb, pool.join(deb.file_name().unwrap())).unwrap();
        }
        let dist = self.root.join("dists").join(suite);
        let binary = dist.join("main/binary-amd64");
        std::fs::create_dir_all(&binary).unwrap();
        let packages = self.ftparchive(&["packages", "pool/main"]);
        std::fs::write(binary.join("Packages"), &packages).unwrap();
        std::fs::write(binary.join("Packages.gz"), gzip(&packages)).unwrap();
        for stale in ["Release", "InRelease", "Release.gpg"] {
            let _ = std::fs::remove_file(dist.join(stale));
        }
        let release = self.ftparchive(&[
            "-o",
            &format!("APT::FTPArchive::Release::Suite={suite}"),
            "-o",
            &format!("APT::FTPArchive::Release::Codename={suite}"),
            "-o",
            "APT::FTPArchive::Release::Architectures=amd64",
            "-o",
            "APT::FTPArchive::Release::Components=main",
            "release",
            &format!("dists/{suite}"),
        ]);
        std::fs::write(dist.join("Release"), &release).unwrap();
        let text = String::from_utf8(release.clone()).unwrap();
        if signing == Signing::Both {
            let signed = self
                .gpg
                .clearsign(&[&self.fingerprint], &text, "SHA256", "");
            std::fs::write(dist.join("InRelease"), signed).unwrap();
        }
        let signature = self.gpg.detach_sign(&self.fingerprint, &release, true, "");
        std::fs::write(dist.join("Release.gpg"), signature).unwrap();
    }

    fn ftparchive(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("apt-ftparchive")
            .args(args)
            .current_dir(&self.root)
            .output()
            .unwrap_or_else(|e| panic!("apt-ftparchive: {e}; {INSTALL_HINT}"));
        assert!(
            out.status.success(),
            "apt-ftparchive {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// `gzip -9n` of `data` (the gzip program, as a publisher would run it).
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-9n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gzip failed");
    out.stdout
}
