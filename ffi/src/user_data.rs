//! First-boot provisioning (`debpull_user_data_*`): the EC2 user-data script
//! that installs the tool and the app on a new server, and its options
//! (`debpull_user_data_options_*`).

use std::ffi::{CString, c_char};

use debpull::client::{Installer, Policy};
use debpull::provision::{Schedule, UserData};
use debpull::{Error, ErrorKind};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};

/// The options of a user-data script, set one by one, then given to
/// `debpull_user_data_generate`. Not for several threads at once. Created by
/// `debpull_user_data_options_new`, freed with `debpull_user_data_options_free`.
pub struct DebpullUserDataOptions {
    options: UserData,
}

/// A generated user-data script: its text (`debpull_user_data_text`) lives
/// as long as the handle. Immutable: usable from several threads at once.
/// Freed with `debpull_user_data_free`.
pub struct DebpullUserData {
    text: CString,
    len: usize,
}

/// Runs `set` on the options `options` points to (NULL: an error).
fn with_options(
    options: *mut DebpullUserDataOptions,
    error: *mut *mut DebpullError,
    set: impl FnOnce(&mut UserData) -> debpull::Result<()>,
) -> DebpullStatus {
    args::edit(options, error, |o| set(&mut o.options))
}

/// New options for a server that keeps `package` current from `repository`
/// (`s3://bucket/prefix`, `https://...`, `file:///...`), trusting the
/// `key_len` bytes at `trusted_key` (armored or binary public keys; copied);
/// written to `*out` (owned by the caller: `debpull_user_data_options_free`).
/// Defaults: suite `production`, component `main`, installer `dpkg`, policy
/// `upgrade-only`, schedule `auto`, tool package `debpull-update`, 5 tries 5 s
/// apart, jitter 20 s. The values are checked by `debpull_user_data_generate`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_new(
    repository: *const c_char,
    package: *const c_char,
    trusted_key: *const u8,
    key_len: usize,
    out: *mut *mut DebpullUserDataOptions,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let repository = unsafe { args::non_empty_str(repository, "repository") }?;
        // SAFETY: as above.
        let package = unsafe { args::non_empty_str(package, "package") }?;
        // SAFETY: the caller passes NULL or `key_len` readable bytes.
        let key = unsafe { args::bytes(trusted_key, key_len, "trusted_key") }?;
        args::out(out, "out")?;
        let options = DebpullUserDataOptions {
            options: UserData::new(repository, package, key),
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(options)) };
        Ok(())
    })
}

/// Sets the suite (default `"production"`). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_suite(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "suite") }?;
        o.suite = v.to_owned();
        Ok(())
    })
}

/// Sets the component (default `"main"`). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_component(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "component") }?;
        o.component = v.to_owned();
        Ok(())
    })
}

/// Sets the S3 region (required for `s3://` unless the URI has `region=`). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_region(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "region") }?;
        o.region = Some(v.to_owned());
        Ok(())
    })
}

/// Sets an S3-compatible endpoint URL (path-style addressing). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_endpoint(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "endpoint") }?;
        o.endpoint = Some(v.to_owned());
        Ok(())
    })
}

/// Sets the name of the package that has the tool (default `"debpull-update"`). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_tool_package(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "tool_package") }?;
        o.tool_package = v.to_owned();
        Ok(())
    })
}

/// Sets the installer: `"dpkg"` (default) or `"apt"`; anything else is
/// `DEBPULL_STATUS_INVALID_INPUT` (a command:
/// `debpull_user_data_options_set_installer_command`). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_installer(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "installer") }?;
        o.installer = match v {
            "dpkg" => Installer::Dpkg,
            "apt" => Installer::Apt,
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("installer {other:?} is not known: \"dpkg\" or \"apt\""),
                ));
            }
        };
        Ok(())
    })
}

/// Sets the policy: `"upgrade-only"` (default) or `"follow-repository"`. Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_policy(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "policy") }?;
        o.policy = match v {
            "upgrade-only" => Policy::UpgradeOnly,
            "follow-repository" => Policy::FollowRepository,
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "policy {other:?} is not known: \"upgrade-only\" or \"follow-repository\""
                    ),
                ));
            }
        };
        Ok(())
    })
}

/// Sets how the every-minute job is installed: `"cron"`, `"systemd"` or
/// `"auto"` (default: systemd when it runs). Borrows `value` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_schedule(
    options: *mut DebpullUserDataOptions,
    value: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let v = unsafe { args::str(value, "schedule") }?;
        o.schedule = Schedule::from_name(v)?;
        Ok(())
    })
}

/// Reads `argc` strings at `argv` (copied); NULL with 0 is an empty list.
///
/// # Safety
/// As [`args::str_array`].
unsafe fn strings(
    argv: *const *const c_char,
    argc: usize,
    name: &str,
) -> debpull::Result<Vec<String>> {
    // SAFETY: the caller's promise.
    let argv = unsafe { args::str_array(argv, argc, name) }?;
    Ok(argv.into_iter().map(str::to_owned).collect())
}

