//! Appending to compressed files without recompressing what is there.
//!
//! A repository index that only grows (new packages at its end) can be updated in
//! proportion to the change: gzip allows several members one after another, and
//! an xz stream is a list of independently compressed blocks followed by an index
//! of them. apt reads every gzip member but only the first xz *stream*, so xz
//! data is appended as one more block of the same stream, with the stream's
//! index and footer rewritten.
//!
//! The xz layout (from the .xz file format specification 1.1.0):
//!
//! ```text
//! stream header (12): magic FD 37 7A 58 5A 00, flags 00 <check>, CRC32(flags)
//! blocks: each padded to 4 bytes; "unpadded size" excludes that padding
//! index: 00, count, (unpadded size, uncompressed size)*, zero padding to 4, CRC32
//! stream footer (12): CRC32(backward size, flags), backward size = index/4 - 1, flags, "YZ"
//! ```

use std::io::Write as _;

use crate::error::Result;

use super::Compression;

/// What an append gives: the new bytes, and how many pieces (gzip members, xz
/// blocks) the result is made of, to decide when recompressing pays off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The whole compressed file, old content followed by the addition.
    pub bytes: Vec<u8>,
    /// Independently compressed pieces in it (for xz: blocks; for gzip: not counted, 0).
    pub pieces: u64,
}

impl Compression {
    /// `old` (a file of this compression) followed by `addition`, without
    /// decompressing `old`. `None` when `old` is not in a shape this can extend
    /// (another tool's multi-stream xz, a different integrity check, damage):
    /// the caller compresses everything again.
    pub fn append(self, old: &[u8], addition: &[u8]) -> Result<Option<Appended>> {
        match self {
            Compression::None => Ok(Some(Appended {
                bytes: [old, addition].concat(),
                pieces: 1,
            })),
            // RFC 1952: a gzip file is one or more members; readers decode them all.
            Compression::Gzip => Ok(Some(Appended {
                bytes: [old, &Compression::Gzip.compress(addition)?].concat(),
                pieces: 0,
            })),
            Compression::Xz => {
                let Some(old) = XzStream::parse(old) else {
                    return Ok(None);
                };
                let new = Compression::Xz.compress(addition)?;
                let Some(new) = XzStream::parse(&new) else {
                    return Ok(None);
                };
                if new.flags != old.flags || new.records.len() != 1 {
                    return Ok(None);
                }
                Ok(Some(old.followed_by(&new)))
            }
            Compression::Zstd => Ok(None),
        }
    }
}

/// A single-stream xz file, taken apart.
struct XzStream<'a> {
    /// The stream header's two flag bytes (the integrity check type).
    flags: [u8; 2],
    /// The stream header and every block, as they are.
    head_and_blocks: &'a [u8],
    /// The blocks alone.
    blocks: &'a [u8],
    /// (unpadded size, uncompressed size) of each block.
    records: Vec<(u64, u64)>,
}

const HEADER_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0x00];
const FOOTER_MAGIC: [u8; 2] = *b"YZ";

impl<'a> XzStream<'a> {
    /// Parses `data` as exactly one xz stream (no padding, nothing after it),
    /// checking every CRC and that the index describes the blocks exactly.
    fn parse(data: &'a [u8]) -> Option<XzStream<'a>> {
        let header = data.get(..12)?;
        let footer = data.get(data.len().checked_sub(12)?..)?;
        if header[..6] != HEADER_MAGIC || footer[10..] != FOOTER_MAGIC {
            return None;
        }
        let flags = [header[6], header[7]];
        if crc32(&flags) != u32::from_le_bytes(header[8..12].try_into().ok()?)
            || footer[8..10] != flags
        {
            return None;
        }
        if crc32(&footer[4..10]) != u32::from_le_bytes(footer[..4].try_into().ok()?) {
            return None;
        }
        let index_len = (u64::from(u32::from_le_bytes(footer[4..8].try_into().ok()?)) + 1) * 4;
        let index_start = data
            .len()
            .checked_sub(12)?
            .checked_sub(usize::try_from(index_len).ok()?)?;
        if index_start < 12 {
            return None;
        }
        let index = &data[index_start..data.len() - 12];
        let (body, crc) = index.split_at(index.len() - 4);
        if crc32(body) != u32::from_le_bytes(crc.try_into().ok()?) || body.first() != Some(&0) {
            return None;
        }
        let mut at = 1;
        let count = read_varint(body, &mut at)?;
        let mut records = Vec::new();
        let mut blocks_len = 0u64;
        for _ in 0..count {
            let unpadded = read_varint(body, &mut at)?;
            let uncompressed = read_varint(body, &mut at)?;
            blocks_len = blocks_len.checked_add(unpadded.checked_add(3)? / 4 * 4)?;
            records.push((unpadded, uncompressed));
        }
        // The rest of the index is padding, and the blocks fill the stream exactly.
        if body[at..].iter().any(|&b| b != 0)
            || body.len() % 4 != 0
            || blocks_len != (index_start - 12) as u64
        {
            return None;
        }
        Some(XzStream {
            flags,
            head_and_blocks: &data[..index_start],
            blocks: &data[12..index_start],
            records,
        })
    }

    /// This stream with the blocks of `next` after its own.
    fn followed_by(&self, next: &XzStream<'_>) -> Appended {
        let records: Vec<(u64, u64)> = self.records.iter().chain(&next.records).copied().collect();
        let mut index = vec![0u8];
        write_varint(&mut index, records.len() as u64);
        for &(unpadded, uncompressed) in &records {
            write_varint(&mut index, unpadded);
            write_varint(&mut index, uncompressed);
        }
        while index.len() % 4 != 0 {
            index.push(0);
        }
        let crc = crc32(&index);
        index.extend_from_slice(&crc.to_le_bytes());
        let backward = u32::try_from(index.len() / 4 - 1).unwrap_or(u32::MAX);
        let mut footer_body = Vec::with_capacity(6);
        footer_body.extend_from_slice(&backward.to_le_bytes());
        footer_body.extend_from_slice(&self.flags);

        let mut bytes =
            Vec::with_capacity(self.head_and_blocks.len() + next.blocks.len() + index.len() + 12);
        bytes.extend_from_slice(self.head_and_blocks);
        bytes.extend_from_slice(next.blocks);
        bytes.extend_from_slice(&index);
        let _ = bytes.write_all(&crc32(&footer_body).to_le_bytes());
        bytes.extend_from_slice(&footer_body);
        bytes.extend_from_slice(&FOOTER_MAGIC);
        Appended {
            bytes,
            pieces: records.len() as u64,
        }
    }
}

fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// An xz multibyte integer (7 bits per byte, least significant first, at most 9 bytes).
fn read_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            // The shortest encoding only: no trailing zero byte.
            return (i == 0 || byte != 0).then_some(value);
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::Bounds;

