//! deb822 paragraphs: a borrowing, streaming reader and an ordered writer.
//!
//! The format of Packages, Release, dpkg's status file and a package's control
//! file: paragraphs of `Name: value` fields separated by blank lines, values
//! continued on lines that start with a space or a tab.
//!
//! [`paragraphs`] borrows from the text (no value is copied) and [`Paragraph`]
//! renders byte-identically what it read. [`OwnedParagraph`] is the editable form,
//! and [`OwnedParagraph::write_ordered`] writes fields in a canonical order the way
//! apt does ([`PACKAGES_ORDER`] is the one apt-ftparchive uses for Packages).

use std::fmt;

use memchr::memchr;

use crate::error::{Error, ErrorKind, Result};

/// The field order apt-ftparchive writes Packages stanzas in (apt's `TFRewritePackageOrder`
/// as of apt 2.6, Debian 12). Fields not listed follow, in their original order; apt
/// no longer lists the obsolete aliases `Class`, `Recommended`, `Optional`, `Revision`.
pub const PACKAGES_ORDER: &[&str] = &[
    "Package",
    "Package-Type",
    "Architecture",
    "Subarchitecture",
    "Version",
    "Kernel-Version",
    "Built-Using",
    "Static-Built-Using",
    "Built-For-Profiles",
    "Auto-Built-Package",
    "Multi-Arch",
    "Status",
    "Priority",
    "Build-Essential",
    "Protected",
    "Important",
    "Essential",
    "Installer-Menu-Item",
    "Section",
    "Source",
    "Origin",
    "Phased-Update-Percentage",
    "Maintainer",
    "Original-Maintainer",
    "Bugs",
    "Config-Version",
    "Conffiles",
    "Triggers-Awaited",
    "Triggers-Pending",
    "Installed-Size",
    "Provides",
    "Pre-Depends",
    "Depends",
    "Recommends",
    "Suggests",
    "Conflicts",
    "Breaks",
    "Replaces",
    "Enhances",
    "Filename",
    "MSDOS-Filename",
    "Size",
    "MD5sum",
    "SHA1",
    "SHA256",
    "SHA512",
    "Homepage",
    "Description",
    "Description-md5",
    "Tag",
    "Task",
];

/// Reads the paragraphs of `text` one at a time, borrowing from it.
///
/// After the first error the iterator ends. Errors are [`ErrorKind::Parse`] with
/// the line number; callers add the file name with [`Error::context`].
pub fn paragraphs(text: &str) -> Paragraphs<'_> {
    paragraphs_from_line(text, 1, 8)
}

/// [`paragraphs`] for text whose first line is line `line` of a larger file.
fn paragraphs_from_line(text: &str, line: usize, capacity: usize) -> Paragraphs<'_> {
    Paragraphs {
        text,
        pos: 0,
        line,
        failed: false,
        capacity,
        newlines: Newlines::new(text.as_bytes()),
    }
}

/// Reads paragraphs from a byte stream (a file, a decompressor, a download)
/// through one reused buffer, as apt's `pkgTagFile` does: memory stays bounded by
/// the largest paragraph, however large the file.
///
/// Each paragraph borrows from the buffer until the next call. Errors give the
/// line; a paragraph longer than the limit is [`ErrorKind::LimitExceeded`].
pub struct Reader<R> {
    input: R,
    buf: Vec<u8>,
    /// `buf[chunk_start..chunk_end]` is checked UTF-8 ending with a blank line (or
    /// the input's end): whole paragraphs, parsed from `cursor` on.
    chunk_start: usize,
    chunk_end: usize,
    /// Where parsing of the chunk stands; `None` before its first paragraph.
    cursor: Option<Cursor>,
    /// The line number of `buf[chunk_start]`.
    line: usize,
    /// `buf[..end]` holds data read.
    end: usize,
    eof: bool,
    failed: bool,
    max_paragraph: usize,
    /// The most fields a paragraph had so far: the next one's initial capacity.
    capacity: usize,
}

impl<R: std::io::Read> Reader<R> {
    /// A reader of `input` with a 256 KiB buffer, allowing paragraphs up to 16 MiB.
    pub fn new(input: R) -> Self {
        Reader {
            input,
            buf: vec![0; 256 << 10],
            chunk_start: 0,
            chunk_end: 0,
            cursor: None,
            line: 1,
            end: 0,
            eof: false,
            failed: false,
            max_paragraph: 16 << 20,
            capacity: 8,
        }
    }

