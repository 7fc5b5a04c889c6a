//! What the C tests of sources and updaters get from the harness: a signing
//! key and a second, wrong one (made by the real gpg), repositories published
//! with core's `Repository` into a local directory and into a moto bucket on
//! loopback, and a dpkg root to install into. The C program gets it all
//! through environment variables (`DEBPULL_TEST_*`, `AWS_*`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use debpull::repo::{Repository, RepositoryOptions};
use debpull::sign::SigningKey;
use debpull::storage::{S3Credentials, S3Options, S3Storage, Storage};

use crate::dpkg_root::DpkgRoot;
use crate::gpg::Gpg;
use crate::moto::{self, Moto};
use crate::test_debs::build_deb;

/// The suite everything is published into.
pub const SUITE: &str = "production";
/// The package published.
pub const APP: &str = "app";

/// The keys, made once per test binary with gpg: the signing key (armored
/// secret), its public key and another key's public key.
pub struct Keys {
    /// The signing key, armored secret key without a passphrase.
    pub secret: String,
    /// Its public key, armored.
    pub public: String,
    /// Another key's public key, armored.
    pub wrong_public: String,
}

/// The keys of this test binary.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let gpg = Gpg::new();
        let fpr = gpg.gen_key("debpull ffi <ffi@example.org>", "ed25519", "sign", "0", "");
        let wrong = gpg.gen_key(
            "someone else <else@example.org>",
            "ed25519",
            "sign",
            "0",
            "",
        );
        Keys {
            secret: gpg.export_secret(&fpr, ""),
            public: gpg.export_armored(&fpr),
            wrong_public: gpg.export_armored(&wrong),
        }
    })
}

/// One test's world: a directory, two repositories, a dpkg root.
pub struct ClientFixture {
    dir: tempfile::TempDir,
    local: Repository,
    s3: Repository,
    s3_uri: String,
    /// Where the C program installs to.
    pub system: DpkgRoot,
}

impl ClientFixture {
    /// Publishes `APP` at `version` into both repositories.
    pub fn new(version: &str) -> ClientFixture {
        let dir = tempfile::tempdir().unwrap();
        let key = || SigningKey::from_armored(&keys().secret, None).unwrap();
        let options = RepositoryOptions::default;
        let repo_dir = dir.path().join("repo");
        std::fs::create_dir(&repo_dir).unwrap();
        let store = debpull::storage::open(&file_uri(&repo_dir)).unwrap();
        let local = Repository::new(store, key(), options()).unwrap();

        let moto = Moto::shared();
        let bucket = moto.create_bucket("ffi-client");
        let credentials = moto.credentials();
        let mut s3_options = S3Options::new(&bucket);
        s3_options.endpoint = Some(moto.endpoint());
        s3_options.region = Some(moto::REGION.to_owned());
        s3_options.force_path_style = true;
        s3_options.credentials = S3Credentials::Static {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.clone(),
            session_token: credentials.session_token.clone(),
        };
        let s3_store: Arc<dyn Storage> = Arc::new(S3Storage::new(s3_options).unwrap());
        let s3 = Repository::new(s3_store, key(), options()).unwrap();
        // Another region and no endpoint: the C programs set the real ones
        // (DEBPULL_TEST_S3_REGION, _ENDPOINT) apart from the URI.
        let s3_uri = format!("s3://{bucket}?region=eu-north-9");

        let system = DpkgRoot::new(&dir.path().join("system"));
        let fixture = ClientFixture {
            dir,
            local,
            s3,
            s3_uri,
            system,
        };
        fixture.publish(version);
        for (name, text) in [
            ("key.asc", &keys().public),
            ("wrong.asc", &keys().wrong_public),
        ] {
            std::fs::write(fixture.dir.path().join(name), text).unwrap();
        }
        fixture
    }

    /// Publishes `APP` at `version` into both repositories.
    pub fn publish(&self, version: &str) {
        let deb = build_deb(self.dir.path(), APP, version, "amd64", "");
        for repo in [&self.local, &self.s3] {
            debpull::blocking::block_on(repo.publish(
                SUITE,
                "main",
                std::slice::from_ref(&deb),
                Default::default(),
                &|_| {},
            ))
            .unwrap()
            .unwrap();
        }
    }

    /// The environment of the C program.
    pub fn env(&self) -> Vec<(String, String)> {
        let dir = self.dir.path();
        let moto = Moto::shared();
        let path = |p: &Path| p.display().to_string();
        let scratch = dir.join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        vec![
            ("DEBPULL_TEST_FILE_URI".into(), file_uri(&dir.join("repo"))),
            ("DEBPULL_TEST_S3_URI".into(), self.s3_uri.clone()),
            ("DEBPULL_TEST_S3_REGION".into(), moto::REGION.into()),
            (
                "DEBPULL_TEST_S3_ENDPOINT".into(),
                moto::Moto::shared().endpoint(),
            ),
            ("DEBPULL_TEST_KEY".into(), path(&dir.join("key.asc"))),
            (
                "DEBPULL_TEST_WRONG_KEY".into(),
                path(&dir.join("wrong.asc")),
            ),
            ("DEBPULL_TEST_DIR".into(), path(&scratch)),
            ("DEBPULL_TEST_ROOT".into(), path(&self.system.root)),
            ("DEBPULL_TEST_ADMIN".into(), path(&self.system.admin)),
            ("DEBPULL_TEST_SUITE".into(), SUITE.into()),
            ("DEBPULL_TEST_PACKAGE".into(), APP.into()),
            (
                "AWS_ACCESS_KEY_ID".into(),
                moto.credentials().access_key_id.clone(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                moto.credentials().secret_access_key.clone(),
            ),
            // Nothing of the host's AWS set-up, no instance metadata.
            ("AWS_CONFIG_FILE".into(), path(&dir.join("no-aws-config"))),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                path(&dir.join("no-aws-credentials")),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }

    /// What dpkg-query says is installed of `APP` in the root.
    pub fn installed(&self) -> Option<String> {
        self.system.installed(APP)
    }
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", PathBuf::from(path).display())
}
