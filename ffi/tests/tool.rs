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
#[path = "../../core/tests/support/webhook_server.rs"]
mod webhook_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
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
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let exe = c_build::process_dir("tool-asan").join("debpull-update");
        let source = c_build::repo_root().join("ffi/tools/debpull-update.c");
        Installed::get().compile(&[source], Link::Shared, &exe);
        exe
    })
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

/// `tool` with `args`, the S3 credentials and the sanitizers' settings (as
/// `c_build::run`), output captured unless the caller redirects it.
fn command(tool: &Path, args: &[&str]) -> Command {
    let moto = moto::Moto::shared();
    let credentials = moto.credentials();
    let mut command = Command::new(tool);
    command
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("JOURNAL_STREAM")
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    command
}

/// Runs `command`; returns its exit code, stdout and stderr.
fn output(mut command: Command) -> (i32, String, String) {
    let output: Output = command.output().expect("running debpull-update");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    println!("{command:?}: {:?}\n{stdout}{stderr}", output.status);
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("{command:?} was killed: {stderr}"));
    (code, stdout, stderr)
}

/// Runs `tool` with `args`; returns its exit code, stdout and stderr.
fn run(tool: &Path, args: &[&str]) -> (i32, String, String) {
    output(command(tool, args))
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

/// The 1-based line of `text` that sets `key`.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with([' ', '=']))
        })
        .unwrap_or_else(|| panic!("{key} is not set in {text:?}"))
        + 1
}

/// `text` with `key = value` instead of its line; `None` removes the line.
fn with(text: &str, key: &str, value: Option<&str>) -> String {
    let line = line_of(text, key);
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| match (i + 1 == line, value) {
            (false, _) => Some(format!("{l}\n")),
            (true, Some(value)) => Some(format!("{key} = {value}\n")),
            (true, None) => None,
        })
        .collect()
}

/// Writes `text` to `name` in the server's directory and runs the sanitized
/// tool on it with and without `--check`: both exit 78 with nothing on stdout
/// and the same one log line on stderr, `<file> line <line>: <what>...` (no
/// line when `line` is 0); returns what follows `<file> line <line>: `.
fn config_error(server: &Server, name: &str, text: &str, line: usize) -> String {
    let path = server.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    let prefix = match line {
        0 => format!("{path}: "),
        line => format!("{path} line {line}: "),
    };
    let mut messages = Vec::new();
    for args in [&["--config", path][..], &["--config", path, "--check"]] {
        let (code, stdout, stderr) = run(sanitized_tool(), args);
        assert_eq!((code, stdout.as_str()), (78, ""), "{args:?}: {stderr}");
        let message = log_line(&stderr)
            .strip_prefix(prefix.as_str())
            .unwrap_or_else(|| panic!("{args:?}: not {prefix:?}: {stderr}"))
            .to_owned();
        messages.push(message);
    }
    assert_eq!(messages[0], messages[1], "--check and a run agree");
    messages.pop().unwrap()
}

