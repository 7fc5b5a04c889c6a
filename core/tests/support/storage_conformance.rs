//! The storage conformance suite: what every [`Storage`] backend must do,
//! written against `Arc<dyn Storage>` only. Each backend's test runs these
//! functions (one test each, or all through [`run_all`]).
//!
//! Each function works under its own top-level prefix (`conformance-<name>/`),
//! so they may share one store and run concurrently; they leave their objects
//! behind. Guaranteed about ETags: they change when the content changes, and
//! put, get, head and list agree on them. Not guaranteed: that identical
//! content written twice gets the same ETag.
//!
//! A backend without conditional puts (`capabilities().conditional_put ==
//! false`) must refuse Create and Update with `Unsupported` and write nothing;
//! without conditional gets it must answer every get with the object.
//!
//! The read functions ([`max_size`], [`if_modified_since`], [`stream_from`])
//! take a `writer` and a `reader`: the same store for a writable backend, or a
//! writable store and a read-only one that serves the same objects (the HTTP
//! backend in front of a directory or a bucket).

use std::fmt::Debug;
use std::io::Write as _;
use std::sync::Arc;

use std::time::{Duration, SystemTime};

use debpull::storage::{ETag, GetOptions, GetResult, ObjectMeta, Payload, PutMode, Storage};
use debpull::{Error, ErrorKind, Result};
use tokio::io::AsyncReadExt as _;
use tokio::sync::Barrier;

/// How many concurrent tasks the concurrency tests start.
pub const TASKS: usize = 8;
/// How many increments each task makes in [`concurrent_updates`].
pub const INCREMENTS: usize = 10;
/// How many races [`concurrent_creates`] runs.
pub const ROUNDS: usize = 20;

/// Runs every conformance test against `store`, one after the other.
pub async fn run_all(store: Arc<dyn Storage>) {
    round_trip(&store).await;
    etags(&store).await;
    create_only(&store).await;
    update_if_etag(&store).await;
    conditional_get(&store).await;
    missing_keys(&store).await;
    delete(&store).await;
    list_prefixes(&store).await;
    debian_keys(&store).await;
    invalid_keys(&store).await;
    concurrent_updates(&store).await;
    concurrent_creates(&store).await;
    max_size(&store, &store).await;
    if_modified_since(&store, &store).await;
    stream_from(&store, &store).await;
}

/// Runs every conformance test against `store` at once (they keep to their
/// own prefixes, so they can share a store).
pub async fn run_all_at_once(store: Arc<dyn Storage>) {
    tokio::join!(
        round_trip(&store),
        etags(&store),
        create_only(&store),
        update_if_etag(&store),
        conditional_get(&store),
        missing_keys(&store),
        delete(&store),
        list_prefixes(&store),
        debian_keys(&store),
        invalid_keys(&store),
        concurrent_updates(&store),
        concurrent_creates(&store),
        max_size(&store, &store),
        if_modified_since(&store, &store),
        stream_from(&store, &store),
    );
}

/// Defines one `#[tokio::test]` per conformance function, each on a fresh
/// store from `$fresh` (an expression giving `(guard, Arc<dyn Storage>)`; the
/// guard lives as long as the test). The including file names this module
/// `conformance`.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@each $fresh; round_trip, etags, create_only,
            update_if_etag, conditional_get, missing_keys, delete, list_prefixes,
            debian_keys, invalid_keys, concurrent_updates, concurrent_creates);
        $crate::conformance_tests!(@read $fresh; max_size, if_modified_since, stream_from);
    };
    (@read $fresh:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh;
                $crate::conformance::$name(&store, &store).await;
            }
        )*
    };
    (@each $fresh:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, store) = $fresh;
                $crate::conformance::$name(&store).await;
            }
        )*
    };
}

/// Deterministic pseudo-random bytes (xorshift64*), different for each seed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Reads `key`, which must exist; returns its content and metadata.
pub async fn read(store: &Arc<dyn Storage>, key: &str) -> (Vec<u8>, ObjectMeta) {
    match store.get(key, GetOptions::default()).await {
        Ok(GetResult::Found { data, meta }) => (data, meta),
        Ok(GetResult::NotModified) => panic!("{store}: get {key:?} without condition: NotModified"),
        Err(e) => panic!("{store}: get {key:?}: {e:?}"),
    }
}

