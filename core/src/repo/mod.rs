//! The publisher: add, remove, promote, prune, list, verify and garbage-collect
//! the packages of a signed apt repository kept in a [`Storage`].
//!
//! Every change follows the publishing protocol of DESIGN.md: read the suite's
//! signed InRelease and its ETag, change the indexes in memory, upload new pool
//! files and indexes under names nothing else uses (create-only), then write the
//! InRelease conditionally on the ETag read. A lost race means reading again and
//! retrying; nothing a reader of the previous snapshot needs is ever deleted
//! (that is [`Repository::gc`]'s job, after a grace period).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::checksum::Algorithms;
use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;
use crate::index::package::check_architecture;
use crate::sign::{SigningKey, TrustedKeys};
use crate::storage::{Payload, PutMode, Storage};
use crate::version::Version;

mod gc;
mod pool;
mod snapshot;
mod verify;

pub use gc::GcReport;
pub use verify::VerifyReport;

use snapshot::{CommitSettings, Snapshot, same_identity};

/// Something a repository operation did, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A `.deb` was read and hashed.
    Hashed {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// An object was written to storage.
    Uploaded {
        /// Its key.
        key: String,
        /// Its size.
        bytes: u64,
    },
    /// The suite's new InRelease was written: the change is visible.
    Committed {
        /// The suite.
        suite: String,
        /// How many attempts it took (more than one after lost races).
        attempts: u32,
    },
}

/// How a [`Repository`] writes.
#[derive(Debug, Clone)]
pub struct RepositoryOptions {
    /// `Origin` of every Release.
    pub origin: String,
    /// `Label` of every Release.
    pub label: String,
    /// `Description` of every Release.
    pub description: Option<String>,
    /// How long a Release is valid (`Valid-Until` = `Date` + this); `None`: forever.
    pub valid_for: Option<Duration>,
    /// Checksums written into Release and Packages (default MD5 + SHA256).
    pub algorithms: Algorithms,
    /// Architectures a suite gets when a first package is `all` (default `amd64`).
    pub default_architectures: Vec<String>,
    /// How many times a change is tried against concurrent publishers.
    pub max_attempts: u32,
}

impl Default for RepositoryOptions {
    fn default() -> Self {
        RepositoryOptions {
            origin: "debpull".into(),
            label: "debpull".into(),
            description: None,
            valid_for: None,
            algorithms: Algorithms::DEFAULT,
            default_architectures: vec!["amd64".into()],
            max_attempts: 64,
        }
    }
}

/// How [`Repository::publish`] treats a package already in the suite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Replace {
    /// Same name, version and architecture with other content is a [`ErrorKind::Conflict`].
    #[default]
    Never,
    /// It is replaced (the new file goes to a pool path of its own; the old one
    /// stays for readers of the previous snapshot until garbage collection).
    Always,
}

/// What [`Repository::publish`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Packages new in the suite.
    pub added: Vec<Package>,
    /// Packages that were there already, identical: nothing was done for them.
    pub unchanged: Vec<Package>,
    /// Packages that replaced another with the same name, version and architecture.
    pub replaced: Vec<Package>,
    /// Attempts the commit took (0: nothing to commit).
    pub attempts: u32,
}

/// A signed apt repository in a [`Storage`], and the key that signs it.
#[derive(Debug, Clone)]
pub struct Repository {
    storage: Arc<dyn Storage>,
    key: SigningKey,
    trusted: TrustedKeys,
    options: RepositoryOptions,
}

