use super::compare::{dpkg_loop, verrevcmp};
use super::*;
use std::collections::hash_map::DefaultHasher;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn reason(s: &str) -> String {
    let err = Version::parse(s).expect_err(s);
    assert_eq!(err.kind(), ErrorKind::InvalidVersion, "{s:?}");
    let (_, reason) = err
        .message()
        .split_once(" has bad syntax: ")
        .unwrap_or_else(|| panic!("message of {s:?} without a reason: {}", err.message()));
    reason.to_owned()
}

fn hash_of(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

#[test]
fn parts_split_at_first_colon_and_last_hyphen() {
    let x = v("1:2.30-rc1-4+b1");
    assert_eq!(
        (x.epoch(), x.upstream(), x.revision()),
        (1, "2.30-rc1", Some("4+b1"))
    );
    let x = v("3:1:2-0");
    assert_eq!(
        (x.epoch(), x.upstream(), x.revision()),
        (3, "1:2", Some("0"))
    );
    let x = v("1.0");
    assert_eq!((x.epoch(), x.upstream(), x.revision()), (0, "1.0", None));
    assert!(!x.has_epoch());
    assert!(v("0:1.0").has_epoch());
}

#[test]
fn blanks_around_are_trimmed_and_display_gives_the_rest_back() {
    let x = v(" \t1:1.0-2\t ");
    assert_eq!(x.as_str(), "1:1.0-2");
    assert_eq!(x.to_string(), "1:1.0-2");
    assert_eq!(v("1.00").to_string(), "1.00");
    assert_eq!(format!("{:?}", v("1.0")), "Version(\"1.0\")");
}

#[test]
fn epoch_is_read_like_strtol() {
    assert_eq!(v("+1:0").epoch(), 1);
    assert_eq!(v("-0:0").epoch(), 0);
    assert_eq!(v("\n2:0").epoch(), 2);
    assert_eq!(v("\x0b\x0c\r007:0").epoch(), 7);
    assert_eq!(v("2147483647:0").epoch(), 2147483647);
    assert_eq!(v("00000000000000000000002147483647:0").epoch(), 2147483647);
    assert_eq!(reason("2147483648:0"), "epoch in version is too big");
    assert_eq!(
        reason("99999999999999999999999:0"),
        "epoch in version is too big"
    );
    assert_eq!(reason("-1:0"), "epoch in version is negative");
    assert_eq!(
        reason("-99999999999999999999999:0"),
        "epoch in version is negative"
    );
    assert_eq!(reason(":0"), "epoch in version is empty");
    assert_eq!(reason("+:0"), "epoch in version is empty");
    assert_eq!(reason("\n:0"), "epoch in version is empty");
    assert_eq!(reason("1a:0"), "epoch in version is not number");
    assert_eq!(reason("0x1:0"), "epoch in version is not number");
    assert_eq!(reason("1.0-1:0"), "epoch in version is not number");
    assert_eq!(reason("+-1:0"), "epoch in version is empty");
}

#[test]
fn each_of_dpkgs_reasons() {
    let cases = [
        ("", "version string is empty"),
        (" \t ", "version string is empty"),
        ("1.0 1", "version string has embedded spaces"),
        ("1.0\t-1", "version string has embedded spaces"),
        ("1:", "nothing after colon in version number"),
        ("1: ", "version number is empty"),
        ("1.0-", "revision number is empty"),
        ("-", "revision number is empty"),
        ("-1", "version number is empty"),
        ("1:-1", "version number is empty"),
        ("a1.0", "version number does not start with digit"),
        ("1:~1", "version number does not start with digit"),
        ("1.0_1", "invalid character in version number"),
        ("1.0\n", "invalid character in version number"),
        ("1.0é", "invalid character in version number"),
        ("1.0-1_1", "invalid character in revision number"),
        ("0:1.0-1:1", "invalid character in revision number"),
        ("1.0\0", "version string contains a NUL byte"),
    ];
    for (s, want) in cases {
        assert_eq!(reason(s), want, "{s:?}");
    }
}

#[test]
fn error_message_quotes_the_string() {
    let err = Version::parse("1:").expect_err("1:");
    assert_eq!(
        err.to_string(),
        "version '1:' has bad syntax: nothing after colon in version number"
    );
    let err = "1.0\n".parse::<Version>().expect_err("newline");
    assert!(err.to_string().starts_with("version '1.0\\n' "), "{err}");
}

#[test]
fn accepted_characters() {
    for s in [
        "0",
        "1~",
        "0:1.0+b1~rc2:3-A.z+~",
        "1-2-3",
        "1:1:1",
        "9.9.9-0ubuntu1",
        "1a",
        "1--1",
    ] {
        assert_eq!(v(s).as_str(), s);
    }
}

#[test]
fn dpkg_order() {
    use Ordering::*;
    let cases = [
        ("1.0~rc1", "1.0", Less),
        ("1.0~rc1", "1.0~rc1~", Greater),
        ("1.0", "1.0+b1", Less),
        ("1.0", "1.0-1", Less),
        ("1.0-0", "1.0", Equal),
        ("0:1.0", "1.0", Equal),
        ("1.0", "1.00", Equal),
        ("1.", "1.0", Equal),
        ("1", "1.", Less),
        ("1a", "1a0", Equal),
        ("01", "1", Equal),
        ("1:0.1", "9.9", Greater),
        ("1.0a", "1.0", Greater),
        ("1.0.", "1.0a", Greater),
        ("1.0A", "1.0a", Less),
        ("1.2", "1.10", Less),
        ("3.1.2+dfsg-3", "3.1.2+dfsg0-1", Greater),
        (
            "1.99999999999999999999999",
            "1.99999999999999999999998",
            Greater,
        ),
        ("1.0000000000000000000000001", "1.1", Equal),
        ("2.30-rc1-4", "2.30-4", Greater),
        ("1:1.0-1", "2:0.1", Less),
    ];
    for (a, b, want) in cases {
        assert_eq!(v(a).cmp(&v(b)), want, "{a} vs {b}");
        assert_eq!(v(b).cmp(&v(a)), want.reverse(), "{b} vs {a}");
        assert_eq!(Version::compare_str(a, b).ok(), Some(want), "{a} vs {b}");
    }
    assert!(Version::compare_str("1.0", "x").is_err());
}

/// A tiny deterministic generator (splitmix64) for property tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string over the characters that matter to `verrevcmp`, often sharing a prefix with `base`.
    fn part(&mut self, base: &[u8]) -> Vec<u8> {
        const ALPHABET: &[u8] = b"0001123999.~~+-:aAzZ";
        let mut s: Vec<u8> = base[..self.below(base.len() + 1)].to_vec();
        for _ in 0..self.below(8) {
            s.push(ALPHABET[self.below(ALPHABET.len())]);
        }
        s
    }
}