/// Asserts that `result` failed with `kind` and that the message names the
/// store and `key`; returns the error.
pub fn expect_error<T: Debug>(
    store: &Arc<dyn Storage>,
    result: Result<T>,
    kind: ErrorKind,
    key: &str,
    what: &str,
) -> Error {
    let err = match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), kind, "{what}: {err:?}");
    let message = err.to_string();
    assert!(
        message.contains(key) || message.contains(&format!("{key:?}")),
        "{what}: the message does not name the key {key:?}: {message}"
    );
    assert!(
        message.contains(&store.to_string()),
        "{what}: the message does not name the store {store}: {message}"
    );
    err
}

async fn put(store: &Arc<dyn Storage>, key: &str, data: &[u8], mode: PutMode) -> ObjectMeta {
    let meta = store
        .put(key, Payload::Bytes(data.to_vec()), mode.clone())
        .await
        .unwrap_or_else(|e| panic!("{store}: put {key:?} ({mode:?}): {e:?}"));
    assert_eq!(meta.key, key, "put {key:?}: the returned key");
    assert_eq!(
        meta.size,
        data.len() as u64,
        "put {key:?}: the returned size"
    );
    meta
}

/// Asserts that `key` holds exactly `data` under `etag`, through get and head.
async fn assert_stored(store: &Arc<dyn Storage>, key: &str, data: &[u8], etag: &ETag) {
    let (stored, meta) = read(store, key).await;
    assert!(
        stored == data,
        "{key:?}: get returned other content ({} bytes, want {})",
        stored.len(),
        data.len()
    );
    assert_eq!(meta.key, key);
    assert_eq!(meta.size, data.len() as u64, "{key:?}: size from get");
    assert_eq!(
        &meta.etag, etag,
        "{key:?}: get and put disagree on the ETag"
    );
    let head = store
        .head(key)
        .await
        .unwrap_or_else(|e| panic!("{store}: head {key:?}: {e:?}"));
    assert_eq!(head.key, key);
    assert_eq!(head.size, data.len() as u64, "{key:?}: size from head");
    assert_eq!(
        &head.etag, etag,
        "{key:?}: head and put disagree on the ETag"
    );
}

/// Put then get/head/list, for empty, small and multi-MiB payloads, from memory
/// and from a file; a file payload is copied, not referenced; a missing payload
/// file is an error that writes nothing.
pub async fn round_trip(store: &Arc<dyn Storage>) {
    let payloads = [
        ("empty", Vec::new()),
        ("small", b"Package: app\nVersion: 1.0\n".to_vec()),
        ("large", pattern(5 * 1024 * 1024 + 7, 1)),
    ];
    let mut expected = Vec::new();
    for (name, data) in &payloads {
        let key = format!("conformance-round-trip/bytes/{name}");
        let meta = put(store, &key, data, PutMode::Overwrite).await;
        assert_stored(store, &key, data, &meta.etag).await;
        expected.push(meta);

        let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
        file.write_all(data).expect("writing a temporary file");
        let key = format!("conformance-round-trip/file/{name}");
        let meta = store
            .put(
                &key,
                Payload::File(file.path().to_owned()),
                PutMode::Overwrite,
            )
            .await
            .unwrap_or_else(|e| panic!("{store}: put {key:?} from a file: {e:?}"));
        assert_eq!(
            meta.size,
            data.len() as u64,
            "put {key:?} from a file: size"
        );
        // The object is a copy: changing the source afterwards changes nothing.
        file.write_all(b"appended later").expect("appending");
        assert_stored(store, &key, data, &meta.etag).await;
        expected.push(meta);
    }
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    let listed = store
        .list("conformance-round-trip/")
        .await
        .unwrap_or_else(|e| panic!("{store}: list: {e:?}"));
    let listed: Vec<(String, u64)> = listed.iter().map(|m| (m.key.clone(), m.size)).collect();
    let expected: Vec<(String, u64)> = expected.iter().map(|m| (m.key.clone(), m.size)).collect();
    assert_eq!(listed, expected, "list agrees with put");

    let key = "conformance-round-trip/missing-payload";
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("no-such-file.deb");
    let err = store
        .put(key, Payload::File(missing.clone()), PutMode::Overwrite)
        .await
        .expect_err("put from a missing file");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "the error names the missing payload file: {err}"
    );
    expect_error(
        store,
        store.head(key).await,
        ErrorKind::NotFound,
        key,
        "head after a failed put",
    );
}

