//! The pool: `.deb` files under `pool/<component>/<prefix>/<source>/`, shared by
//! every suite, written create-only and never overwritten.

use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt as _;

use crate::checksum::{Algorithm, Algorithms, Hasher};
use crate::deb::{self, InspectOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;
use crate::storage::{Payload, Storage};

use super::{Progress, Replace};

/// Reads and hashes `debs` on every core, off the async runtime.
pub(super) async fn inspect(
    debs: &[PathBuf],
    algorithms: Algorithms,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Vec<Package>> {
    if debs.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "no .deb file to publish",
        ));
    }
    let paths = debs.to_vec();
    let options = InspectOptions {
        // SHA256 is what identifies content, whatever else is written.
        algorithms: algorithms.with(Algorithm::Sha256),
        ..InspectOptions::default()
    };
    let results = tokio::task::spawn_blocking(move || deb::inspect_all(&paths, &options))
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("reading the .deb files failed: {e}")))?;
    let mut packages = Vec::with_capacity(results.len());
    for (path, result) in debs.iter().zip(results) {
        let package = result?;
        progress(Progress::Hashed {
            path: path.clone(),
            bytes: package.size(),
        });
        packages.push(package);
    }
    Ok(packages)
}

/// Uploads the file of `package` (read from `path`) to its pool path and
/// returns the package with its Filename set.
///
/// The path is written create-only. If it exists with the same content, that is
/// success. With other content: a [`ErrorKind::Conflict`], or with
/// [`Replace::Always`] the file goes to a pool path of its own (a directory named
/// after its SHA256), so that readers of older snapshots keep theirs.
pub(super) async fn upload(
    storage: &dyn Storage,
    package: &Package,
    path: &Path,
    component: &str,
    replace: Replace,
    progress: &(dyn Fn(Progress) + Send + Sync),
    reused: &mut Vec<(String, Payload)>,
) -> Result<Package> {
    let canonical = package.pool_path(component);
    if put_once(storage, &canonical, path, package, progress, reused).await? {
        return placed(package, canonical);
    }
    if replace == Replace::Never {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "{storage}/{canonical} already holds other content than {} (sha256 {}); publish with replacement to substitute it",
                path.display(),
                package.sha256_hex().unwrap_or_default()
            ),
        ));
    }
    let hex = package.sha256_hex().unwrap_or_default();
    let (dir, file) = canonical.rsplit_once('/').unwrap_or(("pool", &canonical));
    let own = format!("{dir}/{}/{file}", &hex[..hex.len().min(16)]);
    if put_once(storage, &own, path, package, progress, reused).await? {
        return placed(package, own);
    }
    Err(Error::new(
        ErrorKind::Conflict,
        format!(
            "{storage}/{own} already holds other content than {}",
            path.display()
        ),
    ))
}

/// Writes `path` at `key` unless something is there; `true` if `key` now holds
/// the package's content (written now, or found identical and rewritten: see
/// [`super::touch`]).
async fn put_once(
    storage: &dyn Storage,
    key: &str,
    path: &Path,
    package: &Package,
    progress: &(dyn Fn(Progress) + Send + Sync),
    reused: &mut Vec<(String, Payload)>,
) -> Result<bool> {
    let payload = Payload::File(path.to_owned());
    if super::put_new(storage, key, payload.clone(), package.size(), progress).await? {
        return Ok(true);
    }
    if !holds(storage, key, package).await? {
        return Ok(false);
    }
    super::touch(storage, key, payload, reused).await?;
    Ok(true)
}

/// Whether the object at `key` has the package's size and SHA256.
pub(super) async fn holds(storage: &dyn Storage, key: &str, package: &Package) -> Result<bool> {
    let meta = storage.head(key).await?;
    if meta.size != package.size() {
        return Ok(false);
    }
    // Streamed: a pool file may be far larger than memory should hold.
    let mut stream = storage.get_stream(key).await?;
    let mut hasher = Hasher::new(Algorithms::NONE.with(Algorithm::Sha256));
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let n = stream.reader.read(&mut buffer).await.map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("{storage}: {key}: reading the object: {e}"),
            )
            .with_source(e)
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        if hasher.len() > package.size() {
            return Ok(false);
        }
    }
    Ok(hasher.len() == package.size() && hasher.finish().sha256 == package.checksums().sha256)
}

fn placed(package: &Package, key: String) -> Result<Package> {
    let mut package = package.clone();
    package.set_filename(key)?;
    Ok(package)
}
