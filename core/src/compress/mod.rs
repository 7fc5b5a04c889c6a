//! The compressions of apt repositories and `.deb` members: none, gzip, xz, zstd.
//!
//! Decompression is always bounded ([`Bounds`]): what comes out, and the memory a
//! decoder may take (xz dictionaries, zstd windows), are capped, so that a small
//! input cannot exhaust memory or disk. Compression is deterministic: the same
//! input gives the same bytes.

use std::fmt;
use std::io::{self, BufRead, Read, Write};

use crate::error::{Error, ErrorKind, Result};

mod append;

pub use append::Appended;

/// Memory a decoder may use unless told otherwise: 128 MiB.
pub const DEFAULT_DECODER_MEMORY: u64 = 128 << 20;

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

/// How much one decompression may produce and use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Most bytes that may come out.
    pub output: u64,
    /// Most memory the decoder may allocate.
    pub memory: u64,
}

impl Bounds {
    /// At most `output` bytes out, with the default decoder memory.
    pub const fn output(output: u64) -> Bounds {
        Bounds {
            output,
            memory: DEFAULT_DECODER_MEMORY,
        }
    }
}

/// Which bound a [`BoundedReader`] hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// More bytes would have come out than allowed.
    Output,
    /// The data asks the decoder for more memory than allowed.
    Memory,
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

    /// The format whose suffix is exactly `extension` (`""` is uncompressed).
    pub fn from_extension(extension: &str) -> Option<Compression> {
        Compression::ALL
            .into_iter()
            .find(|c| c.extension() == extension)
    }

    /// The format a file name's suffix names (`Packages.xz` → xz); `None` for no known suffix.
    pub fn from_file_name(name: &str) -> Compression {
        [Compression::Gzip, Compression::Xz, Compression::Zstd]
            .into_iter()
            .find(|c| name.ends_with(c.extension()))
            .unwrap_or(Compression::None)
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

    /// A writer compressing into `output` at dpkg-deb's levels (gzip -9, xz -6,
    /// zstd -3), deterministically (gzip: no name, mtime 0).
    pub fn encoder<W: Write>(self, output: W) -> Result<Encoder<W>> {
        Ok(match self {
            Compression::None => Encoder::None(output),
            Compression::Gzip => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(3)
                    .write(output, flate2::Compression::best()),
            ),
            Compression::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(output, 6)),
            Compression::Zstd => Encoder::Zstd(
                zstd::stream::write::Encoder::new(output, 3)
                    .map_err(|e| self.error(ErrorKind::Io, format!("cannot start encoder: {e}")))?,
            ),
        })
    }

    /// Compresses `data` (see [`Compression::encoder`]).
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>> {
        let mut encoder = self.encoder(Vec::with_capacity(data.len() / 4 + 64))?;
        encoder
            .write_all(data)
            .and_then(|()| encoder.finish())
            .map_err(|e| self.error(ErrorKind::Io, format!("compression failed: {e}")))
    }

    /// A reader decompressing `input` within `bounds`; it reads `input` through
    /// its buffer, never past the end of the compressed stream.
    pub fn decoder<'a>(
        self,
        input: impl BufRead + 'a,
        bounds: Bounds,
    ) -> Result<BoundedReader<'a>> {
        let setup = |e: io::Error| self.error(ErrorKind::Io, format!("cannot start decoder: {e}"));
        let inner: Box<dyn Read + 'a> = match self {
            Compression::None => Box::new(input),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    bounds.memory,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(|e| setup(io::Error::other(e)))?;
                Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
            }
            Compression::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(setup)?;
                // zstd's window is its buffer: allow the largest 2^log within the memory bound.
                let log = (63 - bounds.memory.max(1 << 10).leading_zeros()).min(31);
                decoder.window_log_max(log).map_err(setup)?;
                Box::new(decoder)
            }
        };
        Ok(BoundedReader {
            inner,
            compression: self,
            bounds,
            remaining: bounds.output,
            exceeded: None,
        })
    }

    /// Decompresses `input` completely within `bounds`.
    ///
    /// Exceeding a bound is [`ErrorKind::LimitExceeded`], corrupt data [`ErrorKind::Parse`].
    pub fn decompress(self, input: impl BufRead, bounds: Bounds) -> Result<Vec<u8>> {
        let mut decoder = self.decoder(input, bounds)?;
        let mut out = Vec::new();
        match decoder.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => Err(decoder.error_for(e)),
        }
    }

    fn error(self, kind: ErrorKind, message: String) -> Error {
        Error::new(kind, format!("{}: {message}", self.name()))
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decompressing reader that fails once a [`Bounds`] is exceeded, and remembers which.
pub struct BoundedReader<'a> {
    inner: Box<dyn Read + 'a>,
    compression: Compression,
    bounds: Bounds,
    remaining: u64,
    exceeded: Option<Exceeded>,
}