/// ETags change when the content changes; put, get, head agree; an overwrite
/// replaces the content.
pub async fn etags(store: &Arc<dyn Storage>) {
    let key = "conformance-etags/dists/staging/InRelease";
    let first = put(store, key, b"first", PutMode::Overwrite).await;
    let second = put(store, key, b"second", PutMode::Overwrite).await;
    assert_ne!(first.etag, second.etag, "the ETag changes with the content");
    assert_stored(store, key, b"second", &second.etag).await;
    // Same length, different bytes.
    let third = put(store, key, b"sec0nd", PutMode::Overwrite).await;
    assert_ne!(
        third.etag, second.etag,
        "the ETag changes with same-size content"
    );
    assert_stored(store, key, b"sec0nd", &third.etag).await;
    let other = put(
        store,
        "conformance-etags/other",
        b"first!",
        PutMode::Overwrite,
    )
    .await;
    assert_ne!(other.etag, first.etag, "different content, different ETag");
}

/// Create succeeds once; on an existing key it fails with ConcurrentUpdate and
/// leaves the object unchanged.
pub async fn create_only(store: &Arc<dyn Storage>) {
    let key = "conformance-create/pool/main/a/app/app_1.0_amd64.deb";
    if !store.capabilities().conditional_put {
        let result = store
            .put(key, Payload::Bytes(b"x".to_vec()), PutMode::Create)
            .await;
        expect_error(
            store,
            result,
            ErrorKind::Unsupported,
            key,
            "Create without conditional_put",
        );
        expect_error(
            store,
            store.head(key).await,
            ErrorKind::NotFound,
            key,
            "nothing written",
        );
        return;
    }
    let created = put(store, key, b"the first build", PutMode::Create).await;
    assert_stored(store, key, b"the first build", &created.etag).await;
    for data in [&b"another build"[..], b"the first build"] {
        let result = store
            .put(key, Payload::Bytes(data.to_vec()), PutMode::Create)
            .await;
        expect_error(
            store,
            result,
            ErrorKind::ConcurrentUpdate,
            key,
            "Create on an existing key",
        );
        assert_stored(store, key, b"the first build", &created.etag).await;
    }
    // From a file too.
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(b"from a file").expect("writing");
    let result = store
        .put(key, Payload::File(file.path().to_owned()), PutMode::Create)
        .await;
    expect_error(
        store,
        result,
        ErrorKind::ConcurrentUpdate,
        key,
        "Create from a file",
    );
    assert_stored(store, key, b"the first build", &created.etag).await;
    // Deleted, the key can be created again.
    store.delete(key).await.expect("delete");
    let again = put(store, key, b"rebuilt", PutMode::Create).await;
    assert_stored(store, key, b"rebuilt", &again.etag).await;
}

/// Update with the current ETag succeeds; with a stale one, or on a missing key,
/// it fails with ConcurrentUpdate and writes nothing.
pub async fn update_if_etag(store: &Arc<dyn Storage>) {
    let key = "conformance-update/dists/production/InRelease";
    let first = put(store, key, b"Date: one", PutMode::Overwrite).await;
    if !store.capabilities().conditional_put {
        let result = store
            .put(
                key,
                Payload::Bytes(b"x".to_vec()),
                PutMode::Update(first.etag.clone()),
            )
            .await;
        expect_error(
            store,
            result,
            ErrorKind::Unsupported,
            key,
            "Update without conditional_put",
        );
        assert_stored(store, key, b"Date: one", &first.etag).await;
        return;
    }
    let second = put(
        store,
        key,
        b"Date: two",
        PutMode::Update(first.etag.clone()),
    )
    .await;
    assert_ne!(first.etag, second.etag);
    assert_stored(store, key, b"Date: two", &second.etag).await;

    let stale = store
        .put(
            key,
            Payload::Bytes(b"Date: lost".to_vec()),
            PutMode::Update(first.etag.clone()),
        )
        .await;
    expect_error(
        store,
        stale,
        ErrorKind::ConcurrentUpdate,
        key,
        "Update with a stale ETag",
    );
    assert_stored(store, key, b"Date: two", &second.etag).await;

    let made_up = ETag("0123456789abcdef".to_owned());
    let result = store
        .put(
            key,
            Payload::Bytes(b"Date: lost".to_vec()),
            PutMode::Update(made_up),
        )
        .await;
    expect_error(
        store,
        result,
        ErrorKind::ConcurrentUpdate,
        key,
        "Update with an unknown ETag",
    );
    assert_stored(store, key, b"Date: two", &second.etag).await;

    let third = put(
        store,
        key,
        b"Date: three",
        PutMode::Update(second.etag.clone()),
    )
    .await;
    assert_stored(store, key, b"Date: three", &third.etag).await;

    let missing = "conformance-update/dists/missing/InRelease";
    let result = store
        .put(
            missing,
            Payload::Bytes(b"x".to_vec()),
            PutMode::Update(third.etag.clone()),
        )
        .await;
    expect_error(
        store,
        result,
        ErrorKind::ConcurrentUpdate,
        missing,
        "Update on a missing key",
    );
    expect_error(
        store,
        store.head(missing).await,
        ErrorKind::NotFound,
        missing,
        "nothing written",
    );
}

