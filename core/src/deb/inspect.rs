//! Reading a `.deb` in one pass: the `ar` members in dpkg's order, the control
//! archive, and the size and checksums of the whole file. `data.tar` is hashed
//! but never decompressed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::checksum::{Algorithms, Checksums, HashingReader};
use crate::control::Paragraph;
use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;

use super::Compression;
use super::ar::{self, MemberHeader};
use super::control_tar;
use crate::compress::{Bounds, Exceeded};

/// How much of the file is read (and hashed) at a time.
const BUFFER_SIZE: usize = 256 * 1024;

/// Caps on what reading a `.deb` decompresses and holds in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest `control.tar*` member, compressed (default 32 MiB).
    pub control_tar_size: u64,
    /// Largest control archive once decompressed (default 32 MiB: real ones are
    /// kilobytes; the largest `md5sums` lists in Debian are a few MiB). A GNU long
    /// name is read whole, so this also bounds the memory one name can take.
    pub control_tar_unpacked: u64,
    /// Most entries in the control archive (default 4096).
    pub control_entries: usize,
    /// Largest `./control` file, which is held in memory (default 1 MiB).
    pub control_file_size: usize,
    /// Largest field of the control file, continuation lines included (default 256 KiB).
    pub field_size: usize,
    /// Most memory a decompressor may use (xz dictionary, zstd window; default 128 MiB).
    pub decoder_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            control_tar_size: 32 << 20,
            control_tar_unpacked: 32 << 20,
            control_entries: 4096,
            control_file_size: 1 << 20,
            field_size: 256 << 10,
            decoder_memory: 128 << 20,
        }
    }
}

/// What [`inspect`](super::inspect) computes and what it tolerates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectOptions {
    /// The checksums of the whole file to compute (default MD5 + SHA256).
    pub algorithms: Algorithms,
    /// Caps on decompression and memory.
    pub limits: Limits,
}

/// Everything one pass over a `.deb` finds, before the control file is interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebInfo {
    /// The size of the file in bytes.
    pub size: u64,
    /// The checksums of the whole file, as selected in [`InspectOptions::algorithms`].
    pub checksums: Checksums,
    /// The text of `./control`: valid UTF-8, one well-formed paragraph, fields within
    /// [`Limits::field_size`]. [`DebInfo::package`] checks its fields.
    pub control: String,
    /// The regular files of the control archive (`control`, `md5sums`, `postinst`...), in archive order.
    pub control_members: Vec<String>,
    /// The compression of the control archive.
    pub control_compression: Compression,
    /// The name of the data member (`data.tar.xz`, `data.tar.zst`...).
    pub data_member: String,
}

/// Reads the `.deb` at `path` in one pass (see [`read_deb`]).
pub fn inspect_file(path: impl AsRef<Path>, options: &InspectOptions) -> Result<DebInfo> {
    let path = path.as_ref();
    let shown = path.display();
    let file = File::open(path).map_err(|e| Error::io(&shown, e))?;
    let len = file.metadata().map_err(|e| Error::io(&shown, e))?.len();
    read_deb(file, Some(len), options).map_err(|e| e.context(&shown))
}

/// Reads every `.deb` of `paths` on all cores (see [`inspect_file`]); the results
/// are in the order of `paths`.
pub fn inspect_files<P: AsRef<Path> + Sync>(
    paths: &[P],
    options: &InspectOptions,
) -> Vec<Result<DebInfo>> {
    parallel_map(paths, |p| inspect_file(p, options))
}

/// Applies `f` to every path on all cores, largest files first (so that no core is
/// left with one big file at the end); the results are in input order.
pub(crate) fn parallel_map<P, T, F>(paths: &[P], f: F) -> Vec<T>
where
    P: AsRef<Path> + Sync,
    T: Send,
    F: Fn(&P) -> T + Sync,
{
    let mut order: Vec<(u64, usize)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (std::fs::metadata(p).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len());
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None).take(paths.len()).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(_, i)) = order.get(k) else { break };
                        done.push((i, f(&paths[i])));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            // A panic in `f` is a bug; let it propagate rather than lose results.
            let done = worker
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
    });
    results.into_iter().flatten().collect()
}

