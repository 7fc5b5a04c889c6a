//! A binary package as a repository lists it: control fields, file, size, checksums.

use std::fmt;

use crate::checksum::{Algorithm, Checksums};
use crate::control::{self, OwnedParagraph, PACKAGES_ORDER, Paragraph};
use crate::error::{Error, ErrorKind, Result};
use crate::version::Version;

/// The fields of a Packages stanza that describe the `.deb` file rather than the package.
const FILE_FIELDS: [&str; 6] = ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];

/// A binary package: the control fields of its `.deb`, plus where the file is,
/// how large it is, and its checksums.
///
/// [`Display`](fmt::Display) renders its Packages stanza exactly as
/// `apt-ftparchive packages` does: fields in apt's canonical order, `Status`
/// dropped, Section and Priority trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Control fields, without the file fields.
    control: OwnedParagraph,
    version: Version,
    filename: Option<String>,
    size: u64,
    checksums: Checksums,
}

impl Package {
    /// A package from the control file of a `.deb`, the file's size and checksums.
    ///
    /// Package, Version and Architecture must be present and valid; errors name the field.
    pub fn from_control(
        control: OwnedParagraph,
        size: u64,
        checksums: Checksums,
    ) -> Result<Package> {
        let mut control = control;
        control.retain(|name| !is_file_field(name));
        normalize_like_apt_ftparchive(&mut control);
        // Kept in the order it is written, so that equal packages compare equal
        // whatever order their fields were read in.
        control.sort_by_order(PACKAGES_ORDER);
        let version = check_control_fields(&control)?;
        Ok(Package {
            control,
            version,
            filename: None,
            size,
            checksums,
        })
    }

    /// A package from one stanza of a Packages index: Filename, Size and at
    /// least one checksum are required besides Package, Version and Architecture.
    ///
    /// Errors name the field and the line of the stanza.
    pub fn from_paragraph(paragraph: &Paragraph<'_>) -> Result<Package> {
        let line = paragraph.line();
        let at_line = |e: Error| e.context(format_args!("line {line}"));
        let get = |name: &str| {
            paragraph.get(name).ok_or_else(|| {
                let package = paragraph.get("Package").unwrap_or("?");
                at_line(Error::new(
                    ErrorKind::Parse,
                    format!("package {package:?}: missing field {name}"),
                ))
            })
        };
        let filename = get("Filename")?;
        check_pool_path(filename).map_err(at_line)?;
        let size = get("Size")?;
        let size = size.parse::<u64>().map_err(|_| {
            at_line(Error::new(
                ErrorKind::Parse,
                format!("field Size: {size:?} is not a size in bytes"),
            ))
        })?;
        let mut checksums = Checksums::default();
        for algorithm in Algorithm::ALL {
            if let Some(hex) = paragraph.get(algorithm.packages_field()) {
                checksums.set_hex(algorithm, hex).map_err(at_line)?;
            }
        }
        if checksums.algorithms() == crate::checksum::Algorithms::NONE {
            return Err(at_line(Error::new(
                ErrorKind::Parse,
                "no checksum field (MD5sum, SHA1, SHA256, SHA512)",
            )));
        }
        let mut package =
            Package::from_control(paragraph.to_owned(), size, checksums).map_err(at_line)?;
        package.filename = Some(filename.to_owned());
        Ok(package)
    }

    /// The package name.
    pub fn name(&self) -> &str {
        self.control.get("Package").unwrap_or_default()
    }

    /// The version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The architecture (`amd64`, `all`, ...).
    pub fn architecture(&self) -> &str {
        self.control.get("Architecture").unwrap_or_default()
    }

