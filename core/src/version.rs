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

/// A Debian package version, as dpkg parses and orders it.
///
/// It keeps the string it was parsed from (surrounding blanks trimmed, as dpkg
/// does); [`Display`](fmt::Display) and [`Version::as_str`] give it back. Cloning
/// is cheap (the string is shared) and comparing never allocates.
#[derive(Clone)]
pub struct Version {
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
        match split(s) {
            Ok(parts) => Ok(Version {
                text: Arc::from(parts.text),
                epoch: parts.epoch,
                upstream_start: parts.upstream_start,
                upstream_end: parts.upstream_end,
            }),
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

/// The pieces of a valid version string, as offsets into the trimmed string.
struct Parts<'a> {
    text: &'a str,
    epoch: u32,
    upstream_start: usize,
    upstream_end: usize,
}

/// dpkg's `c_isblank`: what `parseversion` trims.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Splits and validates `s` as dpkg's `parseversion` does, checks in the same
/// order, returning dpkg's reason on failure.
fn split(s: &str) -> std::result::Result<Parts<'_>, &'static str> {
    let bytes = s.as_bytes();
    // dpkg reads a C string; a NUL byte cannot reach it, so there is no rule to follow.
    if bytes.contains(&0) {
        return Err("version string contains a NUL byte");
    }
    let start = bytes
        .iter()
        .position(|&c| !is_blank(c))
        .unwrap_or(bytes.len());
    if start == bytes.len() {
        return Err("version string is empty");
    }
    let end = bytes[start..]
        .iter()
        .position(|&c| is_blank(c))
        .map_or(bytes.len(), |n| start + n);
    if bytes[end..].iter().any(|&c| !is_blank(c)) {
        return Err("version string has embedded spaces");
    }
    let text = &s[start..end];
    let t = text.as_bytes();

    let (epoch, upstream_start) = match memchr::memchr(b':', t) {
        Some(colon) => {
            let epoch = parse_epoch(&t[..colon])?;
            // dpkg looks past the colon in the untrimmed string: "1: " is not "1:".
            if start + colon + 1 == bytes.len() {
                return Err("nothing after colon in version number");
            }
            (epoch, colon + 1)
        }
        None => (0, 0),
    };
    let rest = &t[upstream_start..];
    let upstream_end = match memchr::memrchr(b'-', rest) {
        Some(hyphen) if hyphen + 1 == rest.len() => return Err("revision number is empty"),
        Some(hyphen) => upstream_start + hyphen,
        None => t.len(),
    };

    let upstream = &t[upstream_start..upstream_end];
    let Some((&first, others)) = upstream.split_first() else {
        return Err("version number is empty");
    };
    if !first.is_ascii_digit() {
        return Err("version number does not start with digit");
    }
    if !others
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b".-+~:".contains(&c))
    {
        return Err("invalid character in version number");
    }
    let revision = t.get(upstream_end + 1..).unwrap_or_default();
    if !revision
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b".+~".contains(&c))
    {
        return Err("invalid character in revision number");
    }
    Ok(Parts {
        text,
        epoch,
        upstream_start,
        upstream_end,
    })
}

/// The epoch before the first colon, read as dpkg reads it: C's `strtol` in base
/// 10 (leading white space, an optional sign), which must end at the colon, must
/// not be negative and must fit in an `int`.
fn parse_epoch(field: &[u8]) -> std::result::Result<u32, &'static str> {
    // C's isspace in the C locale; blanks were trimmed already, the others were not.
    let spaces = field
        .iter()
        .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let signed = &field[spaces..];
    let (negative, unsigned) = match signed.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, signed),
    };
    let digits = unsigned.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return Err("epoch in version is empty");
    }
    if digits != unsigned.len() {
        return Err("epoch in version is not number");
    }
    let significant = &unsigned[unsigned.iter().take_while(|&&c| c == b'0').count()..];
    if negative && !significant.is_empty() {
        return Err("epoch in version is negative");
    }
    // At most 10 digits can be <= i32::MAX; past that it is too big (strtol's ERANGE too).
    let value = if significant.len() > 10 {
        u64::MAX
    } else {
        significant
            .iter()
            .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'))
    };
    u32::try_from(value)
        .ok()
        .filter(|&v| v <= i32::MAX as u32)
        .ok_or("epoch in version is too big")
}

/// dpkg's weight of a non-digit character in `verrevcmp`: `~` sorts before
/// everything (even the end of the string), letters before other characters.
/// Digits and the end of the string weigh 0.
fn order(c: u8) -> i32 {
    match c {
        b'0'..=b'9' | 0 => 0,
        b'a'..=b'z' | b'A'..=b'Z' => i32::from(c),
        b'~' => -1,
        _ => i32::from(c) + 256,
    }
}

/// The byte at `i`, or 0 (dpkg's terminating NUL) past the end.
#[inline(always)]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
#[inline(always)]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = load_u64(&a[i..]) ^ load_u64(&b[i..]);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The first eight bytes of `s` (which has at least eight), little-endian.
#[inline(always)]
fn load_u64(s: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&s[..8]);
    u64::from_le_bytes(word)
}

/// Compares two upstream parts or two revisions as dpkg's `verrevcmp` does.
///
/// It skips the common prefix first and resumes dpkg's loop at the start of the
/// digit run the first difference falls in (or at the difference itself when it
/// does not follow a digit). Over a common prefix dpkg's loop keeps both strings
/// at the same offset, and after a non-digit it is where a fresh iteration of its
/// outer loop would be, so resuming there gives the same answer.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut start = common_prefix(a, b);
    if start == a.len() && start == b.len() {
        return Ordering::Equal;
    }
    while start > 0 && a[start - 1].is_ascii_digit() {
        start -= 1;
    }
    dpkg_loop(&a[start..], &b[start..])
}