#[test]
fn bad_configurations_exit_78_naming_the_file_and_line() {
    let server = Server::local();
    server.publish("1.0");
    let base = std::fs::read_to_string(server.config("")).unwrap();
    let next = base.lines().count() + 1;
    let append = |more: &str| format!("{base}{more}\n");

    // The file itself.
    let missing = server.dir.path().join("nope.conf");
    let missing = missing.to_str().unwrap();
    for args in [
        &["--config", missing][..],
        &["--config", missing, "--check"],
    ] {
        let (code, _, stderr) = run(sanitized_tool(), args);
        assert_eq!(code, 78);
        assert_eq!(
            log_line(&stderr),
            format!("{missing}: cannot open it: No such file or directory")
        );
    }
    let message = config_error(&server, "typo.conf", &append("pakage = app"), next);
    assert!(message.starts_with("unknown key \"pakage\""), "{message}");
    let message = config_error(&server, "no-equals.conf", "repository file:///x\n", 1);
    assert!(message.starts_with("expected 'key = value'"), "{message}");
    let message = config_error(&server, "twice.conf", &append("suite = staging"), next);
    let first = line_of(&base, "suite");
    assert_eq!(
        message,
        format!("\"suite\" is set twice (first on line {first})")
    );
    let message = config_error(&server, "empty.conf", &append("pin ="), next);
    assert_eq!(message, "\"pin\" has no value");
    // A missing key has no line.
    let message = config_error(&server, "without.conf", &with(&base, "package", None), 0);
    assert_eq!(message, "\"package\" is required");

    // Values the tool refuses.
    let message = config_error(&server, "seconds.conf", &append("jitter = soon"), next);
    assert_eq!(message, "jitter: must be a number of seconds, not \"soon\"");
    let message = config_error(
        &server,
        "big.conf",
        &append("lock-wait = 18446744073709551616"),
        next,
    );
    assert!(
        message.starts_with("lock-wait: must be a number of seconds"),
        "{message}"
    );
    let message = config_error(
        &server,
        "command.conf",
        &append("installer = command"),
        next,
    );
    assert_eq!(
        message,
        "installer: installer = command needs installer-command"
    );
    let message = config_error(
        &server,
        "command-only.conf",
        &append("installer-command = /bin/true"),
        next,
    );
    assert_eq!(
        message,
        "installer-command: needs installer = command, not dpkg"
    );
    let many = vec!["x"; 65].join(" ");
    for (key, text) in [
        ("health-check", append(&format!("health-check = {many}"))),
        (
            "installer-command",
            append(&format!("installer = command\ninstaller-command = {many}")),
        ),
    ] {
        let line = line_of(&text, key);
        let message = config_error(&server, "many.conf", &text, line);
        assert_eq!(message, format!("{key}: more than 64 arguments"));
    }
    // 64 arguments are fine.
    let text = append(&format!("health-check = {}", vec!["x"; 64].join(" ")));
    std::fs::write(server.dir.path().join("64.conf"), &text).unwrap();
    let path = server.dir.path().join("64.conf");
    let (code, _, stderr) = run(
        sanitized_tool(),
        &["--config", path.to_str().unwrap(), "--check"],
    );
    assert_eq!(code, 0, "{stderr}");

    // Values debpull refuses: the key, then debpull's message.
    let message = config_error(&server, "installer.conf", &append("installer = yum"), next);
    assert_eq!(
        message,
        "installer: \"yum\" is not known: dpkg, apt, or command (with installer-command)"
    );
    for (key, value, says) in [
        ("policy", "sideways", "sideways"),
        ("pin", "not a version", "not a version"),
        ("health-timeout", "0", "0 seconds"),
        ("install-timeout", "0", "0 seconds"),
        ("jitter", "99999999999", "10 years"),
    ] {
        let message = config_error(
            &server,
            "refused.conf",
            &append(&format!("{key} = {value}")),
            next,
        );
        assert!(
            message.starts_with(&format!("{key}: ")) && message.contains(says),
            "{key}: {message}"
        );
    }
    // Lines of the base file; some refused only when the source is opened.
    for (key, value, says) in [
        ("suite", "a b", "a b"),
        ("architecture", "../amd64", "../amd64"),
        ("repository", "not a uri", "not a uri"),
        ("repository", "ftp://example.org/apt", "ftp"),
    ] {
        let text = with(&base, key, Some(value));
        let message = config_error(&server, "open.conf", &text, line_of(&text, key));
        assert!(
            message.starts_with(&format!("{key}: ")) && message.contains(says),
            "{key}: {message}"
        );
    }
    let text = append("component = a/b");
    let message = config_error(&server, "component.conf", &text, next);
    assert!(
        message.starts_with("component: ") && message.contains("a/b"),
        "{message}"
    );
    // An endpoint with a file:// repository: the repository's line.
    let text = append("endpoint = http://127.0.0.1:9");
    let message = config_error(
        &server,
        "endpoint.conf",
        &text,
        line_of(&text, "repository"),
    );
    assert!(
        message.starts_with("repository: ") && message.contains("s3://"),
        "{message}"
    );

    // The trusted key: missing, empty, not a key.
    let key_line = line_of(&base, "trusted-key");
    let no_key = server.dir.path().join("no-key.asc");
    let text = with(&base, "trusted-key", Some(no_key.to_str().unwrap()));
    let message = config_error(&server, "no-key.conf", &text, key_line);
    assert!(
        message.starts_with(&format!("trusted-key: {}: ", no_key.display())),
        "{message}"
    );
    let key_text = std::fs::read(&server.key_file).unwrap();
    let key = server.key_file.display().to_string();
    std::fs::write(&server.key_file, "").unwrap();
    let message = config_error(&server, "empty-key.conf", &base, key_line);
    assert_eq!(message, format!("trusted-key: {key}: it is empty"));
    std::fs::write(&server.key_file, "this is not a key\n").unwrap();
    let message = config_error(&server, "not-a-key.conf", &base, key_line);
    assert!(
        message.starts_with(&format!("trusted-key: {key}: ")),
        "{message}"
    );
    std::fs::write(&server.key_file, &key_text[..key_text.len() / 2]).unwrap();
    let message = config_error(&server, "half-a-key.conf", &base, key_line);
    assert!(
        message.starts_with(&format!("trusted-key: {key}: ")),
        "{message}"
    );
    std::fs::write(&server.key_file, &key_text).unwrap();

    // A repository that cannot be read is a failed run, not a configuration error.
    let text = with(
        &base,
        "repository",
        Some(&format!("file://{}/gone", server.dir.path().display())),
    );
    let path = server.dir.path().join("gone.conf");
    std::fs::write(&path, text).unwrap();
    for args in [
        &["--config", path.to_str().unwrap()][..],
        &["--config", path.to_str().unwrap(), "--check"],
    ] {
        let (code, stdout, stderr) = run(sanitized_tool(), args);
        assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
        assert!(log_line(&stderr).contains("/gone"), "{stderr}");
    }
    assert_eq!(server.system.installed(APP), None);
}

