//! Reading the `control.tar` member: `./control` and the names of the other
//! control files, under limits, with every path kept inside the archive's root.

use std::io::{self, Read};

use crate::error::{Error, ErrorKind, Result};

use super::Limits;

/// The longest entry name accepted (PATH_MAX).
const MAX_NAME: usize = 4096;

/// What a `.deb` keeps in its control archive.
pub(crate) struct ControlArchive {
    /// The bytes of `./control`.
    pub control: Vec<u8>,
    /// The regular files of the archive (`control`, `md5sums`, `postinst`...), in archive order.
    pub members: Vec<String>,
}

/// Reads a (decompressed) control tarball. Errors are relative to the archive
/// (the caller names the member and the file).
pub(crate) fn read(tar: impl Read, limits: &Limits) -> Result<ControlArchive> {
    let mut archive = tar::Archive::new(tar);
    let mut control = None;
    let mut members = Vec::new();
    let mut count = 0usize;
    let entries = archive.entries().map_err(tar_error)?;
    for entry in entries {
        let mut entry = entry.map_err(tar_error)?;
        count += 1;
        if count > limits.control_entries {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("more than {} entries", limits.control_entries),
            ));
        }
        let raw = entry.path_bytes().into_owned();
        if raw.len() > MAX_NAME {
            return Err(parse(format!(
                "an entry name of {} bytes (longer than {MAX_NAME})",
                raw.len()
            )));
        }
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let in_entry = |e: Error| e.context(&shown);
        let path = std::str::from_utf8(&raw)
            .map_err(|_| parse("the name is not valid UTF-8"))
            .map_err(in_entry)?;
        let name = normalize(path).map_err(in_entry)?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {}
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if name == "control" {
                    if control.is_some() {
                        return Err(in_entry(parse("a second control file")));
                    }
                    control = Some(read_control(&mut entry, limits).map_err(in_entry)?);
                }
                members.push(name);
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = std::str::from_utf8(&target)
                    .map_err(|_| parse("the link target is not valid UTF-8"))
                    .map_err(in_entry)?;
                check_symlink(&name, target).map_err(in_entry)?;
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = std::str::from_utf8(&target)
                    .map_err(|_| parse("the link target is not valid UTF-8"))
                    .map_err(in_entry)?;
                normalize(target)
                    .map_err(|e| e.context("hard link target"))
                    .map_err(in_entry)?;
            }
            other => {
                return Err(in_entry(parse(format!(
                    "unsupported entry type {other:?} (only files, directories and links)"
                ))));
            }
        }
    }
    let control = control.ok_or_else(|| parse("no ./control file"))?;
    Ok(ControlArchive { control, members })
}

fn read_control(entry: &mut impl Read, limits: &Limits) -> Result<Vec<u8>> {
    let cap = limits.control_file_size;
    let mut control = Vec::new();
    entry
        .take(cap as u64 + 1)
        .read_to_end(&mut control)
        .map_err(tar_error)?;
    if control.len() > cap {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("larger than {cap} bytes"),
        ));
    }
    Ok(control)
}

/// The path without `./` and trailing `/` (`""` for the root); absolute paths and
/// `..` are errors.
fn normalize(path: &str) -> Result<String> {
    if path.starts_with('/') {
        return Err(parse("absolute path"));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(parse("path escapes the archive root (`..`)")),
            _ => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// A symbolic link at `name` must resolve inside the root.
fn check_symlink(name: &str, target: &str) -> Result<()> {
    let escapes = || {
        parse(format!(
            "symbolic link to {target:?} escapes the archive root"
        ))
    };
    if target.starts_with('/') {
        return Err(escapes());
    }
    let mut depth = name.split('/').count().saturating_sub(1);
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => depth = depth.checked_sub(1).ok_or_else(escapes)?,
            _ => depth += 1,
        }
    }
    Ok(())
}

fn parse(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Parse, message)
}

fn tar_error(err: io::Error) -> Error {
    Error::new(ErrorKind::Parse, err.to_string()).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_and_kept_inside() {
        assert_eq!(normalize("./control").unwrap(), "control");
        assert_eq!(normalize("control").unwrap(), "control");
        assert_eq!(normalize("./").unwrap(), "");
        assert_eq!(normalize(".//a/./b/").unwrap(), "a/b");
        assert!(normalize("/control").is_err());
        assert!(normalize("./../control").is_err());
        assert!(normalize("a/../../x").is_err());
    }

    #[test]
    fn symlinks_must_stay_inside() {
        assert!(check_symlink("postrm", "postinst").is_ok());
        assert!(check_symlink("d/postrm", "../postinst").is_ok());
        assert!(check_symlink("postrm", "../postinst").is_err());
        assert!(check_symlink("d/postrm", "../../etc/passwd").is_err());
        assert!(check_symlink("postrm", "/etc/passwd").is_err());
        assert!(check_symlink("postrm", "./a/../../b").is_err());
    }
}
