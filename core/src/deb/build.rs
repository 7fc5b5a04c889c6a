//! Writing a `.deb` from a directory tree and control fields, reproducibly:
//! the same tree and fields give the same bytes.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::checksum::{Algorithm, Algorithms, Hasher};
use crate::control::OwnedParagraph;
use crate::error::{Error, ErrorKind, Result};
use crate::index::package::check_control_fields;

use super::Compression;
use super::ar;
use super::tarball::TarWriter;

/// Builds a `.deb` from a directory tree (the files to install, relative to `/`)
/// and the fields of its control file.
///
/// The archive is deterministic: entries sorted by name, owner and group
/// root:root, every mtime set to one timestamp (the explicit [`Builder::mtime`],
/// else `SOURCE_DATE_EPOCH`, else 0), compressors without timestamps.
/// `Installed-Size` is computed unless given, and an `md5sums` control file is
/// generated for the regular files. Directories, regular files (mode kept) and
/// symbolic links are archived; other file types are an error.
///
/// ```no_run
/// use debpull::deb::{Builder, Compression};
/// let bytes = Builder::new("build/root")
///     .field("Package", "hello")
///     .field("Version", "1.0-1")
///     .field("Architecture", "all")
///     .field("Maintainer", "Ops <ops@example.com>")
///     .field("Description", "says hello\n Longer text.")
///     .control_file("postinst", "#!/bin/sh\nset -e\n", 0o755)
///     .compression(Compression::Zstd)
///     .build()?;
/// # Ok::<(), debpull::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    root: PathBuf,
    fields: Vec<(String, String)>,
    control_files: Vec<(String, Vec<u8>, u32)>,
    control_compression: Compression,
    data_compression: Compression,
    mtime: Option<u64>,
}

/// One entry of the data tree.
struct Entry {
    /// Path relative to the root, without `./`; directories end with `/`.
    path: String,
    kind: Kind,
    mode: u32,
}

enum Kind {
    Dir,
    File(u64),
    Symlink(String),
}

