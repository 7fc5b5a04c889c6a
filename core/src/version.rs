//! Debian versions, parsed and compared exactly as dpkg does.
//!
//! A [`Version`] is `[epoch:]upstream[-revision]` (deb-version(5)). Parsing follows
//! dpkg 1.21's `parseversion` rule for rule and rejects what it rejects, its
//! warnings included; ordering follows dpkg's `verrevcmp` exactly. Equality and
//! hashing are the ones of that order, so `1.0`, `1.00`, `0:1.0` and `1.0-0` are
//! all the same version.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

mod compare;
#[cfg(feature = "debversion")]
mod interop;
mod key;
mod parse;
mod relation;

pub use relation::Relation;

/// A Debian package version, as dpkg parses and orders it.
///
/// It keeps the string it was parsed from (surrounding blanks trimmed, as dpkg
/// does); [`Display`](fmt::Display) and [`Version::as_str`] give it back. Cloning
/// is cheap (the string is shared) and comparing never allocates.
///
/// ```
/// use debpull::{Relation, Version};
///
/// let v: Version = "1:2.0~rc1-3".parse()?;
/// assert_eq!((v.epoch(), v.upstream(), v.revision()), (1, "2.0~rc1", Some("3")));
/// assert!(v < Version::parse("1:2.0-1")?);
/// assert!(v.satisfies(Relation::Later, &Version::parse("1.0")?));
/// assert_eq!(Version::parse("1.0")?, Version::parse("0:1.00-0")?);
/// # Ok::<(), debpull::Error>(())
/// ```
#[derive(Clone)]
pub struct Version {
    /// An order-preserving summary that settles most comparisons (see `key`).
    key: u64,
    /// The trimmed string as given.
    text: Arc<str>,
    /// The epoch, 0 when absent.
    epoch: u32,
    /// Where the upstream part starts: 0, or just after the epoch's colon.
    upstream_start: usize,
    /// Where the upstream part ends: at the last hyphen, or the end of `text`.
    upstream_end: usize,
}

impl Version {
    /// Parses `s` as dpkg 1.21 does, rejecting what dpkg reports as an error or a warning.
    ///
    /// Blanks (spaces and tabs) around the version are ignored. The error is of kind
    /// [`ErrorKind::InvalidVersion`] and gives dpkg's reason, e.g.
    /// `version '1:' has bad syntax: nothing after colon in version number`.
    pub fn parse(s: &str) -> Result<Version> {
        match parse::split(s) {
            Ok(parts) => {
                let t = parts.text.as_bytes();
                let upstream = &t[parts.upstream_start..parts.upstream_end];
                let revision = t.get(parts.upstream_end + 1..).unwrap_or_default();
                Ok(Version {
                    key: key::sort_key(parts.epoch, upstream, revision),
                    text: Arc::from(parts.text),
                    epoch: parts.epoch,
                    upstream_start: parts.upstream_start,
                    upstream_end: parts.upstream_end,
                })
            }
            Err(reason) => Err(Error::new(
                ErrorKind::InvalidVersion,
                format!("version '{}' has bad syntax: {reason}", s.escape_debug()),
            )),
        }
    }

    /// Builds a version from its parts, writing the epoch when it is not 0 or when
    /// `upstream` contains a colon (as dpkg writes versions).
    ///
    /// Fails with [`ErrorKind::InvalidVersion`] when the parts are not valid, or when
    /// the string would not parse back into the same parts (an `upstream` with a
    /// hyphen needs a revision).
    pub fn from_parts(epoch: u32, upstream: &str, revision: Option<&str>) -> Result<Version> {
        let mut text = String::with_capacity(upstream.len() + 16);
        if epoch != 0 || upstream.contains(':') {
            text.push_str(&epoch.to_string());
            text.push(':');
        }
        text.push_str(upstream);
        if let Some(revision) = revision {
            text.push('-');
            text.push_str(revision);
        }
        let version = Version::parse(&text)?;
        if version.epoch() != epoch
            || version.upstream() != upstream
            || version.revision() != revision
        {
            return Err(Error::new(
                ErrorKind::InvalidVersion,
                format!(
                    "version parts (epoch {epoch}, upstream '{}', revision {:?}) do not \
                     form a version: '{}' reads back differently",
                    upstream.escape_debug(),
                    revision,
                    text.escape_debug()
                ),
            ));
        }
        Ok(version)
    }

    /// Compares two version strings as `dpkg --compare-versions` does.
    ///
    /// Fails with [`ErrorKind::InvalidVersion`] if either string is not a valid version.
    pub fn compare_str(a: &str, b: &str) -> Result<Ordering> {
        Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
    }

    /// The epoch, 0 when the version has none.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Whether the version string spells out an epoch (`0:1.0` does, `1.0` does not).
    pub fn has_epoch(&self) -> bool {
        self.upstream_start != 0
    }

    /// The upstream part: after the epoch's colon, up to the last hyphen.
    pub fn upstream(&self) -> &str {
        &self.text[self.upstream_start..self.upstream_end]
    }

    /// The Debian revision: after the last hyphen, if there is one.
    pub fn revision(&self) -> Option<&str> {
        self.text.get(self.upstream_end + 1..)
    }

    /// The version string as given, without surrounding blanks.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `self rel other` holds, e.g. `v.satisfies(Relation::LaterEqual, &min)`.
    pub fn satisfies(&self, rel: Relation, other: &Version) -> bool {
        rel.holds(self, other)
    }

    /// dpkg's comparison proper: epochs, then `verrevcmp` of the upstream parts,
    /// then of the revisions (ignoring the key).
    fn cmp_parts(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare::verrevcmp(self.upstream_bytes(), other.upstream_bytes()))
            .then_with(|| compare::verrevcmp(self.revision_bytes(), other.revision_bytes()))
    }

    fn upstream_bytes(&self) -> &[u8] {
        &self.text.as_bytes()[self.upstream_start..self.upstream_end]
    }

    fn revision_bytes(&self) -> &[u8] {
        self.text
            .as_bytes()
            .get(self.upstream_end + 1..)
            .unwrap_or_default()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.key != other.key {
            return self.key.cmp(&other.key);
        }
        self.cmp_parts(other)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u32(self.epoch);
        compare::hash_part(self.upstream_bytes(), state);
        state.write_u8(0xfd);
        compare::hash_part(self.revision_bytes(), state);
    }
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(s: &str) -> Result<Version> {
        Version::parse(s)
    }
}

impl TryFrom<&str> for Version {
    type Error = Error;

    fn try_from(s: &str) -> Result<Version> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:?})", &*self.text)
    }
}

impl AsRef<str> for Version {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests;