/// A get with if_none_match is NotModified while the ETag matches, the object otherwise.
pub async fn conditional_get(store: &Arc<dyn Storage>) {
    let key = "conformance-get/dists/staging/InRelease";
    let first = put(
        store,
        key,
        b"Suite: staging\nDate: one\n",
        PutMode::Overwrite,
    )
    .await;
    let conditional = |etag: &ETag| GetOptions {
        if_none_match: Some(etag.clone()),
        ..GetOptions::default()
    };
    let same = store
        .get(key, conditional(&first.etag))
        .await
        .expect("conditional get");
    if store.capabilities().conditional_get {
        assert_eq!(
            same,
            GetResult::NotModified,
            "if_none_match with the current ETag"
        );
    } else {
        assert!(
            matches!(same, GetResult::Found { .. }),
            "without conditional_get: Found"
        );
    }

    let second = put(
        store,
        key,
        b"Suite: staging\nDate: two\n",
        PutMode::Overwrite,
    )
    .await;
    match store
        .get(key, conditional(&first.etag))
        .await
        .expect("conditional get")
    {
        GetResult::Found { data, meta } => {
            assert_eq!(data, b"Suite: staging\nDate: two\n");
            assert_eq!(meta.etag, second.etag);
        }
        GetResult::NotModified => panic!("{key:?}: NotModified after the content changed"),
    }
    let other = ETag("not-an-etag-of-this-store".to_owned());
    assert!(
        matches!(
            store.get(key, conditional(&other)).await,
            Ok(GetResult::Found { .. })
        ),
        "if_none_match with another ETag: Found"
    );
    let missing = "conformance-get/dists/missing/InRelease";
    let result = store.get(missing, conditional(&second.etag)).await;
    expect_error(
        store,
        result,
        ErrorKind::NotFound,
        missing,
        "conditional get of a missing key",
    );
}

/// get and head of a missing key are NotFound, also where the key is only a
/// prefix of other keys ("a directory").
pub async fn missing_keys(store: &Arc<dyn Storage>) {
    put(
        store,
        "conformance-missing/dir/object",
        b"x",
        PutMode::Overwrite,
    )
    .await;
    for key in [
        "conformance-missing/never-written",
        "conformance-missing/dir",
        "conformance-missing/dir/object/below",
        "conformance-missing/dir/obj",
        "conformance-missing/nowhere/deep/key",
    ] {
        let get = store.get(key, GetOptions::default()).await;
        expect_error(store, get, ErrorKind::NotFound, key, "get of a missing key");
        expect_error(
            store,
            store.head(key).await,
            ErrorKind::NotFound,
            key,
            "head of a missing key",
        );
    }
}

