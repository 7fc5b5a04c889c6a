//! The first-boot user-data run for real, as cloud-init would run it (`sh`,
//! as root), in a throwaway copy-on-write root: a private mount namespace
//! (`unshare -m`) with an overlay whose lower layer is this machine's `/`,
//! `/proc`, `/dev` and `/sys` bound in, and `chroot`. Whatever the script does
//! (dpkg, /etc, /var/log) lands in the overlay's upper directory; the mounts
//! end with the namespace's process, whatever happens to the test (the
//! temporary directory is the only thing to remove, by its `Drop`). The host's
//! dpkg database and /etc are checked unchanged afterwards.
//!
//! The repository holds the tool's package (built by `scripts/package-tool`
//! from this build) and the app, published into production with core's
//! `Repository`: on a local `file://` repository, and on moto with
//! authentication reached with an instance role's credentials from the fake
//! instance metadata service (IMDSv2). The prerequisites step is a no-op here
//! (this machine has curl, ca-certificates and gpgv); its install path is not
//! exercised (it would need apt-get to reach Debian's mirrors).
//!
//! Needs root (mount namespaces, chroot, dpkg).

#[allow(dead_code)]
#[path = "support/c_build.rs"]
mod c_build;
#[allow(dead_code)]
#[path = "../../core/tests/support/imds.rs"]
mod imds;
#[allow(dead_code)]
#[path = "../../core/tests/support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "../../core/tests/support/test_debs.rs"]
mod test_debs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use debpull::blocking::block_on;
use debpull::provision::{Schedule, UserData};
use debpull::repo::{PublishOptions, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey};
use debpull::storage::{LocalStorage, S3Credentials, S3Options, S3Storage, Storage};
use imds::Imds;
use moto::Moto;
use test_debs::{Extras, build_deb_with};

const APP: &str = "app";

/// The tool's .deb, built once per test binary by `scripts/package-tool`
/// from what this build left in target/<profile>/deps, into
/// target/<profile>/provision-tool (replaced each run: a static's temporary
/// directory would never be removed).
fn tool_deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap();
        let profile = profile_dir.file_name().unwrap().to_str().unwrap();
        let dir = profile_dir.join("provision-tool");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new(c_build::repo_root().join("scripts/package-tool"))
            .args(["--no-build", "--compression", "gzip", "--profile", profile])
            .arg("--output")
            .arg(&dir)
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
            .output()
            .unwrap();
        c_build::assert_success("scripts/package-tool", &output);
        let deb = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
        // Nothing under /usr/local, the library beside the tool.
        let list = Command::new("dpkg-deb")
            .arg("-c")
            .arg(&deb)
            .output()
            .unwrap();
        let list = String::from_utf8(list.stdout).unwrap();
        assert!(!list.contains("./usr/local"), "{list}");
        assert!(list.contains("./usr/bin/debpull-update"), "{list}");
        assert!(list.contains("./usr/lib/debpull/libdebpull.so."), "{list}");
        assert_depends_cover_needed(&deb);
        deb
    })
}

