//! Helpers shared by the `deb_*` integration tests: real tools, sample trees and
//! hand-assembled archives (for the malformed cases no correct writer produces).
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use debpull::deb::{Builder, Compression};

/// Fails the test (never skips it) when `tool` is not installed.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is required by this test: install it with `apt-get install -y {package}`"
    );
}

/// Runs a command, failing the test with its stderr when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Standard output of a successful command, as text.
pub fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).expect("UTF-8 output")
}

/// A tree with directories, an executable, a setuid file, a symlink, an empty
/// file and a name longer than a tar header holds.
pub fn sample_tree(root: &Path) -> PathBuf {
    let tree = root.join("tree");
    let long_dir = tree.join("usr/share/hello").join("x".repeat(90));
    fs::create_dir_all(&long_dir).unwrap();
    fs::create_dir_all(tree.join("usr/bin")).unwrap();
    fs::create_dir_all(tree.join("etc/hello")).unwrap();
    let write = |rel: &str, text: &[u8], mode: u32| {
        let path = tree.join(rel);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    };
    write("usr/bin/hello", b"#!/bin/sh\necho hello\n", 0o755);
    write("usr/bin/hello-suid", b"not really\n", 0o4755);
    write("etc/hello/hello.conf", b"greeting = hello\n", 0o644);
    write("usr/share/hello/empty", b"", 0o600);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(tree.join("usr/share/hello/data.bin"), &big).unwrap();
    fs::write(long_dir.join("file-with-a-long-path.txt"), b"deep\n").unwrap();
    symlink("hello", tree.join("usr/bin/hi")).unwrap();
    symlink(
        format!(
            "../../share/hello/{}/file-with-a-long-path.txt",
            "x".repeat(90)
        ),
        tree.join("usr/bin/long-link"),
    )
    .unwrap();
    tree
}

/// A builder for `tree` with the usual fields.
pub fn sample_builder(tree: &Path, name: &str, compression: Compression) -> Builder {
    Builder::new(tree)
        .field("Package", name)
        .field("Version", "1:2.0~rc1-3")
        .field("Architecture", "all")
        .field("Maintainer", "Debpull Tests <tests@example.com>")
        .field("Depends", "libc6 (>= 2.36)")
        .field("Section", "misc")
        .field("Priority", "optional")
        .field(
            "Description",
            "test package for debpull\n It has several lines.\n .\n And a paragraph.",
        )
        .control_file("conffiles", "/etc/hello/hello.conf\n", 0o644)
        .control_file("postinst", "#!/bin/sh\nset -e\necho configured\n", 0o755)
        .compression(compression)
        .mtime(1_700_000_000)
}

/// One `ar` member: header, data, padding.
pub fn ar_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        0,
        0,
        0,
        "100644",
        data.len()
    )
    .into_bytes();
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
    out
}

/// An `ar` archive of `members`.
pub fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        out.extend(ar_member(name, data));
    }
    out
}

/// One raw tar entry: `kind` is the type flag (`b'0'` file, `b'2'` symlink, ...).
pub struct TarEntry<'a> {
    pub name: &'a str,
    pub kind: u8,
    pub data: &'a [u8],
    pub link: &'a str,
}

impl<'a> TarEntry<'a> {
    pub fn file(name: &'a str, data: &'a [u8]) -> Self {
        TarEntry {
            name,
            kind: b'0',
            data,
            link: "",
        }
    }
    pub fn dir(name: &'a str) -> Self {
        TarEntry {
            name,
            kind: b'5',
            data: b"",
            link: "",
        }
    }
    pub fn symlink(name: &'a str, link: &'a str) -> Self {
        TarEntry {
            name,
            kind: b'2',
            data: b"",
            link,
        }
    }
}

/// A ustar archive written byte by byte, accepting any name (even `../x`).
pub fn raw_tar(entries: &[TarEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; 512];
        h[..e.name.len()].copy_from_slice(e.name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", e.data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = e.kind;
        h[157..157 + e.link.len()].copy_from_slice(e.link.as_bytes());
        h[257..265].copy_from_slice(b"ustar\x0000");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A minimal valid control file.
pub const CONTROL: &str = "Package: raw\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: raw test\n";

/// A `.deb` assembled by hand with the given control archive member.
pub fn deb_with_control_tar(member: &str, control_tar: &[u8]) -> Vec<u8> {
    ar(&[
        ("debian-binary", b"2.0\n"),
        (member, control_tar),
        ("data.tar.gz", &gzip(&raw_tar(&[TarEntry::dir("./")]))),
    ])
}

/// A `.deb` assembled by hand whose control archive holds `control`.
pub fn deb_with_control(control: &[u8]) -> Vec<u8> {
    let tar = raw_tar(&[TarEntry::dir("./"), TarEntry::file("./control", control)]);
    deb_with_control_tar("control.tar.gz", &gzip(&tar))
}
