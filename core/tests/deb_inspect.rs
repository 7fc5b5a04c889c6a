//! The reader on bad input: every malformed `.deb` gets a typed error naming the
//! member, file, field or line at fault, and no input makes it panic.

mod deb_common;

use std::fs;
use std::io::Write;
use std::process::Command;

use deb_common::*;
use debpull::ErrorKind;
use debpull::checksum::{Algorithm, Algorithms};
use debpull::deb::{self, Compression, InspectOptions, Limits};

fn inspect_bytes(bytes: &[u8]) -> debpull::Result<deb::DebInfo> {
    deb::read_deb(bytes, Some(bytes.len() as u64), &InspectOptions::default())
}

/// Asserts `bytes` are refused with `kind` and a message containing every needle.
#[track_caller]
fn refused(bytes: &[u8], kind: ErrorKind, needles: &[&str]) {
    let err = inspect_bytes(bytes).expect_err("accepted a bad .deb");
    assert_eq!(err.kind(), kind, "{err}");
    for needle in needles {
        assert!(
            err.to_string().contains(needle),
            "{err:?} does not mention {needle:?}"
        );
    }
}

fn data() -> Vec<u8> {
    gzip(&raw_tar(&[TarEntry::dir("./")]))
}

fn control_gz() -> Vec<u8> {
    gzip(&raw_tar(&[
        TarEntry::dir("./"),
        TarEntry::file("./control", CONTROL.as_bytes()),
    ]))
}

#[test]
fn hand_assembled_deb_is_read() {
    let bytes = deb_with_control(CONTROL.as_bytes());
    let found = inspect_bytes(&bytes).unwrap();
    assert_eq!(found.control, CONTROL);
    assert_eq!(found.control_members, ["control"]);
    assert_eq!(found.control_compression, Compression::Gzip);
    assert_eq!(found.data_member, "data.tar.gz");
}

#[test]
fn checksums_match_the_coreutils_tools() {
    require("sha256sum", "coreutils");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.deb");
    fs::write(&path, deb_with_control(CONTROL.as_bytes())).unwrap();
    let options = InspectOptions {
        algorithms: Algorithms::ALL,
        ..Default::default()
    };
    let found = deb::inspect_file(&path, &options).unwrap();
    for (tool, algorithm) in [
        ("md5sum", Algorithm::Md5),
        ("sha1sum", Algorithm::Sha1),
        ("sha256sum", Algorithm::Sha256),
        ("sha512sum", Algorithm::Sha512),
    ] {
        let out = stdout(Command::new(tool).arg(&path));
        assert_eq!(
            found.checksums.hex(algorithm).unwrap(),
            out.split(' ').next().unwrap()
        );
    }
    let default = deb::inspect_file(&path, &InspectOptions::default()).unwrap();
    assert_eq!(default.checksums.algorithms(), Algorithms::DEFAULT);
}