/// delete removes one object only, and deleting what is not there is Ok.
pub async fn delete(store: &Arc<dyn Storage>) {
    let key = "conformance-delete/pool/app_1.0_all.deb";
    for (sibling, data) in [
        (
            "conformance-delete/pool/app_1.0_all.deb2",
            &b"longer name"[..],
        ),
        ("conformance-delete/pool/app_1.0_all", b"shorter name"),
        ("conformance-delete/pool/app_2.0_all.deb", b"other"),
    ] {
        put(store, sibling, data, PutMode::Overwrite).await;
    }
    put(store, key, b"doomed", PutMode::Overwrite).await;
    store.delete(key).await.expect("delete");
    expect_error(
        store,
        store.head(key).await,
        ErrorKind::NotFound,
        key,
        "head after delete",
    );
    let get = store.get(key, GetOptions::default()).await;
    expect_error(store, get, ErrorKind::NotFound, key, "get after delete");
    store.delete(key).await.expect("deleting again is Ok");
    store
        .delete("conformance-delete/never/written")
        .await
        .expect("deleting a never-written key is Ok");
    let keys: Vec<String> = list_keys(store, "conformance-delete/").await;
    assert_eq!(
        keys,
        [
            "conformance-delete/pool/app_1.0_all",
            "conformance-delete/pool/app_1.0_all.deb2",
            "conformance-delete/pool/app_2.0_all.deb",
        ],
        "delete removed exactly its key"
    );
}

async fn list_keys(store: &Arc<dyn Storage>, prefix: &str) -> Vec<String> {
    let listed = store
        .list(prefix)
        .await
        .unwrap_or_else(|e| panic!("{store}: list {prefix:?}: {e:?}"));
    listed.into_iter().map(|m| m.key).collect()
}

/// list returns the objects whose key starts with a plain string prefix, sorted,
/// with the metadata put returned; a prefix matching nothing is an empty list.
pub async fn list_prefixes(store: &Arc<dyn Storage>) {
    let base = "conformance-list/";
    // Written out of order, nested, with names that sort around the separator.
    let keys = [
        "b/d/e", "bc", "a", "b/c", "ab", "b-x", "b.x", "b/d/f", "c/z", "b0",
    ];
    let mut metas = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let key = format!("{base}{key}");
        metas.push(put(store, &key, &pattern(i * 10, i as u64), PutMode::Overwrite).await);
    }
    put(
        store,
        "conformance-listx/outside",
        b"not under the base",
        PutMode::Overwrite,
    )
    .await;
    metas.sort_by(|a, b| a.key.cmp(&b.key));

    let all = store.list(base).await.expect("list");
    let listed: Vec<(String, u64)> = all.iter().map(|m| (m.key.clone(), m.size)).collect();
    let expected: Vec<(String, u64)> = metas.iter().map(|m| (m.key.clone(), m.size)).collect();
    assert_eq!(listed, expected, "list {base:?}: keys and sizes");

    let expect = |wanted: &[&str]| -> Vec<String> {
        let mut keys: Vec<String> = wanted.iter().map(|k| format!("{base}{k}")).collect();
        keys.sort();
        keys
    };
    let cases: [(&str, &[&str]); 9] = [
        ("b", &["b/d/e", "bc", "b/c", "b-x", "b.x", "b/d/f", "b0"]),
        ("b/", &["b/c", "b/d/e", "b/d/f"]),
        ("b/d", &["b/d/e", "b/d/f"]),
        ("b/d/", &["b/d/e", "b/d/f"]),
        ("b/d/e", &["b/d/e"]),
        ("a", &["a", "ab"]),
        ("c/", &["c/z"]),
        ("zz", &[]),
        ("nowhere/deeper/", &[]),
    ];
    for (prefix, wanted) in cases {
        let prefix = format!("{base}{prefix}");
        assert_eq!(
            list_keys(store, &prefix).await,
            expect(wanted),
            "list {prefix:?}"
        );
    }
    // The empty prefix lists the whole store, sorted (other tests' keys included).
    let everything = list_keys(store, "").await;
    assert!(
        everything.windows(2).all(|w| w[0] < w[1]),
        "list \"\" is sorted"
    );
    for meta in &metas {
        assert!(everything.contains(&meta.key), "list \"\" has {}", meta.key);
    }
    assert!(everything.iter().any(|k| k == "conformance-listx/outside"));

    store.delete(&format!("{base}b/c")).await.expect("delete");
    assert_eq!(
        list_keys(store, &format!("{base}b/")).await,
        expect(&["b/d/e", "b/d/f"])
    );
}

