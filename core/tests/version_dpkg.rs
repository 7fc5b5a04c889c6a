//! Differential tests of `debpull::Version` against libdpkg itself: validity,
//! parts and error reasons of `parseversion`, the sign of `dpkg_version_compare`,
//! `dpkg_version_relate`, over every version in Debian's real Packages files and
//! over generated tricky strings. Equal versions must hash equally.
//!
//! Needs: build-essential, pkg-config, libdpkg-dev, and Packages files from
//! `apt-get update` in /var/lib/apt/lists.

#[path = "support/apt_lists.rs"]
mod apt_lists;
#[path = "support/dpkg_oracle.rs"]
mod dpkg_oracle;
#[path = "support/tricky_versions.rs"]
mod tricky_versions;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use debpull::{Relation, Version};
use dpkg_oracle::{Parsed, oracle};
use tricky_versions::Rng;

/// How many disagreements a failing test lists.
const SHOW: usize = 25;

/// The distinct version strings of the real Packages files, in a fixed order.
fn real_versions() -> &'static [String] {
    static REAL: OnceLock<Vec<String>> = OnceLock::new();
    REAL.get_or_init(|| {
        let unique: BTreeSet<String> = apt_lists::real_versions().into_iter().collect();
        unique.into_iter().collect()
    })
}

/// Generated strings: unstructured, structured, and mutations of real versions.
fn tricky_strings() -> &'static [String] {
    static TRICKY: OnceLock<Vec<String>> = OnceLock::new();
    TRICKY.get_or_init(|| {
        let mut rng = Rng(0x5eed);
        let mut all = tricky_versions::unstructured(&mut rng, 60_000);
        all.extend(tricky_versions::structured(&mut rng, 100_000));
        let real = real_versions();
        for _ in 0..100_000 {
            let base = &real[rng.below(real.len())];
            all.push(tricky_versions::mutate(&mut rng, base));
        }
        let unique: BTreeSet<String> = all.into_iter().collect();
        unique.into_iter().collect()
    })
}

fn hash_of(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn fail_if_any(what: &str, checked: usize, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} of {checked} {what} disagree with dpkg, e.g.:\n{}",
        failures.len(),
        failures[..failures.len().min(SHOW)].join("\n")
    );
    eprintln!("{checked} {what} agree with dpkg");
}

/// Checks validity, parts and reasons of every string against `parseversion`.
fn check_parsing(what: &str, strings: &[String]) {
    let dpkg = oracle().parse_all(strings);
    let mut failures = Vec::new();
    let mut rejected = 0;
    for (s, theirs) in strings.iter().zip(&dpkg) {
        match (Version::parse(s), theirs) {
            (
                Ok(v),
                Parsed::Ok {
                    epoch,
                    upstream,
                    revision,
                },
            ) => {
                let ours = (v.epoch(), v.upstream(), v.revision().unwrap_or(""));
                if ours != (*epoch, upstream.as_str(), revision.as_str()) {
                    failures.push(format!("{s:?}: parts {ours:?}, dpkg {theirs:?}"));
                }
                if v.as_str() != s.trim_matches([' ', '\t']) {
                    failures.push(format!("{s:?}: as_str {:?}", v.as_str()));
                }
            }
            (Err(e), Parsed::Bad { message, .. }) => {
                rejected += 1;
                let want = format!("version '{}' has bad syntax: {message}", s.escape_debug());
                if e.message() != want || e.kind() != debpull::ErrorKind::InvalidVersion {
                    failures.push(format!("{s:?}: error {e:?}, dpkg {message:?}"));
                }
            }
            (ours, theirs) => failures.push(format!("{s:?}: ours {ours:?}, dpkg {theirs:?}")),
        }
    }
    eprintln!("{what}: {} strings, {rejected} rejected", strings.len());
    fail_if_any(what, strings.len(), &failures);
}

