//! A secret key that signs: loaded from an armored export, or generated.

use std::fmt;
use std::time::SystemTime;

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, Deserializable, DetachedSignature, KeyType,
    SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, Password, S2kParams, SecretParams, StringToKey, Timestamp};
use rand::rngs::OsRng;

use super::cert::{Cert, Which};
use super::{MIN_RSA_BITS_SIGN, algorithm_problem, hex, reason, secs};
use crate::error::{Error, ErrorKind, Result};

/// The hash every signature is made with.
const HASH: HashAlgorithm = HashAlgorithm::Sha512;

/// The kind of key [`SigningKey::generate`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519, in the EdDSA form of RFC 4880bis that gpg 2.2 (and so apt) reads.
    Ed25519,
    /// RSA with this many bits: 3072 to 4096.
    Rsa(u32),
}

/// A secret key able to sign: the primary key, or its newest valid signing subkey.
///
/// The secret material is held unlocked in memory (rpgp wipes it when dropped);
/// `Debug` shows only the fingerprint.
#[derive(Clone)]
pub struct SigningKey {
    key: SignedSecretKey,
    /// Which key signs (a `Which::Subkey` index is into `key.secret_subkeys`).
    signer: Which,
    fingerprint: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads an ASCII-armored secret key (`gpg --export-secret-keys --armor`, or
    /// `--export-secret-subkeys` for an offline primary key), unlocking it with
    /// `passphrase` when it is protected (an empty one counts as none). The key must
    /// be valid now. Errors ([`ErrorKind::InvalidInput`]) say whether the text is not
    /// a secret key, the passphrase is wrong or missing, or the key is expired,
    /// revoked or cannot sign.
    pub fn from_armored(text: &str, passphrase: Option<&str>) -> Result<SigningKey> {
        let not_secret = |why: String| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("not an OpenPGP secret key: {why}"),
            )
        };
        if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----")
            && !text.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----")
        {
            return Err(not_secret("this is a public key".to_owned()));
        }
        let (mut keys, _) =
            SignedSecretKey::from_string_many(text).map_err(|e| not_secret(reason(&e)))?;
        let key = match keys.next() {
            Some(key) => key.map_err(|e| not_secret(reason(&e)))?,
            None => return Err(not_secret("no key found".to_owned())),
        };
        if keys.next().is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "several secret keys given: export only the one to sign with",
            ));
        }
        SigningKey::new(key, passphrase.filter(|p| !p.is_empty()))
    }

    /// Generates a new key for `user_id` (e.g. `"Deploy <ops@example.com>"`), without
    /// expiry: a primary key that certifies and signs.
    pub fn generate(user_id: &str, kind: KeyKind) -> Result<SigningKey> {
        if user_id.trim().is_empty() || user_id.chars().any(char::is_control) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("user ID {user_id:?} is empty or has control characters"),
            ));
        }
        let key_type = match kind {
            KeyKind::Ed25519 => KeyType::Ed25519Legacy,
            KeyKind::Rsa(bits @ 3072..=4096) => KeyType::Rsa(bits),
            KeyKind::Rsa(bits) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("RSA keys of {bits} bits are not generated (3072 to 4096)"),
                ));
            }
        };
        let invalid = |e: &dyn fmt::Display| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("key generation failed: {e}"),
            )
        };
        let params = SecretKeyParamsBuilder::default()
            .key_type(key_type)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_owned())
            .preferred_hash_algorithms(
                [HashAlgorithm::Sha512, HashAlgorithm::Sha256]
                    .into_iter()
                    .collect(),
            )
            .preferred_symmetric_algorithms([SymmetricKeyAlgorithm::AES256].into_iter().collect())
            .build()
            .map_err(|e| invalid(&e))?;
        let key = params.generate(OsRng).map_err(|e| invalid(&e))?;
        SigningKey::new(key, None)
    }

    /// Unlocks every secret key of `key` and picks the one that signs.
    fn new(mut key: SignedSecretKey, passphrase: Option<&str>) -> Result<SigningKey> {
        let fingerprint = hex(key.primary_key.fingerprint().as_bytes());
        let password = Password::from(passphrase.unwrap_or_default());
        let unlock = |params: &SecretParams, fpr: &str| -> Result<bool> {
            match params {
                SecretParams::Plain(_) => Ok(false),
                SecretParams::Encrypted(e) if is_stub(e.string_to_key_params()) => Ok(false),
                SecretParams::Encrypted(_) if passphrase.is_none() => Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("key {fpr} is protected by a passphrase and none was given"),
                )),
                SecretParams::Encrypted(_) => Ok(true),
            }
        };
        let wrong = |fpr: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("wrong passphrase for key {fpr}"),
            )
        };
        if unlock(key.primary_key.secret_params(), &fingerprint)? {
            key.primary_key
                .remove_password(&password)
                .map_err(|_| wrong(&fingerprint))?;
        }
        for sub in &mut key.secret_subkeys {
            if unlock(sub.key.secret_params(), &fingerprint)? {
                sub.key
                    .remove_password(&password)
                    .map_err(|_| wrong(&fingerprint))?;
            }
        }
        let signer = choose_signer(&key, &fingerprint)?;
        Ok(SigningKey {
            key,
            signer,
            fingerprint,
        })
    }

    /// The fingerprint of the primary key, upper-case hexadecimal.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// The fingerprint of the key that makes the signatures (the primary key's, or
    /// that of its signing subkey).
    pub fn signing_key_fingerprint(&self) -> String {
        match self.signer {
            Which::Primary => self.fingerprint.clone(),
            Which::Subkey(i) => hex(self.key.secret_subkeys[i].key.fingerprint().as_bytes()),
        }
    }

    /// The whole secret key, ASCII-armored, protected by `passphrase` if given (and
    /// not empty); `gpg --import` reads it.
    pub fn to_armored_secret(&self, passphrase: Option<&str>) -> Result<String> {
        let mut key = self.key.clone();
        if let Some(passphrase) = passphrase.filter(|p| !p.is_empty()) {
            let password = Password::from(passphrase);
            let lock_err = |e: pgp::errors::Error| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("cannot protect the key: {}", reason(&e)),
                )
            };
            if matches!(key.primary_key.secret_params(), SecretParams::Plain(_)) {
                key.primary_key
                    .set_password(OsRng, &password)
                    .map_err(lock_err)?;
            }
            for sub in &mut key.secret_subkeys {
                if matches!(sub.key.secret_params(), SecretParams::Plain(_)) {
                    sub.key.set_password(OsRng, &password).map_err(lock_err)?;
                }
            }
        }
        key.to_armored_string(ArmorOptions::default())
            .map_err(|e| serialize_err("secret key", e))
    }

    /// The public key (certificate), ASCII-armored: for apt's `signed-by=`.
    pub fn public_key_armored(&self) -> Result<String> {
        self.public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| serialize_err("public key", e))
    }

    /// The public key (certificate), binary: for `gpgv --keyring`.
    pub fn public_key_binary(&self) -> Result<Vec<u8>> {
        self.public_key()
            .to_bytes()
            .map_err(|e| serialize_err("public key", e))
    }

    fn public_key(&self) -> SignedPublicKey {
        self.key.to_public_key()
    }

    /// Clearsigns `text` (makes an `InRelease` from a `Release`), with SHA-512.
    ///
    /// Trailing spaces or tabs and carriage returns are refused (the cleartext
    /// framework would not sign them); a missing final line break is added.
    pub fn clearsign(&self, text: &str) -> Result<String> {
        check_cleartext(text)?;
        // The line break before the signature belongs to the framework.
        let body = text.strip_suffix('\n').unwrap_or(text);
        let signed = match self.signer {
            Which::Primary => clearsign_with(&self.key.primary_key, body),
            Which::Subkey(i) => clearsign_with(&self.key.secret_subkeys[i].key, body),
        };
        signed
            .and_then(|msg| msg.to_armored_string(ArmorOptions::default()))
            .map_err(|e| sign_err(&self.fingerprint, e))
    }

    /// Signs `data` (a `Release`) with a detached, ASCII-armored signature
    /// (`Release.gpg`), with SHA-512.
    pub fn sign_detached(&self, data: &[u8]) -> Result<String> {
        let signed = match self.signer {
            Which::Primary => sign_detached_with(&self.key.primary_key, data),
            Which::Subkey(i) => sign_detached_with(&self.key.secret_subkeys[i].key, data),
        };
        signed
            .and_then(|sig| sig.to_armored_string(ArmorOptions::default()))
            .map_err(|e| sign_err(&self.fingerprint, e))
    }
}

