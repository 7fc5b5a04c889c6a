//! Publishing one new `.deb` into a suite of 10,000 packages on S3: debpull's
//! `Repository::publish` against aptly's `repo add` + `publish update` of the same
//! change, both against one moto server on loopback, in one run; and what one
//! debpull publish sends (requests per method, bytes), counted by a proxy in front
//! of moto, at suite sizes 100, 1,000 and 10,000, with aptly's for comparison.
//!
//! Setup (not timed): the cached packages of `publish.rs` (`support/corpus.rs`);
//! one moto (`core/tests/support/moto.rs`) and one counting proxy in front of it
//! (`core/tests/support/fault_proxy.rs`, never given faults). debpull publishes the
//! 10,000 packages into suite `bench` of one bucket in batches of 1,000; aptly
//! imports them into a local repository and publishes it (`publish repo`) to
//! another bucket of the same moto. Both sign with the same Ed25519 key (aptly
//! through gpg) and write objects with the public-read ACL. Before anything is
//! timed, both published indexes must list the same packages (name, version,
//! SHA256), and again at the end.
//!
//! Measured, one new package per round:
//! 1. interleaved rounds: aptly `repo add` and `publish update` (two processes, as
//!    a CI job would run them, timed apart), with aptly's defaults or lean
//!    (`-skip-contents -skip-bz2 -skip-cleanup`: the least aptly can do for the
//!    change), then debpull `publish` in-process, alternately with
//!    `wait_for_new_second` off and on (the default; the previous commit is
//!    seconds old then, so there is nothing to wait for);
//! 2. back-to-back debpull publishes: a fresh S3 client per publish (what a
//!    one-shot CI process pays), then at once one with the default on, which waits
//!    for the next second (apt's `If-Modified-Since` has whole seconds);
//! 3. counted: two publishes through the proxy at each suite size, debpull's,
//!    and aptly's `publish update` each way (`repo add` makes no request).
//!
//! Run: `cargo bench -p debpull-bench --bench publish_s3` (needs aptly, gpg and
//! moto for python3; about 5 minutes, most of it the setup).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use debpull::index::{Package, Packages};
use debpull::repo::{Progress, Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey};
use debpull::storage::{GetOptions, GetResult, S3Credentials, S3Options, S3Storage, Storage};

#[path = "support/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../../core/tests/support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "../../core/tests/support/moto.rs"]
mod moto;

use corpus::run;
use fault_proxy::{FaultProxy, Stats};
use moto::Moto;