/// Reads a `.deb` from `input` in one pass: strict `ar` structure, the control
/// archive (within [`Limits`]), and the checksums of every byte. `len`, when known,
/// lets truncation be reported before reading a member. Errors name the member and
/// field at fault, but not the file (the caller adds it).
pub fn read_deb(input: impl Read, len: Option<u64>, options: &InspectOptions) -> Result<DebInfo> {
    let source = Source {
        inner: HashingReader::new(input, options.algorithms),
        failed: false,
    };
    let mut reader = Reader {
        inner: BufReader::with_capacity(BUFFER_SIZE, source),
        offset: 0,
        len,
    };
    let found = reader.members(&options.limits)?;
    let source = reader.inner.into_inner();
    let size = source.inner.bytes_read();
    let (checksums, _) = source.inner.finish();
    let control = check_control(found.control, &options.limits)
        .map_err(|e| e.context(format!("member {}: ./control", found.control_member)))?;
    Ok(DebInfo {
        size,
        checksums,
        control,
        control_members: found.control_members,
        control_compression: found.control_compression,
        data_member: found.data_member,
    })
}

/// The underlying input, hashing every byte read and remembering I/O failures
/// (so that they are not mistaken for corrupt data once a decoder wraps them).
struct Source<R> {
    inner: HashingReader<R>,
    failed: bool,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed = true;
            }
        })
    }
}

struct Reader<R> {
    inner: BufReader<Source<R>>,
    /// Bytes consumed so far.
    offset: u64,
    len: Option<u64>,
}

struct Members {
    control: Vec<u8>,
    control_members: Vec<String>,
    control_member: String,
    control_compression: Compression,
    data_member: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Nothing read yet: `debian-binary` must come.
    Start,
    /// `debian-binary` read: `control.tar*` must come (or `_*` members).
    Control,
    /// Control read: `data.tar*` must come (or `_*` members).
    Data,
    /// Data read: only `_*` members may follow.
    Done,
}

/// Data member extensions dpkg accepts (it never decompresses data here).
const DATA_EXTENSIONS: [&str; 6] = ["", ".gz", ".xz", ".zst", ".bz2", ".lzma"];