/// A clearsigned message of `body` (the text without its final line break).
fn clearsign_with(
    key: &impl pgp::types::SigningKey,
    body: &str,
) -> pgp::errors::Result<CleartextSignedMessage> {
    let mut config = SignatureConfig::v4(SignatureType::Text, key.algorithm(), HASH);
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::now()))?,
        Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint()))?,
    ];
    config.unhashed_subpackets = vec![Subpacket::regular(SubpacketData::IssuerKeyId(
        key.legacy_key_id(),
    ))?];
    CleartextSignedMessage::new(body, config, key, &Password::empty())
}

/// A binary-mode detached signature of `data`.
fn sign_detached_with(
    key: &impl pgp::types::SigningKey,
    data: &[u8],
) -> pgp::errors::Result<DetachedSignature> {
    DetachedSignature::sign_binary_data_with_subpackets(
        OsRng,
        key,
        &Password::empty(),
        HASH,
        data,
        SubpacketConfig::Default,
    )
}

/// Refuses text the cleartext framework would not sign as given.
fn check_cleartext(text: &str) -> Result<()> {
    for (n, line) in text.split('\n').enumerate() {
        let problem = if line.contains('\r') {
            "has a carriage return"
        } else if line.ends_with([' ', '\t']) {
            "ends with a space or tab"
        } else {
            continue;
        };
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "cannot clearsign: line {} {problem}, which would not be signed",
                n + 1
            ),
        ));
    }
    Ok(())
}

