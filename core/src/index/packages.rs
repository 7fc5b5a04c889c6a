//! The Packages index of one suite, component and architecture.

use std::fmt;

use crate::compress::{Bounds, Compression};
use crate::control;
use crate::error::Result;
use crate::index::Package;

/// The packages of one `dists/<suite>/<component>/binary-<arch>/Packages` file, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packages {
    packages: Vec<Package>,
}

impl Packages {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the text of a Packages file. Errors give the line (callers add the file name).
    pub fn parse(text: &str) -> Result<Packages> {
        control::paragraphs(text)
            .map(|paragraph| Package::from_paragraph(&paragraph?))
            .collect::<Result<Vec<_>>>()
            .map(|packages| Packages { packages })
    }

    /// Parses a possibly compressed Packages file, decompressing within `bounds`.
    pub fn parse_compressed(
        data: &[u8],
        compression: Compression,
        bounds: Bounds,
    ) -> Result<Packages> {
        let text = compression.decompress(data, bounds)?;
        Packages::parse(control::from_utf8(&text)?)
    }

    /// The packages, in index order.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// The number of packages.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// Iterates over the packages in index order.
    pub fn iter(&self) -> std::slice::Iter<'_, Package> {
        self.packages.iter()
    }

    /// Iterates mutably over the packages in index order.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Package> {
        self.packages.iter_mut()
    }

    /// Appends a package.
    pub fn push(&mut self, package: Package) {
        self.packages.push(package);
    }

    /// Keeps the packages for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Package) -> bool) {
        self.packages.retain(keep);
    }

    /// Sorts by name, then version (dpkg order), then architecture: a stable,
    /// reproducible order for writing.
    pub fn sort(&mut self) {
        self.packages.sort_by(|a, b| {
            a.name()
                .cmp(b.name())
                .then_with(|| a.version().cmp(b.version()))
                .then_with(|| a.architecture().cmp(b.architecture()))
        });
    }

    /// The highest version of `name` installable on `arch` (a package of that
    /// architecture, or of `all`).
    pub fn candidate(&self, name: &str, arch: &str) -> Option<&Package> {
        self.packages
            .iter()
            .filter(|p| p.name() == name && (p.architecture() == arch || p.architecture() == "all"))
            .max_by(|a, b| a.version().cmp(b.version()))
    }

    /// The index rendered and compressed.
    pub fn to_compressed(&self, compression: Compression) -> Result<Vec<u8>> {
        compression.compress(self.to_string().as_bytes())
    }
}

/// Renders the Packages file: one stanza per package, each followed by a blank line.
impl fmt::Display for Packages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for package in &self.packages {
            writeln!(f, "{package}")?;
        }
        Ok(())
    }
}

impl FromIterator<Package> for Packages {
    fn from_iter<I: IntoIterator<Item = Package>>(iter: I) -> Self {
        Packages {
            packages: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for Packages {
    type Item = Package;
    type IntoIter = std::vec::IntoIter<Package>;

    fn into_iter(self) -> Self::IntoIter {
        self.packages.into_iter()
    }
}

impl<'a> IntoIterator for &'a Packages {
    type Item = &'a Package;
    type IntoIter = std::slice::Iter<'a, Package>;

    fn into_iter(self) -> Self::IntoIter {
        self.packages.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn stanza(name: &str, version: &str, arch: &str) -> String {
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nFilename: pool/main/{name}_{version}_{arch}.deb\nSize: 10\nSHA256: {}\n\n",
            "ab".repeat(32)
        )
    }

    #[test]
    fn parse_render_parse_is_stable() {
        let text = stanza("app", "1.0", "amd64")
            + &stanza("app", "1.1", "all")
            + &stanza("lib", "2", "amd64");
        let index = Packages::parse(&text).unwrap();
        assert_eq!(index.len(), 3);
        let rendered = index.to_string();
        assert_eq!(Packages::parse(&rendered).unwrap(), index);
        for c in Compression::ALL {
            let packed = index.to_compressed(c).unwrap();
            assert_eq!(
                Packages::parse_compressed(&packed, c, Bounds::output(1 << 20)).unwrap(),
                index
            );
        }
    }

    #[test]
    fn candidate_is_the_highest_version_for_the_architecture_or_all() {
        let text = stanza("app", "1.0", "amd64")
            + &stanza("app", "1.10~rc1", "all")
            + &stanza("app", "1.9", "amd64")
            + &stanza("app", "2.0", "arm64");
        let index = Packages::parse(&text).unwrap();
        assert_eq!(
            index.candidate("app", "amd64").unwrap().version().as_str(),
            "1.10~rc1"
        );
        assert_eq!(
            index.candidate("app", "arm64").unwrap().version().as_str(),
            "2.0"
        );
        assert!(index.candidate("other", "amd64").is_none());
    }

    #[test]
    fn sort_orders_by_name_version_architecture() {
        let text =
            stanza("bb", "1", "all") + &stanza("aa", "1.10", "all") + &stanza("aa", "1.9", "all");
        let mut index = Packages::parse(&text).unwrap();
        index.sort();
        let order: Vec<String> = index
            .iter()
            .map(|p| format!("{}={}", p.name(), p.version()))
            .collect();
        assert_eq!(order, ["aa=1.9", "aa=1.10", "bb=1"]);
    }

    #[test]
    fn errors_name_the_line() {
        let text = stanza("app", "1.0", "amd64")
            + "Package: bad\nVersion: 1\nArchitecture: all\nSize: 1\n";
        let err = Packages::parse(&text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(err.to_string().contains("line 8"), "{err}");
        assert!(err.to_string().contains("missing field Filename"), "{err}");
    }
}
