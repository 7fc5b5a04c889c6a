//! GnuPG as a test oracle: a private `GNUPGHOME` per [`Gpg`], keys made with
//! `gpg --batch --quick-gen-key`, signatures made by `gpg`, and `gpgv` to check
//! ours. The agent of the home is stopped when the [`Gpg`] is dropped.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const INSTALL_HINT: &str = "these tests need GnuPG: apt-get install -y gpg gpg-agent gpgv";

/// A throw-away GnuPG home directory.
pub struct Gpg {
    dir: tempfile::TempDir,
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home())
            .output();
    }
}

impl Default for Gpg {
    fn default() -> Self {
        Self::new()
    }
}

impl Gpg {
    /// A new, empty home.
    pub fn new() -> Gpg {
        let dir = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir()
            .expect("temporary directory");
        let gpg = Gpg { dir };
        fs::create_dir(gpg.home()).unwrap();
        fs::set_permissions(
            gpg.home(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        gpg
    }

    /// The GNUPGHOME directory.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A path for a scratch file in this test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `gpg --batch` with `args` (passphrase via loopback; "" for none), feeding `stdin`.
    pub fn run(&self, passphrase: &str, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.home())
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
            ])
            .args(["--passphrase", passphrase])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run gpg ({e}): {INSTALL_HINT}"));
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Like [`Gpg::run`], and panics (with gpg's message) unless it succeeds.
    pub fn ok(&self, passphrase: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(passphrase, args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `gpg --quick-gen-key`: `algo` (ed25519, rsa3072, ...), `usage` (sign, cert,
    /// "sign,cert"), `expire` ("0", "1d", "seconds=N"). Returns the fingerprint.
    pub fn gen_key(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        passphrase: &str,
    ) -> String {
        self.ok(
            passphrase,
            &["--quick-gen-key", uid, algo, usage, expire],
            b"",
        );
        self.fingerprints(uid)[0].clone()
    }

    /// `gpg --quick-add-key`: a subkey of `fpr`. Returns the subkey's fingerprint.
    pub fn add_subkey(
        &self,
        fpr: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        passphrase: &str,
    ) -> String {
        self.ok(
            passphrase,
            &["--quick-add-key", fpr, algo, usage, expire],
            b"",
        );
        self.fingerprints(fpr).last().unwrap().clone()
    }

    /// Fingerprints of the primary key and subkeys matching `who`, in order.
    pub fn fingerprints(&self, who: &str) -> Vec<String> {
        let out = self.ok("", &["--with-colons", "--list-keys", who], b"");
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_owned())
            .collect()
    }

    /// `gpg --export` (binary public key).
    pub fn export(&self, fpr: &str) -> Vec<u8> {
        self.ok("", &["--export", fpr], b"")
    }

    /// `gpg --export --armor`.
    pub fn export_armored(&self, fpr: &str) -> String {
        String::from_utf8(self.ok("", &["--export", "--armor", fpr], b"")).unwrap()
    }

    /// `gpg --export-secret-keys --armor` (protected by the key's passphrase).
    pub fn export_secret(&self, fpr: &str, passphrase: &str) -> String {
        let out = self.ok(passphrase, &["--export-secret-keys", "--armor", fpr], b"");
        String::from_utf8(out).unwrap()
    }

    /// `gpg --export-secret-subkeys --armor`: the primary's secret part left out.
    pub fn export_secret_subkeys(&self, fpr: &str, passphrase: &str) -> String {
        let out = self.ok(
            passphrase,
            &["--export-secret-subkeys", "--armor", fpr],
            b"",
        );
        String::from_utf8(out).unwrap()
    }

    /// `gpg --import`.
    pub fn import(&self, data: &[u8], passphrase: &str) {
        self.ok(passphrase, &["--import"], data);
    }

    /// `gpg --clearsign` of `text` by `fpr` (one or more `-u`), with `digest`.
    pub fn clearsign(
        &self,
        signers: &[&str],
        text: &str,
        digest: &str,
        passphrase: &str,
    ) -> String {
        let mut args = vec!["--digest-algo", digest];
        for s in signers {
            args.extend(["-u", s]);
        }
        args.push("--clearsign");
        String::from_utf8(self.ok(passphrase, &args, text.as_bytes())).unwrap()
    }

    /// `gpg --detach-sign` of `data` by `fpr`, armored or binary.
    pub fn detach_sign(&self, fpr: &str, data: &[u8], armor: bool, passphrase: &str) -> Vec<u8> {
        let mut args = vec!["-u", fpr, "--digest-algo", "SHA512", "--detach-sign"];
        if armor {
            args.push("--armor");
        }
        self.ok(passphrase, &args, data)
    }

    /// Revokes the key `fpr` by importing the revocation certificate gpg stored
    /// when it made the key (its first line is defused with a `:`).
    pub fn revoke_key(&self, fpr: &str) {
        let file = self
            .home()
            .join("openpgp-revocs.d")
            .join(format!("{fpr}.rev"));
        let text = fs::read_to_string(&file).unwrap();
        let certificate = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        self.import(certificate.as_bytes(), "");
    }

    /// Revokes subkey number `n` (1 = the first) of `fpr` with `gpg --edit-key`.
    pub fn revoke_subkey(&self, fpr: &str, n: usize, passphrase: &str) {
        let commands = format!("key {n}\nrevkey\ny\n0\n\ny\nsave\n");
        self.ok(
            passphrase,
            &["--command-fd", "0", "--edit-key", fpr],
            commands.as_bytes(),
        );
    }

    /// Sets the expiry of `fpr` (or of the subkeys given) to `expire`.
    pub fn set_expire(&self, fpr: &str, expire: &str, subkeys: &[&str], passphrase: &str) {
        let mut args = vec!["--quick-set-expire", fpr, expire];
        args.extend(subkeys);
        self.ok(passphrase, &args, b"");
    }

    /// Runs `gpgv --keyring <keyring> files...` and returns its status lines on
    /// success, or gpgv's messages as the error.
    pub fn gpgv(&self, keyring: &[u8], files: &[(&str, &[u8])]) -> Result<String, String> {
        let ring = self.path("gpgv-keyring.gpg");
        fs::write(&ring, keyring).unwrap();
        let paths: Vec<PathBuf> = files
            .iter()
            .map(|(name, data)| {
                let p = self.path(name);
                fs::write(&p, data).unwrap();
                p
            })
            .collect();
        let out = Command::new("gpgv")
            .env("GNUPGHOME", self.home())
            .arg("--status-fd")
            .arg("1")
            .arg("--keyring")
            .arg(&ring)
            .args(&paths)
            .output()
            .unwrap_or_else(|e| panic!("cannot run gpgv ({e}): {INSTALL_HINT}"));
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(status)
        } else {
            Err(format!("{status}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

/// The fingerprint gpgv reports in its `VALIDSIG` status line (the signing key's).
pub fn validsig(status: &str) -> Option<&str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
        .and_then(|rest| rest.split(' ').next())
}
