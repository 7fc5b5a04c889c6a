//! `Updater::update` with real parts: repositories published with `Repository`
//! on a local directory and on S3 (moto on loopback), packages installed by the
//! real dpkg (and apt-get) into a temporary root, the status file read back
//! with dpkg-query after every run. Every run goes through
//! `update_with_events`, and its event is checked against its outcome.

#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/dpkg_root.rs"]
mod dpkg_root;
#[allow(dead_code)]
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backends::{Backend, new_store, read, s3_options, write};
use debpull::Version;
use debpull::client::{
    Event, Installer, LockMode, Outcome, Policy, Source, SourceOptions, SourceTrust, Updater,
    UpdaterOptions,
};
use debpull::repo::{Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{S3Storage, Storage};
use dpkg_root::DpkgRoot;
use fault_proxy::{Fault, FaultProxy, Faults};
use test_debs::{Extras, build_deb, build_deb_with};

const SUITE: &str = "production";
const APP: &str = "app";

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<dyn Storage>,
    repo: Repository,
    trusted: TrustedKeys,
    /// The signing key's public key, armored (for apt's `signed-by=`).
    public_key: String,
    system: DpkgRoot,
    state: PathBuf,
}

fn fixture(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let public_key = key.public_key_armored().unwrap();
    let trusted = TrustedKeys::from_bytes(public_key.as_bytes()).unwrap();
    let store = new_store(backend, dir.path());
    let options = RepositoryOptions {
        wait_for_new_second: false,
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(store.clone(), key, options).unwrap();
    let system = DpkgRoot::new(&dir.path().join("system"));
    let state = dir.path().join("state");
    Fixture {
        dir,
        store,
        repo,
        trusted,
        public_key,
        system,
        state,
    }
}

impl Fixture {
    fn deb(&self, version: &str) -> PathBuf {
        build_deb(self.dir.path(), APP, version, "amd64", "")
    }

    /// Publishes `versions` of the app into `suite`.
    async fn publish(&self, suite: &str, versions: &[&str]) {
        let debs: Vec<PathBuf> = versions.iter().map(|v| self.deb(v)).collect();
        self.repo
            .publish(suite, "main", &debs, Default::default(), &|_| {})
            .await
            .unwrap();
    }

    /// The pool key of the app at `version` in `suite`.
    async fn pool_key(&self, suite: &str, version: &str) -> String {
        let packages = self.repo.list(suite).await.unwrap();
        let package = packages
            .iter()
            .find(|p| p.version().as_str() == version)
            .unwrap_or_else(|| panic!("{version} not in {suite}"));
        package.filename().unwrap().to_owned()
    }

    fn source_on(&self, store: Arc<dyn Storage>) -> Source {
        let mut options =
            SourceOptions::new(SUITE, SourceTrust::Keys(self.trusted.clone()), &self.state);
        options.architecture = Some("amd64".into());
        options.admin_dir = self.system.admin.clone();
        Source::new(store, options).unwrap()
    }

    fn options(&self) -> UpdaterOptions {
        let mut options = UpdaterOptions::new(APP);
        options.root = Some(self.system.root.clone());
        options
    }

    fn updater(&self, options: UpdaterOptions) -> Updater {
        Updater::new(self.source_on(self.store.clone()), options)
    }

    fn installed(&self) -> Option<String> {
        self.system.installed(APP)
    }

    /// The `.deb` cache of the source (`debs/<suite>-<id>`), if there is one.
    fn cache_dir(&self) -> Option<PathBuf> {
        let mut dirs = std::fs::read_dir(self.state.join("debs")).ok()?;
        let dir = dirs.next()?.unwrap().path();
        assert!(dirs.next().is_none(), "one source, one cache");
        Some(dir)
    }

    /// The files in the `.deb` cache, the hash in their names left out
    /// (`app_1.0_amd64.<sha256>.deb` is `app_1.0_amd64.deb`).
    fn cache(&self) -> Vec<String> {
        let Some(dir) = self.cache_dir() else {
            return Vec::new();
        };
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                let parts: Vec<&str> = name.split('.').collect();
                match parts.iter().position(|p| p.len() == 64) {
                    Some(i) => [&parts[..i], &parts[i + 1..]].concat().join("."),
                    None => name,
                }
            })
            .collect();
        files.sort();
        files
    }

    /// The path of the cached file whose name (hash left out) is `short`.
    fn cache_path(&self, short: &str) -> PathBuf {
        let dir = self.cache_dir().unwrap();
        let (stem, rest) = short.split_once(".deb").unwrap();
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_str().unwrap().to_owned();
                name.starts_with(&format!("{stem}.")) && name.ends_with(&format!(".deb{rest}"))
            })
            .unwrap_or_else(|| panic!("{short} not cached"))
    }
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into(), "sh".into()]
}

/// Runs `updater` once, checks that its one event carries the same outcome and
/// the run's context, and returns the outcome.
async fn run(updater: &Updater) -> Outcome {
    run_with_warnings(updater).await.0
}

/// [`run`], also returning the event's warnings.
async fn run_with_warnings(updater: &Updater) -> (Outcome, Vec<String>) {
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let warnings: Arc<Mutex<Vec<String>>> = Arc::default();
    let before = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let jitter = updater.options().jitter;
    let package = updater.options().package.clone();
    let (seen, warned) = (events.clone(), warnings.clone());
    let record = move |event: &Event| {
        assert_eq!(event.package, package);
        assert_eq!(event.outcome.package(), event.package);
        assert_eq!(event.suite, SUITE);
        assert!(!event.hostname.is_empty());
        assert!(event.jitter <= jitter, "{event:?}");
        assert!(event.duration >= event.jitter, "{event:?}");
        assert!(event.duration <= clock.elapsed(), "{event:?}");
        assert!(event.started >= before, "{event:?}");
        assert!(event.started <= before + clock.elapsed(), "{event:?}");
        seen.lock().unwrap().push(format!("{:?}", event.outcome));
        warned
            .lock()
            .unwrap()
            .extend(event.warnings.iter().cloned());
    };
    let outcome = updater.update_with_events(Arc::new(record)).await;
    let events = events.lock().unwrap().clone();
    assert_eq!(events, [format!("{outcome:?}")], "one event, the outcome's");
    let warnings = warnings.lock().unwrap().clone();
    (outcome, warnings)
}