/// dpkg's `verrevcmp` loop, step for step (the end of a slice reads as NUL).
fn dpkg_loop(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The non-digit run, character by character.
        loop {
            let (ca, cb) = (at(a, i), at(b, j));
            let a_more = ca != 0 && !ca.is_ascii_digit();
            let b_more = cb != 0 && !cb.is_ascii_digit();
            if !a_more && !b_more {
                break;
            }
            let (oa, ob) = (order(ca), order(cb));
            if oa != ob {
                return oa.cmp(&ob);
            }
            i += 1;
            j += 1;
        }
        // The digit run, as a number of any length.
        while at(a, i) == b'0' {
            i += 1;
        }
        while at(b, j) == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while at(a, i).is_ascii_digit() && at(b, j).is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if at(b, j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Feeds `state` a form of `part` that is the same for all parts `verrevcmp`
/// calls equal: each non-digit run as is, each digit run without leading zeros,
/// a missing final digit run as an empty one.
fn hash_part<H: Hasher>(part: &[u8], state: &mut H) {
    let mut i = 0;
    loop {
        let text_start = i;
        while i < part.len() && !part[i].is_ascii_digit() {
            i += 1;
        }
        state.write(&part[text_start..i]);
        while i < part.len() && part[i] == b'0' {
            i += 1;
        }
        let number_start = i;
        while i < part.len() && part[i].is_ascii_digit() {
            i += 1;
        }
        // 0xfd, 0xfe and 0xff never occur in a valid version: they delimit the runs.
        state.write_u8(0xfe);
        state.write(&part[number_start..i]);
        state.write_u8(0xff);
        if i == part.len() {
            break;
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream_bytes(), other.upstream_bytes()))
            .then_with(|| verrevcmp(self.revision_bytes(), other.revision_bytes()))
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
        hash_part(self.upstream_bytes(), state);
        state.write_u8(0xfd);
        hash_part(self.revision_bytes(), state);
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

/// A version relation of a dependency field: `<<`, `<=`, `=`, `>=`, `>>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// `<<`: strictly earlier.
    Earlier,
    /// `<=`: earlier or equal.
    EarlierEqual,
    /// `=`: equal.
    Equal,
    /// `>=`: later or equal.
    LaterEqual,
    /// `>>`: strictly later.
    Later,
}

impl Relation {
    /// All relations, from `<<` to `>>`.
    pub const ALL: [Relation; 5] = [
        Relation::Earlier,
        Relation::EarlierEqual,
        Relation::Equal,
        Relation::LaterEqual,
        Relation::Later,
    ];

    /// Whether `a rel b` holds in dpkg's order.
    pub fn holds(self, a: &Version, b: &Version) -> bool {
        self.holds_for(a.cmp(b))
    }

    /// Whether the relation holds for `a` and `b` whose comparison gave `ordering`.
    pub fn holds_for(self, ordering: Ordering) -> bool {
        match self {
            Relation::Earlier => ordering.is_lt(),
            Relation::EarlierEqual => ordering.is_le(),
            Relation::Equal => ordering.is_eq(),
            Relation::LaterEqual => ordering.is_ge(),
            Relation::Later => ordering.is_gt(),
        }
    }

    /// The relation as written in dependency fields: `<<`, `<=`, `=`, `>=` or `>>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Earlier => "<<",
            Relation::EarlierEqual => "<=",
            Relation::Equal => "=",
            Relation::LaterEqual => ">=",
            Relation::Later => ">>",
        }
    }
}

impl FromStr for Relation {
    type Err = Error;

    /// Accepts `<< <= = >= >>` and `dpkg --compare-versions`'s `lt le eq ge gt`.
    /// The obsolete `<` and `>` are rejected: dpkg reads them as `<=` and `>=`, which
    /// is rarely what was meant.
    fn from_str(s: &str) -> Result<Relation> {
        Ok(match s {
            "<<" | "lt" => Relation::Earlier,
            "<=" | "le" => Relation::EarlierEqual,
            "=" | "eq" => Relation::Equal,
            ">=" | "ge" => Relation::LaterEqual,
            ">>" | "gt" => Relation::Later,
            "<" | ">" => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("obsolete version relation '{s}': write '{s}=' or '{s}{s}'"),
                ));
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "unknown version relation '{}' (expected <<, <=, =, >= or >>)",
                        s.escape_debug()
                    ),
                ));
            }
        })
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "debversion")]
mod debversion_interop {
    use super::Version;
    use crate::error::{Error, ErrorKind};

    impl From<&Version> for debversion::Version {
        /// The same parts; the epoch is `Some` when the string spells one out.
        fn from(v: &Version) -> debversion::Version {
            debversion::Version {
                epoch: v.has_epoch().then_some(v.epoch()),
                upstream_version: v.upstream().to_owned(),
                debian_revision: v.revision().map(str::to_owned),
            }
        }
    }

    impl From<Version> for debversion::Version {
        fn from(v: Version) -> debversion::Version {
            debversion::Version::from(&v)
        }
    }

    impl TryFrom<&debversion::Version> for Version {
        type Error = Error;

        /// Parses the other crate's string form with dpkg's rules.
        fn try_from(v: &debversion::Version) -> Result<Version, Error> {
            Version::parse(&v.to_string()).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidVersion,
                    format!("debversion::Version: {}", e.message()),
                )
            })
        }
    }

    impl TryFrom<debversion::Version> for Version {
        type Error = Error;

        fn try_from(v: debversion::Version) -> Result<Version, Error> {
            Version::try_from(&v)
        }
    }
}

#[cfg(test)]
mod tests;
