//! One suite as a snapshot: its Release and its Packages indexes, read from
//! storage through the signed InRelease, changed in memory, and written back with
//! the publishing protocol of DESIGN.md.
//!
//! Reading goes InRelease (signature checked) → by-hash index (size and checksums
//! checked against Release) → parse. Writing goes: changed indexes under
//! `by-hash/SHA256/<hex>` (create-only), then InRelease, conditionally on the ETag
//! read (the commit point), then Release, Release.gpg and the plain-path indexes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use crate::checksum::{self, Algorithm, Algorithms};
use crate::compress::{Bounds, Compression};
use crate::control;
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Package, Packages, Release, ReleaseFile};
use crate::sign::{SigningKey, TrustedKeys};
use crate::storage::{ETag, GetOptions, GetResult, Payload, PutMode, Storage};

use super::Progress;

/// The largest Packages index a snapshot reads, decompressed (1 GiB).
const MAX_INDEX: u64 = 1 << 30;

/// Appended xz blocks (one per publish) after which an index is compressed
/// from scratch again, so that its size stays close to the best.
const MAX_APPENDED_PIECES: u64 = 32;

/// The compressions written for every index, and the order they are read in.
const WRITTEN: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Xz];
/// Uncompressed first: appending needs those bytes anyway, and nothing is decompressed.
const READ_ORDER: [Compression; 4] = [
    Compression::None,
    Compression::Gzip,
    Compression::Xz,
    Compression::Zstd,
];

/// One `<component>/binary-<arch>` index of a suite.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct IndexId {
    pub component: String,
    pub arch: String,
}

impl IndexId {
    /// `<component>/binary-<arch>/Packages`, relative to the suite's directory.
    fn packages_path(&self) -> String {
        format!("{}/binary-{}/Packages", self.component, self.arch)
    }
}

/// A suite as read, plus the changes made to it in memory.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub suite: String,
    /// The ETag of the InRelease read; `None` for a suite that does not exist yet.
    pub etag: Option<ETag>,
    pub release: Release,
    /// The signed text of the Release read (empty for a new suite).
    pub release_text: String,
    indexes: BTreeMap<IndexId, Packages>,
    /// How many packages each index had when read.
    loaded: BTreeMap<IndexId, usize>,
    /// Indexes changed since reading (to be rendered and uploaded).
    changed: BTreeSet<IndexId>,
    /// Changed indexes whose change was more than appending packages.
    rewritten: BTreeSet<IndexId>,
    /// Index files read (verified), by path under the suite: reused when appending.
    read: BTreeMap<String, Vec<u8>>,
    /// Whether the plain-path Release and Release.gpg are those of this snapshot
    /// (not so after a publisher stopped between its commit and writing them).
    plain_current: bool,
    /// When the InRelease read was written, if the backend says.
    last_modified: Option<SystemTime>,
}

impl Snapshot {
    /// The InRelease key of `suite`.
    pub fn inrelease_key(suite: &str) -> String {
        format!("dists/{suite}/InRelease")
    }

