//! The writer: reproducible bytes, and dpkg-deb and dpkg accept what it writes.

mod deb_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use deb_common::*;
use debpull::ErrorKind;
use debpull::checksum::{self, Algorithms};
use debpull::deb::{self, Builder, Compression, InspectOptions};

#[test]
fn same_tree_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let first = sample_builder(&tree, "hello", Compression::Xz)
        .build()
        .unwrap();
    // Touch everything: file times must not leak into the archive.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    for entry in ["usr/bin/hello", "usr/share/hello/data.bin", "etc/hello"] {
        let f = fs::File::options()
            .write(true)
            .open(tree.join(entry))
            .or_else(|_| fs::File::open(tree.join(entry)))
            .unwrap();
        f.set_modified(later).unwrap();
    }
    let second = sample_builder(&tree, "hello", Compression::Xz)
        .build()
        .unwrap();
    assert!(first == second, "two builds of the same tree differ");
    let other_time = sample_builder(&tree, "hello", Compression::Xz)
        .mtime(1_600_000_000)
        .build()
        .unwrap();
    assert!(
        first != other_time,
        "the timestamp does not reach the archive"
    );
}

#[test]
fn dpkg_deb_reads_every_compression() {
    require("dpkg-deb", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    for control in Compression::ALL {
        for data in Compression::ALL {
            let path = dir.path().join(format!("hello-{control:?}-{data:?}.deb"));
            sample_builder(&tree, "hello", Compression::None)
                .control_compression(control)
                .data_compression(data)
                .write_file(&path)
                .unwrap();
            let info = stdout(Command::new("dpkg-deb").arg("--info").arg(&path));
            assert!(info.contains(" Package: hello\n"), "{info}");
            assert!(info.contains(" Version: 1:2.0~rc1-3\n"), "{info}");
            assert!(info.contains(" Installed-Size: "), "{info}");
            for member in ["control", "md5sums", "conffiles", "postinst"] {
                assert!(
                    info.contains(&format!(" {member}\n")) || info.contains(&format!(" {member} ")),
                    "{member} missing:\n{info}"
                );
            }
            check_contents(&path);
            // Our reader agrees with dpkg-deb on the control file, byte for byte.
            let control_text = stdout(
                Command::new("dpkg-deb")
                    .arg("--info")
                    .arg(&path)
                    .arg("control"),
            );
            let found = deb::inspect_file(&path, &InspectOptions::default()).unwrap();
            assert_eq!(found.control, control_text);
            assert_eq!(found.control_compression, control);
            assert_eq!(found.data_member, format!("data.tar{}", data.extension()));
            assert_eq!(
                found.control_members,
                ["conffiles", "control", "md5sums", "postinst"]
            );
            let bytes = fs::read(&path).unwrap();
            assert_eq!(found.size, bytes.len() as u64);
            assert_eq!(
                found.checksums,
                checksum::of_bytes(&bytes, Algorithms::DEFAULT)
            );
        }
    }
}

/// `dpkg-deb --contents` lists every entry, `./`-prefixed, root/root, sorted.
fn check_contents(path: &std::path::Path) {
    let listing = stdout(
        Command::new("dpkg-deb")
            .env("TZ", "UTC0")
            .arg("--contents")
            .arg(path),
    );
    let mut names = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], "root/root", "{line}");
        assert!(
            fields[3].starts_with("2023-11-14"),
            "mtime not from the builder: {line}"
        );
        names.push(fields[5].to_string());
        match fields[5] {
            "./usr/bin/hello" => assert_eq!(fields[0], "-rwxr-xr-x"),
            "./usr/bin/hello-suid" => assert_eq!(fields[0], "-rwsr-xr-x"),
            "./usr/share/hello/empty" => assert_eq!(fields[0], "-rw-------"),
            "./usr/bin/hi" => assert_eq!(&fields[6..], ["->", "hello"]),
            _ => {}
        }
    }
    let long = format!(
        "./usr/share/hello/{}/file-with-a-long-path.txt",
        "x".repeat(90)
    );
    let expected = [
        "./",
        "./etc/",
        "./etc/hello/",
        "./etc/hello/hello.conf",
        "./usr/",
        "./usr/bin/",
        "./usr/bin/hello",
        "./usr/bin/hello-suid",
        "./usr/bin/hi",
        "./usr/bin/long-link",
        "./usr/share/",
        "./usr/share/hello/",
        "./usr/share/hello/data.bin",
        "./usr/share/hello/empty",
        &format!("./usr/share/hello/{}/", "x".repeat(90)),
        &long,
    ];
    assert_eq!(names, expected);
}

