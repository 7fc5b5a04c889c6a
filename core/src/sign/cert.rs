//! What a certificate (a public key with its user IDs and subkeys) says about each
//! of its keys: which self-signatures hold, whether the key may sign, when it
//! expires, whether it was revoked. Computed once, from signatures that verify.

use pgp::composed::SignedPublicKey;
use pgp::packet::{Signature, SignatureType, SubpacketData};
use pgp::types::{KeyDetails, KeyId, PublicParams, Tag};

use super::{date, hex, key_id_hex};

/// One key of a certificate: the primary key or a subkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// The primary key.
    Primary,
    /// `public_subkeys[i]` of the certificate.
    Subkey(usize),
}

/// What the signatures on one key establish.
#[derive(Debug, Clone)]
pub(crate) struct Component {
    pub which: Which,
    pub fingerprint: String,
    pub key_id: KeyId,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// The newest valid self-signature (or binding signature), or why there is none.
    binding: Result<Binding, String>,
    /// A valid revocation exists (by the primary key, or by a designated revoker).
    revoked: bool,
}

/// What the newest valid self-signature or binding signature says.
#[derive(Debug, Clone)]
struct Binding {
    /// Expiry, seconds since the epoch (`None`: never).
    expires: Option<u64>,
    /// Why this key may not make data signatures (`None`: it may).
    cannot_sign: Option<&'static str>,
}

/// Why a key may not sign.
#[derive(Debug, Clone)]
pub(crate) struct Unusable {
    /// What is wrong, naming the key.
    pub reason: String,
    /// The primary key is revoked, expired or unbound: no key of the certificate may sign.
    pub whole_key: bool,
}

/// A public key and what holds of each of its keys.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub key: SignedPublicKey,
    /// Fingerprint of the primary key, upper-case hexadecimal.
    pub fingerprint: String,
    /// The primary key first, then the subkeys in order.
    pub components: Vec<Component>,
    /// Fingerprints of the keys the owner allowed to revoke this one.
    revokers: Vec<String>,
    /// Key revocations made by other keys (checked against `revokers`).
    foreign_revocations: Vec<Signature>,
}