/// A short form of an outcome for assertions.
fn short(outcome: &Outcome) -> String {
    let ver = |v: &Option<Version>| v.as_ref().map_or("-".to_owned(), |v| v.to_string());
    match outcome {
        Outcome::UpToDate {
            installed,
            candidate,
            ..
        } => format!(
            "up to date {} (candidate {})",
            ver(installed),
            ver(candidate)
        ),
        Outcome::Updated { from, to, .. } => format!("updated {} -> {to}", ver(from)),
        Outcome::RolledBack {
            from,
            attempted,
            rollback_error,
            ..
        } => format!(
            "rolled back {attempted} -> {from}{}",
            rollback_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (rollback failed: {e})"))
        ),
        Outcome::Failed {
            installed,
            attempted,
            error,
            ..
        } => format!(
            "failed {} (installed {}): {:?}",
            ver(attempted),
            ver(installed),
            error.kind()
        ),
        Outcome::Held {
            installed,
            candidate,
            ..
        } => format!("held {candidate} (installed {})", ver(installed)),
        Outcome::HeldByAdmin {
            installed,
            candidate,
            ..
        } => format!("on hold {installed} (candidate {candidate})"),
        Outcome::Skipped { .. } => "skipped".into(),
    }
}

async fn first_install_upgrade_and_up_to_date(backend: Backend) {
    let f = fixture(backend);
    f.publish(SUITE, &["1.0"]).await;
    let updater = f.updater(f.options());
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    assert_eq!(
        f.system.file("usr/share/app/VERSION").as_deref(),
        Some("app 1.0 \n")
    );

    f.publish(SUITE, &["1.1"]).await;
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.1");
    assert_eq!(f.installed().as_deref(), Some("1.1"));
    assert_eq!(
        f.system.file("usr/share/app/VERSION").as_deref(),
        Some("app 1.1 \n")
    );
    assert_eq!(f.cache(), ["app_1.0_amd64.deb", "app_1.1_amd64.deb"]);

    // Up to date: nothing is downloaded (the pool file is gone, and not missed).
    let key = f.pool_key(SUITE, "1.1").await;
    f.store.delete(&key).await.unwrap();
    assert_eq!(
        short(&run(&updater).await),
        "up to date 1.1 (candidate 1.1)"
    );
    assert_eq!(f.installed().as_deref(), Some("1.1"));

    // The cache keeps the installed version and the previous one.
    f.publish(SUITE, &["1.2"]).await;
    assert_eq!(short(&run(&updater).await), "updated 1.1 -> 1.2");
    assert_eq!(f.cache(), ["app_1.1_amd64.deb", "app_1.2_amd64.deb"]);
}

async fn follow_repository_downgrades_after_a_suite_rollback(backend: Backend) {
    let f = fixture(backend);
    f.publish("staging", &["1.0", "1.1"]).await;
    f.repo
        .promote(APP, &v("1.0"), "staging", SUITE)
        .await
        .unwrap();
    let mut follow = f.options();
    follow.policy = Policy::FollowRepository;
    let follow = f.updater(follow);
    let upgrade_only = f.updater(f.options());
    assert_eq!(short(&run(&follow).await), "updated - -> 1.0");
    f.repo
        .promote(APP, &v("1.1"), "staging", SUITE)
        .await
        .unwrap();
    assert_eq!(short(&run(&follow).await), "updated 1.0 -> 1.1");

    // The suite is rolled back: 1.1 removed from production.
    f.repo.remove(SUITE, APP, Some(&v("1.1"))).await.unwrap();
    assert_eq!(
        short(&run(&upgrade_only).await),
        "up to date 1.1 (candidate 1.0)"
    );
    assert_eq!(f.installed().as_deref(), Some("1.1"));
    assert_eq!(short(&run(&follow).await), "updated 1.1 -> 1.0");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    assert_eq!(short(&run(&follow).await), "up to date 1.0 (candidate 1.0)");
}

async fn a_pin_installs_that_version(backend: Backend) {
    let f = fixture(backend);
    f.publish(SUITE, &["1.0", "1.1", "1.2"]).await;
    let mut options = f.options();
    options.pin = Some(v("1.1"));
    assert_eq!(
        short(&run(&f.updater(options.clone())).await),
        "updated - -> 1.1"
    );
    assert_eq!(f.installed().as_deref(), Some("1.1"));
    // A pin below the installed version is installed too (upgrade only or not).
    options.pin = Some(v("1.0"));
    assert_eq!(
        short(&run(&f.updater(options.clone())).await),
        "updated 1.1 -> 1.0"
    );
    options.pin = Some(v("1.5"));
    let outcome = run(&f.updater(options)).await;
    assert_eq!(short(&outcome), "failed 1.5 (installed 1.0): NotFound");
    assert!(outcome.error().unwrap().to_string().contains("1.5"));
    assert_eq!(f.installed().as_deref(), Some("1.0"));
}

async fn a_failing_health_check_rolls_back(backend: Backend) {
    let f = fixture(backend);
    f.publish(SUITE, &["1.0"]).await;
    let version_file = f.system.root.join("usr/share/app/VERSION");
    let mut options = f.options();
    // Healthy: anything but 1.1.
    options.health_check = Some(sh(&format!(
        "if grep -q 1.1 '{}'; then echo 'unhealthy 1.1' >&2; exit 1; fi",
        version_file.display()
    )));
    let updater = f.updater(options);
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    f.publish(SUITE, &["1.1"]).await;
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "rolled back 1.1 -> 1.0");
    let reason = outcome.error().unwrap().to_string();
    assert!(reason.contains("unhealthy 1.1"), "{reason}");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    assert_eq!(
        f.system.file("usr/share/app/VERSION").as_deref(),
        Some("app 1.0 \n")
    );

    // The failed version is not tried again every minute...
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "held 1.1 (installed 1.0)");
    let Outcome::Held { reason, record, .. } = &outcome else {
        unreachable!()
    };
    assert!(reason.contains("unhealthy 1.1"), "{reason}");
    assert!(record.exists());
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    // An explicit pin tries it again; failing under the pin, it holds even the pin.
    let mut pinned = updater.options().clone();
    pinned.pin = Some(v("1.1"));
    let pinned = f.updater(pinned);
    assert_eq!(short(&run(&pinned).await), "rolled back 1.1 -> 1.0");
    assert_eq!(short(&run(&pinned).await), "held 1.1 (installed 1.0)");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    // ...but the next version is, and the record goes with the old files.
    f.publish(SUITE, &["1.2"]).await;
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.2");
    assert_eq!(f.cache(), ["app_1.0_amd64.deb", "app_1.2_amd64.deb"]);
}