#[test]
fn dpkg_installs_it_into_a_test_root() {
    require("dpkg", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let root = dir.path().join("root");
    let admin = root.join("var/lib/dpkg");
    for sub in ["info", "updates", "triggers"] {
        fs::create_dir_all(admin.join(sub)).unwrap();
    }
    fs::write(admin.join("status"), "").unwrap();
    let dpkg = || {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--root={}", root.display()))
            .arg(format!("--admindir={}", admin.display()))
            .args([
                "--force-not-root",
                "--force-script-chrootless",
                "--force-bad-path",
            ])
            .env("DPKG_ROOT", &root);
        cmd
    };
    // No Depends: the test root has no libc6 to satisfy it. Packages may not
    // share files: one installs the sample tree, one per other compression a tree
    // of its own.
    let mut debs = Vec::new();
    for (i, compression) in Compression::ALL.into_iter().enumerate() {
        let (name, source) = if i == 0 {
            ("hello".to_string(), tree.clone())
        } else {
            // A package owning no file "disappears" once another owns its directories.
            let name = format!("hello{}", compression.extension().replace('.', "-"));
            let own = dir.path().join(&name);
            fs::create_dir_all(own.join("usr/share/doc").join(&name)).unwrap();
            fs::write(own.join("usr/share/doc").join(&name).join("README"), &name).unwrap();
            (name, own)
        };
        let path = dir.path().join(format!("{name}.deb"));
        let mut builder = Builder::new(&source)
            .field("Package", &name)
            .field("Version", "1:2.0~rc1-3")
            .field("Architecture", "all")
            .field("Maintainer", "Debpull Tests <tests@example.com>")
            .field("Description", "test package\n for dpkg -i.")
            .compression(compression)
            .mtime(1_700_000_000);
        if i == 0 {
            builder = builder
                .control_file("conffiles", "/etc/hello/hello.conf\n", 0o644)
                .control_file(
                    "postinst",
                    "#!/bin/sh\nset -e\ntouch \"$DPKG_ROOT/postinst-ran\"\n",
                    0o755,
                );
        }
        builder.write_file(&path).unwrap();
        debs.push((name, path));
    }
    for (_, path) in &debs {
        run(dpkg().arg("--install").arg(path));
    }
    // dpkg journals updates before folding them into `status`: ask dpkg-query,
    // which reads both.
    for (name, _) in &debs {
        let stanza = stdout(
            Command::new("dpkg-query")
                .arg(format!("--admindir={}", admin.display()))
                .args(["--status", name]),
        );
        assert!(
            stanza.starts_with(&format!("Package: {name}\n")),
            "{stanza}"
        );
        assert!(
            stanza.contains("\nStatus: install ok installed\n"),
            "{stanza}"
        );
        assert!(stanza.contains("\nVersion: 1:2.0~rc1-3\n"), "{stanza}");
    }
    assert!(root.join("postinst-ran").exists(), "postinst did not run");
    let hello = root.join("usr/bin/hello");
    assert_eq!(
        fs::read(&hello).unwrap(),
        fs::read(tree.join("usr/bin/hello")).unwrap()
    );
    assert_eq!(
        fs::metadata(&hello).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    assert_eq!(
        fs::read_link(root.join("usr/bin/hi")).unwrap(),
        std::path::Path::new("hello")
    );
    // dpkg checks the installed files against our md5sums.
    let verify = run(dpkg().args(["--verify", "hello"]));
    assert!(
        verify.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let listed = stdout(dpkg().args(["--listfiles", "hello"]));
    assert!(
        listed.lines().any(|l| l == "/usr/share/hello/data.bin"),
        "{listed}"
    );
}

#[test]
fn installed_size_is_computed_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let found = |builder: Builder| {
        let path = dir.path().join("x.deb");
        builder.write_file(&path).unwrap();
        deb::inspect_file(&path, &InspectOptions::default())
            .unwrap()
            .control
    };
    let control = found(sample_builder(&tree, "hello", Compression::Gzip));
    // 4 regular files of under 1 KiB, 300,000 bytes (293 KiB), an empty file,
    // 2 symlinks (1 KiB each) and 7 directories below the root (1 KiB each).
    let expected = 4 + 293 + 2 + 7;
    let mut lines = control
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(n, _)| n));
    assert_eq!(
        lines.by_ref().take(5).collect::<Vec<_>>(),
        [
            "Package",
            "Version",
            "Architecture",
            "Maintainer",
            "Installed-Size"
        ]
    );
    assert!(
        control.contains(&format!("\nInstalled-Size: {expected}\n")),
        "{control}"
    );
    let control =
        found(sample_builder(&tree, "hello", Compression::Gzip).field("Installed-Size", "7"));
    assert!(control.contains("\nInstalled-Size: 7\n"), "{control}");
}

