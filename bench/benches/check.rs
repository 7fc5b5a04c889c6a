//! The every-minute update check: debpull's `Source::check` against
//! `apt-get update` (a private configuration) on the same repository, in one run;
//! and what each sends, counted by a proxy.
//!
//! Setup (not timed): the cached packages of `publish.rs` (`support/corpus.rs`),
//! `SUITE_SIZE` of them published by debpull into suite `bench` of a moto bucket
//! (public-read, so that apt reads it over plain HTTP), one counting proxy in
//! front of moto (`core/tests/support/fault_proxy.rs`, never given faults). apt
//! reads the bucket through the proxy (`deb [signed-by=…] http://proxy/bucket
//! bench main`); debpull through the proxy too, as `s3://` (aws-sdk-s3, signed
//! requests) and as `http://` (the bucket's URL, read-only). Both are warmed up
//! (one full update each) before anything is timed.
//!
//! Measured:
//! 0. back to back (no idle time between requests): each warm source's
//!    no-change check and, alone, the conditional GET it makes: the difference
//!    is the check's own work (state directory, lock, dpkg's status file);
//! 1. no change, interleaved rounds (the order rotating from round to round):
//!    `apt-get update` (a process, as cron runs it); debpull's check of one package on a warm `Source` (the S3 and HTTP
//!    sources), and on a new `Source` each time (a new S3 client: what a
//!    one-shot process pays, minus the process start). Every debpull check must
//!    be answered by one request and say the repository did not change.
//! 2. after a change (one new package published between rounds): the requests
//!    and time of debpull's check and of `apt-get update`.
//!
//! Run: `cargo bench -p debpull-bench --bench check` (needs apt and moto for
//! python3; about a minute).

use std::sync::Arc;
use std::time::{Duration, Instant};

use debpull::client::{Source, SourceOptions, SourceTrust};
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{self, GetOptions, GetResult, S3Storage, Storage};

#[allow(dead_code)]
#[path = "../../core/tests/support/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "support/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../../core/tests/support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "../../core/tests/support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "../../core/tests/support/private_apt.rs"]
mod private_apt;

use fault_proxy::{FaultProxy, Stats};
use moto::Moto;
use private_apt::PrivateApt;

