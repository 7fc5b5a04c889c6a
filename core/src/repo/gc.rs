//! Garbage collection: pool files no suite lists and by-hash indexes no Release
//! lists are deleted once they have been unreferenced for a grace period.
//!
//! The grace period is counted from when an object was first *seen*
//! unreferenced, not from when it was written: an index written long ago becomes
//! unreferenced only when a newer snapshot replaces it, and readers holding the
//! older InRelease may still fetch it. So collection is a mark-and-sweep across
//! runs: each run records in [`STATE_KEY`] when it first saw each unreferenced
//! object, and deletes those seen for at least the grace period *and* not
//! written for as long. Publishers rewrite an object they reuse (a rollback
//! republishing identical bytes), so a reference made and dropped between two
//! runs still protects it; and they check after committing that what they
//! reused is still there.
//!
//! The grace period must exceed the longest publication: an object uploaded by
//! a publisher that has not committed yet is unreferenced. `Duration::ZERO`
//! deletes everything unreferenced at once, in-flight uploads included.
//!
//! Only `pool/` and `by-hash/` objects are ever deleted. In a suite another
//! tool published (aptly), a by-hash object is referenced under every hash
//! its Release lists it with (aptly writes `MD5Sum`, `SHA1`, `SHA256` and
//! `SHA512` copies; apt fetches the strongest), so nothing its current
//! InRelease names goes. Once debpull has taken the suite over, aptly's old
//! by-hash copies (of Packages, Packages.bz2, Contents, the per-architecture
//! Release) and its by-hash bookkeeping links (`by-hash/SHA256/Packages`,
//! `Packages.old`) are unreferenced and go after the grace period, like
//! debpull's own older indexes; its plain-path files that the new Release no
//! longer lists (Packages.bz2, Contents-*, binary-*/Release) are left alone.
//! A suite debpull cannot read (unsigned, named with a `/`, listing Sources)
//! stops the collection before anything is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use crate::control::{self, OwnedParagraph};
use crate::error::{Error, ErrorKind, Result};
use crate::index::release::{format_date, parse_date};
use crate::storage::{ETag, GetOptions, GetResult, Payload, PutMode, Storage};

use super::snapshot::{Snapshot, Trust, by_hash_key};

/// Where collection keeps, between runs, when each unreferenced object was first seen.
pub const STATE_KEY: &str = "debpull/gc-pending";

/// What [`Repository::gc`](super::Repository::gc) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Suites whose references were collected.
    pub suites: Vec<String>,
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// Unreferenced objects kept until their grace period ends.
    pub pending: usize,
    /// Pool and by-hash objects still referenced.
    pub referenced: usize,
}

pub(super) async fn gc(
    storage: &dyn Storage,
    trust: &Trust,
    grace: Duration,
    now: SystemTime,
) -> Result<GcReport> {
    let mut report = GcReport::default();
    let mut referenced = BTreeSet::new();
    for suite in suites(storage).await? {
        let snapshot = Snapshot::load(storage, trust, &suite)
            .await
            .map_err(|e| e.context("garbage collection stopped, nothing deleted"))?;
        for package in snapshot.packages() {
            if let Some(filename) = package.filename() {
                referenced.insert(filename.to_owned());
            }
        }
        // Every hash a file is listed with: apt fetches by the strongest one,
        // which for another tool's Release (aptly's) is SHA512.
        for file in &snapshot.release.files {
            for algorithm in file.checksums.algorithms().iter() {
                if let Some(hex) = file.checksums.hex(algorithm) {
                    referenced.insert(by_hash_key(&suite, &file.path, algorithm, &hex));
                }
            }
        }
        report.suites.push(suite);
    }

    let mut candidates = BTreeMap::new();
    let mut objects = storage.list("pool/").await?;
    objects.extend(
        storage
            .list("dists/")
            .await?
            .into_iter()
            .filter(|m| m.key.contains("/by-hash/")),
    );
    for meta in objects {
        if referenced.contains(&meta.key) {
            report.referenced += 1;
        } else {
            candidates.insert(meta.key, meta.last_modified);
        }
    }

    let (seen, etag) = read_state(storage).await?;
    let mut still_pending = BTreeMap::new();
    let aged = |time: Option<SystemTime>| {
        time.is_none_or(|t| now.duration_since(t).unwrap_or_default() >= grace)
    };
    for (key, written) in candidates {
        let since = seen.get(&key).copied().unwrap_or(now);
        // Unreferenced since a run at least `grace` ago, and not written since:
        // a publisher that reuses an object rewrites it, so a reference gc did
        // not see (made and dropped between two runs) still counts.
        if aged(Some(since)) && aged(written) && aged(last_written(storage, &key).await?) {
            storage.delete(&key).await?;
            report.deleted.push(key);
        } else {
            still_pending.insert(key, since);
        }
    }
    report.pending = still_pending.len();
    write_state(storage, &still_pending, etag).await?;
    Ok(report)
}

