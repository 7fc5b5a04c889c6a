//! How a repository is opened (`debpull_repository_options_*`): its signing
//! key, the Release fields of new suites, adopted keys, S3 region and endpoint.

use std::ffi::c_char;

use debpull::repo::RepositoryOptions;
use debpull::sign::{SigningKey, TrustedKeys};
use debpull::storage::OpenOptions;
use debpull::{Error, ErrorKind};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};

/// Options for `debpull_repository_open`, set one by one. No setter may run
/// while another thread uses the same options (opens from several threads at
/// once are fine).
/// Made by `debpull_repository_options_new`, freed with
/// `debpull_repository_options_free`.
pub struct DebpullRepositoryOptions {
    key: Option<SigningKey>,
    options: RepositoryOptions,
    open: OpenOptions,
}

impl DebpullRepositoryOptions {
    /// The key (required), the repository's options and the storage's.
    pub(crate) fn parts(&self) -> debpull::Result<(&SigningKey, &RepositoryOptions, &OpenOptions)> {
        let key = self.key.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "options: no signing key set (debpull_repository_options_set_signing_key)",
            )
        })?;
        Ok((key, &self.options, &self.open))
    }
}

/// Writes new options to `*out` (no signing key yet; Origin and Label
/// "debpull", no Valid-Until, default architecture amd64), owned by the
/// caller (`debpull_repository_options_free`).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_new(
    out: *mut *mut DebpullRepositoryOptions,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        args::out(out, "out")?;
        let options = DebpullRepositoryOptions {
            key: None,
            options: RepositoryOptions::default(),
            open: OpenOptions::default(),
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(options)) };
        Ok(())
    })
}

/// Runs `set` on the options `options` points to, after its arguments were read.
fn with_options(
    options: *mut DebpullRepositoryOptions,
    set: impl FnOnce(&mut DebpullRepositoryOptions) -> debpull::Result<()>,
) -> debpull::Result<()> {
    // SAFETY: NULL or live options from debpull, not used by another thread now.
    let options = unsafe { args::borrow_mut(options, "options") }?;
    set(options)
}

/// Sets the key that signs: an ASCII-armored OpenPGP secret key (`gpg
/// --export-secret-keys --armor`), unlocked with `passphrase` (NULL or "" for
/// none). Read at once: text that is not a secret key, a wrong or missing
/// passphrase, or a key that cannot sign is `DEBPULL_STATUS_INVALID_INPUT`
/// saying which, and leaves the options as they were. Borrows both strings.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_signing_key(
    options: *mut DebpullRepositoryOptions,
    armored_secret_key: *const c_char,
    passphrase: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or NUL-terminated strings.
        let (text, passphrase) = unsafe {
            (
                args::non_empty_str(armored_secret_key, "armored_secret_key")?,
                args::opt_str(passphrase, "passphrase")?,
            )
        };
        with_options(options, |o| {
            o.key = Some(SigningKey::from_armored(text, passphrase)?);
            Ok(())
        })
    })
}

/// Sets a text option from a non-empty, single-line string.
fn set_text(
    options: *mut DebpullRepositoryOptions,
    value: *const c_char,
    name: &str,
    set: impl FnOnce(&mut DebpullRepositoryOptions, String),
) -> debpull::Result<()> {
    // SAFETY: NULL or a NUL-terminated string.
    let value = unsafe { args::non_empty_str(value, name) }?;
    if value.contains(['\n', '\r']) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{name} holds a line break"),
        ));
    }
    with_options(options, |o| {
        set(o, value.to_owned());
        Ok(())
    })
}

/// Sets the `Origin` of new suites (an existing suite keeps its own).
/// Borrows `origin`; empty or several lines is `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_origin(
    options: *mut DebpullRepositoryOptions,
    origin: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        set_text(options, origin, "origin", |o, v| o.options.origin = v)
    })
}