#[test]
fn command_line_and_byte_order_mark() {
    let tool = sanitized_tool();
    let (code, stdout, stderr) = run(tool, &["--frobnicate"]);
    assert_eq!((code, stdout.as_str()), (64, ""));
    assert_eq!(
        log_line(&stderr),
        "unknown argument \"--frobnicate\" (see --help)"
    );
    for args in [&["--config"][..], &["--config="], &["--config", ""]] {
        let (code, stdout, stderr) = run(tool, args);
        assert_eq!((code, stdout.as_str()), (64, ""), "{args:?}");
        assert_eq!(
            log_line(&stderr),
            "--config needs a file (see --help)",
            "{args:?}"
        );
    }
    let (code, stdout, _) = run(tool, &["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("trusted-key"), "{stdout}");

    // A UTF-8 byte order mark at the start of the file is skipped.
    let server = Server::local();
    server.publish("1.0");
    let config = server.config("");
    let text = std::fs::read_to_string(&config).unwrap();
    for text in [
        text.clone(),
        text.lines().skip(1).map(|l| format!("{l}\n")).collect(),
    ] {
        std::fs::write(&config, format!("\u{feff}{text}")).unwrap();
        let (code, stdout, stderr) = run(tool, &["--config", config.to_str().unwrap(), "--check"]);
        assert_eq!(code, 0, "{text:?}: {stderr}");
        assert_eq!(
            log_line(&stdout),
            "app: installed none, candidate 1.0: update available"
        );
    }
    // Elsewhere it is part of the text.
    std::fs::write(&config, format!("{text}\u{feff}jitter = 1\n")).unwrap();
    let (code, _, stderr) = run(tool, &["--config", config.to_str().unwrap(), "--check"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        log_line(&stderr).contains("unknown key \"\u{feff}jitter\""),
        "{stderr}"
    );
}

#[test]
fn a_lost_log_line_is_a_failed_run() {
    let server = Server::local();
    server.publish("1.0");
    let config = server.config("");
    let config = config.to_str().unwrap();
    for args in [
        &["--config", config, "--check"][..],
        &["--config", config],
        &["--version"],
    ] {
        let mut command = command(sanitized_tool(), args);
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        command.stdout(Stdio::from(full));
        let (code, _, stderr) = output(command);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert_eq!(
            log_line(&stderr),
            "writing to standard output failed: No space left on device"
        );
    }
    // The update itself happened.
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));
}

/// Runs the tool with JOURNAL_STREAM set to `journal` (a function of the
/// output file's device and inode), its stdout and stderr going to one file;
/// returns the exit code and the file's text.
fn run_to_file(
    server: &Server,
    args: &[&str],
    journal: impl Fn(u64, u64) -> String,
) -> (i32, String) {
    use std::os::unix::fs::MetadataExt;
    let path = server.dir.path().join("output.log");
    let file = std::fs::File::create(&path).unwrap();
    let meta = file.metadata().unwrap();
    let mut command = command(sanitized_tool(), args);
    command
        .env("JOURNAL_STREAM", journal(meta.dev(), meta.ino()))
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file));
    let (code, _, _) = output(command);
    let text = std::fs::read_to_string(&path).unwrap();
    println!("{text}");
    (code, text)
}

