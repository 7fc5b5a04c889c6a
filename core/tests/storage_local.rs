//! What only the local directory backend must do: compare-and-swap across
//! processes, crash safety (a killed writer leaves no partial object, and its
//! temporary file is neither listed nor kept), keys that would leave the root or
//! clash with directories, objects that are plain files (coreutils' `sha256sum`
//! is the ETag oracle), and `file://` URIs.
//!
//! The multi-process tests run this test binary again as their children: the
//! same test function, with an environment variable telling it which role to play.

#[path = "support/storage_conformance.rs"]
#[allow(dead_code)]
mod conformance;

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use debpull::ErrorKind;
use debpull::storage::{self, GetOptions, GetResult, LocalStorage, Payload, PutMode, Storage};

/// Set in a child process: the root of the store to race on.
const RACE_CHILD: &str = "DEBPULL_TEST_STORAGE_RACE_ROOT";
/// Set in a child process: the root of a store to read without write permission.
const READER_CHILD: &str = "DEBPULL_TEST_STORAGE_READER_ROOT";
/// Set in a child process: the root of the store to be killed while writing to.
const CRASH_CHILD: &str = "DEBPULL_TEST_STORAGE_CRASH_ROOT";
/// Child processes in the race test.
const PROCESSES: usize = 8;
/// Increments each child process makes.
const INCREMENTS: usize = 10;

/// Runs a future to completion on a fresh single-threaded runtime.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Runs this test binary again as a child playing `role` (an environment
/// variable set to `root`) in test `test`.
fn child(test: &str, role: &str, root: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(role, root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    command
}

/// What a child printed after the `child: ` marker (libtest prints its own
/// lines, and "test NAME ... " before the first line of the test's output).
fn child_lines(output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|l| l.split_once("child: ").map(|(_, said)| said.to_owned()))
        .collect()
}

fn read(store: &LocalStorage, key: &str) -> Vec<u8> {
    match block_on(store.get(key, GetOptions::default())) {
        Ok(GetResult::Found { data, .. }) => data,
        other => panic!("get {key:?}: {other:?}"),
    }
}

fn temporary_files(root: &Path) -> Vec<(PathBuf, u64)> {
    std::fs::read_dir(root.join(".debpull/tmp"))
        .expect("reading .debpull/tmp")
        .map(|e| {
            let e = e.expect("a directory entry");
            (e.path(), e.metadata().expect("metadata").len())
        })
        .collect()
}

#[test]
fn processes_race_create_and_update() {
    if let Some(root) = std::env::var_os(RACE_CHILD) {
        return race_child(Path::new(&root));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = LocalStorage::new(dir.path()).expect("a local store");
    block_on(store.put(
        "race/counter",
        Payload::Bytes(b"0".to_vec()),
        PutMode::Create,
    ))
    .expect("creating the counter");

    let mut children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            child("processes_race_create_and_update", RACE_CHILD, dir.path())
                .spawn()
                .expect("starting a child test process")
        })
        .collect();
    // All started: let them go at once.
    for child in &mut children {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"go\n")
            .expect("starting a child");
    }
    let mut created = 0;
    let mut written = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("waiting for a child");
        assert!(output.status.success(), "a child failed: {output:?}");
        for line in child_lines(&output.stdout) {
            match line.split_once(' ') {
                Some(("create", "won")) => created += 1,
                Some(("create", "lost")) => {}
                Some(("wrote", n)) => written.push(n.parse::<usize>().expect("a number")),
                _ => panic!("unexpected child output {line:?}"),
            }
        }
    }
    assert_eq!(created, 1, "exactly one process created race/created");
    written.sort_unstable();
    let total = PROCESSES * INCREMENTS;
    assert_eq!(
        written,
        (1..=total).collect::<Vec<_>>(),
        "each value written once"
    );
    assert_eq!(read(&store, "race/counter"), total.to_string().into_bytes());
    let winner = read(&store, "race/created");
    assert!(winner.starts_with(b"process "), "{winner:?}");
    assert!(
        temporary_files(dir.path()).is_empty(),
        "no temporary file left"
    );
}