/// Packages in the suite before the measured publishes.
const EXISTING: usize = 10_000;
/// Packages per setup publish.
const BATCH: usize = 1_000;
/// Interleaved rounds: debpull alternately with `wait_for_new_second` off and
/// on, aptly in turns of two with its defaults and lean ([`AptlyMode`]).
const ROUNDS: usize = 16;
/// Back-to-back pairs: fresh client (wait off), then default (wait on).
const PAIRS: usize = 5;
/// Suite sizes of the counted publishes.
const SIZES: [usize; 3] = [100, 1_000, 10_000];
/// New packages used: one per timed publish, and two for the counted publishes.
const NEW: usize = ROUNDS + 2 * PAIRS + 2;
/// The suite, distribution and component everywhere.
const SUITE: &str = "bench";
const COMPONENT: &str = "main";
const INDEX: &str = "dists/bench/main/binary-amd64/Packages";

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("publish_s3: run with `cargo bench -p debpull-bench --bench publish_s3`");
        return;
    }
    let debs = corpus::packages(&corpus::cache_dir(), EXISTING, NEW);
    let (existing, new) = debs.split_at(EXISTING);
    let mut new = new.iter();
    let work = tempfile::tempdir().expect("a temporary directory");
    let work = work.path();

    let key = SigningKey::generate("debpull bench <bench@example.org>", KeyKind::Ed25519).unwrap();
    let gnupg = work.join("gnupg");
    corpus::import_into_gpg(&key, &gnupg);
    let moto = Moto::start();
    // Never given faults: it only counts what passes through.
    let proxy = FaultProxy::start(&moto.endpoint(), 0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s3 = S3::new(&moto, &proxy, key);
    let aptly = Aptly::new(
        &work.join("aptly"),
        &gnupg,
        &s3.key.fingerprint(),
        moto.credentials(),
    );

    // Setup, not timed (but reported).
    println!("setup: {EXISTING} packages into debpull and into aptly on one moto (not timed)...");
    let ours = s3.bucket(&moto, "debpull");
    let started = Instant::now();
    for batch in existing.chunks(BATCH) {
        runtime
            .block_on(
                ours.fast
                    .publish(SUITE, COMPONENT, batch, Replace::Never, &|_| {}),
            )
            .unwrap();
    }
    let setup_ours = started.elapsed();
    let theirs = aptly.endpoint(&moto, "aptly");
    aptly.point_at(&moto.endpoint());
    let started = Instant::now();
    aptly.create(&theirs, existing);
    let setup_theirs_add = started.elapsed();
    let started = Instant::now();
    aptly.publish(&theirs);
    let setup_theirs_publish = started.elapsed();
    let theirs_store = s3.store(&moto.endpoint(), &theirs.bucket);
    let same = runtime.block_on(same_packages(&ours.fast, &*theirs_store));
    assert_eq!(same, EXISTING, "packages in both suites");
    println!(
        "  debpull: {:.1} s in {} publishes; aptly: repo add {:.1} s, publish repo {:.1} s; both list the same {same} packages",
        setup_ours.as_secs_f64(),
        EXISTING.div_ceil(BATCH),
        setup_theirs_add.as_secs_f64(),
        setup_theirs_publish.as_secs_f64()
    );

    println!("load average before the timed rounds: {}", load());

    // 1. Interleaved rounds: debpull alternately without and with the wait, aptly
    // in turns of two with its defaults and lean, so that whatever else the
    // machine does weighs on every kind alike.
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let deb = new.next().unwrap();
        let wait = round % 2 == 1;
        let mode = if (round / 2) % 2 == 0 {
            AptlyMode::Default
        } else {
            AptlyMode::Lean
        };
        let add = aptly.add(&theirs, deb);
        let update = aptly.update(&theirs, mode);
        let repo = if wait { &ours.waiting } else { &ours.fast };
        let publish = timed_publish(&runtime, repo, deb);
        rounds.push(Round {
            add,
            update,
            mode,
            ours: publish,
            wait,
        });
    }

    // 2. Back to back: a fresh client, then at once the default.
    let mut fresh = Vec::new();
    let mut waiting = Vec::new();
    let mut published = Vec::new();
    for _ in 0..PAIRS {
        let deb = new.next().unwrap();
        let started = Instant::now();
        let repo = s3.repository(&moto.endpoint(), &ours.bucket, false);
        runtime
            .block_on(repo.publish(
                SUITE,
                COMPONENT,
                std::slice::from_ref(deb),
                Replace::Never,
                &|_| {},
            ))
            .unwrap();
        fresh.push(started.elapsed());
        published.push(deb.clone());
        let deb = new.next().unwrap();
        waiting.push(timed_publish(&runtime, &ours.waiting, deb));
        published.push(deb.clone());
    }
    // aptly gets the same packages (not timed), so that both suites stay equal.
    aptly.add_all(&theirs, &published);
    aptly.update(&theirs, AptlyMode::Default);
    let timed = ROUNDS + 2 * PAIRS;
    let same = runtime.block_on(same_packages(&ours.fast, &*theirs_store));
    assert_eq!(same, EXISTING + timed, "packages in both suites");

    // 3. Counted publishes at each suite size: two new packages each, one for
    // each way aptly publishes (debpull's two show its count does not vary).
    let counted_debs = [new.next().unwrap(), new.next().unwrap()];
    let deb_size = std::fs::metadata(counted_debs[0]).unwrap().len();
    let mut counts = Vec::new();
    for size in SIZES {
        let (bucket, endpoint, expected) = if size == EXISTING {
            (ours.bucket.clone(), theirs.clone(), EXISTING + timed)
        } else {
            let mine = s3.bucket(&moto, &format!("debpull-{size}"));
            runtime
                .block_on(mine.fast.publish(
                    SUITE,
                    COMPONENT,
                    &existing[..size],
                    Replace::Never,
                    &|_| {},
                ))
                .unwrap();
            let endpoint = aptly.endpoint(&moto, &format!("aptly-{size}"));
            aptly.point_at(&moto.endpoint());
            aptly.create(&endpoint, &existing[..size]);
            aptly.publish(&endpoint);
            (mine.bucket, endpoint, size)
        };
        let counted = s3.repository(&proxy.endpoint(), &bucket, false);
        let direct = s3.store(&moto.endpoint(), &bucket);
        let mut ours_counts = Vec::new();
        let mut theirs_counts = Vec::new();
        let mut written = Vec::new();
        for (deb, mode) in counted_debs
            .iter()
            .zip([AptlyMode::Default, AptlyMode::Lean])
        {
            let uploads = Mutex::new(Vec::new());
            let note = |event: Progress| {
                if let Progress::Uploaded { key, bytes } = event {
                    uploads.lock().unwrap().push((key, bytes));
                }
            };
            proxy.reset_stats();
            let started = Instant::now();
            runtime
                .block_on(counted.publish(
                    SUITE,
                    COMPONENT,
                    std::slice::from_ref(*deb),
                    Replace::Never,
                    &note,
                ))
                .unwrap();
            ours_counts.push((proxy.stats(), started.elapsed()));
            // The sizes of the objects written, as stored (not as debpull reports them).
            let stored: Vec<(String, u64)> = uploads
                .into_inner()
                .unwrap()
                .into_iter()
                .map(|(key, reported)| {
                    let stored = runtime.block_on(direct.head(&key)).unwrap().size;
                    assert_eq!(stored, reported, "{key}: stored size");
                    (key, stored)
                })
                .collect();
            if written.is_empty() {
                written = stored;
            }

            aptly.add(&endpoint, deb);
            aptly.point_at(&proxy.endpoint());
            proxy.reset_stats();
            let time = aptly.update(&endpoint, mode);
            theirs_counts.push((mode, proxy.stats(), time));
            aptly.point_at(&moto.endpoint());
        }
        let theirs_store = s3.store(&moto.endpoint(), &endpoint.bucket);
        let mine = s3.repository(&moto.endpoint(), &bucket, false);
        let same = runtime.block_on(same_packages(&mine, &*theirs_store));
        assert_eq!(same, expected + 2, "packages in both suites of {size}");
        counts.push(Counted {
            size,
            ours: ours_counts,
            written,
            theirs: theirs_counts,
        });
    }

    report(&rounds, &fresh, &waiting, &counts, deb_size);
}

