//! Notifications: what the publisher and the updater did, and what Amazon SNS
//! reports about the fleet, as Slack messages posted to an incoming webhook.
//!
//! - [`Message`] (slack.rs): the message and its incoming-webhook JSON;
//!   constructors for publish, promote, remove, prune and the updater's
//!   [`Event`](crate::client::Event).
//! - [`Webhook`] (webhook.rs): posts JSON with a timeout and retries.
//! - [`sns_to_slack`] (sns.rs): an SNS notification (Auto Scaling, CloudWatch
//!   alarm) as a [`Message`].
//! - [`Notifier`] (here): a webhook for the publisher and the updater. Given
//!   as [`RepositoryOptions::notifier`](crate::repo::RepositoryOptions::notifier),
//!   every successful publish (something added or replaced, or found
//!   unchanged), promote, rollback ([`Repository::rollback`](crate::repo::Repository::rollback)),
//!   phase (a rollout's percentage changed), remove and prune (something
//!   removed) is posted; as
//!   [`UpdaterOptions::notifier`](crate::client::UpdaterOptions::notifier),
//!   every update run that updated, failed or rolled back. Runs that found
//!   the package up to date, were skipped or held back post nothing: every
//!   server checks every minute. A lasting failure (the repository down, an
//!   expired Release) is posted once, again after 1 h, 4 h, then daily, and
//!   its end once ("recovered"; see `client/notify.rs`).
//!
//! What posts: publish (`:white_check_mark:` added, `:arrows_counterclockwise:`
//! replaced, `:bar_chart:` rollout changed, `:information_source:`
//! unchanged), promote (`:arrow_up:`; `:leftwards_arrow_with_hook:` a
//! repository rollback, higher versions demoted), phase (`:bar_chart:`,
//! `:white_check_mark:` complete), remove (`:wastebasket:`), prune
//! (`:broom:`); the updater: updated or downgraded (`:white_check_mark:`),
//! failed (`:x:`), a host's failed install rolled back (`:rewind:`),
//! recovered (`:large_green_circle:`).
//!
//! **A failed post never fails the deploy.** The operation has happened when
//! the post is tried: its result is returned whatever the post does. The
//! failure is printed as one line on stderr (`debpull: notification not
//! sent: ...`, unless [`Notifier::set_warnings`] turned that off) and kept
//! in [`Notifier::report`] for the caller to inspect. The post happens
//! before the operation returns, so it adds at most
//! [`WebhookOptions::deadline`] (default 15 s: every attempt, backoff and
//! `Retry-After` wait included) when the webhook does not answer; lower it
//! for a tight deploy.
//!
//! A run of the updater cancelled before its end (dropped) posts nothing for
//! the cancellation; a run cancelled after its installer started posts its
//! real outcome from the install task, if the runtime lives long enough.

mod slack;
mod sns;
mod webhook;

pub use slack::{Message, escape, format_duration};
pub use sns::{MAX_SNS_SIZE, sns_to_slack};
pub use webhook::{MAX_WEBHOOK_RETRIES, MAX_WEBHOOK_WAIT, Webhook, WebhookOptions};

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// What a [`Notifier`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Messages posted.
    pub sent: u64,
    /// Messages that could not be posted.
    pub failed: u64,
    /// The last failure's message, if any post failed.
    pub last_error: Option<String>,
    /// The last failure's kind, if any post failed.
    pub last_error_kind: Option<crate::ErrorKind>,
}

/// A webhook whose failures are warnings, not errors: what the publisher and
/// the updater post through. Clones share their [`NotifyReport`].
#[derive(Clone)]
pub struct Notifier {
    webhook: Webhook,
    report: Arc<Mutex<NotifyReport>>,
    warnings: Arc<std::sync::atomic::AtomicBool>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("webhook", &self.webhook)
            .field("report", &self.report())
            .finish()
    }
}

impl Notifier {
    /// A notifier posting to the webhook of `options` (see [`Webhook::new`]
    /// for what is checked).
    pub fn new(options: WebhookOptions) -> Result<Notifier> {
        Ok(Notifier::from_webhook(Webhook::new(options)?))
    }

    /// A notifier posting to `webhook`.
    pub fn from_webhook(webhook: Webhook) -> Notifier {
        Notifier {
            webhook,
            report: Arc::new(Mutex::new(NotifyReport::default())),
            warnings: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    /// The webhook.
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// Whether a failed post is printed on stderr (default true).
    pub fn set_warnings(&self, on: bool) {
        self.warnings
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Posts `message`. Never fails: a failure is counted, kept in
    /// [`Notifier::report`], printed on stderr as one line, and returned
    /// for a caller that wants it (`None`: it was posted).
    pub async fn notify(&self, message: &Message) -> Option<Error> {
        let error = self.post_json(message.to_json()).await.err()?;
        if self.warnings.load(std::sync::atomic::Ordering::Relaxed) {
            let line: String = error
                .to_string()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            eprintln!("debpull: notification not sent: {line}");
        }
        Some(error)
    }

    /// Posts a JSON body (Slack's incoming-webhook payload, e.g. from
    /// [`sns_to_slack`]) and returns the attempts it took, or the error (an
    /// explicit post: nothing is printed). Either way it is counted in
    /// [`Notifier::report`].
    pub async fn post_json(&self, json: impl Into<bytes::Bytes>) -> Result<u32> {
        let result = self.webhook.post_json(json).await;
        let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => report.sent += 1,
            Err(error) => {
                report.failed += 1;
                report.last_error = Some(error.to_string());
                report.last_error_kind = Some(error.kind());
            }
        }
        result
    }

    /// What it has done so far (shared by its clones).
    pub fn report(&self) -> NotifyReport {
        self.report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
