//! MD5, SHA1, SHA256 and SHA512 computed together in one pass over the data.
//!
//! Which algorithms are computed (and written into indexes) is an [`Algorithms`]
//! set; the default is MD5 + SHA256, as in Debian's own archive.

use std::fmt;
use std::io::{self, Read};

use md5::Digest as _;

use crate::error::{Error, ErrorKind, Result};

/// One checksum algorithm used in apt repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// MD5 (field `MD5sum` in Packages, `MD5Sum` in Release).
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256, the one apt relies on.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// Every algorithm, weakest first (the order apt writes them in).
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
    ];

    /// The field name in a Packages stanza.
    pub fn packages_field(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5sum",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The section name in a Release file.
    pub fn release_field(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5Sum",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Whether apt trusts this algorithm on its own (SHA256, SHA512).
    pub fn is_strong(self) -> bool {
        matches!(self, Algorithm::Sha256 | Algorithm::Sha512)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.release_field())
    }
}

/// A set of [`Algorithm`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Algorithms(u8);

impl Algorithms {
    /// No algorithm.
    pub const NONE: Algorithms = Algorithms(0);
    /// MD5 + SHA256, what Debian's archive writes into Packages.
    pub const DEFAULT: Algorithms =
        Algorithms(1 << Algorithm::Md5 as u8 | 1 << Algorithm::Sha256 as u8);
    /// All four algorithms.
    pub const ALL: Algorithms = Algorithms(0b1111);

    /// This set plus `algorithm`.
    pub const fn with(self, algorithm: Algorithm) -> Algorithms {
        Algorithms(self.0 | 1 << algorithm as u8)
    }

    /// This set without `algorithm`.
    pub const fn without(self, algorithm: Algorithm) -> Algorithms {
        Algorithms(self.0 & !(1 << algorithm as u8))
    }

    /// Whether `algorithm` is in the set.
    pub fn contains(self, algorithm: Algorithm) -> bool {
        self.0 & algorithm.bit() != 0
    }

    /// The algorithms in the set, weakest first.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl Default for Algorithms {
    fn default() -> Self {
        Algorithms::DEFAULT
    }
}

impl fmt::Debug for Algorithms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Algorithm> for Algorithms {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter().fold(Algorithms::NONE, Algorithms::with)
    }
}

/// Digests of one piece of data; an algorithm not computed is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Checksums {
    /// MD5 digest.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 digest.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 digest.
    pub sha256: Option<[u8; 32]>,
    /// SHA-512 digest.
    pub sha512: Option<[u8; 64]>,
}

impl Checksums {
    /// The digest for `algorithm`, if present.
    pub fn get(&self, algorithm: Algorithm) -> Option<&[u8]> {
        match algorithm {
            Algorithm::Md5 => self.md5.as_ref().map(|d| &d[..]),
            Algorithm::Sha1 => self.sha1.as_ref().map(|d| &d[..]),
            Algorithm::Sha256 => self.sha256.as_ref().map(|d| &d[..]),
            Algorithm::Sha512 => self.sha512.as_ref().map(|d| &d[..]),
        }
    }

    /// The digest for `algorithm` in lower-case hex, if present.
    pub fn hex(&self, algorithm: Algorithm) -> Option<String> {
        self.get(algorithm).map(to_hex)
    }

    /// Sets the digest for `algorithm` from hex (either case); the error names the algorithm.
    pub fn set_hex(&mut self, algorithm: Algorithm, hex: &str) -> Result<()> {
        fn fill<const N: usize>(slot: &mut Option<[u8; N]>, hex: &str) -> Option<()> {
            let mut digest = [0u8; N];
            from_hex(hex, &mut digest)?;
            *slot = Some(digest);
            Some(())
        }
        let ok = match algorithm {
            Algorithm::Md5 => fill(&mut self.md5, hex),
            Algorithm::Sha1 => fill(&mut self.sha1, hex),
            Algorithm::Sha256 => fill(&mut self.sha256, hex),
            Algorithm::Sha512 => fill(&mut self.sha512, hex),
        };
        ok.ok_or_else(|| {
            Error::new(
                ErrorKind::Parse,
                format!(
                    "{algorithm} checksum {hex:?} is not {} hex digits",
                    algorithm.digest_len() * 2
                ),
            )
        })
    }