    /// The source package name: the first word of `Source`, or the package name.
    pub fn source_name(&self) -> &str {
        self.control
            .get("Source")
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| self.name())
    }

    /// A control field (case-insensitive), without surrounding whitespace.
    /// The file fields (Filename, Size, checksums) have their own accessors.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.control.get(field)
    }

    /// The control fields, without the file fields.
    pub fn control(&self) -> &OwnedParagraph {
        &self.control
    }

    /// The path of the `.deb` relative to the repository root, once known.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// Sets the path of the `.deb` relative to the repository root.
    pub fn set_filename(&mut self, filename: impl Into<String>) -> Result<()> {
        let filename = filename.into();
        check_pool_path(&filename)?;
        self.filename = Some(filename);
        Ok(())
    }

    /// Sets or (`None`) removes the staged rollout field
    /// `Phased-Update-Percentage`; 100 removes it too (see [`crate::phasing`]).
    pub fn set_phased_update_percentage(&mut self, percentage: Option<u8>) -> Result<()> {
        match percentage {
            Some(p) if p < 100 => {
                // As a Packages index reads back (the raw value keeps the
                // blank after the colon), where `from_control` puts it: the
                // entry equals the one read back.
                self.control
                    .set_unchecked(crate::phasing::FIELD, &format!(" {p}"));
                self.control.sort_by_order(PACKAGES_ORDER);
            }
            Some(p) if p > 100 => {
                return Err(crate::phasing::percentage(p.into()).unwrap_err());
            }
            _ => {
                self.control.remove(crate::phasing::FIELD);
            }
        }
        Ok(())
    }

    /// The size of the `.deb` in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The checksums of the `.deb`.
    pub fn checksums(&self) -> &Checksums {
        &self.checksums
    }

    /// The SHA256 of the `.deb` in hex, if known.
    pub fn sha256_hex(&self) -> Option<String> {
        self.checksums.hex(Algorithm::Sha256)
    }

    /// Where Debian's pool layout puts this package in `component`:
    /// `pool/<component>/<prefix>/<source>/<name>_<version without epoch>_<arch>.deb`,
    /// the prefix being the first four letters for sources starting with `lib`
    /// (as dak does), else the first letter.
    pub fn pool_path(&self, component: &str) -> String {
        // The source name was checked to be a package name: ASCII, no `/`.
        let source = self.source_name();
        let prefix_len = if source.starts_with("lib") { 4 } else { 1 };
        let prefix = source.get(..prefix_len).unwrap_or(source);
        let version = self.version.as_str();
        let version = version.split_once(':').map_or(version, |(_, v)| v);
        format!(
            "pool/{component}/{prefix}/{source}/{}_{version}_{}.deb",
            self.name(),
            self.architecture()
        )
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &name in PACKAGES_ORDER {
            if is_file_field(name) {
                self.write_file_field(f, name)?;
            } else if let Some(raw) = self.control.raw(name) {
                control::write_field(f, name, raw)?;
            }
        }
        for (name, raw) in self.control.raw_fields() {
            if !PACKAGES_ORDER.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                control::write_field(f, name, raw)?;
            }
        }
        Ok(())
    }
}

impl Package {
    fn write_file_field(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        match name {
            "Filename" => match &self.filename {
                Some(filename) => writeln!(f, "Filename: {filename}"),
                None => Ok(()),
            },
            "Size" => writeln!(f, "Size: {}", self.size),
            _ => {
                let algorithm = Algorithm::ALL
                    .into_iter()
                    .find(|a| a.packages_field() == name);
                match algorithm.and_then(|a| self.checksums.hex(a)) {
                    Some(hex) => writeln!(f, "{name}: {hex}"),
                    None => Ok(()),
                }
            }
        }
    }
}

fn is_file_field(name: &str) -> bool {
    FILE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// What apt-ftparchive (2.6) changes in a control paragraph besides the file fields:
/// Section and Priority are trimmed (and dropped when empty), Status is dropped.
/// A legacy Optional is kept as it is (older apt folded it into Suggests).
fn normalize_like_apt_ftparchive(control: &mut OwnedParagraph) {
    for name in ["Section", "Priority"] {
        match control.get(name).map(str::to_owned) {
            Some(value) if value.is_empty() => {
                control.remove(name);
            }
            Some(value) => control.set_unchecked(name, &value),
            None => {}
        }
    }
    control.remove("Status");
}

/// Checks Package, Version, Architecture and (if present) Source; returns the
/// parsed version. Messages say `field <Name>` and, past Package, which package.
pub(crate) fn check_control_fields(control: &OwnedParagraph) -> Result<Version> {
    let field = |name: &str| {
        control
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::new(ErrorKind::Parse, format!("missing field {name}")))
    };
    let name = field("Package")?;
    check_package_name(name, "Package")?;
    let in_package = |e: Error| e.context(format_args!("package {name}"));
    let version = Version::parse(field("Version")?)
        .map_err(|e| e.context("field Version"))
        .map_err(in_package)?;
    check_architecture(field("Architecture")?).map_err(in_package)?;
    if let Some(source) = control.get("Source") {
        check_source(source).map_err(in_package)?;
    }
    Ok(version)
}

