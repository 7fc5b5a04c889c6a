//! aptly (the Debian package, 1.5) as a peer: a private aptly root and GnuPG
//! home per [`Aptly`], its signing key made at test time, publishing to a
//! directory (aptly's `FileSystemPublishEndpoints`) or to an S3 bucket (its
//! `S3PublishEndpoints`, e.g. moto on loopback).
//!
//! The configuration keys are those of aptly 1.5 (`utils/config.go`,
//! `S3PublishRoot`): `region`, `bucket`, `endpoint`, `awsAccessKeyID`,
//! `awsSecretAccessKey`, `prefix`, `acl`, `disableMultiDel`, `forceSigV2`.
//! There is no path-style switch: aptly 1.5 uses path-style requests whenever
//! `endpoint` is set, which is what moto needs.

use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "gpg.rs"]
mod gpg;

const INSTALL_HINT: &str =
    "these tests need aptly: apt-get install -y aptly (scripts/setup installs it)";

/// Where aptly publishes.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// A directory (the root of the published repository: `dists/`, `pool/`);
    /// aptly copies its pool files there.
    FileSystem { root: PathBuf },
    /// An S3 bucket, under `prefix` (`""`: the bucket's root). `endpoint` is
    /// the service's URL (`http://127.0.0.1:PORT` for moto); objects get the
    /// `public-read` ACL so that apt can fetch them anonymously.
    S3 {
        endpoint: String,
        region: String,
        bucket: String,
        prefix: String,
        access_key: String,
        secret_key: String,
    },
}

/// How one suite is published (`aptly publish repo`).
#[derive(Debug, Clone, Default)]
pub struct Publish<'a> {
    /// The distribution: the suite's directory under `dists/`.
    pub distribution: &'a str,
    /// The components and the aptly repository each one publishes.
    pub components: &'a [(&'a str, &'a str)],
    /// `-acquire-by-hash`.
    pub acquire_by_hash: bool,
    /// `-architectures` (empty: those of the packages).
    pub architectures: &'a [&'a str],
    /// `-origin`, `-label` (aptly's default: `. <distribution>`).
    pub origin: Option<&'a str>,
    pub label: Option<&'a str>,
    /// `-skip-signing`: no InRelease, no Release.gpg.
    pub skip_signing: bool,
}

/// An aptly installation of its own: database, configuration, signing key.
pub struct Aptly {
    root: PathBuf,
    config: PathBuf,
    gpg: gpg::Gpg,
    fingerprint: String,
    endpoint: Endpoint,
}

impl Aptly {
    /// aptly with its database under `dir/aptly`, publishing to `endpoint`,
    /// signing with a new Ed25519 key (no passphrase) in a private GNUPGHOME.
    pub fn new(dir: &Path, endpoint: Endpoint) -> Aptly {
        let root = dir.join("aptly");
        std::fs::create_dir_all(&root).unwrap();
        let gpg = gpg::Gpg::new();
        let fingerprint = gpg.gen_key(
            "aptly tests <aptly@example.org>",
            "ed25519",
            "sign",
            "0",
            "",
        );
        let publish = match &endpoint {
            Endpoint::FileSystem { root } => format!(
                "\"FileSystemPublishEndpoints\": {{\"fs\": {{\"rootDir\": {}, \"linkMethod\": \"copy\", \"verifyMethod\": \"md5\"}}}}",
                json(&root.display().to_string())
            ),
            Endpoint::S3 {
                endpoint,
                region,
                bucket,
                prefix,
                access_key,
                secret_key,
            } => format!(
                "\"S3PublishEndpoints\": {{\"s3\": {{\"region\": {}, \"bucket\": {}, \"endpoint\": {}, \"awsAccessKeyID\": {}, \"awsSecretAccessKey\": {}, \"prefix\": {}, \"acl\": \"public-read\", \"disableMultiDel\": false, \"forceSigV2\": false}}}}",
                json(region),
                json(bucket),
                json(endpoint),
                json(access_key),
                json(secret_key),
                json(prefix)
            ),
        };
        let config = dir.join("aptly.conf");
        std::fs::write(
            &config,
            format!(
                "{{\"rootDir\": {}, \"architectures\": [], \"gpgProvider\": \"gpg\", {publish}}}\n",
                json(&root.display().to_string())
            ),
        )
        .unwrap();
        Aptly {
            root,
            config,
            gpg,
            fingerprint,
            endpoint,
        }
    }

    /// The armored public key aptly signs with (for apt's signed-by and
    /// debpull's adopt_keys).
    pub fn public_key(&self) -> String {
        self.gpg.export_armored(&self.fingerprint)
    }

    /// Where aptly's database is.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs `aptly -config=... args`; its output, or a panic with it.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("aptly")
            .arg(format!("-config={}", self.config.display()))
            .args(args)
            .env("GNUPGHOME", self.gpg.home())
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("cannot run aptly ({e}): {INSTALL_HINT}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "aptly {args:?} failed:\n{text}");
        text
    }

    /// A local aptly repository `name` holding `debs`.
    pub fn repo(&self, name: &str, debs: &[PathBuf]) {
        self.run(&["repo", "create", name]);
        let mut args = vec!["repo".to_owned(), "add".to_owned(), name.to_owned()];
        args.extend(debs.iter().map(|d| d.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args);
    }

    /// `aptly publish repo` of one suite to the endpoint (at the endpoint's root).
    pub fn publish(&self, publish: &Publish<'_>) -> String {
        let components: Vec<&str> = publish.components.iter().map(|(c, _)| *c).collect();
        let mut args: Vec<String> = vec![
            "publish".into(),
            "repo".into(),
            "-batch".into(),
            format!("-distribution={}", publish.distribution),
            format!("-component={}", components.join(",")),
        ];
        if publish.skip_signing {
            args.push("-skip-signing".into());
        } else {
            args.push(format!("-gpg-key={}", self.fingerprint));
        }
        if publish.acquire_by_hash {
            args.push("-acquire-by-hash".into());
        }
        if !publish.architectures.is_empty() {
            args.push(format!(
                "-architectures={}",
                publish.architectures.join(",")
            ));
        }
        if let Some(origin) = publish.origin {
            args.push(format!("-origin={origin}"));
        }
        if let Some(label) = publish.label {
            args.push(format!("-label={label}"));
        }
        args.extend(
            publish
                .components
                .iter()
                .map(|(_, repo)| (*repo).to_owned()),
        );
        args.push(self.prefix());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args)
    }
}

impl Aptly {
    /// `aptly publish update`: publishes `distribution` again from its
    /// repositories (and, as aptly does by default, deletes the pool files of
    /// its components that no suite aptly published lists).
    pub fn update(&self, distribution: &str) -> String {
        let key = format!("-gpg-key={}", self.fingerprint);
        let prefix = self.prefix();
        self.run(&["publish", "update", "-batch", &key, distribution, &prefix])
    }

    /// `release` (a Release file's text) signed with aptly's key: the InRelease
    /// and the Release.gpg, as aptly writes them.
    pub fn sign(&self, release: &str) -> (String, Vec<u8>) {
        (
            self.gpg
                .clearsign(&[&self.fingerprint], release, "SHA256", ""),
            self.gpg
                .detach_sign(&self.fingerprint, release.as_bytes(), true, ""),
        )
    }

    /// The endpoint and prefix argument of aptly's publish commands.
    fn prefix(&self) -> String {
        match self.endpoint {
            Endpoint::FileSystem { .. } => "filesystem:fs:.".into(),
            Endpoint::S3 { .. } => "s3:s3:.".into(),
        }
    }
}

/// `text` as a JSON string.
fn json(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