/// A child of [`processes_race_create_and_update`]: waits for the go, races
/// Create, then increments the counter with Update.
fn race_child(root: &Path) {
    let store = LocalStorage::new(root).expect("a local store");
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .expect("waiting for the go");
    let content = format!("process {}", std::process::id()).into_bytes();
    match block_on(store.put("race/created", Payload::Bytes(content), PutMode::Create)) {
        Ok(_) => println!("child: create won"),
        Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => println!("child: create lost"),
        Err(e) => panic!("create: {e:?}"),
    }
    for _ in 0..INCREMENTS {
        loop {
            let (data, etag) = match block_on(store.get("race/counter", GetOptions::default())) {
                Ok(GetResult::Found { data, meta }) => (data, meta.etag),
                other => panic!("get: {other:?}"),
            };
            let value: usize = String::from_utf8(data).unwrap().parse().unwrap();
            let next = (value + 1).to_string().into_bytes();
            match block_on(store.put("race/counter", Payload::Bytes(next), PutMode::Update(etag))) {
                Ok(_) => {
                    println!("child: wrote {}", value + 1);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => continue,
                Err(e) => panic!("update: {e:?}"),
            }
        }
    }
}

#[test]
fn killed_writer_leaves_the_old_object_and_no_visible_temporary_file() {
    if let Some(root) = std::env::var_os(CRASH_CHILD) {
        // Streams stdin into the key until killed.
        let store = LocalStorage::new(Path::new(&root)).expect("a local store");
        let payload = Payload::File(PathBuf::from("/dev/stdin"));
        block_on(store.put("dists/stable/big", payload, PutMode::Overwrite)).expect("put");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    let store = LocalStorage::new(root).expect("a local store");
    let old = conformance::pattern(1000, 1);
    let key = "dists/stable/big";
    let old_meta = block_on(store.put(key, Payload::Bytes(old.clone()), PutMode::Overwrite))
        .expect("the old object");

    let mut writer = child(
        "killed_writer_leaves_the_old_object_and_no_visible_temporary_file",
        CRASH_CHILD,
        root,
    )
    .stdout(Stdio::null())
    .spawn()
    .expect("starting the writer process");
    let mut pipe = writer.stdin.take().expect("stdin");
    // The pipe holds 64 KiB: once 8 MiB went through, the writer is mid-copy.
    let sent = 8 * 1024 * 1024;
    pipe.write_all(&conformance::pattern(sent, 2))
        .expect("feeding the writer");

    let temps = temporary_files(root);
    assert_eq!(temps.len(), 1, "the writer's temporary file: {temps:?}");
    assert!(temps[0].1 > 0, "the writer has written: {temps:?}");
    assert_eq!(
        read(&store, key),
        old,
        "a reader sees the old object during the write"
    );
    assert_eq!(
        std::fs::read(root.join(key)).expect("reading the file"),
        old
    );
    // Opening the store while the writer is active keeps its temporary file.
    LocalStorage::new(root).expect("opening the store again");
    assert_eq!(
        temporary_files(root).len(),
        1,
        "an active writer's file is kept"
    );

    writer.kill().expect("killing the writer");
    writer.wait().expect("reaping the writer");
    drop(pipe);

    assert_eq!(read(&store, key), old, "the old object survives the crash");
    let head = block_on(store.head(key)).expect("head");
    assert_eq!(head.etag, old_meta.etag);
    let listed: Vec<String> = block_on(store.list(""))
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed, [key], "the temporary file is not listed");
    assert_eq!(
        temporary_files(root).len(),
        1,
        "the crash left a temporary file"
    );

    LocalStorage::new(root).expect("opening the store again");
    assert!(
        temporary_files(root).is_empty(),
        "opening removed the stale file"
    );
    assert_eq!(read(&store, key), old);
}

#[test]
fn an_unprivileged_process_can_read_but_not_write() {
    let test = "an_unprivileged_process_can_read_but_not_write";
    if let Some(root) = std::env::var_os(READER_CHILD) {
        return reader_child(Path::new(&root));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("repo");
    let store = LocalStorage::new(&root).expect("a local store");
    let data = conformance::pattern(70_000, 3);
    let key = "dists/stable/InRelease";
    block_on(store.put(key, Payload::Bytes(data), PutMode::Overwrite)).expect("put");
    std::fs::write(root.join(".debpull/tmp/left-by-a-crash"), b"partial").unwrap();

    let uid = Command::new("id")
        .arg("-u")
        .output()
        .expect("id (coreutils)");
    let as_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let mut reader = child(test, READER_CHILD, &root);
    if as_root {
        // The reader runs as nobody: it can traverse and read, not write.
        make_traversable(dir.path());
        let mut setpriv = Command::new("setpriv");
        setpriv
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(reader.get_program())
            .args(reader.get_args())
            .env(READER_CHILD, &root)
            .stdout(Stdio::piped());
        reader = setpriv;
    } else {
        chmod(&root, "a-w");
    }
    let output = reader
        .stdin(Stdio::null())
        .output()
        .expect("running the reader (setpriv is in util-linux)");
    if !as_root {
        chmod(&root, "u+w");
    }
    assert!(output.status.success(), "the reader failed: {output:?}");
    assert_eq!(child_lines(&output.stdout), ["read ok"]);
    assert_eq!(
        temporary_files(&root).len(),
        1,
        "the reader could not sweep"
    );
}

/// A child of [`an_unprivileged_process_can_read_but_not_write`].
fn reader_child(root: &Path) {
    let store = LocalStorage::new(root).expect("opening a read-only store");
    let key = "dists/stable/InRelease";
    let listed = block_on(store.list("")).expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let data = read(&store, key);
    assert_eq!(data, conformance::pattern(70_000, 3));
    let again = GetOptions {
        if_none_match: Some(block_on(store.head(key)).expect("head").etag),
        ..GetOptions::default()
    };
    let get = block_on(store.get(key, again)).expect("conditional get");
    assert_eq!(get, GetResult::NotModified);
    for result in [
        block_on(store.put(key, Payload::Bytes(b"x".to_vec()), PutMode::Overwrite)).map(drop),
        block_on(store.put("new", Payload::Bytes(b"x".to_vec()), PutMode::Create)).map(drop),
        block_on(store.delete(key)),
    ] {
        let err = result.expect_err("a write without permission");
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert!(err.to_string().contains(&store.to_string()), "{err}");
    }
    assert_eq!(read(&store, key), data);
    println!("child: read ok");
}

/// Lets every user traverse `dir` (whatever mode the temporary directory got).
fn make_traversable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn chmod(path: &Path, mode: &str) {
    let status = Command::new("chmod").args(["-R", mode]).arg(path).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "chmod -R {mode} {}",
        path.display()
    );
}

#[test]
fn readers_never_see_a_partial_object() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = LocalStorage::new(dir.path()).expect("a local store");
    let key = "dists/stable/main/binary-amd64/Packages";
    let versions = [
        conformance::pattern(1 << 20, 1),
        conformance::pattern(3 << 19, 2),
    ];
    block_on(store.put(key, Payload::Bytes(versions[0].clone()), PutMode::Overwrite)).expect("put");
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|n| {
            let (store, done, versions) = (store.clone(), done.clone(), versions.clone());
            let path = dir.path().join(key);
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    // As debpull reads it, and as apt reads a file: repository.
                    let data = if n == 0 {
                        read(&store, key)
                    } else {
                        std::fs::read(&path).expect("reading the file")
                    };
                    assert!(
                        versions.contains(&data),
                        "a torn read of {} bytes",
                        data.len()
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for round in 0..40 {
        let data = versions[round % 2].clone();
        block_on(store.put(key, Payload::Bytes(data), PutMode::Overwrite)).expect("put");
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().expect("a reader panicked") > 0);
    }
}

#[test]
fn keys_outside_the_root_or_reserved_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("repo");
    let store = LocalStorage::new(&root).expect("a local store");
    block_on(store.put("inside", Payload::Bytes(b"x".to_vec()), PutMode::Overwrite)).unwrap();
    for key in [
        "../outside",
        "a/../../outside",
        "/etc/passwd",
        "..",
        ".debpull",
        ".debpull/tmp/leftover",
        ".debpull/locks/00",
        ".debpullrc",
    ] {
        let put = block_on(store.put(key, Payload::Bytes(b"x".to_vec()), PutMode::Overwrite));
        let get = block_on(store.get(key, GetOptions::default()));
        let head = block_on(store.head(key));
        let delete = block_on(store.delete(key));
        for (op, kind) in [
            ("put", put.err().map(|e| e.kind())),
            ("get", get.err().map(|e| e.kind())),
            ("head", head.err().map(|e| e.kind())),
            ("delete", delete.err().map(|e| e.kind())),
        ] {
            assert_eq!(kind, Some(ErrorKind::InvalidInput), "{op} {key:?}");
        }
    }
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["repo"], "nothing was written outside the root");
    assert!(
        root.join(".debpull/locks")
            .read_dir()
            .unwrap()
            .next()
            .is_some()
    );
    for prefix in [".debpull", ".debpull/", ".debpull/locks/", "."] {
        let keys: Vec<_> = block_on(store.list(prefix))
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert!(keys.is_empty(), "list {prefix:?}: {keys:?}");
    }
    for prefix in ["../", "/", "a//", "a/../"] {
        let err = block_on(store.list(prefix)).expect_err(prefix);
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "list {prefix:?}: {err}"
        );
    }
}

