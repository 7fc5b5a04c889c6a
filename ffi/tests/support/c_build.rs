//! Builds and runs the C tests: installs the library this `cargo test` built
//! (`scripts/install-c --no-build`) into a temporary prefix once per test
//! binary, compiles C programs against it with pkg-config, strict warnings and
//! AddressSanitizer + UndefinedBehaviorSanitizer, linked against the shared
//! or the static library, and runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// How a program links debpull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `-ldebpull` against `libdebpull.so` (found at run time through an rpath).
    Shared,
    /// `libdebpull.a` and its `Libs.private`.
    Static,
}

/// The flags every C test is compiled with.
pub const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];

/// The sanitizers every C test runs under.
pub const SANITIZE: &[&str] = &[
    "-g",
    "-O1",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
];

/// The prefix debpull is installed into: a directory of this test process
/// under cargo's target tmp directory (a static is never dropped, so a
/// temporary directory would stay behind: ~400 MB per test binary run).
pub struct Installed {
    prefix: PathBuf,
}

impl Installed {
    /// The prefix, installed on first use.
    pub fn get() -> &'static Installed {
        static INSTALLED: OnceLock<Installed> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let prefix = process_dir("c-prefix");
            let profile_dir = profile_dir();
            let profile = profile_dir.file_name().unwrap().to_str().unwrap();
            let output = Command::new(repo_root().join("scripts/install-c"))
                .args([
                    "--no-build",
                    "--no-ldconfig",
                    "--profile",
                    profile,
                    "--prefix",
                ])
                .arg(&prefix)
                .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
                .output()
                .expect("running scripts/install-c");
            assert_success("scripts/install-c", &output);
            Installed { prefix }
        })
    }

    /// The installation prefix.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// `lib/` of the prefix.
    pub fn libdir(&self) -> PathBuf {
        self.prefix().join("lib")
    }

    /// `pkg-config ARGS debpull` against this prefix.
    pub fn pkg_config(&self, args: &[&str]) -> Vec<String> {
        self.pkg_config_of("debpull", args)
    }

    /// `pkg-config ARGS PACKAGE` against this prefix.
    pub fn pkg_config_of(&self, package: &str, args: &[&str]) -> Vec<String> {
        let output = Command::new("pkg-config")
            .args(args)
            .arg(package)
            .env("PKG_CONFIG_PATH", self.libdir().join("pkgconfig"))
            .output()
            .expect("pkg-config (apt-get install pkg-config)");
        assert_success("pkg-config", &output);
        String::from_utf8(output.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Compiles `sources` (C, strict flags, sanitizers) into `out`, linked
    /// against debpull as `link` says. Panics with the compiler's output.
    pub fn compile(&self, sources: &[PathBuf], link: Link, out: &Path) {
        let mut cmd = Command::new(cc());
        cmd.args(C_FLAGS).args(SANITIZE);
        cmd.arg(format!("-I{}", c_dir().display()));
        cmd.args(self.pkg_config(&["--cflags"]));
        cmd.args(sources).arg("-o").arg(out);
        match link {
            Link::Shared => {
                cmd.args(self.pkg_config(&["--libs"]));
                cmd.arg(format!("-Wl,-rpath,{}", self.libdir().display()));
            }
            Link::Static => {
                cmd.args(self.pkg_config_of("debpull-static", &["--libs"]));
            }
        }
        cmd.arg("-lpthread");
        let output = cmd.output().expect("running the C compiler");
        assert_success(&format!("{cmd:?}"), &output);
        let output = Command::new("readelf")
            .arg("-d")
            .arg(out)
            .output()
            .expect("readelf (binutils)");
        let needs_shared = String::from_utf8_lossy(&output.stdout).contains("[libdebpull.so");
        assert_eq!(
            needs_shared,
            link == Link::Shared,
            "{}: linked {link:?}, but needs libdebpull.so: {needs_shared}",
            out.display()
        );
    }
}

/// Runs a compiled test program with `args` and `env`, under the sanitizers'
/// settings (leaks reported, the first error fatal).
pub fn run(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .output()
        .expect("running a C test program")
}

/// Panics with the command's output unless it exited 0; prints its output
/// (the C tests' summary lines) either way.
pub fn assert_success(what: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// The C compiler: `$CC` or `cc`.
pub fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `ffi/tests/c`: the C test programs.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// `target/<profile>`: where this test binary (in its `deps/`) and the
/// libraries cargo built for it are.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .to_owned()
}

/// An empty directory `<name>-<pid>` for this process under cargo's target tmp
/// directory, for what lives as long as the test binary. The directories of
/// earlier processes that are gone are removed first.
pub fn process_dir(name: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let stale_prefix = format!("{name}-");
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let file = entry.file_name();
        let pid = file.to_str().and_then(|f| f.strip_prefix(&stale_prefix));
        if let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok())
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = base.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the test process's directory");
    dir
}
