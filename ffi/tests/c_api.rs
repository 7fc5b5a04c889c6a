//! The C API as C programs see it: `include/debpull.h` compiles as C99, C11
//! and C++; every C test program (ffi/tests/c/*.c) passes linked against the
//! shared and against the static library, under ASan + UBSan.

#[path = "support/c_build.rs"]
mod c_build;
#[path = "support/client_fixture.rs"]
mod client_fixture;
#[path = "support/deb_fixture.rs"]
mod deb_fixture;
#[allow(dead_code)]
#[path = "../../core/tests/support/dpkg_root.rs"]
mod dpkg_root;
#[allow(dead_code)]
#[path = "../../core/tests/support/gpg.rs"]
mod gpg;
#[allow(dead_code)]
#[path = "../../core/tests/support/moto.rs"]
mod moto;
#[allow(dead_code)]
#[path = "../../core/tests/support/test_debs.rs"]
mod test_debs;

use std::path::PathBuf;
use std::process::Command;

use c_build::{Installed, Link, assert_success, c_dir, cc, run};
use client_fixture::ClientFixture;

/// Compiles `ffi/tests/c/<name>.c` linked as `link` and runs it with `args`.
fn run_c_test(name: &str, link: Link, args: &[&str], env: &[(&str, &str)]) {
    let installed = Installed::get();
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join(name);
    installed.compile(&[c_dir().join(format!("{name}.c"))], link, &exe);
    let output = run(&exe, args, env);
    assert_success(&format!("{name} ({link:?})"), &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{name}: ")) && stdout.contains(" checks, 0 failed"),
        "{name}: no summary line:\n{stdout}"
    );
}

#[test]
fn header_compiles_as_c99_c11_and_cxx() {
    let installed = Installed::get();
    let dir = tempfile::tempdir().unwrap();
    let c_source = dir.path().join("use.c");
    std::fs::write(
        &c_source,
        "#include <debpull.h>\nint main(void) { return debpull_library_version() == NULL; }\n",
    )
    .unwrap();
    let cxx_source = dir.path().join("use.cc");
    std::fs::write(
        &cxx_source,
        "#include <debpull.h>\nint main() { return debpull_library_version() == nullptr; }\n",
    )
    .unwrap();
    let include = format!("-I{}", installed.prefix().join("include").display());
    let strict = ["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only"];
    for (compiler, std, source) in [
        (cc(), "-std=c99", &c_source),
        (cc(), "-std=c11", &c_source),
        (cc(), "-std=c17", &c_source),
        ("c++".to_owned(), "-std=c++11", &cxx_source),
        ("c++".to_owned(), "-std=c++17", &cxx_source),
    ] {
        let output = Command::new(&compiler)
            .args([std, &include])
            .args(strict)
            .arg(source)
            .output()
            .expect("running the compiler");
        assert_success(&format!("{compiler} {std} debpull.h"), &output);
    }
}

#[test]
fn installed_library_has_soname_and_pkg_config() {
    let installed = Installed::get();
    let lib = installed.libdir();
    let output = Command::new("readelf")
        .arg("-d")
        .arg(lib.join("libdebpull.so"))
        .output()
        .expect("readelf (binutils)");
    assert_success("readelf", &output);
    let dynamic = String::from_utf8_lossy(&output.stdout);
    assert!(
        dynamic.contains("Library soname: [libdebpull.so.0.1]"),
        "{dynamic}"
    );
    let soname_link = std::fs::read_link(lib.join("libdebpull.so.0.1")).unwrap();
    assert_eq!(soname_link, PathBuf::from("libdebpull.so.0.1.0"));
    assert!(lib.join("libdebpull.a").is_file());
    let version = installed.pkg_config(&["--modversion"]);
    assert_eq!(version, [env!("CARGO_PKG_VERSION")]);
}

macro_rules! c_test {
    // A test whose harness (`$run`, given the link mode) prepares what the
    // C program needs and runs it.
    ($name:ident, run = $run:path) => {
        mod $name {
            use super::*;

            #[test]
            fn shared() {
                $run(Link::Shared);
            }

            #[test]
            fn r#static() {
                $run(Link::Static);
            }
        }
    };
    ($name:ident) => {
        mod $name {
            use super::*;

            #[test]
            fn shared() {
                run_c_test(stringify!($name), Link::Shared, &[], &[]);
            }

            #[test]
            fn r#static() {
                run_c_test(stringify!($name), Link::Static, &[], &[]);
            }
        }
    };
    // With a fixture made fresh for each run: `$fixture` makes it, its
    // `env()` is the program's environment, its `check()` runs afterwards.
    ($name:ident, fixture = $fixture:expr) => {
        mod $name {
            use super::*;

            fn run_with_fixture(link: Link) {
                let fixture = $fixture;
                let env = fixture.env();
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                run_c_test(stringify!($name), link, &[], &env);
                fixture.check();
            }

            #[test]
            fn shared() {
                run_with_fixture(Link::Shared);
            }

            #[test]
            fn r#static() {
                run_with_fixture(Link::Static);
            }
        }
    };
}

c_test!(versions);
c_test!(deb, fixture = deb_fixture::DebFixture::new());
c_test!(source, run = run_source);
c_test!(updater, run = run_updater);

/// `run_c_test` with the fixture's environment.
fn run_with_fixture(name: &str, link: Link, args: &[&str], fixture: &ClientFixture) {
    let env = fixture.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_c_test(name, link, args, &env);
}

/// source.c: checks against a local and an S3 repository holding app 1.0.
fn run_source(link: Link) {
    let fixture = ClientFixture::new("1.0");
    run_with_fixture("source", link, &[], &fixture);
    assert_eq!(fixture.installed(), None, "a check installs nothing");
}

/// updater.c: installs 1.0 into a dpkg root (phase "install"); then, 2.0
/// published, a failing health check rolls it back (phase "rollback").
/// dpkg-query confirms each phase.
fn run_updater(link: Link) {
    let fixture = ClientFixture::new("1.0");
    run_with_fixture("updater", link, &["install", "1.0"], &fixture);
    assert_eq!(fixture.installed().as_deref(), Some("1.0"));
    fixture.publish("2.0");
    run_with_fixture("updater", link, &["rollback", "2.0", "1.0"], &fixture);
    assert_eq!(fixture.installed().as_deref(), Some("1.0"));
}

/// Every function the header declares is called by some C test program.
#[test]
fn every_function_in_the_header_is_tested_from_c() {
    let header = std::fs::read_to_string(c_build::repo_root().join("include/debpull.h")).unwrap();
    let functions: Vec<&str> = header
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('#') && line.contains('('))
        .filter_map(|line| {
            let name_end = line.find('(')?;
            let name_start =
                line[..name_end].rfind(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            Some(&line[name_start + 1..name_end])
        })
        .filter(|name| name.starts_with("debpull_"))
        .collect();
    assert!(
        functions.len() >= 10,
        "too few functions found: {functions:?}"
    );
    let mut tests = String::new();
    for entry in std::fs::read_dir(c_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            tests.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    let untested: Vec<&&str> = functions
        .iter()
        .filter(|name| !tests.contains(&format!("{name}(")))
        .collect();
    assert!(
        untested.is_empty(),
        "not called by any C test: {untested:?}"
    );
}
