//! Trusted public keys, and verification of clearsigned and detached signatures.

use std::fmt;
use std::time::SystemTime;

use pgp::composed::{
    CleartextSignedMessage, Deserializable, DetachedSignature, PublicOrSecret, SignedPublicKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType};

use super::cert::{self, Cert, Component};
use super::{
    MAX_CLOCK_SKEW, MAX_SIGNATURES, MIN_RSA_BITS_VERIFY, algorithm_problem, date, reason, secs,
    time,
};
use crate::error::{Error, ErrorKind, Result};

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed text: dash-unescaped, `\n` line breaks, ending with one unless empty.
    pub text: String,
    /// Fingerprint (upper-case hexadecimal) of the trusted key that signed.
    pub signer: String,
    /// Fingerprint of the key that made the signature: `signer`, or its signing subkey.
    pub signing_key: String,
    /// When the signature was made.
    pub created: SystemTime,
}

/// One or more public keys (certificates) whose signatures are trusted.
#[derive(Clone)]
pub struct TrustedKeys {
    certs: Vec<Cert>,
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.certs.iter().map(|c| &c.fingerprint))
            .finish()
    }
}

impl TrustedKeys {
    /// Reads public keys: binary (a `.gpg` keyring) or ASCII-armored (one or more
    /// `PUBLIC KEY BLOCK`s). Secret keys are accepted for their public part.
    pub fn from_bytes(data: &[u8]) -> Result<TrustedKeys> {
        let parse_err = |e: pgp::errors::Error| {
            Error::new(
                ErrorKind::Parse,
                format!("not OpenPGP public keys: {}", reason(&e)),
            )
        };
        let mut keys: Vec<SignedPublicKey> = Vec::new();
        let mut add = |parsed: pgp::errors::Result<PublicOrSecret>| -> Result<()> {
            keys.push(match parsed.map_err(parse_err)? {
                PublicOrSecret::Public(key) => key,
                PublicOrSecret::Secret(key) => key.to_public_key(),
            });
            Ok(())
        };
        let start = data.iter().position(|b| !b.is_ascii_whitespace());
        match start {
            None => {}
            Some(i) if data[i] & 0x80 != 0 => {
                for key in PublicOrSecret::from_bytes_many(&data[i..]).map_err(parse_err)? {
                    add(key)?;
                }
            }
            Some(_) => {
                for block in armor_blocks(data) {
                    let (parsed, _) = PublicOrSecret::from_armor_many(block).map_err(parse_err)?;
                    for key in parsed {
                        add(key)?;
                    }
                }
            }
        }
        if keys.is_empty() {
            return Err(Error::new(
                ErrorKind::Parse,
                "no OpenPGP public key found (expected a binary keyring or an armored PUBLIC KEY BLOCK)",
            ));
        }
        let mut certs: Vec<Cert> = keys.into_iter().map(Cert::new).collect();
        Cert::apply_designated_revocations(&mut certs);
        Ok(TrustedKeys { certs })
    }