#[test]
fn bad_fields_and_trees_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let base = || sample_builder(&tree, "hello", Compression::Gzip);
    let cases = [
        (
            base().field("Package", "Hello"),
            ErrorKind::InvalidInput,
            "Package",
        ),
        (
            base().field("Version", "x1.0"),
            ErrorKind::InvalidVersion,
            "Version",
        ),
        (
            base().field("Architecture", "amd64 i386"),
            ErrorKind::InvalidInput,
            "Architecture",
        ),
        (
            base().field("Package", "a"),
            ErrorKind::InvalidInput,
            "Package",
        ),
        (
            base().field("Architecture", "-x"),
            ErrorKind::InvalidInput,
            "Architecture",
        ),
        (
            base().field("Source", "../../etc"),
            ErrorKind::InvalidInput,
            "Source",
        ),
        (
            base().field("Description", "a\nb"),
            ErrorKind::InvalidInput,
            "Description",
        ),
        (
            base().field("Bad Name", "x"),
            ErrorKind::InvalidInput,
            "Bad Name",
        ),
        (
            Builder::new(&tree)
                .field("Package", "pp")
                .field("Version", "1"),
            ErrorKind::InvalidInput,
            "Architecture",
        ),
        (
            base().control_file("../evil", "x", 0o644),
            ErrorKind::InvalidInput,
            "../evil",
        ),
        (
            base().control_file("postinst", "#!/bin/sh\n", 0o100755),
            ErrorKind::InvalidInput,
            "0o100755",
        ),
        (
            sample_builder(&dir.path().join("missing"), "hello", Compression::Gzip),
            ErrorKind::Io,
            "missing",
        ),
    ];
    for (builder, kind, needle) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(
            err.to_string().contains(needle),
            "{err} does not name {needle}"
        );
    }
    let fifo_tree = dir.path().join("fifo");
    fs::create_dir_all(&fifo_tree).unwrap();
    run(Command::new("mkfifo").arg(fifo_tree.join("pipe")));
    let err = sample_builder(&fifo_tree, "hello", Compression::Gzip)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("pipe"), "{err}");
}

#[test]
fn multi_line_fields_keep_their_layout_when_installed_size_is_computed() {
    let dir = tempfile::tempdir().unwrap();
    let tree = sample_tree(dir.path());
    let bytes = sample_builder(&tree, "hello", Compression::Gzip)
        .field("X-Multi", "\n line one\n line two")
        .build()
        .unwrap();
    let info = deb::read_deb(
        &bytes[..],
        Some(bytes.len() as u64),
        &deb::InspectOptions::default(),
    )
    .unwrap();
    assert!(
        info.control.contains("\nX-Multi:\n line one\n line two\n"),
        "{}",
        info.control
    );
    assert!(
        info.control.contains("\nInstalled-Size: "),
        "{}",
        info.control
    );
}
