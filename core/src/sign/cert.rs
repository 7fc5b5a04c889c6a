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
#[derive(Debug)]
pub(crate) struct Component {
    pub which: Which,
    pub fingerprint: String,
    pub key_id: KeyId,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// The newest valid self-signature (or binding signature), or why there is none.
    binding: Result<Binding, String>,
    /// A valid revocation signature by the primary key exists.
    revoked: bool,
}

/// What the newest valid self-signature or binding signature says.
#[derive(Debug)]
struct Binding {
    /// Expiry, seconds since the epoch (`None`: never).
    expires: Option<u64>,
    /// Why this key may not make data signatures (`None`: it may).
    cannot_sign: Option<&'static str>,
}

/// A public key and what holds of each of its keys.
#[derive(Debug)]
pub(crate) struct Cert {
    pub key: SignedPublicKey,
    /// Fingerprint of the primary key, upper-case hexadecimal.
    pub fingerprint: String,
    /// The primary key first, then the subkeys in order.
    pub components: Vec<Component>,
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
                    let mut cannot_sign = signing_flag_problem(sig, sub.key.public_params());
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
        Cert {
            fingerprint: components[0].fingerprint.clone(),
            key,
            components,
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

    /// Why `component` may not make a data signature at `now` (seconds), or `None`.
    pub fn cannot_sign_at(&self, component: &Component, now: u64) -> Option<String> {
        let primary = &self.components[0];
        let key = &self.fingerprint;
        if primary.revoked {
            return Some(format!("key {key} is revoked"));
        }
        let binding = match &primary.binding {
            Ok(binding) => binding,
            Err(why) => return Some(format!("key {key} has {why}")),
        };
        if let Some(expiry) = binding.expires.filter(|e| *e <= now) {
            return Some(format!("key {key} expired on {}", date(expiry)));
        }
        let (name, binding) = match component.which {
            Which::Primary => (format!("key {key}"), binding),
            Which::Subkey(_) => {
                let name = format!("subkey {} of key {key}", component.fingerprint);
                if component.revoked {
                    return Some(format!("{name} is revoked"));
                }
                match &component.binding {
                    Ok(binding) => (name, binding),
                    Err(why) => return Some(format!("{name} has {why}")),
                }
            }
        };
        if let Some(expiry) = binding.expires.filter(|e| *e <= now) {
            return Some(format!("{name} expired on {}", date(expiry)));
        }
        binding.cannot_sign.map(|why| format!("{name} {why}"))
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

/// The newest valid self-signature of the primary key: a certification of one of
/// its user IDs, or a direct-key signature.
fn primary_binding(key: &SignedPublicKey) -> Result<Binding, String> {
    let primary = &key.primary_key;
    let certifications = key.details.users.iter().flat_map(|user| {
        user.signatures.iter().filter(move |sig| {
            sig.is_certification()
                && sig.typ() != Some(SignatureType::CertRevocation)
                && sig
                    .verify_certification(primary, Tag::UserId, &user.id)
                    .is_ok()
        })
    });
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(|sig| sig.typ() == Some(SignatureType::Key) && sig.verify_key(primary).is_ok());
    let newest = certifications
        .chain(direct)
        .max_by_key(|sig| created(sig))
        .ok_or_else(|| "no valid self-signature".to_owned())?;
    Ok(Binding {
        expires: expiry(newest, u64::from(primary.created_at().as_secs())),
        cannot_sign: signing_flag_problem(newest, primary.public_params()),
    })
}

/// Why a key whose newest self-signature is `sig` may not sign data, or `None`.
/// Without a key-flags subpacket, the algorithm decides (as gpg does).
fn signing_flag_problem(sig: &Signature, params: &PublicParams) -> Option<&'static str> {
    let flags = sig.config().and_then(|c| {
        c.hashed_subpackets().find_map(|p| match &p.data {
            SubpacketData::KeyFlags(flags) => Some(flags.sign()),
            _ => None,
        })
    });
    let algorithm_can_sign = !matches!(
        params,
        PublicParams::ECDH(_)
            | PublicParams::Elgamal(_)
            | PublicParams::X25519(_)
            | PublicParams::X448(_)
            | PublicParams::Unknown { .. }
    );
    match flags {
        Some(true) if algorithm_can_sign => None,
        None if algorithm_can_sign => None,
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