/// `Source: name` or `Source: name (version)`, the name a valid package name.
fn check_source(source: &str) -> Result<()> {
    let (name, version) = match source.split_once(' ') {
        Some((name, rest)) => (name, Some(rest.trim())),
        None => (source, None),
    };
    check_package_name(name, "Source")?;
    if let Some(version) = version {
        let inner = version
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Parse,
                    format!("field Source: {source:?} is not \"name\" or \"name (version)\""),
                )
            })?;
        Version::parse(inner).map_err(|e| e.context("field Source"))?;
    }
    Ok(())
}

/// Whether `name` is a package name as Debian Policy 5.6.7 allows: lower-case
/// letters, digits, `+`, `-`, `.`; at least two characters, starting with a
/// letter or digit.
pub(crate) fn is_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
}

/// A [`Parse`](ErrorKind::Parse) error naming `field` unless `name` [`is_package_name`].
fn check_package_name(name: &str, field: &str) -> Result<()> {
    if is_package_name(name) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Parse,
            format!(
                "field {field}: {name:?} is not a valid package name (lower-case letters, digits, '+', '-', '.'; at least 2 characters, starting alphanumeric)"
            ),
        ))
    }
}

/// A Debian architecture name: lower-case letters, digits and `-`, starting alphanumeric.
pub(crate) fn check_architecture(arch: &str) -> Result<()> {
    let valid = arch.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && arch
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Parse,
            format!("field Architecture: {arch:?} is not a valid architecture name"),
        ))
    }
}