#[test]
fn objects_and_directories_do_not_share_a_path() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = LocalStorage::new(dir.path()).expect("a local store");
    let put = |key: &str, mode| block_on(store.put(key, Payload::Bytes(b"x".to_vec()), mode));
    put("pool/app.deb", PutMode::Overwrite).expect("put");
    for mode in [PutMode::Overwrite, PutMode::Create] {
        let err = put("pool/app.deb/below", mode.clone()).expect_err("below an object");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(
            err.to_string().contains("\"pool/app.deb\" is an object"),
            "{err}"
        );
        let err = put("pool", mode).expect_err("a directory");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("pool: is a directory"), "{err}");
    }
    let get = block_on(store.get("pool", GetOptions::default())).expect_err("get a directory");
    assert_eq!(get.kind(), ErrorKind::NotFound);
    block_on(store.delete("pool")).expect("deleting a directory is deleting nothing");
    block_on(store.delete("pool/app.deb/below")).expect("deleting below an object");
    assert_eq!(read(&store, "pool/app.deb"), b"x");
    assert!(
        temporary_files(dir.path()).is_empty(),
        "failed puts left no temporary file"
    );
}

#[test]
fn objects_are_plain_files_with_sha256_etags() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    let store = LocalStorage::new(root).expect("a local store");
    let data = conformance::pattern(300_001, 7);
    let key = "pool/main/a/app/app_1:1.0+b1~rc1_amd64.deb";
    let meta = block_on(store.put(key, Payload::Bytes(data.clone()), PutMode::Create)).unwrap();
    assert_eq!(
        std::fs::read(root.join(key)).unwrap(),
        data,
        "the object is the file"
    );
    assert_eq!(
        meta.etag.0,
        sha256sum(&root.join(key)),
        "the ETag is the SHA-256"
    );

    // Files placed by other programs are objects too; FIFOs and dangling links are not.
    std::fs::write(root.join("by-hand"), b"copied in").unwrap();
    std::os::unix::fs::symlink(root.join("by-hand"), root.join("link")).unwrap();
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
    let status = Command::new("mkfifo").arg(root.join("fifo")).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "mkfifo (coreutils) must be installed"
    );
    let listed = block_on(store.list("")).unwrap();
    let keys: Vec<&str> = listed.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["by-hand", "link", key]);
    let by_hand = block_on(store.head("by-hand")).unwrap().etag;
    assert_eq!(by_hand.0, sha256sum(&root.join("by-hand")));
    assert_eq!(by_hand, block_on(store.head("link")).unwrap().etag);
    for missing in ["fifo", "dangling"] {
        let err = block_on(store.head(missing)).expect_err(missing);
        assert_eq!(err.kind(), ErrorKind::NotFound, "{missing}: {err}");
    }
    assert!(temporary_files(root).is_empty());
    let locks = std::fs::read_dir(root.join(".debpull/locks"))
        .unwrap()
        .count();
    assert!((1..=256).contains(&locks), "{locks} lock files");
}

fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum (coreutils) must be installed");
    assert!(
        output.status.success(),
        "sha256sum {}: {output:?}",
        path.display()
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn file_uris() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("a repo+%~é");
    let local = LocalStorage::new(&root).unwrap();
    let uri = local.to_string();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(uri.ends_with("/a%20repo%2B%25~%C3%A9"), "{uri}");
    let opened = storage::open(&uri).unwrap();
    assert_eq!(opened.to_string(), uri);
    assert_eq!(
        LocalStorage::from_uri(&uri).unwrap().root(),
        root.canonicalize().unwrap()
    );
    let localhost = uri.replacen("file://", "file://localhost", 1);
    assert_eq!(
        LocalStorage::from_uri(&localhost).unwrap().root(),
        local.root()
    );

    for (uri, kind, named) in [
        (
            "s3://Not_A_Bucket/prefix",
            ErrorKind::InvalidInput,
            "bucket name",
        ),
        ("ftp://example.org/repo", ErrorKind::Unsupported, "\"ftp\""),
        ("/srv/repo", ErrorKind::InvalidInput, "/srv/repo"),
        (
            "file:relative/path",
            ErrorKind::InvalidInput,
            "file:relative/path",
        ),
        ("file://host/srv/repo", ErrorKind::InvalidInput, "host"),
        ("file:///srv/a%2", ErrorKind::InvalidInput, "%"),
        ("file:///srv/a%+1", ErrorKind::InvalidInput, "%"),
        ("file:///srv/a%FF", ErrorKind::InvalidInput, "UTF-8"),
        ("file:///srv/a%00", ErrorKind::InvalidInput, "NUL"),
        ("file:///srv/repo?x=1", ErrorKind::InvalidInput, "query"),
        ("", ErrorKind::InvalidInput, "not a storage URI"),
    ] {
        let err = storage::open(uri).expect_err(uri);
        assert_eq!(err.kind(), kind, "{uri}: {err}");
        assert!(err.to_string().contains(named), "{uri}: {err}");
    }
}