/// Sets the health check, a command run after each install (`argc` strings at
/// `argv`, copied; 0 removes it). No argument may hold blanks.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_health_check(
    options: *mut DebpullUserDataOptions,
    argv: *const *const c_char,
    argc: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes NULL with 0, or `argc` strings.
        o.health_check = unsafe { strings(argv, argc, "argv") }?;
        Ok(())
    })
}

/// Sets a command as the installer (`argc` strings at `argv`, copied, at
/// least the program); the `.deb`'s path is appended to it.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_installer_command(
    options: *mut DebpullUserDataOptions,
    argv: *const *const c_char,
    argc: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes NULL with 0, or `argc` strings.
        let argv = unsafe { strings(argv, argc, "argv") }?;
        if argv.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "argv is empty: a command needs at least its program",
            ));
        }
        o.installer = Installer::Command(argv);
        Ok(())
    })
}

/// Sets how many times downloads and the first run of the tool are tried (1
/// to 100, default 5) and the seconds before the first retry (0 to 600,
/// default 5; the wait grows linearly).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_retries(
    options: *mut DebpullUserDataOptions,
    tries: u32,
    delay_seconds: u32,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        if !(1..=100).contains(&tries) || delay_seconds > 600 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "retries: {tries} tries {delay_seconds} s apart; 1 to 100 tries, 0 to 600 s"
                ),
            ));
        }
        o.retries = tries;
        o.retry_delay_secs = delay_seconds;
        Ok(())
    })
}

/// Sets the most seconds of random delay before each run of the server's tool
/// (`jitter` in its configuration): 0 to 50 (the job runs every minute),
/// default 20, so that the fleet does not reach the repository in the same
/// second.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_jitter(
    options: *mut DebpullUserDataOptions,
    seconds: u32,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        if seconds > debpull::provision::MAX_JITTER_SECS {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "jitter: {seconds} s; 0 to {} s (the job runs every minute)",
                    debpull::provision::MAX_JITTER_SECS
                ),
            ));
        }
        o.jitter_secs = seconds;
        Ok(())
    })
}

/// Sets the Slack incoming-webhook URL the server's tool posts to
/// (`slack-webhook` in its configuration, which the script writes mode 0600),
/// the seconds per post attempt (1 to 3600; the tool's default is 10) and the
/// retries of a failed post (0 to 10; default 3). Borrows `url` (copied);
/// checked by `debpull_user_data_generate`. The URL is a secret the user-data
/// carries in clear: readable through the instance metadata service and
/// `ec2:DescribeInstanceAttribute`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_set_slack_webhook(
    options: *mut DebpullUserDataOptions,
    url: *const c_char,
    timeout_seconds: u32,
    retries: u32,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |o| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let url = unsafe { args::non_empty_str(url, "url") }?;
        if !(1..=3600).contains(&timeout_seconds) || retries > 10 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "slack webhook: timeout {timeout_seconds} s, {retries} retries; 1 to 3600 s, 0 to 10 retries"
                ),
            ));
        }
        o.slack_webhook = Some(url.to_owned());
        o.notify_timeout_secs = timeout_seconds;
        o.notify_retries = retries;
        Ok(())
    })
}

/// Frees options (NULL is fine).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_options_free(options: *mut DebpullUserDataOptions) {
    // SAFETY: NULL or owned options from debpull, not used again.
    guard((), || unsafe { args::free(options) })
}

/// Generates the script (`#!/bin/sh`) from `options` (borrowed), written to
/// `*out` (owned by the caller: `debpull_user_data_free`). Every value is
/// checked: one the script cannot carry safely is
/// `DEBPULL_STATUS_INVALID_INPUT` naming the setting; a trusted key that is
/// not one, `DEBPULL_STATUS_PARSE`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_generate(
    options: *const DebpullUserDataOptions,
    out: *mut *mut DebpullUserData,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or live options from debpull.
        let options = unsafe { args::borrow(options, "options") }?;
        args::out(out, "out")?;
        let script = options.options.script()?;
        let len = script.len();
        let text = args::c_string(&script, "the script")?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(DebpullUserData { text, len })) };
        Ok(())
    })
}

/// The script, NUL-terminated, borrowed from `user_data`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_text(user_data: *const DebpullUserData) -> *const c_char {
    args::read(user_data, std::ptr::null(), |u| u.text.as_ptr())
}

/// The script's length in bytes (without the NUL). 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_len(user_data: *const DebpullUserData) -> usize {
    args::read(user_data, 0, |u| u.len)
}

/// Frees a script (NULL is fine).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_user_data_free(user_data: *mut DebpullUserData) {
    // SAFETY: NULL or an owned script from debpull, not used again.
    guard((), || unsafe { args::free(user_data) })
}