#[test]
fn prefix_skipping_agrees_with_the_plain_loop() {
    let mut rng = Rng(1);
    let mut base = Vec::new();
    for _ in 0..200_000 {
        if rng.below(16) == 0 {
            base = rng.part(b"");
        }
        let a = rng.part(&base);
        let b = rng.part(&base);
        assert_eq!(
            verrevcmp(&a, &b),
            dpkg_loop(&a, &b),
            "{:?} vs {:?}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b)
        );
    }
}

#[test]
fn order_is_total_and_hash_follows_eq() {
    let mut rng = Rng(2);
    let mut versions = Vec::new();
    while versions.len() < 3000 {
        let up = rng.part(b"1");
        let rev = rng.part(b"");
        let mut s = String::from_utf8(up).expect("ascii");
        if rng.below(2) == 0 {
            s = format!("{}:{s}", rng.below(3));
        }
        if !rev.is_empty() && !rev.contains(&b':') && !rev.contains(&b'-') {
            s.push('-');
            s.push_str(std::str::from_utf8(&rev).expect("ascii"));
        }
        if let Ok(x) = Version::parse(&s) {
            versions.push(x);
        }
    }
    versions.sort();
    for w in versions.windows(2) {
        assert!(w[0] <= w[1]);
    }
    for (i, a) in versions.iter().enumerate().step_by(7) {
        for b in &versions[i..] {
            let ab = a.cmp(b);
            assert_eq!(b.cmp(a), ab.reverse(), "{a} vs {b}");
            assert_eq!(a.cmp_parts(b), ab, "{a} vs {b}: the key disagrees");
            if ab == Ordering::Equal {
                assert_eq!(hash_of(a), hash_of(b), "{a} == {b} but hashes differ");
            }
        }
    }
}

#[test]
fn keys_order_like_versions_and_tell_most_apart() {
    let mut rng = Rng(3);
    let mut versions = Vec::new();
    while versions.len() < 3000 {
        let mut s = String::from_utf8(rng.part(b"1.2.3")).expect("ascii");
        s.insert(0, char::from(b'0' + rng.below(10) as u8));
        match rng.below(4) {
            0 => s = format!("{}:{s}", [0, 1, 14, 15, 16, 99][rng.below(6)]),
            1 => s.push_str(&format!("-{}", rng.below(300_000))),
            _ => {}
        }
        if let Ok(x) = Version::parse(&s) {
            versions.push(x);
        }
    }
    let mut decided = 0;
    for a in &versions {
        for b in versions.iter().step_by(13) {
            let by_parts = a.cmp_parts(b);
            if a.key != b.key {
                decided += 1;
                assert_eq!(a.key.cmp(&b.key), by_parts, "{a} vs {b}");
            }
        }
    }
    let total = versions.len() * versions.len().div_ceil(13);
    assert!(
        decided * 2 > total,
        "keys decided only {decided} of {total} comparisons"
    );
    assert_ne!(v("1.2.3-1").key, v("1.2.4-1").key);
    assert_eq!(v("1.0").key, v("0:1.00-0").key);
    assert_eq!(v("15:1").key, v("16:1").key, "saturated epochs end the key");
}