/// How aptly publishes: with its defaults, or doing the least it can for the
/// change (no Contents indexes, no bzip2, no cleanup of the pool, which
/// debpull leaves to its separate garbage collection too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AptlyMode {
    Default,
    Lean,
}

impl AptlyMode {
    /// The options of `publish update`. Spelled out both ways: aptly keeps a
    /// suite's -skip-contents and -skip-bz2 from one publish to the next.
    fn flags(self) -> &'static [&'static str] {
        match self {
            AptlyMode::Default => &["-skip-contents=false", "-skip-bz2=false"],
            AptlyMode::Lean => &["-skip-contents", "-skip-bz2", "-skip-cleanup"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AptlyMode::Default => "aptly publish update",
            AptlyMode::Lean => "aptly publish update, lean",
        }
    }
}

/// One interleaved round.
struct Round {
    /// aptly `repo add`.
    add: Duration,
    /// aptly `publish update`.
    update: Duration,
    /// How aptly published.
    mode: AptlyMode,
    /// debpull `publish`.
    ours: Duration,
    /// Whether debpull had `wait_for_new_second` on.
    wait: bool,
}

/// The counted publishes into a suite of `size` packages.
struct Counted {
    size: usize,
    /// debpull's two publishes: what went through the proxy, how long it took.
    ours: Vec<(Stats, Duration)>,
    /// The objects debpull's first publish wrote, with their stored sizes.
    written: Vec<(String, u64)>,
    /// aptly's `publish update`, each way.
    theirs: Vec<(AptlyMode, Stats, Duration)>,
}

fn timed_publish(runtime: &tokio::runtime::Runtime, repo: &Repository, deb: &Path) -> Duration {
    let started = Instant::now();
    runtime
        .block_on(repo.publish(SUITE, COMPONENT, &[deb.to_owned()], Replace::Never, &|_| {}))
        .unwrap();
    started.elapsed()
}