#[test]
fn root_is_created_and_must_be_a_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let nested = dir.path().join("a/b/c");
    let store = LocalStorage::new(&nested).expect("creating nested directories");
    assert_eq!(store.root(), nested.canonicalize().unwrap());
    // Opening and reading write nothing; the first write creates .debpull/.
    assert!(block_on(store.list("")).unwrap().is_empty());
    assert!(block_on(store.head("k")).is_err());
    assert!(!nested.join(".debpull").exists(), "opening wrote .debpull/");
    block_on(store.delete("k")).unwrap();
    assert!(nested.join(".debpull/tmp").is_dir() && nested.join(".debpull/locks").is_dir());

    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let err = LocalStorage::new(&file).expect_err("a file as root");
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("plain-file"), "{err}");
    let err = LocalStorage::new("").expect_err("an empty path");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Polls a future once outside any runtime: a local store does its work inline.
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("not ready on the first poll"),
    }
}

#[test]
fn works_without_a_tokio_runtime() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store: Arc<dyn Storage> = Arc::new(LocalStorage::new(dir.path()).unwrap());
    let meta = ready(store.put("k", Payload::Bytes(b"v".to_vec()), PutMode::Create)).unwrap();
    assert_eq!(ready(store.head("k")).unwrap(), meta);
    let again = GetOptions {
        if_none_match: Some(meta.etag.clone()),
        ..GetOptions::default()
    };
    assert_eq!(
        ready(store.get("k", again)).unwrap(),
        GetResult::NotModified
    );
}

/// Random keys and prefixes from a hostile alphabet: every answer is Ok or a
/// typed error (never a panic or an I/O error), and list agrees with what was
/// written and deleted.
#[test]
fn arbitrary_keys_and_prefixes_get_typed_answers() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = LocalStorage::new(dir.path()).expect("a local store");
    let alphabet = [
        "a", "b", "/", "/", ".", "..", ".debpull", "\\", "\0", "\n", "%", ":", "+", " ", "é",
    ];
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut written = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let key: String = (0..next(8))
            .map(|_| alphabet[next(alphabet.len())])
            .collect();
        match next(4) {
            0 => match ready(store.put(&key, Payload::Bytes(vec![1]), PutMode::Overwrite)) {
                Ok(_) => {
                    written.insert(key);
                }
                // Refused keys, and keys whose parent is an object or that name a directory.
                Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "put {key:?}: {e}"),
            },
            1 => match ready(store.head(&key)) {
                Ok(_) => assert!(written.contains(&key), "head {key:?}: never written"),
                Err(e) => {
                    assert!(!written.contains(&key), "head {key:?}: {e}");
                    let kind = e.kind();
                    assert!(
                        kind == ErrorKind::InvalidInput || kind == ErrorKind::NotFound,
                        "{e}"
                    );
                }
            },
            2 => match ready(store.delete(&key)) {
                Ok(()) => {
                    written.remove(&key);
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "delete {key:?}: {e}"),
            },
            _ => match ready(store.list(&key)) {
                Ok(listed) => {
                    let keys: Vec<&String> = listed.iter().map(|m| &m.key).collect();
                    let expected: Vec<&String> =
                        written.iter().filter(|k| k.starts_with(&key)).collect();
                    assert_eq!(keys, expected, "list {key:?}");
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "list {key:?}: {e}"),
            },
        }
    }
    assert!(
        written.len() > 10,
        "too few valid keys generated: {written:?}"
    );
}
