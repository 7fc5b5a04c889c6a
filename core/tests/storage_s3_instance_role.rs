//! The instance-role path end to end: a publisher process with no credentials
//! in its environment or files opens `s3://...` (the SDK's default chain), gets
//! an instance role's temporary credentials from a fake EC2 metadata service
//! (IMDSv2: token first), and publishes to moto with authentication on, which
//! accepts only valid signatures and session tokens.
//!
//! The publisher is this test binary run again as a child, so that its
//! environment is its own (the parent's threads never see it change).

#[allow(dead_code)]
#[path = "support/imds.rs"]
mod imds;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::Path;
use std::process::Command;

use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey};
use debpull::storage::{self, S3Credentials, S3Options, S3Storage, Storage};
use imds::Imds;
use moto::{Moto, REGION};

/// The child's role: publish this .deb to the URI in `CHILD_URI`.
const CHILD_DEB: &str = "DEBPULL_TEST_ROLE_DEB";
const CHILD_URI: &str = "DEBPULL_TEST_ROLE_URI";
const CHILD_KEY: &str = "DEBPULL_TEST_ROLE_KEY";
const TEST: &str = "an_instance_role_from_imds_publishes_to_s3";

fn child_publisher(deb: &Path) {
    let uri = std::env::var(CHILD_URI).unwrap();
    let key_text = std::fs::read_to_string(std::env::var_os(CHILD_KEY).unwrap()).unwrap();
    let key = SigningKey::from_armored(&key_text, None).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let repo = Repository::new(
        storage::open(&uri).unwrap(),
        key,
        RepositoryOptions::default(),
    )
    .unwrap();
    match runtime.block_on(repo.publish(
        "staging",
        "main",
        &[deb.to_owned()],
        Replace::Never,
        &|_| {},
    )) {
        Ok(report) => println!("child: published {}", report.added.len()),
        Err(e) => {
            eprintln!("child: {e}");
            std::process::exit(3);
        }
    }
}

/// Runs the child against `uri` with only `imds_endpoint` to get credentials from.
fn run_child(
    dir: &Path,
    uri: &str,
    imds_endpoint: &str,
    deb: &Path,
    key_file: &Path,
) -> std::process::Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", TEST, "--nocapture", "--test-threads=1"]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds_endpoint)
        .env(CHILD_URI, uri)
        .env(CHILD_DEB, deb)
        .env(CHILD_KEY, key_file)
        .output()
        .unwrap()
}

#[test]
fn an_instance_role_from_imds_publishes_to_s3() {
    if let Some(deb) = std::env::var_os(CHILD_DEB) {
        return child_publisher(Path::new(&deb));
    }
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let moto = Moto::shared_with_auth();
    let keys = moto.auth().expect("an auth-enabled moto");
    let bucket = moto.create_bucket("role");
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let key_file = dir.join("secret.asc");
    std::fs::write(&key_file, key.to_armored_secret(None).unwrap()).unwrap();
    let deb = test_debs::build_deb(dir, "app", "1.0", "amd64", "");
    let endpoint = moto.endpoint().replace(':', "%3A").replace('/', "%2F");
    let uri = format!("s3://{bucket}/apt?region={REGION}&endpoint={endpoint}&path-style=true");

    let role = &keys.role;
    let imds = Imds::start(
        &keys.role_name,
        &role.access_key_id,
        &role.secret_access_key,
        role.session_token.as_deref().expect("a role session token"),
    );
    let output = run_child(dir, &uri, &imds.endpoint(), &deb, &key_file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the publisher failed:\n{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("child: published 1"),
        "{stderr}"
    );
    // The credentials came from the role path, token first (IMDSv2).
    let requests = imds.requests();
    assert!(imds.hits("/latest/api/token") >= 1, "{requests:?}");
    assert!(imds.hits(&imds.credentials_path()) >= 1, "{requests:?}");
    assert!(requests.iter().all(|r| r.status != 401), "{requests:?}");

    // What the child wrote is there, read with the user's keys.
    let user = moto.credentials();
    let mut options = S3Options::from_uri(&uri).unwrap();
    options.credentials = S3Credentials::Static {
        access_key_id: user.access_key_id.clone(),
        secret_access_key: user.secret_access_key.clone(),
        session_token: None,
    };
    let store = S3Storage::new(options).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let written = runtime.block_on(store.list("")).unwrap();
    assert!(
        written.iter().any(|e| e.key == "dists/staging/InRelease")
            && written
                .iter()
                .any(|e| e.key == "pool/main/a/app/app_1.0_amd64.deb"),
        "{written:?}"
    );

    // A metadata service handing out a wrong secret: moto refuses, the error says so.
    let wrong = Imds::start(
        &keys.role_name,
        &role.access_key_id,
        "not-the-secret",
        role.session_token.as_deref().unwrap(),
    );
    let deb2 = test_debs::build_deb(dir, "app", "1.1", "amd64", "");
    let output = run_child(dir, &uri, &wrong.endpoint(), &deb2, &key_file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains(&format!("s3://{bucket}/apt")),
        "{stderr}"
    );
    assert!(wrong.hits(&wrong.credentials_path()) >= 1);
}
