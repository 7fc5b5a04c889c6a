//! Real versions from the Packages files `apt-get update` leaves in
//! /var/lib/apt/lists, and the pairs of them the benchmarks compare.

use std::collections::BTreeSet;
use std::process::Command;

use debpull::Version;

const LISTS: &str = "/var/lib/apt/lists";
const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// The distinct `Version:` values of all Packages files in /var/lib/apt/lists,
/// sorted as strings. Panics, saying to run `apt-get update`, when there are none.
pub fn real_versions() -> Vec<String> {
    let entries = std::fs::read_dir(LISTS)
        .unwrap_or_else(|e| panic!("{LISTS}: {e}; run `apt-get update` first"));
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with("_Packages") || name.contains("_Packages.")
        })
        .collect();
    files.sort();
    let mut versions = BTreeSet::new();
    for file in &files {
        // The lists are lz4-compressed; apt-helper reads every format apt writes.
        let out = Command::new(APT_HELPER)
            .arg("cat-file")
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("{APT_HELPER} cat-file {}: {e}", file.display()));
        assert!(
            out.status.success(),
            "{APT_HELPER} cat-file {} failed",
            file.display()
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(v) = line.strip_prefix("Version:") {
                versions.insert(v.trim().to_owned());
            }
        }
    }
    assert!(
        versions.len() > 1000,
        "only {} versions in the Packages files of {LISTS}: run `apt-get update` first",
        versions.len()
    );
    versions.into_iter().collect()
}

/// Index pairs of neighbours in dpkg's order of `versions`: the hard case, long
/// common prefixes (`2.36-9+deb12u3` against `2.36-9+deb12u4`).
pub fn sorted_neighbours(versions: &[Version]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..versions.len()).collect();
    order.sort_by(|&a, &b| versions[a].cmp(&versions[b]));
    order.windows(2).map(|w| (w[1], w[0])).collect()
}

/// The pairs of `pairs` whose strings share at least `min` leading bytes: the
/// comparisons a short summary cannot settle (`1:2.36.1-8+deb12u1` and `...u2`).
pub fn long_common_prefix(
    pairs: &[(usize, usize)],
    strings: &[String],
    min: usize,
) -> Vec<(usize, usize)> {
    pairs
        .iter()
        .copied()
        .filter(|&(a, b)| {
            let (a, b) = (strings[a].as_bytes(), strings[b].as_bytes());
            a.iter().zip(b).take_while(|(x, y)| x == y).count() >= min
        })
        .collect()
}

/// `n` pseudo-random index pairs below `len`, the same for the same `seed`.
pub fn random_pairs(n: usize, len: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut state = seed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % len as u64) as usize
    };
    (0..n).map(|_| (next(), next())).collect()
}