    fn text(from: usize, to: usize) -> Vec<u8> {
        (from..to)
            .flat_map(|i| format!("Package: p{i}\nVersion: 1.{i}\n\n").into_bytes())
            .collect()
    }

    #[test]
    fn appended_files_decompress_to_old_then_new() {
        for c in [Compression::None, Compression::Gzip, Compression::Xz] {
            let mut file = c.compress(&text(0, 500)).unwrap();
            for round in 1..5 {
                let appended = c
                    .append(&file, &text(round * 500, round * 500 + 3))
                    .unwrap()
                    .expect("appendable");
                file = appended.bytes;
                if c == Compression::Xz {
                    assert_eq!(appended.pieces, round as u64 + 1);
                }
            }
            let expected: Vec<u8> = [
                text(0, 500),
                text(500, 503),
                text(1000, 1003),
                text(1500, 1503),
                text(2000, 2003),
            ]
            .concat();
            assert_eq!(
                c.decompress(&file[..], Bounds::output(1 << 20)).unwrap(),
                expected,
                "{c:?}"
            );
        }
    }

    #[test]
    fn xz_tool_reads_the_appended_stream_whole() {
        let file = Compression::Xz.compress(&text(0, 100)).unwrap();
        let file = Compression::Xz
            .append(&file, &text(100, 110))
            .unwrap()
            .unwrap()
            .bytes;
        let out = std::process::Command::new("xz")
            .args(["--decompress", "--stdout", "--single-stream"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(&file)?;
                child.wait_with_output()
            })
            .expect("run xz (package xz-utils)");
        assert!(out.status.success());
        assert_eq!(out.stdout, text(0, 110), "one stream holds everything");
    }

    #[test]
    fn apts_own_reader_reads_appended_files_whole() {
        // apt's FileFd stops after the first xz stream: appending must keep one stream.
        let dir = tempfile::tempdir().unwrap();
        for c in [Compression::Gzip, Compression::Xz] {
            let file = c.compress(&text(0, 100)).unwrap();
            let file = c.append(&file, &text(100, 110)).unwrap().unwrap().bytes;
            let path = dir.path().join(format!("Packages{}", c.extension()));
            std::fs::write(&path, &file).unwrap();
            let out = std::process::Command::new("/usr/lib/apt/apt-helper")
                .arg("cat-file")
                .arg(&path)
                .output()
                .expect("run apt-helper (package apt)");
            assert!(out.status.success(), "{c:?}");
            assert_eq!(out.stdout, text(0, 110), "{c:?}");
        }
    }

    #[test]
    fn what_cannot_be_extended_is_declined() {
        let one = Compression::Xz.compress(b"a\n").unwrap();
        let two_streams = [one.clone(), one.clone()].concat();
        assert_eq!(Compression::Xz.append(&two_streams, b"b\n").unwrap(), None);
        // Damage to the structure (here the footer) is refused.
        let mut bad_footer = one.clone();
        let n = bad_footer.len();
        bad_footer[n - 3] ^= 1;
        assert_eq!(Compression::Xz.append(&bad_footer, b"b\n").unwrap(), None);
        assert_eq!(Compression::Xz.append(b"not xz", b"b\n").unwrap(), None);
        assert_eq!(
            Compression::Xz
                .append(&one[..one.len() - 1], b"b\n")
                .unwrap(),
            None
        );
        assert_eq!(Compression::Zstd.append(b"", b"b\n").unwrap(), None);
    }

    #[test]
    fn varints_round_trip() {
        for value in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX >> 1] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            let mut at = 0;
            assert_eq!(read_varint(&out, &mut at), Some(value));
            assert_eq!(at, out.len());
        }
        assert_eq!(
            read_varint(&[0x80, 0x00], &mut 0),
            None,
            "not the shortest form"
        );
    }
}