/// A Filename must be a relative path that stays inside the repository.
fn check_pool_path(path: &str) -> Result<()> {
    let escapes = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.chars().any(char::is_control)
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if escapes {
        Err(Error::new(
            ErrorKind::Parse,
            format!("field Filename: {path:?} is not a relative path inside the repository"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{self, Algorithms};

    fn control(text: &str) -> OwnedParagraph {
        control::paragraphs(text)
            .next()
            .unwrap()
            .unwrap()
            .to_owned()
    }

    fn package(text: &str) -> Result<Package> {
        Package::from_control(
            control(text),
            1234,
            checksum::of_bytes(b"deb", Algorithms::DEFAULT),
        )
    }

    const HELLO: &str = "Package: hello\nVersion: 1:2.10-3\nArchitecture: amd64\nMaintainer: Santiago <s@example.org>\nInstalled-Size: 280\nDepends: libc6 (>= 2.34)\nSection:  devel \nPriority: optional\nX-Custom:  kept as is\nDescription: example package\n based on GNU hello\n";

    #[test]
    fn renders_in_apt_ftparchive_order() {
        let mut p = package(HELLO).unwrap();
        p.set_filename("pool/main/h/hello/hello_2.10-3_amd64.deb")
            .unwrap();
        let sums = checksum::of_bytes(b"deb", Algorithms::DEFAULT);
        let expected = format!(
            "Package: hello\nArchitecture: amd64\nVersion: 1:2.10-3\nPriority: optional\nSection: devel\nMaintainer: Santiago <s@example.org>\nInstalled-Size: 280\nDepends: libc6 (>= 2.34)\nFilename: pool/main/h/hello/hello_2.10-3_amd64.deb\nSize: 1234\nMD5sum: {}\nSHA256: {}\nDescription: example package\n based on GNU hello\nX-Custom:  kept as is\n",
            sums.hex(Algorithm::Md5).unwrap(),
            sums.hex(Algorithm::Sha256).unwrap()
        );
        assert_eq!(p.to_string(), expected);
    }

    #[test]
    fn accessors() {
        let p = package(HELLO).unwrap();
        assert_eq!(p.name(), "hello");
        assert_eq!(p.version().to_string(), "1:2.10-3");
        assert_eq!(p.architecture(), "amd64");
        assert_eq!(p.source_name(), "hello");
        assert_eq!(p.get("depends"), Some("libc6 (>= 2.34)"));
        assert_eq!(p.size(), 1234);
        assert_eq!(
            p.pool_path("main"),
            "pool/main/h/hello/hello_2.10-3_amd64.deb"
        );
    }

    #[test]
    fn pool_path_uses_source_and_lib_prefix() {
        let p = package(
            "Package: libfoo1\nSource: libfoo (1.0-1)\nVersion: 1.0-1+b1\nArchitecture: all\n",
        )
        .unwrap();
        assert_eq!(p.source_name(), "libfoo");
        assert_eq!(
            p.pool_path("main"),
            "pool/main/libf/libfoo/libfoo1_1.0-1+b1_all.deb"
        );
    }

    #[test]
    fn source_is_checked_so_pool_paths_stay_in_the_pool() {
        for source in [
            "libé",
            "../../../etc",
            "Foo",
            "a",
            "libfoo (1.0",
            "libfoo (not a version)",
        ] {
            let text = format!("Package: foo\nSource: {source}\nVersion: 1\nArchitecture: all\n");
            let err = package(&text).unwrap_err();
            assert_eq!(
                err.kind(),
                if source.contains("not a version") {
                    ErrorKind::InvalidVersion
                } else {
                    ErrorKind::Parse
                },
                "{source}"
            );
            assert!(
                err.to_string().starts_with("package foo: field Source"),
                "{source}: {err}"
            );
        }
        let lib =
            package("Package: lib-utils\nSource: lib\nVersion: 1\nArchitecture: all\n").unwrap();
        assert_eq!(
            lib.pool_path("main"),
            "pool/main/lib/lib/lib-utils_1_all.deb"
        );
    }

    #[test]
    fn drops_status_and_keeps_optional_last() {
        let p = package("Package: old\nVersion: 1\nArchitecture: all\nStatus: install ok installed\nOptional: b\nSuggests: a\n").unwrap();
        assert_eq!(p.get("Status"), None);
        assert_eq!(p.get("Suggests"), Some("a"));
        assert!(p.to_string().ends_with("\nOptional: b\n"), "{p}");
    }

    #[test]
    fn required_fields_are_checked_with_clear_errors() {
        let err = package("Package: x1\nArchitecture: all\n").unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::Parse, "missing field Version")
        );
        let err = package("Package: Hello\nVersion: 1\nArchitecture: all\n").unwrap_err();
        assert!(
            err.to_string().contains("field Package: \"Hello\""),
            "{err}"
        );
        let err = package("Package: hello\nVersion: 1.0 beta\nArchitecture: all\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidVersion);
        assert!(
            err.to_string()
                .starts_with("package hello: field Version: version '1.0 beta'"),
            "{err}"
        );
        let err = package("Package: hello\nVersion: 1\nArchitecture: AMD64\n").unwrap_err();
        assert!(err.to_string().contains("field Architecture"), "{err}");
        assert!(package("Package: hello\nVersion: 1\n").is_err());
    }

    #[test]
    fn from_paragraph_reads_file_fields() {
        let text = "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nFilename: pool/main/h/hello/hello_2.10-3_amd64.deb\nSize: 53000\nMD5sum: 0123456789abcdef0123456789abcdef\nSHA256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
        let p =
            Package::from_paragraph(&control::paragraphs(text).next().unwrap().unwrap()).unwrap();
        assert_eq!(p.size(), 53000);
        assert_eq!(
            p.filename(),
            Some("pool/main/h/hello/hello_2.10-3_amd64.deb")
        );
        assert_eq!(p.sha256_hex().unwrap(), "0123456789abcdef".repeat(4));
        assert!(
            p.get("Size").is_none(),
            "file fields are not control fields"
        );
        let reparsed = p.to_string();
        let again =
            Package::from_paragraph(&control::paragraphs(&reparsed).next().unwrap().unwrap())
                .unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn from_paragraph_rejects_bad_file_fields() {
        let base = "Package: hello\nVersion: 1\nArchitecture: all\n";
        let cases = [
            ("Size: 1\nSHA256: 00\n", "missing field Filename"),
            (
                "Filename: ../../etc/passwd\nSize: 1\nMD5sum: 0123456789abcdef0123456789abcdef\n",
                "not a relative path",
            ),
            (
                "Filename: /etc/passwd\nSize: 1\nMD5sum: 0123456789abcdef0123456789abcdef\n",
                "not a relative path",
            ),
            (
                "Filename: pool/a.deb\nSize: -1\nMD5sum: 0123456789abcdef0123456789abcdef\n",
                "field Size",
            ),
            ("Filename: pool/a.deb\nSize: 1\n", "no checksum field"),
            (
                "Filename: pool/a.deb\nSize: 1\nSHA256: abc\n",
                "SHA256 checksum",
            ),
        ];
        for (extra, why) in cases {
            let text = format!("{base}{extra}");
            let err = Package::from_paragraph(&control::paragraphs(&text).next().unwrap().unwrap())
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse, "{extra}");
            assert!(err.to_string().contains(why), "{extra}: {err}");
            assert!(err.to_string().contains("line 1"), "{extra}: {err}");
        }
    }
}