#[test]
fn timestamps_unless_the_output_is_the_journal() {
    let server = Server::local();
    server.publish("1.0");
    let config = server.config("");
    let config = config.to_str().unwrap();
    let check = "app: installed none, candidate 1.0: update available";

    // Inherited from elsewhere: another stream, or not a device:inode.
    for other in [
        (|dev: u64, ino: u64| format!("{dev}:{}", ino + 1)) as fn(u64, u64) -> String,
        |dev, ino| format!("{}:{ino}", dev + 1),
        |dev, ino| format!("{dev}:{ino}x"),
        |dev, ino| format!("{dev} {ino}"),
        |_, _| String::new(),
        |_, _| "1:2".to_owned(),
    ] {
        let (code, text) = run_to_file(&server, &["--config", config, "--check"], other);
        assert_eq!(code, 0, "{text}");
        assert_eq!(log_line(&text), check);
    }

    // The journal's own stream: no timestamp, for log lines and errors alike.
    let journal = |dev: u64, ino: u64| format!("{dev}:{ino}");
    let (code, text) = run_to_file(&server, &["--config", config, "--check"], journal);
    assert_eq!(
        (code, text.as_str()),
        (0, format!("debpull-update: {check}\n").as_str())
    );
    let (code, text) = run_to_file(&server, &["--config", "/nonexistent/update.conf"], journal);
    assert_eq!(code, 78);
    assert_eq!(
        text,
        "debpull-update: /nonexistent/update.conf: cannot open it: No such file or directory\n"
    );
}

#[test]
fn a_health_checks_output_with_a_nul_byte_and_lines_stays_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::local();
    server.publish("1.0");
    let config = server.config("");
    let config = config.to_str().unwrap();
    let (code, stdout, stderr) = run(sanitized_tool(), &["--config", config]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(log_line(&stdout), "app: updated none -> 1.0");

    let script = server.dir.path().join("unhealthy");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'unhealthy\\000binary\\nsecond line\\n' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    server.publish("1.1");
    let config = server.config(&format!("health-check = {}\n", script.display()));
    let config = config.to_str().unwrap();
    let (code, stdout, stderr) = run(sanitized_tool(), &["--config", config]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    let line = log_line(&stderr);
    assert!(
        line.starts_with("app: 1.1 failed (") && line.ends_with("rolled back to 1.0"),
        "{line}"
    );
    assert!(
        line.contains("stderr: unhealthy binary | second line)"),
        "{line}"
    );
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));

    let (code, _, stderr) = run(sanitized_tool(), &["--config", config]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        log_line(&stderr).starts_with("app: 1.1 held back"),
        "{stderr}"
    );
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));
}

/// Under cron's `PATH=/usr/bin:/bin` (no `/usr/sbin`, `/sbin`, where dpkg
/// finds `ldconfig` and `start-stop-daemon`), an update still installs.
#[test]
fn cron_path_still_installs() {
    let server = Server::local();
    server.publish("1.0");
    let config = server.config("");
    let mut command = command(&installed_tool(), &["--config", config.to_str().unwrap()]);
    command.env("PATH", "/usr/bin:/bin");
    let (code, stdout, stderr) = output(command);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(log_line(&stdout), "app: updated none -> 1.0");
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));
}

