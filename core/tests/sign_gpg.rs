//! Interop with GnuPG both ways: `gpgv` accepts our InRelease and Release.gpg; we
//! load keys made by `gpg --quick-gen-key` and verify what `gpg --clearsign` and
//! `gpg --detach-sign` make; and we reject what gpg says is expired or revoked.

#[allow(dead_code)]
#[path = "support/gpg.rs"]
mod gpg;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use debpull::ErrorKind;
use debpull::sign::{KeyKind, MAX_SIGNATURES, SigningKey, TrustedKeys};
use gpg::{Gpg, validsig};

const RELEASE: &str = "Origin: debpull\n\
Label: debpull\n\
Suite: staging\n\
Date: Sat, 10 Jun 2023 09:03:43 UTC\n\
- a line that starts with a dash\n\
-----BEGIN PGP SIGNATURE-----\n\
SHA256:\n \
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages\n";

const DAY: Duration = Duration::from_secs(86_400);

fn now() -> SystemTime {
    SystemTime::now()
}

/// gpgv accepts `key`'s InRelease and Release.gpg, names its signing key, and
/// rejects a tampered copy of each.
fn assert_gpgv_accepts(gpg: &Gpg, key: &SigningKey) {
    let keyring = key.public_key_binary().unwrap();
    let inrelease = key.clearsign(RELEASE).unwrap();
    let status = gpg
        .gpgv(&keyring, &[("InRelease", inrelease.as_bytes())])
        .unwrap_or_else(|e| panic!("gpgv refused our InRelease:\n{e}\n{inrelease}"));
    assert_eq!(
        validsig(&status),
        Some(key.signing_key_fingerprint().as_str())
    );
    let tampered = inrelease.replacen("staging", "stagiNg", 1);
    gpg.gpgv(&keyring, &[("InRelease", tampered.as_bytes())])
        .expect_err("gpgv accepted a tampered InRelease");

    let signature = key.sign_detached(RELEASE.as_bytes()).unwrap();
    let files = [
        ("Release.gpg", signature.as_bytes()),
        ("Release", RELEASE.as_bytes()),
    ];
    let status = gpg
        .gpgv(&keyring, &files)
        .unwrap_or_else(|e| panic!("gpgv refused our Release.gpg:\n{e}"));
    assert_eq!(
        validsig(&status),
        Some(key.signing_key_fingerprint().as_str())
    );
    let other = RELEASE.replace("staging", "production");
    let files = [
        ("Release.gpg", signature.as_bytes()),
        ("Release", other.as_bytes()),
    ];
    gpg.gpgv(&keyring, &files)
        .expect_err("gpgv accepted a signature over other data");
}

#[test]
fn gpgv_accepts_signatures_by_generated_keys() {
    let gpg = Gpg::new();
    for kind in [KeyKind::Ed25519, KeyKind::Rsa(3072), KeyKind::Rsa(4096)] {
        let key = SigningKey::generate("Deploy <deploy@example.org>", kind).unwrap();
        assert_gpgv_accepts(&gpg, &key);
    }
}

#[test]
fn gpgv_accepts_signatures_by_gpg_keys_with_passphrase() {
    let gpg = Gpg::new();
    for algo in ["ed25519", "rsa3072"] {
        let uid = format!("{algo} <{algo}@example.org>");
        let fpr = gpg.gen_key(&uid, algo, "sign", "0", "s3cret");
        let key =
            SigningKey::from_armored(&gpg.export_secret(&fpr, "s3cret"), Some("s3cret")).unwrap();
        assert_eq!(key.fingerprint(), fpr);
        assert_gpgv_accepts(&gpg, &key);
        // gpg's own export of the public key works as gpgv's keyring too.
        let inrelease = key.clearsign(RELEASE).unwrap();
        gpg.gpgv(&gpg.export(&fpr), &[("InRelease", inrelease.as_bytes())])
            .unwrap();
    }
}

