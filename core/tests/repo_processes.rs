//! Publishers as separate processes (this test binary run again as a child), on
//! both backends: a local directory and S3 (moto on loopback, authentication on).
//! Eight at once into one suite lose nothing while a reader following apt's path
//! (InRelease → by-hash Packages → pool) never sees a torn snapshot; one killed at
//! many points leaves a repository that apt still accepts, and running it again
//! completes.
//!
//! A child gets everything through its own environment (the parent's is never
//! changed: tests run on threads): the storage URI, the signing key's file, and
//! for S3 the credentials as `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, which
//! `storage::open` finds through the SDK's default chain. moto checks every
//! signature, so a child that did not get them right fails.

#[allow(dead_code)]
#[path = "support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[path = "support/snapshot_reader.rs"]
mod snapshot_reader;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backends::Backend;
use debpull::ErrorKind;
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{self, S3Credentials, S3Options, S3Storage, Storage};
use moto::Moto;
use private_apt::PrivateApt;
use snapshot_reader::SnapshotReader;
use test_debs::build_deb;

/// The child's role: publish the `.deb`s listed (one per line) in this file, one at a time.
const CHILD: &str = "DEBPULL_TEST_PUBLISH_LIST";
/// The storage URI and the key file, for the child.
const CHILD_STORE: &str = "DEBPULL_TEST_PUBLISH_STORE";
const CHILD_KEY: &str = "DEBPULL_TEST_PUBLISH_KEY";
const SUITE: &str = "busy";

/// `local::NAME` and `s3::NAME` run `NAME(backend, the test's name)`; the test's
/// name is what a child runs again (`--exact`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[test]
                fn $name() {
                    super::$name(
                        super::Backend::Local,
                        concat!("local::", stringify!($name)),
                    )
                }
            )*
        }
        mod s3 {
            $(
                #[test]
                fn $name() {
                    super::$name(super::Backend::S3, concat!("s3::", stringify!($name)))
                }
            )*
        }
    };
}

on_both_backends!(
    eight_processes_publish_into_one_suite,
    a_killed_publisher_leaves_a_valid_repository_and_a_rerun_completes,
);

fn repository(store: Arc<dyn Storage>, key: SigningKey) -> Repository {
    // Dozens of commits a second into one suite. The wait would give every commit
    // a Last-Modified second of its own, for apt's If-Modified-Since: one commit a
    // second at most, 200 seconds for 200 publishes. Nobody here needs it: the
    // reader loop GETs InRelease unconditionally, and every apt-get starts with
    // empty lists (repo_apt tests the wait).
    let options = RepositoryOptions {
        wait_for_new_second: false,
        ..RepositoryOptions::default()
    };
    Repository::new(store, key, options).unwrap()
}

/// Publishes, one `.deb` at a time, the files listed in the file `$CHILD`, into
/// the store `$CHILD_STORE` names, opened with `storage::open` (for S3 the
/// credentials come from the environment).
fn child_publisher(list: &Path) {
    let key_text = std::fs::read_to_string(std::env::var_os(CHILD_KEY).unwrap()).unwrap();
    let key = SigningKey::from_armored(&key_text, None).unwrap();
    let uri = std::env::var(CHILD_STORE).unwrap();
    let repo = repository(storage::open(&uri).unwrap(), key);
    let debs: Vec<PathBuf> = std::fs::read_to_string(list)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Ready: from here on, a kill interrupts publishing.
    println!("child: start");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    let mut attempts = 0;
    for deb in debs {
        let report = runtime
            .block_on(repo.publish(SUITE, "main", &[deb], Replace::Never, &|_| {}))
            .unwrap();
        attempts += report.attempts;
    }
    println!("child: attempts {attempts}");
}

/// Starts `command` and waits until the child says it starts publishing.
fn start_publishing(command: &mut Command) -> (Child, Instant) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("child: start") => break,
            Some(_) => continue,
            None => panic!("the child ended before publishing"),
        }
    }
    // Keep reading (and dropping) the rest, so that the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, Instant::now())
}

/// Where the repository lives, and how each party reaches it.
enum Place {
    /// `file://DIR/repo`.
    Local(PathBuf),
    /// A bucket on an auth-enabled moto, under the prefix `debian`.
    S3 { moto: Arc<Moto>, bucket: String },
}

struct Setup {
    dir: tempfile::TempDir,
    key: SigningKey,
    key_file: PathBuf,
    public_file: PathBuf,
    place: Place,
}