#[test]
fn members_in_dpkg_order_only() {
    let control = control_gz();
    let data = data();
    let deb = |members: &[(&str, &[u8])]| ar(members);
    // `_` members are allowed between the others and after data.
    let ok = deb(&[
        ("debian-binary", b"2.0\n"),
        ("_extra", b"x"),
        ("control.tar.gz", &control),
        ("_sig", b"abc"),
        ("data.tar.gz", &data),
        ("_trailer", b""),
    ]);
    inspect_bytes(&ok).unwrap();
    // GNU ar's trailing slash on names.
    inspect_bytes(&deb(&[
        ("debian-binary/", b"2.0\n"),
        ("control.tar.gz/", &control),
        ("data.tar.gz/", &data),
    ]))
    .unwrap();
    // Future minor format versions are fine, as for dpkg.
    inspect_bytes(&deb(&[
        ("debian-binary", b"2.1\n"),
        ("control.tar.gz", &control),
        ("data.tar.gz", &data),
    ]))
    .unwrap();

    let parse = ErrorKind::Parse;
    let cases: Vec<(Vec<u8>, ErrorKind, &[&str])> = vec![
        (
            deb(&[
                ("control.tar.gz", &control),
                ("debian-binary", b"2.0\n"),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["control.tar.gz", "debian-binary"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("data.tar.gz", &data),
                ("control.tar.gz", &control),
            ]),
            parse,
            &["data.tar.gz", "control.tar"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", &control),
                ("control.tar.gz", &control),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["second control"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", &control),
                ("data.tar.gz", &data),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["after data.tar"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", &control),
                ("extra", b"x"),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["extra"],
        ),
        (
            deb(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &control)]),
            parse,
            &["no data.tar"],
        ),
        (
            deb(&[("debian-binary", b"2.0\n")]),
            parse,
            &["no control.tar"],
        ),
        (b"!<arch>\n".to_vec(), parse, &["no members"]),
        (
            deb(&[
                ("debian-binary", b"3.0\n"),
                ("control.tar.gz", &control),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["debian-binary", "2.x"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0"),
                ("control.tar.gz", &control),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["debian-binary"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.bz2", &control),
                ("data.tar.gz", &data),
            ]),
            ErrorKind::Unsupported,
            &["control.tar.bz2", "compression"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", &control),
                ("data.tar.rar", &data),
            ]),
            ErrorKind::Unsupported,
            &["data.tar.rar"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", b""),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["control.tar.gz", "empty"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", &control),
                ("data.tar.gz", b""),
            ]),
            parse,
            &["data.tar.gz", "empty"],
        ),
        (
            deb(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar.xz", &control),
                ("data.tar.gz", &data),
            ]),
            parse,
            &["control.tar.xz"],
        ),
    ];
    for (bytes, kind, needles) in cases {
        refused(&bytes, kind, needles);
    }
}

#[test]
fn magic_headers_and_padding_are_checked() {
    let good = deb_with_control(CONTROL.as_bytes());
    refused(b"", ErrorKind::Parse, &["truncated", "magic"]);
    refused(
        b"PK\x03\x04 not a deb at all",
        ErrorKind::Parse,
        &["ar magic"],
    );
    refused(b"0.939000\n", ErrorKind::Unsupported, &["0.93"]);
    let mut bad = good.clone();
    bad[8 + 58] = b'x'; // header terminator of debian-binary
    refused(&bad, ErrorKind::Parse, &["byte 8", "header magic"]);
    let mut bad = good.clone();
    bad[8 + 48] = b'z'; // size of debian-binary
    refused(&bad, ErrorKind::Parse, &["debian-binary", "size"]);
    // A member of odd size is followed by a newline, nothing else.
    let mut bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("_odd", b"abc"),
        ("control.tar.gz", &control_gz()),
        ("data.tar.gz", &data()),
    ]);
    let pad = 8 + 60 + 4 + 60 + 3;
    assert_eq!(bytes[pad], b'\n');
    inspect_bytes(&bytes).unwrap();
    bytes[pad] = 0;
    refused(&bytes, ErrorKind::Parse, &["_odd", "padding"]);
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    for compression in Compression::ALL {
        let bytes = sample_builder(&tree, "cut", compression).build().unwrap();
        inspect_bytes(&bytes).unwrap();
        for len in (0..bytes.len()).step_by(usize::max(1, bytes.len() / 3000)) {
            let cut = &bytes[..len];
            // Known length (a file) and unknown length (a stream): both must notice.
            for known in [Some(len as u64), None] {
                let err = deb::read_deb(cut, known, &InspectOptions::default())
                    .expect_err("accepted a truncated .deb");
                assert_eq!(err.kind(), ErrorKind::Parse, "cut at {len}: {err}");
                let msg = err.to_string();
                // Inside a compressed member the decoder may see corruption
                // before the end; either way the member is named.
                assert!(
                    msg.contains("truncated") || msg.contains("member control.tar"),
                    "cut at {len}: {msg}"
                );
            }
        }
    }
    // A file error names the file.
    let path = dir.path().join("cut.deb");
    let bytes = sample_builder(&tree, "cut", Compression::Xz)
        .build()
        .unwrap();
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = deb::inspect_file(&path, &InspectOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: ", path.display())),
        "{err}"
    );
    assert!(err.to_string().contains("data.tar.xz"), "{err}");
}

