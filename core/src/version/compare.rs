//! Ordering and hashing as dpkg's `verrevcmp` (lib/dpkg/version.c) orders:
//! digit runs as numbers of any length, other characters by a fixed weight.

use std::cmp::Ordering;
use std::hash::Hasher;

/// dpkg's weight of a non-digit character in `verrevcmp`: `~` sorts before
/// everything (even the end of the string), letters before other characters.
/// Digits and the end of the string weigh 0.
fn order(c: u8) -> i32 {
    match c {
        b'0'..=b'9' | 0 => 0,
        b'a'..=b'z' | b'A'..=b'Z' => i32::from(c),
        b'~' => -1,
        _ => i32::from(c) + 256,
    }
}

/// The byte at `i`, or 0 (dpkg's terminating NUL) past the end.
#[inline(always)]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
#[inline(always)]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = load_u64(&a[i..]) ^ load_u64(&b[i..]);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The first eight bytes of `s` (which has at least eight), little-endian.
#[inline(always)]
fn load_u64(s: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&s[..8]);
    u64::from_le_bytes(word)
}

/// Compares two upstream parts or two revisions as dpkg's `verrevcmp` does.
///
/// It skips the common prefix first and resumes dpkg's loop at the start of the
/// digit run the first difference falls in (or at the difference itself when it
/// does not follow a digit). Over a common prefix dpkg's loop keeps both strings
/// at the same offset, and after a non-digit it is where a fresh iteration of its
/// outer loop would be, so resuming there gives the same answer.
pub(super) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut start = common_prefix(a, b);
    if start == a.len() && start == b.len() {
        return Ordering::Equal;
    }
    while start > 0 && a[start - 1].is_ascii_digit() {
        start -= 1;
    }
    dpkg_loop(&a[start..], &b[start..])
}

/// dpkg's `verrevcmp` loop, step for step (the end of a slice reads as NUL).
pub(super) fn dpkg_loop(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The non-digit run, character by character.
        loop {
            let (ca, cb) = (at(a, i), at(b, j));
            let a_more = ca != 0 && !ca.is_ascii_digit();
            let b_more = cb != 0 && !cb.is_ascii_digit();
            if !a_more && !b_more {
                break;
            }
            let (oa, ob) = (order(ca), order(cb));
            if oa != ob {
                return oa.cmp(&ob);
            }
            i += 1;
            j += 1;
        }
        // The digit run, as a number of any length.
        while at(a, i) == b'0' {
            i += 1;
        }
        while at(b, j) == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while at(a, i).is_ascii_digit() && at(b, j).is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if at(b, j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Feeds `state` a form of `part` that is the same for all parts `verrevcmp`
/// calls equal: each non-digit run as is, each digit run without leading zeros,
/// a missing final digit run as an empty one.
pub(super) fn hash_part<H: Hasher>(part: &[u8], state: &mut H) {
    let mut i = 0;
    loop {
        let text_start = i;
        while i < part.len() && !part[i].is_ascii_digit() {
            i += 1;
        }
        state.write(&part[text_start..i]);
        while i < part.len() && part[i] == b'0' {
            i += 1;
        }
        let number_start = i;
        while i < part.len() && part[i].is_ascii_digit() {
            i += 1;
        }
        // 0xfd, 0xfe and 0xff never occur in a valid version: they delimit the runs.
        state.write_u8(0xfe);
        state.write(&part[number_start..i]);
        state.write_u8(0xff);
        if i == part.len() {
            break;
        }
    }
}
