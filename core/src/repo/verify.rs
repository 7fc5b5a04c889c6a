//! Checking a published suite the way a client would, and further: every file
//! the Release lists, at its plain path and by hash, and every pool file.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::checksum;
use crate::error::{Error, ErrorKind, Result};
use crate::index::ReleaseFile;
use crate::sign::TrustedKeys;
use crate::storage::{GetOptions, GetResult, Storage};

use super::pool;
use super::snapshot::{COMPRESSED_SUFFIXES, Snapshot, Trust, by_hash_key};

/// What [`Repository::verify`](super::Repository::verify) checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// The suite.
    pub suite: String,
    /// Files the Release lists, each checked at its plain path and by hash.
    pub index_files: usize,
    /// Distinct packages in the suite's indexes.
    pub packages: usize,
    /// Distinct pool files checked against their Packages entries.
    pub pool_files: usize,
    /// Bytes read and hashed.
    pub bytes: u64,
}

/// How many problems a failed verification lists.
const SHOW: usize = 10;

pub(super) async fn verify(
    storage: &dyn Storage,
    trusted: &TrustedKeys,
    suite: &str,
) -> Result<VerifyReport> {
    // Reading the snapshot checks the InRelease signature, the suite name, and
    // one form of every index (size, checksums, that it parses).
    let snapshot = Snapshot::load(storage, &Trust::only(trusted.clone()), suite).await?;
    if !snapshot.exists() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("suite {suite} does not exist in {storage}"),
        ));
    }
    let mut report = VerifyReport {
        suite: suite.to_owned(),
        ..VerifyReport::default()
    };
    let mut problems = Vec::new();

    let release_key = format!("dists/{suite}/Release");
    match fetch(storage, &release_key).await {
        Ok(Some(release)) if release == snapshot.release_text.as_bytes() => {
            match fetch(storage, &format!("dists/{suite}/Release.gpg")).await {
                Ok(Some(signature)) => {
                    if let Err(e) = trusted.verify_detached(&release, &signature, SystemTime::now())
                    {
                        problems.push(format!("dists/{suite}/Release.gpg: {e}"));
                    }
                }
                Ok(None) => problems.push(format!("dists/{suite}/Release.gpg is missing")),
                Err(e) => problems.push(e.to_string()),
            }
        }
        Ok(Some(_)) => problems.push(format!(
            "{release_key} differs from the text signed in InRelease"
        )),
        Ok(None) => problems.push(format!("{release_key} is missing")),
        Err(e) => problems.push(e.to_string()),
    }

    let mut missing_forms = BTreeSet::new();
    for file in &snapshot.release.files {
        let plain = format!("dists/{suite}/{}", file.path);
        let data = match fetch(storage, &plain).await {
            Ok(Some(data)) => data,
            Ok(None) => {
                missing_forms.insert(file.path.clone());
                continue;
            }
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        check(&plain, &data, file, &mut report, &mut problems);
        if let (true, Some((algorithm, hex))) =
            (snapshot.release.acquire_by_hash, file.checksums.strongest())
        {
            let by_hash = by_hash_key(suite, &file.path, algorithm, &hex);
            match fetch(storage, &by_hash).await {
                Ok(Some(data)) => check(&by_hash, &data, file, &mut report, &mut problems),
                Ok(None) => {
                    problems.push(format!("{by_hash} is listed in the Release but missing"))
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        report.index_files += 1;
    }
    // Debian and aptly list uncompressed files they do not ship (Contents-amd64
    // next to Contents-amd64.gz): missing is fine when a compressed form is there.
    for path in &missing_forms {
        let uncompressed = !COMPRESSED_SUFFIXES.iter().any(|ext| path.ends_with(ext));
        let compressed_present = COMPRESSED_SUFFIXES.iter().any(|ext| {
            let form = format!("{path}{ext}");
            snapshot.release.file(&form).is_some() && !missing_forms.contains(&form)
        });
        if !(uncompressed && compressed_present) {
            problems.push(format!(
                "dists/{suite}/{path} is listed in the Release but missing"
            ));
        }
    }

    let packages = snapshot.packages();
    report.packages = packages.len();
    let mut checked = BTreeSet::new();
    for package in packages {
        let Some(filename) = package.filename() else {
            problems.push(format!(
                "{} {}: no Filename",
                package.name(),
                package.version()
            ));
            continue;
        };
        if !checked.insert(filename.to_owned()) {
            continue;
        }
        match pool::holds(storage, filename, package).await {
            Ok(true) => report.bytes += package.size(),
            Ok(false) => problems.push(format!(
                "{filename}: size or SHA256 differs from the Packages entry of {} {}",
                package.name(),
                package.version()
            )),
            Err(e) => problems.push(e.to_string()),
        }
    }
    report.pool_files = checked.len();

    if problems.is_empty() {
        return Ok(report);
    }
    let shown: Vec<&str> = problems.iter().take(SHOW).map(String::as_str).collect();
    Err(Error::new(
        ErrorKind::Verification,
        format!(
            "suite {suite} in {storage}: {} problem(s): {}{}",
            problems.len(),
            shown.join("; "),
            if problems.len() > SHOW { "; ..." } else { "" }
        ),
    ))
}

/// Checks `data`, read at `key`, against the Release's entry `file`.
fn check(
    key: &str,
    data: &[u8],
    file: &ReleaseFile,
    report: &mut VerifyReport,
    problems: &mut Vec<String>,
) {
    report.bytes += data.len() as u64;
    if data.len() as u64 != file.size {
        problems.push(format!(
            "{key}: {} bytes, the Release says {}",
            data.len(),
            file.size
        ));
    } else if let Err(m) =
        checksum::of_bytes(data, file.checksums.algorithms()).verify(&file.checksums)
    {
        problems.push(format!("{key}: {m} (against the Release)"));
    }
}

/// The object at `key`, `None` if missing.
async fn fetch(storage: &dyn Storage, key: &str) -> Result<Option<Vec<u8>>> {
    match storage.get(key, GetOptions::default()).await {
        Ok(GetResult::Found { data, .. }) => Ok(Some(data)),
        Ok(GetResult::NotModified) => Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
