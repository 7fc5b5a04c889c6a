//! Checking a published suite the way a client would, and further: every file
//! the Release lists, at its plain path and by hash, and every pool file.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::checksum;
use crate::error::{Error, ErrorKind, Result};
use crate::sign::TrustedKeys;
use crate::storage::{GetOptions, GetResult, Storage};

use super::pool;
use super::snapshot::Snapshot;

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
    let snapshot = Snapshot::load(storage, trusted, suite).await?;
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

    for file in &snapshot.release.files {
        let plain = format!("dists/{suite}/{}", file.path);
        let mut keys = vec![plain];
        if let (true, Some(hex), Some((dir, _))) = (
            snapshot.release.acquire_by_hash,
            file.checksums.hex(checksum::Algorithm::Sha256),
            file.path.rsplit_once('/'),
        ) {
            keys.push(format!("dists/{suite}/{dir}/by-hash/SHA256/{hex}"));
        }
        for key in keys {
            match fetch(storage, &key).await {
                Ok(Some(data)) => {
                    report.bytes += data.len() as u64;
                    let sums = checksum::of_bytes(&data, file.checksums.algorithms());
                    if data.len() as u64 != file.size {
                        problems.push(format!(
                            "{key}: {} bytes, the Release says {}",
                            data.len(),
                            file.size
                        ));
                    } else if let Err(m) = sums.verify(&file.checksums) {
                        problems.push(format!("{key}: {m} (against the Release)"));
                    }
                }
                Ok(None) => problems.push(format!("{key} is listed in the Release but missing")),
                Err(e) => problems.push(e.to_string()),
            }
        }
        report.index_files += 1;
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

/// The object at `key`, `None` if missing.
async fn fetch(storage: &dyn Storage, key: &str) -> Result<Option<Vec<u8>>> {
    match storage.get(key, GetOptions::default()).await {
        Ok(GetResult::Found { data, .. }) => Ok(Some(data)),
        Ok(GetResult::NotModified) => Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
