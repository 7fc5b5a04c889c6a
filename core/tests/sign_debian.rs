//! Debian's own signed files: every InRelease `apt-get update` left in
//! /var/lib/apt/lists verifies against /usr/share/keyrings/debian-archive-keyring.gpg
//! (archive keys sign with subkeys, release keys with their primary key), with the
//! signers gpgv reports; the verified text parses as a Release; tampering, unknown
//! keys and expiry are rejected as gpgv rejects them.

#[allow(dead_code)]
#[path = "support/gpg.rs"]
mod gpg;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use debpull::ErrorKind;
use debpull::index::Release;
use debpull::index::release::{format_date, parse_date};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use gpg::Gpg;

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const HINT: &str = "run `apt-get install debian-archive-keyring` and `apt-get update`";

fn keyring() -> Vec<u8> {
    std::fs::read(KEYRING).unwrap_or_else(|e| panic!("{KEYRING}: {e}; {HINT}"))
}

/// The InRelease files of Debian's archive in /var/lib/apt/lists.
fn inreleases() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/var/lib/apt/lists")
        .unwrap_or_else(|e| panic!("/var/lib/apt/lists: {e}; {HINT}"))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.contains("debian") && name.ends_with("_InRelease")
        })
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no Debian InRelease in /var/lib/apt/lists: {HINT}"
    );
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The `Date:` of an InRelease: the moment it was signed, as a verification time.
fn date_of(message: &str) -> SystemTime {
    let line = message
        .lines()
        .find(|l| l.starts_with("Date: "))
        .expect("Date field");
    parse_date(&line["Date: ".len()..]).expect("a valid Date")
}

/// The text between the armor header and the signature, as apt extracts it
/// (Debian's files have no dash-escaped lines and no trailing blanks: checked).
fn cleartext(message: &str) -> String {
    let start = message.find("\n\n").unwrap() + 2;
    let end = message.find("\n-----BEGIN PGP SIGNATURE-----").unwrap();
    let text = &message[start..=end];
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with('-') || l.ends_with([' ', '\t']))
    );
    text.to_owned()
}

/// (signing key, primary key, creation time) of every good signature, as gpgv
/// reports them.
fn gpgv_signers(gpg: &Gpg, keyring: &[u8], message: &str) -> Vec<(String, String, SystemTime)> {
    let status = gpg
        .gpgv(keyring, &[("InRelease", message.as_bytes())])
        .unwrap_or_else(|e| panic!("gpgv refused Debian's InRelease: {e}"));
    status
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
        .map(|rest| {
            let fields: Vec<&str> = rest.split(' ').collect();
            let created = UNIX_EPOCH + Duration::from_secs(fields[2].parse().unwrap());
            (
                fields[0].to_owned(),
                fields[fields.len() - 1].to_owned(),
                created,
            )
        })
        .collect()
}

#[test]
fn debian_inreleases_verify_with_the_signers_gpgv_reports() {
    let gpg = Gpg::new();
    let ring = keyring();
    let keys = TrustedKeys::from_bytes(&ring).unwrap();
    let mut subkey_signed = 0;
    for path in inreleases() {
        let message = read(&path);
        let verified = keys
            .verify_cleartext(&message, date_of(&message))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The verified text is the cleartext, and it parses as the Release it is.
        assert_eq!(verified.text, cleartext(&message), "{}", path.display());
        let release = Release::parse(&verified.text).unwrap();
        assert!(release.suite.is_some() && !release.files.is_empty());
        // Our signer is gpgv's first good signature (there are two or three).
        let signers = gpgv_signers(&gpg, &ring, &message);
        assert!(!signers.is_empty());
        let first = (
            verified.signing_key.clone(),
            verified.signer.clone(),
            verified.created,
        );
        assert_eq!(first, signers[0], "{}", path.display());
        subkey_signed += usize::from(verified.signing_key != verified.signer);
        // Each signer alone is enough.
        gpg.import(&ring, "");
        for (signing_key, primary, created) in &signers {
            let alone = TrustedKeys::from_bytes(&gpg.export(primary)).unwrap();
            assert_eq!(alone.fingerprints(), vec![primary.clone()]);
            let verified = alone.verify_cleartext(&message, date_of(&message)).unwrap();
            assert_eq!(
                (&verified.signing_key, &verified.signer, &verified.created),
                (signing_key, primary, created)
            );
        }
    }
    assert!(
        subkey_signed > 0,
        "no InRelease signed by a subkey: the subkey path is untested"
    );
}

#[test]
fn tampered_debian_inrelease_is_rejected_like_gpgv_does() {
    let gpg = Gpg::new();
    let ring = keyring();
    let keys = TrustedKeys::from_bytes(&ring).unwrap();
    for path in inreleases() {
        let message = read(&path);
        // One byte of the body changed: a digit of the first checksum line.
        let at = message.find("\n ").unwrap() + 2;
        let mut bytes = message.clone().into_bytes();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(bytes).unwrap();
        let err = keys
            .verify_cleartext(&tampered, date_of(&message))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification);
        assert!(err.message().starts_with("bad signature by key "), "{err}");
        gpg.gpgv(&ring, &[("InRelease", tampered.as_bytes())])
            .expect_err("gpgv accepted a tampered InRelease");
    }
}