#[test]
fn control_paths_must_stay_inside_the_archive() {
    let control = CONTROL.as_bytes();
    let cases: Vec<(Vec<TarEntry>, &[&str])> = vec![
        (
            vec![TarEntry::file("../control", control)],
            &["../control", "escapes"],
        ),
        (
            vec![TarEntry::file("/control", control)],
            &["/control", "absolute"],
        ),
        (
            vec![
                TarEntry::file("./control", control),
                TarEntry::file("./a/../../postinst", b"x"),
            ],
            &["postinst", "escapes"],
        ),
        (
            vec![
                TarEntry::file("./control", control),
                TarEntry::symlink("./postinst", "../../bin/sh"),
            ],
            &["./postinst", "escapes"],
        ),
        (
            vec![
                TarEntry::file("./control", control),
                TarEntry::symlink("./postinst", "/bin/sh"),
            ],
            &["./postinst", "escapes"],
        ),
        (
            vec![
                TarEntry::file("./control", control),
                TarEntry {
                    name: "./dev",
                    kind: b'3',
                    data: b"",
                    link: "",
                },
            ],
            &["./dev", "entry type"],
        ),
        (
            vec![
                TarEntry::file("./control", control),
                TarEntry::file("./control", control),
            ],
            &["second control"],
        ),
        (vec![TarEntry::file("./md5sums", b"")], &["no ./control"]),
    ];
    for (entries, needles) in cases {
        let bytes = deb_with_control_tar("control.tar.gz", &gzip(&raw_tar(&entries)));
        let mut all = vec!["control.tar.gz"];
        all.extend_from_slice(needles);
        refused(&bytes, ErrorKind::Parse, &all);
    }
    // A link inside the root is fine, and plain `control` (no `./`) too.
    let entries = [
        TarEntry::file("control", control),
        TarEntry::symlink("./postrm", "postinst"),
        TarEntry::file("./postinst", b"#!/bin/sh\n"),
    ];
    let found = inspect_bytes(&deb_with_control_tar("control.tar", &raw_tar(&entries))).unwrap();
    assert_eq!(found.control_members, ["control", "postinst"]);
    assert_eq!(found.control_compression, Compression::None);
}

#[test]
fn compression_bombs_and_huge_members_hit_the_limits() {
    let limits = Limits::default();
    // A control file just over its cap.
    let big = vec![b'a'; limits.control_file_size + 1];
    let mut text = CONTROL.as_bytes().to_vec();
    text.extend_from_slice(b"X-Big: ");
    text.extend_from_slice(&big);
    refused(
        &deb_with_control(&text),
        ErrorKind::LimitExceeded,
        &["control.tar.gz", "./control", "bytes"],
    );
    // A field over its cap (the file within its own).
    let mut text = CONTROL.as_bytes().to_vec();
    text.extend_from_slice(b"X-Long: ");
    text.extend_from_slice(&vec![b'b'; limits.field_size + 1]);
    refused(
        &deb_with_control(&text),
        ErrorKind::LimitExceeded,
        &["./control", "line 6", "X-Long"],
    );
    // 300 MiB of zeros after the control file: a bomb of a few hundred KiB.
    let mut tar = raw_tar(&[TarEntry::file("./control", CONTROL.as_bytes())]);
    tar.truncate(tar.len() - 1024);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&tar).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..300 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    refused(
        &deb_with_control_tar("control.tar.gz", &bomb),
        ErrorKind::LimitExceeded,
        &["control.tar.gz", "unpacks to more than"],
    );
    // Too many entries.
    let names: Vec<String> = (0..=limits.control_entries)
        .map(|i| format!("./f{i}"))
        .collect();
    let mut entries = vec![TarEntry::file("./control", CONTROL.as_bytes())];
    entries.extend(names.iter().map(|n| TarEntry::file(n, b"")));
    refused(
        &deb_with_control_tar("control.tar.gz", &gzip(&raw_tar(&entries))),
        ErrorKind::LimitExceeded,
        &["control.tar.gz", "entries"],
    );
    // A compressed member over its cap is refused before it is read.
    let small = Limits {
        control_tar_size: 100,
        ..Limits::default()
    };
    let options = InspectOptions {
        limits: small,
        ..Default::default()
    };
    let bytes = deb_with_control(CONTROL.as_bytes());
    let err = deb::read_deb(&bytes[..], None, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("control.tar.gz"), "{err}");
}

