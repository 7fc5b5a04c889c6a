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
#[path = "../../core/tests/support/webhook_server.rs"]
mod webhook_server;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use c_build::{Installed, Link, assert_success, c_dir, cc, run};
use client_fixture::ClientFixture;

/// Compiles `ffi/tests/c/<name>.c` linked as `link` and runs it with `args`
/// and `env`; returns what it printed.
fn run_c_test(name: &str, link: Link, args: &[&str], env: &[(&str, &str)]) -> String {
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
    record_summary(&stdout);
    stdout.into_owned()
}

/// Appends the program's summary line to `$DEBPULL_C_SUMMARY` (scripts/test
/// sets it and prints the total: cargo hides a passing test's output).
fn record_summary(stdout: &str) {
    let Some(path) = std::env::var_os("DEBPULL_C_SUMMARY") else {
        return;
    };
    if let Some(line) = stdout.lines().rev().find(|l| l.contains(" checks, ")) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the C tests' summary file");
        writeln!(file, "{line}").expect("writing the C tests' summary");
    }
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
c_test!(garbage, run = run_garbage);
c_test!(e2e, run = run_e2e);
c_test!(notify, run = run_notify);

/// notify.c: SNS to Slack, a notifier posting to a webhook on loopback from
/// a repository (publish, promote into a file:// repository) and an updater
/// (dpkg into a root); a dead webhook fails neither. The webhook got what
/// was posted, and dpkg has what the updater installed.
fn run_notify(link: Link) {
    let server = webhook_server::WebhookServer::ok();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}/services/T0/B0/dead")
    };
    let keys = client_fixture::keys();
    let dir = tempfile::tempdir().unwrap();
    let path = |rel: &str| dir.path().join(rel);
    std::fs::write(path("secret.asc"), &keys.secret).unwrap();
    std::fs::write(path("public.asc"), &keys.public).unwrap();
    for sub in ["repo", "scratch"] {
        std::fs::create_dir(path(sub)).unwrap();
    }
    let system = dpkg_root::DpkgRoot::new(&path("system"));
    let text = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let sns =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/sns/launch.json");
    let env = [
        ("DEBPULL_TEST_WEBHOOK", server.url()),
        ("DEBPULL_TEST_DEAD_WEBHOOK", dead.clone()),
        ("DEBPULL_TEST_SNS", text(&sns)),
        (
            "DEBPULL_TEST_REPO_URI",
            format!("file://{}", path("repo").display()),
        ),
        ("DEBPULL_TEST_SECRET_KEY", text(&path("secret.asc"))),
        ("DEBPULL_TEST_PUBLIC_KEY", text(&path("public.asc"))),
        ("DEBPULL_TEST_DIR", text(&path("scratch"))),
        ("DEBPULL_TEST_ROOT", text(&system.root)),
        ("DEBPULL_TEST_ADMIN", text(&system.admin)),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stdout = run_c_test("notify", link, &[], &env);
    assert!(
        stdout.contains("update: app: updated none -> 1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("update: app: updated 1.0 -> 1.1"),
        "{stdout}"
    );
    assert_eq!(system.installed("app").as_deref(), Some("1.1"));
    let texts: Vec<String> = server
        .json()
        .iter()
        .map(|body| body["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts[0].starts_with(":rocket: Instance i-0123456789abcdef0 launched in web-production: ")
    );
    assert_eq!(texts[1], ":white_check_mark: app 1.0 published to staging");
    assert_eq!(texts[2], ":arrow_up: app 1.0 promoted staging → production");
    assert!(
        texts[3].starts_with(":white_check_mark: app 1.0 installed on "),
        "{texts:?}"
    );
}

/// e2e.c: the whole pipeline through the C API, on a local repository and on
/// S3 (moto); afterwards dpkg's database and core agree with what it reported.
fn run_e2e(link: Link) {
    let keys = client_fixture::keys();
    let moto = moto::Moto::shared();
    let bucket = moto.create_bucket("c-e2e");
    for uri in [None, Some(format!("s3://{bucket}/apt"))] {
        let dir = tempfile::tempdir().unwrap();
        let system = dpkg_root::DpkgRoot::new(&dir.path().join("system"));
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let repo_dir = dir.path().join("repo");
        std::fs::create_dir(&repo_dir).unwrap();
        let uri = uri.unwrap_or_else(|| format!("file://{}", repo_dir.display()));
        let (secret, public) = (dir.path().join("secret.asc"), dir.path().join("public.asc"));
        std::fs::write(&secret, &keys.secret).unwrap();
        std::fs::write(&public, &keys.public).unwrap();
        let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        let credentials = moto.credentials();
        let env = [
            ("DEBPULL_TEST_URI", uri.clone()),
            ("DEBPULL_TEST_S3_REGION", moto::REGION.to_owned()),
            ("DEBPULL_TEST_S3_ENDPOINT", moto.endpoint()),
            ("DEBPULL_TEST_SECRET_KEY", path(&secret)),
            ("DEBPULL_TEST_PUBLIC_KEY", path(&public)),
            ("DEBPULL_TEST_DIR", path(&scratch)),
            ("DEBPULL_TEST_ROOT", path(&system.root)),
            ("DEBPULL_TEST_ADMIN", path(&system.admin)),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key.clone(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let stdout = run_c_test("e2e", link, &[], &env);
        assert!(
            stdout.contains("update: app: updated 1.1 -> 1.0"),
            "{uri}: {stdout}"
        );
        assert_eq!(system.installed("app").as_deref(), Some("1.0"), "{uri}");
        let text = std::fs::read_to_string(system.root.join("usr/share/app/VERSION")).unwrap();
        assert_eq!(text, "app 1.0\n", "{uri}: the files of 1.0 are in place");
    }
}

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

/// garbage.c: what it needs to make valid handles with the API itself (a tree
/// to package, an empty file:// repository, keys made by gpg, a dpkg root).
fn run_garbage(link: Link) {
    let dir = tempfile::tempdir().unwrap();
    let path = |rel: &str| dir.path().join(rel);
    let keys = client_fixture::keys();
    std::fs::write(path("secret.asc"), &keys.secret).unwrap();
    std::fs::write(path("public.asc"), &keys.public).unwrap();
    std::fs::write(path("wrong.asc"), &keys.wrong_public).unwrap();
    let doc = path("tree/usr/share/doc/garbage-app");
    std::fs::create_dir_all(&doc).unwrap();
    std::fs::write(doc.join("README"), "garbage in, typed errors out\n").unwrap();
    for sub in ["repo", "scratch"] {
        std::fs::create_dir(path(sub)).unwrap();
    }
    let system = dpkg_root::DpkgRoot::new(&path("system"));
    let text = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let env = [
        ("DEBPULL_TEST_DIR", text(&path("scratch"))),
        ("DEBPULL_TEST_TREE", text(&path("tree"))),
        (
            "DEBPULL_TEST_REPO_URI",
            format!("file://{}", path("repo").display()),
        ),
        ("DEBPULL_TEST_SECRET_KEY", text(&path("secret.asc"))),
        ("DEBPULL_TEST_PUBLIC_KEY", text(&path("public.asc"))),
        ("DEBPULL_TEST_WRONG_KEY", text(&path("wrong.asc"))),
        ("DEBPULL_TEST_ROOT", text(&system.root)),
        ("DEBPULL_TEST_ADMIN", text(&system.admin)),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_c_test("garbage", link, &[], &env);
    assert_eq!(
        system.installed("garbage-app"),
        None,
        "garbage.c installs nothing"
    );
}

/// `repository.c` against a local repository and one in S3 (moto), linked
/// both ways; then core checks that the repository holds what it reported.
mod repository {
    use super::*;

    use debpull::repo::{Repository, RepositoryOptions};
    use debpull::sign::{SigningKey, TrustedKeys};
    use debpull::storage::{self, OpenOptions, S3Credentials, S3Options, S3Storage, Storage};
    use std::sync::Arc;

    const PASSPHRASE: &str = "correct horse";

    /// What repository.c gets: keys made by gpg, .debs, a corrupt and a missing one.
    struct Inputs {
        dir: tempfile::TempDir,
        secret_key: String,
        public_key: Vec<u8>,
        env: Vec<(String, String)>,
    }

    fn inputs() -> Inputs {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        let gpg = gpg::Gpg::new();
        let signer = gpg.gen_key(
            "C repository signer <signer@example.org>",
            "ed25519",
            "cert,sign",
            "0",
            PASSPHRASE,
        );
        let stranger = gpg.gen_key(
            "Stranger <stranger@example.org>",
            "ed25519",
            "cert,sign",
            "0",
            "",
        );
        let secret_key = gpg.export_secret(&signer, PASSPHRASE);
        let public_key = gpg.export_armored(&signer).into_bytes();
        std::fs::write(path("secret.asc"), &secret_key).unwrap();
        std::fs::write(path("public.asc"), &public_key).unwrap();
        std::fs::write(path("stranger.asc"), gpg.export_armored(&stranger)).unwrap();
        drop(gpg);
        let debs = dir.path().join("debs");
        std::fs::create_dir(&debs).unwrap();
        let deb = |name: &str, version: &str, arch: &str, salt: &str| {
            test_debs::build_deb(&debs, name, version, arch, salt)
                .to_str()
                .unwrap()
                .to_owned()
        };
        std::fs::write(path("corrupt.deb"), b"!<arch>\nnot really a package\n").unwrap();
        let local = dir.path().join("file-repo");
        std::fs::create_dir(&local).unwrap();
        let env = vec![
            ("DEBPULL_TEST_SECRET_KEY", path("secret.asc")),
            ("DEBPULL_TEST_PASSPHRASE", PASSPHRASE.to_owned()),
            ("DEBPULL_TEST_PUBLIC_KEY", path("public.asc")),
            ("DEBPULL_TEST_WRONG_KEY", path("stranger.asc")),
            ("DEBPULL_TEST_APP1", deb("app", "1.0", "amd64", "")),
            ("DEBPULL_TEST_APP2", deb("app", "2.0", "amd64", "")),
            ("DEBPULL_TEST_APP3", deb("app", "3.0", "amd64", "")),
            (
                "DEBPULL_TEST_APP1_OTHER",
                deb("app", "1.0", "amd64", "other"),
            ),
            ("DEBPULL_TEST_TOOL", deb("tool", "1.0", "all", "")),
            ("DEBPULL_TEST_CORRUPT", path("corrupt.deb")),
            ("DEBPULL_TEST_MISSING", path("missing.deb")),
            (
                "DEBPULL_TEST_FILE_URI",
                format!("file://{}", local.display()),
            ),
        ];
        let env = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Inputs {
            dir,
            secret_key,
            public_key,
            env,
        }
    }

    /// Runs repository.c on `uri` (plus `env`), then checks with core that
    /// `storage` holds what it reported: the same packages in both suites,
    /// their pool files present, both suites verifying with the public key.
    fn run_and_check(
        link: Link,
        inputs: &Inputs,
        storage: Arc<dyn Storage>,
        env: &[(String, String)],
    ) {
        let env: Vec<(&str, &str)> = inputs
            .env
            .iter()
            .chain(env)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let stdout = run_c_test("repository", link, &[], &env);
        let mut reported: Vec<Vec<String>> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("HOLDS "))
            .map(|l| l.split(' ').map(str::to_owned).collect())
            .collect();
        reported.sort();
        assert!(
            reported.iter().any(|r| r[0] == "staging")
                && reported.iter().any(|r| r[0] == "production"),
            "repository.c reported no packages in both suites:\n{stdout}"
        );
        let key = SigningKey::from_armored(&inputs.secret_key, Some(PASSPHRASE)).unwrap();
        let repository =
            Repository::new(storage.clone(), key, RepositoryOptions::default()).unwrap();
        let trusted = TrustedKeys::from_bytes(&inputs.public_key).unwrap();
        let mut actual = Vec::new();
        for suite in ["staging", "production"] {
            let packages = debpull::blocking::block_on(repository.list(suite))
                .unwrap()
                .unwrap();
            for p in packages {
                let filename = p
                    .filename()
                    .expect("a listed package has a Filename")
                    .to_owned();
                let head = debpull::blocking::block_on(storage.head(&filename)).unwrap();
                head.unwrap_or_else(|e| panic!("{filename} is not in {storage}: {e}"));
                actual.push(vec![
                    suite.to_owned(),
                    p.name().to_owned(),
                    p.version().to_string(),
                    p.architecture().to_owned(),
                    filename,
                ]);
            }
            let verified = debpull::blocking::block_on(repository.verify(suite, &trusted))
                .unwrap()
                .unwrap_or_else(|e| panic!("verify {suite}: {e}"));
            assert_eq!(
                verified.packages,
                reported.iter().filter(|r| r[0] == suite).count(),
                "{suite}"
            );
        }
        actual.sort();
        assert_eq!(
            reported, actual,
            "what repository.c reported and what the repository holds"
        );
    }

    fn local(link: Link) {
        let inputs = inputs();
        let uri = format!("file://{}", inputs.dir.path().join("file-repo").display());
        let storage = storage::open(&uri).unwrap();
        run_and_check(
            link,
            &inputs,
            storage,
            &[("DEBPULL_TEST_URI".to_owned(), uri)],
        );
    }

    fn s3(link: Link) {
        let inputs = inputs();
        let moto = moto::Moto::shared();
        let bucket = moto.create_bucket("c-repository");
        // The URI's region is overridden by the one repository.c sets.
        let uri = format!("s3://{bucket}/apt?region=nowhere-1");
        let given = OpenOptions {
            region: Some(moto::REGION.to_owned()),
            endpoint: Some(moto::Moto::endpoint(moto)),
        };
        let mut options = S3Options::from_uri_with(&uri, &given).unwrap();
        let credentials = moto.credentials();
        options.credentials = S3Credentials::Static {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.clone(),
            session_token: credentials.session_token.clone(),
        };
        let storage: Arc<dyn Storage> = Arc::new(S3Storage::new(options).unwrap());
        let missing = inputs
            .dir
            .path()
            .join("no-aws-config")
            .display()
            .to_string();
        let env = [
            ("DEBPULL_TEST_URI", uri.clone()),
            ("DEBPULL_TEST_ENDPOINT", moto.endpoint()),
            ("DEBPULL_TEST_REGION", moto::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key.clone(),
            ),
            ("AWS_CONFIG_FILE", missing.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", missing),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ];
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        run_and_check(link, &inputs, storage, &env);
    }

    #[test]
    fn local_shared() {
        local(Link::Shared);
    }

    #[test]
    fn local_static() {
        local(Link::Static);
    }

    #[test]
    fn s3_shared() {
        s3(Link::Shared);
    }

    #[test]
    fn s3_static() {
        s3(Link::Static);
    }
}

/// The functions `libdebpull.so` exports (`debpull_*`), from its dynamic
/// symbol table.
fn exported_functions(installed: &Installed) -> Vec<String> {
    dynamic_symbols(&installed.libdir().join("libdebpull.so"))
        .into_iter()
        .filter(|name| name.starts_with("debpull_"))
        .collect()
}

/// The defined dynamic symbols of a shared library (`nm -D --defined-only`).
fn dynamic_symbols(library: &std::path::Path) -> Vec<String> {
    let output = Command::new("nm")
        .args(["-D", "--defined-only", "--format=just-symbols"])
        .arg(library)
        .output()
        .expect("nm (binutils)");
    assert_success("nm -D", &output);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('@').next().unwrap().to_owned())
        .collect()
}

/// The `debpull_*` functions a C source calls: the undefined symbols of its
/// object file (so a name in a comment does not count).
fn called_functions(installed: &Installed, source: &std::path::Path) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let object = dir.path().join("test.o");
    let output = Command::new(cc())
        .args(["-std=c11", "-c", "-O0", "-w"])
        .arg(format!("-I{}", c_dir().display()))
        .arg(format!(
            "-I{}",
            installed.prefix().join("include").display()
        ))
        .arg(source)
        .arg("-o")
        .arg(&object)
        .output()
        .expect("running the C compiler");
    assert_success("cc -c", &output);
    let output = Command::new("nm")
        .args(["-u", "--format=just-symbols"])
        .arg(&object)
        .output()
        .expect("nm (binutils)");
    assert_success("nm -u", &output);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|name| name.starts_with("debpull_"))
        .map(str::to_owned)
        .collect()
}

/// What the library exports is what the header declares; each of those
/// functions is called by some C test program, and by garbage.c (which gives
/// each one garbage): a function added without a garbage case fails here.
#[test]
fn every_function_is_declared_and_called_from_c() {
    let installed = Installed::get();
    let exported = exported_functions(installed);
    assert!(exported.len() >= 100, "too few functions: {exported:?}");
    let header = std::fs::read_to_string(installed.prefix().join("include/debpull.h")).unwrap();
    let undeclared: Vec<&String> = exported
        .iter()
        .filter(|name| {
            !header.contains(&format!(" {name}(")) && !header.contains(&format!("*{name}("))
        })
        .collect();
    assert!(
        undeclared.is_empty(),
        "exported, not in debpull.h: {undeclared:?}"
    );

    let mut all_calls = BTreeSet::new();
    for entry in std::fs::read_dir(c_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            all_calls.extend(called_functions(installed, &path));
        }
    }
    let garbage_calls = called_functions(installed, &c_dir().join("garbage.c"));
    for (what, calls) in [("any C test", &all_calls), ("garbage.c", &garbage_calls)] {
        let untested: Vec<&String> = exported
            .iter()
            .filter(|name| !calls.contains(*name))
            .collect();
        assert!(untested.is_empty(), "not called by {what}: {untested:?}");
    }
}

/// libdebpull.so exports debpull's functions and, unavoidably, the C API of
/// crc-fast (a dependency of the S3 SDK, `crc_fast_*`): nothing else.
#[test]
fn the_shared_library_exports_only_debpull_functions_and_crc_fast() {
    let installed = Installed::get();
    let foreign: Vec<String> = dynamic_symbols(&installed.libdir().join("libdebpull.so"))
        .into_iter()
        .filter(|name| !name.starts_with("debpull_") && !name.starts_with("crc_fast_"))
        .collect();
    assert!(foreign.is_empty(), "exported by libdebpull.so: {foreign:?}");
}

/// user_data.c: first-boot user-data through the C API; it needs a public key.
fn run_user_data(link: Link) {
    let dir = tempfile::tempdir().unwrap();
    let key = debpull::sign::SigningKey::generate(
        "user-data <user-data@example.org>",
        debpull::sign::KeyKind::Ed25519,
    )
    .unwrap();
    let path = dir.path().join("public.asc");
    std::fs::write(&path, key.public_key_armored().unwrap()).unwrap();
    run_c_test(
        "user_data",
        link,
        &[],
        &[("DEBPULL_TEST_PUBLIC_KEY", path.to_str().unwrap())],
    );
}

c_test!(user_data, run = run_user_data);

// Staged rollout (issue 8): phased.c and its harness.
c_test!(phased, run = run_phased);

/// phased.c: an empty local repository, the signing key, app 1.0 and 2.0, a
/// dpkg root, and two machine ids, one inside a 25% rollout of app 2.0 and
/// one outside (by core's `debpull::phasing`, which core's client_phased
/// test checks against apt-get). The machine outside ends at 1.0 (installed,
/// upgraded when the rollout completes, rolled back): dpkg-query confirms.
fn run_phased(link: Link) {
    let dir = tempfile::tempdir().unwrap();
    let path = |rel: &str| dir.path().join(rel);
    let keys = client_fixture::keys();
    std::fs::write(path("secret.asc"), &keys.secret).unwrap();
    std::fs::write(path("public.asc"), &keys.public).unwrap();
    for sub in ["repo", "scratch", "debs"] {
        std::fs::create_dir(path(sub)).unwrap();
    }
    let deb = |version: &str| test_debs::build_deb(&path("debs"), "app", version, "amd64", "");
    let (app1, app2) = (deb("1.0"), deb("2.0"));
    let ids = (0u64..).map(|i| format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let inside = |id: &String| debpull::phasing::phase_number("app", "2.0", id) <= 25;
    let machine_in = ids.clone().find(inside).unwrap();
    let machine_out = ids.clone().find(|id| !inside(id)).unwrap();
    let system = dpkg_root::DpkgRoot::new(&path("system"));
    let text = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let env = [
        (
            "DEBPULL_TEST_URI",
            format!("file://{}", path("repo").display()),
        ),
        ("DEBPULL_TEST_SECRET_KEY", text(&path("secret.asc"))),
        ("DEBPULL_TEST_PUBLIC_KEY", text(&path("public.asc"))),
        ("DEBPULL_TEST_APP1", text(&app1)),
        ("DEBPULL_TEST_APP2", text(&app2)),
        ("DEBPULL_TEST_MACHINE_IN", machine_in),
        ("DEBPULL_TEST_MACHINE_OUT", machine_out),
        ("DEBPULL_TEST_DIR", text(&path("scratch"))),
        ("DEBPULL_TEST_ROOT", text(&system.root)),
        ("DEBPULL_TEST_ADMIN", text(&system.admin)),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_c_test("phased", link, &[], &env);
    assert_eq!(system.installed("app").as_deref(), Some("1.0"));
}