/// The packages of debpull's suite and of aptly's published index, as
/// (name, version, SHA256); they must be the same. Returns how many.
async fn same_packages(ours: &Repository, theirs: &dyn Storage) -> usize {
    let ours = identities(ours.list(SUITE).await.unwrap().iter());
    let text = match theirs.get(INDEX, GetOptions::default()).await.unwrap() {
        GetResult::Found { data, .. } => String::from_utf8(data).unwrap(),
        GetResult::NotModified => unreachable!("an unconditional get"),
    };
    let theirs = identities(Packages::parse(&text).unwrap().iter());
    assert!(
        ours == theirs,
        "debpull's suite ({} packages) and aptly's ({}) differ",
        ours.len(),
        theirs.len()
    );
    ours.len()
}

/// (name, version, SHA256) of each package, sorted.
fn identities<'a>(packages: impl Iterator<Item = &'a Package>) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = packages
        .map(|p| {
            let sha256 = p.sha256_hex().expect("a SHA256 in the index");
            (p.name().to_owned(), p.version().to_string(), sha256)
        })
        .collect();
    out.sort();
    out
}

/// debpull's side: S3 storages and repositories on moto, directly or through the proxy.
struct S3 {
    moto: String,
    proxy: String,
    key: SigningKey,
    credentials: S3Credentials,
}

/// A bucket of debpull's and two repositories on it.
struct Bucket {
    bucket: String,
    /// `wait_for_new_second` off: the work of a publish.
    fast: Repository,
    /// The default options (wait on).
    waiting: Repository,
}

impl S3 {
    fn new(moto: &Moto, proxy: &FaultProxy, key: SigningKey) -> S3 {
        let credentials = moto.credentials();
        S3 {
            moto: moto.endpoint(),
            proxy: proxy.endpoint(),
            key,
            credentials: S3Credentials::Static {
                access_key_id: credentials.access_key_id.clone(),
                secret_access_key: credentials.secret_access_key.clone(),
                session_token: credentials.session_token.clone(),
            },
        }
    }

    /// A store on `bucket` reached at `endpoint` (moto's or the proxy's).
    fn store(&self, endpoint: &str, bucket: &str) -> Arc<dyn Storage> {
        assert!(endpoint == self.moto || endpoint == self.proxy);
        let mut options = S3Options::new(bucket);
        options.endpoint = Some(endpoint.to_owned());
        options.region = Some(moto::REGION.to_owned());
        options.force_path_style = true;
        options.credentials = self.credentials.clone();
        // As aptly writes them: readable by apt without credentials.
        options.acl = Some("public-read".to_owned());
        Arc::new(S3Storage::new(options).unwrap())
    }

    /// A repository on `bucket` at `endpoint`, waiting for a new second or not.
    fn repository(&self, endpoint: &str, bucket: &str, wait_for_new_second: bool) -> Repository {
        let options = RepositoryOptions {
            wait_for_new_second,
            ..RepositoryOptions::default()
        };
        Repository::new(self.store(endpoint, bucket), self.key.clone(), options).unwrap()
    }

    /// A new bucket (`PREFIX-N`) on moto, with its two direct repositories.
    fn bucket(&self, moto: &Moto, prefix: &str) -> Bucket {
        let bucket = moto.create_bucket(prefix);
        Bucket {
            fast: self.repository(&self.moto, &bucket, false),
            waiting: self.repository(&self.moto, &bucket, true),
            bucket,
        }
    }
}

/// An aptly S3 publish endpoint: its name in aptly's configuration (also the
/// name of the local repository published there) and its bucket.
#[derive(Clone)]
struct AptlyEndpoint {
    name: String,
    bucket: String,
}

/// aptly with a configuration and a root of its own; every S3 endpoint it knows
/// is reached at one URL (moto's, or the proxy's while counting).
struct Aptly {
    root: PathBuf,
    config: PathBuf,
    gnupg: PathBuf,
    key: String,
    credentials: moto::Credentials,
    endpoints: Mutex<Vec<AptlyEndpoint>>,
}

impl Aptly {
    fn new(root: &Path, gnupg: &Path, key: &str, credentials: &moto::Credentials) -> Aptly {
        std::fs::create_dir_all(root).unwrap();
        Aptly {
            root: root.to_owned(),
            config: root.join("aptly.conf"),
            gnupg: gnupg.to_owned(),
            key: key.to_owned(),
            credentials: credentials.clone(),
            endpoints: Mutex::new(Vec::new()),
        }
    }