/// Keys with the characters Debian versions and file names use (`+ ~ : . _ -`),
/// and `%`, spaces, `=`, `&`, `@`, non-ASCII: stored, read and listed verbatim.
pub async fn debian_keys(store: &Arc<dyn Storage>) {
    let keys = [
        "conformance-keys/pool/main/a/app/app_1:2.0+b1~rc1-3_amd64.deb",
        "conformance-keys/pool/main/liba/libapp++/libapp++_1.0~~alpha+dfsg_all.deb",
        "conformance-keys/by-hash/SHA256/e3b0c44298fc1c149afbf4c8996fb924",
        "conformance-keys/with space/and%20percent%",
        "conformance-keys/odd=&@,;!$'()[]*",
        "conformance-keys/unicodé/ключ",
    ];
    for (i, key) in keys.iter().enumerate() {
        let data = pattern(100 + i, i as u64 + 100);
        let meta = put(store, key, &data, PutMode::Overwrite).await;
        assert_stored(store, key, &data, &meta.etag).await;
    }
    let mut sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    assert_eq!(list_keys(store, "conformance-keys/").await, sorted);
    assert_eq!(
        list_keys(store, "conformance-keys/pool/main/a/app/app_1:2.0+").await,
        [keys[0]],
        "a prefix with + and :"
    );
    for key in keys {
        store.delete(key).await.expect("delete");
    }
    assert!(list_keys(store, "conformance-keys/").await.is_empty());
}

/// Keys that are not clean relative paths are refused with InvalidInput by every
/// operation, and nothing is written.
pub async fn invalid_keys(store: &Arc<dyn Storage>) {
    for key in [
        "",
        "/conformance-invalid/absolute",
        "conformance-invalid//double",
        "conformance-invalid/./dot",
        "conformance-invalid/../escape",
        "../conformance-invalid",
        "conformance-invalid/trailing/",
        "conformance-invalid\\backslash",
        "conformance-invalid/nul\0byte",
        "conformance-invalid/new\nline",
    ] {
        let what = |op: &str| format!("{op} {key:?}");
        let result = store
            .put(key, Payload::Bytes(b"x".to_vec()), PutMode::Overwrite)
            .await;
        expect_error(store, result, ErrorKind::InvalidInput, key, &what("put"));
        let result = store
            .put(key, Payload::Bytes(b"x".to_vec()), PutMode::Create)
            .await;
        expect_error(
            store,
            result,
            ErrorKind::InvalidInput,
            key,
            &what("put create"),
        );
        let result = store.get(key, GetOptions::default()).await;
        expect_error(store, result, ErrorKind::InvalidInput, key, &what("get"));
        expect_error(
            store,
            store.head(key).await,
            ErrorKind::InvalidInput,
            key,
            &what("head"),
        );
        expect_error(
            store,
            store.delete(key).await,
            ErrorKind::InvalidInput,
            key,
            &what("delete"),
        );
    }
    let everything = list_keys(store, "").await;
    assert!(
        !everything.iter().any(|k| k.contains("conformance-invalid")),
        "an invalid key was written: {everything:?}"
    );
}

/// TASKS tasks each increment a counter INCREMENTS times by read-modify-write
/// with Update, retrying on ConcurrentUpdate: no increment is lost or doubled.
pub async fn concurrent_updates(store: &Arc<dyn Storage>) {
    let key = "conformance-concurrency/counter";
    if !store.capabilities().conditional_put {
        return; // create_only and update_if_etag check the refusal.
    }
    put(store, key, b"0", PutMode::Create).await;
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut written = Vec::new();
            let mut conflicts = 0;
            for _ in 0..INCREMENTS {
                loop {
                    let (data, meta) = read(&store, key).await;
                    let value: usize = std::str::from_utf8(&data)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| panic!("{key:?} holds {data:?}, not a number"));
                    let next = (value + 1).to_string().into_bytes();
                    match store
                        .put(key, Payload::Bytes(next), PutMode::Update(meta.etag))
                        .await
                    {
                        Ok(_) => {
                            written.push(value + 1);
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => {
                            conflicts += 1;
                            assert!(conflicts < 100_000, "no progress on {key:?}");
                        }
                        Err(e) => panic!("{store}: update {key:?}: {e:?}"),
                    }
                }
            }
            written
        }));
    }
    let mut written = Vec::new();
    for task in tasks {
        written.extend(task.await.expect("a counter task panicked"));
    }
    written.sort_unstable();
    let total = TASKS * INCREMENTS;
    assert_eq!(
        written,
        (1..=total).collect::<Vec<_>>(),
        "each value written exactly once"
    );
    let (data, _) = read(store, key).await;
    assert_eq!(data, total.to_string().into_bytes(), "the final count");
}

