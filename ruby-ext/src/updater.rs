//! `Debpull::Updater` (native part): keeps one package at a source's
//! candidate. Keyword arguments, symbols and the outcome object are in
//! `lib/debpull/updater.rb`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use debpull::client::{
    Event, EventSink, Installer, LockMode, Outcome, Policy, Updater, UpdaterOptions,
};
use debpull::{ErrorKind, Version};
use magnus::{
    Class, Error, IntoValue, Module, Object, RArray, RHash, RModule, Ruby, Value, function, method,
    value::ReprValue,
};

use crate::args::{invalid, path, seconds};
use crate::error::{IntoRuby, to_ruby};
use crate::gvl::without_gvl;
use crate::source::RbSource;

/// An updater; immutable, usable from several threads at once (runs take a
/// lock: one waits or is skipped).
#[magnus::wrap(class = "Debpull::Updater", free_immediately, size)]
pub(crate) struct RbUpdater(Updater);

/// A command named `what`: at least the program, which is not empty.
fn command(ruby: &Ruby, argv: Vec<String>, what: &str) -> Result<Vec<String>, Error> {
    match argv.first().map(String::as_str) {
        None => Err(invalid(
            ruby,
            format!("{what} is empty: a command needs at least its program"),
        )),
        Some("") => Err(invalid(ruby, format!("{what}[0] (the program) is empty"))),
        Some(_) => Ok(argv),
    }
}

/// A version for Ruby (`Debpull::Version` is made from it in Ruby).
fn text(version: Option<&Version>) -> Option<String> {
    version.map(|v| v.as_str().to_owned())
}

/// An outcome, owned by Rust (events come from debpull's threads).
struct OutcomeData {
    kind: &'static str,
    line: String,
    package: String,
    from: Option<String>,
    to: Option<String>,
    attempted: Option<String>,
    installed: Option<String>,
    candidate: Option<String>,
    /// The kind and message of the error.
    error: Option<(ErrorKind, String)>,
    /// The version a staged rollout kept from this machine, and its percentage.
    deferred: Option<(String, u8)>,
}

impl OutcomeData {
    fn new(outcome: &Outcome) -> OutcomeData {
        let kind = match outcome {
            Outcome::UpToDate { .. } => "up_to_date",
            Outcome::Updated { .. } => "updated",
            Outcome::RolledBack { .. } => "rolled_back",
            Outcome::Failed { .. } => "failed",
            Outcome::Held { .. } => "held",
            Outcome::HeldByAdmin { .. } => "held_by_admin",
            Outcome::Skipped { .. } => "skipped",
        };
        let versions = outcome.versions();
        OutcomeData {
            kind,
            line: outcome.to_string(),
            package: outcome.package().to_owned(),
            from: text(versions.from),
            to: text(versions.to),
            attempted: text(versions.attempted),
            installed: text(versions.installed),
            candidate: text(versions.candidate),
            error: outcome.error().map(|e| (e.kind(), e.to_string())),
            deferred: match outcome {
                Outcome::UpToDate {
                    deferred: Some(d), ..
                } => Some((d.version.as_str().to_owned(), d.percentage)),
                _ => None,
            },
        }
    }

    /// A Hash for `Debpull::Updater::Outcome`; the error as `[class, message]`.
    fn to_hash(&self, ruby: &Ruby) -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        hash.aset(ruby.to_symbol("kind"), ruby.to_symbol(self.kind))?;
        hash.aset(ruby.to_symbol("line"), self.line.as_str())?;
        hash.aset(ruby.to_symbol("package"), self.package.as_str())?;
        for (key, value) in [
            ("from", &self.from),
            ("to", &self.to),
            ("attempted", &self.attempted),
            ("installed", &self.installed),
            ("candidate", &self.candidate),
        ] {
            hash.aset(ruby.to_symbol(key), value.clone())?;
        }
        let error: Value = match &self.error {
            Some((kind, message)) => {
                let class = to_ruby(ruby, debpull::Error::new(*kind, message.clone()))
                    .value()
                    .unwrap_or_else(|| ruby.exception_standard_error().as_value());
                ruby.ary_from_iter([class, message.as_str().into_value_with(ruby)])
                    .into_value_with(ruby)
            }
            None => ruby.qnil().as_value(),
        };
        hash.aset(ruby.to_symbol("error"), error)?;
        hash.aset(ruby.to_symbol("deferred"), self.deferred.clone())?;
        Ok(hash)
    }
}

/// An event, owned by Rust.
struct EventData {
    outcome: OutcomeData,
    suite: String,
    hostname: String,
    started: f64,
    duration: f64,
    jitter: f64,
    warnings: Vec<String>,
}

impl EventData {
    fn new(event: &Event) -> EventData {
        EventData {
            outcome: OutcomeData::new(&event.outcome),
            suite: event.suite.clone(),
            hostname: event.hostname.clone(),
            started: event
                .started
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            duration: event.duration.as_secs_f64(),
            jitter: event.jitter.as_secs_f64(),
            warnings: event.warnings.clone(),
        }
    }