async fn a_rollback_downloads_the_previous_version_again(backend: Backend) {
    let f = fixture(backend);
    f.publish(SUITE, &["1.0", "1.1"]).await;
    // 1.0 installed by hand: not in the cache.
    f.system.dpkg_install(&f.deb("1.0"));
    let mut options = f.options();
    options.health_check = Some(sh("exit 7"));
    let outcome = run(&f.updater(options.clone())).await;
    assert_eq!(short(&outcome), "rolled back 1.1 -> 1.0");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    assert!(f.cache().contains(&"app_1.0_amd64.deb".to_owned()));

    // Neither cached nor listed: the rollback fails, and says so.
    let g = fixture(backend);
    g.publish(SUITE, &["2.0"]).await;
    g.system.dpkg_install(&g.deb("1.0"));
    let outcome = run(&g.updater(g.options_with_health(sh("exit 7")))).await;
    let text = short(&outcome);
    assert!(
        text.starts_with("rolled back 2.0 -> 1.0 (rollback failed: "),
        "{text}"
    );
    assert!(text.contains("neither cached"), "{text}");
    // Why: the suite's answer and the cache's.
    assert!(
        text.contains("not in the suite") && text.contains("not cached in"),
        "{text}"
    );
    assert_eq!(g.installed().as_deref(), Some("2.0"));
}

impl Fixture {
    fn options_with_health(&self, health: Vec<String>) -> UpdaterOptions {
        let mut options = self.options();
        options.health_check = Some(health);
        options
    }

    /// [`Self::options`] with a health check that fails while the installed
    /// app's VERSION file names `version`.
    fn options_unhealthy_at(&self, version: &str) -> UpdaterOptions {
        let version_file = self.system.root.join("usr/share/app/VERSION");
        self.options_with_health(sh(&format!(
            "! grep -q {version} '{}'",
            version_file.display()
        )))
    }
}

async fn a_tampered_deb_is_refused(backend: Backend) {
    let f = fixture(backend);
    f.publish(SUITE, &["1.0", "1.1"]).await;
    f.system.dpkg_install(&f.deb("1.0"));
    let key = f.pool_key(SUITE, "1.1").await;
    let good = std::fs::read(f.deb("1.1")).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    write(&f.store, &key, &bad).await;
    let updater = f.updater(f.options());
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed 1.1 (installed 1.0): Verification");
    let message = outcome.error().unwrap().to_string();
    assert!(
        message.contains(&key) && message.contains("SHA256"),
        "{message}"
    );
    assert_eq!(f.cache(), Vec::<String>::new(), "nothing kept");
    assert_eq!(f.installed().as_deref(), Some("1.0"));

    // Larger than its Size: cut off.
    let mut long = good.clone();
    long.extend_from_slice(&[0; 100_000]);
    write(&f.store, &key, &long).await;
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed 1.1 (installed 1.0): LimitExceeded");
    assert!(outcome.error().unwrap().to_string().contains(&key));
    assert_eq!(f.cache(), Vec::<String>::new());
    assert_eq!(f.installed().as_deref(), Some("1.0"));

    // Repaired: the next run installs it.
    write(&f.store, &key, &good).await;
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.1");
}

async fn a_command_installer_gets_the_file(backend: Backend) {
    let f = fixture(backend);
    f.publish(SUITE, &["1.0", "1.1"]).await;
    let log = f.dir.path().join("installer.log");
    let mut options = f.options();
    options.installer = Installer::Command(sh(&format!(
        "echo \"$DEBPULL_PACKAGE $DEBPULL_VERSION $(basename \"$1\")\" >> '{}'; \
         exec dpkg --root=\"$DEBPULL_ROOT\" --admindir=\"$DEBPULL_ADMIN_DIR\" -i \"$1\"",
        log.display()
    )));
    assert_eq!(short(&run(&f.updater(options)).await), "updated - -> 1.1");
    // The cached file, named by its SHA256.
    let logged = std::fs::read_to_string(&log).unwrap();
    let sha256 = f.cache_path("app_1.1_amd64.deb");
    let sha256 = sha256.file_name().unwrap().to_str().unwrap();
    assert_eq!(logged, format!("app 1.1 {sha256}\n"));
    assert_eq!(sha256.len(), "app_1.1_amd64..deb".len() + 64);
    assert_eq!(f.installed().as_deref(), Some("1.1"));

    // A command that fails: its output is in the error.
    f.publish(SUITE, &["1.2"]).await;
    let mut options = f.options();
    options.installer = Installer::Command(sh("echo 'no room on device' >&2; exit 2"));
    let outcome = run(&f.updater(options)).await;
    assert_eq!(short(&outcome), "failed 1.2 (installed 1.1): Io");
    assert!(
        outcome
            .error()
            .unwrap()
            .to_string()
            .contains("no room on device")
    );

    // A command that succeeds without installing: the confirmation catches it.
    let mut options = f.options();
    options.installer = Installer::Command(sh("true"));
    let outcome = run(&f.updater(options)).await;
    assert_eq!(short(&outcome), "failed 1.2 (installed 1.1): Verification");
    assert!(
        outcome
            .error()
            .unwrap()
            .to_string()
            .contains("1.1 is installed")
    );
}