#[test]
fn signing_subkey_is_used_when_there_is_one() {
    let gpg = Gpg::new();
    // Made on three successive days, so that "newest" is well defined.
    let on = |day: &str| {
        vec![
            "--faked-system-time".to_owned(),
            format!("202401{day}T000000!"),
        ]
    };
    let run = |day: &str, args: &[&str]| {
        let mut all = on(day);
        all.extend(args.iter().map(|a| a.to_string()));
        gpg.ok("", &all.iter().map(String::as_str).collect::<Vec<_>>(), b"");
    };
    run(
        "01",
        &[
            "--quick-gen-key",
            "Sub <sub@example.org>",
            "rsa4096",
            "cert",
            "0",
        ],
    );
    let fpr = gpg.fingerprints("Sub")[0].clone();
    run("02", &["--quick-add-key", &fpr, "rsa3072", "sign", "0"]);
    let sub = gpg.fingerprints(&fpr)[1].clone();
    let key = SigningKey::from_armored(&gpg.export_secret(&fpr, ""), None).unwrap();
    assert_eq!(key.fingerprint(), fpr);
    assert_eq!(key.signing_key_fingerprint(), sub);
    assert_gpgv_accepts(&gpg, &key);

    // The newest signing subkey wins (as in gpg).
    run("03", &["--quick-add-key", &fpr, "ed25519", "sign", "0"]);
    let newer = gpg.fingerprints(&fpr)[2].clone();
    let key = SigningKey::from_armored(&gpg.export_secret(&fpr, ""), None).unwrap();
    assert_eq!(key.signing_key_fingerprint(), newer);
    let verified = TrustedKeys::from_bytes(&gpg.export(&fpr))
        .unwrap()
        .verify_cleartext(&key.clearsign(RELEASE).unwrap(), now())
        .unwrap();
    assert_eq!(
        (verified.signer, verified.signing_key),
        (fpr.clone(), newer.clone())
    );
    // gpg itself picks the same subkey.
    let signed = gpg.clearsign(&[&fpr], RELEASE, "SHA512", "");
    let verified = TrustedKeys::from_bytes(&gpg.export(&fpr))
        .unwrap()
        .verify_cleartext(&signed, now())
        .unwrap();
    assert_eq!(verified.signing_key, newer);
}

#[test]
fn secret_subkeys_without_the_primary_still_sign() {
    // `--export-secret-subkeys` leaves a stub for the primary key (offline primary).
    let gpg = Gpg::new();
    let fpr = gpg.gen_key(
        "Offline <offline@example.org>",
        "ed25519",
        "cert",
        "0",
        "pw",
    );
    let sub = gpg.add_subkey(&fpr, "ed25519", "sign", "0", "pw");
    let key = SigningKey::from_armored(&gpg.export_secret_subkeys(&fpr, "pw"), Some("pw")).unwrap();
    assert_eq!(key.signing_key_fingerprint(), sub);
    assert_gpgv_accepts(&gpg, &key);
}

#[test]
fn gpg_imports_our_secret_key_and_we_verify_what_it_signs() {
    for (kind, passphrase) in [(KeyKind::Ed25519, "pw"), (KeyKind::Rsa(3072), "")] {
        let gpg = Gpg::new();
        let key = SigningKey::generate("Ours <ours@example.org>", kind).unwrap();
        let secret = key.to_armored_secret(Some(passphrase)).unwrap();
        gpg.import(secret.as_bytes(), passphrase);
        assert_eq!(
            gpg.fingerprints(&key.fingerprint()),
            vec![key.fingerprint()]
        );
        let signed = gpg.clearsign(&[&key.fingerprint()], RELEASE, "SHA256", passphrase);
        let keys = TrustedKeys::from_bytes(key.public_key_armored().unwrap().as_bytes()).unwrap();
        let verified = keys.verify_cleartext(&signed, now()).unwrap();
        assert_eq!(verified.text, RELEASE);
        assert_eq!(verified.signer, key.fingerprint());
    }
}