    /// Reads `suite`; a suite without InRelease is an empty snapshot.
    pub async fn load(
        storage: &dyn Storage,
        trusted: &TrustedKeys,
        suite: &str,
    ) -> Result<Snapshot> {
        let key = Snapshot::inrelease_key(suite);
        let (data, etag, last_modified) = match storage.get(&key, GetOptions::default()).await {
            Ok(GetResult::Found { data, meta }) => (data, meta.etag, meta.last_modified),
            Ok(GetResult::NotModified) => {
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!("{key}: unexpected 'not modified' from {storage}"),
                ));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Snapshot {
                    suite: suite.to_owned(),
                    etag: None,
                    release: Release::default(),
                    release_text: String::new(),
                    indexes: BTreeMap::new(),
                    loaded: BTreeMap::new(),
                    changed: BTreeSet::new(),
                    rewritten: BTreeSet::new(),
                    read: BTreeMap::new(),
                    plain_current: true,
                    last_modified: None,
                });
            }
            Err(e) => return Err(e),
        };
        let (release, release_text) = read_inrelease(&data, trusted, suite)
            .map_err(|e| e.context(format_args!("{storage}/{key}")))?;
        let mut indexes = BTreeMap::new();
        let mut read = BTreeMap::new();
        let mut unlisted = Vec::new();
        for component in &release.components {
            for arch in &release.architectures {
                let id = IndexId {
                    component: component.clone(),
                    arch: arch.clone(),
                };
                match read_index(storage, suite, &release, &id).await? {
                    Some((path, bytes, packages)) => {
                        read.insert(path, bytes);
                        indexes.insert(id, packages);
                    }
                    None => unlisted.push(id),
                }
            }
        }
        let plain_current = plain_files_match(storage, trusted, suite, &release_text).await?;
        let mut snapshot = Snapshot {
            suite: suite.to_owned(),
            etag: Some(etag),
            release,
            release_text,
            loaded: indexes
                .iter()
                .map(|(id, packages)| (id.clone(), packages.len()))
                .collect(),
            indexes,
            changed: BTreeSet::new(),
            rewritten: BTreeSet::new(),
            read,
            plain_current,
            last_modified,
        };
        // A combination the Release names but lists no index for: every
        // architecture lists its component's `all` packages.
        for id in unlisted {
            snapshot.ensure_index(&id.component, &id.arch);
        }
        Ok(snapshot)
    }

    /// Whether the plain-path Release and Release.gpg are this snapshot's.
    pub fn plain_files_current(&self) -> bool {
        self.plain_current
    }

    /// The indexes and their packages.
    pub fn indexes(&self) -> impl Iterator<Item = (&IndexId, &Packages)> {
        self.indexes.iter()
    }

    /// Adds `package` at the end of index `id` (which must exist).
    pub fn append(&mut self, id: &IndexId, package: Package) {
        if let Some(packages) = self.indexes.get_mut(id) {
            packages.push(package);
            self.changed.insert(id.clone());
        }
    }

    /// Changes index `id` with `edit`, which returns whether it changed anything.
    pub fn edit(&mut self, id: &IndexId, edit: impl FnOnce(&mut Packages) -> bool) {
        if let Some(packages) = self.indexes.get_mut(id)
            && edit(packages)
        {
            self.changed.insert(id.clone());
            self.rewritten.insert(id.clone());
        }
    }

    /// The ids of the indexes.
    pub fn index_ids(&self) -> Vec<IndexId> {
        self.indexes.keys().cloned().collect()
    }

    /// Whether the suite exists in storage.
    pub fn exists(&self) -> bool {
        self.etag.is_some()
    }

    /// The architectures of the suite (never `all`).
    pub fn architectures(&self) -> BTreeSet<String> {
        self.indexes.keys().map(|id| id.arch.clone()).collect()
    }

    /// Makes sure the index `component`/`arch` exists; a new architecture gets
    /// the component's `all` packages, which every architecture lists.
    pub fn ensure_index(&mut self, component: &str, arch: &str) {
        let new_arch = !self.indexes.keys().any(|id| id.arch == arch);
        let mut components: BTreeSet<String> = BTreeSet::from([component.to_owned()]);
        if new_arch {
            // An architecture of the suite is one of every component.
            components.extend(self.indexes.keys().map(|id| id.component.clone()));
        }
        for component in components {
            let id = IndexId {
                component: component.clone(),
                arch: arch.to_owned(),
            };
            if self.indexes.contains_key(&id) {
                continue;
            }
            let mut seen = BTreeSet::new();
            let mut all = Packages::new();
            for (_, packages) in self
                .indexes
                .iter()
                .filter(|(other, _)| other.component == component)
            {
                for p in packages.iter().filter(|p| p.architecture() == "all") {
                    if seen.insert((p.name().to_owned(), p.version().as_str().to_owned())) {
                        all.push(p.clone());
                    }
                }
            }
            self.indexes.insert(id.clone(), all);
            self.changed.insert(id.clone());
            self.rewritten.insert(id);
        }
    }

    /// The indexes a package of `arch` goes into in `component`: its own
    /// architecture, or every architecture for `all`.
    pub fn target_indexes(&self, component: &str, arch: &str) -> Vec<IndexId> {
        self.indexes
            .keys()
            .filter(|id| id.component == component && (arch == "all" || id.arch == arch))
            .cloned()
            .collect()
    }

    /// Every package of the suite once (an `all` package is in every architecture's index).
    pub fn packages(&self) -> Vec<&Package> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (id, packages) in &self.indexes {
            for p in packages {
                let identity = (
                    id.component.as_str(),
                    p.name(),
                    p.version().as_str(),
                    p.architecture(),
                );
                if seen.insert(identity) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Renders the changed indexes and the Release, signs, and writes them with
    /// the publishing protocol up to the commit point (the InRelease). Returns
    /// the new InRelease's ETag and the plain-path files to write next (Release,
    /// Release.gpg, the changed indexes), with [`write_plain_files`].
    ///
    /// A lost race (the InRelease changed since it was read) is
    /// [`ErrorKind::ConcurrentUpdate`]: the caller reads again and retries.
    pub async fn commit(
        &self,
        storage: &dyn Storage,
        settings: &CommitSettings<'_>,
        reused: &mut Vec<(String, Payload)>,
    ) -> Result<(ETag, Vec<(String, Vec<u8>)>)> {
        let suite = &self.suite;
        let mut files: Vec<ReleaseFile> = Vec::new();
        let mut plain: Vec<(String, Vec<u8>)> = Vec::new();
        for id in self.indexes.keys() {
            if self.changed.contains(id) || !self.exists() {
                for (compression, bytes) in self.render_index(storage, id).await? {
                    let path = format!("{}{}", id.packages_path(), compression.extension());
                    let checksums =
                        checksum::of_bytes(&bytes, settings.algorithms.with(Algorithm::Sha256));
                    let hex = checksums.hex(Algorithm::Sha256).unwrap_or_default();
                    let by_hash = format!(
                        "dists/{suite}/{}/binary-{}/by-hash/SHA256/{hex}",
                        id.component, id.arch
                    );
                    put_content_addressed(storage, &by_hash, &bytes, settings.progress, reused)
                        .await?;
                    files.push(ReleaseFile {
                        path: path.clone(),
                        size: bytes.len() as u64,
                        checksums: checksums.restricted_to(settings.algorithms),
                    });
                    plain.push((format!("dists/{suite}/{path}"), bytes));
                }
            } else {
                let prefix = id.packages_path();
                let carried = self.release.files.iter().filter(|f| {
                    f.path
                        .strip_prefix(&prefix)
                        .is_some_and(|ext| Compression::from_extension(ext).is_some())
                });
                for file in carried {
                    // Taking over a repository published without by-hash, or
                    // repairing plain paths a stopped publisher left behind.
                    if !self.release.acquire_by_hash || !self.plain_current {
                        let bytes = read_listed(storage, suite, &self.release, file).await?.ok_or_else(|| {
                            Error::new(ErrorKind::NotFound, format!("{storage}/dists/{suite}/{}: listed in the Release but missing", file.path))
                        })?;
                        if let (Some(hex), Some((dir, _))) = (
                            file.checksums.hex(Algorithm::Sha256),
                            file.path.rsplit_once('/'),
                        ) {
                            let by_hash = format!("dists/{suite}/{dir}/by-hash/SHA256/{hex}");
                            put_content_addressed(
                                storage,
                                &by_hash,
                                &bytes,
                                settings.progress,
                                reused,
                            )
                            .await?;
                        }
                        plain.push((format!("dists/{suite}/{}", file.path), bytes));
                    }
                    files.push(file.clone());
                }
            }
        }
        let release = self.next_release(files, settings);
        release.validate()?;
        let release_text = release.to_string();
        let inrelease = settings.key.clearsign(&release_text)?;
        let release_gpg = settings.key.sign_detached(release_text.as_bytes())?;

        // The commit point.
        wait_for_a_new_second(self.last_modified).await;
        let key = Snapshot::inrelease_key(suite);
        let mode = match &self.etag {
            Some(etag) => PutMode::Update(etag.clone()),
            None => PutMode::Create,
        };
        let etag = match storage
            .put(&key, Payload::Bytes(inrelease.clone().into_bytes()), mode)
            .await
        {
            Ok(meta) => meta.etag,
            // A retried request may have landed before its answer was lost: if what
            // is stored is our InRelease, the commit happened.
            Err(e) if e.kind() == ErrorKind::ConcurrentUpdate => match storage
                .get(&key, GetOptions::default())
                .await
            {
                Ok(GetResult::Found { data, meta }) if data == inrelease.as_bytes() => meta.etag,
                Ok(_) => return Err(e),
                Err(read) => {
                    return Err(read.context(format_args!(
                        "{key}: the conditional write failed and reading it back failed too, so whether this change was committed is unknown"
                    )));
                }
            },
            Err(e) => return Err(e),
        };
        (settings.progress)(Progress::Uploaded {
            key: key.clone(),
            bytes: inrelease.len() as u64,
        });

        // Then the files that readers without InRelease or by-hash support use:
        // written by the caller, once it knows the change is committed.
        plain.push((format!("dists/{suite}/Release"), release_text.into_bytes()));
        plain.push((
            format!("dists/{suite}/Release.gpg"),
            release_gpg.into_bytes(),
        ));
        Ok((etag, plain))
    }

    /// Index `id` in every written compression. When the index only gained
    /// packages at its end, the files read are extended (a new gzip member, a
    /// new xz block) rather than compressed again: work in proportion to the
    /// change. Anything else, or files in another shape, or an xz file of many
    /// appended blocks already, is compressed from scratch.
    async fn render_index(
        &self,
        storage: &dyn Storage,
        id: &IndexId,
    ) -> Result<Vec<(Compression, Vec<u8>)>> {
        let packages = &self.indexes[id];
        if let Some(&old_len) = self.loaded.get(id).filter(|_| !self.rewritten.contains(id))
            && let Some(appended) = self
                .append_index(storage, id, &packages.packages()[old_len..])
                .await?
        {
            return Ok(appended);
        }
        compress_all(packages.to_string().as_bytes())
    }

    /// The index's files, read back and verified against the Release, with
    /// `added` appended; `None` if they cannot simply be extended.
    async fn append_index(
        &self,
        storage: &dyn Storage,
        id: &IndexId,
        added: &[Package],
    ) -> Result<Option<Vec<(Compression, Vec<u8>)>>> {
        let addition: String = added.iter().map(|p| format!("{p}\n")).collect();
        let mut out = Vec::new();
        for compression in WRITTEN {
            let path = format!("{}{}", id.packages_path(), compression.extension());
            let Some(file) = self.release.file(&path) else {
                return Ok(None);
            };
            let old = match self.read.get(&path) {
                Some(bytes) => bytes.clone(),
                None => match read_listed(storage, &self.suite, &self.release, file).await? {
                    Some(bytes) => bytes,
                    None => return Ok(None),
                },
            };
            // Another tool's index may lack the blank line after its last
            // stanza: appended text would run into it.
            if compression == Compression::None && !(old.is_empty() || old.ends_with(b"\n\n")) {
                return Ok(None);
            }
            match compression.append(&old, addition.as_bytes())? {
                Some(appended) if appended.pieces <= MAX_APPENDED_PIECES => {
                    out.push((compression, appended.bytes))
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Writes the plain-path files again if they are not this snapshot's
    /// (see [`Snapshot::plain_files_current`]).
    pub async fn repair_plain_files(&self, storage: &dyn Storage, key: &SigningKey) -> Result<()> {
        if self.plain_current {
            return Ok(());
        }
        self.rewrite_plain_files(storage, key).await
    }

    /// Writes the plain-path files of this (committed, loaded) snapshot again:
    /// Release, a fresh Release.gpg, and every listed index copied from its
    /// by-hash object. Used when a slower publisher may have overwritten them with
    /// an older snapshot's.
    pub async fn rewrite_plain_files(&self, storage: &dyn Storage, key: &SigningKey) -> Result<()> {
        let suite = &self.suite;
        for file in &self.release.files {
            let Some(hex) = file.checksums.hex(Algorithm::Sha256) else {
                continue;
            };
            let Some((dir, _)) = file.path.rsplit_once('/') else {
                continue;
            };
            let by_hash = format!("dists/{suite}/{dir}/by-hash/SHA256/{hex}");
            if let Ok(GetResult::Found { data, .. }) =
                storage.get(&by_hash, GetOptions::default()).await
            {
                storage
                    .put(
                        &format!("dists/{suite}/{}", file.path),
                        Payload::Bytes(data),
                        PutMode::Overwrite,
                    )
                    .await?;
            }
        }
        let signature = key.sign_detached(self.release_text.as_bytes())?;
        storage
            .put(
                &format!("dists/{suite}/Release"),
                Payload::Bytes(self.release_text.clone().into_bytes()),
                PutMode::Overwrite,
            )
            .await?;
        storage
            .put(
                &format!("dists/{suite}/Release.gpg"),
                Payload::Bytes(signature.into_bytes()),
                PutMode::Overwrite,
            )
            .await?;
        Ok(())
    }

    /// The Release of the next snapshot: the repository's fields, the given
    /// files, a Date never earlier than the previous one.
    fn next_release(&self, files: Vec<ReleaseFile>, settings: &CommitSettings<'_>) -> Release {
        let now = settings.now;
        // Clients refuse a Date older than the last they accepted.
        let date = match self.release.date {
            Some(previous) if previous > now => previous,
            _ => now,
        };
        let date = round_to_seconds(date);
        let mut release = Release {
            origin: Some(settings.origin.to_owned()),
            label: Some(settings.label.to_owned()),
            suite: Some(self.suite.clone()),
            codename: Some(self.suite.clone()),
            date: Some(date),
            valid_until: settings.valid_for.map(|d| date + d),
            acquire_by_hash: true,
            architectures: self.architectures().into_iter().collect(),
            components: self
                .indexes
                .keys()
                .map(|id| id.component.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            description: settings.description.map(str::to_owned),
            files,
            ..Release::default()
        };
        release.files.sort_by(|a, b| a.path.cmp(&b.path));
        release
    }
}

/// What [`Snapshot::commit`] needs besides the snapshot.
pub(crate) struct CommitSettings<'a> {
    pub key: &'a SigningKey,
    pub origin: &'a str,
    pub label: &'a str,
    pub description: Option<&'a str>,
    pub valid_for: Option<Duration>,
    pub algorithms: Algorithms,
    pub now: SystemTime,
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
}

/// Whether two index entries are the same package (name, version, architecture).
pub(crate) fn same_identity(a: &Package, b: &Package) -> bool {
    a.name() == b.name()
        && a.architecture() == b.architecture()
        && a.version().as_str() == b.version().as_str()
}

/// The Release inside an InRelease, after checking its signature and that it
/// is the suite asked for.
fn read_inrelease(data: &[u8], trusted: &TrustedKeys, suite: &str) -> Result<(Release, String)> {
    let text = control::from_utf8(data)?;
    let verified = trusted.verify_cleartext(text, SystemTime::now())?;
    let release = Release::parse(&verified.text)?;
    let names = [release.suite.as_deref(), release.codename.as_deref()];
    if !names.contains(&Some(suite)) {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "it describes suite {:?} (codename {:?}), not {suite:?}",
                release.suite.as_deref().unwrap_or(""),
                release.codename.as_deref().unwrap_or("")
            ),
        ));
    }
    Ok((release, verified.text))
}

/// Reads one index the Release lists, preferring by-hash and compressed forms,
/// checking size and checksums. An index the Release does not list is empty.
/// Reads and parses one index the Release lists (the first form of
/// [`READ_ORDER`] listed), returning the path read, its bytes and the packages.
/// `None` if the Release lists no form of it.
async fn read_index(
    storage: &dyn Storage,
    suite: &str,
    release: &Release,
    id: &IndexId,
) -> Result<Option<(String, Vec<u8>, Packages)>> {
    let base = id.packages_path();
    let Some((file, compression)) = READ_ORDER.iter().find_map(|c| {
        release
            .file(&format!("{base}{}", c.extension()))
            .map(|f| (f, *c))
    }) else {
        return Ok(None);
    };
    let key = format!("dists/{suite}/{}", file.path);
    let bytes = read_listed(storage, suite, release, file)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{storage}/{key}: listed in the Release but missing"),
            )
        })?;
    let at = |e: Error| e.context(format_args!("{storage}/{key}"));
    let limit = release
        .file(&base)
        .map_or(MAX_INDEX, |f| f.size.min(MAX_INDEX));
    let packages = match compression {
        Compression::None => {
            Packages::parse(control::from_utf8(&bytes).map_err(at)?).map_err(at)?
        }
        _ => {
            let text = compression
                .decompress(&bytes[..], Bounds::output(limit))
                .map_err(at)?;
            Packages::parse(control::from_utf8(&text).map_err(at)?).map_err(at)?
        }
    };
    Ok(Some((file.path.clone(), bytes, packages)))
}