#[test]
fn decoders_may_not_allocate_more_than_allowed() {
    let tar = raw_tar(&[
        TarEntry::dir("./"),
        TarEntry::file("./control", CONTROL.as_bytes()),
    ]);
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 9); // a 64 MiB dictionary
    xz.write_all(&tar).unwrap();
    let xz = xz.finish().unwrap();
    // Streamed (no content size), so the frame declares its 128 MiB window.
    let mut zst = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    zst.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27))
        .unwrap();
    zst.write_all(&tar).unwrap();
    let zst = zst.finish().unwrap();
    let tight = InspectOptions {
        limits: Limits {
            decoder_memory: 1 << 20,
            ..Limits::default()
        },
        ..Default::default()
    };
    let bytes = deb_with_control_tar("control.tar.xz", &xz);
    inspect_bytes(&bytes).unwrap();
    let err = deb::read_deb(&bytes[..], None, &tight).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("control.tar.xz"), "{err}");
    assert!(err.to_string().contains("memory"), "{err}");
    let bytes = deb_with_control_tar("control.tar.zst", &zst);
    inspect_bytes(&bytes).unwrap();
    let err = deb::read_deb(&bytes[..], None, &tight).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("control.tar.zst"), "{err}");
}

#[test]
fn control_text_must_be_utf8() {
    let mut text = CONTROL.as_bytes().to_vec();
    text.extend_from_slice(b"X-Latin1: caf\xe9\n");
    refused(
        &deb_with_control(&text),
        ErrorKind::Parse,
        &["control.tar.gz", "./control", "line 6", "UTF-8"],
    );
}

#[test]
fn no_mutation_makes_it_panic() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for compression in Compression::ALL {
        let good = sample_builder(&tree, "fuzz", compression).build().unwrap();
        // Mutations concentrate on the headers and the control archive, where the parsing is.
        let hot = 8 + 60 + 4 + 60 + 600;
        for round in 0..400 {
            let mut bytes = good.clone();
            let flips = 1 + next() % 4;
            for _ in 0..flips {
                let range = if round % 4 == 0 {
                    bytes.len()
                } else {
                    hot.min(bytes.len())
                };
                let at = (next() % range as u64) as usize;
                bytes[at] = match next() % 3 {
                    0 => bytes[at] ^ (1 << (next() % 8)),
                    1 => b"0123456789 /\n`"[(next() % 14) as usize],
                    _ => next() as u8,
                };
            }
            if inspect_bytes(&bytes).is_err() {
                refused += 1;
            }
        }
    }
    // Most mutations hit something that is checked.
    assert!(
        refused > 800,
        "only {refused} of 1600 mutated .debs were refused"
    );
}