#[test]
fn equal_spellings_hash_equally() {
    let groups: [&[&str]; 4] = [
        &[
            "1.0",
            "1.00",
            "0:1.0",
            "1.0-0",
            "01.0",
            "1.0-00",
            "0:001.000-0",
        ],
        &["1a", "1a0", "1a00-0"],
        &["2:1.0~rc1-1", "2:1.0~rc01-01", "02:1.0~rc1-1"],
        &["1.", "1.0"],
    ];
    for group in groups {
        let first = v(group[0]);
        for s in group {
            assert_eq!(v(s), first, "{s} == {first}");
            assert_eq!(hash_of(&v(s)), hash_of(&first), "hash of {s} vs {first}");
        }
    }
    assert_ne!(hash_of(&v("1.0")), hash_of(&v("1.0-1")));
    assert_ne!(hash_of(&v("1.0")), hash_of(&v("1:1.0")));
    assert_ne!(hash_of(&v("1a0b")), hash_of(&v("1ab")));
}

#[test]
fn relations() {
    let (a, b) = (v("1.0"), v("1.0+b1"));
    let want = [
        ("<<", true, false, false),
        ("<=", true, false, true),
        ("=", false, false, true),
        (">=", false, true, true),
        (">>", false, true, false),
    ];
    for (text, a_b, b_a, a_a) in want {
        let rel: Relation = text.parse().expect(text);
        assert_eq!(rel.to_string(), text);
        assert_eq!(rel.holds(&a, &b), a_b, "{a} {rel} {b}");
        assert_eq!(b.satisfies(rel, &a), b_a, "{b} {rel} {a}");
        assert_eq!(rel.holds(&a, &v("1.00")), a_a, "{a} {rel} 1.00");
    }
    for (word, rel) in ["lt", "le", "eq", "ge", "gt"].iter().zip(Relation::ALL) {
        assert_eq!(word.parse::<Relation>().ok(), Some(rel));
    }
    for bad in ["<", ">", "==", "", "ne"] {
        let err = bad.parse::<Relation>().expect_err(bad);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains(&format!("'{bad}'")), "{err}");
    }
}

#[test]
fn from_parts_round_trips() {
    let x = Version::from_parts(0, "1.0", Some("1")).expect("1.0-1");
    assert_eq!(x.as_str(), "1.0-1");
    let x = Version::from_parts(2, "1.0-rc1", Some("1")).expect("2:1.0-rc1-1");
    assert_eq!(x.as_str(), "2:1.0-rc1-1");
    let x = Version::from_parts(0, "1:2", None).expect("0:1:2");
    assert_eq!((x.as_str(), x.epoch(), x.upstream()), ("0:1:2", 0, "1:2"));
    for (e, up, rev) in [
        (0, "1-2", None),
        (0, "1.0", Some("")),
        (0, "x", None),
        (0, " 1", None),
    ] {
        let err = Version::from_parts(e, up, rev).expect_err(up);
        assert_eq!(err.kind(), ErrorKind::InvalidVersion);
    }
}

#[test]
fn clones_share_the_string() {
    let x = v("1:2.0-1");
    let y = x.clone();
    assert!(std::ptr::eq(x.as_str(), y.as_str()));
    assert_eq!(x, y);
}

#[cfg(feature = "debversion")]
#[test]
fn debversion_conversions() {
    let x = v("1:2.0-rc1-3");
    let d = debversion::Version::from(&x);
    assert_eq!(d.epoch, Some(1));
    assert_eq!(d.upstream_version, "2.0-rc1");
    assert_eq!(d.debian_revision.as_deref(), Some("3"));
    assert_eq!(Version::try_from(&d).ok(), Some(x));
    assert_eq!(debversion::Version::from(&v("1.0")).epoch, None);

    let odd = debversion::Version {
        epoch: None,
        upstream_version: "1 0".into(),
        debian_revision: None,
    };
    let err = Version::try_from(&odd).expect_err("embedded space");
    assert_eq!(err.kind(), ErrorKind::InvalidVersion);
    assert!(err.message().contains("embedded spaces"), "{err}");
}

#[test]
fn any_string_parses_or_fails_cleanly() {
    const CHARS: &[char] = &[
        '0', '1', '9', '.', '~', '+', '-', ':', 'a', 'Z', ' ', '\t', '\n', '\0', '_', 'é', '€',
        '\u{85}', '\u{a0}', '\x7f',
    ];
    let mut rng = Rng(6);
    for _ in 0..100_000 {
        let len = rng.below(14);
        let s: String = (0..len).map(|_| CHARS[rng.below(CHARS.len())]).collect();
        match Version::parse(&s) {
            Ok(x) => {
                let again = v(x.as_str());
                assert_eq!(again.as_str(), x.as_str());
                assert_eq!(
                    (again.epoch(), again.upstream(), again.revision()),
                    (x.epoch(), x.upstream(), x.revision())
                );
                assert!(x.as_str().is_ascii(), "{s:?}");
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidVersion, "{s:?}"),
        }
    }
}

#[test]
fn versions_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Version>();
    shareable::<Relation>();
}