/// Every library the packaged ELF files need (NEEDED) is the package's own
/// or comes from a package its Depends names (as this machine's dpkg says).
fn assert_depends_cover_needed(deb: &Path) {
    let field = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg("Depends")
        .output()
        .unwrap();
    let depends = String::from_utf8(field.stdout).unwrap();
    let names: Vec<&str> = depends
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or(""))
        .collect();
    assert!(depends.contains("libc6 (>= "), "{depends}");
    let dir = tempfile::tempdir().unwrap();
    c_build::assert_success(
        "dpkg-deb -x",
        &Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb)
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    let elves = [
        dir.path().join("usr/bin/debpull-update"),
        std::fs::read_dir(dir.path().join("usr/lib/debpull"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| !p.is_symlink())
            .unwrap(),
    ];
    let mut checked = 0;
    for elf in elves {
        let dump = Command::new("objdump")
            .arg("-p")
            .arg(&elf)
            .output()
            .unwrap();
        let dump = String::from_utf8(dump.stdout).unwrap();
        for needed in dump
            .lines()
            .filter_map(|l| l.trim().strip_prefix("NEEDED"))
            .map(str::trim)
        {
            if needed.starts_with("libdebpull.so.") {
                assert!(dir.path().join("usr/lib/debpull").join(needed).exists());
                continue;
            }
            let found = Command::new("dpkg")
                .args(["-S", &format!("*/{needed}")])
                .output()
                .unwrap();
            let found = String::from_utf8(found.stdout).unwrap();
            let owners: Vec<&str> = found
                .lines()
                .filter_map(|l| l.split_once(": ").map(|(p, _)| p))
                .flat_map(|p| p.split(", "))
                .map(|p| p.split(':').next().unwrap())
                .collect();
            assert!(
                owners.iter().any(|o| names.contains(o)),
                "{needed} (from {owners:?}) is in no package of Depends: {depends}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked} libraries checked");
}

/// A copy-on-write root over this machine's `/`.
struct Overlay {
    dir: tempfile::TempDir,
}

impl Overlay {
    fn new() -> Overlay {
        let uid = Command::new("id").arg("-u").output().unwrap().stdout;
        assert_eq!(
            String::from_utf8_lossy(&uid).trim(),
            "0",
            "the provisioning tests need root (mount namespaces, chroot)"
        );
        let dir = tempfile::Builder::new()
            .prefix("debpull-overlay")
            .tempdir()
            .unwrap();
        for sub in ["upper", "work", "merged"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        Overlay { dir }
    }

    /// A path inside the root, as its upper layer has it (what the root changed).
    fn upper(&self, path: &str) -> PathBuf {
        self.dir
            .path()
            .join("upper")
            .join(path.trim_start_matches('/'))
    }

    /// Runs `script` with `sh -c` chrooted into the overlay, in a mount
    /// namespace of its own (the mounts end with it), with `env` added.
    fn run(&self, script: &str, env: &[(&str, &str)]) -> Output {
        const MOUNT: &str = r#"
            d=$1; shift
            mount -t overlay overlay -o "lowerdir=/,upperdir=$d/upper,workdir=$d/work" "$d/merged"
            mount --bind /proc "$d/merged/proc"
            mount --rbind /dev "$d/merged/dev"
            mount --rbind /sys "$d/merged/sys"
            # Nothing of this machine's /usr/local or of the build tree: the
            # installed tool must do with what its package has.
            mount -t tmpfs -o ro tmpfs "$d/merged/usr/local"
            # (the target directory first: it may be inside the repository)
            mount -t tmpfs -o ro tmpfs "$d/merged$3"
            mount -t tmpfs -o ro tmpfs "$d/merged$2"
            exec chroot "$d/merged" /bin/sh -c "$1"
        "#;
        let mut command = Command::new("unshare");
        command
            .args([
                "-m",
                "--propagation",
                "private",
                "--",
                "sh",
                "-ec",
                MOUNT,
                "sh",
            ])
            .arg(self.dir.path())
            .arg(script)
            .arg(c_build::repo_root())
            .arg(target_dir());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env_remove("JOURNAL_STREAM");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        println!(
            "--- overlay run: {:?}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The installed version of `package` in the root, if any.
    fn installed(&self, package: &str) -> Option<String> {
        let out = self.run(&format!("dpkg-query -W -f '${{Version}}' {package}"), &[]);
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
            .filter(|v| !v.is_empty())
    }
}

/// The target directory this test binary is in (target/<profile>/deps/x).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_owned()
}

/// What must stay as it was on the host: the dpkg database's status and
/// every entry under /etc (path, type, size, mtime; symlinks not followed).
struct HostState {
    status: Vec<u8>,
    etc: Vec<String>,
}

/// `path`'s entries, recursively: one line each with type, size and mtime.
fn listing(path: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(path) else {
        out.push(format!("{} unreadable", path.display()));
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let meta = entry.path().symlink_metadata().unwrap();
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        out.push(format!(
            "{} {:?} {} {mtime}",
            entry.path().display(),
            meta.file_type(),
            meta.len()
        ));
        if meta.is_dir() {
            listing(&entry.path(), out);
        }
    }
}

impl HostState {
    fn now() -> HostState {
        let mut etc = Vec::new();
        listing(Path::new("/etc"), &mut etc);
        etc.sort();
        HostState {
            status: std::fs::read("/var/lib/dpkg/status").unwrap(),
            etc,
        }
    }

    fn assert_unchanged(&self) {
        let now = HostState::now();
        assert!(now.status == self.status, "the host's dpkg status changed");
        if now.etc != self.etc {
            let gone: Vec<_> = self.etc.iter().filter(|l| !now.etc.contains(l)).collect();
            let new: Vec<_> = now.etc.iter().filter(|l| !self.etc.contains(l)).collect();
            panic!("the host's /etc changed: before {gone:?}, now {new:?}");
        }
        assert!(!Path::new("/etc/debpull").exists());
        assert!(!Path::new("/etc/cron.d/debpull-app").exists());
        assert!(!Path::new("/var/log/debpull-bootstrap.log").exists());
    }
}

/// A signed repository with the tool and the app in production.
struct Repo {
    dir: tempfile::TempDir,
    repo: Repository,
    key: String,
}

impl Repo {
    fn new(store: Arc<dyn Storage>) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let signing =
            SigningKey::generate("provision tests <t@example.org>", KeyKind::Ed25519).unwrap();
        let key = signing.public_key_armored().unwrap();
        let options = RepositoryOptions {
            wait_for_new_second: false,
            ..RepositoryOptions::default()
        };
        let repo = Repository::new(store, signing, options).unwrap();
        let r = Repo { dir, repo, key };
        r.publish(tool_deb().to_owned());
        r.publish_app("1.0-1");
        r
    }

    fn publish(&self, deb: PathBuf) {
        self.publish_with(deb, Default::default());
    }

    fn publish_with(&self, deb: PathBuf, options: PublishOptions) {
        block_on(
            self.repo
                .publish_with("production", "main", &[deb], &options, &|_| {}),
        )
        .unwrap()
        .unwrap();
    }

    fn publish_app(&self, version: &str) {
        let deb = build_deb_with(
            self.dir.path(),
            APP,
            version,
            "amd64",
            "",
            &Extras::default(),
        );
        self.publish(deb);
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes the script into a directory the overlay sees; returns the command
/// that runs it as cloud-init would.
fn script_command(dir: &Path, settings: &UserData) -> String {
    let path = dir.join("user-data");
    std::fs::write(&path, settings.script().unwrap()).unwrap();
    format!("sh {}", path.display())
}

/// The command of the cron file's job line.
fn cron_command(cron: &str) -> String {
    let line = cron
        .lines()
        .find(|l| l.starts_with("* * * * * root "))
        .expect("a job line");
    line["* * * * * root ".len()..].to_owned()
}

#[test]
fn user_data_installs_the_app_from_a_local_repository_with_cron() {
    let host = HostState::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    std::fs::create_dir(&path).unwrap();
    let repo = Repo::new(Arc::new(LocalStorage::new(&path).unwrap()));
    let mut settings = UserData::new(
        format!("file://{}", path.display()),
        APP,
        repo.key.as_bytes(),
    );
    settings.schedule = Schedule::Cron;
    settings.retries = 2;
    settings.retry_delay_secs = 0;
    // A webhook nobody listens on: the tool's posts fail, its runs do not.
    settings.slack_webhook = Some("http://127.0.0.1:9/hooks/secret".into());
    settings.notify_retries = 0;
    settings.jitter_secs = 1;
    // A newer tool in a staged rollout (not even a real one: no
    // /usr/bin/debpull-update): the script keeps to the version for everyone.
    let phased_tool = build_deb_with(
        repo.dir.path(),
        "debpull-update",
        "9.0-1",
        "amd64",
        "",
        &Extras::default(),
    );
    repo.publish_with(
        phased_tool,
        PublishOptions {
            percentage: Some(50),
            ..Default::default()
        },
    );
    let root = Overlay::new();

    let out = root.run(&script_command(dir.path(), &settings), &[]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("debpull-update: skipping 9.0-1, in a staged rollout (50%): taking 0.1.0-1"),
        "{log}"
    );
    assert!(log.contains("step install-app"), "{log}");
    assert!(log.contains("done: app installed"), "{log}");
    assert_eq!(root.installed(APP).as_deref(), Some("1.0-1"));
    assert_eq!(root.installed("debpull-update").as_deref(), Some("0.1.0-1"));
    // The prerequisites step installs only what is missing: this machine has
    // curl, ca-certificates and gpgv; cron only when it lacks it (then apt-get
    // installs it from Debian's mirrors, inside the overlay).
    let host_has_cron = Command::new("sh")
        .args(["-c", "command -v cron"])
        .status()
        .unwrap()
        .success();
    assert_eq!(log.contains("installing: cron\n"), !host_has_cron, "{log}");
    assert!(
        !log.contains("installing: curl") && !log.contains("gpgv\n"),
        "{log}"
    );
    if !host_has_cron {
        assert!(root.installed("cron").is_some());
    }
    let config = std::fs::read_to_string(root.upper("/etc/debpull/update.conf")).unwrap();
    assert!(
        config.contains(&format!("\nrepository = file://{}\n", path.display())),
        "{config}"
    );
    assert!(
        config.contains(
            "\nsuite = production\npackage = app\ntrusted-key = /etc/debpull/trusted.gpg\n"
        ),
        "{config}"
    );
    assert!(
        config.contains("\nslack-webhook = http://127.0.0.1:9/hooks/secret\n"),
        "{config}"
    );
    assert!(config.contains("\njitter = 1\n"), "{config}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.upper("/etc/debpull/update.conf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let logrotate = std::fs::read_to_string(root.upper("/etc/logrotate.d/debpull-update")).unwrap();
    assert!(
        logrotate.starts_with("/var/log/debpull-update.log {"),
        "{logrotate}"
    );
    let key = std::fs::read(root.upper("/etc/debpull/trusted.gpg")).unwrap();
    assert!(key[0] & 0x80 != 0, "a binary keyring");
    let cron = std::fs::read_to_string(root.upper("/etc/cron.d/debpull-app")).unwrap();
    assert!(
        cron.contains("\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"),
        "{cron}"
    );
    let bootstrap_log =
        std::fs::read_to_string(root.upper("/var/log/debpull-bootstrap.log")).unwrap();
    assert!(bootstrap_log.contains("step schedule"), "{bootstrap_log}");
    assert!(
        bootstrap_log.contains("done: app installed"),
        "{bootstrap_log}"
    );

    // The every-minute job, as cron runs it, installs a newer version.
    repo.publish_app("1.1-1");
    let out = root.run(&cron_command(&cron), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(root.installed(APP).as_deref(), Some("1.1-1"));
    let update_log = std::fs::read_to_string(root.upper("/var/log/debpull-update.log")).unwrap();
    assert!(
        update_log.contains("updated 1.0-1 -> 1.1-1"),
        "{update_log}"
    );

    // Running the user-data again changes nothing that works.
    let out = root.run(&script_command(dir.path(), &settings), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("debpull-update 0.1.0-1 already installed"));
    assert_eq!(root.installed(APP).as_deref(), Some("1.1-1"));

    // The tool's own job: tool.conf (0600: it holds the webhook too) and a
    // second cron line, every 10 minutes.
    let tool_config = std::fs::read_to_string(root.upper("/etc/debpull/tool.conf")).unwrap();
    for line in [
        format!("repository = file://{}", path.display()),
        "package = debpull-update".into(),
        "state-dir = /var/lib/debpull/tool".into(),
        "policy = upgrade-only".into(),
        "health-check = /usr/bin/debpull-update --version".into(),
        "jitter = 1".into(),
        "slack-webhook = http://127.0.0.1:9/hooks/secret".into(),
    ] {
        assert!(
            tool_config.lines().any(|l| l == line),
            "{line:?} not in\n{tool_config}"
        );
    }
    let mode = std::fs::metadata(root.upper("/etc/debpull/tool.conf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let cron = std::fs::read_to_string(root.upper("/etc/cron.d/debpull-app")).unwrap();
    let tool_line = cron
        .lines()
        .find(|l| l.starts_with("*/10 * * * * root "))
        .unwrap_or_else(|| panic!("no tool job line in\n{cron}"));
    // A newer tool for everyone (above the phased 9.0-1): the tool's job, as
    // cron runs it, installs it with the tool itself; the app is untouched.
    repo.publish(tool_version(repo.dir.path(), "9.1-1"));
    let out = root.run(&tool_line["*/10 * * * * root ".len()..], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(root.installed("debpull-update").as_deref(), Some("9.1-1"));
    assert_eq!(root.installed(APP).as_deref(), Some("1.1-1"));
    let update_log = std::fs::read_to_string(root.upper("/var/log/debpull-update.log")).unwrap();
    assert!(
        update_log.contains("updated 0.1.0-1 -> 9.1-1"),
        "{update_log}"
    );
    // Its own state directory (its own run lock); the app's job still runs.
    assert!(root.upper("/var/lib/debpull/tool/lock").is_file());
    let out = root.run(&cron_command(&cron), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(root.installed(APP).as_deref(), Some("1.1-1"));
    drop(root);
    host.assert_unchanged();
}

/// The tool's .deb repackaged with `version` (dpkg-deb -R, the control's
/// Version changed, dpkg-deb -b) into `dir`.
fn tool_version(dir: &Path, version: &str) -> PathBuf {
    let tree = dir.join(format!("tool-{version}"));
    c_build::assert_success(
        "dpkg-deb -R",
        &Command::new("dpkg-deb")
            .arg("-R")
            .arg(tool_deb())
            .arg(&tree)
            .output()
            .unwrap(),
    );
    let control_path = tree.join("DEBIAN/control");
    let control = std::fs::read_to_string(&control_path).unwrap();
    let control: String = control
        .lines()
        .map(|l| {
            if l.starts_with("Version:") {
                format!("Version: {version}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(
        control.contains(&format!("\nVersion: {version}\n")),
        "{control}"
    );
    std::fs::write(&control_path, control).unwrap();
    let deb = dir.join(format!("debpull-update_{version}_amd64.deb"));
    c_build::assert_success(
        "dpkg-deb -b",
        &Command::new("dpkg-deb")
            .args(["-Zgzip", "--root-owner-group", "-b"])
            .arg(&tree)
            .arg(&deb)
            .output()
            .unwrap(),
    );
    deb
}

#[test]
fn a_wrong_trusted_key_stops_at_the_release_step() {
    let host = HostState::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    std::fs::create_dir(&path).unwrap();
    let _repo = Repo::new(Arc::new(LocalStorage::new(&path).unwrap()));
    let other = SigningKey::generate("someone else <x@example.org>", KeyKind::Ed25519)
        .unwrap()
        .public_key_armored()
        .unwrap();
    let mut settings = UserData::new(format!("file://{}", path.display()), APP, other.as_bytes());
    settings.schedule = Schedule::Cron;
    settings.retries = 1;
    let root = Overlay::new();
    let out = root.run(&script_command(dir.path(), &settings), &[]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("the signature is not good by the trusted key"),
        "{log}"
    );
    assert!(log.contains("FAILED in step release"), "{log}");
    assert_eq!(root.installed(APP), None);
    assert_eq!(root.installed("debpull-update"), None);
    assert!(!root.upper("/etc/cron.d/debpull-app").exists());
    let bootstrap_log =
        std::fs::read_to_string(root.upper("/var/log/debpull-bootstrap.log")).unwrap();
    assert!(
        bootstrap_log.contains("FAILED in step release"),
        "{bootstrap_log}"
    );
    drop(root);
    host.assert_unchanged();
}

/// A repository on moto with authentication, published with the user's keys.
fn s3_repo(moto: &Moto) -> (Repo, String) {
    let bucket = moto.create_bucket("provision");
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
    let repo = Repo::new(Arc::new(S3Storage::new(options).unwrap()));
    (repo, format!("s3://{bucket}/apt"))
}

#[test]
fn user_data_reaches_s3_with_the_instance_role() {
    let host = HostState::now();
    let moto = Moto::shared_with_auth();
    let (repo, uri) = s3_repo(moto);
    let keys = moto.auth().unwrap();
    let role = &keys.role;
    let imds = Imds::start(
        &keys.role_name,
        &role.access_key_id,
        &role.secret_access_key,
        role.session_token.as_deref().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut settings = UserData::new(uri.clone(), APP, repo.key.as_bytes());
    settings.region = Some(moto::REGION.into());
    settings.endpoint = Some(moto.endpoint());
    settings.schedule = Schedule::Cron;
    settings.retries = 2;
    settings.retry_delay_secs = 0;
    settings.jitter_secs = 0;
    let root = Overlay::new();
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let out = root.run(&script_command(dir.path(), &settings), &env);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(&format!(
            "credentials of the instance role {}",
            keys.role_name
        )),
        "{log}"
    );
    // The script's own requests, then the tool's (the SDK's chain).
    assert!(
        imds.hits(&imds.credentials_path()) >= 2,
        "{}",
        imds.hits(&imds.credentials_path())
    );
    assert_eq!(root.installed(APP).as_deref(), Some("1.0-1"));
    let config = std::fs::read_to_string(root.upper("/etc/debpull/update.conf")).unwrap();
    assert!(
        config.contains(&format!("\nrepository = {uri}\n")),
        "{config}"
    );
    assert!(
        config.contains(&format!(
            "\nregion = {}\nendpoint = {}\n",
            moto::REGION,
            moto.endpoint()
        )),
        "{config}"
    );
    // No secret in the log.
    let bootstrap_log =
        std::fs::read_to_string(root.upper("/var/log/debpull-bootstrap.log")).unwrap();
    assert!(!bootstrap_log.contains(&role.secret_access_key));

    repo.publish_app("2.0-1");
    let cron = std::fs::read_to_string(root.upper("/etc/cron.d/debpull-app")).unwrap();
    let out = root.run(&cron_command(&cron), &env);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(root.installed(APP).as_deref(), Some("2.0-1"));
    drop(root);
    host.assert_unchanged();
}

#[test]
fn without_the_metadata_service_it_stops_at_the_instance_role_step() {
    let host = HostState::now();
    let moto = Moto::shared_with_auth();
    let (repo, uri) = s3_repo(moto);
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = UserData::new(uri, APP, repo.key.as_bytes());
    settings.region = Some(moto::REGION.into());
    settings.endpoint = Some(moto.endpoint());
    settings.retries = 2;
    settings.retry_delay_secs = 0;
    let root = Overlay::new();
    let out = root.run(
        &script_command(dir.path(), &settings),
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("instance_credentials: failed 2 times"),
        "{log}"
    );
    assert!(log.contains("FAILED in step instance-role"), "{log}");
    assert_eq!(root.installed(APP), None);
    drop(root);
    host.assert_unchanged();
}