#[test]
fn inspect_files_keeps_input_order_and_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let mut paths = Vec::new();
    for i in 0..9 {
        let path = dir.path().join(format!("p{i}.deb"));
        if i % 3 == 2 {
            fs::write(&path, b"garbage").unwrap();
        } else {
            let name = format!("pkg{i}");
            let builder = if i % 2 == 0 {
                sample_builder(&tree, &name, Compression::Gzip)
            } else {
                deb::Builder::new(dir.path().join("tree/etc"))
                    .field("Package", &name)
                    .field("Version", "1")
                    .field("Architecture", "all")
            };
            builder.write_file(&path).unwrap();
        }
        paths.push(path);
    }
    paths.push(dir.path().join("missing.deb"));
    let results = deb::inspect_files(&paths, &InspectOptions::default());
    assert_eq!(results.len(), paths.len());
    for (i, (path, result)) in paths.iter().zip(&results).enumerate() {
        match result {
            Ok(found) => {
                assert!(i % 3 != 2 && i < 9, "{} accepted", path.display());
                assert!(
                    found.control.starts_with(&format!("Package: pkg{i}\n")),
                    "{}",
                    found.control
                );
                assert_eq!(
                    found,
                    &deb::inspect_file(path, &InspectOptions::default()).unwrap()
                );
            }
            Err(err) => {
                assert!(i % 3 == 2 || i == 9, "{}: {err}", path.display());
                assert!(
                    err.to_string().contains(&path.display().to_string()),
                    "{err}"
                );
                let kind = if i == 9 {
                    ErrorKind::Io
                } else {
                    ErrorKind::Parse
                };
                assert_eq!(err.kind(), kind);
            }
        }
    }
}

#[test]
fn control_fields_are_checked_by_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fields.deb");
    let cases: &[(&str, ErrorKind, &[&str])] = &[
        (
            "Version: 1.0\nArchitecture: all\n",
            ErrorKind::Parse,
            &["missing field Package"],
        ),
        (
            "Package: pp\nArchitecture: all\n",
            ErrorKind::Parse,
            &["missing field Version"],
        ),
        (
            "Package: pp\nVersion: 1.0\n",
            ErrorKind::Parse,
            &["missing field Architecture"],
        ),
        (
            "Package: pp\nVersion: 1.0:x\nArchitecture: all\n",
            ErrorKind::InvalidVersion,
            &["Version", "1.0:x"],
        ),
        (
            "Package: pp\nVersion: a1\nArchitecture: all\n",
            ErrorKind::InvalidVersion,
            &["Version"],
        ),
        (
            "Package: pp\nVersion: 1\nArchitecture: all\nbroken line\n",
            ErrorKind::Parse,
            &["line 4"],
        ),
        (
            "Package: pp\nVersion: 1\nArchitecture: all\n\nPackage: qq\n",
            ErrorKind::Parse,
            &["line 5", "second paragraph"],
        ),
        (
            "Package: pp\nVersion: 1\nPackage: pp\nArchitecture: all\n",
            ErrorKind::Parse,
            &["line 3", "duplicate"],
        ),
        ("", ErrorKind::Parse, &["empty control file"]),
    ];
    for (control, kind, needles) in cases {
        fs::write(&path, deb_with_control(control.as_bytes())).unwrap();
        let err = deb::inspect(&path).expect_err(control);
        assert_eq!(err.kind(), *kind, "{err}");
        let msg = err.to_string();
        for needle in [
            path.display().to_string().as_str(),
            "control.tar.gz",
            "./control",
        ]
        .iter()
        .chain(needles.iter())
        {
            assert!(msg.contains(needle), "{msg:?} does not mention {needle:?}");
        }
    }
    fs::write(&path, deb_with_control(CONTROL.as_bytes())).unwrap();
    let package = deb::inspect(&path).unwrap();
    assert_eq!(
        (
            package.name(),
            package.version().as_str(),
            package.architecture()
        ),
        ("raw", "1.0", "all")
    );
    assert_eq!(package.size(), fs::metadata(&path).unwrap().len());
}

#[test]
fn overlong_entry_names_are_refused() {
    // A GNU long-name entry (`L`) names the next entry: here 10,000 bytes.
    let long = format!("./{}\0", "n".repeat(9_998));
    let tar = raw_tar(&[
        TarEntry::file("./control", CONTROL.as_bytes()),
        TarEntry {
            name: "././@LongLink",
            kind: b'L',
            data: long.as_bytes(),
            link: "",
        },
        TarEntry::file("placeholder", b"x"),
    ]);
    refused(
        &deb_with_control_tar("control.tar.gz", &gzip(&tar)),
        ErrorKind::Parse,
        &["control.tar.gz", "entry name of 10000 bytes"],
    );
}