#[test]
fn we_verify_gpg_clearsigned_and_detached_signatures() {
    let gpg = Gpg::new();
    for (algo, digest) in [
        ("ed25519", "SHA512"),
        ("rsa3072", "SHA256"),
        ("rsa4096", "SHA384"),
    ] {
        let fpr = gpg.gen_key(
            &format!("{algo} <{algo}@example.org>"),
            algo,
            "sign",
            "0",
            "",
        );
        for keyring in [gpg.export(&fpr), gpg.export_armored(&fpr).into_bytes()] {
            let keys = TrustedKeys::from_bytes(&keyring).unwrap();
            assert_eq!(keys.fingerprints(), vec![fpr.clone()]);

            let signed = gpg.clearsign(&[&fpr], RELEASE, digest, "");
            let verified = keys.verify_cleartext(&signed, now()).unwrap();
            assert_eq!(verified.text, RELEASE);
            assert_eq!(verified.signer, fpr);
            assert_eq!(verified.signing_key, fpr);

            for armor in [true, false] {
                let signature = gpg.detach_sign(&fpr, RELEASE.as_bytes(), armor, "");
                let verified = keys
                    .verify_detached(RELEASE.as_bytes(), &signature, now())
                    .unwrap();
                assert_eq!(verified.text, RELEASE);
                assert_eq!(verified.signer, fpr);
                let err = keys
                    .verify_detached(b"Origin: other\n", &signature, now())
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Verification);
                assert!(err.message().starts_with("bad signature"), "{err}");
            }
        }
    }
}

#[test]
fn several_signatures_one_good_from_a_trusted_key_is_enough() {
    let gpg = Gpg::new();
    let a = gpg.gen_key("A <a@example.org>", "ed25519", "sign", "0", "");
    let b = gpg.gen_key("B <b@example.org>", "rsa3072", "sign", "0", "");
    let c = gpg.gen_key("C <c@example.org>", "ed25519", "sign", "0", "");
    let signed = gpg.clearsign(&[&a, &b], RELEASE, "SHA512", "");
    for (trusted, signer) in [(&a, &a), (&b, &b)] {
        let keys = TrustedKeys::from_bytes(&gpg.export(trusted)).unwrap();
        let verified = keys.verify_cleartext(&signed, now()).unwrap();
        assert_eq!(&verified.signer, signer);
        assert_eq!(verified.text, RELEASE);
    }
    // Neither signer trusted: the error names both.
    let err = TrustedKeys::from_bytes(&gpg.export(&c))
        .unwrap()
        .verify_cleartext(&signed, now())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    for fpr in [&a, &b] {
        assert!(
            err.message().contains(&format!("unknown key {fpr}")),
            "{err}"
        );
    }
}

#[test]
fn one_bad_signature_by_a_trusted_key_fails_the_message() {
    let gpg = Gpg::new();
    let a = gpg.gen_key("A <a@example.org>", "ed25519", "sign", "0", "");
    let b = gpg.gen_key("B <b@example.org>", "ed25519", "sign", "0", "");
    // Two binary signature packets: A's over RELEASE, B's over other data.
    let mut signatures = gpg.detach_sign(&a, RELEASE.as_bytes(), false, "");
    signatures.extend(gpg.detach_sign(&b, b"other data\n", false, ""));

    let only_a = TrustedKeys::from_bytes(&gpg.export(&a)).unwrap();
    let verified = only_a
        .verify_detached(RELEASE.as_bytes(), &signatures, now())
        .unwrap();
    assert_eq!(verified.signer, a);

    let mut both = gpg.export(&a);
    both.extend(gpg.export(&b));
    let err = TrustedKeys::from_bytes(&both)
        .unwrap()
        .verify_detached(RELEASE.as_bytes(), &signatures, now())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(
        err.message()
            .starts_with(&format!("bad signature by key {b}")),
        "{err}"
    );
    // gpgv agrees.
    let files = [
        ("Release.gpg", &signatures[..]),
        ("Release", RELEASE.as_bytes()),
    ];
    gpg.gpgv(&both, &files)
        .expect_err("gpgv accepted a bad signature");
}