/// `slack-webhook`: a run that updated or rolled back is posted to a real
/// webhook on loopback; one that found the app up to date posts nothing.
#[test]
fn the_outcome_is_posted_to_the_slack_webhook() {
    let webhook = webhook_server::WebhookServer::ok();
    let server = Server::local();
    server.publish("1.0");
    let config = server.config(&format!(
        "slack-webhook = {}\nnotify-timeout = 5\nnotify-retries = 1\n",
        webhook.url()
    ));
    let config = config.to_str().unwrap();
    let (code, stdout, stderr) = run(sanitized_tool(), &["--config", config]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(log_line(&stdout), "app: updated none -> 1.0");
    let (code, _, _) = run(sanitized_tool(), &["--config", config]);
    assert_eq!(code, 0);
    let bodies = webhook.json();
    assert_eq!(bodies.len(), 1, "up to date posts nothing: {bodies:?}");
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(":white_check_mark: app 1.0 installed on "),
        "{text}"
    );

    server.publish("1.1");
    let config = server.config(&format!(
        "slack-webhook = {}\nhealth-check = /bin/false\n",
        webhook.url()
    ));
    let (code, _, _) = run(sanitized_tool(), &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    let bodies = webhook.json();
    assert_eq!(bodies.len(), 2);
    let text = bodies[1]["text"].as_str().unwrap();
    assert!(
        text.starts_with(":rewind: app 1.1 failed on ") && text.contains("rolled back to 1.0"),
        "{text}"
    );
}

/// A webhook nobody answers changes neither the exit status nor the log
/// line: a warning on stderr, without the webhook's secret path.
#[test]
fn a_dead_webhook_does_not_change_the_exit_status() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}/services/T0/B0/s3cr3t")
    };
    let server = Server::local();
    server.publish("1.0");
    let config = server.config(&format!(
        "slack-webhook = {dead}\nnotify-timeout = 1\nnotify-retries = 0\n"
    ));
    let (code, stdout, stderr) = run(sanitized_tool(), &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(log_line(&stdout), "app: updated none -> 1.0");
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));
    assert!(
        stderr.contains("debpull: notification not sent: webhook http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
}

#[test]
fn bad_notification_settings_exit_78_naming_the_line() {
    let server = Server::local();
    let base = std::fs::read_to_string(server.config("")).unwrap();
    let next = base.lines().count() + 1;
    let with = |more: &str| format!("{base}{more}\n");
    assert_eq!(
        config_error(&server, "a.conf", &with("notify-timeout = 5"), next),
        "notify-timeout: needs slack-webhook"
    );
    let message = config_error(
        &server,
        "b.conf",
        &with("slack-webhook = ftp://hooks.example/secret"),
        next,
    );
    assert!(
        message.starts_with("slack-webhook: webhook URL ftp://hooks.example/***: "),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
    assert_eq!(
        config_error(
            &server,
            "c.conf",
            &with("slack-webhook = http://127.0.0.1:1/x\nnotify-retries = 11"),
            next + 1
        ),
        "notify-retries: must be a number from 0 to 10, not \"11\""
    );
    assert_eq!(
        config_error(
            &server,
            "d.conf",
            &with("notify-timeout = 0\nslack-webhook = http://127.0.0.1:1/x"),
            next
        ),
        "notify-timeout: must be a number of seconds from 1 to 3600, not \"0\""
    );
    assert_eq!(
        config_error(
            &server,
            "e.conf",
            &with("slack-webhook = http://127.0.0.1:1/x\nnotify-timeout = 3601"),
            next + 1
        ),
        "notify-timeout: must be a number of seconds from 1 to 3600, not \"3601\""
    );
    // A line that lost its key (or its '=') never shows the webhook's path.
    let message = config_error(
        &server,
        "f.conf",
        &with("https://hooks.slack.com/services/T0/B0/s3cr3t"),
        next,
    );
    assert_eq!(message, "expected 'key = value', found \"https://***\"");
    let message = config_error(
        &server,
        "g.conf",
        &with("https://hooks.slack.com/services/T0/B0/s3cr3t?x=1"),
        next,
    );
    assert_eq!(message, "unknown key \"https://***\" (see --help)");
    let message = config_error(
        &server,
        "h.conf",
        &with("slack-webhook http://h/s3cr3t"),
        next,
    );
    assert_eq!(message, "expected 'key = value', found \"slack-webhook\"");
}

/// `--user-data`: the first-boot script for this configuration (the same as
/// core's for the same settings, key included), under the sanitizers; keys
/// the script does not carry and values it cannot carry exit 78 naming them.
#[test]
fn user_data_prints_the_first_boot_script_of_the_configuration() {
    let server = Server::s3();
    let path = server.dir.path().join("server.conf");
    let text = format!(
        "repository = {}\nsuite = production\npackage = {APP}\ntrusted-key = {}\n\
         policy = follow-repository\nhealth-check = systemctl is-active {APP}\n{}",
        server.repository,
        server.key_file.display(),
        server.extra
    );
    std::fs::write(&path, &text).unwrap();
    let tool = sanitized_tool();
    let (code, stdout, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 0, "{stderr}");
    let mut expected = debpull::provision::UserData::new(
        server.repository.as_str(),
        APP,
        std::fs::read(&server.key_file).unwrap(),
    );
    expected.region = Some(moto::REGION.into());
    expected.endpoint = Some(moto::Moto::shared().endpoint());
    expected.policy = debpull::client::Policy::FollowRepository;
    expected.health_check = vec!["systemctl".into(), "is-active".into(), APP.into()];
    // No jitter key: the tool's own default, 0, not the script's 20.
    expected.jitter_secs = 0;
    assert_eq!(stdout, expected.script().unwrap());

    // A key the script does not carry, with its line.
    std::fs::write(&path, format!("{text}pin = 1.0\n")).unwrap();
    let (code, _, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} line 9: pin: --user-data does not carry this key",
            path.display()
        )),
        "{stderr}"
    );
    // A value the script cannot carry.
    std::fs::write(
        &path,
        text.replace("suite = production", "suite = prod;reboot"),
    )
    .unwrap();
    let (code, _, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("suite \"prod;reboot\""), "{stderr}");
    // Not with --check.
    let (code, _, stderr) = run(
        tool,
        &["--config", path.to_str().unwrap(), "--user-data", "--check"],
    );
    assert_eq!(code, 64, "{stderr}");
}