    /// Sets the largest paragraph accepted, in bytes (at least 1 KiB).
    pub fn with_max_paragraph(mut self, bytes: usize) -> Self {
        self.max_paragraph = bytes.max(1 << 10);
        self.buf.truncate(self.max_paragraph);
        self
    }

    /// The next paragraph, `None` at the end of the input. After an error, `None`.
    pub fn next_paragraph(&mut self) -> Option<Result<Paragraph<'_>>> {
        if self.failed {
            return None;
        }
        while !self.chunk_has_paragraph() {
            if self.eof && self.chunk_end == self.end {
                return None;
            }
            if let Err(e) = self.next_chunk() {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let chunk = &self.buf[self.chunk_start..self.chunk_end];
        // SAFETY: `next_chunk` checked that `chunk` is UTF-8, and the buffer is
        // not written again before the next call to `next_chunk`.
        let text = unsafe { std::str::from_utf8_unchecked(chunk) };
        let mut parser = match self.cursor {
            Some(cursor) => Paragraphs::resume(text, cursor),
            None => paragraphs_from_line(text, self.line, self.capacity),
        };
        let result = parser.next();
        self.cursor = Some(parser.cursor());
        self.capacity = parser.capacity;
        match result {
            Some(Ok(paragraph)) => Some(Ok(paragraph)),
            Some(Err(e)) => {
                self.failed = true;
                Some(Err(e))
            }
            None => None,
        }
    }

    /// Whether the rest of the chunk holds more than blank lines.
    fn chunk_has_paragraph(&self) -> bool {
        let pos = self.chunk_start + self.cursor.map_or(0, |c| c.pos);
        self.buf[pos..self.chunk_end]
            .iter()
            .any(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    }

    /// Drops what was parsed, reads until the data holds a blank line (or ends),
    /// and makes everything up to the last blank line the new chunk.
    fn next_chunk(&mut self) -> Result<()> {
        let consumed = self.chunk_start + self.cursor.map_or(0, |c| c.pos);
        self.line = self.cursor.map_or(self.line, |c| c.line);
        self.cursor = None;
        self.buf.copy_within(consumed..self.end, 0);
        self.end -= consumed;
        self.chunk_start = 0;
        self.chunk_end = 0;
        let mut searched = 0usize;
        loop {
            if !self.eof {
                self.read_more()?;
            }
            if self.eof {
                self.chunk_end = self.end;
                break;
            }
            if let Some(end) = last_blank_line_end(&self.buf[..self.end], searched) {
                self.chunk_end = end;
                break;
            }
            searched = self.end;
        }
        match from_utf8(&self.buf[..self.chunk_end]) {
            Ok(_) => Ok(()),
            Err(e) => Err(shift_line(e, self.line - 1)),
        }
    }

    /// Reads once into the free end of the buffer, growing it when full.
    fn read_more(&mut self) -> Result<()> {
        if self.end == self.buf.len() {
            if self.buf.len() >= self.max_paragraph {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "line {}: no paragraph end (blank line) within the limit of {} bytes",
                        self.line, self.max_paragraph
                    ),
                ));
            }
            let grown = (self.buf.len() * 2).min(self.max_paragraph);
            self.buf.resize(grown, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("line {}: read failed: {e}", self.line),
                    )
                    .with_source(e));
                }
            }
            return Ok(());
        }
    }
}

/// The end of the last blank line in `data` (a `\n`, then nothing but spaces,
/// tabs or `\r`, then a `\n`) whose second `\n` is at or after `from`: what the
/// parser also takes for the end of a paragraph.
fn last_blank_line_end(data: &[u8], from: usize) -> Option<usize> {
    let mut next_newline: Option<usize> = None;
    for newline in memchr::memrchr_iter(b'\n', data) {
        if let Some(next) = next_newline {
            if next < from {
                return None;
            }
            if data[newline + 1..next]
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
            {
                return Some(next + 1);
            }
        }
        next_newline = Some(newline);
    }
    None
}

/// Adds `lines` to the line number at the start of a parse error's message.
pub(crate) fn shift_line(err: Error, lines: usize) -> Error {
    let message = err.message();
    let shifted = message
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(n, rest)| Some(format!("line {}:{rest}", n.parse::<usize>().ok()? + lines)));
    match shifted {
        Some(message) => Error::new(err.kind(), message),
        None => err,
    }
}