impl Builder {
    /// A builder for the tree under `root` (no control fields yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Builder {
            root: root.into(),
            fields: Vec::new(),
            control_files: Vec::new(),
            control_compression: Compression::Xz,
            data_compression: Compression::Xz,
            mtime: None,
        }
    }

    /// Sets a control field, replacing one of the same name (case-insensitive) in
    /// place; new fields keep the order they are given in. Continuation lines of a
    /// multi-line value start with a space.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self
            .fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
        self
    }

    /// Adds a file to the control archive (`postinst`, `conffiles`, `triggers`...),
    /// with its permission bits (0o755 for maintainer scripts; more than 0o7777 is
    /// refused when building). An `md5sums` given here replaces the generated one.
    pub fn control_file(
        mut self,
        name: impl Into<String>,
        contents: impl Into<Vec<u8>>,
        mode: u32,
    ) -> Self {
        let name = name.into();
        self.control_files.retain(|(n, _, _)| *n != name);
        self.control_files.push((name, contents.into(), mode));
        self
    }

    /// Compresses both tar members with `compression` (default xz).
    pub fn compression(self, compression: Compression) -> Self {
        self.control_compression(compression)
            .data_compression(compression)
    }

    /// Compresses `control.tar` with `compression`.
    pub fn control_compression(mut self, compression: Compression) -> Self {
        self.control_compression = compression;
        self
    }

    /// Compresses `data.tar` with `compression`.
    pub fn data_compression(mut self, compression: Compression) -> Self {
        self.data_compression = compression;
        self
    }

    /// Sets every timestamp in the archive to `seconds` since the epoch (instead of
    /// `SOURCE_DATE_EPOCH`).
    pub fn mtime(mut self, seconds: u64) -> Self {
        self.mtime = Some(seconds);
        self
    }

    /// The `.deb` as bytes.
    pub fn build(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Writes the `.deb` to a new file at `path` (through a temporary file in the
    /// same directory, renamed into place when complete).
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.build()?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, &bytes).map_err(|e| Error::io(tmp.display(), e))?;
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(path.display(), e)
        })
    }

    /// Writes the `.deb` to `out`. The data archive is built in memory first (its
    /// size goes into the `ar` header before it).
    pub fn write_to(&self, mut out: impl Write) -> Result<()> {
        let mtime = self.timestamp()?;
        let paragraph = self.paragraph()?;
        let entries = walk(&self.root)?;

        let (data, md5sums) = self.data_tar(&entries, mtime)?;
        let control = self.control_text(paragraph, &entries);
        let control_tar = self.control_tar(&control, md5sums, mtime)?;

        let control_name = format!("control.tar{}", self.control_compression.extension());
        let data_name = format!("data.tar{}", self.data_compression.extension());
        let write = |out: &mut dyn Write| -> io::Result<()> {
            out.write_all(ar::MAGIC)?;
            for (name, content) in [
                ("debian-binary", &b"2.0\n"[..]),
                (control_name.as_str(), &control_tar[..]),
                (data_name.as_str(), &data[..]),
            ] {
                out.write_all(&ar::write_header(name, content.len() as u64, mtime))?;
                out.write_all(content)?;
                if content.len() % 2 == 1 {
                    out.write_all(b"\n")?;
                }
            }
            out.flush()
        };
        for (name, member) in [(&control_name, &control_tar), (&data_name, &data)] {
            if member.len() as u64 > ar::MAX_MEMBER_SIZE {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "{name} is {} bytes, more than an ar member can hold",
                        member.len()
                    ),
                ));
            }
        }
        write(&mut out)
            .map_err(|e| Error::new(ErrorKind::Io, format!("writing the .deb: {e}")).with_source(e))
    }

    fn timestamp(&self) -> Result<u64> {
        let mtime = match self.mtime {
            Some(t) => t,
            None => match std::env::var("SOURCE_DATE_EPOCH") {
                Ok(v) => v.trim().parse().map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("SOURCE_DATE_EPOCH {v:?} is not a number of seconds"),
                    )
                })?,
                Err(_) => 0,
            },
        };
        // Tar headers hold 11 octal digits; ar headers 12 decimal digits.
        if mtime >= 8u64.pow(11) || mtime > ar::MAX_MTIME {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("timestamp {mtime} is too large for a .deb"),
            ));
        }
        Ok(mtime)
    }

    /// The fields as a paragraph, checked: well-formed names and values, and a valid
    /// Package, Version and Architecture.
    fn paragraph(&self) -> Result<OwnedParagraph> {
        let mut paragraph = OwnedParagraph::new();
        for (name, value) in &self.fields {
            paragraph.set(name, value)?;
            if paragraph.get(name).is_none_or(str::is_empty) {
                return Err(invalid(format!("field {name} is empty")));
            }
        }
        // The same checks as reading a .deb makes; here the fields are the caller's input.
        check_control_fields(&paragraph).map_err(|e| match e.kind() {
            ErrorKind::Parse => e.with_kind(ErrorKind::InvalidInput),
            _ => e,
        })?;
        Ok(paragraph)
    }

    /// The data tarball, and the md5sums lines of its regular files.
    fn data_tar(&self, entries: &[Entry], mtime: u64) -> Result<(Vec<u8>, String)> {
        let mut tar = TarWriter::new(self.data_compression.encoder(Vec::new())?);
        let root_mode = fs::metadata(&self.root).map_err(|e| Error::io(self.root.display(), e))?;
        tar.dir("./", mode_of(&root_mode), mtime)
            .map_err(write_error)?;
        let mut md5sums = String::new();
        for entry in entries {
            let name = format!("./{}", entry.path);
            match &entry.kind {
                Kind::Dir => tar.dir(&name, entry.mode, mtime),
                Kind::Symlink(target) => tar.symlink(&name, target, mtime),
                Kind::File(size) => {
                    let disk = self.root.join(&entry.path);
                    let file = File::open(&disk).map_err(|e| Error::io(disk.display(), e))?;
                    let mut reader = Md5Reader {
                        inner: file,
                        hasher: Hasher::new(Algorithms::NONE.with(Algorithm::Md5)),
                    };
                    tar.file(&name, entry.mode, mtime, *size, &mut reader)
                        .map_err(|e| Error::io(disk.display(), e))?;
                    let sums = reader.hasher.finish();
                    md5sums.push_str(&format!(
                        "{}  {}\n",
                        sums.hex(Algorithm::Md5).unwrap_or_default(),
                        entry.path
                    ));
                    Ok(())
                }
            }
            .map_err(write_error)?;
        }
        let data = tar.finish().and_then(|e| e.finish()).map_err(write_error)?;
        Ok((data, md5sums))
    }

    /// The control file: the fields as given, `Installed-Size` added if missing.
    fn control_text(&self, paragraph: OwnedParagraph, entries: &[Entry]) -> String {
        if paragraph.contains("Installed-Size") {
            return paragraph.to_string();
        }
        let kib: u64 = entries
            .iter()
            .map(|e| match &e.kind {
                Kind::File(size) => size.div_ceil(1024),
                Kind::Symlink(target) => (target.len() as u64).div_ceil(1024),
                Kind::Dir => 1,
            })
            .sum();
        // After the identifying fields, where dpkg-gencontrol puts it.
        let head = ["Package", "Source", "Version", "Architecture", "Maintainer"];
        let fields: Vec<(&str, &str)> = paragraph.raw_fields().collect();
        let at = fields
            .iter()
            .rposition(|(n, _)| head.iter().any(|h| h.eq_ignore_ascii_case(n)))
            .map_or(0, |i| i + 1);
        let size = kib.to_string();
        let mut text = String::new();
        for (i, (name, value)) in fields.iter().enumerate() {
            if i == at {
                text.push_str(&format!("Installed-Size: {size}\n"));
            }
            push_field(&mut text, name, value);
        }
        if at == fields.len() {
            text.push_str(&format!("Installed-Size: {size}\n"));
        }
        text
    }

    fn control_tar(&self, control: &str, md5sums: String, mtime: u64) -> Result<Vec<u8>> {
        let mut members: Vec<(&str, &[u8], u32)> = vec![("control", control.as_bytes(), 0o644)];
        let given_md5sums = self.control_files.iter().any(|(n, _, _)| n == "md5sums");
        if !md5sums.is_empty() && !given_md5sums {
            members.push(("md5sums", md5sums.as_bytes(), 0o644));
        }
        for (name, contents, mode) in &self.control_files {
            if name == "control" || name.is_empty() || name.contains('/') || name.starts_with('.') {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "control file name {name:?} is not allowed (control comes from the fields)"
                    ),
                ));
            }
            if *mode > 0o7777 {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "control file {name:?}: mode {mode:#o} is more than permission bits (0o7777)"
                    ),
                ));
            }
            members.push((name, contents, *mode));
        }
        members.sort_by(|a, b| a.0.cmp(b.0));
        let mut tar = TarWriter::new(self.control_compression.encoder(Vec::new())?);
        tar.dir("./", 0o755, mtime).map_err(write_error)?;
        for (name, contents, mode) in members {
            tar.file(
                &format!("./{name}"),
                mode,
                mtime,
                contents.len() as u64,
                &mut &contents[..],
            )
            .map_err(write_error)?;
        }
        tar.finish().and_then(|e| e.finish()).map_err(write_error)
    }
}

