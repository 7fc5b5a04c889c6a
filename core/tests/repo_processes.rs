//! Publishers as separate processes (this test binary run again as a child):
//! eight at once into one suite lose nothing; one killed at many points leaves
//! a repository that apt still accepts, and running it again completes.

#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage;
use private_apt::PrivateApt;
use test_debs::build_deb;

/// The child's role: publish the `.deb`s listed (one per line) in this file, one at a time.
const CHILD: &str = "DEBPULL_TEST_PUBLISH_LIST";
/// The repository directory and the key file, for the child.
const CHILD_REPO: &str = "DEBPULL_TEST_PUBLISH_REPO";
const CHILD_KEY: &str = "DEBPULL_TEST_PUBLISH_KEY";
const SUITE: &str = "busy";

fn repository(repo: &Path, key: SigningKey) -> Repository {
    let storage = storage::open(&format!("file://{}", repo.display())).unwrap();
    // Dozens of commits a second into one suite: no waiting for a new
    // Last-Modified second (repo_apt tests that wait).
    let options = RepositoryOptions {
        wait_for_new_second: false,
        ..RepositoryOptions::default()
    };
    Repository::new(storage, key, options).unwrap()
}

/// Publishes, one `.deb` at a time, the files listed in the file `$CHILD`.
fn child_publisher(list: &Path) {
    let key_text = std::fs::read_to_string(std::env::var_os(CHILD_KEY).unwrap()).unwrap();
    let key = SigningKey::from_armored(&key_text, None).unwrap();
    let repo = repository(Path::new(&std::env::var_os(CHILD_REPO).unwrap()), key);
    let debs: Vec<PathBuf> = std::fs::read_to_string(list)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Ready: from here on, a kill interrupts publishing.
    println!("child: start");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    for deb in debs {
        runtime
            .block_on(repo.publish(SUITE, "main", &[deb], Replace::Never, &|_| {}))
            .unwrap();
    }
}

/// Starts `command` and waits until the child says it starts publishing.
fn start_publishing(command: &mut Command) -> (std::process::Child, Instant) {
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

struct Setup {
    dir: tempfile::TempDir,
    key: SigningKey,
    key_file: PathBuf,
    public_file: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let key_file = dir.path().join("secret.asc");
    std::fs::write(&key_file, key.to_armored_secret(None).unwrap()).unwrap();
    let public_file = dir.path().join("public.asc");
    std::fs::write(&public_file, key.public_key_armored().unwrap()).unwrap();
    Setup {
        dir,
        key,
        key_file,
        public_file,
    }
}

impl Setup {
    fn repo_dir(&self) -> PathBuf {
        self.dir.path().join("repo")
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
            .env(CHILD_REPO, self.repo_dir())
            .env(CHILD_KEY, &self.key_file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }

    fn apt(&self, name: &str) -> PrivateApt {
        PrivateApt::new(
            &self.dir.path().join(name),
            &format!(
                "deb [signed-by={}] file:{} {SUITE} main",
                self.public_file.display(),
                self.repo_dir().display()
            ),
        )
    }

    fn trusted(&self) -> TrustedKeys {
        TrustedKeys::from_bytes(self.key.public_key_armored().unwrap().as_bytes()).unwrap()
    }
}

#[test]
fn eight_processes_publish_into_one_suite() {
    if let Some(list) = std::env::var_os(CHILD) {
        return child_publisher(Path::new(&list));
    }
    let s = setup();
    let children: Vec<_> = (0..8)
        .map(|worker| {
            let debs: Vec<PathBuf> = (0..3)
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
            s.child(
                "eight_processes_publish_into_one_suite",
                &format!("list{worker}"),
                &debs,
            )
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a publisher failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let repo = repository(&s.repo_dir(), s.key.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listed = runtime.block_on(repo.list(SUITE)).unwrap();
    assert_eq!(listed.len(), 24, "{listed:?}");
    runtime.block_on(repo.verify(SUITE, &s.trusted())).unwrap();
    let apt = s.apt("apt");
    apt.update().unwrap();
    assert_eq!(apt.candidate("pkg7").as_deref(), Some("1.2"));
}

#[test]
fn a_killed_publisher_leaves_a_valid_repository_and_a_rerun_completes() {
    if let Some(list) = std::env::var_os(CHILD) {
        return child_publisher(Path::new(&list));
    }
    let s = setup();
    let repo = repository(&s.repo_dir(), s.key.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = build_deb(s.dir.path(), "app", "1.0", "amd64", "");
    runtime
        .block_on(repo.publish(SUITE, "main", &[first], Replace::Never, &|_| {}))
        .unwrap();
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
    let test = "a_killed_publisher_leaves_a_valid_repository_and_a_rerun_completes";

    // How long a whole run takes, on a copy, so that kills land all along it.
    let timing = Setup {
        dir: tempfile::tempdir().unwrap(),
        key: s.key.clone(),
        key_file: s.key_file.clone(),
        public_file: s.public_file.clone(),
    };
    let (mut child, started) = start_publishing(&mut timing.child(test, "timing", &round_debs(99)));
    assert!(child.wait().unwrap().success(), "the timing run failed");
    let whole = started.elapsed();

    let rounds = 24u32;
    let mut published = 1;
    let mut interrupted_midway = 0;
    for round in 0..rounds {
        let delay = whole * round / rounds;
        let debs = round_debs(round);
        let (mut child, _) = start_publishing(&mut s.child(test, &format!("list{round}"), &debs));
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        // Whatever was interrupted, apt reads a consistent suite.
        let apt = s.apt(&format!("apt{round}"));
        apt.update()
            .unwrap_or_else(|out| panic!("round {round} (killed after {delay:?}): {out}"));
        assert!(apt.candidate("app").is_some(), "round {round}");
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