impl BoundedReader<'_> {
    /// The bound that stopped the reader, if one did.
    pub fn exceeded(&self) -> Option<Exceeded> {
        self.exceeded
    }

    /// The error for `err`, returned by this reader: [`ErrorKind::LimitExceeded`]
    /// naming the bound if one was hit, else [`ErrorKind::Parse`] (corrupt data).
    pub fn error_for(&self, err: io::Error) -> Error {
        match self.exceeded {
            Some(Exceeded::Output) => self.compression.error(
                ErrorKind::LimitExceeded,
                format!(
                    "decompresses to more than the limit of {} bytes",
                    self.bounds.output
                ),
            ),
            Some(Exceeded::Memory) => self.compression.error(
                ErrorKind::LimitExceeded,
                format!(
                    "decompressing needs more than the limit of {} bytes of memory",
                    self.bounds.memory
                ),
            ),
            None => self
                .compression
                .error(ErrorKind::Parse, format!("corrupt data: {err}"))
                .with_source(err),
        }
    }
}

impl Read for BoundedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // At the bound, ask for one byte more: getting it means the bound is exceeded.
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX))
            .max(1);
        let n = self.inner.read(&mut buf[..want]).inspect_err(|e| {
            if needs_too_much_memory(e) {
                self.exceeded = Some(Exceeded::Memory);
            }
        })?;
        if n as u64 > self.remaining {
            self.exceeded = Some(Exceeded::Output);
            return Err(io::Error::other("decompression limit exceeded"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Whether a decoder error says the stream needs more memory than allowed.
fn needs_too_much_memory(err: &io::Error) -> bool {
    let xz = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<liblzma::stream::Error>())
        .is_some_and(|e| matches!(e, liblzma::stream::Error::MemLimit));
    // zstd reports ZSTD_error_frameParameter_windowTooLarge by its message only.
    xz || err.to_string().contains("too much memory")
}

/// A compressing writer; [`Encoder::finish`] writes the trailer and returns the output.
pub enum Encoder<W: Write> {
    /// Uncompressed.
    None(W),
    /// gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// xz.
    Xz(liblzma::write::XzEncoder<W>),
    /// Zstandard.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Ends the compressed stream and returns the output.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
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
            let out = c
                .decompress(&packed[..], Bounds::output(data.len() as u64))
                .unwrap();
            assert_eq!(out, data, "{c:?}");
            assert_eq!(Compression::from_extension(c.extension()), Some(c));
        }
        assert_eq!(Compression::from_extension(".bz2"), None);
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
    fn output_beyond_the_bound_is_refused() {
        let zeros = vec![0u8; 10 << 20];
        for c in Compression::ALL {
            let packed = c.compress(&zeros).unwrap();
            let err = c
                .decompress(&packed[..], Bounds::output(1 << 20))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{c:?}");
            assert!(
                err.to_string()
                    .contains("more than the limit of 1048576 bytes"),
                "{err}"
            );
            assert_eq!(
                c.decompress(&packed[..], Bounds::output(10 << 20))
                    .unwrap()
                    .len(),
                10 << 20
            );
        }
    }

    #[test]
    fn exactly_the_bound_is_allowed() {
        let mut reader = Compression::None
            .decoder(&b"12345"[..], Bounds::output(5))
            .unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!((out.as_slice(), reader.exceeded()), (&b"12345"[..], None));
        let mut reader = Compression::None
            .decoder(&b"123456"[..], Bounds::output(5))
            .unwrap();
        assert!(reader.read_to_end(&mut Vec::new()).is_err());
        assert_eq!(reader.exceeded(), Some(Exceeded::Output));
    }

    #[test]
    fn decoder_memory_is_bounded() {
        // xz -6 uses an 8 MiB dictionary; zstd needs a window as large as its input here.
        let data: Vec<u8> = (0..(16u32 << 20))
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        for c in [Compression::Xz, Compression::Zstd] {
            let packed = c.compress(&data).unwrap();
            let bounds = Bounds {
                output: u64::MAX,
                memory: 1 << 20,
            };
            let err = c.decompress(&packed[..], bounds).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{c:?}: {err}");
            assert!(err.to_string().contains("bytes of memory"), "{err}");
        }
    }

    #[test]
    fn corrupt_input_is_a_parse_error() {
        for c in [Compression::Gzip, Compression::Xz, Compression::Zstd] {
            let mut packed = c.compress(&[7u8; 5000]).unwrap();
            packed.truncate(packed.len() / 2);
            let err = c
                .decompress(&packed[..], Bounds::output(1 << 20))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse, "{c:?}: {err:?}");
            assert!(
                c.decompress(&b"not compressed at all"[..], Bounds::output(1 << 20))
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