/// TASKS tasks race to Create one key, ROUNDS times: each time exactly one
/// wins, the others get ConcurrentUpdate, and the winner's content is stored.
pub async fn concurrent_creates(store: &Arc<dyn Storage>) {
    if !store.capabilities().conditional_put {
        return;
    }
    for round in 0..ROUNDS {
        let key: Arc<str> = format!("conformance-concurrency/created-{round}").into();
        let barrier = Arc::new(Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for i in 0..TASKS {
            let (store, barrier, key) = (store.clone(), barrier.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let data = pattern(1024 + i, (round * TASKS + i) as u64);
                barrier.wait().await;
                let result = store
                    .put(&key, Payload::Bytes(data.clone()), PutMode::Create)
                    .await;
                (data, result)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (data, result) = task.await.expect("a create task panicked");
            match result {
                Ok(meta) => winners.push((data, meta)),
                Err(e) => {
                    let losing = Err::<(), _>(e);
                    expect_error(
                        store,
                        losing,
                        ErrorKind::ConcurrentUpdate,
                        &key,
                        "losing Create",
                    );
                }
            }
        }
        assert_eq!(winners.len(), 1, "{key:?}: exactly one Create wins");
        let (data, meta) = &winners[0];
        assert_stored(store, &key, data, &meta.etag).await;
    }
}

/// A get with `max_size` returns objects up to the limit and refuses larger
/// ones with LimitExceeded naming the key and the limit.
pub async fn max_size(writer: &Arc<dyn Storage>, reader: &Arc<dyn Storage>) {
    let key = "conformance-max-size/pool/main/a/app/app_1.0_all.deb";
    let data = pattern(100_000, 41);
    put(writer, key, &data, PutMode::Overwrite).await;
    let empty = "conformance-max-size/empty";
    put(writer, empty, b"", PutMode::Overwrite).await;
    let limited = |limit| GetOptions {
        max_size: Some(limit),
        ..GetOptions::default()
    };
    for limit in [100_000, 100_001, u64::MAX] {
        match reader.get(key, limited(limit)).await {
            Ok(GetResult::Found { data: got, meta }) => {
                assert!(got == data, "max_size {limit}: other content");
                assert_eq!(meta.size, 100_000);
            }
            other => panic!("{reader}: get {key:?} with max_size {limit}: {other:?}"),
        }
    }
    for limit in [99_999, 1_000, 0] {
        let err = expect_error(
            reader,
            reader.get(key, limited(limit)).await,
            ErrorKind::LimitExceeded,
            key,
            "get over max_size",
        );
        assert!(
            err.to_string().contains(&limit.to_string()),
            "the error names the limit {limit}: {err}"
        );
    }
    assert!(
        matches!(reader.get(empty, limited(0)).await, Ok(GetResult::Found { data, .. }) if data.is_empty()),
        "an empty object fits max_size 0"
    );
    let missing = "conformance-max-size/missing";
    let result = reader.get(missing, limited(10)).await;
    expect_error(
        reader,
        result,
        ErrorKind::NotFound,
        missing,
        "missing with max_size",
    );
}

/// A get with `if_modified_since` (and no ETag condition) is NotModified at
/// the object's modification time (whole seconds), the object before; head
/// reports that time. An ETag condition that fails wins over the date. (A
/// time after the modification is not checked: an HTTP server may answer it
/// with the object, and a reader must not decide "not modified" by itself.)
pub async fn if_modified_since(writer: &Arc<dyn Storage>, reader: &Arc<dyn Storage>) {
    let key = "conformance-ims/dists/staging/InRelease";
    put(writer, key, b"Suite: staging\n", PutMode::Overwrite).await;
    let head = reader
        .head(key)
        .await
        .unwrap_or_else(|e| panic!("{reader}: head {key:?}: {e:?}"));
    let modified = head
        .last_modified
        .unwrap_or_else(|| panic!("{reader}: head {key:?} gives no modification time"));
    let since = |time: SystemTime| GetOptions {
        if_modified_since: Some(time),
        ..GetOptions::default()
    };
    assert_eq!(
        reader.get(key, since(modified)).await.expect("get"),
        GetResult::NotModified,
        "{reader}: if_modified_since {modified:?}, its modification time"
    );
    let whole_second = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs(),
        );
    for time in [
        whole_second - Duration::from_secs(1),
        whole_second - Duration::from_secs(86_400),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1),
    ] {
        match reader.get(key, since(time)).await.expect("get") {
            GetResult::Found { data, meta } => {
                assert_eq!(data, b"Suite: staging\n");
                assert!(meta.last_modified.is_some(), "get gives the time too");
            }
            GetResult::NotModified => {
                panic!("{reader}: NotModified since {time:?}, modified {modified:?}")
            }
        }
    }
    if !head.etag.0.is_empty() {
        let stale = GetOptions {
            if_none_match: Some(ETag("\"not-the-current-etag\"".to_owned())),
            if_modified_since: Some(modified),
            ..GetOptions::default()
        };
        assert!(
            matches!(reader.get(key, stale).await, Ok(GetResult::Found { .. })),
            "{reader}: a failing ETag condition wins over the date"
        );
    }
    let missing = "conformance-ims/missing";
    let result = reader.get(missing, since(modified)).await;
    expect_error(
        reader,
        result,
        ErrorKind::NotFound,
        missing,
        "if_modified_since of a missing key",
    );
}