    /// A new bucket on moto, known to aptly as an endpoint of the same name
    /// (call [`Aptly::point_at`] to write the configuration).
    fn endpoint(&self, moto: &Moto, prefix: &str) -> AptlyEndpoint {
        let bucket = moto.create_bucket(prefix);
        let endpoint = AptlyEndpoint {
            name: bucket.clone(),
            bucket,
        };
        self.endpoints.lock().unwrap().push(endpoint.clone());
        endpoint
    }

    /// Writes the configuration with every endpoint at `url`. The keys are aptly
    /// 1.5's (see core/tests/support/aptly.rs); with `endpoint` set it makes
    /// path-style requests, as moto needs.
    fn point_at(&self, url: &str) {
        let endpoints: Vec<String> = self
            .endpoints
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "\"{}\": {{\"region\": \"{}\", \"bucket\": \"{}\", \"endpoint\": \"{url}\", \
                     \"awsAccessKeyID\": \"{}\", \"awsSecretAccessKey\": \"{}\", \"prefix\": \"\", \
                     \"acl\": \"public-read\", \"disableMultiDel\": false, \"forceSigV2\": false}}",
                    e.name,
                    moto::REGION,
                    e.bucket,
                    self.credentials.access_key_id,
                    self.credentials.secret_access_key,
                )
            })
            .collect();
        std::fs::write(
            &self.config,
            format!(
                "{{\"rootDir\": \"{}\", \"architectures\": [\"amd64\"], \"gpgProvider\": \"gpg\", \
                 \"S3PublishEndpoints\": {{{}}}}}\n",
                self.root.display(),
                endpoints.join(", ")
            ),
        )
        .unwrap();
    }

    fn aptly(&self, args: &[&str]) -> Command {
        let mut command = Command::new("aptly");
        command
            .arg(format!("-config={}", self.config.display()))
            .args(args)
            .env("GNUPGHOME", &self.gnupg)
            .env("LC_ALL", "C");
        command
    }

    /// A local repository named after `endpoint`, holding `debs`.
    fn create(&self, endpoint: &AptlyEndpoint, debs: &[PathBuf]) {
        run(&mut self.aptly(&[
            "repo",
            "create",
            &format!("-distribution={SUITE}"),
            &format!("-component={COMPONENT}"),
            &endpoint.name,
        ]));
        self.add_all(endpoint, debs);
    }

    fn add_all(&self, endpoint: &AptlyEndpoint, debs: &[PathBuf]) {
        for chunk in debs.chunks(2_000) {
            run(self.aptly(&["repo", "add", &endpoint.name]).args(chunk));
        }
    }

    /// `aptly publish repo` of the endpoint's repository to its bucket.
    fn publish(&self, endpoint: &AptlyEndpoint) {
        let key = format!("-gpg-key={}", self.key);
        let target = format!("s3:{}:.", endpoint.name);
        run(&mut self.aptly(&["publish", "repo", &key, "-batch", &endpoint.name, &target]));
    }

    /// `aptly repo add` of one package, timed.
    fn add(&self, endpoint: &AptlyEndpoint, deb: &Path) -> Duration {
        let started = Instant::now();
        run(self.aptly(&["repo", "add", &endpoint.name]).arg(deb));
        started.elapsed()
    }

    /// `aptly publish update` of the endpoint's suite, timed.
    fn update(&self, endpoint: &AptlyEndpoint, mode: AptlyMode) -> Duration {
        let key = format!("-gpg-key={}", self.key);
        let target = format!("s3:{}:.", endpoint.name);
        let mut command = self.aptly(&["publish", "update", &key, "-batch"]);
        command.args(mode.flags()).args([SUITE, &target]);
        let started = Instant::now();
        run(&mut command);
        started.elapsed()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The 1-, 5- and 15-minute load averages: how busy the shared machine was.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Median, minimum and maximum.
fn spread(times: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    (
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1],
    )
}

/// Prints the median [min .. max] of `times`, then every time in the order
/// measured (with `verbose`); returns the median.
fn row(what: &str, times: &[Duration], verbose: bool) -> Duration {
    let (median, min, max) = spread(times);
    println!(
        "  {what:<50} {:8.1} ms  [{:.1} .. {:.1}]",
        ms(median),
        ms(min),
        ms(max)
    );
    if verbose {
        let all: Vec<String> = times.iter().map(|t| format!("{:.0}", ms(*t))).collect();
        println!("  {:<50} rounds: {}", "", all.join(" "));
    }
    median
}

