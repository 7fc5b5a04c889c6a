//! Notifications (`debpull_notifier_*`, `debpull_message_*`,
//! `debpull_sns_to_slack`): a Slack webhook that repositories and updaters
//! post to (`debpull_repository_options_set_notifier`,
//! `debpull_updater_options_set_notifier`), and Slack messages made from
//! Amazon SNS notifications.

use std::ffi::{CString, c_char};

use debpull::notify::{Notifier, WebhookOptions, sns_to_slack};
use debpull::{Error, ErrorKind};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};
use crate::run;

/// A Slack webhook that repositories and updaters post to. A failed post
/// never fails their operation: it is a one-line warning on stderr and is
/// counted (`debpull_notifier_failed`). Safe to share between threads;
/// options given it share its counters. Created by `debpull_notifier_new`,
/// freed with `debpull_notifier_free` (options it was given keep their own
/// reference).
pub struct DebpullNotifier {
    pub(crate) notifier: Notifier,
}

/// A Slack message (incoming-webhook JSON). Immutable: safe to share between
/// threads. Made by `debpull_sns_to_slack`, freed with `debpull_message_free`.
pub struct DebpullMessage {
    /// The JSON, rendered once.
    json: CString,
    headline: CString,
}

/// A new notifier posting to `webhook_url` (`https://hooks.slack.com/...`
/// or `http://`), each attempt given `timeout_seconds` (1 to 3600; 0 is
/// refused), retried up to `retries` times (0 to 10) on network failures,
/// timeouts, 5xx and 429 (after its Retry-After, up to 30 s), the whole post
/// taking at most 15 s (or `timeout_seconds` when longer), written to
/// `*out` (owned by the caller: `debpull_notifier_free`). Borrows
/// `webhook_url`; a URL that is not http(s) with a host is
/// `DEBPULL_STATUS_INVALID_INPUT` (messages never show its secret path).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_new(
    webhook_url: *const c_char,
    timeout_seconds: u64,
    retries: u32,
    out: *mut *mut DebpullNotifier,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let url = unsafe { args::non_empty_str(webhook_url, "webhook_url") }?;
        args::out(out, "out")?;
        let mut options = WebhookOptions::new(url);
        // The limits are checked by Notifier::new (naming the option).
        options.timeout = std::time::Duration::from_secs(timeout_seconds);
        options.deadline = options.deadline.max(options.timeout);
        options.retries = retries;
        let notifier = DebpullNotifier {
            notifier: Notifier::new(options)?,
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(notifier)) };
        Ok(())
    })
}

/// Whether a failed post is written to stderr (the default: yes).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_set_warnings(
    notifier: *const DebpullNotifier,
    on: bool,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live notifier from debpull.
        let notifier = unsafe { args::borrow(notifier, "notifier") }?;
        notifier.notifier.set_warnings(on);
        Ok(())
    })
}

/// Posts `message` to the notifier's webhook, with its timeout and retries.
/// Unlike the posts of repositories and updaters, a failure is this call's
/// error (`DEBPULL_STATUS_STORAGE`: the status or network failure and the
/// attempts made), not a warning on stderr; it is counted as well. Blocks.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_post(
    notifier: *const DebpullNotifier,
    message: *const DebpullMessage,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or live handles from debpull.
        let (notifier, message) = unsafe {
            (
                args::borrow(notifier, "notifier")?,
                args::borrow(message, "message")?,
            )
        };
        let notifier = notifier.notifier.clone();
        // The JSON rendered when the message was made, not rendered again.
        let json = message.json.as_bytes().to_vec();
        run::block_on(async move { notifier.post_json(json).await.map(|_| ()) })
    })
}

/// How many messages the notifier (and the options given it) posted. 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_sent(notifier: *const DebpullNotifier) -> u64 {
    args::read(notifier, 0, |n| n.notifier.report().sent)
}

/// How many messages could not be posted. 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_failed(notifier: *const DebpullNotifier) -> u64 {
    args::read(notifier, 0, |n| n.notifier.report().failed)
}

/// The last post of the notifier (or of the options given it) that failed,
/// as a new error owned by the caller (`debpull_error_free`): its status
/// (`DEBPULL_STATUS_STORAGE`: the network failed or the webhook refused)
/// and message (`debpull_error_message`, which never shows the webhook's
/// secret path), valid until that error is freed, whatever the notifier
/// does meanwhile. A copy, not a string lent by the notifier: another
/// thread's failed post may replace its last error at any time. NULL when
/// no post has failed, and for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_last_error(
    notifier: *const DebpullNotifier,
) -> *mut DebpullError {
    guard(std::ptr::null_mut(), || {
        // SAFETY: accessors take NULL or a live handle from debpull.
        let Some(notifier) = (unsafe { notifier.as_ref() }) else {
            return std::ptr::null_mut();
        };
        let report = notifier.notifier.report();
        match (report.last_error, report.last_error_kind) {
            (Some(message), kind) => {
                // Both are set together: never Internal.
                let status = kind.map_or(DebpullStatus::Internal, DebpullStatus::from);
                Box::into_raw(Box::new(DebpullError::new(status, &message)))
            }
            (None, _) => std::ptr::null_mut(),
        }
    })
}

/// Frees `notifier`. NULL is fine. Options it was given keep posting.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_notifier_free(notifier: *mut DebpullNotifier) {
    // SAFETY: NULL or a notifier from debpull, not used again.
    guard((), || unsafe { args::free(notifier) })
}

/// Turns an Amazon SNS notification (`len` bytes of JSON at `json`: the
/// HTTP form with `"Type": "Notification"`, or a Lambda event with one
/// `Records` entry) whose `Message` is an EC2 Auto Scaling notification
/// (launch, terminate, launch or terminate error, test) or a CloudWatch
/// alarm state change into a Slack message saying what happened and why,
/// written to `*out` (owned by the caller: `debpull_message_free`).
/// Input that is not JSON, a `Message` that is not JSON, a missing or
/// mistyped field: `DEBPULL_STATUS_PARSE` naming the field; a non-notification,
/// an unknown event or state: `DEBPULL_STATUS_INVALID_INPUT`; over 1 MiB:
/// `DEBPULL_STATUS_LIMIT_EXCEEDED`. Borrows `json`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_sns_to_slack(
    json: *const u8,
    len: usize,
    out: *mut *mut DebpullMessage,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or `len` readable bytes.
        let bytes = unsafe { args::bytes(json, len, "json") }?;
        args::out(out, "out")?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("json is not UTF-8 (byte {})", e.valid_up_to()),
            )
        })?;
        let message = sns_to_slack(text)?;
        let handle = DebpullMessage {
            json: args::text(&message.to_json()),
            headline: args::text(&message.headline()),
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(handle)) };
        Ok(())
    })
}

/// The message as Slack incoming-webhook JSON (`{"text": ..., "blocks":
/// [...]}`), borrowed from `message`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_message_json(message: *const DebpullMessage) -> *const c_char {
    args::read(message, std::ptr::null(), |m| m.json.as_ptr())
}

/// The message's headline with its emoji code, unescaped (`:rocket:
/// Instance i-0123 launched in web`), borrowed from `message`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_message_headline(message: *const DebpullMessage) -> *const c_char {
    args::read(message, std::ptr::null(), |m| m.headline.as_ptr())
}

/// Frees `message`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_message_free(message: *mut DebpullMessage) {
    // SAFETY: NULL or a message from debpull, not used again.
    guard((), || unsafe { args::free(message) })
}