/// Checks that `bytes` are UTF-8, naming the line of the first invalid byte.
pub fn from_utf8(bytes: &[u8]) -> Result<&str> {
    // The vectorised check first; std's only to say where the error is.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok(text);
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::new(ErrorKind::Parse, format!("line {line}: invalid UTF-8"))
    })
}

/// One field of a borrowed [`Paragraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    name: &'a str,
    raw: &'a str,
    line: usize,
}

impl<'a> Field<'a> {
    /// The field name as written.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The value without surrounding whitespace; continuation lines keep their
    /// leading space and are joined by `\n`.
    pub fn value(&self) -> &'a str {
        self.raw.trim_matches(is_space)
    }

    /// Everything after the colon up to the end of the field's last line, as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The 1-based line the field starts on.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// A paragraph borrowed from the text it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph<'a> {
    fields: Vec<Field<'a>>,
    line: usize,
}

impl<'a> Paragraph<'a> {
    /// The value of field `name` (case-insensitive), without surrounding whitespace.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.field(name).map(|f| f.value())
    }

    /// The field `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The fields in the order they were written.
    pub fn fields(&self) -> &[Field<'a>] {
        &self.fields
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the paragraph has no field (never true for a parsed paragraph).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The 1-based line the paragraph starts on.
    pub fn line(&self) -> usize {
        self.line
    }

    /// An owned, editable copy.
    pub fn to_owned(&self) -> OwnedParagraph {
        OwnedParagraph {
            fields: self
                .fields
                .iter()
                .map(|f| {
                    (
                        f.name.to_owned(),
                        f.raw.trim_end_matches(is_space).to_owned(),
                    )
                })
                .collect(),
        }
    }
}

/// Renders the paragraph exactly as it was written, each line ending in `\n`.
impl fmt::Display for Paragraph<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for field in &self.fields {
            writeln!(f, "{}:{}", field.name, field.raw)?;
        }
        Ok(())
    }
}

/// The iterator returned by [`paragraphs`].
#[derive(Debug, Clone)]
pub struct Paragraphs<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    failed: bool,
    /// The most fields a paragraph had so far: the next one's initial capacity.
    capacity: usize,
    /// Every line is visited in order, so one pass over the text finds all line
    /// ends (much cheaper than a search per line).
    newlines: Newlines<'a>,
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Result<Paragraph<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.read_paragraph()?;
        self.failed = item.is_err();
        Some(item)
    }
}

impl std::iter::FusedIterator for Paragraphs<'_> {}

/// Where a [`Paragraphs`] stands in its text, without borrowing it, so that a
/// [`Reader`] can resume parsing a buffer it owns.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    pos: usize,
    line: usize,
    block: usize,
    mask: u64,
    first_nul: usize,
}

impl<'a> Paragraphs<'a> {
    /// Resumes parsing `text` where `cursor` was taken.
    fn resume(text: &'a str, cursor: Cursor) -> Self {
        Paragraphs {
            text,
            pos: cursor.pos,
            line: cursor.line,
            failed: false,
            capacity: 8,
            newlines: Newlines {
                bytes: text.as_bytes(),
                block: cursor.block,
                mask: cursor.mask,
                first_nul: cursor.first_nul,
            },
        }
    }

    /// Where parsing stands.
    fn cursor(&self) -> Cursor {
        Cursor {
            pos: self.pos,
            line: self.line,
            block: self.newlines.block,
            mask: self.newlines.mask,
            first_nul: self.newlines.first_nul,
        }
    }

    /// The end of the line at the current position: its `\n`, or the end of the text.
    fn next_line_end(&mut self) -> usize {
        self.newlines.next().unwrap_or(self.text.len())
    }

