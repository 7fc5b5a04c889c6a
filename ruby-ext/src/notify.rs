//! `Debpull::Notifier` (a Slack webhook that repositories and updaters post
//! to) and `Debpull::Notify.sns_to_slack`. Native methods take positional
//! arguments; `lib/debpull/notify.rb` is the keyword API over them.

use debpull::notify::{Notifier, WebhookOptions, sns_to_slack};
use magnus::{Error, Module, Object, RModule, Ruby, function, method};

use crate::args::seconds;
use crate::error::IntoRuby;
use crate::gvl::without_gvl;

/// A notifier. Immutable once made (its counters are shared and locked):
/// safe to share between threads.
#[magnus::wrap(class = "Debpull::Notifier", free_immediately, size)]
pub(crate) struct RbNotifier(pub(crate) Notifier);

impl RbNotifier {
    /// `_new(url, timeout, retries, warnings)`: the URL checked, nothing sent.
    fn new(
        ruby: &Ruby,
        url: String,
        timeout: f64,
        retries: u32,
        warnings: bool,
    ) -> Result<RbNotifier, Error> {
        let mut options = WebhookOptions::new(url);
        // The limits (an hour, 10 retries) are checked by Notifier::new.
        options.timeout = seconds(ruby, timeout, "timeout", true)?;
        options.deadline = options.deadline.max(options.timeout);
        options.retries = retries;
        let notifier = Notifier::new(options).into_ruby(ruby)?;
        notifier.set_warnings(warnings);
        Ok(RbNotifier(notifier))
    }

    /// `post(json)`: posts the JSON text with the GVL released; the attempts
    /// it took, or `Debpull::StorageError` (counted either way).
    fn post(ruby: &Ruby, rb_self: &Self, json: String) -> Result<u32, Error> {
        let notifier = rb_self.0.clone();
        without_gvl(ruby, async move { notifier.post_json(json).await })
    }

    fn sent(&self) -> u64 {
        self.0.report().sent
    }

    fn failed(&self) -> u64 {
        self.0.report().failed
    }

    fn last_error(&self) -> Option<String> {
        self.0.report().last_error
    }

    fn to_s(&self) -> String {
        self.0.webhook().to_string()
    }
}

/// `Debpull::Notify._sns_to_slack(json)`: the Slack JSON for an SNS notification.
fn sns(ruby: &Ruby, json: String) -> Result<String, Error> {
    Ok(sns_to_slack(&json).into_ruby(ruby)?.to_json())
}

pub(crate) fn define(ruby: &Ruby, module: &RModule) -> Result<(), Error> {
    let class = module.define_class("Notifier", ruby.class_object())?;
    class.define_singleton_method("_new", function!(RbNotifier::new, 4))?;
    class.define_method("_post", method!(RbNotifier::post, 1))?;
    class.define_method("sent", method!(RbNotifier::sent, 0))?;
    class.define_method("failed", method!(RbNotifier::failed, 0))?;
    class.define_method("last_error", method!(RbNotifier::last_error, 0))?;
    class.define_method("to_s", method!(RbNotifier::to_s, 0))?;
    let notify = module.define_module("Notify")?;
    notify.define_singleton_method("_sns_to_slack", function!(sns, 1))?;
    Ok(())
}