/// Reads a whole stream, checking its announced size and offset.
pub async fn read_stream_from(
    store: &Arc<dyn Storage>,
    key: &str,
    offset: u64,
) -> Result<(u64, Vec<u8>)> {
    let mut stream = store.get_stream_from(key, offset).await?;
    assert_eq!(
        stream.offset, offset,
        "{store}: {key:?}: the stream's offset"
    );
    let mut data = Vec::new();
    stream
        .reader
        .read_to_end(&mut data)
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("{store}: {key}: reading: {e}")))?;
    Ok((stream.size, data))
}

/// get_stream and get_stream_from at offsets from 0 to the size: the object's
/// size and the bytes from the offset on; past the end is InvalidInput; a
/// missing key NotFound.
pub async fn stream_from(writer: &Arc<dyn Storage>, reader: &Arc<dyn Storage>) {
    let key = "conformance-stream/pool/main/a/app/app_1:2.0+b1~rc1_amd64.deb";
    let data = pattern(300_007, 43);
    let len = data.len() as u64;
    put(writer, key, &data, PutMode::Overwrite).await;
    let mut whole = reader
        .get_stream(key)
        .await
        .unwrap_or_else(|e| panic!("{reader}: get_stream {key:?}: {e:?}"));
    assert_eq!(
        (whole.size, whole.offset),
        (len, 0),
        "get_stream: size and offset"
    );
    let mut got = Vec::new();
    whole
        .reader
        .read_to_end(&mut got)
        .await
        .expect("reading the stream");
    assert!(
        got == data,
        "get_stream: other content ({} bytes)",
        got.len()
    );
    for offset in [0, 1, 65_536, 150_000, len - 1, len] {
        let (size, got) = read_stream_from(reader, key, offset)
            .await
            .unwrap_or_else(|e| panic!("get_stream_from {offset}: {e:?}"));
        assert_eq!(size, len, "get_stream_from {offset}: the object's size");
        assert!(
            got == data[offset as usize..],
            "get_stream_from {offset}: {} bytes, not the {} from the offset on",
            got.len(),
            len - offset
        );
    }
    for offset in [len + 1, len + 1_000_000] {
        let err = expect_error(
            reader,
            reader.get_stream_from(key, offset).await,
            ErrorKind::InvalidInput,
            key,
            "get_stream_from past the end",
        );
        assert!(err.to_string().contains(&offset.to_string()), "{err}");
    }
    let empty = "conformance-stream/empty";
    put(writer, empty, b"", PutMode::Overwrite).await;
    let (size, got) = read_stream_from(reader, empty, 0)
        .await
        .expect("an empty stream");
    assert_eq!((size, got.len()), (0, 0));
    let missing = "conformance-stream/missing";
    expect_error(
        reader,
        reader.get_stream_from(missing, 10).await,
        ErrorKind::NotFound,
        missing,
        "get_stream_from of a missing key",
    );
    expect_error(
        reader,
        reader.get_stream(missing).await,
        ErrorKind::NotFound,
        missing,
        "get_stream of a missing key",
    );
}