    /// The strongest digest present, in hex, if one is strong (SHA512, else
    /// SHA256): the one apt names a by-hash file after.
    pub fn strongest(&self) -> Option<(Algorithm, String)> {
        [Algorithm::Sha512, Algorithm::Sha256]
            .into_iter()
            .find_map(|a| self.hex(a).map(|hex| (a, hex)))
    }

    /// The algorithms present.
    pub fn algorithms(&self) -> Algorithms {
        Algorithm::ALL
            .into_iter()
            .filter(|a| self.get(*a).is_some())
            .collect()
    }

    /// Only the digests of `algorithms`.
    pub fn restricted_to(&self, algorithms: Algorithms) -> Checksums {
        let keep = |a| algorithms.contains(a);
        Checksums {
            md5: self.md5.filter(|_| keep(Algorithm::Md5)),
            sha1: self.sha1.filter(|_| keep(Algorithm::Sha1)),
            sha256: self.sha256.filter(|_| keep(Algorithm::Sha256)),
            sha512: self.sha512.filter(|_| keep(Algorithm::Sha512)),
        }
    }

    /// Compares the digests both sides have. Every common digest must match, and
    /// at least one of them must be strong (SHA256 or SHA512): as apt, an MD5 or
    /// SHA1 match alone proves nothing.
    pub fn verify(&self, expected: &Checksums) -> std::result::Result<(), Mismatch> {
        let mut strong = false;
        // Strongest first, so that the error names the most meaningful mismatch.
        for algorithm in Algorithm::ALL.into_iter().rev() {
            if let (Some(have), Some(want)) = (self.get(algorithm), expected.get(algorithm)) {
                if have != want {
                    return Err(Mismatch::Differs(algorithm));
                }
                strong |= algorithm.is_strong();
            }
        }
        if strong {
            Ok(())
        } else {
            Err(Mismatch::NoStrongChecksum)
        }
    }
}

/// Why [`Checksums::verify`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// The digests of this algorithm differ.
    Differs(Algorithm),
    /// The two sides have no SHA256 or SHA512 in common: nothing trustworthy to compare.
    NoStrongChecksum,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Differs(algorithm) => write!(f, "{algorithm} checksum differs"),
            Mismatch::NoStrongChecksum => f.write_str("no SHA256 or SHA512 checksum to compare"),
        }
    }
}

/// Computes the selected digests in one pass.
#[derive(Clone)]
pub struct Hasher {
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
    sha512: Option<sha2::Sha512>,
    len: u64,
}

impl Hasher {
    /// A hasher computing `algorithms`.
    pub fn new(algorithms: Algorithms) -> Self {
        Hasher {
            md5: algorithms.contains(Algorithm::Md5).then(md5::Md5::new),
            sha1: algorithms.contains(Algorithm::Sha1).then(sha1::Sha1::new),
            sha256: algorithms
                .contains(Algorithm::Sha256)
                .then(sha2::Sha256::new),
            sha512: algorithms
                .contains(Algorithm::Sha512)
                .then(sha2::Sha512::new),
            len: 0,
        }
    }