#[test]
fn debian_inrelease_with_other_trusted_keys_names_its_signers() {
    let gpg = Gpg::new();
    let other = SigningKey::generate("Other <other@example.org>", KeyKind::Ed25519).unwrap();
    let other_ring = other.public_key_binary().unwrap();
    let keys = TrustedKeys::from_bytes(&other_ring).unwrap();
    for path in inreleases() {
        let message = read(&path);
        let err = keys
            .verify_cleartext(&message, date_of(&message))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification);
        // gpgv names the same keys (by key ID: the fingerprints' last 16 digits).
        let status = gpg
            .gpgv(&other_ring, &[("InRelease", message.as_bytes())])
            .expect_err("gpgv accepted Debian's InRelease with an unrelated key");
        let missing: Vec<&str> = status
            .lines()
            .filter_map(|l| l.strip_prefix("[GNUPG:] NO_PUBKEY "))
            .collect();
        assert!(!missing.is_empty(), "{status}");
        for key_id in missing {
            let named = err
                .message()
                .split("unknown key ")
                .skip(1)
                .any(|rest| rest[..40].ends_with(key_id));
            assert!(named, "{key_id} not in: {err}");
        }
    }
}

/// The expiry (seconds since the epoch) of every key and subkey in `keyring`, by
/// fingerprint, from gpg's listing.
fn gpg_expiries(gpg: &Gpg, keyring: &str) -> HashMap<String, u64> {
    let listing = gpg.ok("", &["--with-colons", "--show-keys", keyring], b"");
    let mut expiries = HashMap::new();
    let mut pending = None;
    for line in String::from_utf8(listing).unwrap().lines() {
        let fields: Vec<&str> = line.split(':').collect();
        match fields[0] {
            "pub" | "sub" => pending = fields[6].parse::<u64>().ok(),
            "fpr" => {
                if let Some(expiry) = pending.take() {
                    expiries.insert(fields[9].to_owned(), expiry);
                }
            }
            _ => {}
        }
    }
    expiries
}

#[test]
fn debian_signatures_are_refused_from_the_second_gpg_says_the_key_expires() {
    let gpg = Gpg::new();
    let ring = keyring();
    let expiries = gpg_expiries(&gpg, KEYRING);
    gpg.import(&ring, "");
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    for path in inreleases() {
        let message = read(&path);
        for (signing_key, primary, _) in gpgv_signers(&gpg, &ring, &message) {
            // The earlier of the primary key's and the signing subkey's expiry.
            let limit = [&primary, &signing_key]
                .iter()
                .filter_map(|f| expiries.get(*f))
                .min()
                .copied()
                .unwrap_or_else(|| panic!("gpg lists no expiry for {primary}"));
            let alone = TrustedKeys::from_bytes(&gpg.export(&primary)).unwrap();
            alone.verify_cleartext(&message, at(limit - 1)).unwrap();
            let err = alone.verify_cleartext(&message, at(limit)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Verification);
            let expected = format!(" expired on {}", format_date(at(limit)));
            assert!(
                err.message().contains(&expected),
                "{expected} not in: {err}"
            );
        }
    }
}

#[test]
fn every_debian_keyring_loads_with_gpgs_fingerprints() {
    let gpg = Gpg::new();
    let mut checked = 0;
    for entry in std::fs::read_dir("/usr/share/keyrings").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("debian-") && name.ends_with(".gpg")) {
            continue;
        }
        let listing = gpg.ok(
            "",
            &["--with-colons", "--show-keys", path.to_str().unwrap()],
            b"",
        );
        let listing = String::from_utf8(listing).unwrap();
        // The fingerprint line that follows each "pub" line.
        let mut expected = Vec::new();
        let mut after_pub = false;
        for line in listing.lines() {
            if line.starts_with("pub:") {
                after_pub = true;
            } else if after_pub && line.starts_with("fpr:") {
                expected.push(line.split(':').nth(9).unwrap().to_owned());
                after_pub = false;
            }
        }
        let keys = TrustedKeys::from_bytes(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(keys.fingerprints(), expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 2, "Debian keyrings missing: {HINT}");
}

/// A small deterministic generator (xorshift64*).
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn mutated_debian_inrelease_never_panics_nor_verifies_other_text() {
    let keys = TrustedKeys::from_bytes(&keyring()).unwrap();
    let path = &inreleases()[0];
    let message = read(path);
    let when = date_of(&message);
    let original = keys.verify_cleartext(&message, when).unwrap().text;
    let mut state = 0x1234_5678_9ABC_DEF1;
    for _ in 0..300 {
        let mut bytes = message.clone().into_bytes();
        // Mostly in the signature block, where the parser has the most to do.
        let sig_start = message.find("-----BEGIN PGP SIGNATURE-----").unwrap();
        let at = if next(&mut state).is_multiple_of(4) {
            (next(&mut state) as usize) % bytes.len()
        } else {
            sig_start + (next(&mut state) as usize) % (bytes.len() - sig_start)
        };
        match next(&mut state) % 3 {
            0 => bytes[at] = next(&mut state) as u8,
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, next(&mut state) as u8),
        }
        let mutated = String::from_utf8_lossy(&bytes);
        if let Ok(v) = keys.verify_cleartext(&mutated, when) {
            assert_eq!(v.text, original);
        }
    }
}