    fn to_hash(&self, ruby: &Ruby) -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        hash.aset(ruby.to_symbol("outcome"), self.outcome.to_hash(ruby)?)?;
        hash.aset(ruby.to_symbol("suite"), self.suite.as_str())?;
        hash.aset(ruby.to_symbol("hostname"), self.hostname.as_str())?;
        hash.aset(ruby.to_symbol("started"), self.started)?;
        hash.aset(ruby.to_symbol("duration"), self.duration)?;
        hash.aset(ruby.to_symbol("jitter"), self.jitter)?;
        hash.aset(
            ruby.to_symbol("warnings"),
            ruby.ary_from_iter(self.warnings.iter().map(String::as_str)),
        )?;
        Ok(hash)
    }
}

impl RbUpdater {
    /// `Debpull::Updater._new(source, package, installer, installer_command,
    /// policy, health_check, health_timeout, install_timeout, lock_wait,
    /// jitter, pin, root, apt_config, notifier)`; `installer` is `"dpkg"`, `"apt"` or
    /// `"command"`, `policy` `"upgrade"` or `"follow"`, `lock_wait` nil to skip.
    #[allow(clippy::too_many_arguments)]
    fn new(
        ruby: &Ruby,
        source: &RbSource,
        package: String,
        installer: String,
        installer_command: Option<Vec<String>>,
        policy: String,
        health_check: Option<Vec<String>>,
        health_timeout: f64,
        install_timeout: f64,
        lock_wait: Option<f64>,
        jitter: f64,
        pin: Option<String>,
        root: Option<PathBuf>,
        apt_config: Option<PathBuf>,
        notifier: Option<magnus::typed_data::Obj<crate::notify::RbNotifier>>,
    ) -> Result<RbUpdater, Error> {
        if package.is_empty() {
            return Err(invalid(ruby, "package is empty"));
        }
        let mut options = UpdaterOptions::new(package);
        options.installer = match (installer.as_str(), installer_command) {
            ("dpkg", None) => Installer::Dpkg,
            ("apt", None) => Installer::Apt,
            ("command", Some(argv)) => Installer::Command(command(ruby, argv, "installer")?),
            (other, _) => return Err(invalid(ruby, format!("installer {other:?} is not known"))),
        };
        options.policy = match policy.as_str() {
            "upgrade" => Policy::UpgradeOnly,
            "follow" => Policy::FollowRepository,
            other => return Err(invalid(ruby, format!("policy {other:?} is not known"))),
        };
        options.health_check = health_check
            .map(|argv| command(ruby, argv, "health_check"))
            .transpose()?;
        options.health_timeout = seconds(ruby, health_timeout, "health_timeout", true)?;
        options.install_timeout = seconds(ruby, install_timeout, "install_timeout", true)?;
        options.lock = match lock_wait {
            None => LockMode::Skip,
            Some(wait) => LockMode::Wait(seconds(ruby, wait, "lock", false)?),
        };
        options.jitter = seconds(ruby, jitter, "jitter", false)?;
        options.pin = pin
            .map(|p| Version::parse(&p))
            .transpose()
            .into_ruby(ruby)?;
        options.root = root.map(|r| path(ruby, r, "root")).transpose()?;
        options.apt_config = apt_config
            .map(|c| path(ruby, c, "apt_config"))
            .transpose()?;
        options.notifier = notifier.map(|n| n.0.clone());
        Ok(RbUpdater(Updater::new(source.0.clone(), options)))
    }

    /// `_update`: `[outcome, [event, ...]]` as Hashes (see updater.rb). The
    /// events are collected while the run goes on without the GVL and handed
    /// to Ruby (the block) after it, on the calling thread.
    fn update(ruby: &Ruby, rb_self: &RbUpdater) -> Result<RArray, Error> {
        let events = Arc::new(Mutex::new(Vec::<EventData>::new()));
        let sink_events = events.clone();
        let sink: EventSink = Arc::new(move |event: &Event| {
            let mut events = sink_events.lock().unwrap_or_else(|p| p.into_inner());
            events.push(EventData::new(event));
        });
        let updater = rb_self.0.clone();
        let outcome = without_gvl(ruby, async move {
            Ok(OutcomeData::new(&updater.update_with_events(sink).await))
        })?;
        let events: Vec<EventData> =
            std::mem::take(&mut *events.lock().unwrap_or_else(|p| p.into_inner()));
        let list = ruby.ary_new_capa(events.len());
        for event in &events {
            list.push(event.to_hash(ruby)?)?;
        }
        Ok(ruby.ary_from_iter([
            outcome.to_hash(ruby)?.into_value_with(ruby),
            list.into_value_with(ruby),
        ]))
    }

    fn package(&self) -> String {
        self.0.options().package.clone()
    }
}

/// Defines `Debpull::Updater`'s native methods in `module`.
pub(crate) fn define(ruby: &Ruby, module: &RModule) -> Result<(), Error> {
    let class = module.define_class("Updater", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_new", function!(RbUpdater::new, 14))?;
    class.define_method("_update", method!(RbUpdater::update, 0))?;
    class.define_method("package", method!(RbUpdater::package, 0))?;
    Ok(())
}
