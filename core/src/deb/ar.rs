//! The `ar` container of a `.deb`: strict member headers, as dpkg-deb reads and writes them.
//!
//! An archive is the magic `!<arch>\n` followed by members, each a 60-byte header
//! (name 16, mtime 12, uid 6, gid 6, octal mode 8, decimal size 10, `` `\n ``), the data,
//! and one `\n` of padding when the size is odd.

/// The first bytes of every `ar` archive.
pub(crate) const MAGIC: &[u8; 8] = b"!<arch>\n";

/// The length of a member header.
pub(crate) const HEADER_LEN: usize = 60;

/// One parsed member header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberHeader {
    /// The name without its padding and without a GNU-style trailing `/`.
    pub name: String,
    /// The size of the data, without padding.
    pub size: u64,
}

impl MemberHeader {
    /// The size of the data plus its padding byte, if any.
    pub fn padded_size(&self) -> u64 {
        self.size + (self.size & 1)
    }
}

/// Parses a member header strictly; the error says which field is wrong.
pub(crate) fn parse_header(raw: &[u8; HEADER_LEN]) -> Result<MemberHeader, String> {
    if &raw[58..60] != b"`\n" {
        return Err("bad member header magic".into());
    }
    let field = &raw[0..16];
    let mut name = trim_spaces(field);
    if let [rest @ .., b'/'] = name {
        name = rest;
    }
    if name.is_empty() || !name.iter().all(u8::is_ascii_graphic) {
        return Err(format!(
            "invalid member name {:?}",
            String::from_utf8_lossy(field)
        ));
    }
    let name = String::from_utf8_lossy(name).into_owned();
    for (what, range, radix) in [
        ("timestamp", 16..28, 10),
        ("owner", 28..34, 10),
        ("group", 34..40, 10),
        ("mode", 40..48, 8),
    ] {
        let value = &raw[range];
        if !trim_spaces(value).is_empty() && parse_number(value, radix).is_none() {
            return Err(format!(
                "member {name}: invalid {what} {:?}",
                String::from_utf8_lossy(value)
            ));
        }
    }
    let size = parse_number(&raw[48..58], 10).ok_or_else(|| {
        format!(
            "member {name}: invalid size {:?}",
            String::from_utf8_lossy(&raw[48..58])
        )
    })?;
    Ok(MemberHeader { name, size })
}

/// A member header as dpkg-deb writes it: owner and group 0, mode 100644.
///
/// `name` must be at most 16 ASCII bytes (all names in a `.deb` are).
pub(crate) fn write_header(name: &str, size: u64, mtime: u64) -> [u8; HEADER_LEN] {
    debug_assert!(name.len() <= 16 && name.is_ascii());
    let text = format!(
        "{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
        0, 0, "100644"
    );
    let mut header = [b' '; HEADER_LEN];
    // A size or mtime too large for its field would shift the layout: dpkg could not
    // read such an archive either, so the writer refuses them before getting here.
    let bytes = text.as_bytes();
    header.copy_from_slice(&bytes[..HEADER_LEN]);
    header
}

/// The largest size a member header can hold (ten decimal digits).
pub(crate) const MAX_MEMBER_SIZE: u64 = 9_999_999_999;

/// The largest timestamp a member header can hold (twelve decimal digits).
pub(crate) const MAX_MTIME: u64 = 999_999_999_999;

fn trim_spaces(field: &[u8]) -> &[u8] {
    let end = field.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    &field[..end]
}

/// Digits in `radix` from the start of `field`, then only spaces; at least one digit.
fn parse_number(field: &[u8], radix: u32) -> Option<u64> {
    let digits = trim_spaces(field);
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        let d = char::from(b).to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(d))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> [u8; HEADER_LEN] {
        text.as_bytes().try_into().unwrap()
    }

    #[test]
    fn written_headers_parse_back() {
        let raw = write_header("control.tar.zst", 1234, 1_700_000_000);
        assert_eq!(
            &raw[..],
            b"control.tar.zst 1700000000  0     0     100644  1234      `\n"
        );
        let parsed = parse_header(&raw).unwrap();
        assert_eq!(parsed.name, "control.tar.zst");
        assert_eq!(parsed.size, 1234);
        assert_eq!(parsed.padded_size(), 1234);
        assert_eq!(
            parse_header(&write_header("x", 7, 0))
                .unwrap()
                .padded_size(),
            8
        );
    }

    #[test]
    fn gnu_trailing_slash_is_stripped() {
        let raw = header("debian-binary/  0           0     0     100644  4         `\n");
        assert_eq!(parse_header(&raw).unwrap().name, "debian-binary");
    }

    #[test]
    fn bad_fields_are_named() {
        let good = "data.tar.xz     0           0     0     100644  4         `\n";
        assert!(parse_header(&header(good)).is_ok());
        let cases = [
            (good.replace("`\n", "`x"), "magic"),
            (good.replace("100644  4 ", "100644  -4"), "size"),
            (good.replace("100644  4 ", "100644   4"), "size"),
            (good.replace("100644  4 ", "100644  4x"), "size"),
            (good.replace("100644  4 ", "100644    "), "size"),
            (good.replace("100644", "100694"), "mode"),
            (good.replace("data.tar.xz ", "data tar.xz "), "name"),
            (good.replace("data.tar.xz     ", "                "), "name"),
            (good.replace("0           0", "0x          0"), "timestamp"),
        ];
        for (text, what) in cases {
            let err = parse_header(&header(&text)).unwrap_err();
            assert!(err.contains(what), "{text:?}: {err}");
        }
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let raw = header("data.tar        0           0     0     100644  9999999999`\n");
        assert_eq!(parse_header(&raw).unwrap().size, MAX_MEMBER_SIZE);
    }
}