    /// Reads the next paragraph; `None` at the end of the text.
    fn read_paragraph(&mut self) -> Option<Result<Paragraph<'a>>> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut pos = self.pos;
        let mut line = self.line;
        // Skip the blank lines that separate paragraphs.
        while pos < bytes.len() && starts_blank_line(&bytes[pos..]) {
            pos = self.next_line_end() + 1;
            line += 1;
        }
        if pos >= bytes.len() {
            self.pos = bytes.len();
            self.line = line;
            return None;
        }
        let start = pos;
        let first_line = line;
        let mut fields: Vec<Field<'a>> = Vec::with_capacity(self.capacity);
        // Duplicate names: a 64-bit filter first; a paragraph with many fields
        // (where the filter fills up) switches to a set, to stay linear.
        let mut seen = 0u64;
        let mut many_names: Option<std::collections::HashSet<String>> = None;
        loop {
            let end = self.next_line_end();
            if matches!(bytes[pos], b' ' | b'\t') {
                let Some(last) = fields.last_mut() else {
                    return Some(Err(parse_error(
                        line,
                        "continuation line with no field before it",
                    )));
                };
                let value_start = last.raw.as_ptr() as usize - text.as_ptr() as usize;
                last.raw = &text[value_start..end];
            } else {
                let name_len = match scan_field_name(&bytes[pos..end]) {
                    Ok(len) => len,
                    Err(why) => return Some(Err(parse_error(line, why))),
                };
                let name = &text[pos..pos + name_len];
                let bit = 1u64 << (name_hash(name) & 63);
                let duplicate = match &mut many_names {
                    Some(names) => !names.insert(name.to_ascii_lowercase()),
                    None => {
                        seen & bit != 0 && fields.iter().any(|f| f.name.eq_ignore_ascii_case(name))
                    }
                };
                if duplicate {
                    let first = fields
                        .iter()
                        .find(|f| f.name.eq_ignore_ascii_case(name))
                        .map_or(0, |f| f.line);
                    return Some(Err(parse_error(
                        line,
                        format!("duplicate field {name:?} (first on line {first})"),
                    )));
                }
                seen |= bit;
                fields.push(Field {
                    name,
                    raw: &text[pos + name_len + 1..end],
                    line,
                });
                if many_names.is_none() && fields.len() == MANY_FIELDS {
                    many_names = Some(fields.iter().map(|f| f.name.to_ascii_lowercase()).collect());
                }
            }
            line += 1;
            pos = end + 1;
            // The paragraph ends at the text's end or a blank line; most lines
            // start with a letter, which settles it at once.
            match bytes.get(pos) {
                None | Some(b'\n') => break,
                Some(b' ' | b'\t' | b'\r') if starts_blank_line(&bytes[pos..]) => break,
                Some(_) => {}
            }
        }
        let end = pos.min(bytes.len());
        // Every byte before `end` has been scanned for newlines, and so for NULs.
        let nul = self.newlines.first_nul;
        if nul < end {
            let nul_line = first_line + bytes[start..nul].iter().filter(|&&b| b == b'\n').count();
            return Some(Err(parse_error(nul_line, "NUL byte")));
        }
        self.pos = pos.min(bytes.len());
        self.line = line;
        self.capacity = self.capacity.max(fields.len());
        Some(Ok(Paragraph {
            fields,
            line: first_line,
        }))
    }
}

/// An owned paragraph: fields in order, editable.
///
/// Values are kept as apt keeps them: what follows the colon, trailing whitespace
/// removed, continuation lines included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedParagraph {
    fields: Vec<(String, String)>,
}

impl OwnedParagraph {
    /// An empty paragraph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of field `name` (case-insensitive), without surrounding whitespace.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .map(|i| self.fields[i].1.trim_matches(is_space))
    }

    /// Whether field `name` (case-insensitive) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets field `name` to `value`, in place if present (case-insensitive), else at the end.
    ///
    /// A multi-line value has its continuation lines start with a space or tab;
    /// none may be blank (that would end the paragraph).
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        check_field_name(name).map_err(|why| Error::new(ErrorKind::InvalidInput, why))?;
        check_field_value(value)
            .map_err(|why| Error::new(ErrorKind::InvalidInput, format!("field {name:?}: {why}")))?;
        self.set_unchecked(name, value.trim_end_matches(is_space));
        Ok(())
    }

    /// Sets a field whose name and value are known to be well-formed.
    pub(crate) fn set_unchecked(&mut self, name: &str, value: &str) {
        match self.position(name) {
            Some(i) => value.clone_into(&mut self.fields[i].1),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }

    /// Removes field `name` (case-insensitive), returning its value without surrounding whitespace.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.position(name)?;
        let (_, value) = self.fields.remove(i);
        Some(value.trim_matches(is_space).to_owned())
    }

    /// The fields as (name, value) pairs in order, values without surrounding whitespace.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.trim_matches(is_space)))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Writes the fields the way apt's `pkgTagSection::Write` does: first the
    /// fields named in `order`, spelled as there; then the others in their
    /// original order.
    pub fn write_ordered(&self, order: &[&str], out: &mut impl fmt::Write) -> fmt::Result {
        for name in order {
            if let Some(i) = self.position(name) {
                write_field(out, name, &self.fields[i].1)?;
            }
        }
        for (name, value) in &self.fields {
            if !order.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                write_field(out, name, value)?;
            }
        }
        Ok(())
    }

    /// The value of field `name` as apt's `FindRaw` gives it: leading whitespace kept.
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.fields[i].1.as_str())
    }

    /// The fields as (name, raw value) pairs in order.
    pub(crate) fn raw_fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Sorts the fields as [`OwnedParagraph::write_ordered`] writes them: those
    /// named in `order` first, in that order, then the others as they were.
    pub fn sort_by_order(&mut self, order: &[&str]) {
        let rank = |name: &str| {
            order
                .iter()
                .position(|o| o.eq_ignore_ascii_case(name))
                .unwrap_or(order.len())
        };
        self.fields.sort_by_cached_key(|(name, _)| rank(name));
    }

    /// Keeps only the fields for which `keep(name)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.fields.retain(|(name, _)| keep(name));
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