/// Checks the sign of every comparison against `dpkg_version_compare`, and that
/// versions dpkg calls equal are equal and hash alike here.
fn check_comparisons(what: &str, pairs: &[(String, String)]) -> usize {
    let dpkg = oracle().compare_all(pairs);
    let mut failures = Vec::new();
    let mut equal = 0;
    for ((a, b), theirs) in pairs.iter().zip(dpkg) {
        let (va, vb) = (Version::parse(a), Version::parse(b));
        let (Ok(va), Ok(vb)) = (va, vb) else {
            failures.push(format!("{a:?} vs {b:?}: not both valid here"));
            continue;
        };
        let ours = va.cmp(&vb);
        if ours != theirs {
            failures.push(format!("{a:?} vs {b:?}: ours {ours:?}, dpkg {theirs:?}"));
        }
        if (va == vb) != (theirs == Ordering::Equal) {
            failures.push(format!("{a:?} == {b:?} is {}", va == vb));
        }
        if theirs == Ordering::Equal {
            equal += 1;
            if hash_of(&va) != hash_of(&vb) {
                failures.push(format!("{a:?} and {b:?} are equal but hash differently"));
            }
        }
    }
    eprintln!("{what}: {} pairs, {equal} equal", pairs.len());
    fail_if_any(what, pairs.len(), &failures);
    equal
}

/// Neighbours in our sorted order, then `random` pseudo-random pairs.
fn sorted_and_random_pairs(
    versions: &[Version],
    random: usize,
    seed: u64,
) -> Vec<(String, String)> {
    let mut sorted = versions.to_vec();
    sorted.sort();
    let mut pairs: Vec<(String, String)> = sorted
        .windows(2)
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect();
    let mut rng = Rng(seed);
    for _ in 0..random {
        let a = &versions[rng.below(versions.len())];
        let b = &versions[rng.below(versions.len())];
        pairs.push((a.to_string(), b.to_string()));
    }
    pairs
}

fn valid(strings: &[String]) -> Vec<Version> {
    strings
        .iter()
        .filter_map(|s| Version::parse(s).ok())
        .collect()
}

#[test]
fn real_versions_parse_as_dpkg_parses() {
    check_parsing("real versions", real_versions());
}

#[test]
fn tricky_strings_parse_as_dpkg_parses() {
    check_parsing("tricky strings", tricky_strings());
}

#[test]
fn real_versions_compare_as_dpkg_compares() {
    let versions = valid(real_versions());
    let pairs = sorted_and_random_pairs(&versions, 1_000_000, 1);
    check_comparisons("real version pairs", &pairs);
}

#[test]
fn tricky_versions_compare_as_dpkg_compares() {
    let versions = valid(tricky_strings());
    let mut pairs = sorted_and_random_pairs(&versions, 300_000, 2);
    // Pairs sharing a long prefix: a version and a small edit of it.
    let mut rng = Rng(3);
    let real = real_versions();
    while pairs.len() < 700_000 {
        let a = &real[rng.below(real.len())];
        let b = tricky_versions::mutate(&mut rng, a);
        if Version::parse(a).is_ok() && Version::parse(&b).is_ok() {
            pairs.push((a.clone(), b));
        }
    }
    check_comparisons("tricky version pairs", &pairs);
}

#[test]
fn respelled_versions_are_equal_and_hash_alike() {
    let mut rng = Rng(4);
    let mut pairs = Vec::new();
    for v in valid(real_versions())
        .iter()
        .chain(&valid(tricky_strings()))
    {
        let other = tricky_versions::respell(&mut rng, v.as_str());
        if Version::parse(&other).is_ok() {
            pairs.push((v.to_string(), other));
        }
    }
    let equal = check_comparisons("respelled versions", &pairs);
    assert!(
        equal * 10 >= pairs.len() * 9,
        "only {equal} of {} respellings are equal for dpkg: the generator is off",
        pairs.len()
    );
}

#[test]
fn relations_hold_as_dpkg_relates() {
    let versions = valid(real_versions());
    let mut rng = Rng(5);
    let mut triples = Vec::new();
    for _ in 0..20_000 {
        let a = &versions[rng.below(versions.len())];
        // Often a close neighbour or the version itself, so every relation is tried both ways.
        let b = match rng.below(3) {
            0 => a,
            _ => &versions[rng.below(versions.len())],
        };
        for rel in Relation::ALL {
            triples.push((a.to_string(), rel.as_str(), b.to_string()));
        }
    }
    let dpkg = oracle().relate_all(&triples);
    let mut failures = Vec::new();
    for ((a, rel, b), theirs) in triples.iter().zip(dpkg) {
        let rel: Relation = rel.parse().expect("relation");
        let (a, b) = (
            Version::parse(a).expect("valid"),
            Version::parse(b).expect("valid"),
        );
        if rel.holds(&a, &b) != theirs || a.satisfies(rel, &b) != theirs {
            failures.push(format!("{a} {rel} {b}: dpkg says {theirs}"));
        }
    }
    fail_if_any("relations", triples.len(), &failures);
}