impl Cert {
    /// Checks every self-signature, binding and revocation of `key`.
    pub fn new(key: SignedPublicKey) -> Cert {
        let primary = &key.primary_key;
        let mut components = vec![Component {
            which: Which::Primary,
            fingerprint: hex(primary.fingerprint().as_bytes()),
            key_id: primary.legacy_key_id(),
            created: u64::from(primary.created_at().as_secs()),
            binding: primary_binding(&key),
            revoked: key
                .details
                .revocation_signatures
                .iter()
                .any(|sig| sig.verify_key(primary).is_ok()),
        }];
        for (i, sub) in key.public_subkeys.iter().enumerate() {
            let verifies = |sig: &Signature| sig.verify_subkey_binding(primary, &sub.key).is_ok();
            let revoked = sub
                .signatures
                .iter()
                .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation) && verifies(s));
            let newest = sub
                .signatures
                .iter()
                .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding) && verifies(s))
                .max_by_key(|s| created(s));
            let binding = match newest {
                None => Err("no valid binding signature".to_owned()),
                Some(sig) => {
                    let mut cannot_sign = signing_problem(sign_flag(sig), sub.key.public_params());
                    let back_signed = sig.embedded_signature().is_some_and(|back| {
                        back.verify_primary_key_binding(&sub.key, primary).is_ok()
                    });
                    if cannot_sign.is_none() && !back_signed {
                        cannot_sign = Some("is a signing subkey without a valid back-signature");
                    }
                    Ok(Binding {
                        expires: expiry(sig, u64::from(sub.key.created_at().as_secs())),
                        cannot_sign,
                    })
                }
            };
            components.push(Component {
                which: Which::Subkey(i),
                fingerprint: hex(sub.key.fingerprint().as_bytes()),
                key_id: sub.key.legacy_key_id(),
                created: u64::from(sub.key.created_at().as_secs()),
                binding,
                revoked,
            });
        }
        // Debian's keys have one direct-key signature per designated revoker.
        let revokers = key
            .details
            .direct_signatures
            .iter()
            .filter(|sig| sig.verify_key(&key.primary_key).is_ok())
            .filter_map(|sig| sig.config())
            .flat_map(|config| config.hashed_subpackets())
            .filter_map(|p| match &p.data {
                SubpacketData::RevocationKey(revoker) => Some(hex(&revoker.fingerprint)),
                _ => None,
            })
            .collect();
        let foreign_revocations = key
            .details
            .revocation_signatures
            .iter()
            .filter(|sig| sig.verify_key(&key.primary_key).is_err())
            .cloned()
            .collect();
        Cert {
            fingerprint: components[0].fingerprint.clone(),
            key,
            components,
            revokers,
            foreign_revocations,
        }
    }

    /// Marks as revoked each of `certs` that a designated revoker among `certs`
    /// revoked (gpg and gpgv honour these when the revoker's key is in the keyring).
    pub fn apply_designated_revocations(certs: &mut [Cert]) {
        let mut revoked = Vec::new();
        for (i, cert) in certs.iter().enumerate() {
            let by_revoker = cert.foreign_revocations.iter().any(|sig| {
                certs.iter().any(|revoker| {
                    cert.revokers.contains(&revoker.fingerprint)
                        && revoker
                            .issuer(sig)
                            .is_some_and(|c| c.which == Which::Primary)
                        && sig
                            .verify_key_third_party(&cert.key.primary_key, &revoker.key.primary_key)
                            .is_ok()
                })
            });
            if by_revoker {
                revoked.push(i);
            }
        }
        for i in revoked {
            certs[i].components[0].revoked = true;
        }
    }

    /// The key that made `sig`, by its issuer fingerprint or, failing that, key ID.
    pub fn issuer(&self, sig: &Signature) -> Option<&Component> {
        let fingerprints = sig.issuer_fingerprint();
        if !fingerprints.is_empty() {
            return self.components.iter().find(|c| {
                fingerprints
                    .iter()
                    .any(|f| hex(f.as_bytes()) == c.fingerprint)
            });
        }
        let ids = sig.issuer_key_id();
        self.components
            .iter()
            .find(|c| ids.iter().any(|id| **id == c.key_id))
    }

    /// Why `component` may not make a data signature at `now` (seconds), or `None`:
    /// "key <FPR> is revoked", "subkey <FPR> expired on <date>", ...
    pub fn cannot_sign_at(&self, component: &Component, now: u64) -> Option<Unusable> {
        let primary = &self.components[0];
        let whole = |reason: String| Unusable {
            reason,
            whole_key: true,
        };
        let name = format!("key {}", self.fingerprint);
        if primary.revoked {
            return Some(whole(format!("{name} is revoked")));
        }
        let binding = match &primary.binding {
            Ok(binding) => binding,
            Err(why) => return Some(whole(format!("{name} has {why}"))),
        };
        if let Some(expiry) = binding.expires.filter(|e| *e <= now) {
            return Some(whole(format!("{name} expired on {}", date(expiry))));
        }
        let (name, binding) = match component.which {
            Which::Primary => (name, binding),
            Which::Subkey(_) => {
                let name = format!("subkey {}", component.fingerprint);
                let part = |reason: String| Unusable {
                    reason,
                    whole_key: false,
                };
                if component.revoked {
                    return Some(part(format!("{name} is revoked")));
                }
                match &component.binding {
                    Ok(binding) => (name, binding),
                    Err(why) => return Some(part(format!("{name} has {why}"))),
                }
            }
        };
        let reason = match binding.expires.filter(|e| *e <= now) {
            Some(expiry) => format!("{name} expired on {}", date(expiry)),
            None => format!("{name} {}", binding.cannot_sign?),
        };
        Some(Unusable {
            reason,
            whole_key: false,
        })
    }

    /// When `component` expires (the earlier of its own expiry and the primary's).
    pub fn expiry(&self, component: &Component) -> Option<u64> {
        let own = |c: &Component| c.binding.as_ref().ok().and_then(|b| b.expires);
        match (own(&self.components[0]), own(component)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The public parameters of `component`.
    pub fn params(&self, component: &Component) -> &PublicParams {
        match component.which {
            Which::Primary => self.key.primary_key.public_params(),
            Which::Subkey(i) => self.key.public_subkeys[i].key.public_params(),
        }
    }

    /// Checks `sig` over `data` with the key of `component`.
    pub fn verify(
        &self,
        component: &Component,
        sig: &Signature,
        data: &[u8],
    ) -> pgp::errors::Result<()> {
        match component.which {
            Which::Primary => sig.verify(&self.key.primary_key, data),
            Which::Subkey(i) => sig.verify(&self.key.public_subkeys[i].key, data),
        }
    }
}

/// What the self-signatures of the primary key say. The newest valid certification
/// of a user ID decides (as in gpg); direct-key signatures (Debian's keys have newer
/// ones, naming designated revokers) decide only what it leaves unsaid, or all when
/// the key has no user ID.
fn primary_binding(key: &SignedPublicKey) -> Result<Binding, String> {
    let primary = &key.primary_key;
    let certification = key
        .details
        .users
        .iter()
        .flat_map(|user| {
            user.signatures.iter().filter(move |sig| {
                sig.is_certification()
                    && sig.typ() != Some(SignatureType::CertRevocation)
                    && sig
                        .verify_certification(primary, Tag::UserId, &user.id)
                        .is_ok()
            })
        })
        .max_by_key(|sig| created(sig));
    let direct = newest_direct_signature(key);
    let main = certification
        .or(direct)
        .ok_or_else(|| "no valid self-signature".to_owned())?;
    let created_at = u64::from(primary.created_at().as_secs());
    let expires = expiry(main, created_at).or_else(|| direct.and_then(|d| expiry(d, created_at)));
    let flags = sign_flag(main).or_else(|| direct.and_then(sign_flag));
    Ok(Binding {
        expires,
        cannot_sign: signing_problem(flags, primary.public_params()),
    })
}

/// The newest direct-key signature of the primary key by itself that verifies.
fn newest_direct_signature(key: &SignedPublicKey) -> Option<&Signature> {
    key.details
        .direct_signatures
        .iter()
        .filter(|sig| {
            sig.typ() == Some(SignatureType::Key) && sig.verify_key(&key.primary_key).is_ok()
        })
        .max_by_key(|sig| created(sig))
}

/// The "sign" bit of the key-flags subpacket of `sig`, if it has one.
fn sign_flag(sig: &Signature) -> Option<bool> {
    sig.config()?
        .hashed_subpackets()
        .find_map(|p| match &p.data {
            SubpacketData::KeyFlags(flags) => Some(flags.sign()),
            _ => None,
        })
}

/// Why a key with these flags and parameters may not sign data, or `None`.
/// Without a key-flags subpacket, the algorithm decides (as gpg does).
fn signing_problem(sign_flag: Option<bool>, params: &PublicParams) -> Option<&'static str> {
    let algorithm_can_sign = !matches!(
        params,
        PublicParams::ECDH(_)
            | PublicParams::Elgamal(_)
            | PublicParams::X25519(_)
            | PublicParams::X448(_)
            | PublicParams::Unknown { .. }
    );
    match sign_flag {
        Some(true) | None if algorithm_can_sign => None,
        _ => Some("is not a signing key"),
    }
}

/// The expiry (seconds since the epoch) that `sig` sets for a key created at `created`.
fn expiry(sig: &Signature, created: u64) -> Option<u64> {
    sig.key_expiration_time()
        .map(|d| u64::from(d.as_secs()))
        .filter(|d| *d > 0)
        .map(|d| created + d)
}

/// A signature's creation time in seconds (0 when it has none).
pub(crate) fn created(sig: &Signature) -> u64 {
    sig.created().map_or(0, |t| u64::from(t.as_secs()))
}

/// How a signature names its issuer: the fingerprint, else the key ID.
pub(crate) fn issuer_name(sig: &Signature) -> String {
    if let Some(fingerprint) = sig.issuer_fingerprint().first() {
        return hex(fingerprint.as_bytes());
    }
    match sig.issuer_key_id().first() {
        Some(id) => key_id_hex(id),
        None => "(no issuer given)".to_owned(),
    }
}