impl From<&Paragraph<'_>> for OwnedParagraph {
    fn from(paragraph: &Paragraph<'_>) -> Self {
        paragraph.to_owned()
    }
}

/// Renders the fields in their order, `Name: value` per field.
impl fmt::Display for OwnedParagraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.fields {
            write_field(f, name, value)?;
        }
        Ok(())
    }
}

/// Writes one field as apt does: a space after the colon unless the value starts with whitespace.
pub(crate) fn write_field(out: &mut impl fmt::Write, name: &str, value: &str) -> fmt::Result {
    let separator = if value.starts_with(is_space) || value.is_empty() {
        ":"
    } else {
        ": "
    };
    writeln!(out, "{name}{separator}{value}")
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Whether `rest` starts with a line of nothing but whitespace (or is empty).
fn starts_blank_line(rest: &[u8]) -> bool {
    match rest.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r')) {
        Some(i) => rest[i] == b'\n',
        None => true,
    }
}

/// The positions of the `\n` bytes of a text, in order, found a 64-byte block at
/// a time (one vector pass per block, then one bit per line). NUL bytes are
/// noted in the same pass.
#[derive(Debug, Clone)]
struct Newlines<'a> {
    bytes: &'a [u8],
    /// Start of the block `mask` describes.
    block: usize,
    /// Newlines of the current block not yet returned, one bit each.
    mask: u64,
    /// The first NUL byte in the blocks scanned so far (`usize::MAX`: none).
    first_nul: usize,
}

impl<'a> Newlines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mut newlines = Newlines {
            bytes,
            block: 0,
            mask: 0,
            first_nul: usize::MAX,
        };
        newlines.scan_block();
        newlines
    }

    fn scan_block(&mut self) {
        let (newlines, nuls) = block_masks(&self.bytes[self.block..]);
        self.mask = newlines;
        if nuls != 0 && self.first_nul == usize::MAX {
            self.first_nul = self.block + nuls.trailing_zeros() as usize;
        }
    }
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.block + 64 >= self.bytes.len() {
                return None;
            }
            self.block += 64;
            self.scan_block();
        }
        let at = self.block + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// One bit per `\n`, and one per NUL, among the first 64 bytes of `bytes`.
#[inline]
fn block_masks(bytes: &[u8]) -> (u64, u64) {
    match bytes.first_chunk::<64>() {
        Some(block) => block_masks_64(block),
        None => bytes.iter().enumerate().fold((0, 0), |(nl, nul), (i, &b)| {
            (
                nl | u64::from(b == b'\n') << i,
                nul | u64::from(b == 0) << i,
            )
        }),
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks_64(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8, _mm_setzero_si128,
    };
    let (mut newlines, mut nuls) = (0u64, 0u64);
    for (i, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of every x86_64 target; `chunk` is 16 readable
        // bytes and `_mm_loadu_si128` allows unaligned loads.
        let (nl, nul) = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            (
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))),
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())),
            )
        };
        newlines |= u64::from(nl as u16) << (16 * i);
        nuls |= u64::from(nul as u16) << (16 * i);
    }
    (newlines, nuls)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks_64(block: &[u8; 64]) -> (u64, u64) {
    block.iter().enumerate().fold((0, 0), |(nl, nul), (i, &b)| {
        (
            nl | u64::from(b == b'\n') << i,
            nul | u64::from(b == 0) << i,
        )
    })
}