/// Writes plain-path files (after a commit: see [`Snapshot::commit`]).
pub(crate) async fn write_plain_files(
    storage: &dyn Storage,
    files: Vec<(String, Vec<u8>)>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<()> {
    for (key, bytes) in files {
        let size = bytes.len() as u64;
        storage
            .put(&key, Payload::Bytes(bytes), PutMode::Overwrite)
            .await?;
        progress(Progress::Uploaded { key, bytes: size });
    }
    Ok(())
}

/// Whether the plain-path Release is `release_text` and Release.gpg a good
/// signature of it by a trusted key.
async fn plain_files_match(
    storage: &dyn Storage,
    trusted: &TrustedKeys,
    suite: &str,
    release_text: &str,
) -> Result<bool> {
    let fetch = |name: &'static str| async move {
        match storage
            .get(&format!("dists/{suite}/{name}"), GetOptions::default())
            .await
        {
            Ok(GetResult::Found { data, .. }) => Ok(Some(data)),
            Ok(GetResult::NotModified) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (Some(release), Some(signature)) = (fetch("Release").await?, fetch("Release.gpg").await?)
    else {
        return Ok(false);
    };
    Ok(release == release_text.as_bytes()
        && trusted
            .verify_detached(&release, &signature, SystemTime::now())
            .is_ok())
}

/// A file the Release lists, by hash if the Release says so, else at its plain
/// path; its size and checksums checked against the Release. `None` if missing.
async fn read_listed(
    storage: &dyn Storage,
    suite: &str,
    release: &Release,
    file: &ReleaseFile,
) -> Result<Option<Vec<u8>>> {
    let plain_key = format!("dists/{suite}/{}", file.path);
    let by_hash = match (
        file.checksums.hex(Algorithm::Sha256),
        file.path.rsplit_once('/'),
    ) {
        (Some(hex), Some((dir, _))) if release.acquire_by_hash => {
            Some(format!("dists/{suite}/{dir}/by-hash/SHA256/{hex}"))
        }
        _ => None,
    };
    for key in by_hash.iter().chain([&plain_key]) {
        let bytes = match storage.get(key, GetOptions::default()).await {
            Ok(GetResult::Found { data, .. }) => data,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Ok(GetResult::NotModified) => continue,
            Err(e) => return Err(e),
        };
        let at = |e: Error| e.context(format_args!("{storage}/{key}"));
        if bytes.len() as u64 != file.size {
            return Err(at(Error::new(
                ErrorKind::Verification,
                format!("{} bytes, the Release says {}", bytes.len(), file.size),
            )));
        }
        // The strongest checksum listed is the one that proves anything.
        let strongest = file
            .checksums
            .algorithms()
            .iter()
            .last()
            .unwrap_or(Algorithm::Sha256);
        checksum::of_bytes(&bytes, Algorithms::NONE.with(strongest))
            .verify(&file.checksums)
            .map_err(|m| {
                at(Error::new(
                    ErrorKind::Verification,
                    format!("{m} (against the Release)"),
                ))
            })?;
        return Ok(Some(bytes));
    }
    Ok(None)
}

/// The index in every written compression, compressed on as many threads.
fn compress_all(text: &[u8]) -> Result<Vec<(Compression, Vec<u8>)>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = WRITTEN
            .iter()
            .map(|&c| scope.spawn(move || c.compress(text).map(|bytes| (c, bytes))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::new(ErrorKind::Io, "index compression panicked"))
                })
            })
            .collect()
    })
}