/// Sets the `Label` of new suites (an existing suite keeps its own).
/// Borrows `label`; empty or several lines is `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_label(
    options: *mut DebpullRepositoryOptions,
    label: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        set_text(options, label, "label", |o, v| o.options.label = v)
    })
}

/// Sets the `Description` of every Release written. Borrows `description`;
/// empty or several lines is `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_description(
    options: *mut DebpullRepositoryOptions,
    description: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        set_text(options, description, "description", |o, v| {
            o.options.description = Some(v)
        })
    })
}

/// Makes every Release valid for `seconds` (`Valid-Until` = `Date` + it;
/// from 1 second to 10 years). Unset: valid forever.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_valid_for(
    options: *mut DebpullRepositoryOptions,
    seconds: u64,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        if seconds == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "valid_for: 0 seconds (a Release valid for no time at all)",
            ));
        }
        let valid_for = args::seconds(seconds, "valid_for")?;
        with_options(options, |o| {
            o.options.valid_for = Some(valid_for);
            Ok(())
        })
    })
}

/// Sets the architectures a suite gets when its first package is `all`
/// (`count` strings at `archs`, at least one; checked by
/// `debpull_repository_open`). Borrows the strings.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_default_architectures(
    options: *mut DebpullRepositoryOptions,
    archs: *const *const c_char,
    count: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or `count` NUL-terminated strings.
        let archs = unsafe { args::str_array(archs, count, "archs") }?;
        if archs.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "archs: at least one architecture is needed",
            ));
        }
        with_options(options, |o| {
            o.options.default_architectures = archs.into_iter().map(str::to_owned).collect();
            Ok(())
        })
    })
}

/// Trusts the OpenPGP public keys in the `len` bytes at `keys` (armored or
/// binary) to have signed suites another tool (aptly) published, so that
/// debpull takes them over. Read at once: keys that do not parse are
/// `DEBPULL_STATUS_INVALID_INPUT` (or `_PARSE`), more than 64 MiB
/// `DEBPULL_STATUS_LIMIT_EXCEEDED`. Borrows `keys`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_adopt_keys(
    options: *mut DebpullRepositoryOptions,
    keys: *const u8,
    len: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or `len` readable bytes.
        let keys = unsafe { args::bytes(keys, len, "keys") }?;
        if keys.is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "keys: no key given"));
        }
        let keys = TrustedKeys::from_bytes(keys)?;
        with_options(options, |o| {
            o.options.adopt_keys = Some(keys);
            Ok(())
        })
    })
}

/// Sets the S3 region, instead of the URI's (`s3://` URIs only: another
/// scheme refuses it at `debpull_repository_open`). Borrows `region`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_region(
    options: *mut DebpullRepositoryOptions,
    region: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        set_text(options, region, "region", |o, v| o.open.region = Some(v))
    })
}

/// Sets an S3-compatible endpoint URL (`http://127.0.0.1:9000`), instead of
/// the URI's; it implies path-style addressing (`s3://` URIs only: another
/// scheme refuses it at `debpull_repository_open`). Borrows `endpoint`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_endpoint(
    options: *mut DebpullRepositoryOptions,
    endpoint: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        set_text(options, endpoint, "endpoint", |o, v| {
            o.open.endpoint = Some(v)
        })
    })
}

/// Frees `options`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_free(options: *mut DebpullRepositoryOptions) {
    // SAFETY: NULL or options from debpull, not used again.
    guard((), || unsafe { args::free(options) })
}

/// Posts a Slack message after every successful publish, promote, remove
/// and prune of repositories opened with these options (see
/// `debpull_notifier_new`; a failed post never fails them). The options
/// keep their own reference: `notifier` may be freed after.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_options_set_notifier(
    options: *mut DebpullRepositoryOptions,
    notifier: *const crate::notify::DebpullNotifier,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live notifier from debpull.
        let notifier = unsafe { args::borrow(notifier, "notifier") }?;
        with_options(options, |o| {
            o.options.notifier = Some(notifier.notifier.clone());
            Ok(())
        })
    })
}