/// A cheap hash of a field name, the same for names that differ only in case.
fn name_hash(name: &str) -> u32 {
    // `| 0x20` folds ASCII letters to lower case; other bytes only need to fold consistently.
    let b = name.as_bytes();
    let first = u32::from(b.first().map_or(0, |c| c | 0x20));
    let last = u32::from(b.last().map_or(0, |c| c | 0x20));
    (b.len() as u32).wrapping_mul(31) ^ first.wrapping_mul(7) ^ last
}

/// The length of the field name that starts `line`, up to its colon, checked as
/// [`check_field_name`] does. Names are short: this looks at eight bytes at a
/// time for the first byte that is a colon or not allowed in a name.
#[inline]
fn scan_field_name(line: &[u8]) -> std::result::Result<usize, String> {
    let mut at = 0;
    let stop = loop {
        if at + 8 > line.len() {
            match line[at..]
                .iter()
                .position(|&b| b == b':' || !(b'!'..=b'~').contains(&b))
            {
                Some(i) => break at + i,
                None => return Err(no_colon(line)),
            }
        }
        let word = u64::from_le_bytes(line[at..at + 8].try_into().unwrap_or_default());
        // The lowest flagged byte of each mask is exact, so the lowest of all is the first stop.
        let flags = bytes_equal(word, b':')
            | bytes_below(word, b'!')
            | bytes_equal(word, 0x7f)
            | (word & HI);
        if flags != 0 {
            break at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    };
    if line[stop] == b':' && stop > 0 && !matches!(line[0], b'#' | b'-') {
        return Ok(stop);
    }
    Err(match memchr(b':', line) {
        Some(colon) => check_field_name(from_ascii(&line[..colon]))
            .err()
            .unwrap_or_else(|| "invalid field name".into()),
        None => no_colon(line),
    })
}

/// From this many fields on, a paragraph checks duplicates with a set.
const MANY_FIELDS: usize = 32;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in the bytes of `word` equal to `byte` (the lowest one exact).
#[inline]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (LO * u64::from(byte));
    x.wrapping_sub(LO) & !x & HI
}

/// High bit set in the bytes of `word` below `limit` (≤ 0x80; the lowest one exact).
#[inline]
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(LO * u64::from(limit)) & !word & HI
}

fn no_colon(line: &[u8]) -> String {
    let found = excerpt(from_ascii(line));
    format!("expected \"Name: value\", found {found:?}")
}

/// `bytes` as text for an error message (lossy where a character was cut).
fn from_ascii(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// deb822 field names: printable US-ASCII without space or colon, not starting with `#` or `-`.
fn check_field_name(name: &str) -> std::result::Result<(), String> {
    let first = name.bytes().next().ok_or("empty field name")?;
    if first == b'#' || first == b'-' {
        return Err(format!(
            "field name {name:?} starts with {:?}",
            first as char
        ));
    }
    if let Some(i) = name
        .bytes()
        .position(|b| !matches!(b, b'!'..=b'9' | b';'..=b'~'))
    {
        let c = name[i..].chars().next().unwrap_or_default();
        return Err(format!("field name {:?} contains {c:?}", excerpt(name)));
    }
    Ok(())
}

fn check_field_value(value: &str) -> std::result::Result<(), String> {
    if value.contains('\0') {
        return Err("value contains a NUL byte".into());
    }
    for (i, line) in value.split('\n').enumerate().skip(1) {
        if !line.starts_with([' ', '\t']) {
            return Err(format!(
                "continuation line {i} does not start with a space or tab"
            ));
        }
        if is_blank(line.as_bytes()) {
            return Err(format!(
                "continuation line {i} is blank (use \" .\" for an empty line)"
            ));
        }
    }
    Ok(())
}

fn parse_error(line: usize, message: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Parse, format!("line {line}: {message}"))
}