/// A new key and an empty repository; on S3 on a moto server of its own: moto
/// (Python) uses one core at most and is what the S3 tests wait for, so with a
/// server each they run side by side on two cores rather than queue at one.
fn setup(backend: Backend) -> Setup {
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let moto = match backend {
        Backend::Local => None,
        Backend::S3 => Some(Arc::new(Moto::start_with_auth())),
    };
    setup_with(key, moto)
}

fn setup_with(key: SigningKey, moto: Option<Arc<Moto>>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("secret.asc");
    std::fs::write(&key_file, key.to_armored_secret(None).unwrap()).unwrap();
    let public_file = dir.path().join("public.asc");
    std::fs::write(&public_file, key.public_key_armored().unwrap()).unwrap();
    let place = match moto {
        None => Place::Local(dir.path().join("repo")),
        Some(moto) => {
            let bucket = moto.create_bucket("processes");
            Place::S3 { moto, bucket }
        }
    };
    Setup {
        dir,
        key,
        key_file,
        public_file,
        place,
    }
}

impl Setup {
    /// Another empty repository with the same key, on the same server.
    fn sibling(&self) -> Setup {
        let moto = match &self.place {
            Place::Local(_) => None,
            Place::S3 { moto, .. } => Some(moto.clone()),
        };
        setup_with(self.key.clone(), moto)
    }

    /// The URI a child opens: objects written public-read on S3, for apt.
    fn uri(&self) -> String {
        match &self.place {
            Place::Local(dir) => format!("file://{}", dir.display()),
            Place::S3 { moto, bucket } => {
                let endpoint = moto.endpoint().replace(':', "%3A").replace('/', "%2F");
                format!(
                    "s3://{bucket}/debian?region={}&endpoint={endpoint}&path-style=true\
                     &acl=public-read",
                    moto::REGION
                )
            }
        }
    }

    /// The store as the parent opens it (S3: the same URI, explicit credentials).
    fn store(&self) -> Arc<dyn Storage> {
        self.store_with(|| {
            let keys = self.moto_credentials();
            S3Credentials::Static {
                access_key_id: keys.access_key_id,
                secret_access_key: keys.secret_access_key,
                session_token: keys.session_token,
            }
        })
    }

    /// The store as a reader on a server sees it (S3: anonymous, so that only what
    /// the public-read ACL opens is readable).
    fn reader_store(&self) -> Arc<dyn Storage> {
        self.store_with(|| S3Credentials::Anonymous)
    }

    fn store_with(&self, credentials: impl FnOnce() -> S3Credentials) -> Arc<dyn Storage> {
        match &self.place {
            Place::Local(_) => storage::open(&self.uri()).unwrap(),
            Place::S3 { .. } => {
                let mut options = S3Options::from_uri(&self.uri()).unwrap();
                options.credentials = credentials();
                Arc::new(S3Storage::new(options).unwrap())
            }
        }
    }

    fn moto_credentials(&self) -> moto::Credentials {
        match &self.place {
            Place::S3 { moto, .. } => moto.credentials().clone(),
            Place::Local(_) => unreachable!("a local store has no credentials"),
        }
    }

    fn repository(&self) -> Repository {
        repository(self.store(), self.key.clone())
    }

