//! The storage backends the repository tests run on: the local directory and S3
//! (moto on loopback, see `moto.rs`). A test written once against
//! `Arc<dyn Storage>` runs on both through [`backend_tests!`].
//!
//! Include next to `moto.rs`:
//! ```ignore
//! #[path = "support/moto.rs"]
//! mod moto;
//! #[path = "support/backends.rs"]
//! mod backends;
//! ```

use std::path::Path;
use std::sync::Arc;

use debpull::storage::{
    GetOptions, GetResult, LocalStorage, Payload, PutMode, S3Credentials, S3Options, S3Storage,
    Storage,
};

use crate::moto::{Credentials, Moto, REGION};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A directory under the test's temporary directory.
    Local,
    /// A fresh bucket on this test binary's shared moto server.
    S3,
}

/// A new, empty store of `backend`; local ones live in `dir/repo`.
pub fn new_store(backend: Backend, dir: &Path) -> Arc<dyn Storage> {
    match backend {
        Backend::Local => Arc::new(LocalStorage::new(dir.join("repo")).expect("a local store")),
        Backend::S3 => {
            let moto = Moto::shared();
            let bucket = moto.create_bucket("repo");
            Arc::new(S3Storage::new(s3_options(moto, &bucket, moto.credentials())).unwrap())
        }
    }
}

/// Options for `bucket` on `moto` (path-style, its region) with `credentials`.
pub fn s3_options(moto: &Moto, bucket: &str, credentials: &Credentials) -> S3Options {
    let mut options = S3Options::new(bucket);
    options.endpoint = Some(moto.endpoint());
    options.region = Some(REGION.to_owned());
    options.force_path_style = true;
    options.credentials = S3Credentials::Static {
        access_key_id: credentials.access_key_id.clone(),
        secret_access_key: credentials.secret_access_key.clone(),
        session_token: credentials.session_token.clone(),
    };
    options
}

/// The content of `key`, which must exist.
pub async fn read(store: &Arc<dyn Storage>, key: &str) -> Vec<u8> {
    match store.get(key, GetOptions::default()).await {
        Ok(GetResult::Found { data, .. }) => data,
        other => panic!("{store}: get {key}: {other:?}"),
    }
}

/// Overwrites `key` with `data` (to damage a repository on purpose).
pub async fn write(store: &Arc<dyn Storage>, key: &str, data: &[u8]) {
    store
        .put(key, Payload::Bytes(data.to_vec()), PutMode::Overwrite)
        .await
        .unwrap_or_else(|e| panic!("{store}: put {key}: {e}"));
}

/// Whether `key` exists.
pub async fn exists(store: &Arc<dyn Storage>, key: &str) -> bool {
    match store.head(key).await {
        Ok(_) => true,
        Err(e) if e.kind() == debpull::ErrorKind::NotFound => false,
        Err(e) => panic!("{store}: head {key}: {e}"),
    }
}

/// Every key under `prefix`.
pub async fn keys(store: &Arc<dyn Storage>, prefix: &str) -> Vec<String> {
    store
        .list(prefix)
        .await
        .unwrap_or_else(|e| panic!("{store}: list {prefix}: {e}"))
        .into_iter()
        .map(|entry| entry.key)
        .collect()
}

/// Runs each `async fn NAME(backend: Backend)` of the list on both backends, as
/// the tests `local::NAME` and `s3::NAME`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::backends::Backend::Local).await
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::backends::Backend::S3).await
                }
            )*
        }
    };
}
