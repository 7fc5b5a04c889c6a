//! The Builder takes its timestamp from SOURCE_DATE_EPOCH when none is given.
//! (Alone in its test binary: it changes the process environment.)

mod deb_common;

use std::process::Command;

use deb_common::*;
use debpull::ErrorKind;
use debpull::deb::Compression;

#[test]
fn source_date_epoch_sets_every_timestamp() {
    require("dpkg-deb", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let path = dir.path().join("epoch.deb");
    // SAFETY: this test binary has this one test, so no other thread reads the
    // environment while it changes.
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "1234567890") };
    let builder = sample_builder(&tree, "epoch", Compression::Gzip);
    // sample_builder sets an explicit mtime; a fresh builder without one uses the variable.
    let plain = debpull::deb::Builder::new(&tree)
        .field("Package", "epoch")
        .field("Version", "1")
        .field("Architecture", "all");
    plain.write_file(&path).unwrap();
    let listing = stdout(
        Command::new("dpkg-deb")
            .env("TZ", "UTC0")
            .arg("--contents")
            .arg(&path),
    );
    for line in listing.lines() {
        assert!(
            line.contains(" 2009-02-13 23:31 "),
            "not from SOURCE_DATE_EPOCH: {line}"
        );
    }
    assert_eq!(plain.build().unwrap(), plain.build().unwrap());
    // The explicit timestamp wins over the variable.
    let explicit = stdout(
        Command::new("dpkg-deb")
            .env("TZ", "UTC0")
            .arg("--contents")
            .arg({
                let p = dir.path().join("explicit.deb");
                builder.write_file(&p).unwrap();
                p
            }),
    );
    assert!(
        explicit.lines().all(|l| l.contains(" 2023-11-14 ")),
        "{explicit}"
    );
    // SAFETY: as above.
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "yesterday") };
    let err = plain.build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("SOURCE_DATE_EPOCH"), "{err}");
}
