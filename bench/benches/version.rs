//! `debpull::Version::cmp` against libdpkg's `dpkg_version_compare` on the same
//! pre-parsed pairs of real versions (from /var/lib/apt/lists), in one group.
//!
//! Before measuring, every pair is checked to compare the same way in both.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use debpull::Version;
use debpull_bench::data;
use debpull_bench::dpkg::DpkgVersion;

fn compare(c: &mut Criterion) {
    let strings = data::real_versions();
    let ours: Vec<Version> = strings
        .iter()
        .map(|s| Version::parse(s).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let theirs: Vec<DpkgVersion> = strings
        .iter()
        .map(|s| DpkgVersion::parse(s).unwrap_or_else(|| panic!("libdpkg rejects {s:?}")))
        .collect();

    let neighbours = data::sorted_neighbours(&ours);
    let sets = [
        ("random", data::random_pairs(100_000, ours.len(), 1)),
        ("sorted-neighbours", neighbours.clone()),
        (
            "long-common-prefix",
            data::long_common_prefix(&neighbours, &strings, 12),
        ),
    ];
    let mut group = c.benchmark_group("version_compare");
    for (name, pairs) in &sets {
        for &(a, b) in pairs {
            assert_eq!(
                ours[a].cmp(&ours[b]),
                theirs[a].ordering(&theirs[b]),
                "{} vs {}",
                strings[a],
                strings[b]
            );
        }
        eprintln!(
            "{name}: {} pairs of {} versions",
            pairs.len(),
            strings.len()
        );
        group.throughput(Throughput::Elements(pairs.len() as u64));
        group.bench_function(format!("debpull/{name}"), |bench| {
            bench.iter(|| {
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    sum += black_box(&ours[a]).cmp(black_box(&ours[b])) as i64;
                }
                sum
            })
        });
        group.bench_function(format!("libdpkg/{name}"), |bench| {
            bench.iter(|| {
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    sum += i64::from(
                        black_box(&theirs[a])
                            .compare(black_box(&theirs[b]))
                            .signum(),
                    );
                }
                sum
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