    /// The keys as one binary keyring (the certificates' packets, in order):
    /// what `gpgv --keyring` reads, which armored keys are not.
    pub fn to_keyring(&self) -> Result<Vec<u8>> {
        use pgp::ser::Serialize;
        let mut out = Vec::new();
        for cert in &self.certs {
            cert.key.to_writer(&mut out).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("key {}: cannot write it: {}", cert.fingerprint, reason(&e)),
                )
            })?;
        }
        Ok(out)
    }

    /// The fingerprints (upper-case hexadecimal) of the primary keys, in order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs.iter().map(|c| c.fingerprint.clone()).collect()
    }

    /// Verifies a clearsigned message (an `InRelease`) at time `now` and returns the
    /// signed text. Every failure is [`ErrorKind::Verification`] (too many
    /// signatures: [`ErrorKind::LimitExceeded`]).
    pub fn verify_cleartext(&self, message: &str, now: SystemTime) -> Result<Verified> {
        let (msg, _headers) = CleartextSignedMessage::from_string(message).map_err(|e| {
            Error::new(
                ErrorKind::Verification,
                format!(
                    "no signature: not a clearsigned OpenPGP message ({})",
                    reason(&e)
                ),
            )
        })?;
        // Exactly the bytes the signatures cover: `\r\n` line breaks, no final one.
        let signed = msg.signed_text();
        let good = self.check(msg.signatures(), signed.as_bytes(), now)?;
        let mut text = signed.replace("\r\n", "\n");
        if !text.is_empty() {
            text.push('\n');
        }
        Ok(good.into_verified(text))
    }

    /// Verifies a detached signature (`Release.gpg`, armored or binary) over `data`
    /// (`Release`) at time `now`. Failures are [`ErrorKind::Verification`]; data that
    /// verifies but is not UTF-8 text is a [`ErrorKind::Parse`] error.
    pub fn verify_detached(
        &self,
        data: &[u8],
        signature: &[u8],
        now: SystemTime,
    ) -> Result<Verified> {
        let not_signature = |e: pgp::errors::Error| {
            Error::new(
                ErrorKind::Verification,
                format!("no signature: not an OpenPGP signature ({})", reason(&e)),
            )
        };
        let (parsed, _) = DetachedSignature::from_reader_many(signature).map_err(not_signature)?;
        let mut signatures = Vec::new();
        for sig in parsed {
            signatures.push(sig.map_err(not_signature)?.signature);
            if signatures.len() > MAX_SIGNATURES {
                break;
            }
        }
        let good = self.check(&signatures, data, now)?;
        let text = String::from_utf8(data.to_vec()).map_err(|e| {
            Error::new(
                ErrorKind::Parse,
                format!(
                    "the signed data is not UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Ok(good.into_verified(text))
    }

    /// The first good signature among `signatures` over `data`, unless one is bad.
    fn check(&self, signatures: &[Signature], data: &[u8], now: SystemTime) -> Result<Good> {
        if signatures.is_empty() {
            return Err(Error::new(ErrorKind::Verification, "no signature"));
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("more than {MAX_SIGNATURES} signatures"),
            ));
        }
        let now = secs(now);
        let mut good = None;
        let mut ignored = Vec::new();
        for sig in signatures {
            match self.check_one(sig, data, now) {
                Outcome::Good(g) => {
                    good.get_or_insert(g);
                }
                Outcome::Bad(why) => return Err(Error::new(ErrorKind::Verification, why)),
                Outcome::Ignored(why) => ignored.push(why),
            }
        }
        good.ok_or_else(|| {
            Error::new(
                ErrorKind::Verification,
                format!(
                    "no valid signature by a trusted key: {}",
                    ignored.join("; ")
                ),
            )
        })
    }

    /// Judges one signature.
    fn check_one(&self, sig: &Signature, data: &[u8], now: u64) -> Outcome {
        let Some((cert, component)) = self
            .certs
            .iter()
            .find_map(|cert| cert.issuer(sig).map(|c| (cert, c)))
        else {
            return Outcome::Ignored(format!(
                "signature by unknown key {}",
                cert::issuer_name(sig)
            ));
        };
        let name = signer_name(cert, component);
        if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
            return Outcome::Ignored(format!(
                "signature by {name} is not a document signature ({:?})",
                sig.typ()
            ));
        }
        match sig.hash_alg() {
            Some(
                HashAlgorithm::Sha224
                | HashAlgorithm::Sha256
                | HashAlgorithm::Sha384
                | HashAlgorithm::Sha512
                | HashAlgorithm::Sha3_256
                | HashAlgorithm::Sha3_512,
            ) => {}
            other => {
                return Outcome::Ignored(format!(
                    "signature by {name} uses a weak or unsupported hash algorithm ({other:?})"
                ));
            }
        }
        if let Some(problem) = algorithm_problem(cert.params(component), MIN_RSA_BITS_VERIFY) {
            return Outcome::Ignored(format!(
                "signature by {name}: unsupported algorithm: {problem}"
            ));
        }
        if cert.verify(component, sig, data).is_err() {
            return Outcome::Bad(format!(
                "bad signature by {name}: the signed data was changed or the signature is damaged"
            ));
        }
        let Some(created) = sig.created().map(|t| u64::from(t.as_secs())) else {
            return Outcome::Ignored(format!("signature by {name} has no creation time"));
        };
        if let Some(why) = cert.cannot_sign_at(component, now) {
            return Outcome::Ignored(format!("signature by {name}: {}", why.reason));
        }
        if let Some(expiry) = cert.expiry(component).filter(|e| *e <= created) {
            return Outcome::Ignored(format!(
                "signature by {name} was made after the key expired on {}",
                date(expiry)
            ));
        }
        if created < component.created {
            return Outcome::Ignored(format!(
                "signature by {name} is older than its key ({} < {})",
                date(created),
                date(component.created)
            ));
        }
        if created > now.saturating_add(MAX_CLOCK_SKEW.as_secs()) {
            return Outcome::Ignored(format!(
                "signature by {name} was made in the future ({}, now is {})",
                date(created),
                date(now)
            ));
        }
        let lifetime = sig
            .signature_expiration_time()
            .map_or(0, |d| u64::from(d.as_secs()));
        if lifetime > 0 && created + lifetime <= now {
            return Outcome::Ignored(format!(
                "signature by {name} expired on {}",
                date(created + lifetime)
            ));
        }
        Outcome::Good(Good {
            signer: cert.fingerprint.clone(),
            signing_key: component.fingerprint.clone(),
            created,
        })
    }
}

/// The verdict on one signature.
enum Outcome {
    /// By a trusted, valid key, and it matches the data.
    Good(Good),
    /// By a trusted key, and it does not match the data: the message is rejected.
    Bad(String),
    /// Not usable (unknown or invalid key, weak hash...): the reason.
    Ignored(String),
}

/// A good signature.
struct Good {
    signer: String,
    signing_key: String,
    created: u64,
}

impl Good {
    fn into_verified(self, text: String) -> Verified {
        Verified {
            text,
            signer: self.signer,
            signing_key: self.signing_key,
            created: time(self.created),
        }
    }
}

/// `key <FPR>` or `key <FPR> (subkey <FPR>)`.
fn signer_name(cert: &Cert, component: &Component) -> String {
    if component.fingerprint == cert.fingerprint {
        format!("key {}", cert.fingerprint)
    } else {
        format!(
            "key {} (subkey {})",
            cert.fingerprint, component.fingerprint
        )
    }
}

/// The `-----BEGIN PGP ...-----` to `-----END PGP ...-----` blocks of armored data
/// (keyrings made by concatenating `.asc` files have several).
fn armor_blocks(data: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    const END: &[u8] = b"-----END PGP ";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut blocks = Vec::new();
    let mut rest = data;
    while let Some(begin) = find(rest, BEGIN) {
        let from_begin = &rest[begin..];
        let Some(end) = find(from_begin, END) else {
            // An unterminated block: let the parser say what is wrong with it.
            blocks.push(from_begin);
            break;
        };
        let after_end = &from_begin[end + END.len()..];
        let line_end = after_end
            .iter()
            .position(|b| *b == b'\n')
            .map_or(after_end.len(), |p| p + 1);
        let len = end + END.len() + line_end;
        blocks.push(&from_begin[..len]);
        rest = &from_begin[len..];
    }
    if blocks.is_empty() {
        // No armor at all: the parser gives the error.
        blocks.push(data);
    }
    blocks
}