/// Packages in the suite.
const SUITE_SIZE: usize = 1_000;
/// Interleaved no-change rounds.
const ROUNDS: usize = 40;
/// Back-to-back checks (and bare GETs) per source.
const BACK_TO_BACK: usize = 100;
/// Rounds with a change before each.
const CHANGES: usize = 5;
const SUITE: &str = "bench";
const COMPONENT: &str = "main";
/// The package checked.
const PACKAGE: &str = "pkg00042";

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("check: run with `cargo bench -p debpull-bench --bench check`");
        return;
    }
    let debs = corpus::packages(&corpus::cache_dir(), SUITE_SIZE, CHANGES);
    let (existing, new) = debs.split_at(SUITE_SIZE);
    let work = tempfile::tempdir().expect("a temporary directory");
    let work = work.path();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let key = SigningKey::generate("debpull bench <bench@example.org>", KeyKind::Ed25519).unwrap();
    let public = key.public_key_armored().unwrap();
    let key_file = work.join("key.asc");
    std::fs::write(&key_file, &public).unwrap();
    let trusted = TrustedKeys::from_bytes(public.as_bytes()).unwrap();

    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint(), 0);
    let bucket = moto.create_bucket("check");
    let s3 = |endpoint: &str| -> Arc<dyn Storage> {
        let mut options = backends::s3_options(&moto, &bucket, moto.credentials());
        options.endpoint = Some(endpoint.to_owned());
        options.acl = Some("public-read".to_owned());
        Arc::new(S3Storage::new(options).unwrap())
    };
    let options = RepositoryOptions {
        // debpull's client compares ETags; apt's If-Modified-Since needs the
        // wait, but the rounds are seconds apart anyway.
        wait_for_new_second: true,
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(s3(&moto.endpoint()), key, options).unwrap();
    println!("setup: {SUITE_SIZE} packages into suite {SUITE} on moto (not timed)...");
    runtime
        .block_on(repo.publish(SUITE, COMPONENT, existing, Replace::Never, &|_| {}))
        .unwrap();

    let bucket_url = format!("{}/{bucket}", proxy.endpoint());
    let apt = PrivateApt::new(
        &work.join("apt"),
        &format!(
            "deb [signed-by={}] {bucket_url} {SUITE} {COMPONENT}",
            key_file.display()
        ),
    );
    let source = |storage: Arc<dyn Storage>, state: &str| {
        let mut options =
            SourceOptions::new(SUITE, SourceTrust::Keys(trusted.clone()), work.join(state));
        options.architecture = Some("amd64".into());
        options.admin_dir = apt.dir.clone();
        Source::new(storage, options).unwrap()
    };
    let via_s3 = source(s3(&proxy.endpoint()), "state-s3");
    let via_http = source(storage::open(&bucket_url).unwrap(), "state-http");
    let fresh_state = "state-fresh";

    // Warm up: one full update each.
    apt.update().expect("apt-get update");
    for source in [&via_s3, &via_http] {
        let status = runtime.block_on(source.check(PACKAGE, None)).unwrap();
        assert!(status.candidate.is_some(), "{PACKAGE} in the suite");
    }
    runtime
        .block_on(source(s3(&proxy.endpoint()), fresh_state).check(PACKAGE, None))
        .unwrap();

    // Where the time of a check goes: back to back (no idle time between
    // requests), each check against the bare conditional GET it makes.
    let back_to_back = [&via_s3, &via_http].map(|source| {
        let bare = bare_conditional_get(&runtime, source);
        let checks = (0..BACK_TO_BACK)
            .map(|_| {
                let started = Instant::now();
                let status = runtime.block_on(source.check(PACKAGE, None)).unwrap();
                assert!(!status.repository_changed, "no publish happened");
                started.elapsed()
            })
            .collect::<Vec<_>>();
        (checks, bare)
    });

    println!("load average before the timed rounds: {}", load());
    let mut times = Times::default();
    // Each round measures the four in another order: whatever runs right after
    // apt-get (its helper processes exiting, cold caches) is not always the same.
    for round in 0..ROUNDS {
        for turn in 0..4 {
            proxy.reset_stats();
            let started = Instant::now();
            match (round + turn) % 4 {
                0 => {
                    apt.update().expect("apt-get update");
                    times.apt.push(started.elapsed());
                    times.apt_requests.push(proxy.stats());
                }
                which @ (1 | 2) => {
                    let source = if which == 1 { &via_s3 } else { &via_http };
                    let status = runtime.block_on(source.check(PACKAGE, None)).unwrap();
                    times.ours[which - 1].push(started.elapsed());
                    no_change(&status, &proxy.stats());
                }
                _ => {
                    let status = runtime
                        .block_on(source(s3(&proxy.endpoint()), fresh_state).check(PACKAGE, None))
                        .unwrap();
                    times.ours_fresh.push(started.elapsed());
                    no_change(&status, &proxy.stats());
                }
            }
        }
    }

    let mut changed = Vec::new();
    for deb in new {
        runtime
            .block_on(repo.publish(
                SUITE,
                COMPONENT,
                std::slice::from_ref(deb),
                Replace::Never,
                &|_| {},
            ))
            .unwrap();
        proxy.reset_stats();
        let started = Instant::now();
        let status = runtime.block_on(via_s3.check(PACKAGE, None)).unwrap();
        let ours = (started.elapsed(), proxy.stats());
        assert!(status.repository_changed, "the publish was seen");
        proxy.reset_stats();
        let started = Instant::now();
        apt.update().expect("apt-get update");
        changed.push((ours, (started.elapsed(), proxy.stats())));
    }
    // The HTTP source sees the last change too.
    let status = runtime.block_on(via_http.check(PACKAGE, None)).unwrap();
    assert!(
        status.repository_changed,
        "the HTTP source saw the publishes"
    );

    report(&times, &back_to_back, &changed);
}

