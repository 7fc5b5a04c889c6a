//! What `ffi/tests/c/deb.c` works on, and the independent checks of what it
//! wrote: a tree to package, a `.deb` built by `dpkg-deb --build` with its
//! checksums from the coreutils (`md5sum`, `sha1sum`, ...), corrupt `.deb`
//! files; afterwards `dpkg-deb` and `ar` read the `.deb` files the C program
//! built, and the coreutils check the checksums it reported.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The timestamp deb.c gives its builder (`debpull_deb_builder_set_mtime`).
const MTIME: u64 = 1_700_000_000;

/// The compressions deb.c builds with, and the control member each gives.
const MEMBERS: [(&str, &str); 4] = [
    ("xz", "control.tar.xz"),
    ("gzip", "control.tar.gz"),
    ("zstd", "control.tar.zst"),
    ("none", "control.tar"),
];

pub struct DebFixture {
    dir: tempfile::TempDir,
}

impl DebFixture {
    pub fn new() -> DebFixture {
        let dir = tempfile::tempdir().unwrap();
        let fixture = DebFixture { dir };
        fixture.make_tree();
        fixture.make_dpkg_deb();
        fixture.make_corrupt();
        fs::create_dir(fixture.out()).unwrap();
        fixture
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn out(&self) -> PathBuf {
        self.path("out")
    }

    /// The environment deb.c reads.
    pub fn env(&self) -> Vec<(String, String)> {
        let p = |rel: &str| self.path(rel).to_str().unwrap().to_owned();
        let dpkg_deb = self.path("dpkg-built.deb");
        let mut env = vec![
            ("DEB_TREE".to_owned(), p("tree")),
            ("DEB_OUT".to_owned(), p("out")),
            ("DEB_DPKG_BUILT".to_owned(), p("dpkg-built.deb")),
            ("DEB_TRUNCATED".to_owned(), p("truncated.deb")),
            ("DEB_GARBAGE".to_owned(), p("garbage.deb")),
            ("DEB_NO_CONTROL".to_owned(), p("no-control.deb")),
            (
                "DEB_DPKG_BUILT_SIZE".to_owned(),
                fs::metadata(&dpkg_deb).unwrap().len().to_string(),
            ),
            ("DEB_MTIME".to_owned(), MTIME.to_string()),
        ];
        for (var, tool) in [
            ("DEB_DPKG_BUILT_MD5", "md5sum"),
            ("DEB_DPKG_BUILT_SHA1", "sha1sum"),
            ("DEB_DPKG_BUILT_SHA256", "sha256sum"),
            ("DEB_DPKG_BUILT_SHA512", "sha512sum"),
        ] {
            env.push((var.to_owned(), digest(tool, &dpkg_deb)));
        }
        env
    }

    /// The files to package: directories, an executable, a conffile, a symlink.
    fn make_tree(&self) {
        let tree = self.path("tree");
        fs::create_dir_all(tree.join("usr/bin")).unwrap();
        fs::create_dir_all(tree.join("etc/hello")).unwrap();
        fs::create_dir_all(tree.join("usr/share/doc/hello-c")).unwrap();
        let write = |rel: &str, text: &str, mode: u32| {
            let path = tree.join(rel);
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        };
        write("usr/bin/hello", "#!/bin/sh\necho hello\n", 0o755);
        write("etc/hello/hello.conf", "greeting = hello\n", 0o644);
        write("usr/share/doc/hello-c/README", "Says hello.\n", 0o644);
        symlink("hello", tree.join("usr/bin/hi")).unwrap();
    }

    /// `dpkg-built.deb`, by `dpkg-deb --build`.
    fn make_dpkg_deb(&self) {
        let src = self.path("dpkg-src");
        fs::create_dir_all(src.join("DEBIAN")).unwrap();
        fs::create_dir_all(src.join("usr/share/dpkg-built")).unwrap();
        fs::write(src.join("usr/share/dpkg-built/data"), "data\n").unwrap();
        fs::write(
            src.join("DEBIAN/control"),
            "Package: dpkg-built\nVersion: 2:3.4-5\nArchitecture: all\n\
             Maintainer: Ops <ops@example.com>\nDescription: built by dpkg-deb\n \
             A second line.\n .\n After an empty line.\n",
        )
        .unwrap();
        let postinst = src.join("DEBIAN/postinst");
        fs::write(&postinst, "#!/bin/sh\nset -e\n").unwrap();
        fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755)).unwrap();
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&src)
            .arg(self.path("dpkg-built.deb")));
    }

    /// A truncated `.deb`, garbage, and an `ar` archive without control.tar.
    fn make_corrupt(&self) {
        let good = fs::read(self.path("dpkg-built.deb")).unwrap();
        fs::write(self.path("truncated.deb"), &good[..good.len() / 2]).unwrap();
        fs::write(
            self.path("garbage.deb"),
            "this is not a Debian package\n".repeat(20),
        )
        .unwrap();
        let members = self.path("members");
        fs::create_dir(&members).unwrap();
        fs::write(members.join("debian-binary"), "2.0\n").unwrap();
        fs::write(members.join("data.tar.gz"), &good[..64]).unwrap();
        run(Command::new("ar").current_dir(&members).args([
            "rcD",
            "../no-control.deb",
            "debian-binary",
            "data.tar.gz",
        ]));
    }

    /// After deb.c: what it built is a real `.deb` with the fields, control
    /// files, data files and timestamps it asked for, and the checksums it
    /// reported are the coreutils' ones.
    pub fn check(&self) {
        let built = self.out().join("built.deb");
        let field = |name: &str| {
            stdout(
                Command::new("dpkg-deb")
                    .arg("--field")
                    .arg(&built)
                    .arg(name),
            )
        };
        assert_eq!(field("Package"), "hello-c\n");
        assert_eq!(field("Version"), "1:2.3-4\n");
        assert_eq!(field("Architecture"), "all\n");
        assert_eq!(field("Maintainer"), "Ops <ops@example.com>\n");
        assert_eq!(
            field("Description"),
            "says hello\n A longer text\n .\n over lines.\n"
        );
        assert!(!field("Installed-Size").trim().is_empty());

        let info = stdout(Command::new("dpkg-deb").arg("--info").arg(&built));
        // The control members, one line each ("<size> bytes, <n> lines [*] name"),
        // `*` for an executable one.
        let listed = |member: &str| {
            info.lines()
                .find(|l| l.contains(" bytes, ") && l.split_whitespace().any(|w| w == member))
                .unwrap_or_else(|| panic!("no {member} in:\n{info}"))
                .to_owned()
        };
        for member in ["control", "conffiles", "md5sums"] {
            assert!(!listed(member).contains(" * "), "{info}");
        }
        assert!(listed("postinst").contains(" * "), "{info}");
        let postinst = stdout(
            Command::new("dpkg-deb")
                .arg("--info")
                .arg(&built)
                .arg("postinst"),
        );
        assert_eq!(postinst, "#!/bin/sh\nset -e\necho configured\n");
        let conffiles = stdout(
            Command::new("dpkg-deb")
                .arg("--info")
                .arg(&built)
                .arg("conffiles"),
        );
        assert_eq!(conffiles, "/etc/hello/hello.conf\n");

        // `dpkg-deb --contents`: mode, owner, size, date, time, name.
        let contents = stdout(Command::new("dpkg-deb").arg("--contents").arg(&built));
        let lines: Vec<&str> = contents.lines().collect();
        let date = stdout(
            Command::new("date")
                .arg("-d")
                .arg(format!("@{MTIME}"))
                .arg("+%Y-%m-%d %H:%M"),
        );
        for (mode, name) in [
            ("-rwxr-xr-x", "./usr/bin/hello"),
            ("-rw-r--r--", "./etc/hello/hello.conf"),
            ("-rw-r--r--", "./usr/share/doc/hello-c/README"),
            ("lrwxrwxrwx", "./usr/bin/hi -> hello"),
            ("drwxr-xr-x", "./usr/bin/"),
        ] {
            let line = lines
                .iter()
                .find(|l| l.ends_with(&format!(" {name}")))
                .unwrap_or_else(|| panic!("no {name} in:\n{contents}"));
            assert!(line.starts_with(mode), "{line}");
            assert!(line.contains(" root/root "), "{line}");
            assert!(line.contains(date.trim()), "{line}: not dated {date}");
        }
        assert_eq!(lines.len(), 12, "{contents}");

        // The checksums and size deb.c read with debpull_package_checksum.
        let report = fs::read_to_string(self.out().join("report.txt")).unwrap();
        let mut reported = 0;
        for line in report.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let [file, what, value] = words[..] else {
                panic!("bad report line {line:?}");
            };
            let path = self.out().join(file);
            let expected = match what {
                "MD5" => digest("md5sum", &path),
                "SHA1" => digest("sha1sum", &path),
                "SHA256" => digest("sha256sum", &path),
                "SHA512" => digest("sha512sum", &path),
                "size" => fs::metadata(&path).unwrap().len().to_string(),
                _ => panic!("bad report line {line:?}"),
            };
            assert_eq!(value, expected, "{line}");
            reported += 1;
        }
        assert_eq!(reported, 5 * (1 + MEMBERS.len()), "{report}");

        // Each compression: a valid .deb with the control member it names.
        for (compression, member) in MEMBERS {
            let path = self.out().join(format!("built-{compression}.deb"));
            let members = stdout(Command::new("ar").arg("t").arg(&path));
            let members: Vec<&str> = members.lines().collect();
            assert_eq!(members[0], "debian-binary", "{compression}");
            assert_eq!(members[1], member, "{compression}");
            assert!(members[2].starts_with("data.tar"), "{compression}");
            let field = stdout(
                Command::new("dpkg-deb")
                    .arg("--field")
                    .arg(&path)
                    .arg("Package"),
            );
            assert_eq!(field, "hello-c\n", "{compression}");
        }
    }
}

fn run(cmd: &mut Command) -> std::process::Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).unwrap()
}

/// The hex digest `tool` (`sha256sum`, ...) prints for `path`.
fn digest(tool: &str, path: &Path) -> String {
    let out = stdout(Command::new(tool).arg(path));
    out.split_whitespace().next().unwrap().to_owned()
}