    /// Feeds `data` to every selected digest.
    pub fn update(&mut self, data: &[u8]) {
        match (&mut self.md5, &mut self.sha256) {
            // MD5 is one long dependency chain that leaves most of the core idle.
            // Fed a block at a time, alternately, SHA-256 runs in those gaps: the
            // two together go about 1.25x faster than one after the other.
            (Some(md5), Some(sha256)) => {
                for block in data.chunks(64) {
                    md5.update(block);
                    sha256.update(block);
                }
            }
            (md5, sha256) => {
                if let Some(h) = md5 {
                    h.update(data);
                }
                if let Some(h) = sha256 {
                    h.update(data);
                }
            }
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
        self.len += data.len() as u64;
    }

    /// How many bytes were fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digests.
    pub fn finish(self) -> Checksums {
        Checksums {
            md5: self.md5.map(|h| h.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
            sha256: self.sha256.map(|h| h.finalize().into()),
            sha512: self.sha512.map(|h| h.finalize().into()),
        }
    }
}

impl io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The digests of `data`.
pub fn of_bytes(data: &[u8], algorithms: Algorithms) -> Checksums {
    let mut hasher = Hasher::new(algorithms);
    hasher.update(data);
    hasher.finish()
}

/// A reader that hashes everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`, computing `algorithms`.
    pub fn new(inner: R, algorithms: Algorithms) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::new(algorithms),
        }
    }

    /// How many bytes were read so far.
    pub fn bytes_read(&self) -> u64 {
        self.hasher.len()
    }

    /// The digests of everything read, and the inner reader.
    pub fn finish(self) -> (Checksums, R) {
        (self.hasher.finish(), self.inner)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Decodes hex (either case) into exactly `out.len()` bytes.
fn from_hex(hex: &str, out: &mut [u8]) -> Option<()> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let hex = hex.as_bytes();
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let sums = of_bytes(b"abc", Algorithms::ALL);
        assert_eq!(
            sums.hex(Algorithm::Md5).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            sums.hex(Algorithm::Sha1).unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            sums.hex(Algorithm::Sha256).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(
            sums.hex(Algorithm::Sha512)
                .unwrap()
                .starts_with("ddaf35a193617aba")
        );
    }

    #[test]
    fn default_set_is_md5_and_sha256() {
        let sums = of_bytes(b"", Algorithms::default());
        assert_eq!(sums.algorithms(), Algorithms::DEFAULT);
        assert!(sums.sha1.is_none() && sums.sha512.is_none());
        assert_eq!(
            Algorithms::DEFAULT.iter().collect::<Vec<_>>(),
            [Algorithm::Md5, Algorithm::Sha256]
        );
    }

    #[test]
    fn hex_round_trip_and_bad_hex() {
        let sums = of_bytes(b"debpull", Algorithms::ALL);
        let mut parsed = Checksums::default();
        for a in Algorithm::ALL {
            parsed
                .set_hex(a, &sums.hex(a).unwrap().to_uppercase())
                .unwrap();
        }
        assert_eq!(parsed, sums);
        let err = parsed.set_hex(Algorithm::Sha256, "abc").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(err.to_string().contains("SHA256"), "{err}");
        assert!(parsed.set_hex(Algorithm::Md5, &"zz".repeat(16)).is_err());
    }

    #[test]
    fn verify_needs_matching_digests_and_a_strong_one() {
        let a = of_bytes(b"one", Algorithms::ALL);
        let b = of_bytes(b"two", Algorithms::ALL);
        let only = |sums: &Checksums, alg| sums.restricted_to(Algorithms::NONE.with(alg));
        assert_eq!(a.verify(&a.restricted_to(Algorithms::DEFAULT)), Ok(()));
        assert_eq!(a.verify(&b), Err(Mismatch::Differs(Algorithm::Sha512)));
        // MD5 equal but SHA256 different: the SHA256 mismatch wins.
        let mut forged = a.restricted_to(Algorithms::DEFAULT);
        forged.sha256 = b.sha256;
        assert_eq!(a.verify(&forged), Err(Mismatch::Differs(Algorithm::Sha256)));
        // A match on weak digests alone proves nothing.
        assert_eq!(
            a.verify(&only(&a, Algorithm::Md5)),
            Err(Mismatch::NoStrongChecksum)
        );
        assert_eq!(
            a.verify(&a.restricted_to(Algorithms::NONE.with(Algorithm::Md5).with(Algorithm::Sha1))),
            Err(Mismatch::NoStrongChecksum)
        );
        assert_eq!(
            only(&a, Algorithm::Md5).verify(&only(&a, Algorithm::Sha256)),
            Err(Mismatch::NoStrongChecksum)
        );
        assert_eq!(a.verify(&only(&a, Algorithm::Sha512)), Ok(()));
        assert_eq!(
            Mismatch::Differs(Algorithm::Md5).to_string(),
            "MD5Sum checksum differs"
        );
    }

    #[test]
    fn hashing_reader_hashes_what_passes() {
        let data = vec![42u8; 100_000];
        let mut reader = HashingReader::new(&data[..], Algorithms::DEFAULT);
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(reader.bytes_read(), 100_000);
        assert_eq!(reader.finish().0, of_bytes(&data, Algorithms::DEFAULT));
    }
}