#[test]
fn too_many_signatures_is_a_limit() {
    let gpg = Gpg::new();
    let a = gpg.gen_key("A <a@example.org>", "ed25519", "sign", "0", "");
    let one = gpg.detach_sign(&a, RELEASE.as_bytes(), false, "");
    let keys = TrustedKeys::from_bytes(&gpg.export(&a)).unwrap();
    let many = one.repeat(MAX_SIGNATURES);
    keys.verify_detached(RELEASE.as_bytes(), &many, now())
        .unwrap();
    let too_many = one.repeat(MAX_SIGNATURES + 1);
    let err = keys
        .verify_detached(RELEASE.as_bytes(), &too_many, now())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn expired_key_signatures_are_rejected_after_the_expiry() {
    let gpg = Gpg::new();
    let fpr = gpg.gen_key("Short <short@example.org>", "ed25519", "sign", "1d", "");
    let signed = gpg.clearsign(&[&fpr], RELEASE, "SHA512", "");
    let keys = TrustedKeys::from_bytes(&gpg.export(&fpr)).unwrap();
    // Valid today; two days later the key has expired and so has the signature's worth.
    keys.verify_cleartext(&signed, now()).unwrap();
    let err = keys.verify_cleartext(&signed, now() + 2 * DAY).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(
        err.message().contains(&format!("key {fpr} expired on ")),
        "{err}"
    );

    // gpg extends the expiry: the same signature is good again then.
    gpg.set_expire(&fpr, "1y", &[], "");
    let keys = TrustedKeys::from_bytes(&gpg.export(&fpr)).unwrap();
    keys.verify_cleartext(&signed, now() + 2 * DAY).unwrap();
}

#[test]
fn expiry_is_read_past_newer_direct_key_signatures() {
    // Debian's keys carry direct-key signatures (naming designated revokers) newer
    // than the user ID's self-signature that sets the expiry: gpg makes the same.
    let gpg = Gpg::new();
    let revoker = gpg.gen_key("Revoker <revoker@example.org>", "ed25519", "sign", "0", "");
    let fpr = gpg.gen_key("Short <short@example.org>", "ed25519", "sign", "1d", "");
    let commands = format!("addrevoker\n{revoker}\ny\nsave\n");
    gpg.ok(
        "",
        &["--command-fd", "0", "--edit-key", &fpr],
        commands.as_bytes(),
    );
    let packets = gpg.ok("", &["--list-packets"], &gpg.export(&fpr));
    assert!(String::from_utf8_lossy(&packets).contains("sigclass 0x1f"));

    let signed = gpg.clearsign(&[&fpr], RELEASE, "SHA512", "");
    let keys = TrustedKeys::from_bytes(&gpg.export(&fpr)).unwrap();
    keys.verify_cleartext(&signed, now()).unwrap();
    let err = keys.verify_cleartext(&signed, now() + 2 * DAY).unwrap_err();
    assert!(
        err.message().contains(&format!("key {fpr} expired on ")),
        "{err}"
    );
}

#[test]
fn revocation_by_a_designated_revoker_counts_when_the_revoker_is_trusted() {
    let gpg = Gpg::new();
    let revoker = gpg.gen_key("Revoker <revoker@example.org>", "ed25519", "sign", "0", "");
    let fpr = gpg.gen_key("Revoked <revoked@example.org>", "ed25519", "sign", "0", "");
    let commands = format!("addrevoker\n{revoker}\ny\nsave\n");
    gpg.ok(
        "",
        &["--command-fd", "0", "--edit-key", &fpr],
        commands.as_bytes(),
    );
    let signature = gpg.detach_sign(&fpr, RELEASE.as_bytes(), true, "");
    // gpg refuses --desig-revoke in batch mode: answer its questions on fd 0.
    let out = Command::new("gpg")
        .env("GNUPGHOME", gpg.home())
        .args([
            "--yes",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(["--command-fd", "0", "--armor", "--desig-revoke", &fpr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"y\n0\n\ny\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    gpg.import(&out.stdout, "");

    let mut both = gpg.export(&fpr);
    both.extend(gpg.export(&revoker));
    let err = TrustedKeys::from_bytes(&both)
        .unwrap()
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap_err();
    assert!(
        err.message().contains(&format!("key {fpr} is revoked")),
        "{err}"
    );
    let files = [
        ("Release.gpg", &signature[..]),
        ("Release", RELEASE.as_bytes()),
    ];
    let gpgv = gpg.gpgv(&both, &files);
    assert!(
        gpgv.as_ref()
            .map_or(true, |status| status.contains("REVKEYSIG")),
        "gpgv does not see the revocation: {gpgv:?}"
    );
    // Without the revoker's key, the revocation cannot be checked (as in gpgv).
    TrustedKeys::from_bytes(&gpg.export(&fpr))
        .unwrap()
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap();
}

#[test]
fn expired_signing_subkey_is_rejected() {
    let gpg = Gpg::new();
    let fpr = gpg.gen_key("Sub <sub@example.org>", "ed25519", "cert", "0", "");
    let sub = gpg.add_subkey(&fpr, "ed25519", "sign", "1d", "");
    let signature = gpg.detach_sign(&sub, RELEASE.as_bytes(), true, "");
    let keys = TrustedKeys::from_bytes(&gpg.export(&fpr)).unwrap();
    let verified = keys
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap();
    assert_eq!(verified.signing_key, sub);
    let err = keys
        .verify_detached(RELEASE.as_bytes(), &signature, now() + 2 * DAY)
        .unwrap_err();
    assert!(
        err.message()
            .contains(&format!("(subkey {sub}): subkey {sub} expired on ")),
        "{err}"
    );
}

#[test]
fn key_that_has_already_expired_cannot_sign_nor_verify() {
    let gpg = Gpg::new();
    // Made in 2020 with a one-day lifetime.
    let old = ["--faked-system-time", "20200101T000000!"];
    gpg.ok(
        "",
        &[
            &old[..],
            &[
                "--quick-gen-key",
                "Old <old@example.org>",
                "ed25519",
                "sign",
                "1d",
            ],
        ]
        .concat(),
        b"",
    );
    let fpr = gpg.fingerprints("Old")[0].clone();
    let signature = gpg.ok(
        "",
        &[&old[..], &["-u", &fpr, "--detach-sign", "--armor"]].concat(),
        RELEASE.as_bytes(),
    );

    let err = SigningKey::from_armored(&gpg.export_secret(&fpr, ""), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().starts_with(&format!("key {fpr} expired on ")),
        "{err}"
    );

    let err = TrustedKeys::from_bytes(&gpg.export(&fpr))
        .unwrap()
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.message().contains("expired"), "{err}");
}

#[test]
fn revoked_key_is_rejected_for_signing_and_verifying() {
    let gpg = Gpg::new();
    let fpr = gpg.gen_key("Revoked <revoked@example.org>", "ed25519", "sign", "0", "");
    let signature = gpg.detach_sign(&fpr, RELEASE.as_bytes(), true, "");
    let before = TrustedKeys::from_bytes(&gpg.export(&fpr)).unwrap();
    before
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap();

    gpg.revoke_key(&fpr);
    let keyring = gpg.export(&fpr);
    let err = TrustedKeys::from_bytes(&keyring)
        .unwrap()
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(
        err.message().contains(&format!("key {fpr} is revoked")),
        "{err}"
    );
    let files = [
        ("Release.gpg", &signature[..]),
        ("Release", RELEASE.as_bytes()),
    ];
    let gpgv = gpg.gpgv(&keyring, &files);
    assert!(
        gpgv.as_ref()
            .map_or(true, |status| status.contains("REVKEYSIG")),
        "gpgv does not see the revocation either: {gpgv:?}"
    );

    let err = SigningKey::from_armored(&gpg.export_secret(&fpr, ""), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.message(), format!("key {fpr} is revoked"));
}

#[test]
fn revoked_signing_subkey_is_rejected_and_not_chosen() {
    let gpg = Gpg::new();
    let fpr = gpg.gen_key("Subs <subs@example.org>", "ed25519", "cert", "0", "pw");
    let first = gpg.add_subkey(&fpr, "ed25519", "sign", "0", "pw");
    let second = gpg.add_subkey(&fpr, "rsa3072", "sign", "0", "pw");
    let signature = gpg.detach_sign(&second, RELEASE.as_bytes(), false, "pw");

    gpg.revoke_subkey(&fpr, 2, "pw");
    let err = TrustedKeys::from_bytes(&gpg.export(&fpr))
        .unwrap()
        .verify_detached(RELEASE.as_bytes(), &signature, now())
        .unwrap_err();
    assert!(
        err.message()
            .contains(&format!("(subkey {second}): subkey {second} is revoked")),
        "{err}"
    );
    // Signing falls back on the subkey that is still valid.
    let key = SigningKey::from_armored(&gpg.export_secret(&fpr, "pw"), Some("pw")).unwrap();
    assert_eq!(key.signing_key_fingerprint(), first);
}

#[test]
fn gpg_keys_that_cannot_be_used_to_sign() {
    let gpg = Gpg::new();
    // Wrong or missing passphrase.
    let fpr = gpg.gen_key("Pw <pw@example.org>", "ed25519", "sign", "0", "right");
    let secret = gpg.export_secret(&fpr, "right");
    let err = SigningKey::from_armored(&secret, Some("wrong")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.message(), format!("wrong passphrase for key {fpr}"));
    let err = SigningKey::from_armored(&secret, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("passphrase"), "{err}");
    // A public key.
    let err = SigningKey::from_armored(&gpg.export_armored(&fpr), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().starts_with("not an OpenPGP secret key"),
        "{err}"
    );
    // A key that only certifies, with an encryption subkey.
    let cert_only = gpg.gen_key("Cert <cert@example.org>", "ed25519", "cert", "0", "");
    gpg.add_subkey(&cert_only, "cv25519", "encr", "0", "");
    let err = SigningKey::from_armored(&gpg.export_secret(&cert_only, ""), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message()
            .starts_with(&format!("key {cert_only} cannot sign: ")),
        "{err}"
    );
    // RSA below 3072 bits: not for signing, though its signatures are still accepted.
    let small = gpg.gen_key("Small <small@example.org>", "rsa2048", "sign", "0", "");
    let err = SigningKey::from_armored(&gpg.export_secret(&small, ""), None).unwrap_err();
    assert!(err.message().contains("2048 bits"), "{err}");
    let signed = gpg.clearsign(&[&small], RELEASE, "SHA256", "");
    TrustedKeys::from_bytes(&gpg.export(&small))
        .unwrap()
        .verify_cleartext(&signed, now())
        .unwrap();
}

#[test]
fn weak_hash_signatures_are_rejected() {
    let gpg = Gpg::new();
    let fpr = gpg.gen_key("Rsa <rsa@example.org>", "rsa3072", "sign", "0", "");
    let keys = TrustedKeys::from_bytes(&gpg.export(&fpr)).unwrap();
    let signed = gpg.clearsign(&[&fpr], RELEASE, "SHA1", "");
    let err = keys.verify_cleartext(&signed, now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.message().contains("weak"), "{err}");
}
