//! OpenPGP signatures of a repository: the clearsigned `InRelease`, the detached
//! `Release.gpg`, and their verification against trusted public keys.
//!
//! Signing needs a [`SigningKey`] (an armored secret key, or one made by
//! [`SigningKey::generate`]); verifying needs [`TrustedKeys`] (armored or binary
//! public keys: what apt's `signed-by=` takes). The text a verification returns in
//! [`Verified`] is the signed text, and only that: parse it, never the message
//! it came in.
//!
//! What is accepted follows apt (which runs `gpgv`):
//!
//! * A message may carry several signatures (Debian's InRelease has two or three).
//!   It verifies when at least one is a good signature by a valid trusted key and
//!   none is bad. A *bad* signature is one by a trusted key that does not match the
//!   text (it was changed): it fails the whole message, as apt's `BADSIG` does.
//!   Signatures by unknown keys, expired or revoked keys, or with weak hashes are
//!   ignored; when no good one remains, the error lists why each was ignored.
//! * A key is valid at `now` when its newest valid self-signature (and, for a
//!   signing subkey, its newest valid binding signature with a primary-key binding
//!   back-signature) makes it a signing key that has not expired at `now`, and no
//!   revocation signature by the key itself exists. Signatures by keys expired at
//!   `now` are rejected even if made before the expiry (apt treats gpgv's
//!   `EXPKEYSIG` as worthless); any revocation counts, whatever its reason, and a
//!   revocation by a designated revoker counts when the revoker's key is among the
//!   trusted keys (as with gpgv). The primary key's expiry and flags come from its
//!   newest user ID self-signature, as in gpg (Debian's keys also carry newer
//!   direct-key signatures that name their revokers).
//! * Signatures made more than [`MAX_CLOCK_SKEW`] after `now` are rejected.
//! * Weak hashes (MD5, SHA-1, RIPEMD-160) are rejected in data signatures (apt
//!   does too); keys may still carry SHA-1 self-signatures. RSA keys below
//!   [`MIN_RSA_BITS_VERIFY`] bits and DSA/Elgamal keys are not accepted.
//! * Signing uses SHA-512, with RSA keys of at least [`MIN_RSA_BITS_SIGN`] bits,
//!   or Ed25519 (the EdDSA form gpg 2.2 and apt understand).
//!
//! Cleartext (RFC 4880 §7, RFC 9580 §7): lines starting with `-` are dash-escaped,
//! trailing spaces and tabs are not signed, nor is the line break before the
//! signature. So [`SigningKey::clearsign`] refuses text with trailing whitespace or
//! carriage returns (which would not be signed as given), and a verified text always
//! ends with a line break when it is not empty: the text of `Release` and of
//! `InRelease` are then the same bytes, as in Debian's archive.

mod cert;
mod key;
mod verify;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pgp::types::{KeyId, PublicParams};

pub use key::{KeyKind, SigningKey};
pub use verify::{TrustedKeys, Verified};

/// How far in the future (past `now`) a signature's creation time may be: clocks of
/// publishers and servers differ a little. Beyond it the signature is rejected.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The smallest RSA key (bits) a [`SigningKey`] signs with.
pub const MIN_RSA_BITS_SIGN: usize = 3072;

/// The smallest RSA key (bits) whose signatures [`TrustedKeys`] accepts.
pub const MIN_RSA_BITS_VERIFY: usize = 2048;

/// At most this many signatures are considered in one message (Debian uses three).
pub const MAX_SIGNATURES: usize = 16;

/// Upper-case hexadecimal, as gpg prints fingerprints and key IDs.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// The hexadecimal form of a key ID.
fn key_id_hex(id: &KeyId) -> String {
    hex(id.as_ref())
}

/// Seconds since the epoch (0 before it).
fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The time `secs` seconds after the epoch.
fn time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A date for messages, as Release files write them.
fn date(secs: u64) -> String {
    crate::index::release::format_date(time(secs))
}

/// Why a key with these parameters is not accepted (signing needs
/// `min_rsa_bits`), or `None` when it is.
fn algorithm_problem(params: &PublicParams, min_rsa_bits: usize) -> Option<String> {
    match params {
        PublicParams::RSA(rsa) => {
            let bits = rsa_bits(rsa);
            (bits < min_rsa_bits)
                .then(|| format!("RSA key of {bits} bits (at least {min_rsa_bits} needed)"))
        }
        PublicParams::EdDSALegacy(_)
        | PublicParams::Ed25519(_)
        | PublicParams::Ed448(_)
        | PublicParams::ECDSA(_) => None,
        PublicParams::DSA(_) => Some("DSA key (not supported)".to_owned()),
        _ => Some("key algorithm that cannot sign or is not supported".to_owned()),
    }
}

/// rpgp's explanation of an error, shortened to its first line (some carry dumps
/// of the input).
fn reason(e: &pgp::errors::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_owned(),
    }
}

/// The size of an RSA modulus in bits: the length prefix of its serialized MPI.
fn rsa_bits(rsa: &pgp::types::RsaPublicParams) -> usize {
    use pgp::ser::Serialize;
    match rsa.to_bytes() {
        Ok(bytes) if bytes.len() >= 2 => usize::from(u16::from_be_bytes([bytes[0], bytes[1]])),
        _ => 0,
    }
}
