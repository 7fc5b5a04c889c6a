//! Publishing one new `.deb` into a suite that already holds 10,000 packages, on
//! local storage: debpull against aptly's `repo add` + `publish update` of the
//! same change, side by side in one run.
//!
//! Setup (not timed): 10,000 small packages plus one new package per measured
//! round are built once into the cache directory ($DEBPULL_BENCH_CACHE, default
//! /var/cache/debpull-bench/publish); both tools get the 10,000 published into
//! suite `bench`, signed with the same Ed25519 key (aptly through gpg). Then the
//! rounds alternate: aptly adds and publishes package N, debpull publishes it.
//! Each side must end with 10,000 + rounds packages in its suite.
//!
//! Run: `cargo bench -p debpull-bench --bench publish` (first run: a few minutes
//! to build the packages and let aptly import them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use debpull::repo::{Progress, Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey};
use debpull::storage;

#[path = "support/corpus.rs"]
mod corpus;
use corpus::{import_into_gpg, run};

const EXISTING: usize = 10_000;
const ROUNDS: usize = 9;

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("publish: run with `cargo bench -p debpull-bench --bench publish`");
        return;
    }
    let debs = corpus::packages(&corpus::cache_dir(), EXISTING, ROUNDS);
    let (existing, new) = debs.split_at(EXISTING);
    let work = tempfile::tempdir().expect("a temporary directory");
    let work = work.path();

    let key = SigningKey::generate("debpull bench <bench@example.org>", KeyKind::Ed25519).unwrap();
    let gnupg = work.join("gnupg");
    import_into_gpg(&key, &gnupg);

    println!(
        "setup: {} packages into aptly and into debpull (not timed)...",
        existing.len()
    );
    let aptly = Aptly::new(&work.join("aptly"), &gnupg, &key.fingerprint());
    aptly.setup(existing);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = storage::open(&format!("file://{}", work.join("debpull").display())).unwrap();
    // The work of a publish, not the deliberate wait between two commits
    // within one second (RepositoryOptions::wait_for_new_second).
    let options = RepositoryOptions {
        wait_for_new_second: false,
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(store, key, options).unwrap();
    runtime
        .block_on(repo.publish("bench", "main", existing, Replace::Never, &|_| {}))
        .unwrap();

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut uploads = Vec::new();
    for deb in new {
        theirs.push(aptly.add_and_publish(deb));
        let written = std::sync::atomic::AtomicU64::new(0);
        let count = |event: Progress| {
            if let Progress::Uploaded { bytes, .. } = event {
                written.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let started = Instant::now();
        runtime
            .block_on(repo.publish(
                "bench",
                "main",
                std::slice::from_ref(deb),
                Replace::Never,
                &count,
            ))
            .unwrap();
        ours.push(started.elapsed());
        uploads.push(written.into_inner());
    }
    let listed = runtime.block_on(repo.list("bench")).unwrap().len();
    assert_eq!(listed, EXISTING + ROUNDS, "debpull's suite");
    assert_eq!(aptly.count(), EXISTING + ROUNDS, "aptly's repository");

    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    uploads.sort_unstable();
    println!("one new .deb into a suite of {EXISTING} packages, median of {ROUNDS} rounds:");
    println!(
        "  aptly repo add + publish update: {:8.1} ms",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "  debpull publish:                 {:8.1} ms  ({} bytes written per publish)",
        ours.as_secs_f64() * 1e3,
        uploads[uploads.len() / 2]
    );
    println!(
        "  debpull is {:.1}x faster (goal >= 10x)",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// aptly with a configuration and a root of its own.
struct Aptly {
    config: PathBuf,
    gnupg: PathBuf,
    key: String,
}

impl Aptly {
    fn new(root: &Path, gnupg: &Path, key: &str) -> Aptly {
        std::fs::create_dir_all(root).unwrap();
        let config = root.join("aptly.conf");
        std::fs::write(
            &config,
            format!(
                "{{\"rootDir\": \"{}\", \"architectures\": [\"amd64\"], \"gpgProvider\": \"gpg\"}}",
                root.display()
            ),
        )
        .unwrap();
        Aptly {
            config,
            gnupg: gnupg.to_owned(),
            key: key.to_owned(),
        }
    }

    fn aptly(&self, args: &[&str]) -> Command {
        let mut command = Command::new("aptly");
        command
            .arg(format!("-config={}", self.config.display()))
            .args(args)
            .env("GNUPGHOME", &self.gnupg);
        command
    }

    fn setup(&self, debs: &[PathBuf]) {
        run(&mut self.aptly(&[
            "repo",
            "create",
            "-distribution=bench",
            "-component=main",
            "bench",
        ]));
        let dir = debs[0].parent().unwrap();
        run(self.aptly(&["repo", "add", "bench"]).arg(dir));
        // `repo add DIR` took the new packages too: remove them again.
        run(&mut self.aptly(&["repo", "remove", "bench", "Name (% new*)"]));
        let key = format!("-gpg-key={}", self.key);
        run(&mut self.aptly(&["publish", "repo", &key, "-batch", "bench"]));
    }

    fn add_and_publish(&self, deb: &Path) -> Duration {
        let started = Instant::now();
        run(self.aptly(&["repo", "add", "bench"]).arg(deb));
        let key = format!("-gpg-key={}", self.key);
        run(&mut self.aptly(&["publish", "update", &key, "-batch", "bench"]));
        started.elapsed()
    }

    fn count(&self) -> usize {
        run(&mut self.aptly(&["repo", "show", "-with-packages", "bench"]))
            .lines()
            .filter(|l| l.starts_with("  "))
            .count()
    }
}
