//! libdpkg as a test oracle: `dpkg_oracle.c` compiled at test time and fed
//! batches of requests over a pipe (see the protocol in that file).

use std::cmp::Ordering;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What libdpkg's `parseversion` made of a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Accepted: the epoch, the upstream part and the revision ("" when absent).
    Ok {
        epoch: u32,
        upstream: String,
        revision: String,
    },
    /// Rejected, with dpkg's message (`warn` for what dpkg calls a warning).
    Bad { warn: bool, message: String },
}

/// The compiled oracle program.
pub struct Oracle {
    exe: PathBuf,
}

const INSTALL_HINT: &str = "the dpkg oracle needs a C compiler, pkg-config and libdpkg: \
     apt-get install -y build-essential pkg-config libdpkg-dev";

/// The oracle, compiled once per test binary into a temporary directory.
pub fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<(tempfile::TempDir, Oracle)> = OnceLock::new();
    &ORACLE.get_or_init(build).1
}

fn build() -> (tempfile::TempDir, Oracle) {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/dpkg_oracle.c");
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "--static", "libdpkg"])
        .output()
        .unwrap_or_else(|e| panic!("running pkg-config: {e}; {INSTALL_HINT}"));
    assert!(
        flags.status.success(),
        "pkg-config does not know libdpkg ({}); {INSTALL_HINT}",
        String::from_utf8_lossy(&flags.stderr).trim()
    );
    let flags = String::from_utf8(flags.stdout).expect("pkg-config output is UTF-8");
    let dir = tempfile::tempdir().expect("temporary directory");
    let exe = dir.path().join("dpkg_oracle");
    let out = Command::new("cc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&source)
        .args(flags.split_whitespace())
        .output()
        .unwrap_or_else(|e| panic!("running cc: {e}; {INSTALL_HINT}"));
    assert!(
        out.status.success(),
        "compiling {} failed: {}; {INSTALL_HINT}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, Oracle { exe })
}

fn hex(s: &str, out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in s.as_bytes() {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("oracle writes hex"))
        .collect();
    String::from_utf8(bytes).expect("oracle echoes UTF-8 back")
}

fn check_no_nul(s: &str) {
    assert!(!s.contains('\0'), "a C string cannot carry NUL: {s:?}");
}

impl Oracle {
    /// Runs one batch: one request line per item, one answer line back per item.
    fn run<T>(&self, items: &[T], request: impl Fn(&T, &mut Vec<u8>) + Send + Sync) -> Vec<String>
    where
        T: Sync,
    {
        let mut child = Command::new(&self.exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the dpkg oracle");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let answers = std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut w = BufWriter::new(stdin);
                let mut line = Vec::new();
                for item in items {
                    line.clear();
                    request(item, &mut line);
                    line.push(b'\n');
                    w.write_all(&line).expect("writing to the dpkg oracle");
                }
                w.flush().expect("writing to the dpkg oracle");
            });
            BufReader::new(stdout)
                .lines()
                .map(|l| l.expect("reading from the dpkg oracle"))
                .collect::<Vec<_>>()
        });
        let status = child.wait().expect("waiting for the dpkg oracle");
        assert!(status.success(), "the dpkg oracle failed: {status}");
        assert_eq!(answers.len(), items.len(), "one answer per request");
        answers
    }

    /// `parseversion` on each string.
    pub fn parse_all(&self, strings: &[String]) -> Vec<Parsed> {
        strings.iter().for_each(|s| check_no_nul(s));
        let answers = self.run(strings, |s, line| {
            line.extend_from_slice(b"p ");
            hex(s, line);
        });
        answers
            .iter()
            .map(|answer| {
                if let Some(rest) = answer.strip_prefix("ok ") {
                    let mut words = rest.split(' ');
                    let mut word = || words.next().expect("three words after ok");
                    Parsed::Ok {
                        epoch: word().parse().expect("epoch"),
                        upstream: unhex(word()),
                        revision: unhex(word()),
                    }
                } else if let Some(rest) = answer.strip_prefix("bad ") {
                    let (kind, message) = rest.split_once(' ').expect("kind and message");
                    Parsed::Bad {
                        warn: kind == "warn",
                        message: message.to_owned(),
                    }
                } else {
                    panic!("unexpected oracle answer {answer:?}");
                }
            })
            .collect()
    }

    /// `dpkg_version_compare` on each pair of valid versions.
    pub fn compare_all(&self, pairs: &[(String, String)]) -> Vec<Ordering> {
        let answers = self.run(pairs, |(a, b), line| {
            check_no_nul(a);
            check_no_nul(b);
            line.extend_from_slice(b"c ");
            hex(a, line);
            line.push(b' ');
            hex(b, line);
        });
        answers
            .iter()
            .zip(pairs)
            .map(|(answer, pair)| match answer.as_str() {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                "1" => Ordering::Greater,
                _ => panic!("dpkg cannot compare {pair:?}: {answer}"),
            })
            .collect()
    }

    /// `dpkg_version_relate(a, rel, b)` on each triple of valid versions.
    pub fn relate_all(&self, triples: &[(String, &'static str, String)]) -> Vec<bool> {
        let answers = self.run(triples, |(a, rel, b), line| {
            line.extend_from_slice(b"r ");
            hex(a, line);
            line.push(b' ');
            line.extend_from_slice(rel.as_bytes());
            line.push(b' ');
            hex(b, line);
        });
        answers
            .iter()
            .zip(triples)
            .map(|(answer, t)| match answer.as_str() {
                "1" => true,
                "0" => false,
                _ => panic!("dpkg cannot relate {t:?}: {answer}"),
            })
            .collect()
    }
}