    /// A child process publishing `debs` (listed in a file named `name`).
    fn child(&self, test: &str, name: &str, debs: &[PathBuf]) -> Command {
        let list = self.dir.path().join(name);
        let text: Vec<String> = debs.iter().map(|d| d.display().to_string()).collect();
        std::fs::write(&list, text.join("\n")).unwrap();
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, &list)
            .env(CHILD_STORE, self.uri())
            .env(CHILD_KEY, &self.key_file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Place::S3 { .. } = self.place {
            // The default chain finds these first; nothing of the machine's own
            // AWS configuration may take part.
            let keys = self.moto_credentials();
            let missing = self.dir.path().join("no-aws-config");
            command
                .env("AWS_ACCESS_KEY_ID", keys.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", keys.secret_access_key)
                .env_remove("AWS_SESSION_TOKEN")
                .env_remove("AWS_PROFILE")
                .env("AWS_CONFIG_FILE", &missing)
                .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
                .env("AWS_EC2_METADATA_DISABLED", "true");
        }
        command
    }

    /// apt with this repository as its only source (S3: anonymous plain HTTP;
    /// local: `copy:`, so that downloads land in apt's cache as over HTTP).
    fn apt(&self, name: &str) -> PrivateApt {
        let base = match &self.place {
            Place::Local(dir) => format!("copy:{}", dir.display()),
            Place::S3 { moto, bucket } => format!("{}/debian", moto.bucket_url(bucket)),
        };
        PrivateApt::new(
            &self.dir.path().join(name),
            &format!(
                "deb [signed-by={}] {base} {SUITE} main",
                self.public_file.display()
            ),
        )
    }

    fn trusted(&self) -> TrustedKeys {
        TrustedKeys::from_bytes(self.key.public_key_armored().unwrap().as_bytes()).unwrap()
    }

    fn reader(&self, seed: u64) -> SnapshotReader {
        SnapshotReader::new(
            self.reader_store(),
            SUITE,
            "main",
            "amd64",
            self.trusted(),
            seed,
        )
        .only_additions()
    }
}

/// Waits until the suite's first commit, or panics when every child has ended
/// without one. (An anonymous GET of a missing key is refused with 403 on S3
/// without s3:ListBucket, so the anonymous reader starts after it.)
fn wait_for_first_commit(s: &Setup, runtime: &tokio::runtime::Runtime, children: &mut [Child]) {
    let store = s.store();
    let key = format!("dists/{SUITE}/InRelease");
    loop {
        match runtime.block_on(store.head(&key)) {
            Ok(_) => return,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => panic!("{e}"),
        }
        if children
            .iter_mut()
            .all(|child| child.try_wait().unwrap().is_some())
        {
            panic!("every publisher ended before the first commit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn eight_processes_publish_into_one_suite(backend: Backend, test: &str) {
    if let Some(list) = std::env::var_os(CHILD) {
        return child_publisher(Path::new(&list));
    }
    const PROCESSES: usize = 8;
    const PACKAGES: usize = 25;
    let s = setup(backend);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let commands: Vec<Command> = (0..PROCESSES)
        .map(|worker| {
            let debs: Vec<PathBuf> = (0..PACKAGES)
                .map(|i| {
                    build_deb(
                        s.dir.path(),
                        &format!("pkg{worker}"),
                        &format!("1.{i}"),
                        "amd64",
                        "",
                    )
                })
                .collect();
            s.child(test, &format!("list{worker}"), &debs)
        })
        .collect();
    let started = Instant::now();
    let mut children: Vec<Child> = commands
        .into_iter()
        .map(|mut command| command.stdout(Stdio::piped()).spawn().unwrap())
        .collect();
    wait_for_first_commit(&s, &runtime, &mut children);
    let reader = s.reader(7).start(Duration::from_millis(20));
    // Every publisher's outcome, and the reader's, before judging either.
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let published = started.elapsed();
    let stats = reader.finish();
    let attempts: usize = outputs
        .iter()
        .filter_map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .find_map(|line| line.strip_prefix("child: attempts ")?.parse::<usize>().ok())
        })
        .sum();
    eprintln!(
        "{test}: {PROCESSES} processes × {PACKAGES} packages published in {published:.1?}, \
         {attempts} commit attempts; reader: {stats}"
    );
    for output in &outputs {
        assert!(
            output.status.success(),
            "a publisher failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(stats.failed, 0, "the reader saw a torn snapshot: {stats}");
    assert!(
        stats.reads >= 20 && stats.snapshots >= 10,
        "too few reads to mean anything: {stats}"
    );
    // Lost commit races, retried: the publishers really ran at the same time.
    assert!(
        attempts > PROCESSES * PACKAGES,
        "{attempts} attempts for {} publishes: no race",
        PROCESSES * PACKAGES
    );

    let repo = s.repository();
    let listed = runtime.block_on(repo.list(SUITE)).unwrap();
    let missing: Vec<String> = (0..PROCESSES)
        .flat_map(|worker| (0..PACKAGES).map(move |i| format!("pkg{worker} 1.{i}")))
        .filter(|want| {
            !listed
                .iter()
                .any(|p| format!("{} {}", p.name(), p.version()) == *want)
        })
        .collect();
    assert!(
        missing.is_empty() && listed.len() == PROCESSES * PACKAGES,
        "{} listed; missing (a lost update): {missing:?}",
        listed.len()
    );
    let report = runtime.block_on(repo.verify(SUITE, &s.trusted())).unwrap();
    assert_eq!(report.packages, PROCESSES * PACKAGES);
    let apt = s.apt("apt");
    apt.update()
        .unwrap_or_else(|out| panic!("apt-get update: {out}"));
    let newest = format!("1.{}", PACKAGES - 1);
    for worker in [0, 3, PROCESSES - 1] {
        let name = format!("pkg{worker}");
        assert_eq!(apt.candidate(&name).as_deref(), Some(newest.as_str()));
    }
    let downloaded = apt
        .download("pkg3")
        .unwrap_or_else(|out| panic!("apt-get download: {out}"));
    assert_eq!(downloaded, [format!("pkg3_{newest}_amd64.deb")]);
}

fn a_killed_publisher_leaves_a_valid_repository_and_a_rerun_completes(
    backend: Backend,
    test: &str,
) {
    if let Some(list) = std::env::var_os(CHILD) {
        return child_publisher(Path::new(&list));
    }
    let s = setup(backend);
    let repo = s.repository();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = build_deb(s.dir.path(), "app", "1.0", "amd64", "");
    runtime
        .block_on(repo.publish(SUITE, "main", &[first], Replace::Never, &|_| {}))
        .unwrap();
    let mut reader = s.reader(11);
    // Each round publishes versions of its own, so that every kill interrupts real work.
    let round_debs = |round: u32| -> Vec<PathBuf> {
        (0..4)
            .map(|i| {
                let (name, arch) = [
                    ("app", "amd64"),
                    ("tool", "amd64"),
                    ("data", "all"),
                    ("app", "amd64"),
                ][i];
                build_deb(s.dir.path(), name, &format!("2.{round}.{i}"), arch, "")
            })
            .collect()
    };

    // How long a whole run takes, on a store of its own, so that kills land all along it.
    let timing = s.sibling();
    let (mut child, started) = start_publishing(&mut timing.child(test, "timing", &round_debs(99)));
    assert!(child.wait().unwrap().success(), "the timing run failed");
    let whole = started.elapsed();

    let rounds = 24u32;
    let test_started = Instant::now();
    let mut published = 1;
    let mut interrupted_midway = 0;
    for round in 0..rounds {
        let delay = whole * round / rounds;
        let debs = round_debs(round);
        let (mut child, _) = start_publishing(&mut s.child(test, &format!("list{round}"), &debs));
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        // Whatever was interrupted, apt and the reader read a consistent suite.
        let apt = s.apt(&format!("apt{round}"));
        apt.update()
            .unwrap_or_else(|out| panic!("round {round} (killed after {delay:?}): {out}"));
        assert!(apt.candidate("app").is_some(), "round {round}");
        runtime
            .block_on(reader.read())
            .unwrap_or_else(|e| panic!("round {round} (killed after {delay:?}): {e}"));
        let listed = runtime.block_on(repo.list(SUITE)).unwrap().len();
        let added = listed - published;
        assert!(added <= debs.len(), "round {round}: {added} added");
        if added > 0 && added < debs.len() {
            interrupted_midway += 1;
        }

        // Running the round again completes it.
        let output = s
            .child(test, &format!("list{round}"), &debs)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        published = runtime.block_on(repo.list(SUITE)).unwrap().len();
        assert_eq!(published, 1 + 4 * (round as usize + 1), "round {round}");
        runtime
            .block_on(repo.verify(SUITE, &s.trusted()))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    eprintln!(
        "{test}: a whole run {whole:.1?}; {rounds} rounds in {:.1?}, {interrupted_midway} \
         kills between two publications; reader: {}",
        test_started.elapsed(),
        reader.stats()
    );
    assert!(
        interrupted_midway >= 2,
        "only {interrupted_midway} kills landed between two publications"
    );
    let apt = s.apt("apt-final");
    apt.update().unwrap();
    assert_eq!(
        apt.candidate("app").as_deref(),
        Some(format!("2.{}.3", rounds - 1).as_str())
    );
}

/// The child's credentials are the ones in its environment: with a wrong secret
/// there, moto refuses its first request and nothing is written.
#[test]
fn a_child_with_a_wrong_secret_in_its_environment_is_refused() {
    if let Some(list) = std::env::var_os(CHILD) {
        return child_publisher(Path::new(&list));
    }
    let s = setup(Backend::S3);
    let deb = build_deb(s.dir.path(), "app", "1.0", "amd64", "");
    let output = s
        .child(
            "a_child_with_a_wrong_secret_in_its_environment_is_refused",
            "list",
            &[deb],
        )
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("credentials were refused") && stderr.contains("SignatureDoesNotMatch"),
        "{stderr}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let written = runtime.block_on(s.store().list("")).unwrap();
    assert!(written.is_empty(), "{written:?}");
}