/// `--user-data` carries the Slack webhook and its settings (into the
/// configuration the script writes 0600); `machine-id` (one machine's) is
/// refused, naming its line.
#[test]
fn user_data_carries_the_slack_webhook_and_not_the_machine_id() {
    let server = Server::s3();
    let path = server.dir.path().join("server.conf");
    let text = format!(
        "repository = {}\nsuite = production\npackage = {APP}\ntrusted-key = {}\n{}\
         slack-webhook = https://hooks.slack.com/services/T0/B0/secret\nnotify-timeout = 20\n\
         notify-retries = 0\n",
        server.repository,
        server.key_file.display(),
        server.extra
    );
    std::fs::write(&path, &text).unwrap();
    let tool = sanitized_tool();
    let (code, stdout, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 0, "{stderr}");
    let mut expected = debpull::provision::UserData::new(
        server.repository.as_str(),
        APP,
        std::fs::read(&server.key_file).unwrap(),
    );
    expected.region = Some(moto::REGION.into());
    expected.endpoint = Some(moto::Moto::shared().endpoint());
    expected.slack_webhook = Some("https://hooks.slack.com/services/T0/B0/secret".into());
    expected.notify_timeout_secs = 20;
    expected.notify_retries = 0;
    expected.jitter_secs = 0;
    assert_eq!(stdout, expected.script().unwrap());
    assert!(
        stdout.contains("\nslack-webhook = https://hooks.slack.com/services/T0/B0/secret\n"),
        "{stdout}"
    );

    let machine = format!("{text}machine-id = {}\n", "0".repeat(32));
    std::fs::write(&path, &machine).unwrap();
    let (code, _, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("machine-id: --user-data does not carry this key"),
        "{stderr}"
    );
    let orphan = text.replace(
        "slack-webhook = https://hooks.slack.com/services/T0/B0/secret\n",
        "",
    );
    std::fs::write(&path, orphan).unwrap();
    let (code, _, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("notify-timeout: needs slack-webhook"),
        "{stderr}"
    );
}