impl Repository {
    /// A repository in `storage`, signed with `key`. What it reads back must be
    /// signed by the same key.
    pub fn new(
        storage: Arc<dyn Storage>,
        key: SigningKey,
        options: RepositoryOptions,
    ) -> Result<Repository> {
        let trusted = TrustedKeys::from_bytes(key.public_key_armored()?.as_bytes())?;
        for arch in &options.default_architectures {
            if arch == "all" {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "default architecture \"all\" is not a machine architecture",
                ));
            }
            check_architecture(arch).map_err(|e| {
                e.with_kind(ErrorKind::InvalidInput)
                    .context("default architectures")
            })?;
        }
        Ok(Repository {
            storage,
            key,
            trusted,
            options,
        })
    }

    /// The storage the repository lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Publishes the `.deb` files into `component` of `suite`, creating the suite
    /// if needed. Identical packages already there are left alone; a different
    /// package with the same name, version and architecture is a
    /// [`ErrorKind::Conflict`] unless `replace` says otherwise.
    pub async fn publish(
        &self,
        suite: &str,
        component: &str,
        debs: &[PathBuf],
        replace: Replace,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<PublishReport> {
        check_name("suite", suite)?;
        check_name("component", component)?;
        let packages = pool::inspect(debs, self.options.algorithms, progress).await?;
        let current = Snapshot::load(&*self.storage, &self.trusted, suite).await?;
        let mut report = PublishReport::default();
        // Every package is checked before any is uploaded: a refused batch leaves nothing behind.
        let mut uploads = Vec::new();
        for (package, path) in packages.into_iter().zip(debs) {
            match find_same(&current, component, &package) {
                Some(present) if present.sha256_hex() == package.sha256_hex() => {
                    report.unchanged.push(present.clone())
                }
                Some(present) if replace == Replace::Never => {
                    return Err(conflict(suite, present, &package));
                }
                present => uploads.push((package, path, present.is_some())),
            }
        }
        let mut reused = Vec::new();
        let mut to_add = Vec::new();
        for (package, path, replaces) in uploads {
            let placed = pool::upload(
                &*self.storage,
                &package,
                path,
                component,
                replace,
                progress,
                &mut reused,
            )
            .await?;
            if replaces {
                report.replaced.push(placed.clone());
            }
            to_add.push(placed);
        }
        if to_add.is_empty() {
            self.repair_plain_files(current).await?;
            return Ok(report);
        }
        let default_architectures = &self.options.default_architectures;
        report.attempts = self
            .change(suite, Some(current), reused, progress, |snapshot| {
                let mut changed = false;
                for package in &to_add {
                    match find_same(snapshot, component, package) {
                        Some(present) if present.sha256_hex() == package.sha256_hex() => continue,
                        Some(present) if replace == Replace::Never => {
                            return Err(conflict(suite, present, package));
                        }
                        _ => {}
                    }
                    add_package(snapshot, component, package.clone(), default_architectures);
                    changed = true;
                }
                Ok(changed)
            })
            .await?;
        report.added = to_add
            .into_iter()
            .filter(|p| !report.replaced.iter().any(|r| same_identity(r, p)))
            .collect();
        Ok(report)
    }

    /// Removes package `name` from `suite`: the one `version`, or every version.
    /// Returns the entries removed; nothing matching is [`ErrorKind::NotFound`].
    pub async fn remove(
        &self,
        suite: &str,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Package>> {
        let mut removed = Vec::new();
        self.change(suite, None, Vec::new(), &|_| {}, |snapshot| {
            removed.clear();
            let mut seen = BTreeSet::new();
            for id in snapshot.index_ids() {
                snapshot.edit(&id, |packages| {
                    let before = packages.len();
                    packages.retain(|p| {
                        let matches = p.name() == name && version.is_none_or(|v| p.version() == v);
                        if matches && seen.insert(identity(p)) {
                            removed.push(p.clone());
                        }
                        !matches
                    });
                    packages.len() != before
                });
            }
            if removed.is_empty() {
                let what = version.map_or(name.to_owned(), |v| format!("{name} {v}"));
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{what} is not in suite {suite}"),
                ));
            }
            Ok(true)
        })
        .await?;
        Ok(removed)
    }

    /// Copies package `name` at `version` (every architecture of it) from suite
    /// `from` to suite `to`, sharing the pool files: nothing is uploaded but the
    /// indexes. Already there identically: nothing changes. Returns the entries
    /// added to `to` (empty when they were all there already).
    pub async fn promote(
        &self,
        name: &str,
        version: &Version,
        from: &str,
        to: &str,
    ) -> Result<Vec<Package>> {
        check_name("suite", from)?;
        check_name("suite", to)?;
        let source = Snapshot::load(&*self.storage, &self.trusted, from).await?;
        if !source.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("suite {from} does not exist"),
            ));
        }
        let mut entries: Vec<(String, Package)> = Vec::new();
        for (id, packages) in source.indexes() {
            for p in packages
                .iter()
                .filter(|p| p.name() == name && p.version() == version)
            {
                if !entries
                    .iter()
                    .any(|(c, q)| *c == id.component && same_identity(q, p))
                {
                    entries.push((id.component.clone(), p.clone()));
                }
            }
        }
        if entries.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{name} {version} is not in suite {from}"),
            ));
        }
        let default_architectures = &self.options.default_architectures;
        let mut added = Vec::new();
        self.change(to, None, Vec::new(), &|_| {}, |snapshot| {
            added.clear();
            for (component, package) in &entries {
                match find_same(snapshot, component, package) {
                    Some(present) if present.sha256_hex() == package.sha256_hex() => continue,
                    Some(present) => return Err(conflict(to, present, package)),
                    None => {}
                }
                add_package(snapshot, component, package.clone(), default_architectures);
                added.push(package.clone());
            }
            Ok(!added.is_empty())
        })
        .await?;
        Ok(added)
    }

    /// Keeps the newest `keep` versions of every package and architecture in
    /// `suite`; returns the entries removed.
    pub async fn prune(&self, suite: &str, keep: usize) -> Result<Vec<Package>> {
        if keep == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "prune must keep at least one version",
            ));
        }
        let mut removed = Vec::new();
        self.change(suite, None, Vec::new(), &|_| {}, |snapshot| {
            removed.clear();
            let mut seen = BTreeSet::new();
            if !snapshot.exists() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("suite {suite} does not exist"),
                ));
            }
            for id in snapshot.index_ids() {
                snapshot.edit(&id, |packages| {
                    let mut versions: BTreeMap<(String, String), Vec<Version>> = BTreeMap::new();
                    for p in packages.iter() {
                        versions
                            .entry((p.name().to_owned(), p.architecture().to_owned()))
                            .or_default()
                            .push(p.version().clone());
                    }
                    for list in versions.values_mut() {
                        list.sort_unstable_by(|a, b| b.cmp(a));
                        list.dedup();
                    }
                    let before = packages.len();
                    packages.retain(|p| {
                        let newest = &versions[&(p.name().to_owned(), p.architecture().to_owned())];
                        let kept = newest.iter().take(keep).any(|v| v == p.version());
                        if !kept && seen.insert(identity(p)) {
                            removed.push(p.clone());
                        }
                        kept
                    });
                    packages.len() != before
                });
            }
            Ok(!removed.is_empty())
        })
        .await?;
        Ok(removed)
    }

    /// The packages of `suite`, each once, sorted by name, version and architecture.
    pub async fn list(&self, suite: &str) -> Result<Vec<Package>> {
        check_name("suite", suite)?;
        let snapshot = Snapshot::load(&*self.storage, &self.trusted, suite).await?;
        if !snapshot.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("suite {suite} does not exist"),
            ));
        }
        let mut packages: Vec<Package> = snapshot.packages().into_iter().cloned().collect();
        packages.sort_by(|a, b| {
            (a.name(), a.version(), a.architecture()).cmp(&(
                b.name(),
                b.version(),
                b.architecture(),
            ))
        });
        Ok(packages)
    }

    /// Checks `suite` as a client would: the InRelease signature against
    /// `trusted`, Release.gpg, every index's size and checksums (by-hash and
    /// plain path), every pool file against its Packages entry.
    pub async fn verify(&self, suite: &str, trusted: &TrustedKeys) -> Result<VerifyReport> {
        check_name("suite", suite)?;
        verify::verify(&*self.storage, trusted, suite).await
    }

    /// Deletes pool files no suite lists and by-hash indexes no Release lists,
    /// once they have been unreferenced for at least `grace` (counted from the
    /// first `gc` that saw them so).
    pub async fn gc(&self, grace: Duration) -> Result<GcReport> {
        gc::gc(&*self.storage, &self.trusted, grace, SystemTime::now()).await
    }

    /// Runs `apply` on a snapshot of `suite` (`read`, if just read, for the first
    /// attempt; else a fresh one) and commits the result,
    /// retrying from a fresh read when another publisher wins the race. `apply`
    /// returns whether it changed anything. Returns the attempts made (0: nothing
    /// to commit).
    async fn change(
        &self,
        suite: &str,
        mut read: Option<Snapshot>,
        mut reused: Vec<(String, Payload)>,
        progress: &(dyn Fn(Progress) + Send + Sync),
        mut apply: impl FnMut(&mut Snapshot) -> Result<bool>,
    ) -> Result<u32> {
        check_name("suite", suite)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut snapshot = match read.take() {
                Some(snapshot) => snapshot,
                None => Snapshot::load(&*self.storage, &self.trusted, suite).await?,
            };
            if !apply(&mut snapshot)? {
                self.repair_plain_files(snapshot).await?;
                return Ok(0);
            }
            let settings = CommitSettings {
                key: &self.key,
                origin: &self.options.origin,
                label: &self.options.label,
                description: self.options.description.as_deref(),
                valid_for: self.options.valid_for,
                algorithms: self.options.algorithms,
                now: SystemTime::now(),
                progress,
            };
            match snapshot
                .commit(&*self.storage, &settings, &mut reused)
                .await
            {
                Ok((etag, plain)) => {
                    progress(Progress::Committed {
                        suite: suite.to_owned(),
                        attempts: attempt,
                    });
                    let committed = |e: Error| {
                        e.context(format_args!(
                            "suite {suite} was committed (apt and debpull clients see the change), but writing its plain-path files failed; the next publish repairs them"
                        ))
                    };
                    snapshot::write_plain_files(&*self.storage, plain, progress)
                        .await
                        .map_err(committed)?;
                    restore_reused(&*self.storage, &reused)
                        .await
                        .map_err(committed)?;
                    self.settle_plain_files(suite, etag)
                        .await
                        .map_err(committed)?;
                    return Ok(attempt);
                }
                Err(e)
                    if e.kind() == ErrorKind::ConcurrentUpdate
                        && attempt < self.options.max_attempts =>
                {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => {
                    return Err(e.context(format_args!(
                        "suite {suite}: {attempt} attempts lost against concurrent publishers"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Rewrites the plain-path files of `snapshot` if they are not those of its
    /// signed Release (a publisher was stopped between its commit and them),
    /// then makes sure they stay those of the newest snapshot.
    async fn repair_plain_files(&self, snapshot: Snapshot) -> Result<()> {
        let Some(etag) = snapshot.etag.clone() else {
            return Ok(());
        };
        if !snapshot.plain_files_current() {
            snapshot
                .repair_plain_files(&*self.storage, &self.key)
                .await?;
            self.settle_plain_files(&snapshot.suite, etag).await?;
        }
        Ok(())
    }

    /// After writing plain-path files for the snapshot whose InRelease has
    /// `ours`: if another publisher committed meanwhile, its plain-path files may
    /// have been overwritten by ours (older); write the newest snapshot's again
    /// until the InRelease stays put.
    async fn settle_plain_files(&self, suite: &str, mut ours: crate::storage::ETag) -> Result<()> {
        let key = Snapshot::inrelease_key(suite);
        for _ in 0..self.options.max_attempts {
            if self.storage.head(&key).await?.etag == ours {
                return Ok(());
            }
            let snapshot = Snapshot::load(&*self.storage, &self.trusted, suite).await?;
            let Some(etag) = snapshot.etag.clone() else {
                return Ok(());
            };
            snapshot
                .repair_plain_files(&*self.storage, &self.key)
                .await?;
            ours = etag;
        }
        Ok(())
    }
}

/// Writes `payload` (of `bytes` bytes) at `key` only if nothing is there;
/// `false` if something was (the caller decides what that means).
async fn put_new(
    storage: &dyn Storage,
    key: &str,
    payload: Payload,
    bytes: u64,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<bool> {
    match storage.put(key, payload, PutMode::Create).await {
        Ok(_) => {
            progress(Progress::Uploaded {
                key: key.to_owned(),
                bytes,
            });
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => Ok(false),
        Err(e) => Err(e),
    }
}

/// Rewrites an object found already there with the content it has, so that its
/// last-written time tells garbage collection it is in use again, and notes it
/// for [`restore_reused`].
async fn touch(
    storage: &dyn Storage,
    key: &str,
    payload: Payload,
    reused: &mut Vec<(String, Payload)>,
) -> Result<()> {
    storage
        .put(key, payload.clone(), PutMode::Overwrite)
        .await?;
    reused.push((key.to_owned(), payload));
    Ok(())
}

/// After a commit: puts back any reused object that a garbage collection
/// racing the commit deleted.
async fn restore_reused(storage: &dyn Storage, reused: &[(String, Payload)]) -> Result<()> {
    for (key, payload) in reused {
        match storage.head(key).await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                match storage.put(key, payload.clone(), PutMode::Create).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A package's name, version and architecture, for sets.
fn identity(p: &Package) -> (String, String, String) {
    (
        p.name().to_owned(),
        p.version().as_str().to_owned(),
        p.architecture().to_owned(),
    )
}

/// The entry of `snapshot` with `package`'s name, version and architecture in `component`.
fn find_same<'a>(
    snapshot: &'a Snapshot,
    component: &str,
    package: &Package,
) -> Option<&'a Package> {
    snapshot
        .indexes()
        .filter(|(id, _)| id.component == component)
        .flat_map(|(_, packages)| packages.iter())
        .find(|p| same_identity(p, package))
}

/// Adds `package` to every index of `component` it belongs in (creating its
/// architecture's index, or the default architectures' for a first `all`
/// package), replacing an entry with the same identity.
fn add_package(
    snapshot: &mut Snapshot,
    component: &str,
    package: Package,
    default_architectures: &[String],
) {
    let arch = package.architecture().to_owned();
    if arch == "all" {
        if snapshot.target_indexes(component, "all").is_empty() {
            let arches: Vec<String> = match snapshot.architectures() {
                known if known.is_empty() => default_architectures.to_vec(),
                known => known.into_iter().collect(),
            };
            for a in arches {
                snapshot.ensure_index(component, &a);
            }
        }
    } else {
        snapshot.ensure_index(component, &arch);
    }
    for id in snapshot.target_indexes(component, &arch) {
        let present = snapshot
            .indexes()
            .any(|(i, packages)| *i == id && packages.iter().any(|p| same_identity(p, &package)));
        if present {
            // A replacement: the index changes in the middle.
            snapshot.edit(&id, |packages| {
                packages.retain(|p| !same_identity(p, &package));
                packages.push(package.clone());
                true
            });
        } else {
            snapshot.append(&id, package.clone());
        }
    }
}

fn conflict(suite: &str, present: &Package, new: &Package) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!(
            "suite {suite} already has {} {} ({}) with other content (sha256 {}, the new file's is {}); publish with replacement to substitute it",
            present.name(),
            present.version(),
            present.architecture(),
            present.sha256_hex().unwrap_or_default(),
            new.sha256_hex().unwrap_or_default()
        ),
    )
}

/// Suite and component names: what apt accepts in a path, and nothing that
/// could leave `dists/`.
fn check_name(what: &str, name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._~".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{what} {name:?} is not a valid name (letters, digits, '+', '-', '.', '_', '~')"
            ),
        ))
    }
}

/// How long to wait before attempt `attempt + 1`: exponential from 5 ms, capped
/// at 1 s, with full jitter so that racing publishers spread out.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = (5u64 << attempt.min(8)).min(1000);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(1 + random % cap_ms)
}
