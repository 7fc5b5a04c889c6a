//! A small writer of GNU tar archives as dpkg-deb writes them: `./`-prefixed
//! names, owner root:root, long names through GNU `././@LongLink` entries.

use std::io::{self, Read, Write};

const BLOCK: usize = 512;

/// Writes tar entries into `out`.
pub(crate) struct TarWriter<W> {
    out: W,
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> Self {
        TarWriter { out }
    }

    /// A directory; `path` ends with `/`.
    pub fn dir(&mut self, path: &str, mode: u32, mtime: u64) -> io::Result<()> {
        self.header(path, b'5', mode, 0, mtime, "")
    }

    /// A regular file of exactly `size` bytes read from `data`.
    pub fn file(
        &mut self,
        path: &str,
        mode: u32,
        mtime: u64,
        size: u64,
        data: &mut impl Read,
    ) -> io::Result<()> {
        self.header(path, b'0', mode, size, mtime, "")?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: file shrank from {size} to {copied} bytes while being archived"),
            ));
        }
        self.pad(size)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str, mtime: u64) -> io::Result<()> {
        self.header(path, b'2', 0o777, 0, mtime, target)
    }

    /// Ends the archive (two zero blocks) and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        Ok(self.out)
    }

    fn header(
        &mut self,
        path: &str,
        kind: u8,
        mode: u32,
        size: u64,
        mtime: u64,
        link: &str,
    ) -> io::Result<()> {
        if link.len() > 100 {
            self.long_name(b'K', link)?;
        }
        if path.len() > 100 {
            self.long_name(b'L', path)?;
        }
        let block = header_block(path, kind, mode, size, mtime, link)?;
        self.out.write_all(&block)
    }

    /// A GNU long name (`L`) or long link target (`K`) pseudo-entry.
    fn long_name(&mut self, kind: u8, name: &str) -> io::Result<()> {
        let data_len = name.len() as u64 + 1;
        let block = header_block("././@LongLink", kind, 0o644, data_len, 0, "")?;
        self.out.write_all(&block)?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(data_len)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][rem..])?;
        }
        Ok(())
    }
}

fn header_block(
    path: &str,
    kind: u8,
    mode: u32,
    size: u64,
    mtime: u64,
    link: &str,
) -> io::Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    put_str(&mut h[0..100], path);
    put_octal(&mut h[100..108], u64::from(mode & 0o7777))?;
    put_octal(&mut h[108..116], 0)?;
    put_octal(&mut h[116..124], 0)?;
    if size < 8u64.pow(11) {
        put_octal(&mut h[124..136], size)?;
    } else {
        // GNU base-256: the top bit of the first byte set, then big-endian.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    put_octal(&mut h[136..148], mtime)?;
    h[156] = kind;
    put_str(&mut h[157..257], link);
    h[257..265].copy_from_slice(b"ustar  \0");
    put_str(&mut h[265..297], "root");
    put_str(&mut h[297..329], "root");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// As much of `s` as fits (long names are carried by a preceding `L`/`K` entry).
fn put_str(field: &mut [u8], s: &str) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// Zero-padded octal followed by a NUL.
fn put_octal(field: &mut [u8], value: u64) -> io::Result<()> {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{value} does not fit in a tar header field"),
        ));
    }
    field[..digits].copy_from_slice(text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tar_crate_reads_what_we_write() {
        let long = format!("./usr/share/{}/file", "d".repeat(120));
        let target = format!("../{}", "t".repeat(150));
        let mut w = TarWriter::new(Vec::new());
        w.dir("./", 0o755, 7).unwrap();
        w.file("./a", 0o4755, 7, 5, &mut &b"hello"[..]).unwrap();
        w.file(&long, 0o644, 7, 0, &mut io::empty()).unwrap();
        w.symlink("./l", &target, 7).unwrap();
        let bytes = w.finish().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.username().unwrap(), Some("root"));
            assert_eq!(h.mtime().unwrap(), 7);
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).unwrap());
            seen.push((
                String::from_utf8(entry.path_bytes().into_owned()).unwrap(),
                h.mode().unwrap(),
                link,
            ));
        }
        assert_eq!(
            seen,
            [
                ("./".to_string(), 0o755, None),
                ("./a".to_string(), 0o4755, None),
                (long, 0o644, None),
                ("./l".to_string(), 0o777, Some(target)),
            ]
        );
    }

    #[test]
    fn short_files_are_an_error() {
        let mut w = TarWriter::new(Vec::new());
        let err = w.file("./a", 0o644, 0, 10, &mut &b"abc"[..]).unwrap_err();
        assert!(err.to_string().contains("./a"), "{err}");
    }
}