/// The key of `key` that signs: its newest valid signing subkey with secret
/// material, else the primary key.
fn choose_signer(key: &SignedSecretKey, fingerprint: &str) -> Result<Which> {
    let cert = Cert::new(key.to_public_key());
    let now = secs(SystemTime::now());
    let mut reasons = Vec::new();
    let mut best: Option<(u64, Which)> = None;
    for component in &cert.components {
        let which = match component.which {
            Which::Primary => Which::Primary,
            Which::Subkey(_) => {
                // Find the secret half (public-only subkeys cannot sign here).
                match key
                    .secret_subkeys
                    .iter()
                    .position(|s| hex(s.key.fingerprint().as_bytes()) == component.fingerprint)
                {
                    Some(i) => Which::Subkey(i),
                    None => continue,
                }
            }
        };
        let params = match which {
            Which::Primary => key.primary_key.secret_params(),
            Which::Subkey(i) => key.secret_subkeys[i].key.secret_params(),
        };
        if let Some(why) = cert.cannot_sign_at(component, now) {
            // Expired or revoked primary key: that is the answer, whatever the subkeys.
            if why.whole_key {
                return Err(Error::new(ErrorKind::InvalidInput, why.reason));
            }
            reasons.push(why.reason);
            continue;
        }
        if !matches!(params, SecretParams::Plain(_)) {
            reasons.push(format!(
                "the secret part of {} is not in the export (a gpg stub)",
                component.fingerprint
            ));
            continue;
        }
        if let Some(problem) = algorithm_problem(cert.params(component), MIN_RSA_BITS_SIGN) {
            reasons.push(format!("{} is an {problem}", component.fingerprint));
            continue;
        }
        // Prefer subkeys to the primary, and newer keys to older ones (as gpg does).
        let rank = match which {
            Which::Primary => 0,
            Which::Subkey(_) => component.created + 1,
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, which));
        }
    }
    match best {
        Some((_, which)) => Ok(which),
        None => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("key {fingerprint} cannot sign: {}", reasons.join("; ")),
        )),
    }
}

/// A gpg stub (S2K 101, "gnu-dummy"): the secret part stayed in gpg.
fn is_stub(s2k: &S2kParams) -> bool {
    matches!(
        s2k,
        S2kParams::Cfb {
            s2k: StringToKey::Private { typ: 101, .. },
            ..
        } | S2kParams::MalleableCfb {
            s2k: StringToKey::Private { typ: 101, .. },
            ..
        } | S2kParams::Aead {
            s2k: StringToKey::Private { typ: 101, .. },
            ..
        }
    )
}

fn sign_err(fingerprint: &str, e: pgp::errors::Error) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("signing with key {fingerprint} failed: {}", reason(&e)),
    )
}

fn serialize_err(what: &str, e: pgp::errors::Error) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("cannot write the {what}: {}", reason(&e)),
    )
}