/// `BACK_TO_BACK` times the conditional GET of InRelease a no-change check of
/// `source` makes (its ETag, the same size cap), straight to its storage.
fn bare_conditional_get(runtime: &tokio::runtime::Runtime, source: &Source) -> Vec<Duration> {
    let key = format!("dists/{SUITE}/InRelease");
    let storage = source.storage();
    let etag = match runtime.block_on(storage.get(&key, GetOptions::default())) {
        Ok(GetResult::Found { meta, .. }) => meta.etag,
        other => panic!("{key}: {other:?}"),
    };
    let options = GetOptions {
        if_none_match: Some(etag),
        max_size: Some(debpull::client::MAX_RELEASE_SIZE),
        ..GetOptions::default()
    };
    (0..BACK_TO_BACK)
        .map(|_| {
            let started = Instant::now();
            let answer = runtime.block_on(storage.get(&key, options.clone()));
            assert!(matches!(answer, Ok(GetResult::NotModified)), "{answer:?}");
            started.elapsed()
        })
        .collect()
}

/// Asserts a check found nothing new with one request.
fn no_change(status: &debpull::client::Status, stats: &Stats) {
    assert!(!status.repository_changed, "no publish happened");
    assert_eq!(
        stats.total_requests(),
        1,
        "a no-change check is one request: {stats:?}"
    );
}

#[derive(Default)]
struct Times {
    apt: Vec<Duration>,
    apt_requests: Vec<Stats>,
    /// Warm sources: S3, then HTTP.
    ours: [Vec<Duration>; 2],
    ours_fresh: Vec<Duration>,
}

/// A check or an update after a change: its time and what it sent.
type Measured = (Duration, Stats);

fn report(
    times: &Times,
    back_to_back: &[(Vec<Duration>, Vec<Duration>); 2],
    changed: &[(Measured, Measured)],
) {
    println!("load average after: {}", load());
    println!();
    println!(
        "back to back, {BACK_TO_BACK} each: a no-change check and the bare conditional GET it makes, median [min .. max]:"
    );
    for ((checks, bare), scheme) in back_to_back.iter().zip(["s3://", "http://"]) {
        let check = row(&format!("debpull check, warm Source, {scheme}"), checks);
        let get = row(&format!("its conditional GET alone, {scheme}"), bare);
        println!(
            "  {:<50} {:8.2} ms",
            "the check's own work (the difference)",
            ms(check.saturating_sub(get))
        );
    }
    println!();
    println!("no-change check, {ROUNDS} interleaved rounds, median [min .. max]:");
    let apt = row("apt-get update (private configuration)", &times.apt);
    let rows = [
        ("debpull check, warm Source, s3://", &times.ours[0]),
        ("debpull check, warm Source, http://", &times.ours[1]),
        (
            "debpull check, new Source each time, s3://",
            &times.ours_fresh,
        ),
    ];
    let medians: Vec<Duration> = rows.iter().map(|(what, t)| row(what, t)).collect();
    let apt_requests: Vec<u64> = times
        .apt_requests
        .iter()
        .map(|s| s.total_requests())
        .collect();
    println!(
        "  requests per check: debpull 1 (asserted); apt-get update {}..{}",
        apt_requests.iter().min().unwrap(),
        apt_requests.iter().max().unwrap()
    );
    for ((what, _), median) in rows.iter().zip(&medians) {
        println!(
            "  ratio apt-get update / {what}: {:.1}x",
            apt.as_secs_f64() / median.as_secs_f64()
        );
    }
    println!();
    println!("after a change (one new package published before each), per round:");
    println!(
        "  {:<10} {:>10} {:>9} {:>12} {:>10} {:>9} {:>12}",
        "", "debpull", "requests", "received", "apt-get", "requests", "received"
    );
    for (i, ((ours, ours_stats), (theirs, theirs_stats))) in changed.iter().enumerate() {
        println!(
            "  change {:<3} {:>7.1} ms {:>9} {:>12} {:>7.1} ms {:>9} {:>12}",
            i + 1,
            ms(*ours),
            ours_stats.total_requests(),
            ours_stats.response_bytes,
            ms(*theirs),
            theirs_stats.total_requests(),
            theirs_stats.response_bytes
        );
        assert!(
            ours_stats.total_requests() <= 3,
            "a check after a change costs at most 3 requests: {ours_stats:?}"
        );
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

/// Prints the median [min .. max] of `times`; returns the median.
fn row(what: &str, times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    println!(
        "  {what:<50} {:8.2} ms  [{:.2} .. {:.2}]",
        ms(median),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    );
    median
}