/// Writes a content-addressed object: if it already exists, it holds these bytes.
async fn put_content_addressed(
    storage: &dyn Storage,
    key: &str,
    bytes: &[u8],
    progress: &(dyn Fn(Progress) + Send + Sync),
    reused: &mut Vec<(String, Payload)>,
) -> Result<()> {
    let payload = Payload::Bytes(bytes.to_vec());
    if !super::put_new(storage, key, payload.clone(), bytes.len() as u64, progress).await? {
        // Already there: the same bytes, as the key is their hash.
        super::touch(storage, key, payload, reused).await?;
    }
    Ok(())
}

/// `time` without its fraction of a second (Release dates have none).
fn round_to_seconds(time: SystemTime) -> SystemTime {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::from_secs(since.as_secs())
}

/// Waits, if needed, until the InRelease written now gets a Last-Modified time
/// (whole seconds in HTTP) later than `previous`: apt asks for InRelease with
/// `If-Modified-Since`, and a server answers 304 to a rewrite within the same
/// second, so a client that read the previous one would miss the new snapshot
/// until the next change. Waits at most a little over a second (clocks are
/// assumed synchronised to well under that).
async fn wait_for_a_new_second(previous: Option<SystemTime>) {
    let Some(previous) = previous else {
        return;
    };
    let Ok(since_epoch) = previous.duration_since(SystemTime::UNIX_EPOCH) else {
        return;
    };
    let next_second = SystemTime::UNIX_EPOCH
        + Duration::from_secs(since_epoch.as_secs() + 1)
        + Duration::from_millis(20);
    if let Ok(wait) = next_second.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait.min(Duration::from_millis(1100))).await;
    }
}