backend_tests!(
    first_install_upgrade_and_up_to_date,
    follow_repository_downgrades_after_a_suite_rollback,
    a_pin_installs_that_version,
    a_failing_health_check_rolls_back,
    a_rollback_downloads_the_previous_version_again,
    a_tampered_deb_is_refused,
    a_command_installer_gets_the_file,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_install_failing_its_health_check_has_nothing_to_roll_back_to() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let mut options = f.options_with_health(vec!["sleep".into(), "30".into()]);
    options.health_timeout = Duration::from_millis(200);
    let outcome = run(&f.updater(options)).await;
    assert_eq!(short(&outcome), "failed 1.0 (installed 1.0): Verification");
    let message = outcome.error().unwrap().to_string();
    assert!(
        message.contains("no previous version") && message.contains("did not finish"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apt_installer_upgrades_and_downgrades() {
    let f = fixture(Backend::Local);
    f.publish("staging", &["1.0", "1.1"]).await;
    f.repo
        .promote(APP, &v("1.1"), "staging", SUITE)
        .await
        .unwrap();
    // apt's own state in a private configuration; dpkg's status file is the root's.
    let apt = private_apt::PrivateApt::new(&f.dir.path().join("apt"), "");
    let mut options = f.options();
    options.installer = Installer::Apt;
    options.apt_config = Some(apt.dir.join("apt.conf"));
    options.policy = Policy::FollowRepository;
    let updater = f.updater(options);
    assert_eq!(short(&run(&updater).await), "updated - -> 1.1");
    assert_eq!(f.installed().as_deref(), Some("1.1"));
    // A rollback to the previous version (from staging: production never had
    // it): 1.1 leaves the suite.
    let rollback = debpull::repo::PromoteOptions {
        rollback: true,
        ..Default::default()
    };
    f.repo
        .promote_with(APP, &v("1.0"), "staging", SUITE, &rollback)
        .await
        .unwrap();
    assert_eq!(short(&run(&updater).await), "updated 1.1 -> 1.0");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_breaking_off_is_resumed_and_leaves_the_machine_alone() {
    let f = fixture(Backend::S3);
    f.publish(SUITE, &["1.0", "1.1"]).await;
    f.system.dpkg_install(&f.deb("1.0"));
    let moto = moto::Moto::shared();
    let proxy = FaultProxy::start(&moto.endpoint(), 7);
    // The client reads the repository's bucket through the proxy.
    let bucket = f.store.to_string();
    let bucket = bucket
        .strip_prefix("s3://")
        .and_then(|b| b.split('/').next())
        .unwrap_or_else(|| panic!("bucket of {bucket}"))
        .to_owned();
    let mut s3 = s3_options(moto, &bucket, moto.credentials());
    s3.endpoint = Some(proxy.endpoint());
    let proxied: Arc<dyn Storage> = Arc::new(S3Storage::new(s3).unwrap());
    let updater = Updater::new(f.source_on(proxied), f.options());

    let size = f
        .repo
        .list(SUITE)
        .await
        .unwrap()
        .iter()
        .find(|p| p.version().as_str() == "1.1")
        .unwrap()
        .size();
    let truncate = || {
        // (A connection reset before the answer is retried by the S3 backend:
        // a body breaking off midway is what reaches the download.)
        Faults::new(1.0, &[Fault::TruncateBody])
            .methods(&["GET"])
            .path_contains("/pool/")
    };

    // Every body breaks off: resumed three times (each gets half the rest),
    // then a typed error; the partial file stays for the next run.
    proxy.set_faults(truncate());
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed 1.1 (installed 1.0): Storage");
    let message = outcome.error().unwrap().to_string();
    assert!(
        message.contains("pool/main/a/app/app_1.1_amd64.deb")
            && message.contains("broke off")
            && message.contains("3 resumes"),
        "{message}"
    );
    assert_eq!(proxy.stats().faults_of(Fault::TruncateBody), 4);
    assert_eq!(f.cache(), ["app_1.1_amd64.deb.part"]);
    let part = std::fs::metadata(f.cache_path("app_1.1_amd64.deb.part"))
        .unwrap()
        .len();
    assert!(part > 0 && part < size, "{part} of {size}");
    assert_eq!(f.installed().as_deref(), Some("1.0"));

    // The next run fetches only the rest (InRelease is answered 304).
    proxy.clear_faults();
    proxy.reset_stats();
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.1");
    let stats = proxy.stats();
    assert_eq!(stats.response_body_bytes, size - part, "{stats:?}");
    // (1.0 was installed by hand: never cached.)
    assert_eq!(f.cache(), ["app_1.1_amd64.deb"]);

    // A body breaking off once is resumed within the run.
    f.publish(SUITE, &["1.2"]).await;
    proxy.reset_stats();
    proxy.set_faults(truncate().at_most(1));
    assert_eq!(short(&run(&updater).await), "updated 1.1 -> 1.2");
    assert_eq!(proxy.stats().faults_of(Fault::TruncateBody), 1);
    assert_eq!(f.installed().as_deref(), Some("1.2"));
    proxy.clear_faults();

    // Up to date: one request (InRelease, answered 304), no download.
    proxy.reset_stats();
    assert_eq!(
        short(&run(&updater).await),
        "up to date 1.2 (candidate 1.2)"
    );
    let stats = proxy.stats();
    assert_eq!(stats.total_requests(), 1, "{stats:?}");
    assert_eq!(stats.statuses.get(&304), Some(&1), "{stats:?}");
}

/// Waits until `path` exists (a child signalling it got somewhere).
async fn wait_for(path: &Path) {
    for _ in 0..600 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_runs_wait_or_skip_and_never_interleave() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let log = f.dir.path().join("runs.log");
    let go = f.dir.path().join("go");
    let started = f.dir.path().join("started");
    let mut options = f.options();
    // The installer logs its start, waits for the test's go, installs, logs its end.
    options.installer = Installer::Command(sh(&format!(
        "echo start >> '{log}'; touch '{started}'; \
         while [ ! -e '{go}' ]; do sleep 0.05; done; \
         dpkg --root=\"$DEBPULL_ROOT\" --admindir=\"$DEBPULL_ADMIN_DIR\" -i \"$1\" >/dev/null; \
         echo end >> '{log}'",
        log = log.display(),
        started = started.display(),
        go = go.display()
    )));
    options.lock = LockMode::Wait(Duration::from_secs(60));
    let first = Arc::new(f.updater(options.clone()));
    let running = {
        let first = first.clone();
        tokio::spawn(async move { short(&first.update().await) })
    };
    wait_for(&started).await;

    // While the first run installs: a skipping run gives up at once, a run
    // waiting briefly gives up too, a run waiting long enough goes after it.
    options.lock = LockMode::Skip;
    assert_eq!(short(&run(&f.updater(options.clone())).await), "skipped");
    options.lock = LockMode::Wait(Duration::from_millis(200));
    assert_eq!(short(&run(&f.updater(options.clone())).await), "skipped");
    options.lock = LockMode::Wait(Duration::from_secs(60));
    let second = Arc::new(f.updater(options.clone()));
    let waiting = {
        let second = second.clone();
        tokio::spawn(async move { short(&second.update().await) })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&go, "").unwrap();
    assert_eq!(running.await.unwrap(), "updated - -> 1.0");
    assert_eq!(waiting.await.unwrap(), "up to date 1.0 (candidate 1.0)");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "start\nend\n");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_holding_the_lock_makes_runs_skip() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    std::fs::create_dir_all(&f.state).unwrap();
    let held = f.dir.path().join("held");
    let release = f.dir.path().join("release");
    // util-linux flock(1) takes the same kind of lock (flock(2)) in another process.
    let mut child = std::process::Command::new("flock")
        .arg(f.state.join("lock"))
        .args([
            "-c",
            &format!(
                "touch '{}'; while [ ! -e '{}' ]; do sleep 0.05; done",
                held.display(),
                release.display()
            ),
        ])
        .spawn()
        .expect("run flock (package util-linux)");
    wait_for(&held).await;
    let mut options = f.options();
    assert_eq!(short(&run(&f.updater(options.clone())).await), "skipped");
    options.lock = LockMode::Wait(Duration::from_millis(200));
    assert_eq!(short(&run(&f.updater(options.clone())).await), "skipped");
    assert_eq!(f.installed(), None);
    std::fs::write(&release, "").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(short(&run(&f.updater(options)).await), "updated - -> 1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_is_waited_and_bounded() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let mut options = f.options();
    options.jitter = Duration::from_millis(150);
    let updater = f.updater(options);
    let jitters: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        let seen = jitters.clone();
        let clock = std::time::Instant::now();
        let outcome = updater
            .update_with_events(Arc::new(move |event: &Event| {
                seen.lock().unwrap().push(event.jitter);
            }))
            .await;
        // The delay was waited: the run took at least as long.
        let waited = *jitters.lock().unwrap().last().unwrap();
        assert!(
            clock.elapsed() >= waited,
            "{:?} < {waited:?}",
            clock.elapsed()
        );
        outcomes.push(short(&outcome));
    }
    assert_eq!(outcomes[0], "updated - -> 1.0");
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| o == "up to date 1.0 (candidate 1.0)"),
        "{outcomes:?}"
    );
    let jitters = jitters.lock().unwrap();
    assert_eq!(jitters.len(), 6);
    assert!(
        jitters.iter().all(|j| *j <= Duration::from_millis(150)),
        "{jitters:?}"
    );
    assert!(jitters.iter().any(|j| *j != jitters[0]), "{jitters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_the_checks_warnings() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let mut options = SourceOptions::new(SUITE, SourceTrust::InsecureUnsigned, &f.state);
    options.architecture = Some("amd64".into());
    options.admin_dir = f.system.admin.clone();
    let updater = Updater::new(Source::new(f.store.clone(), options).unwrap(), f.options());
    let (outcome, warnings) = run_with_warnings(&updater).await;
    assert_eq!(short(&outcome), "updated - -> 1.0");
    assert!(
        warnings.iter().any(|w| w.contains("NOT checked")),
        "{warnings:?}"
    );
}

impl Fixture {
    /// The app at `version` with `extras`, published into the suite.
    async fn publish_with(&self, version: &str, extras: &Extras<'_>) {
        let deb = build_deb_with(self.dir.path(), APP, version, "amd64", "", extras);
        self.repo
            .publish(SUITE, "main", &[deb], Default::default(), &|_| {})
            .await
            .unwrap();
    }

    /// dpkg's status of the app: `install ok installed 1.0`.
    fn state(&self) -> String {
        let (status, version) = self.system.state(APP).unwrap_or_default();
        format!("{status} {version}")
    }
}

/// A fixture whose root has a shell: maintainer scripts run.
fn fixture_with_shell() -> Fixture {
    let mut f = fixture(Backend::Local);
    f.system = DpkgRoot::with_shell(&f.dir.path().join("system2"));
    f
}

const FAILING_POSTINST: &[(&str, &str)] =
    &[("postinst", "#!/bin/sh\necho postinst broke >&2\nexit 1\n")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_postinst_is_rolled_back_not_left_half_configured() {
    let f = fixture_with_shell();
    f.publish(SUITE, &["1.0"]).await;
    let updater = f.updater(f.options());
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    let extras = Extras {
        control_files: FAILING_POSTINST,
        ..Extras::default()
    };
    f.publish_with("1.1", &extras).await;
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "rolled back 1.1 -> 1.0");
    assert!(
        outcome
            .error()
            .unwrap()
            .to_string()
            .contains("postinst broke"),
        "{outcome}"
    );
    assert_eq!(f.state(), "install ok installed 1.0");
    assert_eq!(
        f.system.file("usr/share/app/VERSION").as_deref(),
        Some("app 1.0 \n")
    );
    // Not tried again every minute.
    assert_eq!(short(&run(&updater).await), "held 1.1 (installed 1.0)");
    assert_eq!(f.state(), "install ok installed 1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_install_left_half_configured_is_not_up_to_date() {
    let f = fixture_with_shell();
    let extras = Extras {
        control_files: FAILING_POSTINST,
        ..Extras::default()
    };
    f.publish_with("1.0", &extras).await;
    let updater = f.updater(f.options());
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed 1.0 (installed 1.0): Io");
    assert!(
        outcome
            .error()
            .unwrap()
            .to_string()
            .contains("no previous version")
    );
    assert_eq!(f.state(), "install ok half-configured 1.0");
    // Recorded: held back (not "up to date").
    assert_eq!(short(&run(&updater).await), "held 1.0 (installed 1.0)");
    // The next version is installed over the broken one.
    f.publish(SUITE, &["1.1"]).await;
    assert_eq!(short(&run(&updater).await), "updated - -> 1.1");
    assert_eq!(f.state(), "install ok installed 1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locally_changed_conffile_is_kept_without_a_prompt() {
    let f = fixture_with_shell();
    let conffile = |content: &'static str| -> [(&'static str, &'static str); 1] {
        [("etc/app.conf", content)]
    };
    let files = conffile("setting = 1\n");
    let control: &[(&str, &str)] = &[("conffiles", "/etc/app.conf\n")];
    f.publish_with(
        "1.0",
        &Extras {
            control_files: control,
            files: &files,
            ..Extras::default()
        },
    )
    .await;
    let updater = f.updater(f.options());
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    std::fs::write(f.system.root.join("etc/app.conf"), "setting = local\n").unwrap();
    let files = conffile("setting = 2\n");
    f.publish_with(
        "1.1",
        &Extras {
            control_files: control,
            files: &files,
            ..Extras::default()
        },
    )
    .await;
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.1");
    assert_eq!(f.state(), "install ok installed 1.1");
    assert_eq!(
        f.system.file("etc/app.conf").as_deref(),
        Some("setting = local\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rollback_is_retried_until_it_works() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["2.0"]).await;
    // 1.0 installed by hand: neither cached nor listed.
    f.system.dpkg_install(&f.deb("1.0"));
    let version_file = f.system.root.join("usr/share/app/VERSION");
    let updater =
        f.updater(f.options_with_health(sh(&format!("grep -q 1.0 '{}'", version_file.display()))));
    let outcome = run(&updater).await;
    assert!(
        short(&outcome).starts_with("rolled back 2.0 -> 1.0 (rollback failed"),
        "{outcome}"
    );
    let Outcome::RolledBack { installed, .. } = &outcome else {
        unreachable!()
    };
    assert_eq!(installed.as_ref().map(|v| v.as_str()), Some("2.0"));
    // Not "up to date", but not retried every minute either: held until the
    // rollback's back-off has passed.
    assert_eq!(short(&run(&updater).await), "held 2.0 (installed 2.0)");
    // (The back-off passed: the record's last failed rollback moved back.)
    let record = f.cache_dir().unwrap().join("app_2.0_amd64.failed");
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(text.contains("Rollbacks: 1\n"), "{text}");
    let past: String = text
        .lines()
        .map(|l| match l.starts_with("Last-Rollback:") {
            true => "Last-Rollback: 1000\n".to_owned(),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&record, past).unwrap();
    // The rollback is tried again, and fails again.
    let outcome = run(&updater).await;
    assert!(
        short(&outcome).starts_with("rolled back 2.0 -> 1.0 (rollback failed"),
        "{outcome}"
    );
    assert!(outcome.to_string().contains("failed before"), "{outcome}");
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(text.contains("Rollbacks: 2\n"), "{text}");
    std::fs::write(&record, text.replace("Rollbacks: 2\n", "Rollbacks: 0\n")).unwrap();
    // 1.0 listed again: the retried rollback works.
    f.publish(SUITE, &["1.0"]).await;
    assert_eq!(short(&run(&updater).await), "rolled back 2.0 -> 1.0");
    assert_eq!(f.state(), "install ok installed 1.0");
    assert_eq!(short(&run(&updater).await), "held 2.0 (installed 1.0)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_refuses_a_tampered_cached_file() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let updater = f.updater(f.options_unhealthy_at("1.1"));
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    // 1.0 leaves the suite: a rollback has only the cache.
    f.repo.remove(SUITE, APP, Some(&v("1.0"))).await.unwrap();
    f.publish(SUITE, &["1.1"]).await;
    let cached = f.cache_path("app_1.0_amd64.deb");
    std::fs::copy(f.deb("1.1"), &cached).unwrap();
    let outcome = run(&updater).await;
    let text = short(&outcome);
    assert!(
        text.starts_with("rolled back 1.1 -> 1.0 (rollback failed: "),
        "{text}"
    );
    assert!(text.contains("changed after it was verified"), "{text}");
    assert_eq!(f.installed().as_deref(), Some("1.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_finds_the_cached_version_dpkg_wrote_without_its_epoch() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["0:1.0"]).await;
    let updater = f.updater(f.options_unhealthy_at("1.1"));
    assert_eq!(short(&run(&updater).await), "updated - -> 0:1.0");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    f.repo.remove(SUITE, APP, Some(&v("1.0"))).await.unwrap();
    f.publish(SUITE, &["1.1"]).await;
    assert_eq!(short(&run(&updater).await), "rolled back 1.1 -> 1.0");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    assert_eq!(
        f.cache(),
        [
            "app_1.0_amd64.deb",
            "app_1.1_amd64.deb",
            "app_1.1_amd64.failed"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_dir_the_cache_and_the_lock_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    assert_eq!(
        short(&run(&f.updater(f.options())).await),
        "updated - -> 1.0"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&f.state), 0o700);
    assert_eq!(mode(&f.state.join("debs")), 0o700);
    assert_eq!(mode(&f.cache_dir().unwrap()), 0o700);
    assert_eq!(mode(&f.state.join("lock")), 0o600);
    assert_eq!(mode(&f.cache_path("app_1.0_amd64.deb")), 0o600);
    // A cache others can write to is refused.
    let debs = f.state.join("debs");
    std::fs::set_permissions(&debs, std::fs::Permissions::from_mode(0o777)).unwrap();
    let outcome = run(&f.updater(f.options())).await;
    assert_eq!(short(&outcome), "failed - (installed 1.0): Verification");
    assert!(
        outcome.to_string().contains("writable by others"),
        "{outcome}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installer_leaving_a_process_on_its_pipes_does_not_hang_the_run() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let pid_file = f.dir.path().join("pid");
    let mut options = f.options();
    // A "daemon" that keeps writing to the output it inherited.
    options.installer = Installer::Command(sh(&format!(
        "(while true; do echo tick; echo tock >&2; sleep 0.05; done) & echo $! > '{}'; \
         exec dpkg --root=\"$DEBPULL_ROOT\" --admindir=\"$DEBPULL_ADMIN_DIR\" -i \"$1\"",
        pid_file.display()
    )));
    let outcome = tokio::time::timeout(Duration::from_secs(60), run(&f.updater(options)))
        .await
        .expect("the run waited for the installer's grandchild");
    assert_eq!(short(&outcome), "updated - -> 1.0");
    // An installer's leftovers are not killed (a daemon may be one), and its
    // writes do not kill it either (no SIGPIPE from a closed pipe): it lives
    // on well after the run's output handling is over.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .is_ok_and(|s| !s.contains(") Z "))
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let survived = alive();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    assert!(survived, "the installer's background process died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installer_past_its_timeout_is_stopped() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let mut options = f.options();
    options.installer = Installer::Command(sh("sleep 300"));
    options.install_timeout = Duration::from_millis(300);
    let outcome = run(&f.updater(options)).await;
    assert_eq!(short(&outcome), "failed 1.0 (installed -): Verification");
    assert!(outcome.to_string().contains("did not finish"), "{outcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cancelled_during_its_install_completes_it_and_says_so() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let go = f.dir.path().join("go");
    let started = f.dir.path().join("started");
    let mut options = f.options();
    options.installer = Installer::Command(sh(&format!(
        "touch '{started}'; while [ ! -e '{go}' ]; do sleep 0.05; done; \
         exec dpkg --root=\"$DEBPULL_ROOT\" --admindir=\"$DEBPULL_ADMIN_DIR\" -i \"$1\"",
        started = started.display(),
        go = go.display()
    )));
    let updater = f.updater(options.clone());
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = events.clone();
    let record = move |event: &Event| seen.lock().unwrap().push(event.outcome.to_string());
    let cancelled = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            outcome = updater.update_with_events(Arc::new(record)) => Some(outcome),
            () = wait_for(&started) => None,
        }
    })
    .await
    .unwrap();
    assert!(cancelled.is_none(), "{cancelled:?}");
    let first = events.lock().unwrap().clone();
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].contains("cancelled after its installer started"),
        "{first:?}"
    );
    // The install goes on, under the lock, and completes.
    options.lock = LockMode::Skip;
    assert_eq!(short(&run(&f.updater(options.clone())).await), "skipped");
    std::fs::write(&go, "").unwrap();
    options.lock = LockMode::Wait(Duration::from_secs(60));
    assert_eq!(
        short(&run(&f.updater(options)).await),
        "up to date 1.0 (candidate 1.0)"
    );
    assert_eq!(f.state(), "install ok installed 1.0");
    // The cancelled run's real outcome was reported when its install ended.
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1], "app: updated none -> 1.0");
}

/// Puts the app on hold as `apt-mark hold` does (dpkg's selection `hold`).
fn hold(f: &Fixture) {
    use std::io::Write;
    let mut child = std::process::Command::new("dpkg")
        .arg(format!("--admindir={}", f.system.admin.display()))
        .arg("--set-selections")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run dpkg (package dpkg)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{APP} hold\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_on_hold_is_left_alone_unless_pinned() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0", "1.1"]).await;
    f.system.dpkg_install(&f.deb("1.0"));
    hold(&f);
    assert_eq!(f.state(), "hold ok installed 1.0");
    let updater = f.updater(f.options());
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "on hold 1.0 (candidate 1.1)");
    assert!(outcome.to_string().contains("administrator"), "{outcome}");
    assert_eq!(f.state(), "hold ok installed 1.0");
    // Under FollowRepository too, and with the candidate installed it is up to date.
    let mut options = f.options();
    options.policy = Policy::FollowRepository;
    assert_eq!(
        short(&run(&f.updater(options)).await),
        "on hold 1.0 (candidate 1.1)"
    );
    // A pin asks explicitly: installed (apt told it may change a held package).
    let apt = private_apt::PrivateApt::new(&f.dir.path().join("apt"), "");
    let mut options = f.options();
    options.pin = Some(v("1.1"));
    options.installer = Installer::Apt;
    options.apt_config = Some(apt.dir.join("apt.conf"));
    assert_eq!(short(&run(&f.updater(options)).await), "updated 1.0 -> 1.1");
    assert_eq!(f.installed().as_deref(), Some("1.1"));
    hold(&f);
    assert_eq!(
        short(&run(&updater).await),
        "up to date 1.1 (candidate 1.1)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_holding_dpkgs_lock_makes_the_run_skip() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0", "1.1"]).await;
    f.system.dpkg_install(&f.deb("1.0"));
    let held = f.dir.path().join("held");
    let release = f.dir.path().join("release");
    // dpkg locks <admindir>/lock with fcntl(2), as python's lockf does.
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, os, sys, time\n\
             f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX)\n\
             open(sys.argv[2], 'w').close()\n\
             while not os.path.exists(sys.argv[3]): time.sleep(0.05)\n",
        ])
        .arg(f.system.admin.join("lock"))
        .arg(&held)
        .arg(&release)
        .spawn()
        .expect("run python3 (package python3)");
    wait_for(&held).await;
    let updater = f.updater(f.options());
    assert_eq!(short(&run(&updater).await), "skipped");
    assert_eq!(f.state(), "install ok installed 1.0");
    // Not recorded as failed: tried again once dpkg is free.
    std::fs::write(&release, "").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_version_reinstalled_by_hand_after_its_hold_stays() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let updater = f.updater(f.options_unhealthy_at("1.1"));
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    f.publish(SUITE, &["1.1"]).await;
    assert_eq!(short(&run(&updater).await), "rolled back 1.1 -> 1.0");
    // The administrator installs 1.1 by hand while it is held: rolled back.
    f.system.dpkg_install(&f.deb("1.1"));
    assert_eq!(short(&run(&updater).await), "rolled back 1.1 -> 1.0");
    // After the hold (the record's time moved back): left as it is.
    let record = f.cache_dir().unwrap().join("app_1.1_amd64.failed");
    let text = std::fs::read_to_string(&record).unwrap();
    let past: String = text
        .lines()
        .map(|l| match l.starts_with("Last:") {
            true => "Last: 1000\n".to_owned(),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&record, past).unwrap();
    f.system.dpkg_install(&f.deb("1.1"));
    assert_eq!(
        short(&run(&updater).await),
        "up to date 1.1 (candidate 1.1)"
    );
    assert_eq!(f.installed().as_deref(), Some("1.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_failure_record_is_deleted_with_a_warning() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let updater = f.updater(f.options_unhealthy_at("1.1"));
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    f.publish(SUITE, &["1.1"]).await;
    assert_eq!(short(&run(&updater).await), "rolled back 1.1 -> 1.0");
    let record = f.cache_dir().unwrap().join("app_1.1_amd64.failed");
    for bad in ["Last: 18446744073709551615", "Failures: lots"] {
        let text = std::fs::read_to_string(&record).unwrap();
        let field = bad.split(':').next().unwrap();
        let corrupt: String = text
            .lines()
            .map(|l| match l.starts_with(&format!("{field}:")) {
                true => format!("{bad}\n"),
                false => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&record, corrupt).unwrap();
        // No panic: the record is dropped, said so, and 1.1 tried (and failing) again.
        let (outcome, warnings) = run_with_warnings(&updater).await;
        assert_eq!(short(&outcome), "rolled back 1.1 -> 1.0");
        assert!(
            warnings.iter().any(|w| w.contains("unusable")),
            "{warnings:?}"
        );
        assert_eq!(f.installed().as_deref(), Some("1.0"));
        assert_eq!(short(&run(&updater).await), "held 1.1 (installed 1.0)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_update_state_is_refused_or_repaired() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let updater = f.updater(f.options());
    assert_eq!(short(&run(&updater).await), "updated - -> 1.0");
    // The lock path is a directory: a typed error, nothing touched.
    f.publish(SUITE, &["1.1"]).await;
    std::fs::remove_file(f.state.join("lock")).unwrap();
    std::fs::create_dir(f.state.join("lock")).unwrap();
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed - (installed 1.0): Io");
    assert!(outcome.to_string().contains("lock"), "{outcome}");
    assert_eq!(f.installed().as_deref(), Some("1.0"));
    std::fs::remove_dir(f.state.join("lock")).unwrap();
    // A leftover .part longer than the package: started afresh.
    let package = f.repo.list(SUITE).await.unwrap();
    let package = package
        .iter()
        .find(|p| p.version().as_str() == "1.1")
        .unwrap();
    let part = f.cache_dir().unwrap().join(format!(
        "app_1.1_amd64.{}.deb.part",
        package.sha256_hex().unwrap()
    ));
    std::fs::write(&part, vec![b'x'; package.size() as usize * 3]).unwrap();
    assert_eq!(short(&run(&updater).await), "updated 1.0 -> 1.1");
    assert!(!part.exists());
    assert_eq!(f.installed().as_deref(), Some("1.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_state_dir_works() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let data = f.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::symlink(&data, &f.state).unwrap();
    assert_eq!(
        short(&run(&f.updater(f.options())).await),
        "updated - -> 1.0"
    );
    assert!(data.join("lock").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_older_inrelease_does_not_downgrade() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    let key = format!("dists/{SUITE}/InRelease");
    let old = read(&f.store, &key).await;
    // A later Date (the Date has whole seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    f.repo.remove(SUITE, APP, Some(&v("1.0"))).await.unwrap();
    f.publish(SUITE, &["1.1"]).await;
    let mut options = f.options();
    options.policy = Policy::FollowRepository;
    let updater = f.updater(options);
    assert_eq!(short(&run(&updater).await), "updated - -> 1.1");
    // The older snapshot (candidate 1.0) replayed: refused, nothing touched.
    let good = read(&f.store, &key).await;
    write(&f.store, &key, &old).await;
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed - (installed 1.1): Verification");
    assert_eq!(f.state(), "install ok installed 1.1");
    // The good snapshot back, then a newer one: the next runs work.
    write(&f.store, &key, &good).await;
    assert_eq!(
        short(&run(&updater).await),
        "up to date 1.1 (candidate 1.1)"
    );
    f.publish(SUITE, &["1.2"]).await;
    assert_eq!(short(&run(&updater).await), "updated 1.1 -> 1.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_wrongly_signed_repositories_leave_the_machine_alone() {
    let f = fixture(Backend::Local);
    f.publish(SUITE, &["1.0"]).await;
    f.system.dpkg_install(&f.deb("0.9"));
    // Signed by a key this machine does not trust.
    let other = SigningKey::generate("someone else <x@example.org>", KeyKind::Ed25519).unwrap();
    let other = TrustedKeys::from_bytes(other.public_key_armored().unwrap().as_bytes()).unwrap();
    let mut options = SourceOptions::new(SUITE, SourceTrust::Keys(other), &f.state);
    options.architecture = Some("amd64".into());
    options.admin_dir = f.system.admin.clone();
    let wrong = Updater::new(Source::new(f.store.clone(), options).unwrap(), f.options());
    let outcome = run(&wrong).await;
    assert_eq!(short(&outcome), "failed - (installed 0.9): Verification");
    assert_eq!(f.state(), "install ok installed 0.9");
    // Unsigned: the InRelease replaced by the bare Release.
    let release = read(&f.store, &format!("dists/{SUITE}/Release")).await;
    let signed = read(&f.store, &format!("dists/{SUITE}/InRelease")).await;
    write(&f.store, &format!("dists/{SUITE}/InRelease"), &release).await;
    let updater = f.updater(f.options());
    let outcome = run(&updater).await;
    assert_eq!(short(&outcome), "failed - (installed 0.9): Verification");
    assert_eq!(f.state(), "install ok installed 0.9");
    // Signed again: works.
    write(&f.store, &format!("dists/{SUITE}/InRelease"), &signed).await;
    f.publish(SUITE, &["1.1"]).await;
    assert_eq!(short(&run(&updater).await), "updated 0.9 -> 1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apt_installer_resolves_a_dependency_from_the_suite() {
    let f = fixture(Backend::Local);
    let lib = build_deb(f.dir.path(), "applib", "1.0", "amd64", "");
    let app = build_deb_with(
        f.dir.path(),
        APP,
        "2.0",
        "amd64",
        "",
        &Extras {
            fields: &[("Depends", "applib (>= 1.0)")],
            ..Extras::default()
        },
    );
    f.repo
        .publish(SUITE, "main", &[lib, app], Default::default(), &|_| {})
        .await
        .unwrap();
    // apt sees the same repository (its lists from `apt-get update`).
    let key = f.dir.path().join("key.asc");
    std::fs::write(&key, &f.public_key).unwrap();
    let line = format!(
        "deb [signed-by={}] file:{} {SUITE} main",
        key.display(),
        f.dir.path().join("repo").display()
    );
    let apt = private_apt::PrivateApt::new(&f.dir.path().join("apt"), &line);
    apt.update()
        .expect("apt-get update of the private configuration");
    let mut options = f.options();
    options.installer = Installer::Apt;
    options.apt_config = Some(apt.dir.join("apt.conf"));
    assert_eq!(short(&run(&f.updater(options)).await), "updated - -> 2.0");
    assert_eq!(f.system.installed("applib").as_deref(), Some("1.0"));
}