/// The README's `update.conf` (its trusted key a real one): `--user-data`
/// carries all of it, `jitter` included, and the default `state-dir`; another
/// state directory or a jitter the every-minute job cannot take exit 78
/// naming the line.
#[test]
fn user_data_carries_the_readmes_configuration() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("# /etc/debpull/update.conf\n").unwrap();
    let block = &readme[start..];
    let block = &block[..block.find("```").unwrap()];
    assert!(
        block.contains("\njitter ") && block.contains("\nstate-dir "),
        "{block}"
    );
    let server = Server::local();
    let text = block.replace(
        "/etc/debpull/repository.asc",
        server.key_file.to_str().unwrap(),
    );
    let path = server.dir.path().join("readme.conf");
    std::fs::write(&path, &text).unwrap();
    let tool = sanitized_tool();
    let (code, stdout, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 0, "{stderr}");
    let mut expected = debpull::provision::UserData::new(
        "s3://deploy-bucket/apt?region=eu-west-1",
        "app",
        std::fs::read(&server.key_file).unwrap(),
    );
    expected.installer = debpull::client::Installer::Apt;
    expected.policy = debpull::client::Policy::FollowRepository;
    expected.health_check = ["systemctl", "is-active", "--quiet", "app"]
        .map(String::from)
        .to_vec();
    expected.jitter_secs = 20;
    assert_eq!(stdout, expected.script().unwrap());
    assert!(stdout.contains("\njitter = 20\n"), "{stdout}");

    let state_line = line_of(&text, "state-dir");
    std::fs::write(&path, with(&text, "state-dir", Some("/srv/debpull"))).unwrap();
    let (code, stdout, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!((code, stdout.as_str()), (78, ""), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} line {state_line}: state-dir: --user-data carries only the default /var/lib/debpull",
            path.display()
        )),
        "{stderr}"
    );
    let jitter_line = line_of(&text, "jitter");
    std::fs::write(&path, with(&text, "jitter", Some("90"))).unwrap();
    let (code, _, stderr) = run(tool, &["--config", path.to_str().unwrap(), "--user-data"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains(&format!("line {jitter_line}: jitter: ")),
        "{stderr}"
    );
}

// Staged rollout (issue 8): the `machine-id` key and the deferred log line.

/// A machine id (32 hex digits) inside (`true`) or outside a 25% rollout of
/// app 2.0, by core's `debpull::phasing` (checked against apt-get in core).
fn machine_id(inside: bool) -> String {
    (0u64..)
        .map(|i| format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .find(|id| (debpull::phasing::phase_number(APP, "2.0", id) <= 25) == inside)
        .unwrap()
}

#[test]
fn a_phased_version_waits_for_machines_outside_it_and_the_log_says_so() {
    let server = Server::local();
    server.publish("1.0");
    let deb = build_deb_with(
        server.dir.path(),
        APP,
        "2.0",
        "amd64",
        "",
        &Extras::default(),
    );
    let options = debpull::repo::PublishOptions {
        percentage: Some(25),
        ..Default::default()
    };
    block_on(
        server
            .repo
            .publish_with("production", "main", &[deb], &options, &|_| {}),
    )
    .unwrap()
    .unwrap();
    let outside = server.config(&format!("machine-id = {}\n", machine_id(false)));
    let outside = outside.to_str().unwrap().to_owned();
    let tool = sanitized_tool();
    let (code, stdout, stderr) = run(tool, &["--config", &outside]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(log_line(&stdout), "app: updated none -> 1.0");
    let (code, stdout, _) = run(tool, &["--config", &outside]);
    assert_eq!(code, 0);
    assert_eq!(
        log_line(&stdout),
        "app: up to date (1.0), 2.0 deferred (phased 25%, this machine not yet included)"
    );
    let (code, stdout, _) = run(tool, &["--config", &outside, "--check"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(
        lines,
        [
            "debpull-update: app: installed 1.0, candidate 1.0",
            "debpull-update: app: 2.0 deferred (phased 25%, this machine not yet included)"
        ]
    );
    assert_eq!(server.system.installed(APP).as_deref(), Some("1.0"));

    // The same server as a machine inside the 25%: it takes 2.0.
    let inside = server.config(&format!("machine-id = {}\n", machine_id(true)));
    let (code, stdout, _) = run(tool, &["--config", inside.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(log_line(&stdout), "app: updated 1.0 -> 2.0");
    assert_eq!(server.system.installed(APP).as_deref(), Some("2.0"));

    // Not a machine id: exit 78 naming the key and the line.
    let base = std::fs::read_to_string(server.config("")).unwrap();
    let next = base.lines().count() + 1;
    let message = config_error(
        &server,
        "machine.conf",
        &format!("{base}machine-id = uninitialized\n"),
        next,
    );
    assert_eq!(
        message,
        "machine-id: machine id \"uninitialized\" is not 32 hexadecimal digits"
    );
}
