//! A 64-bit summary of a version that orders like the version where it can:
//! if `key(a) < key(b)` then `a < b` in dpkg's order. Equal keys say nothing.
//!
//! Comparing two keys settles most comparisons of unrelated versions without
//! reading their strings. The key is the first 64 bits of an encoding of the
//! version's tokens, in the order `verrevcmp` compares them:
//!
//! - the epoch: 4 bits, 0 to 14; 15 for a larger epoch, and the key ends there;
//! - the upstream part, which starts with a digit: its first number, then
//!   `(text, number)` pairs, then an end mark;
//! - the revision: `(text, number)` pairs, the first text possibly empty, then
//!   an end mark.
//!
//! A text is its characters, 6 bits each, weighted as `verrevcmp` weighs them
//! (`~` < end of text < letters < other characters), followed by the end-of-text
//! symbol; an exhausted part reads as an empty text, which is the end mark.
//! A number (a missing one is 0) is `0` + 4 bits below 16, `10` + 8 bits below
//! 272, `110` + 16 bits below 65,808, and `111` for larger numbers, where the key
//! ends. Every field code is prefix-free and ordered like the values it stands
//! for, so comparing encodings bit by bit compares the versions token by token.
//! Cutting an encoding short (at 64 bits, or at a saturated field, whose bits
//! alone decide the cut) and filling with zeros keeps that order for all keys
//! that differ, and leaves equal keys for versions it cannot tell apart.

/// Bits of a text symbol.
const SYMBOL_BITS: u32 = 6;
/// The symbol after a text: what `verrevcmp` weighs as 0 (a digit or the end).
const END: u64 = 2;

/// The symbol of a non-digit character of a valid version, ordered as dpkg's weights.
fn symbol(c: u8) -> u64 {
    match c {
        b'~' => 1,
        b'A'..=b'Z' => 3 + u64::from(c - b'A'),
        b'a'..=b'z' => 29 + u64::from(c - b'a'),
        b'+' => 55,
        b'-' => 56,
        b'.' => 57,
        // ':' is the last character valid versions have; nothing else reaches here.
        _ => 58,
    }
}

/// Writes fields from the most significant bit down; `false` once the key is full.
struct Writer {
    bits: u64,
    used: u32,
}

impl Writer {
    /// Appends the `width` low bits of `value` (as many of its top bits as fit).
    fn put(&mut self, value: u64, width: u32) -> bool {
        let room = 64 - self.used;
        if width >= room {
            self.bits |= value >> (width - room);
            self.used = 64;
            return false;
        }
        self.bits |= value << (room - width);
        self.used += width;
        true
    }

    fn put_number(&mut self, n: u64) -> bool {
        match n {
            0..16 => self.put(n, 5),
            16..272 => self.put((0b10 << 8) | (n - 16), 10),
            272..65808 => self.put((0b110 << 16) | (n - 272), 19),
            _ => {
                self.put(0b111, 3);
                false
            }
        }
    }

    /// Appends the tokens of an upstream part or a revision, and its end mark.
    fn put_part(&mut self, part: &[u8], digit_first: bool) -> bool {
        let mut i = 0;
        let mut first = true;
        loop {
            if !(first && digit_first) {
                if i == part.len() && !first {
                    return self.put(END, SYMBOL_BITS);
                }
                while i < part.len() && !part[i].is_ascii_digit() {
                    if !self.put(symbol(part[i]), SYMBOL_BITS) {
                        return false;
                    }
                    i += 1;
                }
                if !self.put(END, SYMBOL_BITS) {
                    return false;
                }
            }
            first = false;
            while i < part.len() && part[i] == b'0' {
                i += 1;
            }
            let mut n: u64 = 0;
            while i < part.len() && part[i].is_ascii_digit() {
                n = n
                    .saturating_mul(10)
                    .saturating_add(u64::from(part[i] - b'0'));
                i += 1;
            }
            if !self.put_number(n) {
                return false;
            }
        }
    }
}

/// The key of a valid version's epoch, upstream part and revision ("" when absent).
pub(super) fn sort_key(epoch: u32, upstream: &[u8], revision: &[u8]) -> u64 {
    let mut w = Writer { bits: 0, used: 0 };
    if epoch >= 15 {
        w.put(15, 4);
    } else if w.put(u64::from(epoch), 4) && w.put_part(upstream, true) {
        w.put_part(revision, false);
    }
    w.bits
}