/// Appends `Name: value` (a multi-line value keeps its continuation lines).
fn push_field(text: &mut String, name: &str, value: &str) {
    // Writing into a String cannot fail.
    let _ = crate::control::write_field(text, name, value);
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

struct Md5Reader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for Md5Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

fn write_error(e: io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("building the archive: {e}")).with_source(e)
}

/// Every entry under `root`, depth first, each directory's entries sorted by name.
fn walk(root: &Path) -> Result<Vec<Entry>> {
    let meta = fs::metadata(root).map_err(|e| Error::io(root.display(), e))?;
    if !meta.is_dir() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{}: not a directory", root.display()),
        ));
    }
    let mut entries = Vec::new();
    walk_into(root, "", &mut entries)?;
    Ok(entries)
}

fn walk_into(dir: &Path, prefix: &str, entries: &mut Vec<Entry>) -> Result<()> {
    let read = fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut names = Vec::new();
    for item in read {
        let item = item.map_err(|e| Error::io(dir.display(), e))?;
        let name = item.file_name().into_string().map_err(|n| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{}: file name {n:?} is not UTF-8", dir.display()),
            )
        })?;
        names.push(name);
    }
    names.sort();
    for name in names {
        let disk = dir.join(&name);
        let meta = fs::symlink_metadata(&disk).map_err(|e| Error::io(disk.display(), e))?;
        let path = format!("{prefix}{name}");
        let mode = mode_of(&meta);
        let kind = meta.file_type();
        if kind.is_dir() {
            entries.push(Entry {
                path: format!("{path}/"),
                kind: Kind::Dir,
                mode,
            });
            walk_into(&disk, &format!("{path}/"), entries)?;
        } else if kind.is_file() {
            entries.push(Entry {
                path,
                kind: Kind::File(meta.len()),
                mode,
            });
        } else if kind.is_symlink() {
            let target = fs::read_link(&disk).map_err(|e| Error::io(disk.display(), e))?;
            let target = target.into_os_string().into_string().map_err(|t| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("{}: link target {t:?} is not UTF-8", disk.display()),
                )
            })?;
            entries.push(Entry {
                path,
                kind: Kind::Symlink(target),
                mode,
            });
        } else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: only directories, regular files and symbolic links can be packaged",
                    disk.display()
                ),
            ));
        }
    }
    Ok(())
}