impl<R: Read> Reader<R> {
    fn members(&mut self, limits: &Limits) -> Result<Members> {
        let mut magic = [0u8; 8];
        let n = self.read_full(&mut magic)?;
        if n < magic.len() || &magic != ar::MAGIC {
            return Err(if magic.starts_with(b"0.93") {
                Error::new(ErrorKind::Unsupported, "old-style (0.93) .deb format")
            } else if n < magic.len() && magic[..n] == ar::MAGIC[..n] {
                truncated("the ar magic")
            } else {
                parse("not a Debian package: no ar magic `!<arch>`")
            });
        }
        let mut stage = Stage::Start;
        let mut control = None;
        let mut data_member = None;
        loop {
            let at = self.offset;
            let mut raw = [0u8; ar::HEADER_LEN];
            match self.read_full(&mut raw)? {
                0 => break,
                ar::HEADER_LEN => {}
                _ => return Err(truncated(format!("member header at byte {at}"))),
            }
            let header = ar::parse_header(&raw)
                .map_err(|m| parse(format!("member header at byte {at}: {m}")))?;
            if let Some(len) = self.len
                && self.offset.saturating_add(header.padded_size()) > len
            {
                return Err(truncated(format!(
                    "member {} of {} bytes at byte {at}: the file has {len} bytes",
                    header.name, header.size
                )));
            }
            let name = header.name.as_str();
            let out_of_order =
                |what: &str| parse(format!("member {name} at byte {at}: expected {what}"));
            match stage {
                Stage::Start if name == "debian-binary" => {
                    self.debian_binary(&header)?;
                    stage = Stage::Control;
                }
                Stage::Start => return Err(out_of_order("debian-binary first")),
                _ if name.starts_with('_') => self.skip_member(&header)?,
                Stage::Control => {
                    let Some(ext) = name.strip_prefix("control.tar") else {
                        return Err(out_of_order("control.tar after debian-binary"));
                    };
                    let compression = Compression::from_extension(ext).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Unsupported,
                            format!("member {name}: unknown compression"),
                        )
                    })?;
                    control = Some(self.control_tar(&header, compression, limits)?);
                    stage = Stage::Data;
                }
                Stage::Data => {
                    if name.starts_with("control.tar") {
                        return Err(parse(format!("member {name}: a second control archive")));
                    }
                    let Some(ext) = name.strip_prefix("data.tar") else {
                        return Err(out_of_order("data.tar after control.tar"));
                    };
                    if !DATA_EXTENSIONS.contains(&ext) {
                        return Err(Error::new(
                            ErrorKind::Unsupported,
                            format!("member {name}: unknown compression"),
                        ));
                    }
                    if header.size == 0 {
                        return Err(parse(format!("member {name} is empty")));
                    }
                    self.skip_member(&header)?;
                    data_member = Some(header.name);
                    stage = Stage::Done;
                }
                Stage::Done => {
                    return Err(out_of_order("nothing but `_` members after data.tar"));
                }
            }
        }
        match (control, data_member) {
            (Some((control_member, compression, archive)), Some(data_member)) => Ok(Members {
                control: archive.control,
                control_members: archive.members,
                control_member,
                control_compression: compression,
                data_member,
            }),
            (None, _) if stage == Stage::Start => Err(truncated("the archive has no members")),
            (None, _) => Err(truncated("no control.tar member")),
            (Some(_), _) => Err(truncated("no data.tar member")),
        }
    }

    fn debian_binary(&mut self, header: &MemberHeader) -> Result<()> {
        let bad = || parse("member debian-binary: not a format version `2.x\\n`");
        if header.size > 16 {
            return Err(bad());
        }
        let mut content = [0u8; 16];
        let content = &mut content[..header.size as usize];
        if self.read_full(content)? < content.len() {
            return Err(truncated("member debian-binary"));
        }
        let Some(minor) = content
            .strip_prefix(b"2.")
            .and_then(|rest| rest.strip_suffix(b"\n"))
        else {
            return Err(bad());
        };
        if minor.is_empty() || !minor.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        self.padding(header)
    }

    fn control_tar(
        &mut self,
        header: &MemberHeader,
        compression: Compression,
        limits: &Limits,
    ) -> Result<(String, Compression, control_tar::ControlArchive)> {
        let name = header.name.clone();
        if header.size == 0 {
            return Err(parse(format!("member {name} is empty")));
        }
        if header.size > limits.control_tar_size {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "member {name} is {} bytes, more than the limit of {}",
                    header.size, limits.control_tar_size
                ),
            ));
        }
        let mut member = (&mut self.inner).take(header.size);
        let bounds = Bounds {
            output: limits.control_tar_unpacked,
            memory: limits.decoder_memory,
        };
        let mut exceeded = None;
        let result = compression
            .decoder(&mut member, bounds)
            .and_then(|mut decoder| {
                let archive = control_tar::read(&mut decoder, limits).and_then(|archive| {
                    // Read to the end of the compressed stream, so that corruption
                    // anywhere in it is noticed.
                    io::copy(&mut decoder, &mut io::sink())
                        .map(|_| archive)
                        .map_err(|e| decoder.error_for(e))
                });
                exceeded = decoder.exceeded();
                archive
            });
        let rest = skip(&mut member);
        let consumed = header.size - member.limit();
        self.offset += consumed;
        let failed = self.inner.get_ref().failed;
        let result = match result {
            Err(e) if failed => Err(Error::new(ErrorKind::Io, format!("read error: {e}"))),
            _ if exceeded == Some(Exceeded::Memory) => Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "decompressing needs more than the limit of {} bytes of memory",
                    limits.decoder_memory
                ),
            )),
            _ if exceeded == Some(Exceeded::Output) => Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "unpacks to more than the limit of {} bytes",
                    limits.control_tar_unpacked
                ),
            )),
            Err(e) if consumed < header.size => Err(e.context("truncated")),
            other => other,
        };
        let archive = result.map_err(|e| e.context(format!("member {name}")))?;
        rest.map_err(|e| Error::new(ErrorKind::Io, format!("member {name}: {e}")))?;
        if consumed < header.size {
            return Err(truncated(format!("member {name}")));
        }
        self.padding(header)?;
        Ok((name, compression, archive))
    }

    fn skip_member(&mut self, header: &MemberHeader) -> Result<()> {
        let mut member = (&mut self.inner).take(header.size);
        let done = skip(&mut member);
        let skipped = header.size - member.limit();
        self.offset += skipped;
        done.map_err(|e| Error::new(ErrorKind::Io, format!("member {}: {e}", header.name)))?;
        if skipped < header.size {
            return Err(truncated(format!("member {}", header.name)));
        }
        self.padding(header)
    }

    /// The `\n` after a member of odd size.
    fn padding(&mut self, header: &MemberHeader) -> Result<()> {
        if header.size & 1 == 0 {
            return Ok(());
        }
        let mut pad = [0u8; 1];
        if self.read_full(&mut pad)? == 0 {
            return Err(truncated(format!("padding after member {}", header.name)));
        }
        if pad[0] != b'\n' {
            return Err(parse(format!(
                "member {}: padding byte is {:#04x}, not a newline",
                header.name, pad[0]
            )));
        }
        Ok(())
    }

    /// Fills `buf` unless the input ends first; returns how much was read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::new(ErrorKind::Io, e.to_string()).with_source(e)),
            }
        }
        self.offset += filled as u64;
        Ok(filled)
    }
}