const METHODS: [&str; 5] = ["GET", "HEAD", "PUT", "POST", "DELETE"];

/// Requests per method, in [`METHODS`] order, then any other method by name.
fn methods(stats: &Stats) -> String {
    let mut out: Vec<String> = METHODS
        .iter()
        .map(|m| format!("{:>4}", stats.requests_of(m)))
        .collect();
    out.extend(
        stats
            .requests
            .iter()
            .filter(|(m, _)| !METHODS.contains(&m.as_str()))
            .map(|(m, n)| format!("{m} {n}")),
    );
    out.join(" ")
}

/// One line per suite size: requests per method, bytes, time.
fn counted_rows<'a>(who: &str, rows: impl Iterator<Item = (usize, &'a Stats, Duration)>) {
    println!(
        "  {who:<28} {:>6}  {:<24} {:>5} {:>11} {:>11} {:>11} {:>8}",
        "suite", "requests", "all", "sent", "body sent", "received", "time"
    );
    for (size, stats, time) in rows {
        println!(
            "  {:<28} {:>6}  {:<24} {:>5} {:>11} {:>11} {:>11} {:>5.0} ms",
            "",
            size,
            methods(stats),
            stats.total_requests(),
            stats.request_bytes,
            stats.request_body_bytes,
            stats.response_bytes,
            ms(time)
        );
    }
}

