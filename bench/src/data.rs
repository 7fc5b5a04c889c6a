//! Real versions from the Packages files `apt-get update` leaves in
//! /var/lib/apt/lists, and the pairs of them the benchmarks compare.

use std::collections::BTreeSet;
use std::path::PathBuf;

use debpull::Version;

/// The same reading of /var/lib/apt/lists as the core's tests.
#[path = "../../core/tests/support/apt_lists.rs"]
mod apt_lists;

/// The distinct `Version:` values of all Packages files in /var/lib/apt/lists,
/// sorted as strings. Panics, saying to run `apt-get update`, when there are none.
pub fn real_versions() -> Vec<String> {
    let distinct: BTreeSet<String> = apt_lists::real_versions().into_iter().collect();
    distinct.into_iter().collect()
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

/// Debian's main Packages index for amd64 (≈50 MB), decompressed into the
/// temporary directory: its path and text. Panics, saying to run `apt-get
/// update`, when it is missing.
pub fn debian_main_packages() -> (PathBuf, String) {
    let mut candidates: Vec<PathBuf> = apt_lists::packages_files()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.contains("debian_dists_") && name.contains("_main_binary-amd64_Packages")
        })
        .collect();
    // The largest is the release itself, not its updates.
    candidates.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let file = candidates.pop().unwrap_or_else(|| {
        panic!("no Debian main amd64 Packages in /var/lib/apt/lists: run `apt-get update` first")
    });
    let text = apt_lists::cat(&file);
    let path = std::env::temp_dir().join("debpull-bench-Packages");
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, text)
}
