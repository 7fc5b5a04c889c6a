//! `debpull-update`, the C tool for cron and systemd timers, as a server runs
//! it: a configuration file, a signed repository (local or S3 on moto), the
//! real dpkg installing into a temporary root; one log line and an exit status
//! per run. The tool is the one `scripts/install-c` builds and installs, and
//! the same source built with ASan + UBSan.

#[allow(dead_code)]
#[path = "support/c_build.rs"]
mod c_build;
#[allow(dead_code)]
#[path = "../../core/tests/support/dpkg_root.rs"]
mod dpkg_root;
#[allow(dead_code)]
#[path = "../../core/tests/support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "../../core/tests/support/test_debs.rs"]
mod test_debs;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, OnceLock};

use c_build::{Installed, Link};
use debpull::blocking::block_on;
use debpull::repo::{Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey};
use debpull::storage::{LocalStorage, S3Credentials, S3Options, S3Storage, Storage};
use dpkg_root::DpkgRoot;
use test_debs::{Extras, build_deb_with};

const APP: &str = "app";

/// The tool built with the sanitizers (once per test binary).
fn sanitized_tool() -> &'static Path {
    static TOOL: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TOOL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("debpull-update");
        let source = c_build::repo_root().join("ffi/tools/debpull-update.c");
        Installed::get().compile(&[source], Link::Shared, &exe);
        (dir, exe)
    });
    path
}

/// The tool `scripts/install-c` built and installed.
fn installed_tool() -> PathBuf {
    Installed::get().prefix().join("bin/debpull-update")
}

/// A repository with a key, a dpkg root and a state directory for the tool.
struct Server {
    dir: tempfile::TempDir,
    repo: Repository,
    key_file: PathBuf,
    system: DpkgRoot,
    /// The repository's URI and extra configuration lines (S3 region, endpoint).
    repository: String,
    extra: String,
}