/// The start of `s`, short enough for an error message.
fn excerpt(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Package: hello\nVersion: 2.10-3\nDescription: example package\n based on GNU hello\n .\n more text\n\nPackage: world\nversion:1.0\n";

    fn parse_all(text: &str) -> Result<Vec<Paragraph<'_>>> {
        paragraphs(text).collect()
    }

    #[test]
    fn reads_fields_values_and_lines() {
        let all = parse_all(TEXT).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].get("package"), Some("hello"));
        assert_eq!(
            all[0].get("DESCRIPTION"),
            Some("example package\n based on GNU hello\n .\n more text")
        );
        assert_eq!(all[1].get("Version"), Some("1.0"));
        assert_eq!(all[1].line(), 8);
        assert_eq!(all[1].field("version").unwrap().line(), 9);
        assert_eq!(all[0].get("Missing"), None);
        assert_eq!(
            all[0].fields().iter().map(Field::name).collect::<Vec<_>>(),
            ["Package", "Version", "Description"]
        );
    }

    #[test]
    fn renders_byte_identically() {
        let text = "A: 1\nB:  two  spaces\nC:\n x\n\ty\n\nD: 4\n";
        let rendered: Vec<String> = paragraphs(text).map(|p| p.unwrap().to_string()).collect();
        assert_eq!(rendered.join("\n"), text);
    }

    #[test]
    fn blank_lines_with_whitespace_separate_paragraphs() {
        let all = parse_all("\n\nA: 1\n \t\nB: 2\n\n\n").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].line(), 5);
    }

    #[test]
    fn text_without_final_newline() {
        let all = parse_all("A: 1\nB: 2").unwrap();
        assert_eq!(all[0].get("B"), Some("2"));
        assert!(parse_all("").unwrap().is_empty());
        assert!(parse_all("\n \n").unwrap().is_empty());
    }

    fn error_of(text: &str) -> String {
        let err = paragraphs(text).find_map(Result::err).expect("an error");
        assert_eq!(err.kind(), ErrorKind::Parse);
        err.to_string()
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            error_of("A: 1\n\nB: 2\nb: 3\n"),
            "line 4: duplicate field \"b\" (first on line 3)"
        );
        assert_eq!(
            error_of("A: 1\nno colon here\n"),
            "line 2: expected \"Name: value\", found \"no colon here\""
        );
        assert_eq!(
            error_of(" continued\n"),
            "line 1: continuation line with no field before it"
        );
        assert_eq!(error_of("A: 1\nB: x\0y\n"), "line 2: NUL byte");
        assert!(error_of("A B: 1\n").starts_with("line 1: field name"));
        assert!(error_of("-A: 1\n").contains("starts with '-'"));
        assert_eq!(error_of(": 1\n"), "line 1: empty field name");
    }

    #[test]
    fn stops_after_the_first_error() {
        let mut it = paragraphs("A: 1\n\nbad\n\nC: 3\n");
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn newlines_are_found_in_every_block_position() {
        let mut text = vec![b'x'; 300];
        let expected = [0, 7, 63, 64, 65, 127, 128, 200, 299];
        for &i in &expected {
            text[i] = b'\n';
        }
        assert_eq!(Newlines::new(&text).collect::<Vec<_>>(), expected);
        assert_eq!(Newlines::new(&text[..63]).collect::<Vec<_>>(), [0, 7]);
        assert_eq!(
            Newlines::new(&text[..65]).collect::<Vec<_>>(),
            [0, 7, 63, 64]
        );
        assert_eq!(Newlines::new(b"").next(), None);
    }

    #[test]
    fn many_fields_are_checked_for_duplicates_in_linear_time() {
        let mut text: String = (0..50_000).map(|i| format!("F{i}: x\n")).collect();
        assert_eq!(parse_all(&text).unwrap()[0].len(), 50_000);
        text.push_str("f49999: again\n");
        assert_eq!(
            error_of(&text),
            "line 50001: duplicate field \"f49999\" (first on line 50000)"
        );
        let early: String = (0..40).map(|i| format!("F{i}: x\n")).collect::<String>() + "f3: y\n";
        assert_eq!(
            error_of(&early),
            "line 41: duplicate field \"f3\" (first on line 4)"
        );
    }

    #[test]
    fn duplicate_check_is_exact_not_just_hashed() {
        // Same length and first/last letters: same hash bucket, different names.
        let all = parse_all("Abc: 1\nAxc: 2\nAyc: 3\n").unwrap();
        assert_eq!(all[0].len(), 3);
    }

    /// Gives at most `step` bytes per read, to cut lines and characters anywhere.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn read_all(data: &[u8], step: usize, max: usize) -> Result<Vec<String>> {
        let mut reader = Reader::new(Trickle { data, step }).with_max_paragraph(max);
        let mut out = Vec::new();
        while let Some(p) = reader.next_paragraph() {
            let p = p?;
            out.push(format!("{}@{}", p, p.line()));
        }
        Ok(out)
    }

    #[test]
    fn reader_gives_what_paragraphs_gives_however_input_is_cut() {
        let text = format!("{TEXT}\n \n\nC: ünïcödé\n more\nD:\n\n\nE: last");
        let expected: Vec<String> = paragraphs(&text)
            .map(|p| {
                let p = p.unwrap();
                format!("{}@{}", p, p.line())
            })
            .collect();
        assert_eq!(expected.len(), 4);
        for step in [1, 2, 3, 7, 64, 1 << 20] {
            assert_eq!(
                read_all(text.as_bytes(), step, 1 << 20).unwrap(),
                expected,
                "step {step}"
            );
        }
    }

    #[test]
    fn reader_splits_where_paragraphs_splits_on_crlf_and_blank_lines_with_spaces() {
        let crlf: String = (0..5000)
            .map(|i| format!("Package: p{i}\r\nVersion: 1\r\n\r\n"))
            .collect();
        let spaced: String = (0..5000)
            .map(|i| format!("Package: p{i}\nVersion: 1\n \t\n"))
            .collect();
        for text in [crlf, spaced] {
            let expected = paragraphs(&text).count();
            assert_eq!(expected, 5000);
            // A limit far below the input: only paragraphs, not the whole input, must fit.
            assert_eq!(
                read_all(text.as_bytes(), 4096, 2048).unwrap().len(),
                expected
            );
        }
        assert_eq!(last_blank_line_end(b"A: 1\n \r\nB: 2\n\nC", 0), Some(14));
        assert_eq!(last_blank_line_end(b"A: 1\n \r\nB: 2\nC", 0), Some(8));
        assert_eq!(last_blank_line_end(b"A: 1\n \r\nB: 2\nC", 12), None);
        assert_eq!(last_blank_line_end(b"A: 1\nB: 2\n", 0), None);
    }

    #[test]
    fn reader_errors_give_the_file_line() {
        let text = format!("{TEXT}\nA: 1\nA: 2\n");
        let err = read_all(text.as_bytes(), 5, 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 12: duplicate field \"A\" (first on line 11)"
        );
        let err = read_all(b"A: 1\n\nB: \xff\n", 3, 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "line 3: invalid UTF-8");
        let long = format!("A: {}\n", "x".repeat(300_000));
        let err = read_all(long.as_bytes(), 1 << 20, 100_000).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LimitExceeded);
        assert!(
            err.to_string()
                .contains("line 1: no paragraph end (blank line) within the limit of 100000 bytes"),
            "{err}"
        );
        assert_eq!(
            read_all(long.as_bytes(), 1 << 20, 1 << 20).unwrap().len(),
            1
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = from_utf8(b"A: 1\nB: \xff\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: invalid UTF-8");
    }

    #[test]
    fn owned_paragraph_edits_and_renders() {
        let parsed = parse_all(TEXT).unwrap();
        let mut owned = parsed[0].to_owned();
        owned.set("version", "2.10-4").unwrap();
        owned.set("Depends", "libc6 (>= 2.34)").unwrap();
        assert_eq!(owned.get("Version"), Some("2.10-4"));
        assert_eq!(owned.remove("package").as_deref(), Some("hello"));
        assert_eq!(
            owned.to_string(),
            "Version: 2.10-4\nDescription: example package\n based on GNU hello\n .\n more text\nDepends: libc6 (>= 2.34)\n"
        );
        owned.set("MD5Sum", "\n abc 1 f").unwrap();
        assert!(owned.to_string().ends_with("MD5Sum:\n abc 1 f\n"));
    }

    #[test]
    fn owned_paragraph_rejects_bad_fields() {
        let mut p = OwnedParagraph::new();
        assert_eq!(
            p.set("A:B", "x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(p.set("A", "x\ny").is_err());
        assert!(p.set("A", "x\n \ny").is_err());
        assert!(p.set("A", "x\0").is_err());
        assert!(p.is_empty());
    }

    #[test]
    fn write_ordered_follows_the_order_then_the_rest() {
        let text = "Description: d\nX-Custom: c\nversion: 1\nPackage: p\nZ-Other: z\n";
        let owned = parse_all(text).unwrap()[0].to_owned();
        let mut out = String::new();
        owned.write_ordered(PACKAGES_ORDER, &mut out).unwrap();
        assert_eq!(
            out,
            "Package: p\nVersion: 1\nDescription: d\nX-Custom: c\nZ-Other: z\n"
        );
    }
}
