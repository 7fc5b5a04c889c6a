//! Deterministic generators of tricky version strings: tildes, epochs (signs,
//! white space, `int` bounds), leading zeros, letters against punctuation,
//! hyphens and colons in the upstream part, huge numbers, empty parts, blanks
//! and invalid characters. Valid and invalid ones alike: dpkg decides.

/// A small deterministic generator (splitmix64); the same seed, the same strings.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// Characters for unstructured strings: what versions are made of, weighted
/// towards digits, plus white space and characters dpkg rejects.
const CHARS: &[char] = &[
    '0', '0', '1', '2', '5', '9', '0', '1', '.', '.', '~', '+', '-', '-', ':', 'a', 'z', 'A', 'Z',
    ' ', '\t', '\n', '\r', '\x0b', '\x0c', '_', '!', '/', '@', '%', ',', 'é', '\x7f', '\x01',
];

const EPOCHS: &[&str] = &[
    "0",
    "1",
    "00",
    "007",
    "+1",
    "-0",
    "-00",
    "-1",
    "+-1",
    "--1",
    "\n1",
    "\r\x0b\x0c2",
    "2147483647",
    "2147483648",
    "-2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999",
    "0000000000000000000000000000001",
    "1a",
    "a",
    "0x1",
    "",
    "+",
    "-",
    "1.0",
];

const TOKENS: &[&str] = &[
    "0",
    "1",
    "00",
    "01",
    "10",
    "9",
    "000000000000000000000000000",
    "18446744073709551616",
    "99999999999999999999999999999",
    "~",
    "~~",
    ".",
    "+",
    "-",
    ":",
    "a",
    "b",
    "z",
    "A",
    "Z",
    "rc",
    "dfsg",
    "deb12u1",
    "+b1",
    "~rc1",
    "",
];

const BAD: &[&str] = &["_", " ", "\t", "\n", "!", "é", ",", "/", "\x7f", "\x01"];

const BLANKS: &[&str] = &["", "", "", "", " ", "\t", " \t ", "\n"];

/// Strings of 0 to 11 characters drawn from [`CHARS`].
pub fn unstructured(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let len = rng.below(12);
            (0..len).map(|_| CHARS[rng.below(CHARS.len())]).collect()
        })
        .collect()
}

fn tokens(rng: &mut Rng, max: usize) -> String {
    let count = rng.below(max + 1);
    let mut s = String::new();
    for _ in 0..count {
        s.push_str(rng.pick(TOKENS));
    }
    if rng.below(12) == 0 {
        let at = rng.below(s.len() + 1);
        s.insert_str(at, rng.pick(BAD));
    }
    s
}

/// `[blanks][epoch:]upstream[-revision][blanks]` from tricky pieces.
pub fn structured(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut s = String::from(rng.pick(BLANKS));
            if rng.below(3) == 0 {
                s.push_str(rng.pick(EPOCHS));
                s.push(':');
            }
            if rng.below(6) != 0 {
                s.push_str(rng.pick(&["0", "1", "2", "9", "00", "10"]));
            }
            s.push_str(&tokens(rng, 6));
            if rng.below(2) == 0 {
                s.push('-');
                s.push_str(&tokens(rng, 3));
            }
            s.push_str(rng.pick(BLANKS));
            s
        })
        .collect()
}

/// Small edits of `base`: a character replaced, inserted or removed, an epoch,
/// a digit run padded with zeros or made huge, a suffix, blanks around.
pub fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    let at = rng.below(chars.len() + 1);
    match rng.below(8) {
        0 if at < chars.len() => chars[at] = CHARS[rng.below(CHARS.len())],
        1 => chars.insert(at, CHARS[rng.below(CHARS.len())]),
        2 if at < chars.len() => {
            chars.remove(at);
        }
        3 => {
            let epoch = format!("{}:", rng.pick(EPOCHS));
            chars.splice(0..0, epoch.chars());
        }
        4 => {
            let pad = rng.pick(&["0", "00", "000000000000000000000"]);
            let at = chars.iter().position(|c| c.is_ascii_digit()).unwrap_or(at);
            chars.splice(at..at, pad.chars());
        }
        5 => {
            let huge = rng.pick(&[
                "18446744073709551617",
                "340282366920938463463374607431768211457",
            ]);
            chars.splice(at..at, huge.chars());
        }
        6 => chars.extend(
            rng.pick(&["-", "~", "~~", ".", "0", "a", "+", "-0", ":"])
                .chars(),
        ),
        _ => {
            let (before, after) = (rng.pick(BLANKS), rng.pick(BLANKS));
            chars.splice(0..0, before.chars());
            chars.extend(after.chars());
        }
    }
    chars.into_iter().collect()
}

/// Another spelling of a valid version `v` that dpkg should call equal: leading
/// zeros added to a digit run, `0:` for a missing epoch, `-0` for a missing
/// revision, a `0` after a final non-digit, a final run of zeros dropped.
pub fn respell(rng: &mut Rng, v: &str) -> String {
    let mut s = v.to_owned();
    for _ in 0..1 + rng.below(3) {
        match rng.below(5) {
            0 => {
                let starts: Vec<usize> = (0..s.len())
                    .filter(|&i| {
                        s.as_bytes()[i].is_ascii_digit()
                            && (i == 0 || !s.as_bytes()[i - 1].is_ascii_digit())
                    })
                    .collect();
                if !starts.is_empty() {
                    let at = starts[rng.below(starts.len())];
                    s.insert_str(at, rng.pick(&["0", "00"]));
                }
            }
            1 if !s.contains(':') => s.insert_str(0, "0:"),
            2 if !s.contains('-') => s.push_str("-0"),
            3 if !s.ends_with(|c: char| c.is_ascii_digit()) => s.push('0'),
            _ => {
                let zeros = s.len() - s.trim_end_matches('0').len();
                let rest = &s[..s.len() - zeros];
                if zeros > 0
                    && !rest.is_empty()
                    && !rest.ends_with(|c: char| c.is_ascii_digit() || c == '-' || c == ':')
                {
                    s.truncate(rest.len());
                }
            }
        }
    }
    s
}
