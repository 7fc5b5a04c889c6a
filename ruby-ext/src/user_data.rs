//! `Debpull.user_data` (native part): the first-boot EC2 user-data script.
//! Keyword arguments, symbols and type checks are in `lib/debpull/user_data.rb`.

use debpull::client::{Installer, Policy};
use debpull::provision::{Schedule, UserData};
use magnus::{Error, RHash, RModule, RString, Ruby, function};

use crate::args::invalid;
use crate::error::to_ruby;

/// The value of `key` in `settings` (a Hash with String keys, checked in Ruby).
fn get<T: magnus::TryConvert>(settings: RHash, key: &str) -> Result<T, Error> {
    settings.lookup::<_, T>(key)
}

/// `Debpull._user_data(repository, package, trusted_key, settings)`:
/// `settings` has "suite", "component", "region", "endpoint", "installer"
/// ("dpkg", "apt" or "command"), "installer_command", "policy" ("upgrade" or
/// "follow"), "health_check", "schedule", "tool_package", "retries",
/// "retry_delay", "slack_webhook", "notify_timeout", "notify_retries",
/// "jitter". Pure computation: no GVL release needed.
fn user_data(
    ruby: &Ruby,
    repository: String,
    package: String,
    trusted_key: RString,
    settings: RHash,
) -> Result<String, Error> {
    // SAFETY: copied at once, before any Ruby code can run.
    let key = unsafe { trusted_key.as_slice() }.to_vec();
    let mut options = UserData::new(repository, package, key);
    options.suite = get(settings, "suite")?;
    options.component = get(settings, "component")?;
    options.region = get(settings, "region")?;
    options.endpoint = get(settings, "endpoint")?;
    let command: Option<Vec<String>> = get(settings, "installer_command")?;
    options.installer = match (get::<String>(settings, "installer")?.as_str(), command) {
        ("dpkg", None) => Installer::Dpkg,
        ("apt", None) => Installer::Apt,
        ("command", Some(argv)) => Installer::Command(argv),
        (other, _) => return Err(invalid(ruby, format!("installer {other:?} is not known"))),
    };
    options.policy = match get::<String>(settings, "policy")?.as_str() {
        "upgrade" => Policy::UpgradeOnly,
        "follow" => Policy::FollowRepository,
        other => return Err(invalid(ruby, format!("policy {other:?} is not known"))),
    };
    options.health_check =
        get::<Option<Vec<String>>>(settings, "health_check")?.unwrap_or_default();
    options.schedule =
        Schedule::from_name(&get::<String>(settings, "schedule")?).map_err(|e| to_ruby(ruby, e))?;
    options.tool_package = get(settings, "tool_package")?;
    options.retries = get(settings, "retries")?;
    options.retry_delay_secs = get(settings, "retry_delay")?;
    options.slack_webhook = get(settings, "slack_webhook")?;
    options.notify_timeout_secs = get(settings, "notify_timeout")?;
    options.notify_retries = get(settings, "notify_retries")?;
    options.jitter_secs = get(settings, "jitter")?;
    options.script().map_err(|e| to_ruby(ruby, e))
}

pub(crate) fn define(module: &RModule) -> Result<(), Error> {
    module.define_module_function("_user_data", function!(user_data, 4))?;
    Ok(())
}