fn report(
    rounds: &[Round],
    fresh: &[Duration],
    waiting: &[Duration],
    counts: &[Counted],
    deb_size: u64,
) {
    let pick = |keep: &dyn Fn(&Round) -> bool,
                time: &dyn Fn(&Round) -> Duration|
     -> Vec<Duration> { rounds.iter().filter(|r| keep(r)).map(time).collect() };
    let of = |mode: AptlyMode| move |r: &Round| r.mode == mode;
    println!();
    println!(
        "one new .deb into a suite of {EXISTING} packages on S3 (one moto), median [min .. max]:"
    );
    println!(
        "interleaved, {ROUNDS} rounds: debpull alternately without and with the wait, aptly in turns of two"
    );
    println!(
        "with its defaults and lean ({}):",
        AptlyMode::Lean.flags().join(" ")
    );
    row("aptly repo add", &pick(&|_| true, &|r| r.add), false);
    let mut update = Vec::new();
    let mut both = Vec::new();
    for mode in [AptlyMode::Default, AptlyMode::Lean] {
        update.push(row(mode.describe(), &pick(&of(mode), &|r| r.update), true));
        both.push(row(
            &format!("aptly repo add + {}", &mode.describe()["aptly ".len()..]),
            &pick(&of(mode), &|r| r.add + r.update),
            false,
        ));
    }
    let ours_off = row(
        "debpull publish, wait off",
        &pick(&|r| !r.wait, &|r| r.ours),
        true,
    );
    let ours_on = row(
        "debpull publish, default (wait on, nothing to wait for)",
        &pick(&|r| r.wait, &|r| r.ours),
        true,
    );
    println!("back to back, {PAIRS} pairs (debpull only):");
    let fresh = row("debpull publish, new S3 client (wait off)", fresh, true);
    let waiting = row("debpull publish right after it (default)", waiting, true);

    println!();
    println!(
        "one publish through the counting proxy (bytes; requests per method: GET HEAD PUT POST DELETE):"
    );
    for i in 0..2 {
        counted_rows(
            &format!("debpull publish ({})", ["1st", "2nd"][i]),
            counts.iter().map(|c| (c.size, &c.ours[i].0, c.ours[i].1)),
        );
    }
    for i in 0..2 {
        counted_rows(
            counts[0].theirs[i].0.describe(),
            counts
                .iter()
                .map(|c| (c.size, &c.theirs[i].1, c.theirs[i].2)),
        );
    }
    let first = &counts[0].ours[0].0.requests;
    let constant = counts
        .iter()
        .all(|c| c.ours.iter().all(|(s, _)| &s.requests == first));
    println!(
        "  debpull's requests per method are {} in all {} publishes",
        if constant { "the same" } else { "NOT the same" },
        2 * counts.len()
    );

    println!();
    println!(
        "what debpull's first counted publish wrote (stored sizes, bytes; the .deb: {deb_size}):"
    );
    let mut kinds: Vec<String> = Vec::new();
    let mut table: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (i, c) in counts.iter().enumerate() {
        for (key, size) in &c.written {
            let kind = kind_of(key, *size, &c.written);
            if !kinds.contains(&kind) {
                kinds.push(kind.clone());
            }
            table.entry(kind).or_insert_with(|| vec![0; counts.len()])[i] += size;
        }
    }
    let line = |label: &str, cells: Vec<String>| {
        println!(
            "  {label:<44}{}",
            cells
                .iter()
                .map(|c| format!(" {c:>11}"))
                .collect::<String>()
        );
    };
    line("suite", counts.iter().map(|c| c.size.to_string()).collect());
    for kind in &kinds {
        line(kind, table[kind].iter().map(u64::to_string).collect());
    }
    let written: Vec<u64> = counts
        .iter()
        .map(|c| c.written.iter().map(|(_, s)| s).sum())
        .collect();
    line(
        "objects written, in all",
        written.iter().map(u64::to_string).collect(),
    );
    line(
        "request bodies sent",
        counts
            .iter()
            .map(|c| c.ours[0].0.request_body_bytes.to_string())
            .collect(),
    );
    line(
        "all bytes sent (heads + bodies)",
        counts
            .iter()
            .map(|c| c.ours[0].0.request_bytes.to_string())
            .collect(),
    );
    line(
        "sent / objects written",
        counts
            .iter()
            .zip(&written)
            .map(|(c, w)| format!("{:.3}", c.ours[0].0.request_bytes as f64 / *w as f64))
            .collect(),
    );

    let requests = |stats: &dyn Fn(&Counted) -> &Stats| {
        counts
            .iter()
            .map(|c| stats(c).total_requests().to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let sizes = SIZES.map(|s| s.to_string()).join(" / ");
    let big = counts.last().unwrap();
    println!();
    println!("summary (load average at the end: {}):", load());
    println!(
        "  {:<54} {:>12} {:>13} {:>7}",
        "", "debpull", "aptly", "ratio"
    );
    let timing = |what: &str, ours: Duration, theirs: Duration| {
        println!(
            "  {what:<54} {:>9.1} ms {:>10.1} ms {:>6.1}x",
            ms(ours),
            ms(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    };
    for (name, ours) in [("wait off", ours_off), ("default", ours_on)] {
        timing(
            &format!("1 .deb into 10,000, {name} vs publish update"),
            ours,
            update[0],
        );
        timing(
            &format!("1 .deb into 10,000, {name} vs lean publish update"),
            ours,
            update[1],
        );
        timing(
            &format!("1 .deb into 10,000, {name} vs repo add + update"),
            ours,
            both[0],
        );
    }
    timing(
        "back to back: new S3 client vs publish update",
        fresh,
        update[0],
    );
    timing(
        "back to back: default (waits) vs publish update",
        waiting,
        update[0],
    );
    println!(
        "  {:<54} {:>12} {:>13}",
        format!("requests at {sizes}"),
        requests(&|c| &c.ours[0].0),
        requests(&|c| &c.theirs[0].1)
    );
    println!(
        "  {:<54} {:>12} {:>13}",
        format!("requests at {sizes}, aptly lean"),
        "",
        requests(&|c| &c.theirs[1].1)
    );
    println!(
        "  {:<54} {:>12} {:>13}",
        format!("bytes sent at {}", big.size),
        big.ours[0].0.request_bytes,
        big.theirs[0].1.request_bytes
    );
}

/// What a written key is, for the table: its path under the suite, and for a
/// by-hash object the plain-path index written in the same publish with the same
/// size (its copy), since its name changes from one publish to the next.
fn kind_of(key: &str, size: u64, written: &[(String, u64)]) -> String {
    if key.starts_with("pool/") {
        return "pool/.../<new>.deb".to_owned();
    }
    let key = key.strip_prefix("dists/bench/").unwrap_or(key);
    if let Some((dir, rest)) = key.split_once("/by-hash/") {
        let algorithm = rest.split('/').next().unwrap_or("?");
        let copy_of = written
            .iter()
            .filter(|(k, s)| *s == size && !k.contains("/by-hash/"))
            .find_map(|(k, _)| k.rsplit_once('/').map(|(_, name)| name))
            .unwrap_or("?");
        return format!("{dir}/by-hash/{algorithm}/<{copy_of}>");
    }
    key.to_owned()
}
