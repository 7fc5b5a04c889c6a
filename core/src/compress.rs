//! The compressions of apt repositories and `.deb` members: none, gzip, xz, zstd.
//!
//! Decompression is always bounded: what comes out is capped, so a small
//! compressed input cannot exhaust memory or disk (a "compression bomb").

use std::io::{self, Read, Write};

use crate::error::{Error, ErrorKind, Result};

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// xz (`.xz`).
    Xz,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Compression {
    /// Every format, uncompressed first.
    pub const ALL: [Compression; 4] = [
        Compression::None,
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
    ];

    /// The file-name suffix: `""`, `".gz"`, `".xz"` or `".zst"`.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
        }
    }

    /// The format a file name's suffix names (`Packages.xz` → xz); `None` for no known suffix.
    pub fn from_file_name(name: &str) -> Compression {
        [Compression::Gzip, Compression::Xz, Compression::Zstd]
            .into_iter()
            .find(|c| name.ends_with(c.extension()))
            .unwrap_or(Compression::None)
    }

    /// Compresses `data` at the level apt's own tools use (gzip -9, xz -6, zstd -19).
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() / 4 + 64);
        self.compress_into(data, &mut out).map_err(|e| {
            Error::new(ErrorKind::Io, format!("{self:?} compression failed: {e}")).with_source(e)
        })?;
        Ok(out)
    }

    fn compress_into(self, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Compression::None => out.extend_from_slice(data),
            Compression::Gzip => {
                // No file name and mtime 0 in the header: the same input gives the same bytes.
                let mut encoder = flate2::GzBuilder::new().write(out, flate2::Compression::best());
                encoder.write_all(data)?;
                encoder.finish()?;
            }
            Compression::Xz => {
                let mut encoder = liblzma::write::XzEncoder::new(out, 6);
                encoder.write_all(data)?;
                encoder.finish()?;
            }
            Compression::Zstd => {
                let mut encoder = zstd::Encoder::new(out, 19)?;
                encoder.include_checksum(true)?;
                encoder.write_all(data)?;
                encoder.finish()?;
            }
        }
        Ok(())
    }

    /// A reader that decompresses `input`.
    pub fn decoder<'a>(self, input: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(input),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(input)),
            Compression::Zstd => Box::new(zstd::Decoder::new(input).map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot start zstd decoder: {e}")).with_source(e)
            })?),
        })
    }

    /// Decompresses `input` completely, refusing to produce more than `limit` bytes.
    ///
    /// Corrupt data is a [`ErrorKind::Parse`] error, too much output [`ErrorKind::LimitExceeded`].
    pub fn decompress(self, input: impl Read, limit: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.decompress_into(input, limit, &mut out)?;
        Ok(out)
    }

    /// Like [`Compression::decompress`], appending to `out`.
    pub fn decompress_into(self, input: impl Read, limit: u64, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let mut decoder = self.decoder(input)?.take(limit.saturating_add(1));
        decoder.read_to_end(out).map_err(|e| {
            let kind = match e.kind() {
                io::ErrorKind::InvalidData
                | io::ErrorKind::InvalidInput
                | io::ErrorKind::UnexpectedEof => ErrorKind::Parse,
                _ => ErrorKind::Io,
            };
            Error::new(kind, format!("corrupt {} data: {e}", self.name())).with_source(e)
        })?;
        if (out.len() - start) as u64 > limit {
            out.truncate(start);
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "{} data decompresses to more than the limit of {limit} bytes",
                    self.name()
                ),
            ));
        }
        Ok(())
    }

    /// A human name: `uncompressed`, `gzip`, `xz`, `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_format() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in Compression::ALL {
            let packed = c.compress(&data).unwrap();
            if c != Compression::None {
                assert!(packed.len() < data.len() / 2, "{c:?}");
            }
            assert_eq!(
                c.decompress(&packed[..], data.len() as u64).unwrap(),
                data,
                "{c:?}"
            );
        }
    }

    #[test]
    fn compression_is_reproducible() {
        for c in Compression::ALL {
            assert_eq!(
                c.compress(b"Package: a\n").unwrap(),
                c.compress(b"Package: a\n").unwrap()
            );
        }
    }

    #[test]
    fn output_beyond_the_limit_is_refused() {
        let zeros = vec![0u8; 10 << 20];
        for c in Compression::ALL {
            let packed = c.compress(&zeros).unwrap();
            let err = c.decompress(&packed[..], 1 << 20).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{c:?}");
            assert!(err.to_string().contains("limit of 1048576 bytes"), "{err}");
            assert_eq!(c.decompress(&packed[..], 10 << 20).unwrap().len(), 10 << 20);
        }
    }

    #[test]
    fn corrupt_input_is_a_parse_error() {
        for c in [Compression::Gzip, Compression::Xz, Compression::Zstd] {
            let mut packed = c.compress(&[7u8; 5000]).unwrap();
            let n = packed.len();
            packed.truncate(n / 2);
            let err = c.decompress(&packed[..], 1 << 20).unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::Parse), "{c:?}: {err:?}");
            assert!(
                c.decompress(&b"not compressed at all"[..], 1 << 20)
                    .is_err(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn file_names_tell_the_format() {
        assert_eq!(Compression::from_file_name("Packages.xz"), Compression::Xz);
        assert_eq!(
            Compression::from_file_name("control.tar.zst"),
            Compression::Zstd
        );
        assert_eq!(
            Compression::from_file_name("Packages.gz"),
            Compression::Gzip
        );
        assert_eq!(Compression::from_file_name("Packages"), Compression::None);
    }
}
