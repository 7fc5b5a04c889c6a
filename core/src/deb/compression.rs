//! Streaming compression of the `control.tar` and `data.tar` members: bounded
//! decoders over the member's bytes, deterministic encoders.

use std::io::{self, BufRead, Read, Write};

use crate::compress::Compression;

/// The compression a member name's extension (after `control.tar` or `data.tar`)
/// names: `""`, `".gz"`, `".xz"` or `".zst"`.
pub(crate) fn from_extension(extension: &str) -> Option<Compression> {
    Compression::ALL
        .into_iter()
        .find(|c| c.extension() == extension)
}

/// A reader decompressing `input` (read through its buffer, never past the member);
/// decoders needing more than `max_memory` bytes (xz dictionaries, zstd windows)
/// fail instead of allocating it.
pub(crate) fn decoder<'a, R: BufRead + 'a>(
    compression: Compression,
    input: R,
    max_memory: u64,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                max_memory,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
        }
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(input)?;
            // The window is the decoder's buffer: 2^log bytes.
            let log = (63 - max_memory.max(1 << 10).leading_zeros()).min(31);
            decoder.window_log_max(log)?;
            Box::new(decoder)
        }
    })
}

/// A writer compressing into `output` as dpkg-deb does (gzip -9, xz -6, zstd -3),
/// deterministically: the same input gives the same bytes.
pub(crate) fn encoder<W: Write>(compression: Compression, output: W) -> io::Result<Encoder<W>> {
    Ok(match compression {
        Compression::None => Encoder::None(output),
        Compression::Gzip => Encoder::Gzip(
            flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(3)
                .write(output, flate2::Compression::best()),
        ),
        Compression::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(output, 6)),
        Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(output, 3)?),
    })
}

/// A compressing writer; [`Encoder::finish`] writes the trailer.
pub(crate) enum Encoder<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
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
    fn round_trip_every_compression() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in Compression::ALL {
            let mut enc = encoder(c, Vec::new()).unwrap();
            enc.write_all(&data).unwrap();
            let packed = enc.finish().unwrap();
            let mut out = Vec::new();
            decoder(c, &packed[..], 1 << 26)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{c:?}");
            assert_eq!(from_extension(c.extension()), Some(c));
        }
        assert_eq!(from_extension(".bz2"), None);
    }
}
