//! Splitting and validating a version string as dpkg 1.21's `parseversion`
//! (lib/dpkg/parsehelp.c) does, check for check and in the same order.

/// The pieces of a valid version string, as offsets into the trimmed string.
pub(super) struct Parts<'a> {
    pub(super) text: &'a str,
    pub(super) epoch: u32,
    pub(super) upstream_start: usize,
    pub(super) upstream_end: usize,
}

/// dpkg's `c_isblank`: what `parseversion` trims.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Splits and validates `s` as dpkg's `parseversion` does, checks in the same
/// order, returning dpkg's reason on failure.
pub(super) fn split(s: &str) -> std::result::Result<Parts<'_>, &'static str> {
    let bytes = s.as_bytes();
    // dpkg reads a C string; a NUL byte cannot reach it, so there is no rule to follow.
    if bytes.contains(&0) {
        return Err("version string contains a NUL byte");
    }
    let start = bytes
        .iter()
        .position(|&c| !is_blank(c))
        .unwrap_or(bytes.len());
    if start == bytes.len() {
        return Err("version string is empty");
    }
    let end = bytes[start..]
        .iter()
        .position(|&c| is_blank(c))
        .map_or(bytes.len(), |n| start + n);
    if bytes[end..].iter().any(|&c| !is_blank(c)) {
        return Err("version string has embedded spaces");
    }
    let text = &s[start..end];
    let t = text.as_bytes();

    let (epoch, upstream_start) = match memchr::memchr(b':', t) {
        Some(colon) => {
            let epoch = parse_epoch(&t[..colon])?;
            // dpkg looks past the colon in the untrimmed string: "1: " is not "1:".
            if start + colon + 1 == bytes.len() {
                return Err("nothing after colon in version number");
            }
            (epoch, colon + 1)
        }
        None => (0, 0),
    };
    let rest = &t[upstream_start..];
    let upstream_end = match memchr::memrchr(b'-', rest) {
        Some(hyphen) if hyphen + 1 == rest.len() => return Err("revision number is empty"),
        Some(hyphen) => upstream_start + hyphen,
        None => t.len(),
    };

    let upstream = &t[upstream_start..upstream_end];
    let Some((&first, others)) = upstream.split_first() else {
        return Err("version number is empty");
    };
    if !first.is_ascii_digit() {
        return Err("version number does not start with digit");
    }
    if !others
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b".-+~:".contains(&c))
    {
        return Err("invalid character in version number");
    }
    let revision = t.get(upstream_end + 1..).unwrap_or_default();
    if !revision
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b".+~".contains(&c))
    {
        return Err("invalid character in revision number");
    }
    Ok(Parts {
        text,
        epoch,
        upstream_start,
        upstream_end,
    })
}

/// The epoch before the first colon, read as dpkg reads it: C's `strtol` in base
/// 10 (leading white space, an optional sign), which must end at the colon, must
/// not be negative and must fit in an `int`.
fn parse_epoch(field: &[u8]) -> std::result::Result<u32, &'static str> {
    // C's isspace in the C locale; blanks were trimmed already, the others were not.
    let spaces = field
        .iter()
        .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let signed = &field[spaces..];
    let (negative, unsigned) = match signed.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, signed),
    };
    let digits = unsigned.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return Err("epoch in version is empty");
    }
    if digits != unsigned.len() {
        return Err("epoch in version is not number");
    }
    let significant = &unsigned[unsigned.iter().take_while(|&&c| c == b'0').count()..];
    if negative && !significant.is_empty() {
        return Err("epoch in version is negative");
    }
    // At most 10 digits can be <= i32::MAX; past that it is too big (strtol's ERANGE too).
    let value = if significant.len() > 10 {
        u64::MAX
    } else {
        significant
            .iter()
            .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'))
    };
    u32::try_from(value)
        .ok()
        .filter(|&v| v <= i32::MAX as u32)
        .ok_or("epoch in version is too big")
}