/// Consumes `reader` to its end without copying (the data is hashed underneath).
fn skip(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let n = match reader.fill_buf() {
            Ok(buf) => buf.len(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(());
        }
        reader.consume(n);
    }
}

/// The control file as text: valid UTF-8, one well-formed paragraph, no field
/// longer than the limit.
fn check_control(bytes: Vec<u8>, limits: &Limits) -> Result<String> {
    crate::control::from_utf8(&bytes)?;
    let text = String::from_utf8(bytes).unwrap_or_default();
    let paragraph = single_paragraph(&text)?;
    for field in paragraph.fields() {
        let size = field.name().len() + 1 + field.raw().len();
        if size > limits.field_size {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "line {}: field {} is {size} bytes, more than the limit of {}",
                    field.line(),
                    field.name(),
                    limits.field_size
                ),
            ));
        }
    }
    Ok(text)
}

/// The one paragraph of a control file.
fn single_paragraph(text: &str) -> Result<Paragraph<'_>> {
    let mut paragraphs = crate::control::paragraphs(text);
    let paragraph = paragraphs
        .next()
        .ok_or_else(|| parse("no fields (empty control file)"))??;
    if let Some(next) = paragraphs.next() {
        let line = next?.line();
        return Err(parse(format!("line {line}: a second paragraph")));
    }
    Ok(paragraph)
}

impl DebInfo {
    /// The package: the control fields checked (Package, Version, Architecture)
    /// with this file's size and checksums. Errors name the control member.
    pub fn package(&self) -> Result<Package> {
        let in_control = |e: Error| {
            e.context(format!(
                "member control.tar{}: ./control",
                self.control_compression.extension()
            ))
        };
        let paragraph = single_paragraph(&self.control).map_err(in_control)?;
        Package::from_control(paragraph.to_owned(), self.size, self.checksums.clone())
            .map_err(in_control)
    }
}

/// Reads the `.deb` at `path` with the default options (MD5 + SHA256) and returns
/// its package, whose `Display` is its Packages stanza (without Filename).
pub fn inspect(path: impl AsRef<Path>) -> Result<Package> {
    inspect_with(path, &InspectOptions::default())
}

/// Reads the `.deb` at `path` and returns its package; errors name the file.
pub fn inspect_with(path: impl AsRef<Path>, options: &InspectOptions) -> Result<Package> {
    let path = path.as_ref();
    inspect_file(path, options)?
        .package()
        .map_err(|e| e.context(path.display()))
}

/// Reads every `.deb` of `paths` on all cores; the results are in the order of `paths`.
pub fn inspect_all<P: AsRef<Path> + Sync>(
    paths: &[P],
    options: &InspectOptions,
) -> Vec<Result<Package>> {
    parallel_map(paths, |p| inspect_with(p, options))
}

fn parse(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Parse, message)
}

fn truncated(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Parse, format!("truncated .deb: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_fields_over_the_limit_name_field_and_line() {
        let limits = Limits {
            field_size: 20,
            ..Limits::default()
        };
        let text = "Package: p\nDescription: short\n but continued\n";
        let err = check_control(text.as_bytes().to_vec(), &limits).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LimitExceeded);
        assert!(
            err.to_string().starts_with("line 2: field Description"),
            "{err}"
        );
        assert!(check_control(b"Package: p\n".to_vec(), &limits).is_ok());
    }
}
