//! The storage conformance suite (core/tests/support/storage_conformance.rs)
//! against the local directory backend: each function on a fresh directory, all
//! of them in turn on one store opened from its `file://` URI, and all of them
//! at once on one store.

#[path = "support/storage_conformance.rs"]
mod conformance;

use std::sync::Arc;

use debpull::storage::{self, LocalStorage, Storage};

/// A fresh local store in a temporary directory (kept alive by the returned guard).
fn local_store() -> (tempfile::TempDir, Arc<dyn Storage>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = LocalStorage::new(dir.path().join("repo")).expect("a local store");
    (dir, Arc::new(store))
}

conformance_tests!(local_store());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_all_on_one_store_opened_by_uri() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("repo with space+plus");
    let uri = format!("file://{}", root.display()).replace(' ', "%20");
    let store = storage::open(&uri).expect("storage::open");
    assert!(root.is_dir(), "open created the root directory");
    let local = LocalStorage::new(&root).expect("the same directory");
    assert_eq!(
        store.to_string(),
        local.to_string(),
        "Display of the opened store"
    );
    conformance::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_at_once_on_one_store() {
    // The functions keep to their own prefixes: they can share a store concurrently.
    let (_dir, store) = local_store();
    conformance::run_all_at_once(store).await;
}
