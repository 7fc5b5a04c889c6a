//! Parsing Debian's main Packages index (≈50 MB, ≈63,000 stanzas), reading the
//! Package and Version of every stanza, against apt's own parser, in one group:
//!
//! - in memory: `debpull::control::paragraphs` against `pkgTagSection::Scan`;
//! - from the file: `debpull::control::Reader` against `pkgTagFile`.
//!
//! Before measuring, both sides must find the same stanzas and the same values.

use std::fs::File;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use debpull::control;
use debpull_bench::{apt, data};

/// Stanzas and total length of Package + Version, by `paragraphs` over `text`.
fn ours_in_memory(text: &str) -> (usize, usize) {
    let mut stanzas = 0;
    let mut value_bytes = 0;
    for paragraph in control::paragraphs(text) {
        let paragraph = paragraph.expect("Debian's Packages parse");
        value_bytes += paragraph.get("Package").map_or(0, str::len)
            + paragraph.get("Version").map_or(0, str::len);
        stanzas += 1;
    }
    (stanzas, value_bytes)
}

/// The same, by `Reader` streaming the file at `path`.
fn ours_from_file(path: &Path) -> (usize, usize) {
    let mut reader = control::Reader::new(File::open(path).expect("open Packages"));
    let mut stanzas = 0;
    let mut value_bytes = 0;
    while let Some(paragraph) = reader.next_paragraph() {
        let paragraph = paragraph.expect("Debian's Packages parse");
        value_bytes += paragraph.get("Package").map_or(0, str::len)
            + paragraph.get("Version").map_or(0, str::len);
        stanzas += 1;
    }
    (stanzas, value_bytes)
}

fn parse(c: &mut Criterion) {
    let (path, text) = data::debian_main_packages();
    let expected = apt::scan(&text);
    assert!(
        expected.0 > 50_000,
        "{expected:?}: is this Debian's main index?"
    );
    assert_eq!(ours_in_memory(&text), expected);
    assert_eq!(apt::tagfile(&path), expected);
    assert_eq!(ours_from_file(&path), expected);
    eprintln!(
        "{}: {} bytes, {} stanzas",
        path.display(),
        text.len(),
        expected.0
    );

    let mut group = c.benchmark_group("packages_parse");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(30);
    group.bench_function("debpull/paragraphs-in-memory", |b| {
        b.iter(|| ours_in_memory(black_box(&text)))
    });
    group.bench_function("apt/pkgTagSection-Scan-in-memory", |b| {
        b.iter(|| apt::scan(black_box(&text)))
    });
    group.bench_function("debpull/Reader-from-file", |b| {
        b.iter(|| ours_from_file(black_box(&path)))
    });
    group.bench_function("apt/pkgTagFile-from-file", |b| {
        b.iter(|| apt::tagfile(black_box(&path)))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