impl Server {
    fn local() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let store: Arc<dyn Storage> = Arc::new(LocalStorage::new(&path).unwrap());
        let repository = format!("file://{}", path.display());
        Server::new(dir, store, repository, String::new())
    }

    fn s3() -> Server {
        let moto = moto::Moto::shared();
        let bucket = moto.create_bucket("tool");
        let credentials = moto.credentials();
        let mut options = S3Options::new(&bucket);
        options.prefix = "apt".into();
        options.region = Some(moto::REGION.into());
        options.endpoint = Some(moto.endpoint());
        options.force_path_style = true;
        options.credentials = S3Credentials::Static {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.clone(),
            session_token: None,
        };
        let store: Arc<dyn Storage> = Arc::new(S3Storage::new(options).unwrap());
        let extra = format!(
            "region = {}\nendpoint = {}\n",
            moto::REGION,
            moto.endpoint()
        );
        let dir = tempfile::tempdir().unwrap();
        Server::new(dir, store, format!("s3://{bucket}/apt"), extra)
    }

    fn new(
        dir: tempfile::TempDir,
        store: Arc<dyn Storage>,
        repository: String,
        extra: String,
    ) -> Server {
        let key = SigningKey::generate("debpull tool tests <tests@example.org>", KeyKind::Ed25519)
            .unwrap();
        let key_file = dir.path().join("repository.asc");
        std::fs::write(&key_file, key.public_key_armored().unwrap()).unwrap();
        let options = RepositoryOptions {
            wait_for_new_second: false,
            ..RepositoryOptions::default()
        };
        let repo = Repository::new(store, key, options).unwrap();
        let system = DpkgRoot::new(&dir.path().join("system"));
        Server {
            dir,
            repo,
            key_file,
            system,
            repository,
            extra,
        }
    }

    /// Publishes the app at `version` into production.
    fn publish(&self, version: &str) {
        let deb = build_deb_with(
            self.dir.path(),
            APP,
            version,
            "amd64",
            "",
            &Extras::default(),
        );
        block_on(
            self.repo
                .publish("production", "main", &[deb], Default::default(), &|_| {}),
        )
        .unwrap()
        .unwrap();
    }

    /// A configuration file for the app with `more` lines; returns its path.
    fn config(&self, more: &str) -> PathBuf {
        let path = self.dir.path().join("update.conf");
        let text = format!(
            "# debpull-update for the tests\n\
             repository = {}\n\
             suite = production\n\
             package = {APP}   # the app\n\
             trusted-key = {}\n\
             architecture = amd64\n\
             state-dir = {}\n\
             root = {}\n\
             admin-dir = {}\n\
             {}{more}",
            self.repository,
            self.key_file.display(),
            // A '#' inside a value is not a comment.
            self.dir.path().join("state#1").display(),
            self.system.root.display(),
            self.system.admin.display(),
            self.extra,
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Runs `tool` with `args`; returns its exit code, stdout and stderr.
fn run(tool: &Path, args: &[&str]) -> (i32, String, String) {
    let moto = moto::Moto::shared();
    let credentials = moto.credentials();
    let output: Output = c_build::run(
        tool,
        args,
        &[
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id.as_str()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key.as_str(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    println!(
        "{} {args:?}: {:?}\n{stdout}{stderr}",
        tool.display(),
        output.status
    );
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("{} was killed: {stderr}", tool.display()));
    (code, stdout, stderr)
}

/// The one log line of a run: `<timestamp> debpull-update: <what>`.
fn log_line(text: &str) -> &str {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {text:?}");
    let (stamp, rest) = lines[0].split_once(' ').unwrap();
    assert!(
        stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "no UTC timestamp: {text:?}"
    );
    rest.strip_prefix("debpull-update: ")
        .unwrap_or_else(|| panic!("no program name: {text:?}"))
}

/// Install, no change, an update, a failed update rolled back: one line and
/// the right exit status each time, dpkg's database agreeing.
fn installs_updates_and_rolls_back(server: &Server, tool: &Path) {
    server.publish("1.0");
    let config = server.config("health-check = /bin/true\n");
    let config = config.to_str().unwrap();

    let (code, stdout, stderr) = run(tool, &["--config", config, "--check"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        log_line(&stdout),
        "app: installed none, candidate 1.0: update available"
    );
    assert_eq!(
        server.system.installed(APP),
        None,
        "--check installs nothing"
    );

    let (code, stdout, stderr) = run(tool, &["--config", config]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(log_line(&stdout), "app: updated none -> 1.0");
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));
    assert!(
        server.dir.path().join("state#1/lock").exists(),
        "the state directory as configured"
    );

    let (code, stdout, _) = run(tool, &["--config", config]);
    assert_eq!(code, 0);
    assert_eq!(log_line(&stdout), "app: up to date (1.0)");

    server.publish("1.1");
    let (code, stdout, _) = run(tool, &["--config", config]);
    assert_eq!(code, 0);
    assert_eq!(log_line(&stdout), "app: updated 1.0 -> 1.1");
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.1"));

    // 1.2 fails its health check: rolled back to 1.1, exit status 2, on stderr.
    server.publish("1.2");
    let config = server.config("health-check = /bin/false\n");
    let config = config.to_str().unwrap();
    let (code, stdout, stderr) = run(tool, &["--config", config]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    let line = log_line(&stderr);
    assert!(
        line.starts_with("app: 1.2 failed (") && line.ends_with("rolled back to 1.1"),
        "{line}"
    );
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.1"));

    // The next run holds 1.2 back: exit status 3, nothing installed.
    let (code, _, stderr) = run(tool, &["--config", config]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        log_line(&stderr).starts_with("app: 1.2 held back"),
        "{stderr}"
    );
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.1"));
}

#[test]
fn local_repository_with_the_installed_tool() {
    installs_updates_and_rolls_back(&Server::local(), &installed_tool());
}

#[test]
fn local_repository_under_the_sanitizers() {
    installs_updates_and_rolls_back(&Server::local(), sanitized_tool());
}

#[test]
fn s3_repository_with_region_and_endpoint() {
    installs_updates_and_rolls_back(&Server::s3(), &installed_tool());
}

#[test]
fn wrong_key_fails_with_a_clear_line_and_installs_nothing() {
    let server = Server::local();
    server.publish("1.0");
    let other = SigningKey::generate("someone else <x@example.org>", KeyKind::Ed25519).unwrap();
    std::fs::write(&server.key_file, other.public_key_armored().unwrap()).unwrap();
    let config = server.config("");
    let (code, stdout, stderr) = run(sanitized_tool(), &["--config", config.to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    let line = log_line(&stderr);
    assert!(line.starts_with("app: failed ("), "{line}");
    assert!(line.contains("InRelease"), "names the file: {line}");
    assert_eq!(server.system.installed(APP), None);
}

#[test]
fn bad_configurations_exit_78_naming_the_file_and_line() {
    let server = Server::local();
    let dir = server.dir.path();
    let tool = sanitized_tool();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let base = std::fs::read_to_string(server.config("")).unwrap();

    let missing = dir.join("nope.conf");
    let (code, _, stderr) = run(tool, &["--config", missing.to_str().unwrap()]);
    assert_eq!(code, 78);
    assert!(stderr.contains("nope.conf: cannot open it"), "{stderr}");

    let typo = write("typo.conf", &format!("{base}pakage = app\n"));
    let (code, _, stderr) = run(tool, &["--config", &typo]);
    assert_eq!(code, 78);
    let line = base.lines().count() + 1;
    assert!(
        stderr.contains(&format!("typo.conf line {line}: unknown key \"pakage\"")),
        "{stderr}"
    );

    let no_equals = write("no-equals.conf", "repository file:///x\n");
    let (code, _, stderr) = run(tool, &["--config", &no_equals]);
    assert_eq!(code, 78);
    assert!(
        stderr.contains("line 1: expected 'key = value'"),
        "{stderr}"
    );

    let twice = write("twice.conf", &format!("{base}suite = staging\n"));
    let (code, _, stderr) = run(tool, &["--config", &twice]);
    assert_eq!(code, 78);
    assert!(stderr.contains("\"suite\" is set twice"), "{stderr}");

    let without_package = write(
        "without.conf",
        &base
            .lines()
            .filter(|l| !l.starts_with("package"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    let (code, _, stderr) = run(tool, &["--config", &without_package]);
    assert_eq!(code, 78);
    assert!(stderr.contains("\"package\" is required"), "{stderr}");

    let seconds = write("seconds.conf", &format!("{base}jitter = soon\n"));
    let (code, _, stderr) = run(tool, &["--config", &seconds]);
    assert_eq!(code, 78);
    assert!(
        stderr.contains("jitter must be a number of seconds, not \"soon\""),
        "{stderr}"
    );

    let installer = write("installer.conf", &format!("{base}installer = yum\n"));
    let (code, _, stderr) = run(tool, &["--config", &installer]);
    assert_eq!(code, 78);
    assert!(
        stderr.contains("installer: ") && stderr.contains("yum"),
        "{stderr}"
    );

    let command = write("command.conf", &format!("{base}installer = command\n"));
    let (code, _, stderr) = run(tool, &["--config", &command]);
    assert_eq!(code, 78);
    assert!(
        stderr.contains("installer = command needs installer-command"),
        "{stderr}"
    );

    std::fs::write(&server.key_file, "").unwrap();
    let (code, _, stderr) = run(tool, &["--config", &write("empty-key.conf", &base)]);
    assert_eq!(code, 78);
    assert!(stderr.contains("repository.asc: it is empty"), "{stderr}");

    let (code, _, stderr) = run(tool, &["--frobnicate"]);
    assert_eq!(code, 64);
    assert!(
        stderr.contains("unknown argument \"--frobnicate\""),
        "{stderr}"
    );
    let (code, stdout, _) = run(tool, &["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("trusted-key"), "{stdout}");
}