/// The suites of the repository: the directories `dists/<suite>/` with an
/// InRelease. Anything that may be a suite debpull cannot read stops the
/// collection (its pool files would look unreferenced): a Release without
/// InRelease (an unsigned suite), an InRelease or Release.gpg deeper down (a
/// suite named with a `/`, as aptly allows).
async fn suites(storage: &dyn Storage) -> Result<Vec<String>> {
    let listing = storage.list("dists/").await?;
    let keys: BTreeSet<&str> = listing.iter().map(|m| m.key.as_str()).collect();
    let mut suites = Vec::new();
    for key in &keys {
        let Some((dir, name)) = key
            .strip_prefix("dists/")
            .and_then(|rest| rest.rsplit_once('/'))
        else {
            continue;
        };
        if dir.split('/').any(|part| part == "by-hash") {
            continue;
        }
        let refuse = |why: &str| {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!("garbage collection stopped, nothing deleted: {storage}/{key} {why}"),
            ))
        };
        match (name, dir.contains('/')) {
            ("InRelease", false) => suites.push(dir.to_owned()),
            ("Release", false) if !keys.contains(format!("dists/{dir}/InRelease").as_str()) => {
                return refuse(
                    "has no InRelease next to it: an unsigned suite, whose pool files debpull cannot tell",
                );
            }
            ("InRelease" | "Release.gpg", true) => {
                return refuse(
                    "belongs to a suite with a '/' in its name, which debpull does not read",
                );
            }
            _ => {}
        }
    }
    Ok(suites)
}

/// When the object at `key` was last written, asked just before deleting it
/// (a publisher may have reused it since the listing). `None` if it is gone.
async fn last_written(storage: &dyn Storage, key: &str) -> Result<Option<SystemTime>> {
    match storage.head(key).await {
        Ok(meta) => Ok(meta.last_modified),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The marks of earlier runs, and the state object's ETag (`None`: no state yet).
async fn read_state(storage: &dyn Storage) -> Result<(BTreeMap<String, SystemTime>, Option<ETag>)> {
    let (data, etag) = match storage.get(STATE_KEY, GetOptions::default()).await {
        Ok(GetResult::Found { data, meta }) => (data, meta.etag),
        Ok(GetResult::NotModified) => return Ok((BTreeMap::new(), None)),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok((BTreeMap::new(), None)),
        Err(e) => return Err(e),
    };
    let at = |e: Error| e.context(format_args!("{storage}/{STATE_KEY}"));
    let text = control::from_utf8(&data).map_err(at)?;
    let mut seen = BTreeMap::new();
    for paragraph in control::paragraphs(text) {
        let paragraph = paragraph.map_err(at)?;
        let (Some(key), Some(since)) = (paragraph.get("Key"), paragraph.get("Unreferenced-Since"))
        else {
            return Err(at(Error::new(
                ErrorKind::Parse,
                format!(
                    "line {}: needs Key and Unreferenced-Since",
                    paragraph.line()
                ),
            )));
        };
        let since = parse_date(since).ok_or_else(|| {
            at(Error::new(
                ErrorKind::Parse,
                format!("line {}: bad date {since:?}", paragraph.line()),
            ))
        })?;
        seen.insert(key.to_owned(), since);
    }
    Ok((seen, Some(etag)))
}

/// Writes the marks, conditionally on the state read: two collections at once
/// must not lose each other's marks.
async fn write_state(
    storage: &dyn Storage,
    pending: &BTreeMap<String, SystemTime>,
    etag: Option<ETag>,
) -> Result<()> {
    if pending.is_empty() && etag.is_none() {
        return Ok(());
    }
    let mut text = String::new();
    for (key, since) in pending {
        let mut paragraph = OwnedParagraph::new();
        paragraph.set("Key", key)?;
        paragraph.set("Unreferenced-Since", &format_date(*since))?;
        text.push_str(&format!("{paragraph}\n"));
    }
    let mode = etag.map_or(PutMode::Create, PutMode::Update);
    storage
        .put(STATE_KEY, Payload::Bytes(text.into_bytes()), mode)
        .await
        .map_err(|e| {
            if e.kind() == ErrorKind::ConcurrentUpdate {
                e.context("another garbage collection ran at the same time; run again")
            } else {
                e
            }
        })?;
    Ok(())
}
